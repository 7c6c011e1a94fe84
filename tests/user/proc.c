/*
 * tests/user/proc.c - processes from ring 3: fork, vfork, execve, exit,
 * wait4/waitid and their wait statuses, ids, orphans, close-on-exec,
 * errno for bad arguments, as Linux 6.1 answers. One KTAP case per check;
 * exit status 0 if every check passed, 1 otherwise.
 *
 * `proc exec-child CLOEXEC_FD KEPT_FD` is the program execve'd by the
 * checks: it exits 42 if the first fd is closed and the second open.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sched.h>
#include <unistd.h>

#include "ktap.h"

#define NCHECKS 33

static long raw(long nr, long a, long b, long c, long d, long e)
{
	long r = syscall(nr, a, b, c, d, e);
	return r < 0 ? -errno : r;
}

static unsigned get_mxcsr(void)
{
	unsigned v;
	__asm__ __volatile__("stmxcsr %0" : "=m"(v));
	return v;
}

static void set_mxcsr(unsigned v)
{
	__asm__ __volatile__("ldmxcsr %0" ::"m"(v));
}

static unsigned short get_fcw(void)
{
	unsigned short v;
	__asm__ __volatile__("fnstcw %0" : "=m"(v));
	return v;
}

static int exec_child(int argc, char **argv)
{
	if (argc < 4)
		return 1;
	if (get_mxcsr() != 0x1f80 || get_fcw() != 0x37f)
		return 3; /* execve did not reset the FPU */
	int closed = fcntl(atoi(argv[2]), F_GETFD) < 0 && errno == EBADF;
	int kept = fcntl(atoi(argv[3]), F_GETFD) == 0;
	return closed && kept ? 42 : 1;
}

static int wait_status(pid_t pid)
{
	int st = -1;
	return waitpid(pid, &st, 0) == pid ? st : -1;
}

static void fork_and_wait(void)
{
	int p[2];
	pipe(p);
	pid_t me = getpid();
	pid_t c = fork();
	if (c == 0) {
		int ok = getppid() == me && getpid() != me && syscall(SYS_gettid) == getpid();
		write(p[1], &ok, sizeof(ok));
		_exit(7);
	}
	int ok = 0;
	read(p[0], &ok, sizeof(ok));
	check(c > 0 && ok, "fork: the child has its own pid, the parent's as ppid");
	int st = wait_status(c);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 7, "wait4: the child's exit status");
	check(waitpid(-1, &st, 0) < 0 && errno == ECHILD, "wait4 with no children: ECHILD");
	close(p[0]);
	close(p[1]);

	c = fork();
	if (c == 0)
		_exit(256 + 5);
	st = wait_status(c);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 5, "exit status keeps the low 8 bits");

	c = fork();
	if (c == 0) {
		volatile uintptr_t bad = 8;
		*(volatile int *)bad = 1;
		_exit(0);
	}
	st = wait_status(c);
	check(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV && !WCOREDUMP(st),
	      "a faulting child: SIGSEGV in the status, no core bit");
}

static void nohang_and_errors(void)
{
	int p[2];
	pipe(p);
	pid_t c = fork();
	if (c == 0) {
		char b;
		close(p[1]);
		read(p[0], &b, 1); /* until the parent closes */
		_exit(3);
	}
	close(p[0]);
	int st;
	check(waitpid(c, &st, WNOHANG) == 0, "WNOHANG with a live child: 0");
	siginfo_t si;
	memset(&si, 0xff, sizeof(si));
	check(waitid(P_PID, c, &si, WEXITED | WNOHANG) == 0 && si.si_pid == 0 && si.si_signo == 0,
	      "waitid WNOHANG with a live child: 0, si_pid 0");
	check(raw(SYS_wait4, -1, 0, 0x100, 0, 0) == -EINVAL, "wait4 with a bad option: EINVAL");
	check(raw(SYS_waitid, P_ALL, 0, 0, WNOHANG, 0) == -EINVAL,
	      "waitid without WEXITED/WSTOPPED/WCONTINUED: EINVAL");
	check(raw(SYS_waitid, 3 /* P_PIDFD */, 0, 0, WEXITED, 0) == -EBADF,
	      "waitid P_PIDFD of a non-pidfd: EBADF");
	close(p[1]);
	memset(&si, 0, sizeof(si));
	check(waitid(P_PID, c, &si, WEXITED | WNOWAIT) == 0 && si.si_pid == c &&
		  si.si_signo == SIGCHLD && si.si_code == CLD_EXITED && si.si_status == 3,
	      "waitid: SIGCHLD, CLD_EXITED, the pid and the status");
	check(waitpid(c, &st, 0) == c && WEXITSTATUS(st) == 3, "WNOWAIT left the zombie to reap");

	c = fork();
	if (c == 0)
		_exit(0);
	check(raw(SYS_wait4, c, (long)0xffff800000001000ull, 0, 0, 0) == -EFAULT,
	      "wait4 into a kernel address: EFAULT");
	check(waitpid(c, &st, 0) < 0 && errno == ECHILD, "... and the child was reaped anyway");
}

/* fork copies the FPU state (control registers and data registers);
 * execve resets it (exec_child checks MXCSR and the x87 control word). */
static void fpu_state(void)
{
	unsigned saved = get_mxcsr();
	set_mxcsr(0x7f80); /* round toward zero, exceptions masked */
	volatile double x = 1.0;
	double third;
	__asm__ __volatile__("" ::: "memory");
	third = x / 3.0; /* held in xmm registers across the fork */
	pid_t c = fork();
	if (c == 0)
		_exit(get_mxcsr() == 0x7f80 && third == x / 3.0 ? 0 : 1);
	int st = wait_status(c);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fork: the child has the parent's FPU state");
	set_mxcsr(saved);
}

/* fork copies the fd table: a close in the child leaves the parent's. */
static void fd_table_copied(void)
{
	int p[2];
	pipe(p);
	pid_t c = fork();
	if (c == 0) {
		close(p[0]);
		close(p[1]);
		_exit(0);
	}
	wait_status(c);
	check(fcntl(p[0], F_GETFD) == 0 && write(p[1], "x", 1) == 1,
	      "fork copies the fd table: the child's close leaves the parent's fds");
	close(p[0]);
	close(p[1]);
}

static void pipes_and_vfork(void)
{
	int p[2];
	pipe(p);
	pid_t c = fork();
	if (c == 0) {
		close(p[0]);
		write(p[1], "hi", 2);
		_exit(0);
	}
	close(p[1]);
	char buf[4] = { 0 };
	check(read(p[0], buf, 2) == 2 && !memcmp(buf, "hi", 2),
	      "a pipe carries bytes to the parent");
	check(read(p[0], buf, 2) == 0, "EOF once the child is gone");
	close(p[0]);
	wait_status(c);

	static volatile int shared;
	shared = 0;
	c = vfork();
	if (c == 0) {
		shared = 1; /* the parent's memory: it sleeps until _exit */
		_exit(9);
	}
	check(shared == 1, "vfork: the child ran in the parent's memory first");
	check(WEXITSTATUS(wait_status(c)) == 9, "vfork child's status");
}

static void execs(char *self)
{
	int p[2];
	pipe2(p, O_CLOEXEC);
	int kept = dup(p[1]); /* dup clears close-on-exec */
	char a[16], b[16];
	snprintf(a, sizeof(a), "%d", p[0]);
	snprintf(b, sizeof(b), "%d", kept);
	pid_t c = fork();
	if (c == 0) {
		/* A state execve must not hand on: round toward zero, x87
		 * double precision. */
		set_mxcsr(0x7f80);
		unsigned short fcw = 0x27f;
		__asm__ __volatile__("fldcw %0" ::"m"(fcw));
		char *argv[] = { self, "exec-child", a, b, NULL };
		char *envp[] = { "X=1", NULL };
		execve(self, argv, envp);
		_exit(2);
	}
	check(WEXITSTATUS(wait_status(c)) == 42,
	      "execve: new program, O_CLOEXEC fds closed, others kept");
	close(p[0]);
	close(p[1]);
	close(kept);

	c = vfork();
	if (c == 0) {
		char *argv[] = { self, "exec-child", "100", "1", NULL };
		execve(self, argv, NULL);
		_exit(2);
	}
	check(WEXITSTATUS(wait_status(c)) == 42, "vfork + execve");

	char *argv[] = { "x", NULL };
	check(raw(SYS_execve, (long)"/no/such/file", (long)argv, 0, 0, 0) == -ENOENT,
	      "execve of a missing file: ENOENT");
	check(raw(SYS_execve, (long)"/bin/hello-dynamic", (long)argv, 0, 0, 0) == -ENOENT,
	      "execve of a dynamic program without its interpreter: ENOENT");
	check(raw(SYS_execve, 0, (long)argv, 0, 0, 0) == -EFAULT, "execve of a NULL path: EFAULT");
	check(raw(SYS_execve, (long)self, (long)0xffff800000000000ull, 0, 0, 0) == -EFAULT,
	      "execve with argv in the kernel: EFAULT");
	check(raw(SYS_execve, (long)"/", (long)argv, 0, 0, 0) == -EACCES,
	      "execve of a directory: EACCES");
}

static void clones(void)
{
	check(raw(435 /* clone3 */, 0, 0, 0, 0, 0) == -ENOSYS, "clone3: ENOSYS (libcs fall back)");
	check(raw(SYS_clone, 0x10000 /* CLONE_THREAD */ | 0x100, 0, 0, 0, 0) == -EINVAL,
	      "clone: CLONE_THREAD without CLONE_SIGHAND: EINVAL");
	check(raw(SYS_clone, 0x800 /* CLONE_SIGHAND */, 0, 0, 0, 0) == -EINVAL,
	      "clone: CLONE_SIGHAND without CLONE_VM: EINVAL");
	/* Linux 6.1 checks the exit signal only in clone3: clone(2) takes 65,
	 * the parent gets no signal for it, and the child is a "clone" child
	 * (exit signal not SIGCHLD) that only __WALL or __WCLONE waits see. */
	long pid = raw(SYS_clone, 65, 0, 0, 0, 0);
	if (pid == 0)
		_exit(7);
	int st = 0;
	check(pid > 0 && waitpid((pid_t)pid, &st, WNOHANG) < 0 && errno == ECHILD,
	      "clone: exit signal 65 accepted; a plain wait does not see the child");
	check(pid > 0 && waitpid((pid_t)pid, &st, __WALL) == pid && WIFEXITED(st) &&
		  WEXITSTATUS(st) == 7,
	      "clone: exit signal 65: __WALL reaps it");
}

/* A grandchild whose parent dies is re-parented (to init, or to nobody
 * when the kernel started this program: then its ppid reads 0). */
static void orphans(void)
{
	int p[2], q[2];
	pipe(p);
	pipe(q);
	pid_t c = fork();
	if (c == 0) {
		pid_t mid = getpid();
		if (fork() == 0) {
			char b;
			close(q[1]);
			read(q[0], &b, 1); /* EOF: the middle one is exiting */
			for (int i = 0; i < 1000000 && getppid() == mid; i++)
				sched_yield();
			int ppid = getppid();
			write(p[1], &ppid, sizeof(ppid));
			_exit(0);
		}
		_exit(0);
	}
	close(p[1]);
	close(q[0]);
	close(q[1]);
	wait_status(c);
	int ppid = -1;
	check(read(p[0], &ppid, sizeof(ppid)) == sizeof(ppid) && ppid != c,
	      "an orphan is re-parented");
	printf("# orphan's new ppid: %d\n", ppid);
	close(p[0]);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "exec-child"))
		return exec_child(argc, argv);
	setvbuf(stdout, NULL, _IONBF, 0);
	printf("KTAP version 1\n1..%d\n", NCHECKS + 1);
	fork_and_wait();
	nohang_and_errors();
	pipes_and_vfork();
	fpu_state();
	fd_table_copied();
	execs(argv[0]);
	clones();
	orphans();
	check(n == NCHECKS, "every check ran");
	return failed ? 1 : 0;
}
