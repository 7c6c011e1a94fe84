/*
 * kernel/smp.c - cross-CPU function calls.
 *
 * Each sending CPU owns one call slot (csd) per target CPU. A call fills the
 * slot, links it on the target's call queue under the queue's lock and
 * sends VEC_CALL_FUNCTION; the target runs every queued function in its
 * interrupt handler and then clears the slot's `pending` flag with release
 * ordering. That clear is the acknowledgement: a waiting sender spins on it
 * per target, so when smp_call_function_many(wait=true) returns, every
 * target has finished fn. A slot is reused only after its previous call was
 * acknowledged. Preemption is off during a call so the caller keeps its slots.
 *
 * Under a hypervisor (CPUID says so, unless smp.halt_waits=0) a waiting
 * sender halts after a short spin and the target kicks it awake with an
 * IPI after acknowledging (csd_wait_halting): a vCPU spinning on an
 * acknowledgement burns the host CPU time that the vCPUs it waits for need
 * to run. Under TCG with more vCPUs than host cores this took a 2-thread
 * MADV_DONTNEED loop (one shootdown per call) from about 160 to 3,000-5,000
 * calls per second.
 */
#include "kernel/smp.h"
#include "kernel/sched.h"
#include "kernel/atomic.h"
#include "kernel/panic.h"
#include "kernel/stats.h"
#include "kernel/cmdline.h"
#include "kernel/printk.h"
#include "arch/arch.h"

struct call_single_data {
	struct list_head node;
	smp_call_func_t fn;
	void *arg;
	volatile int pending;
	int sender;
	volatile int sender_halted; /* the sender sleeps in hlt: kick it */
};

static struct call_single_data csd[NR_CPUS][NR_CPUS]; /* [sender][target] */

void smp_init_cpu(int cpu)
{
	spin_lock_init(&cpus[cpu].callq.lock, "callq");
	INIT_LIST_HEAD(&cpus[cpu].callq.list);
}

void cpumask_online(cpumask_t *m)
{
	cpumask_clear(m);
	for_each_online_cpu (i)
		cpumask_set(m, i);
}

static void csd_wait(struct call_single_data *d)
{
	while (smp_load_acquire(&d->pending))
		cpu_relax();
}

/*
 * Wait for an acknowledgement with interrupts on (the caller's state).
 * Under a hypervisor a spinning vCPU takes host time from the vCPUs it is
 * waiting for; after a short spin it halts instead, and the target kicks
 * it with an IPI once it has acknowledged (sender_halted: set with
 * interrupts off before the last check of pending, read by the target
 * after its clear, each behind a full barrier, so one of them sees the
 * other's store; sti; hlt lets no interrupt in between).
 */
bool smp_halt_in_waits;

void smp_init_wait_mode(bool hypervisor)
{
	const char *v = cmdline_get("smp.halt_waits");
	smp_halt_in_waits = v ? cmdline_flag("smp.halt_waits") : hypervisor;
	printk("smp: IPI senders %s while they wait\n", smp_halt_in_waits ? "halt" : "spin");
}

static void csd_wait_halting(struct call_single_data *d)
{
	bool may_halt = smp_halt_in_waits && !irqs_disabled(); /* panic paths spin */
	for (unsigned spins = 0; smp_load_acquire(&d->pending); spins++) {
		if (!may_halt || spins < 64) {
			cpu_relax();
			continue;
		}
		unsigned long f = local_irq_save();
		WRITE_ONCE(d->sender_halted, 1);
		smp_mb();
		if (READ_ONCE(d->pending))
			arch_idle();
		WRITE_ONCE(d->sender_halted, 0);
		local_irq_restore(f);
	}
}

static void queue_call(int me, int target, smp_call_func_t fn, void *arg)
{
	struct call_single_data *d = &csd[me][target];
	csd_wait(d);
	d->fn = fn;
	d->arg = arg;
	d->sender = me;
	d->pending = 1;
	struct call_queue *q = &cpus[target].callq;
	unsigned long f = spin_lock_irqsave(&q->lock);
	list_add_tail(&d->node, &q->list);
	spin_unlock_irqrestore(&q->lock, f);
	count_event(EV_IPI_SENT);
	arch_send_ipi(target, VEC_CALL_FUNCTION);
}

void smp_call_function_many(const cpumask_t *mask, smp_call_func_t fn, void *arg, bool wait)
{
	if (irqs_disabled() && !panic_in_progress)
		panic("smp_call_function_many with interrupts disabled (deadlock risk)");
	preempt_disable();
	int me = cpu_id();
	for_each_cpu_in (i, mask)
		if (i != me && cpus[i].online)
			queue_call(me, i, fn, arg);
	if (cpumask_test(mask, me)) {
		unsigned long f = local_irq_save();
		fn(arg);
		local_irq_restore(f);
	}
	if (wait)
		for_each_cpu_in (i, mask)
			if (i != me)
				csd_wait_halting(&csd[me][i]);
	preempt_enable();
}

int smp_call_function_single(int cpu, smp_call_func_t fn, void *arg, bool wait)
{
	if (cpu < 0 || cpu >= nr_cpus || !cpus[cpu].online)
		return -22;
	cpumask_t m;
	cpumask_clear(&m);
	cpumask_set(&m, cpu);
	smp_call_function_many(&m, fn, arg, wait);
	return 0;
}

void on_each_cpu(smp_call_func_t fn, void *arg, bool wait)
{
	cpumask_t m;
	cpumask_online(&m);
	smp_call_function_many(&m, fn, arg, wait);
}

/* IPI handler: run everything queued for this CPU, acknowledging each. */
void smp_handle_call_ipi(void)
{
	struct call_queue *q = &this_cpu()->callq;
	for (;;) {
		raw_spin_lock(&q->lock);
		struct call_single_data *d = NULL;
		if (!list_empty(&q->list)) {
			d = list_first_entry(&q->list, struct call_single_data, node);
			list_del(&d->node);
		}
		raw_spin_unlock(&q->lock);
		if (!d)
			return;
		smp_call_func_t fn = d->fn;
		void *arg = d->arg;
		count_event(EV_CALL_FUNCTION);
		int sender = d->sender;
		fn(arg);
		smp_store_release(&d->pending, 0);
		smp_mb();
#ifndef MUTATION_CSD_NO_KICK
		if (READ_ONCE(d->sender_halted)) /* d may be reused from here on */
			arch_send_ipi(sender, VEC_CALL_FUNCTION);
#else
		(void)sender;
#endif
	}
}

int smp_processor_id(void)
{
	return this_cpu()->id;
}
