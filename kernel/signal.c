/*
 * kernel/signal.c - POSIX signals, following Linux 6.1's kernel/signal.c
 * (the names are Linux's). The x86-64 frame and rt_sigreturn are
 * arch/x86_64/signal.c.
 *
 * State:
 *   struct sighand_struct (per process, shared by CLONE_SIGHAND): the
 *       actions. Copied at fork, shared by threads; execve gets its own
 *       copy and resets every handler to SIG_DFL except SIG_IGN.
 *   struct process: shared_pending (process-directed signals: kill), and
 *       SIGNAL_UNKILLABLE for init.
 *   struct thread: sig.blocked, sig.pending (thread-directed: tgkill,
 *       faults), the altstack, and t->sigpending (Linux's TIF_SIGPENDING).
 *   Masks and the altstack are inherited at fork and kept at execve
 *   (the altstack is cleared at execve and in new threads).
 *
 * Locks: tasklist_lock (finding processes, walking a thread list, keeping
 * a process from being freed) nests outside sighand->siglock, which guards
 * the actions, every pending set and mask of the processes sharing it, and
 * t->sig; it nests outside the rq and waitq locks (signal_wake_up). A
 * sender holds both; the receiver dequeues under siglock alone. Nothing
 * here runs in interrupt context (SIGALRM comes from a thread,
 * kernel/itimer.c). Only the thread itself clears its sigpending flag
 * (recalc_sigpending), so a thread woken by a signal that another thread
 * then took still goes through get_signal and restarts its call.
 *
 * Sending (send_signal_locked): ignored signals are dropped at once
 * (prepare_signal: SIG_IGN, or SIG_DFL with an "ignore" default, unless
 * blocked), a signal already pending is not queued again (real-time
 * signals included: this kernel keeps one instance of each, Linux queues
 * them), then complete_signal picks a thread that does not block it: the
 * target if it wants it, else (process-directed) another thread of the
 * group. A fatal signal (SIG_DFL whose default kills) is turned at once
 * into a group exit: every thread gets kill_thread (Linux: SIGKILL to all),
 * which wakes even killable sleeps. Otherwise signal_wake_up: the flag, a
 * wake-up of an interruptible sleep, and an IPI to the CPU running the
 * thread so that user code there enters the kernel at once.
 *
 * init (SIGNAL_UNKILLABLE): a signal whose handler is SIG_DFL is dropped
 * (SIGKILL and SIGSTOP from user space too), as Linux does for the global
 * init; a fault (force_sig_fault with SIG_DFL) still kills it.
 *
 * Delivery (get_signal, on the way back to user mode with interrupts on):
 * synchronous signals (faults) first, then the lowest number, the thread's
 * own before the process's. SIG_IGN and ignore-defaults are dropped;
 * terminate and core defaults end the group with the signal in the wait
 * status (no core dumps: RLIMIT_CORE 0, no core bit); stop defaults
 * (SIGSTOP; SIGTSTP, SIGTTIN, SIGTTOU unless the process group is
 * orphaned) start a group stop: every thread is asked to stop
 * (jobctl_stop_pending), the last one to do so marks the process stopped
 * and tells the parent (SIGCHLD CLD_STOPPED unless SA_NOCLDSTOP, wait4
 * WUNTRACED); they sleep killably until SIGCONT, which, whatever its
 * handler, ends the stop when it is sent (CLD_CONTINUED, WCONTINUED). A
 * thread created during a group stop does not take part in it (Linux's
 * does). A handler gets the frame (arch), then its sa_mask and the
 * signal itself (unless SA_NODEFER) are blocked; SA_RESETHAND resets the
 * action to SIG_DFL when it is taken.
 *
 * Faults (force_sig_fault, Linux's force_sig_info_to_task): a fault
 * signal that is blocked or ignored is unblocked and reset to SIG_DFL, so
 * it kills instead of looping on the faulting instruction.
 */
#include "kernel/signal.h"
#include "kernel/pause.h"
#include "kernel/process.h"
#include "kernel/sched.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "kernel/syscall.h"
#include "mm/kmalloc.h"
#include "arch/arch.h"
#include "arch/x86_64/uaccess.h"
#include "arch/x86_64/trap.h"

#define SIG_KERNEL_ONLY_MASK (sigmask(SIGKILL) | sigmask(SIGSTOP))
#define SIG_KERNEL_IGNORE_MASK \
	(sigmask(SIGCONT) | sigmask(SIGCHLD) | sigmask(SIGWINCH) | sigmask(SIGURG))
#define SIG_KERNEL_STOP_MASK \
	(sigmask(SIGSTOP) | sigmask(SIGTSTP) | sigmask(SIGTTIN) | sigmask(SIGTTOU))
#define SYNCHRONOUS_MASK                                                           \
	(sigmask(SIGSEGV) | sigmask(SIGBUS) | sigmask(SIGILL) | sigmask(SIGTRAP) | \
	 sigmask(SIGFPE) | sigmask(SIGSYS))

static void notify_parent_cldstop(struct process *p, int why);
static bool stop_participate(struct thread *t);

static bool sig_in(int sig, sigset_t mask)
{
	return sig < SIGRTMIN && (mask & sigmask(sig));
}

static bool valid_signal(int sig)
{
	return sig >= 1 && sig <= _NSIG;
}

static struct k_sigaction *sig_action(struct process *p, int sig)
{
	return &p->sighand->action[sig - 1];
}

/* ---- the handler table -------------------------------------------------- */

struct sighand_struct *sighand_alloc(void)
{
	struct sighand_struct *sh = kzalloc(sizeof(*sh));
	if (!sh)
		return NULL;
	atomic_set(&sh->count, 1);
	spin_lock_init(&sh->siglock, "siglock");
	return sh;
}

static struct sighand_struct *sighand_copy(struct sighand_struct *old)
{
	struct sighand_struct *sh = sighand_alloc();
	if (!sh)
		return NULL;
	spin_lock(&old->siglock);
	memcpy(sh->action, old->action, sizeof(sh->action));
	spin_unlock(&old->siglock);
	return sh;
}

void sighand_put(struct sighand_struct *sh)
{
	if (sh && atomic_sub_return(1, &sh->count) == 0)
		kfree(sh);
}

/* ---- pending state (siglock held) --------------------------------------- */

/* Current's sigpending flag from its state; only the thread itself calls
 * this (see the top). */
static void recalc_sigpending(void)
{
	struct thread *t = current;
	sigset_t pend = t->sig.pending.signal | t->proc->shared_pending.signal;
	WRITE_ONCE(t->sigpending, (pend & ~t->sig.blocked) != 0 || t->sig.jobctl_stop_pending);
}

static void signal_wake_up(struct thread *t, bool fatal)
{
	WRITE_ONCE(t->sigpending, true);
	signal_wake_up_state(t, fatal);
}

static void flush_sigqueue_mask(struct sigpending *p, sigset_t mask)
{
	p->signal &= ~mask;
}

/* Linux's wants_signal: could t take sig now? */
static bool wants_signal(int sig, struct thread *t)
{
	if (t->sig.blocked & sigmask(sig))
		return false;
	if (t->sig.exiting)
		return false;
	if (sig == SIGKILL)
		return true;
	return READ_ONCE(t->on_cpu) || !READ_ONCE(t->sigpending);
}

static bool sig_handler_ignored(uint64_t handler, int sig)
{
	return handler == SIG_IGN || (handler == SIG_DFL && sig_in(sig, SIG_KERNEL_IGNORE_MASK));
}

static bool sig_task_ignored(struct thread *t, int sig, bool force)
{
	struct process *p = t->proc;
	uint64_t handler = sig_action(p, sig)->handler;
#ifdef MUTATION_INIT_KILLABLE
	handler = handler == SIG_DFL ? 2 : handler; /* init treated like anyone */
#endif
	if ((p->signal_flags & SIGNAL_UNKILLABLE) && handler == SIG_DFL &&
	    !(force && sig_in(sig, SIG_KERNEL_ONLY_MASK)))
		return true;
	return sig_handler_ignored(handler, sig);
}

static bool sig_ignored(struct thread *t, int sig, bool force)
{
	/* A blocked signal is kept: the handler may change before it is
	 * unblocked. */
	if ((t->sig.blocked | t->sig.real_blocked) & sigmask(sig))
		return false;
	return sig_task_ignored(t, sig, force);
}

/* Does sig kill p by default (Linux's sig_fatal)? */
static bool sig_fatal(struct process *p, int sig)
{
	return !sig_in(sig, SIG_KERNEL_IGNORE_MASK | SIG_KERNEL_STOP_MASK) &&
	       sig_action(p, sig)->handler == SIG_DFL;
}

/* A live thread of p to aim a process-directed signal at, or NULL. */
static struct thread *process_target(struct process *p)
{
	if (p->state != PROC_ALIVE || list_empty(&p->threads))
		return NULL;
	return p->leader ? p->leader : list_first_entry(&p->threads, struct thread, group_node);
}

static void flush_all_pending(struct process *p, sigset_t mask)
{
	flush_sigqueue_mask(&p->shared_pending, mask);
	struct thread *o;
	list_for_each_entry (o, &p->threads, group_node)
		flush_sigqueue_mask(&o->sig.pending, mask);
}

/* SIGCONT, whatever its handler (Linux's prepare_signal): pending stops
 * dropped, a group stop cancelled, stopped threads woken; the parent is
 * told (CLD_CONTINUED) by the first thread that runs get_signal. Both
 * locks held. */
static void continue_group(struct process *p)
{
	flush_all_pending(p, SIG_KERNEL_STOP_MASK);
	bool stopped = p->signal_flags & SIGNAL_STOP_STOPPED;
	if (!stopped && !p->group_stop_count)
		return;
	struct thread *o;
	list_for_each_entry (o, &p->threads, group_node)
		o->sig.jobctl_stop_pending = false;
	p->group_stop_count = 0;
	p->signal_flags &= ~SIGNAL_STOP_STOPPED;
	if (stopped) {
		p->signal_flags |= SIGNAL_STOP_CONTINUED | SIGNAL_CLD_CONTINUED;
		p->stop_code = 0;
		struct thread *t = process_target(p);
		if (t)
			signal_wake_up(t, false); /* to report CLD_CONTINUED */
	}
	wake_up_all(&p->stop_wq);
}

/* Linux's prepare_signal: false drops the signal. Stop and continue
 * cancel each other's pending instances. */
static bool prepare_signal(int sig, struct thread *t, bool force)
{
	struct process *p = t->proc;
	if (p->group_exit)
		return false; /* dying: nothing to do */
	if (sig_in(sig, SIG_KERNEL_STOP_MASK))
		flush_all_pending(p, sigmask(SIGCONT));
	else if (sig == SIGCONT)
		continue_group(p);
	return !sig_ignored(t, sig, force);
}

/* Linux's complete_signal: find a thread for sig and wake it, or end the
 * group at once if sig is fatal. */
static void complete_signal(int sig, struct thread *t, bool shared)
{
	struct process *p = t->proc;
	struct thread *target = NULL, *o;
	if (wants_signal(sig, t)) {
		target = t;
#ifdef MUTATION_NO_TARGET_SEARCH
	} else if (true) {
#else
	} else if (!shared || p->nr_threads <= 1) {
#endif
		return;
	} else {
		list_for_each_entry (o, &p->threads, group_node)
			if (wants_signal(sig, o)) {
				target = o;
				break;
			}
		if (!target)
			return; /* all block it: it waits in shared_pending */
	}
	if (sig_fatal(p, sig) && !p->group_exit && !(target->sig.real_blocked & sigmask(sig))) {
		if (sig_in(sig, SYNCHRONOUS_MASK)) { /* a fault nobody handles: say so */
			const struct ksiginfo *i =
			    &(shared ? &p->shared_pending : &t->sig.pending)->info[sig - 1];
			printk("user: thread %d (%s) killed by signal %d (code %d, addr %#lx)\n",
			       t->pid, t->name, sig, i->code, i->addr);
		}
		p->group_exit = true;
		p->group_exit_code = sig; /* wait status: killed by sig, no core */
		list_for_each_entry (o, &p->threads, group_node)
			kill_thread(o);
		return;
	}
	signal_wake_up(target, sig == SIGKILL);
}

/* Queue sig for t (shared: for its process). tasklist_lock and siglock
 * held. */
static void send_signal_locked(int sig, const struct ksiginfo *info, struct thread *t, bool shared,
			       bool force)
{
	assert_spin_locked(&tasklist_lock);
	if (!prepare_signal(sig, t, force))
		return;
	struct sigpending *pending = shared ? &t->proc->shared_pending : &t->sig.pending;
	if (pending->signal & sigmask(sig))
		return; /* already pending: not queued twice */
	pending->info[sig - 1] = *info;
	pending->info[sig - 1].signo = sig;
	pending->signal |= sigmask(sig);
	complete_signal(sig, t, shared);
}

static void group_send_sig_locked(int sig, const struct ksiginfo *info, struct process *p)
{
	struct thread *t = process_target(p);
	if (!t)
		return; /* a zombie: accepted and dropped, as Linux */
	spin_lock(&p->sighand->siglock);
	send_signal_locked(sig, info, t, true, false);
	spin_unlock(&p->sighand->siglock);
}

void kernel_send_process(struct process *p, int sig, int code)
{
	struct ksiginfo info = { .signo = sig, .code = code };
	group_send_sig_locked(sig, &info, p);
}

/* Send sig to other threads that could handle a shared signal current
 * no longer takes (Linux's retarget_shared_pending); both locks held. */
static void retarget_shared_pending(sigset_t which)
{
	struct thread *t = current, *o;
	sigset_t retarget = t->proc->shared_pending.signal & which;
	list_for_each_entry (o, &t->proc->threads, group_node) {
		if (!retarget)
			break;
		if (o == t || o->sig.exiting || !(retarget & ~o->sig.blocked))
			continue;
		retarget &= o->sig.blocked;
		if (!READ_ONCE(o->sigpending))
			signal_wake_up(o, false);
	}
}

void set_current_blocked(sigset_t set)
{
	struct thread *t = current;
	set &= ~SIG_KERNEL_ONLY_MASK;
	spin_lock(&tasklist_lock);
	spin_lock(&t->proc->sighand->siglock);
	retarget_shared_pending(set & ~t->sig.blocked);
	t->sig.blocked = set;
	recalc_sigpending();
	spin_unlock(&t->proc->sighand->siglock);
	spin_unlock(&tasklist_lock);
}

/* Linux's force_sig_info_to_task: a fault signal current cannot take (blocked
 * or ignored) becomes SIG_DFL and unblocked, so it kills. dfl: reset the
 * action to SIG_DFL whatever it is (force_sigsegv). */
static void force_sig_info(const struct ksiginfo *info, bool dfl)
{
	struct thread *t = current;
	struct process *p = t->proc;
	int sig = info->signo;
	spin_lock(&tasklist_lock);
	spin_lock(&p->sighand->siglock);
	struct k_sigaction *ka = sig_action(p, sig);
	bool blocked = t->sig.blocked & sigmask(sig);
#ifdef MUTATION_FORCE_SIG_KEEPS_BLOCKED
	blocked = false;
#endif
	if (blocked || ka->handler == SIG_IGN || dfl) {
		ka->handler = SIG_DFL;
		if (blocked) {
			t->sig.blocked &= ~sigmask(sig);
			recalc_sigpending();
		}
	}
	if (ka->handler == SIG_DFL)
		p->signal_flags &= ~SIGNAL_UNKILLABLE; /* init dies of its own faults */
	send_signal_locked(sig, info, t, false, true);
	spin_unlock(&p->sighand->siglock);
	spin_unlock(&tasklist_lock);
}

void force_sig_fault(int sig, int code, uint64_t addr, int trapno, uint64_t error_code)
{
	struct ksiginfo info = { .signo = sig, .code = code, .addr = addr, .trapno = trapno };
	current->sig.fault_trapno = trapno;
	current->sig.fault_error_code = error_code;
	current->sig.fault_addr = addr;
	force_sig_info(&info, false);
}

void force_sig(int sig)
{
	struct ksiginfo info = { .signo = sig, .code = SI_KERNEL };
	force_sig_info(&info, false);
}

void force_sigsegv(int sig)
{
	struct ksiginfo info = { .signo = SIGSEGV, .code = SI_KERNEL };
	force_sig_info(&info, sig == SIGSEGV);
}

void send_sigpipe(void)
{
	struct thread *t = current;
	struct ksiginfo info = { .signo = SIGPIPE, .code = SI_USER, .pid = t->proc->pid };
	spin_lock(&tasklist_lock);
	spin_lock(&t->proc->sighand->siglock);
	send_signal_locked(SIGPIPE, &info, t, false, false);
	spin_unlock(&t->proc->sighand->siglock);
	spin_unlock(&tasklist_lock);
}

/* ---- clone, execve, exit ------------------------------------------------ */

#define CLONE_VM      0x00000100
#define CLONE_SIGHAND 0x00000800
#define CLONE_VFORK   0x00004000
#define CLONE_THREAD  0x00010000

int signal_clone(uint64_t clone_flags, struct thread *child, struct process *newp)
{
	struct thread *t = current;
	child->sig.blocked = t->sig.blocked;
#ifdef MUTATION_FORK_CLEARS_BLOCKED
	child->sig.blocked = 0;
#endif
	if ((clone_flags & (CLONE_VM | CLONE_VFORK)) != CLONE_VM) {
		child->sig.sas_ss_sp = t->sig.sas_ss_sp;
		child->sig.sas_ss_size = t->sig.sas_ss_size;
		child->sig.sas_ss_flags = t->sig.sas_ss_flags;
	}
	if (!newp)
		return 0; /* a thread: its process's table */
	if (clone_flags & CLONE_SIGHAND) {
		atomic_inc(&t->proc->sighand->count);
		newp->sighand = t->proc->sighand;
		return 0;
	}
	newp->sighand = sighand_copy(t->proc->sighand);
	return newp->sighand ? 0 : -ENOMEM;
}

int signal_exec(void)
{
	struct thread *t = current;
	struct process *p = t->proc;
	struct sighand_struct *old = p->sighand;
	if (atomic_read(&old->count) > 1) { /* Linux's unshare_sighand */
		struct sighand_struct *sh = sighand_copy(old);
		if (!sh)
			return -ENOMEM;
		spin_lock(&tasklist_lock);
		spin_lock(&old->siglock);
		p->sighand = sh;
		spin_unlock(&old->siglock);
		spin_unlock(&tasklist_lock);
		sighand_put(old);
	}
	spin_lock(&p->sighand->siglock);
	for (int i = 0; i < _NSIG; i++) { /* Linux's flush_signal_handlers */
		struct k_sigaction *ka = &p->sighand->action[i];
#ifndef MUTATION_EXEC_KEEPS_HANDLERS
		if (ka->handler != SIG_IGN)
			ka->handler = SIG_DFL;
#endif
		ka->flags = 0;
		ka->restorer = 0;
		ka->mask = 0;
	}
	t->sig.sas_ss_sp = t->sig.sas_ss_size = 0;
	t->sig.sas_ss_flags = 0;
	spin_unlock(&p->sighand->siglock);
	return 0;
}

void signal_exit(void)
{
	struct thread *t = current;
	if (!t->proc || !t->proc->sighand)
		return;
	spin_lock(&tasklist_lock);
	spin_lock(&t->proc->sighand->siglock);
	t->sig.exiting = true;
	retarget_shared_pending(~t->sig.blocked);
	bool stopped = stop_participate(t); /* a group stop need not wait for t */
	spin_unlock(&t->proc->sighand->siglock);
	if (stopped)
		notify_parent_cldstop(t->proc, CLD_STOPPED);
	spin_unlock(&tasklist_lock);
}

bool do_notify_parent(struct process *p)
{
	assert_spin_locked(&tasklist_lock);
	struct process *parent = p->parent;
	int sig = p->exit_signal;
	if (!parent || !parent->sighand)
		return false;
	int st = p->exit_code;
	struct ksiginfo info = { .signo = sig, .pid = p->pid };
	if (st & 0x7f) {
		info.code = st & 0x80 ? CLD_DUMPED : CLD_KILLED;
		info.status = st & 0x7f;
	} else {
		info.code = CLD_EXITED;
		info.status = (st >> 8) & 0xff;
	}
	spin_lock(&parent->sighand->siglock);
	bool autoreap = false;
	struct k_sigaction *ka = sig_action(parent, SIGCHLD);
	if (sig == SIGCHLD && (ka->handler == SIG_IGN || (ka->flags & SA_NOCLDWAIT))) {
		autoreap = true; /* POSIX: no zombie for a parent that ignores SIGCHLD */
		if (ka->handler == SIG_IGN)
			sig = 0;
	}
	struct thread *t = process_target(parent);
#ifdef MUTATION_NO_SIGCHLD
	t = NULL;
#endif
	if (valid_signal(sig) && t)
		send_signal_locked(sig, &info, t, true, false);
	spin_unlock(&parent->sighand->siglock);
	return autoreap;
}

/* ---- stop and continue (Linux's group stop) ------------------------------ */

/* Tell p's parent that p stopped or continued (Linux's
 * do_notify_parent_cldstop): wait4 sees it, and SIGCHLD unless the parent
 * asked SA_NOCLDSTOP. tasklist_lock held, p's siglock not. */
static void notify_parent_cldstop(struct process *p, int why)
{
	assert_spin_locked(&tasklist_lock);
	struct process *parent = p->parent;
	if (!parent || !parent->sighand)
		return;
	struct ksiginfo info = { .signo = SIGCHLD, .code = why, .pid = p->pid };
	info.status = why == CLD_STOPPED ? READ_ONCE(p->stop_code) : SIGCONT;
	parent->child_events++;
	wake_up_all(&parent->wait_chldexit);
	spin_lock(&parent->sighand->siglock);
	struct thread *t = process_target(parent);
	if (t && !(sig_action(parent, SIGCHLD)->flags & SA_NOCLDSTOP))
		send_signal_locked(SIGCHLD, &info, t, true, false);
	spin_unlock(&parent->sighand->siglock);
}

/* A process group with no member whose parent is in another group of the
 * same session: job-control stops (SIGTSTP, SIGTTIN, SIGTTOU) are
 * discarded there (POSIX, Linux's is_current_pgrp_orphaned).
 * tasklist_lock held. */
static bool pgrp_orphaned(int pgid, int sid)
{
	struct process *q;
	list_for_each_entry (q, &all_processes, all_node)
		if (q->pgid == pgid && q->state == PROC_ALIVE && q->parent &&
		    q->parent->pgid != pgid && q->parent->sid == sid)
			return false;
	return true;
}

/* This thread's part in a group stop: counted; the last one makes the
 * process stopped. Both locks held; true: the stop just completed. */
static bool stop_participate(struct thread *t)
{
	struct process *p = t->proc;
	if (!t->sig.jobctl_stop_pending)
		return false;
	t->sig.jobctl_stop_pending = false;
	if (--p->group_stop_count > 0)
		return false;
	p->signal_flags |= SIGNAL_STOP_STOPPED;
	return true;
}

/* The stopped thread's sleep is over: SIGCONT ended the stop, or a new stop
 * that came before this thread ran again wants its part (SIGCONT, then
 * SIGSTOP at once: the old stop's condition alone would keep it asleep and
 * the new stop would never complete). */
static bool stop_sleep_over(struct thread *t, struct process *p)
{
	pause_point(PAUSE_STOP_RECHECK, p);
#ifdef MUTATION_STOP_MISSES_RESTOP
	return !(READ_ONCE(p->signal_flags) & SIGNAL_STOP_STOPPED) &&
	       !READ_ONCE(p->group_stop_count);
#endif
	return READ_ONCE(t->sig.jobctl_stop_pending) ||
	       (!(READ_ONCE(p->signal_flags) & SIGNAL_STOP_STOPPED) &&
		!READ_ONCE(p->group_stop_count));
}

/* Linux's do_signal_stop: start a group stop for sig (0: join one), stop,
 * and sleep until SIGCONT or a kill. Called with no lock held. */
static void do_signal_stop(int sig)
{
	struct thread *t = current, *o;
	struct process *p = t->proc;
	spin_lock(&tasklist_lock);
	if (sig != SIGSTOP && sig && pgrp_orphaned(p->pgid, p->sid)) {
		spin_unlock(&tasklist_lock);
		return; /* discarded */
	}
	spin_lock(&p->sighand->siglock);
	if (sig && !p->group_stop_count && !(p->signal_flags & SIGNAL_STOP_STOPPED) &&
	    !p->group_exit) {
		p->stop_code = sig;
		list_for_each_entry (o, &p->threads, group_node) {
			if (o->sig.exiting)
				continue;
			o->sig.jobctl_stop_pending = true;
			p->group_stop_count++;
			if (o != t)
				signal_wake_up(o, false);
		}
		/* A thread still asleep in the last stop (woken by SIGCONT but not
		 * run yet) must see this one: its sleep is killable only. */
		wake_up_all(&p->stop_wq);
	}
	bool done = stop_participate(t);
	recalc_sigpending();
	spin_unlock(&p->sighand->siglock);
	if (done)
		notify_parent_cldstop(p, CLD_STOPPED);
	spin_unlock(&tasklist_lock);
	/* Stopped: until SIGCONT ends the stop (a kill ends the sleep too), or
	 * a new stop wants this thread's part (then get_signal comes back). */
	wait_event_killable(p->stop_wq, stop_sleep_over(t, p));
}

/* ---- delivery ----------------------------------------------------------- */

static int next_signal(sigset_t pending, sigset_t blocked)
{
	sigset_t m = pending & ~blocked;
	if (!m)
		return 0;
	if (m & SYNCHRONOUS_MASK)
		m &= SYNCHRONOUS_MASK;
	return __builtin_ctzll(m) + 1;
}

/* Take the next unblocked signal of current (its own first, then its
 * process's): its number, or 0. siglock held. */
static int dequeue_signal(sigset_t blocked, struct ksiginfo *info)
{
	struct thread *t = current;
	struct sigpending *q = &t->sig.pending;
	int sig = next_signal(q->signal, blocked);
	if (!sig) {
		q = &t->proc->shared_pending;
		sig = next_signal(q->signal, blocked);
	}
	if (sig) {
		q->signal &= ~sigmask(sig);
		*info = q->info[sig - 1];
	}
	recalc_sigpending();
	return sig;
}

bool get_signal(struct ksignal *ksig)
{
	struct thread *t = current;
	struct process *p = t->proc;
	for (;;) {
		struct sighand_struct *sh = p->sighand;
		if (fatal_signal_pending(t))
			return false; /* exit_to_user_mode ends the thread */
		spin_lock(&sh->siglock);
		if (p->signal_flags & SIGNAL_CLD_CONTINUED) {
			p->signal_flags &= ~SIGNAL_CLD_CONTINUED;
			spin_unlock(&sh->siglock);
			spin_lock(&tasklist_lock);
			notify_parent_cldstop(p, CLD_CONTINUED);
			spin_unlock(&tasklist_lock);
			continue;
		}
		if (t->sig.jobctl_stop_pending) {
			spin_unlock(&sh->siglock);
			do_signal_stop(0);
			continue;
		}
		int sig = dequeue_signal(t->sig.blocked, &ksig->info);
		if (!sig) {
			spin_unlock(&sh->siglock);
			return false;
		}
		struct k_sigaction *ka = sig_action(p, sig);
		if (ka->handler == SIG_IGN) {
			spin_unlock(&sh->siglock);
			continue;
		}
		if (ka->handler != SIG_DFL) {
			ksig->sig = sig;
			ksig->ka = *ka;
#ifndef MUTATION_RESETHAND_IGNORED
			if (ka->flags & SA_RESETHAND)
				ka->handler = SIG_DFL;
#endif
			spin_unlock(&sh->siglock);
			return true;
		}
		bool ignore = sig_in(sig, SIG_KERNEL_IGNORE_MASK);
		if ((p->signal_flags & SIGNAL_UNKILLABLE) && !sig_in(sig, SIG_KERNEL_ONLY_MASK))
			ignore = true;
		spin_unlock(&sh->siglock);
		if (ignore)
			continue;
		if (sig_in(sig, SIG_KERNEL_STOP_MASK)) {
#ifndef MUTATION_STOP_IGNORED
			do_signal_stop(sig);
#endif
			continue;
		}
		if (sig_in(sig, SYNCHRONOUS_MASK))
			printk("user: thread %d (%s) killed by signal %d (code %d, addr %#lx)\n",
			       t->pid, t->name, sig, ksig->info.code, ksig->info.addr);
		do_group_exit(sig); /* no core dumps: RLIMIT_CORE is 0 */
	}
}

sigset_t sigmask_to_save(void)
{
	struct thread *t = current;
	return t->sig.restore_sigmask ? t->sig.saved_sigmask : t->sig.blocked;
}

void restore_saved_sigmask(void)
{
	struct thread *t = current;
	if (t->sig.restore_sigmask) {
		t->sig.restore_sigmask = false;
		set_current_blocked(t->sig.saved_sigmask);
	}
}

void signal_setup_done(bool failed, struct ksignal *ksig)
{
	struct thread *t = current;
	if (failed) {
		force_sigsegv(ksig->sig);
		return;
	}
	sigset_t blocked = t->sig.blocked | ksig->ka.mask;
#ifndef MUTATION_NODEFER_ALWAYS
	if (!(ksig->ka.flags & SA_NODEFER))
		blocked |= sigmask(ksig->sig);
#endif
	t->sig.restore_sigmask = false;
	set_current_blocked(blocked);
}

/* ---- sigaltstack -------------------------------------------------------- */

static bool __on_sig_stack(uint64_t sp)
{
	struct thread *t = current;
	return sp > t->sig.sas_ss_sp && sp - t->sig.sas_ss_sp <= t->sig.sas_ss_size;
}

bool on_sig_stack(uint64_t sp)
{
	if (current->sig.sas_ss_flags & SS_AUTODISARM)
		return false; /* the handler may use it again from the top */
	return __on_sig_stack(sp);
}

int sas_ss_flags(uint64_t sp)
{
	if (!current->sig.sas_ss_size)
		return SS_DISABLE;
	return on_sig_stack(sp) ? SS_ONSTACK : 0;
}

static int do_sigaltstack(const uint64_t *ss, uint64_t *oss, uint64_t sp)
{
	struct thread *t = current;
	if (oss) {
		oss[0] = t->sig.sas_ss_sp;
		oss[1] = (uint64_t)(unsigned)(sas_ss_flags(sp) | t->sig.sas_ss_flags);
		oss[2] = t->sig.sas_ss_size;
	}
	if (!ss)
		return 0;
	uint64_t ss_sp = ss[0], size = ss[2];
	unsigned flags = (unsigned)ss[1];
	if (on_sig_stack(sp))
		return -EPERM;
	unsigned mode = flags & ~SS_AUTODISARM;
	if (mode != SS_DISABLE && mode != SS_ONSTACK && mode != 0)
		return -EINVAL;
	if (mode == SS_DISABLE) {
		size = 0;
		ss_sp = 0;
	} else if (size < MINSIGSTKSZ) {
		return -ENOMEM;
	}
	t->sig.sas_ss_sp = ss_sp;
	t->sig.sas_ss_size = size;
	t->sig.sas_ss_flags = flags & SS_AUTODISARM;
	return 0;
}

int restore_altstack(uint64_t ss_sp, int ss_flags, uint64_t ss_size, uint64_t user_sp)
{
	uint64_t ss[3] = { ss_sp, (uint64_t)(unsigned)ss_flags, ss_size };
	do_sigaltstack(ss, NULL, user_sp); /* Linux squashes all but -EFAULT */
	return 0;
}

/* stack_t: void *ss_sp; int ss_flags; size_t ss_size (24 bytes). */
int64_t sys_sigaltstack(uint64_t uss, uint64_t uoss)
{
	struct {
		uint64_t sp;
		int32_t flags, pad;
		uint64_t size;
	} u;
	uint64_t ss[3], oss[3];
	if (uss) {
		if (copy_from_user(&u, uss, sizeof(u)))
			return -EFAULT;
		ss[0] = u.sp;
		ss[1] = (uint64_t)(unsigned)u.flags;
		ss[2] = u.size;
	}
	uint64_t sp = current_user_regs()->rsp;
	int err = do_sigaltstack(uss ? ss : NULL, uoss ? oss : NULL, sp);
	if (!err && uoss) {
		memset(&u, 0, sizeof(u));
		u.sp = oss[0];
		u.flags = (int32_t)oss[1];
		u.size = oss[2];
		if (copy_to_user(uoss, &u, sizeof(u)))
			return -EFAULT;
	}
	return err;
}

/* ---- siginfo to user ---------------------------------------------------- */

static bool fault_layout(int sig)
{
	return sig == SIGILL || sig == SIGFPE || sig == SIGSEGV || sig == SIGBUS || sig == SIGTRAP;
}

void ksiginfo_to_user(const struct ksiginfo *info, uint8_t out[128])
{
	memset(out, 0, 128);
	int32_t *w = (int32_t *)out;
	w[0] = info->signo;
	w[1] = info->errno_;
	w[2] = info->code;
	bool kernel_code = info->code > SI_USER && info->code < SI_KERNEL;
	if (kernel_code && fault_layout(info->signo)) {
		memcpy(out + 16, &info->addr, 8);
		return;
	}
	w[4] = info->pid;
	w[5] = info->uid;
	if (kernel_code && info->signo == SIGCHLD) {
		w[6] = info->status; /* utime, stime at 32, 40: zero */
		return;
	}
	if (info->code < 0)
		memcpy(out + 24, &info->value, 8); /* SI_TKILL, SI_QUEUE, SI_TIMER */
}

/* ---- the calls ---------------------------------------------------------- */

#define UAPI_SA_FLAGS                                                                      \
	(SA_NOCLDSTOP | SA_NOCLDWAIT | SA_SIGINFO | SA_ONSTACK | SA_RESTART | SA_NODEFER | \
	 SA_RESETHAND | 0x800u /* SA_EXPOSE_TAGBITS */ | SA_RESTORER)

int64_t sys_rt_sigaction(int sig, uint64_t uact, uint64_t uoact, uint64_t sigsetsize)
{
	struct k_sigaction act, old;
	if (sigsetsize != sizeof(sigset_t))
		return -EINVAL;
	if (uact && copy_from_user(&act, uact, sizeof(act)))
		return -EFAULT;
	if (!valid_signal(sig))
		return -EINVAL;
#ifndef MUTATION_SIGKILL_CATCHABLE
	if (uact && sig_in(sig, SIG_KERNEL_ONLY_MASK))
		return -EINVAL;
#endif
	struct thread *t = current;
	struct process *p = t->proc;
	spin_lock(&tasklist_lock);
	spin_lock(&p->sighand->siglock);
	struct k_sigaction *ka = sig_action(p, sig);
	old = *ka;
	if (uact) {
		act.flags &= UAPI_SA_FLAGS;
		act.mask &= ~SIG_KERNEL_ONLY_MASK;
		*ka = act;
		/* POSIX: setting SIG_IGN discards the pending instances. */
		if (sig_handler_ignored(act.handler, sig))
			flush_all_pending(p, sigmask(sig));
	}
	spin_unlock(&p->sighand->siglock);
	spin_unlock(&tasklist_lock);
	if (uoact && copy_to_user(uoact, &old, sizeof(old)))
		return -EFAULT;
	return 0;
}

#define SIG_BLOCK   0
#define SIG_UNBLOCK 1
#define SIG_SETMASK 2

int64_t sys_rt_sigprocmask(int how, uint64_t uset, uint64_t uoset, uint64_t sigsetsize)
{
	struct thread *t = current;
	sigset_t old = t->sig.blocked, set;
	if (sigsetsize != sizeof(sigset_t))
		return -EINVAL;
	if (uset) {
		if (copy_from_user(&set, uset, sizeof(set)))
			return -EFAULT;
		switch (how) {
		case SIG_BLOCK:
			set = old | set;
			break;
		case SIG_UNBLOCK:
			set = old & ~set;
			break;
		case SIG_SETMASK:
			break;
		default:
			return -EINVAL;
		}
#ifndef MUTATION_SIGKILL_BLOCKABLE
		set_current_blocked(set);
#else
		t->sig.blocked = set;
#endif
	}
	if (uoset && copy_to_user(uoset, &old, sizeof(old)))
		return -EFAULT;
	return 0;
}

int64_t sys_rt_sigpending(uint64_t uset, uint64_t sigsetsize)
{
	struct thread *t = current;
	if (sigsetsize > sizeof(sigset_t))
		return -EINVAL;
	spin_lock(&t->proc->sighand->siglock);
	sigset_t set = (t->sig.pending.signal | t->proc->shared_pending.signal) & t->sig.blocked;
	spin_unlock(&t->proc->sighand->siglock);
	return copy_to_user(uset, &set, sigsetsize) ? -EFAULT : 0;
}

/* Sleep until a signal is pending (interruptibly, on no queue). */
static void sleep_until_signal(uint64_t deadline_ns)
{
	struct waitq wq;
	waitq_init(&wq);
	wait_event_interruptible_deadline(wq, false, deadline_ns);
}

int64_t sys_pause(void)
{
	while (!signal_pending(current))
		sleep_until_signal(0);
	return -ERESTARTNOHAND;
}

int64_t sys_rt_sigsuspend(uint64_t uset, uint64_t sigsetsize)
{
	struct thread *t = current;
	sigset_t set;
	if (sigsetsize != sizeof(sigset_t))
		return -EINVAL;
	if (copy_from_user(&set, uset, sizeof(set)))
		return -EFAULT;
	t->sig.saved_sigmask = t->sig.blocked;
	set_current_blocked(set);
	while (!signal_pending(t))
		sleep_until_signal(0);
#ifndef MUTATION_SIGSUSPEND_KEEPS_MASK
	t->sig.restore_sigmask = true; /* after the handler's frame saved it */
#endif
	return -ERESTARTNOHAND;
}

int64_t sys_rt_sigtimedwait(uint64_t uset, uint64_t uinfo, uint64_t uts, uint64_t sigsetsize)
{
	struct thread *t = current;
	struct process *p = t->proc;
	sigset_t these;
	int64_t ts[2];
	uint64_t deadline = 0;
	if (sigsetsize != sizeof(sigset_t))
		return -EINVAL;
	if (copy_from_user(&these, uset, sizeof(these)))
		return -EFAULT;
	if (uts) {
		if (copy_from_user(ts, uts, sizeof(ts)))
			return -EFAULT;
		if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000)
			return -EINVAL;
		uint64_t ns = ts[0] >= 1000000000
				  ? (1ull << 62) /* ~146 years: forever */
				  : (uint64_t)ts[0] * 1000000000ull + (uint64_t)ts[1];
		deadline = ktime_get_ns() + ns;
	}
	these &= ~SIG_KERNEL_ONLY_MASK;
	struct ksiginfo info;
	spin_lock(&p->sighand->siglock);
	int sig = dequeue_signal(~these, &info);
	if (!sig && (!uts || ts[0] || ts[1])) {
		/* Unblock these while asleep, so a sender wakes us; real_blocked
		 * keeps them from being taken as fatal (complete_signal). */
		t->sig.real_blocked = t->sig.blocked;
		t->sig.blocked &= ~these;
		recalc_sigpending();
		spin_unlock(&p->sighand->siglock);
		while (!signal_pending(t) && (!deadline || ktime_get_ns() < deadline))
			sleep_until_signal(deadline);
		spin_lock(&p->sighand->siglock);
		t->sig.blocked = t->sig.real_blocked;
		t->sig.real_blocked = 0;
		sig = dequeue_signal(~these, &info);
	}
	spin_unlock(&p->sighand->siglock);
	if (!sig)
		return signal_pending(t) ? -EINTR : -EAGAIN;
	if (uinfo) {
		uint8_t u[128];
		ksiginfo_to_user(&info, u);
		if (copy_to_user(uinfo, u, sizeof(u)))
			return -EFAULT;
	}
	return sig;
}

/* kill/tkill/tgkill checks for a found target (root may signal anyone). */
static int check_kill(int sig)
{
	return sig == 0 || valid_signal(sig) ? 0 : -EINVAL; /* 0: existence only */
}

static int kill_one_process(struct process *p, int sig, const struct ksiginfo *info)
{
	int err = check_kill(sig);
	if (!err && sig)
		group_send_sig_locked(sig, info, p);
	return err;
}

int64_t sys_kill(int pid, int sig)
{
	struct process *me = current->proc, *p;
	struct ksiginfo info = { .signo = sig, .code = SI_USER, .pid = me->pid };
	if (pid == (int)0x80000000)
		return -ESRCH;
	spin_lock(&tasklist_lock);
	int err = -ESRCH;
	if (pid > 0) {
		struct thread *t = find_thread(pid);
		p = t ? t->proc : find_process(pid);
		if (p)
			err = kill_one_process(p, sig, &info);
	} else {
		int pgid = pid == 0 ? me->pgid : -pid;
		bool any = false;
		int ret = 0;
		list_for_each_entry (p, &all_processes, all_node) {
			if (pid == -1 ? p->pid <= 1 || p == me : p->pgid != pgid)
				continue;
			any = true;
			int e = kill_one_process(p, sig, &info);
			if (e)
				ret = e;
		}
		err = any ? ret : -ESRCH;
	}
	spin_unlock(&tasklist_lock);
	return err;
}

static int64_t do_tkill(int tgid, int tid, int sig)
{
	struct thread *me = current;
	struct ksiginfo info = { .signo = sig, .code = SI_TKILL, .pid = me->proc->pid };
	spin_lock(&tasklist_lock);
	struct thread *t = find_thread(tid);
	int err = -ESRCH;
#ifdef MUTATION_TGKILL_ANY_GROUP
	tgid = 0;
#endif
	if (t && (tgid <= 0 || t->proc->pid == tgid)) {
		err = check_kill(sig);
		if (!err && sig) {
			spin_lock(&t->proc->sighand->siglock);
			send_signal_locked(sig, &info, t, false, false);
			spin_unlock(&t->proc->sighand->siglock);
		}
	}
	spin_unlock(&tasklist_lock);
	return err;
}

/* Linux's restart_syscall: what -ERESTART_RESTARTBLOCK left to redo, once
 * (Linux's do_no_restart_syscall, -EINTR, afterwards). */
int64_t sys_restart_syscall(void)
{
	struct restart_block *rb = &current->sig.restart;
	int64_t (*fn)(struct restart_block *) = rb->fn;
	rb->fn = NULL;
	return fn ? fn(rb) : -EINTR;
}

int64_t sys_tkill(int tid, int sig)
{
	if (tid <= 0)
		return -EINVAL;
	return do_tkill(0, tid, sig);
}

int64_t sys_tgkill(int tgid, int tid, int sig)
{
	if (tid <= 0 || tgid <= 0)
		return -EINVAL;
	return do_tkill(tgid, tid, sig);
}

/* ---- for the tty (kernel/tty.c): job control ------------------------------ */

int kill_pgrp(int pgid, int sig)
{
	struct process *p;
	struct ksiginfo info = { .signo = sig, .code = SI_KERNEL };
	bool any = false;
	spin_lock(&tasklist_lock);
	list_for_each_entry (p, &all_processes, all_node)
		if (p->pgid == pgid && p->state == PROC_ALIVE) {
			group_send_sig_locked(sig, &info, p);
			any = true;
		}
	spin_unlock(&tasklist_lock);
	return any ? 0 : -ESRCH;
}

bool is_current_pgrp_orphaned(void)
{
	struct process *p = current->proc;
	spin_lock(&tasklist_lock);
	bool r = pgrp_orphaned(p->pgid, p->sid);
	spin_unlock(&tasklist_lock);
	return r;
}

bool current_sig_ignored_or_blocked(int sig)
{
	struct thread *t = current;
	struct process *p = t->proc;
	spin_lock(&p->sighand->siglock);
	bool r = (t->sig.blocked & sigmask(sig)) || sig_action(p, sig)->handler == SIG_IGN;
	spin_unlock(&p->sighand->siglock);
	return r;
}
