/*
 * mm/memory.c - user page tables: walking and allocating them, demand-zero
 * and write faults, zapping ranges into an mmu_gather, freeing empty tables.
 *
 * Locks: the caller holds mm->mmap_lock (read for faults and
 * MADV_DONTNEED, write for munmap/mprotect); this file takes
 * mm->page_table_lock around every change of a user page-table entry and
 * every allocation or unhooking of a user table. PTEs are cleared with an
 * atomic exchange so a dirty bit the hardware sets at the same moment is
 * not lost (R2 needs it later).
 *
 * Rule R6: when a PTE other threads may use is cleared and the range stays
 * mapped (MADV_DONTNEED, mprotect, a COW break), the TLB flush completes
 * before the page-table lock is released: otherwise a fault on another CPU
 * could install a new page while stale entries still point at the old one.
 * munmap is the exception that proves the rule: it removes the VMAs first
 * (under the mmap_lock held for write), so nobody can fault the range back
 * in, and nothing is freed before the final flush; one flush then covers
 * the PTEs and the page tables together (R9). Teardown (fullmm) likewise.
 *
 * COW (R3, R4): a write fault on a present, write-protected page of a
 * writable private VMA reuses the page if it is exclusive (PageAnonExclusive,
 * mm/rmap.h) or if page_count(page) == 1 (then it becomes exclusive), else
 * copies it; the copy is exclusive. An unshare fault (FAULT_FLAG_UNSHARE,
 * from a read-only pin) makes the same decision but leaves the PTE
 * read-only. mprotect gives write access back at once only to exclusive
 * anonymous pages (can_change_pte_writable).
 */
#include "mm/mm.h"
#include "mm/mmu_gather.h"
#include "mm/page.h"
#include "mm/rmap.h"
#include "kernel/string.h"
#include "kernel/panic.h"
#include "kernel/stats.h"
#include "kernel/sched.h"
#include "kernel/fs/fs.h"
#include "mm/filemap.h"
#include "mm/shmem.h"
#include "kernel/pause.h"

static pte_t mk_user_pte(struct page *page, unsigned long vm_flags)
{
	return pfn_user_pte(page_to_phys(page), vm_flags & VM_WRITE, vm_flags & VM_EXEC);
}

/* ---- the page-table walker ------------------------------------------------ */

/*
 * The one walk of a user address space: PML4 -> PDPT -> PD -> PT, reading
 * each upper entry exactly once (READ_ONCE), so the same loop serves the
 * lockless walk of GUP-fast, which must never look at an entry twice. A
 * missing table is allocated when may_alloc allows it (NULL: always), under
 * the page-table lock; otherwise the walk stops with NULL. User mappings are
 * 4 KiB pages only: a large entry (not made here) also stops it.
 */
static pte_t *__walk_pte(struct mm *mm, uint64_t addr, bool alloc, bool (*may_alloc)(void))
{
	pte_t *table = mm->pgd;
	for (int shift = PML4_SHIFT; shift > PT_SHIFT; shift -= 9) {
		pte_t *e = &table[PT_INDEX(addr, shift)];
		pte_t entry = READ_ONCE(*e);
		if (pte_present(entry) && pte_large(entry))
			return NULL;
		if (!pte_present(entry)) {
			struct page *t = NULL;
			if (alloc && (!may_alloc || may_alloc()))
				t = alloc_page(__GFP_ZERO);
			if (!t)
				return NULL;
			t->flags |= PG_pagetable;
			atomic64_inc(&mm->nr_pt_pages);
			entry = mk_table_entry(page_to_phys(t));
			WRITE_ONCE(*e, entry);
		}
		table = pte_table(entry);
	}
	return &table[PT_INDEX(addr, PT_SHIFT)];
}

/* Locked walk: the caller holds mm's page_table_lock, or its mmap_lock
 * (tables are freed only by munmap and teardown, under it for write). */
pte_t *walk_pte(struct mm *mm, uint64_t addr)
{
	return __walk_pte(mm, addr, false, NULL);
}

/* Locked walk that allocates missing tables; may_alloc is fork's failure
 * hook (NULL: no hook). NULL when out of memory. */
pte_t *walk_pte_alloc(struct mm *mm, uint64_t addr, bool (*may_alloc)(void))
{
	assert_spin_locked(&mm->page_table_lock);
	return __walk_pte(mm, addr, true, may_alloc);
}

/* Lockless walk (GUP-fast): only with interrupts off, on an mm whose cpumask
 * holds this CPU, so no table it reaches can be freed meanwhile (R5). The
 * PTE itself must then be read once too, by the caller. */
pte_t *walk_pte_lockless(struct mm *mm, uint64_t addr)
{
	BUG_ON(!irqs_disabled());
	return __walk_pte(mm, addr, false, NULL);
}

static int do_anonymous_page(struct vm_area_struct *vma, uint64_t addr)
{
	struct mm *mm = vma->vm_mm;
	struct page *page = alloc_page(__GFP_ZERO);
	if (!page)
		return -ENOMEM;
	spin_lock(&mm->page_table_lock);
	pte_t *pte = walk_pte_alloc(mm, addr, NULL);
	if (!pte) {
		spin_unlock(&mm->page_table_lock);
		put_page(page);
		return -ENOMEM;
	}
#ifndef MUTATION_ANON_FAULT_NO_RECHECK
	if (*pte) { /* another thread faulted it in first */
		spin_unlock(&mm->page_table_lock);
		put_page(page);
		return 0;
	}
#endif
	page_add_new_anon_rmap(page);
	atomic64_inc(&mm->rss);
	WRITE_ONCE(*pte, mk_user_pte(page, vma->vm_flags));
	spin_unlock(&mm->page_table_lock);
	return 0;
}

/*
 * May the faulting process keep this anonymous page (R3, R4)? Yes if it is
 * exclusive; else if nobody else holds any reference (page_count == 1: no
 * other mapping, no GUP reference, no pin), and then it becomes exclusive.
 * A page-cache page in a private mapping is never ours: always copied.
 */
static bool wp_can_reuse_anon(struct page *page)
{
	if (!PageAnon(page))
		return false;
#ifndef MUTATION_ANON_EXCLUSIVE_IGNORED /* before 5.19: page_count alone */
	if (PageAnonExclusive(page))
		return true;
#endif
#ifdef MUTATION_COW_BY_MAPCOUNT
	if (page_mapcount(page) != 1) /* the old bug: GUP references ignored */
		return false;
#else
	if (page_count(page) != 1) /* somebody else holds it: copy */
		return false;
#endif
	page_move_anon_rmap(page);
	return true;
}

/* Give the process its own copy of old at pte (orig): write-enabled for a
 * write fault, read-only for an unshare. ptl held on entry; released. */
static int wp_page_copy(struct vm_area_struct *vma, uint64_t addr, pte_t *pte, pte_t orig,
			bool unshare)
{
	struct mm *mm = vma->vm_mm;
	struct page *old = phys_to_page(pte_phys(orig));
	get_page(old);
	spin_unlock(&mm->page_table_lock);
	struct page *new = alloc_page(0);
	if (!new) {
		put_page(old);
		return -ENOMEM;
	}
	memcpy(page_address(new), page_address(old), PAGE_SIZE);
	spin_lock(&mm->page_table_lock);
#ifndef MUTATION_COW_NO_PTE_RECHECK
	if (READ_ONCE(*pte) != orig) { /* changed under us: retry the fault */
		spin_unlock(&mm->page_table_lock);
		put_page(new);
		put_page(old);
		return 0;
	}
#endif
	pte_t entry = mk_user_pte(new, vma->vm_flags);
	entry = unshare ? pte_wrprotect(entry) : pte_mkdirty(entry);
	/* Clear, flush, then install the copy (R6): no CPU may keep writing
	 * the old page through a stale entry once the new one is visible. */
	ptep_get_and_clear(pte);
#ifndef MUTATION_COW_INSTALL_BEFORE_FLUSH
	flush_tlb_mm_range(mm, addr, addr + PAGE_SIZE, false);
#endif
	page_add_new_anon_rmap(new);
	WRITE_ONCE(*pte, entry);
#ifdef MUTATION_COW_INSTALL_BEFORE_FLUSH
	flush_tlb_mm_range(mm, addr, addr + PAGE_SIZE, false); /* too late: see R6 */
#endif
	page_remove_rmap(old);
	spin_unlock(&mm->page_table_lock);
	put_page(old); /* the mapping's reference */
	put_page(old); /* ours */
	count_event(EV_COW_COPY);
	return 0;
}

/*
 * Write (or unshare) fault on a present read-only PTE of a private mapping.
 * A write reuses the page when it is ours alone (wp_can_reuse_anon), else
 * copies it. An unshare (FAULT_FLAG_UNSHARE: a read-only pin wants an
 * exclusive page) changes nothing on an exclusive page, and otherwise gets
 * the same answer without making the PTE writable. ptl held; released.
 */
static int do_wp_page(struct vm_area_struct *vma, uint64_t addr, pte_t *pte, pte_t orig,
		      unsigned flags)
{
	struct mm *mm = vma->vm_mm;
	struct page *old = phys_to_page(pte_phys(orig));
	bool unshare = flags & FAULT_FLAG_UNSHARE;
	assert_spin_locked(&mm->page_table_lock);
	if (wp_can_reuse_anon(old)) {
		if (!unshare)
			WRITE_ONCE(*pte, pte_mkdirty(pte_mkwrite(orig)));
		spin_unlock(&mm->page_table_lock);
		count_event(EV_COW_REUSE);
		return 0;
	}
	return wp_page_copy(vma, addr, pte, orig, unshare);
}

/* The page lock a write fault holds while it dirties a shared page and makes
 * its PTE writable (mm/filemap.c); false: not taken (the mutation). */
static bool mkwrite_lock_page(struct page *page)
{
#ifdef MUTATION_MKWRITE_UNLOCKED
	(void)page;
	return false; /* the bug: writable between page_mkclean and the clear */
#else
	lock_page(page);
	return true;
#endif
}

/*
 * A fault on a file page: map the page-cache page. Shared mappings map it
 * read-only unless this is a write, which marks the page dirty first (so
 * writeback knows). Private mappings copy on a write fault at once: the
 * cache's own reference means the page is never exclusive (R3).
 *
 * Against truncate (mm/truncate.c): the fault holds mapping->invalidate_lock
 * shared from its i_size check until its PTE is in place, so a truncate
 * (which holds it exclusive from setting the new size until the pages and
 * blocks are gone) either comes after and zaps the PTE, or came before and
 * the fault sees the new size: a page at or beyond the end is VM_FAULT_SIGBUS.
 */
static int do_file_fault(struct vm_area_struct *vma, uint64_t addr, unsigned flags)
{
	struct mm *mm = vma->vm_mm;
	struct inode *inode = vma->vm_file;
	struct address_space *m = &inode->mapping;
	uint64_t index = vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
#ifdef MUTATION_FAULT_SIZE_CHECK_UNLOCKED
	/* The old order: i_size checked before the lock, never again after it. */
	if (index >= DIV_ROUND_UP(i_size_read(inode), PAGE_SIZE))
		return VM_FAULT_SIGBUS;
	pause_point(PAUSE_FILE_FAULT, mm);
	filemap_invalidate_lock_shared(m);
#else
	filemap_invalidate_lock_shared(m);
	if (index >= DIV_ROUND_UP(i_size_read(inode), PAGE_SIZE)) {
		filemap_invalidate_unlock_shared(m);
		return VM_FAULT_SIGBUS; /* beyond EOF */
	}
	pause_point(PAUSE_FILE_FAULT, mm);
#endif
	int ret = 0;
	/* A page-cache miss reads the page in: a major fault (Linux's
	 * filemap_fault returning VM_FAULT_MAJOR; shmem's holes are minor). */
	struct page *page = find_get_page(m, index);
	if (!page) {
		if (!is_shmem_inode(inode))
			current->fault_major = true;
		page = find_or_read_page(m, index);
	}
	if (!page) {
		ret = -ENOMEM;
		goto out;
	}
	struct page *cache_page = page;
	bool write = flags & FAULT_FLAG_WRITE, locked = false;
	if (write && !(vma->vm_flags & VM_SHARED)) {
		struct page *copy = alloc_page(0);
		if (!copy) {
			put_page(page);
			ret = -ENOMEM;
			goto out;
		}
		memcpy(page_address(copy), page_address(page), PAGE_SIZE);
		put_page(page);
		page = copy;
		count_event(EV_COW_COPY);
	} else if (write) {
		/* page_mkwrite: dirty and writable under the page lock, never
		 * between page_mkclean and the test-and-clear of writeback. */
		locked = mkwrite_lock_page(page);
		set_page_dirty(page);
	}
	spin_lock(&mm->page_table_lock);
	pte_t *pte = walk_pte_alloc(mm, addr, NULL);
	if (!pte || *pte) {
		spin_unlock(&mm->page_table_lock);
		if (locked)
			unlock_page(page);
		put_page(page);
		ret = pte ? 0 : -ENOMEM;
		goto out;
	}
	pte_t entry = mk_user_pte(page, vma->vm_flags);
	if (!write)
		entry = pte_wrprotect(entry); /* the first write faults (dirties the page) */
	else
		entry = pte_mkdirty(entry);
	if (page != cache_page)
		page_add_new_anon_rmap(page); /* a private copy */
	else
		page_add_file_rmap(page);
	atomic64_inc(&mm->rss);
	WRITE_ONCE(*pte, entry);
	spin_unlock(&mm->page_table_lock);
	if (locked)
		unlock_page(page);
out:
	filemap_invalidate_unlock_shared(m);
	return ret;
}

/* Write fault on a read-only PTE of a shared mapping: no copy, just make it
 * writable, after marking the page dirty, with the page locked (Linux's
 * wp_page_shared with a page_mkwrite: do_page_mkwrite, then
 * finish_mkwrite_fault re-checks the PTE). ptl held; released here. */
static int wp_page_shared(struct vm_area_struct *vma, uint64_t addr, pte_t *pte, pte_t orig)
{
	struct mm *mm = vma->vm_mm;
	struct page *page = phys_to_page(pte_phys(orig));
	assert_spin_locked(&mm->page_table_lock);
	if (!vma->vm_file) { /* no page cache, no writeback */
		WRITE_ONCE(*pte, pte_mkdirty(pte_mkwrite(orig)));
		spin_unlock(&mm->page_table_lock);
		return 0;
	}
	get_page(page);
	spin_unlock(&mm->page_table_lock); /* the page lock sleeps */
	bool locked = mkwrite_lock_page(page);
	set_page_dirty(page);
	spin_lock(&mm->page_table_lock);
	pte = walk_pte(mm, addr);
	if (pte && READ_ONCE(*pte) == orig) /* else zapped or changed: fault again */
		WRITE_ONCE(*pte, pte_mkdirty(pte_mkwrite(orig)));
	spin_unlock(&mm->page_table_lock);
	if (locked)
		unlock_page(page);
	put_page(page);
	return 0;
}

int handle_mm_fault(struct vm_area_struct *vma, uint64_t addr, unsigned flags)
{
	struct mm *mm = vma->vm_mm;
	rwsem_assert_held(&mm->mmap_lock); /* the VMA stays as it is */
	addr &= PAGE_MASK;
	spin_lock(&mm->page_table_lock);
	pte_t *pte = walk_pte(mm, addr);
	pte_t orig = pte ? READ_ONCE(*pte) : 0;
	if (!pte_present(orig)) {
		spin_unlock(&mm->page_table_lock);
		return vma->vm_file ? do_file_fault(vma, addr, flags)
				    : do_anonymous_page(vma, addr);
	}
	bool shared = vma->vm_flags & VM_SHARED;
	if ((flags & FAULT_FLAG_WRITE) && !pte_write(orig))
		return shared ? wp_page_shared(vma, addr, pte, orig)
			      : do_wp_page(vma, addr, pte, orig, flags);
	if ((flags & FAULT_FLAG_UNSHARE) && !shared && !pte_write(orig))
		return do_wp_page(vma, addr, pte, orig, flags);
	/* Spurious: another CPU fixed it, or our TLB entry was stale. */
	spin_unlock(&mm->page_table_lock);
	return 0;
}

/* ---- zapping ------------------------------------------------------------- */

/* Does this zap leave the page alone? Only the rmap zap of truncate and
 * invalidation asks (Linux's zap_details): without even_cows it takes the
 * page cache's pages and leaves private copies (anonymous pages) mapped. */
static bool zap_skips_page(const struct zap_details *details, struct page *page)
{
	return details && !details->even_cows && PageAnon(page);
}

/*
 * Zap the PTEs of one page table in [addr, end). Returns where it stopped
 * (end, or earlier when the gather filled up and must be flushed). The
 * table is looked up under the page-table lock: the rmap zap (truncate,
 * mm/truncate.c) holds no mmap_lock, and munmap unhooks tables under this
 * lock (Linux: pte_offset_map_lock).
 */
static uint64_t zap_pte_range(struct mmu_gather *tlb, struct vm_area_struct *vma, uint64_t addr,
			      uint64_t end, bool flush_under_lock,
			      const struct zap_details *details)
{
	struct mm *mm = vma->vm_mm;
	bool full = false, zapped = false, force_flush = false;
	spin_lock(&mm->page_table_lock);
	pte_t *pte = walk_pte(mm, addr);
	if (!pte) {
		spin_unlock(&mm->page_table_lock);
		return end;
	}
	for (; addr < end && !full; addr += PAGE_SIZE, pte++) {
		pte_t old = READ_ONCE(*pte);
		if (!pte_mapped(old) || zap_skips_page(details, phys_to_page(pte_phys(old))))
			continue;
		old = ptep_get_and_clear(pte);
		struct page *page = phys_to_page(pte_phys(old));
		tlb_flush_pte_range(tlb, addr, PAGE_SIZE);
		zapped = true;
		atomic64_add(-1, &mm->rss);
		unsigned long flags = 0;
		if (!PageAnon(page) && page->mapping && pte_dirty(old)) {
			/* The dirty bit moves to the page (R2). Here the page is
			 * dirty already: a shared PTE becomes writable only by a
			 * write fault that dirtied the page under its lock, and
			 * writeback write-protects every PTE before it cleans the
			 * page. Linux needs the move for mappings without write
			 * notification (tmpfs), which this kernel does not have. */
			set_page_dirty(page);
			force_flush = true; /* before page_mkclean can take the lock */
			if (vma->vm_flags & VM_SHARED)
				flags = ENCODED_PAGE_BIT_DELAY_RMAP;
		}
#ifdef MUTATION_RMAP_BEFORE_FLUSH
		flags = 0; /* Linux 6.1's bug: the rmap goes at once, before the flush */
#endif
		if (flags)
			count_event(EV_DELAYED_RMAP); /* rmap goes after the flush */
		else
			page_remove_rmap(page); /* anonymous or clean: rmap goes at once */
		full = __tlb_remove_page(tlb, page, flags);
	}
	/* R2 and R6: flush before the lock is dropped when someone could race:
	 * a fault into a range that stays mapped, or page_mkclean for a dirty
	 * shared page, which serializes on this lock; then the delayed rmaps. */
#ifdef MUTATION_NO_FORCED_FLUSH
	force_flush = flush_under_lock = false; /* the pre-2014 bug: flush after the lock */
	if (zapped && tlb->delayed_rmap) {
		spin_unlock(&mm->page_table_lock);
		tlb_flush_mmu_tlbonly(tlb);
		tlb_flush_rmaps(tlb, vma);
		spin_lock(&mm->page_table_lock);
	}
#endif
	if ((flush_under_lock || force_flush) && zapped)
		tlb_flush_mmu_tlbonly(tlb);
	tlb_flush_rmaps(tlb, vma);
	spin_unlock(&mm->page_table_lock);
	if (full)
		tlb_flush_mmu(tlb);
	return addr;
}

/* Zap [start, end) of vma into tlb. flush_under_lock: the range stays
 * mapped (MADV_DONTNEED, truncate), so each table's flush is done before
 * its lock is dropped (R6). details: NULL, or what the rmap zap skips. */
void unmap_page_range(struct mmu_gather *tlb, struct vm_area_struct *vma, uint64_t start,
		      uint64_t end, bool flush_under_lock, const struct zap_details *details)
{
	uint64_t addr = start;
	while (addr < end) {
		uint64_t pt_end = ALIGN_DOWN(addr, LARGE_PAGE_SIZE) + LARGE_PAGE_SIZE;
		if (pt_end > end || pt_end < addr)
			pt_end = end;
		addr = zap_pte_range(tlb, vma, addr, pt_end, flush_under_lock, details);
	}
}

/* ---- freeing page tables ---------------------------------------------- */

static bool range_has_vma(struct mm *mm, uint64_t lo, uint64_t hi)
{
	struct vm_area_struct *v = find_vma(mm, lo);
	return v && v->vm_start < hi;
}

/* Free the tables under entry *e, which maps [base, base + 2^shift), that no
 * VMA needs; returns true if *e itself was unhooked. ptl held. */
static bool free_tables_below(struct mmu_gather *tlb, pte_t *e, int shift, uint64_t base,
			      uint64_t lo, uint64_t hi)
{
	uint64_t span = 1ull << shift;
	assert_spin_locked(&tlb->mm->page_table_lock);
	if (shift == PT_SHIFT || !pte_present(*e) || base >= hi || base + span <= lo)
		return false;	  /* PT entries map pages, not tables */
	pte_t *t = pte_table(*e); /* the table this entry points at */
	for (int i = 0; i < PT_ENTRIES; i++)
		free_tables_below(tlb, &t[i], shift - 9, base + (uint64_t)i * (span >> 9), lo, hi);
	if (range_has_vma(tlb->mm, base, base + span))
		return false;
	struct page *table = phys_to_page(pte_phys(*e));
	WRITE_ONCE(*e, 0);
	atomic64_add(-1, &tlb->mm->nr_pt_pages);
	tlb_remove_table(tlb, table); /* sets freed_tables: a full flush on every CPU */
	return true;
}

/* Unhook every user page table covering [lo, hi) that no VMA needs any more.
 * The tables are freed by the gather after the IPI round (R5). */
void free_pgtables(struct mmu_gather *tlb, uint64_t lo, uint64_t hi)
{
	struct mm *mm = tlb->mm;
	spin_lock(&mm->page_table_lock);
	for (int i = 0; i < 256; i++) /* user half of the PML4: each entry maps 512 GiB */
		free_tables_below(tlb, &mm->pgd[i], PML4_SHIFT, (uint64_t)i << PML4_SHIFT, lo, hi);
	spin_unlock(&mm->page_table_lock);
}

/* ---- protection changes -------------------------------------------------- */

/*
 * May mprotect make this (read-only) PTE writable at once, sparing the write
 * fault? Only for an exclusive anonymous page of a private writable mapping
 * (R4, mm/rmap.h): any other page must go through the write fault, which
 * decides by page_count (R3) or, in a shared file mapping, marks the page
 * dirty first (R2). Linux: can_change_pte_writable().
 */
static bool can_change_pte_writable(struct vm_area_struct *vma, pte_t pte)
{
	if ((vma->vm_flags & (VM_WRITE | VM_SHARED)) != VM_WRITE || !pte_present(pte) ||
	    pte_write(pte))
		return false;
	struct page *page = phys_to_page(pte_phys(pte));
#if defined(MUTATION_MPROTECT_WRITE_ANY_ANON)
	return PageAnon(page); /* makes a page shared with a fork child writable */
#elif defined(MUTATION_ANON_EXCLUSIVE_IGNORED)
	return (void)page, false; /* before 5.19: always the write fault (page_count) */
#else
	return PageAnon(page) && PageAnonExclusive(page);
#endif
}

/* Apply vma->vm_flags to the present PTEs of [start, end). Write access is
 * taken away, and given back only where can_change_pte_writable() says so;
 * anything else that becomes writable gets it through the write fault. */
/* The new value of one mapped PTE under vma's (new) protections. */
static pte_t change_pte(struct vm_area_struct *vma, pte_t old)
{
	unsigned long f = vma->vm_flags;
	pte_t new = pte_modify(old, f & (VM_READ | VM_WRITE | VM_EXEC), f & VM_WRITE, f & VM_EXEC);
	return can_change_pte_writable(vma, new) ? pte_mkwrite(new) : new;
}

void change_protection(struct vm_area_struct *vma, uint64_t start, uint64_t end)
{
	struct mm *mm = vma->vm_mm;
	rwsem_assert_held_write(&mm->mmap_lock);
	for (uint64_t addr = start; addr < end;) {
		uint64_t chunk = addr;
		uint64_t pt_end = MIN(ALIGN_DOWN(addr, LARGE_PAGE_SIZE) + LARGE_PAGE_SIZE, end);
		spin_lock(&mm->page_table_lock);
		pte_t *pte = walk_pte(mm, addr);
		bool changed = false;
		for (; pte && addr < pt_end; addr += PAGE_SIZE, pte++) {
			pte_t old = READ_ONCE(*pte), new;
			while (pte_mapped(old) && (new = change_pte(vma, old)) != old) {
				/* cmpxchg: keep a dirty bit the hardware sets meanwhile */
				if (ptep_cmpxchg(pte, &old, new)) {
					changed = true;
					break;
				}
			}
		}
		if (changed) /* R6: flushed before the lock is dropped */
			flush_tlb_mm_range(mm, chunk, pt_end, false);
		spin_unlock(&mm->page_table_lock);
		addr = pt_end;
	}
}
