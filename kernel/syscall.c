/*
 * kernel/syscall.c - the system-call table, and how a fault ends a process.
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
 * A user thread is a kernel thread that entered ring 3 (arch_enter_user
 * for a program the kernel starts, arch_ret_from_fork for a clone child);
 * processes, exit and wait are kernel/process.h's. A fault that cannot be
 * resolved kills the whole process with Linux's signal for it.
 */
#include "kernel/syscall.h"
#include "kernel/sys_file.h"
#include "kernel/futex.h"
#include "kernel/sys_mm.h"
#include "kernel/memfd.h"
#include "kernel/sys_info.h"
#include "kernel/sys_time.h"
#include "kernel/fdtable.h"
#include "kernel/sched.h"
#include "kernel/process.h"
#include "kernel/splice.h"
#include "kernel/process_vm.h"
#include "kernel/signal.h"
#include "kernel/itimer.h"
#include "kernel/tty.h"
#include "kernel/poll.h"
#include "kernel/rusage.h"
#include "kernel/errno.h"
#include "kernel/printk.h"
#include "kernel/ksyms.h"
#include "kernel/cmdline.h"
#include "kernel/string.h"
#include "mm/kmalloc.h"
#include "mm/mm.h"
#include "arch/arch.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/uaccess.h"

#define SYSCALL(nr, fn) [nr] = (syscall_fn_t)(void (*)(void))(fn)

static syscall_fn_t syscall_table[NR_SYSCALLS] = {
	/* kernel/syscall.c */
	SYSCALL(__NR_sched_yield, sys_sched_yield),
	SYSCALL(__NR_exit, sys_exit),
	SYSCALL(__NR_arch_prctl, sys_arch_prctl),
	SYSCALL(__NR_iopl, sys_iopl),
	SYSCALL(__NR_ioperm, sys_ioperm),
	SYSCALL(__NR_exit_group, sys_exit_group),
	/* kernel/process.c, kernel/exit.c, kernel/clone.c, kernel/exec.c */
	SYSCALL(__NR_getpid, sys_getpid),
	SYSCALL(__NR_gettid, sys_gettid),
	SYSCALL(__NR_getppid, sys_getppid),
	SYSCALL(__NR_getpgrp, sys_getpgrp),
	SYSCALL(__NR_getpgid, sys_getpgid),
	SYSCALL(__NR_getsid, sys_getsid),
	SYSCALL(__NR_setsid, sys_setsid),
	SYSCALL(__NR_setpgid, sys_setpgid),
	SYSCALL(__NR_poll, sys_poll),
	SYSCALL(__NR_ppoll, sys_ppoll),
	SYSCALL(__NR_select, sys_select),
	SYSCALL(__NR_pselect6, sys_pselect6),
	SYSCALL(__NR_set_tid_address, sys_set_tid_address),
	SYSCALL(__NR_clone, sys_clone),
	SYSCALL(__NR_fork, sys_fork),
	SYSCALL(__NR_vfork, sys_vfork),
	SYSCALL(__NR_clone3, sys_clone3),
	SYSCALL(__NR_execve, sys_execve),
	SYSCALL(__NR_wait4, sys_wait4),
	SYSCALL(__NR_waitid, sys_waitid),
	SYSCALL(__NR_getrusage, sys_getrusage), /* kernel/rusage.c */
	SYSCALL(__NR_times, sys_times),		/* kernel/rusage.c */
	/* kernel/sys_mm.c */
	SYSCALL(__NR_brk, sys_brk),
	SYSCALL(__NR_mmap, sys_mmap),
	SYSCALL(__NR_munmap, sys_munmap),
	SYSCALL(__NR_mprotect, sys_mprotect),
	SYSCALL(__NR_madvise, sys_madvise),
	SYSCALL(__NR_mremap, sys_mremap),
	SYSCALL(__NR_msync, sys_msync),
	SYSCALL(__NR_mincore, sys_mincore),
	SYSCALL(__NR_mlock, sys_mlock),
	SYSCALL(__NR_munlock, sys_munlock),
	SYSCALL(__NR_mlockall, sys_mlockall),
	SYSCALL(__NR_munlockall, sys_munlockall),
	SYSCALL(__NR_mlock2, sys_mlock2),
	/* kernel/memfd.c */
	SYSCALL(__NR_memfd_create, sys_memfd_create),
	SYSCALL(__NR_fallocate, sys_fallocate),
	/* kernel/futex.c */
	SYSCALL(__NR_futex, sys_futex),
	/* kernel/sys_file.c */
	SYSCALL(__NR_read, sys_read),
	SYSCALL(__NR_write, sys_write),
	SYSCALL(__NR_open, sys_open),
	SYSCALL(__NR_close, sys_close),
	SYSCALL(__NR_stat, sys_stat),
	SYSCALL(__NR_fstat, memfd_fstat), /* memfds, else sys_fstat */
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
	SYSCALL(__NR_ftruncate, memfd_ftruncate), /* memfds, else sys_ftruncate */
	SYSCALL(__NR_mkdir, sys_mkdir),
	SYSCALL(__NR_rmdir, sys_rmdir),
	SYSCALL(__NR_creat, sys_creat),
	SYSCALL(__NR_unlink, sys_unlink),
	SYSCALL(__NR_getdents64, sys_getdents64),
	SYSCALL(__NR_fadvise64, sys_fadvise64),
	SYSCALL(__NR_openat, sys_openat),
	SYSCALL(__NR_mkdirat, sys_mkdirat),
	SYSCALL(__NR_newfstatat, memfd_newfstatat), /* memfds, else sys_newfstatat */
	SYSCALL(89 /* __NR_readlink */, sys_readlink),
	SYSCALL(267 /* __NR_readlinkat */, sys_readlinkat),
	SYSCALL(__NR_unlinkat, sys_unlinkat),
	SYSCALL(295 /* __NR_preadv */, sys_preadv),
	SYSCALL(296 /* __NR_pwritev */, sys_pwritev),
	SYSCALL(327 /* __NR_preadv2 */, sys_preadv2),
	SYSCALL(328 /* __NR_pwritev2 */, sys_pwritev2),
	SYSCALL(316 /* __NR_renameat2 */, sys_renameat2),
	SYSCALL(264 /* __NR_renameat */, sys_renameat),
	SYSCALL(82 /* __NR_rename */, sys_rename),
	SYSCALL(265 /* __NR_linkat */, sys_linkat),
	SYSCALL(86 /* __NR_link */, sys_link),
	SYSCALL(266 /* __NR_symlinkat */, sys_symlinkat),
	SYSCALL(88 /* __NR_symlink */, sys_symlink),
	SYSCALL(79 /* __NR_getcwd */, sys_getcwd),
	SYSCALL(80 /* __NR_chdir */, sys_chdir),
	SYSCALL(81 /* __NR_fchdir */, sys_fchdir),
	SYSCALL(95 /* __NR_umask */, sys_umask),
	SYSCALL(76 /* __NR_truncate */, sys_truncate),
	SYSCALL(162 /* __NR_sync */, sys_sync),
	SYSCALL(306 /* __NR_syncfs */, sys_syncfs),
	SYSCALL(137 /* __NR_statfs */, sys_statfs),
	SYSCALL(138 /* __NR_fstatfs */, sys_fstatfs),
	SYSCALL(21 /* __NR_access */, sys_access),
	SYSCALL(269 /* __NR_faccessat */, sys_faccessat),
	SYSCALL(439 /* __NR_faccessat2 */, sys_faccessat2),
	SYSCALL(332 /* __NR_statx */, sys_statx),
	SYSCALL(326 /* __NR_copy_file_range */, sys_copy_file_range),
	SYSCALL(40 /* __NR_sendfile */, sys_sendfile),
	SYSCALL(__NR_dup3, sys_dup3),
	SYSCALL(__NR_pipe2, sys_pipe2),
	SYSCALL(__NR_splice, sys_splice),
	SYSCALL(__NR_tee, sys_tee),
	SYSCALL(__NR_vmsplice, sys_vmsplice),
	SYSCALL(__NR_process_vm_readv, sys_process_vm_readv),
	SYSCALL(__NR_process_vm_writev, sys_process_vm_writev),
	/* kernel/sys_time.c */
	SYSCALL(__NR_nanosleep, sys_nanosleep),
	SYSCALL(__NR_gettimeofday, sys_gettimeofday),
	SYSCALL(__NR_time, sys_time),
	SYSCALL(__NR_clock_gettime, sys_clock_gettime),
	SYSCALL(__NR_clock_getres, sys_clock_getres),
	SYSCALL(__NR_clock_nanosleep, sys_clock_nanosleep),
	/* kernel/sys_info.c */
	SYSCALL(__NR_uname, sys_uname),
	SYSCALL(__NR_getrlimit, sys_getrlimit),
	SYSCALL(__NR_sysinfo, sys_sysinfo),
	SYSCALL(__NR_getuid, sys_getuid),
	SYSCALL(__NR_getgid, sys_getgid),
	SYSCALL(__NR_setuid, sys_setuid),
	SYSCALL(__NR_setgid, sys_setgid),
	SYSCALL(__NR_geteuid, sys_geteuid),
	SYSCALL(__NR_getegid, sys_getegid),
	SYSCALL(__NR_getgroups, sys_getgroups),
	SYSCALL(__NR_setgroups, sys_setgroups),
	SYSCALL(__NR_setresuid, sys_setresuid),
	SYSCALL(__NR_getresuid, sys_getresuid),
	SYSCALL(__NR_setresgid, sys_setresgid),
	SYSCALL(__NR_getresgid, sys_getresgid),
	SYSCALL(__NR_sched_getparam, sys_sched_getparam),
	SYSCALL(__NR_sched_getscheduler, sys_sched_getscheduler),
	SYSCALL(__NR_sched_get_priority_max, sys_sched_get_priority_max),
	SYSCALL(__NR_sched_get_priority_min, sys_sched_get_priority_min),
	SYSCALL(__NR_prctl, sys_prctl),
	SYSCALL(__NR_setrlimit, sys_setrlimit),
	SYSCALL(__NR_sched_setaffinity, sys_sched_setaffinity),
	SYSCALL(__NR_sched_getaffinity, sys_sched_getaffinity),
	SYSCALL(__NR_set_robust_list, sys_set_robust_list),
	SYSCALL(__NR_get_robust_list, sys_get_robust_list),
	SYSCALL(__NR_prlimit64, sys_prlimit64),
	SYSCALL(__NR_getcpu, sys_getcpu),
	SYSCALL(__NR_getrandom, sys_getrandom),
	SYSCALL(__NR_rseq, sys_rseq),
	/* kernel/signal.c, arch/x86_64/signal.c */
	SYSCALL(__NR_rt_sigaction, sys_rt_sigaction),
	SYSCALL(__NR_rt_sigprocmask, sys_rt_sigprocmask),
	SYSCALL(__NR_rt_sigreturn, sys_rt_sigreturn),
	SYSCALL(__NR_rt_sigpending, sys_rt_sigpending),
	SYSCALL(__NR_rt_sigsuspend, sys_rt_sigsuspend),
	SYSCALL(__NR_rt_sigtimedwait, sys_rt_sigtimedwait),
	SYSCALL(__NR_sigaltstack, sys_sigaltstack),
	SYSCALL(__NR_pause, sys_pause),
	SYSCALL(__NR_kill, sys_kill),
	SYSCALL(__NR_tkill, sys_tkill),
	SYSCALL(__NR_tgkill, sys_tgkill),
	SYSCALL(__NR_restart_syscall, sys_restart_syscall),
	/* kernel/itimer.c */
	SYSCALL(__NR_alarm, sys_alarm),
	SYSCALL(__NR_setitimer, sys_setitimer),
	SYSCALL(__NR_getitimer, sys_getitimer),
};

/* syscall.trace=1 on the command line: every call is logged with its
 * arguments and result (debugging a user program, or a fuzzer's replay);
 * syscall.trace=PID logs only the calls of process PID. */
static long trace_pid = -2; /* -2: not read yet, -1: off, 0: all */

static bool tracing(void)
{
	long v = READ_ONCE(trace_pid);
	if (v == -2) {
		const char *s = cmdline_get("syscall.trace");
		v = !s || !strcmp(s, "0") ? -1
		    : !strcmp(s, "1")	  ? 0
					  : (long)cmdline_ulong("syscall.trace", 0);
		WRITE_ONCE(trace_pid, v);
	}
	return v == 0 || (v > 0 && current->proc && current->proc->pid == v);
}

int64_t syscall_dispatch(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
			 uint64_t a4, uint64_t a5)
{
	unsigned unr = (unsigned)nr;
	syscall_fn_t fn = unr < NR_SYSCALLS ? READ_ONCE(syscall_table[unr]) : NULL;
	bool trace = unlikely(READ_ONCE(trace_pid) != -1) && tracing();
	if (trace)
		printk("syscall: %d: %u(%#lx, %#lx, %#lx, %#lx, %#lx, %#lx)\n", current->tid, unr,
		       a0, a1, a2, a3, a4, a5);
	int64_t r = fn ? fn(a0, a1, a2, a3, a4, a5) : -ENOSYS;
	if (trace)
		printk("syscall: %d: %u = %ld\n", current->tid, unr, r);
	return r;
}

syscall_fn_t syscall_set_hook(unsigned nr, syscall_fn_t fn)
{
	syscall_fn_t old = syscall_table[nr];
	WRITE_ONCE(syscall_table[nr], fn);
	return old;
}

/* ---- programs started by the kernel (tests) ------------------------------ */

struct thread *user_thread_create_files(const char *name, struct mm *mm, uint64_t rip, uint64_t rsp,
					struct files_struct *files, int cpu,
					void (*notify)(struct thread *t, void *arg), void *arg)
{
	return process_start(name, mm, rip, rsp, files, cpu, false, notify, arg);
}

struct thread *user_thread_create(const char *name, struct mm *mm, uint64_t rip, uint64_t rsp,
				  int cpu, void (*notify)(struct thread *t, void *arg), void *arg)
{
	return process_start(name, mm, rip, rsp, NULL, cpu, false, notify, arg);
}

/* Killed by exit_group, a fatal fault of another thread, or de_thread:
 * the group's status if there is one (the thread's own does not count). */
__noreturn void user_exit_killed(void)
{
	struct process *p = current->proc;
	do_exit(READ_ONCE(p->group_exit) ? p->group_exit_code : SIGKILL);
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
	case SIGKILL:
		return "SIGKILL (out of memory)";
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
	do_group_exit(sig); /* no core dumps: RLIMIT_CORE is 0 as Linux's default */
}

/* ---- the system calls --------------------------------------------------- */

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
