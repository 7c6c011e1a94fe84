/*
 * tests/user/misc.c - the small system calls from ring 3 (musl static):
 * credentials (root), uname, getrandom, sysinfo, getrlimit/setrlimit/
 * prlimit64 (Linux's defaults for root; RLIMIT_NOFILE enforced), the
 * robust list, rseq, prctl(PR_SET_NAME/PR_GET_NAME), the sched_* queries,
 * and CPU affinity: pinned to each CPU in turn (the CPUs come from
 * sched_getaffinity), sched_getcpu and getcpu report it at once and after
 * yields; a two-CPU mask is respected. Results and errno for bad arguments
 * (bad pointers, kernel addresses, bad flags, pids that name nothing). One
 * KTAP line per check, the plan at the end; exit 0 iff all passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "ktap.h"

#define KERNEL_ADDR 0xffff800000000000L
#define NO_PID	    99999


static long raw(long nr, long a, long b, long c, long d)
{
	long r = syscall(nr, a, b, c, d);
	return r < 0 ? -errno : r;
}

static void test_ids(void)
{
	check(getuid() == 0 && geteuid() == 0 && getgid() == 0 && getegid() == 0,
	      "uid, euid, gid, egid are 0 (root)");
	uid_t r = 7, e = 7, s = 7;
	gid_t gr = 7, ge = 7, gs = 7;
	check(getresuid(&r, &e, &s) == 0 && !r && !e && !s && getresgid(&gr, &ge, &gs) == 0 &&
		  !gr && !ge && !gs,
	      "getresuid/getresgid: all 0");
	check(raw(SYS_getresuid, (long)&r, KERNEL_ADDR, (long)&s, 0) == -EFAULT &&
		  raw(SYS_getresgid, 0, (long)&ge, (long)&gs, 0) == -EFAULT,
	      "getresuid/getresgid into a kernel address or NULL: EFAULT");
	check(setuid(0) == 0 && setgid(0) == 0 && setresuid(-1, 0, -1) == 0 &&
		  setresgid(0, -1, 0) == 0,
	      "setting the ids to 0 (or leaving them) succeeds");
	check(raw(SYS_setuid, -1, 0, 0, 0) == -EINVAL && raw(SYS_setgid, -1, 0, 0, 0) == -EINVAL,
	      "setuid(-1)/setgid(-1): EINVAL");
	gid_t groups[4];
	check(getgroups(0, NULL) == 0 && getgroups(4, groups) == 0,
	      "getgroups: no supplementary groups");
	check(raw(SYS_getgroups, -1, 0, 0, 0) == -EINVAL, "getgroups(-1): EINVAL");
	check(raw(SYS_setgroups, 0, 0, 0, 0) == 0 &&
		  raw(SYS_setgroups, 70000, 0, 0, 0) == -EINVAL &&
		  raw(SYS_setgroups, 1, KERNEL_ADDR, 0, 0) == -EFAULT,
	      "setgroups: empty list ok, too many EINVAL, kernel address EFAULT");
}

static void test_uname(void)
{
	struct utsname u;
	check(uname(&u) == 0 && !strcmp(u.sysname, "Linux") && !strncmp(u.release, "6.", 2) &&
		  !strcmp(u.machine, "x86_64") && u.version[0],
	      "uname: Linux 6.x on x86_64");
	printf("# uname: %s %s %s %s %s\n", u.sysname, u.nodename, u.release, u.version, u.machine);
	check(raw(SYS_uname, 0, 0, 0, 0) == -EFAULT &&
		  raw(SYS_uname, KERNEL_ADDR, 0, 0, 0) == -EFAULT,
	      "uname into NULL or a kernel address: EFAULT");
}

static void test_getrandom(void)
{
	unsigned char a[32], b[32];
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	check(getrandom(a, sizeof(a), 0) == 32 && getrandom(b, sizeof(b), GRND_NONBLOCK) == 32 &&
		  memcmp(a, b, sizeof(a)),
	      "getrandom fills the buffer, differently each call");
	check(getrandom(a, 5, GRND_RANDOM) == 5 && getrandom(a, 7, GRND_INSECURE) == 7,
	      "getrandom with GRND_RANDOM, GRND_INSECURE");
	check(raw(SYS_getrandom, (long)a, 8, 0x8, 0) == -EINVAL &&
		  raw(SYS_getrandom, (long)a, 8, GRND_RANDOM | GRND_INSECURE, 0) == -EINVAL,
	      "getrandom with an unknown flag or RANDOM|INSECURE: EINVAL");
	check(raw(SYS_getrandom, 0, 16, 0, 0) == -EFAULT &&
		  raw(SYS_getrandom, KERNEL_ADDR, 16, 0, 0) == -EFAULT &&
		  raw(SYS_getrandom, (long)a, -1L, 0, 0) == -EFAULT,
	      "getrandom into NULL, a kernel address, a wrapping length: EFAULT");
	check(raw(SYS_getrandom, (long)a, 0, 0, 0) == 0, "getrandom of 0 bytes returns 0");
}

static void test_sysinfo(void)
{
	struct sysinfo si;
	memset(&si, 0xa5, sizeof(si));
	check(sysinfo(&si) == 0 && si.uptime > 0 && si.totalram > 0 && si.freeram > 0 &&
		  si.freeram <= si.totalram && si.mem_unit == 1 && si.procs > 0 &&
		  si.totalswap == 0,
	      "sysinfo: uptime, RAM in bytes, threads");
	check(raw(SYS_sysinfo, KERNEL_ADDR, 0, 0, 0) == -EFAULT,
	      "sysinfo into a kernel address: EFAULT");
}

static void test_rlimits(void)
{
	struct rlimit r;
	check(getrlimit(RLIMIT_STACK, &r) == 0 && r.rlim_cur == 8 << 20 &&
		  r.rlim_max == RLIM_INFINITY,
	      "RLIMIT_STACK: 8 MiB, no hard limit");
	check(getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur == 1024 && r.rlim_max == 4096,
	      "RLIMIT_NOFILE: 1024/4096");
	check(getrlimit(RLIMIT_CORE, &r) == 0 && r.rlim_cur == 0 && r.rlim_max == RLIM_INFINITY,
	      "RLIMIT_CORE: 0, no hard limit");
	check(getrlimit(RLIMIT_CPU, &r) == 0 && r.rlim_cur == RLIM_INFINITY &&
		  getrlimit(RLIMIT_AS, &r) == 0 && r.rlim_cur == RLIM_INFINITY,
	      "RLIMIT_CPU, RLIMIT_AS: infinite");
	check(raw(SYS_getrlimit, 16, (long)&r, 0, 0) == -EINVAL &&
		  raw(SYS_getrlimit, RLIMIT_STACK, KERNEL_ADDR, 0, 0) == -EFAULT,
	      "getrlimit: bad resource EINVAL, kernel address EFAULT");
	struct rlimit small = { 10, 4096 };
	check(setrlimit(RLIMIT_NOFILE, &small) == 0 && getrlimit(RLIMIT_NOFILE, &r) == 0 &&
		  r.rlim_cur == 10,
	      "setrlimit(RLIMIT_NOFILE) to 10");
	int last = -1, fd;
	while ((fd = dup(0)) >= 0)
		last = fd;
	check(last == 9 && errno == EMFILE, "RLIMIT_NOFILE 10: fd 9 is the last, then EMFILE");
	for (int i = 3; i <= last; i++)
		close(i);
	struct rlimit back = { 1024, 4096 };
	check(setrlimit(RLIMIT_NOFILE, &back) == 0, "setrlimit(RLIMIT_NOFILE) back to 1024");
	struct rlimit inv = { 20, 10 }, huge = { 1024, 2 << 20 };
	check(setrlimit(RLIMIT_NOFILE, &inv) < 0 && errno == EINVAL,
	      "setrlimit with cur > max: EINVAL");
	check(setrlimit(RLIMIT_NOFILE, &huge) < 0 && errno == EPERM,
	      "setrlimit(RLIMIT_NOFILE) above nr_open: EPERM");
	check(raw(SYS_setrlimit, RLIMIT_STACK, KERNEL_ADDR, 0, 0) == -EFAULT &&
		  raw(SYS_setrlimit, 99, (long)&back, 0, 0) == -EINVAL,
	      "setrlimit: kernel address EFAULT, bad resource EINVAL");
	struct rlimit old, st = { 4 << 20, RLIM_INFINITY };
	check(prlimit(0, RLIMIT_STACK, &st, &old) == 0 && old.rlim_cur == 8 << 20 &&
		  prlimit(getpid(), RLIMIT_STACK, NULL, &old) == 0 && old.rlim_cur == 4 << 20,
	      "prlimit64 on pid 0 and on our own pid: set and read back");
	check(raw(SYS_prlimit64, NO_PID, RLIMIT_STACK, 0, (long)&old) == -ESRCH &&
		  raw(SYS_prlimit64, 0, RLIMIT_STACK, KERNEL_ADDR, 0) == -EFAULT &&
		  raw(SYS_prlimit64, 0, RLIMIT_STACK, 0, KERNEL_ADDR) == -EFAULT &&
		  raw(SYS_prlimit64, 0, 16, 0, (long)&old) == -EINVAL,
	      "prlimit64: other pid ESRCH, kernel addresses EFAULT, bad resource EINVAL");
}

static void test_robust_rseq_prctl(void)
{
	long head[3] = { 0, 0, 0 }, *got = 0;
	size_t len = 0;
	check(raw(SYS_set_robust_list, (long)head, 24, 0, 0) == 0 &&
		  raw(SYS_get_robust_list, 0, (long)&got, (long)&len, 0) == 0 && got == head &&
		  len == 24,
	      "set_robust_list recorded, get_robust_list reads it back");
	check(raw(SYS_set_robust_list, (long)head, 23, 0, 0) == -EINVAL,
	      "set_robust_list with a wrong size: EINVAL");
	check(raw(SYS_get_robust_list, NO_PID, (long)&got, (long)&len, 0) == -ESRCH &&
		  raw(SYS_get_robust_list, 0, KERNEL_ADDR, (long)&len, 0) == -EFAULT,
	      "get_robust_list: other pid ESRCH, kernel address EFAULT");
	check(raw(SYS_rseq, 0, 32, 0, 0) == -ENOSYS, "rseq: ENOSYS (libcs carry on without it)");
	char name[16] = { 0 };
	check(prctl(PR_SET_NAME, "misc-test-long-name", 0, 0, 0) == 0 &&
		  prctl(PR_GET_NAME, name, 0, 0, 0) == 0 && !strcmp(name, "misc-test-long-"),
	      "prctl PR_SET_NAME keeps 15 bytes, PR_GET_NAME reads them");
	check(raw(SYS_prctl, PR_SET_NAME, KERNEL_ADDR, 0, 0) == -EFAULT &&
		  raw(SYS_prctl, PR_GET_NAME, 0, 0, 0) == -EFAULT,
	      "prctl names at bad addresses: EFAULT");
	check(raw(SYS_prctl, 0x7fff, 0, 0, 0) == -EINVAL, "prctl with an unknown option: EINVAL");
}

static void test_sched_info(void)
{
	struct sched_param p;
	memset(&p, 0, sizeof(p));
	p.sched_priority = 5;
	/* Raw: musl's wrappers answer ENOSYS without asking (Linux's calls are
	 * per thread, POSIX's per process). */
	check(raw(SYS_sched_getscheduler, 0, 0, 0, 0) == SCHED_OTHER &&
		  raw(SYS_sched_getparam, 0, (long)&p, 0, 0) == 0 && p.sched_priority == 0,
	      "sched_getscheduler/sched_getparam: SCHED_OTHER, priority 0");
	check(raw(SYS_sched_getscheduler, -1, 0, 0, 0) == -EINVAL &&
		  raw(SYS_sched_getscheduler, NO_PID, 0, 0, 0) == -ESRCH &&
		  raw(SYS_sched_getparam, 0, 0, 0, 0) == -EINVAL &&
		  raw(SYS_sched_getparam, NO_PID, (long)&p, 0, 0) == -ESRCH &&
		  raw(SYS_sched_getparam, 0, KERNEL_ADDR, 0, 0) == -EFAULT,
	      "sched_getscheduler/getparam: EINVAL, ESRCH, EFAULT");
	check(sched_get_priority_max(SCHED_FIFO) == 99 && sched_get_priority_min(SCHED_FIFO) == 1 &&
		  sched_get_priority_max(SCHED_OTHER) == 0 &&
		  sched_get_priority_min(SCHED_OTHER) == 0,
	      "sched_get_priority_max/min");
	check(raw(SYS_sched_get_priority_max, 4, 0, 0, 0) == -EINVAL &&
		  raw(SYS_sched_get_priority_min, 42, 0, 0, 0) == -EINVAL,
	      "sched_get_priority_max/min of a bad policy: EINVAL");
}

static int getcpu_raw(void)
{
	unsigned cpu = 999, node = 999;
	if (raw(SYS_getcpu, (long)&cpu, (long)&node, 0, 0) || node != 0)
		return -1;
	return (int)cpu;
}

static void test_affinity(void)
{
	cpu_set_t all, s;
	CPU_ZERO(&all);
	long got = raw(SYS_sched_getaffinity, 0, sizeof(all), (long)&all, 0);
	int ncpu = CPU_COUNT(&all);
	printf("# sched_getaffinity: %ld bytes, %d CPUs\n", got, ncpu);
	check(got == 8 && ncpu >= 1, "sched_getaffinity answers 8 bytes with at least one CPU");
	check(raw(SYS_sched_getaffinity, 0, 4, (long)&s, 0) == -EINVAL &&
		  raw(SYS_sched_getaffinity, 0, 12, (long)&s, 0) == -EINVAL,
	      "sched_getaffinity with a length not a multiple of 8: EINVAL");
	check(raw(SYS_sched_getaffinity, NO_PID, 8, (long)&s, 0) == -ESRCH &&
		  raw(SYS_sched_getaffinity, 0, 8, KERNEL_ADDR, 0) == -EFAULT,
	      "sched_getaffinity: other pid ESRCH, kernel address EFAULT");
	int cpu_ok = 1, stays = 1, visited = 0;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &all))
			continue;
		CPU_ZERO(&s);
		CPU_SET(cpu, &s);
		if (sched_setaffinity(0, sizeof(s), &s)) {
			cpu_ok = 0;
			continue;
		}
		visited++;
		cpu_ok &= sched_getcpu() == cpu && getcpu_raw() == cpu;
		for (int i = 0; i < 50; i++) {
			sched_yield();
			stays &= sched_getcpu() == cpu;
		}
		struct timespec ts = { 0, 2000000 };
		nanosleep(&ts, NULL);
		stays &= getcpu_raw() == cpu;
	}
	check(cpu_ok && visited == ncpu, "pinned to each CPU in turn: getcpu reports it at once");
	check(stays, "a pinned thread stays after yields and sleeps");
	if (ncpu >= 2) {
		int a = -1, b = -1, inside = 1;
		for (int cpu = 0; cpu < CPU_SETSIZE && b < 0; cpu++)
			if (CPU_ISSET(cpu, &all)) {
				if (a < 0)
					a = cpu;
				else
					b = cpu;
			}
		CPU_ZERO(&s);
		CPU_SET(a, &s);
		CPU_SET(b, &s);
		sched_setaffinity(0, sizeof(s), &s);
		for (int i = 0; i < 300; i++) {
			sched_yield();
			int c = sched_getcpu();
			inside &= c == a || c == b;
		}
		check(inside, "a two-CPU mask is respected across yields");
	}
	CPU_ZERO(&s);
	check(raw(SYS_sched_setaffinity, 0, sizeof(s), (long)&s, 0) == -EINVAL,
	      "sched_setaffinity with an empty mask: EINVAL");
	unsigned long high = 1ul << 63; /* CPU 63: not online here */
	check(ncpu == 64 || raw(SYS_sched_setaffinity, 0, 8, (long)&high, 0) == -EINVAL,
	      "sched_setaffinity to CPUs that are not online: EINVAL");
	check(raw(SYS_sched_setaffinity, NO_PID, sizeof(all), (long)&all, 0) == -ESRCH &&
		  raw(SYS_sched_setaffinity, 0, 8, KERNEL_ADDR, 0) == -EFAULT,
	      "sched_setaffinity: other pid ESRCH, kernel address EFAULT");
	cpu_set_t back;
	CPU_ZERO(&back);
	check(sched_setaffinity(getpid(), sizeof(all), &all) == 0 &&
		  sched_getaffinity(0, sizeof(back), &back) == 0 && CPU_EQUAL(&all, &back),
	      "sched_setaffinity on our own pid restores every CPU");
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	printf("KTAP version 1\n");
	test_ids();
	test_uname();
	test_getrandom();
	test_sysinfo();
	test_rlimits();
	test_robust_rseq_prctl();
	test_sched_info();
	test_affinity();
	printf("1..%d\n", n);
	return failed != 0;
}
