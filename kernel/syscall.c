/*
 * kernel/syscall.c - the system-call table and the minimal user-thread life.
 *
 * The entry (arch/x86_64/trap_entry.asm, entry_syscall_64) saves a
 * trap_frame as Linux saves pt_regs and calls do_syscall (arch), which calls
 * syscall_dispatch with interrupts on. Linux 6.1 takes the number from the
 * low 32 bits of rax (do_syscall_x64: `unsigned int unr = nr`), so do we;
 * anything without a table entry (the x32 bit included) is -ENOSYS.
 *
 * iopl/ioperm: user code never gets I/O ports here. Linux 6.1 grants them
 * to a caller with CAP_SYS_RAWIO (root); we run everything as uid 0 but
 * answer as Linux answers a caller without the capability: -EPERM for a
 * request to raise the level or to enable ports, 0 for a no-op request
 * (iopl(0), ioperm(..., 0)), -EINVAL for a bad level or range.
 *
 * A user thread is a kernel thread that entered ring 3 (arch_enter_user);
 * it ends by exit/exit_group or when a fault kills it, with its Linux wait
 * status in thread->exit_status (no process model yet: exit_group ends only
 * the calling thread).
 */
#include "kernel/syscall.h"
#include "kernel/sys_file.h"
#include "kernel/fdtable.h"
#include "kernel/sched.h"
#include "kernel/errno.h"
#include "kernel/printk.h"
#include "kernel/ksyms.h"
#include "mm/kmalloc.h"
#include "mm/mm.h"
#include "arch/arch.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/uaccess.h"

#define SYSCALL(nr, fn) [nr] = (syscall_fn_t)(void (*)(void))(fn)

/* Until the process model: one thread, whose tid is its pid. */
static long sys_getpid(void)
{
	return current->tid;
}

static long sys_set_tid_address(uint64_t tidptr)
{
	(void)tidptr; /* CLONE_CHILD_CLEARTID comes with threads */
	return current->tid;
}

static long sys_brk(uint64_t brk)
{
	return (long)vm_brk(current->mm, brk);
}

/* Anonymous mappings only until file descriptors can name a mappable file. */
static long sys_mmap(uint64_t addr, uint64_t len, int prot, int flags, int fd, uint64_t off)
{
	if (!(flags & MAP_ANONYMOUS))
		return -ENODEV;
	(void)fd;
	(void)off;
	return vm_mmap(current->mm, addr, len, prot, flags);
}

static long sys_munmap(uint64_t addr, uint64_t len)
{
	return vm_munmap(current->mm, addr, len);
}

static long sys_mprotect(uint64_t addr, uint64_t len, int prot)
{
	return vm_mprotect(current->mm, addr, len, prot);
}

static long sys_madvise(uint64_t addr, uint64_t len, int advice)
{
	return vm_madvise(current->mm, addr, len, advice);
}

static syscall_fn_t syscall_table[NR_SYSCALLS] = {
	/* kernel/syscall.c */
	SYSCALL(__NR_sched_yield, sys_sched_yield),
	SYSCALL(__NR_exit, sys_exit),
	SYSCALL(__NR_arch_prctl, sys_arch_prctl),
	SYSCALL(__NR_iopl, sys_iopl),
	SYSCALL(__NR_ioperm, sys_ioperm),
	SYSCALL(__NR_exit_group, sys_exit_group),
	SYSCALL(__NR_getpid, sys_getpid),
	SYSCALL(__NR_gettid, sys_getpid),
	SYSCALL(__NR_set_tid_address, sys_set_tid_address),
	SYSCALL(__NR_brk, sys_brk),
	SYSCALL(__NR_mmap, sys_mmap),
	SYSCALL(__NR_munmap, sys_munmap),
	SYSCALL(__NR_mprotect, sys_mprotect),
	SYSCALL(__NR_madvise, sys_madvise),
	/* kernel/sys_file.c */
	SYSCALL(__NR_read, sys_read),
	SYSCALL(__NR_write, sys_write),
	SYSCALL(__NR_open, sys_open),
	SYSCALL(__NR_close, sys_close),
	SYSCALL(__NR_stat, sys_stat),
	SYSCALL(__NR_fstat, sys_fstat),
	SYSCALL(__NR_lstat, sys_lstat),
	SYSCALL(__NR_lseek, sys_lseek),
	SYSCALL(__NR_ioctl, sys_ioctl),
	SYSCALL(__NR_pread64, sys_pread64),
	SYSCALL(__NR_pwrite64, sys_pwrite64),
	SYSCALL(__NR_readv, sys_readv),
	SYSCALL(__NR_writev, sys_writev),
	SYSCALL(__NR_pipe, sys_pipe),
	SYSCALL(__NR_dup, sys_dup),
	SYSCALL(__NR_dup2, sys_dup2),
	SYSCALL(__NR_fcntl, sys_fcntl),
	SYSCALL(__NR_fsync, sys_fsync),
	SYSCALL(__NR_fdatasync, sys_fdatasync),
	SYSCALL(__NR_ftruncate, sys_ftruncate),
	SYSCALL(__NR_mkdir, sys_mkdir),
	SYSCALL(__NR_rmdir, sys_rmdir),
	SYSCALL(__NR_creat, sys_creat),
	SYSCALL(__NR_unlink, sys_unlink),
	SYSCALL(__NR_getdents64, sys_getdents64),
	SYSCALL(__NR_fadvise64, sys_fadvise64),
	SYSCALL(__NR_openat, sys_openat),
	SYSCALL(__NR_mkdirat, sys_mkdirat),
	SYSCALL(__NR_newfstatat, sys_newfstatat),
	SYSCALL(__NR_unlinkat, sys_unlinkat),
	SYSCALL(__NR_dup3, sys_dup3),
	SYSCALL(__NR_pipe2, sys_pipe2),
};

int64_t syscall_dispatch(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
			 uint64_t a4, uint64_t a5)
{
	unsigned unr = (unsigned)nr;
	syscall_fn_t fn = unr < NR_SYSCALLS ? READ_ONCE(syscall_table[unr]) : NULL;
	if (!fn)
		return -ENOSYS;
	return fn(a0, a1, a2, a3, a4, a5);
}

syscall_fn_t syscall_set_hook(unsigned nr, syscall_fn_t fn)
{
	syscall_fn_t old = syscall_table[nr];
	WRITE_ONCE(syscall_table[nr], fn);
	return old;
}

/* ---- the user thread's life --------------------------------------------- */

struct user_start {
	struct mm *mm;
	uint64_t rip, rsp;
	struct files_struct *files;
	void (*notify)(struct thread *t, void *arg);
	void *arg;
};

static void user_thread_fn(void *p)
{
	struct user_start us = *(struct user_start *)p;
	kfree(p);
	struct thread *t = current;
	t->exit_notify = us.notify;
	t->exit_arg = us.arg;
	set_current_files(us.files); /* the reference is the thread's now */
	use_mm(us.mm);
	mmput(us.mm); /* use_mm took the thread's own reference */
	arch_enter_user(us.rip, us.rsp);
}

struct thread *user_thread_create_files(const char *name, struct mm *mm, uint64_t rip, uint64_t rsp,
					struct files_struct *files, int cpu,
					void (*notify)(struct thread *t, void *arg), void *arg)
{
	struct user_start *us = kmalloc(sizeof(*us));
	if (!us)
		return NULL;
	*us = (struct user_start){ mm, rip, rsp, files, notify, arg };
	mmget(mm); /* until the thread holds its own */
	struct thread *t = thread_create(name, user_thread_fn, us, cpu);
	if (!t) {
		mmput(mm);
		kfree(us);
	}
	return t;
}

struct thread *user_thread_create(const char *name, struct mm *mm, uint64_t rip, uint64_t rsp,
				  int cpu, void (*notify)(struct thread *t, void *arg), void *arg)
{
	return user_thread_create_files(name, mm, rip, rsp, NULL, cpu, notify, arg);
}

__noreturn void user_exit(int status)
{
	struct thread *t = current;
	local_irq_enable();
	t->exit_status = status;
	struct files_struct *files = set_current_files(NULL);
	if (files)
		put_files(files); /* closes what the thread left open */
	if (t->exit_notify)
		t->exit_notify(t, t->exit_arg);
	thread_exit();
}

__noreturn void user_exit_killed(void)
{
	user_exit(SIGKILL);
}

static const char *signame(int sig)
{
	switch (sig) {
	case SIGILL:
		return "SIGILL";
	case SIGTRAP:
		return "SIGTRAP";
	case SIGBUS:
		return "SIGBUS";
	case SIGFPE:
		return "SIGFPE";
	case SIGSEGV:
		return "SIGSEGV";
	}
	return "signal";
}

__noreturn void user_exit_signal(int sig, const struct trap_frame *f, uint64_t cr2)
{
	struct thread *t = current;
	printk("user: thread %d (%s) killed by %s (%d): vector %lu error %#lx at rip %#lx "
	       "rsp %#lx",
	       t->tid, t->name, signame(sig), sig, f->vector, f->error_code, f->rip, f->rsp);
	if (f->vector == EXC_PF)
		printk(" address %#lx", cr2);
	printk("\n");
	user_exit(sig); /* no core dumps: RLIMIT_CORE is 0 as Linux's default */
}

/* ---- the system calls --------------------------------------------------- */

int64_t sys_exit(int code)
{
	user_exit((code & 0xff) << 8);
}

int64_t sys_exit_group(int code)
{
	user_exit((code & 0xff) << 8); /* one thread per group for now */
}

int64_t sys_sched_yield(void)
{
	yield();
	return 0;
}

int64_t sys_arch_prctl(int code, uint64_t addr)
{
	uint64_t v;
	switch (code) {
	case ARCH_SET_FS:
	case ARCH_SET_GS:
		if (addr >= USER_SPACE_END - PAGE_SIZE) /* Linux: >= TASK_SIZE_MAX */
			return -EPERM;
		arch_set_user_base(code == ARCH_SET_GS, addr);
		return 0;
	case ARCH_GET_FS:
	case ARCH_GET_GS:
		v = arch_get_user_base(code == ARCH_GET_GS);
		return put_user_u64(addr, v);
	}
	return -EINVAL;
}

int64_t sys_iopl(unsigned level)
{
	if (level > 3)
		return -EINVAL;
	return level ? -EPERM : 0;
}

int64_t sys_ioperm(uint64_t from, uint64_t num, int turn_on)
{
	if (from + num <= from || from + num > 65536)
		return -EINVAL;
	return turn_on ? -EPERM : 0;
}
