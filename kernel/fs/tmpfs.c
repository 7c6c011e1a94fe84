/*
 * kernel/fs/tmpfs.c - the memory file system mounted on /tmp (Linux's
 * tmpfs, much reduced): a tree of directories, regular files and symbolic
 * links that lives only in memory and is gone at reboot.
 *
 * A regular file is a shmem object (mm/shmem.c), the memory file behind
 * memfd_create: an open file is a memfd kfile on it (memfd_file_open), so
 * read, write, the vectored and positioned calls, lseek, ftruncate,
 * fallocate, fstat and mmap (shared or private) are kernel/memfd.c's. Its
 * inode carries SHMEM_TMPFS_FILE and the link count, so fstat reports the
 * names it has. A directory is a list of named entries (struct tdent); a
 * symbolic link keeps its target in a string.
 *
 * Lifetimes: a node (struct tnode) is held by every entry that names it
 * (nlink) and by every open directory kfile on it (refs); it goes when both
 * are gone. A regular file's node holds one reference on its shmem inode;
 * open files and mappings hold their own, so the memory of an unlinked
 * file lives until the last fd and the last mapping go (Linux's rule).
 *
 * Paths: the system calls (kernel/sys_file.c) hand in absolute, normalized
 * paths under TMPFS_ROOT with every symbolic link already followed, except
 * a last component the call does not follow (lstat, unlink, rename, ...).
 *
 * Lock: tmpfs_lock (a sleeping rwsem) guards the whole tree: every entry
 * list, nlink and refs, held for write by any change, for read by lookups
 * and getdents. Nothing under it touches user memory (getdents copies a
 * record out after dropping it) or sleeps on another lock but kmalloc.
 *
 * Not here: permissions, owners and times (stat reports 0755 directories,
 * 0777 links and files, root, time 0), size limits (the memory is the
 * limit), O_TMPFILE, xattrs.
 */
#include "kernel/fs/tmpfs.h"
#include "kernel/fs/fs.h"
#include "kernel/file.h"
#include "kernel/memfd.h"
#include "kernel/sys_file.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "kernel/list.h"
#include "kernel/rwsem.h"
#include "mm/shmem.h"
#include "mm/kmalloc.h"
#include "arch/x86_64/uaccess.h"

#define NAME_MAX 255

struct tnode {
	int type; /* TMPFS_REG, TMPFS_DIR, TMPFS_LNK */
	unsigned nlink;
	unsigned refs; /* open directory kfiles */
	uint64_t ino;
	struct inode *shmem;	  /* TMPFS_REG */
	char *target;		  /* TMPFS_LNK */
	struct list_head entries; /* TMPFS_DIR: struct tdent */
	struct tnode *parent;	  /* TMPFS_DIR: for ".." (NULL: the root) */
};

struct tdent {
	struct list_head node;
	struct tnode *n;
	size_t len;
	char name[];
};

static struct rwsem tmpfs_lock;
static struct tnode root;
static uint64_t next_ino = 2;
static bool ready;

static void tmpfs_init(void)
{
	/* the first call comes from one process before any other can use
	 * /tmp: the boot's first program */
	if (__atomic_load_n(&ready, __ATOMIC_ACQUIRE))
		return;
	static DEFINE_SPINLOCK(init_lock);
	spin_lock(&init_lock);
	if (!ready) {
		rwsem_init(&tmpfs_lock);
		root.type = TMPFS_DIR;
		root.nlink = 1;
		root.ino = 1;
		INIT_LIST_HEAD(&root.entries);
		__atomic_store_n(&ready, true, __ATOMIC_RELEASE);
	}
	spin_unlock(&init_lock);
}

bool tmpfs_mounted(void)
{
	return true;
}

bool tmpfs_path(const char *path)
{
	size_t n = sizeof(TMPFS_ROOT) - 1;
	return !strncmp(path, TMPFS_ROOT, n) && (path[n] == 0 || path[n] == '/');
}

/* The node of one component inside dir, or NULL (lock held). */
static struct tdent *dir_lookup(struct tnode *dir, const char *name, size_t len)
{
	struct tdent *d;
	list_for_each_entry (d, &dir->entries, node)
		if (d->len == len && !memcmp(d->name, name, len))
			return d;
	return NULL;
}

/*
 * Walk path (under TMPFS_ROOT) to the directory holding its last component:
 * *dir, and *name, *len the last component (len 0: the path is the root).
 * Lock held. -ENOENT, -ENOTDIR (a component on the way is no directory),
 * -ENAMETOOLONG.
 */
static int walk_parent(const char *path, struct tnode **dir, const char **name, size_t *len)
{
	const char *p = path + sizeof(TMPFS_ROOT) - 1;
	struct tnode *cur = &root;
	for (;;) {
		size_t n = path_component(&p);
		const char *e = p + n;
		if (n > NAME_MAX)
			return -ENAMETOOLONG;
		const char *rest = e;
		while (*rest == '/')
			rest++;
		if (!*rest) {
			*dir = cur;
			*name = p;
			*len = n;
			return 0;
		}
		struct tdent *d = dir_lookup(cur, p, n);
		if (!d)
			return -ENOENT;
		if (d->n->type != TMPFS_DIR)
			return -ENOTDIR;
		cur = d->n;
		p = e;
	}
}

/* The node at path (lock held), or NULL with *err. */
static struct tnode *lookup(const char *path, int *err)
{
	struct tnode *dir;
	const char *name;
	size_t len;
	*err = walk_parent(path, &dir, &name, &len);
	if (*err)
		return NULL;
	if (!len)
		return dir;
	struct tdent *d = dir_lookup(dir, name, len);
	if (!d)
		*err = -ENOENT;
	return d ? d->n : NULL;
}

static void node_free_if_unused(struct tnode *n)
{
	if (n->nlink || n->refs || n == &root)
		return;
	if (n->shmem)
		mapped_file_put(n->shmem);
	kfree(n->target);
	kfree(n);
}

static struct tnode *node_new(int type)
{
	struct tnode *n = kzalloc(sizeof(*n));
	if (!n)
		return NULL;
	n->type = type;
	INIT_LIST_HEAD(&n->entries);
	if (type == TMPFS_REG) {
		n->shmem = shmem_file_setup(0);
		if (!n->shmem) {
			kfree(n);
			return NULL;
		}
		n->shmem->d.flags = SHMEM_TMPFS_FILE;
		n->shmem->d.nlink = 0;
		n->ino = (uint64_t)(uintptr_t)n->shmem >> 6; /* as memfd's fstat says */
	} else {
		n->ino = next_ino++;
	}
	return n;
}

static void set_nlink(struct tnode *n, unsigned nlink)
{
	n->nlink = nlink;
	if (n->shmem)
		n->shmem->d.nlink = (uint16_t)nlink;
}

/* A new entry name -> n in dir (lock held): n gains a link. */
static int add_entry(struct tnode *dir, const char *name, size_t len, struct tnode *n)
{
	struct tdent *d = kmalloc(sizeof(*d) + len + 1);
	if (!d)
		return -ENOMEM;
	d->n = n;
	d->len = len;
	memcpy(d->name, name, len);
	d->name[len] = 0;
	list_add_tail(&d->node, &dir->entries);
	set_nlink(n, n->nlink + 1);
	if (n->type == TMPFS_DIR)
		n->parent = dir;
	return 0;
}

/* Remove entry d (lock held); its node loses a link, and goes if unused. */
static void remove_entry(struct tdent *d)
{
	struct tnode *n = d->n;
	list_del(&d->node);
	kfree(d);
	set_nlink(n, n->nlink - 1);
	node_free_if_unused(n);
}

/* A new node of type at path (lock held for write). */
static int create(const char *path, int type, const char *target, struct tnode **out)
{
	struct tnode *dir;
	const char *name;
	size_t len;
	int err = walk_parent(path, &dir, &name, &len);
	if (err)
		return err;
	if (!len || dir_lookup(dir, name, len))
		return -EEXIST;
	if (!dir->nlink)
		return -ENOENT; /* removed (an open fd's directory) */
	struct tnode *n = node_new(type);
	if (!n)
		return -ENOMEM;
	if (target) {
		size_t tl = strlen(target);
		n->target = kmalloc(tl + 1);
		if (!n->target) {
			kfree(n);
			return -ENOMEM;
		}
		memcpy(n->target, target, tl + 1);
	}
	err = add_entry(dir, name, len, n);
	if (err) {
		node_free_if_unused(n);
		return err;
	}
	if (out)
		*out = n;
	return 0;
}

int tmpfs_type(const char *path)
{
	tmpfs_init();
	int err;
	down_read(&tmpfs_lock);
	struct tnode *n = lookup(path, &err);
	int r = n ? n->type : err;
	up_read(&tmpfs_lock);
	return r;
}

static void fill_stat_node(struct tnode *n, struct linux_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = 0x1; /* tmpfs's anonymous device, as memfd's fstat says */
	st->st_ino = n->ino;
	st->st_nlink = n->type == TMPFS_DIR ? 1 : n->nlink;
	st->st_blksize = 4096;
	if (n->type == TMPFS_REG) {
		st->st_mode = S_IFREG | 0777;
		st->st_size = (int64_t)i_size_read(n->shmem);
		st->st_blocks = (int64_t)(n->shmem->mapping.nrpages * 8);
	} else if (n->type == TMPFS_LNK) {
		st->st_mode = S_IFLNK | 0777;
		st->st_size = (int64_t)strlen(n->target);
	} else {
		st->st_mode = S_IFDIR | 0755;
		/* Linux's tmpfs: 2 + subdirectories, size 40 + 20 per entry;
		 * here one link (as SFS), size from the entries */
		struct tdent *d;
		st->st_size = 40;
		list_for_each_entry (d, &n->entries, node)
			st->st_size += 20;
	}
}

int tmpfs_stat(const char *path, struct linux_stat *st)
{
	tmpfs_init();
	int err;
	down_read(&tmpfs_lock);
	struct tnode *n = lookup(path, &err);
	if (n)
		fill_stat_node(n, st);
	up_read(&tmpfs_lock);
	return n ? 0 : err;
}

/* ---- directories as open files -------------------------------------------- */

static ssize_t tdir_read(struct kfile *f, uint64_t ubuf, size_t len, uint64_t *pos)
{
	return -EISDIR;
}

static int64_t tdir_llseek(struct kfile *f, int64_t off, int whence)
{
	if (whence != SEEK_SET && whence != SEEK_CUR)
		return -EINVAL;
	int64_t np = whence == SEEK_SET ? off : (int64_t)f->f_pos + off;
	if (np < 0)
		return -EINVAL;
	f->f_pos = (uint64_t)np;
	return np;
}

static void tdir_release(struct kfile *f)
{
	struct tnode *n = f->private_data;
	down_write(&tmpfs_lock);
	n->refs--;
	node_free_if_unused(n);
	up_write(&tmpfs_lock);
}

static const struct file_operations tdir_ops = {
	.read = tdir_read,
	.llseek = tdir_llseek,
	.release = tdir_release,
};

void tmpfs_fstat_dir(struct kfile *f, struct linux_stat *st)
{
	down_read(&tmpfs_lock);
	fill_stat_node(f->private_data, st);
	up_read(&tmpfs_lock);
}

int tmpfs_dir_entry(struct kfile *f, uint64_t pos, char *name, uint64_t *ino, uint8_t *dtype)
{
	struct tnode *n = f->private_data;
	int r = 0;
	down_read(&tmpfs_lock);
	if (pos == 0 || pos == 1) {
		memcpy(name, pos ? ".." : ".", pos + 2);
		*ino = pos && n->parent ? n->parent->ino : n->ino;
		*dtype = DT_DIR;
		r = 1;
	} else if (n->nlink) { /* a removed directory reads as empty */
		uint64_t k = 2;
		struct tdent *d;
		list_for_each_entry (d, &n->entries, node) {
			if (k++ != pos)
				continue;
			memcpy(name, d->name, d->len + 1);
			*ino = d->n->ino;
			*dtype = d->n->type == TMPFS_DIR   ? DT_DIR
				 : d->n->type == TMPFS_LNK ? DT_LNK
							   : DT_REG;
			r = 1;
			break;
		}
	}
	up_read(&tmpfs_lock);
	return r;
}

int tmpfs_open(const char *path, int flags, struct kfile **out)
{
	tmpfs_init();
	int err;
	down_write(&tmpfs_lock);
	struct tnode *n = lookup(path, &err);
	if (!n && err == -ENOENT && (flags & O_CREAT))
		err = create(path, TMPFS_REG, NULL, &n);
	if (err) {
		up_write(&tmpfs_lock);
		return err;
	}
	struct kfile *f = NULL;
	if (n->type == TMPFS_LNK) {
		err = -ELOOP; /* the caller follows links; here only O_NOFOLLOW */
	} else if (n->type == TMPFS_DIR) {
		f = kfile_alloc(&tdir_ops, KFILE_TMPFS_DIR,
				flags & O_PATH ? FMODE_PATH : FMODE_READ | FMODE_LSEEK,
				flags & (O_ACCMODE | O_NONBLOCK | O_LARGEFILE | O_PATH));
		if (f) {
			f->private_data = n;
			n->refs++;
		}
	} else {
		f = memfd_file_open(n->shmem, flags & (O_ACCMODE | O_APPEND | O_NONBLOCK | O_PATH));
		if (f && (flags & O_PATH)) {
			f->f_mode = FMODE_PATH;
		}
	}
	struct inode *trunc =
	    n->type == TMPFS_REG && (flags & O_TRUNC) && !(flags & O_PATH) ? n->shmem : NULL;
	up_write(&tmpfs_lock);
	if (!err && !f)
		err = -ENOMEM;
	if (!err && f) {
		size_t plen = strlen(path);
		f->path = kmalloc(plen + 1);
		if (!f->path) {
			kfile_put(f);
			return -ENOMEM;
		}
		memcpy(f->path, path, plen + 1);
		if (trunc)
			memfd_truncate_inode(trunc, 0);
		*out = f;
	}
	return err;
}

/* ---- the namespace ---------------------------------------------------------- */

int tmpfs_mkdir(const char *path)
{
	tmpfs_init();
	down_write(&tmpfs_lock);
	int err = create(path, TMPFS_DIR, NULL, NULL);
	up_write(&tmpfs_lock);
	return err;
}

int tmpfs_symlink(const char *target, const char *path)
{
	tmpfs_init();
	down_write(&tmpfs_lock);
	int err = create(path, TMPFS_LNK, target, NULL);
	up_write(&tmpfs_lock);
	return err;
}

int tmpfs_readlink(const char *path, char *buf, size_t size)
{
	tmpfs_init();
	int err;
	down_read(&tmpfs_lock);
	struct tnode *n = lookup(path, &err);
	if (n && n->type != TMPFS_LNK)
		err = -EINVAL;
	else if (n) {
		size_t tl = strlen(n->target);
		err = (int)MIN(tl, size);
		memcpy(buf, n->target, (size_t)err);
	}
	up_read(&tmpfs_lock);
	return err;
}

int tmpfs_unlink(const char *path, bool rmdir)
{
	tmpfs_init();
	struct tnode *dir;
	const char *name;
	size_t len;
	down_write(&tmpfs_lock);
	int err = walk_parent(path, &dir, &name, &len);
	struct tdent *d = NULL;
	if (!err && !len)
		err = rmdir ? -EBUSY : -EISDIR; /* the mount point */
	else if (!err && !(d = dir_lookup(dir, name, len)))
		err = -ENOENT;
	else if (!err && rmdir && d->n->type != TMPFS_DIR)
		err = -ENOTDIR;
	else if (!err && !rmdir && d->n->type == TMPFS_DIR)
		err = -EISDIR;
	else if (!err && rmdir && !list_empty(&d->n->entries))
		err = -ENOTEMPTY;
	if (!err)
		remove_entry(d);
	up_write(&tmpfs_lock);
	return err;
}

int tmpfs_link(const char *oldpath, const char *newpath)
{
	tmpfs_init();
	int err;
	down_write(&tmpfs_lock);
	struct tnode *n = lookup(oldpath, &err);
	struct tnode *dir;
	const char *name;
	size_t len;
	if (n && n->type == TMPFS_DIR)
		err = -EPERM;
	else if (n && !(err = walk_parent(newpath, &dir, &name, &len))) {
		if (!len || dir_lookup(dir, name, len))
			err = -EEXIST;
		else if (!dir->nlink)
			err = -ENOENT;
		else
			err = add_entry(dir, name, len, n);
	}
	up_write(&tmpfs_lock);
	return err;
}

/* Is a an ancestor of (or) b? (lock held) */
static bool is_ancestor(struct tnode *a, struct tnode *b)
{
	for (; b; b = b->parent)
		if (a == b)
			return true;
	return false;
}

int tmpfs_rename(const char *oldpath, const char *newpath, unsigned flags)
{
	tmpfs_init();
	struct tnode *odir, *ndir;
	const char *oname, *nname;
	size_t olen, nlen;
	down_write(&tmpfs_lock);
	int err = walk_parent(oldpath, &odir, &oname, &olen);
	if (!err)
		err = walk_parent(newpath, &ndir, &nname, &nlen);
	struct tdent *od = NULL, *nd = NULL;
	if (!err && (!olen || !nlen))
		err = -EBUSY; /* the mount point */
	if (!err && !(od = dir_lookup(odir, oname, olen)))
		err = -ENOENT;
	if (!err)
		nd = dir_lookup(ndir, nname, nlen);
	if (err)
		goto out;
	if (nd && (flags & SFS_RENAME_NOREPLACE)) {
		err = -EEXIST;
		goto out;
	}
	if (!nd && (flags & SFS_RENAME_EXCHANGE)) {
		err = -ENOENT;
		goto out;
	}
	if (nd && nd->n == od->n)
		goto out; /* one file's two names */
	/* a directory into its own subtree */
	if ((od->n->type == TMPFS_DIR && is_ancestor(od->n, ndir)) ||
	    (nd && (flags & SFS_RENAME_EXCHANGE) && nd->n->type == TMPFS_DIR &&
	     is_ancestor(nd->n, odir))) {
		err = -EINVAL;
		goto out;
	}
	if (flags & SFS_RENAME_EXCHANGE) {
		struct tnode *a = od->n, *b = nd->n;
		od->n = b;
		nd->n = a;
		if (a->type == TMPFS_DIR)
			a->parent = ndir;
		if (b->type == TMPFS_DIR)
			b->parent = odir;
		goto out;
	}
	if (nd) {
		bool sdir = od->n->type == TMPFS_DIR, tdir = nd->n->type == TMPFS_DIR;
		if (sdir && !tdir)
			err = -ENOTDIR;
		else if (!sdir && tdir)
			err = -EISDIR;
		else if (tdir && !list_empty(&nd->n->entries))
			err = -ENOTEMPTY;
		if (err)
			goto out;
		struct tnode *victim = nd->n;
		nd->n = od->n; /* newpath names the source at once */
		set_nlink(victim, victim->nlink - 1);
		node_free_if_unused(victim);
	} else {
		if (!ndir->nlink) {
			err = -ENOENT;
			goto out;
		}
		struct tdent *d = kmalloc(sizeof(*d) + nlen + 1);
		if (!d) {
			err = -ENOMEM;
			goto out;
		}
		d->n = od->n;
		d->len = nlen;
		memcpy(d->name, nname, nlen);
		d->name[nlen] = 0;
		list_add_tail(&d->node, &ndir->entries);
	}
	if (od->n->type == TMPFS_DIR)
		od->n->parent = ndir;
	list_del(&od->node); /* the node keeps its link: the new entry has it */
	kfree(od);
out:
	up_write(&tmpfs_lock);
	return err;
}
