/*
 * tests/test_futex.c - futex (kernel/futex.c), driven from kernel threads
 * running in test address spaces (use_mm), so every futex word is real
 * user memory read through the checked accessors.
 *
 *   errors: Linux 6.1's errno for each bad argument (-EAGAIN, -EINVAL for
 *       a misaligned word or bitset 0, -EFAULT, -ENOSYS for unknown ops,
 *       PI ops, WAKE_OP and FUTEX_CLOCK_REALTIME outside WAIT_BITSET), a bad
 *       timespec -EINVAL, WAKE with nobody waiting 0.
 *   wake_not_lost_paused: a waiter paused in futex_wait_setup after it
 *       compared the value, before it sleeps; the waker changes the word
 *       and wakes: the waiter is found and woken
 *       (FUTEX_CHECK_BEFORE_QUEUE).
 *   wake_not_lost_stress: a waiter and a waker on two CPUs, round after
 *       round for the stress budget; a waiter still asleep on a word the
 *       waker changed and woke is a lost wake-up, found by a second wake.
 *   requeue_moves_waiters: CMP_REQUEUE with the wrong value -EAGAIN, nothing
 *       moved; with the right one 1 woken, 2 requeued, counted on both
 *       words; REQUEUE moves the last (FUTEX_REQUEUE_WAKES_ALL).
 *   bitset_matching: WAKE_BITSET wakes only waiters whose bitset intersects
 *       (FUTEX_WAKE_IGNORES_BITSET).
 *   timeouts: FUTEX_WAIT relative, WAIT_BITSET absolute on CLOCK_MONOTONIC
 *       and CLOCK_REALTIME: -ETIMEDOUT no earlier than asked
 *       (FUTEX_WAIT_TIMEOUT_ABSOLUTE); a past deadline at once.
 *   kill_ends_waiter: kill_thread ends a waiter with no timeout,
 *       -ERESTARTSYS (the dying thread never sees it).
 *   shared_key_across_mms: a shmem object (and a file, when the RAM disk
 *       has a file system) mapped by two mms at different addresses: a
 *       shared wake in one wakes the waiter of the other, a private one does
 *       not (FUTEX_SHARED_KEY_BY_ADDRESS).
 *   private_key_survives_cow: a waiter on a COW-shared private page; its
 *       mm writes the word (COW break: another page) and wakes: woken
 *       (FUTEX_KEY_BY_PAGE).
 */
#include "tests/ktest_mm.h"
#include "tests/ktest_fs.h"
#include "kernel/futex.h"
#include "kernel/sys_time.h"
#include "kernel/pause.h"
#include "kernel/printk.h"
#include "mm/gup.h"
#include "mm/shmem.h"
#include "arch/x86_64/uaccess.h"

#define INT_MAX	     0x7fffffff
#define INT64_MAX_   0x7fffffffffffffffll
#define MS	     1000000ull
#define PRIV	     0u /* kernel-function flags: private */
#define KERNEL_ADDR  0xffff800000000000ull
#define WAIT_BOUND   10000 /* ms a waiter gets to report before a test gives up */
#define NR_DATA_PAGE 4

/* ---- an address space with data pages the test also sees directly ---------- */

struct fx {
	struct mm *mm;
	uint64_t base;
	struct page *pages[NR_DATA_PAGE];
};

/* The current thread runs in a new mm with NR_DATA_PAGE private pages at
 * fx->base, faulted in and held (so the kernel pointer stays valid). */
static bool fx_setup(struct ktest *t, struct fx *fx)
{
	fx->mm = mm_alloc();
	if (!fx->mm) {
		ktest_fail(t, __FILE__, __LINE__, "mm_alloc");
		return false;
	}
	fx->base = ktest_mmap(fx->mm, NR_DATA_PAGE * PAGE_SIZE);
	use_mm(fx->mm);
	long n = get_user_pages(fx->mm, fx->base, NR_DATA_PAGE, FOLL_WRITE, fx->pages);
	if (!fx->base || n != NR_DATA_PAGE) {
		ktest_fail(t, __FILE__, __LINE__, "mmap %#lx, gup %ld", fx->base, n);
		return false;
	}
	return true;
}

static void fx_teardown(struct fx *fx)
{
	for (int i = 0; i < NR_DATA_PAGE; i++)
		put_page(fx->pages[i]);
	unuse_mm(fx->mm);
	mmput(fx->mm);
}

/* The kernel's view of the u32 at user address fx->base + off. */
static volatile uint32_t *fx_word(struct fx *fx, uint64_t off)
{
	return (volatile uint32_t *)((char *)page_address(fx->pages[off / PAGE_SIZE]) +
				     off % PAGE_SIZE);
}

/* ---- waiter threads ----------------------------------------------------------- */

struct fw {
	struct mm *mm;
	uint64_t uaddr;
	unsigned flags;
	uint32_t val, bitset;
	int op; /* >= 0: through sys_futex(op) with utime, else futex_wait */
	uint64_t utime;
	struct thread *th;
	volatile int ret;
	volatile bool done, may_exit;
	uint64_t t_start, t_end;
};

static void fw_fn(void *p)
{
	struct fw *w = p;
	use_mm(w->mm);
	w->t_start = ktime_get_ns();
	if (w->op >= 0)
		w->ret = (int)sys_futex(w->uaddr, w->op, w->val, w->utime, 0, w->bitset);
	else
		w->ret = futex_wait(w->uaddr, w->flags, w->val, NULL, w->bitset);
	w->t_end = ktime_get_ns();
	unuse_mm(w->mm);
	smp_store_release(&w->done, true);
	while (!READ_ONCE(w->may_exit)) /* the test may still kill_thread() us */
		sleep_ms(1);
}

static void fw_start_op(struct fw *w, struct mm *mm, uint64_t uaddr, unsigned flags, uint32_t val,
			uint32_t bitset, int cpu, int op, uint64_t utime)
{
	*w = (struct fw){ .mm = mm,
			  .uaddr = uaddr,
			  .flags = flags,
			  .val = val,
			  .bitset = bitset,
			  .op = op,
			  .utime = utime };
	w->th = thread_create("futex-waiter", fw_fn, w, cpu);
}

static void fw_start(struct fw *w, struct mm *mm, uint64_t uaddr, unsigned flags, uint32_t val,
		     uint32_t bitset, int cpu)
{
	fw_start_op(w, mm, uaddr, flags, val, bitset, cpu, -1, 0);
}

static bool fw_wait_done(struct fw *w, uint64_t ms)
{
	uint64_t dl = ktime_get_ns() + ms * MS;
	while (!smp_load_acquire(&w->done) && ktime_get_ns() < dl)
		sleep_ms(1);
	return w->done;
}

/* End a waiter however it is (a lost wake-up leaves it asleep: kill it). */
static void fw_finish(struct ktest *t, struct fw *w)
{
	if (!w->th)
		return;
	if (!w->done)
		kill_thread(w->th);
	if (!fw_wait_done(w, WAIT_BOUND))
		ktest_fail(t, __FILE__, __LINE__, "a futex waiter did not end when killed");
	WRITE_ONCE(w->may_exit, true);
}

/* Wait until n waiters are queued on uaddr (current mm): false on timeout. */
static bool wait_queued(uint64_t uaddr, unsigned flags, int n)
{
	uint64_t dl = ktime_get_ns() + WAIT_BOUND * MS;
	while (futex_nr_waiters(uaddr, flags) != n) {
		if (ktime_get_ns() > dl)
			return false;
		sleep_ms(1);
	}
	return true;
}

/* ---- errors --------------------------------------------------------------------- */

static void put_timespec(volatile uint32_t *w, int64_t sec, int64_t nsec)
{
	volatile int64_t *ts = (volatile int64_t *)w;
	ts[0] = sec;
	ts[1] = nsec;
}

static void errors(struct ktest *t)
{
	struct fx fx;
	if (!fx_setup(t, &fx))
		return;
	uint64_t w = fx.base, ts = fx.base + PAGE_SIZE, unmapped = fx.base - PAGE_SIZE;
	*fx_word(&fx, 0) = 5;
	int P = FUTEX_PRIVATE_FLAG;
	KEXPECT_EQ(t, sys_futex(w, FUTEX_WAIT | P, 4, 0, 0, 0), -EAGAIN);
	KEXPECT_EQ(t, sys_futex(w, FUTEX_WAIT, 4, 0, 0, 0), -EAGAIN); /* shared */
	KEXPECT_EQ(t, sys_futex(w + 1, FUTEX_WAIT | P, 5, 0, 0, 0), -EINVAL);
	KEXPECT_EQ(t, sys_futex(w + 2, FUTEX_WAKE, 1, 0, 0, 0), -EINVAL);
	KEXPECT_EQ(t, sys_futex(w, FUTEX_WAIT_BITSET | P, 5, 0, 0, 0), -EINVAL); /* bitset 0 */
	KEXPECT_EQ(t, sys_futex(w, FUTEX_WAKE_BITSET | P, 1, 0, 0, 0), -EINVAL);
	KEXPECT_EQ(t, sys_futex(KERNEL_ADDR, FUTEX_WAIT | P, 0, 0, 0, 0), -EFAULT);
	KEXPECT_EQ(t, sys_futex(KERNEL_ADDR, FUTEX_WAKE | P, 1, 0, 0, 0), -EFAULT);
	KEXPECT_EQ(t, sys_futex(unmapped, FUTEX_WAIT | P, 0, 0, 0, 0), -EFAULT);
	KEXPECT_EQ(t, sys_futex(unmapped, FUTEX_WAIT, 0, 0, 0, 0), -EFAULT);
	/* A private key does not look at the page: nobody to wake (Linux). */
	KEXPECT_EQ(t, sys_futex(unmapped, FUTEX_WAKE | P, 1, 0, 0, 0), 0);
	KEXPECT_EQ(t, sys_futex(unmapped, FUTEX_WAKE, 1, 0, 0, 0), -EFAULT);
	KEXPECT_EQ(t, sys_futex(w, FUTEX_WAKE | P, 1, 0, 0, 0), 0);
	KEXPECT_EQ(t, sys_futex(w, FUTEX_WAKE, INT_MAX, 0, 0, 0), 0);
	/* Operations: unknown, removed, not implemented, REALTIME misplaced. */
	KEXPECT_EQ(t, sys_futex(w, 99 | P, 0, 0, 0, 0), -ENOSYS);
	KEXPECT_EQ(t, sys_futex(w, FUTEX_FD, 0, 0, 0, 0), -ENOSYS);
	KEXPECT_EQ(t, sys_futex(w, FUTEX_WAKE_OP | P, 1, 1, w + 4, 0), -ENOSYS);
	KEXPECT_EQ(t, sys_futex(w, FUTEX_LOCK_PI | P, 0, 0, 0, 0), -ENOSYS);
	KEXPECT_EQ(t, sys_futex(w, FUTEX_WAKE | FUTEX_CLOCK_REALTIME, 1, 0, 0, 0), -ENOSYS);
	KEXPECT_EQ(t, sys_futex(w, FUTEX_WAIT | FUTEX_CLOCK_REALTIME, 5, 0, 0, 0), -ENOSYS);
	/* Timespecs: read (and refused) before the operation is checked. */
	put_timespec(fx_word(&fx, PAGE_SIZE), 0, 1000000000);
	KEXPECT_EQ(t, sys_futex(w, FUTEX_WAIT | P, 5, ts, 0, 0), -EINVAL);
	put_timespec(fx_word(&fx, PAGE_SIZE), -1, 0);
	KEXPECT_EQ(t, sys_futex(w, FUTEX_WAIT_BITSET | P, 5, ts, 0, ~0u), -EINVAL);
	put_timespec(fx_word(&fx, PAGE_SIZE), 0, -1);
	KEXPECT_EQ(t, sys_futex(w, FUTEX_WAIT | FUTEX_CLOCK_REALTIME, 5, ts, 0, 0), -EINVAL);
	KEXPECT_EQ(t, sys_futex(w, FUTEX_WAIT | P, 5, unmapped, 0, 0), -EFAULT);
	KEXPECT_EQ(t, sys_futex(w, FUTEX_WAIT | P, 5, KERNEL_ADDR, 0, 0), -EFAULT);
	/* A wrong value wins over an expired deadline (checked first). */
	put_timespec(fx_word(&fx, PAGE_SIZE), 0, 0);
	KEXPECT_EQ(t, sys_futex(w, FUTEX_WAIT_BITSET | P, 4, ts, 0, ~0u), -EAGAIN);
	KEXPECT_EQ(t, sys_futex(w, FUTEX_WAIT_BITSET | P, 5, ts, 0, ~0u), -ETIMEDOUT);
	/* Requeue: negative counts, and the compare of CMP_REQUEUE. */
	KEXPECT_EQ(t, sys_futex(w, FUTEX_REQUEUE | P, (uint32_t)-1, 1, w + 4, 0), -EINVAL);
	KEXPECT_EQ(t, sys_futex(w, FUTEX_CMP_REQUEUE | P, 1, 0xffffffffu, w + 4, 5), -EINVAL);
	KEXPECT_EQ(t, sys_futex(w, FUTEX_CMP_REQUEUE | P, 1, 1, w + 4, 4), -EAGAIN);
	KEXPECT_EQ(t, sys_futex(w, FUTEX_CMP_REQUEUE | P, 1, 1, w + 4, 5), 0);
	KEXPECT_EQ(t, sys_futex(w, FUTEX_CMP_REQUEUE | P, 1, 1, w + 2, 5), -EINVAL);
	KEXPECT_EQ(t, sys_futex(w, FUTEX_CMP_REQUEUE | P, 1, 1, unmapped, 5), 0);
	KEXPECT_EQ(t, sys_futex(unmapped, FUTEX_CMP_REQUEUE | P, 1, 1, w, 5), -EFAULT);
	/* A shared futex on a read-only private anonymous page: no key. */
	int64_t ro = vm_mmap(fx.mm, 0, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
	KEXPECT_GT(t, ro, 0);
	KEXPECT_EQ(t, sys_futex((uint64_t)ro, FUTEX_WAIT, 0, 0, 0, 0), -EFAULT);
	KEXPECT_EQ(t, sys_futex((uint64_t)ro, FUTEX_WAIT | P, 1, 0, 0, 0), -EAGAIN);
	fx_teardown(&fx);
}

/* ---- no lost wake-up ------------------------------------------------------------ */

static void wake_not_lost_paused(struct ktest *t)
{
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs: the paused waiter spins on its own");
	struct fx fx;
	if (!fx_setup(t, &fx))
		return;
	int threads = sched_thread_count();
	sched_migrate(cpu_id()); /* stay off the waiter's CPU */
	volatile uint32_t *kw = fx_word(&fx, 64);
	*kw = 0;
	static volatile uint64_t wake_returned;
	wake_returned = 0;
	/* Resumes when the wake has returned (a kernel that lost it), or after
	 * 300 ms (a correct one: the waker waits for the bucket lock meanwhile). */
	pause_arm_until(PAUSE_FUTEX_WAIT_SETUP, fx.mm, &wake_returned, 300);
	struct fw w;
	fw_start(&w, fx.mm, fx.base + 64, PRIV, 0, FUTEX_BITSET_MATCH_ANY,
		 ktest_other_cpu(cpu_id(), 1));
	bool reached = pause_wait_reached(PAUSE_FUTEX_WAIT_SETUP, WAIT_BOUND);
	KEXPECT_TRUE(t, reached);
	*kw = 1;
	int woken = futex_wake(fx.base + 64, PRIV, 1, FUTEX_BITSET_MATCH_ANY);
	wake_returned = 1;
	bool done = fw_wait_done(&w, 5000);
	pause_release(PAUSE_FUTEX_WAIT_SETUP);
	int rescued = done ? 0 : futex_wake(fx.base + 64, PRIV, 1, FUTEX_BITSET_MATCH_ANY);
	if (rescued > 0)
		ktest_fail(t, __FILE__, __LINE__,
			   "lost wake-up: the waiter slept on a word changed and woken before");
	KEXPECT_EQ(t, woken, 1);
	KEXPECT_TRUE(t, done);
	fw_finish(t, &w);
	KEXPECT_EQ(t, w.ret, 0);
	sched_migrate(CPU_ANY);
	ktest_wait_threads(threads);
	fx_teardown(&fx);
}

struct pingpong {
	struct mm *mm;
	uint64_t uaddr;
	volatile uint32_t *kw;
	volatile uint64_t ready, ack;
	volatile bool stop;
	uint64_t sleeps, eagain, other; /* the waiter's results */
	struct completion done;
};

static void spin_until(volatile uint64_t *v, uint64_t want, volatile bool *stop)
{
	for (unsigned i = 0; READ_ONCE(*v) != want && !(stop && *stop); i++) {
		cpu_relax();
		if (i % 256 == 255)
			yield(); /* SMP=1: let the other side run */
	}
}

static void pingpong_waiter(void *p)
{
	struct pingpong *pp = p;
	use_mm(pp->mm);
	uint64_t seed = 777;
	for (uint32_t i = 0; !pp->stop; i++) {
		smp_store_release(&pp->ready, i);
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		for (unsigned d = (seed >> 33) % 256; d; d--) /* vary where the store lands */
			cpu_relax();
		while (READ_ONCE(*pp->kw) == i && !pp->stop) {
			int r = futex_wait(pp->uaddr, PRIV, i, NULL, 1u << (i % 32));
			if (r == 0)
				pp->sleeps++;
			else if (r == -EAGAIN)
				pp->eagain++;
			else
				pp->other++;
		}
		smp_store_release(&pp->ack, (uint64_t)i + 1);
	}
	unuse_mm(pp->mm);
	complete(&pp->done);
}

/* The waker's side, in the test thread: rounds for the stress budget. */
static void wake_not_lost_stress(struct ktest *t)
{
	struct fx fx;
	if (!fx_setup(t, &fx))
		return;
	int threads = sched_thread_count();
	struct pingpong pp = { .mm = fx.mm, .uaddr = fx.base + 128, .kw = fx_word(&fx, 128) };
	*pp.kw = 0;
	pp.ready = ~0ull;
	init_completion(&pp.done);
	thread_create("futex-pingpong", pingpong_waiter, &pp, ktest_other_cpu(cpu_id(), 1));
	uint64_t lost = 0, rounds = 0, seed = 12345, start = ktime_get_ns();
	for (uint32_t i = 0; ktest_stress_more(start, i, 200, 1000000); i++) {
		spin_until(&pp.ready, i, NULL);
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		for (unsigned d = (seed >> 33) % 512; d; d--) /* land anywhere in its wait */
			cpu_relax();
		WRITE_ONCE(*pp.kw, i + 1);
		futex_wake(pp.uaddr, PRIV, 1, 1u << (i % 32));
		uint64_t dl = ktime_get_ns() + 200 * MS;
		while (READ_ONCE(pp.ack) != (uint64_t)i + 1) {
			if (ktime_get_ns() > dl) {
				/* Still asleep on round i after its wake? Lost. */
				lost += futex_wake(pp.uaddr, PRIV, 1, 1u << (i % 32)) > 0;
				dl = ktime_get_ns() + 200 * MS;
			}
			yield();
		}
		rounds++;
	}
	pp.stop = true;
	WRITE_ONCE(*pp.kw, 0xdead);
	futex_wake(pp.uaddr, PRIV, INT_MAX, FUTEX_BITSET_MATCH_ANY);
	wait_for_completion(&pp.done);
	ktest_log(t,
		  "%lu rounds: the waiter slept and was woken %lu times, saw the new value "
		  "(EAGAIN) %lu times; %lu wake-ups lost",
		  rounds, pp.sleeps, pp.eagain, lost);
	KEXPECT_EQ(t, lost, 0);
	KEXPECT_EQ(t, pp.other, 0);
	KEXPECT_GT(t, pp.sleeps + pp.eagain, 0);
	ktest_wait_threads(threads);
	fx_teardown(&fx);
}

/* ---- requeue ----------------------------------------------------------------------- */

static int nr_done(struct fw *w, int n)
{
	int d = 0;
	for (int i = 0; i < n; i++)
		d += READ_ONCE(w[i].done);
	return d;
}

static bool wait_nr_done(struct fw *w, int n, int want)
{
	uint64_t dl = ktime_get_ns() + WAIT_BOUND * MS;
	while (nr_done(w, n) < want && ktime_get_ns() < dl)
		sleep_ms(1);
	return nr_done(w, n) >= want;
}

static void requeue_moves_waiters(struct ktest *t)
{
	struct fx fx;
	if (!fx_setup(t, &fx))
		return;
	int threads = sched_thread_count();
	uint64_t f1 = fx.base + 256, f2 = fx.base + PAGE_SIZE + 256;
	*fx_word(&fx, 256) = 0;
	struct fw w[4];
	for (int i = 0; i < 4; i++)
		fw_start(&w[i], fx.mm, f1, PRIV, 0, FUTEX_BITSET_MATCH_ANY,
			 ktest_other_cpu(cpu_id(), i + 1));
	KEXPECT_TRUE(t, wait_queued(f1, PRIV, 4));
	/* The wrong value: nothing happens. */
	uint32_t cmp = 1;
	KEXPECT_EQ(t, futex_requeue(f1, PRIV, f2, 1, 2, &cmp), -EAGAIN);
	KEXPECT_EQ(t, futex_nr_waiters(f1, PRIV), 4);
	KEXPECT_EQ(t, futex_nr_waiters(f2, PRIV), 0);
	/* One woken, two moved, one left. */
	cmp = 0;
	KEXPECT_EQ(t, futex_requeue(f1, PRIV, f2, 1, 2, &cmp), 3);
	KEXPECT_TRUE(t, wait_nr_done(w, 4, 1));
	KEXPECT_EQ(t, futex_nr_waiters(f1, PRIV), 1);
	KEXPECT_EQ(t, futex_nr_waiters(f2, PRIV), 2);
	sleep_ms(20); /* nobody else wakes up */
	KEXPECT_EQ(t, nr_done(w, 4), 1);
	/* Plain REQUEUE, no compare: wake none, move the last one. */
	KEXPECT_EQ(t, futex_requeue(f1, PRIV, f2, 0, INT_MAX, NULL), 1);
	KEXPECT_EQ(t, futex_nr_waiters(f1, PRIV), 0);
	KEXPECT_EQ(t, futex_nr_waiters(f2, PRIV), 3);
	KEXPECT_EQ(t, futex_wake(f1, PRIV, INT_MAX, FUTEX_BITSET_MATCH_ANY), 0);
	KEXPECT_EQ(t, futex_wake(f2, PRIV, INT_MAX, FUTEX_BITSET_MATCH_ANY), 3);
	KEXPECT_TRUE(t, wait_nr_done(w, 4, 4));
	for (int i = 0; i < 4; i++) {
		fw_finish(t, &w[i]);
		KEXPECT_EQ(t, w[i].ret, 0);
	}
	ktest_wait_threads(threads);
	fx_teardown(&fx);
}

/* ---- bitsets ------------------------------------------------------------------------ */

static void bitset_matching(struct ktest *t)
{
	struct fx fx;
	if (!fx_setup(t, &fx))
		return;
	int threads = sched_thread_count();
	uint64_t f = fx.base + 512;
	*fx_word(&fx, 512) = 7;
	struct fw w[3];
	static const uint32_t bits[3] = { 0x1, 0x2, FUTEX_BITSET_MATCH_ANY };
	for (int i = 0; i < 3; i++) {
		fw_start(&w[i], fx.mm, f, PRIV, 7, bits[i], ktest_other_cpu(cpu_id(), i + 1));
		KEXPECT_TRUE(t, wait_queued(f, PRIV, i + 1)); /* queued in this order */
	}
	KEXPECT_EQ(t, futex_wake(f, PRIV, INT_MAX, 0x4), 1); /* only MATCH_ANY */
	KEXPECT_TRUE(t, fw_wait_done(&w[2], WAIT_BOUND));
	KEXPECT_EQ(t, futex_wake(f, PRIV, INT_MAX, 0x6), 1); /* 0x2 */
	KEXPECT_TRUE(t, fw_wait_done(&w[1], WAIT_BOUND));
	sleep_ms(20);
	KEXPECT_FALSE(t, w[0].done);
	KEXPECT_EQ(t, futex_wake(f, PRIV, INT_MAX, 0x8), 0);
	KEXPECT_EQ(t, futex_wake(f, PRIV, 1, FUTEX_BITSET_MATCH_ANY), 1);
	KEXPECT_TRUE(t, fw_wait_done(&w[0], WAIT_BOUND));
	for (int i = 0; i < 3; i++) {
		fw_finish(t, &w[i]);
		KEXPECT_EQ(t, w[i].ret, 0);
	}
	ktest_wait_threads(threads);
	fx_teardown(&fx);
}

/* ---- timeouts ------------------------------------------------------------------------ */

/* One timed wait through the system call: its result and how long it took
 * since `since` (0: since the call; an absolute deadline's test passes the
 * time read before the deadline was computed, so a preemption in between
 * cannot make the wait look short). */
static int64_t timed_wait_since(struct fx *fx, int op, uint64_t sec, uint64_t nsec, uint64_t *took,
				uint64_t since)
{
	put_timespec(fx_word(fx, PAGE_SIZE), (int64_t)sec, (int64_t)nsec);
	uint64_t t0 = since ? since : ktime_get_ns();
	int64_t r = sys_futex(fx->base, op, 3, fx->base + PAGE_SIZE, 0, FUTEX_BITSET_MATCH_ANY);
	*took = ktime_get_ns() - t0;
	return r;
}

static int64_t timed_wait(struct fx *fx, int op, uint64_t sec, uint64_t nsec, uint64_t *took)
{
	return timed_wait_since(fx, op, sec, nsec, took, 0);
}

static void timeouts(struct ktest *t)
{
	struct fx fx;
	if (!fx_setup(t, &fx))
		return;
	*fx_word(&fx, 0) = 3;
	const uint64_t want = 100 * MS;
	uint64_t took, abs;
	int P = FUTEX_PRIVATE_FLAG;

	KEXPECT_EQ(t, timed_wait(&fx, FUTEX_WAIT | P, 0, want, &took), -ETIMEDOUT);
	KEXPECT_GE(t, took, want);
	ktest_log(t, "FUTEX_WAIT 100 ms relative: -ETIMEDOUT after %lu us", took / 1000);

	uint64_t since = ktime_get_ns();
	abs = since + want;
	KEXPECT_EQ(t,
		   timed_wait_since(&fx, FUTEX_WAIT_BITSET | P, abs / 1000000000, abs % 1000000000,
				    &took, since),
		   -ETIMEDOUT);
	KEXPECT_GE(t, took, want);
	ktest_log(t, "WAIT_BITSET monotonic now+100 ms: -ETIMEDOUT after %lu us", took / 1000);

	since = ktime_get_ns(); /* REALTIME is the boot wall time + this clock */
	abs = ktime_get_real_ns() + want;
	KEXPECT_EQ(t,
		   timed_wait_since(&fx, FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME, abs / 1000000000,
				    abs % 1000000000, &took, since),
		   -ETIMEDOUT);
	KEXPECT_GE(t, took, want);
	ktest_log(t, "WAIT_BITSET|CLOCK_REALTIME now+100 ms (shared): -ETIMEDOUT after %lu us",
		  took / 1000);

	/* Absolute times in the past: at once. */
	KEXPECT_EQ(t, timed_wait(&fx, FUTEX_WAIT_BITSET | P, 0, 1, &took), -ETIMEDOUT);
	KEXPECT_EQ(t, timed_wait(&fx, FUTEX_WAIT_BITSET | P | FUTEX_CLOCK_REALTIME, 0, 1, &took),
		   -ETIMEDOUT);
	/* A huge relative one saturates (KTIME_MAX) instead of wrapping into
	 * the past: the waiter sleeps until woken. */
	struct fw w;
	int threads = sched_thread_count();
	put_timespec(fx_word(&fx, PAGE_SIZE), INT64_MAX_, 999999999);
	fw_start_op(&w, fx.mm, fx.base, PRIV, 3, FUTEX_BITSET_MATCH_ANY, CPU_ANY, FUTEX_WAIT | P,
		    fx.base + PAGE_SIZE);
	KEXPECT_TRUE(t, wait_queued(fx.base, PRIV, 1));
	KEXPECT_EQ(t, futex_wake(fx.base, PRIV, 1, FUTEX_BITSET_MATCH_ANY), 1);
	KEXPECT_TRUE(t, fw_wait_done(&w, WAIT_BOUND));
	fw_finish(t, &w);
	KEXPECT_EQ(t, w.ret, 0);
	ktest_wait_threads(threads);
	fx_teardown(&fx);
}

/* ---- kill ------------------------------------------------------------------------------ */

static void kill_ends_waiter(struct ktest *t)
{
	struct fx fx;
	if (!fx_setup(t, &fx))
		return;
	int threads = sched_thread_count();
	*fx_word(&fx, 0) = 0;
	struct fw w;
	fw_start(&w, fx.mm, fx.base, PRIV, 0, FUTEX_BITSET_MATCH_ANY, ktest_other_cpu(cpu_id(), 1));
	KEXPECT_TRUE(t, wait_queued(fx.base, PRIV, 1));
	kill_thread(w.th);
	bool done = fw_wait_done(&w, 5000);
	KEXPECT_TRUE(t, done);
	if (!done) /* not killable: get it out */
		futex_wake(fx.base, PRIV, 1, FUTEX_BITSET_MATCH_ANY);
	fw_finish(t, &w);
	KEXPECT_EQ(t, w.ret, -ERESTARTSYS);
	KEXPECT_EQ(t, futex_nr_waiters(fx.base, PRIV), 0); /* it unqueued itself */
	ktest_wait_threads(threads);
	fx_teardown(&fx);
}

/* ---- keys -------------------------------------------------------------------------------- */

/* A waiter in mm1 at a1, woken from mm2 at a2 (the same object). */
static void cross_mm_wake(struct ktest *t, struct mm *mm1, uint64_t a1, struct mm *mm2, uint64_t a2,
			  const char *what)
{
	int threads = sched_thread_count();
	struct fw w;
	fw_start(&w, mm1, a1, FLAGS_SHARED, 0, FUTEX_BITSET_MATCH_ANY,
		 ktest_other_cpu(cpu_id(), 1));
	use_mm(mm1);
	bool queued = wait_queued(a1, FLAGS_SHARED, 1);
	unuse_mm(mm1);
	KEXPECT_TRUE(t, queued);
	use_mm(mm2);
	int priv = futex_wake(a2, PRIV, 1, FUTEX_BITSET_MATCH_ANY);
	int woken = futex_wake(a2, FLAGS_SHARED, 1, FUTEX_BITSET_MATCH_ANY);
	unuse_mm(mm2);
	bool done = fw_wait_done(&w, 5000);
	fw_finish(t, &w);
	ktest_log(t, "%s: waiter at %#lx, wake at %#lx: private wake %d, shared wake %d", what, a1,
		  a2, priv, woken);
	KEXPECT_EQ(t, priv, 0);
	KEXPECT_EQ(t, woken, 1);
	KEXPECT_TRUE(t, done);
	KEXPECT_EQ(t, w.ret, 0);
	ktest_wait_threads(threads);
}

/* Map inode shared in both mms, at different addresses (a spacer in mm2). */
static bool map_both(struct ktest *t, struct mm *mm1, struct mm *mm2, struct inode *inode,
		     struct file *f, uint64_t *a1, uint64_t *a2)
{
	int prot = PROT_READ | PROT_WRITE;
	KEXPECT_GT(t, vm_mmap(mm2, 0, 3 * PAGE_SIZE, prot, MAP_PRIVATE | MAP_ANONYMOUS), 0);
	int64_t r1, r2;
	if (f) {
		r1 = vfs_mmap(mm1, f, 0, 2 * PAGE_SIZE, prot, MAP_SHARED, 0);
		r2 = vfs_mmap(mm2, f, 0, 2 * PAGE_SIZE, prot, MAP_SHARED, 0);
	} else {
		r1 = vm_mmap_file(mm1, 0, 2 * PAGE_SIZE, prot, MAP_SHARED, inode, 0, VM_MAY_ALL);
		r2 = vm_mmap_file(mm2, 0, 2 * PAGE_SIZE, prot, MAP_SHARED, inode, 0, VM_MAY_ALL);
	}
	KEXPECT_GT(t, r1, 0);
	KEXPECT_GT(t, r2, 0);
	KEXPECT_NE(t, r1, r2);
	*a1 = (uint64_t)r1 + PAGE_SIZE + 0x40;
	*a2 = (uint64_t)r2 + PAGE_SIZE + 0x40;
	return r1 > 0 && r2 > 0 && r1 != r2;
}

static void shared_key_across_mms(struct ktest *t)
{
	uint64_t a1, a2;
	struct mm *mm1 = mm_alloc(), *mm2 = mm_alloc();
	KASSERT_TRUE(t, mm1 && mm2);
	struct inode *shm = shmem_file_setup(2 * PAGE_SIZE);
	KASSERT_NOT_NULL(t, shm);
	if (map_both(t, mm1, mm2, shm, NULL, &a1, &a2))
		cross_mm_wake(t, mm1, a1, mm2, a2, "shmem");
	mapped_file_put(shm); /* the VMAs keep it */
	mmput(mm1);
	mmput(mm2);
	if (!fs_mounted()) {
		ktest_log(t, "no file system: the file case is left out");
		return;
	}
	struct file *f;
	KASSERT_EQ(t, vfs_open("/futex-shared.bin", O_RDWR | O_CREAT | O_TRUNC, &f), 0);
	static const char zero[2 * 4096];
	KEXPECT_EQ(t, vfs_pwrite(f, zero, sizeof(zero), 0), (ssize_t)sizeof(zero));
	mm1 = mm_alloc();
	mm2 = mm_alloc();
	KASSERT_TRUE(t, mm1 && mm2);
	if (map_both(t, mm1, mm2, NULL, f, &a1, &a2))
		cross_mm_wake(t, mm1, a1, mm2, a2, "file");
	mmput(mm1);
	mmput(mm2);
	vfs_close(f);
	KEXPECT_EQ(t, vfs_unlink("/futex-shared.bin"), 0);
}

static int write_word(struct mm *mm, uint64_t a, uint32_t v)
{
	use_mm(mm);
	int r = copy_to_user(a, &v, sizeof(v));
	unuse_mm(mm);
	return r;
}

/* A waiter on a COW-shared page; its mm writes (a copy now backs the
 * address) and wakes: private and shared keys of anonymous memory are
 * (mm, address), so the wake finds it. */
static void private_key_survives_cow(struct ktest *t)
{
	static const unsigned flags[2] = { PRIV, FLAGS_SHARED };
	for (int k = 0; k < 2; k++) {
		int threads = sched_thread_count();
		struct mm *parent = mm_alloc();
		KASSERT_NOT_NULL(t, parent);
		uint64_t a = ktest_mmap(parent, PAGE_SIZE) + 0x80;
		KEXPECT_EQ(t, write_word(parent, a, 0), 0);
		int err;
		struct mm *child = dup_mm(parent, &err); /* the page is COW-shared now */
		KASSERT_NOT_NULL(t, child);
		struct fw w;
		fw_start(&w, parent, a, flags[k], 0, FUTEX_BITSET_MATCH_ANY,
			 ktest_other_cpu(cpu_id(), 1));
		use_mm(parent);
		KEXPECT_TRUE(t, wait_queued(a, flags[k], 1));
		unuse_mm(parent);
		struct mm *child2 = dup_mm(parent, &err); /* shared again, whatever the wait did */
		KASSERT_NOT_NULL(t, child2);
		struct page *before, *after;
		use_mm(parent);
		KEXPECT_EQ(t, get_user_pages(parent, a & ~(PAGE_SIZE - 1), 1, 0, &before), 1);
		put_page(before);
		uint32_t one = 1;
		KEXPECT_EQ(t, copy_to_user(a, &one, sizeof(one)), 0); /* COW break */
		KEXPECT_EQ(t, get_user_pages(parent, a & ~(PAGE_SIZE - 1), 1, 0, &after), 1);
		put_page(after);
		KEXPECT_NE(t, page_to_pfn(before), page_to_pfn(after));
		int woken = futex_wake(a, flags[k], 1, FUTEX_BITSET_MATCH_ANY);
		unuse_mm(parent);
		bool done = fw_wait_done(&w, 5000);
		fw_finish(t, &w);
		ktest_log(t, "%s futex, page %#lx -> %#lx by COW: wake %d",
			  k ? "shared" : "private", page_to_pfn(before), page_to_pfn(after), woken);
		KEXPECT_EQ(t, woken, 1);
		KEXPECT_TRUE(t, done);
		KEXPECT_EQ(t, w.ret, 0);
		ktest_wait_threads(threads);
		mmput(child2);
		mmput(child);
		mmput(parent);
	}
}

KTEST_SUITE(futex, KTEST_CASE(errors), KTEST_CASE(wake_not_lost_paused),
	    KTEST_CASE(wake_not_lost_stress), KTEST_CASE(requeue_moves_waiters),
	    KTEST_CASE(bitset_matching), KTEST_CASE(timeouts), KTEST_CASE(kill_ends_waiter),
	    KTEST_CASE(shared_key_across_mms), KTEST_CASE(private_key_survives_cow));
