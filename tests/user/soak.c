/*
 * tests/user/soak.c - a soak test (make soak; a short run in make test:
 * suite soak): several processes, each with a second thread, do random
 * memory and file operations against a model of what their memory and
 * their file must hold, and check it all the time.
 *
 *   soak SEED MS [PROCS]
 *
 * Each process (default: one per CPU, pinned) owns:
 *   - anonymous regions, each page holding a pattern named by a seed
 *     (0: the page must read as zeros): write, check, munmap part,
 *     mprotect read-only and back, MADV_DONTNEED (the page reads zeros
 *     after), mremap (grow, shrink, move), all checked against the model;
 *   - a file /soak/N of 64 pages, mapped MAP_SHARED, with a model per page:
 *     writes through the mapping and with pwrite, reads with pread and
 *     O_DIRECT (after msync or fsync: what the disk holds), msync(MS_SYNC),
 *     posix_fadvise(DONTNEED) (the cache dropped: the next read comes from
 *     the disk, so a write lost by writeback shows), ftruncate down and up
 *     (the pages past the end read zeros);
 *   - fork: the child checks every page of the model, writes its own
 *     patterns, checks again and exits; the parent then checks that none of
 *     the child's writes reached its private pages (COW), and that the
 *     child's writes to the shared file did;
 *   - execve of /bin/hello in a child (exit 0);
 *   - vmsplice of a page into a pipe, read back at once (same bytes);
 *   - rename: the file moves between two names while open and mapped (the
 *     new name is the same inode, the old one is gone), and a fresh file
 *     renamed over a second one replaces it whole (its pattern, never a mix);
 *   - links: a hard link to the file (st_nlink 2, a page read through it is
 *     the model's) and a symbolic link (readlink gives the name, open
 *     follows it to the same inode), both unlinked again (st_nlink 1);
 *   - the console tty: /dev/console opened O_NONBLOCK|O_NOCTTY, TCGETS and
 *     TCSETS of the same settings, TIOCGWINSZ, FIONREAD, poll for POLLOUT,
 *     an empty write, close;
 *   - a second thread that keeps writing and checking a region of its own
 *     while the first one changes the address space around it (TLB
 *     shootdowns of a live mm).
 * A call the kernel does not have (ENOSYS) turns its operation off. Any
 * mismatch prints "not ok" with the operation, page and values, and the
 * process exits 1. The parent exits 0 when every process did.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define PAGE	     4096ul
#define MAX_REGIONS  6
#define REGION_PAGES 16
#define FILE_PAGES   64

static uint64_t rng;
static int me;
static volatile int failed;
static unsigned long ops[32];
static int has_mremap = 1, has_msync = 1, has_vmsplice = 1, has_direct = 1;
enum {
	OP_WRITE,
	OP_CHECK,
	OP_UNMAP,
	OP_PROT,
	OP_DONTNEED,
	OP_MREMAP,
	OP_FWRITE,
	OP_FREAD,
	OP_DIRECT,
	OP_MSYNC,
	OP_FADV,
	OP_TRUNC,
	OP_FORK,
	OP_EXEC,
	OP_VMSPLICE,
	OP_RENAME,
	OP_LINK,
	OP_TTY,
	NR_OPS
};
static const char *const op_names[NR_OPS] = { "write",	  "check",  "munmap",	"mprotect",
					      "dontneed", "mremap", "fwrite",	"fread",
					      "odirect",  "msync",  "fadvise",	"truncate",
					      "fork",	  "exec",   "vmsplice", "rename",
					      "link",	  "tty" };

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}
static uint64_t below(uint64_t n)
{
	return rnd() % n;
}

/* The bytes of a page with pattern seed (seed 0: zeros). */
static void fill(void *p, uint64_t seed)
{
	uint64_t *w = p;
	for (unsigned i = 0; i < PAGE / 8; i++)
		w[i] = seed ? seed * 0x9e3779b97f4a7c15ull + i : 0;
}

static int matches(const void *p, uint64_t seed, uint64_t *got)
{
	const uint64_t *w = p;
	for (unsigned i = 0; i < PAGE / 8; i++)
		if (w[i] != (seed ? seed * 0x9e3779b97f4a7c15ull + i : 0)) {
			*got = w[i];
			return 0;
		}
	return 1;
}

static void fail(const char *what, long page, uint64_t want, uint64_t got)
{
	printf("not ok - soak %d: %s: page %ld: want pattern %llu, read %#llx\n", me, what, page,
	       (unsigned long long)want, (unsigned long long)got);
	fflush(stdout);
	failed = 1;
}

static uint64_t new_seed(void)
{
	return (rnd() | 1) & 0xffffffffffull;
}

/* ---- anonymous regions ---------------------------------------------------- */

struct region {
	char *base; /* NULL: free slot */
	long pages;
	uint64_t seed[REGION_PAGES * 2];
	int readonly;
};
static struct region regions[MAX_REGIONS];

static void region_check(struct region *r, long i, const char *what)
{
	uint64_t got = 0;
	if (!matches(r->base + i * PAGE, r->seed[i], &got))
		fail(what, i, r->seed[i], got);
}

static void anon_op(int op)
{
	struct region *r = &regions[below(MAX_REGIONS)];
	if (!r->base) { /* a new region: zeros */
		r->pages = 1 + (long)below(REGION_PAGES);
		r->base = mmap(NULL, r->pages * PAGE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (r->base == MAP_FAILED) {
			r->base = NULL;
			return;
		}
		memset(r->seed, 0, sizeof(r->seed));
		r->readonly = 0;
		return;
	}
	long i = (long)below((uint64_t)r->pages);
	switch (op) {
	case OP_WRITE:
		if (r->readonly)
			break;
		r->seed[i] = new_seed();
		fill(r->base + i * PAGE, r->seed[i]);
		break;
	case OP_CHECK:
		region_check(r, i, "anon check");
		break;
	case OP_UNMAP: /* the whole region, or its tail */
		if (i == 0 || below(2)) {
			munmap(r->base, r->pages * PAGE);
			r->base = NULL;
		} else {
			munmap(r->base + i * PAGE, (r->pages - i) * PAGE);
			r->pages = i;
		}
		break;
	case OP_PROT:
		r->readonly = !r->readonly;
		mprotect(r->base, r->pages * PAGE,
			 r->readonly ? PROT_READ : PROT_READ | PROT_WRITE);
		region_check(r, i, "anon check after mprotect");
		break;
	case OP_DONTNEED:
		if (madvise(r->base + i * PAGE, PAGE, MADV_DONTNEED) == 0)
			r->seed[i] = 0;
		region_check(r, i, "anon check after MADV_DONTNEED");
		break;
	case OP_MREMAP: {
		if (!has_mremap)
			break;
		long np = 1 + (long)below(REGION_PAGES * 2);
		void *p = (void *)syscall(SYS_mremap, r->base, r->pages * PAGE, np * PAGE,
					  MREMAP_MAYMOVE);
		if (p == MAP_FAILED) {
			if (errno == ENOSYS)
				has_mremap = 0;
			break;
		}
		for (long k = r->pages; k < np; k++)
			r->seed[k] = 0; /* grown: zeros */
		r->base = p;
		r->pages = np;
		for (long k = 0; k < np; k += 3)
			region_check(r, k, "anon check after mremap");
		break;
	}
	}
}

/* ---- the file ------------------------------------------------------------- */

static int fd, dfd = -1;
static char *fmap;
static long fsize_pages = FILE_PAGES; /* pages inside i_size; the rest read 0 */
static uint64_t fseed[FILE_PAGES];
static char path[32];
static char *dbuf; /* page-aligned O_DIRECT buffer */

static void file_check_read(long i, const char *what, int direct)
{
	uint64_t got = 0, want = i < fsize_pages ? fseed[i] : 0;
	ssize_t n = direct ? pread(dfd, dbuf, PAGE, (off_t)(i * PAGE))
			   : pread(fd, dbuf, PAGE, (off_t)(i * PAGE));
	if (direct && n < 0 && errno == EINVAL) {
		has_direct = 0;
		return;
	}
	if (i >= fsize_pages) {
		if (n != 0)
			fail(what, i, 0, (uint64_t)n);
		return;
	}
	if (n != (ssize_t)PAGE)
		fail(what, i, want, (uint64_t)n);
	else if (!matches(dbuf, want, &got))
		fail(what, i, want, got);
}

static void file_op(int op)
{
	long i = (long)below(FILE_PAGES);
	uint64_t got = 0;
	switch (op) {
	case OP_FWRITE:
		if (i >= fsize_pages)
			break; /* past the end: SIGBUS through the mapping */
		fseed[i] = new_seed();
		if (below(2)) {
			fill(fmap + i * PAGE, fseed[i]);
		} else {
			fill(dbuf, fseed[i]);
			if (pwrite(fd, dbuf, PAGE, (off_t)(i * PAGE)) != (ssize_t)PAGE)
				fail("pwrite", i, fseed[i], 0);
		}
		break;
	case OP_FREAD:
		file_check_read(i, "pread", 0);
		if (i < fsize_pages && !matches(fmap + i * PAGE, fseed[i], &got))
			fail("file mapping read", i, fseed[i], got);
		break;
	case OP_DIRECT: /* what the disk holds, once written back */
		if (!has_direct || fsync(fd))
			break;
		file_check_read(i, "O_DIRECT read after fsync", 1);
		break;
	case OP_MSYNC:
		if (!has_msync)
			break;
		if (msync(fmap, FILE_PAGES * PAGE, MS_SYNC) && errno == ENOSYS)
			has_msync = 0;
		break;
	case OP_FADV: /* drop the cache: later reads come from the disk */
		if (fsync(fd) == 0)
			posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		file_check_read(i, "pread after fadvise(DONTNEED)", 0);
		break;
	case OP_TRUNC: { /* down to a random size, then back up: zeros past it */
		long to = (long)below(FILE_PAGES + 1);
		if (ftruncate(fd, (off_t)(to * PAGE)))
			break;
		fsize_pages = to;
		for (long k = to; k < FILE_PAGES; k++)
			fseed[k] = 0;
		if (below(2) && ftruncate(fd, FILE_PAGES * PAGE) == 0)
			fsize_pages = FILE_PAGES;
		file_check_read(i, "pread after truncate", 0);
		break;
	}
	}
}

/* ---- fork, exec, vmsplice ------------------------------------------------- */

static void check_all(const char *what)
{
	for (int k = 0; k < MAX_REGIONS; k++)
		if (regions[k].base)
			for (long i = 0; i < regions[k].pages; i++)
				region_check(&regions[k], i, what);
	for (long i = 0; i < fsize_pages; i++) {
		uint64_t got = 0;
		if (!matches(fmap + i * PAGE, fseed[i], &got))
			fail(what, 1000 + i, fseed[i], got);
	}
}

static void fork_op(void)
{
	long fi = (long)below(FILE_PAGES);
	uint64_t child_seed = new_seed();
	int child_writes_file = fi < fsize_pages;
	pid_t c = fork();
	if (c < 0)
		return;
	if (c == 0) {
		check_all("child check after fork");
		for (int k = 0; k < MAX_REGIONS; k++)
			if (regions[k].base && !regions[k].readonly)
				for (long i = 0; i < regions[k].pages; i++) {
					regions[k].seed[i] = child_seed + (uint64_t)i;
					fill(regions[k].base + i * PAGE, regions[k].seed[i]);
				}
		if (child_writes_file) {
			fseed[fi] = child_seed;
			fill(fmap + fi * PAGE, child_seed);
		}
		check_all("child check after its writes");
		_exit(failed);
	}
	int st;
	if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("fork child", 0, 0, (uint64_t)st);
	if (child_writes_file)
		fseed[fi] = child_seed; /* the shared file sees it */
	check_all("parent check after the child's writes");
}

static void exec_op(void)
{
	pid_t c = fork();
	if (c == 0) {
		char *argv[] = { "/bin/hello", NULL }, out[32];
		snprintf(out, sizeof(out), "/soak/out%d", me); /* stdout somewhere quiet */
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (o >= 0) {
			dup2(o, 1);
			close(o);
		}
		execve("/bin/hello", argv, NULL);
		_exit(127);
	}
	int st;
	if (c > 0 && (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st)))
		fail("exec child", 0, 0, (uint64_t)st);
}

static void vmsplice_op(void)
{
	struct region *r = &regions[below(MAX_REGIONS)];
	if (!has_vmsplice || !r->base)
		return;
	long i = (long)below((uint64_t)r->pages);
	int p[2];
	if (pipe(p))
		return;
	struct iovec iov = { r->base + i * PAGE, PAGE };
	long n = syscall(SYS_vmsplice, p[1], &iov, 1, 0);
	if (n < 0 && errno == ENOSYS)
		has_vmsplice = 0;
	if (n == (long)PAGE) {
		uint64_t got = 0;
		if (read(p[0], dbuf, PAGE) != (ssize_t)PAGE || !matches(dbuf, r->seed[i], &got))
			fail("vmsplice + read", i, r->seed[i], got);
	}
	close(p[0]);
	close(p[1]);
}

/* ---- names, links and the tty ---------------------------------------------- */

static char other[32]; /* the file's other name */

static ino_t ino_of(const char *p)
{
	struct stat st;
	return stat(p, &st) ? 0 : st.st_ino;
}

/* A file at P holding one page of SEED's pattern, written whole. */
static int write_file(const char *p, uint64_t seed)
{
	int f = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (f < 0)
		return -1;
	fill(dbuf, seed);
	int r = write(f, dbuf, PAGE) == (ssize_t)PAGE ? 0 : -1;
	close(f);
	return r;
}

static void rename_op(void)
{
	struct stat st;
	if (fstat(fd, &st)) {
		fail("fstat", 0, 0, (uint64_t)errno);
		return;
	}
	if (below(2)) { /* the open, mapped file moves to its other name */
		if (rename(path, other)) {
			fail("rename of the open file", 0, 0, (uint64_t)errno);
			return;
		}
		if (ino_of(other) != st.st_ino || access(path, F_OK) == 0 || errno != ENOENT) {
			fail("rename: the names afterwards", 0, st.st_ino, ino_of(other));
			return;
		}
		char t[32];
		memcpy(t, path, sizeof(t));
		memcpy(path, other, sizeof(path));
		memcpy(other, t, sizeof(other));
		return;
	}
	/* a new file replaces a second one whole */
	char a[40], b[40];
	snprintf(a, sizeof(a), "/soak/new%d", me);
	snprintf(b, sizeof(b), "/soak/old%d", me);
	uint64_t sa = new_seed(), sb = new_seed(), got = 0;
	if (write_file(b, sb) || write_file(a, sa))
		return;
	if (rename(a, b)) {
		fail("rename over a file", 0, 0, (uint64_t)errno);
		return;
	}
	int f = open(b, O_RDONLY);
	if (f < 0 || read(f, dbuf, PAGE) != (ssize_t)PAGE || !matches(dbuf, sa, &got))
		fail("the replaced file's content", 0, sa, got);
	if (f >= 0)
		close(f);
	if (access(a, F_OK) == 0)
		fail("rename left the old name", 0, 0, 0);
	unlink(b);
}

static void link_op(void)
{
	char l[40], y[40], buf[64];
	snprintf(l, sizeof(l), "/soak/link%d", me);
	snprintf(y, sizeof(y), "/soak/sym%d", me);
	struct stat st;
	if (link(path, l)) {
		fail("link", 0, 0, (uint64_t)errno);
		return;
	}
	if (fstat(fd, &st) || st.st_nlink != 2)
		fail("st_nlink after link", 0, 2, st.st_nlink);
	long i = (long)below((uint64_t)fsize_pages ? (uint64_t)fsize_pages : 1);
	int f = open(l, O_RDONLY);
	uint64_t got = 0;
	if (f < 0)
		fail("open of the link", 0, 0, (uint64_t)errno);
	else if (i < fsize_pages && (pread(f, dbuf, PAGE, (off_t)(i * PAGE)) != (ssize_t)PAGE ||
				     !matches(dbuf, fseed[i], &got)))
		fail("read through the hard link", i, fseed[i], got);
	if (f >= 0)
		close(f);
	if (symlink(path, y) == 0) {
		ssize_t n = readlink(y, buf, sizeof(buf) - 1);
		if (n != (ssize_t)strlen(path) || memcmp(buf, path, (size_t)n))
			fail("readlink", 0, strlen(path), (uint64_t)n);
		if (ino_of(y) != st.st_ino)
			fail("stat through the symlink", 0, st.st_ino, ino_of(y));
		unlink(y);
	} else if (errno != ENOSYS) {
		fail("symlink", 0, 0, (uint64_t)errno);
	}
	if (unlink(l))
		fail("unlink of the link", 0, 0, (uint64_t)errno);
	if (fstat(fd, &st) || st.st_nlink != 1)
		fail("st_nlink after unlink", 0, 1, st.st_nlink);
}

static void tty_op(void)
{
	int t = open("/dev/console", O_RDWR | O_NOCTTY | O_NONBLOCK);
	if (t < 0) {
		fail("open /dev/console", 0, 0, (uint64_t)errno);
		return;
	}
	struct termios tio;
	struct winsize ws;
	int avail = -1;
	struct pollfd p = { .fd = t, .events = POLLOUT };
	if (tcgetattr(t, &tio) || tcsetattr(t, TCSANOW, &tio))
		fail("TCGETS/TCSETS", 0, 0, (uint64_t)errno);
	if (ioctl(t, TIOCGWINSZ, &ws) || !ws.ws_row || !ws.ws_col)
		fail("TIOCGWINSZ", 0, 0, (uint64_t)errno);
	if (ioctl(t, FIONREAD, &avail) || avail < 0)
		fail("FIONREAD", 0, 0, (uint64_t)avail);
	if (poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT))
		fail("poll POLLOUT", 0, POLLOUT, (uint64_t)p.revents);
	if (write(t, "", 0) != 0)
		fail("empty write", 0, 0, (uint64_t)errno);
	close(t);
}

/* ---- the second thread ---------------------------------------------------- */

static volatile int stop;

static void *scribbler(void *arg)
{
	(void)arg;
	uint64_t s = rng ^ 0x5555, seeds[8] = { 0 };
	char *mine =
	    mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mine == MAP_FAILED)
		return NULL;
	while (!stop && !failed) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		int i = (int)(s % 8);
		uint64_t got = 0;
		if (!matches(mine + i * PAGE, seeds[i], &got))
			fail("second thread's page", i, seeds[i], got);
		seeds[i] = (s | 1) & 0xffffffffffull;
		fill(mine + i * PAGE, seeds[i]);
	}
	munmap(mine, 8 * PAGE);
	return NULL;
}

/* ---- one soak process ----------------------------------------------------- */

static int soak_process(int cpu, uint64_t seed, long ms)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	rng = seed * 0x9e3779b97f4a7c15ull + (uint64_t)cpu + 1;
	snprintf(path, sizeof(path), "/soak/%d", me);
	snprintf(other, sizeof(other), "/soak/%d.renamed", me);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	dfd = open(path, O_RDWR | O_DIRECT);
	dbuf = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fd < 0 || ftruncate(fd, FILE_PAGES * PAGE) || dbuf == MAP_FAILED) {
		printf("not ok - soak %d: setup: %s\n", me, strerror(errno));
		return 1;
	}
	if (dfd < 0)
		has_direct = 0;
	fmap = mmap(NULL, FILE_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (fmap == MAP_FAILED) {
		printf("not ok - soak %d: mmap of %s: %s\n", me, path, strerror(errno));
		return 1;
	}
	pthread_t th;
	int threaded = pthread_create(&th, NULL, scribbler, NULL) == 0;
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned long n = 0; !failed; n++) {
		if (!(n & 31)) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if ((now.tv_sec - t0.tv_sec) * 1000 +
				(now.tv_nsec - t0.tv_nsec) / 1000000 >=
			    ms)
				break;
		}
		int op = (int)below(100);
		op = op < 20   ? OP_WRITE
		     : op < 35 ? OP_CHECK
		     : op < 39 ? OP_UNMAP
		     : op < 43 ? OP_PROT
		     : op < 47 ? OP_DONTNEED
		     : op < 51 ? OP_MREMAP
		     : op < 63 ? OP_FWRITE
		     : op < 73 ? OP_FREAD
		     : op < 77 ? OP_DIRECT
		     : op < 81 ? OP_MSYNC
		     : op < 85 ? OP_FADV
		     : op < 88 ? OP_TRUNC
		     : op < 91 ? OP_FORK
		     : op < 93 ? OP_EXEC
		     : op < 95 ? OP_VMSPLICE
		     : op < 97 ? OP_RENAME
		     : op < 99 ? OP_LINK
			       : OP_TTY;
		ops[op]++;
		if (op <= OP_MREMAP)
			anon_op(op);
		else if (op <= OP_TRUNC)
			file_op(op);
		else if (op == OP_FORK)
			fork_op();
		else if (op == OP_EXEC)
			exec_op();
		else if (op == OP_VMSPLICE)
			vmsplice_op();
		else if (op == OP_RENAME)
			rename_op();
		else if (op == OP_LINK)
			link_op();
		else
			tty_op();
	}
	stop = 1;
	if (threaded)
		pthread_join(th, NULL);
	if (!failed) { /* everything written reaches the disk */
		msync(fmap, FILE_PAGES * PAGE, MS_SYNC);
		fsync(fd);
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		for (long i = 0; i < FILE_PAGES; i++)
			file_check_read(i, "final read from the disk", 0);
	}
	munmap(fmap, FILE_PAGES * PAGE);
	close(fd);
	if (dfd >= 0)
		close(dfd);
	unlink(path);
	snprintf(path, sizeof(path), "/soak/out%d", me);
	unlink(path);
	printf("# soak %d:", me);
	for (int k = 0; k < NR_OPS; k++)
		printf(" %s %lu", op_names[k], ops[k]);
	printf("%s%s%s%s\n", has_mremap ? "" : " (no mremap)", has_msync ? "" : " (no msync)",
	       has_vmsplice ? "" : " (no vmsplice)", has_direct ? "" : " (no O_DIRECT)");
	return failed;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3) {
		fprintf(stderr, "usage: soak SEED MS [PROCS]\n");
		return 2;
	}
	uint64_t seed = strtoull(argv[1], NULL, 0);
	long ms = strtol(argv[2], NULL, 0);
	cpu_set_t all;
	sched_getaffinity(0, sizeof(all), &all);
	int cpus = CPU_COUNT(&all), procs = argc > 3 ? atoi(argv[3]) : cpus;
	if (procs < 1 || procs > 64)
		procs = cpus;
	printf("KTAP version 1\n# soak: seed %llu, %ld ms, %d processes on %d CPUs\n",
	       (unsigned long long)seed, ms, procs, cpus);
	mkdir("/soak", 0755);
	pid_t pids[64];
	for (int p = 0; p < procs; p++) {
		pids[p] = fork();
		if (pids[p] == 0) {
			me = p;
			_exit(soak_process(p % cpus, seed + (uint64_t)p, ms));
		}
	}
	int bad = 0;
	for (int p = 0; p < procs; p++) {
		int st;
		if (pids[p] < 0 || waitpid(pids[p], &st, 0) != pids[p] || !WIFEXITED(st) ||
		    WEXITSTATUS(st)) {
			printf("# soak %d: ended with status %#x\n", p, pids[p] < 0 ? -1 : st);
			bad++;
		}
	}
	int rm = rmdir("/soak");
	printf("%sok 1 %d soak processes, none lost a write or saw another's\n", bad ? "not " : "",
	       procs);
	printf("%sok 2 /soak removed\n1..2\n", rm ? "not " : "");
	return bad || rm ? 1 : 0;
}
