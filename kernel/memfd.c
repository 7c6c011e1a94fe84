/*
 * kernel/memfd.c - memfd_create(2) and fallocate(2): an fd on an anonymous
 * memory file, the shmem object of mm/shmem.c (the one behind MAP_SHARED |
 * MAP_ANONYMOUS), as Linux 6.1's mm/memfd.c.
 *
 * The object: a shmem inode (its pages live only in its page cache, dirty
 * for ever, never dropped) with size 0 at creation, and a kfile of type
 * KFILE_MEMFD on it, opened O_RDWR, seekable, O_LARGEFILE. The kfile
 * holds one reference on the inode (mapped_file_get); every mapping holds
 * its own, so the memory lives until the last fd and the last mapping are
 * gone. The kfile's ->sfs is a bare `struct file` naming the inode, only so
 * that the generic code that asks the size of a seekable file
 * (lseek SEEK_DATA/SEEK_HOLE, FIONREAD: vfs_size) gets this one's; it is
 * never passed to SFS.
 *
 *   read/write/pread/pwrite/readv/writev/lseek: through the page cache, as
 *       a regular file's; a write past the end extends the file (the gap
 *       reads as zeros), a read stops at the end.
 *   ftruncate: a smaller size unmaps and drops the pages beyond it from
 *       every mapping (truncate_pagecache: a later access there is
 *       SIGBUS) and zeroes the rest of the last page; a larger one reads as
 *       zeros. fstat: S_IFREG | 0777, size, one link, blocks of the pages
 *       held. Both are dispatched here from the system-call table
 *       (memfd_ftruncate, memfd_fstat, memfd_newfstatat for glibc's
 *       fstat), which hands every other fd to kernel/sys_file.c's own.
 *       fsync/fdatasync of a memfd are sys_file.c's: -EINVAL (Linux: 0).
 *   mmap: MAP_SHARED (every process sees the same pages) and MAP_PRIVATE
 *       (COW copies), kernel/sys_mm.c.
 *   fallocate: mode 0 allocates the pages of [offset, offset + len) and
 *       extends the size; every other mode -EOPNOTSUPP (Linux's shmem
 *       has PUNCH_HOLE and KEEP_SIZE; not here). On other files: pipes
 *       -ESPIPE, directories -EISDIR, SFS files: mode 0 grows
 *       the size (vfs_fallocate), other modes -EOPNOTSUPP, the console -ENODEV.
 *
 * The files of /tmp (kernel/fs/tmpfs.c) are memfd kfiles too
 * (memfd_file_open), their inodes marked SHMEM_TMPFS_FILE: fstat then
 * reports the link count tmpfs keeps in d.nlink.
 *
 * memfd_create's checks, in Linux's order: flags beyond MFD_CLOEXEC |
 * MFD_ALLOW_SEALING | MFD_HUGETLB -EINVAL; the name: a fault before its
 * NUL -EFAULT, no NUL within 250 bytes (249 characters, NAME_MAX less
 * "memfd:") -EINVAL; no fd -EMFILE. MFD_ALLOW_SEALING is accepted (no
 * F_ADD_SEALS here: sealing is not implemented); MFD_HUGETLB -EINVAL (no
 * hugetlbfs; Linux makes a hugetlbfs file).
 *
 * Locks: as an SFS file's data: the inode's i_rwsem serializes writes,
 * truncates and fallocates (size changes); pages are added to the cache
 * under mapping->invalidate_lock held shared and removed under it held
 * exclusive (truncate). User memory is never touched with either held (a
 * fault on a mapping of this very memfd takes invalidate_lock): data goes
 * through a kernel bounce page.
 */
#include "kernel/memfd.h"
#include "kernel/file.h"
#include "kernel/fdtable.h"
#include "kernel/sys_file.h"
#include "kernel/fs/fs.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "kernel/sched.h"
#include "mm/filemap.h"
#include "mm/kmalloc.h"
#include "mm/page.h"
#include "mm/shmem.h"
#include "arch/x86_64/uaccess.h"

#define MFD_CLOEXEC	  0x1u
#define MFD_ALLOW_SEALING 0x2u
#define MFD_HUGETLB	  0x4u
#define MFD_NAME_MAX_LEN  249 /* NAME_MAX - strlen("memfd:") */
#define MAX_LFS_FILESIZE  0x7fffffffffffffffull

static int memfd_setsize(struct inode *inode, uint64_t size);

static struct inode *memfd_inode(struct kfile *f)
{
	return f->sfs->inode;
}

/* Move one piece of page index idx (offset off, n bytes) between the cache
 * and buf. A write adds the page if it is missing; a read of a missing page
 * gives zeros. invalidate_lock held shared. */
static int memfd_page_io(struct address_space *m, uint64_t idx, size_t off, size_t n, void *buf,
			 bool write)
{
	struct page *p = write ? find_or_read_page(m, idx) : find_get_page(m, idx);
	if (!p) {
		if (write)
			return -ENOMEM;
		memset(buf, 0, n);
		return 0;
	}
	if (write) {
		memcpy((char *)page_address(p) + off, buf, n);
		set_page_dirty(p);
	} else {
		memcpy(buf, (char *)page_address(p) + off, n);
	}
	put_page(p);
	return 0;
}

static ssize_t memfd_rw(struct kfile *f, uint64_t ubuf, size_t len, uint64_t *pos, bool write)
{
	struct inode *inode = memfd_inode(f);
	struct address_space *m = &inode->mapping;
	if (!len)
		return 0;
	if (*pos > MAX_LFS_FILESIZE)
		return write ? -EFBIG : 0;
	if (write && len > MAX_LFS_FILESIZE - *pos)
		len = MAX_LFS_FILESIZE - *pos;
	char *bounce = kmalloc(PAGE_SIZE);
	if (!bounce)
		return -ENOMEM;
	if (write) {
		down_write(&inode->i_rwsem);
		if (f->f_flags & O_APPEND)
			*pos = i_size_read(inode);
	}
	size_t done = 0;
	int err = 0;
	while (done < len) {
		uint64_t p = *pos + done;
		size_t off = p & (PAGE_SIZE - 1), n = MIN(len - done, PAGE_SIZE - off);
		if (!write) {
			uint64_t size = i_size_read(inode);
			if (p >= size)
				break;
			n = MIN(n, size - p);
		} else if (copy_from_user(bounce, ubuf + done, n)) {
			err = -EFAULT;
			break;
		}
		filemap_invalidate_lock_shared(m);
		err = memfd_page_io(m, p >> PAGE_SHIFT, off, n, bounce, write);
		if (!err && write && p + n > i_size_read(inode))
			WRITE_ONCE(inode->d.size, p + n);
		filemap_invalidate_unlock_shared(m);
		if (err)
			break;
		if (!write && copy_to_user(ubuf + done, bounce, n)) {
			err = -EFAULT;
			break;
		}
		done += n;
	}
	if (write)
		up_write(&inode->i_rwsem);
	kfree(bounce);
	*pos += done;
	return done ? (ssize_t)done : err;
}

static ssize_t memfd_read(struct kfile *f, uint64_t ubuf, size_t len, uint64_t *pos)
{
	return memfd_rw(f, ubuf, len, pos, false);
}

static ssize_t memfd_write(struct kfile *f, uint64_t ubuf, size_t len, uint64_t *pos)
{
	return memfd_rw(f, ubuf, len, pos, true);
}

/* generic_file_llseek: SEEK_SET, SEEK_CUR, SEEK_END (SEEK_DATA/HOLE are
 * answered by sys_lseek from the size). */
static int64_t memfd_llseek(struct kfile *f, int64_t off, int whence)
{
	int64_t base = whence == 0   ? 0
		       : whence == 1 ? (int64_t)f->f_pos
				     : (int64_t)i_size_read(memfd_inode(f));
	if (whence > 2)
		return -EINVAL;
	int64_t np;
	if (__builtin_add_overflow(base, off, &np) || np < 0)
		return -EINVAL;
	f->f_pos = (uint64_t)np;
	return np;
}

static void memfd_release(struct kfile *f)
{
	mapped_file_put(memfd_inode(f));
	kfree(f->sfs);
}

static const struct file_operations memfd_ops = {
	.read = memfd_read,
	.write = memfd_write,
	.llseek = memfd_llseek,
	.release = memfd_release,
};

long sys_memfd_create(uint64_t uname, unsigned flags)
{
	if (flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB))
		return -EINVAL;
	/* strnlen_user(uname, MFD_NAME_MAX_LEN + 1) */
	size_t len = 0;
	for (;; len++) {
		char c;
		if (len > MFD_NAME_MAX_LEN)
			return -EINVAL;
		if (copy_from_user(&c, uname + len, 1))
			return -EFAULT;
		if (!c)
			break;
	}
	if (flags & MFD_HUGETLB)
		return -EINVAL; /* no hugetlbfs */
	struct files_struct *files = current_files();
	int fd = fd_alloc(files, 0, flags & MFD_CLOEXEC);
	if (fd < 0)
		return fd;
	struct inode *inode = shmem_file_setup(0);
	struct file *sf = kzalloc(sizeof(*sf));
	struct kfile *f = kfile_alloc(&memfd_ops, KFILE_MEMFD,
				      FMODE_READ | FMODE_WRITE | FMODE_LSEEK, O_RDWR | O_LARGEFILE);
	if (!inode || !sf || !f) {
		if (inode)
			mapped_file_put(inode);
		kfree(sf);
		if (f) {
			f->f_op = NULL;
			kfile_put(f);
		}
		put_unused_fd(files, (unsigned)fd);
		return -ENOMEM;
	}
	sf->inode = inode; /* the kfile's reference */
	sf->flags = O_RDWR;
	f->sfs = sf;
	fd_install(files, (unsigned)fd, f);
	return fd;
}

struct kfile *memfd_file_open(struct inode *inode, int flags)
{
	int acc = flags & O_ACCMODE;
	unsigned mode = FMODE_LSEEK;
	if (acc == O_RDONLY || acc == O_RDWR)
		mode |= FMODE_READ;
	if (acc == O_WRONLY || acc == O_RDWR)
		mode |= FMODE_WRITE;
	struct file *sf = kzalloc(sizeof(*sf));
	struct kfile *f = kfile_alloc(&memfd_ops, KFILE_MEMFD, mode, flags | O_LARGEFILE);
	if (!sf || !f) {
		kfree(sf);
		if (f) {
			f->f_op = NULL;
			kfile_put(f);
		}
		return NULL;
	}
	mapped_file_get(inode);
	sf->inode = inode; /* the kfile's reference */
	sf->flags = acc;
	f->sfs = sf;
	return f;
}

int memfd_truncate_inode(struct inode *inode, uint64_t size)
{
	down_write(&inode->i_rwsem);
	int r = memfd_setsize(inode, size);
	up_write(&inode->i_rwsem);
	return r;
}

bool is_memfd(struct kfile *f)
{
	return f->type == KFILE_MEMFD;
}

struct inode *memfd_file_inode(struct kfile *f)
{
	return is_memfd(f) ? memfd_inode(f) : NULL;
}

/* The size becomes size (i_rwsem held). */
static int memfd_setsize(struct inode *inode, uint64_t size)
{
	struct address_space *m = &inode->mapping;
	uint64_t old = i_size_read(inode);
	if (size < old) {
		filemap_invalidate_lock(m);
		WRITE_ONCE(inode->d.size, size);
		truncate_pagecache(m, size); /* unmap, drop, zero the tail */
		filemap_invalidate_unlock(m);
	} else if (size > old) {
		filemap_invalidate_lock_shared(m);
		WRITE_ONCE(inode->d.size, size);
		pagecache_isize_extended(m, old, size);
		filemap_invalidate_unlock_shared(m);
	}
	return 0;
}

long memfd_ftruncate(unsigned fd, int64_t length)
{
	struct kfile *f = fget(current_files(), (int)fd);
	if (!f || !is_memfd(f)) {
		if (f)
			kfile_put(f);
		return sys_ftruncate(fd, length); /* everything else: kernel/sys_file.c */
	}
	long r = -EINVAL;
	if (length >= 0) {
		struct inode *inode = memfd_inode(f);
		down_write(&inode->i_rwsem);
		r = memfd_setsize(inode, (uint64_t)length);
		up_write(&inode->i_rwsem);
	}
	kfile_put(f);
	return r;
}

long memfd_fstat(unsigned fd, uint64_t statbuf)
{
	struct kfile *f = fget(current_files(), (int)fd);
	if (!f || !is_memfd(f)) {
		if (f)
			kfile_put(f);
		return sys_fstat(fd, statbuf);
	}
	struct inode *inode = memfd_inode(f);
	struct linux_stat st;
	memset(&st, 0, sizeof(st));
	st.st_dev = 0x1; /* tmpfs's anonymous device */
	st.st_ino = (uint64_t)(uintptr_t)inode >> 6;
	st.st_nlink = inode->d.flags & SHMEM_TMPFS_FILE ? inode->d.nlink : 1; /* /tmp's names */
	st.st_mode = S_IFREG | 0777;
	st.st_size = (int64_t)i_size_read(inode);
	st.st_blksize = PAGE_SIZE;
	st.st_blocks = (int64_t)(inode->mapping.nrpages * (PAGE_SIZE / 512));
	kfile_put(f);
	return copy_to_user(statbuf, &st, sizeof(st)) ? -EFAULT : 0;
}

/* newfstatat(fd, "", buf, AT_EMPTY_PATH) is how glibc's fstat() asks:
 * a memfd's answer here, every other call kernel/sys_file.c's. */
long memfd_newfstatat(int dirfd, uint64_t upath, uint64_t statbuf, int flags)
{
	char c = 1;
	if ((flags & AT_EMPTY_PATH) &&
	    !(flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x800 | 0x6000)) && dirfd >= 0 &&
	    !copy_from_user(&c, upath, 1) && !c) {
		struct kfile *f = fget(current_files(), dirfd);
		bool memfd = f && is_memfd(f);
		if (f)
			kfile_put(f);
		if (memfd)
			return memfd_fstat((unsigned)dirfd, statbuf);
	}
	return sys_newfstatat(dirfd, upath, statbuf, flags);
}

/* ---- fallocate (Linux 6.1 vfs_fallocate, ksys_fallocate) ------------------ */

#define FALLOC_FL_KEEP_SIZE	 0x01
#define FALLOC_FL_PUNCH_HOLE	 0x02
#define FALLOC_FL_COLLAPSE_RANGE 0x08
#define FALLOC_FL_ZERO_RANGE	 0x10
#define FALLOC_FL_INSERT_RANGE	 0x20
#define FALLOC_FL_UNSHARE_RANGE	 0x40
#define FALLOC_FL_SUPPORTED_MASK                                                 \
	(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_COLLAPSE_RANGE | \
	 FALLOC_FL_ZERO_RANGE | FALLOC_FL_INSERT_RANGE | FALLOC_FL_UNSHARE_RANGE)

static long memfd_fallocate(struct kfile *f, int mode, uint64_t offset, uint64_t len)
{
	if (mode)
		return -EOPNOTSUPP; /* only plain allocation here */
	struct inode *inode = memfd_inode(f);
	struct address_space *m = &inode->mapping;
	long r = 0;
	down_write(&inode->i_rwsem);
	filemap_invalidate_lock_shared(m);
	for (uint64_t i = offset >> PAGE_SHIFT; i < DIV_ROUND_UP(offset + len, PAGE_SIZE); i++) {
		struct page *p = find_or_read_page(m, i); /* zeroed, dirty (mm/shmem.c) */
		if (!p) {
			r = -ENOSPC;
			break;
		}
		put_page(p);
	}
	filemap_invalidate_unlock_shared(m);
	if (!r && offset + len > i_size_read(inode))
		memfd_setsize(inode, offset + len);
	up_write(&inode->i_rwsem);
	return r;
}

long sys_fallocate(int fd, int mode, int64_t offset, int64_t len)
{
	struct kfile *f = fget(current_files(), fd);
	if (!f)
		return -EBADF;
	long r;
	unsigned um = (unsigned)mode;
	if (offset < 0 || len <= 0)
		r = -EINVAL;
	else if (um & ~(unsigned)FALLOC_FL_SUPPORTED_MASK)
		r = -EOPNOTSUPP;
	else if ((um & FALLOC_FL_PUNCH_HOLE) && (um & FALLOC_FL_ZERO_RANGE))
		r = -EOPNOTSUPP;
	else if ((um & FALLOC_FL_PUNCH_HOLE) && !(um & FALLOC_FL_KEEP_SIZE))
		r = -EOPNOTSUPP;
	else if ((um & FALLOC_FL_COLLAPSE_RANGE) && (um & ~FALLOC_FL_COLLAPSE_RANGE))
		r = -EINVAL;
	else if ((um & FALLOC_FL_INSERT_RANGE) && (um & ~FALLOC_FL_INSERT_RANGE))
		r = -EINVAL;
	else if ((um & FALLOC_FL_UNSHARE_RANGE) &&
		 (um & ~(FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_KEEP_SIZE)))
		r = -EINVAL;
	else if ((f->f_mode & FMODE_PATH) || !(f->f_mode & FMODE_WRITE))
		r = -EBADF;
	else if (f->type == KFILE_PIPE)
		r = -ESPIPE;
	else if (f->type == KFILE_DIR)
		r = -EISDIR;
	else if (f->type != KFILE_REG && f->type != KFILE_MEMFD)
		r = -ENODEV;
	else if ((uint64_t)offset + (uint64_t)len > MAX_LFS_FILESIZE)
		r = -EFBIG;
	else if (f->type != KFILE_MEMFD)
		r = mode ? -EOPNOTSUPP : vfs_fallocate(f->sfs, (uint64_t)offset, (uint64_t)len);
	else
		r = memfd_fallocate(f, mode, (uint64_t)offset, (uint64_t)len);
	kfile_put(f);
	return r;
}
