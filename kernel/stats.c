/* kernel/stats.c - per-CPU event counters (see kernel/stats.h). */
#include "kernel/stats.h"
#include "kernel/percpu.h"

const char *const event_names[NR_EVENTS] = {
#define X(e, s) s,
	FOR_EACH_EVENT(X)
#undef X
};

void count_events(enum event e, uint64_t n)
{
	__atomic_fetch_add(&this_cpu()->events[e], n, __ATOMIC_RELAXED);
}

void count_event(enum event e)
{
	count_events(e, 1);
}

uint64_t event_cpu(int cpu, enum event e)
{
	return __atomic_load_n(&cpus[cpu].events[e], __ATOMIC_RELAXED);
}

uint64_t event_sum(enum event e)
{
	uint64_t s = 0;
	for (int i = 0; i < nr_cpus; i++)
		s += event_cpu(i, e);
	return s;
}
