/*
 * kernel/rwsem.h - sleeping reader-writer lock (the mm's mmap_lock).
 * Many readers or one writer; a waiting writer blocks new readers, so
 * writers are not starved. May sleep: never take it with a spinlock held
 * or interrupts off.
 */
#ifndef KERNEL_RWSEM_H
#define KERNEL_RWSEM_H

#include "kernel/sched.h"

struct rwsem {
	spinlock_t lock; /* guards the fields below */
	int readers;	 /* active readers */
	bool writer;	 /* a writer holds it */
	int writers_waiting;
	struct waitq wq;
};

void rwsem_init(struct rwsem *s);
void down_read(struct rwsem *s);
void up_read(struct rwsem *s);
void down_write(struct rwsem *s);
void up_write(struct rwsem *s);
bool rwsem_is_locked(struct rwsem *s);

#endif
