/*
 * kernel/file.c - open file descriptions (see file.h), and the ops of the
 * ones open on SFS: regular files (read/write through the page cache or
 * O_DIRECT, at the kfile's position) and directories (read: -EISDIR,
 * getdents64 in kernel/sys_file.c). A symbolic link is never opened
 * (-ELOOP): kernel/sys_file.c follows links before it opens.
 */
#include "kernel/file.h"
#include "kernel/fs/fs.h"
#include "kernel/fs/procfs.h"
#include "kernel/fs/tmpfs.h"
#include "kernel/fs/devfs.h"
#include "kernel/sys_file.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "mm/kmalloc.h"

static atomic_t nr_live;

struct kfile *kfile_alloc(const struct file_operations *ops, enum kfile_type type, unsigned mode,
			  int flags)
{
	struct kfile *f = kzalloc(sizeof(*f));
	if (!f)
		return NULL;
	atomic_set(&f->count, 1);
	f->f_op = ops;
	f->type = type;
	f->f_mode = mode;
	f->f_flags = flags;
	rwsem_init(&f->pos_lock);
	atomic_inc(&nr_live);
	return f;
}

void kfile_put(struct kfile *f)
{
	if (!atomic_dec_and_test(&f->count))
		return;
	if (f->f_op && f->f_op->release)
		f->f_op->release(f);
	kfree(f->path);
	kfree(f);
	atomic_dec(&nr_live);
}

int kfile_nr_live(void)
{
	return atomic_read(&nr_live);
}

/* ---- SFS files and directories ------------------------------------------ */

static ssize_t sfs_kread(struct kfile *f, uint64_t ubuf, size_t len, uint64_t *pos)
{
	if (!len)
		return 0; /* O_DIRECT too (SFS's alignment check would say -EINVAL) */
	ssize_t r = vfs_pread_user(f->sfs, ubuf, len, *pos);
	if (r > 0)
		*pos += (uint64_t)r;
	return r;
}

static ssize_t sfs_kwrite(struct kfile *f, uint64_t ubuf, size_t len, uint64_t *pos)
{
	if (!len)
		return 0;
#ifndef MUTATION_APPEND_SIZE_UNLOCKED
	if (f->f_flags & O_APPEND)
		return vfs_append_user(f->sfs, ubuf, len, pos); /* the end, under the inode lock */
#else
	if (f->f_flags & O_APPEND)
		*pos = vfs_size(f->sfs); /* read before the lock: appenders overwrite each other */
#endif
	ssize_t r = vfs_pwrite_user(f->sfs, ubuf, len, *pos);
	if (r > 0)
		*pos += (uint64_t)r;
	return r;
}

static int64_t sfs_kllseek(struct kfile *f, int64_t off, int whence)
{
	f->sfs->pos = f->f_pos;
	int64_t r = vfs_lseek(f->sfs, off, whence);
	if (r >= 0)
		f->f_pos = (uint64_t)r;
	return r;
}

static ssize_t dir_kread(struct kfile *f, uint64_t ubuf, size_t len, uint64_t *pos)
{
	return -EISDIR;
}

static void sfs_krelease(struct kfile *f)
{
	if (f->sfs)
		vfs_close(f->sfs);
}

static const struct file_operations sfs_file_ops = {
	.read = sfs_kread,
	.write = sfs_kwrite,
	.llseek = sfs_kllseek,
	.release = sfs_krelease,
};

static const struct file_operations sfs_dir_ops = {
	.read = dir_kread,
	.llseek = sfs_kllseek,
	.release = sfs_krelease,
};

int kfile_open_path(const char *path, int flags, struct kfile **out)
{
	if (devfs_path(path)) /* /dev (kernel/fs/devfs.c) */
		return devfs_open(path, flags, false, out);
	if (procfs_path(path)) {
		char *redirect = kmalloc(PATH_MAX);
		if (!redirect)
			return -ENOMEM;
		int r = procfs_open(path, flags, false, out, redirect);
		if (r == 1) /* /proc/PID/exe: the program's file */
			r = kfile_open_path(redirect, flags, out);
		kfree(redirect);
		return r;
	}
	if (tmpfs_path(path))
		return tmpfs_open(path, flags, out);
	int acc = flags & O_ACCMODE;
	unsigned mode = FMODE_LSEEK;
	if (flags & O_PATH) {
		mode = FMODE_PATH;
		acc = O_RDONLY;
	} else {
		if (acc == O_RDONLY || acc == O_RDWR)
			mode |= FMODE_READ;
		if (acc == O_WRONLY || acc == O_RDWR)
			mode |= FMODE_WRITE;
	}
	/* SFS opens for write only when asked (acc 3 means neither, as Linux). */
	int sflags = (acc == 3 ? O_RDONLY : acc) | (flags & (O_DIRECT | O_CREAT));
	if (flags & O_PATH)
		sflags = O_RDONLY;
	struct file *sf;
	int err = vfs_open(path, sflags, &sf);
	if (err)
		return err;
	if (sf->inode->d.mode == SFS_S_IFLNK) { /* O_NOFOLLOW: not followed */
		vfs_close(sf);
		return -ELOOP;
	}
	bool dir = sf->inode->d.mode == SFS_S_IFDIR;
	struct kfile *f = kfile_alloc(
	    dir ? &sfs_dir_ops : &sfs_file_ops, dir ? KFILE_DIR : KFILE_REG, mode,
	    (flags & (O_ACCMODE | O_APPEND | O_NONBLOCK | O_DIRECT | O_LARGEFILE | O_PATH)));
	size_t plen = strlen(path);
	char *p = f ? kmalloc(plen + 1) : NULL;
	if (!p) {
		if (f)
			kfile_put(f); /* no release: sfs not set yet */
		vfs_close(sf);
		return -ENOMEM;
	}
	memcpy(p, path, plen + 1);
	f->path = p;
	f->sfs = sf;
	if (!dir)
		procfs_note_path(sf->inode->ino, path); /* names in /proc/PID/maps */
	*out = f;
	return 0;
}
