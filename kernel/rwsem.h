/*
 * kernel/rwsem.h - sleeping reader-writer lock (the mm's mmap_lock).
 * Many readers or one writer; a waiting writer blocks new readers, so
 * writers are not starved. May sleep: never take it with a spinlock held
 * or interrupts off.
 */
#ifndef KERNEL_RWSEM_H
#define KERNEL_RWSEM_H

#include "kernel/sched.h"
#include "kernel/panic.h"

/* s->count: readers (units of RWSEM_READER_BIAS) and two flags. Readers
 * change it by compare-and-swap without s->lock while neither flag is set;
 * the flags change only under s->lock (kernel/rwsem.c). */
#define RWSEM_WRITER_LOCKED  1ull
#define RWSEM_WRITER_WAITING 2ull
#define RWSEM_READER_BIAS    4ull

struct rwsem {
	spinlock_t lock;      /* guards writers_waiting, owner, the flags */
	uint64_t count;	      /* readers and flags, see above */
	struct thread *owner; /* the writer, for rwsem_assert_held_write() */
	int writers_waiting;
	struct waitq wq;
};

void rwsem_init(struct rwsem *s);
void down_read(struct rwsem *s);
void up_read(struct rwsem *s);
void down_write(struct rwsem *s);
void up_write(struct rwsem *s);
bool rwsem_is_locked(struct rwsem *s);
bool rwsem_is_write_locked_by_me(struct rwsem *s);

/* Lock contracts: panic if the caller does not hold s (for write). A reader
 * cannot be told from another, so "held" means held by somebody. */
#define rwsem_assert_held(s)                                                       \
	do {                                                                       \
		if (unlikely(!rwsem_is_locked(s)))                                 \
			panic("%s:%d: rwsem %s not held", __FILE__, __LINE__, #s); \
	} while (0)
#define rwsem_assert_held_write(s)                                                           \
	do {                                                                                 \
		if (unlikely(!rwsem_is_write_locked_by_me(s)))                               \
			panic("%s:%d: rwsem %s not held for write by this thread", __FILE__, \
			      __LINE__, #s);                                                 \
	} while (0)

#endif
