/*
 * kernel/sched.c - threads, run queues, preemption, sleep and wake-up.
 *
 * Locks and order:
 *   rq->lock (raw, IRQs off)   guards a run queue, its timer list, and the
 *                              state/on_rq/cpu of threads owned by it.
 *
 * A thread's timer (sleep with a deadline) is linked on its own CPU's rq
 * only while it sleeps; waking unlinks it, and a sleeper is never stolen by
 * another CPU, so the timer is always on the list of the rq that owns it.
 *   waitq->lock (irqsave)      guards a wait queue; may be taken before an
 *                              rq lock (wake_up_all -> wake_up_thread).
 *   zombie_lock                innermost.
 *
 * A context switch holds the outgoing CPU's rq lock from the pick until the
 * incoming thread runs finish_task_switch(); so a thread is never enqueued
 * anywhere, stolen or woken while its registers are still being saved.
 *
 * Affinity (cpus_allowed): a thread is queued only on a CPU its mask
 * allows. thread_create picks one; steal_thread takes a thread only to a
 * CPU its mask allows; a wake-up queues it where it slept, which its mask
 * allowed. When the mask changes under a thread (set_cpus_allowed), the
 * thread moves itself: __schedule() sends a RUNNING prev whose CPU is not
 * in its mask to an allowed CPU (finish_task_switch queues it there); a
 * thread whose mask another thread changed (recheck_cpus) and that resumes
 * on such a CPU (it slept there, or was queued before the change) schedules
 * again at once, so it never returns to its own code there. A preempted
 * sleeper (SLEEPING, its timer on this rq) is not moved: it asks for a
 * resched and moves at its next switch as RUNNING. Only a changed mask is
 * rechecked at resume: anywhere else, a thread on a CPU outside its mask
 * is a scheduler bug that the tests must see, not one this hides.
 *
 * CPU time: at each switch the outgoing thread is charged the time since
 * its stint began (exec_start_ns), under the rq lock; a reader adds the
 * running stint (thread_cputime_ns). The CPU is charged too when the
 * thread is a user one (cpu_user_ns: /proc/stat's user column; its idle
 * time is its idle thread's). The load average (avenrun) is Linux's
 * calc_global_load: every 5 s CPU 0's tick folds the threads runnable
 * now (a racy sum of the run queues) into the three decaying averages.
 *
 * Kicks: a wake-up of a thread queued on another CPU needs that CPU to
 * reschedule: need_resched is set under the rq lock with the enqueue, but
 * the IPI (the "kick") is sent only once the waker has dropped the rq lock
 * and any lock the woken thread will take first (the wait queue's, a futex
 * bucket's; futex_wake also marks the waiter done before it kicks):
 * wake_up_thread_kick() notes the CPU, sched_kick_cpus() sends. A kick
 * sent with those locks held lets the woken CPU run into them at once; if
 * the waker's vCPU is descheduled by the host right after its IPI (lock
 * holder preemption), the woken one spins for the host's time slice,
 * milliseconds (seen: 3-5 ms per futex wake at 4 vCPUs on 2 host CPUs).
 * Linux gets the same from its wake queues (wake_q: woken after the
 * unlock) and its wake list (ttwu_queue_wakelist: the target CPU queues
 * the thread itself). The order is safe: the target, if idle, checks
 * need_resched with interrupts off before it halts, so a late IPI still
 * wakes it; a kick to the waker's own CPU is needless (need_resched is
 * set). sched.kick_after_unlock; mutation WAKE_KICK_UNDER_LOCK.
 *
 * Sleeping: set state SLEEPING (prepare_to_wait), re-check the condition,
 * schedule(). wake_up_thread() sets RUNNING and enqueues only if the thread
 * has left the run queue, so a wake-up between the check and schedule() just
 * keeps the thread running. Preemption (schedule from an interrupt) never
 * deactivates a thread, whatever its state, so it cannot lose a wake-up.
 */
#include "kernel/sched.h"
#include "kernel/pause.h"
#include "kernel/percpu.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "kernel/panic.h"
#include "kernel/stats.h"
#include "mm/page.h"
#include "mm/kmalloc.h"
#include "mm/mm.h"
#include "mm/vmalloc.h"

static struct thread
    boot_threads[NR_CPUS]; /* each CPU's start-up context, becomes its idle thread */
static DEFINE_SPINLOCK(all_threads_lock);
static LIST_HEAD(all_threads);
static LIST_HEAD(zombies);
static DEFINE_SPINLOCK(zombie_lock);
static int next_tid = 1;
static int nr_threads;

static void __schedule(bool preempt);
static struct runqueue *thread_rq_lock(struct thread *t);

void preempt_disable(void)
{
	current->preempt_count++;
	barrier();
}

void preempt_enable_no_resched(void)
{
	barrier();
	current->preempt_count--;
}

/* A preemption point: like an interrupt, it never puts a sleeper to sleep
 * (the thread may be between prepare_to_wait and its condition check). */
void preempt_enable(void)
{
	struct thread *t = current;
	barrier();
	if (--t->preempt_count == 0 && READ_ONCE(this_cpu()->need_resched) && !irqs_disabled())
		__schedule(true);
}

static void rq_lock(struct runqueue *rq)
{
	raw_spin_lock(&rq->lock);
}
static void rq_unlock(struct runqueue *rq)
{
	raw_spin_unlock(&rq->lock);
}

static void enqueue(struct runqueue *rq, struct thread *t)
{
	if (unlikely(t->rq_node.next))
		panic("thread %d (%s) enqueued twice (state %d, on CPU %d)", t->tid, t->name,
		      t->state, t->on_cpu - 1);
	list_add_tail(&t->rq_node, &rq->queue);
	rq->nr_queued++;
}

static void dequeue(struct runqueue *rq, struct thread *t)
{
	list_del(&t->rq_node);
	rq->nr_queued--;
}

/* Make `cpu` reschedule soon: a flag locally, a flag plus an IPI remotely. */
static void resched_cpu(int cpu)
{
	WRITE_ONCE(cpus[cpu].need_resched, true);
	if (cpu != cpu_id()) {
		count_event(EV_RESCHED_IPI);
		arch_send_ipi(cpu, VEC_RESCHEDULE);
		pause_point(PAUSE_WAKE_KICK, &cpus[cpu]); /* the sender stalls: what may it hold? */
	}
}

/* May thread t be taken to CPU cpu by a stealing CPU? */
static bool steal_allowed(const struct thread *t, int cpu)
{
#ifdef MUTATION_AFFINITY_IGNORED_BY_STEAL
	return cpumask_weight(&t->cpus_allowed) > 1; /* "not pinned": any CPU will do */
#else
	return thread_cpu_allowed(t, cpu);
#endif
}

/* The least loaded online CPU that t's mask allows, or -1. */
static int pick_allowed_cpu(const struct thread *t)
{
	int best = -1, best_load = 1 << 30;
	for_each_online_cpu (i) {
		if (!thread_cpu_allowed(t, i))
			continue;
		int load = READ_ONCE(cpus[i].rq.nr_queued) + (cpus[i].curr != cpus[i].idle);
		if (load < best_load) {
			best = i;
			best_load = load;
		}
	}
	return best;
}

/* Time each CPU spent running user threads (/proc/stat's user column):
 * written by that CPU at its switches, under its rq lock. */
static uint64_t cpu_user_ns[NR_CPUS];

/* Charge prev its stint on this CPU and start next's; rq lock held. */
static void account_switch(struct thread *prev, struct thread *next)
{
	uint64_t now = ktime_get_ns();
	prev->sum_exec_ns += now - prev->exec_start_ns;
#ifndef MUTATION_CPU_USER_TIME_NOT_COUNTED
	if (prev->proc)
		cpu_user_ns[this_cpu()->id] += now - prev->exec_start_ns;
#endif
#ifdef MUTATION_CPUTIME_COUNTS_SLEEP
	prev->exec_start_ns = now; /* next's clock ran on while it was off the CPU */
	(void)next;
#else
	next->exec_start_ns = now;
#endif
}

uint64_t thread_cputime_ns(struct thread *t)
{
	unsigned long f = local_irq_save();
	struct runqueue *rq = thread_rq_lock(t);
	uint64_t ns = t->sum_exec_ns;
#ifndef MUTATION_CPUTIME_STALE_WHILE_RUNNING
	if (READ_ONCE(t->on_cpu))
		ns += ktime_get_ns() - t->exec_start_ns;
#endif
	rq_unlock(rq);
	local_irq_restore(f);
	return ns;
}

void sched_cpu_times(int cpu, uint64_t *idle_ns, uint64_t *user_ns)
{
	struct cpu *c = &cpus[cpu];
	unsigned long f = local_irq_save();
	rq_lock(&c->rq);
	uint64_t now = ktime_get_ns(), user = cpu_user_ns[cpu];
	struct thread *curr = c->curr;
#ifndef MUTATION_CPU_USER_TIME_NOT_COUNTED
	if (curr && curr->proc && curr != c->idle)
		user += now - curr->exec_start_ns;
#else
	(void)now;
	(void)curr;
#endif
	rq_unlock(&c->rq);
	local_irq_restore(f);
	*user_ns = user;
	*idle_ns = c->idle ? thread_cputime_ns(c->idle) : 0;
}

int sched_nr_running(void)
{
	int n = 0;
	for (int i = 0; i < nr_cpus; i++) {
		struct cpu *c = &cpus[i];
		if (!c->online)
			continue;
		n += READ_ONCE(c->rq.nr_queued);
		if (READ_ONCE(c->curr) != c->idle)
			n++;
	}
	return n;
}

/* Linux's calc_global_load: avenrun[i] = avenrun[i] * e + n * (1 - e),
 * e = exp(-5 s / 1, 5, 15 min) in fixed point, every 5 s. */
static unsigned long avenrun[3];
static uint64_t next_load_ns;

static void calc_load(uint64_t now)
{
	static const unsigned long exp[3] = { 1884, 2014, 2037 }; /* EXP_1, EXP_5, EXP_15 */
	if (now < next_load_ns)
		return;
	next_load_ns = now + 5ull * 1000000000ull;
	unsigned long active = (unsigned long)sched_nr_running() * LOAD_FIXED_1;
	for (int i = 0; i < 3; i++) {
		unsigned long a = avenrun[i] * exp[i] + active * (LOAD_FIXED_1 - exp[i]);
		if (active >= avenrun[i])
			a += LOAD_FIXED_1 - 1;
		WRITE_ONCE(avenrun[i], a / LOAD_FIXED_1);
	}
}

void sched_loadavg(unsigned long loads[3])
{
	for (int i = 0; i < 3; i++)
		loads[i] = READ_ONCE(avenrun[i]);
}

/* Steal one queued thread that may run here from another CPU; called with our rq locked. */
static struct thread *steal_thread(struct cpu *me)
{
	for (int i = 1; i < nr_cpus; i++) {
		struct cpu *o = &cpus[(me->id + i) % nr_cpus];
		if (!o->online || !READ_ONCE(o->rq.nr_queued))
			continue;
		if (!raw_spin_trylock(&o->rq.lock))
			continue;
		struct thread *t, *found = NULL;
		list_for_each_entry (t, &o->rq.queue, rq_node) {
			/* Not a preempted sleeper: its timer is on o's list. */
			if (steal_allowed(t, me->id) && t->state == THREAD_RUNNING) {
				found = t;
				break;
			}
		}
		if (found) {
			dequeue(&o->rq, found);
			found->cpu = me->id;
			count_event(EV_THREAD_STEAL);
		}
		raw_spin_unlock(&o->rq.lock);
		if (found)
			return found;
	}
	return NULL;
}

/* ---- kernel stacks -----------------------------------------------------
 * Each thread's stack is mapped in the vmalloc area with an unmapped page
 * below it (vmap_reserve leaves one after every reservation), so running
 * off its bottom faults (#PF, then #DF on the IST stack, which reports it)
 * instead of writing over a neighbour. Unmapping would cost a TLB
 * shootdown per page of every exiting thread, so, as Linux caches vmapped
 * stacks, a finished thread's stack goes to a free list and is reused;
 * its pages are kept for good, like heap slabs (sched_stack_pages_kept). */
static DEFINE_SPINLOCK(stack_cache_lock);
static void *stack_cache; /* free stacks, linked through their lowest word */
static uint64_t stack_pages_kept;

uint64_t sched_stack_pages_kept(void)
{
	return __atomic_load_n(&stack_pages_kept, __ATOMIC_RELAXED);
}

static void *alloc_thread_stack(void)
{
	spin_lock(&stack_cache_lock);
	void *s = stack_cache;
	if (s)
		stack_cache = *(void **)s;
	spin_unlock(&stack_cache_lock);
	if (s)
		return s;
	void *pages = get_free_pages(0, THREAD_STACK_ORDER);
	if (!pages)
		return NULL;
#ifdef MUTATION_STACK_NO_GUARD
	return pages; /* the direct map: the page below is someone else's */
#endif
	uint64_t va = vmap_reserve(THREAD_STACK_SIZE);
	for (uint64_t off = 0; off < THREAD_STACK_SIZE; off += PAGE_SIZE)
		BUG_ON(kmap_page(va + off, virt_to_phys(pages) + off, KMAP_WRITE));
	__atomic_add_fetch(&stack_pages_kept, 1u << THREAD_STACK_ORDER, __ATOMIC_RELAXED);
	return (void *)va;
}

static void free_thread_stack(void *s)
{
#ifdef MUTATION_STACK_NO_GUARD
	free_pages(s, THREAD_STACK_ORDER);
	return;
#endif
	spin_lock(&stack_cache_lock);
	*(void **)s = stack_cache;
	stack_cache = s;
	spin_unlock(&stack_cache_lock);
}

static void check_stack(struct thread *t)
{
	if (t->stack && *(uint64_t *)t->stack != STACK_END_MAGIC)
		panic("kernel stack overflow in thread %d (%s)", t->tid, t->name);
}

/* Runs on the new thread right after the switch: drop the rq lock, deal with prev. */
static void finish_task_switch(void)
{
	struct cpu *c = this_cpu();
	struct thread *prev = c->prev;
	smp_store_release(&prev->on_cpu, 0); /* its registers are saved */
	rq_unlock(&c->rq);
	if (prev->state == THREAD_DEAD) {
		raw_spin_lock(&zombie_lock);
		list_add_tail(&prev->rq_node, &zombies);
		raw_spin_unlock(&zombie_lock);
	} else if (c->prev_migrating) {
		struct cpu *dst = &cpus[prev->migrate_to];
		prev->migrate_to = -1;
		rq_lock(&dst->rq);
		prev->cpu = dst->id;
		prev->on_rq = true;
		enqueue(&dst->rq, prev);
		rq_unlock(&dst->rq);
		resched_cpu(dst->id);
	}
}

/* Resumed on a CPU the mask no longer allows (it slept here, or was queued
 * here when another thread changed its mask): move before returning to the
 * thread's code. */
static void resume_check_affinity(bool preempt)
{
	struct thread *t = current;
#ifdef MUTATION_AFFINITY_NO_RESUME_CHECK
	return; /* runs on where it was queued until it next switches */
#endif
	if (likely(!READ_ONCE(t->recheck_cpus)))
		return;
	/* Cleared before the mask is read: a newer change sets it again. */
	WRITE_ONCE(t->recheck_cpus, false);
	smp_mb();
	if (thread_cpu_allowed(t, cpu_id()))
		return;
	if (t->state == THREAD_RUNNING)
		__schedule(preempt); /* sends it to an allowed CPU */
	else {
		WRITE_ONCE(t->recheck_cpus, true);	    /* a preempted sleeper: */
		WRITE_ONCE(this_cpu()->need_resched, true); /* at its next switch */
	}
}

/* Pick the next thread and switch to it. preempt: called from an interrupt. */
static void __schedule(bool preempt)
{
	unsigned long flags = local_irq_save();
	struct cpu *c = this_cpu();
	struct thread *prev = c->curr, *next;

	if (unlikely(prev->preempt_count != 0 && !panic_in_progress))
		panic("scheduling while atomic: thread %d (%s) preempt_count %d", prev->tid,
		      prev->name, prev->preempt_count);
	check_stack(prev);
	rq_lock(&c->rq);
	c->need_resched = false;
	c->prev_migrating = false;
	if (prev != c->idle) {
		if (prev->state == THREAD_RUNNING && !thread_cpu_allowed(prev, c->id) &&
		    (prev->migrate_to = pick_allowed_cpu(prev)) >= 0) {
			prev->on_rq = false; /* finish_task_switch moves it */
			c->prev_migrating = true;
		} else if (preempt || prev->state == THREAD_RUNNING)
			enqueue(&c->rq, prev);
		else
			prev->on_rq = false;
	}
	if (!list_empty(&c->rq.queue)) {
		next = list_first_entry(&c->rq.queue, struct thread, rq_node);
		dequeue(&c->rq, next);
	} else {
		next = steal_thread(c);
		if (!next)
			next = c->idle;
	}
	if (next == prev) {
		rq_unlock(&c->rq);
		local_irq_restore(flags);
		return;
	}
	if (unlikely(next->on_cpu))
		panic("CPU %d picked thread %d (%s) still running on CPU %d", c->id, next->tid,
		      next->name, next->on_cpu - 1);
	next->on_cpu = c->id + 1;
	/* Linux's __schedule: a switch away from a thread that gave up the
	 * CPU to sleep is voluntary, one that preempted it involuntary. */
#ifndef MUTATION_SWITCH_ALL_INVOLUNTARY
	if (!preempt && prev->state != THREAD_RUNNING)
#else
	if (false)
#endif
		prev->nvcsw++;
	else
		prev->nivcsw++;
	c->prev = prev;
	c->curr = next;
	if (next->mm)
		switch_mm_irqs_off(next->mm);
	else
		enter_lazy_tlb(); /* kernel thread: keep whatever tables are loaded (R8) */
	count_event(EV_CONTEXT_SWITCH);
	account_switch(prev, next);
	arch_switch_user_state(prev, next);
	arch_switch_to(prev, next);
	/* Resumed, possibly on another CPU. */
	finish_task_switch();
	local_irq_restore(flags);
	resume_check_affinity(preempt);
}

void schedule(void)
{
	__schedule(false);
}

void yield(void)
{
	__schedule(true); /* stays runnable whatever its state */
}

void sched_irq_exit(bool irqs_were_on)
{
	struct cpu *c = this_cpu();
	if (c->need_resched && irqs_were_on && c->curr->preempt_count == 0)
		__schedule(true);
}

/* The mask for thread_create's and sched_migrate's `cpu` (CPU_ANY: all). */
static void cpu_to_mask(cpumask_t *m, int cpu)
{
	for (size_t i = 0; i < ARRAY_SIZE(m->bits); i++)
		m->bits[i] = cpu == CPU_ANY ? ~0ull : 0;
	if (cpu != CPU_ANY)
		m->bits[cpu / 64] = 1ull << (cpu % 64);
}

void sched_migrate(int cpu)
{
	struct thread *t = current;
	BUG_ON(cpu != CPU_ANY && (cpu < 0 || cpu >= nr_cpus || !cpus[cpu].online));
	cpu_to_mask(&t->cpus_allowed, cpu); /* our own: no lock (we are on no queue) */
	if (!thread_cpu_allowed(t, cpu_id()))
		schedule(); /* __schedule moves us */
}

int set_cpus_allowed(struct thread *t, const cpumask_t *mask)
{
	cpumask_t m;
	cpumask_clear(&m);
	for_each_online_cpu (i)
		if (cpumask_test(mask, i))
			m.bits[i / 64] |= 1ull << (i % 64);
	if (!cpumask_weight(&m))
		return -EINVAL;
	unsigned long f = local_irq_save();
	struct runqueue *rq = thread_rq_lock(t);
	t->cpus_allowed = m;
	if (t != current)
		WRITE_ONCE(t->recheck_cpus, true); /* after the mask: see resume_check_affinity */
	int on = READ_ONCE(t->on_cpu);
	if (t != current && on && !cpumask_test(&m, on - 1))
		resched_cpu(on - 1); /* running elsewhere: its next switch moves it */
	rq_unlock(rq);
	local_irq_restore(f);
#ifndef MUTATION_AFFINITY_NO_MIGRATE
	if (t == current && !thread_cpu_allowed(t, cpu_id()))
		schedule(); /* move now (sched_migrate-like) */
#endif
	return 0;
}

/* Lock the run queue that owns t (t->cpu may change until we hold it). */
static struct runqueue *thread_rq_lock(struct thread *t)
{
	for (;;) {
		int cpu = READ_ONCE(t->cpu);
		rq_lock(&cpus[cpu].rq);
		if (READ_ONCE(t->cpu) == cpu)
			return &cpus[cpu].rq;
		rq_unlock(&cpus[cpu].rq);
	}
}

/* Wake t (its rq locked). The IPI its CPU may need is only noted in
 * *kicks (NULL: sent now), for sched_kick_cpus() once the caller holds no
 * lock the woken thread wants: see "Kicks" at the top. */
static bool __wake_up_thread_kick(struct runqueue *rq, struct thread *t, cpumask_t *kicks)
{
	if (t->state != THREAD_SLEEPING)
		return false;
	t->state = THREAD_RUNNING;
	if (!list_empty(&t->timer_node))
		list_del_init(&t->timer_node); /* a running thread has no timer queued */
	if (!t->on_rq) {
		t->on_rq = true;
		enqueue(rq, t);
		WRITE_ONCE(cpus[t->cpu].need_resched, true);
		if (t->cpu != cpu_id()) {
#ifdef MUTATION_WAKE_KICK_UNDER_LOCK
			kicks = NULL; /* the IPI with the rq lock (and the caller's) held */
#endif
			if (kicks)
				cpumask_set(kicks, t->cpu);
			else
				resched_cpu(t->cpu);
		}
	}
	return true;
}

static bool __wake_up_thread(struct runqueue *rq, struct thread *t)
{
	return __wake_up_thread_kick(rq, t, NULL);
}

void sched_kick_cpus(const cpumask_t *kicks)
{
	int me = cpu_id();
	for_each_cpu_in (i, kicks)
		if (i != me)
			resched_cpu(i);
}

bool wake_up_thread_kick(struct thread *t, cpumask_t *kicks)
{
	unsigned long f = local_irq_save();
	struct runqueue *rq = thread_rq_lock(t);
	bool woke = __wake_up_thread_kick(rq, t, kicks);
	rq_unlock(rq);
	local_irq_restore(f);
	return woke;
}

bool wake_up_thread(struct thread *t)
{
	cpumask_t kicks;
	cpumask_clear(&kicks);
	unsigned long f = local_irq_save(); /* not moved between the wake and the kick */
	bool woke = wake_up_thread_kick(t, &kicks);
	sched_kick_cpus(&kicks); /* the rq lock dropped */
	local_irq_restore(f);
	return woke;
}

/*
 * A thread changes sleep_killable/sleep_interruptible only while RUNNING:
 * set before it sets SLEEPING, cleared after it is RUNNING again. So under
 * the rq lock a SLEEPING state read together with them describes one
 * sleep, and an ordinary sleep is never woken here. The caller stores
 * kill_pending or sigpending, then a full barrier, then the state is read;
 * the sleeper stores its state, a full barrier, then reads the flags: one
 * of the two sees the other.
 */
void signal_wake_up_state(struct thread *t, bool killable)
{
	smp_mb(); /* the caller's flag stored before the state is read */
	unsigned long f = local_irq_save();
	struct runqueue *rq = thread_rq_lock(t);
	if (t->state == THREAD_SLEEPING &&
	    (t->sleep_interruptible || (killable && t->sleep_killable)))
		__wake_up_thread(rq, t);
	int on = READ_ONCE(t->on_cpu);
#ifndef MUTATION_KILL_NO_IPI
	if (on && on - 1 != cpu_id())
		resched_cpu(on - 1); /* running, maybe in user mode: enter the kernel now */
#else
	(void)on; /* it notices at its next timer tick */
#endif
	rq_unlock(rq);
	local_irq_restore(f);
}

void kill_thread(struct thread *t)
{
	WRITE_ONCE(t->kill_pending, true);
	signal_wake_up_state(t, true);
}

static void timer_remove(struct thread *t)
{
	unsigned long f = local_irq_save();
	struct runqueue *rq = thread_rq_lock(t);
	if (!list_empty(&t->timer_node))
		list_del_init(&t->timer_node);
	rq_unlock(rq);
	local_irq_restore(f);
}

void schedule_timeout_deadline(uint64_t deadline_ns)
{
	struct thread *t = current;
	unsigned long f = local_irq_save();
	struct runqueue *rq = thread_rq_lock(t);
	if (t->state == THREAD_SLEEPING) { /* not woken already */
		t->wake_deadline_ns = deadline_ns;
		struct list_head *pos;
		list_for_each (pos, &rq->timers) {
			if (list_entry(pos, struct thread, timer_node)->wake_deadline_ns >
			    deadline_ns)
				break;
		}
		list_add_tail(&t->timer_node, pos);
	}
	rq_unlock(rq);
	local_irq_restore(f);
	schedule();
	timer_remove(t);
}

void sleep_ms(uint64_t ms)
{
	uint64_t deadline = ktime_get_ns() + ms * 1000000ull;
	while (ktime_get_ns() < deadline) {
		current->state = THREAD_SLEEPING;
		schedule_timeout_deadline(deadline);
		current->state = THREAD_RUNNING;
	}
}

/* Timer interrupt on this CPU: expire sleepers, end the time slice, and
 * charge the running thread a user or a system tick by the mode the
 * interrupt found it in (Linux's account_process_tick; an idle CPU charges
 * nobody). */
void sched_tick(bool user_mode)
{
	struct cpu *c = this_cpu();
	uint64_t now = ktime_get_ns();
	if (c->curr != c->idle) {
#ifdef MUTATION_TICK_ALL_USER
		user_mode = true;
#endif
		if (user_mode)
			c->curr->utime_ticks++;
		else
			c->curr->stime_ticks++;
	}
	rq_lock(&c->rq);
	while (!list_empty(&c->rq.timers)) {
		struct thread *t = list_first_entry(&c->rq.timers, struct thread, timer_node);
		if (t->wake_deadline_ns > now)
			break;
		__wake_up_thread(&c->rq, t); /* unlinks the timer */
	}
	if (c->rq.nr_queued > 0 && c->curr != c->idle)
		c->need_resched = true;
	if (c->curr == c->idle && c->rq.nr_queued > 0)
		c->need_resched = true;
	rq_unlock(&c->rq);
	c->curr->runtime_ticks++;
	if (c->id == 0)
		calc_load(now);
}

static void reap_zombies(void)
{
	for (;;) {
		unsigned long f = local_irq_save();
		raw_spin_lock(&zombie_lock);
		struct thread *t = NULL;
		if (!list_empty(&zombies)) {
			t = list_first_entry(&zombies, struct thread, rq_node);
			list_del(&t->rq_node);
		}
		raw_spin_unlock(&zombie_lock);
		local_irq_restore(f);
		if (!t)
			return;
		put_thread(t); /* the reference of its life */
	}
}

void put_thread(struct thread *t)
{
	if (__atomic_sub_fetch(&t->usage, 1, __ATOMIC_ACQ_REL))
		return;
	spin_lock(&all_threads_lock);
	list_del(&t->all_node);
	spin_unlock(&all_threads_lock);
	free_thread_stack(t->stack);
	arch_thread_free(t);
	kfree(t->rlim);
	kfree(t);
	/* Counted down only once freed: "no threads left" means "all memory back". */
	__atomic_sub_fetch(&nr_threads, 1, __ATOMIC_SEQ_CST);
}

/* Each CPU's idle loop: reap, run anything runnable, otherwise halt. */
static __noreturn void idle_loop(void)
{
	struct cpu *c = this_cpu();
	for (;;) {
		reap_zombies();
		local_irq_disable();
		if (!READ_ONCE(c->need_resched) && !READ_ONCE(c->rq.nr_queued))
			arch_idle(); /* sti; hlt: a wake-up IPI cannot slip in between */
		local_irq_enable();
		schedule();
	}
}

static void thread_start(void)
{
	finish_task_switch();
	local_irq_enable();
	resume_check_affinity(false); /* its mask may have changed before it first ran */
	current->fn(current->arg);
	thread_exit();
}

__noreturn void thread_exit(void)
{
	if (current->mm)
		unuse_mm(current->mm);
	local_irq_disable();
	current->state = THREAD_DEAD;
	schedule();
	panic("dead thread %d rescheduled", current->tid);
}

struct thread *thread_alloc(const char *name, void (*fn)(void *), void *arg, int cpu)
{
	struct thread *t = kzalloc(sizeof(*t));
	if (!t)
		return NULL;
	t->stack = alloc_thread_stack();
	if (!t->stack) {
		kfree(t);
		return NULL;
	}
	*(uint64_t *)t->stack = STACK_END_MAGIC;
	strlcpy(t->name, name, sizeof(t->name));
	t->fn = fn;
	t->arg = arg;
	cpu_to_mask(&t->cpus_allowed, cpu);
	t->migrate_to = -1;
	t->state = THREAD_RUNNING;
	t->usage = 1; /* its life's: dropped by the reaper once it is dead */
	t->cpu = cpu == CPU_ANY ? cpu_id() : cpu; /* valid for thread_rq_lock until queued */
	INIT_LIST_HEAD(&t->timer_node);
	INIT_LIST_HEAD(&t->group_node);
	arch_thread_init(t, thread_start);

	spin_lock(&all_threads_lock);
	t->tid = next_tid++;
	t->start_ns = ktime_get_ns();
	list_add_tail(&t->all_node, &all_threads);
	__atomic_add_fetch(&nr_threads, 1, __ATOMIC_SEQ_CST);
	spin_unlock(&all_threads_lock);
	return t;
}

void thread_wake_new(struct thread *t)
{
	int cpu = pick_allowed_cpu(t); /* the least loaded CPU of its mask */
	BUG_ON(cpu < 0 || cpu >= nr_cpus || !cpus[cpu].online);
	unsigned long f = local_irq_save();
	rq_lock(&cpus[cpu].rq);
	t->cpu = cpu;
	t->on_rq = true;
	enqueue(&cpus[cpu].rq, t);
	rq_unlock(&cpus[cpu].rq);
	resched_cpu(cpu);
	local_irq_restore(f);
}

struct thread *thread_create(const char *name, void (*fn)(void *), void *arg, int cpu)
{
	struct thread *t = thread_alloc(name, fn, arg, cpu);
	if (t)
		thread_wake_new(t);
	return t;
}

int sched_thread_count(void)
{
	return READ_ONCE(nr_threads);
}

void sched_dump(void)
{
	static const char *const states[] = { "run", "sleep", "dead" };
	spin_lock(&all_threads_lock);
	struct thread *t;
	list_for_each_entry (t, &all_threads, all_node)
		printk("  %4d %-22s cpu %d %s%s ticks %lu\n", t->tid, t->name, t->cpu,
		       states[t->state], cpumask_weight(&t->cpus_allowed) == 1 ? " pinned" : "",
		       t->runtime_ticks);
	spin_unlock(&all_threads_lock);
}

/* Threads with tid >= min_tid, each with its backtrace if it is switched
 * out; for a running one, the CPU it runs on. A diagnostic: racy by nature,
 * but the backtrace walk stays inside the thread's own stack. */
void sched_dump_stacks(int min_tid)
{
	static const char *const states[] = { "run", "sleep", "dead" };
	spin_lock(&all_threads_lock);
	struct thread *t;
	list_for_each_entry (t, &all_threads, all_node) {
		if (t->tid < min_tid)
			continue;
		int cpu = READ_ONCE(t->cpu);
		bool running = READ_ONCE(cpus[cpu].curr) == t;
		printk("    # thread %d (%s) %s on CPU %d%s, %lu ticks\n", t->tid, t->name,
		       states[t->state], cpu, running ? ", running now" : "", t->runtime_ticks);
		if (running)
			arch_cpu_backtrace(cpu);
		else if (t->state != THREAD_DEAD)
			arch_thread_backtrace(t);
	}
	spin_unlock(&all_threads_lock);
}

int sched_next_tid(void)
{
	return READ_ONCE(next_tid);
}

static void rq_init(struct runqueue *rq)
{
	spin_lock_init(&rq->lock, "rq");
	INIT_LIST_HEAD(&rq->queue);
	INIT_LIST_HEAD(&rq->timers);
	rq->nr_queued = 0;
}

/* Make the code running now on CPU `id` a thread: it becomes the idle thread. */
void sched_init_cpu(int id)
{
	struct cpu *c = &cpus[id];
	struct thread *t = &boot_threads[id];
	rq_init(&c->rq);
	t->tid = 0;
	snprintf(t->name, sizeof(t->name), "idle/%d", id);
	t->cpu = id;
	cpu_to_mask(&t->cpus_allowed, id);
	t->migrate_to = -1;
	t->state = THREAD_RUNNING;
	t->on_rq = true;
	t->on_cpu = id + 1;
	INIT_LIST_HEAD(&t->timer_node);
	c->idle = t;
	c->curr = t;
}

__noreturn void sched_start_cpu(void)
{
	local_irq_enable();
	idle_loop();
}

/* Waitqueues and completions. */
void waitq_init(struct waitq *wq)
{
	spin_lock_init(&wq->lock, "waitq");
	INIT_LIST_HEAD(&wq->waiters);
}

void prepare_to_wait(struct waitq *wq, struct waiter *w)
{
	unsigned long f = spin_lock_irqsave(&wq->lock);
	w->thread = current;
	if (!w->node.next) /* not queued yet */
		list_add_tail(&w->node, &wq->waiters);
	current->state = THREAD_SLEEPING;
	spin_unlock_irqrestore(&wq->lock, f);
}

void prepare_to_wait_killable(struct waitq *wq, struct waiter *w)
{
	current->sleep_killable = true; /* before the state: kill_thread reads both */
	prepare_to_wait(wq, w);
	smp_mb(); /* the state stored before the caller reads kill_pending */
}

void prepare_to_wait_interruptible(struct waitq *wq, struct waiter *w)
{
	current->sleep_killable = true; /* before the state (see kill_thread) */
	current->sleep_interruptible = true;
	prepare_to_wait(wq, w);
	smp_mb(); /* the state stored before the caller reads sigpending */
}

void finish_wait(struct waitq *wq, struct waiter *w)
{
	current->state = THREAD_RUNNING;
	current->sleep_killable = false; /* after the state (see kill_thread) */
	current->sleep_interruptible = false;
	unsigned long f = spin_lock_irqsave(&wq->lock);
	if (w->node.next)
		list_del(&w->node); /* leaves next == NULL */
	spin_unlock_irqrestore(&wq->lock, f);
}

void wake_up_all(struct waitq *wq)
{
	cpumask_t kicks;
	cpumask_clear(&kicks);
	unsigned long f = spin_lock_irqsave(&wq->lock);
	struct waiter *w;
	list_for_each_entry (w, &wq->waiters, node)
		wake_up_thread_kick(w->thread, &kicks);
	raw_spin_unlock(&wq->lock); /* finish_wait takes it */
	sched_kick_cpus(&kicks);
	local_irq_restore(f);
	preempt_enable(); /* spin_lock_irqsave's */
}

void init_completion(struct completion *c)
{
	c->done = 0;
	waitq_init(&c->wq);
}

void complete(struct completion *c)
{
	cpumask_t kicks;
	cpumask_clear(&kicks);
	unsigned long f = spin_lock_irqsave(&c->wq.lock);
	c->done = 1;
	struct waiter *w;
	list_for_each_entry (w, &c->wq.waiters, node)
		wake_up_thread_kick(w->thread, &kicks);
	raw_spin_unlock(&c->wq.lock);
	sched_kick_cpus(&kicks);
	local_irq_restore(f);
	preempt_enable();
}

void wait_for_completion(struct completion *c)
{
	wait_event(c->wq, READ_ONCE(c->done));
}

bool wait_for_completion_timeout(struct completion *c, uint64_t ms)
{
	return wait_event_timeout(c->wq, READ_ONCE(c->done), ms);
}
