/*
 * tests/test_sched.c - kernel threads: pinned threads run where they were
 * put, a thread migrates to every CPU on request, timer preemption shares a
 * CPU between busy threads, completions and wait queues lose no wake-up
 * across CPUs, unpinned threads spread over CPUs, and finished threads are
 * reaped. Affinity masks: threads with a mask of two CPUs (one with fewer
 * CPUs) never run elsewhere while idle CPUs steal, yet do move between the
 * CPUs of the mask; a mask changed under a sleeping or queued thread moves
 * it before it runs its own code again.
 *
 *   kick_after_unlock: a waker that stalls right after its resched IPI (a
 *       pause point there: a vCPU the host deschedules) holds no lock the
 *       woken thread needs: the thread it woke runs on its own CPU in the
 *       meantime. complete() and wake_up_thread() kick after dropping the
 *       wait queue's and the run queue's locks; WAKE_KICK_UNDER_LOCK sends
 *       the IPI with both held, and the woken CPU spins on its run queue
 *       until the waker goes on.
 */
#include "kernel/pause.h"
#include "tests/ktest.h"
#include "kernel/smp.h"
#include "kernel/stats.h"
#include "kernel/printk.h"
#include "kernel/string.h"

static struct ktest *cur_t;

static void check_on_cpu(void *arg, int cpu)
{
	if (cpu_id() != cpu)
		ktest_fail(cur_t, __FILE__, __LINE__, "pinned thread for CPU %d runs on CPU %d",
			   cpu, cpu_id());
	yield();
	if (cpu_id() != cpu)
		ktest_fail(cur_t, __FILE__, __LINE__, "pinned thread moved to CPU %d", cpu_id());
}

static void pinned_threads_stay(struct ktest *t)
{
	cur_t = t;
	ktest_on_each_cpu_thread(check_on_cpu, NULL);
}

static void migrate_everywhere(struct ktest *t)
{
	for (int round = 0; round < 2; round++) {
		for_each_online_cpu (i) {
			sched_migrate(i);
			KEXPECT_EQ(t, cpu_id(), i);
		}
	}
	sched_migrate(CPU_ANY);
	KEXPECT_EQ(t, cpumask_weight(&current->cpus_allowed), NR_CPUS); /* CPU_ANY */
}

struct spin_ctx {
	volatile bool stop;
	volatile uint64_t progress[2];
	struct completion done[2];
};

static void busy(void *arg)
{
	struct spin_ctx *c = arg;
	int me = current->name[5] - '0';
	while (!c->stop)
		c->progress[me]++;
	complete(&c->done[me]);
}

/* Two threads that never yield share one CPU only through timer preemption. */
static void preemption_shares_cpu(struct ktest *t)
{
	static struct spin_ctx c;
	c.stop = false;
	c.progress[0] = c.progress[1] = 0;
	init_completion(&c.done[0]);
	init_completion(&c.done[1]);
	int cpu = nr_cpus_online > 1 && cpu_id() == 0 ? 1 : 0;
	uint64_t switches = event_sum(EV_CONTEXT_SWITCH);
	thread_create("busy-0", busy, &c, cpu);
	thread_create("busy-1", busy, &c, cpu);
	uint64_t deadline = ktime_get_ns() + 2000000000ull;
	while ((c.progress[0] < 1000 || c.progress[1] < 1000) && ktime_get_ns() < deadline)
		sleep_ms(20);
	c.stop = true;
	wait_for_completion(&c.done[0]);
	wait_for_completion(&c.done[1]);
	KEXPECT_GE(t, c.progress[0], 1000);
	KEXPECT_GE(t, c.progress[1], 1000);
	KEXPECT_GT(t, event_sum(EV_CONTEXT_SWITCH), switches);
}

struct pingpong {
	struct waitq wq;
	volatile int turn;
	int rounds;
};

static void ponger(void *arg)
{
	struct pingpong *p = arg;
	for (int i = 0; i < p->rounds; i++) {
		wait_event(p->wq, p->turn == 1);
		p->turn = 0;
		wake_up_all(&p->wq);
	}
}

/* Strict alternation across two CPUs: any lost wake-up hangs (and times out). */
static void wakeups_not_lost(struct ktest *t)
{
	static struct pingpong p;
	waitq_init(&p.wq);
	p.turn = 0;
	p.rounds = 2000;
	int other = nr_cpus_online > 1 ? (cpu_id() + 1) % nr_cpus : cpu_id();
	while (!cpus[other].online)
		other = (other + 1) % nr_cpus;
	thread_create("ponger", ponger, &p, other);
	for (int i = 0; i < p.rounds; i++) {
		p.turn = 1;
		wake_up_all(&p.wq);
		bool ok = wait_event_timeout(p.wq, p.turn == 0, 5000);
		KASSERT_TRUE(t, ok);
	}
}

static void completion_timeout(struct ktest *t)
{
	struct completion c;
	init_completion(&c);
	uint64_t t0 = ktime_get_ns();
	KEXPECT_FALSE(t, wait_for_completion_timeout(&c, 30));
	KEXPECT_GE(t, ktime_get_ns() - t0, 30000000ull);
	complete(&c);
	KEXPECT_TRUE(t, wait_for_completion_timeout(&c, 30));
}

struct spread {
	volatile uint64_t seen_mask;
	struct completion done[16];
};

static void spread_worker(void *arg)
{
	struct spread *s = arg;
	int idx = current->name[7] - 'a';
	uint64_t until = ktime_get_ns() + 50000000ull;
	while (ktime_get_ns() < until)
		__atomic_fetch_or(&s->seen_mask, 1ull << cpu_id(), __ATOMIC_SEQ_CST);
	complete(&s->done[idx]);
}

static void unpinned_threads_spread(struct ktest *t)
{
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs");
	static struct spread s;
	s.seen_mask = 0;
	int n = MIN(16, 2 * nr_cpus_online);
	char name[16];
	for (int i = 0; i < n; i++) {
		init_completion(&s.done[i]);
		snprintf(name, sizeof(name), "spread-%c", 'a' + i);
		thread_create(name, spread_worker, &s, CPU_ANY);
	}
	for (int i = 0; i < n; i++)
		wait_for_completion(&s.done[i]);
	KEXPECT_GE(t, hweight64(s.seen_mask), 2);
}

static void nothing(void *arg)
{
	complete(arg);
}

static void threads_are_reaped(struct ktest *t)
{
	int before = sched_thread_count();
	struct completion c[8];
	for (int i = 0; i < 8; i++) {
		init_completion(&c[i]);
		KASSERT_NOT_NULL(t, thread_create("short", nothing, &c[i], CPU_ANY));
	}
	for (int i = 0; i < 8; i++)
		wait_for_completion(&c[i]);
	for (int i = 0; i < 100 && sched_thread_count() > before; i++)
		sleep_ms(10);
	KEXPECT_EQ(t, sched_thread_count(), before);
}

/*
 * `current` must name the running thread even when an interrupt preempts
 * it in the middle of finding it and another CPU takes it over: threads
 * that start, spin, sleep and get stolen, each checking that current's arg
 * is its own (MUTATION_CURRENT_TWO_LOADS reads this_cpu() and then ->curr,
 * which a migration can split: a thread then sees, or starts running,
 * another CPU's thread).
 */
enum { SELF_SLOTS = 64 };
struct self_slot {
	volatile int runs;
	volatile int mismatches;
	struct completion done;
};
static struct self_slot self_slots[SELF_SLOTS];
static void self_check(void *arg);

/* Interrupts off long enough for a tick or an IPI to become pending, then
 * on: the interrupt comes right after the `sti` (and its one-instruction
 * shadow), inside the code that finds current, as in thread_start(). */
static bool current_is(void *arg)
{
	unsigned long f = local_irq_save();
	uint64_t until = ktime_get_ns() + 500000ull;
	while (ktime_get_ns() < until)
		cpu_relax();
	local_irq_restore(f);
	struct thread *me = current;
	return me->arg == arg && me->fn == self_check;
}

static void self_check(void *arg)
{
	struct self_slot *me = arg;
	__atomic_add_fetch(&me->runs, 1, __ATOMIC_SEQ_CST);
	for (int round = 0; round < 20; round++) {
		uint64_t until = ktime_get_ns() + 5000000ull; /* 5 ms: ticks preempt */
		while (ktime_get_ns() < until)
			if (!current_is(arg))
				__atomic_add_fetch(&me->mismatches, 1, __ATOMIC_SEQ_CST);
		if (round & 1)
			sleep_ms(1); /* CPUs go idle and steal the queued ones */
		else
			yield();
	}
	complete(&me->done);
}

static void current_is_self_across_migration(struct ktest *t)
{
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs");
	int n = MIN(SELF_SLOTS, 3 * nr_cpus_online);
	uint64_t start = ktime_get_ns(), steals = event_sum(EV_THREAD_STEAL), rounds;
	int base = sched_thread_count();
	for (rounds = 0; ktest_stress_more(start, rounds, 2, 50); rounds++) {
		for (int i = 0; i < n; i++) {
			self_slots[i].runs = self_slots[i].mismatches = 0;
			init_completion(&self_slots[i].done);
			KASSERT_NOT_NULL(
			    t, thread_create("self", self_check, &self_slots[i], CPU_ANY));
		}
		for (int i = 0; i < n; i++) {
			wait_for_completion(&self_slots[i].done);
			KEXPECT_EQ(t, self_slots[i].runs, 1);
			KEXPECT_EQ(t, self_slots[i].mismatches, 0);
		}
		ktest_wait_threads(base);
	}
	ktest_log(t, "%lu rounds of %d threads, %lu steals", rounds, n,
		  event_sum(EV_THREAD_STEAL) - steals);
}

/* The k-th online CPU other than `except`, or -1. */
static int online_cpu_except(int k, int except)
{
	for_each_online_cpu (i)
		if (i != except && k-- == 0)
			return i;
	return -1;
}

#define AFF_WORKERS 3

struct aff_ctx {
	cpumask_t mask;
	volatile bool stop;
	volatile int bad_cpu; /* -1, or a CPU outside the mask a worker ran on */
	volatile bool seen[NR_CPUS];
	struct completion done[AFF_WORKERS];
	int next;
};

static void aff_worker(void *arg)
{
	struct aff_ctx *c = arg;
	int me = __atomic_fetch_add(&c->next, 1, __ATOMIC_SEQ_CST);
	while (!READ_ONCE(c->stop)) {
		int cpu = cpu_id();
		if (!cpumask_test(&c->mask, cpu))
			c->bad_cpu = cpu;
		c->seen[cpu] = true;
		for (volatile int i = 0; i < 2000; i++)
			;
		yield();
	}
	complete(&c->done[me]);
}

/* Workers queued on CPU a with the mask {a, b}: the CPUs outside the mask
 * go idle and steal, and must never take them; b may (and does). */
static void affinity_mask_respected_while_stealing(struct ktest *t)
{
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs");
	static struct aff_ctx c;
	memset((void *)&c, 0, sizeof(c));
	c.bad_cpu = -1;
	int me = cpu_id(), a = online_cpu_except(0, me);
	int b = nr_cpus_online >= 3 ? online_cpu_except(1, me) : -1;
	cpumask_set(&c.mask, a);
	if (b >= 0)
		cpumask_set(&c.mask, b);
	uint64_t steals = event_sum(EV_THREAD_STEAL);
	for (int i = 0; i < AFF_WORKERS; i++) {
		init_completion(&c.done[i]);
		struct thread *w = thread_create("aff", aff_worker, &c, a);
		KASSERT_TRUE(t, w != NULL);
		KEXPECT_EQ(t, set_cpus_allowed(w, &c.mask), 0);
	}
	uint64_t start = ktime_get_ns();
	for (uint64_t r = 0; ktest_stress_more(start, r, 10, 1000); r++)
		sleep_ms(20); /* our CPU idles (and steals) meanwhile */
	c.stop = true;
	for (int i = 0; i < AFF_WORKERS; i++)
		wait_for_completion(&c.done[i]);
	ktest_log(t, "mask {%d, %d}: %lu steals in all; ran on b: %d", a, b,
		  event_sum(EV_THREAD_STEAL) - steals, b >= 0 ? c.seen[b] : -1);
	KEXPECT_EQ(t, c.bad_cpu, -1);
	KEXPECT_TRUE(t, c.seen[a]);
	if (b >= 0)
		KEXPECT_TRUE(t, c.seen[b]); /* stealing within the mask works */
}

struct moved_ctx {
	struct completion ready, go, done;
	volatile int woke_on;
};

static void sleeper(void *arg)
{
	struct moved_ctx *m = arg;
	complete(&m->ready);
	wait_for_completion(&m->go);
	m->woke_on = cpu_id();
	complete(&m->done);
}

/* A thread sleeping on CPU a has its mask changed to {b}: it wakes on b. */
static void affinity_change_moves_sleeper(struct ktest *t)
{
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs");
	static struct moved_ctx m;
	init_completion(&m.ready);
	init_completion(&m.go);
	init_completion(&m.done);
	m.woke_on = -1;
	int me = cpu_id(), a = online_cpu_except(0, me);
	int b = nr_cpus_online >= 3 ? online_cpu_except(1, me) : me;
	struct thread *s = thread_create("sleeper", sleeper, &m, a);
	KASSERT_TRUE(t, s != NULL);
	wait_for_completion(&m.ready);
	cpumask_t mb;
	cpumask_clear(&mb);
	cpumask_set(&mb, b);
	KEXPECT_EQ(t, set_cpus_allowed(s, &mb), 0);
	complete(&m.go);
	wait_for_completion(&m.done);
	KEXPECT_EQ(t, m.woke_on, b);
	cpumask_t none;
	cpumask_clear(&none);
	cpumask_set(&none, NR_CPUS - 1);
	if (!cpus[NR_CPUS - 1].online)
		KEXPECT_EQ(t, set_cpus_allowed(current, &none), -EINVAL); /* no online CPU */
}

struct kick_ctx {
	struct completion ready, go, done;
	volatile int start;
	volatile uint64_t ran_ns;
};

static void kick_sleeper(void *arg)
{
	struct kick_ctx *k = arg;
	complete(&k->ready);
	wait_for_completion(&k->go);
	k->ran_ns = ktime_get_ns();
	complete(&k->done);
}

static void kick_waker(void *arg)
{
	struct kick_ctx *k = arg;
	while (!READ_ONCE(k->start))
		cpu_relax();
	complete(&k->go); /* kicks the sleeper's CPU, then stalls there */
}

static void kick_after_unlock(struct ktest *t)
{
	if (nr_cpus_online < 3)
		KTEST_SKIP(t, "needs 3 CPUs (waker, sleeper, this test)");
	static struct kick_ctx k;
	init_completion(&k.ready);
	init_completion(&k.go);
	init_completion(&k.done);
	k.start = 0;
	k.ran_ns = 0;
	int me = cpu_id(), a = online_cpu_except(0, me), b = online_cpu_except(1, me);
	KASSERT_TRUE(t, thread_create("kick-sleeper", kick_sleeper, &k, b) != NULL);
	wait_for_completion(&k.ready);
	sleep_ms(20); /* asleep in wait_for_completion, its CPU idle */
	pause_points[PAUSE_WAKE_KICK].resumed_ns = 0;
	/* Resumes by itself after 1 s: the mutant's woken CPU waits for it. */
	pause_arm_until(PAUSE_WAKE_KICK, &cpus[b], NULL, 1000);
	KASSERT_TRUE(t, thread_create("kick-waker", kick_waker, &k, a) != NULL);
	WRITE_ONCE(k.start, 1);
	bool reached = pause_wait_reached(PAUSE_WAKE_KICK, 2000);
	uint64_t t0 = ktime_get_ns();
	while (reached && !READ_ONCE(k.ran_ns) && ktime_get_ns() - t0 < 300000000ull &&
	       !READ_ONCE(pause_points[PAUSE_WAKE_KICK].resumed_ns))
		sleep_ms(1);
	uint64_t ran = READ_ONCE(k.ran_ns);
	uint64_t resumed = READ_ONCE(pause_points[PAUSE_WAKE_KICK].resumed_ns);
	pause_release(PAUSE_WAKE_KICK);
	wait_for_completion(&k.done);
	ktest_log(t, "the woken thread ran %s",
		  ran && (!resumed || ran < resumed) ? "while the waker stalled after its kick"
						     : "only once the waker went on");
	KEXPECT_TRUE(t, reached);
	KEXPECT_TRUE(t, ran != 0 && (!resumed || ran < resumed));
}

KTEST_SUITE(sched, KTEST_CASE(pinned_threads_stay), KTEST_CASE(migrate_everywhere),
	    KTEST_CASE(preemption_shares_cpu), KTEST_CASE(wakeups_not_lost),
	    KTEST_CASE(completion_timeout), KTEST_CASE(unpinned_threads_spread),
	    KTEST_CASE(threads_are_reaped), KTEST_CASE(current_is_self_across_migration),
	    KTEST_CASE(affinity_mask_respected_while_stealing),
	    KTEST_CASE(affinity_change_moves_sleeper), KTEST_CASE(kick_after_unlock));
