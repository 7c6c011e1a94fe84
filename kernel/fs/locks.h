/*
 * kernel/fs/locks.h - POSIX record locks (kernel/fs/locks.c): what fcntl's
 * F_GETLK, F_SETLK and F_SETLKW do once kernel/sys_file.c has checked the
 * arguments and made the range absolute ([start, end], end INT64_MAX for
 * "to the end").
 */
#ifndef KERNEL_FS_LOCKS_H
#define KERNEL_FS_LOCKS_H

#include "kernel/compiler.h"
#include "kernel/sys_file.h"

struct kfile;

/* What locks of file f are keyed by (its inode: one per file). */
const void *lock_key(struct kfile *f);

struct posix_lock_info {
	int type; /* F_UNLCK: no conflict */
	int64_t start, end;
	int pid;
};
/* F_GETLK: the first lock of another owner that would block this one. */
void posix_test_lock(const void *key, const void *owner, int type, int64_t start, int64_t end,
		     struct posix_lock_info *out);
/* F_SETLK (wait false: -EAGAIN on a conflict) and F_SETLKW (wait: -EINTR
 * on a signal); type F_UNLCK unlocks. 0, or -ENOLCK without memory. */
int posix_lock_file(const void *key, const void *owner, int pid, int type, int64_t start,
		    int64_t end, bool wait);
/* Every lock owner holds on f's file goes (a close of an fd of it). */
void locks_remove_posix(const void *owner, struct kfile *f);

#endif
