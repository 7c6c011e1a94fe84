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
 *
 * A thread running on another CPU is asked with an NMI (it may spin with
 * interrupts off): the NMI handler only records the interrupted RIP and the
 * return addresses of the frame chain, bounded to the running thread's
 * stack, and the asking CPU prints them. Printing from the NMI itself could
 * deadlock on the console lock that the interrupted code may hold (Linux's
 * NMI backtrace uses per-CPU buffers for the same reason).
 */
#include "arch/arch.h"
#include "kernel/sched.h"
#include "kernel/printk.h"
#include "kernel/ksyms.h"
#include "arch/x86_64/memlayout.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/apic.h"
#include "kernel/percpu.h"
#include "kernel/atomic.h"

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

enum { NMI_IDLE, NMI_ASKED, NMI_ANSWERED };

struct nmi_trace {
	volatile int state;
	int n;
	uint64_t rip[MAX_FRAMES + 1];
};
static struct nmi_trace nmi_traces[NR_CPUS];

bool nmi_capture_backtrace(const struct trap_frame *f)
{
	struct nmi_trace *tr = &nmi_traces[cpu_id()];
	if (smp_load_acquire(&tr->state) != NMI_ASKED)
		return false;
	const struct thread *t = this_cpu()->curr;
	uint64_t lo = t && t->stack ? (uint64_t)t->stack : 0, hi = lo ? lo + THREAD_STACK_SIZE : 0;
	int n = 0;
	tr->rip[n++] = f->rip;
	for (uint64_t rbp = f->rbp; n <= MAX_FRAMES && rbp >= lo && rbp + 16 <= hi && !(rbp & 7);) {
		const uint64_t *frame = (const uint64_t *)rbp;
		if (frame[1] < KERNEL_VIRT_BASE)
			break;
		tr->rip[n++] = frame[1];
		if (frame[0] <= rbp)
			break;
		rbp = frame[0];
	}
	tr->n = n;
	smp_store_release(&tr->state, NMI_ANSWERED);
	return true;
}

void arch_cpu_backtrace(int cpu)
{
	struct nmi_trace *tr = &nmi_traces[cpu];
	if (cpu == cpu_id() || !cpus[cpu].online) {
		printk("    #   (not asked: CPU %d is this one or offline)\n", cpu);
		return;
	}
	smp_store_release(&tr->state, NMI_ASKED);
	lapic_send_nmi(cpus[cpu].apic_id);
	uint64_t deadline = ktime_get_ns() + 500 * 1000000ull;
	while (smp_load_acquire(&tr->state) != NMI_ANSWERED && ktime_get_ns() < deadline)
		cpu_relax();
	if (smp_load_acquire(&tr->state) != NMI_ANSWERED) {
		smp_store_release(&tr->state, NMI_IDLE);
		printk("    #   (CPU %d did not answer the NMI)\n", cpu);
		return;
	}
	for (int i = 0; i < tr->n; i++)
		print_frame(tr->rip[i]);
	smp_store_release(&tr->state, NMI_IDLE);
}
