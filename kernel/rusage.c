/*
 * kernel/rusage.c - CPU time and fault accounting per thread and process:
 * getrusage(2), times(2), the rusage of wait4/waitid and the times and
 * fault counts of /proc/PID/stat (Linux's kernel/sys.c getrusage,
 * do_sys_times, kernel/sched/cputime.c, kernel/exit.c wait_task_zombie).
 *
 * What is counted, per thread (struct thread):
 *   - the exact run time, sum_exec_ns (kernel/sched.c, at each switch);
 *   - utime_ticks / stime_ticks: each timer tick charges the running thread
 *     (never the idle thread) one tick, user if the interrupt came from ring
 *     3, else system (sched_tick; Linux's account_process_tick);
 *   - min_flt / maj_flt: each user page fault that was resolved, once, in
 *     do_user_fault (mm/mm.c) - major when it had to read its page from the
 *     file system (a page-cache miss on a file that is not shmem, Linux's
 *     VM_FAULT_MAJOR), else minor; a fault that ends in a signal is not
 *     counted (Linux's mm_account_fault skips VM_FAULT_ERROR);
 *   - nvcsw / nivcsw: each switch away from the thread, voluntary when it
 *     gave up the CPU to sleep, involuntary when preempted or yielding.
 *
 * The user/system split reported is Linux's cputime_adjust: the exact run
 * time rtime is divided in the ratio of the ticks, stime = rtime * sticks /
 * (uticks + sticks), all user time while no tick was seen, all system time
 * if only system ticks were; as Linux's prev_cputime, neither part ever
 * goes down from one report to the next (the last reported split is kept
 * per thread, for RUSAGE_THREAD, and per process, under tasklist_lock).
 *
 * Per process (struct process, under tasklist_lock): a thread that leaves
 * adds its counters to the process's dead_* sums (do_exit), so a process's
 * totals are those sums plus its live threads' (the split is adjusted on
 * the totals, as Linux's thread_group_cputime_adjusted). When a parent
 * reaps a zombie child with wait4/waitid (not WNOWAIT), the child's totals
 * and its own children's totals are added to the parent's c* fields
 * (wait_task_zombie); a child that is autoreaped (SIGCHLD ignored, or
 * nobody to wait for it) adds nothing to anybody, as Linux's release_task.
 *
 * ru_maxrss: this kernel keeps no high-water mark of the RSS; it reports
 * the largest of the current RSS and the RSS each thread of the process
 * left with (Linux: the peak RSS, hiwater_rss). The children's is the
 * largest of their own, propagated at reap as Linux's cmaxrss.
 *
 * times(2) returns the clock ticks (USER_HZ 100) since boot on the
 * monotonic clock; Linux returns its jiffies counter, which starts 5
 * minutes before 0 (INITIAL_JIFFIES).
 */
#include "kernel/rusage.h"
#include "kernel/process.h"
#include "kernel/sched.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "mm/mm.h"
#include "arch/x86_64/uaccess.h"

#define RUSAGE_SELF	(0)
#define RUSAGE_CHILDREN (-1)
#define RUSAGE_THREAD	(1)
#define USER_HZ		100
#define NSEC_PER_TICK	(1000000000ull / USER_HZ)

/* rtime * part / total without overflowing 64 bits (part <= total):
 * precision is dropped from the tick counts when the product would not fit. */
static uint64_t scale_time(uint64_t rtime, uint64_t part, uint64_t total)
{
	while (part && rtime > ~0ull / part) {
		part >>= 1;
		total >>= 1;
	}
	return total ? rtime * part / total : 0;
}

/* Linux's cputime_adjust: rtime split in the ratio of the ticks, and
 * neither part ever reported smaller than before (prev: the last values
 * reported for this thread or process, under tasklist_lock). */
static void cputime_adjust(uint64_t rtime, uint64_t uticks, uint64_t sticks, uint64_t *prev_ut,
			   uint64_t *prev_st, uint64_t *utime, uint64_t *stime)
{
	assert_spin_locked(&tasklist_lock);
	if (*prev_ut + *prev_st >= rtime)
		goto out; /* no new time since the last report (or the clock lags) */
	uint64_t s;
	if (!sticks)
		s = 0;
	else if (!uticks)
		s = rtime;
	else
		s = scale_time(rtime, sticks, uticks + sticks);
	uint64_t u = rtime - s;
	if (s < *prev_st) {
		s = *prev_st;
		u = rtime - s;
	} else if (u < *prev_ut) {
		u = *prev_ut;
		s = rtime - u;
	}
	*prev_ut = u;
	*prev_st = s;
out:
	*utime = *prev_ut;
	*stime = *prev_st;
}

struct raw_usage {
	uint64_t rtime, uticks, sticks, min_flt, maj_flt, nvcsw, nivcsw;
};

static void add_thread(struct raw_usage *u, struct thread *t)
{
	u->rtime += thread_cputime_ns(t);
	u->uticks += READ_ONCE(t->utime_ticks);
	u->sticks += READ_ONCE(t->stime_ticks);
	u->min_flt += READ_ONCE(t->min_flt);
	u->maj_flt += READ_ONCE(t->maj_flt);
	u->nvcsw += READ_ONCE(t->nvcsw);
	u->nivcsw += READ_ONCE(t->nivcsw);
}

/* p's own totals: its dead threads' and its live ones'. tasklist_lock held. */
static void group_usage(struct process *p, struct raw_usage *u)
{
	*u = (struct raw_usage){ p->cputime_dead_ns, p->dead_utime_ticks, p->dead_stime_ticks,
				 p->dead_min_flt,    p->dead_maj_flt,	  p->dead_nvcsw,
				 p->dead_nivcsw };
	struct thread *t;
	list_for_each_entry (t, &p->threads, group_node)
		add_thread(u, t);
}

void rusage_thread_exit(struct process *p, struct thread *t, uint64_t rss_pages)
{
	assert_spin_locked(&tasklist_lock);
	p->dead_utime_ticks += t->utime_ticks;
	p->dead_stime_ticks += t->stime_ticks;
	p->dead_min_flt += t->min_flt;
	p->dead_maj_flt += t->maj_flt;
	p->dead_nvcsw += t->nvcsw;
	p->dead_nivcsw += t->nivcsw;
	if (p->maxrss < rss_pages)
		p->maxrss = rss_pages;
}

void process_times(struct process *p, uint64_t *utime_ns, uint64_t *stime_ns, uint64_t *min_flt,
		   uint64_t *maj_flt)
{
	struct raw_usage u;
	group_usage(p, &u);
	cputime_adjust(u.rtime, u.uticks, u.sticks, &p->prev_utime_ns, &p->prev_stime_ns, utime_ns,
		       stime_ns);
	*min_flt = u.min_flt;
	*maj_flt = u.maj_flt;
}

void rusage_reap(struct process *parent, struct process *c)
{
	assert_spin_locked(&tasklist_lock);
	struct raw_usage u;
	uint64_t ut, st;
	group_usage(c, &u);
	cputime_adjust(u.rtime, u.uticks, u.sticks, &c->prev_utime_ns, &c->prev_stime_ns, &ut, &st);
	parent->cutime_ns += ut + c->cutime_ns;
	parent->cstime_ns += st + c->cstime_ns;
	parent->cmin_flt += u.min_flt + c->cmin_flt;
	parent->cmaj_flt += u.maj_flt + c->cmaj_flt;
	parent->cnvcsw += u.nvcsw + c->cnvcsw;
	parent->cnivcsw += u.nivcsw + c->cnivcsw;
	uint64_t maxrss = c->maxrss > c->cmaxrss ? c->maxrss : c->cmaxrss;
	if (parent->cmaxrss < maxrss)
		parent->cmaxrss = maxrss;
}

static void children_usage(struct process *p, struct rusage_sum *r)
{
	r->utime_ns += p->cutime_ns;
	r->stime_ns += p->cstime_ns;
	r->min_flt += p->cmin_flt;
	r->maj_flt += p->cmaj_flt;
	r->nvcsw += p->cnvcsw;
	r->nivcsw += p->cnivcsw;
	if (r->maxrss < p->cmaxrss)
		r->maxrss = p->cmaxrss;
}

static void self_usage(struct process *p, struct rusage_sum *r)
{
	struct raw_usage u;
	uint64_t ut, st;
	group_usage(p, &u);
	cputime_adjust(u.rtime, u.uticks, u.sticks, &p->prev_utime_ns, &p->prev_stime_ns, &ut, &st);
	r->utime_ns += ut;
	r->stime_ns += st;
	r->min_flt += u.min_flt;
	r->maj_flt += u.maj_flt;
	r->nvcsw += u.nvcsw;
	r->nivcsw += u.nivcsw;
	if (r->maxrss < p->maxrss)
		r->maxrss = p->maxrss;
}

void rusage_both(struct process *p, struct rusage_sum *r)
{
	assert_spin_locked(&tasklist_lock);
	*r = (struct rusage_sum){ 0 };
	children_usage(p, r);
	self_usage(p, r);
}

int put_rusage(uint64_t uaddr, const struct rusage_sum *r)
{
	int64_t ru[18] = { 0 }; /* struct rusage: two timevals, 14 longs */
	ru[0] = (int64_t)(r->utime_ns / 1000000000ull);
	ru[1] = (int64_t)(r->utime_ns % 1000000000ull / 1000);
	ru[2] = (int64_t)(r->stime_ns / 1000000000ull);
	ru[3] = (int64_t)(r->stime_ns % 1000000000ull / 1000);
	ru[4] = (int64_t)(r->maxrss * (PAGE_SIZE / 1024)); /* ru_maxrss, KiB */
	ru[8] = (int64_t)r->min_flt;
	ru[9] = (int64_t)r->maj_flt;
	ru[16] = (int64_t)r->nvcsw;
	ru[17] = (int64_t)r->nivcsw;
	return copy_to_user(uaddr, ru, sizeof(ru)) ? -EFAULT : 0;
}

int64_t sys_getrusage(int who, uint64_t uru)
{
#ifndef MUTATION_GETRUSAGE_ANY_WHO
	if (who != RUSAGE_SELF && who != RUSAGE_CHILDREN && who != RUSAGE_THREAD)
		return -EINVAL;
#endif
	struct thread *t = current;
	struct process *p = t->proc;
	struct rusage_sum r = { 0 };
	uint64_t rss = t->mm ? (uint64_t)atomic64_read(&t->mm->rss) : 0;
	spin_lock(&tasklist_lock);
	if (who == RUSAGE_THREAD) {
		struct raw_usage u = { 0 };
		add_thread(&u, t);
		cputime_adjust(u.rtime, u.uticks, u.sticks, &t->prev_utime_ns, &t->prev_stime_ns,
			       &r.utime_ns, &r.stime_ns);
		r.min_flt = u.min_flt;
		r.maj_flt = u.maj_flt;
		r.nvcsw = u.nvcsw;
		r.nivcsw = u.nivcsw;
		r.maxrss = p->maxrss;
	} else if (who == RUSAGE_CHILDREN) {
#ifndef MUTATION_RUSAGE_CHILDREN_IS_SELF
		children_usage(p, &r);
#else
		self_usage(p, &r);
#endif
	} else {
		self_usage(p, &r);
	}
	spin_unlock(&tasklist_lock);
	if (who != RUSAGE_CHILDREN && r.maxrss < rss)
		r.maxrss = rss;
	return put_rusage(uru, &r);
}

int64_t sys_times(uint64_t ubuf)
{
	if (ubuf) {
		struct process *p = current->proc;
		uint64_t ut, st, minf, majf;
		spin_lock(&tasklist_lock);
		process_times(p, &ut, &st, &minf, &majf);
		int64_t tms[4] = { (int64_t)(ut / NSEC_PER_TICK), (int64_t)(st / NSEC_PER_TICK),
				   (int64_t)(p->cutime_ns / NSEC_PER_TICK),
				   (int64_t)(p->cstime_ns / NSEC_PER_TICK) };
		spin_unlock(&tasklist_lock);
		if (copy_to_user(ubuf, tms, sizeof(tms)))
			return -EFAULT;
	}
	return (int64_t)(ktime_get_ns() / NSEC_PER_TICK);
}
