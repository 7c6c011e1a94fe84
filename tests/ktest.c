/*
 * tests/ktest.c - runs the registered suites and prints KTAP version 1.
 *
 *   KTAP version 1
 *   1..<suites>
 *       KTAP version 1
 *       # Subtest: <suite>
 *       1..<cases>
 *       ok 1 <case>
 *       not ok 2 <case>
 *       ok 3 <case> # SKIP <reason>
 *   ok 1 <suite>
 *   # ktest: P passed, F failed, S skipped
 *   # ktest: done
 *
 * Each case runs on a new thread (CPU_ANY) and the runner waits for it with
 * a timeout (ktest.timeout=S, default 60 s of guest time) and a watchdog
 * (see run_case). After the last suite, the built-in suite "leaks" checks
 * that every page and heap byte the cases took came back and that no freed
 * page or object was written to.
 *
 * Every verdict is honest: a filter glob that selects no case, a filter too
 * long to hold, a truncated command line or an empty selection print
 * `# ktest: error: ...` and fail the run (ktest_run_all returns -1).
 * Diagnostics a test provokes on purpose are marked as such: BUG reports
 * inside ktest_catch_fault(VEC_BIT(6)) or bug_expect_begin/end print
 * "BUG (expected):", failures of a struct ktest with failures_expected print
 * "expected failure"; any plain "BUG:" in the log is a real one.
 */
#include "tests/ktest.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "kernel/cmdline.h"
#include "kernel/stats.h"
#include "kernel/smp.h"
#include "mm/page.h"
#include "mm/kmalloc.h"
#include "mm/vmalloc.h"
#include "kernel/fs/fs.h"
#include "kernel/panic.h"

extern const struct ktest_suite __ktest_suites_start[], __ktest_suites_end[];

/* The filter: up to MAX_FILTERS comma-separated globs. A longer one is an
 * error, never silently cut. */
#define MAX_FILTERS    64
#define MAX_FILTER_LEN 1024
static const char *filters[MAX_FILTERS];
static int nr_filters;
static char filter_buf[MAX_FILTER_LEN];

/* Returns 0, or -1 after printing why the filter cannot be used. */
static int parse_filter(const char *f)
{
	nr_filters = 0;
	if (!f || !*f)
		return 0;
	if (strlen(f) >= sizeof(filter_buf)) {
		printk("# ktest: error: filter of %lu bytes is longer than %d\n", strlen(f),
		       MAX_FILTER_LEN - 1);
		return -1;
	}
	strlcpy(filter_buf, f, sizeof(filter_buf));
	for (char *p = filter_buf;;) {
		if (nr_filters == MAX_FILTERS) {
			printk("# ktest: error: filter has more than %d globs\n", MAX_FILTERS);
			return -1;
		}
		filters[nr_filters++] = p;
		char *comma = strchr(p, ',');
		if (!comma)
			break;
		*comma = 0;
		p = comma + 1;
	}
	for (int i = 0; i < nr_filters; i++) {
		if (!*filters[i]) {
			printk("# ktest: error: empty glob in filter '%s'\n", f);
			return -1;
		}
	}
	return 0;
}

static bool has_wildcard(const char *s)
{
	return strchr(s, '*') || strchr(s, '?');
}

static bool glob_selects(const char *glob, const struct ktest_suite *s, const struct ktest_case *c)
{
	char full[96];
	snprintf(full, sizeof(full), "%s.%s", s->name, c->name);
	return glob_match(glob, full) && (!(c->flags & KTEST_EXPLICIT) || !has_wildcard(glob));
}

static bool selected(const struct ktest_suite *s, const struct ktest_case *c)
{
	if (nr_filters == 0)
		return !(c->flags & KTEST_EXPLICIT);
	for (int i = 0; i < nr_filters; i++)
		if (glob_selects(filters[i], s, c))
			return true;
	return false;
}

void ktest_fail(struct ktest *t, const char *file, int line, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (t->failures_expected)
		printk("    # %s: expected failure (provoked on purpose) at %s:%d: %s\n", t->name,
		       file, line, buf);
	else
		printk("    # %s: EXPECTATION FAILED at %s:%d: %s\n", t->name, file, line, buf);
	__atomic_add_fetch(&t->failures, 1, __ATOMIC_SEQ_CST);
}

void ktest_skip(struct ktest *t, const char *reason)
{
	t->skipped = true;
	strlcpy(t->skip_reason, reason, sizeof(t->skip_reason));
}

void ktest_log(struct ktest *t, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printk("    # %s: %s\n", t->name, buf);
}

int ktest_catch_fault(uint32_t vectors, void (*fn)(void *), void *arg, struct fault_catch *fc)
{
	struct thread *self = current;
	bool bug = vectors & VEC_BIT(6); /* BUG() is ud2: its report is expected */
	fc->vectors = vectors;
	fc->vector = -1;
	if (bug)
		bug_expect_begin();
	if (ksetjmp(&fc->jb) == 0) {
		self->fault_catch = fc;
		fn(arg);
		self->fault_catch = NULL;
		if (bug)
			bug_expect_end();
		return -1;
	}
	/* Resumed by the trap handler (which disarmed the catch). */
	if (bug)
		bug_expect_end();
	return fc->vector;
}

/* ---- time ---------------------------------------------------------------- */

static uint64_t case_timeout_ms; /* ktest.timeout (s): a case that takes longer fails */
static uint64_t stress_ms;	 /* ktest.stress_ms: how long a stress loop runs */
static uint64_t progress_count;	 /* bumped by ktest_progress() */

#define WATCHDOG_MS  10000 /* no progress this long: say what the case is doing */
#define SLOW_CASE_MS 3000  /* a case this slow says how long it took */

void ktest_progress(void)
{
	__atomic_add_fetch(&progress_count, 1, __ATOMIC_RELAXED);
}

bool ktest_stress_more(uint64_t start_ns, uint64_t round, uint64_t min_rounds, uint64_t max_rounds)
{
	ktest_progress();
	if (round < min_rounds)
		return true;
	return round < max_rounds && ktime_get_ns() - start_ns < stress_ms * 1000000ull;
}

uint64_t ktest_case_timeout_ms(void)
{
	return case_timeout_ms;
}

uint64_t ktest_stress_budget_ms(void)
{
	return stress_ms;
}

/* ---- running a case -------------------------------------------------------- */

/*
 * Each case runs on a thread of its own. The runner waits for it with a
 * timeout; on the way a watchdog prints what the case's threads are doing
 * when nothing has called ktest_progress() for WATCHDOG_MS. A case that times
 * out fails, and the runner goes on waiting for it (up to another timeout)
 * before the next case starts: a kernel thread that may hold a lock cannot be
 * killed safely, and one still running would skew every later case and the
 * leak check. The same holds for threads a case leaves behind. If the case
 * never finishes, the run stops there: the remaining cases are reported as
 * not run and the run fails.
 */
struct case_run {
	struct ktest t;
	const struct ktest_case *c;
	struct completion done;
};

static void case_thread(void *arg)
{
	struct case_run *r = arg;
	r->c->fn(&r->t);
	complete(&r->done);
}

struct cpu_thread_run {
	void (*fn)(void *, int);
	void *arg;
	int cpu;
	struct completion done;
};

static void cpu_thread(void *arg)
{
	struct cpu_thread_run *r = arg;
	r->fn(r->arg, r->cpu);
	complete(&r->done);
}

void ktest_on_each_cpu_thread(void (*fn)(void *arg, int cpu), void *arg)
{
	static struct cpu_thread_run runs[NR_CPUS];
	int threads = sched_thread_count();
	for_each_online_cpu (i) {
		runs[i].fn = fn;
		runs[i].arg = arg;
		runs[i].cpu = i;
		init_completion(&runs[i].done);
		thread_create("ktest-cpu", cpu_thread, &runs[i], i);
	}
	for_each_online_cpu (i)
		wait_for_completion(&runs[i].done);
	ktest_wait_threads(threads);
}

struct totals {
	int passed, failed, skipped;
};

static int base_threads; /* threads alive when the run started */

/* Finished threads are freed asynchronously by the idle threads: wait until
 * only `n` are left, so page and heap counts are exact. Bounded (10 s), and
 * generous: with many vCPUs per host core an idle thread runs rarely. */
void ktest_wait_threads(int n)
{
	for (int i = 0; i < 2000 && sched_thread_count() > n; i++)
		sleep_ms(5);
}

/* Wait (up to ms) until at most n threads are left; true if they are. */
static bool wait_threads_ms(int n, uint64_t ms)
{
	uint64_t deadline = ktime_get_ns() + ms * 1000000ull;
	while (sched_thread_count() > n) {
		if (ktime_get_ns() >= deadline)
			return false;
		sleep_ms(5);
	}
	return true;
}

static uint64_t now_ms(void)
{
	return ktime_get_ns() / 1000000ull;
}

enum case_end { CASE_DONE, CASE_TIMED_OUT, CASE_STUCK };

/* Wait for the case with the watchdog; returns how it ended. */
static enum case_end wait_case(struct case_run *r, int first_tid)
{
	uint64_t start = now_ms(), last_progress_at = start;
	uint64_t seen = READ_ONCE(progress_count);
	bool reported = false;
	for (;;) {
		uint64_t elapsed = now_ms() - start;
		if (elapsed >= case_timeout_ms)
			break;
		uint64_t slice = MIN(case_timeout_ms - elapsed, (uint64_t)1000);
		if (wait_for_completion_timeout(&r->done, slice))
			return CASE_DONE;
		uint64_t p = READ_ONCE(progress_count);
		if (p != seen) {
			seen = p;
			last_progress_at = now_ms();
		} else if (!reported && now_ms() - last_progress_at >= WATCHDOG_MS) {
			reported = true;
			printk("    # %s: watchdog: no progress for %lu s; its threads:\n",
			       r->t.name, (now_ms() - last_progress_at) / 1000);
			sched_dump_stacks(first_tid);
		}
	}
	printk("    # %s: timed out after %lu s (ktest.timeout); its threads:\n", r->t.name,
	       case_timeout_ms / 1000);
	sched_dump_stacks(first_tid);
	/* It cannot be killed: give it as long again to finish. */
	if (wait_for_completion_timeout(&r->done, case_timeout_ms)) {
		printk("    # %s: finished %lu s after it was started\n", r->t.name,
		       (now_ms() - start) / 1000);
		return CASE_TIMED_OUT;
	}
	printk("    # %s: still running after %lu s\n", r->t.name, (now_ms() - start) / 1000);
	return CASE_STUCK;
}

/* The threads a case started must be gone before the next case. */
static enum case_end wait_case_threads(struct case_run *r, int first_tid)
{
	if (wait_threads_ms(base_threads, case_timeout_ms))
		return CASE_DONE;
	printk("    # %s: left %d threads running:\n", r->t.name,
	       sched_thread_count() - base_threads);
	sched_dump_stacks(first_tid);
	if (wait_threads_ms(base_threads, case_timeout_ms))
		return CASE_TIMED_OUT;
	return CASE_STUCK;
}

/* Runs one case and prints its result line; returns CASE_STUCK if the run
 * cannot go on. */
static enum case_end run_case(const struct ktest_suite *s, const struct ktest_case *c, int n,
			      struct totals *tot, bool inline_run)
{
	/* The leak check runs inline, with nothing of its own on the heap. */
	struct case_run inline_r = { 0 };
	struct case_run *r = inline_run ? &inline_r : kzalloc(sizeof(*r));
	if (!r) {
		printk("    not ok %d %s # no memory for the case\n", n, c->name);
		tot->failed++;
		return CASE_DONE;
	}
	r->t.suite = s->name;
	r->t.name = c->name;
	r->c = c;
	init_completion(&r->done);
	ktest_wait_threads(base_threads);
	int first_tid = sched_next_tid();
	uint64_t start = now_ms();
	enum case_end end = CASE_DONE;
	if (inline_run)
		case_thread(r);
	else if (!thread_create(c->name, case_thread, r, CPU_ANY)) {
		printk("    not ok %d %s # cannot create the test thread\n", n, c->name);
		tot->failed++;
		kfree(r);
		return CASE_DONE;
	} else {
		end = wait_case(r, first_tid);
		if (end == CASE_DONE)
			end = wait_case_threads(r, first_tid);
		else if (end == CASE_TIMED_OUT && wait_case_threads(r, first_tid) == CASE_STUCK)
			end = CASE_STUCK;
	}
	uint64_t took = now_ms() - start;
	if (took >= SLOW_CASE_MS) /* where the time goes, for whoever tunes the suite */
		printk("    # %s: took %lu.%lu s\n", c->name, took / 1000, took % 1000 / 100);
	bool failed = end != CASE_DONE || r->t.failures;
	if (failed) {
		printk("    not ok %d %s\n", n, c->name);
		tot->failed++;
	} else if (r->t.skipped) {
		printk("    ok %d %s # SKIP %s\n", n, c->name, r->t.skip_reason);
		tot->skipped++;
	} else {
		printk("    ok %d %s\n", n, c->name);
		tot->passed++;
	}
	if (end != CASE_STUCK && !inline_run)
		kfree(r); /* a stuck case may still use it: leave it */
	return end;
}

static int count_selected(const struct ktest_suite *s)
{
	int n = 0;
	for (size_t i = 0; i < s->nr_cases; i++)
		n += selected(s, &s->cases[i]);
	return n;
}

/* The built-in leak check, run after every other suite. */
uint64_t ktest_expected_poison_errors;
static uint64_t start_free, start_heap, start_poison, start_kept;
#define start_threads base_threads

/* Pages the kernel keeps for good once allocated: heap slabs, kernel page
 * tables, kernel stacks. */
uint64_t ktest_kept_pages(void)
{
	return kmalloc_slab_pages() + kernel_pagetable_pages + sched_stack_pages_kept();
}
#define kept_pages ktest_kept_pages

/* Runs inline in the runner thread, after every test thread is gone. */
static void leaks_pages(struct ktest *t)
{
	fs_drop_caches(); /* cached file pages and inodes are not leaks */
	KEXPECT_EQ(t, sched_thread_count(), start_threads);
	KEXPECT_EQ(t, kmalloc_bytes_in_use(), start_heap);
	KEXPECT_EQ(t, nr_free_pages() + (kept_pages() - start_kept), start_free);
}

static void leaks_poison(struct ktest *t)
{
	KEXPECT_EQ(t, event_sum(EV_POISON_BAD) - start_poison, ktest_expected_poison_errors);
}

static const struct ktest_case leak_cases[] = {
	{ "no_leaked_pages", leaks_pages, 0 },
	{ "no_use_after_free", leaks_poison, 0 },
};
static const struct ktest_suite leak_suite = { "leaks", leak_cases, ARRAY_SIZE(leak_cases) };

#define for_each_suite(s)                                                   \
	for (const struct ktest_suite *s = __ktest_suites_start; s != NULL; \
	     s = s == &leak_suite	       ? NULL                       \
		 : s + 1 == __ktest_suites_end ? &leak_suite                \
					       : s + 1)

/* Every glob must select a case of its own: a typo must not pass quietly. */
static int check_filter_matches(void)
{
	int bad = 0;
	for (int i = 0; i < nr_filters; i++) {
		bool any = false;
		for_each_suite(s) for (size_t k = 0; k < s->nr_cases && !any; k++) any =
		    glob_selects(filters[i], s, &s->cases[k]);
		if (!any) {
			printk("# ktest: error: filter '%s' selects no test case\n", filters[i]);
			bad++;
		}
	}
	return bad ? -1 : 0;
}

/* The run could not start: a KTAP stream with no test, and the reason. */
static int run_error(void)
{
	printk("KTAP version 1\n1..0\n# ktest: 0 passed, 1 failed, 0 skipped\n# ktest: done\n");
	return -1;
}

int ktest_run_all(const char *filter)
{
	if (parse_filter(filter) < 0 || check_filter_matches() < 0)
		return run_error();
	if (cmdline_truncated()) {
		printk("# ktest: error: the kernel command line was truncated\n");
		return run_error();
	}
	case_timeout_ms = cmdline_ulong("ktest.timeout", 60) * 1000;
	stress_ms = cmdline_ulong("ktest.stress_ms", 1000);
	int nr_suites = 0, nr_cases = 0;
	for_each_suite(s)
	{
		int n = s == &leak_suite ? (int)s->nr_cases : count_selected(s);
		nr_suites += n > 0;
		if (s != &leak_suite)
			nr_cases += n;
	}
	if (nr_cases == 0) {
		printk("# ktest: error: no test case selected\n");
		return run_error();
	}

	fs_drop_caches();
	start_threads = sched_thread_count();
	start_free = nr_free_pages();
	start_heap = kmalloc_bytes_in_use();
	start_poison = event_sum(EV_POISON_BAD);
	ktest_expected_poison_errors = 0;
	start_kept = kept_pages();

	struct totals tot = { 0, 0, 0 };
	bool stuck = false;
	printk("KTAP version 1\n1..%d\n", nr_suites);
	int suite_no = 0;
	for_each_suite(s)
	{
		bool leaks = s == &leak_suite;
		int n = leaks ? (int)s->nr_cases : count_selected(s);
		if (n == 0)
			continue;
		int failed = 0, skipped_before = tot.skipped, k = 0;
		printk("    KTAP version 1\n    # Subtest: %s\n    1..%d\n", s->name, n);
		for (size_t i = 0; i < s->nr_cases; i++) {
			if (!leaks && !selected(s, &s->cases[i]))
				continue;
			if (stuck) {
				printk(
				    "    ok %d %s # SKIP not run: an earlier case never finished\n",
				    ++k, s->cases[i].name);
				tot.skipped++;
				continue;
			}
			int before = tot.failed;
			stuck = run_case(s, &s->cases[i], ++k, &tot, leaks) == CASE_STUCK;
			failed += tot.failed - before;
		}
		bool all_skipped = tot.skipped - skipped_before == n;
		printk("%s %d %s%s\n", failed ? "not ok" : "ok", ++suite_no, s->name,
		       all_skipped ? " # SKIP all cases skipped" : "");
	}
	if (stuck)
		printk("# ktest: error: a case never finished; the cases after it were not run\n");
	printk("# ktest: %d passed, %d failed, %d skipped\n# ktest: done\n", tot.passed, tot.failed,
	       tot.skipped);
	return tot.failed;
}

void ktest_list(void)
{
	for (const struct ktest_suite *s = __ktest_suites_start; s < __ktest_suites_end; s++) {
		printk("%s:", s->name);
		for (size_t i = 0; i < s->nr_cases; i++)
			printk(" %s%s", s->cases[i].name,
			       s->cases[i].flags & KTEST_EXPLICIT ? "(explicit)" : "");
		printk("\n");
	}
}
