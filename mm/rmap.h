/*
 * mm/rmap.h - the reverse map: how many page-table entries map a page
 * (_mapcount), and whether an anonymous page belongs to one process alone
 * (PG_anon_exclusive). Every change of either goes through these helpers,
 * under the page-table lock of the mm whose PTE changes (Linux's names).
 *
 * PageAnonExclusive (rule R4, Linux 5.19-6.0, seeds 000-002): an anonymous
 * page is "exclusive" when exactly one process maps it and may write it
 * without asking anybody. It is set when a fault gives a process its own
 * page (a new zero page, a COW copy, an unshare copy) and when a write fault
 * finds page_count == 1 and reuses the page; fork clears it when it shares
 * the page with the child. Consequences:
 *   - a write fault on an exclusive page reuses it at once, whatever
 *     page_count says: references from pins or other GUP users do not make
 *     the process lose its page (they did before 5.19: mprotect(PROT_READ)
 *     then PROT_WRITE on a pinned page, then a write, made do_wp_page copy,
 *     and the device kept writing into a page the process no longer had);
 *   - mprotect may give write access back directly to an exclusive page;
 *   - a pin (FOLL_PIN) of an anonymous page requires it to be exclusive: a
 *     read-only pin of a shared page first unshares it (FAULT_FLAG_UNSHARE:
 *     a copy mapped read-only, exclusive), so the pinned page is the one the
 *     process keeps writing whatever the other sharers do;
 *   - fork may not share an exclusive page that may be pinned: it copies it
 *     for the child (page_try_dup_anon_rmap fails), so it stays exclusive.
 * A writable PTE of a private mapping therefore always maps an exclusive
 * page; a non-exclusive page is mapped read-only everywhere and decided by
 * page_count at the first write (R3).
 *
 * The flag is set and cleared with atomic operations: GUP-fast reads it
 * without any lock, and page->flags holds bits other CPUs change (PG_dirty).
 */
#ifndef MM_RMAP_H
#define MM_RMAP_H

#include "mm/page.h"
#include "kernel/errno.h"

static inline bool PageAnon(const struct page *page)
{
	return READ_ONCE(page->flags) & PG_anon;
}
static inline bool PageAnonExclusive(const struct page *page)
{
	return READ_ONCE(page->flags) & PG_anon_exclusive;
}
static inline void SetPageAnonExclusive(struct page *page)
{
	__atomic_fetch_or(&page->flags, PG_anon_exclusive, __ATOMIC_SEQ_CST);
}
static inline void ClearPageAnonExclusive(struct page *page)
{
	__atomic_fetch_and(&page->flags, ~PG_anon_exclusive, __ATOMIC_SEQ_CST);
}

/* A page this process just got for itself (zero fill, COW or unshare copy):
 * not yet visible to anybody, so plain stores are fine. */
static inline void page_add_new_anon_rmap(struct page *page)
{
	page->flags |= PG_anon | PG_anon_exclusive;
	atomic_set(&page->_mapcount, 0);
}

/* A write (or unshare) fault found page_count == 1: the page is ours alone
 * from now on (Linux: page_move_anon_rmap). */
static inline void page_move_anon_rmap(struct page *page)
{
	SetPageAnonExclusive(page);
}

/*
 * fork, for a mapped anonymous page of a private mapping: share it with the
 * child (-> not exclusive any more), unless it is exclusive and may be
 * pinned: then return -EBUSY and the caller copies it for the child (R4,
 * seed 003). Parent's page-table lock held; fork holds the parent's mmap_lock
 * for write and write_protect_seq odd, so no new pin can be taken through
 * the slow path, and a GUP-fast pin racing with us backs off (mm/gup.c).
 */
static inline int page_try_dup_anon_rmap(struct page *page)
{
#ifdef MUTATION_NO_PRECOW_PINNED
	bool pinned = false; /* the 2009 bug: a pinned page becomes a COW page */
#else
	bool pinned = page_maybe_dma_pinned(page);
#endif
	if (PageAnonExclusive(page) && pinned)
		return -EBUSY;
	atomic_inc(&page->_mapcount);
#ifndef MUTATION_FORK_KEEPS_EXCLUSIVE
	ClearPageAnonExclusive(page);
#endif
	return 0;
}

/* A page-cache page gets one more PTE (fault, or fork of a file mapping). */
static inline void page_add_file_rmap(struct page *page)
{
	atomic_inc(&page->_mapcount);
}

/* One PTE mapping the page is gone (after the TLB flush, for a dirty
 * shared page: R2). An anonymous page keeps PG_anon_exclusive: whoever
 * still maps it keeps it exclusive; the allocator clears it on free. */
static inline void page_remove_rmap(struct page *page)
{
	atomic_dec(&page->_mapcount);
}

#endif
