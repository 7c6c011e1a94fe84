/*
 * mm/mmu_gather.h - batching of TLB flushes and page frees for unmapping
 * (rules R1, R2, R6, R9); see mm/mmu_gather.c.
 */
#ifndef MM_MMU_GATHER_H
#define MM_MMU_GATHER_H

#include "kernel/compiler.h"
#include "mm/page.h"

struct mm;
struct vm_area_struct;

/*
 * A gathered page pointer with flags in its low bits. struct encoded_page is
 * never defined: the pointer cannot be dereferenced by mistake, only decoded.
 */
struct encoded_page;
#define ENCODED_PAGE_BITS	    3ul
#define ENCODED_PAGE_BIT_DELAY_RMAP 1ul /* rmap removal waits for the flush (R2) */

static inline struct encoded_page *encode_page(struct page *page, unsigned long flags)
{
	return (struct encoded_page *)((unsigned long)page | (flags & ENCODED_PAGE_BITS));
}
static inline unsigned long encoded_page_flags(const struct encoded_page *p)
{
	return (unsigned long)p & ENCODED_PAGE_BITS;
}
static inline struct page *encoded_page_ptr(const struct encoded_page *p)
{
	return (struct page *)((unsigned long)p & ~ENCODED_PAGE_BITS);
}

struct mmu_gather_batch {
	struct mmu_gather_batch *next;
	unsigned int nr, max;
	struct encoded_page *encoded_pages[];
};

#define MMU_GATHER_BUNDLE      8
#define MAX_GATHER_BATCH_COUNT 64 /* pages of batches before a forced flush */

struct mmu_gather {
	struct mm *mm;
	uint64_t start, end; /* range to flush; start >= end: nothing */
	bool fullmm;	     /* tearing the whole mm down */
	bool freed_tables;   /* page tables were unhooked: flush lazy CPUs too */
	bool delayed_rmap;   /* the bundle or the active batch holds DELAY_RMAP entries */
	unsigned int batch_count;
	struct mmu_gather_batch *active;
	struct mmu_gather_batch local;
	struct encoded_page *__encoded_pages[MMU_GATHER_BUNDLE];
	struct page *tables; /* unhooked page-table pages, linked through lru.next */
	unsigned int nr_tables;
};

/* The most gathered entries one tlb_flush_rmaps() call has scanned (under a
 * page-table lock): never more than the bundle and one full batch while
 * flagged entries stay in those two (tests reset and read it). */
extern uint64_t tlb_rmap_scan_max;
#define TLB_RMAP_SCAN_BOUND  \
	(MMU_GATHER_BUNDLE + \
	 (PAGE_SIZE - sizeof(struct mmu_gather_batch)) / sizeof(struct encoded_page *))

void tlb_gather_mmu(struct mmu_gather *tlb, struct mm *mm);
void tlb_gather_mmu_fullmm(struct mmu_gather *tlb, struct mm *mm);
void tlb_finish_mmu(struct mmu_gather *tlb);

/* Record that the translation of addr was removed. */
static inline void tlb_flush_pte_range(struct mmu_gather *tlb, uint64_t addr, uint64_t size)
{
	if (addr < tlb->start)
		tlb->start = addr;
	if (addr + size > tlb->end)
		tlb->end = addr + size;
}

/* Queue a reference to drop after the flush. Returns true when the batch is
 * full: the caller must tlb_flush_mmu() before gathering more. */
bool __tlb_remove_page(struct mmu_gather *tlb, struct page *page, unsigned long flags);
/* Queue an unhooked page-table page; freed only after an IPI round. */
void tlb_remove_table(struct mmu_gather *tlb, struct page *table);

void tlb_flush_mmu_tlbonly(struct mmu_gather *tlb); /* flush, free nothing */
void tlb_flush_rmaps(struct mmu_gather *tlb, struct vm_area_struct *vma);
void tlb_flush_mmu(struct mmu_gather *tlb); /* flush, then free what was gathered */

#endif
