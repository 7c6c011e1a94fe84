/*
 * tests/user/rusage.c - CPU time and fault accounting (musl static):
 * getrusage(2) RUSAGE_SELF/CHILDREN/THREAD, times(2), the rusage of wait4
 * and waitid, and /proc/self/stat's fields 7-8 and 10-17.
 *
 *   - spinning in user mode for 300 ms of CPU time: ru_utime grows by
 *     >= 250 ms, ru_stime by little;
 *   - getppid in a loop for 600 ms: a share of the time is ru_stime (about
 *     half under TCG; >= 1/10 required: 60 ticks sampled, and a run pinned
 *     to CPU 0 saw 39 ms of 300);
 *   - 20 sleeps of 1 ms: 20 voluntary context switches (ru_nvcsw);
 *   - touching 256 new pages: ru_minflt grows by >= 256; reading a file
 *     whose pages were dropped from the cache (fsync + fadvise DONTNEED):
 *     ru_majflt grows;
 *   - a child that spins (and reaps a spinning grandchild) then exits: its
 *     time shows in neither RUSAGE_CHILDREN nor times' tms_cutime nor
 *     /proc/self/stat's cutime while it is an unreaped zombie (waitid
 *     WNOWAIT reports its rusage all the same), and in all of them, and in
 *     wait4's rusage with the grandchild's, once reaped;
 *   - a child autoreaped (SIGCHLD ignored) adds nothing;
 *   - /proc/self/stat agrees with getrusage (within two ticks);
 *   - tty_nr and tpgid: a new session that takes /dev/ttyS0 as its
 *     controlling tty sees 4:64 encoded (1088) and its own group;
 *   - errno: EINVAL for a bad `who` (before the pointer is looked at),
 *     EFAULT for bad pointers (getrusage, times, wait4's rusage).
 * One KTAP line per check, the plan at the end; exit 0 iff all passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ktap.h"

#define KERNEL_ADDR 0xffff800000000000L
#define PG	    4096

static long raw(long nr, long a, long b, long c, long d)
{
	long r = syscall(nr, a, b, c, d);
	return r < 0 ? -errno : r;
}

static long ms(const struct timeval *tv)
{
	return tv->tv_sec * 1000 + tv->tv_usec / 1000;
}

static struct rusage ru(int who)
{
	struct rusage r;
	memset(&r, 0, sizeof(r));
	if (getrusage(who, &r))
		printf("# getrusage(%d) failed: %d\n", who, errno);
	return r;
}

static long cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Spin in user mode until `ms_` more milliseconds of CPU time are ours. */
static void spin_user(long ms_)
{
	long end = cpu_ms() + ms_;
	volatile unsigned long x = 0;
	while (cpu_ms() < end)
		for (int i = 0; i < 1000000; i++)
			x += i;
}

/* /proc/self/stat's fields (1-based); 0 on success. */
static int stat_fields(long long f[53])
{
	char buf[2048];
	int fd = open("/proc/self/stat", O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	memset(f, 0, 53 * sizeof(f[0]));
	p += 2; /* field 3: the state */
	p++;
	for (int i = 4; i <= 52 && *p; i++)
		f[i] = strtoll(p, &p, 10);
	return 0;
}

static void test_errno(void)
{
	struct rusage r;
	check(raw(SYS_getrusage, 2, (long)&r, 0, 0) == -EINVAL, "getrusage(2): EINVAL");
	check(raw(SYS_getrusage, -2, (long)&r, 0, 0) == -EINVAL, "getrusage(-2): EINVAL");
	check(raw(SYS_getrusage, 5, KERNEL_ADDR, 0, 0) == -EINVAL,
	      "getrusage(5, kernel address): EINVAL before the pointer");
	check(raw(SYS_getrusage, RUSAGE_SELF, 8, 0, 0) == -EFAULT, "getrusage(SELF, 8): EFAULT");
	check(raw(SYS_getrusage, RUSAGE_CHILDREN, KERNEL_ADDR, 0, 0) == -EFAULT,
	      "getrusage(CHILDREN, kernel address): EFAULT");
	check(raw(SYS_getrusage, RUSAGE_THREAD, 0, 0, 0) == -EFAULT,
	      "getrusage(THREAD, NULL): EFAULT");
	check(raw(SYS_getrusage, RUSAGE_THREAD, (long)&r, 0, 0) == 0, "getrusage(THREAD): 0");
	check(raw(SYS_times, KERNEL_ADDR, 0, 0, 0) == -EFAULT, "times(kernel address): EFAULT");
	check(raw(SYS_times, 16, 0, 0, 0) == -EFAULT, "times(16): EFAULT");
	long t0 = raw(SYS_times, 0, 0, 0, 0);
	long w0 = now_ms();
	while (now_ms() - w0 < 100)
		;
	long t1 = raw(SYS_times, 0, 0, 0, 0);
	check(t0 > 0 && t1 - t0 >= 8 && t1 - t0 <= 30,
	      "times(NULL): clock ticks at USER_HZ (about 10 in 100 ms)");
}

static void test_user_system(void)
{
	struct rusage a = ru(RUSAGE_SELF), at = ru(RUSAGE_THREAD);
	spin_user(300);
	struct rusage b = ru(RUSAGE_SELF), bt = ru(RUSAGE_THREAD);
	long du = ms(&b.ru_utime) - ms(&a.ru_utime), ds = ms(&b.ru_stime) - ms(&a.ru_stime);
	printf("# user spin: utime +%ld ms, stime +%ld ms\n", du, ds);
	check(du >= 250, "300 ms of user spinning: ru_utime grows by >= 250 ms");
	check(ds * 3 <= du, "300 ms of user spinning: ru_stime grows by <= 1/3 of ru_utime");
	check(ms(&bt.ru_utime) - ms(&at.ru_utime) >= 250,
	      "RUSAGE_THREAD sees the spin too (one thread)");

	a = ru(RUSAGE_SELF);
	long end = now_ms() + 600, calls = 0;
	while (now_ms() < end)
		for (int i = 0; i < 1000; i++, calls++)
			syscall(SYS_getppid);
	b = ru(RUSAGE_SELF);
	du = ms(&b.ru_utime) - ms(&a.ru_utime);
	ds = ms(&b.ru_stime) - ms(&a.ru_stime);
	printf("# %ld getppid: utime +%ld ms, stime +%ld ms\n", calls, du, ds);
	check(ds >= 30 && ds * 10 >= du + ds,
	      "600 ms of getppid: ru_stime grows by >= 30 ms, >= 1/10 of the time");

	a = ru(RUSAGE_SELF);
	for (int i = 0; i < 20; i++)
		usleep(1000);
	b = ru(RUSAGE_SELF);
	printf("# 20 sleeps: nvcsw +%ld, nivcsw +%ld\n", b.ru_nvcsw - a.ru_nvcsw,
	       b.ru_nivcsw - a.ru_nivcsw);
	check(b.ru_nvcsw - a.ru_nvcsw >= 20, "20 sleeps: ru_nvcsw grows by >= 20");
}

static void test_faults(void)
{
	enum { N = 256 };
	struct rusage a = ru(RUSAGE_SELF);
	char *m = mmap(NULL, N * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (int i = 0; i < N; i++)
		m[i * PG] = 1;
	struct rusage b = ru(RUSAGE_SELF);
	printf("# %d pages touched: minflt +%ld, majflt +%ld\n", N, b.ru_minflt - a.ru_minflt,
	       b.ru_majflt - a.ru_majflt);
	check(b.ru_minflt - a.ru_minflt >= N, "touching 256 new pages: ru_minflt grows by >= 256");
	check(b.ru_majflt == a.ru_majflt, "anonymous pages are no major faults");
	check(b.ru_maxrss >= N * PG / 1024, "ru_maxrss (KiB) covers the 256 pages");
	munmap(m, N * PG);

	/* A file's pages dropped from the cache: reading them is a major fault. */
	const char *path = "/rusage.dat";
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	static char page[PG];
	memset(page, 'r', sizeof(page));
	for (int i = 0; i < 16; i++)
		if (write(fd, page, PG) != PG)
			printf("# write failed\n");
	fsync(fd);
	posix_fadvise(fd, 0, 16 * PG, POSIX_FADV_DONTNEED);
	a = ru(RUSAGE_SELF);
	volatile char *f = mmap(NULL, 16 * PG, PROT_READ, MAP_SHARED, fd, 0);
	int sum = 0;
	for (int i = 0; i < 16; i++)
		sum += f[i * PG];
	b = ru(RUSAGE_SELF);
	printf("# dropped file read: majflt +%ld, minflt +%ld\n", b.ru_majflt - a.ru_majflt,
	       b.ru_minflt - a.ru_minflt);
	check(sum == 16 * 'r' && b.ru_majflt - a.ru_majflt >= 1,
	      "reading file pages dropped from the cache: ru_majflt grows");
	munmap((void *)f, 16 * PG);
	close(fd);
	unlink(path);
}

static void test_children(void)
{
	struct rusage c0 = ru(RUSAGE_CHILDREN);
	struct tms t0;
	times(&t0);
	long long s0[53];
	stat_fields(s0);
	pid_t pid = fork();
	if (pid == 0) {
		pid_t g = fork();
		if (g == 0) {
			spin_user(300);
			_exit(0);
		}
		waitpid(g, NULL, 0);
		char *m =
		    mmap(NULL, 64 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		for (int i = 0; i < 64; i++)
			m[i * PG] = 1;
		spin_user(100);
		_exit(7);
	}
	siginfo_t si;
	struct rusage wr;
	memset(&si, 0, sizeof(si));
	memset(&wr, 0, sizeof(wr));
	int r = syscall(SYS_waitid, P_PID, pid, &si, WEXITED | WNOWAIT, &wr) == 0;
	check(r && si.si_pid == pid && ms(&wr.ru_utime) >= 350,
	      "waitid WNOWAIT: the zombie's rusage (with its reaped child's)");
	struct rusage c1 = ru(RUSAGE_CHILDREN);
	struct tms t1;
	times(&t1);
	long long s1[53];
	stat_fields(s1);
	check(ms(&c1.ru_utime) == ms(&c0.ru_utime) && c1.ru_minflt == c0.ru_minflt,
	      "an unreaped child is not in RUSAGE_CHILDREN");
	check(t1.tms_cutime == t0.tms_cutime, "an unreaped child is not in tms_cutime");
	check(s1[16] == s0[16] && s1[11] == s0[11],
	      "an unreaped child is not in /proc/self/stat cutime, cminflt");

	int st = 0;
	struct rusage w;
	memset(&w, 0, sizeof(w));
	check(wait4(pid, &st, 0, &w) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 7,
	      "wait4 reaps the child");
	printf("# child: wait4 utime %ld ms stime %ld ms minflt %ld\n", ms(&w.ru_utime),
	       ms(&w.ru_stime), w.ru_minflt);
	check(ms(&w.ru_utime) >= 350, "wait4's rusage: the child's and its child's user time");
	check(w.ru_minflt >= 64, "wait4's rusage: the child's page faults");
	struct rusage c2 = ru(RUSAGE_CHILDREN);
	long dc = ms(&c2.ru_utime) - ms(&c0.ru_utime);
	check(dc >= 350 && dc <= ms(&w.ru_utime) + 1,
	      "after the reap: RUSAGE_CHILDREN has the child's user time");
	check(c2.ru_minflt - c0.ru_minflt >= 64, "after the reap: RUSAGE_CHILDREN's ru_minflt");
	check(c2.ru_maxrss >= 64 * PG / 1024,
	      "RUSAGE_CHILDREN's ru_maxrss covers the child's pages");
	struct tms t2;
	times(&t2);
	check(t2.tms_cutime - t0.tms_cutime >= 35, "after the reap: tms_cutime >= 35 ticks");
	long long s2[53];
	stat_fields(s2);
	check(s2[16] - s0[16] >= 35 && s2[11] - s0[11] >= 64,
	      "after the reap: /proc/self/stat cutime and cminflt");

	/* Autoreaped: SIGCHLD ignored, nothing is added. */
	signal(SIGCHLD, SIG_IGN);
	pid = fork();
	if (pid == 0) {
		spin_user(200);
		_exit(0);
	}
	check(wait4(-1, NULL, 0, NULL) == -1 && errno == ECHILD,
	      "SIGCHLD ignored: wait4 waits for the child, then ECHILD");
	signal(SIGCHLD, SIG_DFL);
	struct rusage c3 = ru(RUSAGE_CHILDREN);
	check(ms(&c3.ru_utime) == ms(&c2.ru_utime), "an autoreaped child adds nothing");
}

static void test_proc_stat(void)
{
	struct rusage a = ru(RUSAGE_SELF), ca = ru(RUSAGE_CHILDREN);
	long long f[53];
	int ok = stat_fields(f) == 0;
	struct rusage b = ru(RUSAGE_SELF);
	long au = ms(&a.ru_utime) / 10, as = ms(&a.ru_stime) / 10;
	long bu = ms(&b.ru_utime) / 10, bs = ms(&b.ru_stime) / 10;
	printf("# stat utime %lld stime %lld, getrusage %ld-%ld %ld-%ld ticks\n", f[14], f[15], au,
	       bu, as, bs);
	check(ok && f[14] >= au - 2 && f[14] <= bu + 2, "/proc/self/stat utime: getrusage's");
	check(ok && f[15] >= as - 2 && f[15] <= bs + 2, "/proc/self/stat stime: getrusage's");
	check(ok && f[16] == ms(&ca.ru_utime) / 10 && f[17] == ms(&ca.ru_stime) / 10,
	      "/proc/self/stat cutime, cstime: RUSAGE_CHILDREN's");
	check(ok && f[10] >= a.ru_minflt && f[10] <= b.ru_minflt && f[12] >= a.ru_majflt &&
		  f[12] <= b.ru_majflt,
	      "/proc/self/stat minflt, majflt: getrusage's");
	check(ok && f[11] == ca.ru_minflt && f[13] == ca.ru_majflt,
	      "/proc/self/stat cminflt, cmajflt: RUSAGE_CHILDREN's");
}

/* A new session takes /dev/ttyS0: tty_nr 4:64 (1088) and tpgid its group.
 * Without a controlling tty: 0 and -1. */
static void test_tty(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		long long f[53];
		int bad = 0;
		if (setsid() < 0)
			_exit(2);
		if (stat_fields(f) || f[7] != 0 || f[8] != -1)
			bad |= 4;
		int fd = open("/dev/ttyS0", O_RDWR);
		int ours = fd >= 0 && tcgetpgrp(fd) == getpid();
		if (ours)
			printf("# tty: ours\n");
		if (stat_fields(f))
			_exit(3);
		if (ours && (f[7] != 1088 || f[8] != getpid()))
			bad |= 8;
		if (!ours && (f[7] != 0 || f[8] != -1))
			bad |= 16;
		_exit(bad);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "/proc/self/stat tty_nr and tpgid: 0 and -1, then /dev/ttyS0's 1088 and our group");
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	printf("KTAP version 1\n");
	test_errno();
	test_user_system();
	test_faults();
	test_children();
	test_proc_stat();
	test_tty();
	printf("1..%d\n", n);
	printf("# every check ran\n");
	return failed != 0;
}
