/*
 * tests/user/procfiles.c - the /proc files of issue 15 (kernel/fs/procfs.c),
 * format and values, as Linux 6.1 shows them; run by tests/test_shell.c,
 * one part per case (`procfiles PART`):
 *
 *   stat      /proc/self/stat: 52 fields, pid, (comm), state R, ppid, pgrp,
 *             session, num_threads (2 with a thread), starttime not after
 *             now, vsize = statm size, rss = statm resident, utime grows
 *             with CPU time spent; a fork child's stat: ppid us, state S
 *             while it sleeps, Z once it exited and is not yet reaped
 *   statm     7 fields; resident = smaps_rollup Rss exactly; 1 MiB touched
 *             adds 256 pages to size and resident; shared = RssFile +
 *             RssShmem
 *   fd        /proc/self/fd lists 0 1 2 and what we open; readlink gives the
 *             path of a file, pipe:[ino] with fstat's st_ino; a closed fd
 *             is ENOENT; opening /proc/self/fd/N of a pipe reads the pipe
 *   meminfo   Linux's labels and layout; MemFree <= MemAvailable <=
 *             MemTotal; MemTotal and MemFree as sysinfo's totalram and
 *             freeram (within 1 MiB); 8 MiB mapped and touched takes >= 7 MiB
 *             of MemFree and adds >= 7 MiB to AnonPages; munmap gives it back
 *   global    cpuinfo (one block per online CPU, flags with fpu), stat (cpu
 *             lines, user time growing with ours, ctxt, btime near now - uptime, processes, procs_running),
 *             uptime (near CLOCK_MONOTONIC), loadavg (format; running >= 1),
 *             mounts (/ and /proc)
 *   readdir   getdents64 of /proc lists our pid, a child's pid and the
 *             global files; the child's pid is gone once reaped
 * KTAP lines; exit status 0 if every check passed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "ktap.h"

static char big[1 << 16], big2[1 << 16];

/* The whole of a file into buf (NUL-terminated): its length or -errno. */
static long slurp_into(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	long n = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, size - 1 - (size_t)n);
		if (r < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		if (r == 0)
			break;
		n += r;
	}
	buf[n] = 0;
	close(fd);
	return n;
}

static long slurp(const char *path)
{
	return slurp_into(path, big, sizeof(big));
}

/* The value after "name:" in buf (meminfo, smaps_rollup), or -1. */
static long long field_in(const char *buf, const char *name)
{
	size_t nl = strlen(name);
	for (const char *p = buf; *p;) {
		if (!strncmp(p, name, nl) && p[nl] == ':')
			return strtoll(p + nl + 1, NULL, 10);
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
	return -1;
}

/* /proc/PID/stat split into fields[1..52] (fields[2] the comm without the
 * parentheses); the number of fields, or -1. */
struct pstat {
	int nr;
	char comm[64];
	char state;
	unsigned long long v[53];
};

static int read_stat(int pid, struct pstat *s)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	memset(s, 0, sizeof(*s));
	if (slurp_into(path, big2, sizeof(big2)) <= 0)
		return -1;
	char *open_p = strchr(big2, '('), *close_p = strrchr(big2, ')');
	if (!open_p || !close_p || close_p < open_p)
		return -1;
	s->v[1] = strtoull(big2, NULL, 10);
	size_t cl = (size_t)(close_p - open_p - 1);
	if (cl >= sizeof(s->comm))
		cl = sizeof(s->comm) - 1;
	memcpy(s->comm, open_p + 1, cl);
	s->nr = 2;
	char *p = close_p + 1;
	while (*p == ' ') {
		p++;
		if (*p == '\n' || !*p)
			break;
		s->nr++;
		if (s->nr == 3) {
			s->state = *p;
			p++;
		} else if (s->nr <= 52) {
			char *e;
			s->v[s->nr] = strtoull(p, &e, 10);
			if (*p == '-') /* tpgid -1 and the like */
				s->v[s->nr] = (unsigned long long)strtoll(p, &e, 10);
			p = e;
		} else {
			while (*p && *p != ' ' && *p != '\n')
				p++;
		}
	}
	return s->nr;
}

/* statm's 7 numbers into v[0..6]: how many were read. */
static int read_statm(int pid, unsigned long v[7])
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/statm", pid);
	if (slurp_into(path, big2, sizeof(big2)) <= 0)
		return -1;
	return sscanf(big2, "%lu %lu %lu %lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		      &v[6]);
}

static void *sleeper(void *arg)
{
	(void)arg;
	pause();
	return NULL;
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_stat(void)
{
	struct pstat s;
	unsigned long m[7];
	memset(big2, 1, sizeof(big2)); /* the buffers' pages are there before any count */
	read_stat(getpid(), &s);
	check(read_stat(getpid(), &s) == 52, "stat: 52 fields");
	check(s.v[1] == (unsigned long long)getpid(), "stat: pid");
	check(!strcmp(s.comm, "procfiles"), "stat: (comm)");
	check(s.state == 'R', "stat: state R while it reads");
	check(s.v[4] == (unsigned long long)getppid(), "stat: ppid");
	check(s.v[5] == (unsigned long long)getpgrp(), "stat: pgrp");
	check(s.v[6] == (unsigned long long)getsid(0), "stat: session");
	check(s.v[20] == 1, "stat: num_threads 1");
	struct sysinfo si;
	sysinfo(&si);
	check(s.v[22] <= (unsigned long long)(si.uptime + 1) * 100,
	      "stat: starttime not after now");
	check(read_statm(getpid(), m) == 7, "statm: 7 fields");
	read_stat(getpid(), &s);
	check(s.v[23] == m[0] * 4096, "stat: vsize is statm size in bytes");
	check(s.v[24] == m[1], "stat: rss is statm resident (pages)");
	check(s.v[25] == 18446744073709551615ull, "stat: rsslim RLIM_INFINITY");
	check(s.v[39] < 1024, "stat: processor");
	/* CPU time: 0.3 s of spinning is at least 10 ticks */
	unsigned long long t0 = s.v[14] + s.v[15];
	double end = mono_s() + 0.3;
	volatile unsigned long spin = 0;
	while (mono_s() < end)
		spin++;
	read_stat(getpid(), &s);
	check(s.v[14] + s.v[15] >= t0 + 10, "stat: utime + stime grow with CPU time (ticks)");
	pthread_t th;
	pthread_create(&th, NULL, sleeper, NULL);
	read_stat(getpid(), &s);
	check(s.v[20] == 2, "stat: num_threads 2 with a thread");
	/* a child: ppid, S while it sleeps, Z before it is reaped */
	int pfd[2];
	pipe(pfd);
	pid_t c = fork();
	if (c == 0) {
		char x;
		close(pfd[1]);
		read(pfd[0], &x, 1);
		_exit(0);
	}
	close(pfd[0]);
	usleep(100000);
	int nr = read_stat(c, &s);
	check(nr == 52 && s.v[4] == (unsigned long long)getpid(), "stat: child's ppid is us");
	check(s.state == 'S', "stat: child sleeping in read: S");
	close(pfd[1]);
	for (int i = 0; i < 100; i++) {
		read_stat(c, &s);
		if (s.state == 'Z')
			break;
		usleep(20000);
	}
	check(s.state == 'Z', "stat: exited, not reaped: Z");
	check(s.v[24] == 0 && s.v[23] == 0, "stat: a zombie has no vsize and rss");
	waitpid(c, NULL, 0);
	check(read_stat(c, &s) < 0, "stat: reaped: gone");
}

static void test_statm(void)
{
	unsigned long m[7], m2[7];
	memset(big, 1, sizeof(big));
	memset(big2, 1, sizeof(big2));
	read_statm(getpid(), m);
	check(read_statm(getpid(), m) == 7, "statm: 7 numbers");
	slurp("/proc/self/smaps_rollup");
	long long rss = field_in(big, "Rss"), rfile = field_in(big, "Pss_File");
	(void)rfile;
	check(rss > 0 && (unsigned long long)rss == m[1] * 4,
	      "statm: resident is smaps_rollup's Rss exactly");
	check(m[1] <= m[0] && m[2] <= m[1] && m[3] <= m[0] && m[4] == 0 && m[6] == 0,
	      "statm: resident <= size, shared <= resident, lib and dt 0");
	slurp("/proc/self/status");
	long long vf = field_in(big, "RssFile"), vs = field_in(big, "RssShmem");
	long long vm = field_in(big, "VmSize");
	check(vf >= 0 && (unsigned long long)(vf + vs) == m[2] * 4,
	      "statm: shared is RssFile + RssShmem");
	check((unsigned long long)vm == m[0] * 4, "statm: size is VmSize");
	char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	read_statm(getpid(), m);
	memset(p, 1, 1 << 20);
	read_statm(getpid(), m2);
	check(m2[0] == m[0] && m2[1] == m[1] + 256, "statm: 1 MiB touched: resident + 256");
	munmap(p, 1 << 20);
	read_statm(getpid(), m2);
	check(m2[0] == m[0] - 256 && m2[1] == m[1], "statm: unmapped: size - 256, resident back");
}

static void test_fd(void)
{
	int f = open("/hello.txt", O_RDONLY);
	int pfd[2];
	pipe(pfd);
	char buf[256];
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", f);
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	check(n > 0 && !strcmp(buf, "/hello.txt"), "fd: readlink of a file is its path");
	struct stat st;
	fstat(pfd[0], &st);
	char want[64];
	snprintf(want, sizeof(want), "pipe:[%lu]", (unsigned long)st.st_ino);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", pfd[1]);
	n = readlink(path, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	check(n > 0 && !strcmp(buf, want), "fd: readlink of a pipe is pipe:[st_ino]");
	n = readlink("/proc/self/fd/0", buf, sizeof(buf) - 1);
	check(n > 0, "fd: readlink of fd 0");
	struct stat lst;
	check(lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode), "fd: an entry is a link");
	check(stat(path, &lst) == 0 && S_ISFIFO(lst.st_mode) && lst.st_ino == st.st_ino,
	      "fd: stat follows it to the pipe");
	/* the listing */
	DIR *d = opendir("/proc/self/fd");
	int seen0 = 0, seen_f = 0, seen_p = 0, others = 0;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name);
		seen0 += fd == 0 && e->d_type == DT_LNK;
		seen_f += fd == f;
		seen_p += fd == pfd[0] || fd == pfd[1];
		others++;
	}
	if (d)
		closedir(d);
	check(d && seen0 == 1 && seen_f == 1 && seen_p == 2,
	      "fd: the listing has 0, the file, the pipe");
	/* opening the pipe's entry is the pipe */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", pfd[0]);
	int r = open(path, O_RDONLY);
	write(pfd[1], "xy", 2);
	check(r >= 0 && read(r, buf, 2) == 2 && !memcmp(buf, "xy", 2),
	      "fd: open of a pipe entry reads the pipe");
	if (r >= 0)
		close(r);
	close(f);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", f);
	errno = 0;
	check(readlink(path, buf, sizeof(buf)) < 0 && errno == ENOENT, "fd: a closed fd: ENOENT");
	errno = 0;
	check(readlink("/proc/self/fd/x1", buf, sizeof(buf)) < 0 && errno == ENOENT,
	      "fd: a name that is no number: ENOENT");
	close(pfd[0]);
	close(pfd[1]);
}

static const char *const meminfo_labels[] = {
	"MemTotal",	"MemFree",	"MemAvailable", "Buffers",  "Cached",	  "SwapCached",
	"Active",	"Inactive",	"SwapTotal",	"SwapFree", "Dirty",	  "Writeback",
	"AnonPages",	"Mapped",	"Shmem",	"Slab",	    "PageTables", "CommitLimit",
	"Committed_AS", "VmallocTotal", "Hugepagesize",
};

static void test_meminfo(void)
{
	memset(big, 1, sizeof(big));
	check(slurp("/proc/meminfo") > 0, "meminfo: read");
	int all = 1;
	for (size_t i = 0; i < sizeof(meminfo_labels) / sizeof(meminfo_labels[0]); i++)
		all &= field_in(big, meminfo_labels[i]) >= 0;
	check(all, "meminfo: Linux's labels");
	check(!strncmp(big, "MemTotal:       ", 16) && strstr(big, " kB\nMemFree:       "),
	      "meminfo: label padded to 16, value 8 wide, kB");
	long long total = field_in(big, "MemTotal"), freek = field_in(big, "MemFree");
	long long avail = field_in(big, "MemAvailable");
	check(total > 0 && freek <= avail && avail <= total,
	      "meminfo: MemFree <= MemAvailable <= MemTotal");
	struct sysinfo si;
	sysinfo(&si);
	check((long long)(si.totalram * si.mem_unit / 1024) == total,
	      "meminfo: MemTotal is sysinfo's totalram");
	long long sfree = (long long)(si.freeram * si.mem_unit / 1024);
	check(llabs(sfree - freek) <= 1024, "meminfo: MemFree is sysinfo's freeram (1 MiB)");
	long long anon0 = field_in(big, "AnonPages");
	size_t len = 8 << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(p, 1, len);
	slurp("/proc/meminfo");
	long long free1 = field_in(big, "MemFree"), anon1 = field_in(big, "AnonPages");
	check(freek - free1 >= 7 * 1024, "meminfo: 8 MiB touched: MemFree down >= 7 MiB");
	check(anon1 - anon0 >= 7 * 1024, "meminfo: 8 MiB touched: AnonPages up >= 7 MiB");
	munmap(p, len);
	slurp("/proc/meminfo");
	long long free2 = field_in(big, "MemFree");
	check(free2 - free1 >= 6 * 1024, "meminfo: munmap: MemFree back up");
	sysinfo(&si);
	check(si.procs >= 1 && si.mem_unit == 1 && si.uptime >= 1,
	      "sysinfo: procs, mem_unit, uptime");
}

static void test_global(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	check(slurp("/proc/cpuinfo") > 0, "cpuinfo: read");
	int blocks = 0;
	for (char *p = big; (p = strstr(p, "processor\t: ")); p++)
		blocks++;
	check(blocks == cpus, "cpuinfo: one block per online CPU");
	check(strstr(big, "\nflags\t\t: fpu") && strstr(big, "vendor_id\t: ") &&
		  strstr(big, "model name\t: "),
	      "cpuinfo: vendor_id, model name, flags (fpu first)");
	check(slurp("/proc/stat") > 0, "stat: read");
	unsigned long long c[10];
	check(sscanf(big, "cpu  %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &c[0], &c[1],
		     &c[2], &c[3], &c[4], &c[5], &c[6], &c[7], &c[8], &c[9]) == 10,
	      "stat: the cpu line has 10 columns");
	/* 0.3 s of spinning in user mode is at least 10 ticks of "user" */
	double end = mono_s() + 0.3;
	volatile unsigned long spin = 0;
	while (mono_s() < end)
		spin++;
	slurp("/proc/stat");
	unsigned long long user2 = 0;
	sscanf(big, "cpu  %llu", &user2);
	check(user2 >= c[0] + 10, "stat: the user column grows with a program's CPU time");
	int lines = 0;
	for (char *p = big; (p = strstr(p, "\ncpu")); p++)
		lines++;
	check(lines == cpus, "stat: one cpuN line per CPU");
	char *ctxt = strstr(big, "\nctxt "), *bt = strstr(big, "\nbtime ");
	char *pr = strstr(big, "\nprocesses "), *run = strstr(big, "\nprocs_running ");
	check(ctxt && strtoull(ctxt + 6, NULL, 10) > 0, "stat: ctxt > 0");
	check(pr && strtoull(pr + 11, NULL, 10) >= 1, "stat: processes");
	check(run && strtoull(run + 15, NULL, 10) >= 1, "stat: procs_running >= 1 (us)");
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	double up = mono_s();
	long long btime = bt ? strtoll(bt + 7, NULL, 10) : 0;
	check(llabs(btime - (long long)(now.tv_sec - up)) <= 2, "stat: btime is now - uptime");
	check(slurp("/proc/uptime") > 0, "uptime: read");
	double u = 0, idle = -1;
	check(sscanf(big, "%lf %lf", &u, &idle) == 2 && idle >= 0, "uptime: two numbers");
	check(u - mono_s() < 0.1 && mono_s() - u < 1.0, "uptime: CLOCK_MONOTONIC's seconds");
	check(slurp("/proc/loadavg") > 0, "loadavg: read");
	double l1, l5, l15;
	int running, total, last;
	check(sscanf(big, "%lf %lf %lf %d/%d %d", &l1, &l5, &l15, &running, &total, &last) == 6 &&
		  running >= 1 && total >= running && last >= getpid(),
	      "loadavg: three loads, running/total, last pid");
	check(slurp("/proc/mounts") > 0, "mounts: read");
	check(strstr(big, " / ") && strstr(big, "proc /proc proc rw"), "mounts: / and /proc");
}

/* The names getdents64 gives for /proc: is `name` one of them? */
static int proc_lists(const char *name)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int found = 0;
	while (d && (e = readdir(d)))
		found |= !strcmp(e->d_name, name);
	if (d)
		closedir(d);
	return found;
}

static void test_readdir(void)
{
	char me[16], parent[16], kid[16];
	snprintf(me, sizeof(me), "%d", getpid());
	snprintf(parent, sizeof(parent), "%d", getppid());
	int pfd[2];
	pipe(pfd);
	pid_t c = fork();
	if (c == 0) {
		char x;
		close(pfd[1]);
		read(pfd[0], &x, 1);
		_exit(0);
	}
	close(pfd[0]);
	snprintf(kid, sizeof(kid), "%d", c);
	check(proc_lists(me), "readdir: /proc lists our pid");
	check(getppid() <= 1 || proc_lists(parent), "readdir: /proc lists our parent's pid");
	check(proc_lists(kid), "readdir: /proc lists our child's pid");
	check(proc_lists("meminfo") && proc_lists("cpuinfo") && proc_lists("stat") &&
		  proc_lists("uptime") && proc_lists("loadavg") && proc_lists("mounts") &&
		  proc_lists("self"),
	      "readdir: the global files and self");
	close(pfd[1]);
	waitpid(c, NULL, 0);
	check(!proc_lists(kid), "readdir: a reaped child is gone");
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d", getpid());
	DIR *d = opendir(path);
	int st = 0, sm = 0, fd = 0;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		st |= !strcmp(e->d_name, "stat") && e->d_type == DT_REG;
		sm |= !strcmp(e->d_name, "statm");
		fd |= !strcmp(e->d_name, "fd") && e->d_type == DT_DIR;
	}
	if (d)
		closedir(d);
	check(st && sm && fd, "readdir: /proc/PID has stat, statm and the fd directory");
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "all";
	int all = !strcmp(what, "all");
	printf("KTAP version 1\n");
	if (all || !strcmp(what, "stat"))
		test_stat();
	if (all || !strcmp(what, "statm"))
		test_statm();
	if (all || !strcmp(what, "fd"))
		test_fd();
	if (all || !strcmp(what, "meminfo"))
		test_meminfo();
	if (all || !strcmp(what, "global"))
		test_global();
	if (all || !strcmp(what, "readdir"))
		test_readdir();
	printf("1..%d\n", n);
	printf("# procfiles %s: %d checks, %d failed\n", what, n, failed);
	if (!failed)
		printf("# every check ran\n");
	return failed ? 1 : 0;
}
