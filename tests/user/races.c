/*
 * tests/user/races.c - the memory rules' historic races (R1-R5, R6) shown
 * the way their finders showed them: ordinary threads pinned to CPUs with
 * sched_setaffinity, fork, mmap, munmap, MADV_DONTNEED, O_DIRECT, fsync.
 * No test hooks: where a window is too narrow to hit within a bounded time,
 * the kernel test case (tests/test_races.c) widens it with a delay at the
 * kernel's pause point (pause.delay=NAME:US); the program stays the same
 * and passes on Linux too (without the delay it may just miss the window).
 *
 *   races MODE      one mode per run; KTAP lines, exit 0 iff every check
 *                   passed. A line "# inconclusive: WHY" means the timing
 *                   did not set the race up (the test case skips then).
 *
 * Modes (and the bug each one catches):
 *   fork_exclusive  fork on each pair of the first three CPUs, the parent
 *                   writes after fork: the child never sees it (R3, R4:
 *                   FORK_KEEPS_EXCLUSIVE).
 *   dio_read_fork   O_DIRECT read into a buffer shared with a fork child:
 *                   the data reaches the parent only (R3, R5:
 *                   GUP_WRITE_RO_PTE).
 *   pin_unshare     O_DIRECT write from a buffer shared with a fork child;
 *                   the parent writes the buffer while the write is in
 *                   flight (delay dio_write): the file gets what the
 *                   parent's memory holds (R4: PIN_NO_UNSHARE).
 *   fork_flush      a thread on another CPU writes a counter without a
 *                   break while the main thread forks: the child's copy
 *                   never changes (R3, R6: FORK_NO_FLUSH).
 *   free_flush      a thread on another CPU reads a mapping while the main
 *                   thread munmaps it (delay tlb_flush): it sees the data
 *                   or SIGSEGV, never a freed page (R1: FREE_BEFORE_FLUSH).
 *   mkwrite         fsync on another CPU while a shared file mapping is
 *                   written (delay clean_for_io, between page_mkclean and
 *                   the clear of PG_dirty): the write fault waits for the
 *                   page lock until the clear is done; then a write,
 *                   munmap, fsync and POSIX_FADV_DONTNEED: the file keeps
 *                   every write (R2: MKWRITE_UNLOCKED, CLEAN_FOR_IO_UNLOCKED).
 *   gup_zap         O_DIRECT write from a buffer that another thread
 *                   MADV_DONTNEEDs while GUP-fast holds its reference
 *                   (delay gup_fast_ref): the write carries what the buffer
 *                   holds after the zap, zeros (R5: NO_PTE_RECHECK).
 *   fork_pin        O_DIRECT read into a buffer while another thread forks
 *                   (delays gup_fast_walk and fork_wrprotect): the data
 *                   reaches the parent only (R4: GUP_FAST_NO_SEQ_RETRY).
 *   pt_free         O_DIRECT write on CPU 1 from a page whose PTE was
 *                   zapped, while CPU 0 munmaps it (freeing its page table)
 *                   and maps a file page at the same slot of a new 2 MiB
 *                   region (delay gup_fast_walk): GUP-fast never reads the
 *                   freed table, now the new region's: the write fails with
 *                   EFAULT, never carries the other file's data (R5, R8:
 *                   NO_IPI_ON_PT_FREE).
 *   cow_concurrent  two threads on two CPUs write their own word of the same
 *                   COW pages (shared with a fork child) at the same time:
 *                   neither write is lost (COW_NO_PTE_RECHECK: Linux's
 *                   pte_same check in wp_page_copy).
 *   first_touch     the same on fresh anonymous pages, first touched by
 *                   both at once (ANON_FAULT_NO_RECHECK: the recheck in
 *                   do_anonymous_page).
 *   many_dirty      600 pages of a shared file mapping written, then
 *                   MADV_DONTNEED, munmap (the kernel test case checks
 *                   the delayed-rmap scan stayed bounded: R2,
 *                   DELAY_RMAP_ANY_BATCH).
 *   cow_flush       three threads: one breaks COW on a page shared with a
 *                   child (delay tlb_flush), one writes the new copy and
 *                   then a flag, one reads the flag then the data: seeing
 *                   the flag it sees the data (R6: COW_INSTALL_BEFORE_FLUSH).
 *   split_rmap      an O_DIRECT write of a file's page 0 loops on another
 *                   CPU while the main thread mprotects page 4 of a shared
 *                   mapping of the file, splitting its VMA (delay
 *                   split_vma): the write unmaps the range it writes (page
 *                   0) and nothing else; pages 1-7 stay mapped, as pagemap
 *                   shows. A split made without i_mmap_lock lets the write's
 *                   rmap walk see the new VMA's start moved but not its
 *                   offset, and it unmaps page 4 (R2: SPLIT_VMA_UNLOCKED).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ktap.h"

#define PG 4096

static int ncpu;

static int pin(int cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu % ncpu, &s);
	return sched_setaffinity(0, sizeof(s), &s);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void msleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void inconclusive(const char *why)
{
	printf("# inconclusive: %s\n", why);
}

static void *anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static int all_bytes(const void *p, size_t len, int c)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < len; i++)
		if (b[i] != (unsigned char)c)
			return 0;
	return 1;
}

/* A file of pages of byte c, written back (clean in the cache), opened
 * with flags; -1 on failure. */
static int make_file(const char *path, int pages, int c, int flags)
{
	unlink(path);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	char *buf = anon((size_t)pages * PG);
	if (fd < 0 || !buf)
		return -1;
	memset(buf, c, (size_t)pages * PG);
	ssize_t w = write(fd, buf, (size_t)pages * PG);
	munmap(buf, (size_t)pages * PG);
	if (w != (ssize_t)pages * PG) {
		close(fd);
		return -1;
	}
	fsync(fd);
	close(fd);
	return open(path, O_RDWR | flags);
}

/* The file's bytes [0, len) through a plain fd (not the O_DIRECT one). */
static int file_bytes(const char *path, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t r = pread(fd, buf, len, 0);
	close(fd);
	return r == (ssize_t)len ? 0 : -1;
}

/* A child that waits for a byte on fd, then exits 0 iff len bytes at p are
 * all c (what it mapped at fork). Returns its pid. */
static pid_t child_checking(int rfd, int wfd, const void *p, size_t len, int c, int cpu)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (cpu >= 0)
			pin(cpu);
		close(wfd);
		char x;
		if (read(rfd, &x, 1) != 1)
			_exit(3);
		_exit(all_bytes(p, len, c) ? 0 : 1);
	}
	return pid;
}

static int child_status(pid_t pid)
{
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- fork_exclusive (FORK_KEEPS_EXCLUSIVE) ------------------------------- */

static void fork_exclusive(void)
{
	int bad = 0, runs = 0;
	for (int i = 0; i < ncpu && i < 3; i++)
		for (int j = 0; j < ncpu && j < 3; j++) {
			char *a = anon(PG);
			int pfd[2];
			if (!a || pipe(pfd))
				return check(0, "mmap and pipe");
			pin(i);
			memset(a, 'p', PG);
			pid_t pid = child_checking(pfd[0], pfd[1], a, PG, 'p', j);
			memset(a, 'q', PG); /* after fork: a copy of our own */
			if (write(pfd[1], "x", 1) != 1)
				bad++;
			if (child_status(pid) != 0 || !all_bytes(a, PG, 'q'))
				bad++;
			runs++;
			close(pfd[0]);
			close(pfd[1]);
			munmap(a, PG);
		}
	printf("# %d fork(s), %d bad\n", runs, bad);
	check(bad == 0, "fork_exclusive: the parent's writes after fork never reach the child");
}

/* ---- mprotect_cow (MPROTECT_WRITE_ANY_ANON) ------------------------------- */

/* After fork the parent takes write away and gives it back with mprotect,
 * then writes: the page is still shared with the child, so mprotect must
 * leave the PTE read-only (only an exclusive anonymous page may get write
 * back, can_change_pte_writable) and the write must copy. */
static void mprotect_cow(void)
{
	int bad = 0, runs = 0;
	for (int i = 0; i < ncpu && i < 3; i++) {
		char *a = anon(PG);
		int pfd[2];
		if (!a || pipe(pfd))
			return check(0, "mmap and pipe");
		pin(i);
		memset(a, 'p', PG);
		pid_t pid = child_checking(pfd[0], pfd[1], a, PG, 'p', (i + 1) % ncpu);
		if (mprotect(a, PG, PROT_READ) || mprotect(a, PG, PROT_READ | PROT_WRITE))
			bad++;
		memset(a, 'q', PG); /* must copy: the child still maps the page */
		if (write(pfd[1], "x", 1) != 1)
			bad++;
		if (child_status(pid) != 0 || !all_bytes(a, PG, 'q'))
			bad++;
		runs++;
		close(pfd[0]);
		close(pfd[1]);
		munmap(a, PG);
	}
	printf("# %d fork(s), %d bad\n", runs, bad);
	check(bad == 0, "mprotect_cow: mprotect(PROT_READ) then (PROT_READ|PROT_WRITE) after fork "
			"does not let the parent write the page it shares with the child");
}

/* ---- dio_read_fork (GUP_WRITE_RO_PTE) ------------------------------------- */

static void dio_read_fork(void)
{
	const char *path = "/races-dio-read.bin";
	int fd = make_file(path, 1, 'f', O_DIRECT);
	if (fd < 0)
		return check(0, "dio_read_fork: make the file");
	int bad = 0, runs = 0;
	for (int i = 0; i < 4; i++) {
		char *b = anon(PG);
		int pfd[2];
		if (!b || pipe(pfd))
			return check(0, "mmap and pipe");
		pin(i);
		memset(b, 'b', PG);
		pid_t pid = child_checking(pfd[0], pfd[1], b, PG, 'b', i + 1);
		/* The page is write-protected and shared: FOLL_WRITE breaks COW. */
		ssize_t r = pread(fd, b, PG, 0);
		if (r != PG || !all_bytes(b, PG, 'f'))
			bad++;
		if (write(pfd[1], "x", 1) != 1 || child_status(pid) != 0)
			bad++;
		runs++;
		close(pfd[0]);
		close(pfd[1]);
		munmap(b, PG);
	}
	close(fd);
	unlink(path);
	printf("# %d O_DIRECT read(s) after fork, %d bad\n", runs, bad);
	check(bad == 0, "dio_read_fork: an O_DIRECT read after fork reaches the parent only");
}

/* ---- pin_unshare (PIN_NO_UNSHARE), delay dio_write ------------------------ */

struct dio_call {
	int fd, cpu;
	void *buf;
	size_t len;
	int write;
	volatile int started, done;
	ssize_t ret;
	double t0, t1;
};

static void *dio_thread(void *arg)
{
	struct dio_call *c = arg;
	pin(c->cpu);
	c->started = 1;
	c->t0 = now();
	c->ret = c->write ? pwrite(c->fd, c->buf, c->len, 0) : pread(c->fd, c->buf, c->len, 0);
	c->t1 = now();
	c->done = 1;
	return NULL;
}

static void pin_unshare(void)
{
	const char *path = "/races-pin-unshare.bin";
	int fd = make_file(path, 1, 'f', O_DIRECT);
	char *b = anon(PG), *got = anon(PG);
	int pfd[2];
	if (fd < 0 || !b || !got || pipe(pfd))
		return check(0, "pin_unshare: file, buffers, pipe");
	pin(0);
	memset(b, 'o', PG);
	pid_t pid = child_checking(pfd[0], pfd[1], b, PG, 'o', -1);
	struct dio_call c = { .fd = fd, .cpu = 1, .buf = b, .len = PG, .write = 1 };
	pthread_t th;
	pthread_create(&th, NULL, dio_thread, &c);
	while (!c.started)
		sched_yield();
	msleep(60); /* the write has pinned the buffer and waits in its window */
	memset(b, 'n', PG);
	int in_flight = !c.done;
	pthread_join(th, NULL);
	if (write(pfd[1], "x", 1) != 1)
		check(0, "pin_unshare: wake the child");
	int st = child_status(pid);
	printf("# O_DIRECT write took %.0f ms; the buffer was written %s it ended\n",
	       (c.t1 - c.t0) * 1e3, in_flight ? "before" : "after");
	check(c.ret == PG, "pin_unshare: the O_DIRECT write wrote the page");
	check(st == 0, "pin_unshare: the child's copy stays as at fork");
	if (file_bytes(path, got, PG))
		check(0, "pin_unshare: read the file back");
	else if (in_flight)
		check(all_bytes(got, PG, 'n'),
		      "pin_unshare: the file has what the parent wrote to the pinned buffer");
	else
		inconclusive("the O_DIRECT write ended before the parent wrote (no delay?)");
	close(fd);
	unlink(path);
}

/* ---- fork_flush (FORK_NO_FLUSH) ------------------------------------------- */

struct spinner {
	volatile uint64_t *p;
	int cpu;
	volatile int stop;
	volatile uint64_t count;
};

static void *writer_thread(void *arg)
{
	struct spinner *s = arg;
	pin(s->cpu);
	uint64_t i = 0;
	while (!s->stop) {
		*s->p = ++i;
		s->count = i;
	}
	return NULL;
}

static void fork_flush(void)
{
	volatile uint64_t *a = anon(PG);
	if (!a)
		return check(0, "fork_flush: mmap");
	pin(0);
	a[0] = 0;
	struct spinner s = { .p = a, .cpu = 1 };
	pthread_t th;
	pthread_create(&th, NULL, writer_thread, &s);
	while (s.count < 1000)
		sched_yield();
	int bad = 0, runs = 0;
	double until = now() + 1.0;
	while (runs < 3 || (now() < until && runs < 20)) {
		pid_t pid = fork();
		if (pid == 0) {
			/* The child's copy: nobody may write it any more. */
			uint64_t v = a[0];
			double end = now() + 0.02;
			while (now() < end)
				if (a[0] != v)
					_exit(1);
			_exit(0);
		}
		if (child_status(pid) != 0)
			bad++;
		runs++;
	}
	s.stop = 1;
	pthread_join(th, NULL);
	printf("# %d fork(s) with a writer on CPU 1, %d child(ren) saw it write\n", runs, bad);
	check(bad == 0, "fork_flush: a thread's writes after fork never reach the child");
}

/* ---- free_flush (FREE_BEFORE_FLUSH), delay tlb_flush ---------------------- */

#define MAGIC	 0x5ace5ace5ace5aceull
#define FF_PAGES 4

static sigjmp_buf reader_jb;
static void segv_handler(int sig)
{
	(void)sig;
	siglongjmp(reader_jb, 1);
}

struct reader {
	volatile uint64_t *volatile p;
	int cpu;
	volatile int ready, done, faulted, quit;
	volatile uint64_t bad;
};

static void *reader_thread(void *arg)
{
	struct reader *r = arg;
	pin(r->cpu);
	for (;;) {
		while (!r->p && !r->quit)
			;
		if (r->quit)
			return NULL;
		if (sigsetjmp(reader_jb, 1) == 0) {
			volatile uint64_t *p = r->p;
			r->ready = 1;
			for (unsigned i = 0;; i++) {
				uint64_t v =
				    p[(i % FF_PAGES) * (PG / 8) + (i / FF_PAGES) % (PG / 8)];
				if (v != MAGIC) {
					r->bad = v;
					break;
				}
			}
		} else {
			r->faulted = 1;
		}
		r->p = NULL;
		r->done = 1;
	}
}

static void free_flush(void)
{
	struct sigaction sa = { .sa_handler = segv_handler };
	sigaction(SIGSEGV, &sa, NULL);
	pin(0);
	static struct reader r = { .cpu = 1 };
	pthread_t th;
	pthread_create(&th, NULL, reader_thread, &r);
	int bad = 0, faulted = 0;
	for (int k = 0; k < 3; k++) {
		uint64_t *a = anon(FF_PAGES * PG);
		if (!a)
			return check(0, "free_flush: mmap");
		for (int i = 0; i < FF_PAGES * PG / 8; i++)
			a[i] = MAGIC;
		r.ready = r.done = r.faulted = 0;
		r.bad = 0;
		r.p = a;
		while (!r.ready)
			sched_yield();
		msleep(5);
		munmap(a, FF_PAGES * PG); /* R1: the reader's TLB goes before the pages */
		while (!r.done)
			sched_yield();
		if (!r.faulted) {
			printf("# try %d: the reader saw %#llx in a page being unmapped\n", k,
			       (unsigned long long)r.bad);
			bad++;
		} else
			faulted++;
	}
	r.quit = 1;
	pthread_join(th, NULL);
	signal(SIGSEGV, SIG_DFL);
	printf("# 3 munmaps under a reader on CPU 1: %d SIGSEGV, %d wrong data\n", faulted, bad);
	check(bad == 0, "free_flush: a reader on another CPU sees the data or SIGSEGV, never a "
			"freed page");
}

/* ---- mkwrite (MKWRITE_UNLOCKED), delay clean_for_io ----------------------- */

struct fsync_call {
	int fd, cpu;
	volatile int started, done;
};

static void *fsync_thread(void *arg)
{
	struct fsync_call *c = arg;
	pin(c->cpu);
	c->started = 1;
	fsync(c->fd);
	c->done = 1;
	return NULL;
}

static void mkwrite(void)
{
	const char *path = "/races-mkwrite.bin";
	int fd = make_file(path, 1, 0, 0);
	uint64_t *got = anon(PG);
	if (fd < 0 || !got)
		return check(0, "mkwrite: file");
	pin(0);
	volatile uint64_t *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return check(0, "mkwrite: mmap");
	p[0] = 0x11; /* a dirty page */
	struct fsync_call c = { .fd = fd, .cpu = 1 };
	pthread_t th;
	pthread_create(&th, NULL, fsync_thread, &c);
	while (!c.started)
		sched_yield();
	msleep(60); /* fsync write-protected the PTE and holds the page lock */
	double t0 = now();
	p[1] = 0x22; /* a write fault: it waits until the page is clean */
	double waited = now() - t0;
	int in_flight = !c.done;
	pthread_join(th, NULL);
	p[2] = 0x33;
	munmap((void *)p, PG);
	fsync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED); /* read back from the disk */
	int r = file_bytes(path, got, PG);
	printf("# write fault during fsync waited %.0f ms; file: %#llx %#llx %#llx\n",
	       waited * 1000, (unsigned long long)got[0], (unsigned long long)got[1],
	       (unsigned long long)got[2]);
	/* The window is 300 ms, entered 60 ms before the write. A write that
	 * came after fsync ended (this thread kept off its CPU that long by an
	 * overloaded host) did not meet the window: nothing to judge. */
	if (!in_flight && waited < 0.1)
		inconclusive("fsync ended before the write (no delay?)");
	else
		check(waited >= 0.1,
		      "mkwrite: the write fault waited for writeback to clean the page");
	check(r == 0 && got[0] == 0x11 && got[1] == 0x22 && got[2] == 0x33,
	      "mkwrite: every write reached the file");
	close(fd);
	unlink(path);
}

/* ---- gup_zap (NO_PTE_RECHECK), delay gup_fast_ref ------------------------- */

static void gup_zap(void)
{
	const char *path = "/races-gup-zap.bin";
	int fd = make_file(path, 1, 'f', O_DIRECT);
	char *b = anon(PG), *got = anon(PG);
	if (fd < 0 || !b || !got)
		return check(0, "gup_zap: file, buffers");
	pin(0);
	memset(b, 'o', PG);
	struct dio_call c = { .fd = fd, .cpu = 1, .buf = b, .len = PG, .write = 1 };
	pthread_t th;
	pthread_create(&th, NULL, dio_thread, &c);
	while (!c.started)
		sched_yield();
	msleep(60); /* GUP-fast holds its reference, IRQs off, in its window */
	double z0 = now();
	madvise(b, PG, MADV_DONTNEED); /* the PTE goes; the flush waits for the walk */
	double z1 = now();
	pthread_join(th, NULL);
	int overlap = z0 > c.t0 && z0 < c.t1 && z1 - z0 > 0.05;
	printf("# O_DIRECT write %.0f ms, MADV_DONTNEED %.0f ms (%s)\n", (c.t1 - c.t0) * 1e3,
	       (z1 - z0) * 1e3, overlap ? "waited for the walk" : "no overlap");
	check(c.ret == PG, "gup_zap: the O_DIRECT write wrote the page");
	check(all_bytes(b, PG, 0), "gup_zap: MADV_DONTNEED leaves zeros");
	if (file_bytes(path, got, PG))
		check(0, "gup_zap: read the file back");
	else if (overlap)
		check(all_bytes(got, PG, 0),
		      "gup_zap: the write carries the page mapped after the zap (zeros)");
	else
		inconclusive("the zap did not overlap GUP-fast's window (no delay?)");
	close(fd);
	unlink(path);
}

/* ---- fork_pin (GUP_FAST_NO_SEQ_RETRY), delays gup_fast_walk, fork_wrprotect */

#define FP_PAGES 8
#define FP_ADDR	 0x100000ul /* the lowest mapping: fork copies it first */

static void fork_pin(void)
{
	const char *path = "/races-fork-pin.bin";
	int fd = make_file(path, FP_PAGES, 'f', O_DIRECT);
	char *b = mmap((void *)FP_ADDR, FP_PAGES * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	int pfd[2];
	if (fd < 0 || b == MAP_FAILED || pipe(pfd))
		return check(0, "fork_pin: file, buffer, pipe");
	pin(0);
	memset(b, 'b', FP_PAGES * PG);
	struct dio_call c = { .fd = fd, .cpu = 1, .buf = b, .len = FP_PAGES * PG };
	pthread_t th;
	pthread_create(&th, NULL, dio_thread, &c);
	while (!c.started)
		sched_yield();
	msleep(20); /* GUP-fast sampled write_protect_seq and walks, slowly */
	double f0 = now();
	pid_t pid = child_checking(pfd[0], pfd[1], b, FP_PAGES * PG, 'b', -1);
	double f1 = now();
	pthread_join(th, NULL);
	if (write(pfd[1], "x", 1) != 1)
		check(0, "fork_pin: wake the child");
	int st = child_status(pid);
	printf("# O_DIRECT read %.0f ms from %.0f ms; fork %.0f ms from %.0f ms\n",
	       (c.t1 - c.t0) * 1e3, 0.0, (f1 - f0) * 1e3, (f0 - c.t0) * 1e3);
	check(c.ret == FP_PAGES * PG && all_bytes(b, FP_PAGES * PG, 'f'),
	      "fork_pin: the O_DIRECT read reached the parent");
	check(st == 0, "fork_pin: the child's copy stays as at fork (no DMA into it)");
	close(fd);
	unlink(path);
	munmap(b, FP_PAGES * PG);
}

/* ---- cow_flush (COW_INSTALL_BEFORE_FLUSH), delay tlb_flush ---------------- */

struct cow3 {
	volatile uint64_t *a; /* private, shared with a child: COW */
	volatile uint64_t *f; /* MAP_SHARED: the flag, never COW */
	volatile int go, ready_r, stop;
	volatile uint64_t bad;
	volatile int seen;
};

static void *cow_breaker(void *arg)
{
	struct cow3 *s = arg;
	pin(1);
	while (!s->go)
		;
	s->a[0] = 1; /* the COW fault: copy, install, flush */
	return NULL;
}

static void *cow_writer(void *arg)
{
	struct cow3 *s = arg;
	pin(2);
	while (!s->go)
		;
	double t = now() + 0.015; /* the breaker faults first, and is in its flush */
	while (now() < t)
		;
	s->a[8] = 7; /* through whatever PTE is there now */
	s->f[0] = 1; /* then the flag (x86 keeps the two stores in order) */
	return NULL;
}

static void *cow_reader(void *arg)
{
	struct cow3 *s = arg;
	pin(3);
	uint64_t sum = 0;
	while (!s->stop) {
		sum += s->a[8]; /* keep the TLB entry of the original */
		s->ready_r = 1;
		if (s->f[0]) {
			uint64_t v = s->a[8];
			s->seen = 1;
			if (v != 7)
				s->bad = v + 1;
			break;
		}
	}
	(void)sum;
	return NULL;
}

static void cow_flush(void)
{
	if (ncpu < 4) {
		printf("# SKIP cow_flush needs 4 CPUs\n");
		return;
	}
	pin(0);
	int bad = 0, runs = 0;
	volatile uint64_t *f =
	    mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	for (int k = 0; k < 2; k++) {
		volatile uint64_t *a = anon(PG);
		int pfd[2];
		if (!a || f == MAP_FAILED || pipe(pfd))
			return check(0, "cow_flush: mmap, pipe");
		a[0] = 0;
		a[8] = 0;
		f[0] = 0;
		pid_t pid = child_checking(pfd[0], pfd[1], (void *)a, 8, 0, -1);
		struct cow3 s = { .a = a, .f = f };
		pthread_t t[3];
		pthread_create(&t[0], NULL, cow_reader, &s);
		pthread_create(&t[1], NULL, cow_breaker, &s);
		pthread_create(&t[2], NULL, cow_writer, &s);
		while (!s.ready_r)
			sched_yield();
		msleep(10);
		s.go = 1;
		pthread_join(t[1], NULL);
		pthread_join(t[2], NULL);
		s.stop = 1;
		pthread_join(t[0], NULL);
		if (write(pfd[1], "x", 1) != 1 || child_status(pid) != 0)
			bad++;
		if (s.bad) {
			printf("# try %d: the reader saw the flag, then %llu instead of 7\n", k,
			       (unsigned long long)(s.bad - 1));
			bad++;
		}
		runs++;
		close(pfd[0]);
		close(pfd[1]);
		munmap((void *)a, PG);
	}
	printf("# %d COW breaks under a reader, %d bad\n", runs, bad);
	check(bad == 0, "cow_flush: a reader that sees the flag sees the data written before it");
}

/* ---- pt_free (NO_IPI_ON_PT_FREE), delay gup_fast_walk --------------------- */

#define PT_REGION 0x80000000ul /* 2 GiB: its own page table */
#define PT_SLOT	  5

static void pt_free(void)
{
	const char *path = "/races-pt-free.bin", *spath = "/races-pt-secret.bin";
	int fd = make_file(path, 1, 'f', O_DIRECT), sfd = make_file(spath, 1, 's', 0);
	char *got = anon(PG);
	if (fd < 0 || sfd < 0 || !got)
		return check(0, "pt_free: files");
	pin(0);
	/* The page directory of this GiB stays: only a page table is freed. */
	char *keep =
	    mmap((void *)(PT_REGION + 0x20000000ul), PG, PROT_READ, MAP_SHARED | MAP_FIXED, sfd, 0);
	if (keep == MAP_FAILED || keep[0] != 's')
		return check(0, "pt_free: map the other file");
	int bad = 0, efault = 0, tries = 0;
	for (int k = 0; k < 2 && !bad; k++, tries++) { /* stop at the first hit */
		char *b = mmap((void *)(PT_REGION + PT_SLOT * PG), PG, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (b == MAP_FAILED)
			return check(0, "pt_free: mmap");
		memset(b, 'b', PG);	       /* a page table now exists */
		madvise(b, PG, MADV_DONTNEED); /* the PTE goes, the table stays */
		char *s[8]; /* mapped now, given page tables (touched) after the munmap */
		for (int i = 0; i < 8; i++)
			s[i] = mmap(
			    (void *)(PT_REGION + (uint64_t)(i + 8) * 0x200000ul + PT_SLOT * PG), PG,
			    PROT_READ, MAP_SHARED | MAP_FIXED, sfd, 0);
		struct dio_call c = { .fd = fd, .cpu = 1, .buf = b, .len = PG, .write = 1 };
		pthread_t th;
		pthread_create(&th, NULL, dio_thread, &c);
		while (!c.started)
			sched_yield();
		msleep(60); /* GUP-fast found the table and walks it, IRQs off */
		double u0 = now();
		munmap(b, PG); /* frees the table: must wait for the walk */
		double u1 = now();
		for (int i = 0; i < 8; i++) /* new tables, a file PTE at the same slot */
			if (s[i] != MAP_FAILED)
				(void)*(volatile char *)s[i];
		int in_flight = !c.done;
		pthread_join(th, NULL);
		for (int i = 0; i < 8; i++)
			if (s[i] != MAP_FAILED)
				munmap(s[i], PG);
		printf("# try %d: munmap %.0f ms after the write began, took %.0f ms; the write "
		       "was %s in flight after the new tables\n",
		       k, (u0 - c.t0) * 1e3, (u1 - u0) * 1e3, in_flight ? "still" : "no longer");
		if (file_bytes(path, got, PG) || !all_bytes(got, PG, 'f')) {
			printf(
			    "# try %d: the O_DIRECT write returned %zd and the file starts %.8s\n",
			    k, c.ret, got);
			bad++;
		} else if (c.ret < 0)
			efault++;
	}
	munmap(keep, PG);
	printf("# %d O_DIRECT writes from a page being unmapped: %d failed (EFAULT), %d "
	       "wrote another page\n",
	       tries, efault, bad);
	check(bad == 0, "pt_free: GUP-fast never walks a page table freed under it");
	close(fd);
	close(sfd);
	unlink(path);
	unlink(spath);
}

/* ---- cow_concurrent, first_touch (COW_NO_PTE_RECHECK, ANON_FAULT_NO_RECHECK) */

#define CT_PAGES 32

struct toucher {
	volatile uint64_t *p;
	int cpu, word;
	volatile int *go;
};

static void *toucher_thread(void *arg)
{
	struct toucher *t = arg;
	pin(t->cpu);
	while (!*t->go)
		;
	/* The one behind arrives while the one ahead is in the fault. */
	for (int i = 0; i < CT_PAGES; i++)
		t->p[i * (PG / 8) + t->word] =
		    0x1000u + (uint64_t)t->word * 0x100000u + (uint64_t)i;
	return NULL;
}

static void concurrent_faults(int cow)
{
	int lost = 0, pages = 0;
	for (int k = 0; k < 2; k++) {
		volatile uint64_t *p = anon(CT_PAGES * PG);
		int pfd[2];
		if (!p || pipe(pfd))
			return check(0, "concurrent faults: mmap, pipe");
		pin(0);
		pid_t pid = -1;
		if (cow) {
			for (int i = 0; i < CT_PAGES; i++)
				p[i * (PG / 8) + 2] = 7; /* present, then shared with the child */
			pid = child_checking(pfd[0], pfd[1], (void *)p, 8, 0, -1);
		}
		volatile int go = 0;
		struct toucher t[2] = { { .p = p, .cpu = 1, .word = 0, .go = &go },
					{ .p = p, .cpu = ncpu > 2 ? 2 : 0, .word = 1, .go = &go } };
		pthread_t th[2];
		for (int i = 0; i < 2; i++)
			pthread_create(&th[i], NULL, toucher_thread, &t[i]);
		msleep(20);
		go = 1;
		for (int i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		for (int i = 0; i < CT_PAGES; i++, pages++)
			for (int w = 0; w < 2; w++)
				if (p[i * (PG / 8) + w] !=
				    0x1000u + (uint64_t)w * 0x100000u + (uint64_t)i) {
					lost++;
					break;
				}
		if (cow && (write(pfd[1], "x", 1) != 1 || child_status(pid) != 0))
			lost++;
		close(pfd[0]);
		close(pfd[1]);
		munmap((void *)p, CT_PAGES * PG);
	}
	printf("# %d pages written by two threads at once (%s): %d lost a write\n", pages,
	       cow ? "COW breaks" : "first touches", lost);
	check(lost == 0,
	      cow ? "cow_concurrent: two threads breaking COW at once lose no write"
		  : "first_touch: two threads faulting a fresh page at once lose no write");
}

static void cow_concurrent(void)
{
	concurrent_faults(1);
}

static void first_touch(void)
{
	concurrent_faults(0);
}

/* ---- many_dirty (DELAY_RMAP_ANY_BATCH) ------------------------------------ */

#define MANY	  600
#define MANY_ADDR (0x40000000ul - 300 * PG) /* 300 pages each side of 1 GiB */

static void many_dirty(void)
{
	const char *path = "/races-many.bin";
	int fd = make_file(path, MANY, 0, 0);
	if (fd < 0)
		return check(0, "many_dirty: make the file");
	int bad = 0;
	volatile uint64_t *p = mmap((void *)MANY_ADDR, MANY * PG, PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED)
		return check(0, "many_dirty: mmap");
	for (int i = 0; i < MANY; i++)
		p[i * (PG / 8)] = 1000 + i;		  /* dirty PTEs */
	if (madvise((void *)p, MANY * PG, MADV_DONTNEED)) /* the zap */
		bad++;
	if (munmap((void *)p, MANY * PG))
		bad++;
	fsync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	uint64_t *v = anon(MANY * PG);
	if (!v || pread(fd, v, MANY * PG, 0) != MANY * PG)
		bad++;
	for (int i = 0; v && i < MANY; i++)
		if (v[i * (PG / 8)] != 1000u + i)
			bad++;
	check(bad == 0, "many_dirty: every write through 600 dirty PTEs reached the file");
	close(fd);
	unlink(path);
}

/* ---- split_rmap (SPLIT_VMA_UNLOCKED), delay split_vma --------------------- */

#define SR_PAGES 8
#define SR_SPLIT 4 /* the page mprotect splits out */

struct dio_loop {
	int fd, cpu;
	void *buf;
	volatile int go, stop;
	volatile long writes, errors;
	double longest; /* the longest time between two writes' ends */
};

/* O_DIRECT writes of the file's page 0 from buf, without a break, while go
 * and until stop: each one unmaps page 0 from every mapping of the file
 * (the rmap walk of invalidate_inode_pages2_range). */
static void *dio_loop_thread(void *arg)
{
	struct dio_loop *l = arg;
	pin(l->cpu);
	double last = 0;
	while (!l->stop) {
		if (!l->go) {
			sched_yield();
			continue;
		}
		if (pwrite(l->fd, l->buf, PG, 0) == PG)
			l->writes++;
		else
			l->errors++;
		double t = now();
		if (last && t - last > l->longest)
			l->longest = t - last;
		last = t;
	}
	return NULL;
}

static void split_rmap(void)
{
	const char *path = "/races-split-rmap.bin";
	int fd = make_file(path, SR_PAGES, 'f', 0);
	int dfd = open(path, O_RDWR | O_DIRECT);
	int pm = open("/proc/self/pagemap", O_RDONLY);
	char *b = anon(PG);
	char *m = fd < 0 ? MAP_FAILED
			 : mmap(NULL, SR_PAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (dfd < 0 || pm < 0 || !b || m == MAP_FAILED)
		return check(0, "split_rmap: file, O_DIRECT fd, pagemap, mapping");
	pin(0);
	memset(b, 'w', PG); /* touched: GUP-fast pins it without the mmap_lock */
	volatile char sum = 0;
	for (int i = 0; i < SR_PAGES; i++)
		sum += m[i * PG]; /* every page mapped (read faults) */
	struct dio_loop l = { .fd = dfd, .cpu = 1, .buf = b };
	pthread_t th;
	pthread_create(&th, NULL, dio_loop_thread, &l);
	l.go = 1;
	while (l.writes < 2 && !l.errors)
		sched_yield();
	long w0 = l.writes;
	double t0 = now();
	int r = mprotect(m + SR_SPLIT * PG, PG, PROT_READ); /* two splits */
	double t1 = now();
	long during = l.writes - w0;
	l.stop = 1;
	pthread_join(th, NULL);
	int lost = 0;
	for (int i = 1; i < SR_PAGES; i++) {
		uint64_t e = 0;
		if (pread(pm, &e, 8, (off_t)((uintptr_t)(m + i * PG) / PG * 8)) != 8 ||
		    !(e >> 63)) {
			printf("# page %d of the mapping is no longer mapped\n", i);
			lost++;
		}
	}
	printf("# mprotect %.0f ms, %ld O_DIRECT writes of page 0 meanwhile (%ld failed), "
	       "at most %.0f ms between two\n",
	       (t1 - t0) * 1e3, during, l.errors, l.longest * 1e3);
	check(r == 0 && l.errors == 0, "split_rmap: mprotect and the O_DIRECT writes succeed");
	if (t1 - t0 < 0.05)
		inconclusive("the split was too quick to overlap a write (no delay?)");
	else
		check(lost == 0, "split_rmap: the writes unmapped page 0 only (pages 1-7 mapped)");
	check(m[SR_SPLIT * PG] == 'f' && m[0] == 'w', "split_rmap: the mapping reads the file");
	munmap(m, SR_PAGES * PG);
	close(pm);
	close(dfd);
	close(fd);
	unlink(path);
}

static const struct {
	const char *name;
	void (*fn)(void);
} modes[] = {
	{ "fork_exclusive", fork_exclusive },
	{ "dio_read_fork", dio_read_fork },
	{ "pin_unshare", pin_unshare },
	{ "fork_flush", fork_flush },
	{ "free_flush", free_flush },
	{ "mkwrite", mkwrite },
	{ "gup_zap", gup_zap },
	{ "fork_pin", fork_pin },
	{ "cow_flush", cow_flush },
	{ "many_dirty", many_dirty },
	{ "pt_free", pt_free },
	{ "cow_concurrent", cow_concurrent },
	{ "first_touch", first_touch },
	{ "mprotect_cow", mprotect_cow },
	{ "split_rmap", split_rmap },
};

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	cpu_set_t s;
	ncpu = sched_getaffinity(0, sizeof(s), &s) == 0 ? CPU_COUNT(&s) : 1;
	printf("KTAP version 1\n");
	if (argc < 2) {
		printf("# usage: races MODE\n");
		return 2;
	}
	for (unsigned i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(argv[1], modes[i].name)) {
			printf("# races %s on %d CPU(s)\n", argv[1], ncpu);
			modes[i].fn();
			printf("1..%d\n", n);
			return failed ? 1 : 0;
		}
	printf("# races: unknown mode %s\n", argv[1]);
	return 2;
}
