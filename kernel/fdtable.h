/*
 * kernel/fdtable.h - per-process file descriptor tables (Linux's
 * files_struct / fdtable).
 *
 * A table maps fds 0 .. max_fds-1 to kfiles, with a close-on-exec bit per
 * fd (not per kfile: dup clears it, as Linux). It grows by doubling up to
 * NR_OPEN_DEFAULT (RLIMIT_NOFILE's default soft limit, 1024): a new fd is
 * always the lowest free one >= the asked minimum, else -EMFILE. Threads
 * created with CLONE_FILES share one table by reference (get_files /
 * put_files); fork copies it (dup_fd).
 *
 * An fd is taken in two steps, as Linux's get_unused_fd_flags + fd_install:
 * fd_alloc reserves it (its bit set, no file yet: lookups see -EBADF), and
 * fd_install fills it, or put_unused_fd gives it back. So pipe2 and open
 * can fail after the reservation (copying the fds out) without another
 * thread ever seeing a half-made fd.
 *
 * Lock: files->lock (spinlock) guards the arrays; kfiles are put outside it
 * (a release may sleep).
 *
 * Where the table lives for now: struct thread's `files` field (the
 * process model comes later); a thread without one has no fds (-EBADF, and
 * -EMFILE for a new one).
 */
#ifndef KERNEL_FDTABLE_H
#define KERNEL_FDTABLE_H

#include "kernel/compiler.h"
#include "kernel/spinlock.h"
#include "kernel/atomic.h"

#define NR_OPEN_DEFAULT 1024 /* RLIMIT_NOFILE soft limit, Linux's default */
#define NR_OPEN_INITIAL 64

struct kfile;

struct files_struct {
	atomic_t count; /* threads sharing the table (CLONE_FILES) */
	spinlock_t lock;
	unsigned max_fds;   /* size of the arrays below */
	unsigned next_fd;   /* no free fd below it */
	unsigned rlimit;    /* RLIMIT_NOFILE (soft) */
	struct kfile **fd;  /* [max_fds] */
	uint64_t *open_fds; /* reserved or installed */
	uint64_t *close_on_exec;
};

struct files_struct *files_alloc(void);
/* fork without CLONE_FILES: a copy holding a reference on each kfile. */
struct files_struct *dup_fd(struct files_struct *old, int *err);
static inline void get_files(struct files_struct *f)
{
	atomic_inc(&f->count);
}
/* The last put closes every fd. */
void put_files(struct files_struct *f);

/* The calling thread's table, or NULL. */
struct files_struct *current_files(void);
/* Make t's table `files` (a reference passes to t); returns the old one. */
struct files_struct *set_current_files(struct files_struct *files);

/* Reserve the lowest free fd >= minfd; -EMFILE (or -EINVAL: minfd past
 * the limit, as F_DUPFD). */
int fd_alloc(struct files_struct *files, unsigned minfd, bool cloexec);
void fd_install(struct files_struct *files, unsigned fd, struct kfile *f); /* takes the ref */
void put_unused_fd(struct files_struct *files, unsigned fd);
/* The kfile of fd with a reference (kfile_put it), or NULL. */
struct kfile *fget(struct files_struct *files, int fd);
/* Close fd: 0 or -EBADF. */
int close_fd(struct files_struct *files, int fd);
/* dup2/dup3's core: newfd becomes a copy of oldfd (closing what was
 * there). newfd, or -EBADF / -EMFILE. */
int do_dup2(struct files_struct *files, int oldfd, int newfd, bool cloexec);
int get_close_on_exec(struct files_struct *files, int fd); /* 0/1, or -EBADF */
int set_close_on_exec(struct files_struct *files, int fd, bool on);
/* execve: close every fd marked close-on-exec. */
void do_close_on_exec(struct files_struct *files);
/* Open fds (tests). */
int files_count_open(struct files_struct *files);

#endif
