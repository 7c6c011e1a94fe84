/*
 * tests/user/procfs.c - /proc from ring 3 (kernel/fs/procfs.c), checked
 * against what Linux 6.1 shows. One part per argument (all of them
 * without one):
 *   maps      the exact lines of anonymous mappings after mmap, mprotect
 *             and munmap, a file mapped at an offset (offset in bytes,
 *             08:01, its inode, its path at column 73), [heap], [stack],
 *             the program itself; smaps_rollup's Rss/Pss lines
 *   pagemap   present bit and PFN of a touched page, 0 for an untouched
 *             one, not present after MADV_DONTNEED, present under
 *             PROT_NONE; after fork the parent reads its child's pagemap:
 *             the same PFN and bit 56 clear while shared, different PFNs
 *             and bit 56 set again after the child's write (COW); bit 61
 *             and 56 for a shared file page mapped once (page_mapcount 1,
 *             page_count 2), 61 for shared anonymous memory; -EINVAL for
 *             reads whose offset or count is not a multiple of 8; 0 bytes
 *             from a pagemap opened before its process exited, -ESRCH from
 *             its maps once reaped
 *   counters  pgfault grows by at least N after N new pages are touched;
 *             nr_tlb_remote_flush, nr_tlb_remote_flush_received and the
 *             TLB row of /proc/interrupts (on the other thread's CPU) grow
 *             when a thread munmaps a page that a thread on another CPU
 *             (sched_setaffinity) touched and is still running
 *   status    Name, State, Tgid, Pid, PPid, Threads, VmRSS growing with
 *             touched pages, RssAnon
 *   cmdline   /proc/self/cmdline is argv, NUL-separated
 *   links     readlink of /proc/self (the pid) and /proc/self/exe (the
 *             program; also in a fork child), -EINVAL for a file and for
 *             bufsiz 0, -ENOENT
 *   dirs      getdents64 of /proc and /proc/self, stat modes (0555 dirs,
 *             0444 files, 0777 links), -ENOENT for a missing pid, opening
 *             for write (root: allowed; write -EINVAL, or -EIO for vmstat),
 *             -EISDIR for a directory
 * KTAP lines; exit status 0 if every check passed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktap.h"

#define PG 4096ul

#define PM_PFN	   ((1ull << 55) - 1)
#define PM_EXCL	   (1ull << 56)
#define PM_FILE	   (1ull << 61)
#define PM_SWAP	   (1ull << 62)
#define PM_PRESENT (1ull << 63)

static char big[1 << 16];

/* The whole of a /proc file (NUL-terminated, in big), its length or -errno. */
static long slurp(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	long n = 0;
	for (;;) {
		ssize_t r = read(fd, big + n, sizeof(big) - 1 - (size_t)n);
		if (r < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		if (r == 0)
			break;
		n += r;
	}
	big[n] = 0;
	close(fd);
	return n;
}

/* The value after "name " (vmstat) or "name:" (status) in big, or -1. */
static long long field(const char *name, char sep)
{
	size_t nl = strlen(name);
	for (char *p = big; *p;) {
		if (!strncmp(p, name, nl) && p[nl] == sep)
			return strtoll(p + nl + 1, NULL, 10);
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
	return -1;
}

static long long vmstat(const char *name)
{
	if (slurp("/proc/vmstat") < 0)
		return -1;
	return field(name, ' ');
}

static uint64_t pagemap_of(int fd, const void *addr)
{
	uint64_t e = 0;
	if (pread(fd, &e, 8, (off_t)((uintptr_t)addr / PG * 8)) != 8)
		return ~0ull;
	return e;
}

static uint64_t self_pagemap(const void *addr)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t e = fd < 0 ? ~0ull : pagemap_of(fd, addr);
	close(fd);
	return e;
}

/* The maps line Linux prints (name NULL: anonymous, trailing space). */
static void maps_line(char *out, size_t sz, void *start, unsigned long len, const char *perms,
		      unsigned long off, const char *dev, unsigned long ino, const char *name)
{
	int n = snprintf(out, sz, "%08lx-%08lx %s %08lx %s %lu ", (unsigned long)start,
			 (unsigned long)start + len, perms, off, dev, ino);
	if (name) {
		while (n < 73)
			out[n++] = ' ';
		snprintf(out + n, sz - (size_t)n, "%s\n", name);
	} else {
		snprintf(out + n, sz - (size_t)n, "\n");
	}
}

static int has_line(const char *line)
{
	/* a whole line: at the start or after a newline */
	for (const char *p = big; (p = strstr(p, line)); p++)
		if (p == big || p[-1] == '\n')
			return 1;
	return 0;
}

/* ---- maps ------------------------------------------------------------------ */

static const char *file_path = "/procfs-test.bin";

static int make_file(int pages)
{
	unlink(file_path);
	int fd = open(file_path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	static char page[PG];
	for (int i = 0; fd >= 0 && i < pages; i++) {
		memset(page, 'a' + i, PG);
		if (write(fd, page, PG) != (ssize_t)PG)
			return -1;
	}
	return fd;
}

static void test_maps(void)
{
	char line[512];
	/* fixed addresses with free space around: no neighbour to merge with */
	char *a = mmap((void *)0x300000000ul, 3 * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	check(a != MAP_FAILED, "maps: mmap 3 pages");
	slurp("/proc/self/maps");
	maps_line(line, sizeof(line), a, 3 * PG, "rw-p", 0, "00:00", 0, NULL);
	check(has_line(line), "maps: the anonymous mapping, Linux's line (inode 0, no name)");
	mprotect(a + PG, PG, PROT_READ);
	slurp("/proc/self/maps");
	maps_line(line, sizeof(line), a, PG, "rw-p", 0, "00:00", 0, NULL);
	int ok = has_line(line);
	maps_line(line, sizeof(line), a + PG, PG, "r--p", 0, "00:00", 0, NULL);
	ok &= has_line(line);
	maps_line(line, sizeof(line), a + 2 * PG, PG, "rw-p", 0, "00:00", 0, NULL);
	ok &= has_line(line);
	check(ok, "maps: mprotect of the middle page splits it in three lines");
	munmap(a + 2 * PG, PG);
	slurp("/proc/self/maps");
	check(!has_line(line), "maps: the unmapped page's line is gone");
	munmap(a, 2 * PG);

	int fd = make_file(3);
	struct stat st;
	fstat(fd, &st);
	char *f = mmap((void *)0x310000000ul, 2 * PG, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_FIXED, fd, PG);
	check(f != MAP_FAILED && f[0] == 'b', "maps: a shared mapping of a file at offset 4096");
	slurp("/proc/self/maps");
	maps_line(line, sizeof(line), f, 2 * PG, "rw-s", PG, "08:01", (unsigned long)st.st_ino,
		  file_path);
	check(has_line(line),
	      "maps: the file line (offset in bytes, 08:01, inode, path at col 73)");
	if (!has_line(line))
		printf("# want: %s", line);
	munmap(f, 2 * PG);
	close(fd);

	char *brk0 = (char *)syscall(SYS_brk, 0);
	check((char *)syscall(SYS_brk, brk0 + PG) == brk0 + PG, "maps: brk grows a page");
	*(volatile char *)brk0 = 1;
	slurp("/proc/self/maps");
	check(strstr(big, "[heap]\n") != NULL, "maps: [heap] after brk grows");
	check(strstr(big, "[stack]\n") != NULL, "maps: [stack]");
	check(strstr(big, " r-xp ") && strstr(big, "/bin/procfs\n"), "maps: the program's text");

	long n = slurp("/proc/self/smaps_rollup");
	check(n > 0 && strstr(big, "[rollup]\n"), "smaps_rollup: the [rollup] header");
	long long rss0 = field("Rss", ':');
	char *m = mmap(NULL, 64 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (int i = 0; i < 64; i++)
		m[i * PG] = 1;
	slurp("/proc/self/smaps_rollup");
	long long rss1 = field("Rss", ':'), pss1 = field("Pss", ':');
	check(rss1 >= rss0 + 256 && pss1 > 0 && pss1 <= rss1,
	      "smaps_rollup: Rss grows 256 kB with 64 pages, 0 < Pss <= Rss");
	check(strstr(big, "\nRss:            ") ||
		  !strncmp(strchr(big, '\n') + 1, "Rss:            ", 17),
	      "smaps_rollup: Linux's layout (label, 8-wide value, kB)");
	/* fork: the 64 pages are mapped twice, each counts half in Pss */
	int go[2];
	pipe(go);
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		read(go[0], &c, 1);
		_exit(0);
	}
	slurp("/proc/self/smaps_rollup");
	long long rss2 = field("Rss", ':'), pss2 = field("Pss", ':');
	check(rss2 >= rss1 - 8 && pss2 + 100 <= rss2,
	      "smaps_rollup: after fork shared pages count 1/mapcount in Pss");
	printf("# Rss %lld Pss %lld before fork, Rss %lld Pss %lld after\n", rss1, pss1, rss2,
	       pss2);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	int zfd = open(path, O_RDONLY);
	write(go[1], "x", 1);
	siginfo_t si;
	waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT); /* a zombie now */
	check(zfd >= 0 && read(zfd, big, 100) == 0,
	      "maps of a zombie (opened before it exited): 0 bytes");
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	slurp(path);
	check(strstr(big, "\nState:\tZ (zombie)\n") && !strstr(big, "VmRSS"),
	      "status of a zombie: State Z, no Vm lines");
	int wst;
	waitpid(pid, &wst, 0);
	close(zfd);
	close(go[0]);
	close(go[1]);
	munmap(m, 64 * PG);
}

/* ---- pagemap ------------------------------------------------------------------ */

static void test_pagemap(void)
{
	char *a = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	a[0] = 1;
	uint64_t e = self_pagemap(a), u = self_pagemap(a + PG);
	check((e & PM_PRESENT) && (e & PM_PFN) && !(e & PM_FILE) && !(e & PM_SWAP),
	      "pagemap: a touched page is present, with its PFN, anonymous");
	check(!!(e & PM_EXCL), "pagemap: bit 56 (exclusively mapped) before fork");
	check(u == 0, "pagemap: an untouched page reads 0");
	madvise(a, PG, MADV_DONTNEED);
	check(!(self_pagemap(a) & PM_PRESENT), "pagemap: not present after MADV_DONTNEED");

	a[PG] = 2;
	mprotect(a + PG, PG, PROT_NONE);
	uint64_t pn = self_pagemap(a + PG);
	check((pn & PM_PRESENT) && (pn & PM_PFN),
	      "pagemap: a PROT_NONE page is still present (pte_present)");
	mprotect(a + PG, PG, PROT_READ | PROT_WRITE);
	/* two VMAs in one read: a[2PG] read-write, a[3PG] read-only, both touched */
	a[2 * PG] = 5;
	a[3 * PG] = 6;
	mprotect(a + 3 * PG, PG, PROT_READ);
	{
		uint64_t two[2] = { 0, 0 };
		int pfd = open("/proc/self/pagemap", O_RDONLY);
		check(pread(pfd, two, 16, (off_t)((uintptr_t)(a + 2 * PG) / PG * 8)) == 16 &&
			  (two[0] & PM_PRESENT) && (two[1] & PM_PRESENT),
		      "pagemap: one read across two VMAs finds both pages");
		close(pfd);
	}
	mprotect(a + 3 * PG, PG, PROT_READ | PROT_WRITE);

	int fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t buf[2];
	errno = 0;
	check(pread(fd, buf, 7, (off_t)((uintptr_t)a / PG * 8)) == -1 && errno == EINVAL,
	      "pagemap: a count not a multiple of 8 is EINVAL");
	errno = 0;
	check(pread(fd, buf, 8, (off_t)((uintptr_t)a / PG * 8 + 3)) == -1 && errno == EINVAL,
	      "pagemap: an offset not a multiple of 8 is EINVAL");
	check(pread(fd, buf, 16, (off_t)((uintptr_t)a / PG * 8)) == 16,
	      "pagemap: a read of two entries returns 16 bytes");
	check(pread(fd, buf, 8, (off_t)(0x800000000000ull / PG * 8)) == 0,
	      "pagemap: past the user half reads 0 bytes");
	close(fd);

	/* fork: the parent reads its child's pagemap */
	a[2 * PG] = 3;
	uint64_t before = self_pagemap(a + 2 * PG);
	int go[2], done[2];
	pipe(go);
	pipe(done);
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		read(go[0], &c, 1);
		a[2 * PG] = 4; /* COW */
		write(done[1], "x", 1);
		read(go[0], &c, 1);
		_exit(0);
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	int cfd = open(path, O_RDONLY);
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	int mfd = open(path, O_RDONLY);
	uint64_t pe = self_pagemap(a + 2 * PG), ce = pagemap_of(cfd, a + 2 * PG);
	check(cfd >= 0 && (ce & PM_PRESENT) && (ce & PM_PFN) == (pe & PM_PFN) &&
		  (pe & PM_PFN) == (before & PM_PFN),
	      "pagemap: after fork the child's PFN (read from its /proc/PID/pagemap) is the "
	      "parent's");
	check(!(pe & PM_EXCL) && !(ce & PM_EXCL), "pagemap: bit 56 clear in both while shared");
	write(go[1], "x", 1);
	char c;
	read(done[0], &c, 1);
	pe = self_pagemap(a + 2 * PG);
	ce = pagemap_of(cfd, a + 2 * PG);
	check((ce & PM_PRESENT) && (ce & PM_PFN) != (pe & PM_PFN),
	      "pagemap: after the child's write (COW) the PFNs differ");
	check((pe & PM_EXCL) && (ce & PM_EXCL), "pagemap: bit 56 set again in both after the COW");
	write(go[1], "x", 1);
	int status;
	waitpid(pid, &status, 0);
	check(read(cfd, buf, 8) == 0, "pagemap: opened while the child lived, read after: 0 bytes");
	errno = 0;
	check(read(mfd, big, 100) == -1 && errno == ESRCH,
	      "maps: read after the child was reaped: ESRCH");
	close(cfd);
	close(mfd);
	munmap(a, 4 * PG);

	/* a shared file page mapped by us alone: page_mapcount 1, page_count 2 */
	int ffd = make_file(2);
	char *f = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, ffd, 0);
	f[0] = 'z';
	uint64_t fe = self_pagemap(f);
	check((fe & PM_PRESENT) && (fe & PM_FILE), "pagemap: bit 61 for a shared file page");
	check(!!(fe & PM_EXCL),
	      "pagemap: bit 56 for a page-cache page mapped once (mapcount, not count)");
	munmap(f, 2 * PG);
	close(ffd);
	unlink(file_path);

	char *s = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	s[0] = 1;
	uint64_t se = self_pagemap(s);
	check((se & PM_PRESENT) && (se & PM_FILE), "pagemap: bit 61 for shared anonymous memory");
	munmap(s, PG);
}

/* ---- counters --------------------------------------------------------------------- */

static volatile int spin_stop, touched;
static volatile char *shared_page;
static int other_cpu;

static void *toucher(void *arg)
{
	(void)arg;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(other_cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	(void)shared_page[0];
	touched = 1;
	while (!spin_stop)
		; /* running on other_cpu with the mm loaded: not lazy */
	return NULL;
}

/* The TLB row of /proc/interrupts: the value in column cpu, or -1. */
static long long tlb_row(int cpu)
{
	if (slurp("/proc/interrupts") < 0)
		return -1;
	char *p = strstr(big, "TLB: ");
	if (!p)
		return -1;
	p += 5;
	for (int i = 0; i <= cpu; i++) {
		char *end;
		long long v = strtoll(p, &end, 10);
		if (end == p)
			return -1;
		if (i == cpu)
			return v;
		p = end;
	}
	return -1;
}

static void test_counters(void)
{
	long long f0 = vmstat("pgfault");
	int n = 64;
	char *m = mmap(NULL, n * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (int i = 0; i < n; i++)
		m[i * PG] = 1;
	long long f1 = vmstat("pgfault");
	check(f0 >= 0 && f1 - f0 >= n,
	      "vmstat: pgfault grows by at least 64 after touching 64 pages");
	munmap(m, n * PG);
	check(vmstat("nr_free_pages") > 0, "vmstat: nr_free_pages");
	check(vmstat("nr_tlb_local_flush_one") >= 0 && vmstat("nr_tlb_local_flush_all") >= 0,
	      "vmstat: nr_tlb_local_flush_one and _all");
	slurp("/proc/interrupts");
	check(!strncmp(big, "           CPU0       ", 22) && strstr(big, "  TLB shootdowns\n") &&
		  strstr(big, "LOC: "),
	      "interrupts: CPU columns, LOC and TLB rows");

	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 2) {
		printf("# one CPU: no remote TLB flush to see\n");
		check(1, "# SKIP remote flush needs 2 CPUs");
		return;
	}
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
	other_cpu = 1;
	char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	p[0] = 1;
	shared_page = p;
	long long r0 = vmstat("nr_tlb_remote_flush"), rr0 = vmstat("nr_tlb_remote_flush_received");
	long long t0 = tlb_row(other_cpu);
	pthread_t th;
	pthread_create(&th, NULL, toucher, NULL);
	while (!touched)
		sched_yield();
	munmap(p, PG);
	long long r1 = vmstat("nr_tlb_remote_flush"), rr1 = vmstat("nr_tlb_remote_flush_received");
	long long t1 = tlb_row(other_cpu);
	spin_stop = 1;
	pthread_join(th, NULL);
	check(r1 > r0, "vmstat: nr_tlb_remote_flush grows when a page two CPUs used is unmapped");
	check(rr1 > rr0, "vmstat: nr_tlb_remote_flush_received grows");
	check(t0 >= 0 && t1 > t0, "interrupts: the TLB row grows on the other thread's CPU");
	printf("# remote flushes %lld -> %lld, TLB row CPU%d %lld -> %lld\n", r0, r1, other_cpu, t0,
	       t1);
}

/* ---- status, cmdline, links, dirs ------------------------------------------------- */

static void test_status(void)
{
	check(slurp("/proc/self/status") > 0, "status: read");
	check(!strncmp(big, "Name:\tprocfs\n", 13), "status: Name first");
	check(strstr(big, "\nState:\tR (running)\n") != NULL, "status: State R (running)");
	check(field("Tgid", ':') == getpid() && field("Pid", ':') == getpid() &&
		  field("PPid", ':') == getppid(),
	      "status: Tgid, Pid, PPid");
	check(field("Threads", ':') == 1, "status: Threads 1");
	long long rss0 = field("VmRSS", ':');
	int n = 32;
	char *m = mmap(NULL, n * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (int i = 0; i < n; i++)
		m[i * PG] = 1;
	slurp("/proc/self/status");
	long long rss1 = field("VmRSS", ':'), anon = field("RssAnon", ':');
	check(rss0 > 0 && rss1 >= rss0 + n * 4,
	      "status: VmRSS grows by 128 kB with 32 touched pages");
	check(anon >= n * 4 && field("VmSize", ':') >= rss1, "status: RssAnon, VmSize >= VmRSS");
	check(strstr(big, "\nVmRSS:\t") && strstr(big, " kB\nRssAnon:\t"),
	      "status: Linux's layout");
	munmap(m, n * PG);
}

static void test_cmdline(int argc, char **argv)
{
	char want[512];
	size_t len = 0;
	for (int i = 0; i < argc; i++) {
		size_t l = strlen(argv[i]) + 1;
		memcpy(want + len, argv[i], l);
		len += l;
	}
	long n = slurp("/proc/self/cmdline");
	check(n == (long)len && !memcmp(big, want, len), "cmdline: argv, NUL-separated");
	/* read in pieces */
	int fd = open("/proc/self/cmdline", O_RDONLY);
	char piece[4];
	long got = 0, r;
	while ((r = read(fd, piece, 3)) > 0) {
		if (memcmp(piece, want + got, (size_t)r))
			break;
		got += r;
	}
	close(fd);
	check(got == (long)len, "cmdline: read 3 bytes at a time");
}

static void test_links(void)
{
	char buf[256];
	char pid[32];
	snprintf(pid, sizeof(pid), "%d", getpid());
	ssize_t n = readlink("/proc/self", buf, sizeof(buf));
	check(n == (ssize_t)strlen(pid) && !memcmp(buf, pid, (size_t)n),
	      "readlink /proc/self: the pid");
	n = readlink("/proc/self/exe", buf, sizeof(buf));
	check(n == 11 && !memcmp(buf, "/bin/procfs", 11), "readlink /proc/self/exe: /bin/procfs");
	n = readlink("/proc/self/exe", buf, 4);
	check(n == 4 && !memcmp(buf, "/bin", 4), "readlink: cut to bufsiz, no NUL");
	errno = 0;
	check(syscall(SYS_readlink, "/proc/self/exe", buf, 0) == -1 && errno == EINVAL,
	      "readlink: bufsiz 0 is EINVAL");
	errno = 0;
	check(readlink("/bin/procfs", buf, sizeof(buf)) == -1 && errno == EINVAL,
	      "readlink of a regular file: EINVAL");
	errno = 0;
	check(readlink("/proc/self/maps", buf, sizeof(buf)) == -1 && errno == EINVAL,
	      "readlink of a /proc file: EINVAL");
	errno = 0;
	check(readlink("/no-such-file", buf, sizeof(buf)) == -1 && errno == ENOENT,
	      "readlink of nothing: ENOENT");
	int fd = open("/proc/self/exe", O_RDONLY);
	char elf[4] = { 0 };
	check(fd >= 0 && read(fd, elf, 4) == 4 && !memcmp(elf, "\177ELF", 4),
	      "open /proc/self/exe follows the link to the program");
	close(fd);
	pid_t c = fork();
	if (c == 0) {
		n = readlink("/proc/self/exe", buf, sizeof(buf));
		_exit(n == 11 && !memcmp(buf, "/bin/procfs", 11) ? 0 : 1);
	}
	int st;
	waitpid(c, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "readlink /proc/self/exe in a fork child");
}

static int dir_has(const char *path, const char *name, unsigned char type)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return 0;
	char buf[4096];
	int found = 0;
	long n;
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0)
		for (long off = 0; off < n;) {
			struct dirent *d = (struct dirent *)(buf + off);
			if (!strcmp(d->d_name, name) && d->d_type == type)
				found = 1;
			off += d->d_reclen;
		}
	close(fd);
	return found;
}

static void test_dirs(void)
{
	char pid[32];
	snprintf(pid, sizeof(pid), "%d", getpid());
	check(dir_has("/proc", "self", DT_LNK) && dir_has("/proc", "vmstat", DT_REG) &&
		  dir_has("/proc", "interrupts", DT_REG) && dir_has("/proc", pid, DT_DIR),
	      "getdents64 /proc: self, vmstat, interrupts, our pid");
	check(dir_has("/proc/self", "maps", DT_REG) && dir_has("/proc/self", "pagemap", DT_REG) &&
		  dir_has("/proc/self", "status", DT_REG) &&
		  dir_has("/proc/self", "cmdline", DT_REG) &&
		  dir_has("/proc/self", "smaps_rollup", DT_REG) &&
		  dir_has("/proc/self", "exe", DT_LNK),
	      "getdents64 /proc/self: its files");
	struct stat st;
	check(stat("/proc", &st) == 0 && st.st_mode == (S_IFDIR | 0555), "stat /proc: dir 0555");
	check(stat("/proc/self/maps", &st) == 0 && st.st_mode == (S_IFREG | 0444),
	      "stat /proc/self/maps: file 0444");
	check(lstat("/proc/self", &st) == 0 && st.st_mode == (S_IFLNK | 0777),
	      "lstat /proc/self: link 0777");
	check(stat("/proc/self", &st) == 0 && st.st_mode == (S_IFDIR | 0555),
	      "stat /proc/self follows the link: dir");
	int fd = open("/proc/vmstat", O_RDONLY);
	check(fd >= 0 && fstat(fd, &st) == 0 && st.st_mode == (S_IFREG | 0444),
	      "fstat /proc/vmstat");
	close(fd);
	errno = 0;
	check(open("/proc/99999999/maps", O_RDONLY) == -1 && errno == ENOENT,
	      "open of a missing pid: ENOENT");
	errno = 0;
	check(open("/proc/nosuch", O_RDONLY) == -1 && errno == ENOENT, "open /proc/nosuch: ENOENT");
	errno = 0;
	check(open("/proc/self/maps/x", O_RDONLY) == -1 && errno == ENOTDIR,
	      "below a /proc file: ENOTDIR");
	/* root's DAC override opens a 0444 file for writing; the write fails */
	fd = open("/proc/self/maps", O_WRONLY);
	errno = 0;
	check(fd >= 0 && write(fd, "x", 1) == -1 && errno == EINVAL,
	      "maps opened O_WRONLY (root), write: EINVAL");
	close(fd);
	fd = open("/proc/vmstat", O_RDWR);
	errno = 0;
	check(fd >= 0 && write(fd, "x", 1) == -1 && errno == EIO,
	      "vmstat opened O_RDWR, write: EIO");
	close(fd);
	errno = 0;
	check(open("/proc", O_WRONLY) == -1 && errno == EISDIR, "open /proc O_WRONLY: EISDIR");
	fd = open("/proc/self", O_RDONLY | O_DIRECTORY);
	int mfd = openat(fd, "status", O_RDONLY);
	check(mfd >= 0 && read(mfd, big, 5) == 5 && !memcmp(big, "Name:", 5),
	      "openat relative to /proc/self");
	close(mfd);
	close(fd);
	fd = open("/proc/self/maps", O_RDONLY);
	char a[16], b[16];
	check(read(fd, a, 16) == 16 && lseek(fd, 0, SEEK_SET) == 0 && read(fd, b, 16) == 16 &&
		  !memcmp(a, b, 16),
	      "lseek to 0 reads the same start again");
	close(fd);
}

/* Hostile arguments: kernel and NULL buffers, tiny and huge counts, bad
 * offsets and names give Linux's errno, never a kernel fault. */
static void test_hostile(void)
{
	void *kaddr = (void *)0xffff800000000000ul;
	char buf[64];
	int fd = open("/proc/self/pagemap", O_RDONLY);
	errno = 0;
	check(pread(fd, kaddr, 8, 0) == -1 && errno == EFAULT,
	      "pagemap into a kernel address: EFAULT");
	errno = 0;
	check(pread(fd, NULL, 8, 0) == -1 && errno == EFAULT, "pagemap into NULL: EFAULT");
	errno = 0;
	check(syscall(SYS_pread64, fd, buf, 0x7ffffffffffff000ul, 0) == -1 && errno == EFAULT,
	      "pagemap with a count past the user half: EFAULT");
	check(lseek(fd, 0x10000000000l, SEEK_SET) == 0x10000000000l && read(fd, buf, 8) == 0,
	      "pagemap at a huge offset: 0 bytes");
	check(pread(fd, buf, 0, 8) == 0, "pagemap: a count of 0 reads 0 bytes");
	close(fd);
	fd = open("/proc/self/maps", O_RDONLY);
	errno = 0;
	check(read(fd, kaddr, 100) == -1 && errno == EFAULT, "maps into a kernel address: EFAULT");
	errno = 0;
	check(lseek(fd, -1, SEEK_SET) == -1 && errno == EINVAL, "maps: lseek to -1 is EINVAL");
	errno = 0;
	check(lseek(fd, 0, SEEK_END) == -1 && errno == EINVAL,
	      "maps: SEEK_END is EINVAL (seq_lseek)");
	errno = 0;
	check(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED && errno == ENODEV,
	      "mmap of a /proc file: ENODEV");
	close(fd);
	errno = 0;
	check(readlink("/proc/self/exe", kaddr, 64) == -1 && errno == EFAULT,
	      "readlink into a kernel address: EFAULT");
	errno = 0;
	check(syscall(SYS_readlink, NULL, buf, 64) == -1 && errno == EFAULT,
	      "readlink of a NULL path: EFAULT");
	errno = 0;
	check(syscall(SYS_readlinkat, AT_FDCWD, "/proc/self", buf, -1) == -1 && errno == EINVAL,
	      "readlinkat with a negative bufsiz: EINVAL");
	errno = 0;
	check(syscall(SYS_readlinkat, 999, "self", buf, 64) == -1 && errno == EBADF,
	      "readlinkat with a bad dirfd: EBADF");
	fd = open("/proc", O_RDONLY | O_DIRECTORY);
	errno = 0;
	check(syscall(SYS_getdents64, fd, buf, 8) == -1 && errno == EINVAL,
	      "getdents64 /proc with room for no entry: EINVAL");
	errno = 0;
	check(syscall(SYS_getdents64, fd, kaddr, 4096) == -1 && errno == EFAULT,
	      "getdents64 /proc into a kernel address: EFAULT");
	errno = 0;
	check(read(fd, buf, 8) == -1 && errno == EISDIR, "read of /proc: EISDIR");
	close(fd);
	struct stat st;
	errno = 0;
	check(stat("/proc/self/maps/", &st) == -1 && errno == ENOTDIR, "stat maps/: ENOTDIR");
	errno = 0;
	check(open("/proc/01", O_RDONLY) == -1 && errno == ENOENT, "/proc/01: ENOENT");
	errno = 0;
	check(open("/proc/0", O_RDONLY) == -1 && errno == ENOENT, "/proc/0: ENOENT");
	errno = 0;
	check(open("/proc/99999999999999999999", O_RDONLY) == -1 && errno == ENOENT,
	      "/proc/<huge number>: ENOENT");
	errno = 0;
	check(open("/proc/self/maps", O_RDONLY | O_DIRECTORY) == -1 && errno == ENOTDIR,
	      "maps with O_DIRECTORY: ENOTDIR");
	errno = 0;
	check(open("/proc/self", O_RDONLY | O_NOFOLLOW) == -1 && errno == ELOOP,
	      "/proc/self with O_NOFOLLOW: ELOOP");
	check(lstat("/proc/self/exe", &st) == 0 && S_ISLNK(st.st_mode) &&
		  stat("/proc/self/exe", &st) == 0 && S_ISREG(st.st_mode),
	      "lstat /proc/self/exe: a link; stat follows it to the program");
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "all";
	int all = !strcmp(what, "all");
	printf("KTAP version 1\n");
	if (all || !strcmp(what, "maps"))
		test_maps();
	if (all || !strcmp(what, "pagemap"))
		test_pagemap();
	if (all || !strcmp(what, "counters"))
		test_counters();
	if (all || !strcmp(what, "status"))
		test_status();
	if (all || !strcmp(what, "cmdline"))
		test_cmdline(argc, argv);
	if (all || !strcmp(what, "links"))
		test_links();
	if (all || !strcmp(what, "dirs"))
		test_dirs();
	if (all || !strcmp(what, "hostile"))
		test_hostile();
	printf("1..%d\n", n);
	printf("# procfs %s: %d checks, %d failed\n", what, n, failed);
	if (!failed)
		printf("# every check ran\n");
	return failed ? 1 : 0;
}
