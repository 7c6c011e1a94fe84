/*
 * kernel/percpu.h - per-CPU state.
 *
 * cpus[i] is CPU i's struct cpu (i is the logical id: 0 = BSP, then in MADT
 * order). On each CPU, GS base points at its own struct cpu and this_cpu()
 * reads it (arch/arch.h). Fields are touched only by their own CPU unless
 * the comment names a lock.
 */
#ifndef KERNEL_PERCPU_H
#define KERNEL_PERCPU_H

#include "kernel/compiler.h"
#include "kernel/list.h"
#include "kernel/spinlock.h"
#include "kernel/stats.h"
#include "arch/arch.h"

#define NR_CPUS 64

struct thread;

struct runqueue {
	spinlock_t lock;	/* guards everything below and the threads' on_rq */
	struct list_head queue; /* runnable threads, not the running one */
	int nr_queued;
	struct list_head timers; /* threads in sleep_ms(), by deadline */
};

struct call_queue {
	spinlock_t lock; /* irqsave: taken by senders and by the IPI handler */
	struct list_head list;
};

struct cpu {
	struct cpu *self; /* must be first: this_cpu() loads %gs:0 */
	/* At fixed offsets for the SYSCALL entry (arch/x86_64/trap_entry.asm):
	 * the user's rsp while switching stacks, and the running thread's
	 * kernel stack top (also the TSS rsp0), set on every context switch. */
	uint64_t entry_scratch;	  /* offset 8 */
	uint64_t entry_stack_top; /* offset 16 */
	int id;
	uint32_t apic_id;
	volatile bool online;
	struct thread *curr; /* running thread */
	struct thread *idle;
	struct thread *prev; /* handed from schedule() to finish_task_switch() */
	bool prev_migrating; /* ... and whether prev moves to prev->migrate_to */
	volatile bool need_resched;
	int irq_depth;
	struct runqueue rq;
	struct call_queue callq;
	volatile uint64_t ticks; /* timer interrupts taken on this CPU */
	uint64_t events[NR_EVENTS];
};

extern struct cpu cpus[NR_CPUS];
extern int nr_cpus; /* CPUs found (BSP + APs we tried to start) */
extern volatile int nr_cpus_online;

static inline int cpu_id(void)
{
	return this_cpu()->id;
}

#define for_each_online_cpu(i)            \
	for (int i = 0; i < nr_cpus; i++) \
		if (cpus[i].online)

/* cpumask: one bit per logical CPU. */
typedef struct {
	uint64_t bits[(NR_CPUS + 63) / 64];
} cpumask_t;

static inline void cpumask_clear(cpumask_t *m)
{
	for (size_t i = 0; i < ARRAY_SIZE(m->bits); i++)
		m->bits[i] = 0;
}
static inline void cpumask_set(cpumask_t *m, int cpu)
{
	__atomic_fetch_or(&m->bits[cpu / 64], 1ull << (cpu % 64), __ATOMIC_SEQ_CST);
}
static inline void cpumask_clear_cpu(cpumask_t *m, int cpu)
{
	__atomic_fetch_and(&m->bits[cpu / 64], ~(1ull << (cpu % 64)), __ATOMIC_SEQ_CST);
}
static inline bool cpumask_test(const cpumask_t *m, int cpu)
{
	return (READ_ONCE(m->bits[cpu / 64]) >> (cpu % 64)) & 1;
}
static inline int cpumask_weight(const cpumask_t *m)
{
	int n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(m->bits); i++)
		n += hweight64(READ_ONCE(m->bits[i]));
	return n;
}
void cpumask_online(cpumask_t *m); /* every online CPU */
#define for_each_cpu_in(i, m)             \
	for (int i = 0; i < nr_cpus; i++) \
		if (cpumask_test((m), i))

#endif
