/*
 * kernel/seqcount.h - sequence counts: a writer makes the count odd while it
 * changes something; a lockless reader samples the count before and checks
 * it after, and retries (or backs off) if a writer ran in between. Writers
 * must be serialized by their own lock (fork: the mmap_lock for write).
 */
#ifndef KERNEL_SEQCOUNT_H
#define KERNEL_SEQCOUNT_H

#include "kernel/atomic.h"

typedef struct {
	volatile unsigned int sequence;
} seqcount_t;

static inline void seqcount_init(seqcount_t *s)
{
	s->sequence = 0;
}

static inline void write_seqcount_begin(seqcount_t *s)
{
	s->sequence++;
	smp_mb(); /* the odd count is visible before any change */
}

static inline void write_seqcount_end(seqcount_t *s)
{
	smp_mb(); /* every change is visible before the even count */
	s->sequence++;
}

/* The count as it is now; odd means a writer is active. */
static inline unsigned int raw_read_seqcount(const seqcount_t *s)
{
	unsigned int v = READ_ONCE(s->sequence);
	smp_mb();
	return v;
}

/* True if a writer started or finished since raw_read_seqcount returned start. */
static inline bool read_seqcount_retry(const seqcount_t *s, unsigned int start)
{
	smp_mb();
	return READ_ONCE(s->sequence) != start;
}

#endif
