/*
 * tests/user/mmap.c - mmap of a file descriptor from ring 3 (kernel/sys_mm.c):
 * what a MAP_SHARED mapping writes reaches the file (read() after munmap,
 * an O_DIRECT read of the disk after fsync), MAP_PRIVATE writes do not,
 * the offset picks the file page, the mapping outlives close() and
 * unlink(), and Linux 6.1's errno for each bad argument (EBADF, EACCES,
 * ENODEV, EINVAL, EOPNOTSUPP, ENOMEM, EOVERFLOW). Raw system calls for the
 * errors, so musl's own checks cannot answer first. One KTAP case per
 * check; exit status 0 if every check passed, 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ktap.h"

#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif

#define PG	4096
#define NCHECKS 46

/* mmap as the system call answers it: an address or -errno. */
static long sys_mmap(unsigned long addr, unsigned long len, long prot, long flags, long fd,
		     unsigned long off)
{
	long r = syscall(SYS_mmap, addr, len, prot, flags, fd, off);
	return r == -1 ? -errno : r;
}

static long mmap_err(long fd, unsigned long len, long prot, long flags, unsigned long off)
{
	long r = sys_mmap(0, len, prot, flags, fd, off);
	if (r >= 0)
		munmap((void *)r, len);
	return r;
}

static const char *path = "/user-mmap.bin";

/* A two-page file: page 0 all 'a', page 1 all 'b'. */
static int make_file(void)
{
	static char buf[2 * PG];
	unlink(path);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
	memset(buf, 'a', PG);
	memset(buf + PG, 'b', PG);
	if (fd < 0 || write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		return -1;
	return fd;
}

static void shared_writes_reach_the_file(int fd)
{
	char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	check(p != MAP_FAILED && p[0] == 'a' && p[PG] == 'b', "MAP_SHARED maps the file's data");
	if (p == MAP_FAILED)
		return;
	memcpy(p + 100, "written through the mapping", 27);
	char buf[32] = { 0 };
	check(pread(fd, buf, 27, 100) == 27 && !memcmp(buf, "written through the mapping", 27),
	      "read() sees a shared write while mapped (one page cache)");
	pwrite(fd, "by write()", 10, PG + 8);
	check(!memcmp(p + PG + 8, "by write()", 10), "the mapping sees write()");
	memcpy(p + PG + 200, "before munmap", 13);
	check(munmap(p, 2 * PG) == 0, "munmap");
	check(pread(fd, buf, 13, PG + 200) == 13 && !memcmp(buf, "before munmap", 13),
	      "read() after munmap shows the shared write");
}

static void fsync_writes_it_back(int fd)
{
	char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		check(0, "fsync writes a mapped page back (mmap failed)");
		return;
	}
	memcpy(p + 3000, "fsynced", 7);
	check(fsync(fd) == 0, "fsync of a file with a dirty mapped page");
	static char dbuf[PG] __attribute__((aligned(PG)));
	int dfd = open(path, O_RDONLY | O_DIRECT);
	check(dfd >= 0 && pread(dfd, dbuf, PG, 0) == PG && !memcmp(dbuf + 3000, "fsynced", 7),
	      "the disk (O_DIRECT read) has the mapped write after fsync");
	close(dfd);
	munmap(p, PG);
}

static void private_and_offset(int fd)
{
	char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, PG);
	check(p != MAP_FAILED && p[0] == 'b',
	      "the offset picks the file page (MAP_PRIVATE, page 1)");
	if (p == MAP_FAILED)
		return;
	p[0] = 'X';
	char c = 0;
	check(pread(fd, &c, 1, PG) == 1 && c == 'b', "a MAP_PRIVATE write does not reach the file");
	munmap(p, PG);
}

/* The VMA holds the file: close the fd, unlink the file, the data stays. */
static void mapping_outlives_fd_and_name(void)
{
	int fd = open(path, O_RDWR);
	char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	check(p != MAP_FAILED, "mmap again");
	if (p == MAP_FAILED)
		return;
	check(close(fd) == 0 && p[PG + 1] == 'b', "the mapping works after close(fd)");
	p[5] = 'Z';
	check(unlink(path) == 0 && p[5] == 'Z' && p[0] == 'a',
	      "the mapping works after unlink (the VMA holds the inode)");
	check(munmap(p, 2 * PG) == 0, "munmap of an unlinked file's mapping");
}

static void open_mode_rules(void)
{
	int ro = open(path, O_RDONLY), wo = open(path, O_WRONLY),
	    ap = open(path, O_RDWR | O_APPEND);
	check(ro >= 0 && wo >= 0 && ap >= 0, "open read-only, write-only, O_APPEND");
	check(mmap_err(ro, PG, PROT_READ | PROT_WRITE, MAP_SHARED, 0) == -EACCES,
	      "MAP_SHARED PROT_WRITE of a read-only fd: EACCES");
	check(mmap_err(wo, PG, PROT_READ, MAP_PRIVATE, 0) == -EACCES,
	      "any mapping of a write-only fd: EACCES");
	char *p = mmap(NULL, PG, PROT_READ, MAP_SHARED, ro, 0);
	check(p != MAP_FAILED && p[0] == 'a', "MAP_SHARED PROT_READ of a read-only fd");
	if (p != MAP_FAILED) {
		check(mprotect(p, PG, PROT_READ | PROT_WRITE) < 0 && errno == EACCES,
		      "... never becomes writable (mprotect: EACCES)");
		munmap(p, PG);
	}
	p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
	check(p != MAP_FAILED, "MAP_PRIVATE PROT_WRITE of a read-only fd (copy on write)");
	if (p != MAP_FAILED)
		munmap(p, PG);
	long a = mmap_err(ap, PG, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	check(a > 0, "O_APPEND does not forbid a shared writable mapping (only chattr +a does)");
	close(ro);
	close(wo);
	close(ap);
}

static void bad_files(int fd)
{
	check(mmap_err(999, PG, PROT_READ, MAP_PRIVATE, 0) == -EBADF, "bad fd: EBADF");
	check(mmap_err(-1, PG, PROT_READ, MAP_SHARED, 0) == -EBADF,
	      "fd -1 without MAP_ANONYMOUS: EBADF");
	long a = mmap_err(999, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, 0);
	check(a > 0, "MAP_ANONYMOUS ignores the fd");
	int op = open(path, O_PATH);
	check(op >= 0 && mmap_err(op, PG, PROT_READ, MAP_PRIVATE, 0) == -EBADF, "O_PATH fd: EBADF");
	close(op);
	int pfd[2];
	check(pipe(pfd) == 0, "pipe");
	check(mmap_err(pfd[0], PG, PROT_READ, MAP_PRIVATE, 0) == -ENODEV, "pipe: ENODEV");
	check(mmap_err(pfd[1], PG, PROT_READ, MAP_PRIVATE, 0) == -EACCES,
	      "pipe write end: EACCES (not open for reading comes first)");
	close(pfd[0]);
	close(pfd[1]);
	check(mmap_err(1, PG, PROT_READ, MAP_SHARED, 0) == -ENODEV, "the console: ENODEV");
	int dir = open("/", O_RDONLY | O_DIRECTORY);
	check(dir >= 0 && mmap_err(dir, PG, PROT_READ, MAP_PRIVATE, 0) == -ENODEV,
	      "a directory: ENODEV");
	close(dir);
	(void)fd;
}

static void bad_arguments(int fd)
{
	check(mmap_err(fd, PG, PROT_READ, MAP_PRIVATE, 100) == -EINVAL,
	      "offset not page aligned: EINVAL");
	check(mmap_err(999, PG, PROT_READ, MAP_PRIVATE, 100) == -EINVAL,
	      "... checked before the fd (EINVAL, not EBADF)");
	check(mmap_err(fd, 0, PROT_READ, MAP_PRIVATE, 0) == -EINVAL, "len 0: EINVAL");
	check(mmap_err(fd, PG, PROT_READ, 0, 0) == -EINVAL,
	      "neither MAP_SHARED nor MAP_PRIVATE: EINVAL");
	check(mmap_err(fd, PG, PROT_READ, 0x0f, 0) == -EINVAL, "map type 15: EINVAL");
	check(mmap_err(-1, PG, PROT_READ, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, 0) == -EINVAL,
	      "anonymous MAP_SHARED_VALIDATE: EINVAL (Linux 6.1)");
	check(mmap_err(fd, PG, PROT_READ, MAP_SHARED_VALIDATE | MAP_SYNC, 0) == -EOPNOTSUPP,
	      "MAP_SHARED_VALIDATE | MAP_SYNC on a non-DAX file: EOPNOTSUPP");
	check(mmap_err(fd, PG, PROT_READ, MAP_SHARED_VALIDATE | 0x200000, 0) == -EOPNOTSUPP,
	      "MAP_SHARED_VALIDATE with an unknown flag: EOPNOTSUPP");
	check(mmap_err(fd, PG, PROT_READ, MAP_SHARED | MAP_SYNC | 0x200000, 0) > 0,
	      "MAP_SHARED ignores unknown flags");
	char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE, fd, 0);
	char c = 0;
	if (p != MAP_FAILED) {
		p[9] = 'V';
		munmap(p, PG);
	}
	check(p != MAP_FAILED && pread(fd, &c, 1, 9) == 1 && c == 'V',
	      "MAP_SHARED_VALIDATE alone is a shared mapping");
	check(mmap_err(fd, -(long)PG, PROT_READ, MAP_PRIVATE, 0) == -ENOMEM,
	      "len past the user half: ENOMEM");
	check(sys_mmap(0x7ffffffff000ul, PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0) == -ENOMEM,
	      "MAP_FIXED past the user limit: ENOMEM");
	check(sys_mmap(0x10000100ul, PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0) == -EINVAL,
	      "MAP_FIXED address not page aligned: EINVAL");
	check(mmap_err(fd, 2 * PG, PROT_READ, MAP_PRIVATE, 0x7ffffffffffff000ul) == -EOVERFLOW,
	      "offset + len past the largest file: EOVERFLOW");
	check(sys_mmap(0x1000, PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0) == -EPERM,
	      "MAP_FIXED below mmap_min_addr (64 KiB): EPERM");
	check(sys_mmap(0, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == -EPERM,
	      "anonymous MAP_FIXED at page 0: EPERM");
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	printf("KTAP version 1\n1..%d\n", NCHECKS);
	int fd = make_file();
	check(fd >= 3, "create a two-page file");
	if (fd < 0)
		return 1;
	shared_writes_reach_the_file(fd);
	fsync_writes_it_back(fd);
	private_and_offset(fd);
	bad_files(fd);
	bad_arguments(fd);
	open_mode_rules();
	close(fd);
	mapping_outlives_fd_and_name();
	if (n != NCHECKS) {
		printf("# planned %d checks, made %d\n", NCHECKS, n);
		failed++;
	}
	return failed != 0;
}
