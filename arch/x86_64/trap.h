/* arch/x86_64/trap.h - the register frame saved by trap_entry.asm. */
#ifndef ARCH_X86_64_TRAP_H
#define ARCH_X86_64_TRAP_H

#include "kernel/compiler.h"

struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

#define EXC_DE	0
#define EXC_NMI 2
#define EXC_BP	3
#define EXC_OF	4
#define EXC_UD	6
#define EXC_DF	8
#define EXC_GP	13
#define EXC_PF	14
#define EXC_MC	18

/* Page-fault error code bits */
#define PF_PROT	 (1u << 0) /* 0: not present, 1: protection violation */
#define PF_WRITE (1u << 1)
#define PF_USER	 (1u << 2)
#define PF_RSVD	 (1u << 3)
#define PF_INSTR (1u << 4)

void trap_dispatch(struct trap_frame *f);
void fixup_bad_iret(struct trap_frame *f);
void exit_to_user_mode(struct trap_frame *f);
/* signal.c: deliver pending signals or restart the call (interrupts on). */
void arch_do_signal_or_restart(struct trap_frame *regs);
extern uint64_t bad_iret_fixups; /* how often the kernel's iretq faulted */
/* trap_frame.vector of a SYSCALL entry (error_code holds orig_ax). */
#define VEC_SYSCALL_FRAME 0x100
void dump_trap_frame(const struct trap_frame *f);
struct interrupt_frame;
void idt_set_gate(int vec, void (*handler)(struct interrupt_frame *));
/* stacktrace.c: true if this NMI was a backtrace request (answered). */
bool nmi_capture_backtrace(const struct trap_frame *f);

#endif
