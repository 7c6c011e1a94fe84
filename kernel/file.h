/*
 * kernel/file.h - open file descriptions (Linux's struct file), with ops.
 *
 * A struct kfile is what an fd points at: its operations, its access mode
 * and status flags (O_APPEND, O_NONBLOCK, ...), its position, and what it
 * is open on (an SFS file, one end of a pipe, the console). It is
 * reference counted: every fd that points at it (dup, fork) and every
 * system call in progress on it (fget) holds one; the last kfile_put calls
 * ->release and frees it. (SFS's own `struct file` of kernel/fs/fs.h stays
 * what the monitor and the tests use; a kfile of a regular file or a
 * directory wraps one.)
 *
 * Locks: pos_lock (sleeping) serializes the read/write/lseek/getdents of a
 * seekable file on its f_pos, as Linux's f_pos_lock does for files shared
 * between threads; f_flags changes (fcntl F_SETFL) are single word writes.
 */
#ifndef KERNEL_FILE_H
#define KERNEL_FILE_H

#include "kernel/compiler.h"
#include "kernel/atomic.h"
#include "kernel/rwsem.h"

/* open(2) flags, Linux x86-64 values (O_RDONLY .. O_DIRECT are in fs.h). */
#define O_ACCMODE   0x3
#define O_EXCL	    0x80
#define O_NOCTTY    0x100
#define O_APPEND    0x400
#define O_NONBLOCK  0x800
#define O_DSYNC	    0x1000
#define O_LARGEFILE 0x8000
#define O_DIRECTORY 0x10000
#define O_NOFOLLOW  0x20000
#define O_NOATIME   0x40000
#define O_CLOEXEC   0x80000
#define O_PATH	    0x200000
#define O_TMPFILE   0x400000 /* with O_DIRECTORY, as Linux's __O_TMPFILE */

/* f_mode bits */
#define FMODE_READ  0x1u
#define FMODE_WRITE 0x2u
#define FMODE_LSEEK 0x4u /* seekable: pread/pwrite/lseek allowed */
#define FMODE_PATH  0x8u /* O_PATH: no I/O at all */

struct kfile;
struct file;
struct pipe_inode_info;
struct poll_table_struct;

struct file_operations {
	/* *pos: the position to use and advance (seekable files) */
	ssize_t (*read)(struct kfile *f, uint64_t ubuf, size_t len, uint64_t *pos);
	ssize_t (*write)(struct kfile *f, uint64_t ubuf, size_t len, uint64_t *pos);
	int64_t (*llseek)(struct kfile *f, int64_t off, int whence);
	long (*ioctl)(struct kfile *f, unsigned cmd, uint64_t arg);
	void (*release)(struct kfile *f);
	/* events ready (kernel/poll.h); NULL: always readable and writable */
	unsigned (*poll)(struct kfile *f, struct poll_table_struct *pt);
};

/* KFILE_PROC: a file or directory of /proc (kernel/fs/procfs.c; its
 * struct proc_file in private_data, path set). KFILE_TMPFS_DIR: a directory
 * of /tmp (kernel/fs/tmpfs.c: its node in private_data, path set); the
 * files of /tmp are memfd kfiles (KFILE_MEMFD, kernel/memfd.h). */
enum kfile_type { KFILE_REG, KFILE_DIR, KFILE_PIPE, KFILE_CONSOLE, KFILE_PROC, KFILE_TMPFS_DIR };

struct kfile {
	atomic_t count;
	const struct file_operations *f_op;
	enum kfile_type type;
	unsigned f_mode;       /* FMODE_* */
	volatile int f_flags;  /* access mode | O_APPEND | O_NONBLOCK | O_DIRECT | O_LARGEFILE */
	uint64_t f_pos;	       /* pos_lock */
	struct rwsem pos_lock; /* held for write around positioned I/O */
	struct file *sfs;      /* KFILE_REG, KFILE_DIR: the SFS open file */
	char *path;	       /* KFILE_REG, KFILE_DIR: its normalized path (openat) */
	struct pipe_inode_info *pipe; /* KFILE_PIPE */
	void *private_data;
};

/* A new kfile with one reference, or NULL. */
struct kfile *kfile_alloc(const struct file_operations *ops, enum kfile_type type, unsigned mode,
			  int flags);
static inline void kfile_get(struct kfile *f)
{
	atomic_inc(&f->count);
}
/* Drop a reference; the last one releases the file (may sleep). */
void kfile_put(struct kfile *f);
/* Live kfiles (tests: no leak). */
int kfile_nr_live(void);

/* Open path (normalized, absolute, symbolic links followed) as a kfile;
 * flags as open(2) without O_CLOEXEC. -errno (-ELOOP: path is a symbolic
 * link). A path under /proc opens a /proc file (procfs.c), one under /tmp
 * a tmpfs file (kernel/fs/tmpfs.c). */
int kfile_open_path(const char *path, int flags, struct kfile **out);

#endif
