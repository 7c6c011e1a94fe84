/*
 * arch/x86_64/stacktrace.c - the backtrace of a thread that is not running.
 *
 * A thread switched out by arch_switch_to (head.asm) left, at its saved
 * stack pointer: r15 r14 r13 r12 rbx rbp and the return address into
 * __schedule. From there the frame-pointer chain (the kernel is built with
 * -fno-omit-frame-pointer) leads up to the thread's entry. The walk never
 * leaves the thread's own stack pages, so a thread that wakes up and
 * rewrites its stack meanwhile can only produce a short or odd trace, never
 * a fault. Used by the test harness to say what a stuck case was doing.
 */
#include "arch/arch.h"
#include "kernel/sched.h"
#include "kernel/printk.h"
#include "kernel/ksyms.h"
#include "arch/x86_64/memlayout.h"

enum { SAVED_RBP = 5, SAVED_RIP = 6, MAX_FRAMES = 16 };

static void print_frame(uint64_t rip)
{
	printk("    #   [<%#018lx>] ", rip);
	print_symbol(rip);
	printk("\n");
}

void arch_thread_backtrace(const struct thread *t)
{
	uint64_t lo = (uint64_t)t->stack, hi = lo + THREAD_STACK_SIZE;
	uint64_t sp = READ_ONCE(t->arch_sp);
	if (!t->stack || sp < lo || sp + 8 * (SAVED_RIP + 1) > hi) {
		printk("    #   (no saved stack)\n");
		return;
	}
	const uint64_t *saved = (const uint64_t *)sp;
	uint64_t rbp = READ_ONCE(saved[SAVED_RBP]);
	print_frame(READ_ONCE(saved[SAVED_RIP]));
	for (int depth = 0; depth < MAX_FRAMES; depth++) {
		if (rbp < lo || rbp + 16 > hi || (rbp & 7))
			break;
		const uint64_t *frame = (const uint64_t *)rbp;
		uint64_t next = READ_ONCE(frame[0]), ret = READ_ONCE(frame[1]);
		if (ret < KERNEL_VIRT_BASE)
			break;
		print_frame(ret);
		if (next <= rbp)
			break;
		rbp = next;
	}
}
