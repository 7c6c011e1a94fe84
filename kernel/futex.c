/*
 * kernel/futex.c - futex(2): WAIT, WAKE, REQUEUE, CMP_REQUEUE, WAIT_BITSET,
 * WAKE_BITSET, private and shared, with timeouts, as Linux 6.1
 * (kernel/futex/{core,waitwake,requeue,syscalls}.c), errno for errno.
 * FUTEX_WAKE_OP and the PI operations return -ENOSYS (glibc and musl use
 * neither for their mutexes and condition variables).
 *
 * Keys (Linux's get_futex_key). A futex is named by a key, not by an
 * address, so that the waiter and the waker meet whatever they map:
 *   - FUTEX_PRIVATE_FLAG: (mm, address). No page is looked up: a private
 *     futex is only ever used by the threads of one mm, and the address is
 *     what they share. So a COW break between the wait and the wake (the
 *     page under the address replaced by a copy) loses nothing.
 *   - shared, anonymous page: (mm, address) too, marked FUT_OFF_MMSHARED
 *     (an anonymous page is reached by this mm alone at this address; fork
 *     children have their own copy once either side writes). The page is
 *     looked up for write first (Linux: FOLL_WRITE), so a COW is broken
 *     before the key is made; a read-only anonymous page is -EFAULT.
 *   - shared, file or shmem page (MAP_SHARED files, MAP_SHARED|MAP_ANONYMOUS,
 *     a MAP_PRIVATE file page not yet copied): (page->mapping, page index,
 *     offset), FUT_OFF_INODE, so two processes mapping the same object at
 *     different addresses meet. Linux names the inode by a sequence number
 *     (i_sequence) because the key holds no reference; here the mapping's
 *     address: if the file is freed and another one reuses the address while
 *     a waiter still sleeps (its mapping gone), a wake of the new file may
 *     wake it: a spurious wake-up, which futex users must expect anyway.
 *     A page whose mapping is gone (truncated) is -EFAULT, as Linux.
 * Private and shared keys never match each other (as Linux: both sides must
 * agree on FUTEX_PRIVATE_FLAG).
 *
 * Hash buckets. Waiters (struct futex_q, on the waiter's stack) are queued
 * in one of FUTEX_HASH_SIZE buckets chosen by a hash of the key; each
 * bucket has a spinlock guarding its chain and a count of its waiters.
 *
 * No lost wake-up (Linux's futex_wait_setup ordering, the comment at the top
 * of kernel/futex/waitwake.c). The waiter increments the bucket's waiters
 * count (a full barrier), takes the bucket lock, then reads the futex word
 * and compares it with the value it expects, and queues itself before
 * dropping the lock. The waker writes the word first, then, after a full
 * barrier, reads the waiters count and takes the lock only if it is not 0.
 * Either the waiter's read sees the new value (-EAGAIN), or its increment
 * is visible to the waker, which then takes the lock, so finds it queued.
 * Reading the value before queueing (or before counting) opens a window in
 * which the waker finds nobody and the waiter sleeps for ever (mutation
 * FUTEX_CHECK_BEFORE_QUEUE). The word is read under the spinlock with a
 * uaccess that cannot sleep (in atomic context a fault is not resolved and
 * returns -EFAULT); then the lock is dropped, the word read once more with
 * faults allowed, and everything retried (get_futex_value_locked).
 *
 * Sleeping and waking. The waiter sleeps interruptibly (any signal ends it:
 * -ERESTARTSYS, or -ERESTART_RESTARTBLOCK with a timeout, which the exit
 * path turns into -EINTR or a restart, as Linux) while q->lock_ptr is set.
 * The waker, under the bucket lock, unlinks q, clears q->lock_ptr (release),
 * wakes the thread (queues it; the IPI to its CPU waits until the bucket
 * is unlocked: "Kicks" in kernel/sched.c), then sets q->wake_done: the
 * waiter, once it sees
 * lock_ptr NULL, waits for wake_done before returning, so the waker never
 * touches a thread or a futex_q that may be gone (Linux keeps the task with
 * get_task_struct for the same reason; our threads have no reference
 * count). A waiter that times out or is killed unqueues itself under the
 * lock lock_ptr names, re-reading it under the lock since a requeue may
 * have moved it (futex_unqueue); if a waker got there first it was woken:
 * it returns 0, as Linux.
 *
 * Requeue moves a waiter from one bucket to another holding both locks (in
 * address order) and changes its key and lock_ptr; the destination's
 * waiters count is raised first, so a waker of the second futex does not
 * skip a bucket that is about to receive waiters.
 *
 * Timeouts: FUTEX_WAIT's is relative, on CLOCK_MONOTONIC; WAIT_BITSET's is
 * absolute, on CLOCK_MONOTONIC or with FUTEX_CLOCK_REALTIME on
 * CLOCK_REALTIME (turned into a monotonic deadline when the wait starts);
 * FUTEX_CLOCK_REALTIME with any other operation is -ENOSYS (6.1 allows it
 * with WAIT_BITSET, WAIT_REQUEUE_PI and LOCK_PI2 only). A timespec with
 * tv_sec < 0 or tv_nsec outside [0, 1e9) is -EINVAL, read before the
 * operation is checked (sys_futex, futex_init_timeout).
 *
 * Locks: bucket lock (spinlock; two in address order for requeue), then a
 * run queue's lock (wake_up_thread). The mm's mmap_lock (GUP for a shared
 * key, a fault on the futex word) is never taken with a bucket lock held.
 */
#include "kernel/futex.h"
#include "kernel/sys_time.h"
#include "kernel/sched.h"
#include "kernel/errno.h"
#include "kernel/list.h"
#include "kernel/atomic.h"
#include "kernel/pause.h"
#include "mm/mm.h"
#include "mm/gup.h"
#include "mm/page.h"
#include "mm/rmap.h"
#include "mm/filemap.h"
#include "arch/arch.h"

#define FUT_OFF_INODE	 1u /* key names a file page (mapping, index) */
#define FUT_OFF_MMSHARED 2u /* key is (mm, address) of a shared futex */

#define FUTEX_HASH_SIZE 1024 /* Linux: 256 per possible CPU, a power of two */
#define KTIME_MAX	0x7fffffffffffffffull

struct futex_key {
	uint64_t ptr;	 /* mm, or address_space of a file page */
	uint64_t word;	 /* page-aligned address, or page index */
	uint32_t offset; /* offset in the page | FUT_OFF_* */
};

struct futex_hash_bucket {
	atomic_t waiters; /* queued or about to be: wakers skip a bucket at 0 */
	spinlock_t lock;
	struct list_head chain; /* futex_q.list; lock. next == NULL: not set up yet */
} __aligned(64);

struct futex_q {
	struct list_head list; /* in a bucket's chain, under its lock */
	struct thread *task;
	spinlock_t *lock_ptr; /* the bucket lock while queued; NULL once woken */
	struct futex_key key; /* changes only under the bucket lock (requeue) */
	uint32_t bitset;
	bool wake_done; /* the waker is done with task and q (release) */
};

static struct futex_hash_bucket futex_queues[FUTEX_HASH_SIZE] = {
	[0 ... FUTEX_HASH_SIZE - 1] = { .lock = SPINLOCK_INIT("futex_hb") },
};

/* ---- keys ------------------------------------------------------------------ */

static bool futex_match(const struct futex_key *a, const struct futex_key *b)
{
	return a->ptr == b->ptr && a->word == b->word && a->offset == b->offset;
}

static struct futex_hash_bucket *futex_hash(const struct futex_key *k)
{
	uint64_t h = k->ptr * 0x9e3779b97f4a7c15ull;
	h ^= (k->word + k->offset) * 0xc2b2ae3d27d4eb4full;
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 29;
	return &futex_queues[h & (FUTEX_HASH_SIZE - 1)];
}

/* The key of a file or shmem page (or the address, in the mutant). */
static int file_page_key(struct page *page, uint64_t address, uint32_t offset,
			 struct futex_key *key)
{
	struct address_space *m = READ_ONCE(page->mapping);
	if (!m)
		return -EFAULT; /* truncated under us (Linux: -EFAULT unless swizzled) */
#ifdef MUTATION_FUTEX_SHARED_KEY_BY_ADDRESS
	*key = (struct futex_key){ (uint64_t)current->mm, address, offset | FUT_OFF_MMSHARED };
#else
	(void)address;
	*key = (struct futex_key){ (uint64_t)m, page->index, offset | FUT_OFF_INODE };
#endif
	return 0;
}

/* A shared futex: look the page up (for write first: a COW is broken
 * before the key is made), then key it by mm or by file page. */
static int get_shared_key(uint64_t address, uint32_t offset, struct futex_key *key)
{
	struct page *page;
	bool ro = false;
	long n = get_user_pages_fast(address, 1, FOLL_WRITE, &page);
	if (n < 1) {
		n = get_user_pages_fast(address, 1, 0, &page);
		ro = true;
	}
	if (n < 1)
		return -EFAULT;
	int err = 0;
	if (PageAnon(page)) {
		if (ro)
			err = -EFAULT; /* a read-only anonymous page: no stable key (Linux) */
		else
			*key = (struct futex_key){ (uint64_t)current->mm, address,
						   offset | FUT_OFF_MMSHARED };
	} else {
		err = file_page_key(page, address, offset, key);
	}
	put_page(page);
	return err;
}

#ifdef MUTATION_FUTEX_KEY_BY_PAGE
/* The naive key: the physical page under the address. A COW break between
 * the wait and the wake moves the address to another page. */
static int page_frame_key(uint64_t address, uint32_t offset, struct futex_key *key)
{
	struct page *page;
	if (get_user_pages_fast(address, 1, 0, &page) < 1)
		return -EFAULT;
	*key = (struct futex_key){ page_to_pfn(page), 0, offset };
	put_page(page);
	return 0;
}
#endif

/* Linux's get_futex_key: -EINVAL if misaligned, -EFAULT if not user memory
 * (a private key does not look at the page: an unmapped address is found
 * out when the word is read, and a wake there wakes nobody). */
static int get_futex_key(uint64_t uaddr, bool shared, struct futex_key *key)
{
	struct mm *mm = current->mm;
	uint32_t offset = uaddr % PAGE_SIZE;
	uint64_t address = uaddr - offset;
	if (uaddr % sizeof(uint32_t))
		return -EINVAL;
	if (!access_ok(uaddr, sizeof(uint32_t)) || !mm)
		return -EFAULT;
#ifdef MUTATION_FUTEX_KEY_BY_PAGE
	if (!shared)
		return page_frame_key(address, offset, key);
#endif
	if (!shared) {
		*key = (struct futex_key){ (uint64_t)mm, address, offset };
		return 0;
	}
	return get_shared_key(address, offset, key);
}

/* ---- the futex word ----------------------------------------------------------- */

/* Under a bucket lock: a fault is not resolved (atomic context), -EFAULT. */
static int get_futex_value_locked(uint32_t *val, uint64_t uaddr)
{
	return copy_from_user(val, uaddr, sizeof(*val));
}

/* With no lock held: a fault is resolved (demand paging, COW). */
static int get_futex_value(uint32_t *val, uint64_t uaddr)
{
	return copy_from_user(val, uaddr, sizeof(*val));
}

/* ---- buckets ------------------------------------------------------------------ */

static void hb_waiters_inc(struct futex_hash_bucket *hb)
{
	atomic_inc(&hb->waiters); /* a locked instruction: full barrier (A) */
	smp_mb();
}

static void hb_waiters_dec(struct futex_hash_bucket *hb)
{
	atomic_dec(&hb->waiters);
}

/* Anybody queued or about to be? The barrier (B) pairs with (A): the waker
 * wrote the futex word before it. */
static bool hb_waiters_pending(struct futex_hash_bucket *hb)
{
	smp_mb();
	return atomic_read(&hb->waiters) != 0;
}

static struct list_head *hb_chain(struct futex_hash_bucket *hb)
{
	assert_spin_locked(&hb->lock);
	if (!hb->chain.next)
		INIT_LIST_HEAD(&hb->chain); /* first use of this bucket */
	return &hb->chain;
}

static struct futex_hash_bucket *futex_q_lock(struct futex_q *q)
{
	struct futex_hash_bucket *hb = futex_hash(&q->key);
	hb_waiters_inc(hb); /* before the value is read: see the top */
	q->lock_ptr = &hb->lock;
	spin_lock(&hb->lock);
	return hb;
}

static void futex_q_unlock(struct futex_hash_bucket *hb)
{
	spin_unlock(&hb->lock);
	hb_waiters_dec(hb);
}

static void double_lock_hb(struct futex_hash_bucket *a, struct futex_hash_bucket *b)
{
	if (a > b) {
		struct futex_hash_bucket *t = a;
		a = b;
		b = t;
	}
	spin_lock(&a->lock);
	if (a != b)
		spin_lock(&b->lock);
}

static void double_unlock_hb(struct futex_hash_bucket *a, struct futex_hash_bucket *b)
{
	spin_unlock(&a->lock);
	if (a != b)
		spin_unlock(&b->lock);
}

static struct futex_hash_bucket *lock_to_hb(spinlock_t *l)
{
	return container_of(l, struct futex_hash_bucket, lock);
}

/* Unlink q from its bucket (its lock held). */
static void __futex_unqueue(struct futex_q *q)
{
	list_del_init(&q->list);
	hb_waiters_dec(lock_to_hb(q->lock_ptr));
}

/* Wake q (its bucket lock held): see "Sleeping and waking" at the top.
 * The IPI goes in *kicks, sent by the caller once the bucket is unlocked. */
static void futex_wake_mark(struct futex_q *q, cpumask_t *kicks)
{
	struct thread *t = q->task;
	__futex_unqueue(q);
	smp_store_release(&q->lock_ptr, NULL);
	wake_up_thread_kick(t, kicks);
	smp_store_release(&q->wake_done, true);
}

/* The waiter takes itself off its bucket: 1 if it did, 0 if a waker had
 * already (then it waits until the waker is done with it). */
static int futex_unqueue(struct futex_q *q)
{
	for (;;) {
		spinlock_t *lock = smp_load_acquire(&q->lock_ptr);
		if (!lock)
			break;
		spin_lock(lock);
		if (lock != READ_ONCE(q->lock_ptr)) { /* requeued, or woken, meanwhile */
			spin_unlock(lock);
			continue;
		}
		__futex_unqueue(q);
		spin_unlock(lock);
		return 1;
	}
	while (!smp_load_acquire(&q->wake_done))
		cpu_relax();
	return 0;
}

/* ---- wait ----------------------------------------------------------------------- */

/*
 * Linux's futex_wait_setup: key, then bucket lock, then the value. Returns
 * 0 with the bucket locked and q ready to queue, or -errno unlocked.
 */
static int futex_wait_setup(uint64_t uaddr, uint32_t val, unsigned flags, struct futex_q *q,
			    struct futex_hash_bucket **hb)
{
	uint32_t uval;
	int ret;
retry:
	ret = get_futex_key(uaddr, flags & FLAGS_SHARED, &q->key);
	if (ret)
		return ret;
retry_private:
#ifdef MUTATION_FUTEX_CHECK_BEFORE_QUEUE
	/* The value compared before the waiter is counted and queued. */
	if (get_futex_value(&uval, uaddr))
		return -EFAULT;
	if (uval != val)
		return -EAGAIN;
	pause_point(PAUSE_FUTEX_WAIT_SETUP, current->mm);
	*hb = futex_q_lock(q);
	return 0;
#endif
	*hb = futex_q_lock(q);
	ret = get_futex_value_locked(&uval, uaddr);
	if (ret) {
		futex_q_unlock(*hb);
		ret = get_futex_value(&uval, uaddr);
		if (ret)
			return ret;
		if (!(flags & FLAGS_SHARED))
			goto retry_private;
		goto retry;
	}
	if (uval != val) {
		futex_q_unlock(*hb);
		return -EAGAIN;
	}
	pause_point(PAUSE_FUTEX_WAIT_SETUP, current->mm); /* counted, locked, not queued */
	return 0;
}

/* Queue q and drop the lock (Linux's futex_queue). */
static void futex_queue(struct futex_q *q, struct futex_hash_bucket *hb)
{
	q->task = current;
	q->wake_done = false;
	list_add_tail(&q->list, hb_chain(hb));
	spin_unlock(&hb->lock);
}

/* Sleep (interruptible, as Linux's TASK_INTERRUPTIBLE) until q is woken,
 * the deadline (0: none) or a signal. */
static void futex_sleep(struct futex_q *q, uint64_t deadline)
{
	struct thread *t = current;
	for (;;) {
#ifndef MUTATION_FUTEX_SLEEP_NOT_KILLABLE
		t->sleep_killable = true; /* before the state (kill_thread) */
		t->sleep_interruptible = true;
#endif
		WRITE_ONCE(t->state, THREAD_SLEEPING);
		smp_mb(); /* the state stored before lock_ptr and kill_pending are read */
		if (!READ_ONCE(q->lock_ptr) || (deadline && ktime_get_ns() >= deadline))
			break;
#ifndef MUTATION_FUTEX_SLEEP_NOT_KILLABLE
		if (signal_pending(t))
			break;
#endif
		if (deadline)
			schedule_timeout_deadline(deadline);
		else
			schedule();
	}
	WRITE_ONCE(t->state, THREAD_RUNNING);
	t->sleep_killable = false; /* after the state */
	t->sleep_interruptible = false;
}

/* Linux's futex_wait_restart: the same wait, same absolute deadline. */
static int64_t futex_wait_restart(struct restart_block *rb)
{
	uint64_t abs = rb->arg[3];
	return futex_wait(rb->arg[0], (unsigned)rb->arg[1], (uint32_t)rb->arg[2],
			  rb->arg[5] ? &abs : NULL, (uint32_t)rb->arg[4]);
}

/* A CLOCK_REALTIME or CLOCK_MONOTONIC absolute time as a monotonic
 * deadline for the scheduler (never 0, which means none). */
static uint64_t futex_deadline(const uint64_t *abs, unsigned flags)
{
	if (!abs)
		return 0;
	uint64_t t = *abs;
	if (flags & FLAGS_CLOCKRT) {
		uint64_t mono = ktime_get_ns(), real = ktime_get_real_ns();
		t = t > real ? mono + (t - real) : mono; /* wraps only past KTIME_MAX */
	}
	return t ? t : 1;
}

int futex_wait(uint64_t uaddr, unsigned flags, uint32_t val, const uint64_t *abs_timeout,
	       uint32_t bitset)
{
	if (!bitset)
		return -EINVAL;
	uint64_t deadline = futex_deadline(abs_timeout, flags);
	struct futex_q q = { .bitset = bitset };
	struct futex_hash_bucket *hb;
	int ret = futex_wait_setup(uaddr, val, flags, &q, &hb);
	if (ret)
		return ret;
	futex_queue(&q, hb);
	futex_sleep(&q, deadline);
	if (!futex_unqueue(&q))
		return 0; /* woken, whatever else happened */
	if (deadline && ktime_get_ns() >= deadline)
		return -ETIMEDOUT;
	/* A signal (Linux): with a handler -EINTR (-ERESTARTSYS restarts
	 * with SA_RESTART only when there is no timeout); with none, the
	 * wait restarts, a timed one through restart_syscall. */
	if (!abs_timeout)
		return -ERESTARTSYS;
	struct restart_block *rb = &current->sig.restart;
	*rb = (struct restart_block){ futex_wait_restart,
				      { uaddr, flags, val, *abs_timeout, bitset, 1 } };
	return -ERESTART_RESTARTBLOCK;
}

/* ---- wake ----------------------------------------------------------------------- */

int futex_wake(uint64_t uaddr, unsigned flags, int nr_wake, uint32_t bitset)
{
	struct futex_key key;
	if (!bitset)
		return -EINVAL;
	int ret = get_futex_key(uaddr, flags & FLAGS_SHARED, &key);
	if (ret)
		return ret;
	struct futex_hash_bucket *hb = futex_hash(&key);
	if (!hb_waiters_pending(hb))
		return 0; /* nobody queued, nor counted before reading the word */
	cpumask_t kicks;
	cpumask_clear(&kicks);
	spin_lock(&hb->lock);
	struct futex_q *q, *next;
	list_for_each_entry_safe (q, next, hb_chain(hb), list) {
		if (!futex_match(&q->key, &key))
			continue;
#ifndef MUTATION_FUTEX_WAKE_IGNORES_BITSET
		if (!(q->bitset & bitset))
			continue;
#endif
		futex_wake_mark(q, &kicks);
		if (++ret >= nr_wake)
			break;
	}
	spin_unlock(&hb->lock);
	sched_kick_cpus(&kicks);
	return ret;
}

/* ---- requeue ------------------------------------------------------------------- */

/* Move q from hb1 to hb2 under key2 (both locks held). */
static void requeue_futex(struct futex_q *q, struct futex_hash_bucket *hb1,
			  struct futex_hash_bucket *hb2, const struct futex_key *key2)
{
	if (hb1 != hb2) {
		list_del(&q->list);
		hb_waiters_dec(hb1);
		hb_waiters_inc(hb2);
		list_add_tail(&q->list, hb_chain(hb2));
		WRITE_ONCE(q->lock_ptr, &hb2->lock);
	}
	q->key = *key2;
}

/* With both buckets locked: wake nr_wake, requeue up to nr_requeue. */
static int requeue_waiters(struct futex_hash_bucket *hb1, struct futex_hash_bucket *hb2,
			   const struct futex_key *key1, const struct futex_key *key2, int nr_wake,
			   int nr_requeue, cpumask_t *kicks)
{
	int task_count = 0;
	struct futex_q *q, *next;
	list_for_each_entry_safe (q, next, hb_chain(hb1), list) {
		if (task_count - nr_wake >= nr_requeue)
			break;
		if (!futex_match(&q->key, key1))
			continue;
#ifdef MUTATION_FUTEX_REQUEUE_WAKES_ALL
		++task_count;
		futex_wake_mark(q, kicks); /* everyone woken: a thundering herd, nobody moved */
		continue;
#endif
		if (++task_count <= nr_wake)
			futex_wake_mark(q, kicks);
		else
			requeue_futex(q, hb1, hb2, key2);
	}
	return task_count;
}

int futex_requeue(uint64_t uaddr1, unsigned flags, uint64_t uaddr2, int nr_wake, int nr_requeue,
		  const uint32_t *cmpval)
{
	struct futex_key key1, key2;
	if (nr_wake < 0 || nr_requeue < 0)
		return -EINVAL;
	int ret;
retry:
	ret = get_futex_key(uaddr1, flags & FLAGS_SHARED, &key1);
	if (ret)
		return ret;
	ret = get_futex_key(uaddr2, flags & FLAGS_SHARED, &key2);
	if (ret)
		return ret;
	struct futex_hash_bucket *hb1 = futex_hash(&key1), *hb2 = futex_hash(&key2);
retry_private:
	hb_waiters_inc(hb2); /* waiters may arrive there before the locks drop */
	double_lock_hb(hb1, hb2);
	if (cmpval) {
		uint32_t curval;
		if (get_futex_value_locked(&curval, uaddr1)) {
			double_unlock_hb(hb1, hb2);
			hb_waiters_dec(hb2);
			if (get_futex_value(&curval, uaddr1))
				return -EFAULT;
			if (!(flags & FLAGS_SHARED))
				goto retry_private;
			goto retry;
		}
		if (curval != *cmpval) {
			double_unlock_hb(hb1, hb2);
			hb_waiters_dec(hb2);
			return -EAGAIN;
		}
	}
	cpumask_t kicks;
	cpumask_clear(&kicks);
	ret = requeue_waiters(hb1, hb2, &key1, &key2, nr_wake, nr_requeue, &kicks);
	double_unlock_hb(hb1, hb2);
	hb_waiters_dec(hb2);
	sched_kick_cpus(&kicks);
	return ret;
}

/* ---- the system call ----------------------------------------------------------- */

int64_t do_futex(uint64_t uaddr, int op, uint32_t val, const uint64_t *timeout, uint64_t uaddr2,
		 uint32_t val2, uint32_t val3)
{
	int cmd = op & FUTEX_CMD_MASK;
	unsigned flags = op & FUTEX_PRIVATE_FLAG ? 0 : FLAGS_SHARED;
	if (op & FUTEX_CLOCK_REALTIME) {
		flags |= FLAGS_CLOCKRT;
		if (cmd != FUTEX_WAIT_BITSET && cmd != FUTEX_WAIT_REQUEUE_PI &&
		    cmd != FUTEX_LOCK_PI2)
			return -ENOSYS;
	}
	switch (cmd) {
	case FUTEX_WAIT:
		return futex_wait(uaddr, flags, val, timeout, FUTEX_BITSET_MATCH_ANY);
	case FUTEX_WAIT_BITSET:
		return futex_wait(uaddr, flags, val, timeout, val3);
	case FUTEX_WAKE:
		return futex_wake(uaddr, flags, (int)val, FUTEX_BITSET_MATCH_ANY);
	case FUTEX_WAKE_BITSET:
		return futex_wake(uaddr, flags, (int)val, val3);
	case FUTEX_REQUEUE:
		return futex_requeue(uaddr, flags, uaddr2, (int)val, (int)val2, NULL);
	case FUTEX_CMP_REQUEUE:
		return futex_requeue(uaddr, flags, uaddr2, (int)val, (int)val2, &val3);
	}
	return -ENOSYS; /* FUTEX_FD, WAKE_OP, the PI operations, unknown ones */
}

static bool futex_cmd_has_timeout(int cmd)
{
	return cmd == FUTEX_WAIT || cmd == FUTEX_LOCK_PI || cmd == FUTEX_LOCK_PI2 ||
	       cmd == FUTEX_WAIT_BITSET || cmd == FUTEX_WAIT_REQUEUE_PI;
}

/* Linux's futex_init_timeout: the timespec as an absolute time on the
 * op's clock. FUTEX_WAIT's is relative to now on CLOCK_MONOTONIC. */
static int futex_init_timeout(int cmd, const struct kernel_timespec *ts, uint64_t *t)
{
	if (ts->tv_sec < 0 || (uint64_t)ts->tv_nsec >= NSEC_PER_SEC)
		return -EINVAL;
	uint64_t ns = (uint64_t)ts->tv_sec >= KTIME_MAX / NSEC_PER_SEC
			  ? KTIME_MAX
			  : (uint64_t)ts->tv_sec * NSEC_PER_SEC + (uint64_t)ts->tv_nsec;
#ifndef MUTATION_FUTEX_WAIT_TIMEOUT_ABSOLUTE
	if (cmd == FUTEX_WAIT) {
		uint64_t now = ktime_get_ns();
		ns = ns > KTIME_MAX - now ? KTIME_MAX : now + ns; /* ktime_add_safe */
	}
#else
	(void)cmd;
#endif
	*t = ns;
	return 0;
}

int64_t sys_futex(uint64_t uaddr, int op, uint32_t val, uint64_t utime, uint64_t uaddr2,
		  uint32_t val3)
{
	int cmd = op & FUTEX_CMD_MASK;
	uint64_t t, *tp = NULL;
	if (utime && futex_cmd_has_timeout(cmd)) {
		struct kernel_timespec ts;
		if (copy_from_user(&ts, utime, sizeof(ts)))
			return -EFAULT;
		int ret = futex_init_timeout(cmd, &ts, &t);
		if (ret)
			return ret;
		tp = &t;
	}
	return do_futex(uaddr, op, val, tp, uaddr2, (uint32_t)utime, val3);
}

/* ---- tests ----------------------------------------------------------------------- */

int futex_nr_waiters(uint64_t uaddr, unsigned flags)
{
	struct futex_key key;
	int ret = get_futex_key(uaddr, flags & FLAGS_SHARED, &key);
	if (ret)
		return ret;
	struct futex_hash_bucket *hb = futex_hash(&key);
	spin_lock(&hb->lock);
	struct futex_q *q;
	list_for_each_entry (q, hb_chain(hb), list)
		ret += futex_match(&q->key, &key);
	spin_unlock(&hb->lock);
	return ret;
}
