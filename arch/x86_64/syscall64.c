/*
 * arch/x86_64/syscall64.c - the C side of SYSCALL (trap_entry.asm,
 * entry_syscall_64) and the per-thread FS/GS bases.
 *
 * do_syscall runs the call with interrupts on, then with interrupts off the
 * pending work (exit_to_user_mode), and tells the entry code whether SYSRET
 * may return. SYSRET is used only under Linux's conditions
 * (syscall_return_via_sysret in arch/x86/entry/common.c):
 *   - RCX == RIP and R11 == RFLAGS (SYSRET loads RIP/RFLAGS from them);
 *   - CS and SS are the SYSRET ones (0x2b, 0x23);
 *   - RIP below TASK_SIZE_MAX (USER_SPACE_END - PAGE_SIZE, Linux's
 *     guard page): on Intel, SYSRET to a non-canonical RIP raises #GP in
 *     ring 0 after the swapgs, with the user's RSP and GS (CVE-2012-0217);
 *   - RF and TF clear (SYSRET cannot restore RF, and TF would trap at once).
 * Otherwise the return is by IRET, which takes any frame; a fault of that
 * iretq itself is made the user's by fixup_bad_iret (trap.c).
 */
#include "arch/x86_64/trap.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/asm.h"
#include "arch/x86_64/memlayout.h"
#include "arch/arch.h"
#include "kernel/syscall.h"
#include "kernel/sched.h"
#include "kernel/percpu.h"
#include "mm/page.h"

uint64_t syscall_iret_returns;

static bool syscall_can_sysret(const struct trap_frame *f)
{
	if (f->rcx != f->rip || f->r11 != f->rflags)
		return false;
	if (f->cs != GDT_USER_CS || f->ss != GDT_USER_DS)
		return false;
#ifndef MUTATION_SYSRET_ANY_RIP
	if (f->rip >= USER_SPACE_END - PAGE_SIZE)
		return false;
#endif
	if (f->r11 & (RFLAGS_RF | RFLAGS_TF))
		return false;
	return true;
}

bool do_syscall(struct trap_frame *f)
{
	local_irq_enable();
	f->rax =
	    (uint64_t)syscall_dispatch(f->error_code, f->rdi, f->rsi, f->rdx, f->r10, f->r8, f->r9);
	local_irq_disable();
	exit_to_user_mode(f);
	bool sysret = syscall_can_sysret(f);
	if (!sysret)
		__atomic_add_fetch(&syscall_iret_returns, 1, __ATOMIC_RELAXED);
	return sysret;
}

void arch_set_user_base(bool gs, uint64_t base)
{
	struct thread *t = current;
	unsigned long fl = local_irq_save();
	if (gs) {
		t->user_gs_base = base;
		wrmsr(MSR_KERNEL_GS_BASE, base); /* the user's while in the kernel */
	} else {
		t->user_fs_base = base;
		wrmsr(MSR_FS_BASE, base);
	}
	local_irq_restore(fl);
}

uint64_t arch_get_user_base(bool gs)
{
	unsigned long fl = local_irq_save();
	uint64_t v = rdmsr(gs ? MSR_KERNEL_GS_BASE : MSR_FS_BASE);
	local_irq_restore(fl);
	return v;
}

/* trap_entry.asm hard-codes these. */
_Static_assert(__builtin_offsetof(struct cpu, entry_scratch) == 8, "CPU_ENTRY_SCRATCH");
_Static_assert(__builtin_offsetof(struct cpu, entry_stack_top) == 16, "CPU_ENTRY_STACK");
_Static_assert(sizeof(struct trap_frame) == 22 * 8, "FRAME_SIZE");
_Static_assert(__builtin_offsetof(struct trap_frame, cs) == 18 * 8, "FRAME_CS");
