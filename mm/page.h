/*
 * mm/page.h - struct page and the physical page allocator.
 *
 * Every physical page frame below max_pfn has a struct page in mem_map[].
 * The reference count (_refcount) says how many users hold the page: an
 * allocation returns a page with count 1, get_page/put_page move it, and the
 * page goes back to the allocator when it reaches zero. Free pages have
 * count 0, so a put on a free page (double free) is caught as an underflow.
 * A FOLL_PIN pin adds GUP_PIN_COUNTING_BIAS (mm/gup.c, later issue).
 * _mapcount counts page-table mappings, for rmap only: it never decides COW
 * (DESIGN.md R3).
 */
#ifndef MM_PAGE_H
#define MM_PAGE_H

#include "kernel/compiler.h"
#include "kernel/atomic.h"
#include "kernel/list.h"
#include "arch/arch.h"

enum page_flags {
	PG_reserved = 1u << 0, /* never handed out (firmware, kernel image, mem_map) */
	PG_buddy = 1u << 1,    /* head of a free block in the buddy lists */
	PG_pcp = 1u << 2,      /* free, on a per-CPU list */
	PG_poisoned = 1u << 3, /* contents are PAGE_POISON since the free */
	PG_slab = 1u << 4,     /* holds kmalloc objects (mapping = size class) */
	PG_dirty = 1u << 5,
	PG_anon = 1u << 6,
	PG_pagetable = 1u << 7,
	PG_anon_exclusive = 1u << 8, /* mapped by one process alone (mm/rmap.h, R4) */
	PG_locked = 1u << 9,	     /* the page lock (mm/filemap.c: lock_page) */
	PG_waiters = 1u << 10,	     /* someone sleeps for the page lock */
};

struct page {
	uint32_t flags; /* PG_*: buddy/pcp bits under the zone lock or IRQs off */
	uint8_t order;	/* free block order (PG_buddy) or allocation order */
	uint8_t pad[3];
	atomic_t _refcount;
	atomic_t _mapcount;   /* page-table mappings; -1 when unmapped (Linux style) */
	struct list_head lru; /* free lists; later LRU / batches */
	void *mapping;	      /* page cache owner, or slab size class */
	uint64_t index;	      /* page-cache index, or slab: objects in use */
};

static inline bool PageLocked(const struct page *page)
{
	return READ_ONCE(page->flags) & PG_locked;
}

extern struct page *mem_map;
extern uint64_t max_pfn;

#define PAGE_POISON 0x6b6b6b6b6b6b6b6bul

static inline uint64_t page_to_pfn(const struct page *p)
{
	return (uint64_t)(p - mem_map);
}
static inline struct page *pfn_to_page(uint64_t pfn)
{
	return &mem_map[pfn];
}
static inline uint64_t page_to_phys(const struct page *p)
{
	return page_to_pfn(p) << PAGE_SHIFT;
}
static inline void *page_address(const struct page *p)
{
	return phys_to_virt(page_to_phys(p));
}
static inline struct page *virt_to_page(const void *va)
{
	return pfn_to_page(virt_to_phys(va) >> PAGE_SHIFT);
}
static inline struct page *phys_to_page(uint64_t pa)
{
	return pfn_to_page(pa >> PAGE_SHIFT);
}

static inline int page_count(const struct page *p)
{
	return atomic_read(&p->_refcount);
}
static inline int page_mapcount(const struct page *p)
{
	return atomic_read(&p->_mapcount) + 1;
}
static inline void get_page(struct page *p)
{
	atomic_inc(&p->_refcount);
}
/* Take a reference only if the page is live (count != 0): GUP-fast's rule. */
static inline bool try_get_page(struct page *p)
{
	return atomic_add_unless(&p->_refcount, 1, 0);
}
void put_page(struct page *p);

/*
 * FOLL_PIN pins (mm/gup.c) add GUP_PIN_COUNTING_BIAS to the refcount, so a
 * page with that many references may be pinned for DMA: fork copies it for
 * the child at once instead of sharing it (R4). False positives (1024
 * ordinary references) only cost a copy.
 */
#define GUP_PIN_COUNTING_BIAS 1024
static inline bool page_maybe_dma_pinned(const struct page *p)
{
	return page_count(p) >= GUP_PIN_COUNTING_BIAS;
}

/* gfp flags */
#define GFP_KERNEL  0u
#define __GFP_ZERO  1u
#define __GFP_DMA32 2u /* below 4 GiB (ZONE_DMA32): for 32-bit DMA or a 32-bit CR3 */

#define MAX_ORDER 10 /* largest block: 4 MiB */

/*
 * Zones: physical memory is split where some users' reach ends. ZONE_DMA32
 * is [0, 4 GiB), ZONE_NORMAL everything above. Each zone has its own buddy
 * lists (a block never straddles 4 GiB: it is aligned to its size, at most
 * 4 MiB). An allocation takes from the highest zone it may use and falls
 * back to lower ones, so memory below 4 GiB stays free for those who need
 * it (Linux's zonelist order); __GFP_DMA32 allocations use ZONE_DMA32 only.
 */
enum zone_type { ZONE_DMA32, ZONE_NORMAL, NR_ZONES };
#define ZONE_DMA32_END_PFN (1ull << (32 - PAGE_SHIFT)) /* 4 GiB */

static inline enum zone_type pfn_zone(uint64_t pfn)
{
	return pfn < ZONE_DMA32_END_PFN ? ZONE_DMA32 : ZONE_NORMAL;
}
static inline enum zone_type page_zone(const struct page *p)
{
	return pfn_zone(page_to_pfn(p));
}

struct zone_stat {
	const char *name;
	uint64_t start_pfn, end_pfn; /* span of its managed pages [start, end); 0, 0 if none */
	uint64_t managed;	     /* pages given to the allocator */
	uint64_t free;		     /* pages in its buddy lists (per-CPU caches not counted) */
};
void pmm_zone_stat(enum zone_type z, struct zone_stat *out);

struct page *alloc_pages(unsigned gfp, unsigned order);
/* A block from zone z only: no fallback to another zone, no per-CPU cache
 * (tests ask for memory above 4 GiB this way). NULL if z has none free. */
struct page *alloc_pages_zone(unsigned gfp, unsigned order, enum zone_type z);
static inline struct page *alloc_page(unsigned gfp)
{
	return alloc_pages(gfp, 0);
}
void __free_pages(struct page *p, unsigned order);
void *get_free_pages(unsigned gfp, unsigned order); /* direct-map address */
void free_pages(void *addr, unsigned order);
static inline void *get_free_page(unsigned gfp)
{
	return get_free_pages(gfp, 0);
}
static inline void free_page(void *addr)
{
	free_pages(addr, 0);
}

struct boot_info;
void pmm_init(const struct boot_info *bi);
void pmm_free_boot_regions(const struct boot_info *bi, uint32_t type);
struct boot_mem_region;
bool pmm_region_held_code(const struct boot_mem_region *r);
uint64_t pmm_buddy_pages_in(uint64_t start_pfn, uint64_t end_pfn, uint64_t *unpoisoned);
uint64_t nr_free_pages(void);
uint64_t nr_total_pages(void);
void pmm_drain_cpu_cache(void);	     /* return this CPU's cached pages to the buddy lists */
bool page_poison_ok(struct page *p); /* poison intact? (checks, reports, counts) */
void pmm_dump(void);

#endif
