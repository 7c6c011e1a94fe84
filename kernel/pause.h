/*
 * kernel/pause.h - pause points: deterministic interleavings for race tests.
 *
 * Kernel code calls pause_point(P, obj) at the step of a race it wants a
 * test to control. Normally this is one load and a branch. A test arms P
 * for one object (an mm, a page: obj must match, NULL matches anything),
 * waits until a CPU reaches it (pause_wait_reached), does whatever the race
 * needs on other CPUs, and releases it (pause_release). The paused CPU
 * spins (it may hold spinlocks or have interrupts off, exactly as in the
 * real race), so the releasing thread must run on another CPU.
 *
 * Delays: `pause.delay=NAME:US[,NAME:US...]` on the kernel command line
 * (NAME is the id in lower case without PAUSE_, e.g. dio_pinned) makes
 * every CPU that passes NAME spin for US microseconds there, for the life
 * of the boot. It widens a race window for user programs that provoke the
 * race the ordinary way (threads on CPUs, no test hooks): the window is
 * what it always is, only longer, so a bug in the order of the steps
 * around it shows within a bounded time. It never changes what the code
 * does, only when.
 */
#ifndef KERNEL_PAUSE_H
#define KERNEL_PAUSE_H

#include "kernel/compiler.h"

enum pause_id {
	PAUSE_TLB_FLUSH,       /* flush_tlb_mm_range, before any CPU is flushed */
	PAUSE_TLB_FREE_TABLES, /* mmu_gather, page tables unhooked, before their free */
	PAUSE_FORK_COPY,       /* copy_page_range, after each PTE (use pause_arm_after) */
	PAUSE_FORK_WRPROTECT,  /* copy_one_pte, pin check done, parent PTE still writable */
	PAUSE_GUP_FAST_REF,    /* GUP-fast, reference taken, before the PTE re-check */
	PAUSE_GUP_FAST_WALK,   /* GUP-fast, IRQs off, page table found, before the PTE read */
	PAUSE_DIO_PINNED,      /* O_DIRECT read: user pages pinned, before the copy */
	PAUSE_TRUNC_UNMAPPED,  /* truncate: size set, range unmapped, before the pages go */
	PAUSE_FILE_FAULT,      /* file fault: i_size checked, before the page is looked up */
	PAUSE_DIO_WRITE,       /* O_DIRECT write: range invalidated, before the transfer */
	PAUSE_CLEAN_FOR_IO,    /* clear_page_dirty_for_io: PTEs cleaned, PG_dirty not yet cleared */
	PAUSE_SWITCH_MM,       /* switch_mm_irqs_off: left prev's cpumask, CR3 still prev's */
	PAUSE_SPLIT_VMA,       /* split_vma: new VMA's start moved, its offset not yet */
	PAUSE_FUTEX_WAIT_SETUP, /* futex_wait_setup: value read and compared, not yet queued */
	PAUSE_SFS_PARENT_FOUND, /* SFS lookup_parent: parent directory found and referenced */
	PAUSE_MREMAP_MOVED,	/* move_ptes: PTEs of one table moved, page-table lock dropped */
	PAUSE_EXIT_THREAD,	/* do_exit: out of the thread count, before de_thread is woken */
	PAUSE_STOP_RECHECK,	/* do_signal_stop: a stopped thread (woken or not) before it
				 * reads whether its stop is over or a new one wants it */
	PAUSE_WAKE_KICK,	/* resched_cpu: the IPI to another CPU sent (obj: its struct cpu) */
	NR_PAUSE_POINTS
};

struct pause_point_state {
	volatile int armed;
	const void *obj;
	volatile int reached;
	volatile int released;
	volatile int reached_cpu;
	volatile int skip;		/* pass this many times before pausing */
	const volatile uint64_t *watch; /* also resume when *watch changes */
	uint64_t timeout_ns;		/* also resume after this long (0: never) */
	volatile uint64_t resumed_ns;	/* ktime when the paused CPU went on */
	uint32_t delay_us;		/* pause.delay=: spin this long on each pass */
};
extern struct pause_point_state pause_points[NR_PAUSE_POINTS];

void __pause_point(enum pause_id id, const void *obj);
static inline void pause_point(enum pause_id id, const void *obj)
{
	if (unlikely(READ_ONCE(pause_points[id].armed) | READ_ONCE(pause_points[id].delay_us)))
		__pause_point(id, obj);
}

void pause_arm(enum pause_id id, const void *obj);
/* Pause at the (n+1)-th time obj passes id. */
void pause_arm_after(enum pause_id id, const void *obj, int n);
/* Pause, and resume by itself when *watch changes (watch may be NULL) or
 * after timeout_ms (0: never): for races where the releasing CPU is itself
 * stuck waiting for the paused one (an IPI to a CPU with IRQs off). */
void pause_arm_until(enum pause_id id, const void *obj, const volatile uint64_t *watch,
		     uint64_t timeout_ms);
/* Wait (sleeping, bounded by ms) until a CPU is paused at id; false on timeout. */
bool pause_wait_reached(enum pause_id id, uint64_t ms);
void pause_release(enum pause_id id);

/* Parse pause.delay= (at boot, before other CPUs run); the name of id. */
void pause_init_delays(void);
const char *pause_name(enum pause_id id);

#endif
