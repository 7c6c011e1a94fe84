/*
 * kernel/fs/sfs.c - the kernel side of SFS (format: kernel/fs/sfs_format.h)
 * and the small VFS of kernel/fs/fs.h.
 *
 * Mount runs the full consistency check (sfs_check) on the device first: a
 * corrupt image is refused with the checker's message, nothing is written.
 *
 * File data lives in the page cache (mm/filemap.c): read() and write() copy
 * to and from cached pages, writeback (fsync, msync, the flusher) writes
 * dirty pages to their blocks. Blocks are allocated when a page is written
 * back (or by O_DIRECT writes), so a hole stays a hole until data reaches it.
 * Metadata (superblock, bitmap, inode table, indirect blocks) is written
 * through to the disk at once: the RAM disk makes that cheap, and it keeps
 * the image consistent for sfs_check at any quiet moment.
 *
 * SFS only maps file pages to blocks (readpage, writepage, direct_IO) and
 * keeps the size; the rules about cached and mapped pages are mm's: O_DIRECT
 * around the cache in mm/filemap.c, truncate and invalidation in
 * mm/truncate.c. A truncate sets the new size, lets truncate_pagecache
 * unmap and drop the pages beyond it, then frees the blocks, all under the
 * mapping's invalidate_lock held for write (as Linux's ext4 does), so no
 * fault or read can bring a page of the range back in meanwhile.
 *
 * Locks, in order:
 *   inode->i_rwsem  one writer (write, truncate, O_DIRECT write) per file
 *   fs_lock (rwsem) the namespace: directories, the inode cache, create,
 *                   unlink; read for lookups
 *   mapping->invalidate_lock (rwsem) shared to add pages to the cache,
 *                   exclusive to truncate (mm/filemap.h)
 *   map_lock (spin) block pointers of every inode, the bitmap, the
 *                   superblock, the inode table: never held over anything
 *                   that sleeps (RAM disk I/O is a copy), so readpage and
 *                   writepage can take it under any other lock.
 */
#include "kernel/fs/fs.h"
#include "kernel/fs/sfs_format.h"
#include "drivers/ramdisk.h"
#include "mm/mm.h"
#include "mm/page.h"
#include "mm/kmalloc.h"
#include "kernel/string.h"
#include "kernel/printk.h"
#include "kernel/panic.h"

static struct block_device *bdev;
static struct sfs_super sb;
static uint8_t *bitmap; /* sb.bitmap_blocks * SFS_BLOCK_SIZE bytes */
static struct rwsem fs_lock;
static DEFINE_SPINLOCK(map_lock);
static LIST_HEAD(inode_cache);
static bool mounted;

bool fs_mounted(void)
{
	return mounted;
}

/* ---- metadata (map_lock held) -------------------------------------------- */

static void write_super(void)
{
	sb.checksum = sfs_super_checksum(&sb);
	static uint8_t buf[SFS_BLOCK_SIZE];
	memset(buf, 0, sizeof(buf));
	memcpy(buf, &sb, sizeof(sb));
	bdev_write_block(bdev, 0, buf);
}

static void write_bitmap_block_of(uint32_t block)
{
	uint32_t b = block / (SFS_BLOCK_SIZE * 8);
	bdev_write_block(bdev, sb.bitmap_start + b, bitmap + (uint64_t)b * SFS_BLOCK_SIZE);
}

static bool bit_test(uint32_t b)
{
	return bitmap[b / 8] & (1u << (b % 8));
}
static void bit_set(uint32_t b)
{
	bitmap[b / 8] |= (uint8_t)(1u << (b % 8));
}
static void bit_clear(uint32_t b)
{
	bitmap[b / 8] &= (uint8_t) ~(1u << (b % 8));
}

static uint8_t zero_block[SFS_BLOCK_SIZE];

/* A zeroed data block, or 0 if the disk is full. */
static uint32_t alloc_block(void)
{
	for (uint32_t b = sb.data_start; b < sb.nr_blocks; b++) {
		if (bit_test(b))
			continue;
		bit_set(b);
		write_bitmap_block_of(b);
		sb.free_blocks--;
		write_super();
		bdev_write_block(bdev, b, zero_block);
		return b;
	}
	return 0;
}

static void free_block(uint32_t b)
{
	if (b < sb.data_start || b >= sb.nr_blocks || !bit_test(b)) {
		printk("sfs: freeing bad block %u (ignored)\n", b);
		return;
	}
	bit_clear(b);
	write_bitmap_block_of(b);
	sb.free_blocks++;
	write_super();
}

static void inode_location(uint32_t ino, uint32_t *block, uint32_t *offset)
{
	uint64_t byte = (uint64_t)ino * sizeof(struct sfs_inode);
	*block = sb.inode_table_start + (uint32_t)(byte / SFS_BLOCK_SIZE);
	*offset = (uint32_t)(byte % SFS_BLOCK_SIZE);
}

static void read_disk_inode(uint32_t ino, struct sfs_inode *out)
{
	static uint8_t buf[SFS_BLOCK_SIZE];
	uint32_t block, off;
	inode_location(ino, &block, &off);
	bdev_read_block(bdev, block, buf);
	memcpy(out, buf + off, sizeof(*out));
}

static void write_disk_inode(uint32_t ino, const struct sfs_inode *in)
{
	static uint8_t buf[SFS_BLOCK_SIZE];
	uint32_t block, off;
	inode_location(ino, &block, &off);
	bdev_read_block(bdev, block, buf);
	memcpy(buf + off, in, sizeof(*in));
	bdev_write_block(bdev, block, buf);
}

/*
 * The disk block of file page idx; 0 for a hole. With alloc, holes get a
 * block (and the indirect block if needed). Returns -errno on failure.
 */
static int64_t bmap_locked(struct inode *inode, uint64_t idx, bool alloc)
{
	struct sfs_inode *d = &inode->d;
	if (idx < SFS_NDIRECT) {
		if (!d->direct[idx] && alloc) {
			if (!(d->direct[idx] = alloc_block()))
				return -ENOSPC;
			write_disk_inode(inode->ino, d);
		}
		return d->direct[idx];
	}
	idx -= SFS_NDIRECT;
	if (idx >= SFS_PTRS_PER_BLOCK)
		return -EFBIG;
	if (!d->indirect) {
		if (!alloc)
			return 0;
		if (!(d->indirect = alloc_block()))
			return -ENOSPC;
		write_disk_inode(inode->ino, d);
	}
	static uint32_t ptrs[SFS_PTRS_PER_BLOCK];
	bdev_read_block(bdev, d->indirect, ptrs);
	if (!ptrs[idx] && alloc) {
		if (!(ptrs[idx] = alloc_block()))
			return -ENOSPC;
		bdev_write_block(bdev, d->indirect, ptrs);
	}
	return ptrs[idx];
}

static int64_t bmap(struct inode *inode, uint64_t idx, bool alloc)
{
	spin_lock(&map_lock);
	int64_t b = bmap_locked(inode, idx, alloc);
	spin_unlock(&map_lock);
	return b;
}

/* Free the blocks of pages >= first; map_lock held. */
static void free_blocks_from(struct inode *inode, uint64_t first)
{
	struct sfs_inode *d = &inode->d;
	for (uint64_t i = first; i < SFS_NDIRECT; i++) {
		if (d->direct[i]) {
			free_block(d->direct[i]);
			d->direct[i] = 0;
		}
	}
	if (d->indirect) {
		static uint32_t ptrs[SFS_PTRS_PER_BLOCK];
		bdev_read_block(bdev, d->indirect, ptrs);
		uint64_t from = first > SFS_NDIRECT ? first - SFS_NDIRECT : 0;
		for (uint64_t i = from; i < SFS_PTRS_PER_BLOCK; i++) {
			if (ptrs[i]) {
				free_block(ptrs[i]);
				ptrs[i] = 0;
			}
		}
		if (from == 0) {
			free_block(d->indirect);
			d->indirect = 0;
		} else {
			bdev_write_block(bdev, d->indirect, ptrs);
		}
	}
	write_disk_inode(inode->ino, d);
}

/* ---- page cache glue -------------------------------------------------- */

static int sfs_readpage(struct address_space *m, struct page *page)
{
	int64_t b = bmap(m->host, page->index, false);
	if (b < 0)
		return (int)b;
	if (b)
		return bdev_read_block(bdev, (uint64_t)b, page_address(page));
	return 0; /* a hole reads as zeros (the page is zeroed) */
}

static int sfs_writepage(struct address_space *m, struct page *page)
{
	struct inode *inode = m->host;
	if (((uint64_t)page->index << PAGE_SHIFT) >= READ_ONCE(inode->d.size))
		return 0; /* beyond EOF (truncated meanwhile): nothing to keep */
	int64_t b = bmap(inode, page->index, true);
	if (b <= 0)
		return b ? (int)b : -EIO;
	return bdev_write_block(bdev, (uint64_t)b, page_address(page));
}

static void set_size(struct inode *inode, uint64_t size);

/* O_DIRECT: the pinned user pages <-> the file's blocks (mm/filemap.c has
 * already made the cache agree with the disk for the range). */
static long sfs_direct_IO(struct address_space *m, bool write, struct page **pages, long nr,
			  uint64_t pos)
{
	struct inode *inode = m->host;
	long i = 0;
	for (; i < nr; i++) {
		int64_t b = bmap(inode, (pos >> PAGE_SHIFT) + (uint64_t)i, write);
		if (write && b <= 0)
			break;
		if (write)
			bdev_write_block(bdev, (uint64_t)b, page_address(pages[i]));
		else if (b > 0) /* the "device" writes memory */
			bdev_read_block(bdev, (uint64_t)b, page_address(pages[i]));
		else
			memset(page_address(pages[i]), 0, PAGE_SIZE);
	}
	if (write && i && pos + (uint64_t)i * PAGE_SIZE > i_size_read(inode))
		set_size(inode, pos + (uint64_t)i * PAGE_SIZE);
	return i ? i : -ENOSPC;
}

static const struct address_space_ops sfs_aops = {
	.readpage = sfs_readpage,
	.writepage = sfs_writepage,
	.direct_IO = sfs_direct_IO,
};

/* ---- inode cache (fs_lock) -------------------------------------------- */

static struct inode *icache_find(uint32_t ino)
{
	struct inode *i;
	list_for_each_entry (i, &inode_cache, node)
		if (i->ino == ino)
			return i;
	return NULL;
}

/* The in-memory inode for ino, with a reference. fs_lock NOT held. */
static struct inode *iget(uint32_t ino)
{
	down_read(&fs_lock);
	struct inode *i = icache_find(ino);
	if (i) {
		spin_lock(&map_lock);
		i->refs++;
		spin_unlock(&map_lock);
	}
	up_read(&fs_lock);
	if (i)
		return i;
	struct inode *fresh = kzalloc(sizeof(*fresh));
	if (!fresh)
		return NULL;
	fresh->ino = ino;
	spin_lock(&map_lock);
	read_disk_inode(ino, &fresh->d);
	spin_unlock(&map_lock);
	mapping_init(&fresh->mapping, fresh, &sfs_aops);
	rwsem_init(&fresh->i_rwsem);
	fresh->refs = 1;
	flusher_register(&fresh->mapping);
	down_write(&fs_lock);
	i = icache_find(ino);
	if (i) {
		spin_lock(&map_lock);
		i->refs++;
		spin_unlock(&map_lock);
	} else {
		list_add(&fresh->node, &inode_cache);
	}
	up_write(&fs_lock);
	if (i) { /* lost the race */
		flusher_unregister(&fresh->mapping);
		kfree(fresh);
		return i;
	}
	return fresh;
}

void inode_get(struct inode *inode)
{
	spin_lock(&map_lock);
	inode->refs++;
	spin_unlock(&map_lock);
}

/* Drop a reference; an unlinked inode's blocks go with the last one. */
void inode_put(struct inode *inode)
{
	down_write(&fs_lock);
	spin_lock(&map_lock);
	bool last = --inode->refs == 0 && inode->d.nlink == 0;
	if (last) {
		free_blocks_from(inode, 0);
		memset(&inode->d, 0, sizeof(inode->d));
		write_disk_inode(inode->ino, &inode->d);
		sb.free_inodes++;
		write_super();
	}
	spin_unlock(&map_lock);
	if (last)
		list_del(&inode->node);
	up_write(&fs_lock);
	if (last) {
		flusher_unregister(&inode->mapping);
		mapping_destroy(&inode->mapping);
		kfree(inode);
	}
}

/* ---- file data through the page cache ---------------------------------- */

static ssize_t cache_read(struct inode *inode, void *kbuf, uint64_t ubuf, size_t len, uint64_t pos)
{
	uint64_t size = i_size_read(inode);
	if (pos >= size)
		return 0;
	len = MIN(len, size - pos);
	size_t done = 0;
	while (done < len) {
		uint64_t off = (pos + done) & (PAGE_SIZE - 1);
		size_t n = MIN(len - done, PAGE_SIZE - off);
		/* Under invalidate_lock: a truncate that ran since we read the
		 * size has left nothing to read in there (and must not find a
		 * page we read in from a block it is about to free). The lock is
		 * dropped before the copy, which may fault on a mapping of this
		 * very file. */
		struct page *p = NULL;
		filemap_invalidate_lock_shared(&inode->mapping);
		bool eof = pos + done >= i_size_read(inode);
		if (!eof)
			p = find_or_read_page(&inode->mapping, (pos + done) >> PAGE_SHIFT);
		filemap_invalidate_unlock_shared(&inode->mapping);
		if (eof)
			break;
		if (!p)
			return done ? (ssize_t)done : -EIO;
		int err = 0;
		if (kbuf)
			memcpy((char *)kbuf + done, (char *)page_address(p) + off, n);
		else
			err = copy_to_user(ubuf + done, (char *)page_address(p) + off, n);
		put_page(p);
		if (err)
			return done ? (ssize_t)done : err;
		done += n;
	}
	return (ssize_t)done;
}

static void set_size(struct inode *inode, uint64_t size)
{
	spin_lock(&map_lock);
	inode->d.size = size;
	write_disk_inode(inode->ino, &inode->d);
	spin_unlock(&map_lock);
}

/* i_rwsem held for write. */
static ssize_t cache_write(struct inode *inode, const void *kbuf, uint64_t ubuf, size_t len,
			   uint64_t pos)
{
	if (pos + len > SFS_MAX_FILE_SIZE || pos + len < pos)
		return -EFBIG;
	struct address_space *m = &inode->mapping;
	if (pos > i_size_read(inode)) { /* the gap before us reads as zeros */
		filemap_invalidate_lock_shared(m);
		pagecache_isize_extended(m, i_size_read(inode), pos);
		filemap_invalidate_unlock_shared(m);
	}
	size_t done = 0;
	while (done < len) {
		uint64_t off = (pos + done) & (PAGE_SIZE - 1);
		size_t n = MIN(len - done, PAGE_SIZE - off);
		filemap_invalidate_lock_shared(m);
		struct page *p = find_or_read_page(m, (pos + done) >> PAGE_SHIFT);
		filemap_invalidate_unlock_shared(m);
		if (!p)
			break;
		int err = 0;
		if (kbuf)
			memcpy((char *)page_address(p) + off, (const char *)kbuf + done, n);
		else
			err = copy_from_user((char *)page_address(p) + off, ubuf + done, n);
		set_page_dirty(p);
		put_page(p);
		if (err)
			break;
		done += n;
	}
	if (done && pos + done > inode->d.size)
		set_size(inode, pos + done);
	return done ? (ssize_t)done : -EIO;
}

ssize_t vfs_pread(struct file *f, void *buf, size_t len, uint64_t pos)
{
	return cache_read(f->inode, buf, 0, len, pos);
}

ssize_t vfs_pwrite(struct file *f, const void *buf, size_t len, uint64_t pos)
{
	if (!(f->flags & (O_WRONLY | O_RDWR)))
		return -EBADF;
	down_write(&f->inode->i_rwsem);
	ssize_t r = cache_write(f->inode, buf, 0, len, pos);
	up_write(&f->inode->i_rwsem);
	return r;
}

/* ---- O_DIRECT (mm/filemap.c) --------------------------------------------- */

static bool dio_aligned(uint64_t uaddr, size_t len, uint64_t pos)
{
	return !((uaddr | len | pos) & (PAGE_SIZE - 1)) && len && len <= DIO_MAX_PAGES * PAGE_SIZE;
}

ssize_t vfs_pread_user(struct file *f, uint64_t uaddr, size_t len, uint64_t pos)
{
	if (!(f->flags & O_DIRECT))
		return cache_read(f->inode, NULL, uaddr, len, pos);
	if (!dio_aligned(uaddr, len, pos))
		return -EINVAL;
	uint64_t size = i_size_read(f->inode);
	if (pos >= size)
		return 0;
	ssize_t r = generic_file_direct_read(&f->inode->mapping, uaddr, len, pos);
	return r < 0 ? r : (ssize_t)MIN((uint64_t)r, size - pos);
}

ssize_t vfs_pwrite_user(struct file *f, uint64_t uaddr, size_t len, uint64_t pos)
{
	if (!(f->flags & (O_WRONLY | O_RDWR)))
		return -EBADF;
	if ((f->flags & O_DIRECT) && !dio_aligned(uaddr, len, pos))
		return -EINVAL;
	if ((f->flags & O_DIRECT) && pos + len > SFS_MAX_FILE_SIZE)
		return -EFBIG;
	down_write(&f->inode->i_rwsem);
	ssize_t r = f->flags & O_DIRECT
			? generic_file_direct_write(&f->inode->mapping, uaddr, len, pos)
			: cache_write(f->inode, NULL, uaddr, len, pos);
	up_write(&f->inode->i_rwsem);
	return r;
}

uint64_t vfs_size(struct file *f)
{
	return i_size_read(f->inode);
}

/* ---- truncate, sync ------------------------------------------------------ */

int vfs_truncate(struct file *f, uint64_t size)
{
	struct inode *inode = f->inode;
	struct address_space *m = &inode->mapping;
	if (size > SFS_MAX_FILE_SIZE)
		return -EFBIG;
	down_write(&inode->i_rwsem);
	filemap_invalidate_lock(m); /* no fault or read brings a page back meanwhile */
	uint64_t old = i_size_read(inode);
	set_size(inode, size); /* first: a fault from now on sees it */
	if (size < old) {
		truncate_pagecache(m, size); /* unmap (COW copies too), drop, zero the tail */
		spin_lock(&map_lock);
		free_blocks_from(inode, DIV_ROUND_UP(size, PAGE_SIZE));
		spin_unlock(&map_lock);
	} else {
		pagecache_isize_extended(m, old, size);
	}
	filemap_invalidate_unlock(m);
	up_write(&inode->i_rwsem);
	return 0;
}

int vfs_fdatasync(struct file *f)
{
	return filemap_write_and_wait_range(&f->inode->mapping, 0, ~0ull);
}

int vfs_fsync(struct file *f)
{
	/* The inode is written through on every change; data is what remains. */
	return vfs_fdatasync(f);
}

uint64_t vfs_fadvise_dontneed(struct file *f, uint64_t pos, uint64_t len)
{
	uint64_t end = len ? DIV_ROUND_UP(pos + len, PAGE_SIZE) : ~0ull;
	return invalidate_mapping_pages(&f->inode->mapping, pos >> PAGE_SHIFT, end);
}

/* ---- directories (fs_lock held for write to change them) ---------------- */

#define DIRENT_SIZE sizeof(struct sfs_dirent)

/* Slot of name in dir, or -ENOENT; *ino gets the entry. */
static int64_t dir_find(struct inode *dir, const char *name, size_t len, uint32_t *ino)
{
	struct sfs_dirent de;
	for (uint64_t pos = 0; pos + DIRENT_SIZE <= dir->d.size; pos += DIRENT_SIZE) {
		if (cache_read(dir, &de, 0, DIRENT_SIZE, pos) != DIRENT_SIZE)
			return -EIO;
		if (de.ino && de.name_len == len && !memcmp(de.name, name, len)) {
			*ino = de.ino;
			return (int64_t)(pos / DIRENT_SIZE);
		}
	}
	return -ENOENT;
}

static int dir_add(struct inode *dir, const char *name, size_t len, uint32_t ino)
{
	struct sfs_dirent de;
	uint64_t pos = 0;
	for (; pos + DIRENT_SIZE <= dir->d.size; pos += DIRENT_SIZE) {
		if (cache_read(dir, &de, 0, DIRENT_SIZE, pos) != DIRENT_SIZE)
			return -EIO;
		if (!de.ino)
			break; /* reuse a free slot */
	}
	memset(&de, 0, sizeof(de));
	de.ino = ino;
	de.name_len = (uint8_t)len;
	memcpy(de.name, name, len);
	ssize_t r = cache_write(dir, &de, 0, DIRENT_SIZE, pos);
	return r == DIRENT_SIZE ? 0 : (r < 0 ? (int)r : -EIO);
}

static void dir_remove(struct inode *dir, int64_t slot)
{
	struct sfs_dirent de;
	memset(&de, 0, sizeof(de));
	cache_write(dir, &de, 0, DIRENT_SIZE, (uint64_t)slot * DIRENT_SIZE);
}

static bool dir_empty(struct inode *dir)
{
	struct sfs_dirent de;
	for (uint64_t pos = 0; pos + DIRENT_SIZE <= dir->d.size; pos += DIRENT_SIZE)
		if (cache_read(dir, &de, 0, DIRENT_SIZE, pos) != DIRENT_SIZE || de.ino)
			return false;
	return true;
}

/* Split "/a/b/c" into the parent directory (referenced) and the last name. */
static int lookup_parent(const char *path, struct inode **parent, const char **name, size_t *len)
{
	if (path[0] != '/')
		return -EINVAL;
	struct inode *dir = iget(sb.root_ino);
	if (!dir)
		return -ENOMEM;
	const char *p = path + 1;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (!slash) {
			if (!sfs_valid_name(p, n)) {
				inode_put(dir);
				return n > SFS_NAME_MAX ? -ENAMETOOLONG : -EINVAL;
			}
			*parent = dir;
			*name = p;
			*len = n;
			return 0;
		}
		uint32_t ino;
		down_read(&fs_lock);
		int64_t r = dir->d.mode == SFS_S_IFDIR ? dir_find(dir, p, n, &ino) : -ENOTDIR;
		up_read(&fs_lock);
		inode_put(dir);
		if (r < 0)
			return (int)r;
		dir = iget(ino);
		if (!dir)
			return -ENOMEM;
		p = slash + 1;
	}
}

/* A new inode of mode; fs_lock held. 0 if none is free. */
static uint32_t alloc_inode(uint16_t mode)
{
	struct sfs_inode d;
	spin_lock(&map_lock);
	for (uint32_t ino = 1; ino < sb.nr_inodes; ino++) {
		read_disk_inode(ino, &d);
		if (d.mode)
			continue;
		memset(&d, 0, sizeof(d));
		d.mode = mode;
		d.nlink = 1;
		write_disk_inode(ino, &d);
		sb.free_inodes--;
		write_super();
		spin_unlock(&map_lock);
		return ino;
	}
	spin_unlock(&map_lock);
	return 0;
}

static int create(struct inode *dir, const char *name, size_t len, uint16_t mode, uint32_t *out)
{
	uint32_t ino;
	if (dir->d.mode != SFS_S_IFDIR)
		return -ENOTDIR;
	if (dir_find(dir, name, len, &ino) >= 0) {
		*out = ino;
		return -EEXIST;
	}
	if (!(ino = alloc_inode(mode)))
		return -ENOSPC;
	int err = dir_add(dir, name, len, ino);
	if (err) {
		struct sfs_inode d;
		memset(&d, 0, sizeof(d));
		spin_lock(&map_lock);
		write_disk_inode(ino, &d);
		sb.free_inodes++;
		write_super();
		spin_unlock(&map_lock);
		return err;
	}
	*out = ino;
	return 0;
}

int vfs_open(const char *path, int flags, struct file **out)
{
	if (!mounted)
		return -ENOENT;
	struct inode *dir;
	const char *name;
	size_t len;
	int err = lookup_parent(path, &dir, &name, &len);
	if (err)
		return err;
	uint32_t ino = 0;
	down_write(&fs_lock);
	if (flags & O_CREAT) {
		err = create(dir, name, len, SFS_S_IFREG, &ino);
		if (err == -EEXIST)
			err = 0;
	} else {
		err = dir->d.mode == SFS_S_IFDIR ? (int)MIN(dir_find(dir, name, len, &ino), 0)
						 : -ENOTDIR;
	}
	up_write(&fs_lock);
	inode_put(dir);
	if (err)
		return err;
	struct inode *inode = iget(ino);
	if (!inode)
		return -ENOMEM;
	if (inode->d.mode == SFS_S_IFDIR && (flags & (O_WRONLY | O_RDWR))) {
		inode_put(inode);
		return -EISDIR;
	}
	struct file *f = kzalloc(sizeof(*f));
	if (!f) {
		inode_put(inode);
		return -ENOMEM;
	}
	f->inode = inode;
	f->flags = flags;
	if ((flags & O_TRUNC) && (flags & (O_WRONLY | O_RDWR)) && (err = vfs_truncate(f, 0))) {
		vfs_close(f);
		return err;
	}
	*out = f;
	return 0;
}

void vfs_close(struct file *f)
{
	inode_put(f->inode);
	kfree(f);
}

int vfs_mkdir(const char *path)
{
	struct inode *dir;
	const char *name;
	size_t len;
	int err = lookup_parent(path, &dir, &name, &len);
	if (err)
		return err;
	uint32_t ino;
	down_write(&fs_lock);
	err = create(dir, name, len, SFS_S_IFDIR, &ino);
	if (!err) { /* the new directory's link from its parent counts too (".." ) */
		spin_lock(&map_lock);
		dir->d.nlink++;
		write_disk_inode(dir->ino, &dir->d);
		spin_unlock(&map_lock);
	}
	up_write(&fs_lock);
	inode_put(dir);
	return err;
}

int vfs_unlink(const char *path)
{
	struct inode *dir;
	const char *name;
	size_t len;
	int err = lookup_parent(path, &dir, &name, &len);
	if (err)
		return err;
	uint32_t ino;
	down_write(&fs_lock);
	int64_t slot = dir->d.mode == SFS_S_IFDIR ? dir_find(dir, name, len, &ino) : -ENOTDIR;
	up_write(&fs_lock);
	if (slot < 0) {
		inode_put(dir);
		return (int)slot;
	}
	struct inode *victim = iget(ino);
	if (!victim) {
		inode_put(dir);
		return -ENOMEM;
	}
	down_write(&fs_lock);
	if (victim->d.mode == SFS_S_IFDIR && !dir_empty(victim)) {
		err = -ENOTEMPTY;
	} else {
		dir_remove(dir, slot);
		spin_lock(&map_lock);
		if (victim->d.mode == SFS_S_IFDIR) {
			dir->d.nlink--;
			write_disk_inode(dir->ino, &dir->d);
		}
		victim->d.nlink = 0;
		write_disk_inode(victim->ino, &victim->d);
		spin_unlock(&map_lock);
	}
	up_write(&fs_lock);
	inode_put(victim); /* frees it if no file or mapping holds it */
	inode_put(dir);
	return err;
}

int vfs_readdir(const char *path, void (*cb)(const char *name, bool dir, uint64_t size, void *arg),
		void *arg)
{
	struct file *f;
	int err = strcmp(path, "/") ? vfs_open(path, O_RDONLY, &f) : 0;
	if (err)
		return err;
	struct inode *dir = strcmp(path, "/") ? f->inode : iget(sb.root_ino);
	if (!dir)
		return -ENOMEM;
	if (dir->d.mode != SFS_S_IFDIR) {
		err = -ENOTDIR;
		goto out;
	}
	struct sfs_dirent de;
	for (uint64_t pos = 0; pos + DIRENT_SIZE <= dir->d.size; pos += DIRENT_SIZE) {
		if (cache_read(dir, &de, 0, DIRENT_SIZE, pos) != DIRENT_SIZE || !de.ino)
			continue;
		char name[SFS_NAME_MAX + 1];
		memcpy(name, de.name, de.name_len);
		name[de.name_len] = 0;
		struct inode *child = iget(de.ino);
		if (!child)
			continue;
		cb(name, child->d.mode == SFS_S_IFDIR, child->d.size, arg);
		inode_put(child);
	}
out:
	if (strcmp(path, "/"))
		vfs_close(f);
	else
		inode_put(dir);
	return err;
}

/* ---- mount and check ---------------------------------------------------- */

static int read_block_cb(void *ctx, uint32_t block, void *buf)
{
	return bdev_read_block(ctx, block, buf);
}

static int run_check(struct block_device *dev, char *err, size_t errlen, uint32_t nr_blocks,
		     uint32_t nr_inodes)
{
	size_t scratch_size = sfs_check_scratch_size(nr_blocks, nr_inodes);
	unsigned order = 0;
	while ((PAGE_SIZE << order) < scratch_size && order < MAX_ORDER)
		order++;
	void *scratch = (PAGE_SIZE << order) >= scratch_size ? get_free_pages(0, order) : NULL;
	if (!scratch) {
		snprintf(err, errlen, "no memory for the check (%lu bytes)", scratch_size);
		return -ENOMEM;
	}
	struct sfs_io io = { .ctx = dev,
			     .nr_blocks_on_device = dev->nr_sectors / SECTORS_PER_PAGE,
			     .read_block = read_block_cb,
			     .scratch = scratch,
			     .scratch_size = PAGE_SIZE << order };
	int r = sfs_check(&io, err, errlen);
	free_pages(scratch, order);
	return r;
}

int fs_mount(struct block_device *b)
{
	char err[160] = "";
	if (!b)
		return -ENOENT;
	bdev = b;
	static uint8_t buf[SFS_BLOCK_SIZE];
	if (bdev_read_block(b, 0, buf)) {
		printk("sfs: cannot read the superblock\n");
		return -EIO;
	}
	struct sfs_super s;
	memcpy(&s, buf, sizeof(s));
	int r = sfs_validate(b, err, sizeof(err));
	if (r) {
		printk("sfs: mount refused: %s (%d)\n", err, r);
		return r;
	}
	sb = s;
	bitmap = kmalloc((uint64_t)sb.bitmap_blocks * SFS_BLOCK_SIZE);
	if (!bitmap)
		return -ENOMEM;
	for (uint32_t i = 0; i < sb.bitmap_blocks; i++)
		bdev_read_block(b, sb.bitmap_start + i, bitmap + (uint64_t)i * SFS_BLOCK_SIZE);
	rwsem_init(&fs_lock);
	mounted = true;
	printk("sfs: mounted: %u blocks (%u free), %u inodes (%u free)\n", sb.nr_blocks,
	       sb.free_blocks, sb.nr_inodes, sb.free_inodes);
	return 0;
}

int sfs_validate(struct block_device *b, char *err, size_t errlen)
{
	static uint8_t buf[SFS_BLOCK_SIZE];
	if (bdev_read_block(b, 0, buf))
		return -EIO;
	struct sfs_super s;
	memcpy(&s, buf, sizeof(s));
	uint64_t dev_blocks = b->nr_sectors / SECTORS_PER_PAGE;
	int r = sfs_check_super(&s, dev_blocks, err, errlen);
	if (r)
		return r;
	return run_check(b, err, errlen, s.nr_blocks, s.nr_inodes);
}

/* Write everything back and forget every unused inode and clean page, like
 * Linux's drop_caches: what stays allocated afterwards is in use. */
void fs_drop_caches(void)
{
	if (!mounted)
		return;
	writeback_all();
	for (;;) {
		struct inode *victim = NULL, *i;
		down_write(&fs_lock);
		list_for_each_entry (i, &inode_cache, node) {
			invalidate_mapping_pages(&i->mapping, 0, ~0ull);
			if (i->refs == 0 && i->mapping.nrpages == 0) {
				victim = i;
				list_del(&i->node);
				break;
			}
		}
		up_write(&fs_lock);
		if (!victim)
			return;
		flusher_unregister(&victim->mapping);
		mapping_destroy(&victim->mapping);
		kfree(victim);
	}
}

int fs_sync_and_check(char *err, size_t errlen)
{
	writeback_all();
	return run_check(bdev, err, errlen, sb.nr_blocks, sb.nr_inodes);
}

/* ---- mmap --------------------------------------------------------------- */

int64_t vfs_mmap(struct mm *mm, struct file *f, uint64_t addr, uint64_t len, int prot, int flags,
		 uint64_t offset)
{
	if (offset & (PAGE_SIZE - 1))
		return -EINVAL;
	/* As Linux: a file must be open for reading to be mapped, and a shared
	 * mapping may become writable only if the file is open for writing
	 * (VM_MAYWRITE, checked by mmap and by every later mprotect). */
	bool readable = (f->flags & (O_WRONLY | O_RDWR)) != O_WRONLY;
	bool writable = f->flags & (O_WRONLY | O_RDWR);
	if (!readable)
		return -EACCES;
	unsigned long may = VM_MAYREAD | VM_MAYEXEC;
	if (!(flags & MAP_SHARED) || writable)
		may |= VM_MAYWRITE;
	return vm_mmap_file(mm, addr, len, prot, flags, f->inode, offset >> PAGE_SHIFT, may);
}
