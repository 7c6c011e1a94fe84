/*
 * tests/user/splice.c - vmsplice, splice, tee and O_DIRECT from ring 3
 * (tests/test_splice.c runs it, one mode per run). The same source runs on
 * Linux (raw system calls, errno compared with Linux 6.1's).
 *
 *   basic      vmsplice/splice/tee data and errno rules
 *   leak       CVE-2020-29374: a fork child vmsplices a page it shares with
 *              the parent, unmaps it and exits; the parent writes the page;
 *              the pipe must deliver the OLD data (COW by page_count, R3)
 *   odirect    O_DIRECT alignment (512-byte logical blocks), EOF, sizes
 *   race-fork [DELAY_US]     seed 003: fork while an O_DIRECT read into a
 *              buffer of the parent is in flight, a second thread writing
 *              next to the buffer in the same page: the parent gets the
 *              data; the child must not when the fork came before the
 *              transfer could start (DELAY_US: the kernel's dio_pinned
 *              delay, so that is known)
 *   race-mprotect  an O_DIRECT read in flight while another thread does
 *              mprotect(PROT_READ), mprotect(PROT_READ|PROT_WRITE) and a
 *              write in the same page: the data lands in the page the
 *              process keeps (R4, PageAnonExclusive)
 *   race-munmap  O_DIRECT reads and writes while another thread unmaps and
 *              maps the buffer again: only the results Linux allows, and
 *              the memory around it is never written
 * Each prints KTAP lines and "# every check ran" last; exit 0 iff all ok.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ktap.h"

#define PG 4096
#ifndef SPLICE_F_NONBLOCK
#define SPLICE_F_MOVE	  1
#define SPLICE_F_NONBLOCK 2
#define SPLICE_F_MORE	  4
#define SPLICE_F_GIFT	  8
#endif

/* Raw calls: the result, or -errno. */
static long r(long v)
{
	return v < 0 ? -errno : v;
}
static long vms(int fd, const struct iovec *iov, unsigned long nr, unsigned fl)
{
	return r(syscall(SYS_vmsplice, fd, iov, nr, fl));
}
static long spl(int in, int64_t *offin, int out, int64_t *offout, size_t len, unsigned fl)
{
	return r(syscall(SYS_splice, in, offin, out, offout, len, fl));
}
static long teec(int in, int out, size_t len, unsigned fl)
{
	return r(syscall(SYS_tee, in, out, len, fl));
}

static int pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static int ncpus(void)
{
	cpu_set_t set;
	sched_getaffinity(0, sizeof(set), &set);
	return CPU_COUNT(&set);
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void *map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Read exactly len bytes (or until EOF / error). */
static long read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		long n = read(fd, (char *)buf + done, len - done);
		if (n <= 0)
			return done ? (long)done : n;
		done += (size_t)n;
	}
	return (long)done;
}

static int all_bytes(const char *p, size_t n, char c)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != c)
			return 0;
	return 1;
}

/* A file of the RAM disk with len bytes: byte i = pattern(i). */
static unsigned char pattern(uint64_t i)
{
	return (unsigned char)(i * 7 + (i >> 9) * 13 + 1);
}

static int make_file(const char *path, size_t len)
{
	unlink(path);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	unsigned char *b = malloc(len);
	for (size_t i = 0; i < len; i++)
		b[i] = pattern(i);
	long w = write(fd, b, len);
	free(b);
	fsync(fd);
	close(fd);
	return w == (long)len ? 0 : -1;
}

static int pattern_ok(const unsigned char *p, uint64_t pos, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != pattern(pos + i))
			return 0;
	return 1;
}

/* ---- basic ------------------------------------------------------------- */

static void basic(void)
{
	signal(SIGPIPE, SIG_IGN);
	int p[2], q[2];
	char *buf = map(8 * PG), *rd = map(20 * PG);
	memset(buf, 'a', 8 * PG);
	pipe(p);
	pipe(q);
	struct iovec iov = { buf, 100 };

	/* vmsplice errno rules */
	check(vms(p[1], &iov, 1, 0x10) == -EINVAL, "vmsplice: unknown flag EINVAL");
	check(vms(99, &iov, 1, 0) == -EBADF, "vmsplice: closed fd EBADF");
	int fd = open("/splice-basic.dat", O_RDWR | O_CREAT | O_TRUNC, 0644);
	check(vms(fd, &iov, 1, 0) == -EBADF, "vmsplice: a regular file EBADF");
	check(vms(p[1], &iov, 1025, 0) == -EINVAL, "vmsplice: more than UIO_MAXIOV EINVAL");
	check(vms(p[1], (struct iovec *)8, 1, 0) == -EFAULT, "vmsplice: bad iovec array EFAULT");
	struct iovec neg = { buf, (size_t)-1 };
	check(vms(p[1], &neg, 1, 0) == -EINVAL, "vmsplice: negative length EINVAL");
	struct iovec kern = { (void *)0xffff800000000000ul, 100 };
	check(vms(p[1], &kern, 1, 0) == -EFAULT, "vmsplice: kernel address EFAULT");
	struct iovec none = { NULL, 0 };
	check(vms(p[1], &none, 1, 0) == 0 && vms(p[1], NULL, 0, 0) == 0,
	      "vmsplice: nothing to splice 0");
	check(vms(p[1], &iov, 1, SPLICE_F_GIFT | SPLICE_F_MORE | SPLICE_F_MOVE) == 100,
	      "vmsplice: 100 bytes, flags GIFT|MORE|MOVE accepted");
	/* on the read end: the pipe's data copied out (Linux's vmsplice_to_user) */
	char *out = rd;
	struct iovec o2[2] = { { out, 60 }, { out + 1000, 60 } };
	check(vms(p[0], o2, 2, 0) == 100 && all_bytes(out, 60, 'a') &&
		  all_bytes(out + 1000, 40, 'a'),
	      "vmsplice on the read end copies the pipe's data to the iovecs");
	check(vms(p[0], o2, 1, SPLICE_F_NONBLOCK) == -EAGAIN, "... empty with NONBLOCK: EAGAIN");

	/* data order: write, vmsplice (crossing a page), write */
	write(p[1], "xyz", 3);
	struct iovec cross = { buf + PG - 10, 30 };
	memset(buf + PG - 10, 'b', 30);
	check(vms(p[1], &cross, 1, 0) == 30, "vmsplice across a page boundary: 30 bytes");
	write(p[1], "XYZ", 3);
	memset(rd, 0, 64);
	check(read_full(p[0], rd, 36) == 36 && !memcmp(rd, "xyz", 3) &&
		  all_bytes(rd + 3, 30, 'b') && !memcmp(rd + 33, "XYZ", 3),
	      "write, vmsplice, write: read back in order");

	/* a full pipe: 16 pages by reference fill it */
	memset(buf, 'a', 8 * PG);
	struct iovec big = { buf, 8 * PG };
	check(vms(p[1], &big, 1, 0) == 8 * PG && vms(p[1], &big, 1, 0) == 8 * PG,
	      "vmsplice of 16 pages into an empty pipe");
	check(vms(p[1], &iov, 1, SPLICE_F_NONBLOCK) == -EAGAIN, "then full: NONBLOCK gives EAGAIN");
	int fl = fcntl(p[1], F_GETFL);
	fcntl(p[1], F_SETFL, fl | O_NONBLOCK);
	check(r(write(p[1], "q", 1)) == -EAGAIN, "... and write() O_NONBLOCK EAGAIN");
	fcntl(p[1], F_SETFL, fl);
	check(read_full(p[0], rd, 16 * PG) == 16 * PG && all_bytes(rd, 16 * PG, 'a'),
	      "the 16 pages read back");

	/* splice pipe -> file, with an offset and with the file position */
	memset(buf, 'c', PG);
	memset(buf + PG, 'd', PG);
	struct iovec two = { buf, 2 * PG };
	vms(p[1], &two, 1, 0);
	int64_t off = 100;
	check(spl(p[0], NULL, fd, &off, 3000, 0) == 3000 && off == 3100,
	      "splice pipe -> file at an offset: 3000 bytes, offset updated");
	check(lseek(fd, 0, SEEK_CUR) == 0, "... the file position unchanged");
	memset(rd, 0, 2 * PG);
	check(pread(fd, rd, 3100, 0) == 3100 && all_bytes(rd, 100, 0) &&
		  all_bytes(rd + 100, 3000, 'c'),
	      "the file holds the spliced bytes");
	lseek(fd, 3 * PG, SEEK_SET);
	check(spl(p[0], NULL, fd, NULL, 2 * PG, 0) == 2 * PG - 3000 &&
		  lseek(fd, 0, SEEK_CUR) == 5 * PG - 3000,
	      "splice pipe -> file at the position: what the pipe had, position advanced");
	check(pread(fd, rd, 2 * PG - 3000, 3 * PG) == 2 * PG - 3000 &&
		  all_bytes(rd, PG - 3000, 'c') && all_bytes(rd + PG - 3000, PG, 'd'),
	      "... the bytes at the position");

	/* splice file -> pipe */
	off = 100;
	check(spl(fd, &off, p[1], NULL, 5000, 0) == 5000 && off == 5100,
	      "splice file -> pipe at an offset: 5000 bytes");
	check(read_full(p[0], rd, 5000) == 5000, "... read back from the pipe");
	char expect[5000];
	pread(fd, expect, 5000, 100);
	check(!memcmp(rd, expect, 5000), "... the file's bytes");
	off = 1 << 30;
	check(spl(fd, &off, p[1], NULL, 100, 0) == 0, "splice from past the end: 0");

	/* pipe -> pipe: whole buffers and a split one, then tee */
	memset(buf, 'e', PG);
	struct iovec one = { buf, PG };
	vms(p[1], &one, 1, 0);
	check(spl(p[0], NULL, q[1], NULL, 1000, 0) == 1000, "splice pipe -> pipe, 1000 of a page");
	write(q[1], "W", 1); /* must not land in the split page's other half */
	check(spl(p[0], NULL, q[1], NULL, 10 * PG, 0) == PG - 1000, "... the rest moves");
	check(read_full(q[0], rd, PG + 1) == PG + 1 && all_bytes(rd, 1000, 'e') &&
		  rd[1000] == 'W' && all_bytes(rd + 1001, PG - 1000, 'e'),
	      "... read back in order: a write() after a split buffer stays after it");
	write(p[1], "tee-data", 8);
	check(teec(p[0], q[1], 100, 0) == 8, "tee duplicates 8 bytes");
	check(read_full(q[0], rd, 8) == 8 && !memcmp(rd, "tee-data", 8) &&
		  read_full(p[0], rd + 8, 8) == 8 && !memcmp(rd + 8, "tee-data", 8),
	      "... both pipes have them");
	check(teec(p[0], q[1], 100, SPLICE_F_NONBLOCK) == -EAGAIN,
	      "tee from an empty pipe, NONBLOCK: EAGAIN");
	check(teec(p[0], p[1], 1, 0) == -EINVAL && teec(fd, q[1], 1, 0) == -EINVAL,
	      "tee: the same pipe, or a file: EINVAL");
	check(teec(p[0], q[1], 1, 0x100) == -EINVAL && teec(p[0], q[1], 0, 0) == 0,
	      "tee: unknown flag EINVAL, length 0 returns 0");

	/* splice errno rules, in Linux's order */
	off = 0;
	check(spl(p[0], NULL, q[1], NULL, 0, 0x100) == 0, "splice: length 0 returns 0 first");
	check(spl(p[0], NULL, q[1], NULL, 1, 0x100) == -EINVAL, "splice: unknown flag EINVAL");
	check(spl(99, NULL, q[1], NULL, 1, 0) == -EBADF &&
		  spl(p[0], NULL, 99, NULL, 1, 0) == -EBADF,
	      "splice: closed fds EBADF");
	check(spl(p[0], &off, fd, NULL, 1, 0) == -ESPIPE &&
		  spl(fd, NULL, q[1], &off, 1, 0) == -ESPIPE,
	      "splice: an offset for a pipe end ESPIPE");
	check(spl(p[0], NULL, fd, (int64_t *)8, 1, 0) == -EFAULT,
	      "splice: unreadable offset EFAULT");
	check(spl(fd, NULL, fd, NULL, 1, 0) == -EINVAL, "splice: neither end a pipe EINVAL");
	check(spl(p[0], NULL, p[1], NULL, 1, 0) == -EINVAL, "splice: a pipe to itself EINVAL");
	check(spl(p[1], NULL, q[1], NULL, 1, 0) == -EBADF &&
		  spl(p[0], NULL, q[0], NULL, 1, 0) == -EBADF,
	      "splice: in not readable, out not writable EBADF");
	int ap = open("/splice-basic.dat", O_WRONLY | O_APPEND);
	write(p[1], "z", 1);
	check(spl(p[0], NULL, ap, NULL, 1, 0) == -EINVAL, "splice to an O_APPEND file EINVAL");
	off = -5;
	check(spl(p[0], NULL, fd, &off, 1, 0) == -EINVAL, "splice to a negative offset EINVAL");
	check(spl(p[0], NULL, fd, NULL, 1, 0) == 1, "... the byte is still there");
	check(spl(p[0], NULL, q[1], NULL, 1, SPLICE_F_NONBLOCK) == -EAGAIN,
	      "splice from an empty pipe, NONBLOCK: EAGAIN");
	close(ap);
	/* no reader: EPIPE (SIGPIPE ignored) */
	close(q[0]);
	write(p[1], "k", 1);
	check(spl(p[0], NULL, q[1], NULL, 1, 0) == -EPIPE,
	      "splice into a pipe without reader: EPIPE");
	check(vms(q[1], &iov, 1, 0) == -EPIPE, "vmsplice into a pipe without reader: EPIPE");
	/* EOF: the writer gone */
	close(p[1]);
	char c;
	read(p[0], &c, 1);
	check(spl(p[0], NULL, fd, NULL, 10, 0) == 0, "splice from a pipe at EOF: 0");
	close(p[0]);
	close(q[1]);
	close(fd);
	unlink("/splice-basic.dat");
}

/* ---- leak (CVE-2020-29374) -------------------------------------------- */

static void leak(void)
{
	int n = ncpus(), rounds = 24, bad = 0, wrong = 0;
	for (int i = 0; i < rounds; i++) {
		char *page = map(PG);
		memset(page, 'O', PG); /* the old data, the parent's own page */
		int p[2];
		pipe(p);
		pid_t c = fork();
		if (c == 0) {
			pin((i + 1) % n);
			struct iovec iov = { page, PG };
			long v = vms(p[1], &iov, 1, 0);
			munmap(page, PG);
			_exit(v == PG ? 0 : 1);
		}
		pin(i % n);
		int st;
		waitpid(c, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			wrong++;
			continue;
		}
		memset(page, 'N', PG); /* the parent writes its page */
		char got[PG];
		if (read_full(p[0], got, PG) != PG)
			wrong++;
		else if (!all_bytes(got, PG, 'O'))
			bad++; /* the child read the parent's new data through the pipe */
		close(p[0]);
		close(p[1]);
		munmap(page, PG);
	}
	check(wrong == 0, "leak: every child vmspliced its page");
	check(bad == 0,
	      "leak: the pipe delivers the old data after the parent's write, every round "
	      "(CVE-2020-29374)");
	if (bad)
		printf("# %d of %d rounds leaked the parent's new data\n", bad, rounds);
}

/* ---- the page reference limit (CVE-2019-11487) -------------------------- */

/* vmsplice takes a reference to each page it puts in a pipe. The kernel
 * refuses a reference that would take a page's count past its limit (two
 * billion normally, far out of reach; the test lowers it for this run to
 * `limit`): so many pipes fill up with the same page until vmsplice fails,
 * before about `limit` references, and none of the page's data is lost.
 * Without the check the count would wrap and a put free a page in use. */
static void reflimit(uint64_t limit)
{
	enum { MAX_PIPES = 480, SLOTS = 16 };
	static int fds[MAX_PIPES][2];
	char *page = map(PG);
	memset(page, 'R', PG);
	struct iovec iov[SLOTS];
	for (int i = 0; i < SLOTS; i++)
		iov[i] = (struct iovec){ page, 1 }; /* 16 references per call */
	long accepted = 0, refused_errno = 0;
	int npipes = 0;
	for (; npipes < MAX_PIPES && !refused_errno; npipes++) {
		if (pipe2(fds[npipes], O_NONBLOCK)) {
			printf("# pipe2: %s\n", strerror(errno));
			break;
		}
		long v = vms(fds[npipes][1], iov, SLOTS, SPLICE_F_NONBLOCK);
		if (v < 0)
			refused_errno = errno;
		else
			accepted += v; /* one byte per reference */
	}
	printf("# %ld references taken by vmsplice before it was refused (limit %lu)\n", accepted,
	       (unsigned long)limit);
	check(refused_errno != 0, "reflimit: vmsplice is refused once the page is at its limit");
	check(accepted <= (long)limit, "reflimit: no reference past the limit");
	for (int i = 0; i < npipes; i++) {
		close(fds[i][0]);
		close(fds[i][1]);
	}
	check(all_bytes(page, PG, 'R'), "reflimit: the page kept its data");
	int p[2];
	pipe(p);
	check(vms(p[1], iov, 1, 0) == 1, "reflimit: with the pipes closed, vmsplice works again");
	close(p[0]);
	close(p[1]);
	munmap(page, PG);
}

/* ---- O_DIRECT rules ---------------------------------------------------- */

static void odirect(void)
{
	const char *path = "/splice-dio.dat";
	make_file(path, 3 * PG + 1000);
	int fd = open(path, O_RDWR | O_DIRECT);
	check(fd >= 0, "open O_DIRECT");
	unsigned char *b = map(8 * PG);
	check(pread(fd, b + 512, 1024, 512) == 1024 && pattern_ok(b + 512, 512, 1024),
	      "O_DIRECT read, 512-aligned buffer, offset and length");
	check(r(pread(fd, b + 100, 512, 0)) == -EINVAL, "misaligned buffer EINVAL");
	check(r(pread(fd, b, 512, 100)) == -EINVAL, "misaligned offset EINVAL");
	check(r(pread(fd, b, 100, 0)) == -EINVAL, "misaligned length EINVAL");
	check(pread(fd, b, 0, 0) == 0 && pread(fd, b + 1, 0, 3) == 0, "length 0 returns 0");
	check(pread(fd, b, 4 * PG, 2 * PG) == PG + 1000 && pattern_ok(b, 2 * PG, PG + 1000),
	      "a read across the end is short: the bytes up to the end");
	check(pread(fd, b, 512, 4 * PG) == 0 && pread(fd, b + 3, 100, 5 * PG) == 0,
	      "a read at or past the end: 0 (even misaligned)");
	/* 7 pages from a buffer starting inside a page: more than one batch */
	check(pread(fd, b + 1536, 3 * PG, 0) == 3 * PG && pattern_ok(b + 1536, 0, 3 * PG),
	      "a read into a buffer starting mid-page, spanning 4 pages");
	/* writes */
	memset(b, 'w', 1024);
	check(r(pwrite(fd, b + 7, 512, 0)) == -EINVAL && r(pwrite(fd, b, 512, 9)) == -EINVAL &&
		  r(pwrite(fd, b, 513, 0)) == -EINVAL,
	      "O_DIRECT write: misaligned buffer, offset, length EINVAL");
	check(pwrite(fd, b, 0, 0) == 0, "O_DIRECT write of 0 bytes: 0");
	check(pwrite(fd, b, 1024, 512) == 1024, "O_DIRECT write of 1024 bytes at 512");
	int cfd = open(path, O_RDONLY);
	unsigned char c[2 * PG];
	check(pread(cfd, c, 2 * PG, 0) == 2 * PG && pattern_ok(c, 0, 512) &&
		  all_bytes((char *)c + 512, 1024, 'w') &&
		  pattern_ok(c + 1536, 1536, 2 * PG - 1536),
	      "... read() sees it, and the rest of the block is kept");
	memset(b + 512, 'v', 512);
	check(pwrite(fd, b + 512, 512, 10 * PG) == 512 && lseek(fd, 0, SEEK_END) == 10 * PG + 512,
	      "a write past the end extends the file");
	check(pread(cfd, c, 1024, 10 * PG - 512) == 1024 && all_bytes((char *)c, 512, 0) &&
		  all_bytes((char *)c + 512, 512, 'v'),
	      "... the gap reads as zeros, the data after it");
	check(r(pread(fd, (void *)0x1000, 512, 0)) == -EFAULT,
	      "O_DIRECT read into an unmapped (aligned) buffer EFAULT");
	check(r(pread(fd, (void *)8, 512, 0)) == -EINVAL, "... misaligned: EINVAL first");
	munmap(b + 4 * PG, PG);
	check(pread(fd, b + 3 * PG, 2 * PG, 0) == PG,
	      "a buffer with a hole: short, up to the hole");
	close(cfd);
	close(fd);
	unlink(path);
}

/* ---- race programs ----------------------------------------------------- */

#define RACE_US 2000000 /* each race runs about this long */

static const char *rpath = "/splice-race.dat";
static atomic_int stop, go;
static char *page;		     /* the buffer's page: buffer at 0, neighbour at 2048 */
static atomic_uint_fast64_t t_start; /* when the O_DIRECT read began */

static void *neighbour(void *arg)
{
	pin((int)(long)arg);
	unsigned long v = 0;
	while (!atomic_load(&stop))
		((volatile unsigned long *)(page + 2048))[0] = ++v;
	return NULL;
}

struct reader {
	int fd, cpu;
	long result;
};

static void *dio_reader(void *arg)
{
	struct reader *rd = arg;
	pin(rd->cpu);
	while (!atomic_load(&go))
		;
	atomic_store(&t_start, now_us());
	rd->result = r(pread(rd->fd, page, 1024, 0));
	return NULL;
}

static void race_fork(uint64_t delay_us)
{
	make_file(rpath, PG);
	int fd = open(rpath, O_RDONLY | O_DIRECT);
	int n = ncpus(), rounds = 0, parent_lost = 0, child_saw = 0, strict = 0, bad = 0;
	uint64_t end = now_us() + RACE_US;
	while (now_us() < end || rounds < 3) {
		page = map(PG);
		memset(page, 0, PG); /* exclusive, written: pinned writable at once */
		atomic_store(&stop, 0);
		atomic_store(&go, 0);
		pthread_t nb, rt;
		struct reader rd = { fd, 1 % n, 0 };
		pthread_create(&nb, NULL, neighbour, (void *)(long)(2 % n));
		pthread_create(&rt, NULL, dio_reader, &rd);
		pin(0);
		atomic_store(&go, 1);
		while (!atomic_load(&t_start))
			;
		/* fork while the read is in flight: half the delay after
		 * its start, so it has surely pinned (unless preempted) */
		uint64_t spin = now_us() + (delay_us ? delay_us / 2 : 200);
		while (now_us() < spin)
			;
		int sync[2];
		pipe(sync);
		uint64_t tf = now_us();
		pid_t c = fork();
		if (c == 0) {
			/* The child's memory was copied before it runs: before
			 * the transfer for sure when it runs before the read's
			 * start + the delay (the transfer waits that long after
			 * the pin). Once the parent's read is done, such a child
			 * must not have the data. Exit 0: clean, 1: saw it, 2:
			 * not known to be before the transfer. */
			uint64_t tc = now_us();
			int before = delay_us && tc < atomic_load(&t_start) + delay_us;
			char x;
			close(sync[1]);
			read(sync[0], &x, 1);
			if (!before)
				_exit(2);
			_exit(pattern_ok((unsigned char *)page, 0, 1024) ? 1 : 0);
		}
		pthread_join(rt, NULL);
		atomic_store(&stop, 1);
		pthread_join(nb, NULL);
		close(sync[0]);
		write(sync[1], "x", 1);
		close(sync[1]);
		int st;
		waitpid(c, &st, 0);
		if (rd.result != 1024)
			bad++;
		else if (!pattern_ok((unsigned char *)page, 0, 1024))
			parent_lost++; /* the transfer went to the child's page (seed 003) */
		if (WIFEXITED(st) && WEXITSTATUS(st) < 2) {
			strict++;
			child_saw += WEXITSTATUS(st) == 1;
		}
		(void)tf;
		atomic_store(&t_start, 0);
		munmap(page, PG);
		rounds++;
	}
	close(fd);
	unlink(rpath);
	printf("# race-fork: %d rounds, %d with the child copied surely before the transfer\n",
	       rounds, strict);
	check(bad == 0, "race-fork: every O_DIRECT read returned 1024");
	check(parent_lost == 0, "race-fork: the parent always has the data it read (seed 003)");
	check(child_saw == 0, "race-fork: the child never has data transferred after its fork");
}

static uint64_t mp_delay_us;

static void *mprotect_thread(void *arg)
{
	pin((int)(long)arg);
	while (!atomic_load(&t_start))
		;
	uint64_t spin = now_us() + (mp_delay_us ? mp_delay_us / 2 : 100);
	while (now_us() < spin)
		;
	/* while the read is pinned: write access away and back, then a write */
	mprotect(page, PG, PROT_READ);
	mprotect(page, PG, PROT_READ | PROT_WRITE);
	page[3000] = 'M';
	return NULL;
}

static void race_mprotect(uint64_t delay_us)
{
	make_file(rpath, PG);
	int fd = open(rpath, O_RDONLY | O_DIRECT);
	int n = ncpus(), rounds = 0, lost = 0, bad = 0;
	mp_delay_us = delay_us;
	uint64_t end = now_us() + RACE_US;
	while (now_us() < end || rounds < 3) {
		page = map(PG);
		memset(page, 0, PG);
		atomic_store(&go, 0);
		atomic_store(&t_start, 0);
		pthread_t mt, rt;
		struct reader rd = { fd, 1 % n, 0 };
		pthread_create(&mt, NULL, mprotect_thread, (void *)(long)(2 % n));
		pthread_create(&rt, NULL, dio_reader, &rd);
		atomic_store(&go, 1);
		pthread_join(rt, NULL);
		pthread_join(mt, NULL);
		if (rd.result != 1024 || page[3000] != 'M')
			bad++;
		else if (!pattern_ok((unsigned char *)page, 0, 1024))
			lost++; /* the device wrote a page the process no longer has */
		munmap(page, PG);
		rounds++;
	}
	close(fd);
	unlink(rpath);
	printf("# race-mprotect: %d rounds\n", rounds);
	check(bad == 0, "race-mprotect: every read returned 1024 and the write stayed");
	check(lost == 0, "race-mprotect: the data lands in the page the process keeps (R4)");
}

#define MU_PAGES 4
static char *region; /* guard page, MU_PAGES buffer pages, guard page */

static void *dio_loop(void *arg)
{
	int fd = (int)(long)arg;
	pin(1 % ncpus());
	/* ok, short, EFAULT, other: static, since memory allocated now could
	 * land in the hole the other thread is about to map over */
	static long res[4];
	int i = 0;
	while (!atomic_load(&stop)) {
		long v = (i++ & 1) ? r(pread(fd, region + PG, MU_PAGES * PG, 0))
				   : r(pwrite(fd, region + PG, MU_PAGES * PG, MU_PAGES * PG));
		if (v == MU_PAGES * PG)
			res[0]++;
		else if (v > 0 && v % 512 == 0)
			res[1]++;
		else if (v == -EFAULT)
			res[2]++;
		else
			res[3]++;
	}
	return res;
}

static void race_munmap(void)
{
	make_file(rpath, 2 * MU_PAGES * PG);
	int fd = open(rpath, O_RDWR | O_DIRECT);
	region = map((MU_PAGES + 2) * PG);
	memset(region, 'G', PG);
	memset(region + (MU_PAGES + 1) * PG, 'G', PG);
	atomic_store(&stop, 0);
	pthread_t t;
	pthread_create(&t, NULL, dio_loop, (void *)(long)fd);
	pin(0);
	int remaps = 0, maperr = 0;
	uint64_t end = now_us() + RACE_US;
	while (now_us() < end) {
		munmap(region + PG, MU_PAGES * PG);
		void *m = mmap(region + PG, MU_PAGES * PG, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (m != region + PG)
			maperr++;
		remaps++;
	}
	atomic_store(&stop, 1);
	long *res;
	pthread_join(t, (void **)&res);
	printf("# race-munmap: %d remaps; O_DIRECT whole %ld, short %ld, EFAULT %ld, other %ld\n",
	       remaps, res[0], res[1], res[2], res[3]);
	check(maperr == 0, "race-munmap: every remap at its address");
	check(res[3] == 0,
	      "race-munmap: each O_DIRECT call moved whole blocks or failed with EFAULT");
	check(all_bytes(region, PG, 'G') && all_bytes(region + (MU_PAGES + 1) * PG, PG, 'G'),
	      "race-munmap: the memory around the buffer was never written");
	/* the file is intact where nothing wrote */
	unsigned char c[MU_PAGES * PG];
	int cfd = open(rpath, O_RDONLY);
	check(pread(cfd, c, sizeof(c), 0) == (long)sizeof(c) && pattern_ok(c, 0, sizeof(c)),
	      "race-munmap: the part of the file only read is unchanged");
	close(cfd);
	close(fd);
	unlink(rpath);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "basic";
	uint64_t delay = argc > 2 ? strtoull(argv[2], NULL, 0) : 0;
	printf("KTAP version 1\n");
	if (!strcmp(mode, "basic"))
		basic();
	else if (!strcmp(mode, "leak"))
		leak();
	else if (!strcmp(mode, "odirect"))
		odirect();
	else if (!strcmp(mode, "race-fork"))
		race_fork(delay);
	else if (!strcmp(mode, "race-mprotect"))
		race_mprotect(delay);
	else if (!strcmp(mode, "race-munmap"))
		race_munmap();
	else if (!strcmp(mode, "reflimit"))
		reflimit(delay);
	else
		check(0, "known mode");
	printf("1..%d\n# every check ran\n", n);
	return failed ? 1 : 0;
}
