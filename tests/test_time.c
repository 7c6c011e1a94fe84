/*
 * tests/test_time.c - the wall clock and the CPU-time clock in the kernel:
 * the CMOS RTC's registers decoded in BCD and binary, 12- and 24-hour
 * modes (synthetic registers, so every encoding is covered whatever the
 * machine's chip uses), the calendar arithmetic, CLOCK_REALTIME = boot
 * wall time + monotonic, and a thread's CPU time that grows while it runs
 * and not while it sleeps.
 */
#include "tests/ktest.h"
#include "kernel/sys_time.h"
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

KTEST_SUITE(time, KTEST_CASE(rtc_decodes_bcd_and_binary), KTEST_CASE(rtc_decodes_12_hour),
	    KTEST_CASE(calendar_arithmetic), KTEST_CASE(realtime_is_wall_plus_monotonic),
	    KTEST_CASE(cputime_counts_running_not_sleeping));
