/*
 * arch/x86_64/trap.c - the IDT and the C side of every interrupt and
 * exception.
 *
 * One IDT shared by all CPUs: 256 interrupt gates to the stubs of
 * trap_entry.asm; #DF, NMI and #MC run on their own IST stacks. Exceptions:
 *   1. a page fault first goes to mm (handle_page_fault), which resolves
 *      demand faults and COW (later issues);
 *   2. a test that armed a struct fault_catch for this vector gets the fault
 *      recorded and resumes at its ksetjmp point (tests/ktest.h KEXPECT_FAULT);
 *   3. anything else is a kernel bug: report vector, error code, CR2, all
 *      registers and a backtrace, stop every CPU.
 * Interrupts: acknowledge the LAPIC, run the handler, and on the way out let
 * the scheduler preempt the interrupted thread if it may (sched_irq_exit).
 * NMIs stop the CPU when another CPU panics.
 *
 * From ring 3 (saved CS & 3; trap_entry.asm did the swapgs): a #PF goes to
 * do_user_fault; what it cannot resolve, and every other exception, sends
 * the thread Linux's signal for it with Linux's si_code and si_addr
 * (force_sig_fault, kernel/signal.c): a handler may fix the cause and
 * return, else the process dies of it; #DF and #MC stay fatal. A fault of the kernel's
 * own iretq to user mode is the user's (fixup_bad_iret). Every return to
 * ring 3 runs exit_to_user_mode() with interrupts off.
 */
#include "arch/x86_64/trap.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/asm.h"
#include "arch/x86_64/apic.h"
#include "arch/arch.h"
#include "kernel/percpu.h"
#include "kernel/sched.h"
#include "kernel/smp.h"
#include "kernel/printk.h"
#include "kernel/panic.h"
#include "kernel/stats.h"
#include "kernel/ksyms.h"
#include "arch/x86_64/uaccess.h"
#include "mm/mm.h"
#include "mm/filemap.h"
#include "kernel/syscall.h"
#include "kernel/signal.h"
#include "kernel/tty.h"
#include "arch/x86_64/ioapic.h"

struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t ist, type_attr;
	uint16_t off_mid;
	uint32_t off_hi, zero;
} __packed;

static struct idt_gate idt[256] __aligned(16);
extern const uint64_t trap_stubs[256];

static const char *const exception_names[32] = {
	"divide error",
	"debug",
	"NMI",
	"breakpoint",
	"overflow",
	"bound range",
	"invalid opcode",
	"device not available",
	"double fault",
	"coprocessor overrun",
	"invalid TSS",
	"segment not present",
	"stack fault",
	"general protection",
	"page fault",
	"reserved",
	"x87 FP error",
	"alignment check",
	"machine check",
	"SIMD FP error",
	"virtualization",
	"control protection",
};

static void set_gate(int vec, uint64_t handler, int ist)
{
	struct idt_gate *g = &idt[vec];
	g->off_lo = handler & 0xffff;
	g->sel = GDT_KERNEL_CS;
	g->ist = ist;
	g->type_attr = 0x8e; /* present, DPL 0, 64-bit interrupt gate */

	/* Only int3 and into may be raised by user code with int n (Linux's
	 * DPL3 gates); int n on any other vector from ring 3 is a #GP. */
#ifdef MUTATION_ALL_GATES_DPL3
	g->type_attr = 0xee;
#else
	if (vec == EXC_BP || vec == EXC_OF)
		g->type_attr = 0xee;
#endif
	g->off_mid = (handler >> 16) & 0xffff;
	g->off_hi = handler >> 32;
	g->zero = 0;
}

/* Another handler for one vector of the shared IDT (pic.c's 8259 lines). */
void idt_set_gate(int vec, void (*handler)(struct interrupt_frame *))
{
	set_gate(vec, (uint64_t)handler, 0);
}

void idt_init(void)
{
	for (int v = 0; v < 256; v++)
		set_gate(v, trap_stubs[v], 0);
	idt_load();
}

/* Once the BSP has IST stacks (every AP gets its own before loading the IDT). */
void idt_enable_ist(void)
{
	set_gate(EXC_DF, trap_stubs[EXC_DF], IST_DF);
	set_gate(EXC_NMI, trap_stubs[EXC_NMI], IST_NMI);
	set_gate(EXC_MC, trap_stubs[EXC_MC], IST_MC);
}

void idt_load(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __packed p = { sizeof(idt) - 1, (uint64_t)idt };
	__asm__ __volatile__("lidt %0" ::"m"(p));
}

void dump_trap_frame(const struct trap_frame *f)
{
	printk("RIP: %#018lx  ", f->rip);
	print_symbol(f->rip);
	printk("\nRSP: %#018lx RFLAGS: %#010lx CS: %#lx SS: %#lx\n", f->rsp, f->rflags, f->cs,
	       f->ss);
	printk("RAX: %#018lx RBX: %#018lx RCX: %#018lx\n", f->rax, f->rbx, f->rcx);
	printk("RDX: %#018lx RSI: %#018lx RDI: %#018lx\n", f->rdx, f->rsi, f->rdi);
	printk("RBP: %#018lx R8:  %#018lx R9:  %#018lx\n", f->rbp, f->r8, f->r9);
	printk("R10: %#018lx R11: %#018lx R12: %#018lx\n", f->r10, f->r11, f->r12);
	printk("R13: %#018lx R14: %#018lx R15: %#018lx\n", f->r13, f->r14, f->r15);
	printk("CR0: %#018lx CR2: %#018lx CR3: %#018lx CR4: %#018lx\n", read_cr0(), read_cr2(),
	       read_cr3(), read_cr4());
}

static __noreturn void fatal_exception(struct trap_frame *f, uint64_t cr2)
{
	panic_begin();
	struct thread *t = this_cpu()->curr;
	printk("KERNEL PANIC on CPU %d: %s (vector %lu) error code %#lx", cpu_id(),
	       f->vector < 32 && exception_names[f->vector] ? exception_names[f->vector]
							    : "exception",
	       f->vector, f->error_code);
	if (f->vector == EXC_PF)
		printk(" at address %#lx (%s, %s%s)", cr2,
		       f->error_code & PF_PROT ? "protection" : "not present",
		       f->error_code & PF_WRITE ? "write" : "read",
		       f->error_code & PF_INSTR ? ", fetch" : "");
	printk("\nthread %d (%s)\n", t ? t->tid : -1, t ? t->name : "?");
	if (t && t->stack && f->rsp < (uint64_t)t->stack &&
	    f->rsp + PAGE_SIZE + 64 >= (uint64_t)t->stack)
		printk("kernel stack overflow: rsp %#lx below the stack at %#lx (guard page)\n",
		       f->rsp, (uint64_t)t->stack);
	dump_trap_frame(f);
	printk("Backtrace:\n");
	arch_backtrace(f->rbp, f->rip);
	panic_end();
}

/* A test armed a catch for this vector: record it and resume the test. */
static void try_fault_catch(struct trap_frame *f, uint64_t cr2)
{
	struct cpu *c = this_cpu();
	struct thread *t = c->curr;
	if (!t || !t->fault_catch || c->irq_depth)
		return;
	struct fault_catch *fc = t->fault_catch;
	if (!(fc->vectors & (1u << f->vector)))
		return;
	fc->vector = (int)f->vector;
	fc->error_code = f->error_code;
	fc->cr2 = cr2;
	fc->rip = f->rip;
	t->fault_catch = NULL;
	klongjmp(&fc->jb, 1);
}

bool uaccess_smap;
extern const uint64_t __ex_table_start[], __ex_table_end[];

uint64_t search_exception_table(uint64_t rip)
{
	for (const uint64_t *e = __ex_table_start; e < __ex_table_end; e += 2)
		if (e[0] == rip)
			return e[1];
	return 0;
}

/* A uaccess instruction faulted on a user address: resolve it like a user
 * fault (it may sleep, so interrupts go back on as they were). */
static bool user_fault(struct trap_frame *f, uint64_t addr)
{
	unsigned flags = (f->error_code & PF_WRITE ? FAULT_FLAG_WRITE : 0) |
			 (f->error_code & PF_INSTR ? FAULT_FLAG_INSTR : 0);
	if (f->error_code & PF_RSVD)
		return false;
	local_irq_enable();
	bool ok = do_user_fault(addr, flags) == 0;
	local_irq_disable();
	return ok;
}

/* Linux's signal for each exception raised by user code (0: not one). */
static const uint8_t user_exception_signal[32] = {
	[EXC_DE] = SIGFPE,  [1] = SIGTRAP,     [EXC_BP] = SIGTRAP, [EXC_OF] = SIGSEGV,
	[5] = SIGSEGV,	    [EXC_UD] = SIGILL, [7] = SIGSEGV,	   [9] = SIGFPE,
	[10] = SIGSEGV,	    [11] = SIGBUS,     [12] = SIGBUS,	   [EXC_GP] = SIGSEGV,
	[EXC_PF] = SIGSEGV, [16] = SIGFPE,     [17] = SIGBUS,	   [19] = SIGFPE,
	[21] = SIGSEGV,
};

/* Linux's fpu__exception_code: the si_code of an x87 (#MF) or SIMD (#XM)
 * exception, from the live user state. */
static int fpu_exception_code(int vector)
{
	unsigned err;
	if (vector == 19) {
		uint32_t mxcsr;
		__asm__ __volatile__("stmxcsr %0" : "=m"(mxcsr));
		err = ~(mxcsr >> 7) & mxcsr & 0x3f;
	} else {
		uint16_t cwd, swd;
		__asm__ __volatile__("fnstcw %0; fnstsw %1" : "=m"(cwd), "=m"(swd));
		err = swd & ~cwd;
	}
	if (err & 0x001)
		return FPE_FLTINV;
	if (err & 0x004)
		return FPE_FLTDIV;
	if (err & 0x008)
		return FPE_FLTOVF;
	if (err & 0x012)
		return FPE_FLTUND;
	if (err & 0x020)
		return FPE_FLTRES;
	return SI_KERNEL;
}

/* si_code and si_addr of a user exception other than #PF, as Linux's
 * traps.c fills them. */
static int user_exception_code(struct trap_frame *f, uint64_t *addr)
{
	*addr = 0;
	switch (f->vector) {
	case EXC_DE:
		*addr = f->rip;
		return FPE_INTDIV;
	case EXC_UD:
		*addr = f->rip;
		return ILL_ILLOPN;
	case 1: {
		uint64_t dr6;
		__asm__ __volatile__("mov %%dr6, %0" : "=r"(dr6));
		*addr = f->rip;
		return dr6 & (1ul << 14) ? TRAP_TRACE : TRAP_BRKPT;
	}
	case 16:
	case 19:
		*addr = f->rip;
		return fpu_exception_code((int)f->vector);
	case 17:
		return BUS_ADRALN;
	}
	return SI_KERNEL; /* int3, #GP, #NP, #SS, #TS, into, bound: force_sig */
}

/* A user #PF: resolved, or the signal Linux sends (SEGV_MAPERR where
 * nothing is mapped, SEGV_ACCERR where the mapping forbids the access,
 * SIGBUS BUS_ADRERR beyond the end of a file). */
static void user_page_fault(struct trap_frame *f, uint64_t cr2)
{
	int err = -EFAULT;
	if (!(f->error_code & PF_RSVD)) {
		unsigned flags = (f->error_code & PF_WRITE ? FAULT_FLAG_WRITE : 0) |
				 (f->error_code & PF_INSTR ? FAULT_FLAG_INSTR : 0);
		local_irq_enable();
		err = do_user_fault(cr2, flags);
		local_irq_disable();
		if (!err)
			return;
	}
#ifdef MUTATION_FAULT_KILLS
	user_exit_signal(SIGSEGV, f, cr2);
#endif
	if (err == -ENOMEM) {
		/* Out of memory: as Linux's OOM killer (this kernel has no
		 * reclaim, so the faulting process is the one to go). */
#ifdef MUTATION_OOM_FAULT_PANICS
		panic("out of memory in a user page fault");
#endif
		local_irq_enable();
		force_sig(SIGKILL);
		local_irq_disable();
		return;
	}
	int sig = SIGSEGV, code = SEGV_ACCERR;
	if (err == -EFAULT)
		code = SEGV_MAPERR;
	else if (err == VM_FAULT_SIGBUS)
		sig = SIGBUS, code = BUS_ADRERR;
	local_irq_enable();
	force_sig_fault(sig, code, cr2, EXC_PF, f->error_code);
	local_irq_disable();
}

/* Linux's do_trap etc.: the signal for the thread; it is delivered (or
 * kills) on the way back to user mode. */
static void handle_user_exception(struct trap_frame *f, uint64_t cr2)
{
	if (f->vector == EXC_PF) {
		user_page_fault(f, cr2);
		return;
	}
#ifdef MUTATION_FAULT_KILLS
	user_exit_signal(user_exception_signal[f->vector] ?: SIGSEGV, f, cr2);
#endif
	int sig = user_exception_signal[f->vector] ? user_exception_signal[f->vector] : SIGSEGV;
	uint64_t addr;
	int code = user_exception_code(f, &addr);
	local_irq_enable();
	force_sig_fault(sig, code, addr, (int)f->vector, f->error_code);
	local_irq_disable();
}

uint64_t bad_iret_fixups;

/* The kernel's iretq to user mode faulted (trap_entry.asm swapped GS back):
 * the iret frame it was reading lies at f->rsp. Make the fault the user's,
 * as if raised at the user instruction it returned to (Linux's
 * fixup_bad_iret), so it is handled as a user fault and not a kernel bug. */
void fixup_bad_iret(struct trap_frame *f)
{
	const uint64_t *iret = (const uint64_t *)f->rsp;
	f->rip = iret[0];
	f->cs = iret[1] | 3;
	f->rflags = iret[2];
	f->rsp = iret[3];
	f->ss = iret[4];
	__atomic_add_fetch(&bad_iret_fixups, 1, __ATOMIC_RELAXED);
}

/* Every return to ring 3, interrupts off (Linux's exit_to_user_mode_loop):
 * run what is pending (a kill, a reschedule, signals to deliver: the
 * frame is built with interrupts on), then check again with interrupts
 * off, so nothing set meanwhile waits for the next interrupt. */
void exit_to_user_mode(struct trap_frame *f)
{
	for (;;) {
		if (fatal_signal_pending(current)) {
			count_event(f->vector == VEC_RESCHEDULE ? EV_KILL_ON_IPI
								: EV_KILL_ON_OTHER);
			local_irq_enable();
			user_exit_killed();
		}
#ifndef MUTATION_NO_RESCHED_ON_USER_EXIT
		if (READ_ONCE(this_cpu()->need_resched)) {
			local_irq_enable();
			yield();
			local_irq_disable();
			continue;
		}
#endif
		if (READ_ONCE(current->sigpending)) { /* Linux's _TIF_SIGPENDING work */
			if (f->vector == VEC_RESCHEDULE)
				count_event(EV_SIGNAL_ON_IPI);
			local_irq_enable();
			arch_do_signal_or_restart(f);
			local_irq_disable();
			continue;
		}
		break;
	}
}

static void handle_exception(struct trap_frame *f)
{
	uint64_t cr2 = f->vector == EXC_PF ? read_cr2() : 0;
	if (f->vector == EXC_NMI) {
		if (panic_in_progress)
			arch_halt_forever();
		if (nmi_capture_backtrace(f))
			return; /* another CPU asked where this one is */
		printk("NMI on CPU %d (ignored)\n", cpu_id());
		return;
	}
	if ((f->cs & 3) && f->vector != EXC_DF && f->vector != EXC_MC) {
		if (f->vector == EXC_PF)
			count_event(EV_PAGE_FAULT);
		handle_user_exception(f, cr2);
		return;
	}
	uint64_t fixup = search_exception_table(f->rip);
	if (f->vector == EXC_PF) {
		count_event(EV_PAGE_FAULT);
		if (fixup && cr2 < USER_SPACE_END && (f->rflags & RFLAGS_IF) && user_fault(f, cr2))
			return;
	}
	if (fixup && (f->vector == EXC_PF || f->vector == EXC_GP)) {
		f->rip = fixup; /* the uaccess function returns -EFAULT */
		return;
	}
	if (f->vector < 32)
		try_fault_catch(f, cr2);
	fatal_exception(f, cr2);
}

static void handle_interrupt(struct trap_frame *f)
{
	struct cpu *c = this_cpu();
	c->irq_depth++;
	switch (f->vector) {
	case VEC_TIMER:
		lapic_eoi();
		c->ticks++;
		count_event(EV_TIMER_TICK);
		sched_tick((f->cs & 3) == 3); /* ring 3 was interrupted: a user tick */
		break;
	case VEC_CALL_FUNCTION:
		lapic_eoi();
		count_event(EV_IPI_RECEIVED);
		smp_handle_call_ipi();
		break;
	case VEC_RESCHEDULE:
		lapic_eoi();
		count_event(EV_IPI_RECEIVED);
		break;
	case VEC_SPURIOUS:
		break;
	case VEC_IRQ_KBD: /* the console tty's devices (ioapic.c, kernel/tty.c) */
	case VEC_IRQ_COM1:
		tty_irq(f->vector == VEC_IRQ_KBD ? 1 : 4);
		lapic_eoi();
		break;
	default:
		printk("CPU %d: unexpected interrupt vector %lu\n", cpu_id(), f->vector);
		lapic_eoi();
		break;
	}
	c->irq_depth--;
	/* From user mode, ret_to_user's exit_to_user_mode reschedules (with
	 * interrupts off, after the handler: as Linux's irqentry_exit). */
	if (!(f->cs & 3))
		sched_irq_exit(f->rflags & RFLAGS_IF);
}

void trap_dispatch(struct trap_frame *f)
{
	if (f->vector < 32)
		handle_exception(f);
	else
		handle_interrupt(f);
}

static bool kernel_stack_addr(uint64_t a)
{
	return a >= PAGE_OFFSET && !(a & 7);
}

void arch_backtrace(uint64_t rbp, uint64_t rip)
{
	printk("  [<%#018lx>] ", rip);
	print_symbol(rip);
	printk("\n");
	for (int depth = 0; depth < 24 && kernel_stack_addr(rbp); depth++) {
		uint64_t ret = ((uint64_t *)rbp)[1];
		uint64_t next = ((uint64_t *)rbp)[0];
		if (ret < KERNEL_VIRT_BASE)
			break;
		printk("  [<%#018lx>] ", ret);
		print_symbol(ret);
		printk("\n");
		if (next <= rbp)
			break;
		rbp = next;
	}
}

void arch_dump_stack(void)
{
	arch_backtrace((uint64_t)__builtin_frame_address(0), (uint64_t)&arch_dump_stack);
}
