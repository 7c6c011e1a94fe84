/*
 * kernel/fs/fs.h - a small VFS over one mounted SFS file system (the RAM
 * disk): path lookup, open files, read/write through the page cache or
 * O_DIRECT, truncate, unlink, directories, fsync, fadvise(DONTNEED), and
 * shared/private file mappings. See kernel/fs/sfs.c; what concerns the page
 * cache and mappings (O_DIRECT, msync, truncate and invalidation) is in
 * mm/filemap.c and mm/truncate.c.
 */
#ifndef KERNEL_FS_FS_H
#define KERNEL_FS_FS_H

#include "kernel/compiler.h"
#include "kernel/rwsem.h"
#include "mm/filemap.h"
#include "kernel/fs/sfs_format.h"

#define O_RDONLY 0x0
#define O_WRONLY 0x1
#define O_RDWR	 0x2
#define O_CREAT	 0x40
#define O_TRUNC	 0x200
#define O_DIRECT 0x4000

#define ENOENT	     2
#define EIO	     5
#define EEXIST	     17
#define ENOTDIR	     20
#define EISDIR	     21
#define ENOSPC	     28
#define EBUSY	     16
#define ENOTEMPTY    39
#define ENAMETOOLONG 36
#define EFBIG	     27
#define EBADF	     9
#define EACCES	     13
#define EINVAL	     22
#define EPERM	     1
#define EMLINK	     31

#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2

struct inode {
	uint32_t ino;
	struct sfs_inode d; /* the on-disk inode; fs_lock */
	struct address_space mapping;
	struct rwsem i_rwsem;  /* serializes writes and truncates of this file */
	int refs;	       /* open files + mappings + lookups; fs_lock */
	struct list_head node; /* inode cache; fs_lock */
};

/* The file's size (d.size: written under map_lock, with the mapping's
 * invalidate_lock held for write when it shrinks). */
static inline uint64_t i_size_read(const struct inode *inode)
{
	return READ_ONCE(inode->d.size);
}

struct file {
	struct inode *inode;
	int flags;
	uint64_t pos; /* vfs_read, vfs_write, vfs_lseek (one thread per file) */
};

struct block_device;
int fs_mount(struct block_device *bdev); /* validates the whole image first */
bool fs_mounted(void);

int vfs_open(const char *path, int flags, struct file **out);
void vfs_close(struct file *f);
ssize_t vfs_pread(struct file *f, void *buf, size_t len, uint64_t pos);
ssize_t vfs_pwrite(struct file *f, const void *buf, size_t len, uint64_t pos);
/* To/from user memory of the current mm; O_DIRECT files pin the user pages
 * (pin_user_pages_fast) and copy them to/from the disk, bypassing the cache. */
ssize_t vfs_pread_user(struct file *f, uint64_t uaddr, size_t len, uint64_t pos);
ssize_t vfs_pwrite_user(struct file *f, uint64_t uaddr, size_t len, uint64_t pos);
/* Shrinking unmaps and drops the pages beyond the new size, from every
 * mapping too (mm/truncate.c); a later access there gets SIGBUS. */
int vfs_truncate(struct file *f, uint64_t size);
int vfs_unlink(const char *path);
int vfs_mkdir(const char *path);
/* Symbolic links: a new link at path to target (1..SFS_SYMLINK_MAX bytes;
 * -EEXIST, -ENOENT, -ENOTDIR, -ENOSPC); readlink copies at most size bytes
 * of the target of the link at path (not followed), -EINVAL if it is no
 * link. */
int vfs_symlink(const char *target, const char *path);
int vfs_readlink(const char *path, char *buf, size_t size);
/* The path walk's question, in one walk: the first symbolic link on path
 * at or after byte `from` (the last component only if last_too): its
 * target in buf (at most size bytes), its component at [*start, *end), the
 * length returned; 0 if none (or the walk ends at a missing component). */
int vfs_first_link(const char *path, size_t from, bool last_too, size_t *start, size_t *end,
		   char *buf, size_t size);
/* A hard link newpath to the file at oldpath (not a directory: -EPERM). */
int vfs_link(const char *oldpath, const char *newpath);
/* rename(2) / renameat2(2) inside SFS: atomic replacement of an existing
 * target; flags SFS_RENAME_NOREPLACE (-EEXIST) or SFS_RENAME_EXCHANGE (swap
 * two existing names). The caller refuses a directory moved under itself. */
#define SFS_RENAME_NOREPLACE 1u
#define SFS_RENAME_EXCHANGE  2u
int vfs_rename(const char *oldpath, const char *newpath, unsigned flags);
/* fallocate mode 0: the size grows to at least offset + len (blocks come at
 * writeback, as every SFS block does). */
int vfs_fallocate(struct file *f, uint64_t offset, uint64_t len);
int vfs_fsync(struct file *f);	   /* data and inode */
int vfs_fdatasync(struct file *f); /* data */
/* POSIX_FADV_DONTNEED: drop the clean, unmapped, unpinned cached pages. */
uint64_t vfs_fadvise_dontneed(struct file *f, uint64_t pos, uint64_t len);
/* O_APPEND: write at the end of the file, found under the inode lock so
 * appenders never overwrite each other; *pos becomes the end of the data. */
ssize_t vfs_append_user(struct file *f, uint64_t uaddr, size_t len, uint64_t *pos);
uint64_t vfs_size(struct file *f);
/* The file position: SEEK_SET, SEEK_CUR or SEEK_END plus offset, anywhere
 * in 0 .. SFS_MAX_FILE_SIZE (past the end too: a write there leaves a
 * hole); the new position, or -EINVAL (negative, past the largest file,
 * overflow, bad whence). */
int64_t vfs_lseek(struct file *f, int64_t offset, int whence);
/* vfs_pread / vfs_pwrite at the file position, which they advance. */
ssize_t vfs_read(struct file *f, void *buf, size_t len);
ssize_t vfs_write(struct file *f, const void *buf, size_t len);

/* mmap of a file (MAP_SHARED or MAP_PRIVATE); address or -errno. */
int64_t vfs_mmap(struct mm *mm, struct file *f, uint64_t addr, uint64_t len, int prot, int flags,
		 uint64_t offset);

/* Full read-only check of an image on b (mount runs it first). */
int sfs_validate(struct block_device *b, char *err, size_t errlen);
/* Write back everything, then run the full SFS check on the disk. */
int fs_sync_and_check(char *err, size_t errlen);
/* The check's scratch memory is one page-allocator block up to this size,
 * pages mapped in the vmalloc area beyond (tests lower it to try both). */
extern size_t sfs_scratch_contiguous_max;
/* The mounted file system's superblock as it is now (free counts, size). */
void fs_statfs(struct sfs_super *out);

/* Call cb for each entry of the directory at path. */
int vfs_readdir(const char *path, void (*cb)(const char *name, bool dir, uint64_t size, void *arg),
		void *arg);
/* The first entry of directory f at entry slot >= *slot: 1 with *slot,
 * name, ino and is_dir set; 0 at the end; -ENOTDIR, -EIO, -ENOMEM. */
int vfs_dir_next(struct file *f, uint64_t *slot, char name[SFS_NAME_MAX + 1], uint32_t *ino,
		 bool *is_dir);
/* The same, with the entry's inode mode (SFS_S_IFREG, _IFDIR, _IFLNK). */
int vfs_dir_next_type(struct file *f, uint64_t *slot, char name[SFS_NAME_MAX + 1], uint32_t *ino,
		      unsigned *type);
/* Write back, then free unused inodes and clean cached pages. */
void fs_drop_caches(void);

/* For mm: VMA file references. */
void inode_get(struct inode *inode);
void inode_put(struct inode *inode);

/* Path walking: skip the slashes at *p, leave *p at the next component
 * and return its length (0 at the end of the path). */
static inline size_t path_component(const char **p)
{
	while (**p == '/')
		(*p)++;
	size_t n = 0;
	while ((*p)[n] && (*p)[n] != '/')
		n++;
	return n;
}

#endif
