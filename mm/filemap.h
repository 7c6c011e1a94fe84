/*
 * mm/filemap.h - the page cache, file rmap, and writeback (rules R1, R2, R6);
 * see mm/filemap.c.
 */
#ifndef MM_FILEMAP_H
#define MM_FILEMAP_H

#include "kernel/compiler.h"
#include "kernel/list.h"
#include "kernel/spinlock.h"
#include "kernel/rwsem.h"

struct page;
struct inode;
struct address_space;

struct address_space_ops {
	/* Fill a new (not yet visible) page with the file's data at page->index. */
	int (*readpage)(struct address_space *m, struct page *page);
	/* Write the page's data to the disk (the page is clean, it stays cached). */
	int (*writepage)(struct address_space *m, struct page *page);
};

struct address_space {
	struct inode *host;
	const struct address_space_ops *a_ops;
	spinlock_t lock;     /* pages[], nrpages (irqsave not needed: no IRQ users) */
	struct page **pages; /* indexed by page index; NULL = not cached */
	uint64_t capacity;   /* entries in pages[] */
	uint64_t nrpages;
	spinlock_t i_mmap_lock;	     /* i_mmap; taken before any mm's page_table_lock */
	struct list_head i_mmap;     /* VMAs mapping this file (vm_area_struct.vm_file_node) */
	struct rwsem wb_lock;	     /* one writeback of this mapping at a time */
	struct list_head dirty_node; /* on the flusher's list while it may hold dirty pages */
};

void mapping_init(struct address_space *m, struct inode *host, const struct address_space_ops *ops);
void mapping_destroy(struct address_space *m); /* drops every cached page (none may be mapped) */

/* The cached page at index with a reference, or NULL. */
struct page *find_get_page(struct address_space *m, uint64_t index);
/* The cached page at index with a reference, read in if needed; NULL on error. */
struct page *find_or_read_page(struct address_space *m, uint64_t index);

void set_page_dirty(struct page *page);
/* Move PTE dirty bits to the page (page_mkclean) and test-and-clear PG_dirty. */
bool clear_page_dirty_for_io(struct page *page);
/* Write-protect and clean every PTE mapping page (flushed); true if any was dirty. */
int page_mkclean(struct page *page);

/* Write back the dirty pages of [start, end) page indexes; 0 or -errno. */
int filemap_write_and_wait_range(struct address_space *m, uint64_t start, uint64_t end);
/* Drop clean, unmapped, unpinned pages of [start, end); returns how many. */
uint64_t invalidate_mapping_pages(struct address_space *m, uint64_t start, uint64_t end);
/* Remove pages at index >= start (truncate); they must not be mapped. */
void truncate_inode_pages(struct address_space *m, uint64_t start);

void flusher_init(void); /* background writeback thread */
void flusher_register(struct address_space *m);
void flusher_unregister(struct address_space *m);
/* Write back every registered mapping now (the flusher's pass). */
void writeback_all(void);

#endif
