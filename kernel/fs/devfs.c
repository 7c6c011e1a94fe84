/*
 * kernel/fs/devfs.c - /dev: a fixed directory of character devices
 * (Linux's devtmpfs as a system with one tty shows it).
 *
 *   name     major:minor  what
 *   console  5:1          the console tty (kernel/tty.c)
 *   tty      5:0          the caller's controlling tty (-ENXIO without one)
 *   ttyS0    4:64         the same tty; opening it makes it the controlling
 *                         tty of a session leader that has none (not with
 *                         O_NOCTTY; /dev/console never does, as Linux)
 *   null     1:3          reads end of file, writes vanish
 *   zero     1:5          reads zeros, writes vanish
 *   full     1:7          reads zeros, writes -ENOSPC
 *   random   1:8          random bytes (kernel/random.c), writes accepted
 *   urandom  1:9          the same
 *
 * Hooks: kernel/sys_file.c (openat, newfstatat, fstat, getdents64, a dirfd
 * on /dev) and kernel/file.c (kfile_open_path) call devfs_path() first,
 * as they do for /proc. The directory is a kfile of type KFILE_CONSOLE
 * whose ops are devfs_dir_ops (devfs_is_dir); device files are
 * KFILE_CONSOLE kfiles too, their struct dev_node in private_data (the
 * tty's: its rdev there), so fstat reaches devfs_fstat.
 *
 * Not done: creating files in /dev (-EACCES), mknod, mmap of /dev/zero
 * (-ENODEV: the mmap code maps SFS files only), permissions (all 0666,
 * ttys 0620 as Linux). No locks: the table is constant; a directory's
 * position is its f_pos under pos_lock.
 */
#include "kernel/fs/devfs.h"
#include "kernel/file.h"
#include "kernel/fs/fs.h"
#include "kernel/tty.h"
#include "kernel/poll.h"
#include "kernel/sys_file.h"
#include "kernel/random.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "mm/kmalloc.h"
#include "arch/x86_64/uaccess.h"

#define DEVFS_DEV     0x5 /* st_dev of devtmpfs */
#define MKDEV(ma, mi) (((uint64_t)(ma) << 8) | (mi))

enum dev_kind { DEV_NULL, DEV_ZERO, DEV_FULL, DEV_RANDOM, DEV_CONSOLE, DEV_TTY, DEV_TTYS0 };

struct dev_node {
	const char *name;
	enum dev_kind kind;
	unsigned major, minor, mode;
	uint64_t ino;
};

static const struct dev_node devs[] = {
	{ "console", DEV_CONSOLE, 5, 1, 0620, 3 }, { "full", DEV_FULL, 1, 7, 0666, 4 },
	{ "null", DEV_NULL, 1, 3, 0666, 5 },	   { "random", DEV_RANDOM, 1, 8, 0666, 6 },
	{ "tty", DEV_TTY, 5, 0, 0666, 7 },	   { "ttyS0", DEV_TTYS0, 4, 64, 0620, 8 },
	{ "urandom", DEV_RANDOM, 1, 9, 0666, 9 },  { "zero", DEV_ZERO, 1, 5, 0666, 10 },
};
#define NR_DEVS	   (sizeof(devs) / sizeof(devs[0]))
#define DEVFS_ROOT 2 /* the directory's inode */

bool devfs_path(const char *path)
{
	return !strncmp(path, "/dev", 4) && (path[4] == 0 || path[4] == '/');
}

/* The node of path, or NULL for the directory; -ENOENT via *err. */
static const struct dev_node *lookup(const char *path, int *err)
{
	*err = 0;
	const char *name = path + 4;
	while (*name == '/')
		name++;
	if (!*name)
		return NULL;
	for (size_t i = 0; i < NR_DEVS; i++)
		if (!strcmp(devs[i].name, name))
			return &devs[i];
	*err = -ENOENT;
	return NULL;
}

/* ---- the simple devices --------------------------------------------------- */

static const struct dev_node *node_of(struct kfile *f)
{
	return f->private_data;
}

/* Zeros (or random bytes) to the user, in pieces. */
static ssize_t fill_user(uint64_t ubuf, size_t len, bool random)
{
	char buf[256];
	size_t done = 0;
	if (!random)
		memset(buf, 0, sizeof(buf));
	while (done < len) {
		size_t n = MIN(len - done, sizeof(buf));
		if (random)
			get_random_bytes(buf, n);
		if (copy_to_user(ubuf + done, buf, n))
			return done ? (ssize_t)done : -EFAULT;
		done += n;
	}
	return (ssize_t)done;
}

static ssize_t mem_read(struct kfile *f, uint64_t ubuf, size_t len, uint64_t *pos)
{
	switch (node_of(f)->kind) {
	case DEV_NULL:
		return 0;
	case DEV_RANDOM:
		return fill_user(ubuf, len, true);
	default:
		return fill_user(ubuf, len, false);
	}
}

static ssize_t mem_write(struct kfile *f, uint64_t ubuf, size_t len, uint64_t *pos)
{
	if (node_of(f)->kind == DEV_FULL)
		return -ENOSPC;
	return (ssize_t)len;
}

static int64_t mem_llseek(struct kfile *f, int64_t off, int whence)
{
	f->f_pos = 0; /* Linux's null_lseek / zero: always 0 */
	return 0;
}

static const struct file_operations mem_ops = {
	.read = mem_read,
	.write = mem_write,
	.llseek = mem_llseek,
};

/* ---- the directory -------------------------------------------------------- */

static ssize_t dir_read(struct kfile *f, uint64_t ubuf, size_t len, uint64_t *pos)
{
	return -EISDIR;
}

static int64_t dir_llseek(struct kfile *f, int64_t off, int whence)
{
	if (whence != 0 || off < 0)
		return -EINVAL;
	f->f_pos = (uint64_t)off;
	return off;
}

static const struct file_operations devfs_dir_ops = {
	.read = dir_read,
	.llseek = dir_llseek,
};

bool devfs_is_dir(const struct kfile *f)
{
	return f->f_op == &devfs_dir_ops;
}

long devfs_getdents64(struct kfile *f, uint64_t dirp, unsigned count)
{
	if (!access_ok(dirp, count))
		return -EFAULT;
	down_write(&f->pos_lock);
	uint64_t pos = f->f_pos, written = 0;
	long r = 0;
	for (; pos < NR_DEVS + 2; pos++) {
		const char *name = pos == 0 ? "." : pos == 1 ? ".." : devs[pos - 2].name;
		size_t nlen = strlen(name);
		size_t reclen = ALIGN_UP(offsetof(struct linux_dirent64, d_name) + nlen + 1, 8);
		char rec[64];
		if (written + reclen > count) {
			if (!written)
				r = -EINVAL;
			break;
		}
		memset(rec, 0, sizeof(rec));
		struct linux_dirent64 *d = (struct linux_dirent64 *)rec;
		d->d_ino = pos == 0 ? DEVFS_ROOT : pos == 1 ? 1 : devs[pos - 2].ino;
		d->d_off = (int64_t)pos + 1;
		d->d_reclen = (uint16_t)reclen;
		d->d_type = pos < 2 ? DT_DIR : DT_CHR;
		memcpy(d->d_name, name, nlen);
		if (copy_to_user(dirp + written, rec, reclen)) {
			r = -EFAULT;
			break;
		}
		written += reclen;
	}
	f->f_pos = pos;
	up_write(&f->pos_lock);
	return written ? (long)written : r;
}

/* ---- open and stat -------------------------------------------------------- */

static void stat_node(const struct dev_node *n, struct linux_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = DEVFS_DEV;
	st->st_blksize = 4096;
	if (!n) {
		st->st_ino = DEVFS_ROOT;
		st->st_nlink = 2;
		st->st_mode = S_IFDIR | 0755;
		st->st_size = 0;
		return;
	}
	st->st_ino = n->ino;
	st->st_nlink = 1;
	st->st_mode = S_IFCHR | n->mode;
	st->st_rdev = MKDEV(n->major, n->minor);
	st->st_gid = n->major == 5 || n->major == 4 ? 5 : 0; /* tty group */
}

int devfs_stat(const char *path, bool dir_only, struct linux_stat *st)
{
	int err;
	const struct dev_node *n = lookup(path, &err);
	if (err)
		return err;
	if (n && dir_only)
		return -ENOTDIR;
	stat_node(n, st);
	return 0;
}

bool devfs_fstat(struct kfile *f, struct linux_stat *st)
{
	if (devfs_is_dir(f)) {
		stat_node(NULL, st);
		return true;
	}
	if (f->f_op == &mem_ops) {
		stat_node(node_of(f), st);
		return true;
	}
	if (is_tty_file(f)) {
		const struct dev_node *n = f->private_data;
		if (!n) /* the stdio of kernel-started processes: the serial port */
			n = &devs[5];
		stat_node(n, st);
		return true;
	}
	return false;
}

int devfs_open(const char *path, int flags, bool dir_only, struct kfile **out)
{
	int err;
	const struct dev_node *n = lookup(path, &err);
	if (err)
		return (flags & O_CREAT) ? -EACCES : err;
	if ((flags & O_CREAT) && (flags & O_EXCL))
		return -EEXIST;
	int acc = flags & O_ACCMODE;
	if (!n) {
		if ((flags & O_CREAT) || acc == O_WRONLY || acc == O_RDWR)
			return -EISDIR;
		struct kfile *f =
		    kfile_alloc(&devfs_dir_ops, KFILE_CONSOLE, FMODE_READ | FMODE_LSEEK,
				flags & (O_ACCMODE | O_NONBLOCK | O_LARGEFILE));
		char *p = f ? kmalloc(5) : NULL;
		if (!p) {
			if (f)
				kfile_put(f);
			return -ENOMEM;
		}
		memcpy(p, "/dev", 5);
		f->path = p;
		*out = f;
		return 0;
	}
	if (dir_only || (flags & O_DIRECTORY))
		return -ENOTDIR;
	if (n->kind == DEV_CONSOLE || n->kind == DEV_TTY || n->kind == DEV_TTYS0) {
		err = tty_open(flags, n->kind == DEV_TTY, n->kind == DEV_TTYS0, out);
		if (!err)
			(*out)->private_data = (void *)n;
		return err;
	}
	unsigned mode = FMODE_LSEEK;
	if (flags & O_PATH)
		mode = FMODE_PATH;
	else {
		if (acc == O_RDONLY || acc == O_RDWR)
			mode |= FMODE_READ;
		if (acc == O_WRONLY || acc == O_RDWR)
			mode |= FMODE_WRITE;
	}
	struct kfile *f =
	    kfile_alloc(&mem_ops, KFILE_CONSOLE, mode,
			flags & (O_ACCMODE | O_APPEND | O_NONBLOCK | O_LARGEFILE | O_PATH));
	if (!f)
		return -ENOMEM;
	f->private_data = (void *)n;
	*out = f;
	return 0;
}
