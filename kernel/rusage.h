/* kernel/rusage.h - CPU time and fault accounting (see kernel/rusage.c). */
#ifndef KERNEL_RUSAGE_H
#define KERNEL_RUSAGE_H

#include "kernel/compiler.h"

#define __NR_getrusage 98
#define __NR_times     100

struct process;
struct thread;

/* What getrusage reports, in the kernel's units. */
struct rusage_sum {
	uint64_t utime_ns, stime_ns;
	uint64_t min_flt, maj_flt, nvcsw, nivcsw;
	uint64_t maxrss; /* pages */
};

/* do_exit: thread t leaves p, its RSS then `rss_pages`: its counters go
 * into p's sums of dead threads. tasklist_lock held. */
void rusage_thread_exit(struct process *p, struct thread *t, uint64_t rss_pages);
/* wait4/waitid reap the zombie c: its totals and its children's go into
 * its parent's children totals (Linux's wait_task_zombie). tasklist_lock
 * held. */
void rusage_reap(struct process *parent, struct process *c);
/* The rusage of p and its reaped children (Linux's RUSAGE_BOTH, what
 * wait4 reports for a child). tasklist_lock held. */
void rusage_both(struct process *p, struct rusage_sum *r);
/* p's user and system time (all threads, the dead ones too) and its page
 * faults, for /proc/PID/stat. tasklist_lock held. */
void process_times(struct process *p, uint64_t *utime_ns, uint64_t *stime_ns, uint64_t *min_flt,
		   uint64_t *maj_flt);
/* Copy r out as Linux's struct rusage (144 bytes): 0 or -EFAULT. */
int put_rusage(uint64_t uaddr, const struct rusage_sum *r);

int64_t sys_getrusage(int who, uint64_t uru);
int64_t sys_times(uint64_t ubuf);

#endif
