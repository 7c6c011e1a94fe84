/*
 * arch/x86_64/cpu.c - CPU features, control registers, GDT and TSS.
 *
 * Features come from CPUID once on the BSP (boot_cpu_features); every CPU
 * then enables the same control bits: EFER.NXE (NX in page tables), CR0.WP
 * (read-only pages bind ring 0 too), CR4.PGE (global kernel TLB entries),
 * CR4.SMEP/SMAP when present (the kernel never executes, and only through
 * stac/clac touches, user pages). PCID is enabled by the TLB code when
 * present (QEMU TCG has none).
 *
 * FPU/SSE for user threads (the kernel itself is built without SSE): CR0.MP
 * and NE, CR4.OSFXSR and OSXMMEXCPT on every CPU; with XSAVE, CR4.OSXSAVE
 * and XCR0 = the user states the CPU has among x87, SSE, AVX, AVX-512 (as
 * Linux's XFEATURE_MASK_USER_SUPPORTED, without PKRU/AMX). A user thread's
 * state is saved when it is switched out and restored when it is switched
 * in (eager, as Linux since 4.x), XSAVE if present else FXSAVE.
 *
 * SYSCALL: EFER.SCE, STAR (kernel CS 0x08, SYSRET base 0x18 so CS 0x2b and
 * SS 0x23), LSTAR = entry_syscall_64, FMASK clears IF, TF, DF, AC, NT (and
 * IOPL/RF as Linux does not need: they cannot be set by user code anyway).
 *
 * Each CPU has its own GDT and TSS; the TSS gives #DF, NMI and #MC their own
 * IST stacks so a kernel stack overflow or an NMI during a stack switch is
 * still reported. GDT layout (SYSRET-compatible for later ring-3 support):
 *   0x08 kernel code, 0x10 kernel data, 0x18 user code32, 0x20 user data,
 *   0x28 user code64, 0x30 TSS (two slots).
 */
#include "arch/arch.h"
#include "arch/x86_64/asm.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/pic.h"
#include "kernel/percpu.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "kernel/panic.h"
#include "mm/page.h"
#include "arch/x86_64/trap.h"
#include "kernel/syscall.h"
#include "kernel/process.h"

struct cpu_features boot_cpu_features;

struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __packed;

struct gdt_ptr {
	uint16_t limit;
	uint64_t base;
} __packed;

#define GDT_ENTRIES 8
struct cpu_arch {
	uint64_t gdt[GDT_ENTRIES] __aligned(16);
	struct tss tss __aligned(16);
};
static struct cpu_arch cpu_arch[NR_CPUS];
extern void gdt_load(const struct gdt_ptr *p, uint16_t code_sel, uint16_t data_sel);

#define IST_STACK_SIZE (2 * PAGE_SIZE)

void arch_set_cpu_base(void *percpu)
{
	wrmsr(MSR_GS_BASE, (uint64_t)percpu);
}

static void detect_features(void)
{
	struct cpu_features *f = &boot_cpu_features;
	uint32_t a, b, c, d, max;
	cpuid_count(0, 0, &max, &b, &c, &d);
	memcpy(f->vendor, &b, 4);
	memcpy(f->vendor + 4, &d, 4);
	memcpy(f->vendor + 8, &c, 4);
	cpuid_count(1, 0, &a, &b, &c, &d);
	f->pcid = c & (1u << 17);
	f->x2apic = c & (1u << 21);
	f->tsc_deadline = c & (1u << 24);
	f->hypervisor = c & (1u << 31);
	f->pge = d & (1u << 13);
	f->xsave = c & (1u << 26);
	if (max >= 7) {
		cpuid_count(7, 0, &a, &b, &c, &d);
		f->smep = b & (1u << 7);
		f->invpcid = b & (1u << 10);
		f->smap = b & (1u << 20);
	}
	cpuid_count(0x80000000, 0, &max, &b, &c, &d);
	if (max >= 0x80000001) {
		cpuid_count(0x80000001, 0, &a, &b, &c, &d);
		f->nx = d & (1u << 20);
		f->gbpages = d & (1u << 26);
	}
	if (max >= 0x80000004) {
		uint32_t *w = (uint32_t *)f->brand;
		for (uint32_t i = 0; i < 3; i++)
			cpuid_count(0x80000002 + i, 0, &w[i * 4], &w[i * 4 + 1], &w[i * 4 + 2],
				    &w[i * 4 + 3]);
	}
	uaccess_smap = f->smap;
	if (max >= 0x80000008) {
		cpuid_count(0x80000008, 0, &a, &b, &c, &d);
		f->max_phys_bits = a & 0xff;
		f->max_virt_bits = (a >> 8) & 0xff;
	}
}

extern void entry_syscall_64(void);

#ifdef MUTATION_FMASK_KEEPS_AC_TF
#define SYSCALL_FMASK (RFLAGS_IF | RFLAGS_DF | RFLAGS_NT)
#else
#define SYSCALL_FMASK (RFLAGS_IF | RFLAGS_TF | RFLAGS_DF | RFLAGS_AC | RFLAGS_NT)
#endif

static void setup_syscall_msrs(void)
{
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	wrmsr(MSR_STAR, (uint64_t)GDT_KERNEL_CS << 32 | (uint64_t)GDT_USER_CS32 << 48);
	wrmsr(MSR_LSTAR, (uint64_t)entry_syscall_64);
	wrmsr(MSR_FMASK, SYSCALL_FMASK);
	wrmsr(MSR_KERNEL_GS_BASE, 0); /* the user's, until a user thread runs */
}

static inline void xsetbv(uint32_t idx, uint64_t v)
{
	__asm__ __volatile__("xsetbv" ::"c"(idx), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

#define XFEATURE_USER_MASK 0xe7ull /* x87, SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM */

/* CR0/CR4 FPU bits and XCR0; the first call (BSP) decides XCR0 and the size. */
static void setup_fpu(void)
{
	struct cpu_features *f = &boot_cpu_features;
	write_cr0((read_cr0() | CR0_MP | CR0_NE) & ~(CR0_EM | CR0_TS));
	uint64_t cr4 = read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT;
	if (f->xsave)
		cr4 |= CR4_OSXSAVE;
	write_cr4(cr4);
	if (f->xsave) {
		uint32_t a, b, c, d;
		if (!f->xcr0) {
			cpuid_count(0xd, 0, &a, &b, &c, &d);
			f->xcr0 = (((uint64_t)d << 32 | a) & XFEATURE_USER_MASK) | 3;
			if ((f->xcr0 & 0xe0) != 0xe0)
				f->xcr0 &= ~0xe0ull; /* AVX-512 only whole */
			if (!(f->xcr0 & 4))
				f->xcr0 &= ~0xe0ull;
		}
		xsetbv(0, f->xcr0);
		cpuid_count(0xd, 0, &a, &b, &c, &d); /* EBX: size for the XCR0 set */
		if (!f->fpu_size)
			f->fpu_size = b;
	} else if (!f->fpu_size)
		f->fpu_size = 512;
	if (f->fpu_size > PAGE_SIZE)
		panic("cpu: XSAVE area of %u bytes", f->fpu_size);
	__asm__ __volatile__("fninit");
}

static void setup_control_regs(void)
{
	struct cpu_features *f = &boot_cpu_features;
	if (f->nx)
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	/* An AP comes out of reset with caching disabled (CD, NW): enable it.
	 * CR0.AM as Linux (CR0_STATE): user code that sets RFLAGS.AC gets #AC
	 * (SIGBUS) for a misaligned access; the kernel's own AC (stac) is
	 * unaffected, alignment checks apply at CPL 3 only. */
	write_cr0((read_cr0() | CR0_WP | CR0_AM) & ~(CR0_CD | CR0_NW));
	setup_fpu();
	setup_syscall_msrs();
	uint64_t cr4 = read_cr4();
	if (f->pge)
		cr4 |= CR4_PGE;
	if (f->smep)
		cr4 |= CR4_SMEP;
	if (f->smap)
		cr4 |= CR4_SMAP;
	write_cr4(cr4);
}

static uint64_t seg(uint32_t flags_access)
{
	/* Long mode ignores base and limit for code/data; only access and L/D bits matter. */
	return (uint64_t)flags_access << 40 | 0xffffull | (0xfull << 48);
}

/* GDT and TSS of `cpu`; the TSS's IST stacks are filled in by alloc_ist_stacks. */
static void setup_gdt_tss(int cpu)
{
	struct cpu_arch *ca = &cpu_arch[cpu];
	ca->gdt[0] = 0;
	ca->gdt[1] = seg(0xa09a); /* kernel code: P, DPL0, code, L=1 (G) */
	ca->gdt[2] = seg(0xc092); /* kernel data */
	ca->gdt[3] = seg(0xc0fa); /* user code32 */
	ca->gdt[4] = seg(0xc0f2); /* user data */
	ca->gdt[5] = seg(0xa0fa); /* user code64 */
	ca->tss.iomap_base = sizeof(struct tss);
	uint64_t base = (uint64_t)&ca->tss, limit = sizeof(struct tss) - 1;
	ca->gdt[6] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
		     (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	ca->gdt[7] = base >> 32;

	struct gdt_ptr p = { sizeof(ca->gdt) - 1, (uint64_t)ca->gdt };
	gdt_load(&p, GDT_KERNEL_CS, GDT_KERNEL_DS);
	__asm__ __volatile__("ltr %w0" ::"r"((uint16_t)GDT_TSS));
}

/* Needs the page allocator. Until then #DF/NMI/#MC use no stack switch. */
static void alloc_ist_stacks(int cpu)
{
	struct cpu_arch *ca = &cpu_arch[cpu];
	for (int i = 0; i < 3; i++) {
		void *stack = get_free_pages(__GFP_ZERO, 1);
		if (!stack)
			panic("cpu %d: no memory for IST stacks", cpu);
		ca->tss.ist[i] = (uint64_t)stack + IST_STACK_SIZE;
	}
}

void arch_set_kernel_stack(int cpu, uint64_t rsp0)
{
	cpu_arch[cpu].tss.rsp[0] = rsp0;
}

/* ---- per-thread user CPU state ------------------------------------------ */

void fpu_save(void *area)
{
	if (boot_cpu_features.xsave)
		__asm__ __volatile__("xsave64 (%0)" ::"r"(area), "a"(-1), "d"(-1) : "memory");
	else
		__asm__ __volatile__("fxsave64 (%0)" ::"r"(area) : "memory");
}

void fpu_restore(const void *area)
{
	if (boot_cpu_features.xsave)
		__asm__ __volatile__("xrstor64 (%0)" ::"r"(area), "a"(-1), "d"(-1) : "memory");
	else
		__asm__ __volatile__("fxrstor64 (%0)" ::"r"(area) : "memory");
}

/* A clean FPU state: FCW 0x37f, MXCSR 0x1f80, every register empty/zero
 * (XSTATE_BV 0: XRSTOR puts the rest in init state). */
void fpu_init_state(uint8_t *a)
{
	memset(a, 0, PAGE_SIZE);
	*(uint16_t *)(a + 0) = 0x37f;	/* FCW */
	*(uint32_t *)(a + 24) = 0x1f80; /* MXCSR */
}

static void *fpu_alloc_init(void)
{
	uint8_t *a = get_free_pages(0, 0);
	if (a)
		fpu_init_state(a);
	return a;
}

void arch_thread_free(struct thread *t)
{
	if (t->fpu)
		free_pages(t->fpu, 0);
	t->fpu = NULL;
}

#ifdef MUTATION_NO_FPU_SWITCH
#define FPU_SWITCH 0
#else
#define FPU_SWITCH 1
#endif

void arch_switch_user_state(struct thread *prev, struct thread *next)
{
	struct cpu *c = this_cpu();
	if (prev->user) {
		prev->user_fs_base = rdmsr(MSR_FS_BASE);
		prev->user_gs_base = rdmsr(MSR_KERNEL_GS_BASE);
		if (FPU_SWITCH && prev->fpu)
			fpu_save(prev->fpu);
	}
	if (next->user) {
		wrmsr(MSR_FS_BASE, next->user_fs_base);
		wrmsr(MSR_KERNEL_GS_BASE, next->user_gs_base);
		if (FPU_SWITCH && next->fpu)
			fpu_restore(next->fpu);
	}
	if (next->stack) {
		uint64_t top = (uint64_t)next->stack + THREAD_STACK_SIZE;
		c->entry_stack_top = top;
#ifndef MUTATION_RSP0_NOT_SWITCHED
		arch_set_kernel_stack(c->id, top);
#endif
	}
}

extern void arch_enter_user_frame(const struct trap_frame *f, uint64_t top) __noreturn;

/* The calling (kernel) thread becomes a user thread: its FPU state clean,
 * FS/GS bases 0, every register 0 but rip/rsp, IF set; ring 3 through the
 * same iretq as every return to user mode. */
__noreturn void arch_enter_user(uint64_t rip, uint64_t rsp)
{
	arch_enter_user_ss(rip, rsp, GDT_USER_DS);
}

/* Tests: with another SS selector, to make the kernel's iretq fault. */
__noreturn void arch_enter_user_ss(uint64_t rip, uint64_t rsp, uint16_t ss)
{
	struct thread *t = current;
	if (!t->fpu)
		t->fpu = fpu_alloc_init();
	if (!t->fpu) {
		printk("user: thread %d (%s): no memory for its FPU state\n", t->tid, t->name);
		do_group_exit(SIGKILL); /* as Linux's OOM kill: never a panic */
	}
	struct trap_frame f;
	memset(&f, 0, sizeof(f));
	f.rip = rip;
	f.rsp = rsp;
	f.cs = GDT_USER_CS;
	f.ss = ss;
	f.rflags = RFLAGS_IF | 2;
	uint64_t top = (uint64_t)t->stack + THREAD_STACK_SIZE;
	local_irq_disable();
	t->user_fs_base = 0;
	t->user_gs_base = 0;
	wrmsr(MSR_FS_BASE, 0);
	wrmsr(MSR_KERNEL_GS_BASE, 0);
	fpu_restore(t->fpu);
	this_cpu()->entry_stack_top = top;
	arch_set_kernel_stack(cpu_id(), top);
	t->user = true;
	arch_enter_user_frame(&f, top);
}

struct trap_frame *current_user_regs(void)
{
	return (struct trap_frame *)((uint64_t)current->stack + THREAD_STACK_SIZE) - 1;
}

/* clone: the child (not running yet) gets a copy of the caller's FPU
 * registers (saved now: they are live in the CPU) and FS/GS bases. */
int arch_dup_user_state(struct thread *child)
{
	struct thread *t = current;
	child->fpu = get_free_pages(0, 0);
	if (!child->fpu)
		return -ENOMEM;
	unsigned long fl = local_irq_save();
#ifdef MUTATION_FORK_NO_FPU_COPY
	(void)t;
	fpu_init_state(child->fpu); /* the child starts with a clean FPU */
#else
	fpu_save(t->fpu);
	memcpy(child->fpu, t->fpu, PAGE_SIZE);
#endif
	child->user_fs_base = rdmsr(MSR_FS_BASE);
	child->user_gs_base = rdmsr(MSR_KERNEL_GS_BASE);
	local_irq_restore(fl);
	return 0;
}

/* The clone child's first return to user mode, with regs and the state
 * arch_dup_user_state gave it; pending work is checked on the way. */
__noreturn void arch_ret_from_fork(const struct trap_frame *regs)
{
	struct thread *t = current;
	uint64_t top = (uint64_t)t->stack + THREAD_STACK_SIZE;
	local_irq_disable();
	wrmsr(MSR_FS_BASE, t->user_fs_base);
	wrmsr(MSR_KERNEL_GS_BASE, t->user_gs_base);
	fpu_restore(t->fpu);
	this_cpu()->entry_stack_top = top;
	arch_set_kernel_stack(cpu_id(), top);
	t->user = true;
	arch_enter_user_frame(regs, top);
}

/* execve: the new program starts with a clean FPU, FS/GS bases 0, and
 * regs = every register 0 but rip/rsp, IF set (glibc's _start hands %rdx
 * to atexit: it must be 0). */
void arch_exec_user_state(struct trap_frame *regs, uint64_t rip, uint64_t rsp)
{
	struct thread *t = current;
	unsigned long fl = local_irq_save();
#ifndef MUTATION_EXEC_KEEPS_FPU
	fpu_init_state(t->fpu);
	fpu_restore(t->fpu);
#endif
	t->user_fs_base = 0;
	t->user_gs_base = 0;
	wrmsr(MSR_FS_BASE, 0);
	wrmsr(MSR_KERNEL_GS_BASE, 0);
	local_irq_restore(fl);
	memset(regs, 0, sizeof(*regs));
	regs->rip = rip;
	regs->rsp = rsp;
	regs->cs = GDT_USER_CS;
	regs->ss = GDT_USER_DS;
	regs->rflags = RFLAGS_IF | 2;
	regs->vector = VEC_SYSCALL_FRAME;
	regs->error_code = (uint64_t)-1; /* orig_ax: no system call to restart */
}

/* BSP, first thing: the firmware's GDT and IDT live in memory we reuse.
 * The legacy PIC is remapped and masked as soon as there is an IDT to take
 * what it may still deliver (pic.c), long before anything enables
 * interrupts. */
void arch_early_init(void)
{
	detect_features();
	setup_control_regs();
	setup_gdt_tss(0);
	idt_init();
	pic_init();
}

/* BSP, once the page allocator runs. */
void arch_cpu_setup_tables(int cpu)
{
	alloc_ist_stacks(cpu);
	idt_enable_ist();
}

/* APs: everything at once (the allocator is up). */
void arch_cpu_init(int cpu)
{
	setup_control_regs();
	alloc_ist_stacks(cpu);
	setup_gdt_tss(cpu);
	idt_load();
}

void arch_print_features(void)
{
	struct cpu_features *f = &boot_cpu_features;
	printk("cpu: %s \"%s\" phys %u bits virt %u bits\n", f->vendor, f->brand, f->max_phys_bits,
	       f->max_virt_bits);
	printk(
	    "cpu: nx %d pge %d pcid %d invpcid %d smep %d smap %d x2apic %d 1g %d hypervisor %d\n",
	    f->nx, f->pge, f->pcid, f->invpcid, f->smep, f->smap, f->x2apic, f->gbpages,
	    f->hypervisor);
}

void arch_thread_init(struct thread *t, void (*entry)(void))
{
	extern void thread_entry_stub(void);
	uint64_t *sp = (uint64_t *)((char *)t->stack + THREAD_STACK_SIZE);
	*--sp = 0;			     /* alignment: entry sees rsp % 16 == 8 after call */
	*--sp = (uint64_t)thread_entry_stub; /* arch_switch_to returns here */
	*--sp = 0;			     /* rbp */
	*--sp = 0;			     /* rbx */
	*--sp = (uint64_t)entry;	     /* r12: called by thread_entry_stub */
	*--sp = 0;			     /* r13 */
	*--sp = 0;			     /* r14 */
	*--sp = 0;			     /* r15 */
	t->arch_sp = (uint64_t)sp;
}

void arch_qemu_exit(int code)
{
	outl(0xf4, (uint32_t)code);
}
