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
