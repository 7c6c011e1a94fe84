/*
 * kernel/signal_types.h - the signal state a thread carries (struct
 * thread, kernel/sched.h, embeds struct thread_signal). The rules and the
 * locks are in kernel/signal.c.
 */
#ifndef KERNEL_SIGNAL_TYPES_H
#define KERNEL_SIGNAL_TYPES_H

#include "kernel/compiler.h"

#define _NSIG 64
typedef uint64_t sigset_t; /* bit sig-1 for signal sig (Linux x86-64) */

/* What the kernel keeps of a siginfo until it is delivered. */
struct ksiginfo {
	int signo, errno_, code;
	int pid, uid, status;
	uint64_t addr;	/* faults: si_addr */
	uint64_t value; /* sigqueue / timers: si_value */
	int trapno;
};

/* Pending signals: one slot per number (real-time signals are not queued
 * more than once: see kernel/signal.c). */
struct sigpending {
	sigset_t signal;
	struct ksiginfo info[_NSIG]; /* info[sig - 1] */
};

/* A call to redo after a signal with no handler (Linux's restart_block):
 * -ERESTART_RESTARTBLOCK makes the exit path re-enter the kernel with
 * restart_syscall, which runs fn (NULL: -EINTR). */
struct restart_block {
	int64_t (*fn)(struct restart_block *rb);
	uint64_t arg[6];
};

/* Per thread (Linux's task_struct fields). Guarded by the process's
 * sighand->siglock; blocked is written only by the thread itself. */
struct thread_signal {
	sigset_t blocked;
	sigset_t real_blocked;	/* rt_sigtimedwait: blocked before it */
	sigset_t saved_sigmask; /* rt_sigsuspend: restored after the handler */
	bool restore_sigmask;
	bool exiting;		  /* do_exit started: wants no more signals */
	bool jobctl_stop_pending; /* a group stop waits for this thread */
	struct sigpending pending;
	uint64_t sas_ss_sp, sas_ss_size; /* sigaltstack; size 0: none */
	unsigned sas_ss_flags;		 /* SS_AUTODISARM */
	/* The last fault's details for the frame's sigcontext (Linux's
	 * thread.trap_nr, error_code, cr2). */
	int fault_trapno;
	uint64_t fault_error_code, fault_addr;
	struct restart_block restart; /* the thread's own */
};

#endif
