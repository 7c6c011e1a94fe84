/*
 * mm/mmu_gather.c - unhook, flush, then free (rules R1, R2, R6, R9).
 *
 * Unmapping (munmap, MADV_DONTNEED, mm teardown) clears PTEs into a
 * struct mmu_gather instead of freeing as it goes:
 *   - the virtual range whose translations were removed is accumulated, so
 *     one flush (one round of IPIs) covers many pages (R9);
 *   - the page references the PTEs held are queued as struct encoded_page
 *     pointers in batches and dropped only after that flush (R1): until
 *     then another CPU may still write through a stale TLB entry, and the
 *     page must not be reused;
 *   - page-table pages unhooked from their parent are queued too and freed
 *     only after a flush with freed_tables set, whose IPI goes to every CPU
 *     that holds the mm, lazy ones included, and which each CPU must
 *     acknowledge. A CPU walking the tables with interrupts off (GUP-fast,
 *     mm/gup.c) cannot acknowledge, so the free waits for its walk (R5, R8).
 *
 * Encoded pages: the low ENCODED_PAGE_BITS of a gathered pointer carry
 * flags; ENCODED_PAGE_BIT_DELAY_RMAP marks a dirty shared file page whose
 * rmap removal must wait until after the flush (R2, Nadav Amit's race, seed
 * 004). tlb_flush_rmaps() removes those rmaps once the flush is done. Only
 * the gather's built-in bundle and the active batch may hold such entries
 * (as in Linux): __tlb_remove_page reports "full" rather than start a further
 * batch while any are pending, which forces the caller to flush first, so
 * tlb_flush_rmaps has at most two batches to scan.
 *
 * Batches: a small bundle inside the gather itself, then whole pages
 * allocated on demand, up to MAX_GATHER_BATCH_COUNT; if an allocation fails
 * the caller is told the batch is full and flushes early: slower, never
 * wrong.
 *
 * Locks: the gather belongs to one thread. Callers may hold a page-table
 * lock while gathering; tlb_flush_mmu_tlbonly() may be called under it (it
 * sends IPIs with interrupts enabled and waits), tlb_flush_mmu() frees pages
 * and may be called under it as well (the allocator's locks come after it).
 */
#include "mm/mmu_gather.h"
#include "mm/mm.h"
#include "mm/rmap.h"
#include "kernel/pause.h"
#include "kernel/panic.h"
#include "kernel/stats.h"

/* The flag bits must fit below struct page's alignment. */
BUILD_BUG_ON(__alignof__(struct page) <= ENCODED_PAGE_BITS);
BUILD_BUG_ON(sizeof(struct page) % (ENCODED_PAGE_BITS + 1));

#define MAX_GATHER_BATCH \
	((PAGE_SIZE - sizeof(struct mmu_gather_batch)) / sizeof(struct encoded_page *))

static void __tlb_gather_mmu(struct mmu_gather *tlb, struct mm *mm, bool fullmm)
{
	tlb->mm = mm;
	tlb->fullmm = fullmm;
	tlb->start = ~0ull;
	tlb->end = 0;
	tlb->freed_tables = false;
	tlb->delayed_rmap = false;
	tlb->batch_count = 0;
	tlb->local.next = NULL;
	tlb->local.nr = 0;
	tlb->local.max = MMU_GATHER_BUNDLE;
	tlb->active = &tlb->local;
	tlb->tables = NULL;
	tlb->nr_tables = 0;
}

void tlb_gather_mmu(struct mmu_gather *tlb, struct mm *mm)
{
	__tlb_gather_mmu(tlb, mm, false);
}
void tlb_gather_mmu_fullmm(struct mmu_gather *tlb, struct mm *mm)
{
	__tlb_gather_mmu(tlb, mm, true);
}

/* Move to the next batch, allocating one if needed; false if we cannot. */
static bool tlb_next_batch(struct mmu_gather *tlb)
{
#ifndef MUTATION_DELAY_RMAP_ANY_BATCH
	if (tlb->delayed_rmap && tlb->active != &tlb->local)
		return false; /* flagged entries: only in the bundle and the active batch */
#endif
	struct mmu_gather_batch *b = tlb->active;
	if (b->next) {
		tlb->active = b->next;
		return true;
	}
	if (tlb->batch_count == MAX_GATHER_BATCH_COUNT)
		return false;
	struct page *p = alloc_page(0);
	if (!p)
		return false; /* fallback: the caller flushes now */
	struct mmu_gather_batch *nb = page_address(p);
	nb->next = NULL;
	nb->nr = 0;
	nb->max = MAX_GATHER_BATCH;
	b->next = nb;
	tlb->active = nb;
	tlb->batch_count++;
	return true;
}

bool __tlb_remove_page(struct mmu_gather *tlb, struct page *page, unsigned long flags)
{
	struct mmu_gather_batch *b = tlb->active;
	BUG_ON(b->nr >= b->max);
	b->encoded_pages[b->nr++] = encode_page(page, flags);
	if (flags & ENCODED_PAGE_BIT_DELAY_RMAP)
		tlb->delayed_rmap = true;
	if (b->nr == b->max && !tlb_next_batch(tlb))
		return true;
	return false;
}

void tlb_remove_table(struct mmu_gather *tlb, struct page *table)
{
	table->lru.next = (struct list_head *)tlb->tables;
	tlb->tables = table;
	tlb->nr_tables++;
	tlb->freed_tables = true;
}

void tlb_flush_mmu_tlbonly(struct mmu_gather *tlb)
{
	if (tlb->start >= tlb->end && !tlb->freed_tables)
		return;
	uint64_t start = tlb->start < tlb->end ? tlb->start : 0;
	uint64_t end = tlb->start < tlb->end ? tlb->end : 0;
	flush_tlb_mm_range(tlb->mm, start, end, tlb->freed_tables);
	tlb->start = ~0ull;
	tlb->end = 0;
}

/* After the flush: remove the rmaps whose removal was delayed (R2). The
 * file-page rmap arrives with the page cache; until then no entry carries
 * the flag and this only checks the invariant. */
static void tlb_flush_rmap_batch(struct mmu_gather_batch *b)
{
	for (unsigned i = 0; i < b->nr; i++) {
		if (encoded_page_flags(b->encoded_pages[i]) & ENCODED_PAGE_BIT_DELAY_RMAP) {
			struct page *page = encoded_page_ptr(b->encoded_pages[i]);
			page_remove_rmap(page); /* now safe: the TLB is flushed */
			b->encoded_pages[i] = encode_page(page, 0);
		}
	}
}

uint64_t tlb_rmap_scan_max;

static void note_rmap_scan(uint64_t scanned)
{
	uint64_t max = READ_ONCE(tlb_rmap_scan_max);
	while (scanned > max &&
	       !__atomic_compare_exchange_n(&tlb_rmap_scan_max, &max, scanned, false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/* Called after the TLB flush, with the page-table lock still held: scans
 * only the bundle and the active batch (the rule that bounds this work). */
void tlb_flush_rmaps(struct mmu_gather *tlb, struct vm_area_struct *vma)
{
	if (!tlb->delayed_rmap)
		return;
#ifdef MUTATION_DELAY_RMAP_ANY_BATCH
	/* Flagged entries allowed in every batch: correct only by scanning all
	 * of them, an unbounded scan under the lock (Linux 5df397dec7c4). */
	uint64_t scanned = 0;
	for (struct mmu_gather_batch *b = &tlb->local; b; b = b->next) {
		tlb_flush_rmap_batch(b);
		scanned += b->nr;
	}
	note_rmap_scan(scanned);
#else
	tlb_flush_rmap_batch(&tlb->local);
	uint64_t scanned = tlb->local.nr;
	if (tlb->active != &tlb->local) {
		tlb_flush_rmap_batch(tlb->active);
		scanned += tlb->active->nr;
	}
	note_rmap_scan(scanned);
#endif
	tlb->delayed_rmap = false;
}

static void tlb_batch_pages_flush(struct mmu_gather *tlb)
{
	for (struct mmu_gather_batch *b = &tlb->local; b && b->nr; b = b->next) {
		for (unsigned i = 0; i < b->nr; i++) {
			BUG_ON(encoded_page_flags(b->encoded_pages[i]) &
			       ENCODED_PAGE_BIT_DELAY_RMAP);
			put_page(encoded_page_ptr(b->encoded_pages[i]));
		}
		b->nr = 0;
	}
	tlb->active = &tlb->local;
}

static void tlb_table_flush(struct mmu_gather *tlb)
{
	pause_point(PAUSE_TLB_FREE_TABLES, tlb->mm);
	while (tlb->tables) {
		struct page *t = tlb->tables;
		tlb->tables = (struct page *)t->lru.next;
		t->lru.next = NULL;
		count_event(EV_PT_PAGES_FREED);
		put_page(t);
	}
	tlb->nr_tables = 0;
	tlb->freed_tables = false;
}

void tlb_flush_mmu(struct mmu_gather *tlb)
{
#ifdef MUTATION_FREE_BEFORE_FLUSH
	/* The old bug: pages go back to the allocator while other CPUs may
	 * still write through stale TLB entries. */
	tlb_batch_pages_flush(tlb);
	tlb_flush_mmu_tlbonly(tlb);
	tlb_table_flush(tlb);
	return;
#endif
	tlb_flush_mmu_tlbonly(tlb);
	tlb_table_flush(tlb);
	tlb_batch_pages_flush(tlb);
}

void tlb_finish_mmu(struct mmu_gather *tlb)
{
	BUG_ON(tlb->delayed_rmap); /* tlb_flush_rmaps must have run */
	tlb_flush_mmu(tlb);
	struct mmu_gather_batch *b = tlb->local.next;
	while (b) {
		struct mmu_gather_batch *next = b->next;
		free_page(b);
		b = next;
	}
	tlb->local.next = NULL;
}
