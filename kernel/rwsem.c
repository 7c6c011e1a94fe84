/* kernel/rwsem.c - see kernel/rwsem.h. */
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
	bool wake = --s->readers == 0 && s->writers_waiting;
	spin_unlock(&s->lock);
	if (wake)
		wake_up_all(&s->wq);
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
	spin_unlock(&s->lock);
	wake_up_all(&s->wq);
}

bool rwsem_is_locked(struct rwsem *s)
{
	return READ_ONCE(s->writer) || READ_ONCE(s->readers);
}

bool rwsem_is_write_locked_by_me(struct rwsem *s)
{
	return READ_ONCE(s->writer) && READ_ONCE(s->owner) == current;
}
