/*
 * kernel/signal.h - POSIX signals as Linux x86-64 delivers them. The rules
 * and the locks are at the top of kernel/signal.c; the frame on the user
 * stack and rt_sigreturn are arch/x86_64/signal.c.
 */
#ifndef KERNEL_SIGNAL_H
#define KERNEL_SIGNAL_H

#include "kernel/compiler.h"
#include "kernel/signal_types.h"
#include "kernel/spinlock.h"
#include "kernel/atomic.h"

#define SIGHUP	  1
#define SIGINT	  2
#define SIGQUIT	  3
#define SIGILL	  4
#define SIGTRAP	  5
#define SIGABRT	  6
#define SIGBUS	  7
#define SIGFPE	  8
#define SIGKILL	  9
#define SIGUSR1	  10
#define SIGSEGV	  11
#define SIGUSR2	  12
#define SIGPIPE	  13
#define SIGALRM	  14
#define SIGTERM	  15
#define SIGSTKFLT 16
#define SIGCHLD	  17
#define SIGCONT	  18
#define SIGSTOP	  19
#define SIGTSTP	  20
#define SIGTTIN	  21
#define SIGTTOU	  22
#define SIGURG	  23
#define SIGXCPU	  24
#define SIGXFSZ	  25
#define SIGVTALRM 26
#define SIGPROF	  27
#define SIGWINCH  28
#define SIGIO	  29
#define SIGPWR	  30
#define SIGSYS	  31
#define SIGRTMIN  32

#define sigmask(sig) (1ull << ((sig)-1))

#define SIG_DFL 0ull
#define SIG_IGN 1ull

#define SA_NOCLDSTOP 0x00000001u
#define SA_NOCLDWAIT 0x00000002u
#define SA_SIGINFO   0x00000004u
#define SA_RESTORER  0x04000000u
#define SA_ONSTACK   0x08000000u
#define SA_RESTART   0x10000000u
#define SA_NODEFER   0x40000000u
#define SA_RESETHAND 0x80000000u

/* si_code values (Linux's uapi/asm-generic/siginfo.h). */
#define SI_USER	      0
#define SI_KERNEL     0x80
#define SI_QUEUE      (-1)
#define SI_TIMER      (-2)
#define SI_TKILL      (-6)
#define ILL_ILLOPN    2
#define FPE_INTDIV    1
#define FPE_FLTDIV    3
#define FPE_FLTOVF    4
#define FPE_FLTUND    5
#define FPE_FLTRES    6
#define FPE_FLTINV    7
#define SEGV_MAPERR   1
#define SEGV_ACCERR   2
#define BUS_ADRALN    1
#define BUS_ADRERR    2
#define TRAP_BRKPT    1
#define TRAP_TRACE    2
#define CLD_EXITED    1
#define CLD_KILLED    2
#define CLD_DUMPED    3
#define CLD_STOPPED   5
#define CLD_CONTINUED 6

#define SS_ONSTACK    1
#define SS_DISABLE    2
#define SS_AUTODISARM (1u << 31)
#define MINSIGSTKSZ   2048

struct k_sigaction {
	uint64_t handler, flags, restorer;
	sigset_t mask;
};

/* The handler table: one per process, shared by CLONE_SIGHAND. */
struct sighand_struct {
	atomic_t count;
	spinlock_t siglock; /* this table, and the pending sets and masks of
			     * every thread and process that uses it */
	struct k_sigaction action[_NSIG];
};

/* A signal dequeued for delivery to a handler. */
struct ksignal {
	int sig;
	struct k_sigaction ka;
	struct ksiginfo info;
};

struct thread;
struct process;

/* ---- life of the signal state (process start, clone, execve, exit) ---- */
struct sighand_struct *sighand_alloc(void); /* every action SIG_DFL */
void sighand_put(struct sighand_struct *sh);
/* clone: the child's mask, altstack and handler table per the flags
 * (newp: the new process, NULL with CLONE_THREAD). 0 or -ENOMEM. */
int signal_clone(uint64_t clone_flags, struct thread *child, struct process *newp);
/* execve: an own handler table, handlers reset to SIG_DFL except SIG_IGN,
 * no altstack; masks and pending signals kept. 0 or -ENOMEM. */
int signal_exec(void);
/* do_exit: current wants no more signals; shared ones go to the others. */
void signal_exit(void);
/* exit_notify: tell p's parent (tasklist_lock held). true: the parent
 * ignores SIGCHLD, p is reaped at once (Linux's autoreap). */
bool do_notify_parent(struct process *p);

/* ---- sending ------------------------------------------------------------ */
/* A fault or a kernel condition on the current thread (Linux's
 * force_sig_fault): unblocked and un-ignored if need be. */
void force_sig_fault(int sig, int code, uint64_t addr, int trapno, uint64_t error_code);
void force_sig(int sig);
/* Deliver SIGSEGV because setting up the frame for sig failed. */
void force_sigsegv(int sig);
/* SIGPIPE to the current thread (pipe write with no reader). */
void send_sigpipe(void);
/* A process-directed signal from the kernel (SI_KERNEL-like, e.g. SIGALRM
 * with SI_TIMER); tasklist_lock held, p alive or zombie. */
void kernel_send_process(struct process *p, int sig, int code);
/* The tty's job control (kernel/tty.c): sig to every live process of
 * group pgid (0 or -ESRCH); current's group is orphaned; sig is ignored
 * or blocked by the current thread. No lock held. */
int kill_pgrp(int pgid, int sig);
bool is_current_pgrp_orphaned(void);
bool current_sig_ignored_or_blocked(int sig);

/* ---- delivery (the way back to user mode) ------------------------------- */
/* Dequeue the next signal current must handle; default actions (ignore,
 * terminate) are taken here. true: ksig is for a handler. */
bool get_signal(struct ksignal *ksig);
/* After the arch built the frame (failed: it could not). */
void signal_setup_done(bool failed, struct ksignal *ksig);
/* The mask the frame saves (sigsuspend's saved one if any). */
sigset_t sigmask_to_save(void);
/* No handler ran: sigsuspend's saved mask comes back. */
void restore_saved_sigmask(void);
void set_current_blocked(sigset_t set);
/* sigaltstack state for the frame (Linux's on_sig_stack, sas_ss_flags). */
bool on_sig_stack(uint64_t sp);
int sas_ss_flags(uint64_t sp);
/* rt_sigreturn: the saved uc_stack (errors other than -EFAULT ignored). */
int restore_altstack(uint64_t ss_sp, int ss_flags, uint64_t ss_size, uint64_t user_sp);
/* siginfo as the user sees it (128 bytes, Linux's layout). */
void ksiginfo_to_user(const struct ksiginfo *info, uint8_t out[128]);

/* ---- the calls ---------------------------------------------------------- */
int64_t sys_rt_sigaction(int sig, uint64_t uact, uint64_t uoact, uint64_t sigsetsize);
int64_t sys_rt_sigprocmask(int how, uint64_t uset, uint64_t uoset, uint64_t sigsetsize);
int64_t sys_rt_sigpending(uint64_t uset, uint64_t sigsetsize);
int64_t sys_rt_sigsuspend(uint64_t uset, uint64_t sigsetsize);
int64_t sys_rt_sigtimedwait(uint64_t uset, uint64_t uinfo, uint64_t uts, uint64_t sigsetsize);
int64_t sys_pause(void);
int64_t sys_sigaltstack(uint64_t uss, uint64_t uoss);
int64_t sys_kill(int pid, int sig);
int64_t sys_tkill(int tid, int sig);
int64_t sys_tgkill(int tgid, int tid, int sig);
int64_t sys_rt_sigreturn(void); /* arch/x86_64/signal.c */
int64_t sys_restart_syscall(void);

#endif
