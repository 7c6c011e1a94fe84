/*
 * tests/user/files.c - the file system calls from ring 3, through libc:
 * results and errno for bad arguments (bad fds, bad pointers, kernel
 * addresses, wrapping lengths). One KTAP case per check; exit status 0 if
 * every check passed, 1 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ktap.h"

/* A raw system call, so libc cannot catch a bad argument first. */
static long raw(long nr, long a, long b, long c)
{
	long r = syscall(nr, a, b, c);
	return r < 0 ? -errno : r;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	printf("KTAP version 1\n1..16\n");
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
	check(raw(SYS_read, fd, (long)0xffff800000000000ull, 8) == -EFAULT,
	      "read into a kernel address: EFAULT");
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
	return failed != 0;
}
