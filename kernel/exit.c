/*
 * kernel/exit.c - how threads and processes end, and how parents wait for
 * them (Linux's kernel/exit.c). Rules and lock: kernel/process.h.
 *
 * do_exit, in Linux's order: the CLONE_CHILD_CLEARTID store and wake-up
 * and the vfork parent's release (mm_release), then the fd table and the
 * address space are let go (exit_files, exit_mm), and only then is the
 * thread taken out of its group; the last one makes the process a zombie
 * and tells the parent (exit_notify). So a parent that wait4s sees a child
 * whose memory is already gone, and a pipe's reader sees EOF once the
 * writer is reaped.
 *
 * The wait status of a dead process is the group exit code after
 * exit_group or a fatal signal, else the one its leader thread left with
 * (Linux's wait_task_zombie); the last thread to leave does not choose it.
 *
 * Waiting: wait4/waitid scan the caller's children under tasklist_lock; a
 * zombie is taken off the list by exactly one waiter (the lock), others
 * find it gone and look again or get -ECHILD. A waiter sleeps killably
 * until child_events changes (every child death, and every orphan handed
 * to init, bumps it under the lock before the wake-up), so a death between
 * the scan and the sleep is not missed.
 *
 * Resource usage (kernel/rusage.c): each thread that leaves adds its CPU
 * time, ticks, faults and switches to its process's sums; a waiter that
 * reaps a zombie (not WNOWAIT) adds the child's totals and its children's
 * to its own children's totals, under tasklist_lock, and reports the
 * child's rusage (wait4/waitid's last argument, also for a stopped or
 * continued child). An autoreaped child adds nothing (Linux).
 */
#include "kernel/process.h"
#include "kernel/futex.h"
#include "kernel/fdtable.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "kernel/syscall.h"
#include "kernel/signal.h"
#include "kernel/itimer.h"
#include "kernel/pause.h"
#include "kernel/rusage.h"
#include "mm/mm.h"
#include "arch/x86_64/uaccess.h"

void process_release(struct process *p);

/* ---- ending a thread ---------------------------------------------------- */

/* Linux's mm_release: the CLONE_CHILD_CLEARTID word is zeroed and its
 * futex woken (pthread_join waits on it), only if another thread may look
 * (mm_users > 1); a vfork parent is let go. Also at execve. */
void mm_release(struct thread *t)
{
#ifndef MUTATION_CLEARTID_NOT_CLEARED
	if (t->clear_child_tid && t->mm && atomic_read(&t->mm->mm_users) > 1) {
		uint32_t zero = 0;
		copy_to_user(t->clear_child_tid, &zero, sizeof(zero));
#ifndef MUTATION_CLEARTID_NO_FUTEX_WAKE
		/* Shared, as Linux: glibc's pthread_join waits without FUTEX_PRIVATE_FLAG. */
		do_futex(t->clear_child_tid, FUTEX_WAKE, 1, NULL, 0, 0, 0);
#endif
	}
#endif
	t->clear_child_tid = 0;
	spin_lock(&tasklist_lock);
	struct completion *vfork = t->vfork_done;
	t->vfork_done = NULL;
	if (vfork)
		complete(vfork);
	spin_unlock(&tasklist_lock);
}

/* Give p's children to the reaper (or to nobody); tasklist_lock held. */
static void forget_children(struct process *p)
{
	struct process *reaper = child_reaper;
#ifdef MUTATION_REPARENT_TO_NOBODY
	reaper = NULL;
#endif
	if (reaper == p || (reaper && reaper->state != PROC_ALIVE))
		reaper = NULL;
	while (!list_empty(&p->children)) {
		struct process *c = list_first_entry(&p->children, struct process, sibling);
		list_del_init(&c->sibling);
		c->parent = reaper;
		if (!reaper) {
			if (c->state == PROC_ZOMBIE)
				process_release(c); /* nobody will wait for it */
			continue;
		}
		list_add_tail(&c->sibling, &reaper->children);
		if (c->state == PROC_ZOMBIE) {
			reaper->child_events++;
			wake_up_all(&reaper->wait_chldexit);
		}
	}
}

/* The last thread left, with status: p becomes a zombie for its parent, or
 * goes at once if it has none. tasklist_lock held; true: p was freed (no
 * parent). The wait status is the group exit code (exit_group, a fatal
 * signal), else the status of the last thread to leave: Linux 6.1's
 * synchronize_group_exit makes the last thread's sys_exit a group exit
 * (MUTATION_STATUS_OF_LEADER keeps the leader's, as Linux before 6.0). */
static bool exit_notify(struct process *p, int status)
{
	p->state = PROC_ZOMBIE;
	p->exit_code = p->group_exit ? p->group_exit_code : status;
	itimer_release(p); /* a dead process's alarm never fires (Linux) */
	forget_children(p);
	if (!p->parent)
		return true;
#ifdef MUTATION_CHILD_TIMES_AT_EXIT
	rusage_reap(p->parent, p); /* the parent counts the child before it reaps it */
#endif
	bool autoreap = do_notify_parent(p); /* SIGCHLD (exit_signal) */
	p->parent->child_events++;
	wake_up_all(&p->parent->wait_chldexit);
	return autoreap;
}

__noreturn void do_exit(int status)
{
	struct thread *t = current;
	struct process *p = t->proc;
	local_irq_enable();
	BUG_ON(!p);
	signal_exit(); /* no more signals for t: shared ones go to the others */
	mm_release(t);
	struct files_struct *files = set_current_files(NULL);
	if (files)
		put_files(files); /* closes what the process left open */
	uint64_t rss = t->mm ? (uint64_t)atomic64_read(&t->mm->rss) : 0; /* ru_maxrss */
	if (t->mm)
		unuse_mm(t->mm);

	spin_lock(&tasklist_lock);
	list_del_init(&t->group_node);
	if (p->leader == t) {
#ifdef MUTATION_STATUS_OF_LEADER
		p->leader_exit_code = status;
#endif
		p->leader = NULL;
	}
#ifdef MUTATION_STATUS_OF_LEADER
	status = p->leader ? status : p->leader_exit_code;
#endif
	p->cputime_dead_ns += thread_cputime_ns(t);
	rusage_thread_exit(p, t, rss);
	/* The count changes first, then de_thread is woken: it re-checks the
	 * count without tasklist_lock as soon as it runs, and a wake-up before
	 * the decrement let it see the old count and sleep for good (execve
	 * of a threaded program hanging in de_thread). */
#ifndef MUTATION_EXIT_WAKE_BEFORE_COUNT
	bool last = --p->nr_threads == 0;
	if (p->exec_thread) {
		pause_point(PAUSE_EXIT_THREAD, p);
		wake_up_all(&p->group_wq);
	}
#else
	if (p->exec_thread) {
		wake_up_all(&p->group_wq);
		pause_point(PAUSE_EXIT_THREAD, p);
	}
	bool last = --p->nr_threads == 0;
#endif
	bool release = last && exit_notify(p, status);
	int code = p->exit_code;
	void (*notify)(struct thread *, void *) = p->exit_notify;
	void *arg = p->exit_arg;
	t->proc = NULL;
	if (release)
		process_release(p);
	spin_unlock(&tasklist_lock);

	if (release && notify) {
		t->exit_status = code;
		notify(t, arg);
	}
	thread_exit();
}

int zap_other_threads(struct process *p)
{
	assert_spin_locked(&tasklist_lock);
	int n = 0;
	struct thread *t;
	list_for_each_entry (t, &p->threads, group_node) {
		if (t == current)
			continue;
		kill_thread(t);
		n++;
	}
	return n;
}

void zap_process(struct process *p, int status)
{
	assert_spin_locked(&tasklist_lock);
	if (p->group_exit)
		return;
	p->group_exit = true;
	p->group_exit_code = status;
	struct thread *t;
	list_for_each_entry (t, &p->threads, group_node)
		kill_thread(t);
}

__noreturn void do_group_exit(int status)
{
	struct process *p = current->proc;
	spin_lock(&tasklist_lock);
	if (p->group_exit) {
		status = p->group_exit_code; /* the first one's status stands */
	} else {
		p->group_exit = true;
		p->group_exit_code = status;
#ifndef MUTATION_EXIT_GROUP_ONLY_SELF
		zap_other_threads(p);
#endif
	}
	spin_unlock(&tasklist_lock);
	do_exit(status);
}

int de_thread(void)
{
	struct thread *t = current;
	struct process *p = t->proc;
	spin_lock(&tasklist_lock);
	if (p->group_exit || p->exec_thread || fatal_signal_pending(t)) {
		spin_unlock(&tasklist_lock);
		return -EINTR; /* the caller is dying anyway */
	}
	if (p->nr_threads > 1) {
		p->exec_thread = t;
		zap_other_threads(p);
		spin_unlock(&tasklist_lock);
		int err = wait_event_killable(p->group_wq, READ_ONCE(p->nr_threads) == 1);
		spin_lock(&tasklist_lock);
		p->exec_thread = NULL;
		if (err) {
			spin_unlock(&tasklist_lock);
			return err;
		}
	}
	/* A thread other than the leader takes the leader's id (Linux). */
	p->leader = t;
	t->pid = p->pid;
	spin_unlock(&tasklist_lock);
	return 0;
}

uint64_t process_cputime_ns(struct thread *t)
{
	spin_lock(&tasklist_lock);
	struct process *p = t->proc;
	uint64_t ns = p ? p->cputime_dead_ns : 0;
	struct thread *o;
	if (p)
		list_for_each_entry (o, &p->threads, group_node)
			ns += thread_cputime_ns(o);
	spin_unlock(&tasklist_lock);
	return ns;
}

int64_t sys_exit(int code)
{
	do_exit((code & 0xff) << 8);
}

int64_t sys_exit_group(int code)
{
	do_group_exit((code & 0xff) << 8);
}

/* ---- waiting ---------------------------------------------------------- */

#define WNOHANG	    0x00000001
#define WUNTRACED   0x00000002
#define WEXITED	    0x00000004
#define WCONTINUED  0x00000008
#define WNOWAIT	    0x01000000
#define __WNOTHREAD 0x20000000
#define __WALL	    0x40000000
#define __WCLONE    0x80000000
#define P_ALL	    0
#define P_PID	    1
#define P_PGID	    2
#define P_PIDFD	    3
#define CLD_EXITED  1
#define CLD_KILLED  2
#define CLD_DUMPED  3

enum wait_who { WAIT_ANY, WAIT_PID, WAIT_PGID };

struct wait_opts {
	enum wait_who who;
	int id;
	unsigned options;
	int pid;	      /* found: its id */
	int status;	      /* its wait status */
	int why;	      /* CLD_STOPPED, CLD_CONTINUED, or 0: it ended */
	struct rusage_sum ru; /* its usage and its reaped children's */
};

static bool eligible_child(const struct wait_opts *wo, const struct process *c)
{
	if (wo->who == WAIT_PID && c->pid != wo->id)
		return false;
	if (wo->who == WAIT_PGID && c->pgid != wo->id)
		return false;
	/* Linux: __WCLONE selects the children whose exit signal is not
	 * SIGCHLD, neither flag the others, __WALL both. */
	if (!(wo->options & __WALL) && ((c->exit_signal != SIGCHLD) ^ !!(wo->options & __WCLONE)))
		return false;
	return true;
}

/* A live child c stopped (WUNTRACED) or continued (WCONTINUED) since the
 * last report (Linux's wait_task_stopped, wait_task_continued): wo filled,
 * the report consumed unless WNOWAIT. tasklist_lock held. */
static bool wait_stop_or_cont(struct wait_opts *wo, struct process *c)
{
	bool found = false;
	spin_lock(&c->sighand->siglock);
	if ((wo->options & WUNTRACED) && (c->signal_flags & SIGNAL_STOP_STOPPED) && c->stop_code) {
		wo->status = (c->stop_code << 8) | 0x7f;
		wo->why = CLD_STOPPED;
		if (!(wo->options & WNOWAIT))
			c->stop_code = 0;
		found = true;
	} else if ((wo->options & WCONTINUED) && (c->signal_flags & SIGNAL_STOP_CONTINUED)) {
		wo->status = 0xffff;
		wo->why = CLD_CONTINUED;
		if (!(wo->options & WNOWAIT))
			c->signal_flags &= ~SIGNAL_STOP_CONTINUED;
		found = true;
	}
	spin_unlock(&c->sighand->siglock);
	if (found)
		wo->pid = c->pid;
	return found;
}

/* 1 (wo->pid, wo->status filled), 0 (WNOHANG, nothing yet), -ECHILD,
 * -ERESTARTSYS (a signal: restarted with SA_RESTART, as Linux). */
static int do_wait(struct wait_opts *wo)
{
	struct process *me = current->proc;
	for (;;) {
		spin_lock(&tasklist_lock);
		uint64_t events = me->child_events;
		bool any = false;
		struct process *c;
		list_for_each_entry (c, &me->children, sibling) {
			if (!eligible_child(wo, c))
				continue;
			any = true;
			if (c->state == PROC_ALIVE && wait_stop_or_cont(wo, c)) {
				rusage_both(c, &wo->ru); /* Linux: wait_task_stopped too */
				spin_unlock(&tasklist_lock);
				return 1;
			}
			if (c->state != PROC_ZOMBIE || !(wo->options & WEXITED))
				continue;
			wo->pid = c->pid;
			wo->status = c->exit_code;
			wo->why = 0;
			/* Linux's wait_task_zombie: the reaper gets the child's
			 * totals (not WNOWAIT: the child stays a zombie); then
			 * the rusage reported is the child's own and its
			 * children's. */
#ifndef MUTATION_CHILD_TIMES_AT_EXIT
			if (!(wo->options & WNOWAIT))
				rusage_reap(me, c);
#endif
			rusage_both(c, &wo->ru);
#ifndef MUTATION_WNOWAIT_REAPS
			if (!(wo->options & WNOWAIT))
#endif
				process_release(c);
			spin_unlock(&tasklist_lock);
			return 1;
		}
		spin_unlock(&tasklist_lock);
		if (!any)
			return -ECHILD;
		if (wo->options & WNOHANG)
			return 0;
		int err = wait_event_interruptible(me->wait_chldexit,
						   READ_ONCE(me->child_events) != events);
		if (err)
			return err;
	}
}

int64_t sys_wait4(int pid, uint64_t ustatus, int options, uint64_t urusage)
{
	if ((unsigned)options &
	    ~(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WCLONE | __WALL))
		return -EINVAL;
	if (pid == (int)0x80000000)
		return -ESRCH; /* Linux: -INT_MIN is no process group */
	struct wait_opts wo = { .options = (unsigned)options | WEXITED };
	if (pid > 0) {
		wo.who = WAIT_PID;
		wo.id = pid;
	} else if (pid == 0 || pid < -1) {
		wo.who = WAIT_PGID;
		wo.id = pid ? -pid : READ_ONCE(current->proc->pgid);
	}
	int ret = do_wait(&wo);
	if (ret <= 0)
		return ret;
	if (ustatus && copy_to_user(ustatus, &wo.status, sizeof(int)))
		return -EFAULT; /* the child is reaped all the same, as Linux */
#ifdef MUTATION_WAIT4_RUSAGE_ZEROS
	wo.ru = (struct rusage_sum){ 0 }; /* the old behaviour */
#endif
	if (urusage && put_rusage(urusage, &wo.ru))
		return -EFAULT;
	return wo.pid;
}

int64_t sys_waitid(int which, int id, uint64_t uinfo, int options, uint64_t urusage)
{
	unsigned valid = WNOHANG | WNOWAIT | WEXITED | WUNTRACED | WCONTINUED | __WNOTHREAD |
			 __WCLONE | __WALL; /* WSTOPPED == WUNTRACED */
	if ((unsigned)options & ~valid)
		return -EINVAL;
	if (!(options & (WEXITED | WUNTRACED | WCONTINUED)))
		return -EINVAL;
	struct wait_opts wo = { .options = (unsigned)options };
	switch (which) {
	case P_ALL:
		break;
	case P_PID:
		if (id <= 0)
			return -EINVAL;
		wo.who = WAIT_PID;
		wo.id = id;
		break;
	case P_PGID:
		if (id < 0)
			return -EINVAL;
		wo.who = WAIT_PGID;
		wo.id = id ? id : READ_ONCE(current->proc->pgid);
		break;
	case P_PIDFD:
		return -EBADF; /* no fd is a pidfd here */
	default:
		return -EINVAL;
	}
	int ret = do_wait(&wo);
	if (ret < 0)
		return ret;
	/* Linux writes these six fields and nothing else: all zero when
	 * WNOHANG found nothing. */
	struct {
		int32_t signo, errno_, code;
	} head = { 0, 0, 0 };
	struct {
		int32_t pid, uid, status;
	} body = { 0, 0, 0 };
	if (ret) {
		head.signo = SIGCHLD;
		bool killed = wo.status & 0x7f;
		head.code = killed ? (wo.status & 0x80 ? CLD_DUMPED : CLD_KILLED) : CLD_EXITED;
		body.pid = wo.pid;
		body.status = killed ? wo.status & 0x7f : (wo.status >> 8) & 0xff;
		if (wo.why) { /* stopped: the stop signal; continued: SIGCONT */
			head.code = wo.why;
			body.status = wo.why == CLD_STOPPED ? (wo.status >> 8) & 0xff : SIGCONT;
		}
		if (urusage && put_rusage(urusage, &wo.ru))
			return -EFAULT;
	}
	if (uinfo && (copy_to_user(uinfo, &head, sizeof(head)) ||
		      copy_to_user(uinfo + 16, &body, sizeof(body))))
		return -EFAULT;
	return 0;
}
