/*
 * kernel/fs/locks.c - POSIX record locks: fcntl(F_SETLK, F_SETLKW,
 * F_GETLK), as the POSIX part of Linux's fs/locks.c, much reduced.
 *
 * A lock has an owner (the fd table, as Linux's fl_owner = current->files:
 * the threads of a process share their locks, a fork child has none), the
 * pid F_GETLK reports (the locker's tgid), the file (its inode, so every
 * open of a file sees the same locks), a type (read or write) and a byte
 * range [start, end] (end INT64_MAX: to the end of any file). Two locks
 * conflict when their owners differ, their ranges overlap and one of them
 * is a write lock. Setting a lock replaces the owner's own locks over its
 * range (one that sticks out on either side is cut, or split in two);
 * F_UNLCK removes them. All of an owner's locks on a file go when it
 * closes any fd of that file (locks_remove_posix, from the fd table: close,
 * dup2 over it, execve's close-on-exec, exit): POSIX's rule, Linux's too.
 *
 * Lock: file_lock_lock, a spinlock over the one list of every lock (a
 * teaching kernel has few); list nodes are allocated before it is taken.
 * F_SETLKW waits by polling (10 ms sleeps) and gives -EINTR to a signal.
 * Not here: deadlock detection (-EDEADLK), merging adjacent locks of one
 * owner (F_GETLK reports the piece that conflicts), open file description
 * locks (F_OFD_*), flock(2), leases, mandatory locking.
 */
#include "kernel/fs/locks.h"
#include "kernel/file.h"
#include "kernel/fs/fs.h"
#include "kernel/memfd.h"
#include "kernel/list.h"
#include "kernel/spinlock.h"
#include "kernel/sched.h"
#include "kernel/errno.h"
#include "mm/kmalloc.h"

struct file_lock {
	struct list_head node;
	const void *key, *owner;
	int pid;
	int type; /* F_RDLCK, F_WRLCK */
	int64_t start, end;
};

static DEFINE_SPINLOCK(file_lock_lock);
static LIST_HEAD(file_locks);

const void *lock_key(struct kfile *f)
{
	if (is_memfd(f))
		return memfd_file_inode(f);
	if ((f->type == KFILE_REG || f->type == KFILE_DIR) && f->sfs)
		return f->sfs->inode;
	return f;
}

static bool overlap(const struct file_lock *l, int64_t start, int64_t end)
{
	return l->start <= end && start <= l->end;
}

/* The first lock of another owner that conflicts (file_lock_lock held). */
static struct file_lock *conflict(const void *key, const void *owner, int type, int64_t start,
				  int64_t end)
{
	struct file_lock *l;
	list_for_each_entry (l, &file_locks, node)
		if (l->key == key && l->owner != owner && overlap(l, start, end) &&
		    (l->type == F_WRLCK || type == F_WRLCK))
			return l;
	return NULL;
}

void posix_test_lock(const void *key, const void *owner, int type, int64_t start, int64_t end,
		     struct posix_lock_info *out)
{
	spin_lock(&file_lock_lock);
	struct file_lock *l = conflict(key, owner, type, start, end);
	out->type = l ? l->type : F_UNLCK;
	if (l) {
		out->start = l->start;
		out->end = l->end;
		out->pid = l->pid;
	}
	spin_unlock(&file_lock_lock);
}

int posix_lock_file(const void *key, const void *owner, int pid, int type, int64_t start,
		    int64_t end, bool wait)
{
	for (;;) {
		/* at most two new nodes: the lock, and the far part of a split one */
		struct file_lock *n1 = kzalloc(sizeof(*n1)), *n2 = kzalloc(sizeof(*n2));
		if (!n1 || !n2) {
			kfree(n1);
			kfree(n2);
			return -ENOLCK;
		}
		spin_lock(&file_lock_lock);
		if (type != F_UNLCK && conflict(key, owner, type, start, end)) {
			spin_unlock(&file_lock_lock);
			kfree(n1);
			kfree(n2);
			if (!wait)
				return -EAGAIN;
			if (signal_pending(current))
				return -EINTR;
			sleep_ms(10);
			continue;
		}
		struct file_lock *l, *tmp;
		list_for_each_entry_safe (l, tmp, &file_locks, node) {
			if (l->key != key || l->owner != owner || !overlap(l, start, end))
				continue;
			if (l->start < start && l->end > end) { /* split: the far part */
				*n2 = *l;
				n2->start = end + 1;
				list_add(&n2->node, &l->node);
				n2 = NULL;
				l->end = start - 1;
			} else if (l->start < start) {
				l->end = start - 1;
			} else if (l->end > end) {
				l->start = end + 1;
			} else {
				list_del(&l->node);
				kfree(l); /* kfree does not sleep */
			}
		}
		if (type != F_UNLCK) {
			n1->key = key;
			n1->owner = owner;
			n1->pid = pid;
			n1->type = type;
			n1->start = start;
			n1->end = end;
			list_add_tail(&n1->node, &file_locks);
			n1 = NULL;
		}
		spin_unlock(&file_lock_lock);
		kfree(n1);
		kfree(n2);
		return 0;
	}
}

void locks_remove_posix(const void *owner, struct kfile *f)
{
	const void *key = lock_key(f);
	struct file_lock *l, *tmp;
	spin_lock(&file_lock_lock);
	list_for_each_entry_safe (l, tmp, &file_locks, node)
		if (l->key == key && l->owner == owner) {
			list_del(&l->node);
			kfree(l);
		}
	spin_unlock(&file_lock_lock);
}
