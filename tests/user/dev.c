/*
 * tests/user/dev.c - /dev (kernel/fs/devfs.c) as Linux 6.1 shows it:
 *   stat: character devices with Linux's numbers (null 1:3, zero 1:5,
 *         full 1:7, random 1:8, urandom 1:9, tty 5:0, console 5:1,
 *         ttyS0 4:64), /dev a directory; fstat of an open one the same
 *   I/O:  /dev/null reads end of file and takes any write; /dev/zero reads
 *         zeros; /dev/full reads zeros and writes ENOSPC; /dev/urandom
 *         gives bytes that differ between two reads; lseek on null is 0;
 *         a bad buffer EFAULT
 *   open: a missing entry ENOENT, O_DIRECTORY on a device ENOTDIR,
 *         O_CREAT|O_EXCL on an existing one EEXIST, "> /dev/null" as a
 *         shell opens it (O_CREAT|O_TRUNC) works
 *   getdents64 of /dev lists the entries (readdir)
 * KTAP lines; "# every check ran" last; exit status 0 if all passed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "ktap.h"

static const struct {
	const char *path;
	unsigned ma, mi;
} devs[] = {
	{ "/dev/null", 1, 3 },	  { "/dev/zero", 1, 5 },    { "/dev/full", 1, 7 },
	{ "/dev/random", 1, 8 },  { "/dev/urandom", 1, 9 }, { "/dev/tty", 5, 0 },
	{ "/dev/console", 5, 1 }, { "/dev/ttyS0", 4, 64 },
};

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("KTAP version 1\n");
	char msg[128];
	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
		struct stat st;
		int r = stat(devs[i].path, &st);
		snprintf(msg, sizeof(msg), "stat %s: S_IFCHR %u:%u", devs[i].path, devs[i].ma,
			 devs[i].mi);
		check(r == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == devs[i].ma &&
			  minor(st.st_rdev) == devs[i].mi,
		      msg);
	}
	struct stat st;
	check(stat("/dev", &st) == 0 && S_ISDIR(st.st_mode), "/dev is a directory");
	check(stat("/dev/nonexistent", &st) == -1 && errno == ENOENT, "a missing entry: ENOENT");

	int fd = open("/dev/null", O_RDWR);
	char buf[64];
	memset(buf, 'x', sizeof(buf));
	check(fd >= 0 && read(fd, buf, sizeof(buf)) == 0, "/dev/null reads end of file");
	check(write(fd, buf, sizeof(buf)) == sizeof(buf), "/dev/null takes every write");
	check(lseek(fd, 100, SEEK_SET) == 0, "lseek on /dev/null: 0");
	check(fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 &&
		  minor(st.st_rdev) == 3,
	      "fstat of an open /dev/null: 1:3");
	close(fd);
	fd = open("/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0666);
	check(fd >= 0, "open /dev/null O_CREAT|O_TRUNC (a shell's > /dev/null)");
	close(fd);
	errno = 0;
	check(open("/dev/null", O_RDONLY | O_DIRECTORY) == -1 && errno == ENOTDIR,
	      "O_DIRECTORY on a device: ENOTDIR");
	errno = 0;
	check(open("/dev/null", O_RDWR | O_CREAT | O_EXCL, 0666) == -1 && errno == EEXIST,
	      "O_CREAT|O_EXCL on an existing device: EEXIST");

	fd = open("/dev/zero", O_RDONLY);
	int zeros = fd >= 0 && read(fd, buf, sizeof(buf)) == sizeof(buf);
	for (size_t i = 0; i < sizeof(buf); i++)
		zeros &= buf[i] == 0;
	check(zeros, "/dev/zero reads zeros");
	errno = 0;
	check(read(fd, (void *)8, 16) == -1 && errno == EFAULT,
	      "/dev/zero into a bad buffer: EFAULT");
	close(fd);

	fd = open("/dev/full", O_RDWR);
	errno = 0;
	check(fd >= 0 && write(fd, "a", 1) == -1 && errno == ENOSPC, "/dev/full: writes ENOSPC");
	buf[0] = 1;
	check(read(fd, buf, 8) == 8 && buf[0] == 0, "/dev/full reads zeros");
	close(fd);

	fd = open("/dev/urandom", O_RDONLY);
	char a[32], b[32];
	check(fd >= 0 && read(fd, a, sizeof(a)) == sizeof(a) &&
		  read(fd, b, sizeof(b)) == sizeof(b) && memcmp(a, b, sizeof(a)),
	      "/dev/urandom: two reads differ");
	close(fd);

	DIR *d = opendir("/dev");
	int seen = 0;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, "null") && e->d_type == DT_CHR)
			seen |= 1;
		if (!strcmp(e->d_name, "zero") && e->d_type == DT_CHR)
			seen |= 2;
		if (!strcmp(e->d_name, "urandom"))
			seen |= 4;
		if (!strcmp(e->d_name, "console"))
			seen |= 8;
		if (!strcmp(e->d_name, "tty"))
			seen |= 16;
	}
	if (d)
		closedir(d);
	check(seen == 31, "getdents64 of /dev lists null, zero, urandom, console, tty");
	fd = open("/dev", O_RDONLY | O_DIRECTORY);
	int nfd = fd >= 0 ? openat(fd, "zero", O_RDONLY) : -1;
	check(nfd >= 0, "openat relative to a /dev fd");
	close(nfd);
	close(fd);
	printf("1..%d\n# every check ran\n", n);
	return failed ? 1 : 0;
}
