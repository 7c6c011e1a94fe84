/*
 * mm/filemap.h - the page cache, file rmap, writeback and direct I/O (rules
 * R1, R2, R6; see mm/filemap.c), and truncation and invalidation of cached
 * and mapped file pages (see mm/truncate.c).
 */
#ifndef MM_FILEMAP_H
#define MM_FILEMAP_H

#include "kernel/compiler.h"
#include "kernel/errno.h"
#include "kernel/list.h"
#include "kernel/spinlock.h"
#include "kernel/rwsem.h"
#include "kernel/radix_tree.h"

struct page;
struct inode;
struct address_space;
struct mm;

struct address_space_ops {
	/* Fill a new (not yet visible) page with the file's data at page->index. */
	int (*readpage)(struct address_space *m, struct page *page);
	/* Write the page's data to the disk (the page is clean, it stays cached). */
	int (*writepage)(struct address_space *m, struct page *page);
	/* Move len bytes between the disk at byte pos and the pinned user
	 * pages pages[], from pg_off bytes into pages[0] (pos, len and pg_off
	 * multiples of DIO_BLOCK_SIZE), bypassing the cache; a write past the
	 * end sets the new size. Bytes moved, or -errno if none. */
	ssize_t (*direct_IO)(struct address_space *m, bool write, struct page **pages,
			     unsigned pg_off, size_t len, uint64_t pos);
};

struct address_space {
	struct inode *host;
	const struct address_space_ops *a_ops;
	spinlock_t lock; /* i_pages, nrpages (irqsave not needed: no IRQ users) */
	/* The cached pages by page index (kernel/radix_tree.c): memory in
	 * proportion to the pages cached, wherever they are in the file, so
	 * a sparse file of terabytes costs what its cached pages cost. */
	struct radix_tree_root i_pages;
	uint64_t nrpages;
	/*
	 * Linux's mapping->invalidate_lock (mm/truncate.c): held shared by
	 * whoever adds pages to the cache (read(), write(), a fault, which also
	 * holds it until its PTE is installed), exclusive by whoever removes a
	 * range that must not come back meanwhile (truncate, the invalidation
	 * around an O_DIRECT write). Taken after mm->mmap_lock and the inode's
	 * i_rwsem, before wb_lock; never held while touching user memory.
	 */
	struct rwsem invalidate_lock;
	spinlock_t i_mmap_lock;	     /* i_mmap; taken before any mm's page_table_lock */
	struct list_head i_mmap;     /* VMAs mapping this file (vm_area_struct.vm_file_node) */
	struct rwsem wb_lock;	     /* one writeback of this mapping at a time */
	struct list_head dirty_node; /* on the flusher's list while it may hold dirty pages */
};

void mapping_init(struct address_space *m, struct inode *host, const struct address_space_ops *ops);
void mapping_destroy(struct address_space *m); /* drops every cached page (none may be mapped) */

static inline void filemap_invalidate_lock(struct address_space *m)
{
	down_write(&m->invalidate_lock);
}
static inline void filemap_invalidate_unlock(struct address_space *m)
{
	up_write(&m->invalidate_lock);
}
static inline void filemap_invalidate_lock_shared(struct address_space *m)
{
	down_read(&m->invalidate_lock);
}
static inline void filemap_invalidate_unlock_shared(struct address_space *m)
{
	up_read(&m->invalidate_lock);
}

/* The cached page at index with a reference, or NULL. */
struct page *find_get_page(struct address_space *m, uint64_t index);
/* The first cached page at an index in [*index, end), with a reference, or
 * NULL; *index is set to its index. Steps over uncached ranges of any size
 * at the cost of a few tree nodes (for loops over a range of a file). */
struct page *find_get_next_page(struct address_space *m, uint64_t *index, uint64_t end);
/* The cached page at index with a reference, read in if needed; NULL on error.
 * The caller holds invalidate_lock (either mode): a page read in while a
 * truncate runs could otherwise land beyond the new end with stale data. */
struct page *find_or_read_page(struct address_space *m, uint64_t index);

/*
 * What a fault on a file page at or beyond the end of the file returns
 * (Linux's VM_FAULT_SIGBUS: the process gets SIGBUS, where an address no
 * VMA covers gets SIGSEGV, -EFAULT). do_user_fault, like every user access
 * helper, still reports any failed fault as -EFAULT; handle_mm_fault's
 * callers can tell the two apart.
 */
#define VM_FAULT_SIGBUS (-ENXIO)

/* The page lock (PG_locked, a sleeping bit lock): see mm/filemap.c. */
void page_lock_init(void);
void lock_page(struct page *page);
bool trylock_page(struct page *page);
void unlock_page(struct page *page);

void set_page_dirty(struct page *page);
/* Move PTE dirty bits to the page (page_mkclean) and test-and-clear PG_dirty;
 * the page locked. */
bool clear_page_dirty_for_io(struct page *page);
/* Write-protect and clean every PTE mapping page (flushed); true if any was dirty. */
int page_mkclean(struct page *page);

/* Write p back if it is dirty (wb_lock held): 0, or -errno with p dirty again. */
int writeback_page(struct address_space *m, struct page *p);
/* Write back the dirty pages of [start, end) page indexes; 0 or -errno. */
int filemap_write_and_wait_range(struct address_space *m, uint64_t start, uint64_t end);

/* msync(MS_SYNC): write back the shared file pages mapped in [addr, addr+len). */
#define MS_SYNC 4
int vm_msync(struct mm *mm, uint64_t addr, uint64_t len, int flags);

/* O_DIRECT (mm/filemap.c): pin the user pages of [uaddr, uaddr+len) (at
 * most DIO_MAX_PAGES at a time) and let a_ops->direct_IO move the bytes,
 * after writing back (read) or writing back and invalidating (write) the
 * cached pages of the range; the pins are dropped after each batch on
 * every path. uaddr, len and pos are multiples of DIO_BLOCK_SIZE (the
 * caller checks: -EINVAL, as Linux for a device of 512-byte logical
 * blocks, like brd). Bytes moved (short at the first failure) or -errno if
 * none; a read is not clamped to the file's size. */
#define DIO_MAX_PAGES  16  /* pinned at a time */
#define DIO_BLOCK_SIZE 512 /* the RAM disk's logical block size (brd's) */
ssize_t generic_file_direct_read(struct address_space *m, uint64_t uaddr, size_t len, uint64_t pos);
ssize_t generic_file_direct_write(struct address_space *m, uint64_t uaddr, size_t len,
				  uint64_t pos);

/* ---- mm/truncate.c ------------------------------------------------------ */

/* Zap every PTE that maps a file page of [start, end) page indexes, in every
 * VMA on i_mmap: the cache's pages and, with even_cows, also the private
 * copies (COW) made of them. Through an mmu_gather, flushed under each
 * page-table lock, dirty bits moved to the pages (R1, R2, R6). */
void unmap_mapping_range(struct address_space *m, uint64_t start, uint64_t end, bool even_cows);
/* Drop clean, unmapped, unpinned pages of [start, end); returns how many. */
uint64_t invalidate_mapping_pages(struct address_space *m, uint64_t start, uint64_t end);
/* Unmap (not the private copies), write back and drop every cached page of
 * [start, end); invalidate_lock held for write. 0 or a writeback error. */
int invalidate_inode_pages2_range(struct address_space *m, uint64_t start, uint64_t end);
/* Remove the cached pages at index >= start; none may be mapped any more. */
void truncate_inode_pages(struct address_space *m, uint64_t start);
/* The file shrank to newsize (set already): unmap and drop what lies
 * beyond, private copies included, and zero the rest of the last page.
 * invalidate_lock held for write. */
void truncate_pagecache(struct address_space *m, uint64_t newsize);
/* The file grows from `from` to `to`: the bytes between, in the page that
 * straddled the old end, read as zeros (a mapping may have written there).
 * invalidate_lock held (either mode). */
void pagecache_isize_extended(struct address_space *m, uint64_t from, uint64_t to);

void flusher_init(void); /* background writeback thread */
/* Tests: no background pass from hold (after any pass in progress) to release. */
void flusher_hold(void);
void flusher_release(void);
void flusher_register(struct address_space *m);
void flusher_unregister(struct address_space *m);
/* Write back every registered mapping now (the flusher's pass). */
void writeback_all(void);

#endif
