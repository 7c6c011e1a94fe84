/*
 * tests/test_ktest.c - the framework itself. deliberate_failure runs only
 * when named on the command line (ktest.filter=ktest.deliberate_failure):
 * it shows that a failing case makes `make test` fail and names the case.
 */
#include "tests/ktest.h"

static void deliberate_failure(struct ktest *t)
{
	int answer = 41;
	KEXPECT_EQ(t, answer, 42);
}

static void expectations_count(struct ktest *t)
{
	struct ktest inner = { .suite = "inner", .name = "inner", .failures_expected = true };
	KEXPECT_EQ(&inner, 1, 2); /* prints a diagnostic for the inner case */
	KEXPECT_EQ(&inner, 3, 3);
	KEXPECT_EQ(t, inner.failures, 1);
}

static void nothing(void *arg)
{
	*(int *)arg = 7;
}

static void no_fault_returns_minus_one(struct ktest *t)
{
	struct fault_catch fc;
	int x = 0;
	KEXPECT_EQ(t, ktest_catch_fault(~0u, nothing, &x, &fc), -1);
	KEXPECT_EQ(t, x, 7);
	KEXPECT_EQ(t, current->fault_catch, NULL);
}

/* Outlives its timeout, with a helper thread that outlives it further: the
 * runner must fail it, say what its threads were doing, wait for both, and
 * leave the rest of the run unaffected (run it with a short ktest.timeout). */
static void late_helper(void *arg) /* busy: its backtrace comes by NMI */
{
	uint64_t end = ktime_get_ns() + ktest_case_timeout_ms() * 1500000ull;
	while (ktime_get_ns() < end)
		cpu_relax();
}

static void deliberate_timeout(struct ktest *t)
{
	thread_create("late-helper", late_helper, NULL, CPU_ANY);
	sleep_ms(ktest_case_timeout_ms() + ktest_case_timeout_ms() / 4);
}

KTEST_SUITE(ktest, KTEST_CASE(expectations_count), KTEST_CASE(no_fault_returns_minus_one),
	    KTEST_CASE_EXPLICIT(deliberate_failure), KTEST_CASE_EXPLICIT(deliberate_timeout));
