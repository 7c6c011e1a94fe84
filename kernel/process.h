/*
 * kernel/process.h - processes, thread groups and their life (Linux's
 * signal_struct + the parts of task_struct that make a process).
 *
 * A process is a thread group: the threads made by clone(CLONE_THREAD)
 * share one struct process, one pid (Linux's tgid: the first thread's id)
 * and one exit status. Each thread also has its own user-visible id,
 * thread->pid (Linux's tid; gettid). Kernel threads have no process and pid
 * 0. Ids come from one counter (kernel/process.c): 1 is kept for the
 * init= program, the rest count up from 2 and are never reused while the
 * kernel runs (4 million of them before the counter wraps, as Linux's
 * pid_max on 64-bit; past it clone fails with -EAGAIN).
 *
 * Life of a process:
 *   ALIVE   threads running; nr_threads counts them.
 *   ZOMBIE  the last thread left (kernel/exit.c): mm and files already
 *           released, the exit status kept for the parent's wait4/waitid.
 *   freed   reaped by the parent, or at once when nobody will wait: a
 *           process started by the kernel (parent NULL, its exit_notify
 *           called instead) or an orphan with no init to inherit it.
 * When a process dies its children go to the child reaper (the init=
 * process, pid 1) as on Linux, or have no parent if there is none.
 *
 * exit_group (and a fault that kills, and execve's de_thread) ends the
 * other threads with kill_thread (kernel/sched.h): the flag is seen on the
 * way back to user mode (an IPI brings a thread running user code on
 * another CPU there at once), and killable and interruptible sleeps give
 * up: interruptible (any signal, kernel/signal.c): pipe read/write,
 * wait4/waitid, futex waits, nanosleep/clock_nanosleep, pause,
 * rt_sigsuspend, rt_sigtimedwait; killable (fatal
 * signals only): de_thread, the vfork parent. A thread in the middle of a
 * page fault or an uninterruptible kernel sleep (rwsem, page lock)
 * finishes it first, then leaves. Signals: kernel/signal.c.
 *
 * Lock: tasklist_lock (a spinlock, never taken from interrupts) guards
 * every list here (all processes, children, threads), the parent pointers,
 * nr_threads, state and the exit fields. It nests outside the scheduler's
 * rq locks (kill_thread under it) and outside waitq locks.
 */
#ifndef KERNEL_PROCESS_H
#define KERNEL_PROCESS_H

#include "kernel/compiler.h"
#include "kernel/list.h"
#include "kernel/atomic.h"
#include "kernel/sched.h"
#include "kernel/spinlock.h"
#include "kernel/signal_types.h"

#define PID_MAX_LIMIT (4 * 1024 * 1024) /* Linux's pid_max ceiling on 64-bit */

enum process_state { PROC_ALIVE, PROC_ZOMBIE };

struct process {
	int pid;		   /* Linux's tgid */
	int pgid, sid;		   /* inherited; init's are 1 (issue 15 adds setsid/setpgid) */
	enum process_state state;  /* tasklist_lock */
	struct process *parent;	   /* NULL: started by the kernel, or orphaned */
	struct list_head children; /* struct process.sibling */
	struct list_head sibling;  /* in parent->children */
	struct list_head threads;  /* struct thread.group_node: live threads */
	struct list_head all_node; /* all_processes */
	struct thread *leader;	   /* the thread whose id is pid (NULL once it left) */
	int nr_threads;		   /* live threads */
	int exit_signal;	   /* sent to the parent at death (SIGCHLD, or clone's) */
	bool group_exit;	   /* exit_group or a fatal signal: all threads leave */
	int group_exit_code;	   /* wait status then */
#ifdef MUTATION_STATUS_OF_LEADER
	int leader_exit_code; /* the status the leader left with (before Linux 6.0) */
#endif
	int exit_code;		    /* ZOMBIE: the wait status wait4 reports */
	struct thread *exec_thread; /* running de_thread: the others must leave */
	uint64_t child_events;	    /* bumped when a child changes state */
	struct waitq wait_chldexit; /* wait4/waitid sleep here */
	struct waitq group_wq;	    /* de_thread waits here for the others to leave */
	uint64_t cputime_dead_ns;   /* CPU time of threads that already left */
	/* Resource usage (kernel/rusage.c), under tasklist_lock: the sums of
	 * the threads that left (Linux's signal->utime, min_flt, ...: ticks,
	 * faults, switches), the RSS its threads left with (pages), and the
	 * totals of the children it reaped and of theirs (cutime, ...). */
	uint64_t dead_utime_ticks, dead_stime_ticks, dead_min_flt, dead_maj_flt;
	uint64_t dead_nvcsw, dead_nivcsw, maxrss;
	uint64_t cutime_ns, cstime_ns, cmin_flt, cmaj_flt, cnvcsw, cnivcsw, cmaxrss;
	uint64_t prev_utime_ns, prev_stime_ns; /* last split reported (together) */
	/* A process started by the kernel (no parent): called by its last
	 * thread, with t->exit_status = the process's wait status. */
	void (*exit_notify)(struct thread *t, void *arg);
	void *exit_arg;
	/* Signals (kernel/signal.c): the handler table (shared with
	 * CLONE_SIGHAND) and, under its siglock, the process-directed
	 * pending signals and the flags. */
	struct sighand_struct *sighand;
	struct sigpending shared_pending;
	unsigned signal_flags; /* SIGNAL_* below */
	int group_stop_count;  /* threads still to stop (a group stop going on) */
	int stop_code;	       /* the stop signal; 0 once wait4 reported it */
	struct waitq stop_wq;  /* stopped threads sleep here until SIGCONT */
	/* ITIMER_REAL (kernel/itimer.c): 0 when disarmed; under its lock. */
	uint64_t it_real_expires_ns, it_real_interval_ns;
	struct list_head itimer_node;
	/* /proc (kernel/fs/procfs.c): the path the running program was
	 * execve'd by (Linux's mm->exe_file; inherited at fork, replaced by
	 * execve, dropped at release), and `mm_changing`, set while execve
	 * swaps the address space: /proc then waits before it reads a
	 * thread's mm. Both under tasklist_lock. */
	struct exe_path *exe;
	bool mm_changing;
	/* Files (kernel/sys_file.c): the working directory, an absolute
	 * normalized path (NULL: "/"), and the umask; inherited at fork, kept
	 * by execve. cwd under tasklist_lock, as exe. */
	struct exe_path *cwd;
	unsigned umask;
};

/* A reference-counted path (struct process.exe). */
struct exe_path {
	atomic_t ref;
	char path[];
};
struct exe_path *exe_path_new(const char *path); /* NULL: no memory */
void exe_path_get(struct exe_path *e);
void exe_path_put(struct exe_path *e); /* NULL is fine */
/* execve: p runs the program at path now (path copied; on no memory the
 * old one is kept). */
void process_set_exe(struct process *p, const char *path);

#define SIGNAL_UNKILLABLE     0x1u  /* init: signals it has no handler for are dropped */
#define SIGNAL_STOP_STOPPED   0x2u  /* every thread stopped (a stop signal) */
#define SIGNAL_STOP_CONTINUED 0x4u  /* continued, not yet reported (WCONTINUED) */
#define SIGNAL_CLD_CONTINUED  0x10u /* continued: tell the parent (CLD_CONTINUED) */

extern spinlock_t tasklist_lock;
extern struct list_head all_processes; /* struct process.all_node */

/* The init= process once started: orphans are given to it, and signals
 * it has no handler for are not delivered to it. NULL: none. */
extern struct process *child_reaper;

/* ---- lookups (tasklist_lock held) ---------------------------------------- */
struct process *find_process(int pid);
struct thread *find_thread(int tid); /* a live user thread by its tid */

/* ---- starting programs from the kernel ----------------------------------- */
struct files_struct;
struct mm;
/*
 * A new process (no parent) entering user mode in mm at rip with rsp (from
 * kernel_execve_prepare: r.mm, r.entry, r.sp), with the fd table `files`
 * (the reference passes to it; NULL: none), one thread on `cpu` (or
 * CPU_ANY). notify(t, arg) runs when the process dies, t->exit_status
 * holding its wait status. as_init: it gets pid 1 and becomes the child
 * reaper. The caller keeps its mm reference. The thread, or NULL (no ids or no
 * memory: nothing left behind, files still the caller's).
 */
struct thread *process_start(const char *name, struct mm *mm, uint64_t rip, uint64_t rsp,
			     struct files_struct *files, int cpu, bool as_init,
			     void (*notify)(struct thread *t, void *arg), void *arg);

/* The program at path (kernel_execve_prepare: argv and envp kernel
 * strings) as a new process with stdin, stdout and stderr on the console,
 * its thread on cpu or CPU_ANY (tests, benchmarks, init=): its pid, or
 * execve's errno, -ENOMEM. */
int process_spawn(const char *path, char *const argv[], char *const envp[], int cpu, bool as_init,
		  void (*notify)(struct thread *t, void *arg), void *arg);

/* Tests that enter user mode by hand: the calling kernel thread becomes
 * the only thread of a new process (no parent). 0 or -ENOMEM/-EAGAIN. */
int process_attach_current(void (*notify)(struct thread *t, void *arg), void *arg);

/* ---- the life of threads and processes (kernel/exit.c, kernel/clone.c) --- */
/* End the calling thread with a wait status (the process's if it is the
 * last, unless a group exit set one). */
void do_exit(int status) __noreturn;
/* End the whole process with a wait status: the other threads are killed. */
void do_group_exit(int status) __noreturn;
/* Kill every other thread of current's process (for exit_group and
 * de_thread); the count of threads killed. tasklist_lock held. */
int zap_other_threads(struct process *p);
/* Kill every thread of p, which dies with `status` unless it is dying
 * already (Linux's zap_process, what a fatal signal does). tasklist_lock
 * held. */
void zap_process(struct process *p, int status);
/* Kill process pid and every process descended from it (a test's hung
 * program and its children): how many. */
int kill_process_tree(int pid, int status);
/* execve's de_thread: end the other threads and wait until they are gone.
 * 0, or -EINTR (another thread is exiting or execing the group). */
int de_thread(void);
/* execve, past the point of no return: the CLONE_CHILD_CLEARTID store and
 * wake, and the vfork parent let go (Linux's mm_release). */
void mm_release(struct thread *t);
/* A user thread's CPU time so far, and its whole process's (sys_time.c). */
uint64_t process_cputime_ns(struct thread *t);

/* The calls (Linux's signatures; user pointers as uint64_t). */
int64_t sys_clone(uint64_t flags, uint64_t newsp, uint64_t parent_tid, uint64_t child_tid,
		  uint64_t tls);
int64_t sys_fork(void);
int64_t sys_vfork(void);
int64_t sys_clone3(uint64_t uargs, uint64_t size);
int64_t sys_wait4(int pid, uint64_t ustatus, int options, uint64_t urusage);
int64_t sys_waitid(int which, int id, uint64_t uinfo, int options, uint64_t urusage);
int64_t sys_getpid(void);
int64_t sys_gettid(void);
int64_t sys_getppid(void);
int64_t sys_getpgrp(void);
int64_t sys_getpgid(int pid);
int64_t sys_getsid(int pid);
int64_t sys_set_tid_address(uint64_t tidptr);
int64_t sys_exit(int code);
int64_t sys_exit_group(int code);
int64_t sys_execve(uint64_t upath, uint64_t uargv, uint64_t uenvp);

/* Tests: processes alive or zombie (not yet freed). */
int process_count(void);

#endif
