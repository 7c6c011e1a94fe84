/*
 * kernel/sched.h - kernel threads, a preemptive round-robin scheduler,
 * sleeping and waking.
 *
 * Each CPU has a run queue (struct runqueue in kernel/percpu.h). A thread
 * runs only on the CPUs of its affinity mask (cpus_allowed, Linux's
 * cpus_mask): one CPU for a pinned thread, every CPU for CPU_ANY, any set
 * for sched_setaffinity. An idle CPU steals queued threads from busy ones
 * whose mask allows it; a thread that finds itself on a CPU its mask no
 * longer allows moves at its next switch, before it returns to its own code. The timer tick gives 10 ms time
 * slices; preemption happens on return from an interrupt when the thread's
 * preempt_count is 0. Sleeping: wait queues and completions, with the usual
 * "set state, check condition, schedule" pattern, so no wake-up is lost.
 */
#ifndef KERNEL_SCHED_H
#define KERNEL_SCHED_H

#include "kernel/compiler.h"
#include "kernel/list.h"
#include "kernel/spinlock.h"
#include "kernel/errno.h"
#include "kernel/percpu.h" /* cpumask_t */
#include "kernel/signal_types.h"
#include "arch/arch.h"

#define CPU_ANY		   (-1)
#define THREAD_STACK_ORDER 2 /* 16 KiB kernel stacks */
#define THREAD_STACK_SIZE  (PAGE_SIZE << THREAD_STACK_ORDER)
#define STACK_END_MAGIC	   0x57aac6e0dead57acull

enum thread_state { THREAD_RUNNING, THREAD_SLEEPING, THREAD_DEAD };

/* A test can ask for a fault to be caught instead of being fatal. */
struct fault_catch {
	struct kjmp_buf jb;
	uint32_t vectors; /* bit v set: catch exception vector v */
	int vector;	  /* what happened */
	uint64_t error_code, cr2, rip;
};

struct mm;
struct files_struct;
struct rlimit64;

struct thread {
	uint64_t arch_sp; /* must be first: saved stack pointer (head.asm) */
	int tid;
	char name[24];
	volatile int state;  /* enum thread_state */
	int preempt_count;   /* >0: may not be preempted */
	int cpu;	     /* runqueue that owns us; changes under that rq lock */
	int migrate_to;	     /* -1, or the CPU __schedule() moves us to */
	bool on_rq;	     /* runnable (queued or running), under rq lock */
	volatile int on_cpu; /* 1 + the CPU it runs on, 0 once switched out */
	struct list_head rq_node;
	struct list_head timer_node;
	uint64_t wake_deadline_ns;
	void *stack; /* lowest address (vmapped, a guard page below); STACK_END_MAGIC lives there */
	void (*fn)(void *);
	void *arg;
	struct fault_catch *fault_catch;
	struct mm *mm, *active_mm; /* for address spaces (mm/) */
	struct list_head all_node;
	uint64_t runtime_ticks;
	/* Ring 3 (kernel/syscall.c, arch/x86_64): the thread's own. */
	bool user;		    /* entered user mode: fs/gs bases and FPU are live */
	uint64_t user_fs_base;	    /* saved on switch out, loaded on switch in */
	uint64_t user_gs_base;	    /* the user's GS base (MSR_KERNEL_GS_BASE in the kernel) */
	void *fpu;		    /* FXSAVE/XSAVE area of a user thread, or NULL */
	int exit_status;	    /* Linux wait status once a user thread ended */
	struct files_struct *files; /* fd table (kernel/fdtable.h); NULL: none */
	/* Processes (kernel/process.h). A kernel thread has proc == NULL. */
	struct process *proc;		  /* thread group; NULL for kernel threads */
	struct list_head group_node;	  /* proc->threads, under tasklist_lock */
	int pid;			  /* user-visible thread id (Linux's tid); 0: kernel */
	volatile bool kill_pending;	  /* fatal signal: die on the way to user mode */
	bool sleep_killable;		  /* sleeping in a killable wait (set by the thread) */
	bool sleep_interruptible;	  /* ... an interruptible one: any signal ends it */
	volatile bool sigpending;	  /* Linux's TIF_SIGPENDING (kernel/signal.c) */
	struct thread_signal sig;	  /* masks, pending, altstack (kernel/signal.c) */
	uint64_t clear_child_tid;	  /* CLONE_CHILD_CLEARTID / set_tid_address */
	uint64_t robust_list, robust_len; /* set_robust_list, recorded */
	struct completion *vfork_done;	  /* CLONE_VFORK: the parent waits on it */
	int usage;			  /* references (get_thread): 1 for its life, freed at 0 */
	/* Affinity and CPU time (kernel/sched.c), limits (kernel/sys_info.c). */
	cpumask_t cpus_allowed;	    /* written by itself, or under its rq lock */
	volatile bool recheck_cpus; /* its mask changed under it: check where it resumes */
	uint64_t sum_exec_ns;	    /* CPU time of its finished stints on a CPU */
	uint64_t exec_start_ns;	    /* ktime_get_ns() when its current stint began */
	struct rlimit64 *rlim;	    /* RLIM_NLIMITS entries, or NULL: the defaults */
	uint64_t start_ns;	    /* ktime_get_ns() at creation (/proc/PID/stat starttime) */
	/* Resource usage (kernel/rusage.c): timer ticks that found it in
	 * user or kernel mode (the user/system split of sum_exec_ns), page
	 * faults (mm/mm.c do_user_fault; fault_major set by a fault that read
	 * its page), voluntary and involuntary switches (__schedule). */
	uint64_t utime_ticks, stime_ticks;
	uint64_t min_flt, maj_flt;
	uint64_t nvcsw, nivcsw;
	uint64_t prev_utime_ns, prev_stime_ns; /* last split reported (tasklist_lock) */
	bool fault_major;
};

/* Create a thread that runs fn(arg) on `cpu` (or CPU_ANY) and starts it. */
struct thread *thread_create(const char *name, void (*fn)(void *), void *arg, int cpu);
/* thread_create in two steps (Linux's copy_process + wake_up_new_task):
 * a thread that does not run until thread_wake_new, so its creator can
 * finish setting it up (clone). A thread never woken cannot be freed:
 * wake it, and let it exit if the set-up failed. */
struct thread *thread_alloc(const char *name, void (*fn)(void *), void *arg, int cpu);
void thread_wake_new(struct thread *t);
void thread_exit(void) __noreturn;
/* Keep a thread's struct (not its life) past its death: Linux's
 * get_task_struct/put_task_struct. get_thread only on a thread known to
 * be alive (found under tasklist_lock in its group); the last put frees. */
static inline void get_thread(struct thread *t)
{
	__atomic_add_fetch(&t->usage, 1, __ATOMIC_RELAXED);
}
void put_thread(struct thread *t);
static inline struct thread *current_thread(void);
void schedule(void);
void yield(void);
/* Move the current thread to `cpu` and pin it there (CPU_ANY: unpin). */
void sched_migrate(int cpu);
/* t may run only on the online CPUs of mask: -EINVAL if there is none.
 * The current thread moves at once if its CPU is not in the mask; another
 * thread before it next runs its own code (any thread: clone can give a
 * child its parent's mask right after thread_create). */
int set_cpus_allowed(struct thread *t, const cpumask_t *mask);
static inline bool thread_cpu_allowed(const struct thread *t, int cpu)
{
	return cpumask_test(&t->cpus_allowed, cpu);
}
/* Nanoseconds t has run on a CPU (Linux's sum_exec_runtime), up to now. */
uint64_t thread_cputime_ns(struct thread *t);
bool wake_up_thread(struct thread *t);
/* Wake t, but only note in *kicks the CPU that needs a resched IPI; the
 * caller sends it with sched_kick_cpus() once it holds no lock the woken
 * thread may want (kernel/sched.c, "Kicks"). */
bool wake_up_thread_kick(struct thread *t, cpumask_t *kicks);
void sched_kick_cpus(const cpumask_t *kicks);
void sleep_ms(uint64_t ms);
void sched_init_cpu(int cpu);		/* the code running now becomes cpu's idle thread */
void sched_start_cpu(void) __noreturn;	/* each CPU: become the idle thread */
void sched_tick(bool user_mode);	/* timer interrupt */
void sched_irq_exit(bool irqs_were_on); /* return from interrupt: preempt? */
int sched_thread_count(void);
/* /proc/stat and /proc/loadavg (kernel/fs/procfs.c): the time CPU cpu has
 * spent in its idle thread and in user threads (ring 3 and their system
 * calls: the split is not kept), up to now, in ns; the threads runnable
 * now (queued or running, idle threads not counted); Linux's avenrun[]
 * (fixed point, FSHIFT 11), updated every 5 s by CPU 0's tick. */
void sched_cpu_times(int cpu, uint64_t *idle_ns, uint64_t *user_ns);
int sched_nr_running(void);
void sched_loadavg(unsigned long loads[3]);
#define LOAD_FSHIFT  11
#define LOAD_FIXED_1 (1ul << LOAD_FSHIFT)
void sched_dump(void);
/* Threads with tid >= min_tid and where each one is (backtraces). */
void sched_dump_stacks(int min_tid);
/* Pages of kernel stacks, in use or cached: kept for good once allocated. */
uint64_t sched_stack_pages_kept(void);
/* The tid the next thread_create() will hand out. */
int sched_next_tid(void);

void preempt_disable(void);
void preempt_enable(void);
void preempt_enable_no_resched(void);

/* Wait queues. */
struct waitq {
	spinlock_t lock;
	struct list_head waiters;
};
struct waiter {
	struct thread *thread;
	struct list_head node;
};
void waitq_init(struct waitq *wq);
void prepare_to_wait(struct waitq *wq, struct waiter *w);
void finish_wait(struct waitq *wq, struct waiter *w);
/* prepare_to_wait for a sleep that a fatal signal ends (Linux's
 * TASK_KILLABLE): kill_thread() wakes only such sleeps, so a thread in an
 * ordinary sleep (an rwsem, a page lock) never sees a spurious wake-up. */
void prepare_to_wait_killable(struct waitq *wq, struct waiter *w);
/* prepare_to_wait for a sleep that any signal ends (Linux's
 * TASK_INTERRUPTIBLE): signal_wake_up_state() wakes it. */
void prepare_to_wait_interruptible(struct waitq *wq, struct waiter *w);
/* A fatal signal is pending for t: it leaves at its next return to user
 * mode; killable sleeps give up with -EINTR. */
static inline bool fatal_signal_pending(struct thread *t)
{
	return READ_ONCE(t->kill_pending);
}
/* A signal is pending for t (or it is being killed): interruptible sleeps
 * give up, and the way back to user mode delivers it (kernel/signal.c). */
static inline bool signal_pending(struct thread *t)
{
	return READ_ONCE(t->sigpending) || READ_ONCE(t->kill_pending);
}
/* Mark t killed: wake it if in a killable sleep, and make the CPU running
 * it (in user mode, maybe) enter the kernel at once (an IPI). */
void kill_thread(struct thread *t);
/* t->sigpending (or kill_pending) was just set: wake it from an
 * interruptible sleep (a killable one too if `killable`), and kick the CPU
 * running it into the kernel (Linux's signal_wake_up_state). */
void signal_wake_up_state(struct thread *t, bool killable);
void wake_up_all(struct waitq *wq);
uint64_t ktime_get_ns(void);

/* Sleep until cond is true. */
#define wait_event(wq, cond)                          \
	do {                                          \
		struct waiter __w = { 0 };            \
		for (;;) {                            \
			prepare_to_wait(&(wq), &__w); \
			if (cond)                     \
				break;                \
			schedule();                   \
		}                                     \
		finish_wait(&(wq), &__w);             \
	} while (0)

/* Sleep until cond is true or ms elapsed; evaluates to cond's final value. */
#define wait_event_timeout(wq, cond, ms)                                    \
	({                                                                  \
		struct waiter __w = { 0 };                                  \
		uint64_t __dl = ktime_get_ns() + (uint64_t)(ms)*1000000ull; \
		bool __ok;                                                  \
		for (;;) {                                                  \
			prepare_to_wait(&(wq), &__w);                       \
			if ((__ok = (cond)) || ktime_get_ns() >= __dl)      \
				break;                                      \
			schedule_timeout_deadline(__dl);                    \
		}                                                           \
		finish_wait(&(wq), &__w);                                   \
		__ok;                                                       \
	})
/* Sleep until cond, or a fatal signal, or an absolute deadline on
 * ktime_get_ns() (0: none): 0, -EINTR or -ETIMEDOUT (cond is checked first). */
#define wait_event_killable_deadline(wq, cond, deadline_ns)      \
	({                                                       \
		struct waiter __w = { 0 };                       \
		uint64_t __dl = (deadline_ns);                   \
		int __ret = 0;                                   \
		for (;;) {                                       \
			prepare_to_wait_killable(&(wq), &__w);   \
			if (cond)                                \
				break;                           \
			if (fatal_signal_pending(current)) {     \
				__ret = -EINTR;                  \
				break;                           \
			}                                        \
			if (__dl && ktime_get_ns() >= __dl) {    \
				__ret = -ETIMEDOUT;              \
				break;                           \
			}                                        \
			if (__dl)                                \
				schedule_timeout_deadline(__dl); \
			else                                     \
				schedule();                      \
		}                                                \
		finish_wait(&(wq), &__w);                        \
		__ret;                                           \
	})
/* Sleep until cond, or a fatal signal: 0 or -EINTR. */
#define wait_event_killable(wq, cond) wait_event_killable_deadline(wq, cond, 0)
/* Sleep until cond, or any signal (Linux's wait_event_interruptible), with
 * an absolute deadline on ktime_get_ns() (0: none): 0, -ERESTARTSYS or
 * -ETIMEDOUT (cond is checked first). */
#define wait_event_interruptible_deadline(wq, cond, deadline_ns)    \
	({                                                          \
		struct waiter __w = { 0 };                          \
		uint64_t __dl = (deadline_ns);                      \
		int __ret = 0;                                      \
		for (;;) {                                          \
			prepare_to_wait_interruptible(&(wq), &__w); \
			if (cond)                                   \
				break;                              \
			if (signal_pending(current)) {              \
				__ret = -ERESTARTSYS;               \
				break;                              \
			}                                           \
			if (__dl && ktime_get_ns() >= __dl) {       \
				__ret = -ETIMEDOUT;                 \
				break;                              \
			}                                           \
			if (__dl)                                   \
				schedule_timeout_deadline(__dl);    \
			else                                        \
				schedule();                         \
		}                                                   \
		finish_wait(&(wq), &__w);                           \
		__ret;                                              \
	})
#define wait_event_interruptible(wq, cond) wait_event_interruptible_deadline(wq, cond, 0)
/* Sleep (state already set) until woken or the deadline passes. */
void schedule_timeout_deadline(uint64_t deadline_ns);

/* Completions: one-shot events. */
struct completion {
	volatile int done;
	struct waitq wq;
};
void init_completion(struct completion *c);
void complete(struct completion *c);
void wait_for_completion(struct completion *c);
bool wait_for_completion_timeout(struct completion *c, uint64_t ms);

/* One load (see arch_impl.h): `this_cpu()->curr` could be preempted between
 * its two loads, the thread moved to another CPU, and the other CPU's
 * running thread returned. Seen as a CPU_ANY thread that, stolen right after
 * the `sti` in thread_start, called the fn of the thread running on the CPU
 * it had left (a NULL fn for an idle thread: a jump to 0; main_thread for the
 * main thread: a second test run printing a second `KTAP version 1`). */
static inline struct thread *current_thread(void)
{
#ifdef MUTATION_CURRENT_TWO_LOADS
	return this_cpu()->curr;
#else
	return (struct thread *)this_cpu_read_ulong(__builtin_offsetof(struct cpu, curr));
#endif
}
#define current current_thread()

#endif
