/*
 * mm/truncate.c - taking file pages away from the page cache and from every
 * page table that maps them: truncate, the invalidation around an O_DIRECT
 * write, and POSIX_FADV_DONTNEED (rules R1, R2, R6; as Linux's mm/truncate.c).
 *
 * Shrinking a file (truncate, O_TRUNC), in this order, as Linux does:
 *   1. the file system sets the new size (i_size) first;
 *   2. unmap_mapping_range: every PTE mapping a page beyond the new end is
 *      zapped, in every VMA on mapping->i_mmap, private copies (COW) of
 *      those pages included (Linux's even_cows: a private page beyond the
 *      end of the file is gone too, its next access gets SIGBUS);
 *   3. truncate_inode_pages: the pages leave the cache (none is mapped now:
 *      remove_page checks it);
 *   4. the file system frees the blocks.
 * A fault beyond the end of the file fails with VM_FAULT_SIGBUS.
 *
 * What keeps a fault from mapping a page between steps 2 and 3 (or reading
 * one in after 3 from a block that 4 then frees): mapping->invalidate_lock,
 * Linux's rwsem of that name. A fault takes it shared, checks i_size under
 * it, finds or reads the page and installs its PTE before releasing it;
 * read() and write() take it shared to add a page to the cache; truncate
 * holds it exclusive from step 1 to step 4. So while a truncate runs no
 * page of the file can be added to the cache or to a page table, and a
 * fault that comes after sees the new size. Fork, the only other way to
 * create a file PTE, copies PTEs that already exist, and links the child's
 * VMA behind the parent's on i_mmap: the rmap walk meets the parent first,
 * so either the copy is made before the parent's PTE is zapped and the
 * walk then meets the child's, or the copy finds the PTE gone.
 *
 * Why invalidate_lock and not the page lock (PG_locked, which this kernel
 * has only for the dirty protocol of mm/filemap.c): the race is about
 * *instantiating* a page (reading it in, installing a PTE), and a page lock
 * only guards a page that is already cached. With page locks alone a fault
 * must re-check page->mapping and i_size after locking, a page must be
 * inserted locked before it is read (else a read can put stale data beyond
 * the new end after truncate passed that index), truncate must unmap again
 * under each page lock and once more for the COW copies made meanwhile, and
 * writeback must lock pages too. Linux has both: invalidate_lock for adding
 * pages, the page lock for cached ones (so that a fault on a cached page
 * needs no file-wide lock). This kernel has only the first, at the price of
 * one uncontended shared rwsem per file fault. Writeback is kept out of the
 * way by wb_lock instead: truncate_inode_pages takes it, so a writepage that
 * saw the old size and gave a block to a page beyond the new end has
 * finished before the blocks are freed.
 *
 * The rmap zap (zap_mapping_vma) runs without the VMA's mm->mmap_lock; it
 * is munmap's zap (unmap_page_range in mm/memory.c) with Linux's zap_details,
 * which looks up each page table under the page-table lock: munmap and exit
 * unhook tables under that lock while the VMA is still on i_mmap, and a
 * table found outside it could be freed under us (Linux walks with
 * pte_offset_map_lock for the same reason). So the R1/R2/R6 rules and their
 * mutations are the same code: PTEs cleared by atomic exchange into an
 * mmu_gather, a dirty bit moved to the page, the flush done before the
 * page-table lock is dropped (the VMA stays: a fault could otherwise map a
 * new page while a stale TLB entry still points at the old one), delayed
 * rmaps for dirty shared pages removed after it, page references dropped
 * only after it.
 *
 * Locks, in order: the inode's i_rwsem, mapping->invalidate_lock (held by
 * the callers, as each function says), mapping->wb_lock, mapping->i_mmap_lock,
 * an mm's page_table_lock, mapping->lock.
 */
#include "mm/filemap.h"
#include "mm/mm.h"
#include "mm/mmu_gather.h"
#include "mm/page.h"
#include "mm/rmap.h"
#include "kernel/fs/fs.h"
#include "kernel/pause.h"
#include "kernel/panic.h"
#include "kernel/stats.h"
#include "kernel/string.h"

/* Zap the PTEs of [addr, end) in vma that map file pages (and with
 * even_cows, private copies of them): the zap of munmap, with details.
 * i_mmap_lock held: the VMA and its mm stay; the page tables may be
 * unhooked by munmap, so zap_pte_range walks them under the page-table
 * lock. The VMA stays mapped: each flush before its lock is dropped (R6). */
static void zap_mapping_vma(struct vm_area_struct *vma, uint64_t addr, uint64_t end, bool even_cows)
{
	struct zap_details details = { .even_cows = even_cows };
	struct mmu_gather tlb;
	tlb_gather_mmu(&tlb, vma->vm_mm);
	unmap_page_range(&tlb, vma, addr, end, true, &details);
	tlb_finish_mmu(&tlb); /* R1: the pages' references go after the flush */
}

void unmap_mapping_range(struct address_space *m, uint64_t start, uint64_t end, bool even_cows)
{
#ifdef MUTATION_TRUNCATE_KEEPS_COWS
	even_cows = false; /* private copies of truncated pages stay mapped */
#endif
	if (start >= end)
		return;
	spin_lock(&m->i_mmap_lock);
	struct vm_area_struct *vma;
	list_for_each_entry (vma, &m->i_mmap, vm_file_node) {
		if (end <= vma->vm_pgoff)
			continue;
		uint64_t pages = (vma->vm_end - vma->vm_start) >> PAGE_SHIFT;
		uint64_t first = MAX(start, vma->vm_pgoff);
		uint64_t last = MIN(end - vma->vm_pgoff, pages) + vma->vm_pgoff; /* exclusive */
		if (first >= last)
			continue;
		zap_mapping_vma(vma, vma->vm_start + ((first - vma->vm_pgoff) << PAGE_SHIFT),
				vma->vm_start + ((last - vma->vm_pgoff) << PAGE_SHIFT), even_cows);
	}
	spin_unlock(&m->i_mmap_lock);
}

/* Remove the page at index i from the cache; with check, only if it is
 * clean, unmapped and held by nobody else. */
static bool remove_page(struct address_space *m, uint64_t i, bool check)
{
	spin_lock(&m->lock);
	struct page *p = radix_tree_lookup(&m->i_pages, i);
	if (!p || (check && ((p->flags & PG_dirty) || page_mapcount(p) || page_count(p) != 1))) {
		spin_unlock(&m->lock);
		return false;
	}
	radix_tree_delete(&m->i_pages, i);
	m->nrpages--;
	spin_unlock(&m->lock);
	BUG_ON(page_mapcount(p)); /* unmap_mapping_range must have run */
	p->mapping = NULL;
	put_page(p); /* the cache's reference */
	return true;
}

/* The index of the first cached page in [*i, end), in *i; false if none.
 * For loops over a range: they step over uncached pages of any number. */
static bool next_cached(struct address_space *m, uint64_t *i, uint64_t end)
{
	struct page *p = find_get_next_page(m, i, end);
	if (p)
		put_page(p);
	return p != NULL;
}

uint64_t invalidate_mapping_pages(struct address_space *m, uint64_t start, uint64_t end)
{
	uint64_t n = 0;
	for (uint64_t i = start; next_cached(m, &i, end); i++) /* i < end: i++ cannot wrap */
		n += remove_page(m, i, true);
	count_events(EV_PAGECACHE_DROPPED, n);
	return n;
}

void truncate_inode_pages(struct address_space *m, uint64_t start)
{
	down_write(&m->wb_lock); /* no writepage of these pages in flight */
	for (uint64_t i = start; next_cached(m, &i, ~0ull); i++)
		remove_page(m, i, false);
	up_write(&m->wb_lock);
}

int invalidate_inode_pages2_range(struct address_space *m, uint64_t start, uint64_t end)
{
	rwsem_assert_held_write(&m->invalidate_lock);
	/* The cache's pages only: a process's private copies are its own data. */
#ifdef MUTATION_ODIRECT_ZAPS_COWS
	unmap_mapping_range(m, start, end, true); /* a private copy loses its data */
#else
	unmap_mapping_range(m, start, end, false);
#endif
	int err = 0;
	down_write(&m->wb_lock);
	struct page *p;
	for (uint64_t i = start; (p = find_get_next_page(m, &i, end)); i++) {
		/* Dirty (a write through a mapping before the unmap): the data
		 * is older than what comes next, it goes to the disk first. */
		int e = writeback_page(m, p);
		put_page(p);
		if (e < 0) {
			err = e; /* kept dirty, so kept cached */
			continue;
		}
		/* Nothing can map it again (invalidate_lock); a pin or a read()
		 * still copying from it keeps its own reference to the page. */
		if (remove_page(m, i, false))
			count_event(EV_PAGECACHE_DROPPED);
	}
	up_write(&m->wb_lock);
	return err;
}

/* Bytes [from, to) of page p become zeros; the page is dirtied only if
 * that changed something, so the tail of a hole (read in as zeros) stays a
 * hole instead of getting a block of zeros at writeback. */
static void zero_page_tail(struct page *p, uint64_t from, uint64_t to)
{
	const uint8_t *b = (const uint8_t *)page_address(p);
	for (uint64_t i = from; i < to; i++) {
#ifdef MUTATION_TRUNCATE_TAIL_ALLOCATES
		if (b[i] || true) { /* always dirty: the hole gets a block of zeros */
#else
		if (b[i]) {
#endif
			memset((char *)page_address(p) + from, 0, to - from);
			set_page_dirty(p);
			return;
		}
	}
}

void truncate_pagecache(struct address_space *m, uint64_t newsize)
{
	rwsem_assert_held_write(&m->invalidate_lock);
	uint64_t holebegin = DIV_ROUND_UP(newsize, PAGE_SIZE);
#ifndef MUTATION_TRUNCATE_NO_UNMAP
	unmap_mapping_range(m, holebegin, ~0ull, true);
#endif
	pause_point(PAUSE_TRUNC_UNMAPPED, m);
	truncate_inode_pages(m, holebegin);
	uint64_t off = newsize & (PAGE_SIZE - 1);
	if (off) { /* the rest of the last page reads as zeros from now on */
		struct page *p = find_or_read_page(m, newsize >> PAGE_SHIFT);
		if (p) {
			zero_page_tail(p, off, PAGE_SIZE);
			put_page(p);
		}
	}
}

void pagecache_isize_extended(struct address_space *m, uint64_t from, uint64_t to)
{
	uint64_t off = from & (PAGE_SIZE - 1);
	if (to <= from || !off)
		return;
	rwsem_assert_held(&m->invalidate_lock);
	uint64_t base = ALIGN_DOWN(from, PAGE_SIZE);
	uint64_t zero_end = MIN(to - base, PAGE_SIZE);
#ifdef MUTATION_ISIZE_EXTEND_NO_ZERO
	return; /* bytes a mapping wrote past the old end show up in the file */
#endif
	/* Read in if needed: writeback may have put those bytes on the disk. */
	struct page *p = find_or_read_page(m, from >> PAGE_SHIFT);
	if (!p)
		return;
	zero_page_tail(p, off, zero_end);
	put_page(p);
}
