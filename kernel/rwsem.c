/* kernel/rwsem.c - see kernel/rwsem.h.
 *
 * The state is one word, s->count: RWSEM_WRITER_LOCKED, RWSEM_WRITER_WAITING
 * (at least one down_write is waiting) and the number of readers in units
 * of RWSEM_READER_BIAS. A reader takes and drops the rwsem with one
 * compare-and-swap of that word when no writer holds it or waits (Linux's
 * rwsem fast path): readers do not serialize on anything, which matters for
 * mmap_lock, taken for read by every page fault and GUP of a process. Every
 * other transition happens under s->lock: a writer announcing itself
 * (WRITER_WAITING), taking the rwsem, releasing it, and the last reader
 * leaving while a writer waits.
 *
 * Releasing wakes the waiters while still holding s->lock, so the release
 * is over when the lock drops: whoever takes the rwsem next may free it
 * (the object's last user), and a wake-up that came later would touch
 * freed memory (seen as a pipe freed under a concurrent pipe_release). A
 * reader's lockless release touches s only by its compare-and-swap, and
 * only when no writer waits (the swap fails if one announced itself
 * meanwhile, and the reader takes the locked path); a writer can take the
 * rwsem only under s->lock, so the locked path's wake-up is over first.
 *
 * Lock order: s->lock, then the waitq and rq locks (the wait loop's
 * try_write takes s->lock alone; try_read takes nothing).
 */
#include "kernel/rwsem.h"

void rwsem_init(struct rwsem *s)
{
	spin_lock_init(&s->lock, "rwsem");
	s->count = 0;
	s->writers_waiting = 0;
	s->owner = NULL;
	waitq_init(&s->wq);
}

static bool try_read(struct rwsem *s)
{
	uint64_t c = __atomic_load_n(&s->count, __ATOMIC_RELAXED);
#ifndef MUTATION_RWSEM_READ_IGNORES_WRITER
	while (!(c & (RWSEM_WRITER_LOCKED | RWSEM_WRITER_WAITING)))
#else
	while (!(c & RWSEM_WRITER_WAITING))
#endif
		if (__atomic_compare_exchange_n(&s->count, &c, c + RWSEM_READER_BIAS, false,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return true;
	return false;
}

void down_read(struct rwsem *s)
{
	if (try_read(s)) /* fast path: no waitqueue */
		return;
	wait_event(s->wq, try_read(s));
}

void up_read(struct rwsem *s)
{
	uint64_t c = __atomic_load_n(&s->count, __ATOMIC_RELAXED);
	while (!(c & RWSEM_WRITER_WAITING))
		if (__atomic_compare_exchange_n(&s->count, &c, c - RWSEM_READER_BIAS, false,
						__ATOMIC_RELEASE, __ATOMIC_RELAXED))
			return; /* the last touch of s */
	spin_lock(&s->lock);
	c = __atomic_sub_fetch(&s->count, RWSEM_READER_BIAS, __ATOMIC_RELEASE);
#ifndef MUTATION_RWSEM_UP_READ_NO_WAKE
	if (c < RWSEM_READER_BIAS) /* the last reader: a writer waits */
		wake_up_all(&s->wq);
#endif
	spin_unlock(&s->lock); /* the last touch of s: see up_write */
}

static bool try_write(struct rwsem *s)
{
	spin_lock(&s->lock);
	uint64_t c = __atomic_load_n(&s->count, __ATOMIC_ACQUIRE); /* readers' releases */
	bool ok = c == RWSEM_WRITER_WAITING;			   /* no reader, no writer */
	if (ok) {
		uint64_t set = RWSEM_WRITER_LOCKED;
		uint64_t clear = --s->writers_waiting ? 0 : RWSEM_WRITER_WAITING;
		/* Readers can only fail their swaps now (a writer waits). */
		__atomic_store_n(&s->count, (c | set) & ~clear, __ATOMIC_RELAXED);
		s->owner = current;
	}
	spin_unlock(&s->lock);
	return ok;
}

void down_write(struct rwsem *s)
{
	spin_lock(&s->lock);
	if (s->writers_waiting++ == 0)
		__atomic_fetch_or(&s->count, RWSEM_WRITER_WAITING, __ATOMIC_SEQ_CST);
	spin_unlock(&s->lock);
	wait_event(s->wq, try_write(s));
}

void up_write(struct rwsem *s)
{
	spin_lock(&s->lock);
	s->owner = NULL;
	__atomic_fetch_and(&s->count, ~RWSEM_WRITER_LOCKED, __ATOMIC_RELEASE);
	/* Wake under s->lock: once it is dropped, a down_write that did not
	 * sleep may take the rwsem and free the object around it (a pipe's
	 * last release); nothing may touch s after. */
	wake_up_all(&s->wq);
	spin_unlock(&s->lock);
}

bool rwsem_is_locked(struct rwsem *s)
{
	return READ_ONCE(s->count) & ~RWSEM_WRITER_WAITING;
}

bool rwsem_is_write_locked_by_me(struct rwsem *s)
{
	return (READ_ONCE(s->count) & RWSEM_WRITER_LOCKED) && READ_ONCE(s->owner) == current;
}
