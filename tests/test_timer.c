/*
 * tests/test_timer.c - the LAPIC timer ticks on every CPU, the clock is
 * monotonic on every CPU, and sleeps last at least as long as asked.
 * (No test asserts an upper bound on time: TCG timing varies.)
 */
#include "tests/ktest.h"
#include "kernel/smp.h"

static void ticks_advance_on_every_cpu(struct ktest *t)
{
	uint64_t before[NR_CPUS];
	for (int i = 0; i < nr_cpus; i++)
		before[i] = READ_ONCE(cpus[i].ticks);
	sleep_ms(200); /* 20 ticks at 100 Hz */
	for_each_online_cpu (i)
		KEXPECT_GT(t, READ_ONCE(cpus[i].ticks), before[i]);
}

static void sleep_lasts_long_enough(struct ktest *t)
{
	for (int ms = 1; ms <= 64; ms *= 4) {
		uint64_t t0 = ktime_get_ns();
		sleep_ms(ms);
		KEXPECT_GE(t, ktime_get_ns() - t0, (uint64_t)ms * 1000000);
	}
}

static volatile uint64_t stamps[NR_CPUS];
static void stamp(void *arg)
{
	stamps[cpu_id()] = ktime_get_ns();
}

static void clock_monotonic_across_cpus(struct ktest *t)
{
	uint64_t t0 = ktime_get_ns();
	on_each_cpu(stamp, NULL, true);
	uint64_t t1 = ktime_get_ns();
	for_each_online_cpu (i) {
		KEXPECT_GE(t, stamps[i], t0 - 1000000); /* TSCs agree within 1 ms */
		KEXPECT_LE(t, stamps[i], t1 + 1000000);
	}
	uint64_t prev = ktime_get_ns();
	for (int i = 0; i < 1000; i++) {
		uint64_t now = ktime_get_ns();
		KASSERT_GE(t, now, prev);
		prev = now;
	}
}

KTEST_SUITE(timer, KTEST_CASE(ticks_advance_on_every_cpu), KTEST_CASE(sleep_lasts_long_enough),
	    KTEST_CASE(clock_monotonic_across_cpus));
