/* kernel/rwsem.c - see kernel/rwsem.h.
 *
 * Releasing wakes the waiters while still holding s->lock, so the release
 * is over when the lock drops: whoever takes the rwsem next may free it
 * (the object's last user), and a wake-up that came later would touch
 * freed memory (seen as a pipe freed under a concurrent pipe_release). */
#include "kernel/rwsem.h"

void rwsem_init(struct rwsem *s)
{
	spin_lock_init(&s->lock, "rwsem");
	s->readers = 0;
	s->writer = false;
	s->writers_waiting = 0;
	waitq_init(&s->wq);
}

static bool try_read(struct rwsem *s)
{
	spin_lock(&s->lock);
	bool ok = !s->writer && !s->writers_waiting;
	if (ok)
		s->readers++;
	spin_unlock(&s->lock);
	return ok;
}

void down_read(struct rwsem *s)
{
	wait_event(s->wq, try_read(s));
}

void up_read(struct rwsem *s)
{
	spin_lock(&s->lock);
	if (--s->readers == 0 && s->writers_waiting)
		wake_up_all(&s->wq);
	spin_unlock(&s->lock); /* the last touch of s: see up_write */
}

static bool try_write(struct rwsem *s)
{
	spin_lock(&s->lock);
	bool ok = !s->writer && !s->readers;
	if (ok) {
		s->writer = true;
		s->owner = current;
		s->writers_waiting--;
	}
	spin_unlock(&s->lock);
	return ok;
}

void down_write(struct rwsem *s)
{
	spin_lock(&s->lock);
	s->writers_waiting++;
	spin_unlock(&s->lock);
	wait_event(s->wq, try_write(s));
}

void up_write(struct rwsem *s)
{
	spin_lock(&s->lock);
	s->writer = false;
	s->owner = NULL;
	/* Wake under s->lock: once it is dropped, a down_write that did not
	 * sleep may take the rwsem and free the object around it (a pipe's
	 * last release); nothing may touch s after. Order: s->lock, then
	 * waitq and rq locks (the wait loop's try_* takes s->lock alone). */
	wake_up_all(&s->wq);
	spin_unlock(&s->lock);
}

bool rwsem_is_locked(struct rwsem *s)
{
	return READ_ONCE(s->writer) || READ_ONCE(s->readers);
}

bool rwsem_is_write_locked_by_me(struct rwsem *s)
{
	return READ_ONCE(s->writer) && READ_ONCE(s->owner) == current;
}
