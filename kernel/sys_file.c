/*
 * kernel/sys_file.c - the file system calls (prototypes and structures in
 * sys_file.h), on the fd table of kernel/fdtable.c and the kfiles of
 * kernel/file.c, kernel/pipe.c and kernel/console_file.c.
 *
 * Linux 6.1 semantics, errno for errno, in Linux's order of checks (a bad
 * fd before a bad pointer, a bad pointer before an empty transfer, ...).
 * Every user pointer goes through arch/x86_64/uaccess.h: a NULL, kernel,
 * unmapped or wrapping range is -EFAULT and nothing is written; a path is
 * copied in page-bounded pieces so a string that ends before an unmapped
 * page is read whole.
 *
 * Paths: the working directory is "/" for now (no fs_struct yet); a path
 * relative to a dirfd is resolved against the path the directory was
 * opened by. "." and ".." and repeated slashes are resolved lexically
 * (there are no symlinks). SFS has no permissions, owners or times: stat
 * reports mode 0755 (directories and files, so execve finds files
 * executable), uid/gid 0, times 0, and st_blocks from the size (holes are
 * counted).
 *
 * Where this differs from Linux 6.1 (to do when the pieces exist):
 *   - O_CREAT|O_DIRECTORY is -EINVAL (Linux 6.4 and later; 6.1 created a
 *     regular file and then failed with -ENOTDIR);
 *   - O_TMPFILE is -EOPNOTSUPP (SFS has no tmpfile); pipe2(O_DIRECT)
 *     (packet mode) is -EINVAL.
 */
#include "kernel/sys_file.h"
#include "kernel/file.h"
#include "kernel/fdtable.h"
#include "kernel/pipe.h"
#include "kernel/console_file.h"
#include "kernel/fs/fs.h"
#include "kernel/fs/procfs.h"
#include "kernel/fs/devfs.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "arch/x86_64/uaccess.h"
#include "mm/kmalloc.h"

_Static_assert(sizeof(struct linux_stat) == 144, "struct stat is 144 bytes on x86-64");
_Static_assert(__builtin_offsetof(struct linux_stat, st_mode) == 24, "st_mode");
_Static_assert(__builtin_offsetof(struct linux_stat, st_rdev) == 40, "st_rdev");
_Static_assert(__builtin_offsetof(struct linux_stat, st_size) == 48, "st_size");
_Static_assert(__builtin_offsetof(struct linux_stat, st_atime) == 72, "st_atime");
_Static_assert(sizeof(struct linux_dirent64) == 24, "dirent64 header (19 bytes, padded)");
_Static_assert(__builtin_offsetof(struct linux_dirent64, d_name) == 19, "d_name");

/* ---- paths ----------------------------------------------------------------- */

/* Copy the NUL-terminated user string at upath into buf[PATH_MAX]: length,
 * or -EFAULT, -ENAMETOOLONG, -ENOENT (empty, unless empty_ok). */
static long getname(uint64_t upath, char *buf, bool empty_ok)
{
	size_t done = 0;
	while (done < PATH_MAX) {
		uint64_t a = upath + done;
#ifdef MUTATION_GETNAME_WHOLE_PATH
		size_t chunk = PATH_MAX; /* one copy: faults on a page past the name */
#else
		size_t chunk = MIN(PATH_MAX - done, PAGE_SIZE - (a & (PAGE_SIZE - 1)));
#endif
		if (a < upath || copy_from_user(buf + done, a, chunk))
			return -EFAULT;
		for (size_t i = 0; i < chunk; i++)
			if (!buf[done + i]) {
				if (!done && !i && !empty_ok)
					return -ENOENT;
				return (long)(done + i);
			}
		done += chunk;
	}
	return -ENAMETOOLONG;
}

/* Append the components of name to out (an absolute, normalized path of
 * length *len), resolving "." and ".." lexically. */
static int path_append(char *out, size_t *len, const char *name)
{
	const char *p = name;
	while (*p) {
		while (*p == '/')
			p++;
		const char *e = p;
		while (*e && *e != '/')
			e++;
		size_t n = (size_t)(e - p);
		if (!n)
			break;
		if (n > 255)
			return -ENAMETOOLONG;
		if (n == 1 && p[0] == '.') {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (*len > 0 && out[*len - 1] != '/')
				(*len)--;
			if (*len > 0)
				(*len)--; /* the slash */
		} else {
			if (*len + 1 + n >= PATH_MAX)
				return -ENAMETOOLONG;
			out[(*len)++] = '/';
			memcpy(out + *len, p, n);
			*len += n;
		}
		p = e;
	}
	return 0;
}

/* The absolute normalized path (in out[PATH_MAX]) of name relative to
 * dirfd; *dir_only: the name ends with a slash (must be a directory). */
static int resolve(int dirfd, const char *name, char *out, bool *dir_only)
{
	size_t len = 0, nlen = strlen(name);
	*dir_only = nlen && name[nlen - 1] == '/';
	if (name[0] != '/' && dirfd != AT_FDCWD) {
		struct kfile *d = fget(current_files(), dirfd);
		if (!d)
			return -EBADF;
		int err = 0;
		if (d->type != KFILE_DIR && !procfs_is_dir(d) && !devfs_is_dir(d))
			err = -ENOTDIR;
		else
			err = path_append(out, &len, d->path);
		kfile_put(d);
		if (err)
			return err;
	}
	int err = path_append(out, &len, name);
	if (err)
		return err;
	if (!len)
		out[len++] = '/';
	out[len] = 0;
	return 0;
}

/* What is at path: 0 with *is_dir (and *ino), or -errno. */
static int probe(const char *path, bool *is_dir, uint32_t *ino)
{
	struct file *f;
	int err = vfs_open(path, O_RDONLY, &f);
	if (err)
		return err;
	*is_dir = f->inode->d.mode == SFS_S_IFDIR;
	if (ino)
		*ino = f->inode->ino;
	vfs_close(f);
	return 0;
}

long getname_resolved(uint64_t upath, char *out)
{
	char *name = kmalloc(PATH_MAX);
	if (!name)
		return -ENOMEM;
	long n = getname(upath, name, false);
	bool dir_only;
	if (n >= 0)
		n = resolve(AT_FDCWD, name, out, &dir_only);
	kfree(name);
	return n;
}

/* Both a kernel buffer of PATH_MAX for the name and one for the path. */
struct pathbufs {
	char name[PATH_MAX], path[PATH_MAX];
};

/* Copy and resolve a user path into a new pathbufs (kfree it). */
static long get_path(int dirfd, uint64_t upath, struct pathbufs **out, bool *dir_only,
		     bool empty_ok)
{
	struct pathbufs *b = kmalloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
	long n = getname(upath, b->name, empty_ok);
	if (n < 0 || (n == 0 && empty_ok)) {
		if (n == 0) {
			*out = b;
			return 0;
		}
		kfree(b);
		return n;
	}
	int err = resolve(dirfd, b->name, b->path, dir_only);
	if (err) {
		kfree(b);
		return err;
	}
	*out = b;
	return n;
}

/* ---- open, close ----------------------------------------------------------- */

long sys_openat(int dirfd, uint64_t upath, int flags, unsigned mode)
{
	struct files_struct *files = current_files();
	int acc = flags & O_ACCMODE;
	if (flags & O_TMPFILE)
		return (flags & O_DIRECTORY) && (acc == O_WRONLY || acc == O_RDWR) ? -EOPNOTSUPP
										   : -EINVAL;
	if ((flags & O_CREAT) && (flags & O_DIRECTORY))
		return -EINVAL;
	if (flags & O_PATH)
		flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	flags |= O_LARGEFILE; /* always, on 64-bit (force_o_largefile) */
	struct pathbufs *b;
	bool dir_only = false;
	long err = get_path(dirfd, upath, &b, &dir_only, false);
	if (err < 0)
		return err;
	int fd = fd_alloc(files, 0, flags & O_CLOEXEC);
	if (fd < 0) {
		kfree(b);
		return fd == -EINVAL ? -EMFILE : fd;
	}
	if (procfs_path(b->path)) {
		struct kfile *pf = NULL;
		err = procfs_open(b->path, flags, dir_only, &pf, b->name);
		if (err == 1) { /* /proc/PID/exe followed: the program's file */
			memmove(b->path, b->name, strlen(b->name) + 1);
			err = 0;
		} else {
			kfree(b);
			if (err) {
				put_unused_fd(files, (unsigned)fd);
				return err;
			}
			fd_install(files, (unsigned)fd, pf);
			return fd;
		}
	}
	if (devfs_path(b->path)) { /* /dev (kernel/fs/devfs.c) */
		struct kfile *df = NULL;
		err = devfs_open(b->path, flags, dir_only, &df);
		kfree(b);
		if (err)
			put_unused_fd(files, (unsigned)fd);
		else
			fd_install(files, (unsigned)fd, df);
		return err ? err : fd;
	}
	bool is_dir = false, create = false;
	err = probe(b->path, &is_dir, NULL);
	if ((flags & O_CREAT) && dir_only && (!err || err == -ENOENT)) {
		err = -EISDIR; /* O_CREAT and a trailing slash (open_last_lookups) */
	} else if (err == -ENOENT && (flags & O_CREAT)) {
		err = 0;
		create = true;
	} else if (!err) {
		if ((flags & O_CREAT) && (flags & O_EXCL))
			err = -EEXIST;
		else if (is_dir && (flags & O_CREAT))
			err = -EISDIR;
		else if (is_dir && !(flags & O_PATH) && (acc != O_RDONLY || (flags & O_TRUNC)))
			err = -EISDIR;
		else if (!is_dir && ((flags & O_DIRECTORY) || dir_only))
			err = -ENOTDIR;
	}
	struct kfile *f = NULL;
	if (!err)
		err = kfile_open_path(b->path, flags | (create ? O_CREAT : 0), &f);
	/* O_TRUNC truncates a regular file even when opened read-only (Linux:
	 * O_TRUNC asks for write permission, and SFS has no permissions). */
	if (!err && f->type == KFILE_REG && (flags & O_TRUNC) && !(flags & O_PATH) &&
	    acc == O_RDONLY)
		err = vfs_truncate(f->sfs, 0);
	kfree(b);
	if (err) {
		if (f)
			kfile_put(f);
		put_unused_fd(files, (unsigned)fd);
		return err;
	}
	fd_install(files, (unsigned)fd, f);
	return fd;
}

long sys_open(uint64_t path, int flags, unsigned mode)
{
	return sys_openat(AT_FDCWD, path, flags, mode);
}

long sys_creat(uint64_t path, unsigned mode)
{
	return sys_openat(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

long sys_close(unsigned fd)
{
	return close_fd(current_files(), (int)fd);
}

/* ---- read and write ---------------------------------------------------------- */

/* One transfer on f at pos (NULL: the file position, locked). */
static long do_rw(struct kfile *f, uint64_t buf, uint64_t count, int64_t *ppos, bool write)
{
	if ((f->f_mode & FMODE_PATH) || !(f->f_mode & (write ? FMODE_WRITE : FMODE_READ)))
		return -EBADF;
	if (!(write ? f->f_op->write : f->f_op->read))
		return -EINVAL;
#ifndef MUTATION_RW_NO_ACCESS_OK
	/* the whole range first: a wrapping or kernel range is -EFAULT even
	 * when the transfer would stop before reaching its bad part */
	if (!access_ok(buf, count))
		return -EFAULT;
#endif
	count = MIN(count, MAX_RW_COUNT);
	long r;
	if (ppos) {
		uint64_t pos = (uint64_t)*ppos;
		r = write ? f->f_op->write(f, buf, count, &pos)
			  : f->f_op->read(f, buf, count, &pos);
	} else if (f->f_mode & FMODE_LSEEK) {
		down_write(&f->pos_lock);
		uint64_t pos = f->f_pos;
		r = write ? f->f_op->write(f, buf, count, &pos)
			  : f->f_op->read(f, buf, count, &pos);
		f->f_pos = pos;
		up_write(&f->pos_lock);
	} else {
		r = write ? f->f_op->write(f, buf, count, NULL)
			  : f->f_op->read(f, buf, count, NULL);
	}
	return r;
}

static long ksys_rw(unsigned fd, uint64_t buf, uint64_t count, bool write)
{
	struct kfile *f = fget(current_files(), (int)fd);
	if (!f)
		return -EBADF;
	long r = do_rw(f, buf, count, NULL, write);
	kfile_put(f);
	return r;
}

long sys_read(unsigned fd, uint64_t buf, uint64_t count)
{
	return ksys_rw(fd, buf, count, false);
}

long sys_write(unsigned fd, uint64_t buf, uint64_t count)
{
	return ksys_rw(fd, buf, count, true);
}

static long ksys_prw(unsigned fd, uint64_t buf, uint64_t count, int64_t pos, bool write)
{
	if (pos < 0)
		return -EINVAL;
	struct kfile *f = fget(current_files(), (int)fd);
	if (!f)
		return -EBADF;
	long r = f->f_mode & FMODE_LSEEK ? do_rw(f, buf, count, &pos, write) : -ESPIPE;
	if (f->f_mode & FMODE_PATH)
		r = -EBADF;
	kfile_put(f);
	return r;
}

long sys_pread64(unsigned fd, uint64_t buf, uint64_t count, int64_t pos)
{
	return ksys_prw(fd, buf, count, pos, false);
}

long sys_pwrite64(unsigned fd, uint64_t buf, uint64_t count, int64_t pos)
{
	return ksys_prw(fd, buf, count, pos, true);
}

static long ksys_rwv(unsigned fd, uint64_t uiov, uint64_t iovcnt, bool write)
{
	struct kfile *f = fget(current_files(), (int)fd);
	if (!f)
		return -EBADF;
	long r = 0;
	struct iovec_user *iov = NULL;
	if ((f->f_mode & FMODE_PATH) || !(f->f_mode & (write ? FMODE_WRITE : FMODE_READ))) {
		r = -EBADF;
		goto out;
	}
	if (iovcnt > UIO_MAXIOV) {
		r = -EINVAL;
		goto out;
	}
	if (!iovcnt)
		goto out;
	iov = kmalloc(iovcnt * sizeof(*iov));
	if (!iov) {
		r = -ENOMEM;
		goto out;
	}
	if (copy_from_user(iov, uiov, iovcnt * sizeof(*iov))) {
		r = -EFAULT;
		goto out;
	}
	uint64_t total = 0;
	for (uint64_t i = 0; i < iovcnt; i++) {
		if ((int64_t)iov[i].iov_len < 0) {
			r = -EINVAL;
			goto out;
		}
		if (!access_ok(iov[i].iov_base, iov[i].iov_len)) {
			r = -EFAULT;
			goto out;
		}
		if (iov[i].iov_len > MAX_RW_COUNT - total)
			iov[i].iov_len = MAX_RW_COUNT - total;
		total += iov[i].iov_len;
	}
	bool seekable = f->f_mode & FMODE_LSEEK;
	if (seekable)
		down_write(&f->pos_lock);
	uint64_t pos = f->f_pos, done = 0;
	for (uint64_t i = 0; i < iovcnt; i++) {
		if (!iov[i].iov_len)
			continue;
		uint64_t *pp = seekable ? &pos : NULL;
		long n = write ? f->f_op->write(f, iov[i].iov_base, iov[i].iov_len, pp)
			       : f->f_op->read(f, iov[i].iov_base, iov[i].iov_len, pp);
		if (n < 0) {
			if (!done)
				r = n;
			break;
		}
		done += (uint64_t)n;
		if ((uint64_t)n < iov[i].iov_len)
			break;
	}
	if (seekable) {
		f->f_pos = pos;
		up_write(&f->pos_lock);
	}
	if (done)
		r = (long)done;
out:
	kfree(iov);
	kfile_put(f);
	return r;
}

long sys_readv(unsigned fd, uint64_t iov, uint64_t iovcnt)
{
	return ksys_rwv(fd, iov, iovcnt, false);
}

long sys_writev(unsigned fd, uint64_t iov, uint64_t iovcnt)
{
	return ksys_rwv(fd, iov, iovcnt, true);
}

long sys_lseek(unsigned fd, int64_t offset, unsigned whence)
{
	struct kfile *f = fget(current_files(), (int)fd);
	if (!f)
		return -EBADF;
	long r;
	if (f->f_mode & FMODE_PATH)
		r = -EBADF;
	else if (!(f->f_mode & FMODE_LSEEK) || !f->f_op->llseek)
		r = -ESPIPE;
	else if (whence > SEEK_HOLE)
		r = -EINVAL;
	else if ((whence == SEEK_DATA || whence == SEEK_HOLE) && f->type != KFILE_PROC) {
		uint64_t size = vfs_size(f->sfs);
		if (offset < 0 || (uint64_t)offset >= size)
			r = -ENXIO;
		else {
			r = whence == SEEK_DATA ? offset : (long)size; /* no hole detection */
			down_write(&f->pos_lock);
			f->f_pos = (uint64_t)r;
			up_write(&f->pos_lock);
		}
	} else {
		down_write(&f->pos_lock);
		r = f->f_op->llseek(f, offset, (int)whence);
		up_write(&f->pos_lock);
	}
	kfile_put(f);
	return r;
}

/* ---- stat ---------------------------------------------------------------------- */

static void fill_stat_inode(struct linux_stat *st, struct inode *inode)
{
	bool dir = inode->d.mode == SFS_S_IFDIR;
	st->st_dev = 0x801; /* a block device's number, as Linux's sda1 */
	st->st_ino = inode->ino;
	st->st_nlink = inode->d.nlink;
	st->st_mode = (dir ? S_IFDIR : S_IFREG) | 0755;
	st->st_size = (int64_t)i_size_read(inode);
	st->st_blksize = 4096;
	st->st_blocks = (int64_t)(DIV_ROUND_UP((uint64_t)st->st_size, 4096) * 8);
}

static void fill_stat(struct linux_stat *st, struct kfile *f)
{
	memset(st, 0, sizeof(*st)); /* no uninitialized byte reaches the user */
	switch (f->type) {
	case KFILE_REG:
	case KFILE_DIR:
		fill_stat_inode(st, f->sfs->inode);
		break;
	case KFILE_PIPE:
		st->st_dev = 0xc; /* pipefs */
		st->st_ino = f->pipe->ino;
		st->st_nlink = 1;
		st->st_mode = S_IFIFO | 0600;
		st->st_blksize = 4096;
		break;
	case KFILE_CONSOLE:
		if (devfs_fstat(f, st))
			break;
		st->st_dev = 0x5; /* devtmpfs */
		st->st_ino = 3;
		st->st_nlink = 1;
		st->st_mode = S_IFCHR | 0620;
		st->st_rdev = (4 << 8) | 64; /* ttyS0: major 4, minor 64 */
		st->st_blksize = 1024;
		break;
	case KFILE_PROC:
		procfs_fstat(f, st);
		break;
	}
}

long sys_fstat(unsigned fd, uint64_t statbuf)
{
	struct kfile *f = fget(current_files(), (int)fd);
	if (!f)
		return -EBADF;
	struct linux_stat st;
	fill_stat(&st, f);
	kfile_put(f);
	return copy_to_user(statbuf, &st, sizeof(st));
}

long sys_newfstatat(int dirfd, uint64_t upath, uint64_t statbuf, int flags)
{
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE))
		return -EINVAL;
	struct pathbufs *b;
	bool dir_only = false;
	long n = get_path(dirfd, upath, &b, &dir_only, flags & AT_EMPTY_PATH);
	if (n < 0)
		return n;
	struct linux_stat st;
	long err = 0;
	if (n == 0) { /* AT_EMPTY_PATH with "": dirfd itself (AT_FDCWD: "/") */
		if (dirfd != AT_FDCWD) {
			kfree(b);
			return sys_fstat((unsigned)dirfd, statbuf);
		}
		memcpy(b->path, "/", 2);
	}
	if (devfs_path(b->path)) { /* /dev (kernel/fs/devfs.c) */
		err = devfs_stat(b->path, dir_only, &st);
		kfree(b);
		return err ? err : copy_to_user(statbuf, &st, sizeof(st));
	}
	if (procfs_path(b->path)) {
		err = procfs_stat(b->path, !(flags & AT_SYMLINK_NOFOLLOW), dir_only, &st, b->name);
		if (err == 1) { /* /proc/PID/exe followed: the program's file */
			memmove(b->path, b->name, strlen(b->name) + 1);
		} else {
			kfree(b);
			if (err)
				return err;
			return copy_to_user(statbuf, &st, sizeof(st));
		}
	}
	struct file *sf;
	err = vfs_open(b->path, O_RDONLY, &sf);
	kfree(b);
	if (err)
		return err;
	if (dir_only && sf->inode->d.mode != SFS_S_IFDIR) {
		vfs_close(sf);
		return -ENOTDIR;
	}
	memset(&st, 0, sizeof(st));
	fill_stat_inode(&st, sf->inode);
	vfs_close(sf);
	return copy_to_user(statbuf, &st, sizeof(st));
}

long sys_stat(uint64_t path, uint64_t statbuf)
{
	return sys_newfstatat(AT_FDCWD, path, statbuf, 0);
}

long sys_lstat(uint64_t path, uint64_t statbuf)
{
	return sys_newfstatat(AT_FDCWD, path, statbuf, AT_SYMLINK_NOFOLLOW);
}

/* ---- size, sync, advice ------------------------------------------------------- */

long sys_ftruncate(unsigned fd, int64_t length)
{
	if (length < 0)
		return -EINVAL;
	struct kfile *f = fget(current_files(), (int)fd);
	if (!f)
		return -EBADF;
	long r;
	if (f->f_mode & FMODE_PATH)
		r = -EBADF;
	else if (f->type != KFILE_REG || !(f->f_mode & FMODE_WRITE))
		r = -EINVAL;
	else
		r = vfs_truncate(f->sfs, (uint64_t)length);
	kfile_put(f);
	return r;
}

static long do_fsync(unsigned fd, bool datasync)
{
	struct kfile *f = fget(current_files(), (int)fd);
	if (!f)
		return -EBADF;
	long r;
	if (f->f_mode & FMODE_PATH)
		r = -EBADF;
	else if (f->type != KFILE_REG && f->type != KFILE_DIR)
		r = -EINVAL;
	else
		r = datasync ? vfs_fdatasync(f->sfs) : vfs_fsync(f->sfs);
	kfile_put(f);
	return r;
}

long sys_fsync(unsigned fd)
{
	return do_fsync(fd, false);
}

long sys_fdatasync(unsigned fd)
{
	return do_fsync(fd, true);
}

long sys_fadvise64(int fd, int64_t offset, int64_t len, int advice)
{
	struct kfile *f = fget(current_files(), fd);
	if (!f)
		return -EBADF;
	long r = 0;
	if (f->f_mode & FMODE_PATH)
		r = -EBADF;
	else if (f->type == KFILE_PIPE)
		r = -ESPIPE;
	else if (len < 0 || advice < 0 || advice > 5)
		r = -EINVAL;
	else if (advice == POSIX_FADV_DONTNEED && f->type == KFILE_REG && offset >= 0)
		vfs_fadvise_dontneed(f->sfs, (uint64_t)offset, (uint64_t)len);
	kfile_put(f);
	return r;
}

/* ---- namespace ---------------------------------------------------------------- */

long sys_unlinkat(int dirfd, uint64_t upath, int flags)
{
	if (flags & ~AT_REMOVEDIR)
		return -EINVAL;
	struct pathbufs *b;
	bool dir_only = false, is_dir = false;
	long err = get_path(dirfd, upath, &b, &dir_only, false);
	if (err < 0)
		return err;
	bool rmdir = flags & AT_REMOVEDIR;
	err = probe(b->path, &is_dir, NULL);
	if (!err && !strcmp(b->path, "/"))
		err = rmdir ? -EBUSY : -EISDIR;
	else if (!err && rmdir && !is_dir)
		err = -ENOTDIR;
	else if (!err && !rmdir && is_dir)
		err = -EISDIR;
	else if (!err && !rmdir && dir_only)
		err = -ENOTDIR;
	if (!err)
		err = vfs_unlink(b->path);
	kfree(b);
	return err;
}

long sys_unlink(uint64_t path)
{
	return sys_unlinkat(AT_FDCWD, path, 0);
}

long sys_rmdir(uint64_t path)
{
	return sys_unlinkat(AT_FDCWD, path, AT_REMOVEDIR);
}

long sys_mkdirat(int dirfd, uint64_t upath, unsigned mode)
{
	struct pathbufs *b;
	bool dir_only = false;
	long err = get_path(dirfd, upath, &b, &dir_only, false);
	if (err < 0)
		return err;
	err = strcmp(b->path, "/") ? vfs_mkdir(b->path) : -EEXIST;
	kfree(b);
	return err;
}

long sys_mkdir(uint64_t path, unsigned mode)
{
	return sys_mkdirat(AT_FDCWD, path, mode);
}

/* getdents64: positions 0 and 1 are "." and "..", position k >= 2 is the
 * directory's entry slot k - 2 and on. */
long sys_getdents64(unsigned fd, uint64_t dirp, unsigned count)
{
	struct kfile *f = fget(current_files(), (int)fd);
	if (!f)
		return -EBADF;
	long r = 0;
	if (f->f_mode & FMODE_PATH) {
		r = -EBADF;
		goto out;
	}
	if (f->type == KFILE_PROC) {
		r = procfs_is_dir(f) ? procfs_getdents64(f, dirp, count) : -ENOTDIR;
		goto out;
	}
	if (devfs_is_dir(f)) { /* /dev (kernel/fs/devfs.c) */
		r = devfs_getdents64(f, dirp, count);
		goto out;
	}
	if (f->type != KFILE_DIR) {
		r = -ENOTDIR;
		goto out;
	}
	if (!access_ok(dirp, count)) {
		r = -EFAULT;
		goto out;
	}
	down_write(&f->pos_lock);
	uint64_t pos = f->f_pos, written = 0;
	for (;;) {
		char name[SFS_NAME_MAX + 1];
		uint32_t ino;
		bool is_dir = true;
		uint64_t next;
		if (pos == 0) {
			memcpy(name, ".", 2);
			ino = f->sfs->inode->ino;
			next = 1;
		} else if (pos == 1) {
			/* the parent: the path without its last component */
			size_t len = strlen(f->path);
			char *parent = kmalloc(len + 2);
			memcpy(name, "..", 3);
			ino = f->sfs->inode->ino;
			if (parent) {
				memcpy(parent, f->path, len + 1);
				while (len > 1 && parent[len - 1] != '/')
					len--;
				parent[len > 1 ? len - 1 : 1] = 0;
				probe(parent, &is_dir, &ino);
				kfree(parent);
			}
			is_dir = true;
			next = 2;
		} else {
			uint64_t slot = pos - 2;
			int k = vfs_dir_next(f->sfs, &slot, name, &ino, &is_dir);
			if (k < 0) {
				if (!written)
					r = k;
				break;
			}
			if (!k)
				break;
			next = slot + 3;
		}
		size_t nlen = strlen(name);
		size_t reclen =
		    ALIGN_UP(__builtin_offsetof(struct linux_dirent64, d_name) + nlen + 1, 8);
		if (written + reclen > count) {
			if (!written)
				r = -EINVAL; /* the buffer cannot hold one entry */
			break;
		}
		uint8_t rec[ALIGN_UP(sizeof(struct linux_dirent64) + SFS_NAME_MAX + 1, 8)];
#ifdef MUTATION_DIRENT_PAD_UNINIT
		memset(rec, 0, sizeof(struct linux_dirent64)); /* the padding keeps old bytes */
#else
		memset(rec, 0, reclen); /* no kernel byte leaks through the padding */
#endif
		struct linux_dirent64 *d = (struct linux_dirent64 *)rec;
		d->d_ino = ino;
		d->d_off = (int64_t)next;
		d->d_reclen = (uint16_t)reclen;
		d->d_type = is_dir ? DT_DIR : DT_REG;
		memcpy(d->d_name, name, nlen + 1);
		if (copy_to_user(dirp + written, rec, reclen)) {
			if (!written)
				r = -EFAULT;
			break;
		}
		written += reclen;
		pos = next;
	}
	f->f_pos = pos;
	up_write(&f->pos_lock);
	if (written)
		r = (long)written;
out:
	kfile_put(f);
	return r;
}

/*
 * readlinkat (Linux's do_readlinkat): bufsiz <= 0 is -EINVAL first; then
 * the path, its last component not followed; a symbolic link (only /proc
 * has any) gives its target, not NUL-terminated, cut to bufsiz; anything
 * else that exists is -EINVAL (SFS has no links).
 */
long sys_readlinkat(int dirfd, uint64_t upath, uint64_t ubuf, int bufsiz)
{
	if (bufsiz <= 0)
		return -EINVAL;
	struct pathbufs *b;
	bool dir_only = false;
	long err = get_path(dirfd, upath, &b, &dir_only, false);
	if (err < 0)
		return err;
	if (procfs_path(b->path)) {
		err = procfs_readlink(b->path, ubuf, bufsiz);
	} else {
		bool is_dir;
		err = probe(b->path, &is_dir, NULL);
		if (!err)
			err = dir_only && !is_dir ? -ENOTDIR : -EINVAL;
	}
	kfree(b);
	return err;
}

long sys_readlink(uint64_t path, uint64_t buf, int bufsiz)
{
	return sys_readlinkat(AT_FDCWD, path, buf, bufsiz);
}

/* ---- fds ------------------------------------------------------------------------ */

static long dupfd_from(unsigned fd, unsigned minfd, bool cloexec)
{
	struct files_struct *files = current_files();
	struct kfile *f = fget(files, (int)fd);
	if (!f)
		return -EBADF;
	int nfd = fd_alloc(files, minfd, cloexec);
	if (nfd < 0) {
		kfile_put(f);
		return nfd;
	}
	fd_install(files, (unsigned)nfd, f); /* fget's reference */
	return nfd;
}

long sys_dup(unsigned fd)
{
	return dupfd_from(fd, 0, false);
}

long sys_dup2(unsigned oldfd, unsigned newfd)
{
	if (oldfd == newfd) {
		struct kfile *f = fget(current_files(), (int)oldfd);
		if (!f)
			return -EBADF;
		kfile_put(f);
		return newfd;
	}
	return do_dup2(current_files(), (int)oldfd, (int)newfd, false);
}

long sys_dup3(unsigned oldfd, unsigned newfd, int flags)
{
	if (flags & ~O_CLOEXEC)
		return -EINVAL;
	if (oldfd == newfd)
		return -EINVAL;
	if (newfd > 0x7fffffff)
		return -EBADF;
	return do_dup2(current_files(), (int)oldfd, (int)newfd, flags & O_CLOEXEC);
}

long sys_fcntl(unsigned fd, unsigned cmd, uint64_t arg)
{
	struct files_struct *files = current_files();
	struct kfile *f = fget(files, (int)fd);
	if (!f)
		return -EBADF;
	long r;
	bool path = f->f_mode & FMODE_PATH;
	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		kfile_put(f);
		if (arg >= (files ? files->rlimit : 0))
			return -EINVAL;
		return dupfd_from(fd, (unsigned)arg, cmd == F_DUPFD_CLOEXEC);
	case F_GETFD:
		r = get_close_on_exec(files, (int)fd);
		break;
	case F_SETFD:
		r = set_close_on_exec(files, (int)fd, arg & FD_CLOEXEC);
		break;
	case F_GETFL:
		r = f->f_flags;
		break;
	case F_SETFL:
		if (path) {
			r = -EBADF;
			break;
		}
		/* O_APPEND and O_NONBLOCK change; the rest are ignored (Linux
		 * also takes O_DIRECT, O_NOATIME and FASYNC: not here yet). */
		f->f_flags =
		    (f->f_flags & ~(O_APPEND | O_NONBLOCK)) | ((int)arg & (O_APPEND | O_NONBLOCK));
		r = 0;
		break;
	default:
		r = path ? -EBADF : -EINVAL;
	}
	kfile_put(f);
	return r;
}

long sys_pipe2(uint64_t ufds, int flags)
{
	struct files_struct *files = current_files();
	if (flags & ~(O_CLOEXEC | O_NONBLOCK))
		return -EINVAL;
	struct kfile *rd, *wr;
	int err = create_pipe_files(&rd, &wr, flags);
	if (err)
		return err;
	int fds[2];
	fds[0] = fd_alloc(files, 0, flags & O_CLOEXEC);
	fds[1] = fds[0] < 0 ? fds[0] : fd_alloc(files, 0, flags & O_CLOEXEC);
	if (fds[1] < 0) {
		if (fds[0] >= 0)
			put_unused_fd(files, (unsigned)fds[0]);
		kfile_put(rd);
		kfile_put(wr);
		return fds[1];
	}
	if (copy_to_user(ufds, fds, sizeof(fds))) {
		put_unused_fd(files, (unsigned)fds[0]);
		put_unused_fd(files, (unsigned)fds[1]);
		kfile_put(rd);
		kfile_put(wr);
		return -EFAULT;
	}
	fd_install(files, (unsigned)fds[0], rd);
	fd_install(files, (unsigned)fds[1], wr);
	return 0;
}

long sys_pipe(uint64_t fds)
{
	return sys_pipe2(fds, 0);
}

long sys_ioctl(unsigned fd, unsigned cmd, uint64_t arg)
{
	struct files_struct *files = current_files();
	struct kfile *f = fget(files, (int)fd);
	if (!f)
		return -EBADF;
	long r;
	if (f->f_mode & FMODE_PATH) {
		r = -EBADF;
		goto out;
	}
	switch (cmd) { /* the ones every file answers (Linux's do_vfs_ioctl) */
	case FIOCLEX:
		r = set_close_on_exec(files, (int)fd, true);
		goto out;
	case FIONCLEX:
		r = set_close_on_exec(files, (int)fd, false);
		goto out;
	case FIONBIO: {
		int on;
		r = copy_from_user(&on, arg, sizeof(on));
		if (!r)
			f->f_flags = on ? f->f_flags | O_NONBLOCK : f->f_flags & ~O_NONBLOCK;
		goto out;
	}
	case FIONREAD:
		if (f->type == KFILE_REG) {
			down_write(&f->pos_lock);
			uint64_t size = vfs_size(f->sfs);
			int n = (int)MIN(size > f->f_pos ? size - f->f_pos : 0, 0x7fffffffull);
			up_write(&f->pos_lock);
			r = copy_to_user(arg, &n, sizeof(n));
			goto out;
		}
		break;
	}
	r = f->f_op->ioctl ? f->f_op->ioctl(f, cmd, arg) : -ENOTTY;
out:
	kfile_put(f);
	return r;
}
