/* kernel/pause.c - see kernel/pause.h. */
#include "kernel/pause.h"
#include "kernel/sched.h"
#include "kernel/atomic.h"
#include "kernel/cmdline.h"
#include "kernel/printk.h"
#include "kernel/string.h"

struct pause_point_state pause_points[NR_PAUSE_POINTS];

static const char *const pause_names[NR_PAUSE_POINTS] = {
	[PAUSE_TLB_FLUSH] = "tlb_flush",       [PAUSE_TLB_FREE_TABLES] = "tlb_free_tables",
	[PAUSE_FORK_COPY] = "fork_copy",       [PAUSE_FORK_WRPROTECT] = "fork_wrprotect",
	[PAUSE_GUP_FAST_REF] = "gup_fast_ref", [PAUSE_GUP_FAST_WALK] = "gup_fast_walk",
	[PAUSE_DIO_PINNED] = "dio_pinned",     [PAUSE_TRUNC_UNMAPPED] = "trunc_unmapped",
	[PAUSE_FILE_FAULT] = "file_fault",     [PAUSE_DIO_WRITE] = "dio_write",
	[PAUSE_CLEAN_FOR_IO] = "clean_for_io", [PAUSE_SWITCH_MM] = "switch_mm",
	[PAUSE_SPLIT_VMA] = "split_vma",       [PAUSE_FUTEX_WAIT_SETUP] = "futex_wait_setup",
	[PAUSE_MREMAP_MOVED] = "mremap_moved", [PAUSE_EXIT_THREAD] = "exit_thread",
	[PAUSE_STOP_RECHECK] = "stop_recheck", [PAUSE_WAKE_KICK] = "wake_kick",
};

const char *pause_name(enum pause_id id)
{
	return (unsigned)id < NR_PAUSE_POINTS && pause_names[id] ? pause_names[id] : "?";
}

/* pause.delay=NAME:US,...: an unknown name or a bad number is reported and
 * ignored (a typo must not silently leave a race test without its window:
 * the line says so in the log). */
void pause_init_delays(void)
{
	const char *s = cmdline_get("pause.delay");
	while (s && *s) {
		const char *colon = strchr(s, ':'), *end = strchr(s, ',');
		if (!end)
			end = s + strlen(s);
		int id = -1;
		for (int i = 0; colon && colon < end && i < NR_PAUSE_POINTS; i++)
			if (pause_names[i] && strlen(pause_names[i]) == (size_t)(colon - s) &&
			    !memcmp(s, pause_names[i], (size_t)(colon - s)))
				id = i;
		uint64_t us = 0;
		const char *d = colon ? colon + 1 : end;
		for (; d < end && *d >= '0' && *d <= '9' && us < 10000000; d++)
			us = us * 10 + (uint64_t)(*d - '0');
		if (id < 0 || d != end || !colon || colon + 1 == end || us > 1000000)
			printk("pause: pause.delay entry '%.*s' ignored (NAME:US, US <= 1000000)\n",
			       (int)(end - s), s);
		else {
			pause_points[id].delay_us = (uint32_t)us;
			printk("pause: %lu us delay at %s\n", us, pause_names[id]);
		}
		s = *end ? end + 1 : end;
	}
}

static void pause_delay(uint32_t us)
{
	uint64_t until = ktime_get_ns() + us * 1000ull;
	while (ktime_get_ns() < until)
		cpu_relax();
}

void __pause_point(enum pause_id id, const void *obj)
{
	struct pause_point_state *p = &pause_points[id];
	if (p->delay_us)
		pause_delay(p->delay_us);
	if (!READ_ONCE(p->armed))
		return;
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
