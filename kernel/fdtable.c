/*
 * kernel/fdtable.c - per-process fd tables (see fdtable.h for the rules).
 */
#include "kernel/fdtable.h"
#include "kernel/fs/locks.h"
#include "kernel/file.h"
#include "kernel/sched.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "mm/kmalloc.h"
#include "kernel/panic.h"

#define WORDS(n) (((n) + 63) / 64)

static bool test_bit64(const uint64_t *m, unsigned i)
{
	return m[i / 64] & (1ull << (i % 64));
}
static void set_bit64(uint64_t *m, unsigned i)
{
	m[i / 64] |= 1ull << (i % 64);
}
static void clear_bit64(uint64_t *m, unsigned i)
{
	m[i / 64] &= ~(1ull << (i % 64));
}

/* Arrays for n fds, zeroed. */
static int alloc_arrays(unsigned n, struct kfile ***fd, uint64_t **open, uint64_t **cloexec)
{
	*fd = kzalloc(n * sizeof(**fd));
	*open = kzalloc(WORDS(n) * 8);
	*cloexec = kzalloc(WORDS(n) * 8);
	if (*fd && *open && *cloexec)
		return 0;
	kfree(*fd);
	kfree(*open);
	kfree(*cloexec);
	return -ENOMEM;
}

static struct files_struct *files_new(unsigned n)
{
	struct files_struct *f = kzalloc(sizeof(*f));
	if (!f)
		return NULL;
	if (alloc_arrays(n, &f->fd, &f->open_fds, &f->close_on_exec)) {
		kfree(f);
		return NULL;
	}
	atomic_set(&f->count, 1);
	spin_lock_init(&f->lock, "files");
	f->max_fds = n;
	f->rlimit = NR_OPEN_DEFAULT;
	return f;
}

struct files_struct *files_alloc(void)
{
	return files_new(NR_OPEN_INITIAL);
}

struct files_struct *dup_fd(struct files_struct *old, int *err)
{
	spin_lock(&old->lock);
	unsigned n = old->max_fds;
	spin_unlock(&old->lock);
	for (;;) {
		struct files_struct *f = files_new(n);
		if (!f) {
			*err = -ENOMEM;
			return NULL;
		}
		spin_lock(&old->lock);
		if (old->max_fds != n) { /* grew meanwhile */
			n = old->max_fds;
			spin_unlock(&old->lock);
			put_files(f);
			continue;
		}
		f->rlimit = old->rlimit;
		f->next_fd = old->next_fd;
		for (unsigned i = 0; i < n; i++) {
			/* a reserved fd without a file is not copied (Linux) */
			if (!old->fd[i])
				continue;
			f->fd[i] = old->fd[i];
			kfile_get(f->fd[i]);
			set_bit64(f->open_fds, i);
			if (test_bit64(old->close_on_exec, i))
				set_bit64(f->close_on_exec, i);
		}
		f->next_fd = 0;
		spin_unlock(&old->lock);
		return f;
	}
}

/* An fd of files is closed on f: the table's record locks on f's file go
 * (POSIX), then its reference. */
static void filp_close(struct files_struct *files, struct kfile *f)
{
#ifndef MUTATION_LOCKS_KEPT_ON_CLOSE
	locks_remove_posix(files, f);
#endif
	kfile_put(f);
}

void put_files(struct files_struct *f)
{
	if (!atomic_dec_and_test(&f->count))
		return;
	for (unsigned i = 0; i < f->max_fds; i++)
		if (f->fd[i])
			filp_close(f, f->fd[i]);
	kfree(f->fd);
	kfree(f->open_fds);
	kfree(f->close_on_exec);
	kfree(f);
}

struct files_struct *current_files(void)
{
	return current->files;
}

struct files_struct *set_current_files(struct files_struct *files)
{
	struct files_struct *old = current->files;
	current->files = files;
	return old;
}

/* Grow to hold fd `need` (lock held; dropped and retaken). 0 or -errno. */
static int expand_files(struct files_struct *files, unsigned need)
{
	unsigned n = files->max_fds;
	while (n <= need)
		n *= 2;
	n = MIN(n, files->rlimit);
	spin_unlock(&files->lock);
	struct kfile **fd;
	uint64_t *open, *cloexec;
	int err = alloc_arrays(n, &fd, &open, &cloexec);
	spin_lock(&files->lock);
	if (err)
		return err;
	if (files->max_fds >= n) { /* someone else grew it */
		spin_unlock(&files->lock);
		kfree(fd);
		kfree(open);
		kfree(cloexec);
		spin_lock(&files->lock);
		return 0;
	}
	unsigned old = files->max_fds;
	memcpy(fd, files->fd, old * sizeof(*fd));
	memcpy(open, files->open_fds, WORDS(old) * 8);
	memcpy(cloexec, files->close_on_exec, WORDS(old) * 8);
	struct kfile **ofd = files->fd;
	uint64_t *oopen = files->open_fds, *ocloexec = files->close_on_exec;
	files->fd = fd;
	files->open_fds = open;
	files->close_on_exec = cloexec;
	files->max_fds = n;
	spin_unlock(&files->lock);
	kfree(ofd);
	kfree(oopen);
	kfree(ocloexec);
	spin_lock(&files->lock);
	return 0;
}

int fd_alloc(struct files_struct *files, unsigned minfd, bool cloexec)
{
	if (!files)
		return -EMFILE;
	spin_lock(&files->lock);
	if (minfd >= files->rlimit) {
		spin_unlock(&files->lock);
		return -EINVAL;
	}
	for (;;) {
		unsigned fd = MAX(minfd, files->next_fd);
		while (fd < files->max_fds && test_bit64(files->open_fds, fd))
			fd++;
		if (fd >= files->rlimit) {
			spin_unlock(&files->lock);
			return -EMFILE;
		}
		if (fd >= files->max_fds) {
			int err = expand_files(files, fd);
			if (err) {
				spin_unlock(&files->lock);
				return err;
			}
			continue; /* the table may have changed meanwhile */
		}
		set_bit64(files->open_fds, fd);
		if (cloexec)
			set_bit64(files->close_on_exec, fd);
		else
			clear_bit64(files->close_on_exec, fd);
		if (minfd <= files->next_fd)
			files->next_fd = fd + 1;
		spin_unlock(&files->lock);
		return (int)fd;
	}
}

void fd_install(struct files_struct *files, unsigned fd, struct kfile *f)
{
	spin_lock(&files->lock);
	BUG_ON(fd >= files->max_fds || !test_bit64(files->open_fds, fd) || files->fd[fd]);
	files->fd[fd] = f;
	spin_unlock(&files->lock);
}

/* fd's bit cleared (lock held). */
static void __put_unused_fd(struct files_struct *files, unsigned fd)
{
	clear_bit64(files->open_fds, fd);
	clear_bit64(files->close_on_exec, fd);
#ifndef MUTATION_FD_NEXT_NOT_LOWERED
	if (fd < files->next_fd)
		files->next_fd = fd; /* the lowest free fd is handed out next */
#endif
}

void put_unused_fd(struct files_struct *files, unsigned fd)
{
	spin_lock(&files->lock);
	__put_unused_fd(files, fd);
	spin_unlock(&files->lock);
}

struct kfile *fget(struct files_struct *files, int fd)
{
	if (!files || fd < 0)
		return NULL;
	spin_lock(&files->lock);
	struct kfile *f = (unsigned)fd < files->max_fds ? files->fd[fd] : NULL;
	if (f)
		kfile_get(f);
	spin_unlock(&files->lock);
	return f;
}

int close_fd(struct files_struct *files, int fd)
{
	if (!files || fd < 0)
		return -EBADF;
	spin_lock(&files->lock);
	struct kfile *f = (unsigned)fd < files->max_fds ? files->fd[fd] : NULL;
	if (f) {
		files->fd[fd] = NULL;
		__put_unused_fd(files, (unsigned)fd);
	}
	spin_unlock(&files->lock);
	if (!f)
		return -EBADF;
	filp_close(files, f);
	return 0;
}

int do_dup2(struct files_struct *files, int oldfd, int newfd, bool cloexec)
{
	if (!files || newfd < 0)
		return -EBADF;
	spin_lock(&files->lock);
	if ((unsigned)newfd >= files->rlimit) {
		spin_unlock(&files->lock);
		return -EBADF;
	}
	while ((unsigned)newfd >= files->max_fds) {
		int err = expand_files(files, (unsigned)newfd);
		if (err) {
			spin_unlock(&files->lock);
			return err;
		}
	}
	struct kfile *f = oldfd >= 0 && (unsigned)oldfd < files->max_fds ? files->fd[oldfd] : NULL;
	if (!f) {
		spin_unlock(&files->lock);
		return -EBADF;
	}
	struct kfile *victim = files->fd[newfd];
	if (!victim && test_bit64(files->open_fds, (unsigned)newfd)) {
		spin_unlock(&files->lock); /* reserved by an open in progress (Linux: EBUSY) */
		return -EBUSY;
	}
	kfile_get(f);
	files->fd[newfd] = f;
	set_bit64(files->open_fds, (unsigned)newfd);
	if (cloexec)
		set_bit64(files->close_on_exec, (unsigned)newfd);
	else
		clear_bit64(files->close_on_exec, (unsigned)newfd);
	spin_unlock(&files->lock);
	if (victim)
		filp_close(files, victim);
	return newfd;
}

int get_close_on_exec(struct files_struct *files, int fd)
{
	if (!files || fd < 0)
		return -EBADF;
	spin_lock(&files->lock);
	int r = (unsigned)fd < files->max_fds && files->fd[fd]
		    ? test_bit64(files->close_on_exec, (unsigned)fd)
		    : -EBADF;
	spin_unlock(&files->lock);
	return r;
}

int set_close_on_exec(struct files_struct *files, int fd, bool on)
{
	if (!files || fd < 0)
		return -EBADF;
	spin_lock(&files->lock);
	int r = (unsigned)fd < files->max_fds && files->fd[fd] ? 0 : -EBADF;
	if (!r && on)
		set_bit64(files->close_on_exec, (unsigned)fd);
	else if (!r)
		clear_bit64(files->close_on_exec, (unsigned)fd);
	spin_unlock(&files->lock);
	return r;
}

void do_close_on_exec(struct files_struct *files)
{
	for (unsigned fd = 0;; fd++) {
		spin_lock(&files->lock);
		if (fd >= files->max_fds) {
			spin_unlock(&files->lock);
			return;
		}
		struct kfile *f = NULL;
		if (files->fd[fd] && test_bit64(files->close_on_exec, fd)) {
			f = files->fd[fd];
			files->fd[fd] = NULL;
			__put_unused_fd(files, fd);
		}
		spin_unlock(&files->lock);
		if (f)
			filp_close(files, f);
	}
}

int files_count_open(struct files_struct *files)
{
	int n = 0;
	spin_lock(&files->lock);
	for (unsigned i = 0; i < files->max_fds; i++)
		n += files->fd[i] != NULL;
	spin_unlock(&files->lock);
	return n;
}
