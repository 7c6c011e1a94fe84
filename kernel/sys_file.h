/*
 * kernel/sys_file.h - the file system calls, with Linux x86-64 semantics
 * (Linux 6.1, errno for errno; kernel/sys_file.c lists where they differ).
 * Each takes its arguments as the system-call registers carry them, so the
 * syscall table wires each with one line; user pointers are uint64_t and go
 * through the checked accessors of arch/x86_64/uaccess.h (-EFAULT, never a
 * kernel write). They act on current's fd table (current->files).
 */
#ifndef KERNEL_SYS_FILE_H
#define KERNEL_SYS_FILE_H

#include "kernel/compiler.h"

#define AT_FDCWD	    (-100)
#define AT_SYMLINK_NOFOLLOW 0x100
#define AT_REMOVEDIR	    0x200
#define AT_NO_AUTOMOUNT	    0x800
#define AT_EMPTY_PATH	    0x1000
#define AT_STATX_SYNC_TYPE  0x6000

/* The absolute path (in out[PATH_MAX]) of the user's path name upath,
 * relative to the working directory: 0, or -EFAULT, -ENAMETOOLONG,
 * -ENOENT (empty), -ENOMEM. For execve. */
long getname_resolved(uint64_t upath, char *out);

#define F_DUPFD		0
#define F_GETFD		1
#define F_SETFD		2
#define F_GETFL		3
#define F_SETFL		4
#define F_DUPFD_CLOEXEC 1030
#define FD_CLOEXEC	1

#define POSIX_FADV_DONTNEED 4
#define SEEK_DATA	    3
#define SEEK_HOLE	    4
#define UIO_MAXIOV	    1024
#define PATH_MAX	    4096
#define MAX_RW_COUNT	    0x7ffff000ul /* INT_MAX & PAGE_MASK: the most one call moves */

/* struct stat of Linux x86-64 (arch/x86/include/uapi/asm/stat.h): 144
 * bytes; filled whole, padding zero. */
struct linux_stat {
	uint64_t st_dev;
	uint64_t st_ino;
	uint64_t st_nlink;
	uint32_t st_mode;
	uint32_t st_uid;
	uint32_t st_gid;
	uint32_t __pad0;
	uint64_t st_rdev;
	int64_t st_size;
	int64_t st_blksize;
	int64_t st_blocks;
	uint64_t st_atime;
	uint64_t st_atime_nsec;
	uint64_t st_mtime;
	uint64_t st_mtime_nsec;
	uint64_t st_ctime;
	uint64_t st_ctime_nsec;
	int64_t __unused[3];
};

/* struct linux_dirent64 (getdents64): d_name NUL-terminated, the record
 * padded with zeros to a multiple of 8 bytes. */
struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off; /* the position after this entry (lseek to it resumes there) */
	uint16_t d_reclen;
	uint8_t d_type;
	char d_name[];
};
#define DT_CHR	2
#define DT_DIR	4
#define DT_REG	8
#define DT_FIFO 1

#define S_IFMT	0170000
#define S_IFIFO 0010000
#define S_IFCHR 0020000
#define S_IFDIR 0040000
#define S_IFREG 0100000

struct iovec_user {
	uint64_t iov_base, iov_len;
};

long sys_read(unsigned fd, uint64_t buf, uint64_t count);		    /* 0 */
long sys_write(unsigned fd, uint64_t buf, uint64_t count);		    /* 1 */
long sys_open(uint64_t path, int flags, unsigned mode);			    /* 2 */
long sys_close(unsigned fd);						    /* 3 */
long sys_stat(uint64_t path, uint64_t statbuf);				    /* 4 */
long sys_fstat(unsigned fd, uint64_t statbuf);				    /* 5 */
long sys_lstat(uint64_t path, uint64_t statbuf);			    /* 6 */
long sys_lseek(unsigned fd, int64_t offset, unsigned whence);		    /* 8 */
long sys_readlink(uint64_t path, uint64_t buf, int bufsiz);		    /* 89 */
long sys_readlinkat(int dirfd, uint64_t path, uint64_t buf, int bufsiz);    /* 267 */
long sys_ioctl(unsigned fd, unsigned cmd, uint64_t arg);		    /* 16 */
long sys_pread64(unsigned fd, uint64_t buf, uint64_t count, int64_t pos);   /* 17 */
long sys_pwrite64(unsigned fd, uint64_t buf, uint64_t count, int64_t pos);  /* 18 */
long sys_readv(unsigned fd, uint64_t iov, uint64_t iovcnt);		    /* 19 */
long sys_writev(unsigned fd, uint64_t iov, uint64_t iovcnt);		    /* 20 */
long sys_pipe(uint64_t fds);						    /* 22 */
long sys_dup(unsigned fd);						    /* 32 */
long sys_dup2(unsigned oldfd, unsigned newfd);				    /* 33 */
long sys_fcntl(unsigned fd, unsigned cmd, uint64_t arg);		    /* 72 */
long sys_fsync(unsigned fd);						    /* 74 */
long sys_fdatasync(unsigned fd);					    /* 75 */
long sys_ftruncate(unsigned fd, int64_t length);			    /* 77 */
long sys_mkdir(uint64_t path, unsigned mode);				    /* 83 */
long sys_rmdir(uint64_t path);						    /* 84 */
long sys_creat(uint64_t path, unsigned mode);				    /* 85 */
long sys_unlink(uint64_t path);						    /* 87 */
long sys_getdents64(unsigned fd, uint64_t dirp, unsigned count);	    /* 217 */
long sys_fadvise64(int fd, int64_t offset, int64_t len, int advice);	    /* 221 */
long sys_openat(int dirfd, uint64_t path, int flags, unsigned mode);	    /* 257 */
long sys_mkdirat(int dirfd, uint64_t path, unsigned mode);		    /* 258 */
long sys_newfstatat(int dirfd, uint64_t path, uint64_t statbuf, int flags); /* 262 */
long sys_unlinkat(int dirfd, uint64_t path, int flags);			    /* 263 */
long sys_dup3(unsigned oldfd, unsigned newfd, int flags);		    /* 292 */
long sys_pipe2(uint64_t fds, int flags);				    /* 293 */

#endif
