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
 * Paths: every path becomes an absolute, normalized one with its symbolic
 * links followed (resolve: Linux's path walk, component by component, at
 * most 40 links, -ELOOP past them) before a file system sees it. A
 * relative path starts at the process's working directory (struct
 * process.cwd: a path string, inherited by fork, kept by execve; Linux
 * keeps a dentry, so a renamed working directory keeps working there and
 * not here) or at the path a dirfd was opened by. Which file system a path
 * is on goes by its prefix: /proc (kernel/fs/procfs.c), /tmp (the memory
 * file system of kernel/fs/tmpfs.c), else SFS (kernel/fs/sfs.c); rename
 * and link between two of them are -EXDEV. SFS has no permissions, owners
 * or times: stat reports mode 0755 (directories and files, so execve finds
 * files executable; links 0777), uid/gid 0, times 0, and st_blocks from
 * the size (holes are counted); access() grants everything to every
 * caller (everything runs as root).
 *
 * Where this differs from Linux 6.1 (to do when the pieces exist):
 *   - O_CREAT|O_DIRECTORY is -EINVAL (Linux 6.4 and later; 6.1 created a
 *     regular file and then failed with -ENOTDIR);
 *   - O_TMPFILE is -EOPNOTSUPP (SFS has no tmpfile); pipe2(O_DIRECT)
 *     (packet mode) is -EINVAL;
 *   - O_PATH|O_NOFOLLOW of a symbolic link is -ELOOP (Linux opens the
 *     link itself);
 *   - record locks (kernel/fs/locks.c) have no deadlock detection and
 *     F_SETLKW waits by polling;
 *   - umask is kept and returned, but no file system has modes to apply it
 *     to; statx reports STATX_BASIC_STATS with zero times and no birth time;
 *   - readv of a pipe fills the next iovec only while the pipe holds bytes
 *     (the same result as Linux's single copy), of the console only the
 *     first; writev of a pipe writes iovec by iovec (several iovecs of at
 *     most PIPE_BUF bytes in all are not one atomic write);
 *   - copy_file_range and sendfile copy through a 64 KiB buffer mapped in
 *     the caller's address space for the call (every kind of file then
 *     moves bytes with its ordinary read and write); RWF_ flags other than
 *     unknown ones are accepted and ignored.
 */
#include "kernel/sys_file.h"
#include "kernel/file.h"
#include "kernel/fdtable.h"
#include "kernel/pipe.h"
#include "kernel/console_file.h"
#include "kernel/fs/fs.h"
#include "kernel/fs/procfs.h"
#include "kernel/fs/tmpfs.h"
#include "kernel/fs/locks.h"
#include "kernel/memfd.h"
#include "kernel/process.h"
#include "kernel/sched.h"
#include "kernel/pipe.h"
#include "mm/mm.h"
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
		size_t n = path_component(&p);
		const char *e = p + n;
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

/* The working directory of the caller into out[PATH_MAX] ("/" without a
 * process). */
static void cwd_copy(char *out)
{
	struct process *p = current->proc;
	spin_lock(&tasklist_lock);
	struct exe_path *c = p ? p->cwd : NULL;
	if (c)
		memcpy(out, c->path, strlen(c->path) + 1);
	else
		memcpy(out, "/", 2);
	spin_unlock(&tasklist_lock);
}

/* The target of the symbolic link at path (a normalized path free of
 * links but for its last component) into buf: its length, or -EINVAL (not
 * a link), -ENOENT, ... /proc's own links are procfs.c's business. */
static int link_target(const char *path, char *buf, size_t size)
{
	if (procfs_path(path))
		return -EINVAL;
	if (tmpfs_path(path))
		return tmpfs_readlink(path, buf, size);
	return vfs_readlink(path, buf, size);
}

/* The first symbolic link among the components of path that start at or
 * after byte `from` (the last one only if last_too): its target in buf,
 * its component at [*start, *end), the length; 0 if none. */
static int first_link(char *path, size_t from, bool last_too, size_t *start, size_t *end, char *buf,
		      size_t size)
{
	if (procfs_path(path))
		return 0;
	if (!tmpfs_path(path))
		return vfs_first_link(path, from, last_too, start, end, buf, size);
	/* /tmp: in memory, a readlink per component is cheap */
	size_t len = strlen(path), root = sizeof(TMPFS_ROOT) - 1;
	for (size_t s0 = root + 1; s0 < len;) {
		size_t e = s0;
		while (e < len && path[e] != '/')
			e++;
		if (s0 >= from && (e < len || last_too)) {
			char c = path[e];
			path[e] = 0;
			int k = tmpfs_readlink(path, buf, size);
			path[e] = c;
			if (k > 0) {
				*start = s0;
				*end = e;
				return k;
			}
			if (k == -ENOENT || k == -ENOTDIR)
				return 0;
		}
		s0 = e + 1;
	}
	return 0;
}

/*
 * The absolute normalized path (in out[PATH_MAX]) of name relative to dirfd
 * (AT_FDCWD: the working directory), its symbolic links followed (Linux's
 * path walk): component by component, "." and ".." on the path resolved so
 * far (which holds no link, so ".." is its parent); a component that names
 * a link is replaced by the link's target (absolute: from "/"), at most
 * MAXSYMLINKS times in one walk (then -ELOOP). The last component is
 * followed only if `follow`, or if the name ends with a slash. *dir_only:
 * the name ends with a slash (must be a directory).
 */
#define MAXSYMLINKS 40
static int resolve(int dirfd, const char *name, char *out, bool *dir_only, bool follow)
{
	size_t len = 0, nlen = strlen(name);
	*dir_only = nlen && name[nlen - 1] == '/';
	if (name[0] != '/' && dirfd != AT_FDCWD) {
		struct kfile *d = fget(current_files(), dirfd);
		if (!d)
			return -EBADF;
		int err = 0;
		if (d->type != KFILE_DIR && d->type != KFILE_TMPFS_DIR && !procfs_is_dir(d) &&
		    !devfs_is_dir(d))
			err = -ENOTDIR;
		else
			err = path_append(out, &len, d->path);
		kfile_put(d);
		if (err)
			return err;
	} else if (name[0] != '/') {
		cwd_copy(out);
		len = strlen(out);
		if (len == 1)
			len = 0; /* "/": components append after it */
	}
	char *rest = kmalloc(PATH_MAX), *link = kmalloc(PATH_MAX);
	int err = 0, links = 0;
	if (!rest || !link) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(rest, name, nlen + 1);
	const char *p = rest;
	while (*p) {
		size_t n = path_component(&p);
		const char *e = p + n;
		if (!n)
			break;
		if (n == 1 && p[0] == '.') {
			p = e;
			continue;
		}
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--;
			p = e;
			continue;
		}
		/* a run of plain components, appended, then checked in one walk */
		size_t verified = len;
		for (;;) {
			if (n > 255) {
				err = -ENAMETOOLONG;
				goto out;
			}
			if (len + 1 + n >= PATH_MAX) {
				err = -ENAMETOOLONG;
				goto out;
			}
			out[len++] = '/';
			memcpy(out + len, p, n);
			len += n;
			p = e;
			const char *q = p;
			while (*q == '/')
				q++;
			const char *qe = q;
			while (*qe && *qe != '/')
				qe++;
			size_t qn = (size_t)(qe - q);
			if (!qn || (qn == 1 && q[0] == '.') ||
			    (qn == 2 && q[0] == '.' && q[1] == '.'))
				break;
			p = q;
			e = qe;
			n = qn;
		}
		out[len] = 0;
		const char *q = p;
		while (*q == '/')
			q++;
		bool last = !*q;
		size_t ls, le;
		int k = first_link(out, verified, !last || follow || *p == '/', &ls, &le, link,
				   PATH_MAX - 1);
		if (k <= 0)
			continue;
#ifndef MUTATION_SYMLINK_LOOP_BOUND
		if (++links > MAXSYMLINKS) {
#else
		if (++links >= MAXSYMLINKS) { /* one link short of Linux's 40 */
#endif
			err = -ELOOP;
			goto out;
		}
		/* rest = the target, the run after the link, the unread rest */
		size_t after = len - le, rl = strlen(p);
		if ((size_t)k + after + 1 + rl >= PATH_MAX) {
			err = -ENAMETOOLONG;
			goto out;
		}
		memcpy(link + k, out + le, after);
		link[k + after] = '/';
		memcpy(link + k + after + 1, p, rl + 1);
		len = link[0] == '/' ? 0 : ls - 1; /* drop "/name" */
		char *t = rest;
		rest = link;
		link = t;
		p = rest;
	}
	if (!len)
		out[len++] = '/';
	out[len] = 0;
out:
	kfree(rest);
	kfree(link);
	return err;
}

/* What is at path (not followed): 0 with *type (SFS_S_IFREG, _IFDIR,
 * _IFLNK; tmpfs's TMPFS_* are the same numbers) and *ino, or -errno. */
static int probe_type(const char *path, unsigned *type, uint32_t *ino)
{
	if (tmpfs_path(path)) {
		int t = tmpfs_type(path);
		if (t < 0)
			return t;
		*type = (unsigned)t;
		if (ino)
			*ino = 0;
		return 0;
	}
	struct file *f;
	int err = vfs_open(path, O_RDONLY, &f);
	if (err)
		return err;
	*type = f->inode->d.mode;
	if (ino)
		*ino = f->inode->ino;
	vfs_close(f);
	return 0;
}

/* What is at path: 0 with *is_dir (and *ino), or -errno. */
static int probe(const char *path, bool *is_dir, uint32_t *ino)
{
	unsigned type;
	int err = probe_type(path, &type, ino);
	if (!err)
		*is_dir = type == SFS_S_IFDIR;
	return err;
}

long getname_resolved(uint64_t upath, char *out)
{
	char *name = kmalloc(PATH_MAX);
	if (!name)
		return -ENOMEM;
	long n = getname(upath, name, false);
	bool dir_only;
	if (n >= 0)
		n = resolve(AT_FDCWD, name, out, &dir_only, true);
	kfree(name);
	return n;
}

/* Both a kernel buffer of PATH_MAX for the name and one for the path. */
struct pathbufs {
	char name[PATH_MAX], path[PATH_MAX];
};

/* Copy and resolve a user path into a new pathbufs (kfree it). */
static long get_path(int dirfd, uint64_t upath, struct pathbufs **out, bool *dir_only,
		     bool empty_ok, bool follow)
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
	int err = resolve(dirfd, b->name, b->path, dir_only, follow);
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
	/* the last component is not followed with O_NOFOLLOW, nor by
	 * O_CREAT|O_EXCL (a link there is -EEXIST, even a dangling one) */
	bool follow = !(flags & O_NOFOLLOW) && (flags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL);
	long err = get_path(dirfd, upath, &b, &dir_only, false, follow);
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
	unsigned type = 0;
	err = probe_type(b->path, &type, NULL);
	is_dir = type == SFS_S_IFDIR;
	if (!err && type == SFS_S_IFLNK) {
		/* not followed: O_CREAT|O_EXCL finds it there, O_NOFOLLOW refuses it */
		err = (flags & O_CREAT) && (flags & O_EXCL) ? -EEXIST : -ELOOP;
	} else if ((flags & O_CREAT) && dir_only && (!err || err == -ENOENT)) {
		err = -EISDIR; /* O_CREAT and a trailing slash (open_last_lookups) */
	} else if (err == -ENOENT && (flags & O_CREAT)) {
		err = 0;
		create = true;
	} else if (!err) {
#ifndef MUTATION_OEXCL_IGNORED
		if ((flags & O_CREAT) && (flags & O_EXCL))
			err = -EEXIST;
#else
		if (false)
			;
#endif
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
	if (!err && f->type == KFILE_REG && (flags & O_TRUNC) && !(flags & O_PATH))
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

#define RWF_HIPRI     0x1
#define RWF_DSYNC     0x2
#define RWF_SYNC      0x4
#define RWF_NOWAIT    0x8
#define RWF_APPEND    0x10
#define RWF_SUPPORTED (RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND)

/*
 * readv/writev (ppos NULL: the file position), preadv/pwritev and the "2"
 * forms (*ppos; preadv2 with offset -1 comes here with NULL). Linux's
 * order: the fd, the access mode, the iovec array (count, copy, each
 * length and range), then the RWF_ flags (-EOPNOTSUPP). The pieces move
 * one iovec at a time; a short piece ends the call. On a file that is not
 * seekable (a pipe, the console) a piece that would block after some bytes
 * moved is not started: a pipe's next piece is read only while it holds
 * bytes, and other files stop after their first piece, as one read of
 * Linux's pipe or tty fills as many iovecs as the bytes at hand allow.
 */
static long ksys_rwv(unsigned fd, uint64_t uiov, uint64_t iovcnt, bool write, int64_t *ppos,
		     int rwf)
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
	if (ppos && !(f->f_mode & FMODE_LSEEK)) {
		r = -ESPIPE;
		goto out;
	}
	if (!(write ? f->f_op->write : f->f_op->read)) {
		r = -EINVAL;
		goto out;
	}
	if (iovcnt > UIO_MAXIOV) {
		r = -EINVAL;
		goto out;
	}
	if (!iovcnt)
		goto flags;
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
flags:
	if (rwf & ~RWF_SUPPORTED) {
		r = -EOPNOTSUPP;
		goto out;
	}
	if (!iovcnt)
		goto out;
	bool seekable = f->f_mode & FMODE_LSEEK;
	if (seekable && !ppos)
		down_write(&f->pos_lock);
	uint64_t pos = ppos ? (uint64_t)*ppos : f->f_pos, done = 0;
	for (uint64_t i = 0; i < iovcnt; i++) {
		if (!iov[i].iov_len)
			continue;
		if (done && !seekable && !write) {
			struct pipe_inode_info *pi = get_pipe_info(f);
			if (!pi || !pipe_bytes(pi))
				break; /* the next piece would wait */
		}
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
	if (seekable && !ppos) {
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
	return ksys_rwv(fd, iov, iovcnt, false, NULL, 0);
}

long sys_writev(unsigned fd, uint64_t iov, uint64_t iovcnt)
{
	return ksys_rwv(fd, iov, iovcnt, true, NULL, 0);
}

/* x86-64 passes the whole offset in pos_l (pos_from_hilo shifts pos_h out). */
static long do_prwv(unsigned fd, uint64_t iov, uint64_t iovcnt, int64_t pos, int rwf, bool write,
		    bool v2)
{
	if (v2 && pos == -1)
		return ksys_rwv(fd, iov, iovcnt, write, NULL, rwf);
	if (pos < 0)
		return -EINVAL;
	return ksys_rwv(fd, iov, iovcnt, write, &pos, rwf);
}

long sys_preadv(unsigned fd, uint64_t iov, uint64_t iovcnt, int64_t pos_l, int64_t pos_h)
{
	return do_prwv(fd, iov, iovcnt, pos_l, 0, false, false);
}

long sys_pwritev(unsigned fd, uint64_t iov, uint64_t iovcnt, int64_t pos_l, int64_t pos_h)
{
	return do_prwv(fd, iov, iovcnt, pos_l, 0, true, false);
}

long sys_preadv2(unsigned fd, uint64_t iov, uint64_t iovcnt, int64_t pos_l, int64_t pos_h,
		 int flags)
{
	return do_prwv(fd, iov, iovcnt, pos_l, flags, false, true);
}

long sys_pwritev2(unsigned fd, uint64_t iov, uint64_t iovcnt, int64_t pos_l, int64_t pos_h,
		  int flags)
{
	return do_prwv(fd, iov, iovcnt, pos_l, flags, true, true);
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
	else if ((whence == SEEK_DATA || whence == SEEK_HOLE) && f->type == KFILE_TMPFS_DIR)
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
	st->st_mode =
	    inode->d.mode == SFS_S_IFLNK ? S_IFLNK | 0777 : (dir ? S_IFDIR : S_IFREG) | 0755;
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
	case KFILE_TMPFS_DIR:
		tmpfs_fstat_dir(f, st);
		break;
	default:
		if (is_memfd(f)) { /* as memfd_fstat: a memfd, or a file of /tmp */
			struct inode *inode = memfd_file_inode(f);
			st->st_dev = 0x1;
			st->st_ino = (uint64_t)(uintptr_t)inode >> 6;
			st->st_nlink = inode->d.flags & SHMEM_TMPFS_FILE ? inode->d.nlink : 1;
			st->st_mode = S_IFREG | 0777;
			st->st_size = (int64_t)i_size_read(inode);
			st->st_blksize = PAGE_SIZE;
			st->st_blocks = (int64_t)(inode->mapping.nrpages * (PAGE_SIZE / 512));
		}
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

/* stat of dirfd/upath into *st (newfstatat and statx; flags already
 * checked): 0 or -errno. */
static long do_stat(int dirfd, uint64_t upath, int flags, struct linux_stat *st)
{
	struct pathbufs *b;
	bool dir_only = false;
	long n = get_path(dirfd, upath, &b, &dir_only, flags & AT_EMPTY_PATH,
			  !(flags & AT_SYMLINK_NOFOLLOW));
	if (n < 0)
		return n;
	long err = 0;
	if (n == 0) { /* AT_EMPTY_PATH with "": dirfd itself (AT_FDCWD: the cwd) */
		if (dirfd != AT_FDCWD) {
			kfree(b);
			struct kfile *f = fget(current_files(), dirfd);
			if (!f)
				return -EBADF;
			fill_stat(st, f);
			kfile_put(f);
			return 0;
		}
		cwd_copy(b->path);
	}
	if (devfs_path(b->path)) { /* /dev (kernel/fs/devfs.c) */
		err = devfs_stat(b->path, dir_only, st);
		kfree(b);
		return err;
	}
	if (procfs_path(b->path)) {
		err = procfs_stat(b->path, !(flags & AT_SYMLINK_NOFOLLOW), dir_only, st, b->name);
		if (err == 1) { /* /proc/PID/exe followed: the program's file */
			memmove(b->path, b->name, strlen(b->name) + 1);
		} else {
			kfree(b);
			return err;
		}
	}
	if (tmpfs_path(b->path)) {
		err = tmpfs_stat(b->path, st);
		if (!err && dir_only && (st->st_mode & S_IFMT) != S_IFDIR)
			err = -ENOTDIR;
		kfree(b);
		return err;
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
	memset(st, 0, sizeof(*st));
	fill_stat_inode(st, sf->inode);
	vfs_close(sf);
	return 0;
}

long sys_newfstatat(int dirfd, uint64_t upath, uint64_t statbuf, int flags)
{
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE))
		return -EINVAL;
	struct linux_stat st;
	long err = do_stat(dirfd, upath, flags, &st);
	if (err)
		return err;
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
	else if (f->type == KFILE_TMPFS_DIR || is_memfd(f))
		r = 0; /* memory: nothing to write (Linux's noop_fsync) */
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
	long err = get_path(dirfd, upath, &b, &dir_only, false, false);
	if (err < 0)
		return err;
	bool rmdir = flags & AT_REMOVEDIR;
	err = probe(b->path, &is_dir, NULL);
	if (!err && tmpfs_path(b->path)) {
		err = !rmdir && dir_only && !is_dir ? -ENOTDIR : tmpfs_unlink(b->path, rmdir);
		kfree(b);
		return err;
	}
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
	long err = get_path(dirfd, upath, &b, &dir_only, false, false);
	if (err < 0)
		return err;
	err = !strcmp(b->path, "/") ? -EEXIST
	      : tmpfs_path(b->path) ? tmpfs_mkdir(b->path)
				    : vfs_mkdir(b->path);
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
	if (f->type != KFILE_DIR && f->type != KFILE_TMPFS_DIR) {
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
		char name[256];
		uint32_t ino;
		uint64_t ino64 = 0;
		bool is_dir = true;
		unsigned type = 0;
		uint8_t dtype = 0;
		uint64_t next;
		if (f->type == KFILE_TMPFS_DIR) {
			if (!tmpfs_dir_entry(f, pos, name, &ino64, &dtype))
				break;
			next = pos + 1;
		} else if (pos == 0) {
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
			int k = vfs_dir_next_type(f->sfs, &slot, name, &ino, &type);
			is_dir = type == SFS_S_IFDIR;
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
		uint8_t rec[ALIGN_UP(sizeof(struct linux_dirent64) + 256, 8)];
#ifdef MUTATION_DIRENT_PAD_UNINIT
		memset(rec, 0, sizeof(struct linux_dirent64)); /* the padding keeps old bytes */
#else
		memset(rec, 0, reclen); /* no kernel byte leaks through the padding */
#endif
		struct linux_dirent64 *d = (struct linux_dirent64 *)rec;
		d->d_ino = f->type == KFILE_TMPFS_DIR ? ino64 : ino;
		d->d_off = (int64_t)next;
		d->d_reclen = (uint16_t)reclen;
		d->d_type = f->type == KFILE_TMPFS_DIR ? dtype
			    : type == SFS_S_IFLNK      ? DT_LNK
			    : is_dir		       ? DT_DIR
						       : DT_REG;
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
 * the path, its last component not followed; a symbolic link gives its
 * target, not NUL-terminated, cut to bufsiz; anything else that exists is
 * -EINVAL.
 */
long sys_readlinkat(int dirfd, uint64_t upath, uint64_t ubuf, int bufsiz)
{
	if (bufsiz <= 0)
		return -EINVAL;
	struct pathbufs *b;
	bool dir_only = false;
	long err = get_path(dirfd, upath, &b, &dir_only, false, false);
	if (err < 0)
		return err;
	if (procfs_path(b->path)) {
		err = procfs_readlink(b->path, ubuf, bufsiz);
	} else {
		/* b->name is free now: the target goes there */
		err = link_target(b->path, b->name, MIN((size_t)bufsiz, PATH_MAX));
		if (err == -EINVAL && dir_only) {
			bool is_dir;
			if (!probe(b->path, &is_dir, NULL) && !is_dir)
				err = -ENOTDIR;
		}
		if (err > 0 && copy_to_user(ubuf, b->name, (size_t)err))
			err = -EFAULT;
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

/*
 * Record locks (Linux's fcntl_getlk, fcntl_setlk; kernel/fs/locks.c): the
 * struct flock (-EFAULT), its type and whence (-EINVAL), the range made
 * absolute from SEEK_SET, the position or the size (a negative start
 * -EINVAL, past the largest offset -EOVERFLOW); F_SETLK a read lock on a
 * file not open for reading, a write lock on one not open for writing
 * -EBADF; a conflict -EAGAIN (F_SETLKW waits). F_GETLK reports the first
 * lock of another process that would block this one, or F_UNLCK.
 */
static long do_fcntl_lock(struct kfile *f, unsigned cmd, uint64_t arg)
{
	struct linux_flock fl;
	if (copy_from_user(&fl, arg, sizeof(fl)))
		return -EFAULT;
	if (fl.l_type != F_RDLCK && fl.l_type != F_WRLCK && fl.l_type != F_UNLCK)
		return -EINVAL;
	int64_t base;
	if (fl.l_whence == SEEK_SET)
		base = 0;
	else if (fl.l_whence == SEEK_CUR)
		base = (int64_t)f->f_pos;
	else if (fl.l_whence == SEEK_END)
		base = f->sfs ? (int64_t)vfs_size(f->sfs) : 0;
	else
		return -EINVAL;
	int64_t start, end;
	if (__builtin_add_overflow(base, fl.l_start, &start))
		return -EOVERFLOW;
	if (fl.l_len > 0) {
		if (__builtin_add_overflow(start, fl.l_len - 1, &end))
			return -EOVERFLOW;
	} else if (fl.l_len == 0) {
		end = INT64_MAX;
	} else {
		end = start - 1;
		start += fl.l_len;
	}
	if (start < 0)
		return -EINVAL;
	const void *owner = current_files();
	if (cmd == F_GETLK) {
		if (fl.l_type == F_UNLCK)
			return -EINVAL;
		struct posix_lock_info info;
		posix_test_lock(lock_key(f), owner, fl.l_type, start, end, &info);
		fl.l_type = (int16_t)info.type;
		if (info.type != F_UNLCK) {
			fl.l_whence = SEEK_SET;
			fl.l_start = info.start;
			fl.l_len = info.end == INT64_MAX ? 0 : info.end - info.start + 1;
			fl.l_pid = info.pid;
		}
		return copy_to_user(arg, &fl, sizeof(fl)) ? -EFAULT : 0;
	}
	if ((fl.l_type == F_RDLCK && !(f->f_mode & FMODE_READ)) ||
	    (fl.l_type == F_WRLCK && !(f->f_mode & FMODE_WRITE)))
		return -EBADF;
	int pid = current->proc ? current->proc->pid : 0;
	return posix_lock_file(lock_key(f), owner, pid, fl.l_type, start, end, cmd == F_SETLKW);
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
	case F_GETLK:
	case F_SETLK:
	case F_SETLKW:
		r = path ? -EBADF : do_fcntl_lock(f, cmd, arg);
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
		if (f->type == KFILE_REG || is_memfd(f)) {
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

/* ---- the namespace: rename, link, symlink ------------------------------------ */

/* Which file system a normalized path is on: 0 SFS, 1 /tmp, 2 /proc. */
static int fs_of(const char *path)
{
	return procfs_path(path) ? 2 : tmpfs_path(path) ? 1 : 0;
}

#define RENAME_NOREPLACE 0x1
#define RENAME_EXCHANGE	 0x2
#define RENAME_WHITEOUT	 0x4

/*
 * renameat2 (Linux's do_renameat2): flags beyond the three, NOREPLACE with
 * EXCHANGE, and WHITEOUT (no whiteouts here) are -EINVAL; then both names
 * (last components not followed); the source must exist (-ENOENT); a name
 * ending in '/' must be a directory (-ENOTDIR); the two on different file
 * systems -EXDEV; the root or a mount point -EBUSY; a directory moved into
 * itself -EINVAL; the file systems do the rest (-EEXIST for NOREPLACE,
 * -ENOTDIR/-EISDIR/-ENOTEMPTY against the target, atomic replacement).
 */
long sys_renameat2(int olddfd, uint64_t uold, int newdfd, uint64_t unew, unsigned flags)
{
	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT))
		return -EINVAL;
	if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))
		return -EINVAL;
	if (flags & RENAME_WHITEOUT)
		return -EINVAL;
	struct pathbufs *o, *n;
	bool odir_only = false, ndir_only = false;
	long err = get_path(olddfd, uold, &o, &odir_only, false, false);
	if (err < 0)
		return err;
	err = get_path(newdfd, unew, &n, &ndir_only, false, false);
	if (err < 0) {
		kfree(o);
		return err;
	}
	unsigned otype = 0, ntype = 0;
	err = probe_type(o->path, &otype, NULL);
	int nerr = probe_type(n->path, &ntype, NULL);
	size_t ol = strlen(o->path), nl = strlen(n->path);
	if (err)
		goto out;
	if ((odir_only && otype != SFS_S_IFDIR) ||
	    (ndir_only && otype != SFS_S_IFDIR && (!nerr || !(flags & RENAME_EXCHANGE))))
		err = -ENOTDIR;
	else if (fs_of(o->path) != fs_of(n->path))
		err = -EXDEV;
	else if (fs_of(o->path) == 2)
		err = -EPERM;
	else if (!strcmp(o->path, "/") || !strcmp(n->path, "/") || !strcmp(o->path, TMPFS_ROOT) ||
		 !strcmp(n->path, TMPFS_ROOT))
		err = -EBUSY;
	else if (nerr == -ENOENT && (flags & RENAME_EXCHANGE))
		err = -ENOENT;
	else if (!strncmp(n->path, o->path, ol) && n->path[ol] == '/')
		err = -EINVAL; /* the source would contain its new name */
	else if ((flags & RENAME_EXCHANGE) && !strncmp(o->path, n->path, nl) && o->path[nl] == '/')
		err = -EINVAL;
	else if (!nerr && !(flags & RENAME_NOREPLACE) && !(flags & RENAME_EXCHANGE) &&
		 !strncmp(o->path, n->path, nl) && o->path[nl] == '/')
		err = -ENOTEMPTY; /* the target contains the source */
	else if (fs_of(o->path) == 1)
		err = tmpfs_rename(o->path, n->path, flags);
	else
		err = vfs_rename(o->path, n->path, flags);
out:
	kfree(o);
	kfree(n);
	return err;
}

long sys_renameat(int olddfd, uint64_t uold, int newdfd, uint64_t unew)
{
	return sys_renameat2(olddfd, uold, newdfd, unew, 0);
}

long sys_rename(uint64_t uold, uint64_t unew)
{
	return sys_renameat2(AT_FDCWD, uold, AT_FDCWD, unew, 0);
}

#define AT_SYMLINK_FOLLOW 0x400

long sys_linkat(int olddfd, uint64_t uold, int newdfd, uint64_t unew, int flags)
{
	if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	struct pathbufs *o, *n;
	bool odir_only = false, ndir_only = false;
	long err = get_path(olddfd, uold, &o, &odir_only, false, flags & AT_SYMLINK_FOLLOW);
	if (err < 0)
		return err;
	err = get_path(newdfd, unew, &n, &ndir_only, false, false);
	if (err < 0) {
		kfree(o);
		return err;
	}
	unsigned otype = 0, ntype = 0;
	err = probe_type(o->path, &otype, NULL);
	if (!err && (odir_only || otype == SFS_S_IFDIR))
		err = odir_only && otype != SFS_S_IFDIR ? -ENOTDIR : -EPERM;
	else if (!err && !probe_type(n->path, &ntype, NULL))
		err = -EEXIST;
	else if (!err && ndir_only)
		err = -ENOENT; /* a new name ending in '/' */
	else if (!err && fs_of(o->path) != fs_of(n->path))
		err = -EXDEV;
	else if (!err && fs_of(o->path) == 2)
		err = -EPERM;
	else if (!err)
		err =
		    fs_of(o->path) == 1 ? tmpfs_link(o->path, n->path) : vfs_link(o->path, n->path);
	kfree(o);
	kfree(n);
	return err;
}

long sys_link(uint64_t uold, uint64_t unew)
{
	return sys_linkat(AT_FDCWD, uold, AT_FDCWD, unew, 0);
}

/* symlinkat: the target is any non-empty string (not resolved); the new
 * name is not followed (-EEXIST even on a dangling link). */
long sys_symlinkat(uint64_t utarget, int newdfd, uint64_t upath)
{
	char *target = kmalloc(PATH_MAX);
	if (!target)
		return -ENOMEM;
	long err = getname(utarget, target, false);
	if (err < 0) {
		kfree(target);
		return err;
	}
	struct pathbufs *b;
	bool dir_only = false;
	err = get_path(newdfd, upath, &b, &dir_only, false, false);
	if (err < 0) {
		kfree(target);
		return err;
	}
	unsigned type;
	if (!probe_type(b->path, &type, NULL))
		err = -EEXIST;
	else if (dir_only)
		err = -ENOENT;
	else if (fs_of(b->path) == 2)
		err = -ENOENT;
	else
		err = fs_of(b->path) == 1 ? tmpfs_symlink(target, b->path)
					  : vfs_symlink(target, b->path);
	kfree(b);
	kfree(target);
	return err;
}

long sys_symlink(uint64_t target, uint64_t path)
{
	return sys_symlinkat(target, AT_FDCWD, path);
}

/* ---- the working directory, umask --------------------------------------------- */

long sys_getcwd(uint64_t ubuf, uint64_t size)
{
	char *buf = kmalloc(PATH_MAX);
	if (!buf)
		return -ENOMEM;
	cwd_copy(buf);
	size_t len = strlen(buf) + 1;
	long r = len > size ? -ERANGE : copy_to_user(ubuf, buf, len) ? -EFAULT : (long)len;
	kfree(buf);
	return r;
}

/* The caller's working directory becomes path (a directory: checked). */
static long set_cwd(const char *path)
{
	struct process *p = current->proc;
	if (!p)
		return -EINVAL;
	struct exe_path *e = exe_path_new(path), *old;
	if (!e)
		return -ENOMEM;
	spin_lock(&tasklist_lock);
	old = p->cwd;
	p->cwd = e;
	spin_unlock(&tasklist_lock);
	exe_path_put(old);
	return 0;
}

long sys_chdir(uint64_t upath)
{
	struct pathbufs *b;
	bool dir_only = false;
	long err = get_path(AT_FDCWD, upath, &b, &dir_only, false, true);
	if (err < 0)
		return err;
	if (procfs_path(b->path)) {
		struct linux_stat st;
		err = procfs_stat(b->path, true, false, &st, b->name);
		if (!err && (st.st_mode & S_IFMT) != S_IFDIR)
			err = -ENOTDIR;
		else if (err == 1)
			err = -ENOTDIR; /* /proc/PID/exe: a file */
	} else {
		bool is_dir;
		err = probe(b->path, &is_dir, NULL);
		if (!err && !is_dir)
			err = -ENOTDIR;
	}
	if (!err)
		err = set_cwd(b->path);
	kfree(b);
	return err;
}

long sys_fchdir(unsigned fd)
{
	struct kfile *f = fget(current_files(), (int)fd);
	if (!f)
		return -EBADF;
	long err;
	if (f->type != KFILE_DIR && f->type != KFILE_TMPFS_DIR && !procfs_is_dir(f))
		err = -ENOTDIR;
	else
		err = set_cwd(f->path);
	kfile_put(f);
	return err;
}

long sys_umask(unsigned mask)
{
	struct process *p = current->proc;
	if (!p)
		return 022;
	return (long)__atomic_exchange_n(&p->umask, mask & 0777, __ATOMIC_RELAXED);
}

/* ---- truncate, sync, statfs, access ---------------------------------------------- */

long sys_truncate(uint64_t upath, int64_t length)
{
	if (length < 0)
		return -EINVAL;
	struct pathbufs *b;
	bool dir_only = false;
	long err = get_path(AT_FDCWD, upath, &b, &dir_only, false, true);
	if (err < 0)
		return err;
	bool is_dir = false;
	err = probe(b->path, &is_dir, NULL);
	if (!err && is_dir)
		err = -EISDIR;
	else if (!err && dir_only)
		err = -ENOTDIR;
	else if (!err && procfs_path(b->path))
		err = -EACCES;
	if (!err) {
		struct kfile *f;
		err = kfile_open_path(b->path, O_WRONLY, &f);
		if (!err) {
			err = is_memfd(f)
				  ? memfd_truncate_inode(memfd_file_inode(f), (uint64_t)length)
				  : vfs_truncate(f->sfs, (uint64_t)length);
			kfile_put(f);
		}
	}
	kfree(b);
	return err;
}

long sys_sync(void)
{
	writeback_all(); /* SFS writes its metadata through: data is what remains */
	return 0;
}

long sys_syncfs(int fd)
{
	struct kfile *f = fget(current_files(), fd);
	if (!f)
		return -EBADF;
	kfile_put(f);
	writeback_all();
	return 0;
}

#define PROC_SUPER_MAGIC 0x9fa0
#define PIPEFS_MAGIC	 0x50495045
#define SFS_SUPER_MAGIC	 0x53465331 /* "SFS1", as the superblock's */

static void statfs_of(int which, struct linux_statfs *st)
{
	memset(st, 0, sizeof(*st));
	st->f_bsize = 4096;
	st->f_frsize = 4096;
	st->f_namelen = 255;
	if (which == 0) {
		struct sfs_super sb;
		fs_statfs(&sb);
		st->f_type = SFS_SUPER_MAGIC;
		st->f_blocks = sb.nr_blocks;
		st->f_bfree = st->f_bavail = sb.free_blocks;
		st->f_files = sb.nr_inodes - 1;
		st->f_ffree = sb.free_inodes;
		st->f_namelen = SFS_NAME_MAX;
		st->f_fsid[0] = 0x801;
	} else if (which == 1) {
		st->f_type = TMPFS_MAGIC; /* no size limit: blocks and files 0, as Linux's */
		st->f_fsid[0] = 0x1;
	} else if (which == 2) {
		st->f_type = PROC_SUPER_MAGIC;
	} else {
		st->f_type = PIPEFS_MAGIC;
	}
}

long sys_statfs(uint64_t upath, uint64_t ubuf)
{
	struct pathbufs *b;
	bool dir_only = false;
	long err = get_path(AT_FDCWD, upath, &b, &dir_only, false, true);
	if (err < 0)
		return err;
	struct linux_statfs st;
	if (procfs_path(b->path)) {
		struct linux_stat s2;
		err = procfs_stat(b->path, true, dir_only, &s2, b->name);
		if (err == 1)
			err = 0;
	} else {
		bool is_dir;
		err = probe(b->path, &is_dir, NULL);
		if (!err && dir_only && !is_dir)
			err = -ENOTDIR;
	}
	if (!err) {
		statfs_of(fs_of(b->path) == 2 ? 2 : fs_of(b->path), &st);
		err = copy_to_user(ubuf, &st, sizeof(st));
	}
	kfree(b);
	return err;
}

long sys_fstatfs(unsigned fd, uint64_t ubuf)
{
	struct kfile *f = fget(current_files(), (int)fd);
	if (!f)
		return -EBADF;
	struct linux_statfs st;
	int which = f->type == KFILE_REG || f->type == KFILE_DIR ? 0
		    : f->type == KFILE_PROC			 ? 2
		    : f->type == KFILE_PIPE			 ? 3
					    : 1; /* /tmp, memfds, the console */
	kfile_put(f);
	statfs_of(which, &st);
	return copy_to_user(ubuf, &st, sizeof(st));
}

#define AT_EACCESS 0x200
#define R_OK	   4
#define W_OK	   2
#define X_OK	   1

/* faccessat2: everything runs as root, so an existing file is accessible
 * (X_OK too: every SFS file has its x bits). */
long sys_faccessat2(int dirfd, uint64_t upath, int mode, int flags)
{
	if (mode & ~(R_OK | W_OK | X_OK))
		return -EINVAL;
	if (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	struct linux_stat st;
	return do_stat(dirfd, upath, flags & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH), &st);
}

long sys_faccessat(int dirfd, uint64_t upath, int mode)
{
	return sys_faccessat2(dirfd, upath, mode, 0);
}

long sys_access(uint64_t upath, int mode)
{
	return sys_faccessat2(AT_FDCWD, upath, mode, 0);
}

/* ---- statx ----------------------------------------------------------------------- */

#define STATX_BASIC_STATS 0x7ffu
#define STATX__RESERVED	  0x80000000u

long sys_statx(int dirfd, uint64_t upath, int flags, unsigned mask, uint64_t ubuf)
{
	if ((flags & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE)
		return -EINVAL;
	if (mask & STATX__RESERVED)
		return -EINVAL;
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE))
		return -EINVAL;
	struct linux_stat st;
	long err = do_stat(dirfd, upath, flags, &st);
	if (err)
		return err;
	struct linux_statx sx;
	memset(&sx, 0, sizeof(sx));
	sx.stx_mask = STATX_BASIC_STATS;
	sx.stx_blksize = (uint32_t)st.st_blksize;
	sx.stx_nlink = (uint32_t)st.st_nlink;
	sx.stx_uid = st.st_uid;
	sx.stx_gid = st.st_gid;
	sx.stx_mode = (uint16_t)st.st_mode;
	sx.stx_ino = st.st_ino;
	sx.stx_size = (uint64_t)st.st_size;
	sx.stx_blocks = (uint64_t)st.st_blocks;
	sx.stx_rdev_major = (uint32_t)(st.st_rdev >> 8);
	sx.stx_rdev_minor = (uint32_t)(st.st_rdev & 0xff);
	sx.stx_dev_major = (uint32_t)(st.st_dev >> 8);
	sx.stx_dev_minor = (uint32_t)(st.st_dev & 0xff);
	return copy_to_user(ubuf, &sx, sizeof(sx));
}

/* ---- copy_file_range, sendfile ------------------------------------------------------ */

/*
 * The copy loop of both: up to len bytes from in at *ipos (NULL: in's
 * file position) to out at *opos (NULL: out's position, or none for a file
 * that is not seekable), through a bounce buffer mapped for the call in
 * the caller's own address space, so every kind of file moves bytes with
 * its ordinary read and write operations. Bytes copied, or the first
 * error if none were.
 */
#define COPY_CHUNK (64 * 1024)
static long copy_loop(struct kfile *in, int64_t *ipos, struct kfile *out, int64_t *opos,
		      uint64_t len)
{
	struct mm *mm = current->mm;
	if (!mm)
		return -EINVAL;
	int64_t ubuf =
	    vm_mmap(mm, 0, COPY_CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	if (ubuf < 0)
		return ubuf;
	bool ilock = !ipos, olock = !opos && (out->f_mode & FMODE_LSEEK);
	if (ilock)
		down_write(&in->pos_lock);
	if (olock && out != in)
		down_write(&out->pos_lock);
	uint64_t ip = ipos ? (uint64_t)*ipos : in->f_pos;
	uint64_t op = opos ? (uint64_t)*opos : out->f_pos;
	uint64_t *opp = (out->f_mode & FMODE_LSEEK) ? &op : NULL;
	long done = 0, err = 0;
	len = MIN(len, MAX_RW_COUNT);
	while ((uint64_t)done < len) {
		size_t chunk = (size_t)MIN(len - (uint64_t)done, COPY_CHUNK);
		ssize_t n = in->f_op->read(in, (uint64_t)ubuf, chunk, &ip);
		if (n <= 0) {
			err = n;
			break;
		}
		ssize_t w = 0;
		while (w < n) {
			ssize_t k = out->f_op->write(out, (uint64_t)ubuf + w, (size_t)(n - w), opp);
			if (k <= 0) {
				err = k ? k : -EIO;
				break;
			}
			w += k;
		}
		done += w;
		if (w < n) {
			ip -= (uint64_t)(n - w); /* not copied: not consumed */
			break;
		}
		if ((size_t)n < chunk)
			break;
		if (fatal_signal_pending(current))
			break;
	}
	if (ipos)
		*ipos = (int64_t)ip;
	else
		in->f_pos = ip;
	if (opos)
		*opos = (int64_t)op;
	else if (out->f_mode & FMODE_LSEEK)
		out->f_pos = op;
	if (olock && out != in)
		up_write(&out->pos_lock);
	if (ilock)
		up_write(&in->pos_lock);
	vm_munmap(mm, (uint64_t)ubuf, COPY_CHUNK);
	return done ? done : err;
}

static bool is_regular(struct kfile *f)
{
	return f->type == KFILE_REG || is_memfd(f);
}

/* The file system of a regular file: SFS, /tmp, or the memfds' own. */
static int regular_fs(struct kfile *f)
{
	if (!is_memfd(f))
		return 0;
	return memfd_file_inode(f)->d.flags & SHMEM_TMPFS_FILE ? 1 : 2;
}

/* copy_file_range (Linux 6.1's vfs_copy_file_range, generic_copy_file_checks):
 * flags -EINVAL; bad fds -EBADF; the offsets (-EFAULT, negative -EINVAL);
 * directories -EISDIR; other non-regular files -EINVAL; in readable and out
 * writable without O_APPEND (-EBADF); two file systems -EXDEV (6.1 copies
 * across none of them, having no ->copy_file_range in common); overlapping
 * ranges of one file -EINVAL. */
long sys_copy_file_range(int fd_in, uint64_t uoff_in, int fd_out, uint64_t uoff_out, uint64_t len,
			 unsigned flags)
{
	if (flags)
		return -EINVAL;
	struct kfile *in = fget(current_files(), fd_in), *out = NULL;
	long r;
	if (!in)
		return -EBADF;
	out = fget(current_files(), fd_out);
	if (!out) {
		r = -EBADF;
		goto done;
	}
	int64_t ipos, opos;
	if ((uoff_in && copy_from_user(&ipos, uoff_in, 8)) ||
	    (uoff_out && copy_from_user(&opos, uoff_out, 8))) {
		r = -EFAULT;
		goto done;
	}
	if ((uoff_in && ipos < 0) || (uoff_out && opos < 0)) {
		r = -EINVAL;
		goto done;
	}
	if (in->type == KFILE_DIR || in->type == KFILE_TMPFS_DIR || out->type == KFILE_DIR ||
	    out->type == KFILE_TMPFS_DIR) {
		r = -EISDIR;
		goto done;
	}
	if (!is_regular(in) || !is_regular(out)) {
		r = -EINVAL;
		goto done;
	}
	if (!(in->f_mode & FMODE_READ) || !(out->f_mode & FMODE_WRITE) ||
	    (out->f_flags & O_APPEND)) {
		r = -EBADF;
		goto done;
	}
	if (regular_fs(in) != regular_fs(out)) {
		r = -EXDEV; /* 6.1 copies within one file system only */
		goto done;
	}
	if (!len) {
		r = 0;
		goto done;
	}
	uint64_t ip = uoff_in ? (uint64_t)ipos : in->f_pos;
	uint64_t op = uoff_out ? (uint64_t)opos : out->f_pos;
	if (in->sfs && out->sfs && in->sfs->inode == out->sfs->inode && ip + len > op &&
	    op + len > ip) {
		r = -EINVAL;
		goto done;
	}
	r = copy_loop(in, uoff_in ? &ipos : NULL, out, uoff_out ? &opos : NULL, len);
	if (r > 0 && ((uoff_in && copy_to_user(uoff_in, &ipos, 8)) ||
		      (uoff_out && copy_to_user(uoff_out, &opos, 8))))
		r = -EFAULT;
done:
	if (out)
		kfile_put(out);
	kfile_put(in);
	return r;
}

/* sendfile (Linux's do_sendfile): in readable (-EBADF), a regular file
 * (-EINVAL); out writable (-EBADF), without O_APPEND (-EINVAL); *offset
 * read (-EFAULT), negative -EINVAL, and written back; without it, in's
 * position moves. */
long sys_sendfile(int out_fd, int in_fd, uint64_t uoff, uint64_t count)
{
	struct kfile *in = fget(current_files(), in_fd), *out = NULL;
	long r;
	if (!in)
		return -EBADF;
	if (!(in->f_mode & FMODE_READ)) {
		r = -EBADF;
		goto done;
	}
	out = fget(current_files(), out_fd);
	if (!out || !(out->f_mode & FMODE_WRITE)) {
		r = -EBADF;
		goto done;
	}
	int64_t pos = 0;
	if (uoff && copy_from_user(&pos, uoff, 8)) {
		r = -EFAULT;
		goto done;
	}
	if (pos < 0 || !is_regular(in) || (out->f_flags & O_APPEND) || !out->f_op->write) {
		r = -EINVAL;
		goto done;
	}
	r = count ? copy_loop(in, uoff ? &pos : NULL, out, NULL, count) : 0;
	if (r > 0 && uoff && copy_to_user(uoff, &pos, 8))
		r = -EFAULT;
done:
	if (out)
		kfile_put(out);
	kfile_put(in);
	return r;
}
