/*
 * tests/user/sysfuzz.c - a system-call fuzzer (make fuzz-syscalls; a short
 * run in make test: suite fuzz).
 *
 *   sysfuzz SEED MS [WORKERS]
 *
 * The master forks WORKERS processes (default: two per CPU), each pinned to
 * a CPU in turn, lets them run for MS milliseconds, then kills them all with
 * SIGKILL, reaps them, removes what they created under /fz and prints a
 * summary. A worker that dies early (a random munmap of its own code, a
 * random rt_sigreturn, arch_prctl(ARCH_SET_FS) of garbage, execve of
 * /bin/hello, exit_group...) is replaced at once, so every CPU keeps
 * fuzzing. The master exits 0 when it could reap every process it made.
 *
 * A worker issues random system calls, typed loosely by a per-call
 * signature so that most calls get past the first argument check, with
 * adversarial values: NULL, kernel addresses (direct map, kernel text),
 * non-canonical addresses, the last page below the user limit, huge and
 * wrapping lengths, -1, closed fds and fds of every kind it has (files,
 * directories, pipes, memfds), pointers into a scratch buffer that ends at
 * a guard page, and pointers into a region its second thread keeps
 * mapping, unmapping and mprotecting (addresses just unmapped by another
 * thread). One call in twenty is any number 0-459 with random arguments.
 *
 * What it must not do is destroy what other tests need or escape its
 * sandbox, so: paths come only from a fixed pool (under /fz, plus "/",
 * "", ".", "..", /proc files for the calls that only read, missing and
 * over-long names; never anything under /bin,
 * whose files a random write could change); kill/tgkill/process_vm_* name
 * only the worker itself, its children or pids that do not exist (never 0,
 * -1 or pid 1, which would reach the master or init); clone, fork and vfork
 * children leave at once with exit(0) from assembly (a CLONE_VM child
 * shares the stack); stdin, stdout and stderr are closed first, so no
 * random write reaches the console. Blocking calls are ended by SIGALRM
 * (its handler has no SA_RESTART): the second thread sends one to the
 * first every 64 of its rounds, and a 250 ms interval timer backs that up
 * (a period shorter than what a worker gets of a CPU under load would have
 * it do nothing but take the signal). The worker re-arms both every 128
 * calls, in case a random call changed them.
 *
 * Everything after fork goes through raw `syscall` instructions: a random
 * ARCH_SET_FS would make any libc call that touches TLS (errno) crash.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 32
#define CHAOS_BASE  0x200000000000ull /* the region the second thread churns */
#define CHAOS_PAGES 32
#define BUF_BASE    0x210000000000ull /* scratch buffer, then a guard page */
#define BUF_PAGES   16
#define COUNT_BASE  0x220000000000ull /* calls per worker, shared with the master */
#define PAGE	    4096ull

/* The signal return trampoline (SA_RESTORER), without libc. */
__asm__(".text\n"
	"fz_restorer:\n\t"
	"mov $15, %eax\n\t"
	"syscall\n\t"
	"ud2\n");
void fz_restorer(void);

static inline long sys6(long nr, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d, r8 __asm__("r8") = e, r9 __asm__("r9") = f;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

/* clone, fork, vfork with the child leaving at once, without touching the
 * stack it may share with the parent (CLONE_VM, vfork). */
static inline long sys_clone_exit(long nr, long a, long b, long c, long d, long e)
{
	register long r10 __asm__("r10") = d, r8 __asm__("r8") = e;
	long ret;
	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "mov $60, %%eax\n\t"
			 "xor %%edi, %%edi\n\t"
			 "syscall\n\t"
			 "ud2\n"
			 "1:"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
}

/* ---- the worker's state (no TLS: plain globals of its own process) ------ */

static uint64_t rng;
static int self_pid, nr_cpus, worker_slot;
static long fds[16];
static int nr_fds;
static long child_pid = 1 << 22; /* a pid that does not exist, until a fork */

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}
/* What the worker is calling now, in the shared page after the counts:
 * the number, 1000 + case for special_call, 2000 + case for path_call. The
 * master prints it for each worker at the end (a worker stuck in a call
 * shows which). */
static void note(long what)
{
	((volatile uint64_t *)COUNT_BASE)[MAX_WORKERS + worker_slot] = (uint64_t)what;
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static const char long_name[] =
    "/fz/"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static char huge_path[5000]; /* "/fz/bbbb...": longer than PATH_MAX */

/* Every name a worker may pass (the master removes them afterwards). */
static const char *const fz_files[] = { "/fz/a", "/fz/b", "/fz/d/x", "/fz/d/y", "/fz/e" };
static const char *const fz_dirs[] = { "/fz/d/z", "/fz/d", "/fz/e" };

static uint64_t path_arg(void)
{
	static const char *const pool[] = {
		"/fz/a", "/fz/b", "/fz/d", "/fz/d/x", "/fz/d/y", "/fz/d/z", "/fz/e", "/fz/a/x",
		"/fz/", "/", "", ".", "..", "/nope/x", "/fz/./d/../b",
		/* read-only pseudo files: opened, read, lseeked, stat'ed, mapped */
		"/proc/self/maps", "/proc/self/pagemap", "/proc/self/status", "/proc/self/exe",
		"/proc/self", "/proc/vmstat", "/proc/interrupts", "/proc/1/cmdline",
		"/proc/self/smaps_rollup"
	};
	switch (below(8)) {
	case 0:
		return below(2) ? (uint64_t)long_name : (uint64_t)huge_path;
	case 1:
		return below(2) ? 0 : 0xffff888000001000ull;
	case 2:
		return CHAOS_BASE + below(CHAOS_PAGES) * PAGE; /* maybe unmapped now */
	default:
		return (uint64_t)pool[below(sizeof(pool) / sizeof(pool[0]))];
	}
}

static uint64_t addr_arg(void)
{
	switch (below(12)) {
	case 0:
		return 0;
	case 1:
		return 0xffff888000000000ull + below(1ull << 30) * 8;
	case 2:
		return 0xffffffff81000000ull + below(1 << 20);
	case 3:
		return 0x0000800000000000ull - PAGE + below(2 * PAGE); /* the user limit */
	case 4:
		return 0x00007ffffffff000ull - below(4) * PAGE;
	case 5:
		return rnd();
	case 6:
	case 7:
		return BUF_BASE + below(BUF_PAGES * PAGE + 64); /* may reach the guard */
	default:
		return CHAOS_BASE + below(CHAOS_PAGES * PAGE);
	}
}

static uint64_t len_arg(void)
{
	static const uint64_t edge[] = { 0,
					 1,
					 7,
					 8,
					 PAGE - 1,
					 PAGE,
					 PAGE + 1,
					 0x7fffffffull,
					 0x80000000ull,
					 0xffffffffull,
					 1ull << 32,
					 0x7ffffffffffff000ull,
					 0x8000000000000000ull,
					 ~0ull,
					 ~0ull - PAGE + 2 };
	if (below(3))
		return below(3 * PAGE);
	return edge[below(sizeof(edge) / sizeof(edge[0]))];
}

static uint64_t fd_arg(void)
{
	switch (below(8)) {
	case 0:
		return -1ull;
	case 1:
		return 1 << 20;
	case 2:
		return below(64); /* often closed */
	case 3:
		return (uint64_t)(int)-100; /* AT_FDCWD */
	default:
		return nr_fds ? (uint64_t)fds[below((uint64_t)nr_fds)] : below(8);
	}
}

static uint64_t int_arg(void)
{
	switch (below(6)) {
	case 0:
		return below(16);
	case 1:
		return 1ull << below(64);
	case 2:
		return rnd() & 0xffffffffull;
	case 3:
		return -1ull;
	default:
		return below(4096);
	}
}

static uint64_t off_arg(void)
{
	static const uint64_t edge[] = { 0,	PAGE, 1ull << 31, 1ull << 40, 0x7ffffffffffff000ull,
					 -1ull, -PAGE };
	return below(2) ? below(64 * PAGE) : edge[below(sizeof(edge) / sizeof(edge[0]))];
}

/* A pid a worker may name: itself, its child, or nobody. */
static uint64_t pid_arg(void)
{
	switch (below(4)) {
	case 0:
		return (uint64_t)self_pid;
	case 1:
		return (uint64_t)child_pid;
	case 2:
		return 1 << 22;
	default:
		return (uint64_t) - (1 << 22);
	}
}

static uint64_t sig_arg(void)
{
	return below(8) ? below(65) : int_arg();
}

/* A signal to send: mostly 0 or the handled SIGALRM, as most signals
 * would end the worker (then it is replaced, which costs a fork). */
static uint64_t kill_sig(void)
{
	if (below(8))
		return below(2) ? 0 : SIGALRM;
	return sig_arg();
}

/* Signatures: one letter per argument. f fd, p pointer, l length, s path,
 * i int/flags, o offset, n pid (see pid_arg), g signal. */
struct call {
	short nr;
	const char *sig;
};
static const struct call calls[] = {
	{ SYS_read, "fpl" },
	{ SYS_write, "fpl" },
	{ SYS_open, "sii" },
	{ SYS_close, "f" },
	{ SYS_stat, "sp" },
	{ SYS_fstat, "fp" },
	{ SYS_lstat, "sp" },
	{ SYS_lseek, "foi" },
	{ SYS_mmap, "pliifo" },
	{ SYS_mprotect, "pli" },
	{ SYS_munmap, "pl" },
	{ SYS_brk, "p" },
	{ SYS_rt_sigaction, "gppl" },
	{ SYS_rt_sigprocmask, "ippl" },
	{ SYS_ioctl, "fip" },
	{ SYS_pread64, "fplo" },
	{ SYS_pwrite64, "fplo" },
	{ SYS_readv, "fpi" },
	{ SYS_writev, "fpi" },
	{ SYS_pipe, "p" },
	{ SYS_sched_yield, "" },
	{ SYS_mremap, "pllip" },
	{ SYS_msync, "pli" },
	{ SYS_mincore, "plp" },
	{ SYS_madvise, "pli" },
	{ SYS_dup, "f" },
	{ SYS_dup2, "ff" },
	{ SYS_nanosleep, "pp" },
	{ SYS_getpid, "" },
	{ SYS_wait4, "npip" },
	{ SYS_kill, "ng" },
	{ SYS_uname, "p" },
	{ SYS_fcntl, "fii" },
	{ SYS_fsync, "f" },
	{ SYS_fdatasync, "f" },
	{ SYS_truncate, "so" },
	{ SYS_ftruncate, "fo" },
	{ SYS_getdents64, "fpl" },
	{ SYS_getcwd, "pl" },
	{ SYS_chdir, "s" },
	{ SYS_rename, "ss" },
	{ SYS_mkdir, "si" },
	{ SYS_rmdir, "s" },
	{ SYS_creat, "si" },
	{ SYS_link, "ss" },
	{ SYS_unlink, "s" },
	{ SYS_symlink, "ss" },
	{ SYS_readlink, "spl" },
	{ SYS_gettimeofday, "pp" },
	{ SYS_getrlimit, "ip" },
	{ SYS_sysinfo, "p" },
	{ SYS_sigaltstack, "pp" },
	{ SYS_arch_prctl, "ip" },
	{ SYS_setrlimit, "ip" },
	{ SYS_gettid, "" },
	{ SYS_futex, "piipii" },
	{ SYS_sched_setaffinity, "nlp" },
	{ SYS_sched_getaffinity, "nlp" },
	{ SYS_getdents64, "fpl" },
	{ SYS_set_tid_address, "p" },
	{ SYS_fadvise64, "fooi" },
	{ SYS_clock_gettime, "ip" },
	{ SYS_clock_getres, "ip" },
	{ SYS_clock_nanosleep, "iipp" },
	{ SYS_tgkill, "nng" },
	{ SYS_openat, "fsii" },
	{ SYS_mkdirat, "fsi" },
	{ SYS_newfstatat, "fspi" },
	{ SYS_unlinkat, "fsi" },
	{ SYS_readlinkat, "fspl" },
	{ SYS_pipe2, "pi" },
	{ SYS_dup3, "ffi" },
	{ SYS_preadv, "fpio" },
	{ SYS_pwritev, "fpio" },
	{ SYS_prlimit64, "nipp" },
	{ SYS_getcpu, "ppp" },
	{ SYS_getrandom, "pli" },
	{ SYS_memfd_create, "si" },
	{ SYS_splice, "fpfpli" },
	{ SYS_tee, "ffli" },
	{ SYS_vmsplice, "fpii" },
	{ SYS_process_vm_readv, "npipii" },
	{ SYS_process_vm_writev, "npipii" },
	{ SYS_mlock, "pl" },
	{ SYS_munlock, "pl" },
	{ SYS_mlockall, "i" },
	{ SYS_munlockall, "" },
	{ SYS_fallocate, "fioo" },
	{ SYS_sendfile, "ffpl" },
	{ SYS_copy_file_range, "fpfpli" },
	{ SYS_poll, "pii" },
	{ SYS_select, "ipppp" },
	{ SYS_setitimer, "ipp" },
	{ SYS_getitimer, "ip" },
	{ SYS_alarm, "i" },
	{ SYS_rt_sigpending, "pl" },
	{ SYS_rt_sigtimedwait, "pppl" },
	{ SYS_rt_sigsuspend, "pl" },
	{ SYS_set_robust_list, "pl" },
	{ SYS_get_robust_list, "npp" },
	{ SYS_rseq, "piii" },
	{ SYS_prctl, "iiiii" },
	{ SYS_statx, "fsiip" },
	{ SYS_waitid, "inpip" },
};
#define NR_CALLS (sizeof(calls) / sizeof(calls[0]))

static uint64_t arg_of(char k)
{
	if (!below(10))
		return below(2) ? rnd() : addr_arg(); /* anything at all */
	switch (k) {
	case 'f':
		return fd_arg();
	case 'p':
		return addr_arg();
	case 'l':
		return len_arg();
	case 's':
		return path_arg();
	case 'o':
		return off_arg();
	case 'n':
		return pid_arg();
	case 'g':
		return sig_arg();
	default:
		return int_arg();
	}
}

/* Numbers never issued with random arguments: they would leave the
 * sandbox (kill(-1), kill(0) reaching the master, reboot) or are handled
 * specially (clone, fork, vfork, execve, exit). */
static int forbidden(long nr)
{
	switch (nr) {
	case SYS_clone:
	case SYS_fork:
	case SYS_vfork:
	case SYS_clone3:
	case SYS_execve:
	case SYS_execveat:
	case SYS_exit:
	case SYS_exit_group:
	case SYS_kill:
	case SYS_tkill:
	case SYS_tgkill:
	case SYS_rt_sigqueueinfo:
	case SYS_rt_tgsigqueueinfo:
	case SYS_pidfd_send_signal:
	case SYS_reboot:
	case SYS_setpgid:
	case SYS_setsid:
	case SYS_process_vm_readv:
	case SYS_process_vm_writev:
	case SYS_ptrace:
	case SYS_prlimit64:
	case SYS_sched_setaffinity:
	case SYS_rename:
	case SYS_renameat:
	case SYS_renameat2:
	case SYS_link:
	case SYS_linkat:
	case SYS_symlink:
	case SYS_symlinkat:
	case SYS_unlink:
	case SYS_unlinkat:
	case SYS_rmdir:
	case SYS_truncate:
	case SYS_open:
	case SYS_openat:
	case SYS_openat2:
	case SYS_creat:
	case SYS_mkdir:
	case SYS_mkdirat:
	case SYS_mknod:
	case SYS_mknodat:
	case SYS_chdir:
	case SYS_chroot:
	case SYS_pivot_root:
	case SYS_mount:
	case SYS_umount2:
	case SYS_swapon:
	case SYS_swapoff:
	case SYS_sethostname:
	case SYS_setdomainname:
	case SYS_settimeofday:
	case SYS_clock_settime:
	case SYS_adjtimex:
	case SYS_clock_adjtime:
	case SYS_kexec_load:
	case SYS_kexec_file_load:
	case SYS_init_module:
	case SYS_finit_module:
	case SYS_delete_module:
	case SYS_acct:
	case SYS_syslog:
	case SYS_iopl:
	case SYS_ioperm:
	case SYS_setuid:
	case SYS_setgid:
	case SYS_setreuid:
	case SYS_setregid:
	case SYS_setresuid:
	case SYS_setresgid:
	case SYS_setfsuid:
	case SYS_setfsgid:
	case SYS_setgroups:
	case SYS_setpriority:
	case SYS_sync:
	case SYS_syncfs:
	case SYS_name_to_handle_at:
	case SYS_open_by_handle_at:
	case SYS_fanotify_init:
	case SYS_inotify_init:
	case SYS_inotify_init1:
	case SYS_perf_event_open:
	case SYS_bpf:
	case SYS_userfaultfd:
	case SYS_seccomp:
	case SYS_unshare:
	case SYS_setns:
	case SYS_vhangup:
		return 1;
	}
	return 0;
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* Re-arm what keeps the worker alive and moving: the SIGALRM handler and
 * timer, an unblocked mask, the scratch buffer, stdio closed. */
static void rearm(void)
{
	struct {
		void *handler;
		unsigned long flags;
		void (*restorer)(void);
		uint64_t mask;
	} sa = { (void *)on_alarm, 0x04000000 /* SA_RESTORER */, fz_restorer, 0 };
	sys6(SYS_rt_sigaction, SIGALRM, (long)&sa, 0, 8, 0, 0);
	uint64_t none = 0;
	sys6(SYS_rt_sigprocmask, SIG_SETMASK, (long)&none, 0, 8, 0, 0);
	struct itimerval it = { { 0, 250000 }, { 0, 250000 } };
	sys6(SYS_setitimer, ITIMER_REAL, (long)&it, 0, 0, 0, 0);
	sys6(SYS_mmap, BUF_BASE, BUF_PAGES * PAGE, PROT_READ | PROT_WRITE,
	     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	sys6(SYS_munmap, BUF_BASE + BUF_PAGES * PAGE, PAGE, 0, 0, 0, 0); /* the guard */
}

static void open_some_fds(void)
{
	static const char *const files[] = { "/fz/a", "/fz/b", "/fz/d/x" };
	nr_fds = 0;
	for (unsigned i = 0; i < 3; i++) {
		long fd = sys6(SYS_open, (long)files[i], O_RDWR | O_CREAT, 0644, 0, 0, 0);
		if (fd >= 0)
			fds[nr_fds++] = fd;
	}
	long fd = sys6(SYS_open, (long)"/fz", O_RDONLY | O_DIRECTORY, 0, 0, 0, 0);
	if (fd >= 0)
		fds[nr_fds++] = fd;
	int p[2];
	if (sys6(SYS_pipe2, (long)p, O_NONBLOCK * (long)below(2), 0, 0, 0, 0) == 0) {
		fds[nr_fds++] = p[0];
		fds[nr_fds++] = p[1];
	}
	static const char *const procs[] = { "/proc/self/pagemap", "/proc/self/maps",
					     "/proc/vmstat" };
	fd = sys6(SYS_open, (long)procs[below(3)], O_RDONLY, 0, 0, 0, 0);
	if (fd >= 0)
		fds[nr_fds++] = fd;
	fd = sys6(SYS_memfd_create, (long)"fz", 0, 0, 0, 0, 0);
	if (fd >= 0)
		fds[nr_fds++] = fd;
	fd = sys6(SYS_open, (long)"/fz/e", O_RDWR | O_CREAT | O_DIRECT, 0644, 0, 0, 0);
	if (fd >= 0)
		fds[nr_fds++] = fd;
}

/* The calls that need care: clone family, kill family, execve, exit. */
static void special_call(void)
{
	long r, what = (long)below(8);
	note(1000 + what);
	switch (what) {
	case 0:
		r = sys_clone_exit(SYS_fork, 0, 0, 0, 0, 0);
		break;
	case 1:
		r = sys_clone_exit(SYS_vfork, 0, 0, 0, 0, 0);
		break;
	case 2: { /* clone with random flags, but never a new stack */
		uint64_t flags =
		    (rnd() & 0x7fffff00ull & ~0x00080000ull /* CLONE_SETTLS */) | SIGCHLD;
		if (below(2))
			flags &= ~0x00010000ull; /* CLONE_THREAD: mostly processes */
		r = sys_clone_exit(SYS_clone, (long)flags, 0, (long)addr_arg(), (long)addr_arg(),
				   0);
		break;
	}
	case 3:
		r = sys6(SYS_kill, (long)pid_arg(), (long)kill_sig(), 0, 0, 0, 0);
		return;
	case 4:
		r = sys6(SYS_tgkill, self_pid, (long)pid_arg(), (long)kill_sig(), 0, 0, 0);
		return;
	case 5: { /* execve: a missing file, a directory, bad pointers, or hello */
		static const char *const argv[] = { "/bin/hello", NULL };
		static const char *const paths[] = { "/nope", "/fz", "/fz/a", "/bin/hello" };
		long path = below(4) ? (long)paths[below(3)] : (long)path_arg();
		if (!below(64))
			path = (long)paths[3];
		sys6(SYS_execve, path, below(2) ? (long)argv : (long)addr_arg(),
		     below(2) ? 0 : (long)addr_arg(), 0, 0, 0);
		return;
	}
	case 6: { /* process_vm_* on itself or a child */
		long nr = below(2) ? SYS_process_vm_readv : SYS_process_vm_writev;
		sys6(nr, (long)pid_arg(), (long)addr_arg(), (long)below(4), (long)addr_arg(),
		     (long)below(4), below(8) ? 0 : (long)int_arg());
		return;
	}
	default:
		if (!below(256))
			sys6(SYS_exit_group, (long)below(256), 0, 0, 0, 0, 0);
		return;
	}
	if (r > 0)
		child_pid = r;
	sys6(SYS_wait4, -1, 0, WNOHANG | __WALL, 0, 0, 0);
}

/* Mutating path calls, with paths only under /fz (they could otherwise
 * change the initrd that other tests read). */
static uint64_t fz_path(void)
{
	if (!below(8))
		return path_arg() == 0 ? 0 : (uint64_t) "/fz/nope/x";
	if (below(2))
		return (uint64_t)fz_files[below(sizeof(fz_files) / sizeof(fz_files[0]))];
	return (uint64_t)fz_dirs[below(sizeof(fz_dirs) / sizeof(fz_dirs[0]))];
}

static void path_call(void)
{
	long flags = (long)(rnd() & (O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND |
				     O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_DIRECT | O_NONBLOCK));
	long r = -1, what = (long)below(9);
	note(2000 + what);
	switch (what) {
	case 0:
		r = sys6(SYS_open, (long)fz_path(), flags, 0644, 0, 0, 0);
		break;
	case 1:
		r = sys6(SYS_openat, (long)fd_arg(), (long)fz_path(), flags, 0644, 0, 0);
		break;
	case 2:
		sys6(SYS_mkdir, (long)fz_path(), 0755, 0, 0, 0, 0);
		break;
	case 3:
		sys6(SYS_rmdir, (long)fz_path(), 0, 0, 0, 0, 0);
		break;
	case 4:
		sys6(SYS_unlink, (long)fz_path(), 0, 0, 0, 0, 0);
		break;
	case 5:
		sys6(SYS_truncate, (long)fz_path(), (long)off_arg(), 0, 0, 0, 0);
		break;
	case 6:
		sys6(SYS_rename, (long)fz_path(), (long)fz_path(), 0, 0, 0, 0);
		break;
	case 7:
		sys6(SYS_symlink, (long)fz_path(), (long)fz_path(), 0, 0, 0, 0);
		break;
	default:
		r = sys6(SYS_creat, (long)fz_path(), 0644, 0, 0, 0, 0);
		break;
	}
	if (r >= 0 && nr_fds < 16)
		fds[nr_fds++] = r;
	else if (r >= 0)
		sys6(SYS_close, r, 0, 0, 0, 0, 0);
}

static int path_mutating(long nr)
{
	switch (nr) {
	case SYS_open:
	case SYS_openat:
	case SYS_creat:
	case SYS_mkdir:
	case SYS_mkdirat:
	case SYS_rmdir:
	case SYS_unlink:
	case SYS_unlinkat:
	case SYS_truncate:
	case SYS_rename:
	case SYS_link:
	case SYS_symlink:
	case SYS_chdir:
		return 1;
	}
	return 0;
}

static void one_call(void)
{
	if (!below(20)) {
		long nr = (long)below(460);
		note(nr);
		if (!forbidden(nr))
			sys6(nr, (long)rnd(), (long)rnd(), (long)addr_arg(), (long)len_arg(),
			     (long)rnd(), (long)rnd());
		return;
	}
	if (!below(16)) {
		special_call();
		return;
	}
	const struct call *c = &calls[below(NR_CALLS)];
	if (path_mutating(c->nr)) {
		path_call();
		return;
	}
	if (c->nr == SYS_kill || c->nr == SYS_tgkill || c->nr == SYS_process_vm_readv ||
	    c->nr == SYS_process_vm_writev || c->nr == SYS_prlimit64 ||
	    c->nr == SYS_sched_setaffinity) {
		special_call();
		return;
	}
	long a[6] = { 0 };
	for (int i = 0; c->sig[i] && i < 6; i++)
		a[i] = (long)arg_of(c->sig[i]);
	if (c->nr == SYS_rt_sigaction && (a[0] == SIGKILL || a[0] == SIGSTOP || !below(2)))
		a[1] = 0; /* keep most handlers: only the query or a failing call */
	note(c->nr);
	long r = sys6(c->nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (c->nr == SYS_close && r == 0)
		for (int i = 0; i < nr_fds; i++)
			if (fds[i] == a[0])
				fds[i] = fds[--nr_fds];
	if ((c->nr == SYS_dup || c->nr == SYS_dup2 || c->nr == SYS_dup3 ||
	     c->nr == SYS_memfd_create) &&
	    r >= 0 && nr_fds < 16)
		fds[nr_fds++] = r;
}

/* The second thread: keeps changing the region pointers often aim at. */
static int chaos(void *arg)
{
	(void)arg;
	uint64_t all = ~0ull;
	sys6(SYS_rt_sigprocmask, SIG_SETMASK, (long)&all, 0, 8, 0, 0); /* signals go to main */
	for (uint64_t i = 0;; i++) {
		if (!(i % 64)) /* end whatever blocking call the main thread is in */
			sys6(SYS_tgkill, self_pid, self_pid, SIGALRM, 0, 0, 0);
		uint64_t pg = (i * 7) % CHAOS_PAGES;
		switch (i % 4) {
		case 0:
			sys6(SYS_mmap, CHAOS_BASE, CHAOS_PAGES * PAGE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			break;
		case 1: /* touch pages through the kernel: EFAULT, never a crash */
			for (uint64_t p = 0; p < CHAOS_PAGES; p += 3)
				sys6(SYS_getrandom, CHAOS_BASE + p * PAGE, 8, 0, 0, 0, 0);
			break;
		case 2:
			sys6(SYS_munmap, CHAOS_BASE + pg * PAGE, 4 * PAGE, 0, 0, 0, 0);
			break;
		default:
			sys6(SYS_mprotect, CHAOS_BASE + pg * PAGE, 2 * PAGE, PROT_READ, 0, 0, 0);
			break;
		}
	}
	return 0;
}

static void start_chaos(void)
{
	static char stack[16384] __attribute__((aligned(16)));
	/* A thread on its own stack that never returns: raw clone, the child
	 * jumps straight into chaos() (no TLS: it makes only raw calls). */
	long flags =
	    CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
	uint64_t *sp = (uint64_t *)(stack + sizeof(stack));
	*--sp = (uint64_t)chaos; /* popped: chaos starts with rsp+8 16-byte aligned */
	register long r10 __asm__("r10") = 0, r8 __asm__("r8") = 0;
	long ret;
	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "pop %%rax\n\t"
			 "xor %%edi, %%edi\n\t"
			 "call *%%rax\n\t"
			 "ud2\n"
			 "1:"
			 : "=a"(ret)
			 : "a"((long)SYS_clone), "D"(flags), "S"(sp), "d"(0), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	(void)ret;
}

static void worker(int slot, int cpu, uint64_t seed)
{
	worker_slot = slot;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	self_pid = getpid();
	rng = seed * 0x9e3779b97f4a7c15ull + (uint64_t)self_pid;
	if (!rng)
		rng = 1;
	close(0);
	close(1);
	close(2);
	rearm();
	open_some_fds();
	start_chaos();
	for (uint64_t i = 0;; i++) {
		if (!(i & 127))
			rearm();
		one_call();
		/* may fault if a random call unmapped it: the worker is replaced */
		((volatile uint64_t *)COUNT_BASE)[worker_slot]++;
	}
}

/* ---- the master --------------------------------------------------------- */

/* Remove path and, if it is a directory (not a link to one), everything
 * under it. */
static void remove_tree(const char *path, int depth)
{
	struct stat st;
	if (lstat(path, &st))
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	DIR *d = depth < 16 ? opendir(path) : NULL;
	struct dirent *e;
	char sub[512];
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		remove_tree(sub, depth + 1);
	}
	if (d)
		closedir(d);
	rmdir(path);
}

/* Everything under /fz; with rename(2) and symbolic links the pool's names
 * can move anywhere under it, and through a link to "/" or ".." they can
 * reach /x, /y and /z (nothing else of the pool's names leaves /fz). */
static void cleanup(void)
{
	static const char *const all[] = { "/fz/d", "/fz/a", "/fz/b", "/fz/e", "/fz/x",
					   "/fz/y", "/fz/z", "/x",    "/y",    "/z" };
	DIR *d = opendir("/fz");
	struct dirent *e;
	char sub[512];
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "/fz/%s", e->d_name);
		remove_tree(sub, 0);
	}
	if (d)
		closedir(d);
	for (unsigned i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		remove_tree(all[i], 0);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3) {
		fprintf(stderr, "usage: sysfuzz SEED MS [WORKERS]\n");
		return 2;
	}
	uint64_t seed = strtoull(argv[1], NULL, 0);
	long ms = strtol(argv[2], NULL, 0);
	cpu_set_t all;
	sched_getaffinity(0, sizeof(all), &all);
	nr_cpus = CPU_COUNT(&all);
	int workers = argc > 3 ? atoi(argv[3]) : 2 * nr_cpus;
	if (workers < 1 || workers > MAX_WORKERS)
		workers = MAX_WORKERS;
	memset(huge_path, 'b', sizeof(huge_path) - 1);
	memcpy(huge_path, "/fz/", 4);
	printf("# sysfuzz: seed %llu, %ld ms, %d workers on %d CPUs\n", (unsigned long long)seed,
	       ms, workers, nr_cpus);
	cleanup();
	rmdir("/fz");
	if (mkdir("/fz", 0755) && errno != EEXIST) {
		printf("not ok 1 mkdir /fz: %s\n", strerror(errno));
		return 1;
	}
	mkdir("/fz/d", 0755);
	volatile uint64_t *counts = mmap((void *)COUNT_BASE, PAGE, PROT_READ | PROT_WRITE,
					 MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (counts == MAP_FAILED) {
		printf("not ok 1 mmap of the counters: %s\n", strerror(errno));
		return 1;
	}

	pid_t pids[MAX_WORKERS];
	long started = 0, died_early = 0, by_signal[65] = { 0 };
	for (int w = 0; w < workers; w++) {
		pids[w] = fork();
		if (pids[w] == 0)
			worker(w, w % nr_cpus, seed + (uint64_t)started);
		started++;
	}
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		long el = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
		if (el >= ms)
			break;
		int st;
		pid_t p = waitpid(-1, &st, WNOHANG | WUNTRACED | __WALL);
		if (p <= 0) {
			usleep(5000);
			continue;
		}
		if (WIFSTOPPED(st)) { /* a worker sent itself SIGSTOP */
			kill(p, SIGCONT);
			continue;
		}
		for (int w = 0; w < workers; w++)
			if (pids[w] == p) { /* a worker died early: replace it */
				died_early++;
				if (WIFSIGNALED(st))
					by_signal[WTERMSIG(st) & 63]++;
				pids[w] = fork();
				if (pids[w] == 0)
					worker(w, w % nr_cpus, seed + (uint64_t)started);
				started++;
			}
	}
	for (int w = 0; w < workers; w++)
		if (pids[w] > 0)
			kill(pids[w], SIGKILL);
	/* Reap every worker and every child they left (re-parented to init
	 * or autoreaped: only ours are waited for here). */
	int left = 0;
	for (int w = 0; w < workers; w++) {
		int st;
		if (pids[w] > 0 && waitpid(pids[w], &st, __WALL) != pids[w])
			left++;
	}
	while (waitpid(-1, NULL, WNOHANG | __WALL) > 0)
		;
	cleanup();
	int rm = rmdir("/fz");
	if (rm) { /* say what is left */
		DIR *d = opendir("/fz");
		struct dirent *e;
		while (d && (e = readdir(d)))
			printf("# left in /fz: '%s'\n", e->d_name);
		if (d)
			closedir(d);
	}
	uint64_t total = 0;
	for (int w = 0; w < workers; w++)
		total += counts[w];
	printf("# sysfuzz: %llu calls, %ld workers started, %ld died early (",
	       (unsigned long long)total, started, died_early);
	for (int s = 1; s < 65; s++)
		if (by_signal[s])
			printf(" sig%d:%ld", s, by_signal[s]);
	printf(" )\n# per worker: calls/now in");
	for (int w = 0; w < workers; w++)
		printf(" %llu/%llu", (unsigned long long)counts[w],
		       (unsigned long long)counts[MAX_WORKERS + w]);
	printf("\n");
	printf("%sok 1 every worker reaped\n", left ? "not " : "");
	printf("%sok 2 /fz removed (%s)\n", rm ? "not " : "", rm ? strerror(errno) : "empty");
	printf("1..2\n");
	return left || rm ? 1 : 0;
}
