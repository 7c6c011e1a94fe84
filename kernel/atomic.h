/*
 * kernel/atomic.h - atomics on top of the GCC __atomic builtins.
 * atomic_* operations are sequentially consistent (full barriers on x86 for
 * read-modify-write); smp_* barriers order plain accesses.
 */
#ifndef KERNEL_ATOMIC_H
#define KERNEL_ATOMIC_H

#include "kernel/compiler.h"

typedef struct {
	int counter;
} atomic_t;
typedef struct {
	int64_t counter;
} atomic64_t;

#define ATOMIC_INIT(v) \
	{              \
		(v)    \
	}

static inline int atomic_read(const atomic_t *a)
{
	return __atomic_load_n(&a->counter, __ATOMIC_RELAXED);
}
static inline void atomic_set(atomic_t *a, int v)
{
	__atomic_store_n(&a->counter, v, __ATOMIC_RELAXED);
}
static inline int atomic_add_return(int v, atomic_t *a)
{
	return __atomic_add_fetch(&a->counter, v, __ATOMIC_SEQ_CST);
}
static inline int atomic_sub_return(int v, atomic_t *a)
{
	return __atomic_sub_fetch(&a->counter, v, __ATOMIC_SEQ_CST);
}
static inline void atomic_add(int v, atomic_t *a)
{
	(void)atomic_add_return(v, a);
}
static inline void atomic_sub(int v, atomic_t *a)
{
	(void)atomic_sub_return(v, a);
}
static inline void atomic_inc(atomic_t *a)
{
	atomic_add(1, a);
}
static inline void atomic_dec(atomic_t *a)
{
	atomic_sub(1, a);
}
static inline int atomic_inc_return(atomic_t *a)
{
	return atomic_add_return(1, a);
}
static inline int atomic_dec_return(atomic_t *a)
{
	return atomic_sub_return(1, a);
}
static inline bool atomic_dec_and_test(atomic_t *a)
{
	return atomic_dec_return(a) == 0;
}
static inline int atomic_xchg(atomic_t *a, int v)
{
	return __atomic_exchange_n(&a->counter, v, __ATOMIC_SEQ_CST);
}
/* Returns true and stores n if *a == o. */
static inline bool atomic_try_cmpxchg(atomic_t *a, int *o, int n)
{
	return __atomic_compare_exchange_n(&a->counter, o, n, false, __ATOMIC_SEQ_CST,
					   __ATOMIC_RELAXED);
}
/* Add v unless the counter is u; returns true if it added. */
static inline bool atomic_add_unless(atomic_t *a, int v, int u)
{
	int c = atomic_read(a);
	do {
		if (c == u)
			return false;
	} while (!atomic_try_cmpxchg(a, &c, c + v));
	return true;
}

static inline int64_t atomic64_read(const atomic64_t *a)
{
	return __atomic_load_n(&a->counter, __ATOMIC_RELAXED);
}
static inline void atomic64_set(atomic64_t *a, int64_t v)
{
	__atomic_store_n(&a->counter, v, __ATOMIC_RELAXED);
}
static inline int64_t atomic64_add_return(int64_t v, atomic64_t *a)
{
	return __atomic_add_fetch(&a->counter, v, __ATOMIC_SEQ_CST);
}
static inline void atomic64_add(int64_t v, atomic64_t *a)
{
	(void)atomic64_add_return(v, a);
}
static inline void atomic64_inc(atomic64_t *a)
{
	atomic64_add(1, a);
}
static inline int64_t atomic64_inc_return(atomic64_t *a)
{
	return atomic64_add_return(1, a);
}

#define smp_mb()		__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define smp_rmb()		__atomic_thread_fence(__ATOMIC_ACQUIRE)
#define smp_wmb()		__atomic_thread_fence(__ATOMIC_RELEASE)
#define smp_load_acquire(p)	__atomic_load_n(p, __ATOMIC_ACQUIRE)
#define smp_store_release(p, v) __atomic_store_n(p, v, __ATOMIC_RELEASE)

#endif
