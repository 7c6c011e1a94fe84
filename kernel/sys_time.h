/*
 * kernel/sys_time.h - clocks and sleeps for user programs (kernel/sys_time.c)
 * and the wall clock for the kernel.
 */
#ifndef KERNEL_SYS_TIME_H
#define KERNEL_SYS_TIME_H

#include "kernel/compiler.h"

struct thread;

#define NSEC_PER_SEC 1000000000ul

/* Linux's clock ids. */
#define CLOCK_REALTIME		 0
#define CLOCK_MONOTONIC		 1
#define CLOCK_PROCESS_CPUTIME_ID 2
#define CLOCK_THREAD_CPUTIME_ID	 3
#define CLOCK_MONOTONIC_RAW	 4
#define CLOCK_REALTIME_COARSE	 5
#define CLOCK_MONOTONIC_COARSE	 6
#define CLOCK_BOOTTIME		 7
#define CLOCK_REALTIME_ALARM	 8
#define CLOCK_BOOTTIME_ALARM	 9
#define CLOCK_TAI		 11
#define TIMER_ABSTIME		 1

/* struct __kernel_timespec / timeval / timezone on x86-64. */
struct kernel_timespec {
	int64_t tv_sec, tv_nsec;
};
struct kernel_timeval {
	int64_t tv_sec, tv_usec;
};
struct kernel_timezone {
	int tz_minuteswest, tz_dsttime;
};

/* Boot, BSP, after clock_init(): read the wall clock (the RTC) once. */
void timekeeping_init(void);
/* CLOCK_REALTIME in nanoseconds since 1970-01-01 UTC: the wall time read at
 * boot plus ktime_get_ns() since (futex's FUTEX_CLOCK_REALTIME uses it). */
uint64_t ktime_get_real_ns(void);
/* CLOCK_REALTIME minus CLOCK_MONOTONIC (constant: no clock_settime yet). */
int64_t ktime_real_offset_ns(void);

/* CLOCK_PROCESS_CPUTIME_ID of t's process: the sum of its live threads'
 * thread_cputime_ns and what its exited threads used (Linux's
 * thread_group_cputime); kernel/exit.c, declared in kernel/process.h too. */
uint64_t process_cputime_ns(struct thread *t);

/* The sleep of nanosleep: until ktime_get_ns() >= deadline_ns (0), or a
 * fatal signal (kill_thread: -EINTR), whichever comes first. */
int64_t sleep_until_ktime(uint64_t deadline_ns);

int64_t sys_clock_gettime(int64_t clk, uint64_t tp);
int64_t sys_clock_getres(int64_t clk, uint64_t tp);
int64_t sys_clock_nanosleep(int64_t clk, int64_t flags, uint64_t req, uint64_t rem);
int64_t sys_nanosleep(uint64_t req, uint64_t rem);
int64_t sys_gettimeofday(uint64_t tv, uint64_t tz);
int64_t sys_time(uint64_t tloc);

#endif
