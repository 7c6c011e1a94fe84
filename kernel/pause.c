/* kernel/pause.c - see kernel/pause.h. */
#include "kernel/pause.h"
#include "kernel/sched.h"
#include "kernel/atomic.h"

struct pause_point_state pause_points[NR_PAUSE_POINTS];

void __pause_point(enum pause_id id, const void *obj)
{
	struct pause_point_state *p = &pause_points[id];
	if (p->obj && p->obj != obj)
		return;
	/* Only the first CPU to arrive pauses. */
	if (__atomic_exchange_n(&p->armed, 0, __ATOMIC_SEQ_CST) == 0)
		return;
	p->reached_cpu = cpu_id();
	smp_store_release(&p->reached, 1);
	while (!smp_load_acquire(&p->released))
		cpu_relax();
}

void pause_arm(enum pause_id id, const void *obj)
{
	struct pause_point_state *p = &pause_points[id];
	p->obj = obj;
	p->reached = 0;
	p->released = 0;
	smp_store_release(&p->armed, 1);
}

bool pause_wait_reached(enum pause_id id, uint64_t ms)
{
	uint64_t deadline = ktime_get_ns() + ms * 1000000ull;
	while (!smp_load_acquire(&pause_points[id].reached)) {
		if (ktime_get_ns() > deadline)
			return false;
		sleep_ms(1);
	}
	return true;
}

void pause_release(enum pause_id id)
{
	struct pause_point_state *p = &pause_points[id];
	p->armed = 0;
	smp_store_release(&p->released, 1);
}
