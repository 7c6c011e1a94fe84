/*
 * kernel/sys_time.c - clocks and sleeps: clock_gettime, clock_getres,
 * clock_nanosleep, nanosleep, gettimeofday, time (Linux 6.1, errno for
 * errno), and the kernel's wall clock.
 *
 * Time sources. MONOTONIC, MONOTONIC_RAW and BOOTTIME are ktime_get_ns()
 * (the calibrated TSC since boot; there is no suspend and no NTP slewing,
 * so the three agree, as on a Linux machine that never slept nor ran NTP).
 * REALTIME (and TAI, whose offset is 0 until NTP sets one, as on Linux) is
 * that plus the wall time read from the RTC once at boot
 * (timekeeping_init, arch_read_wall_clock): there is no clock_settime yet,
 * so the offset never changes. The COARSE clocks are their precise clocks
 * rounded down to the timer tick, with the tick as their resolution (Linux
 * answers the time of the last tick, LOW_RES_NSEC); the others have a
 * resolution of 1 ns, as Linux with high-resolution timers reports. The
 * alarm clocks read as their base clocks (Linux: only with an RTC, which we
 * have). CPU-time clocks: THREAD is thread_cputime_ns() (the scheduler
 * charges each stint at the switch), PROCESS is process_cputime_ns() (the
 * sum over the thread group, kernel/exit.c); a
 * negative id names another thread's or process's CPU clock as Linux
 * encodes it (~pid << 3 | which), found by syscall_target_get (-EINVAL,
 * as Linux answers a pid that names nothing). Linux's user/system split (CPUCLOCK_PROF/VIRT) is
 * not kept: all three read the total. File-descriptor clocks (id & 7 == 3)
 * name no clock here: -EINVAL (-EOPNOTSUPP to sleep on).
 *
 * Sleeps are interruptible sleeps (wait_event_interruptible_deadline) on
 * ktime until a deadline: they end at the first scheduler tick at or after
 * it (ARCH_TIMER_HZ, so up to 10 ms late; never early), or when a signal
 * comes, as Linux's do_nanosleep: an absolute sleep returns
 * -ERESTARTNOHAND (-EINTR for a handler, else redone as it was); a
 * relative one writes the time left to `rem` and returns
 * -ERESTART_RESTARTBLOCK (-EINTR for a handler, else restart_syscall
 * sleeps on to the same deadline, kernel/signal.c). An absolute
 * REALTIME deadline is converted once to ktime (the offset cannot change).
 * Sleeping on the process CPU clock waits until the group's CPU time reaches
 * the target, checked every tick (a lone thread sleeps until killed, as on
 * Linux); THREAD_CPUTIME_ID, MONOTONIC_RAW and the COARSE clocks cannot be
 * slept on (-EOPNOTSUPP), a thread CPU clock by pid is -EINVAL.
 *
 * Locks: none of its own; the wall offset is written once at boot before
 * the APs start.
 */
#include "kernel/sys_time.h"
#include "kernel/sys_info.h"
#include "kernel/sched.h"
#include "kernel/printk.h"
#include "kernel/errno.h"
#include "arch/arch.h"
#include "arch/x86_64/uaccess.h"

#define TICK_NSEC	      (NSEC_PER_SEC / ARCH_TIMER_HZ)
#define KTIME_MAX	      ((uint64_t)INT64_MAX)
#define CLOCKFD		      3
#define CPUCLOCK_MAX	      3
#define CPUCLOCK_PERTHREAD(c) (((c)&4) != 0)
#define CPUCLOCK_WHICH(c)     ((c)&3)
#define CPUCLOCK_PID(c)	      ((int)~((c) >> 3))

static int64_t real_offset_ns; /* REALTIME - MONOTONIC, set at boot */

void timekeeping_init(void)
{
	int64_t sec = arch_read_wall_clock();
	uint64_t mono = ktime_get_ns();
	if (sec < 0) {
		pr_warn("time: no readable RTC: the wall clock starts at 1970-01-01\n");
		sec = 0;
	}
	real_offset_ns = sec * (int64_t)NSEC_PER_SEC - (int64_t)mono;
	pr_info("time: wall clock %ld s since the epoch (RTC)\n", sec);
}

int64_t ktime_real_offset_ns(void)
{
	return real_offset_ns;
}

uint64_t ktime_get_real_ns(void)
{
	return ktime_get_ns() + real_offset_ns;
}

/* ---- clock ids --------------------------------------------------------- */

/* The thread whose CPU clock the id names, or NULL (Linux: -EINVAL). For
 * a process clock, the thread stands for its process. */
static struct thread *cpu_clock_thread(int clk)
{
	if ((clk & 7) == CLOCKFD || CPUCLOCK_WHICH(clk) >= CPUCLOCK_MAX)
		return NULL;
	int pid = CPUCLOCK_PID(clk);
	return syscall_target_get(pid); /* with a reference: put_thread it */
}

static int64_t ns_coarse(uint64_t ns)
{
	return ns - ns % TICK_NSEC;
}

/* The clock's time in ns; -EINVAL for an id that names no clock. */
static int64_t clock_now_ns(int clk, uint64_t *ns)
{
	struct thread *t;
	switch (clk) {
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_ALARM:
	case CLOCK_TAI:
		*ns = ktime_get_real_ns();
		return 0;
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_BOOTTIME:
	case CLOCK_BOOTTIME_ALARM:
		*ns = ktime_get_ns();
		return 0;
	case CLOCK_REALTIME_COARSE:
		*ns = ns_coarse(ktime_get_ns()) + real_offset_ns;
		return 0;
	case CLOCK_MONOTONIC_COARSE:
		*ns = ns_coarse(ktime_get_ns());
		return 0;
	case CLOCK_PROCESS_CPUTIME_ID:
		*ns = process_cputime_ns(current);
		return 0;
	case CLOCK_THREAD_CPUTIME_ID:
		*ns = thread_cputime_ns(current);
		return 0;
	}
	if (clk >= 0 || !(t = cpu_clock_thread(clk)))
		return -EINVAL;
	*ns = CPUCLOCK_PERTHREAD(clk) ? thread_cputime_ns(t) : process_cputime_ns(t);
	put_thread(t);
	return 0;
}

static int64_t clock_res_ns(int clk, uint64_t *ns)
{
	switch (clk) {
	case CLOCK_REALTIME_COARSE:
	case CLOCK_MONOTONIC_COARSE:
		*ns = TICK_NSEC;
		return 0;
	case 10:
		return -EINVAL; /* Linux's removed CLOCK_SGI_CYCLE */
	}
	struct thread *t = clk < 0 ? cpu_clock_thread(clk) : NULL;
	if (t)
		put_thread(t);
	if ((clk >= 0 && clk <= CLOCK_TAI) || t) {
		*ns = 1;
		return 0;
	}
	return -EINVAL;
}

static int put_timespec(uint64_t uaddr, uint64_t ns)
{
	struct kernel_timespec ts = { (int64_t)(ns / NSEC_PER_SEC), (int64_t)(ns % NSEC_PER_SEC) };
	return copy_to_user(uaddr, &ts, sizeof(ts)) ? -EFAULT : 0;
}

/* Copy in a timespec and check it as timespec64_valid: 0, -EFAULT, -EINVAL. */
static int get_timespec_ns(uint64_t uaddr, uint64_t *ns)
{
	struct kernel_timespec ts;
	if (copy_from_user(&ts, uaddr, sizeof(ts)))
		return -EFAULT;
	if (ts.tv_sec < 0 || (uint64_t)ts.tv_nsec >= NSEC_PER_SEC)
		return -EINVAL;
	/* Linux's timespec64_to_ktime saturates at KTIME_MAX. */
	if ((uint64_t)ts.tv_sec >= KTIME_MAX / NSEC_PER_SEC)
		*ns = KTIME_MAX;
	else
		*ns = (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
	return 0;
}

int64_t sys_clock_gettime(int64_t clk, uint64_t tp)
{
	uint64_t ns;
	int64_t err = clock_now_ns((int)clk, &ns);
	return err ? err : put_timespec(tp, ns);
}

int64_t sys_clock_getres(int64_t clk, uint64_t tp)
{
	uint64_t ns;
	int64_t err = clock_res_ns((int)clk, &ns);
	if (err || !tp) /* Linux: a NULL tp only checks the clock */
		return err;
	return put_timespec(tp, ns);
}

int64_t sys_gettimeofday(uint64_t tv, uint64_t tz)
{
	if (tv) {
		uint64_t ns = ktime_get_real_ns();
		struct kernel_timeval v = { (int64_t)(ns / NSEC_PER_SEC),
					    (int64_t)(ns % NSEC_PER_SEC / 1000) };
		if (copy_to_user(tv, &v, sizeof(v)))
			return -EFAULT;
	}
	if (tz) {
		struct kernel_timezone z = { 0, 0 }; /* Linux's sys_tz until settimeofday */
		if (copy_to_user(tz, &z, sizeof(z)))
			return -EFAULT;
	}
	return 0;
}

int64_t sys_time(uint64_t tloc)
{
	int64_t sec = (int64_t)(ktime_get_real_ns() / NSEC_PER_SEC);
	if (tloc && put_user_u64(tloc, (uint64_t)sec))
		return -EFAULT;
	return sec;
}

/* ---- sleeping ---------------------------------------------------------- */

int64_t sleep_until_ktime(uint64_t deadline)
{
	struct waitq wq; /* nobody wakes it: the timer or a kill does */
	waitq_init(&wq);
#ifdef MUTATION_NANOSLEEP_NOT_KILLABLE
	wait_event_timeout(wq, false, (deadline - MIN(deadline, ktime_get_ns())) / 1000000);
	return 0; /* an ordinary sleep: exit_group waits for it to end */
#endif
	int err = wait_event_interruptible_deadline(wq, false, MAX(deadline, 1));
	return err == -ETIMEDOUT ? 0 : err ? -EINTR : 0;
}

static int put_timespec_ns(uint64_t uaddr, uint64_t ns)
{
	struct kernel_timespec ts = { (int64_t)(ns / NSEC_PER_SEC), (int64_t)(ns % NSEC_PER_SEC) };
	return copy_to_user(uaddr, &ts, sizeof(ts));
}

static int64_t ktime_nanosleep(uint64_t deadline, bool abs, uint64_t rem);

static int64_t ktime_nanosleep_restart(struct restart_block *rb)
{
	return ktime_nanosleep(rb->arg[0], false, rb->arg[1]);
}

/* Sleep to a ktime deadline; a signal ends it as Linux's do_nanosleep
 * (see the top). */
static int64_t ktime_nanosleep(uint64_t deadline, bool abs, uint64_t rem)
{
	int64_t err = sleep_until_ktime(deadline);
	if (err != -EINTR)
		return err;
#ifdef MUTATION_NANOSLEEP_NO_RESTART
	return -EINTR; /* seen by the program even when no handler ran */
#endif
	if (abs)
		return -ERESTARTNOHAND;
	uint64_t now = ktime_get_ns();
	if (deadline <= now)
		return 0;
	if (rem && put_timespec_ns(rem, deadline - now))
		return -EFAULT;
	current->sig.restart = (struct restart_block){ ktime_nanosleep_restart, { deadline, rem } };
	return -ERESTART_RESTARTBLOCK;
}

/* Sleep while the process's CPU time is below target (checked every tick). */
static int64_t sleep_until_cputime(struct thread *t, uint64_t target)
{
	while (process_cputime_ns(t) < target) {
		int64_t err = sleep_until_ktime(ktime_get_ns() + TICK_NSEC);
		if (err)
			return err;
	}
	return 0;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a + b < a || a + b > KTIME_MAX ? KTIME_MAX : a + b;
}

/* The relative request measured from now, as a ktime deadline. */
static uint64_t relative_deadline(uint64_t req)
{
	uint64_t now = ktime_get_ns();
#ifdef MUTATION_NANOSLEEP_SHORT
	now = ns_coarse(now); /* measured from the last tick: up to a tick early */
#endif
	return add_sat(now, req);
}

int64_t sys_nanosleep(uint64_t req, uint64_t rem)
{
	uint64_t ns;
	int err = get_timespec_ns(req, &ns);
	if (err)
		return err;
	return ktime_nanosleep(relative_deadline(ns), false, rem);
}

static int64_t cpu_clock_nanosleep(int clk, bool abs, uint64_t ns, uint64_t rem);

static int64_t cpu_nanosleep_restart(struct restart_block *rb)
{
	return cpu_clock_nanosleep((int)rb->arg[0], true, rb->arg[1], rb->arg[2]);
}

/* A CPU-clock sleep ended by a signal (Linux's posix_cpu_nsleep): as
 * ktime_nanosleep, the time left being CPU time. */
static int64_t cpu_nanosleep_interrupted(struct thread *t, int clk, bool abs, uint64_t target,
					 uint64_t rem)
{
	if (abs)
		return -ERESTARTNOHAND;
	uint64_t now = process_cputime_ns(t);
	if (target <= now)
		return 0;
	if (rem && put_timespec_ns(rem, target - now))
		return -EFAULT;
	current->sig.restart = (struct restart_block){ cpu_nanosleep_restart,
						       { (uint64_t)(int64_t)clk, target, rem } };
	return -ERESTART_RESTARTBLOCK;
}

static int64_t cpu_clock_nanosleep(int clk, bool abs, uint64_t ns, uint64_t rem)
{
	struct thread *t = current;
	if (clk >= 0) {
		get_thread(t);
	} else {
		t = cpu_clock_thread(clk);
		if (t && CPUCLOCK_PERTHREAD(clk)) {
			put_thread(t);
			t = NULL;
		}
		if (!t)
			return -EINVAL; /* no such clock, or a thread's */
	}
	uint64_t target = abs ? ns : add_sat(process_cputime_ns(t), ns);
	int64_t ret = sleep_until_cputime(t, target);
	if (ret == -EINTR) /* a restart sleeps to the same target, absolutely */
		ret = cpu_nanosleep_interrupted(t, clk, abs, target, rem);
	put_thread(t);
	return ret;
}

/* Linux's clockid_to_kclock: -EINVAL for no clock, -EOPNOTSUPP for a clock
 * without nsleep, else 0. */
static int64_t clock_can_sleep(int clk, int64_t flags)
{
	switch (clk) {
	case CLOCK_REALTIME:
	case CLOCK_MONOTONIC:
	case CLOCK_BOOTTIME:
	case CLOCK_TAI:
	case CLOCK_PROCESS_CPUTIME_ID:
		return 0;
	case CLOCK_THREAD_CPUTIME_ID:
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_REALTIME_COARSE:
	case CLOCK_MONOTONIC_COARSE:
		return -EOPNOTSUPP;
	case CLOCK_REALTIME_ALARM:
	case CLOCK_BOOTTIME_ALARM: /* alarm_timer_nsleep; root has CAP_WAKE_ALARM */
		return flags & ~TIMER_ABSTIME ? -EINVAL : 0;
	}
	if (clk >= 0)
		return -EINVAL;
	return (clk & 7) == CLOCKFD ? -EOPNOTSUPP : 0; /* fd clocks cannot sleep */
}

int64_t sys_clock_nanosleep(int64_t clock, int64_t flags, uint64_t req, uint64_t rem)
{
	int clk = (int)clock;
	uint64_t ns;
	bool abs = flags & TIMER_ABSTIME;
	int64_t err = clock_can_sleep(clk, flags);
	if (!err)
		err = get_timespec_ns(req, &ns);
	if (err)
		return err;
	if (clk == CLOCK_PROCESS_CPUTIME_ID || clk < 0)
		return cpu_clock_nanosleep(clk, abs, ns, rem);
	if (!abs)
		return ktime_nanosleep(relative_deadline(ns), false, rem);
	if (clk == CLOCK_REALTIME || clk == CLOCK_REALTIME_ALARM || clk == CLOCK_TAI) {
		int64_t mono = (int64_t)ns - real_offset_ns; /* before boot: now */
		return ktime_nanosleep(mono < 0 ? 0 : (uint64_t)mono, true, 0);
	}
	return ktime_nanosleep(ns, true, 0);
}
