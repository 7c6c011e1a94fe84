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
	if (__atomic_fetch_sub(&p->skip, 1, __ATOMIC_SEQ_CST) > 0)
		return;
	/* Only the first CPU to arrive pauses. */
	if (__atomic_exchange_n(&p->armed, 0, __ATOMIC_SEQ_CST) == 0)
		return;
	uint64_t seen = p->watch ? *p->watch : 0;
	uint64_t deadline = p->timeout_ns ? ktime_get_ns() + p->timeout_ns : 0;
	p->reached_cpu = cpu_id();
	smp_store_release(&p->reached, 1);
	while (!smp_load_acquire(&p->released)) {
		if (p->watch && *p->watch != seen)
			break;
		if (deadline && ktime_get_ns() > deadline)
			break;
		cpu_relax();
	}
	p->resumed_ns = ktime_get_ns();
}

void pause_arm(enum pause_id id, const void *obj)
{
	pause_arm_after(id, obj, 0);
}

void pause_arm_after(enum pause_id id, const void *obj, int n)
{
	struct pause_point_state *p = &pause_points[id];
	p->watch = NULL;
	p->timeout_ns = 0;
	p->obj = obj;
	p->skip = n;
	p->reached = 0;
	p->released = 0;
	smp_store_release(&p->armed, 1);
}

void pause_arm_until(enum pause_id id, const void *obj, const volatile uint64_t *watch,
		     uint64_t timeout_ms)
{
	struct pause_point_state *p = &pause_points[id];
	p->watch = watch;
	p->timeout_ns = timeout_ms * 1000000ull;
	p->obj = obj;
	p->skip = 0;
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
