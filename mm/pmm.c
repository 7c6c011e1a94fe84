/*
 * mm/pmm.c - physical page allocator: a buddy allocator over the UEFI
 * memory map, with per-CPU caches of single pages, poisoning of free pages
 * and double-free detection.
 *
 * Layout: mem_map[] (one struct page per frame up to max_pfn) is carved from
 * the first usable region big enough for it. Every page starts reserved;
 * usable RAM at or above 1 MiB is then freed into the buddy lists of its
 * zone (page.h: ZONE_DMA32 below 4 GiB, ZONE_NORMAL above). Boot services
 * memory counts as usable (boot services are gone). Allocations try
 * ZONE_NORMAL first, then ZONE_DMA32, so RAM above 4 GiB is what the kernel
 * uses first when the machine has it.
 *
 * Rules:
 *  - A free page has _refcount 0 and an allocated block's head page has 1, so
 *    put_page() on a free page is an underflow: a loud BUG, never a silent
 *    double free.
 *  - Freed pages are filled with PAGE_POISON and checked when handed out
 *    again; a mismatch means something wrote through a stale pointer or a
 *    stale TLB entry after the free. It is reported (pfn, offset, value) and
 *    counted in EV_POISON_BAD; the test suite checks the counter stays 0.
 *  - Pages that held firmware or loader code (EfiBootServicesCode,
 *    EfiLoaderCode) are poisoned as they enter the allocator too. Under an
 *    emulator with a translation cache (QEMU's TCG) a physical page from
 *    which code was translated stays marked as code, and every write to it
 *    takes a slow path that invalidates the translations it overlaps, until
 *    none is left. A kernel stack on such a page, written only near its top,
 *    never clears it: each system call of its task took ~30 us instead of
 *    ~0.3 us (getpid 75k cycles instead of 850, fork 30x slower), depending
 *    only on which pages a boot happened to hand out. Writing the whole page
 *    once at boot drops every stale translation. Other free pages never held
 *    code: user code lives in page-cache pages, poisoned when freed.
 *  - Order-0 pages go through a per-CPU LIFO cache (pcp) of up to PCP_HIGH
 *    pages, refilled and drained PCP_BATCH at a time: most allocations take
 *    no lock, and a page freed and re-allocated on one CPU comes back at once.
 *
 * Locks: zone_lock (irqsave) guards the buddy free lists of every zone, the
 * zones' counters and PG_buddy; the
 * pcp lists are per CPU, touched with interrupts off on their own CPU (and by
 * pmm_drain_cpu_cache on the owner). Innermost: nothing is taken under it.
 */
#include "mm/page.h"
#include "kernel/percpu.h"
#include "kernel/printk.h"
#include "kernel/panic.h"
#include "kernel/string.h"
#include "kernel/stats.h"
#include "boot/boot_info.h"
#include "kernel/cmdline.h"

#define PCP_HIGH  64
#define PCP_BATCH 16

struct page *mem_map;
uint64_t max_pfn;

struct free_area {
	struct list_head list;
	uint64_t nr;
};

/* Fields under zone_lock (single-threaded during pmm_init). */
struct zone {
	const char *name;
	uint64_t lowest, highest; /* managed pfns span [lowest, highest]; managed == 0: none */
	uint64_t managed;	  /* pages given to the allocator */
	uint64_t nr_free;	  /* pages in its buddy lists */
	struct free_area free_area[MAX_ORDER + 1];
};

/* A buddy block is aligned to its size, so none straddles a zone border. */
_Static_assert(ZONE_DMA32_END_PFN % (1ull << MAX_ORDER) == 0, "zone border not block-aligned");

static DEFINE_SPINLOCK(zone_lock);
static struct zone zones[NR_ZONES] = {
	[ZONE_DMA32] = { .name = "DMA32" },
	[ZONE_NORMAL] = { .name = "Normal" },
};
static atomic64_t nr_free;
static uint64_t nr_managed;  /* pages ever given to the allocator */
static uint64_t nr_scrubbed; /* of them, poisoned at boot: they held code */

struct pcp {
	struct list_head list;
	int count;
};
static struct pcp pcps[NR_CPUS];

/* ---- poisoning ---------------------------------------------------------- */

static void poison_page(struct page *p)
{
	uint64_t *w = page_address(p);
	for (size_t i = 0; i < PAGE_SIZE / 8; i++)
		w[i] = PAGE_POISON;
	p->flags |= PG_poisoned;
}

bool page_poison_ok(struct page *p)
{
	if (!(p->flags & PG_poisoned))
		return true;
	const uint64_t *w = page_address(p);
	for (size_t i = 0; i < PAGE_SIZE / 8; i++) {
		if (w[i] != PAGE_POISON) {
			printk("%s use after free: page pfn %#lx written after it was freed: "
			       "offset %#lx holds %#lx (poison %#lx)\n",
			       bug_tag(), page_to_pfn(p), i * 8, w[i], PAGE_POISON);
			count_event(EV_POISON_BAD);
			return false;
		}
	}
	return true;
}

/* Check, then clear the poison state of a block about to be handed out. */
static void unpoison_block(struct page *p, unsigned order, unsigned gfp)
{
	for (unsigned i = 0; i < (1u << order); i++) {
		page_poison_ok(&p[i]);
		p[i].flags &= ~PG_poisoned;
	}
	if (gfp & __GFP_ZERO)
		memset(page_address(p), 0, PAGE_SIZE << order);
}

/* ---- buddy lists (zone_lock held) ---------------------------------------- */

static void add_free(struct zone *z, struct page *p, unsigned order)
{
	p->flags |= PG_buddy;
	p->order = order;
	list_add(&p->lru, &z->free_area[order].list);
	z->free_area[order].nr++;
	z->nr_free += 1ull << order;
}

static void del_free(struct zone *z, struct page *p, unsigned order)
{
	list_del(&p->lru);
	p->flags &= ~PG_buddy;
	z->free_area[order].nr--;
	z->nr_free -= 1ull << order;
}

static void __buddy_free(struct page *p, unsigned order)
{
	uint64_t pfn = page_to_pfn(p);
	struct zone *z = &zones[pfn_zone(pfn)];
	while (order < MAX_ORDER) {
		uint64_t bpfn = pfn ^ (1ull << order);
		if (bpfn >= max_pfn)
			break;
		struct page *b = pfn_to_page(bpfn);
		if (!(b->flags & PG_buddy) || b->order != order)
			break;
		del_free(z, b, order);
		pfn &= ~(1ull << order);
		order++;
	}
	add_free(z, pfn_to_page(pfn), order);
}

static struct page *__buddy_alloc(struct zone *z, unsigned order)
{
	for (unsigned o = order; o <= MAX_ORDER; o++) {
		if (list_empty(&z->free_area[o].list))
			continue;
		struct page *p = list_first_entry(&z->free_area[o].list, struct page, lru);
		del_free(z, p, o);
		while (o > order) { /* split: give back the upper halves */
			o--;
			add_free(z, p + (1u << o), o);
		}
		return p;
	}
	return NULL;
}

/* From the highest zone up to `highest` that has a block, then lower ones. */
static struct page *__buddy_alloc_fallback(unsigned order, enum zone_type highest)
{
	for (int z = highest; z >= 0; z--) {
		struct page *p = __buddy_alloc(&zones[z], order);
		if (p)
			return p;
	}
	return NULL;
}

/* ---- per-CPU single-page cache (IRQs off) ------------------------------- */

static void pcp_drain(struct pcp *pcp, int n)
{
	unsigned long f = spin_lock_irqsave(&zone_lock);
	while (n-- > 0 && !list_empty(&pcp->list)) {
		struct page *p = list_entry(pcp->list.prev, struct page, lru); /* coldest */
		list_del(&p->lru);
		p->flags &= ~PG_pcp;
		pcp->count--;
		__buddy_free(p, 0);
	}
	spin_unlock_irqrestore(&zone_lock, f);
}

static void pcp_refill(struct pcp *pcp)
{
	unsigned long f = spin_lock_irqsave(&zone_lock);
	for (int i = 0; i < PCP_BATCH; i++) {
		struct page *p = __buddy_alloc_fallback(0, ZONE_NORMAL);
		if (!p)
			break;
		p->flags |= PG_pcp;
		list_add_tail(&p->lru, &pcp->list);
		pcp->count++;
	}
	spin_unlock_irqrestore(&zone_lock, f);
}

static struct page *pcp_alloc(void)
{
	unsigned long f = local_irq_save();
	struct pcp *pcp = &pcps[cpu_id()];
	if (list_empty(&pcp->list))
		pcp_refill(pcp);
	struct page *p = NULL;
	if (!list_empty(&pcp->list)) {
		p = list_first_entry(&pcp->list, struct page, lru);
		list_del(&p->lru);
		p->flags &= ~PG_pcp;
		pcp->count--;
	}
	local_irq_restore(f);
	return p;
}

static void pcp_free(struct page *p)
{
	unsigned long f = local_irq_save();
	struct pcp *pcp = &pcps[cpu_id()];
	p->flags |= PG_pcp;
	list_add(&p->lru, &pcp->list);
	if (++pcp->count > PCP_HIGH)
		pcp_drain(pcp, PCP_BATCH);
	local_irq_restore(f);
}

void pmm_drain_cpu_cache(void)
{
	unsigned long f = local_irq_save();
	struct pcp *pcp = &pcps[cpu_id()];
	pcp_drain(pcp, pcp->count);
	local_irq_restore(f);
}

/* ---- public API ----------------------------------------------------------- */

/* The block p of 2^order pages, just taken off a free list, becomes allocated. */
static struct page *prep_new_page(struct page *p, unsigned gfp, unsigned order)
{
	atomic64_add(-(int64_t)(1u << order), &nr_free);
	count_events(EV_PAGE_ALLOC, 1u << order);
	unpoison_block(p, order, gfp);
	p->order = order;
	p->mapping = NULL;
	p->index = 0;
	atomic_set(&p->_mapcount, -1);
	atomic_set(&p->_refcount, 1);
	return p;
}

struct page *alloc_pages(unsigned gfp, unsigned order)
{
	struct page *p;
	if (order > MAX_ORDER)
		return NULL;
	if (order == 0 && !(gfp & __GFP_DMA32)) {
		p = pcp_alloc();
	} else {
		unsigned long f = spin_lock_irqsave(&zone_lock);
		p = __buddy_alloc_fallback(order, gfp & __GFP_DMA32 ? ZONE_DMA32 : ZONE_NORMAL);
		spin_unlock_irqrestore(&zone_lock, f);
	}
	if (!p) {
		/* Other CPUs may cache pages: a rare slow path, not worth an IPI. */
		return NULL;
	}
	return prep_new_page(p, gfp, order);
}

struct page *alloc_pages_zone(unsigned gfp, unsigned order, enum zone_type z)
{
	if (order > MAX_ORDER || (unsigned)z >= NR_ZONES)
		return NULL;
	unsigned long f = spin_lock_irqsave(&zone_lock);
	struct page *p = __buddy_alloc(&zones[z], order);
	spin_unlock_irqrestore(&zone_lock, f);
	return p ? prep_new_page(p, gfp, order) : NULL;
}

/* The last reference is gone: poison and return the block. */
static void free_the_page(struct page *p)
{
	unsigned order = p->order;
	if (p->flags & (PG_reserved | PG_buddy | PG_pcp | PG_locked))
		panic("freeing page pfn %#lx with bad flags %#x", page_to_pfn(p), p->flags);
	p->flags &= ~(PG_slab | PG_dirty | PG_anon | PG_anon_exclusive | PG_pagetable);
	p->mapping = NULL;
	for (unsigned i = 0; i < (1u << order); i++)
		poison_page(&p[i]);
	count_events(EV_PAGE_FREE, 1u << order);
	atomic64_add(1u << order, &nr_free);
	if (order == 0) {
		pcp_free(p);
	} else {
		unsigned long f = spin_lock_irqsave(&zone_lock);
		__buddy_free(p, order);
		spin_unlock_irqrestore(&zone_lock, f);
	}
}

void put_page(struct page *p)
{
	int v = atomic_dec_return(&p->_refcount);
	if (likely(v > 0))
		return;
	if (likely(v == 0)) {
		free_the_page(p);
		return;
	}
	atomic_inc(&p->_refcount); /* leave the state as it was for the report */
	printk("%s put_page on a free page (double free or refcount underflow): "
	       "pfn %#lx flags %#x\n",
	       bug_tag(), page_to_pfn(p), p->flags);
	BUG();
}

void __free_pages(struct page *p, unsigned order)
{
	if (unlikely(page_count(p) > 0 && p->order != order)) {
		printk("%s freeing pfn %#lx with order %u, allocated with order %u\n", bug_tag(),
		       page_to_pfn(p), order, p->order);
		BUG();
	}
	put_page(p);
}

void *get_free_pages(unsigned gfp, unsigned order)
{
	struct page *p = alloc_pages(gfp, order);
	return p ? page_address(p) : NULL;
}

void free_pages(void *addr, unsigned order)
{
	if (addr)
		__free_pages(virt_to_page(addr), order);
}

uint64_t nr_free_pages(void)
{
	return (uint64_t)atomic64_read(&nr_free);
}
uint64_t nr_total_pages(void)
{
	return nr_managed;
}

/* ---- initialisation ----------------------------------------------------- */

static bool is_ram(uint32_t type)
{
	return type == BOOT_MEM_USABLE || type == BOOT_MEM_KERNEL || type == BOOT_MEM_BOOTDATA ||
	       type == BOOT_MEM_BOOT_PT || type == BOOT_MEM_TRAMPOLINE ||
	       type == BOOT_MEM_ACPI_RECLAIM || type == BOOT_MEM_ACPI_NVS;
}

/* Give [start, end) pfns to the buddy lists in the largest aligned blocks;
 * poisoned first if they held code (see the rules at the top). */
static void free_range(uint64_t start, uint64_t end, bool held_code)
{
	while (start < end) {
		unsigned order = MAX_ORDER;
		while (order && ((start & ((1ull << order) - 1)) || start + (1ull << order) > end))
			order--;
		struct page *p = pfn_to_page(start);
		for (uint64_t i = 0; i < (1ull << order); i++) {
			p[i].flags &= ~PG_reserved;
			if (held_code)
				poison_page(&p[i]);
		}
		if (held_code)
			nr_scrubbed += 1ull << order;
		struct zone *z = &zones[pfn_zone(start)];
		if (!z->managed || start < z->lowest)
			z->lowest = start;
		if (!z->managed || start + (1ull << order) - 1 > z->highest)
			z->highest = start + (1ull << order) - 1;
		z->managed += 1ull << order;
		__buddy_free(p, order);
		nr_managed += 1ull << order;
		atomic64_add(1ll << order, &nr_free);
		start += 1ull << order;
	}
}

bool pmm_region_held_code(const struct boot_mem_region *r)
{
	return r->efi_type == BOOT_EFI_TYPE_LOADER_CODE ||
	       r->efi_type == BOOT_EFI_TYPE_BOOT_SERVICES_CODE;
}

/* pmm.scrub_boot_code=0 leaves them as they are (to measure the effect). */
static bool scrub_boot_code(const struct boot_mem_region *r)
{
#ifdef MUTATION_NO_SCRUB_BOOT_CODE
	return false;
#endif
	const char *v = cmdline_get("pmm.scrub_boot_code");
	return pmm_region_held_code(r) && !(v && !strcmp(v, "0"));
}

/* Free region R's pages but [hole_s, hole_e). */
static void free_region_except(const struct boot_mem_region *r, uint64_t hole_s, uint64_t hole_e)
{
	uint64_t s = r->base / PAGE_SIZE, e = s + r->pages;
	bool code = scrub_boot_code(r);
	if (s < 256)
		s = 256; /* keep the first MiB: legacy and firmware data live there */
	if (hole_s < e && hole_e > s) {
		if (s < hole_s)
			free_range(s, hole_s, code);
		if (hole_e < e)
			free_range(hole_e, e, code);
	} else if (s < e) {
		free_range(s, e, code);
	}
}

void pmm_init(const struct boot_info *bi)
{
	const struct boot_mem_region *r = phys_to_virt(bi->mem_regions);
	uint64_t n = bi->mem_region_count;

	for (uint64_t i = 0; i < n; i++)
		if (is_ram(r[i].type) && r[i].base / PAGE_SIZE + r[i].pages > max_pfn)
			max_pfn = r[i].base / PAGE_SIZE + r[i].pages;

	uint64_t map_pages = DIV_ROUND_UP(max_pfn * sizeof(struct page), PAGE_SIZE);
	uint64_t map_pfn = 0;
	for (uint64_t i = 0; i < n && !map_pfn; i++) {
		if (r[i].type == BOOT_MEM_USABLE && r[i].base >= 0x100000 &&
		    r[i].pages >= map_pages)
			map_pfn = r[i].base / PAGE_SIZE;
	}
	if (!map_pfn)
		panic("pmm: no usable region holds mem_map (%lu pages)", map_pages);
	mem_map = phys_to_virt(map_pfn * PAGE_SIZE);
	memset(mem_map, 0, map_pages * PAGE_SIZE);
	for (uint64_t pfn = 0; pfn < max_pfn; pfn++) {
		mem_map[pfn].flags = PG_reserved;
		atomic_set(&mem_map[pfn]._mapcount, -1);
	}
	for (int z = 0; z < NR_ZONES; z++)
		for (int o = 0; o <= MAX_ORDER; o++)
			INIT_LIST_HEAD(&zones[z].free_area[o].list);
	for (int c = 0; c < NR_CPUS; c++)
		INIT_LIST_HEAD(&pcps[c].list);

	for (uint64_t i = 0; i < n; i++) {
		if (r[i].type == BOOT_MEM_USABLE)
			free_region_except(&r[i], map_pfn, map_pfn + map_pages);
	}
	printk("pmm: %lu MiB managed, max_pfn %#lx, mem_map %lu KiB at %#lx\n", nr_managed >> 8,
	       max_pfn, map_pages * 4, map_pfn * PAGE_SIZE);
	for (int z = 0; z < NR_ZONES; z++)
		if (zones[z].managed)
			printk("pmm: zone %-6s %#014lx-%#014lx %lu MiB\n", zones[z].name,
			       zones[z].lowest * PAGE_SIZE, (zones[z].highest + 1) * PAGE_SIZE,
			       zones[z].managed >> 8);
	if (nr_scrubbed)
		printk("pmm: %lu KiB that held firmware or loader code poisoned (stale "
		       "translations of an emulator dropped)\n",
		       nr_scrubbed * 4);
}

void pmm_zone_stat(enum zone_type z, struct zone_stat *out)
{
	memset(out, 0, sizeof(*out));
	if ((unsigned)z >= NR_ZONES)
		return;
	unsigned long f = spin_lock_irqsave(&zone_lock);
	const struct zone *zn = &zones[z];
	out->name = zn->name;
	out->managed = zn->managed;
	out->free = zn->nr_free;
	if (zn->managed) {
		out->start_pfn = zn->lowest;
		out->end_pfn = zn->highest + 1;
	}
	spin_unlock_irqrestore(&zone_lock, f);
}

/* Give every region of `type` to the allocator (e.g. the loader's page
 * tables, dead once the kernel runs on its own). */
void pmm_free_boot_regions(const struct boot_info *bi, uint32_t type)
{
	const struct boot_mem_region *r = phys_to_virt(bi->mem_regions);
	uint64_t before = nr_managed;
	unsigned long f = spin_lock_irqsave(&zone_lock);
	for (uint64_t i = 0; i < bi->mem_region_count; i++)
		if (r[i].type == type)
			free_region_except(&r[i], 0, 0);
	spin_unlock_irqrestore(&zone_lock, f);
	printk("pmm: released %lu KiB of boot memory (type %u)\n", (nr_managed - before) * 4, type);
}

/* Pages of [start, end) in the buddy lists, and how many of them are not
 * poisoned (for tests: the lists are stable under zone_lock, the per-CPU
 * caches are not). */
uint64_t pmm_buddy_pages_in(uint64_t start, uint64_t end, uint64_t *unpoisoned)
{
	uint64_t n = 0;
	*unpoisoned = 0;
	unsigned long f = spin_lock_irqsave(&zone_lock);
	for (int z = 0; z < NR_ZONES; z++)
		for (unsigned o = 0; o <= MAX_ORDER; o++) {
			struct page *p;
			list_for_each_entry (p, &zones[z].free_area[o].list, lru)
				for (uint64_t i = 0; i < (1ull << o); i++) {
					uint64_t pfn = page_to_pfn(p) + i;
					if (pfn < start || pfn >= end)
						continue;
					n++;
					if (!(p[i].flags & PG_poisoned))
						(*unpoisoned)++;
				}
		}
	spin_unlock_irqrestore(&zone_lock, f);
	return n;
}

void pmm_dump(void)
{
	printk("memory: %lu of %lu pages free (%lu MiB of %lu MiB)\n", nr_free_pages(), nr_managed,
	       nr_free_pages() >> 8, nr_managed >> 8);
	for (int z = 0; z < NR_ZONES; z++) {
		struct zone_stat st;
		uint64_t nr[MAX_ORDER + 1];
		pmm_zone_stat(z, &st);
		if (!st.managed)
			continue;
		unsigned long f = spin_lock_irqsave(&zone_lock);
		for (int o = 0; o <= MAX_ORDER; o++)
			nr[o] = zones[z].free_area[o].nr;
		spin_unlock_irqrestore(&zone_lock, f);
		printk(
		    "  zone %-6s %#014lx-%#014lx: %lu of %lu pages free in buddy blocks by order:",
		    st.name, st.start_pfn * PAGE_SIZE, st.end_pfn * PAGE_SIZE, st.free, st.managed);
		for (int o = 0; o <= MAX_ORDER; o++)
			printk(" %lu", nr[o]);
		printk("\n");
	}
	printk("  per-CPU cached:");
	for_each_online_cpu (i)
		printk(" %d", pcps[i].count);
	printk("\n");
}
