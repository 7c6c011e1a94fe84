/*
 * kernel/fs/sfs.c - the kernel side of SFS (format: kernel/fs/sfs_format.h)
 * and the small VFS of kernel/fs/fs.h.
 *
 * Mount runs the full consistency check (sfs_check) on the device first: a
 * corrupt image is refused with the checker's message, nothing is written.
 *
 * Mount grows the file system in place to the size of its device, up to
 * the superblock's max_blocks (sfs_super_grow: the bitmap was sized for
 * that), so a small initrd image fills a RAM disk of any size.
 *
 * File data lives in the page cache (mm/filemap.c): read() and write() copy
 * to and from cached pages, writeback (fsync, msync, the flusher) writes
 * dirty pages to their blocks. Blocks are allocated when a page is written
 * back (or by O_DIRECT writes), so a hole stays a hole until data reaches it.
 * A file page is mapped through direct blocks and the single, double and
 * triple indirect trees (bmap_locked; files up to SFS_MAX_FILE_SIZE, about
 * 4 TiB): a hole gets its block and the missing index blocks on the way
 * only if the disk has them all, filled bottom up, and truncate frees every
 * index block it empties (free_blocks_from), so no index block is ever
 * empty, as the format requires. Metadata (superblock, bitmap, inode table,
 * index blocks) is written through to the disk at once: the RAM disk makes
 * that cheap, and it keeps the image consistent for sfs_check at any quiet
 * moment.
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
 *   inode->i_rwsem  one writer (write, truncate, O_DIRECT write) per file;
 *                   shared by O_DIRECT reads, whose block lookups then
 *                   skip map_lock (bmap_lookup)
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
#include "kernel/pause.h"
#include "kernel/fs/sfs_format.h"
#include "drivers/ramdisk.h"
#include "mm/mm.h"
#include "mm/page.h"
#include "mm/kmalloc.h"
#include "mm/vmalloc.h"
#include "kernel/string.h"
#include "kernel/printk.h"
#include "kernel/panic.h"
#include "kernel/sched.h"

static struct block_device *bdev;
static struct sfs_super sb;
static uint8_t *bitmap; /* the bitmap blocks of blocks 0 .. sb.nr_blocks-1 */
static struct rwsem fs_lock;
static struct rwsem rename_lock; /* vfs_rename: one at a time (s_vfs_rename_mutex) */
static DEFINE_SPINLOCK(map_lock);
static LIST_HEAD(inode_cache);
static bool mounted;
/* Symbolic links in use (map_lock to change): none, and the path walk's
 * vfs_first_link answers at once, without a walk. */
static uint32_t nr_symlinks;

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

/* Where alloc_block starts looking: every block in [data_start, alloc_hint)
 * is in use (free_block lowers it), so a disk of millions of blocks is not
 * scanned from its start for every block. */
static uint32_t alloc_hint;

/* A zeroed data block, or 0 if the disk is full. */
static uint32_t alloc_block(void)
{
	if (!sb.free_blocks)
		return 0;
	for (uint32_t b = MAX(alloc_hint, sb.data_start); b < sb.nr_blocks; b++) {
		if (!(b & 7) && bitmap[b / 8] == 0xff && b + 8 <= sb.nr_blocks) {
			b += 7; /* a whole byte in use */
			continue;
		}
		if (bit_test(b))
			continue;
		bit_set(b);
		write_bitmap_block_of(b);
		sb.free_blocks--;
		write_super();
		bdev_write_block(bdev, b, zero_block);
		alloc_hint = b + 1;
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
	if (b < alloc_hint)
		alloc_hint = b;
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

/* Index blocks being read or changed, one per height above the data
 * (map_lock held: one user at a time). */
static uint32_t idx_buf[SFS_INDEX_LEVELS][SFS_PTRS_PER_BLOCK];

/* Entry j of index block b: only the sector that holds it is read (a
 * lookup, under map_lock, on every page of a large file's I/O). */
static uint32_t index_entry(uint32_t b, uint32_t j)
{
	enum { PER_SECTOR = SECTOR_SIZE / sizeof(uint32_t) };
	uint32_t sector[PER_SECTOR];
	bdev_read(bdev, (uint64_t)b * SECTORS_PER_PAGE + j / PER_SECTOR, sector, 1);
	return sector[j % PER_SECTOR];
}

/* Entry j of index block b becomes v (map_lock held). */
static void set_index_entry(uint32_t b, uint32_t j, uint32_t v)
{
	uint32_t *ptrs = idx_buf[0];
	bdev_read_block(bdev, b, ptrs);
	ptrs[j] = v;
	bdev_write_block(bdev, b, ptrs);
}

/*
 * The disk block of file page idx; 0 for a hole. With alloc, a hole gets a
 * block, and the index blocks on the way to it that are not there yet
 * (sfs_bmap_path: direct, then the single, double and triple indirect
 * trees). What a hole needs is counted first and taken only if the disk has
 * it all, and the new index blocks are filled bottom up before the tree
 * points at them: no index block is ever empty, even when the disk is
 * full. Returns -ENOSPC, or -EFBIG past the largest file.
 */
static int64_t bmap_locked(struct inode *inode, uint64_t idx, bool alloc)
{
	struct sfs_inode *d = &inode->d;
	uint32_t path[SFS_INDEX_LEVELS], parent = 0, cur;
	int level = sfs_bmap_path(idx, path), depth = 0;

	if (level < 0)
		return -EFBIG;
	if (level == 0) {
		if (!d->direct[idx] && alloc) {
			if (!(d->direct[idx] = alloc_block()))
				return -ENOSPC;
			write_disk_inode(inode->ino, d);
		}
		return d->direct[idx];
	}
	/* Down the tree as far as it goes: depth index blocks exist. */
	cur = sfs_inode_index(d, (unsigned)level);
	while (cur && depth < level) {
		parent = cur;
		cur = index_entry(cur, path[depth++]);
	}
	if (cur || !alloc)
		return cur; /* the data block, or a hole */
#ifdef MUTATION_SFS_ALLOC_TOP_DOWN
	/* take blocks as they come, and give up at the first missing one:
	 * the index blocks linked so far stay, empty */
	uint32_t data = alloc_block(), child = data;
	if (!data)
		return -ENOSPC;
	for (int h = level - 1; h >= depth; h--) {
		uint32_t nb = alloc_block();
		if (!nb)
			return -ENOSPC;
		set_index_entry(nb, path[h], child);
		child = nb;
	}
#else
	if (sb.free_blocks < (uint32_t)(level - depth) + 1)
		return -ENOSPC; /* the data block and the missing index blocks */
	/* Bottom up: the data block, then each missing index block pointing
	 * at the one below it, then the link from the tree (or the inode). */
	uint32_t data = alloc_block(), child = data;
	for (int h = level - 1; h >= depth; h--) {
		uint32_t nb = alloc_block();
		set_index_entry(nb, path[h], child);
		child = nb;
	}
#endif
	if (depth == 0) {
		sfs_inode_set_index(d, (unsigned)level, child);
		write_disk_inode(inode->ino, d);
	} else {
		set_index_entry(parent, path[depth - 1], child);
	}
	return data;
}

static int64_t bmap(struct inode *inode, uint64_t idx, bool alloc)
{
	spin_lock(&map_lock);
	int64_t b = bmap_locked(inode, idx, alloc);
	spin_unlock(&map_lock);
	return b;
}

/*
 * The disk block of file page idx for an O_DIRECT read, without map_lock:
 * four readers of one file would otherwise take turns on it for every
 * page. The caller holds i_rwsem (shared), so no truncate frees the blocks
 * or index blocks on the way (as Linux's ext4 DIO read holds the inode
 * lock shared); what can run meanwhile is writeback filling a hole, which
 * only turns a 0 entry (a hole: zeros) into a block, each entry an aligned
 * word written whole. index_entry reads into its own stack buffer.
 */
static int64_t bmap_lookup(struct inode *inode, uint64_t idx)
{
#ifndef MUTATION_ODIRECT_READ_NO_I_RWSEM
	rwsem_assert_held(&inode->i_rwsem);
#endif
	return bmap_locked(inode, idx, false);
}

/*
 * Frees the blocks that index block b (height levels above the data, its
 * first entry mapping logical block base) maps at logical blocks >= first,
 * and the index blocks under it that this empties; returns true if b itself
 * maps nothing any more (the caller frees it: an empty index block is
 * corruption). Reads each index block it visits once. map_lock held.
 */
static bool free_index_from(uint32_t b, unsigned height, uint64_t base, uint64_t first)
{
	uint32_t *ptrs = idx_buf[height - 1]; /* the levels below use the others */
	uint64_t span = sfs_entry_span(height);
	bool changed = false, empty = true;

	bdev_read_block(bdev, b, ptrs);
	for (uint32_t j = 0; j < SFS_PTRS_PER_BLOCK; j++) {
		uint64_t lo = base + j * span;
		if (!ptrs[j])
			continue;
		if (lo + span <= first) { /* wholly before the cut: stays */
			empty = false;
			continue;
		}
		if (height == 1 || free_index_from(ptrs[j], height - 1, lo, first)) {
			free_block(ptrs[j]);
			ptrs[j] = 0;
			changed = true;
		} else {
			empty = false;
		}
	}
#ifdef MUTATION_SFS_KEEP_EMPTY_INDEX
	/* the version 1 kernel: an index block the cut empties stays */
	if (changed)
		bdev_write_block(bdev, b, ptrs);
	return empty && base < first;
#else
	if (changed && !empty)
		bdev_write_block(bdev, b, ptrs);
	return empty;
#endif
}

/* Free the blocks of pages >= first, and every index block left empty;
 * map_lock held. */
static void free_blocks_from(struct inode *inode, uint64_t first)
{
	struct sfs_inode *d = &inode->d;
	for (uint64_t i = first; i < SFS_NDIRECT; i++) {
		if (d->direct[i]) {
			free_block(d->direct[i]);
			d->direct[i] = 0;
		}
	}
	for (unsigned level = 1; level <= SFS_INDEX_LEVELS; level++) {
		uint32_t top = sfs_inode_index(d, level);
		uint64_t base = sfs_level_first(level);
		if (!top || first >= base + sfs_level_blocks(level))
			continue;
		if (free_index_from(top, level, base, first)) {
			free_block(top);
			sfs_inode_set_index(d, level, 0);
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

/* Copy n bytes between k and the pinned user pages, at byte `at` of the
 * user range that starts pg_off bytes into pages[0]. */
static void dio_copy(struct page **pages, unsigned pg_off, size_t at, char *k, size_t n,
		     bool to_pages)
{
	while (n) {
		size_t o = pg_off + at, po = o % PAGE_SIZE, c = MIN(n, PAGE_SIZE - po);
		char *u = (char *)page_address(pages[o / PAGE_SIZE]) + po;
		if (to_pages)
			memcpy(u, k, c);
		else
			memcpy(k, u, c);
		k += c;
		at += c;
		n -= c;
	}
}

/* O_DIRECT: the pinned user pages <-> the file's blocks (mm/filemap.c has
 * already made the cache agree with the disk for the range). The RAM disk
 * has 512-byte logical blocks under SFS's 4 KiB ones: a block written only
 * in part is read, patched and written whole (a hole reads as zeros), and
 * a whole block moves straight between the disk and a whole pinned user
 * page (the "device" writes or reads the user page, as DMA would); a part
 * of a block goes through a bounce page. A write takes each block it needs
 * at once or stops there (-ENOSPC if it took none). */
static ssize_t sfs_direct_IO(struct address_space *m, bool write, struct page **pages,
			     unsigned pg_off, size_t len, uint64_t pos)
{
	struct inode *inode = m->host;
	char *bounce = get_free_page(0);
	if (!bounce)
		return -ENOMEM;
	size_t done = 0;
	ssize_t err = 0;
	while (done < len) {
		uint64_t at = pos + done, idx = at >> PAGE_SHIFT;
		size_t boff = at & (PAGE_SIZE - 1), n = MIN(len - done, PAGE_SIZE - boff);
		int64_t b = write ? bmap(inode, idx, false) : bmap_lookup(inode, idx);
		size_t uo = (pg_off + done) % PAGE_SIZE;
		if (!write && n == PAGE_SIZE && uo == 0 && b > 0) {
			/* a whole block into a whole pinned page: straight in */
			bdev_read_block(bdev, (uint64_t)b,
					page_address(pages[(pg_off + done) / PAGE_SIZE]));
			done += n;
			continue;
		}
		if (!write || n < PAGE_SIZE) {
			if (b > 0)
				bdev_read_block(bdev, (uint64_t)b, bounce);
			else
				memset(bounce, 0, PAGE_SIZE);
		}
		if (!write) {
			dio_copy(pages, pg_off, done, bounce + boff, n, true);
		} else {
			if (b <= 0)
				b = bmap(inode, idx, true);
			if (b <= 0) {
				err = b ? b : -ENOSPC;
				break;
			}
			if (n == PAGE_SIZE && uo == 0) { /* straight from the pinned page */
				bdev_write_block(bdev, (uint64_t)b,
						 page_address(pages[(pg_off + done) / PAGE_SIZE]));
			} else {
				dio_copy(pages, pg_off, done, bounce + boff, n, false);
				bdev_write_block(bdev, (uint64_t)b, bounce);
			}
		}
		done += n;
	}
	free_page(bounce);
	if (write && done && pos + done > i_size_read(inode))
		set_size(inode, pos + done);
	return done ? (ssize_t)done : err;
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

/* A new cached inode ino with disk copy d and one reference (fs_lock). */
static struct inode *icache_insert(uint32_t ino, const struct sfs_inode *d, int *err)
{
	struct inode *fresh = kzalloc(sizeof(*fresh));
	if (!fresh) {
		*err = -ENOMEM;
		return NULL;
	}
	fresh->d = *d;
	fresh->ino = ino;
	mapping_init(&fresh->mapping, fresh, &sfs_aops);
	rwsem_init(&fresh->i_rwsem);
	fresh->refs = 1;
	list_add(&fresh->node, &inode_cache);
	flusher_register(&fresh->mapping); /* order: fs_lock, then flusher_rwsem */
	return fresh;
}

/*
 * The in-memory inode for ino, with a new reference: the cached one, or one
 * read from the disk and cached. fs_lock held for write: every allocation
 * and every free of a disk inode holds it too, so what is read cannot be
 * freed or reused before it is in the cache. Callers find ino in a
 * directory under the same hold, so a name unlinked (and its inode freed
 * and reused) meanwhile cannot hand them another file's inode. NULL with
 * *err: -ENOMEM, or -ENOENT for a free inode (a corrupt entry).
 * The old code read the disk inode before taking fs_lock: an inode freed
 * and reused in between was cached with a stale copy, which a later write
 * put back over the new one (fsck: the free-inode count; found by the
 * system-call fuzzer; fs.namespace_stress is the regression test).
 */
static struct inode *iget_locked(uint32_t ino, int *err)
{
	rwsem_assert_held_write(&fs_lock);
	struct inode *i = icache_find(ino);
	if (i) {
		spin_lock(&map_lock);
		i->refs++;
		spin_unlock(&map_lock);
		return i;
	}
	struct sfs_inode d;
	spin_lock(&map_lock);
	read_disk_inode(ino, &d);
	spin_unlock(&map_lock);
	if (!d.mode) {
		*err = -ENOENT;
		return NULL;
	}
	return icache_insert(ino, &d, err);
}

/* iget_locked taking fs_lock itself (the root, and inodes the caller
 * already holds a reference to through an open file). */
static struct inode *iget(uint32_t ino)
{
	int err;
	down_write(&fs_lock);
	struct inode *i = iget_locked(ino, &err);
	up_write(&fs_lock);
	return i;
}

void inode_get(struct inode *inode)
{
	spin_lock(&map_lock);
	inode->refs++;
	spin_unlock(&map_lock);
}

/*
 * Drop a reference; an unlinked inode's blocks go with the last one (Linux's
 * evict). Out of the cache first (under fs_lock: nothing can find it again),
 * then out of the flusher's list and its page cache dropped, waiting for a
 * writepage in flight (truncate_inode_pages takes wb_lock): only then are
 * its blocks freed and its disk inode cleared. Freed first, a writeback
 * still running, or starting in between, would allocate a block for a page
 * of a freed inode (blocks are allocated at writeback) and leak it, or
 * write into a block already given to another file.
 */
void inode_put(struct inode *inode)
{
	down_write(&fs_lock);
	spin_lock(&map_lock);
	bool last = --inode->refs == 0 && inode->d.nlink == 0;
	spin_unlock(&map_lock);
	if (last)
		list_del(&inode->node);
	up_write(&fs_lock);
	if (!last)
		return;
	flusher_unregister(&inode->mapping);
	truncate_inode_pages(&inode->mapping, 0);
	down_write(&fs_lock);
	spin_lock(&map_lock);
	free_blocks_from(inode, 0);
	nr_symlinks -= inode->d.mode == SFS_S_IFLNK;
	memset(&inode->d, 0, sizeof(inode->d));
	write_disk_inode(inode->ino, &inode->d);
	sb.free_inodes++;
	write_super();
	spin_unlock(&map_lock);
	up_write(&fs_lock);
	mapping_destroy(&inode->mapping);
	kfree(inode);
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
	int err = -EIO;
	while (done < len) {
		uint64_t off = (pos + done) & (PAGE_SIZE - 1);
		size_t n = MIN(len - done, PAGE_SIZE - off);
		filemap_invalidate_lock_shared(m);
		struct page *p = find_or_read_page(m, (pos + done) >> PAGE_SHIFT);
		filemap_invalidate_unlock_shared(m);
		if (!p) {
			err = -EIO;
			break;
		}
		err = 0;
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
	/* nothing written: the copy's -EFAULT (a bad user buffer), else -EIO */
	return done ? (ssize_t)done : (err ? err : -EIO);
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

/* Linux's O_DIRECT rule for a block device of 512-byte logical blocks
 * (brd): the user address, the file offset and the length are multiples of
 * it, else -EINVAL. */
static bool dio_aligned(uint64_t uaddr, size_t len, uint64_t pos)
{
#ifdef MUTATION_ODIRECT_NO_ALIGN_CHECK
	return true;
#endif
	return !((uaddr | len | pos) & (DIO_BLOCK_SIZE - 1));
}

ssize_t vfs_pread_user(struct file *f, uint64_t uaddr, size_t len, uint64_t pos)
{
	if (!(f->flags & O_DIRECT))
		return cache_read(f->inode, NULL, uaddr, len, pos);
	if (!len)
		return 0;
		/* i_rwsem shared: no truncate frees the blocks the read maps and
	 * reads (a block freed and given to another file meanwhile would be
	 * read as this file's data); readers do not exclude each other. */
#ifndef MUTATION_ODIRECT_READ_NO_I_RWSEM
	down_read(&f->inode->i_rwsem);
#endif
	uint64_t size = i_size_read(f->inode);
	ssize_t r = 0;
	if (pos >= size)
		goto out; /* at or past the end: before the alignment check, as Linux */
	r = -EINVAL;
	if (!dio_aligned(uaddr, len, pos))
		goto out;
	/* Not past the logical block that holds the end; the result is short. */
	uint64_t tail = (size - pos + DIO_BLOCK_SIZE - 1) & ~(uint64_t)(DIO_BLOCK_SIZE - 1);
	r = generic_file_direct_read(&f->inode->mapping, uaddr, MIN(len, tail), pos);
	if (r > 0)
		r = (ssize_t)MIN((uint64_t)r, size - pos);
out:
#ifndef MUTATION_ODIRECT_READ_NO_I_RWSEM
	up_read(&f->inode->i_rwsem);
#endif
	return r;
}

ssize_t vfs_pwrite_user(struct file *f, uint64_t uaddr, size_t len, uint64_t pos)
{
	if (!(f->flags & (O_WRONLY | O_RDWR)))
		return -EBADF;
	if ((f->flags & O_DIRECT) && !len)
		return 0;
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

ssize_t vfs_append_user(struct file *f, uint64_t uaddr, size_t len, uint64_t *pos)
{
	if (!(f->flags & (O_WRONLY | O_RDWR)))
		return -EBADF;
	if (f->flags & O_DIRECT)
		return -EINVAL; /* not yet: O_APPEND|O_DIRECT */
	down_write(&f->inode->i_rwsem);
	*pos = i_size_read(f->inode); /* under i_rwsem: no other writer moves the end */
	ssize_t r = cache_write(f->inode, NULL, uaddr, len, *pos);
	up_write(&f->inode->i_rwsem);
	if (r > 0)
		*pos += (uint64_t)r;
	return r;
}

uint64_t vfs_size(struct file *f)
{
	return i_size_read(f->inode);
}

int64_t vfs_lseek(struct file *f, int64_t offset, int whence)
{
	uint64_t base;
	if (whence == SEEK_SET)
		base = 0;
	else if (whence == SEEK_CUR)
		base = f->pos;
	else if (whence == SEEK_END)
		base = i_size_read(f->inode);
	else
		return -EINVAL;
	/* base <= SFS_MAX_FILE_SIZE: in unsigned arithmetic, without overflow. */
	uint64_t pos;
	if (offset < 0) {
		uint64_t back = (uint64_t)(-(offset + 1)) + 1; /* INT64_MIN too */
		if (back > base)
			return -EINVAL; /* before the start */
		pos = base - back;
	} else {
		if ((uint64_t)offset > SFS_MAX_FILE_SIZE - base)
			return -EINVAL; /* past the largest file */
		pos = base + (uint64_t)offset;
	}
	f->pos = pos;
	return (int64_t)pos;
}

ssize_t vfs_read(struct file *f, void *buf, size_t len)
{
	ssize_t r = vfs_pread(f, buf, len, f->pos);
	if (r > 0)
		f->pos += (uint64_t)r;
	return r;
}

ssize_t vfs_write(struct file *f, const void *buf, size_t len)
{
	ssize_t r = vfs_pwrite(f, buf, len, f->pos);
	if (r > 0)
		f->pos += (uint64_t)r;
	return r;
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

int vfs_fallocate(struct file *f, uint64_t offset, uint64_t len)
{
	struct inode *inode = f->inode;
	uint64_t end = offset + len;
	if (end > SFS_MAX_FILE_SIZE || end < offset)
		return -EFBIG;
	down_write(&inode->i_rwsem);
	uint64_t old = i_size_read(inode);
	if (end > old) {
		filemap_invalidate_lock_shared(&inode->mapping);
		set_size(inode, end);
		pagecache_isize_extended(&inode->mapping, old, end);
		filemap_invalidate_unlock_shared(&inode->mapping);
	}
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
	if (pos + DIRENT_SIZE > SFS_MAX_DIR_SIZE)
		return -ENOSPC; /* a directory has no double indirect block */
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
			pause_point(PAUSE_SFS_PARENT_FOUND, NULL);
			return 0;
		}
		uint32_t ino;
		int err = 0;
		struct inode *child = NULL;
		down_write(&fs_lock);
		int64_t r = dir->d.mode == SFS_S_IFDIR ? dir_find(dir, p, n, &ino) : -ENOTDIR;
		if (r >= 0 && !(child = iget_locked(ino, &err)))
			r = err;
		up_write(&fs_lock);
		inode_put(dir);
		if (r < 0)
			return (int)r;
		dir = child;
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
		nr_symlinks += mode == SFS_S_IFLNK;
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
#ifndef MUTATION_CREATE_IN_DEAD_DIR
	/* Removed since lookup_parent found it (Linux's IS_DEADDIR): an entry
	 * added now would name an inode nothing can reach, and it would stay
	 * allocated for good when the directory's blocks go. */
	if (!dir->d.nlink)
		return -ENOENT;
#endif
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
		nr_symlinks -= mode == SFS_S_IFLNK;
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
	uint32_t ino = 0;
	int err;
	struct inode *inode = NULL;
	if (!strcmp(path, "/")) { /* the root has no parent: open it directly */
		if (flags & O_CREAT)
			return -EISDIR;
		if (!(inode = iget(sb.root_ino)))
			return -ENOMEM;
		goto opened;
	}
	err = lookup_parent(path, &dir, &name, &len);
	if (err)
		return err;
	down_write(&fs_lock);
	if (flags & O_CREAT) {
		err = create(dir, name, len, SFS_S_IFREG, &ino);
		if (err == -EEXIST)
			err = 0;
	} else {
		err = dir->d.mode == SFS_S_IFDIR ? (int)MIN(dir_find(dir, name, len, &ino), 0)
						 : -ENOTDIR;
	}
	if (!err)
		inode = iget_locked(ino, &err); /* under the same hold as the lookup */
	up_write(&fs_lock);
	inode_put(dir);
	if (err)
		return err;
opened:;
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
	/* nlink counts the entries that point at an inode (sfs_format.h):
	 * SFS has no ".." entries, so a parent's nlink does not change (stat
	 * shows 1 for a directory, as btrfs does). */
	err = create(dir, name, len, SFS_S_IFDIR, &ino);
	up_write(&fs_lock);
	inode_put(dir);
	return err;
}

/* One directory entry fewer names inode (fs_lock held for write): the last
 * inode_put of an inode at nlink 0 frees it (a file still open or mapped
 * keeps it until then). */
static void drop_nlink(struct inode *inode)
{
	spin_lock(&map_lock);
#ifndef MUTATION_UNLINK_ZEROES_NLINK
	inode->d.nlink--;
#else
	inode->d.nlink = 0; /* the other hard links now name a freed inode */
#endif
	write_disk_inode(inode->ino, &inode->d);
	spin_unlock(&map_lock);
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
	struct inode *victim = NULL;
	/* One hold from the lookup to the removal: a second unlink of the name,
	 * or a create that reuses the slot, cannot come in between. */
	down_write(&fs_lock);
	int64_t slot = dir->d.mode == SFS_S_IFDIR ? dir_find(dir, name, len, &ino) : -ENOTDIR;
	if (slot < 0)
		err = (int)slot;
	else
		victim = iget_locked(ino, &err);
	if (victim && victim->d.mode == SFS_S_IFDIR && !dir_empty(victim)) {
		err = -ENOTEMPTY;
	} else if (victim) {
		dir_remove(dir, slot);
		drop_nlink(victim);
	}
	up_write(&fs_lock);
	if (victim)
		inode_put(victim); /* frees it if no file or mapping holds it */
	inode_put(dir);
	return err;
}

int vfs_symlink(const char *target, const char *path)
{
	size_t tlen = strlen(target);
	if (!tlen)
		return -ENOENT;
	if (tlen > SFS_SYMLINK_MAX)
		return -ENAMETOOLONG;
	struct inode *dir;
	const char *name;
	size_t len;
	int err = lookup_parent(path, &dir, &name, &len);
	if (err)
		return err;
	uint32_t ino;
	struct inode *inode = NULL;
	down_write(&fs_lock);
	err = create(dir, name, len, SFS_S_IFLNK, &ino);
	if (!err && (inode = iget_locked(ino, &err))) {
		ssize_t r = cache_write(inode, target, 0, tlen, 0);
		if (r != (ssize_t)tlen) { /* no memory for the page: take it back */
			dir_remove(dir, dir_find(dir, name, len, &ino));
			drop_nlink(inode);
			err = r < 0 ? (int)r : -ENOSPC;
		}
	}
	up_write(&fs_lock);
	if (inode)
		inode_put(inode);
	inode_put(dir);
	return err;
}

/*
 * The first symbolic link on path (absolute, normalized), in one walk from
 * the root under one hold of fs_lock (the path walk of every system call
 * asks this once per run of components, so it must not cost a lookup per
 * component). Components before `from` are known to be no links. The last
 * component counts only if last_too. A link found: its target (at most
 * size bytes) in buf, its component's span in *start, *end, the length
 * returned. 0 if there is none before the walk ends (at the end, or at a
 * missing or non-directory component: the call that follows says so).
 */
int vfs_first_link(const char *path, size_t from, bool last_too, size_t *start, size_t *end,
		   char *buf, size_t size)
{
	if (!mounted || path[0] != '/' || !READ_ONCE(nr_symlinks))
		return 0;
	struct inode *dir, *defer[4];
	int ndefer = 0, r = 0, err;
	down_write(&fs_lock);
	dir = iget_locked(sb.root_ino, &err);
	const char *p = path + 1;
	while (dir && *p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		uint32_t ino;
		struct inode *child = NULL;
		if (!n || dir->d.mode != SFS_S_IFDIR || dir_find(dir, p, n, &ino) < 0 ||
		    !(child = iget_locked(ino, &err)))
			break;
		/* drop dir; a removed one's last reference frees it: after the walk */
		spin_lock(&map_lock);
		bool last_ref = dir->refs == 1 && dir->d.nlink == 0;
		if (!last_ref)
			dir->refs--;
		spin_unlock(&map_lock);
		if (last_ref && ndefer == 4) {
			spin_lock(&map_lock);
			child->refs--; /* not its last: an entry names it */
			spin_unlock(&map_lock);
			break; /* dir is put below */
		}
		if (last_ref)
			defer[ndefer++] = dir;
		dir = child;
		size_t s0 = (size_t)(p - path);
		if (child->d.mode == SFS_S_IFLNK && s0 >= from && (slash || last_too)) {
			size_t k = MIN(size, (size_t)i_size_read(child));
			ssize_t got = cache_read(child, buf, 0, k, 0);
			if (got > 0) {
				*start = s0;
				*end = s0 + n;
				r = (int)got;
			}
			break;
		}
		p = slash ? slash + 1 : p + n;
	}
	up_write(&fs_lock);
	if (dir)
		inode_put(dir);
	for (int i = 0; i < ndefer; i++)
		inode_put(defer[i]);
	return r;
}

int vfs_readlink(const char *path, char *buf, size_t size)
{
	struct file *f;
	int err = vfs_open(path, O_RDONLY, &f);
	if (err)
		return err;
	struct inode *inode = f->inode;
	int r = -EINVAL;
	if (inode->d.mode == SFS_S_IFLNK) {
		size_t n = MIN(size, (size_t)i_size_read(inode));
		r = (int)cache_read(inode, buf, 0, n, 0);
	}
	vfs_close(f);
	return r;
}

int vfs_link(const char *oldpath, const char *newpath)
{
	struct file *f;
	int err = vfs_open(oldpath, O_RDONLY, &f);
	if (err)
		return err;
	struct inode *inode = f->inode, *dir;
	const char *name;
	size_t len;
	if (inode->d.mode == SFS_S_IFDIR) {
		vfs_close(f);
		return -EPERM; /* no hard links to directories */
	}
	err = lookup_parent(newpath, &dir, &name, &len);
	if (err) {
		vfs_close(f);
		return err;
	}
	uint32_t ino;
	down_write(&fs_lock);
	if (dir->d.mode != SFS_S_IFDIR)
		err = -ENOTDIR;
	else if (!dir->d.nlink || !inode->d.nlink)
		err = -ENOENT; /* a dead directory, or a file unlinked meanwhile */
	else if (dir_find(dir, name, len, &ino) >= 0)
		err = -EEXIST;
	else if (inode->d.nlink == 0xffff)
		err = -EMLINK;
	else if (!(err = dir_add(dir, name, len, inode->ino))) {
		spin_lock(&map_lock);
		inode->d.nlink++;
		write_disk_inode(inode->ino, &inode->d);
		spin_unlock(&map_lock);
	}
	up_write(&fs_lock);
	inode_put(dir);
	vfs_close(f);
	return err;
}

/* Point the entry at slot of dir at ino (its name stays). */
static void dir_set_ino(struct inode *dir, int64_t slot, uint32_t ino)
{
	struct sfs_dirent de;
	uint64_t pos = (uint64_t)slot * DIRENT_SIZE;
	if (cache_read(dir, &de, 0, DIRENT_SIZE, pos) == DIRENT_SIZE) {
		de.ino = ino;
		cache_write(dir, &de, 0, DIRENT_SIZE, pos);
	}
}

static int do_rename(const char *oldpath, const char *newpath, unsigned flags);

/*
 * rename(2) inside SFS. The caller has resolved both paths and refused the
 * root. Renames go one at a time (rename_lock, Linux's s_vfs_rename_mutex),
 * so the check that a directory is not moved under itself, made on the
 * paths, holds while they are walked. Under one hold of fs_lock: an existing target's entry is repointed at the
 * source in place, so every lookup of newpath finds the old file or the
 * new one, never nothing (Linux's guarantee); then the source entry goes.
 * SFS directories have no ".." entry, so moving one is moving its entry.
 */
static bool path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && path[n] == '/';
}

int vfs_rename(const char *oldpath, const char *newpath, unsigned flags)
{
	down_write(&rename_lock);
	int err = do_rename(oldpath, newpath, flags);
	up_write(&rename_lock);
	return err;
}

static int do_rename(const char *oldpath, const char *newpath, unsigned flags)
{
	struct inode *odir, *ndir, *src = NULL, *tgt = NULL;
	const char *oname, *nname;
	size_t olen, nlen;
	int err = lookup_parent(oldpath, &odir, &oname, &olen);
	if (err)
		return err;
	err = lookup_parent(newpath, &ndir, &nname, &nlen);
	if (err) {
		inode_put(odir);
		return err;
	}
	uint32_t oino = 0, nino = 0;
	down_write(&fs_lock);
	int64_t oslot = -ENOENT, nslot = -ENOENT;
	if (odir->d.mode != SFS_S_IFDIR || ndir->d.mode != SFS_S_IFDIR) {
		err = -ENOTDIR;
		goto out;
	}
	oslot = dir_find(odir, oname, olen, &oino);
	if (oslot < 0) {
		err = (int)oslot;
		goto out;
	}
	nslot = dir_find(ndir, nname, nlen, &nino);
	if (nslot >= 0 && (flags & SFS_RENAME_NOREPLACE)) {
		err = -EEXIST;
		goto out;
	}
	if (nslot < 0 && (nslot != -ENOENT || (flags & SFS_RENAME_EXCHANGE) || !ndir->d.nlink)) {
		err = nslot == -ENOENT ? -ENOENT : (int)nslot;
		goto out;
	}
	if (!(src = iget_locked(oino, &err)))
		goto out;
	if (nslot >= 0 && !(tgt = iget_locked(nino, &err)))
		goto out;
	if (tgt == src)
		goto out; /* two names of one file: nothing to do (Linux too) */
	bool sdir = src->d.mode == SFS_S_IFDIR;
	/* A directory has one path (no links name it), walked under
	 * rename_lock: a source that is a prefix of the new name would become
	 * its own descendant (the caller checked too, before the lock). */
	if ((sdir && path_under(newpath, oldpath)) ||
	    ((flags & SFS_RENAME_EXCHANGE) && tgt->d.mode == SFS_S_IFDIR &&
	     path_under(oldpath, newpath))) {
		err = -EINVAL;
		goto out;
	}
	if (flags & SFS_RENAME_EXCHANGE) {
		dir_set_ino(odir, oslot, nino);
		dir_set_ino(ndir, nslot, oino);
		goto out;
	}
	if (tgt) {
		bool tdir = tgt->d.mode == SFS_S_IFDIR;
		if (sdir && !tdir)
			err = -ENOTDIR;
		else if (!sdir && tdir)
			err = -EISDIR;
		else if (tdir && !dir_empty(tgt))
			err = -ENOTEMPTY;
		if (err)
			goto out;
#ifndef MUTATION_RENAME_NOT_ATOMIC
		dir_set_ino(ndir, nslot, oino); /* newpath names the source at once */
#else
		/* unlink the target, then link the new name: a lookup in between
		 * finds nothing */
		dir_remove(ndir, nslot);
		up_write(&fs_lock);
		yield();
		down_write(&fs_lock);
		dir_add(ndir, nname, nlen, oino);
#endif
		drop_nlink(tgt);
	} else if ((err = dir_add(ndir, nname, nlen, oino))) {
		goto out;
	}
	/* the source's slot: dir_add may not have taken it (it is in use) */
	dir_remove(odir, oslot);
out:
	up_write(&fs_lock);
	if (tgt)
		inode_put(tgt); /* frees a replaced file nothing holds open */
	if (src)
		inode_put(src);
	inode_put(ndir);
	inode_put(odir);
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

int vfs_dir_next(struct file *f, uint64_t *slot, char name[SFS_NAME_MAX + 1], uint32_t *ino,
		 bool *is_dir)
{
	unsigned type;
	int r = vfs_dir_next_type(f, slot, name, ino, &type);
	if (r == 1)
		*is_dir = type == SFS_S_IFDIR;
	return r;
}

int vfs_dir_next_type(struct file *f, uint64_t *slot, char name[SFS_NAME_MAX + 1], uint32_t *ino,
		      unsigned *type)
{
	struct inode *dir = f->inode;
	struct sfs_dirent de;
	if (dir->d.mode != SFS_S_IFDIR)
		return -ENOTDIR;
	int err = 0;
	down_write(&fs_lock); /* the entry and its inode at one time */
	for (uint64_t pos = *slot * DIRENT_SIZE; pos + DIRENT_SIZE <= dir->d.size;
	     pos += DIRENT_SIZE) {
		if (cache_read(dir, &de, 0, DIRENT_SIZE, pos) != DIRENT_SIZE) {
			err = -EIO;
			break;
		}
		if (!de.ino)
			continue;
		struct inode *child = iget_locked(de.ino, &err);
		if (!child) {
			if (err == -ENOENT)
				continue; /* a corrupt entry: skipped, as readdir does */
			break;
		}
		memcpy(name, de.name, de.name_len);
		name[de.name_len] = 0;
		*ino = de.ino;
		*slot = pos / DIRENT_SIZE;
		*type = child->d.mode;
		up_write(&fs_lock);
		inode_put(child);
		return 1;
	}
	up_write(&fs_lock);
	return err == -ENOENT ? 0 : err;
}

/* ---- mount and check ---------------------------------------------------- */

static int read_block_cb(void *ctx, uint32_t block, void *buf)
{
	return bdev_read_block(ctx, block, buf);
}

/*
 * The checker's scratch memory (sfs_check_scratch_size: about 4 bytes a
 * block). Up to sfs_scratch_contiguous_max (one page-allocator block, 4
 * MiB: disks of up to about 1M blocks) it is one block of the page
 * allocator; beyond, single pages mapped at a range of the vmalloc area,
 * which is kept for the next large check (the page tables under it are
 * never freed, so a new range each time would cost a little every check).
 */
size_t sfs_scratch_contiguous_max = PAGE_SIZE << MAX_ORDER;

struct scratch {
	void *addr;
	unsigned order;	     /* contiguous: the block's order */
	uint64_t nr_pages;   /* mapped: the pages (0: contiguous) */
	struct page **pages; /* mapped: [nr_pages] */
};

static DEFINE_SPINLOCK(scratch_va_lock);
static uint64_t spare_va, spare_va_pages; /* a mapped range no check uses now */

static void scratch_free(struct scratch *s)
{
	if (!s->nr_pages) {
		free_pages(s->addr, s->order);
		return;
	}
	uint64_t va = (uint64_t)s->addr;
	for (uint64_t i = 0; i < s->nr_pages && s->pages[i]; i++) {
		kunmap_page(va + i * PAGE_SIZE); /* flushed on every CPU */
		__free_pages(s->pages[i], 0);
	}
	kfree(s->pages);
	spin_lock(&scratch_va_lock);
	if (s->nr_pages > spare_va_pages) { /* keep the larger range */
		spare_va = va;
		spare_va_pages = s->nr_pages;
	}
	spin_unlock(&scratch_va_lock);
}

static void *scratch_alloc(struct scratch *s, size_t size)
{
	memset(s, 0, sizeof(*s));
	if (size <= sfs_scratch_contiguous_max) {
		while ((PAGE_SIZE << s->order) < size)
			s->order++;
		return s->addr = get_free_pages(0, s->order);
	}
	uint64_t nr = DIV_ROUND_UP(size, PAGE_SIZE), va = 0;
	s->pages = kzalloc(nr * sizeof(*s->pages));
	if (!s->pages)
		return NULL;
	spin_lock(&scratch_va_lock);
	if (spare_va_pages >= nr) {
		va = spare_va;
		spare_va = spare_va_pages = 0;
	}
	spin_unlock(&scratch_va_lock);
	if (!va)
		va = vmap_reserve(nr * PAGE_SIZE);
	s->addr = (void *)va;
	s->nr_pages = nr;
	for (uint64_t i = 0; i < nr; i++) {
		s->pages[i] = alloc_page(0);
		if (!s->pages[i] ||
		    kmap_page(va + i * PAGE_SIZE, page_to_phys(s->pages[i]), KMAP_WRITE)) {
			if (s->pages[i])
				__free_pages(s->pages[i], 0);
			s->pages[i] = NULL;
			scratch_free(s);
			return NULL;
		}
	}
	return s->addr;
}

static int run_check(struct block_device *dev, char *err, size_t errlen, uint32_t nr_blocks,
		     uint32_t nr_inodes)
{
	size_t scratch_size = sfs_check_scratch_size(nr_blocks, nr_inodes);
	struct scratch s;
	if (!scratch_alloc(&s, scratch_size)) {
		snprintf(err, errlen, "no memory for the check (%lu bytes)", scratch_size);
		return -ENOMEM;
	}
	struct sfs_io io = { .ctx = dev,
			     .nr_blocks_on_device = dev->nr_sectors / SECTORS_PER_PAGE,
			     .read_block = read_block_cb,
			     .scratch = s.addr,
			     .scratch_size = scratch_size };
	int r = sfs_check(&io, err, errlen);
	scratch_free(&s);
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
	/* Grow in place to the device, up to max_blocks: the bitmap has the
	 * room, and the bits of the new blocks are zero (sfs_format.h). */
	uint32_t old_blocks = sb.nr_blocks;
	uint32_t added = sfs_super_grow(&sb, b->nr_sectors / SECTORS_PER_PAGE);
	/* In memory, the bitmap of the blocks there are (the rest is zero). */
	uint64_t map_blocks = DIV_ROUND_UP(sb.nr_blocks, SFS_BITS_PER_BLOCK);
	bitmap = kmalloc(map_blocks * SFS_BLOCK_SIZE);
	if (!bitmap) {
		printk("sfs: mount refused: no memory for a bitmap of %lu KiB\n", map_blocks * 4);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < map_blocks; i++)
		bdev_read_block(b, sb.bitmap_start + i, bitmap + (uint64_t)i * SFS_BLOCK_SIZE);
	alloc_hint = 0;
	if (added) {
		write_super();
		printk("sfs: grown from %u to %u blocks (%lu MiB, the RAM disk; at most %u "
		       "blocks)\n",
		       old_blocks, sb.nr_blocks, (uint64_t)sb.nr_blocks * SFS_BLOCK_SIZE >> 20,
		       sb.max_blocks);
	}
	rwsem_init(&fs_lock);
	rwsem_init(&rename_lock);
	nr_symlinks = 0;
	for (uint32_t ino = 1; ino < sb.nr_inodes; ino++) {
		struct sfs_inode d;
		read_disk_inode(ino, &d);
		nr_symlinks += d.mode == SFS_S_IFLNK;
	}
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

void fs_statfs(struct sfs_super *out)
{
	spin_lock(&map_lock);
	*out = sb;
	spin_unlock(&map_lock);
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
