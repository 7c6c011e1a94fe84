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
#define F_GETLK		5
#define F_SETLK		6
#define F_SETLKW	7
#define F_DUPFD_CLOEXEC 1030
#define F_RDLCK		0
#define F_WRLCK		1
#define F_UNLCK		2

/* struct flock of x86-64 (32 bytes). */
struct linux_flock {
	int16_t l_type, l_whence;
	int64_t l_start, l_len;
	int32_t l_pid;
};
#define FD_CLOEXEC 1

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
#define DT_LNK	10

#define S_IFMT	0170000
#define S_IFIFO 0010000
#define S_IFCHR 0020000
#define S_IFDIR 0040000
#define S_IFREG 0100000
#define S_IFLNK 0120000

/* struct statfs of x86-64 (120 bytes). */
struct linux_statfs {
	int64_t f_type, f_bsize;
	uint64_t f_blocks, f_bfree, f_bavail, f_files, f_ffree;
	int32_t f_fsid[2];
	int64_t f_namelen, f_frsize, f_flags, f_spare[4];
};

/* struct statx (256 bytes); times zero. */
struct linux_statx {
	uint32_t stx_mask, stx_blksize;
	uint64_t stx_attributes;
	uint32_t stx_nlink, stx_uid, stx_gid;
	uint16_t stx_mode, __spare0;
	uint64_t stx_ino, stx_size, stx_blocks, stx_attributes_mask;
	struct {
		int64_t tv_sec;
		uint32_t tv_nsec;
		int32_t __reserved;
	} stx_atime, stx_btime, stx_ctime, stx_mtime;
	uint32_t stx_rdev_major, stx_rdev_minor, stx_dev_major, stx_dev_minor;
	uint64_t stx_mnt_id, __spare2;
	uint64_t __spare3[12];
};

struct iovec_user {
	uint64_t iov_base, iov_len;
};

long sys_read(unsigned fd, uint64_t buf, uint64_t count);				   /* 0 */
long sys_write(unsigned fd, uint64_t buf, uint64_t count);				   /* 1 */
long sys_open(uint64_t path, int flags, unsigned mode);					   /* 2 */
long sys_close(unsigned fd);								   /* 3 */
long sys_stat(uint64_t path, uint64_t statbuf);						   /* 4 */
long sys_fstat(unsigned fd, uint64_t statbuf);						   /* 5 */
long sys_lstat(uint64_t path, uint64_t statbuf);					   /* 6 */
long sys_lseek(unsigned fd, int64_t offset, unsigned whence);				   /* 8 */
long sys_readlink(uint64_t path, uint64_t buf, int bufsiz);				   /* 89 */
long sys_readlinkat(int dirfd, uint64_t path, uint64_t buf, int bufsiz);		   /* 267 */
long sys_ioctl(unsigned fd, unsigned cmd, uint64_t arg);				   /* 16 */
long sys_pread64(unsigned fd, uint64_t buf, uint64_t count, int64_t pos);		   /* 17 */
long sys_pwrite64(unsigned fd, uint64_t buf, uint64_t count, int64_t pos);		   /* 18 */
long sys_readv(unsigned fd, uint64_t iov, uint64_t iovcnt);				   /* 19 */
long sys_writev(unsigned fd, uint64_t iov, uint64_t iovcnt);				   /* 20 */
long sys_pipe(uint64_t fds);								   /* 22 */
long sys_dup(unsigned fd);								   /* 32 */
long sys_dup2(unsigned oldfd, unsigned newfd);						   /* 33 */
long sys_fcntl(unsigned fd, unsigned cmd, uint64_t arg);				   /* 72 */
long sys_fsync(unsigned fd);								   /* 74 */
long sys_fdatasync(unsigned fd);							   /* 75 */
long sys_ftruncate(unsigned fd, int64_t length);					   /* 77 */
long sys_mkdir(uint64_t path, unsigned mode);						   /* 83 */
long sys_rmdir(uint64_t path);								   /* 84 */
long sys_creat(uint64_t path, unsigned mode);						   /* 85 */
long sys_unlink(uint64_t path);								   /* 87 */
long sys_getdents64(unsigned fd, uint64_t dirp, unsigned count);			   /* 217 */
long sys_fadvise64(int fd, int64_t offset, int64_t len, int advice);			   /* 221 */
long sys_openat(int dirfd, uint64_t path, int flags, unsigned mode);			   /* 257 */
long sys_mkdirat(int dirfd, uint64_t path, unsigned mode);				   /* 258 */
long sys_newfstatat(int dirfd, uint64_t path, uint64_t statbuf, int flags);		   /* 262 */
long sys_unlinkat(int dirfd, uint64_t path, int flags);					   /* 263 */
long sys_dup3(unsigned oldfd, unsigned newfd, int flags);				   /* 292 */
long sys_pipe2(uint64_t fds, int flags);						   /* 293 */
long sys_preadv(unsigned fd, uint64_t iov, uint64_t iovcnt, int64_t pos_l, int64_t pos_h); /* 295 */
long sys_pwritev(unsigned fd, uint64_t iov, uint64_t iovcnt, int64_t pos_l, int64_t pos_h);
long sys_preadv2(unsigned fd, uint64_t iov, uint64_t iovcnt, int64_t pos_l, int64_t pos_h,
		 int flags); /* 327 */
long sys_pwritev2(unsigned fd, uint64_t iov, uint64_t iovcnt, int64_t pos_l, int64_t pos_h,
		  int flags);
long sys_renameat2(int olddfd, uint64_t oldp, int newdfd, uint64_t newp, unsigned flags); /* 316 */
long sys_renameat(int olddfd, uint64_t oldp, int newdfd, uint64_t newp);		  /* 264 */
long sys_rename(uint64_t oldp, uint64_t newp);						  /* 82 */
long sys_linkat(int olddfd, uint64_t oldp, int newdfd, uint64_t newp, int flags);	  /* 265 */
long sys_link(uint64_t oldp, uint64_t newp);						  /* 86 */
long sys_symlinkat(uint64_t target, int newdfd, uint64_t path);				  /* 266 */
long sys_symlink(uint64_t target, uint64_t path);					  /* 88 */
long sys_getcwd(uint64_t buf, uint64_t size);						  /* 79 */
long sys_chdir(uint64_t path);								  /* 80 */
long sys_fchdir(unsigned fd);								  /* 81 */
long sys_umask(unsigned mask);								  /* 95 */
long sys_truncate(uint64_t path, int64_t length);					  /* 76 */
long sys_sync(void);									  /* 162 */
long sys_syncfs(int fd);								  /* 306 */
long sys_statfs(uint64_t path, uint64_t buf);						  /* 137 */
long sys_fstatfs(unsigned fd, uint64_t buf);						  /* 138 */
long sys_access(uint64_t path, int mode);						  /* 21 */
long sys_faccessat(int dirfd, uint64_t path, int mode);					  /* 269 */
long sys_faccessat2(int dirfd, uint64_t path, int mode, int flags);			  /* 439 */
long sys_statx(int dirfd, uint64_t path, int flags, unsigned mask, uint64_t buf);	  /* 332 */
long sys_copy_file_range(int fd_in, uint64_t off_in, int fd_out, uint64_t off_out, uint64_t len,
			 unsigned flags);				/* 326 */
long sys_sendfile(int out_fd, int in_fd, uint64_t off, uint64_t count); /* 40 */

#endif
