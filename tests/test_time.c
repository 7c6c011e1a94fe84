/*
 * tests/test_time.c - the wall clock and the CPU-time clock in the kernel:
 * the CMOS RTC's registers decoded in BCD and binary, 12- and 24-hour
 * modes (synthetic registers, so every encoding is covered whatever the
 * machine's chip uses), the calendar arithmetic, CLOCK_REALTIME = boot
 * wall time + monotonic, and a thread's CPU time that grows while it runs
 * and not while it sleeps, and nanosleep's sleep ended by a kill (as
 * exit_group of another thread ends it).
 */
#include "tests/ktest.h"
#include "kernel/sys_time.h"
#include "kernel/errno.h"
#include "arch/x86_64/rtc.h"

/* 2026-12-02 16:38:08 UTC and 1999-12-31 23:59:59 UTC. */
#define T_2026 1796229488
#define T_1999 946684799

static void rtc_decodes_bcd_and_binary(struct ktest *t)
{
	struct rtc_regs bcd = { 0x08, 0x38, 0x16, 0x02, 0x12, 0x26, 0x20, RTC_B_24H };
	KEXPECT_EQ(t, rtc_regs_to_unix(&bcd), T_2026);
	struct rtc_regs bin = { 8, 38, 16, 2, 12, 26, 20, RTC_B_24H | RTC_B_BINARY };
	KEXPECT_EQ(t, rtc_regs_to_unix(&bin), T_2026);
	struct rtc_regs no_century = { 0x59, 0x59, 0x23, 0x31, 0x12, 0x99, 0, RTC_B_24H };
	KEXPECT_EQ(t, rtc_regs_to_unix(&no_century), T_1999);
	struct rtc_regs garbage = { 0x61, 0x38, 0x16, 0x02, 0x13, 0x26, 0x20, RTC_B_24H };
	KEXPECT_EQ(t, rtc_regs_to_unix(&garbage), -1); /* mid-update or absent: refused */
}

static void rtc_decodes_12_hour(struct ktest *t)
{
	/* 4 PM, BCD, 12-hour: hour 0x04 with the PM bit. */
	struct rtc_regs pm = { 0x08, 0x38, 0x84, 0x02, 0x12, 0x26, 0x20, 0 };
	KEXPECT_EQ(t, rtc_regs_to_unix(&pm), T_2026);
	/* 12 AM is midnight, 12 PM is noon. */
	struct rtc_regs midnight = { 0, 0, 0x12, 0x02, 0x12, 0x26, 0x20, 0 };
	struct rtc_regs noon = { 0, 0, 0x92, 0x02, 0x12, 0x26, 0x20, 0 };
	KEXPECT_EQ(t, rtc_regs_to_unix(&midnight), T_2026 - (16 * 3600 + 38 * 60 + 8));
	KEXPECT_EQ(t, rtc_regs_to_unix(&noon), T_2026 - (4 * 3600 + 38 * 60 + 8));
}

static void calendar_arithmetic(struct ktest *t)
{
	KEXPECT_EQ(t, days_from_civil(1970, 1, 1), 0);
	KEXPECT_EQ(t, days_from_civil(2000, 3, 1), 11017); /* after a 400-year leap day */
	KEXPECT_EQ(t, days_from_civil(2100, 3, 1), 47541); /* 2100 is no leap year */
	KEXPECT_EQ(t, days_from_civil(1969, 12, 31), -1);
}

static void realtime_is_wall_plus_monotonic(struct ktest *t)
{
	uint64_t m0 = ktime_get_ns(), r = ktime_get_real_ns(), m1 = ktime_get_ns();
	int64_t off = ktime_real_offset_ns();
	KEXPECT_GE(t, (int64_t)r - off, (int64_t)m0);
	KEXPECT_LE(t, (int64_t)r - off, (int64_t)m1);
	KEXPECT_GT(t, r / NSEC_PER_SEC, 1700000000); /* the RTC was read: after 2023 */
	ktest_log(t, "wall clock: %lu s since the epoch", r / NSEC_PER_SEC);
}

static void cputime_counts_running_not_sleeping(struct ktest *t)
{
	uint64_t w0 = ktime_get_ns(), c0 = thread_cputime_ns(current);
	while (ktime_get_ns() - w0 < 30000000)
		cpu_relax();
	uint64_t ran = thread_cputime_ns(current) - c0;
	KEXPECT_GE(t, ran, 10000000);
	KEXPECT_LE(t, ran, ktime_get_ns() - w0);
	c0 = thread_cputime_ns(current);
	sleep_ms(50);
	KEXPECT_LT(t, thread_cputime_ns(current) - c0, 20000000);
}

struct sleep_ctx {
	struct completion started, done;
	volatile int64_t ret;
	volatile uint64_t slept_ns;
};

static void long_sleeper(void *arg)
{
	struct sleep_ctx *c = arg;
	uint64_t t0 = ktime_get_ns();
	complete(&c->started);
	c->ret = sleep_until_ktime(t0 + 30 * NSEC_PER_SEC);
	c->slept_ns = ktime_get_ns() - t0;
	complete(&c->done);
}

/* A 30 s nanosleep ends at once, with -EINTR, when the thread is killed. */
static void nanosleep_is_killable(struct ktest *t)
{
	static struct sleep_ctx c;
	init_completion(&c.started);
	init_completion(&c.done);
	c.ret = 1;
	struct thread *s = thread_create("sleeper", long_sleeper, &c, CPU_ANY);
	KASSERT_TRUE(t, s != NULL);
	wait_for_completion(&c.started);
	sleep_ms(20); /* asleep by now (a kill before the sleep ends it too) */
	kill_thread(s);
	KEXPECT_TRUE(t, wait_for_completion_timeout(&c.done, 10000));
	KEXPECT_EQ(t, c.ret, -EINTR);
	KEXPECT_LT(t, c.slept_ns, 10 * NSEC_PER_SEC);
}

/* A deadline already past returns 0 at once. */
static void sleep_to_past_deadline_returns(struct ktest *t)
{
	KEXPECT_EQ(t, sleep_until_ktime(1), 0);
	uint64_t t0 = ktime_get_ns();
	KEXPECT_EQ(t, sleep_until_ktime(t0 + 15000000), 0);
	KEXPECT_GE(t, ktime_get_ns() - t0, 15000000); /* never early */
}

KTEST_SUITE(time, KTEST_CASE(rtc_decodes_bcd_and_binary), KTEST_CASE(rtc_decodes_12_hour),
	    KTEST_CASE(calendar_arithmetic), KTEST_CASE(realtime_is_wall_plus_monotonic),
	    KTEST_CASE(cputime_counts_running_not_sleeping), KTEST_CASE(nanosleep_is_killable),
	    KTEST_CASE(sleep_to_past_deadline_returns));
