/*
 * kernel/clone.c - fork, vfork and clone (Linux's kernel/fork.c:
 * copy_process, kernel_clone). Rules and lock: kernel/process.h.
 *
 * The child is a new thread that starts in the kernel with a copy of the
 * caller's user registers (the trap frame at the top of its kernel stack)
 * with rax = 0, and returns to user mode through the same exit path as a
 * system call (exit_to_user_mode: a kill that came first is honoured
 * before any user instruction runs). What it shares or copies:
 *   CLONE_VM      the address space (else dup_mm: copy-on-write, mm/fork.c)
 *   CLONE_FILES   the fd table (else dup_fd)
 *   CLONE_THREAD  the process (else a new one, child of the caller's, or of
 *                 the caller's parent with CLONE_PARENT)
 *   CLONE_SETTLS  FS base = tls (else the caller's)
 *   CLONE_PARENT_SETTID / CLONE_CHILD_SETTID  the child's id stored in the
 *                 parent's / the child's memory; CLONE_CHILD_CLEARTID the
 *                 address zeroed and woken at the child's exit
 *   CLONE_VFORK   the caller sleeps until the child execs or exits
 * FPU state and the FS/GS bases are copied (arch_dup_user_state). The
 * thread is set up completely, entered in its group under tasklist_lock
 * (refused if the group is dying: a thread born after exit_group's zap
 * would be missed by it) and only then woken (thread_wake_new).
 *
 * Refused as Linux refuses: CLONE_THREAD without CLONE_SIGHAND, CLONE_SIGHAND
 * without CLONE_VM, CLONE_FS with CLONE_NEWNS (-EINVAL); namespaces, pidfds
 * and the rest this kernel does not have are -EINVAL. The exit signal (the
 * low byte) is not checked, as in Linux 6.1's clone(2) (only clone3 checks
 * it): one that is not a valid signal is simply never sent.
 * clone3 is -ENOSYS, so glibc falls back to clone (it does on exactly that).
 */
#include "kernel/process.h"
#include "kernel/fdtable.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "kernel/syscall.h"
#include "kernel/signal.h"
#include "mm/kmalloc.h"
#include "mm/mm.h"
#include "arch/arch.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/uaccess.h"

#define CSIGNAL		     0x000000ff
#define CLONE_VM	     0x00000100
#define CLONE_FS	     0x00000200
#define CLONE_FILES	     0x00000400
#define CLONE_SIGHAND	     0x00000800
#define CLONE_PIDFD	     0x00001000
#define CLONE_PTRACE	     0x00002000
#define CLONE_VFORK	     0x00004000
#define CLONE_PARENT	     0x00008000
#define CLONE_THREAD	     0x00010000
#define CLONE_NEWNS	     0x00020000
#define CLONE_SYSVSEM	     0x00040000
#define CLONE_SETTLS	     0x00080000
#define CLONE_PARENT_SETTID  0x00100000
#define CLONE_CHILD_CLEARTID 0x00200000
#define CLONE_DETACHED	     0x00400000
#define CLONE_UNTRACED	     0x00800000
#define CLONE_CHILD_SETTID   0x01000000
#define CLONE_IO	     0x80000000
/* What this kernel does (or may ignore, as Linux ignores DETACHED, or
 * has nothing to do for: PTRACE/UNTRACED without ptrace, IO, SYSVSEM
 * without SysV semaphores, FS without per-process cwd/umask yet). */
#define CLONE_SUPPORTED                                                                 \
	(CSIGNAL | CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_PTRACE |   \
	 CLONE_VFORK | CLONE_PARENT | CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS |     \
	 CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_DETACHED | CLONE_UNTRACED | \
	 CLONE_CHILD_SETTID | CLONE_IO)

int alloc_pid(bool as_init);
struct process *process_alloc(void);
void process_link(struct process *p, struct thread *t, int pid, struct process *parent);

struct clone_start {
	struct trap_frame regs; /* the child's first user registers */
	struct mm *mm;		/* a reference for the child */
	struct files_struct *files;
	uint64_t set_child_tid;
};

/* The child's first steps, in its own context (Linux's ret_from_fork and
 * schedule_tail: CLONE_CHILD_SETTID is stored by the child, in its mm). */
static void clone_child_fn(void *arg)
{
	struct clone_start *cs = arg;
	struct thread *t = current;
	set_current_files(cs->files);
	use_mm(cs->mm);
	mmput(cs->mm);
	if (cs->set_child_tid) {
		uint32_t tid = (uint32_t)t->pid;
		copy_to_user(cs->set_child_tid, &tid, sizeof(tid)); /* Linux ignores a fault */
	}
	struct trap_frame regs = cs->regs;
	kfree(cs);
	arch_ret_from_fork(&regs);
}

static void clone_abort_fn(void *arg)
{
	(void)arg; /* thread_start calls thread_exit next */
}

/*
 * The vfork parent sleeps (killably, as Linux) until the child execs or
 * exits: mm_release completes `vfork` under tasklist_lock. If the parent is
 * killed first it takes the completion back from the child under the same
 * lock: the child cannot have passed mm_release (done is still 0), so it is
 * still alive and will find no completion to touch on a dead stack.
 */
static void wait_vfork_done(struct thread *child, struct completion *vfork)
{
#ifdef MUTATION_VFORK_NO_WAIT
	spin_lock(&tasklist_lock); /* the parent runs on at once */
	if (!vfork->done)
		child->vfork_done = NULL;
	spin_unlock(&tasklist_lock);
	return;
#endif
	if (!wait_event_killable(vfork->wq, READ_ONCE(vfork->done)))
		return;
	spin_lock(&tasklist_lock);
	if (!vfork->done)
		child->vfork_done = NULL;
	spin_unlock(&tasklist_lock);
}

static int check_clone_flags(uint64_t flags)
{
	if (flags & ~(uint64_t)CLONE_SUPPORTED)
		return -EINVAL;
	if ((flags & CLONE_THREAD) && !(flags & CLONE_SIGHAND))
		return -EINVAL;
	if ((flags & CLONE_SIGHAND) && !(flags & CLONE_VM))
		return -EINVAL;
	/* Linux: init may not make siblings (CLONE_PARENT, CLONE_THREAD is fine
	 * since 2.6.24... it refuses CLONE_PARENT only). */
	if ((flags & CLONE_PARENT) && current->proc == child_reaper)
		return -EINVAL;
	return 0;
}

/* The child's mm and fd table per the flags: references for the child. */
static int copy_mm_files(uint64_t flags, struct clone_start *cs)
{
	struct thread *t = current;
	int err = 0;
	if (flags & CLONE_VM) {
		mmget(t->mm);
		cs->mm = t->mm;
	} else {
		cs->mm = dup_mm(t->mm, &err);
		if (!cs->mm)
			return err ? err : -ENOMEM;
	}
	struct files_struct *files = current_files();
	if (!files) {
		cs->files = NULL;
#ifdef MUTATION_CLONE_FILES_ALWAYS_SHARED
	} else if (true) {
#elif defined(MUTATION_CLONE_FILES_COPIED)
	} else if (false) {
#else
	} else if (flags & CLONE_FILES) {
#endif
		get_files(files);
		cs->files = files;
	} else {
		cs->files = dup_fd(files, &err);
		if (!cs->files) {
			mmput(cs->mm);
			return err ? err : -ENOMEM;
		}
	}
	return 0;
}

/* Enter the child in the table: its own process, or the caller's. The
 * child's id, or -EINTR (the caller's group is dying) / -EAGAIN. */
static int link_child(uint64_t flags, struct thread *child, struct process *newp)
{
	struct process *me = current->proc;
	spin_lock(&tasklist_lock);
	int pid = -EINTR;
	if (me->group_exit || me->exec_thread || fatal_signal_pending(current))
		goto out;
	pid = alloc_pid(false);
	if (pid < 0)
		goto out;
	if (flags & CLONE_THREAD) {
		child->pid = pid;
		child->proc = me;
		list_add_tail(&child->group_node, &me->threads);
		me->nr_threads++;
	} else {
		struct process *parent = flags & CLONE_PARENT ? me->parent : me;
		process_link(newp, child, pid, parent);
		newp->pgid = me->pgid;
		newp->sid = me->sid;
		newp->exit_signal = flags & CSIGNAL;
	}
out:
	spin_unlock(&tasklist_lock);
	return pid;
}

static int64_t do_clone(uint64_t flags, uint64_t newsp, uint64_t parent_tid, uint64_t child_tid,
			uint64_t tls)
{
	struct thread *t = current;
	int err = check_clone_flags(flags);
	if (err)
		return err;
	struct clone_start *cs = kzalloc(sizeof(*cs));
	struct process *newp = flags & CLONE_THREAD ? NULL : process_alloc();
	struct thread *child = NULL;
	err = -ENOMEM;
	if (!cs || (!(flags & CLONE_THREAD) && !newp))
		goto fail;
	child = thread_alloc(t->name, clone_child_fn, cs, CPU_ANY);
	if (!child)
		goto fail;
	child->cpus_allowed = t->cpus_allowed; /* inherited, as Linux */
	err = arch_dup_user_state(child);
	if (!err)
		err = signal_clone(flags, child, newp); /* mask, altstack, handlers */
	if (err)
		goto fail_thread;
	err = copy_mm_files(flags, cs);
	if (err)
		goto fail_thread;
	cs->regs = *current_user_regs();
	cs->regs.rax = 0;
	if (newsp)
		cs->regs.rsp = newsp;
	if (flags & CLONE_SETTLS)
		child->user_fs_base = tls;
	if (flags & CLONE_CHILD_SETTID)
		cs->set_child_tid = child_tid;
	if (flags & CLONE_CHILD_CLEARTID)
		child->clear_child_tid = child_tid;
	struct completion vfork;
	if (flags & CLONE_VFORK) {
		init_completion(&vfork);
		child->vfork_done = &vfork;
	}
	int pid = link_child(flags, child, newp);
	if (pid < 0) {
		if (cs->files)
			put_files(cs->files);
		mmput(cs->mm);
		err = pid;
		goto fail_thread;
	}
	if (flags & CLONE_PARENT_SETTID) {
		uint32_t v = (uint32_t)pid;
		copy_to_user(parent_tid, &v, sizeof(v)); /* Linux ignores a fault here too */
	}
	thread_wake_new(child);
	if (flags & CLONE_VFORK)
		wait_vfork_done(child, &vfork);
	return pid;

fail_thread:
	/* Not started yet: it runs only to exit (its stack and FPU area are
	 * freed by the scheduler's reaper); it never reads cs. */
	child->fn = clone_abort_fn;
	thread_wake_new(child);
fail:
	kfree(cs);
	if (newp)
		sighand_put(newp->sighand);
	kfree(newp);
	return err;
}

int64_t sys_clone(uint64_t flags, uint64_t newsp, uint64_t parent_tid, uint64_t child_tid,
		  uint64_t tls)
{
	return do_clone(flags, newsp, parent_tid, child_tid, tls);
}

int64_t sys_fork(void)
{
	return do_clone(SIGCHLD, 0, 0, 0, 0);
}

int64_t sys_vfork(void)
{
	return do_clone(CLONE_VFORK | CLONE_VM | SIGCHLD, 0, 0, 0, 0);
}

int64_t sys_clone3(uint64_t uargs, uint64_t size)
{
	(void)uargs;
	(void)size;
	return -ENOSYS; /* glibc and musl fall back to clone */
}
