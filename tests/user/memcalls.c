/*
 * tests/user/memcalls.c - the memory system calls of issue 13 from ring 3:
 * mremap, msync, madvise, mmap's flags, munmap and mprotect's argument
 * checks, mincore, mlock/munlock/mlock2/mlockall/munlockall. Results and
 * Linux 6.1's errno for each bad argument, through raw system calls (so the
 * libc's own checks cannot answer first). The same source runs on Linux
 * (a file system that drops clean pages on POSIX_FADV_DONTNEED: not tmpfs)
 * and gives the same answers. One KTAP line per check; exit 0 when every
 * check passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktap.h"

#define PG 4096ul

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#define MADV_KEEPONFORK 19
#endif
#ifndef MADV_COLD
#define MADV_COLD    20
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_FREE
#define MADV_FREE 8
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif
#ifndef PROT_GROWSDOWN
#define PROT_GROWSDOWN 0x01000000
#define PROT_GROWSUP   0x02000000
#endif

/* A system call's answer: the value, or -errno. */
static long sc(long nr, long a, long b, long c, long d, long e, long f)
{
	long r = syscall(nr, a, b, c, d, e, f);
	return r == -1 ? -errno : r;
}
#define MMAP(a, l, p, fl, fd, off) sc(SYS_mmap, (long)(a), (long)(l), p, fl, fd, off)
#define MUNMAP(a, l)		   sc(SYS_munmap, (long)(a), (long)(l), 0, 0, 0, 0)
#define MPROTECT(a, l, p)	   sc(SYS_mprotect, (long)(a), (long)(l), p, 0, 0, 0)
#define MADVISE(a, l, adv)	   sc(SYS_madvise, (long)(a), (long)(l), adv, 0, 0, 0)
#define MREMAP(a, o, n, fl, na)	   sc(SYS_mremap, (long)(a), (long)(o), (long)(n), fl, (long)(na), 0)
#define MSYNC(a, l, fl)		   sc(SYS_msync, (long)(a), (long)(l), fl, 0, 0, 0)
#define MINCORE(a, l, v)	   sc(SYS_mincore, (long)(a), (long)(l), (long)(v), 0, 0, 0)
#define MLOCK(a, l)		   sc(SYS_mlock, (long)(a), (long)(l), 0, 0, 0, 0)
#define MLOCK2(a, l, fl)	   sc(SYS_mlock2, (long)(a), (long)(l), fl, 0, 0, 0)
#define MUNLOCK(a, l)		   sc(SYS_munlock, (long)(a), (long)(l), 0, 0, 0, 0)
#define MLOCKALL(fl)		   sc(SYS_mlockall, fl, 0, 0, 0, 0, 0)
#define MUNLOCKALL()		   sc(SYS_munlockall, 0, 0, 0, 0, 0, 0)

static char *anon(size_t len)
{
	long r = MMAP(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return r < 0 ? NULL : (char *)r;
}

/* A free stretch of address space: mapped, then unmapped. */
static char *hole(size_t len)
{
	char *p = anon(len);
	if (p)
		MUNMAP(p, len);
	return p;
}

/* Is the page at p mapped (mincore answers for it)? */
static int mapped(void *p)
{
	unsigned char v;
	return MINCORE(p, PG, &v) == 0;
}

static int resident(void *p)
{
	unsigned char v = 0;
	return MINCORE(p, PG, &v) == 0 && (v & 1);
}

/* Can the kernel write to p (read() into it)? 1 yes, 0 -EFAULT. */
static int writable(void *p)
{
	int fds[2];
	if (pipe(fds))
		return -1;
	write(fds[1], "w", 1);
	long r = read(fds[0], p, 1);
	close(fds[0]);
	close(fds[1]);
	return r == 1;
}

static const char *path = "/memcalls.dat";
static int make_file(size_t pages)
{
	unlink(path);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	static char buf[PG];
	for (size_t i = 0; fd >= 0 && i < pages; i++) {
		memset(buf, 'a' + (int)i, PG);
		if (pwrite(fd, buf, PG, (off_t)(i * PG)) != (ssize_t)PG)
			return -1;
	}
	if (fd >= 0)
		fsync(fd);
	return fd;
}

/* ---- mremap ---------------------------------------------------------------- */

static void mremap_checks(void)
{
	/* grow in place */
	char *p = anon(3 * PG);
	MUNMAP(p + PG, 2 * PG);
	p[0] = 'g';
	check(MREMAP(p, PG, 3 * PG, 0, 0) == (long)p && p[0] == 'g' && p[2 * PG] == 0,
	      "mremap grows in place, data kept, new part zero");
	/* shrink */
	check(MREMAP(p, 3 * PG, PG, 0, 0) == (long)p && !mapped(p + PG) && p[0] == 'g',
	      "mremap shrinks: the tail is unmapped");
	/* blocked, no MAYMOVE */
	char *q = anon(2 * PG);
	check(MREMAP(q, PG, 3 * PG, 0, 0) == -ENOMEM,
	      "mremap cannot grow in place without MREMAP_MAYMOVE: ENOMEM");
	MUNMAP(q, 2 * PG);
	/* move: the first two pages of three cannot grow in place */
	q = anon(3 * PG);
	q[0] = 'm';
	q[PG] = 'n';
	long r = MREMAP(q, 2 * PG, 8 * PG, MREMAP_MAYMOVE, 0);
	check(r > 0 && (char *)r != q && ((char *)r)[0] == 'm' && ((char *)r)[PG] == 'n' &&
		  ((char *)r)[7 * PG] == 0 && !mapped(q) && !mapped(q + PG) && mapped(q + 2 * PG),
	      "MREMAP_MAYMOVE moves the pages and unmaps the old range");
	if (r > 0)
		MUNMAP(r, 8 * PG);
	MUNMAP(q + 2 * PG, PG);
	/* MREMAP_FIXED over an existing mapping */
	char *src = anon(PG), *dst = anon(2 * PG);
	src[5] = 'f';
	dst[0] = 'o';
	r = MREMAP(src, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	check(r == (long)dst && dst[5] == 'f' && dst[0] == 0 && !mapped(src) && mapped(dst + PG),
	      "MREMAP_FIXED replaces what was at the target, only there");
	MUNMAP(dst, 2 * PG);
	/* MREMAP_DONTUNMAP */
	src = anon(PG);
	src[1] = 'd';
	r = MREMAP(src, PG, PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0);
	check(r > 0 && ((char *)r)[1] == 'd' && mapped(src) && src[1] == 0,
	      "MREMAP_DONTUNMAP: pages moved, the old range stays mapped and empty");
	MUNMAP(src, PG);
	if (r > 0)
		MUNMAP(r, PG);

	/* errnos, in Linux's order */
	char *h = hole(4 * PG);
	check(MREMAP(p, PG, PG, 8, 0) == -EINVAL, "mremap unknown flag: EINVAL");
	check(MREMAP(p, PG, PG, MREMAP_FIXED, h) == -EINVAL,
	      "MREMAP_FIXED without MREMAP_MAYMOVE: EINVAL");
	check(MREMAP(p, PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0) == -EINVAL,
	      "MREMAP_DONTUNMAP with a resize: EINVAL");
	check(MREMAP(p, PG, PG, MREMAP_DONTUNMAP, 0) == -EINVAL,
	      "MREMAP_DONTUNMAP without MREMAP_MAYMOVE: EINVAL");
	check(MREMAP(p + 1, PG, PG, 0, 0) == -EINVAL, "mremap unaligned address: EINVAL");
	check(MREMAP(p, PG, 0, MREMAP_MAYMOVE, 0) == -EINVAL, "mremap new_len 0: EINVAL");
	check(MREMAP(p, -2 * PG, PG, 0, 0) == -EINVAL,
	      "mremap shrinking a range that runs past the user half: EINVAL");
	check(MREMAP(h, PG, 2 * PG, MREMAP_MAYMOVE, 0) == -EFAULT,
	      "mremap of an unmapped address: EFAULT");
	check(MREMAP(p, 2 * PG, 3 * PG, MREMAP_MAYMOVE, 0) == -EFAULT,
	      "mremap growing a range beyond its VMA: EFAULT");
	check(MREMAP(p, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, p + 1) == -EINVAL,
	      "MREMAP_FIXED to an unaligned address: EINVAL");
	char *big = anon(4 * PG);
	check(MREMAP(big, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, big + PG) == -EINVAL,
	      "MREMAP_FIXED onto an overlapping range: EINVAL");
	check(MREMAP(big, 0, PG, MREMAP_MAYMOVE, 0) == -EINVAL,
	      "mremap old_len 0 of a private mapping: EINVAL");
	MUNMAP(big, 4 * PG);
	MUNMAP(p, PG);

	/* shared anonymous: old_len 0 makes a second mapping of the same memory */
	char *s = (char *)MMAP(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	r = MREMAP(s, 0, PG, MREMAP_MAYMOVE, 0);
	if (r > 0)
		((char *)r)[3] = 's';
	check(r > 0 && (char *)r != s && s[3] == 's',
	      "mremap old_len 0 duplicates a shared mapping");
	MUNMAP(s, PG);
	if (r > 0)
		MUNMAP(r, PG);

	/* a shared file mapping moved: the moved page still writes the file */
	int fd = make_file(2);
	char *fm = (char *)MMAP(0, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	fm[PG + 10] = 'X';
	r = MREMAP(fm, 2 * PG, 6 * PG, MREMAP_MAYMOVE, 0);
	char c = 0;
	if (r > 0)
		((char *)r)[PG + 11] = 'Y';
	int ok = r > 0 && ((char *)r)[0] == 'a' && ((char *)r)[PG + 10] == 'X';
	if (r > 0)
		MUNMAP(r, 6 * PG);
	check(ok && pread(fd, &c, 1, PG + 11) == 1 && c == 'Y',
	      "a moved shared file mapping still maps (and writes) the file");
	close(fd);
	unlink(path);
}

/* ---- msync ----------------------------------------------------------------- */

static void msync_checks(void)
{
	int fd = make_file(3);
	char *m = (char *)MMAP(0, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	MUNMAP(m + 3 * PG, PG); /* a hole after the mapping for sure */
	check(MSYNC(m, PG, 8) == -EINVAL, "msync unknown flag: EINVAL");
	check(MSYNC(m + 1, PG, MS_SYNC) == -EINVAL, "msync unaligned start: EINVAL");
	check(MSYNC(m, PG, MS_SYNC | MS_ASYNC) == -EINVAL, "msync MS_SYNC|MS_ASYNC: EINVAL");
	check(MSYNC(m, 0, MS_SYNC) == 0, "msync len 0: 0");
	check(MSYNC(m, -PG, MS_SYNC) == -ENOMEM, "msync of a wrapping range: ENOMEM");
	check(MSYNC(m, PG, MS_ASYNC) == 0 && MSYNC(m, PG, MS_INVALIDATE) == 0 &&
		  MSYNC(m, 3 * PG, MS_SYNC | MS_INVALIDATE) == 0,
	      "msync MS_ASYNC, MS_INVALIDATE, MS_SYNC|MS_INVALIDATE: 0");

	/* MS_SYNC writes back: the page is clean after it, so once unmapped
	 * (MADV_DONTNEED) POSIX_FADV_DONTNEED can drop it from the cache. */
	m[PG + 5] = 'S';
	check(MSYNC(m + PG, PG, MS_SYNC) == 0, "msync MS_SYNC of a written page: 0");
	MADVISE(m + PG, PG, MADV_DONTNEED);
	posix_fadvise(fd, PG, PG, POSIX_FADV_DONTNEED);
	check(!resident(m + PG), "after MS_SYNC the page is clean: the cache could drop it");
	char c = 0;
	check(pread(fd, &c, 1, PG + 5) == 1 && c == 'S' && m[PG + 5] == 'S',
	      "and the file holds what the mapping wrote");

	/* holes: ENOMEM, after the mapped parts are written back */
	MUNMAP(m + PG, PG);
	m[2 * PG + 7] = 'T';
	check(MSYNC(m, 3 * PG, MS_SYNC) == -ENOMEM, "msync MS_SYNC over a hole: ENOMEM");
	MADVISE(m + 2 * PG, PG, MADV_DONTNEED);
	posix_fadvise(fd, 2 * PG, PG, POSIX_FADV_DONTNEED);
	check(!resident(m + 2 * PG), "the page after the hole was written back anyway");
	check(MSYNC(m + PG, 2 * PG, MS_ASYNC) == -ENOMEM,
	      "msync MS_ASYNC starting in a hole: ENOMEM");
	check(MSYNC(m + 2 * PG, 2 * PG, MS_SYNC) == -ENOMEM,
	      "msync running past the last mapping: ENOMEM");
	/* MS_INVALIDATE on a locked mapping */
	check(MLOCK(m, PG) == 0 && MSYNC(m, PG, MS_INVALIDATE) == -EBUSY,
	      "msync MS_INVALIDATE of a locked range: EBUSY");
	check(MSYNC(m, PG, MS_SYNC) == 0, "msync MS_SYNC of a locked range: 0");
	MUNMAP(m, 3 * PG);
	close(fd);
	unlink(path);
}

/* ---- madvise ----------------------------------------------------------------- */

static int child_reads(volatile char *p, char want)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(p[0] == want ? 0 : 1);
	int st = 0;
	waitpid(pid, &st, 0);
	if (WIFSIGNALED(st))
		return -WTERMSIG(st);
	return WEXITSTATUS(st) == 0;
}

static void madvise_checks(void)
{
	char *p = anon(4 * PG);
	check(MADVISE(p, PG, 12345) == -EINVAL, "madvise unknown advice: EINVAL");
	check(MADVISE(p, PG, 100) == -EINVAL || MADVISE(p, PG, 100) == -EPERM,
	      "madvise MADV_HWPOISON refused");
	check(MADVISE(p + 1, PG, MADV_NORMAL) == -EINVAL, "madvise unaligned start: EINVAL");
	check(MADVISE(p, 0, MADV_DONTNEED) == 0, "madvise len 0: 0");
	check(MADVISE(p, -1L, MADV_DONTNEED) == -EINVAL, "madvise len rounding to 0: EINVAL");
	check(MADVISE(p, -PG, MADV_DONTNEED) == -EINVAL, "madvise wrapping range: EINVAL");
	static const int ok_adv[] = { MADV_NORMAL,   MADV_RANDOM,  MADV_SEQUENTIAL, MADV_WILLNEED,
				      MADV_COLD,     MADV_PAGEOUT, MADV_HUGEPAGE,   MADV_NOHUGEPAGE,
				      MADV_DONTFORK, MADV_DOFORK,  MADV_WIPEONFORK, MADV_KEEPONFORK,
				      MADV_FREE,     MADV_DONTNEED };
	int bad = 0;
	for (unsigned i = 0; i < sizeof(ok_adv) / sizeof(ok_adv[0]); i++)
		if (MADVISE(p, 4 * PG, ok_adv[i])) {
			printf("# advice %d refused\n", ok_adv[i]);
			bad++;
		}
	check(!bad, "every advice of Linux 6.1's list accepted on private anonymous memory");

	/* DONTNEED: zeros after */
	p[0] = 1;
	p[3 * PG] = 3;
	check(MADVISE(p, 4 * PG, MADV_DONTNEED) == 0 && p[0] == 0 && p[3 * PG] == 0,
	      "MADV_DONTNEED: private anonymous pages read zeros again");
	/* a hole: ENOMEM, and the mapped parts got the advice */
	p[0] = 1;
	p[3 * PG] = 3;
	MUNMAP(p + PG, PG);
	check(MADVISE(p, 4 * PG, MADV_DONTNEED) == -ENOMEM, "madvise over a hole: ENOMEM");
	check(p[0] == 0 && p[3 * PG] == 0, "and the advice was applied to both mapped parts");
	MUNMAP(p, 4 * PG);
	check(MADVISE(p, PG, MADV_NORMAL) == -ENOMEM, "madvise of an unmapped range: ENOMEM");

	/* locked */
	p = anon(PG);
	MLOCK(p, PG);
	check(MADVISE(p, PG, MADV_DONTNEED) == -EINVAL, "MADV_DONTNEED on a locked range: EINVAL");
	check(MADVISE(p, PG, MADV_COLD) == -EINVAL && MADVISE(p, PG, MADV_PAGEOUT) == -EINVAL,
	      "MADV_COLD, MADV_PAGEOUT on a locked range: EINVAL");
	MUNMAP(p, PG);

	/* DONTFORK / DOFORK */
	p = anon(PG);
	p[0] = 'k';
	MADVISE(p, PG, MADV_DONTFORK);
	check(child_reads(p, 'k') == -SIGSEGV, "MADV_DONTFORK: the child has no such mapping");
	MADVISE(p, PG, MADV_DOFORK);
	check(child_reads(p, 'k') == 1, "MADV_DOFORK: the child has it again");
	/* WIPEONFORK */
	MADVISE(p, PG, MADV_WIPEONFORK);
	check(child_reads(p, 0) == 1 && p[0] == 'k',
	      "MADV_WIPEONFORK: the child reads zeros, the parent keeps its data");
	MADVISE(p, PG, MADV_KEEPONFORK);
	check(child_reads(p, 'k') == 1, "MADV_KEEPONFORK: the child gets a copy again");
	MUNMAP(p, PG);
	char *s = (char *)MMAP(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	check(MADVISE(s, PG, MADV_WIPEONFORK) == -EINVAL,
	      "MADV_WIPEONFORK on shared memory: EINVAL");
	check(MADVISE(s, PG, MADV_FREE) == -EINVAL, "MADV_FREE on shared memory: EINVAL");
	MUNMAP(s, PG);
	int fd = make_file(1);
	int ro = open(path, O_RDONLY); /* Linux 6.7+ also looks at VM_MAYWRITE */
	char *f = (char *)MMAP(0, PG, PROT_READ, MAP_SHARED, ro, 0);
	close(ro);
	check(MADVISE(f, PG, MADV_REMOVE) == -EACCES, "MADV_REMOVE on a read-only mapping: EACCES");
	check(MADVISE(f, PG, MADV_DONTNEED) == 0 && f[0] == 'a',
	      "MADV_DONTNEED on a file mapping: the file's data comes back");
	MUNMAP(f, PG);
	close(fd);
	unlink(path);
}

/* ---- mmap flags, munmap, mprotect ----------------------------------------------- */

static void mmap_checks(void)
{
	char *p = anon(2 * PG);
	long r =
	    MMAP(p + PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	check(r == -EEXIST, "MAP_FIXED_NOREPLACE over a mapping: EEXIST");
	check(writable(p + PG) == 1, "and the mapping there is untouched");
	char *h = hole(2 * PG);
	r = MMAP(h, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
		 -1, 0);
	check(r == (long)h, "MAP_FIXED_NOREPLACE in a free range: mapped there");
	MUNMAP(h, PG);
	check(MMAP(h + 1, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1,
		   0) == -EINVAL,
	      "MAP_FIXED_NOREPLACE at an unaligned address: EINVAL");
	MUNMAP(p, 2 * PG);

	r = MMAP(0, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1,
		 0);
	unsigned char v[4] = { 0 };
	check(r > 0 && MINCORE(r, 4 * PG, v) == 0 && v[0] && v[1] && v[2] && v[3],
	      "MAP_POPULATE: every page resident at once");
	MUNMAP(r, 4 * PG);
	int fd = make_file(2);
	r = MMAP(0, 2 * PG, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
	check(r > 0 && resident((void *)r) && ((char *)r)[PG] == 'b',
	      "MAP_POPULATE of a file mapping");
	MUNMAP(r, 2 * PG);
	close(fd);
	unlink(path);
	r = MMAP(0, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	check(r > 0 && writable((void *)r) == 1, "MAP_NORESERVE accepted");
	MUNMAP(r, PG);
	r = MMAP(0, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1,
		 0);
	check(r > 0 && resident((void *)r) && resident((char *)r + PG),
	      "MAP_LOCKED: mapped and resident");
	check(MADVISE(r, PG, MADV_DONTNEED) == -EINVAL, "and locked (MADV_DONTNEED: EINVAL)");
	MUNMAP(r, 2 * PG);
	r = MMAP(0, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, -1,
		 0);
	check(r > 0 && writable((char *)r + PG) == 1, "MAP_GROWSDOWN on private anonymous memory");
	check(MPROTECT((char *)r + PG, PG, PROT_READ | PROT_GROWSDOWN) == 0 &&
		  writable((void *)r) == 0,
	      "mprotect PROT_GROWSDOWN reaches down to the start of a MAP_GROWSDOWN mapping");
	MUNMAP(r, 2 * PG);
	check(MMAP(0, PG, PROT_READ, MAP_SHARED | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0) == -EINVAL,
	      "MAP_GROWSDOWN on shared anonymous memory: EINVAL");

	/* munmap */
	p = anon(PG);
	check(MUNMAP(p + 1, PG) == -EINVAL, "munmap unaligned: EINVAL");
	check(MUNMAP(p, 0) == -EINVAL, "munmap len 0: EINVAL");
	check(MUNMAP(p, -PG) == -EINVAL, "munmap wrapping length: EINVAL");
	check(MUNMAP(0xffff800000000000ul, PG) == -EINVAL, "munmap of a kernel address: EINVAL");
	MUNMAP(p, PG);
	check(MUNMAP(p, PG) == 0, "munmap of an unmapped range: 0");

	/* mprotect */
	p = anon(3 * PG);
	check(MPROTECT(p + 1, PG, PROT_READ) == -EINVAL, "mprotect unaligned: EINVAL");
	check(MPROTECT(p, 0, 0x100) == 0, "mprotect len 0: 0 (before prot is checked)");
	check(MPROTECT(p, PG, 0x100) == -EINVAL, "mprotect unknown prot bit: EINVAL");
	check(MPROTECT(p, PG, PROT_READ | PROT_GROWSDOWN | PROT_GROWSUP) == -EINVAL,
	      "mprotect PROT_GROWSDOWN|PROT_GROWSUP: EINVAL");
	check(MPROTECT(p, PG, PROT_READ | PROT_GROWSDOWN) == -EINVAL,
	      "mprotect PROT_GROWSDOWN on a mapping that does not grow down: EINVAL");
	check(MPROTECT(p, -PG, PROT_READ) == -ENOMEM, "mprotect wrapping range: ENOMEM");
	MUNMAP(p + PG, PG);
	check(MPROTECT(p, 3 * PG, PROT_READ) == -ENOMEM, "mprotect over a hole: ENOMEM");
	check(writable(p) == 0 && writable(p + 2 * PG) == 1,
	      "the part before the hole was changed, the part after was not (as Linux)");
	MUNMAP(p, 3 * PG);
	check(MPROTECT(p, PG, PROT_READ) == -ENOMEM, "mprotect of an unmapped range: ENOMEM");
	fd = make_file(1);
	int ro = open(path, O_RDONLY);
	r = MMAP(0, PG, PROT_READ, MAP_SHARED, ro, 0);
	check(MPROTECT(r, PG, PROT_READ | PROT_WRITE) == -EACCES,
	      "mprotect PROT_WRITE of a read-only shared file mapping: EACCES");
	MUNMAP(r, PG);
	close(ro);
	close(fd);
	unlink(path);
}

/* ---- mincore ------------------------------------------------------------------- */

static void mincore_checks(void)
{
	char *p = anon(3 * PG);
	unsigned char v[3] = { 9, 9, 9 };
	p[PG] = 1;
	check(MINCORE(p, 3 * PG, v) == 0 && v[0] == 0 && v[1] == 1 && v[2] == 0,
	      "mincore: the touched page is resident, the others not");
	check(MINCORE(p, PG + 1, v) == 0, "mincore rounds the length up");
	check(MINCORE(p + 1, PG, v) == -EINVAL, "mincore unaligned: EINVAL");
	check(MINCORE(p, 0, v) == 0, "mincore len 0: 0");
	check(MINCORE(p, PG, 0xffff800000000000ul) == -EFAULT, "mincore vec in the kernel: EFAULT");
	check(MINCORE(p, PG, 8) == -EFAULT, "mincore vec unmapped: EFAULT");
	check(MINCORE(0xffff800000000000ul, PG, v) == -ENOMEM, "mincore of a kernel range: ENOMEM");
	MUNMAP(p + 2 * PG, PG);
	check(MINCORE(p, 3 * PG, v) == -ENOMEM, "mincore over an unmapped page: ENOMEM");
	MUNMAP(p, 2 * PG);
	int fd = make_file(2);
	char buf[8];
	pread(fd, buf, 8, PG); /* page 1 cached, page 0 maybe */
	char *f = (char *)MMAP(0, 2 * PG, PROT_READ, MAP_SHARED, fd, 0);
	check(MINCORE(f, 2 * PG, v) == 0 && v[1] == 1,
	      "mincore of a file mapping: a cached page is resident before any fault");
	MUNMAP(f, 2 * PG);
	close(fd);
	unlink(path);
}

/* ---- mlock ---------------------------------------------------------------------- */

static void mlock_checks(void)
{
	char *p = anon(4 * PG);
	check(MLOCK(p + 10, PG) == 0 && resident(p) && resident(p + PG),
	      "mlock of an unaligned range locks (and populates) its pages");
	check(MUNLOCK(p + 10, PG) == 0, "munlock");
	check(MLOCK2(p, PG, 2) == -EINVAL, "mlock2 unknown flag: EINVAL");
	check(MLOCK2(p + 2 * PG, PG, MLOCK_ONFAULT) == 0 && !resident(p + 2 * PG),
	      "mlock2 MLOCK_ONFAULT: locked, not populated");
	check(MLOCK(p, 0) == 0, "mlock len 0: 0");
	MUNMAP(p + PG, PG);
	check(MLOCK(p, 3 * PG) == -ENOMEM, "mlock over a hole: ENOMEM");
	check(MADVISE(p, PG, MADV_DONTNEED) == -EINVAL,
	      "the part before the hole was locked (as Linux)");
	check(MUNLOCK(p, 4 * PG) == -ENOMEM, "munlock over a hole: ENOMEM");
	check(MUNLOCK(p, PG) == 0 && MADVISE(p, PG, MADV_DONTNEED) == 0, "munlock unlocks");
	MUNMAP(p, 4 * PG);
	check(MLOCK(p, PG) == -ENOMEM, "mlock of an unmapped range: ENOMEM");
	check(MLOCKALL(0) == -EINVAL, "mlockall(0): EINVAL");
	check(MLOCKALL(MCL_ONFAULT) == -EINVAL, "mlockall(MCL_ONFAULT) alone: EINVAL");
	check(MLOCKALL(8) == -EINVAL, "mlockall unknown flag: EINVAL");
	check(MLOCKALL(MCL_FUTURE) == 0, "mlockall(MCL_FUTURE)");
	p = anon(2 * PG);
	check(p && resident(p) && resident(p + PG) && MADVISE(p, PG, MADV_DONTNEED) == -EINVAL,
	      "after MCL_FUTURE a new mapping is locked and populated");
	check(MUNLOCKALL() == 0 && MADVISE(p, PG, MADV_DONTNEED) == 0,
	      "munlockall unlocks everything");
	char *q = anon(PG);
	check(q && !resident(q), "and new mappings are no longer locked");
	MUNMAP(p, 2 * PG);
	MUNMAP(q, PG);
}

/* ---- memfd_create, fallocate ------------------------------------------------------ */

static int child_touch(volatile char *p)
{
	pid_t pid = fork();
	if (pid == 0) {
		p[0] = 1;
		_exit(0);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	return WIFSIGNALED(st) ? WTERMSIG(st) : 0;
}

static void memfd_checks(void)
{
	long fd = sc(SYS_memfd_create, (long)"memcalls", 1 /* MFD_CLOEXEC */ | 2, 0, 0, 0, 0);
	check(fd >= 0 && (fcntl((int)fd, F_GETFD) & FD_CLOEXEC),
	      "memfd_create(MFD_CLOEXEC | MFD_ALLOW_SEALING)");
	check(sc(SYS_memfd_create, (long)"x", 0x100, 0, 0, 0, 0) == -EINVAL,
	      "memfd_create unknown flag: EINVAL");
	check(sc(SYS_memfd_create, 0, 0, 0, 0, 0, 0) == -EFAULT, "memfd_create NULL name: EFAULT");
	static char name[300];
	memset(name, 'n', 250);
	check(sc(SYS_memfd_create, (long)name, 0, 0, 0, 0, 0) == -EINVAL,
	      "memfd_create 250-character name: EINVAL");
	name[249] = 0;
	long fd2 = sc(SYS_memfd_create, (long)name, 0, 0, 0, 0, 0);
	check(fd2 >= 0, "memfd_create 249-character name");
	if (fd2 >= 0)
		close((int)fd2);
	if (fd < 0)
		return;
	int m = (int)fd;
	struct stat st;
	char buf[16] = { 0 };
	check(write(m, "hello", 5) == 5 && lseek(m, 0, SEEK_SET) == 0 && read(m, buf, 16) == 5 &&
		  !memcmp(buf, "hello", 5),
	      "memfd write, lseek, read");
	check(sc(SYS_fstat, m, (long)&st, 0, 0, 0, 0) == 0 && st.st_size == 5 &&
		  S_ISREG(st.st_mode),
	      "memfd fstat: a regular file of 5 bytes");
	memset(&st, 0, sizeof(st));
	check(fstat(m, &st) == 0 && st.st_size == 5 && S_ISREG(st.st_mode),
	      "memfd fstat() through the libc (glibc: newfstatat AT_EMPTY_PATH)");
	check(ftruncate(m, 3 * PG) == 0 && sc(SYS_fstat, m, (long)&st, 0, 0, 0, 0) == 0 &&
		  st.st_size == 3 * PG && pread(m, buf, 4, 2 * PG) == 4 &&
		  !memcmp(buf, "\0\0\0\0", 4),
	      "memfd ftruncate grows it with zeros");
	char *a = (char *)MMAP(0, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
	char *b = (char *)MMAP(0, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
	char *pv = (char *)MMAP(0, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, m, 0);
	check((long)a > 0 && (long)b > 0 && (long)pv > 0 && !memcmp(a, "hello", 5),
	      "memfd mmap shared and private");
	if ((long)a <= 0 || (long)b <= 0 || (long)pv <= 0)
		return;
	a[PG + 1] = 'Z';
	check(b[PG + 1] == 'Z' && pread(m, buf, 1, PG + 1) == 1 && buf[0] == 'Z',
	      "a shared write is seen by the other mapping and by read()");
	pv[PG + 2] = 'P';
	check(pv[PG + 1] == 'Z' && a[PG + 2] == 0, "a private write stays private");
	pid_t pid = fork();
	if (pid == 0) {
		a[2 * PG] = 'C';
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	check(b[2 * PG] == 'C', "a fork child's shared write is seen by the parent");
	check(ftruncate(m, PG) == 0 && child_touch(a + 2 * PG) == SIGBUS,
	      "memfd ftruncate shrinks: the pages beyond give SIGBUS");
	check(sc(SYS_fallocate, m, 0, 0, 5 * PG, 0, 0) == 0 &&
		  sc(SYS_fstat, m, (long)&st, 0, 0, 0, 0) == 0 && st.st_size == 5 * PG &&
		  a[2 * PG] == 0,
	      "memfd fallocate mode 0 extends it (zeros)");
	check(sc(SYS_fallocate, m, 0x08 /* COLLAPSE_RANGE */, 0, PG, 0, 0) == -EOPNOTSUPP,
	      "memfd fallocate COLLAPSE_RANGE: EOPNOTSUPP");
	check(sc(SYS_fallocate, m, 0, 0, 0, 0, 0) == -EINVAL, "fallocate len 0: EINVAL");
	check(sc(SYS_fallocate, m, 0, -1, PG, 0, 0) == -EINVAL,
	      "fallocate negative offset: EINVAL");
	check(sc(SYS_fallocate, 999, 0, 0, PG, 0, 0) == -EBADF, "fallocate bad fd: EBADF");
	int p[2];
	pipe(p);
	check(sc(SYS_fallocate, p[1], 0, 0, PG, 0, 0) == -ESPIPE, "fallocate on a pipe: ESPIPE");
	close(p[0]);
	close(p[1]);
	MUNMAP(a, 3 * PG);
	MUNMAP(b, 3 * PG);
	MUNMAP(pv, 3 * PG);
	close(m);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		path = argv[1]; /* on Linux: a file on a disk file system */
	printf("KTAP version 1\n");
	mremap_checks();
	msync_checks();
	madvise_checks();
	mmap_checks();
	mincore_checks();
	mlock_checks();
	memfd_checks();
	check(1, "every check ran");
	printf("1..%d\n", n);
	return failed ? 1 : 0;
}
