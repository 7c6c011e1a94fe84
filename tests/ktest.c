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
 * a timeout (ktest.timeout=S, default 60 s of guest time). A case that
 * times out is reported as failed and abandoned. After the last suite, the
 * built-in suite "leaks" checks that every page and heap byte the cases
 * took came back and that no freed page or object was written to.
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

extern const struct ktest_suite __ktest_suites_start[], __ktest_suites_end[];

static const char *filters[16];
static int nr_filters;
static char filter_buf[256];

static void parse_filter(const char *f)
{
	nr_filters = 0;
	if (!f || !*f)
		return;
	strlcpy(filter_buf, f, sizeof(filter_buf));
	char *p = filter_buf;
	while (*p && nr_filters < (int)ARRAY_SIZE(filters)) {
		filters[nr_filters++] = p;
		char *comma = strchr(p, ',');
		if (!comma)
			break;
		*comma = 0;
		p = comma + 1;
	}
}

static bool has_wildcard(const char *s)
{
	return strchr(s, '*') || strchr(s, '?');
}

static bool selected(const struct ktest_suite *s, const struct ktest_case *c)
{
	char full[96];
	snprintf(full, sizeof(full), "%s.%s", s->name, c->name);
	if (nr_filters == 0)
		return !(c->flags & KTEST_EXPLICIT);
	for (int i = 0; i < nr_filters; i++) {
		if (!glob_match(filters[i], full))
			continue;
		if (!(c->flags & KTEST_EXPLICIT) || !has_wildcard(filters[i]))
			return true;
	}
	return false;
}

void ktest_fail(struct ktest *t, const char *file, int line, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
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
	fc->vectors = vectors;
	fc->vector = -1;
	if (ksetjmp(&fc->jb) == 0) {
		self->fault_catch = fc;
		fn(arg);
		self->fault_catch = NULL;
		return -1;
	}
	/* Resumed by the trap handler (which disarmed the catch). */
	return fc->vector;
}

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
 * only `n` are left, so page and heap counts are exact (bounded wait). */
void ktest_wait_threads(int n)
{
	for (int i = 0; i < 500 && sched_thread_count() > n; i++)
		sleep_ms(2);
}

/* Returns 1 if the case failed. */
static int run_case(const struct ktest_suite *s, const struct ktest_case *c, int n,
		    uint64_t timeout_ms, struct totals *tot, bool inline_run)
{
	static struct case_run r; /* static: a timed-out case may still use it */
	memset(&r, 0, sizeof(r));
	r.t.suite = s->name;
	r.t.name = c->name;
	r.c = c;
	init_completion(&r.done);
	ktest_wait_threads(base_threads);
	if (inline_run)
		case_thread(&r);
	else if (!thread_create(c->name, case_thread, &r, CPU_ANY)) {
		printk("    not ok %d %s # cannot create the test thread\n", n, c->name);
		tot->failed++;
		return 1;
	}
	if (!wait_for_completion_timeout(&r.done, timeout_ms)) {
		printk("    # %s: timed out after %lu s\n", c->name, timeout_ms / 1000);
		base_threads++; /* abandoned: it may never finish */
		sched_dump();
		printk("    not ok %d %s\n", n, c->name);
		tot->failed++;
		return 1;
	}
	if (r.t.failures) {
		printk("    not ok %d %s\n", n, c->name);
		tot->failed++;
		return 1;
	}
	if (r.t.skipped) {
		printk("    ok %d %s # SKIP %s\n", n, c->name, r.t.skip_reason);
		tot->skipped++;
		return 0;
	}
	printk("    ok %d %s\n", n, c->name);
	tot->passed++;
	return 0;
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

/* Pages the kernel keeps for good once allocated: heap slabs, kernel page tables. */
uint64_t ktest_kept_pages(void)
{
	return kmalloc_slab_pages() + kernel_pagetable_pages;
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

int ktest_run_all(const char *filter)
{
	parse_filter(filter);
	uint64_t timeout_ms = cmdline_ulong("ktest.timeout", 60) * 1000;
	const struct ktest_suite *first = __ktest_suites_start, *end = __ktest_suites_end;
	int nr_suites = 1;
	for (const struct ktest_suite *s = first; s < end; s++)
		nr_suites += count_selected(s) > 0;

	fs_drop_caches();
	start_threads = sched_thread_count();
	start_free = nr_free_pages();
	start_heap = kmalloc_bytes_in_use();
	start_poison = event_sum(EV_POISON_BAD);
	ktest_expected_poison_errors = 0;
	start_kept = kept_pages();

	struct totals tot = { 0, 0, 0 };
	printk("KTAP version 1\n1..%d\n", nr_suites);
	int suite_no = 0;
	for (const struct ktest_suite *s = first;; s++) {
		if (s == end)
			s = &leak_suite;
		int n = s == &leak_suite ? (int)s->nr_cases : count_selected(s);
		if (n > 0) {
			int failed = 0, skipped_before = tot.skipped, k = 0;
			printk("    KTAP version 1\n    # Subtest: %s\n    1..%d\n", s->name, n);
			for (size_t i = 0; i < s->nr_cases; i++)
				if (s == &leak_suite || selected(s, &s->cases[i]))
					failed += run_case(s, &s->cases[i], ++k, timeout_ms, &tot,
							   s == &leak_suite);
			bool all_skipped = tot.skipped - skipped_before == n;
			printk("%s %d %s%s\n", failed ? "not ok" : "ok", ++suite_no, s->name,
			       all_skipped ? " # SKIP all cases skipped" : "");
		}
		if (s == &leak_suite)
			break;
	}
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
