/* tests/ktest_mm.c - helpers for tests and benchmarks inside address spaces. */
#include "tests/ktest_mm.h"

int ktest_other_cpu(int from, int i)
{
	int c = from;
	while (i > 0) {
		c = (c + 1) % nr_cpus;
		if (cpus[c].online)
			i--;
	}
	return c;
}

static void live_worker_fn(void *arg)
{
	struct live_worker *w = arg;
	use_mm(w->mm);
	uint64_t v;
	while (!w->stop) {
		get_user_u64(&v, w->addr);
		w->running = true;
		cpu_relax();
	}
	unuse_mm(w->mm);
	complete(&w->done);
}

int start_live_workers(struct live_worker *w, int n, struct mm *mm, uint64_t addr)
{
	n = MIN(n, nr_cpus_online - 1);
	for (int i = 0; i < n; i++) {
		w[i].mm = mm;
		w[i].addr = addr;
		w[i].stop = w[i].running = false;
		init_completion(&w[i].done);
		thread_create("live", live_worker_fn, &w[i], ktest_other_cpu(cpu_id(), i + 1));
	}
	for (int i = 0; i < n; i++)
		while (!w[i].running)
			sleep_ms(1);
	return n;
}

void stop_live_workers(struct live_worker *w, int n)
{
	for (int i = 0; i < n; i++)
		w[i].stop = true;
	for (int i = 0; i < n; i++)
		wait_for_completion(&w[i].done);
}

struct in_mm_run {
	struct mm *mm;
	void (*fn)(void *);
	void *arg;
	struct completion done;
};

static void in_mm_thread(void *p)
{
	struct in_mm_run *r = p;
	use_mm(r->mm);
	r->fn(r->arg);
	unuse_mm(r->mm);
	complete(&r->done);
}

void ktest_run_in_mm(struct mm *mm, int cpu, void (*fn)(void *), void *arg)
{
	struct in_mm_run r = { .mm = mm, .fn = fn, .arg = arg };
	int threads = sched_thread_count();
	init_completion(&r.done);
	thread_create("in-mm", in_mm_thread, &r, cpu);
	wait_for_completion(&r.done);
	ktest_wait_threads(threads); /* its stack is freed: page counts stay exact */
	ktest_progress();	     /* for the watchdog: cases made of many of these */
}

struct access {
	uint64_t addr, val;
	bool write;
	int ret;
};

static void do_access(void *p)
{
	struct access *a = p;
	a->ret = a->write ? put_user_u64(a->addr, a->val) : get_user_u64(&a->val, a->addr);
}

int ktest_peek(struct mm *mm, int cpu, uint64_t addr, uint64_t *val)
{
	struct access a = { .addr = addr };
	ktest_run_in_mm(mm, cpu, do_access, &a);
	*val = a.val;
	return a.ret;
}

int ktest_poke(struct mm *mm, int cpu, uint64_t addr, uint64_t val)
{
	struct access a = { .addr = addr, .val = val, .write = true };
	ktest_run_in_mm(mm, cpu, do_access, &a);
	return a.ret;
}
