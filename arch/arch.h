/*
 * arch/arch.h - the one header through which generic code reaches the
 * architecture. Everything here is a function or constant with an
 * architecture-neutral meaning; the x86 details live in arch/x86_64/.
 */
#ifndef ARCH_ARCH_H
#define ARCH_ARCH_H

#include "kernel/compiler.h"
#include "arch/x86_64/arch_impl.h"
#include "arch/x86_64/memlayout.h"
#include "arch/x86_64/pgtable.h"
#include "arch/x86_64/tlb.h"
#include "arch/x86_64/uaccess.h"

/* Interrupt control (implemented inline in arch_impl.h):
 *   local_irq_disable(), local_irq_enable(), local_irq_save() -> flags,
 *   local_irq_restore(flags), irqs_disabled(), cpu_relax(),
 *   arch_cycles() (TSC), arch_halt_forever(). */

struct trap_frame;
struct thread;

/* Features found by CPUID at boot (arch/x86_64/cpu.c). */
struct cpu_features {
	bool nx, pge, pcid, invpcid, smep, smap, x2apic, tsc_deadline, gbpages;
	bool hypervisor;
	bool xsave;	   /* XSAVE/XRSTOR with OSXSAVE (user FPU state) */
	uint64_t xcr0;	   /* the XCR0 every CPU sets (as Linux: user states) */
	uint32_t fpu_size; /* bytes of a thread's FPU area */
	uint32_t max_phys_bits, max_virt_bits;
	char vendor[13];
	char brand[49];
};
extern struct cpu_features boot_cpu_features;

/* CPU bring-up */
void arch_set_cpu_base(void *percpu); /* GS base: first thing on every CPU */
void arch_early_init(void);	      /* BSP: CPU features, GDT, TSS, IDT, control registers */
void arch_cpu_init(int cpu);	      /* APs: GDT/TSS/IDT load, control registers */
void arch_smp_boot(void);	      /* find and start every AP */
void arch_reboot(void) __noreturn;
void arch_qemu_exit(int code); /* isa-debug-exit: QEMU exits with (code << 1) | 1 */

/* Paging (arch/x86_64/paging.c) */
struct boot_info;
void paging_init(const struct boot_info *bi);
void flush_tlb_kernel_page(uint64_t va);
extern uint64_t kernel_pml4_phys;

/* IPIs */
enum ipi_vector {
	VEC_TIMER = 0x40,
	VEC_CALL_FUNCTION = 0xf0,
	VEC_RESCHEDULE = 0xf1,
	VEC_SPURIOUS = 0xff,
};
void arch_send_ipi(int cpu, int vector);
void arch_send_nmi_allbutself(void);

/* The wall clock at this moment, in seconds since 1970-01-01 UTC, from the
 * battery-backed clock (the CMOS RTC on PCs), or -1 if there is none. Slow
 * (port I/O, waits out an update): read once at boot (kernel/sys_time.c). */
int64_t arch_read_wall_clock(void);

/* Per-CPU timer tick */
#define ARCH_TIMER_HZ 100      /* ticks per second: sleeps end on a tick */
void arch_timer_init(int cpu); /* start the periodic tick on this CPU */
extern uint64_t tsc_khz;       /* TSC frequency, calibrated at boot */

/* Threads */
void arch_thread_init(struct thread *t, void (*entry)(void));
void arch_switch_to(struct thread *prev, struct thread *next);
/* Before arch_switch_to, IRQs off: user CPU state of prev saved, next's
 * loaded (FS/GS bases, FPU), the TSS rsp0 and entry stack set to next's. */
void arch_switch_user_state(struct thread *prev, struct thread *next);
/* Enter ring 3 at rip with rsp, in current's mm; never returns. */
void arch_enter_user(uint64_t rip, uint64_t rsp) __noreturn;
/* Tests: the same with another SS (a bad one makes the kernel's iretq fault). */
void arch_enter_user_ss(uint64_t rip, uint64_t rsp, uint16_t ss) __noreturn;
/* The current user thread's FS (gs=false) or GS base, as arch_prctl sets them. */
void arch_set_user_base(bool gs, uint64_t base);
uint64_t arch_get_user_base(bool gs);
/* Free a thread's arch state (FPU area). */
void arch_thread_free(struct thread *t);
/* Process model (arch/x86_64/cpu.c). The user registers of the current
 * thread (the frame at the top of its kernel stack). */
struct trap_frame;
struct trap_frame *current_user_regs(void);
int arch_dup_user_state(struct thread *child); /* clone: FPU and FS/GS copied */
void arch_ret_from_fork(const struct trap_frame *regs) __noreturn;
void arch_exec_user_state(struct trap_frame *regs, uint64_t rip, uint64_t rsp);

/* Recoverable faults for tests: see arch/x86_64/trap.c. */
struct kjmp_buf {
	uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip, rflags;
};
int ksetjmp(struct kjmp_buf *jb) __attribute__((returns_twice));
void klongjmp(struct kjmp_buf *jb, int val) __noreturn;

/* execve (arch/x86_64/elf_arch.c): AT_HWCAP (CPUID 1 EDX, as Linux), and
 * a hardware random number (RDRAND) if the CPU has one. */
uint64_t arch_elf_hwcap(void);
bool arch_get_random_u64(uint64_t *out);

/* Backtrace from a frame pointer; prints one line per frame. */
void arch_backtrace(uint64_t rbp, uint64_t rip);
void arch_dump_stack(void);
/* Backtrace of a thread that is switched out (bounded to its own stack). */
void arch_thread_backtrace(const struct thread *t);
/* Backtrace of whatever runs on another CPU now (asked with an NMI). */
void arch_cpu_backtrace(int cpu);

#endif
