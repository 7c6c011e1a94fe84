/*
 * kernel/futex.h - fast user-space mutexes: futex(2) as Linux 6.1 has it
 * (see kernel/futex.c for the rules, the locks and why).
 *
 * The kernel functions work on the current thread's mm (a user thread, or
 * a kernel thread that called use_mm()): uaddr is a user address in it.
 */
#ifndef KERNEL_FUTEX_H
#define KERNEL_FUTEX_H

#include "kernel/compiler.h"

/* futex(2) operations (Linux's include/uapi/linux/futex.h). */
#define FUTEX_WAIT	      0
#define FUTEX_WAKE	      1
#define FUTEX_FD	      2 /* removed in Linux 2.6.26: -ENOSYS */
#define FUTEX_REQUEUE	      3
#define FUTEX_CMP_REQUEUE     4
#define FUTEX_WAKE_OP	      5 /* -ENOSYS here */
#define FUTEX_LOCK_PI	      6 /* the PI operations: -ENOSYS here */
#define FUTEX_UNLOCK_PI	      7
#define FUTEX_TRYLOCK_PI      8
#define FUTEX_WAIT_BITSET     9
#define FUTEX_WAKE_BITSET     10
#define FUTEX_WAIT_REQUEUE_PI 11
#define FUTEX_CMP_REQUEUE_PI  12
#define FUTEX_LOCK_PI2	      13

#define FUTEX_PRIVATE_FLAG     128
#define FUTEX_CLOCK_REALTIME   256
#define FUTEX_CMD_MASK	       (~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME))
#define FUTEX_BITSET_MATCH_ANY 0xffffffffu

/* flags of the kernel functions (Linux's FLAGS_*) */
#define FLAGS_SHARED  0x01u /* not FUTEX_PRIVATE_FLAG: the key may name a file page */
#define FLAGS_CLOCKRT 0x02u /* an absolute timeout is on CLOCK_REALTIME */

/* The system call: timeout is a struct timespec pointer for the waits, the
 * number to requeue (val2) for REQUEUE and CMP_REQUEUE. */
int64_t sys_futex(uint64_t uaddr, int op, uint32_t val, uint64_t utime, uint64_t uaddr2,
		  uint32_t val3);
/* do_futex: timeout is absolute, in ns on the clock the op uses
 * (CLOCK_MONOTONIC = ktime_get_ns, or CLOCK_REALTIME with FLAGS_CLOCKRT);
 * NULL: none. val2 is nr_requeue. */
int64_t do_futex(uint64_t uaddr, int op, uint32_t val, const uint64_t *timeout, uint64_t uaddr2,
		 uint32_t val2, uint32_t val3);

/* Sleep while *uaddr == val until a wake whose bitset intersects ours, the
 * absolute timeout, or a fatal signal: 0, -EAGAIN (the value differs),
 * -ETIMEDOUT, -EINTR (the thread is being killed), -EINVAL, -EFAULT. */
int futex_wait(uint64_t uaddr, unsigned flags, uint32_t val, const uint64_t *abs_timeout,
	       uint32_t bitset);
/* Wake up to nr_wake waiters (at least one, as Linux) on uaddr whose bitset
 * intersects bitset: how many, or -errno. */
int futex_wake(uint64_t uaddr, unsigned flags, int nr_wake, uint32_t bitset);
/* Wake nr_wake waiters of uaddr1, move up to nr_requeue more to uaddr2;
 * with cmpval, only if *uaddr1 == *cmpval (else -EAGAIN). Returns woken +
 * requeued, or -errno. */
int futex_requeue(uint64_t uaddr1, unsigned flags, uint64_t uaddr2, int nr_wake, int nr_requeue,
		  const uint32_t *cmpval);

/* Tests: how many waiters are queued on uaddr's key (0 or -errno). */
int futex_nr_waiters(uint64_t uaddr, unsigned flags);

#endif
