/*
 * kernel/stats.h - per-CPU event counters.
 *
 * count_event() adds to this CPU's slot with a relaxed atomic add, so a
 * counter is exact even if the caller migrates mid-way (it then counts on
 * the CPU it started on). event_sum() adds the slots of every CPU; tests
 * read a counter before and after an operation and compare the difference.
 */
#ifndef KERNEL_STATS_H
#define KERNEL_STATS_H

#include "kernel/compiler.h"

#define FOR_EACH_EVENT(X)                                                                      \
	X(EV_TIMER_TICK, "timer_ticks")                                                        \
	X(EV_CONTEXT_SWITCH, "context_switches")                                               \
	X(EV_IPI_SENT, "ipis_sent")                                                            \
	X(EV_IPI_RECEIVED, "ipis_received")                                                    \
	X(EV_CALL_FUNCTION, "call_function_runs")                                              \
	X(EV_RESCHED_IPI, "resched_ipis")                                                      \
	X(EV_THREAD_STEAL, "threads_stolen")                                                   \
	X(EV_PAGE_ALLOC, "pages_allocated")                                                    \
	X(EV_PAGE_FREE, "pages_freed")                                                         \
	X(EV_PAGE_FAULT, "page_faults")                                                        \
	X(EV_POISON_BAD, "poison_errors")                                                      \
	X(EV_TLB_SHOOTDOWN, "tlb_shootdowns") /* IPI rounds sent */                            \
	X(EV_TLB_IPI_SENT, "tlb_ipis_sent")   /* target CPUs IPI'd */                          \
	X(EV_TLB_IPI_RECEIVED, "tlb_ipis_received")                                            \
	X(EV_TLB_LAZY_SKIPPED, "tlb_lazy_cpus_skipped")                                        \
	X(EV_TLB_PAGES_FLUSHED, "tlb_pages_flushed") /* INVLPGs */                             \
	X(EV_TLB_FULL_FLUSH, "tlb_full_flushes")                                               \
	X(EV_TLB_LOCAL_FLUSH, "tlb_local_flushes")                                             \
	X(EV_TLB_LOCAL_FLUSH_ONE,                                                              \
	  "tlb_local_flush_one") /* local INVLPGs (Linux's nr_tlb_local_flush_one) */          \
	X(EV_TLB_LOCAL_FLUSH_ALL, "tlb_local_flush_all") /* local full flushes of a request */ \
	X(EV_MM_SWITCH, "mm_switches")                                                         \
	X(EV_MM_SWITCH_NOFLUSH, "mm_switches_without_flush")                                   \
	X(EV_PT_PAGES_FREED, "page_table_pages_freed")                                         \
	X(EV_COW_COPY, "cow_copies")                                                           \
	X(EV_COW_REUSE, "cow_reuses")                                                          \
	X(EV_FORK, "forks")                                                                    \
	X(EV_FORK_PRECOW, "fork_pinned_pages_copied")                                          \
	X(EV_GUP_FAST_PAGES, "gup_fast_pages")                                                 \
	X(EV_GUP_FAST_FALLBACK, "gup_fast_fallbacks")                                          \
	X(EV_GUP_SLOW_PAGES, "gup_slow_pages")                                                 \
	X(EV_PIN, "pages_pinned")                                                              \
	X(EV_GUP_REF_LIMIT, "gup_refused_ref_limit")                                           \
	X(EV_UNPIN, "pages_unpinned")                                                          \
	X(EV_WRITEBACK_PAGES, "writeback_pages")                                               \
	X(EV_PAGECACHE_DROPPED, "pagecache_pages_dropped")                                     \
	X(EV_FLUSHER_PASSES, "flusher_passes")                                                 \
	X(EV_DELAYED_RMAP, "delayed_rmaps")                                                    \
	X(EV_KILL_ON_IPI, "kills_on_resched_ipi") /* left user mode by kill_thread's IPI */    \
	X(EV_KILL_ON_OTHER, "kills_on_other_entry")                                            \
	X(EV_SIGNAL_ON_IPI, "signals_on_resched_ipi") /* user code left for a signal by its IPI */

enum event {
#define X(e, s) e,
	FOR_EACH_EVENT(X)
#undef X
	    NR_EVENTS
};

extern const char *const event_names[NR_EVENTS];
void count_event(enum event e);
void count_events(enum event e, uint64_t n);
uint64_t event_sum(enum event e);
uint64_t event_cpu(int cpu, enum event e);

#endif
