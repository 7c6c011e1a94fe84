/*
 * tests/ktest.h - the in-kernel test framework.
 *
 * A suite is a table of cases registered with KTEST_SUITE; it lands in the
 * .ktest_suites section, so adding a file is all it takes. Each case runs on
 * a fresh kernel thread with a per-case timeout; results are printed as KTAP
 * version 1 with suites as one nested level. KEXPECT_* records a failure and
 * goes on; KASSERT_* records it and returns from the case. Both print the
 * file, line, expression and values.
 *
 * Cases flagged KTEST_EXPLICIT run only when a filter names them without a
 * wildcard (used for the deliberately failing self-test).
 */
#ifndef TESTS_KTEST_H
#define TESTS_KTEST_H

#include "kernel/compiler.h"
#include "kernel/sched.h"

struct ktest {
	const char *suite, *name;
	int failures;
	bool failures_expected; /* a test of the framework fails this one on purpose */
	bool skipped;
	char skip_reason[96];
};

struct ktest_case {
	const char *name;
	void (*fn)(struct ktest *t);
	unsigned flags;
};
#define KTEST_EXPLICIT 1u

struct ktest_suite {
	const char *name;
	const struct ktest_case *cases;
	size_t nr_cases;
};

#define KTEST_CASE(fn)     \
	{                  \
#fn, fn, 0 \
	}
#define KTEST_CASE_EXPLICIT(fn)         \
	{                               \
#fn, fn, KTEST_EXPLICIT \
	}
#define KTEST_SUITE(sname, ...)                                                                 \
	static const struct ktest_case __ktest_cases_##sname[] = { __VA_ARGS__ };               \
	static const struct ktest_suite __ktest_suite_##sname __used __section(".ktest_suites") \
	    __aligned(8) = { #sname, __ktest_cases_##sname, ARRAY_SIZE(__ktest_cases_##sname) }

void ktest_fail(struct ktest *t, const char *file, int line, const char *fmt, ...) __printf(4, 5);
void ktest_skip(struct ktest *t, const char *reason);
void ktest_log(struct ktest *t, const char *fmt, ...) __printf(2, 3);
int ktest_run_all(const char *filter); /* returns the number of failed cases */
/* Poison errors a test caused on purpose; the leak check allows for them. */
extern uint64_t ktest_expected_poison_errors;
void ktest_list(void);

#define __KCMP(t, a, b, op, ret)                                                                 \
	do {                                                                                     \
		int64_t __a = (int64_t)(a), __b = (int64_t)(b);                                  \
		if (!(__a op __b)) {                                                             \
			ktest_fail(t, __FILE__, __LINE__, "%s %s %s (%ld vs %ld, %#lx vs %#lx)", \
				   #a, #op, #b, __a, __b, __a, __b);                             \
			ret;                                                                     \
		}                                                                                \
	} while (0)

#define KEXPECT_EQ(t, a, b)    __KCMP(t, a, b, ==, (void)0)
#define KEXPECT_NE(t, a, b)    __KCMP(t, a, b, !=, (void)0)
#define KEXPECT_LT(t, a, b)    __KCMP(t, a, b, <, (void)0)
#define KEXPECT_LE(t, a, b)    __KCMP(t, a, b, <=, (void)0)
#define KEXPECT_GT(t, a, b)    __KCMP(t, a, b, >, (void)0)
#define KEXPECT_GE(t, a, b)    __KCMP(t, a, b, >=, (void)0)
#define KASSERT_EQ(t, a, b)    __KCMP(t, a, b, ==, return )
#define KASSERT_NE(t, a, b)    __KCMP(t, a, b, !=, return )
#define KASSERT_GE(t, a, b)    __KCMP(t, a, b, >=, return )
#define KASSERT_GT(t, a, b)    __KCMP(t, a, b, >, return )
#define KEXPECT_TRUE(t, c)     __KCMP(t, !!(c), 1, ==, (void)0)
#define KEXPECT_FALSE(t, c)    __KCMP(t, !!(c), 0, ==, (void)0)
#define KASSERT_TRUE(t, c)     __KCMP(t, !!(c), 1, ==, return )
#define KASSERT_NOT_NULL(t, p) __KCMP(t, (p) != NULL, 1, ==, return )

#define KTEST_SKIP(t, reason)          \
	do {                           \
		ktest_skip(t, reason); \
		return;                \
	} while (0)

/*
 * Run fn(arg) with the exception vectors in `vectors` (bit v = vector v)
 * caught instead of fatal. Returns the vector that fired, or -1 if fn
 * returned normally; *fc gets the details (error code, CR2, RIP).
 * BUG() is ud2: catch vector 6 to expect a kernel BUG.
 */
int ktest_catch_fault(uint32_t vectors, void (*fn)(void *), void *arg, struct fault_catch *fc);
#define VEC_BIT(v) (1u << (v))

/*
 * Stress loops bound themselves by time, not by a fixed amount of work: under
 * emulation the cost of contended work grows with vCPUs per host core.
 *   uint64_t start = ktime_get_ns();
 *   for (uint64_t r = 0; ktest_stress_more(start, r, MIN, MAX); r++) ...
 * runs at least MIN rounds, then goes on while the budget (ktest.stress_ms,
 * default 1000 ms of guest time) lasts, and never more than MAX rounds.
 * It also counts as progress for the runner's watchdog.
 */
bool ktest_stress_more(uint64_t start_ns, uint64_t round, uint64_t min_rounds, uint64_t max_rounds);
uint64_t ktest_stress_budget_ms(void);
/* A long-running case says it is not stuck (the watchdog reports a case
 * with no progress for 10 s, with its threads' backtraces). */
void ktest_progress(void);
/* The per-case timeout (ktest.timeout) in milliseconds. */
uint64_t ktest_case_timeout_ms(void);

/* Wait (bounded) until at most n threads exist: finished ones are reaped. */
void ktest_wait_threads(int n);
/* Run fn(arg) on every online CPU in its own pinned thread; wait for all
 * of them to finish and be reaped. */
void ktest_on_each_cpu_thread(void (*fn)(void *arg, int cpu), void *arg);

#endif
