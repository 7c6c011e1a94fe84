/*
 * tests/user/files.c - the file system calls from ring 3, through libc and
 * raw: results and errno, as Linux 6.1 answers, for good and hostile
 * arguments (bad fds, NULL and kernel pointers, wrapping lengths, bad
 * flags). One KTAP case per check; exit status 0 if every check passed, 1
 * otherwise. The same program passes on Linux (make compare: / is ext2/4
 * or the initramfs there, /tmp a tmpfs).
 *
 *   files            the basics alone (16 checks: tests/test_user.c)
 *   files ops        the open flags, vectored I/O, stat, getdents, fcntl,
 *                    the cwd, statfs, access, copies, /tmp files
 *   files ns DIR     the namespace calls in DIR (/ft on /, or /tmp/ft);
 *                    on /ft also the rename race
 *   files --cwd DIR  exits 0 if the working directory is DIR (execve)
 *
 *   basics: open/read/write/lseek/fstat/pipe/dup2/close/unlink.
 *   open flags: creat, O_TRUNC, O_APPEND, O_EXCL, O_DIRECTORY, O_NOFOLLOW.
 *   vectored: readv/writev on a file, a pipe and stdout; preadv/pwritev
 *       and the "2" forms (offset -1, unknown flags -EOPNOTSUPP).
 *   stat/lstat/statx, getdents64 (d_type of files, directories, links).
 *   namespace: rmdir/unlinkat, rename/renameat2 (NOREPLACE, EXCHANGE,
 *       atomic replacement raced by a second process), link/linkat (link
 *       counts), symlink/readlink (relative and absolute targets, a chain
 *       of 40 links resolves, 41 or a loop -ELOOP), -EXDEV between /tmp
 *       and /, truncate, fallocate, the syncs.
 *   fcntl: flags, close-on-exec, F_DUPFD(_CLOEXEC), record locks between
 *       two processes (F_GETLK, F_SETLK, a close drops them).
 *   cwd: getcwd/chdir/fchdir, inherited by fork, kept by execve (the
 *       program re-executes itself as `files --cwd DIR`), umask.
 *   statfs/fstatfs (TMPFS_MAGIC on /tmp), access/faccessat2,
 *       copy_file_range (-EXDEV between file systems, as 6.1) and sendfile
 *       (real copies), FIONREAD.
 *   /tmp: files in memory: write, read, mmap, hard links, an unlinked
 *       file still open.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktap.h"

#define KADDR 0xffff800000000000L
#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif

/* A raw system call, so libc cannot catch a bad argument first. */
static long raw(long nr, long a, long b, long c)
{
	long r = syscall(nr, a, b, c);
	return r < 0 ? -errno : r;
}

static long raw6(long nr, long a, long b, long c, long d, long e, long f)
{
	long r = syscall(nr, a, b, c, d, e, f);
	return r < 0 ? -errno : r;
}

static int put(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	int r = write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -1;
	close(fd);
	return r;
}

/* The contents of path (up to 255 bytes) as a string, "" if unreadable. */
static const char *get(const char *path)
{
	static char buf[256];
	buf[0] = 0;
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return "<none>";
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	close(fd);
	return buf;
}

static long size_of(const char *path)
{
	struct stat st;
	return stat(path, &st) ? -1 : (long)st.st_size;
}

static int fails(int r, int e)
{
	return r < 0 && errno == e;
}

/* Remove what an earlier run left: files and links, then directories. */
static void cleanup(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	char p[512];
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (unlink(p) && errno == EISDIR)
			cleanup(p);
	}
	closedir(d);
	rmdir(dir);
}

static void basics(void)
{
	const char *path = "/user-files.txt";
	unlink(path);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
	check(fd >= 3, "open O_CREAT gives the lowest free fd above stdio");
	check(write(fd, "hello ring 3", 12) == 12, "write");
	check(lseek(fd, 6, SEEK_SET) == 6, "lseek");
	char buf[32] = { 0 };
	check(read(fd, buf, sizeof(buf)) == 6 && !memcmp(buf, "ring 3", 6), "read after lseek");
	struct stat st;
	check(fstat(fd, &st) == 0 && st.st_size == 12 && S_ISREG(st.st_mode), "fstat");
	check(open(path, O_RDWR | O_CREAT | O_EXCL, 0644) < 0 && errno == EEXIST, "O_EXCL: EEXIST");
	lseek(fd, 0, SEEK_SET); /* at the end a read copies nothing, so succeeds */
	check(raw(SYS_read, fd, 0, 8) == -EFAULT, "read into NULL: EFAULT");
	check(raw(SYS_read, fd, KADDR, 8) == -EFAULT, "read into a kernel address: EFAULT");
	check(raw(SYS_write, fd, (long)buf, -1L) == -EFAULT,
	      "write with a wrapping length: EFAULT");
	check(raw(SYS_read, 999, (long)buf, 1) == -EBADF, "read of a bad fd: EBADF");
	int p[2];
	check(pipe(p) == 0, "pipe");
	check(write(p[1], "xyz", 3) == 3 && read(p[0], buf, 3) == 3 && !memcmp(buf, "xyz", 3),
	      "pipe carries bytes");
	close(p[1]);
	check(read(p[0], buf, 3) == 0, "pipe EOF after the writer closed");
	lseek(fd, 5, SEEK_SET);
	check(dup2(fd, 10) == 10 && lseek(10, 0, SEEK_CUR) == 5, "dup2 shares the offset");
	check(close(10) == 0 && close(10) < 0 && errno == EBADF, "close twice: EBADF");
	check(close(fd) == 0 && unlink(path) == 0 && open(path, O_RDONLY) < 0 && errno == ENOENT,
	      "unlink");
	close(p[0]);
}

static void open_flags(void)
{
	int fd = creat("/ft/c", 0644);
	check(fd >= 0 && (fcntl(fd, F_GETFL) & O_ACCMODE) == O_WRONLY, "creat: write-only");
	check(write(fd, "0123456789", 10) == 10 && close(fd) == 0, "creat: write");
	fd = creat("/ft/c", 0644);
	check(fd >= 0 && size_of("/ft/c") == 0, "creat truncates");
	close(fd);
	put("/ft/c", "0123456789");
	fd = open("/ft/c", O_RDWR | O_TRUNC);
	check(fd >= 0 && size_of("/ft/c") == 0, "O_TRUNC");
	close(fd);
	put("/ft/c", "abc");
	fd = open("/ft/c", O_WRONLY | O_APPEND);
	lseek(fd, 0, SEEK_SET);
	check(write(fd, "def", 3) == 3 && !strcmp(get("/ft/c"), "abcdef"),
	      "O_APPEND writes at the end");
	check(lseek(fd, 0, SEEK_CUR) == 6, "O_APPEND: the position is the end");
	close(fd);
	check(fails(open("/ft/c", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST),
	      "O_EXCL on a file: EEXIST");
	check(fails(open("/ft/c", O_RDONLY | O_DIRECTORY), ENOTDIR),
	      "O_DIRECTORY on a file: ENOTDIR");
	fd = open("/ft", O_RDONLY | O_DIRECTORY);
	check(fd >= 0, "O_DIRECTORY on a directory");
	close(fd);
	check(fails(open("/ft", O_WRONLY), EISDIR), "a directory for writing: EISDIR");
	check(fails(open("/ft/c/x", O_RDONLY), ENOTDIR), "a file as a directory: ENOTDIR");
	symlink("c", "/ft/lc");
	check(fails(open("/ft/lc", O_RDONLY | O_NOFOLLOW), ELOOP), "O_NOFOLLOW on a link: ELOOP");
	check(fails(open("/ft/lc", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST),
	      "O_CREAT|O_EXCL on a link: EEXIST");
	fd = open("/ft/lc", O_RDONLY);
	char b[8] = { 0 };
	check(fd >= 0 && read(fd, b, 8) == 6 && !memcmp(b, "abcdef", 6), "open follows a link");
	close(fd);
	check(raw(SYS_open, 0, O_RDONLY, 0) == -EFAULT, "open NULL: EFAULT");
	check(raw(SYS_open, KADDR, O_RDONLY, 0) == -EFAULT, "open kernel path: EFAULT");
}

static void vectored(void)
{
	char a[4] = "abcd", b[6] = "efghij", x[4], y[6];
	struct iovec w[2] = { { a, 4 }, { b, 6 } }, r[2] = { { x, 4 }, { y, 6 } };
	int fd = open("/ft/v", O_RDWR | O_CREAT | O_TRUNC, 0644);
	check(writev(fd, w, 2) == 10 && lseek(fd, 0, SEEK_SET) == 0, "writev to a file");
	check(readv(fd, r, 2) == 10 && !memcmp(x, "abcd", 4) && !memcmp(y, "efghij", 6),
	      "readv from a file");
	memset(x, 0, 4);
	check(preadv(fd, r, 1, 2) == 4 && !memcmp(x, "cdef", 4) && lseek(fd, 0, SEEK_CUR) == 10,
	      "preadv at an offset, the position stays");
	check(pwritev(fd, w, 1, 20) == 4 && size_of("/ft/v") == 24, "pwritev past the end");
	lseek(fd, 0, SEEK_SET);
	check(raw6(SYS_preadv2, fd, (long)r, 1, -1, 0, 0) == 4 && lseek(fd, 0, SEEK_CUR) == 4,
	      "preadv2 offset -1: the file position");
	check(raw6(SYS_pwritev2, fd, (long)w, 1, 0, 0, 0x1000) == -EOPNOTSUPP,
	      "pwritev2 unknown flag: EOPNOTSUPP");
	check(raw6(SYS_preadv, fd, (long)r, 1, -5, 0, 0) == -EINVAL, "preadv negative: EINVAL");
	check(raw6(SYS_preadv, fd, 0, 1, 0, 0, 0) == -EFAULT, "preadv NULL iovec: EFAULT");
	check(raw6(SYS_preadv, fd, (long)r, 1025, 0, 0, 0) == -EINVAL,
	      "preadv 1025 iovecs: EINVAL");
	check(raw6(SYS_preadv, 999, (long)r, 1, 0, 0, 0) == -EBADF, "preadv bad fd: EBADF");
	close(fd);
	int p[2];
	pipe(p);
	check(writev(p[1], w, 2) == 10, "writev to a pipe");
	memset(x, 0, 4);
	memset(y, 0, 6);
	check(readv(p[0], r, 2) == 10 && !memcmp(x, "abcd", 4) && !memcmp(y, "efghij", 6),
	      "readv from a pipe");
	write(p[1], "wxyz", 4);
	check(readv(p[0], r, 2) == 4 && !memcmp(x, "wxyz", 4),
	      "readv of a pipe that fills only the first iovec returns");
	check(raw6(SYS_preadv, p[0], (long)r, 1, 0, 0, 0) == -ESPIPE, "preadv on a pipe: ESPIPE");
	close(p[0]);
	close(p[1]);
	struct iovec o[2] = { { "# writev ", 9 }, { "to stdout\n", 10 } };
	check(writev(1, o, 2) == 19, "writev to stdout");
}

static void stats(void)
{
	struct stat st, lst;
	put("/ft/s", "12345");
	symlink("s", "/ft/ls");
	check(stat("/ft/ls", &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 5, "stat follows");
	check(lstat("/ft/ls", &lst) == 0 && S_ISLNK(lst.st_mode) && lst.st_size == 1,
	      "lstat: the link, size of its target");
	check(st.st_ino != lst.st_ino, "a link is its own inode");
	unsigned char sx[256];
	memset(sx, 0xff, sizeof(sx));
	check(raw6(SYS_statx, AT_FDCWD, (long)"/ft/s", 0, 0x7ff, (long)sx, 0) == 0 &&
		  *(uint64_t *)(sx + 40) == 5 && (*(uint16_t *)(sx + 28) & S_IFMT) == S_IFREG &&
		  *(uint32_t *)(sx + 16) == 1,
	      "statx: size, mode, nlink");
	check(raw6(SYS_statx, AT_FDCWD, (long)"/ft/ls", AT_SYMLINK_NOFOLLOW, 0x7ff, (long)sx, 0) ==
		      0 &&
		  (*(uint16_t *)(sx + 28) & S_IFMT) == S_IFLNK,
	      "statx AT_SYMLINK_NOFOLLOW");
	check(raw6(SYS_statx, AT_FDCWD, (long)"/ft/s", 0x6000, 0x7ff, (long)sx, 0) == -EINVAL,
	      "statx both sync flags: EINVAL");
	check(raw6(SYS_statx, AT_FDCWD, 0, 0, 0x7ff, (long)sx, 0) == -EFAULT, "statx NULL: EFAULT");
	check(raw6(SYS_statx, AT_FDCWD, (long)"/ft/s", 0, 0x7ff, KADDR, 0) == -EFAULT,
	      "statx kernel buffer: EFAULT");
	check(fails(stat("/ft/s/", &st), ENOTDIR), "stat file/: ENOTDIR");
	check(raw(SYS_lstat, (long)"/ft/nope", (long)&st, 0) == -ENOENT, "lstat missing: ENOENT");
}

static int find_dent(int fd, const char *name, int *type)
{
	char buf[2048];
	lseek(fd, 0, SEEK_SET);
	long n;
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0)
		for (long off = 0; off < n;) {
			struct {
				uint64_t ino;
				int64_t off;
				uint16_t reclen;
				uint8_t type;
				char name[];
			} *d = (void *)(buf + off);
			if (!strcmp(d->name, name)) {
				*type = d->type;
				return 1;
			}
			off += d->reclen;
		}
	return 0;
}

static void dents(const char *dir)
{
	char p[64];
	snprintf(p, sizeof(p), "%s/dd", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/df", dir);
	put(p, "x");
	snprintf(p, sizeof(p), "%s/dl", dir);
	symlink("df", p);
	int fd = open(dir, O_RDONLY | O_DIRECTORY), t = -1;
	check(find_dent(fd, "dd", &t) && t == DT_DIR, "getdents64: a directory");
	check(find_dent(fd, "df", &t) && t == DT_REG, "getdents64: a file");
	check(find_dent(fd, "dl", &t) && t == DT_LNK, "getdents64: a link");
	check(find_dent(fd, ".", &t) && find_dent(fd, "..", &t), "getdents64: . and ..");
	close(fd);
	fd = open(p, O_RDONLY);
	check(raw(SYS_getdents64, fd, (long)p, sizeof(p)) == -ENOTDIR,
	      "getdents64 on a file: ENOTDIR");
	close(fd);
	check(raw(SYS_getdents64, 999, (long)p, sizeof(p)) == -EBADF, "getdents64 bad fd: EBADF");
}

static void namespace(const char *d)
{
	char a[64], b[64], c[64], e[64];
	snprintf(a, sizeof(a), "%s/na", d);
	snprintf(b, sizeof(b), "%s/nb", d);
	snprintf(c, sizeof(c), "%s/nd", d);
	snprintf(e, sizeof(e), "%s/nd/in", d);
	put(a, "A");
	put(b, "B");
	mkdir(c, 0755);
	put(e, "E");
	check(fails(rmdir(c), ENOTEMPTY), "rmdir non-empty: ENOTEMPTY");
	check(fails(rmdir(a), ENOTDIR), "rmdir a file: ENOTDIR");
	check(fails(unlink(c), EISDIR), "unlink a directory: EISDIR");
	check(fails(unlinkat(AT_FDCWD, a, 0x1), EINVAL), "unlinkat bad flag: EINVAL");
	check(rename(a, b) == 0 && !strcmp(get(b), "A") && fails(access(a, F_OK), ENOENT),
	      "rename over a file replaces it");
	check(fails(rename(a, b), ENOENT), "rename missing: ENOENT");
	check(fails(rename(b, c), EISDIR), "rename file onto a directory: EISDIR");
	put(a, "A2");
	check(fails(rename(c, a), ENOTDIR), "rename directory onto a file: ENOTDIR");
	check(fails(rename(c, e), EINVAL), "rename a directory into itself: EINVAL");
	check(raw6(SYS_renameat2, AT_FDCWD, (long)a, AT_FDCWD, (long)b, 1, 0) == -EEXIST,
	      "RENAME_NOREPLACE: EEXIST");
	check(raw6(SYS_renameat2, AT_FDCWD, (long)a, AT_FDCWD, (long)b, 3, 0) == -EINVAL,
	      "NOREPLACE|EXCHANGE: EINVAL");
	check(raw6(SYS_renameat2, AT_FDCWD, (long)a, AT_FDCWD, (long)b, 0x100, 0) == -EINVAL,
	      "renameat2 unknown flag: EINVAL");
	check(raw6(SYS_renameat2, AT_FDCWD, (long)a, AT_FDCWD, (long)b, 2, 0) == 0 &&
		  !strcmp(get(a), "A") && !strcmp(get(b), "A2"),
	      "RENAME_EXCHANGE swaps");
	char m[64];
	snprintf(m, sizeof(m), "%s/missing", d);
	check(raw6(SYS_renameat2, AT_FDCWD, (long)a, AT_FDCWD, (long)m, 2, 0) == -ENOENT,
	      "RENAME_EXCHANGE with a missing name: ENOENT");
	snprintf(m, sizeof(m), "%s/nd2", d);
	check(rename(c, m) == 0 && !strcmp(get(strcat(strcpy(e, m), "/in")), "E"),
	      "rename a directory moves its tree");
	mkdir(c, 0755);
	put(strcat(strcpy(e, c), "/x"), "x");
	check(fails(rename(m, c), ENOTEMPTY), "rename onto a non-empty directory: ENOTEMPTY");
	unlink(e);
	check(rename(m, c) == 0, "rename onto an empty directory");
	check(raw(SYS_rename, 0, (long)b, 0) == -EFAULT &&
		  raw(SYS_rename, (long)a, KADDR, 0) == -EFAULT,
	      "rename bad pointers: EFAULT");

	/* hard links */
	struct stat st;
	char l[64];
	snprintf(l, sizeof(l), "%s/nl", d);
	check(link(a, l) == 0 && stat(a, &st) == 0 && st.st_nlink == 2, "link: nlink 2");
	check(rename(a, l) == 0 && !access(a, F_OK) && !access(l, F_OK),
	      "rename onto another name of the same file: nothing");
	check(unlink(a) == 0 && stat(l, &st) == 0 && st.st_nlink == 1 && !strcmp(get(l), "A"),
	      "unlink one name: the other keeps the data, nlink 1");
	check(fails(link(l, b), EEXIST), "link onto an existing name: EEXIST");
	check(fails(link(c, a), EPERM), "link a directory: EPERM");
	check(fails(link(m, a), ENOENT), "link missing: ENOENT");
	check(raw6(SYS_linkat, AT_FDCWD, (long)l, AT_FDCWD, (long)a, 0x1, 0) == -EINVAL,
	      "linkat bad flag: EINVAL");
	check(raw(SYS_link, 0, (long)a, 0) == -EFAULT, "link NULL: EFAULT");

	/* symbolic links */
	char s[64], buf[64];
	snprintf(s, sizeof(s), "%s/ns", d);
	check(symlink("nl", s) == 0 && !strcmp(get(s), "A"), "symlink: relative target");
	check(readlink(s, buf, sizeof(buf)) == 2 && !memcmp(buf, "nl", 2), "readlink");
	check(readlink(s, buf, 1) == 1 && buf[0] == 'n', "readlink cut to bufsiz");
	check(fails(readlink(l, buf, sizeof(buf)), EINVAL), "readlink a file: EINVAL");
	check(raw(SYS_readlink, (long)s, (long)buf, 0) == -EINVAL, "readlink bufsiz 0: EINVAL");
	check(raw(SYS_readlink, (long)s, KADDR, 8) == -EFAULT, "readlink kernel buffer: EFAULT");
	check(fails(symlink("x", s), EEXIST), "symlink existing: EEXIST");
	check(fails(symlink("", m), ENOENT), "symlink empty target: ENOENT");
	check(raw(SYS_symlink, 0, (long)m, 0) == -EFAULT, "symlink NULL: EFAULT");
	char sd[64];
	snprintf(sd, sizeof(sd), "%s/nsd", d);
	symlink(c, sd); /* absolute */
	put(strcat(strcpy(e, c), "/y"), "Y");
	check(!strcmp(get(strcat(strcpy(buf, sd), "/y")), "Y"),
	      "a path through a link to a directory");
	unlink(e);
	snprintf(buf, sizeof(buf), "%s/dangling", d);
	symlink("nothere", buf);
	check(fails(open(buf, O_RDONLY), ENOENT) && lstat(buf, &st) == 0,
	      "a dangling link: ENOENT");
	unlink(buf);
	char l1[64], l2[64];
	snprintf(l1, sizeof(l1), "%s/loop1", d);
	snprintf(l2, sizeof(l2), "%s/loop2", d);
	symlink("loop2", l1);
	symlink("loop1", l2);
	check(fails(open(l1, O_RDONLY), ELOOP) && fails(stat(l1, &st), ELOOP), "a loop: ELOOP");
	unlink(l1);
	unlink(l2);
	/* a chain of 40 links resolves, 41 do not */
	for (int i = 1; i <= 41; i++) {
		char from[64], to[16];
		snprintf(from, sizeof(from), "%s/k%d", d, i);
		snprintf(to, sizeof(to), i == 1 ? "nl" : "k%d", i - 1);
		symlink(to, from);
	}
	snprintf(buf, sizeof(buf), "%s/k40", d);
	check(!strcmp(get(buf), "A"), "40 links: followed");
	snprintf(buf, sizeof(buf), "%s/k41", d);
	check(fails(open(buf, O_RDONLY), ELOOP), "41 links: ELOOP");
	for (int i = 1; i <= 41; i++) {
		snprintf(buf, sizeof(buf), "%s/k%d", d, i);
		unlink(buf);
	}

	/* truncate */
	check(truncate(l, 10) == 0 && size_of(l) == 10, "truncate grows");
	check(truncate(s, 1) == 0 && size_of(l) == 1, "truncate follows a link");
	check(fails(truncate(l, -1), EINVAL), "truncate negative: EINVAL");
	check(fails(truncate(c, 0), EISDIR), "truncate a directory: EISDIR");
	check(fails(truncate(m, 0), ENOENT), "truncate missing: ENOENT");
	check(raw(SYS_truncate, 0, 0, 0) == -EFAULT, "truncate NULL: EFAULT");
	unlink(s);
	unlink(sd);
	unlink(l);
	unlink(b);
	rmdir(c);
}

/* Atomic replacement: a second process renames new files over /ft/ra
 * while this one opens it; never is the name missing. */
static void rename_race(void)
{
	put("/ft/ra", "r");
	pid_t pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 60; i++) {
			put("/ft/ra.tmp", "r");
			if (rename("/ft/ra.tmp", "/ft/ra"))
				_exit(2);
		}
		_exit(0);
	}
	int missing = 0, status = -1;
	for (int i = 0; i < 1000 && !waitpid(pid, &status, WNOHANG); i++) {
		int fd = open("/ft/ra", O_RDONLY);
		if (fd < 0)
			missing++;
		else
			close(fd);
	}
	if (status == -1)
		waitpid(pid, &status, 0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0 && missing == 0,
	      "rename over a file is atomic to a concurrent open");
	unlink("/ft/ra");
}

static void syncs_fcntl(void)
{
	int fd = open("/ft/y", O_RDWR | O_CREAT | O_TRUNC, 0644), p[2];
	write(fd, "data", 4);
	check(fsync(fd) == 0 && fdatasync(fd) == 0, "fsync, fdatasync");
	sync();
	check(syncfs(fd) == 0, "sync, syncfs");
	check(fails(fdatasync(999), EBADF) && fails(syncfs(999), EBADF),
	      "fdatasync, syncfs bad fd");
	pipe(p);
	check(fails(fsync(p[0]), EINVAL), "fsync a pipe: EINVAL");
	check((fcntl(p[0], F_GETFL) & O_NONBLOCK) == 0 && fcntl(p[0], F_SETFL, O_NONBLOCK) == 0 &&
		  (fcntl(p[0], F_GETFL) & O_NONBLOCK),
	      "F_SETFL O_NONBLOCK");
	char c;
	check(fails(read(p[0], &c, 1), EAGAIN), "O_NONBLOCK read of an empty pipe: EAGAIN");
	check(fcntl(fd, F_GETFD) == 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) == 0 &&
		  fcntl(fd, F_GETFD) == FD_CLOEXEC,
	      "F_GETFD/F_SETFD");
	int d = fcntl(fd, F_DUPFD, 20);
	check(d >= 20 && fcntl(d, F_GETFD) == 0, "F_DUPFD: at or above, close-on-exec clear");
	close(d);
	d = fcntl(fd, F_DUPFD_CLOEXEC, 20);
	check(d >= 20 && fcntl(d, F_GETFD) == FD_CLOEXEC, "F_DUPFD_CLOEXEC");
	close(d);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 4 };
	check(fcntl(fd, F_SETLK, &fl) == 0, "F_SETLK");
	pid_t me = getpid(), kid = fork();
	if (kid == 0) { /* another process: the lock conflicts */
		struct flock g = {
			.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 2, .l_len = 10
		};
		int bad = 0;
		if (fcntl(fd, F_GETLK, &g) || g.l_type != F_WRLCK || g.l_pid != me ||
		    g.l_start != 0 || g.l_len != 4)
			bad |= 1;
		g = (struct flock){
			.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 3, .l_len = 1
		};
		if (fcntl(fd, F_SETLK, &g) != -1 || errno != EAGAIN)
			bad |= 2;
		g.l_start = 4; /* next to it: no conflict */
		if (fcntl(fd, F_SETLK, &g))
			bad |= 4;
		_exit(bad);
	}
	int st = -1;
	waitpid(kid, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "another process: F_GETLK reports the lock, F_SETLK EAGAIN, next to it fine");
	close(open("/ft/y", O_RDONLY)); /* closing any fd of the file drops our locks */
	kid = fork();
	if (kid == 0) {
		struct flock g = {
			.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0
		};
		_exit(fcntl(fd, F_GETLK, &g) == 0 && g.l_type == F_UNLCK ? 0 : 1);
	}
	waitpid(kid, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a close of another fd of the file unlocks");
	fcntl(fd, F_SETLK, &fl);
	fl.l_type = F_UNLCK;
	check(fcntl(fd, F_SETLK, &fl) == 0, "F_SETLK unlock");
	fl.l_type = F_WRLCK;
	check(fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type == F_UNLCK, "F_GETLK: no conflict");
	int ro = open("/ft/y", O_RDONLY);
	fl.l_type = F_WRLCK;
	check(fails(fcntl(ro, F_SETLK, &fl), EBADF), "write lock on a read-only fd: EBADF");
	fl.l_type = 7;
	check(fails(fcntl(fd, F_SETLK, &fl), EINVAL), "F_SETLK bad type: EINVAL");
	check(raw(SYS_fcntl, fd, F_GETLK, 0) == -EFAULT, "F_GETLK NULL: EFAULT");
	int n = -1;
	lseek(ro, 1, SEEK_SET);
	check(ioctl(ro, FIONREAD, &n) == 0 && n == 3,
	      "FIONREAD on a file: bytes after the position");
	check(fails(fcntl(999, F_GETFL), EBADF), "fcntl bad fd: EBADF");
	close(ro);
	close(fd);
	close(p[0]);
	close(p[1]);
	unlink("/ft/y");
}

static void cwd(const char *self)
{
	char buf[256];
	int fd = open("/", O_RDONLY | O_DIRECTORY);
	check(chdir("/ft") == 0 && getcwd(buf, sizeof(buf)) && !strcmp(buf, "/ft"),
	      "chdir, getcwd");
	put("rel", "R");
	check(!strcmp(get("/ft/rel"), "R"), "a relative path starts at the cwd");
	check(raw(SYS_getcwd, (long)buf, 3, 0) == -ERANGE, "getcwd too small: ERANGE");
	check(raw(SYS_getcwd, 0, 100, 0) == -EFAULT, "getcwd NULL: EFAULT");
	check(raw(SYS_getcwd, (long)buf, 100, 0) == 4, "getcwd returns the length with the NUL");
	check(fails(chdir("/ft/rel"), ENOTDIR), "chdir a file: ENOTDIR");
	check(fails(chdir("/ft/none"), ENOENT), "chdir missing: ENOENT");
	check(raw(SYS_chdir, 0, 0, 0) == -EFAULT, "chdir NULL: EFAULT");
	mkdir("/ft/sub", 0755);
	symlink("sub", "/ft/lsub");
	check(chdir("lsub") == 0 && getcwd(buf, sizeof(buf)) && !strcmp(buf, "/ft/sub"),
	      "chdir through a link: the real path");
	check(chdir("..") == 0 && getcwd(buf, sizeof(buf)) && !strcmp(buf, "/ft"), "chdir ..");
	pid_t pid = fork();
	if (pid == 0) {
		char b2[64];
		int ok = getcwd(b2, sizeof(b2)) && !strcmp(b2, "/ft");
		chdir("/");
		_exit(ok ? 0 : 1);
	}
	int st;
	waitpid(pid, &st, 0);
	check(WIFEXITED(st) && !WEXITSTATUS(st) && getcwd(buf, sizeof(buf)) && !strcmp(buf, "/ft"),
	      "fork: the child inherits the cwd, its chdir is its own");
	pid = fork();
	if (pid == 0) {
		chdir("/ft/sub");
		char *argv[] = { (char *)self, "--cwd", "/ft/sub", NULL };
		execv(self, argv);
		_exit(3);
	}
	waitpid(pid, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "execve keeps the cwd");
	check(fchdir(fd) == 0 && getcwd(buf, sizeof(buf)) && !strcmp(buf, "/"), "fchdir");
	int f = open("/ft/rel", O_RDONLY);
	check(fails(fchdir(f), ENOTDIR) && fails(fchdir(999), EBADF), "fchdir: ENOTDIR, EBADF");
	close(f);
	close(fd);
	unlink("/ft/rel");
	unlink("/ft/lsub");
	rmdir("/ft/sub");
	mode_t old = umask(027);
	check(old == 022 && umask(077) == 027, "umask returns the old mask");
	umask(old);
}

static void fsinfo(void)
{
	struct statfs sf;
	check(statfs("/tmp", &sf) == 0 && sf.f_type == 0x01021994, "statfs /tmp: TMPFS_MAGIC");
	int fd = open("/tmp", O_RDONLY | O_DIRECTORY);
	check(fstatfs(fd, &sf) == 0 && sf.f_type == 0x01021994, "fstatfs /tmp: TMPFS_MAGIC");
	close(fd);
	check(statfs("/ft", &sf) == 0 && sf.f_bsize > 0 && sf.f_type != 0x01021994,
	      "statfs /ft: not tmpfs");
	check(fails(statfs("/ft/none", &sf), ENOENT), "statfs missing: ENOENT");
	check(raw(SYS_statfs, (long)"/ft", 0, 0) == -EFAULT, "statfs NULL buffer: EFAULT");
	check(raw(SYS_fstatfs, 999, (long)&sf, 0) == -EBADF, "fstatfs bad fd: EBADF");
	put("/ft/acc", "x");
	check(access("/ft/acc", R_OK | W_OK) == 0 && fails(access("/ft/none", F_OK), ENOENT),
	      "access");
	check(raw(SYS_access, (long)"/ft/acc", 8, 0) == -EINVAL, "access bad mode: EINVAL");
	symlink("none", "/ft/dl2");
	check(raw6(SYS_faccessat2, AT_FDCWD, (long)"/ft/dl2", F_OK, AT_SYMLINK_NOFOLLOW, 0, 0) ==
		      0 &&
		  raw6(SYS_faccessat2, AT_FDCWD, (long)"/ft/dl2", F_OK, 0, 0, 0) == -ENOENT,
	      "faccessat2 AT_SYMLINK_NOFOLLOW");
	check(raw6(SYS_faccessat2, AT_FDCWD, (long)"/ft/acc", F_OK, 0x8000, 0, 0) == -EINVAL,
	      "faccessat2 bad flag: EINVAL");
	unlink("/ft/dl2");
	unlink("/ft/acc");
}

static void copies(void)
{
	static char big[10000], back[10000];
	for (int i = 0; i < (int)sizeof(big); i++)
		big[i] = (char)(i * 7 + 1);
	int in = open("/ft/src", O_RDWR | O_CREAT | O_TRUNC, 0644);
	write(in, big, sizeof(big));
	int out = open("/ft/dst", O_RDWR | O_CREAT | O_TRUNC, 0644);
	loff_t io = 0, oo = 0;
	check(copy_file_range(in, &io, out, &oo, sizeof(big), 0) == (ssize_t)sizeof(big) &&
		  io == (loff_t)sizeof(big) && oo == (loff_t)sizeof(big),
	      "copy_file_range: offsets advance");
	check(pread(out, back, sizeof(back), 0) == (ssize_t)sizeof(back) &&
		  !memcmp(big, back, sizeof(big)),
	      "copy_file_range: the bytes arrived");
	int tin = open("/tmp/ft/src", O_RDWR | O_CREAT | O_TRUNC, 0644);
	int tout = open("/tmp/ft/dst", O_RDWR | O_CREAT | O_TRUNC, 0644);
	write(tin, big, 5000);
	io = 0;
	check(copy_file_range(tin, &io, tout, NULL, 6000, 0) == 5000 &&
		  pread(tout, back, 5000, 0) == 5000 && !memcmp(big, back, 5000),
	      "copy_file_range in /tmp, cut at the end of the file");
	io = 0;
	check(fails(copy_file_range(in, &io, tout, NULL, 10, 0), EXDEV),
	      "copy_file_range / to /tmp: EXDEV");
	off_t so = 0;
	check(sendfile(tout, in, &so, 100) == 100 && so == 100,
	      "sendfile / to /tmp (any two files)");
	close(tin);
	close(tout);
	unlink("/tmp/ft/src");
	lseek(in, 100, SEEK_SET);
	int o2 = open("/ft/dst2", O_RDWR | O_CREAT | O_TRUNC, 0644);
	check(copy_file_range(in, NULL, o2, NULL, 50, 0) == 50 && lseek(in, 0, SEEK_CUR) == 150 &&
		  lseek(o2, 0, SEEK_CUR) == 50,
	      "copy_file_range without offsets: the positions move");
	check(pread(o2, back, 50, 0) == 50 && !memcmp(back, big + 100, 50), "the right bytes");
	check(fails(copy_file_range(in, NULL, o2, NULL, 5, 1), EINVAL),
	      "copy_file_range flags: EINVAL");
	io = 0;
	oo = 10;
	check(fails(copy_file_range(in, &io, in, &oo, 100, 0), EINVAL),
	      "overlapping ranges: EINVAL");
	int p[2];
	pipe(p);
	check(fails(copy_file_range(p[0], NULL, o2, NULL, 5, 0), EINVAL), "from a pipe: EINVAL");
	int dir = open("/ft", O_RDONLY | O_DIRECTORY);
	check(fails(copy_file_range(dir, NULL, o2, NULL, 5, 0), EISDIR),
	      "from a directory: EISDIR");
	close(dir);
	int ap = open("/ft/dst2", O_WRONLY | O_APPEND);
	check(fails(copy_file_range(in, NULL, ap, NULL, 5, 0), EBADF), "to O_APPEND: EBADF");
	check(fails(copy_file_range(999, NULL, o2, NULL, 5, 0), EBADF), "bad fd: EBADF");
	check(raw6(SYS_copy_file_range, in, 8, o2, 0, 5, 0) == -EFAULT,
	      "bad offset pointer: EFAULT");
	off_t off = 10;
	lseek(in, 0, SEEK_SET);
	check(sendfile(p[1], in, &off, 20) == 20 && off == 30 && lseek(in, 0, SEEK_CUR) == 0,
	      "sendfile to a pipe with an offset");
	check(read(p[0], back, 20) == 20 && !memcmp(back, big + 10, 20), "sendfile: the bytes");
	check(sendfile(o2, in, NULL, 30) == 30 && lseek(in, 0, SEEK_CUR) == 30,
	      "sendfile without an offset moves the position");
	check(fails(sendfile(o2, p[0], NULL, 5), EINVAL), "sendfile from a pipe: EINVAL");
	check(fails(sendfile(ap, in, NULL, 5), EINVAL), "sendfile to O_APPEND: EINVAL");
	check(fails(sendfile(o2, 999, NULL, 5), EBADF), "sendfile bad fd: EBADF");
	check(raw(SYS_sendfile, o2, in, KADDR) == -EFAULT, "sendfile kernel offset: EFAULT");
	close(ap);
	close(p[0]);
	close(p[1]);
	close(in);
	close(out);
	close(o2);
	unlink("/ft/src");
	unlink("/ft/dst2");
	unlink("/ft/dst");
	unlink("/tmp/ft/dst");
}

static void tmp(void)
{
	int fd = open("/tmp/ft/m", O_RDWR | O_CREAT | O_TRUNC, 0600);
	check(fd >= 0 && write(fd, "memory", 6) == 6, "a file in /tmp");
	char *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	check(p != MAP_FAILED && !memcmp(p, "memory", 6), "mmap of a /tmp file");
	munmap(p, 4096);
	struct stat st;
	check(link("/tmp/ft/m", "/tmp/ft/m2") == 0 && fstat(fd, &st) == 0 && st.st_nlink == 2,
	      "/tmp: link, fstat nlink 2");
	check(fails(link("/tmp/ft/m", "/ft/m3"), EXDEV), "link /tmp to /: EXDEV");
	check(fails(rename("/tmp/ft/m", "/ft/m3"), EXDEV), "rename /tmp to /: EXDEV");
	check(unlink("/tmp/ft/m") == 0 && unlink("/tmp/ft/m2") == 0 && fstat(fd, &st) == 0 &&
		  st.st_nlink == 0,
	      "/tmp: an unlinked file, nlink 0");
	char b[8] = { 0 };
	check(pread(fd, b, 6, 0) == 6 && !memcmp(b, "memory", 6),
	      "/tmp: still readable while open");
	close(fd);
	check(raw(SYS_fallocate, -1, 0, 0) == -EBADF, "fallocate bad fd: EBADF");
	fd = open("/tmp/ft/fa", O_RDWR | O_CREAT, 0600);
	check(fallocate(fd, 0, 0, 10000) == 0 && fstat(fd, &st) == 0 && st.st_size == 10000,
	      "fallocate mode 0 grows the file");
	check(fails(fallocate(fd, 0x08, 0, 4096), EOPNOTSUPP),
	      "fallocate COLLAPSE_RANGE: EOPNOTSUPP");
	check(fails(fallocate(fd, 0, -1, 10), EINVAL), "fallocate negative offset: EINVAL");
	close(fd);
	unlink("/tmp/ft/fa");
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--cwd")) {
		char buf[256];
		return getcwd(buf, sizeof(buf)) && !strcmp(buf, argv[2]) ? 0 : 1;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	printf("KTAP version 1\n");
	if (argc < 2) { /* the first 16 checks alone (user.files_musl) */
		printf("1..16\n");
		basics();
		return failed != 0;
	}
	const char *part = argv[1];
	const char *dir = argc > 2 ? argv[2] : "/ft";
	cleanup("/ft");
	cleanup("/tmp/ft");
	mkdir("/ft", 0755);
	mkdir("/tmp/ft", 0755);
	if (!strcmp(part, "ops")) {
		open_flags();
		vectored();
		stats();
		dents("/ft");
		dents("/tmp/ft");
		syncs_fcntl();
		cwd(argv[0]);
		fsinfo();
		copies();
		tmp();
	} else if (!strcmp(part, "ns")) {
		namespace(dir);
		if (!strcmp(dir, "/ft"))
			rename_race();
	} else {
		fprintf(stderr, "usage: files [ops | ns DIR | --cwd DIR]\n");
		return 2;
	}
	cleanup("/ft");
	cleanup("/tmp/ft");
	check(access("/ft", F_OK) && access("/tmp/ft", F_OK), "every check ran");
	printf("1..%d\n", n);
	return failed != 0;
}
