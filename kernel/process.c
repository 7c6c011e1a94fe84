/*
 * kernel/process.c - the process table: ids, lookups, processes started
 * by the kernel, and the id system calls. The rules and the lock are in
 * kernel/process.h; exit and wait are in kernel/exit.c, clone in
 * kernel/clone.c, execve in kernel/exec.c.
 */
#include "kernel/process.h"
#include "kernel/fdtable.h"
#include "kernel/exec.h"
#include "kernel/console_file.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "kernel/syscall.h"
#include "kernel/signal.h"
#include "kernel/itimer.h"
#include "mm/kmalloc.h"
#include "mm/mm.h"

DEFINE_SPINLOCK(tasklist_lock);
struct process *child_reaper;
LIST_HEAD(all_processes);
static int next_pid = 2; /* 1 is init's */
static int nr_processes;

/* A fresh id; -EAGAIN once the ids run out. tasklist_lock held. */
int alloc_pid(bool as_init)
{
	assert_spin_locked(&tasklist_lock);
	if (as_init)
		return find_process(1) ? -EAGAIN : 1;
	if (next_pid >= PID_MAX_LIMIT)
		return -EAGAIN;
	return next_pid++;
}

struct process *find_process(int pid)
{
	assert_spin_locked(&tasklist_lock);
	struct process *p;
	list_for_each_entry (p, &all_processes, all_node)
		if (p->pid == pid)
			return p;
	return NULL;
}

struct thread *find_thread(int tid)
{
	assert_spin_locked(&tasklist_lock);
	struct process *p;
	struct thread *t;
	list_for_each_entry (p, &all_processes, all_node)
		list_for_each_entry (t, &p->threads, group_node)
			if (t->pid == tid)
				return t;
	return NULL;
}

int process_count(void)
{
	return READ_ONCE(nr_processes);
}

struct process *process_alloc(void)
{
	struct process *p = kzalloc(sizeof(*p));
	if (!p)
		return NULL;
	INIT_LIST_HEAD(&p->children);
	INIT_LIST_HEAD(&p->sibling);
	INIT_LIST_HEAD(&p->threads);
	INIT_LIST_HEAD(&p->all_node);
	waitq_init(&p->wait_chldexit);
	waitq_init(&p->group_wq);
	waitq_init(&p->stop_wq);
	INIT_LIST_HEAD(&p->itimer_node);
	p->exit_signal = SIGCHLD;
	p->umask = 022;
	return p;
}

/* Enter p (with its first thread t) in the table under pid, as a child of
 * parent (or none). tasklist_lock held. */
void process_link(struct process *p, struct thread *t, int pid, struct process *parent)
{
	assert_spin_locked(&tasklist_lock);
	p->pid = pid;
	p->leader = t;
	p->parent = parent;
	if (parent)
		list_add_tail(&p->sibling, &parent->children);
	list_add_tail(&p->all_node, &all_processes);
	nr_processes++;
	t->pid = pid;
	t->proc = p;
	list_add_tail(&t->group_node, &p->threads);
	p->nr_threads = 1;
	/* fork: the child runs the parent's program (Linux copies mm->exe_file
	 * with the mm) */
#ifndef MUTATION_EXE_NOT_INHERITED
	if (!p->exe && current->proc && current->proc != p && current->proc->exe) {
#else
	if (false) {
#endif
		p->exe = current->proc->exe;
		exe_path_get(p->exe);
	}
	/* fork: the working directory and umask (Linux's copy_fs) */
	if (current->proc && current->proc != p) {
		p->umask = current->proc->umask;
		if ((p->cwd = current->proc->cwd))
			exe_path_get(p->cwd);
	}
}

struct exe_path *exe_path_new(const char *path)
{
	size_t n = strlen(path);
	struct exe_path *e = kmalloc(sizeof(*e) + n + 1);
	if (!e)
		return NULL;
	atomic_set(&e->ref, 1);
	memcpy(e->path, path, n + 1);
	return e;
}

void exe_path_get(struct exe_path *e)
{
	atomic_inc(&e->ref);
}

void exe_path_put(struct exe_path *e)
{
	if (e && atomic_dec_and_test(&e->ref))
		kfree(e);
}

void process_set_exe(struct process *p, const char *path)
{
	struct exe_path *e = exe_path_new(path), *old = NULL;
	if (!e)
		return;
	spin_lock(&tasklist_lock);
	old = p->exe;
	p->exe = e;
	spin_unlock(&tasklist_lock);
	exe_path_put(old);
}

/* Remove a dead process from the table and free it. tasklist_lock held
 * (kfree does not sleep). */
void process_release(struct process *p)
{
	assert_spin_locked(&tasklist_lock);
	BUG_ON(p->state != PROC_ZOMBIE || p->nr_threads || !list_empty(&p->children));
	if (p->parent)
		list_del_init(&p->sibling);
	list_del(&p->all_node);
	nr_processes--;
	if (child_reaper == p)
		child_reaper = NULL;
	itimer_release(p);
	sighand_put(p->sighand);
	exe_path_put(p->exe); /* kfree: does not sleep */
	exe_path_put(p->cwd);
	kfree(p);
}

/* ---- processes started by the kernel ----------------------------------- */

struct process_start_args {
	struct mm *mm;
	uint64_t rip, rsp;
	struct files_struct *files;
};

static void process_start_fn(void *arg)
{
	struct process_start_args a = *(struct process_start_args *)arg;
	kfree(arg);
	set_current_files(a.files); /* the reference is the thread's now */
	use_mm(a.mm);
	mmput(a.mm); /* use_mm took the thread's own reference */
	arch_enter_user(a.rip, a.rsp);
}

static void process_start_abort(void *arg)
{
	(void)arg; /* thread_start calls thread_exit next */
}

static struct thread *__process_start(const char *name, const char *exe, struct mm *mm,
				      uint64_t rip, uint64_t rsp, struct files_struct *files,
				      int cpu, bool as_init,
				      void (*notify)(struct thread *t, void *arg), void *arg)
{
	struct process_start_args *a = kmalloc(sizeof(*a));
	struct process *p = process_alloc();
	struct sighand_struct *sh = sighand_alloc();
	struct thread *t = a && p && sh ? thread_alloc(name, process_start_fn, a, cpu) : NULL;
	if (!t) {
		kfree(a);
		kfree(p);
		sighand_put(sh);
		return NULL;
	}
	p->sighand = sh;
	/* /proc/PID/exe (NULL on no memory: readlink says ENOENT) */
	if (exe)
		p->exe = exe_path_new(exe);
	mmget(mm); /* until the thread holds its own */
	*a = (struct process_start_args){ mm, rip, rsp, files };
	p->exit_notify = notify;
	p->exit_arg = arg;
	spin_lock(&tasklist_lock);
	int pid = alloc_pid(as_init);
	if (pid < 0 && as_init)
		pid = alloc_pid(false);
	if (pid < 0) { /* out of ids: the thread never ran, let it go */
		spin_unlock(&tasklist_lock);
		mmput(mm);
		kfree(a);
		exe_path_put(p->exe);
		kfree(p);
		sighand_put(sh);
		t->fn = process_start_abort;
		thread_wake_new(t);
		return NULL;
	}
	process_link(p, t, pid, NULL);
	p->pgid = p->sid = pid;
	if (as_init) {
		child_reaper = p;
		p->signal_flags |= SIGNAL_UNKILLABLE; /* Linux's global init */
	}
	spin_unlock(&tasklist_lock);
	thread_wake_new(t);
	return t;
}

struct thread *process_start(const char *name, struct mm *mm, uint64_t rip, uint64_t rsp,
			     struct files_struct *files, int cpu, bool as_init,
			     void (*notify)(struct thread *t, void *arg), void *arg)
{
	return __process_start(name, NULL, mm, rip, rsp, files, cpu, as_init, notify, arg);
}

int process_spawn(const char *path, char *const argv[], char *const envp[], int cpu, bool as_init,
		  void (*notify)(struct thread *t, void *arg), void *arg)
{
	struct exec_result r;
	int err = kernel_execve_prepare(path, argv, envp, &r);
	if (err)
		return err;
	struct files_struct *files = files_alloc();
	err = files ? console_install_stdio(files) : -ENOMEM;
	const char *base = strrchr(path, '/');
	struct thread *t = NULL;
	if (!err)
		t = __process_start(base ? base + 1 : path, path, r.mm, r.entry, r.sp, files, cpu,
				    as_init, notify, arg);
	if (!t && files)
		put_files(files);
	exec_result_release(&r); /* the thread holds the mm now */
	return t ? t->pid : err ? err : -ENOMEM;
}

/* q is p or descends from it; tasklist_lock held. */
static bool descends_from(struct process *q, struct process *p)
{
	for (; q; q = q->parent)
		if (q == p)
			return true;
	return false;
}

int kill_process_tree(int pid, int status)
{
	int n = 0;
	spin_lock(&tasklist_lock);
	struct process *p = find_process(pid), *q;
	if (p)
		list_for_each_entry (q, &all_processes, all_node)
			if (q->state == PROC_ALIVE && descends_from(q, p)) {
				zap_process(q, status);
				n++;
			}
	spin_unlock(&tasklist_lock);
	return n;
}

int process_attach_current(void (*notify)(struct thread *t, void *arg), void *arg)
{
	struct process *p = process_alloc();
	if (p)
		p->sighand = sighand_alloc();
	if (!p || !p->sighand) {
		kfree(p);
		return -ENOMEM;
	}
	p->exit_notify = notify;
	p->exit_arg = arg;
	spin_lock(&tasklist_lock);
	int pid = alloc_pid(false);
	if (pid >= 0) {
		process_link(p, current, pid, NULL);
		p->pgid = p->sid = pid;
	}
	spin_unlock(&tasklist_lock);
	if (pid < 0) {
		sighand_put(p->sighand);
		kfree(p);
	}
	return pid < 0 ? pid : 0;
}

/* ---- the id calls ---------------------------------------------------------- */

int64_t sys_getpid(void)
{
	return current->proc->pid;
}

int64_t sys_gettid(void)
{
	return current->pid;
}

/* Linux: the parent's id, or 0 for a process whose parent is outside the
 * pid namespace (init, and here a program the kernel started). */
int64_t sys_getppid(void)
{
	spin_lock(&tasklist_lock);
	struct process *parent = current->proc->parent;
	int ppid = parent ? parent->pid : 0;
	spin_unlock(&tasklist_lock);
	return ppid;
}

int64_t sys_getpgrp(void)
{
	return READ_ONCE(current->proc->pgid);
}

/* getpgid/getsid: 0 is the caller; a negative id finds nobody (-ESRCH). */
static int64_t process_field(int pid, bool sid)
{
	spin_lock(&tasklist_lock);
	struct process *p = pid ? NULL : current->proc;
	if (pid) {
		struct thread *t = find_thread(pid);
		p = t ? t->proc : NULL;
	}
	int64_t v = p ? (sid ? p->sid : p->pgid) : -ESRCH;
	spin_unlock(&tasklist_lock);
	return v;
}

int64_t sys_getpgid(int pid)
{
	return process_field(pid, false);
}

int64_t sys_getsid(int pid)
{
	return process_field(pid, true);
}

/* Linux: records the address for CLONE_CHILD_CLEARTID's work at exit and
 * returns the caller's thread id. */
int64_t sys_set_tid_address(uint64_t tidptr)
{
	current->clear_child_tid = tidptr;
	return current->pid;
}
