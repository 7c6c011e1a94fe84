/*
 * tests/test_highmem.c - physical memory as the firmware reported it: every
 * usable page is managed by the allocator, in the zone of its address
 * (ZONE_DMA32 below 4 GiB, ZONE_NORMAL above); the direct map reaches all
 * RAM, with 1 GiB pages exactly where the CPU has them and a whole GiB is
 * memory (never over an MMIO hole); pages above 4 GiB are handed out, by
 * default first, and are really the memory at their address: what is
 * written through the direct map is read back through a second mapping of
 * the same physical address. Boot with MEM=5G (`make matrix` does) for the
 * cases above 4 GiB; with less RAM they SKIP.
 */
#include "tests/ktest.h"
#include "mm/page.h"
#include "mm/vmalloc.h"
#include "arch/x86_64/pgtable.h"
#include "boot/boot_info.h"
#include "kernel/string.h"

extern const struct boot_info *boot_info; /* kernel/main.c */
extern pte_t *kernel_pml4;		  /* arch/x86_64/paging.c */
extern uint64_t direct_map_pages[3];	  /* arch/x86_64/paging.c: 4K, 2M, 1G leaves */

#define GIB	      (1ull << 30)
#define EFI_MMIO      11
#define EFI_MMIO_PORT 12

static const struct boot_mem_region *regions(uint64_t *n)
{
	*n = boot_info->mem_region_count;
	return phys_to_virt(boot_info->mem_regions);
}

static uint64_t region_end(const struct boot_mem_region *r)
{
	return r->base + r->pages * PAGE_SIZE;
}

/* Usable pages (BOOT_MEM_USABLE) of the firmware map at or above pfn `from`. */
static uint64_t usable_pages_from(uint64_t from)
{
	uint64_t n, total = 0;
	const struct boot_mem_region *r = regions(&n);
	for (uint64_t i = 0; i < n; i++) {
		if (r[i].type != BOOT_MEM_USABLE)
			continue;
		uint64_t s = r[i].base / PAGE_SIZE, e = s + r[i].pages;
		if (e > from)
			total += e - (s > from ? s : from);
	}
	return total;
}

/* Leaf entry of the kernel tables for va and its level (PT/PD/PDPT_SHIFT);
 * 0 if unmapped. Walks the tables the CPU uses, not a software copy. */
static pte_t leaf(uint64_t va, int *shift)
{
	pte_t *t = kernel_pml4;
	for (int s = PML4_SHIFT;; s -= 9) {
		pte_t e = t[PT_INDEX(va, s)];
		if (!pte_present(e))
			return 0;
		if (s == PT_SHIFT || (s <= PDPT_SHIFT && pte_large(e))) {
			*shift = s;
			return e;
		}
		t = pte_table(e);
	}
}

static bool have_high_memory(void)
{
	return usable_pages_from(ZONE_DMA32_END_PFN) > 0;
}

/* Every usable page at or above 1 MiB is managed (not PG_reserved), except
 * mem_map itself; each zone's counters agree with the map. */
static void zones_cover_memory_map(struct ktest *t)
{
	uint64_t n;
	const struct boot_mem_region *r = regions(&n);
	uint64_t mm_s = virt_to_phys(mem_map) / PAGE_SIZE;
	uint64_t mm_e = mm_s + DIV_ROUND_UP(max_pfn * sizeof(struct page), PAGE_SIZE);
	uint64_t seen[NR_ZONES] = { 0 }, reserved = 0, first_bad = 0;

	for (uint64_t i = 0; i < n; i++) {
		if (r[i].type != BOOT_MEM_USABLE)
			continue;
		for (uint64_t pfn = r[i].base / PAGE_SIZE; pfn < region_end(&r[i]) / PAGE_SIZE;
		     pfn++) {
			if (pfn < 256 || (pfn >= mm_s && pfn < mm_e))
				continue;
			KASSERT_TRUE(t, pfn < max_pfn);
			if (pfn_to_page(pfn)->flags & PG_reserved) {
				if (!reserved++)
					first_bad = pfn;
				continue;
			}
			seen[pfn_zone(pfn)]++;
		}
	}
	if (reserved)
		ktest_log(t, "first usable page not managed: pfn %#lx", first_bad);
	KEXPECT_EQ(t, reserved, 0);

	uint64_t total = 0;
	for (int z = 0; z < NR_ZONES; z++) {
		struct zone_stat st;
		pmm_zone_stat(z, &st);
		ktest_log(t, "zone %s: %lu pages managed, %lu free, span %#lx-%#lx", st.name,
			  st.managed, st.free, st.start_pfn * PAGE_SIZE, st.end_pfn * PAGE_SIZE);
		KEXPECT_GE(t, st.managed, seen[z]); /* plus released boot page tables */
		KEXPECT_LE(t, st.free, st.managed);
		total += st.managed;
		if (!st.managed)
			continue;
		KEXPECT_EQ(t, pfn_zone(st.start_pfn), z);
		KEXPECT_EQ(t, pfn_zone(st.end_pfn - 1), z);
		KEXPECT_LE(t, st.end_pfn, max_pfn);
	}
	KEXPECT_EQ(t, total, nr_total_pages());
	struct zone_stat normal;
	pmm_zone_stat(ZONE_NORMAL, &normal);
	KEXPECT_EQ(t, normal.managed > 0, have_high_memory());
}

/*
 * Every RAM region is in the direct map at its own address. A 1 GiB leaf
 * exists exactly for each aligned GiB made only of non-MMIO regions when
 * the CPU has 1 GiB pages, and never otherwise (an MMIO hole under a
 * write-back huge page invites speculative reads of device registers).
 */
static void direct_map_covers_ram(struct ktest *t)
{
	uint64_t n;
	const struct boot_mem_region *r = regions(&n);
	uint64_t top = 0;

	for (uint64_t i = 0; i < n; i++) {
		bool mmio = r[i].efi_type == EFI_MMIO || r[i].efi_type == EFI_MMIO_PORT;
		if (mmio || r[i].type == BOOT_MEM_RESERVED || r[i].type == BOOT_MEM_UNUSABLE)
			continue;
		uint64_t probe[3] = { r[i].base, r[i].base + (r[i].pages / 2) * PAGE_SIZE,
				      region_end(&r[i]) - PAGE_SIZE };
		for (int k = 0; k < 3; k++) {
			uint64_t pa = 0;
			if (!kernel_translate((uint64_t)phys_to_virt(probe[k]) + 8, &pa, NULL)) {
				ktest_fail(t, __FILE__, __LINE__,
					   "RAM at %#lx not in the direct map", probe[k]);
				return;
			}
			KEXPECT_EQ(t, pa, probe[k] + 8);
		}
		if (region_end(&r[i]) > top)
			top = region_end(&r[i]);
	}

	uint64_t huge = 0;
	for (uint64_t g = 0; g + GIB <= top; g += GIB) {
		/* Is [g, g + 1 GiB) one run of non-MMIO regions? */
		uint64_t covered = g;
		for (uint64_t i = 0; i < n && covered < g + GIB; i++) {
			if (r[i].efi_type == EFI_MMIO || r[i].efi_type == EFI_MMIO_PORT)
				continue;
			if (r[i].base <= covered && region_end(&r[i]) > covered)
				covered = region_end(&r[i]);
		}
		bool whole = covered >= g + GIB;
		int shift = 0;
		pte_t e = leaf((uint64_t)phys_to_virt(g), &shift);
		bool is_huge = e && shift == PDPT_SHIFT;
		huge += is_huge;
		if (is_huge != (whole && boot_cpu_features.gbpages))
			ktest_fail(t, __FILE__, __LINE__,
				   "GiB at %#lx: %s a 1 GiB page (whole RAM run %d, CPU 1g %d)", g,
				   is_huge ? "mapped with" : "not mapped with", whole,
				   boot_cpu_features.gbpages);
		if (is_huge)
			KEXPECT_EQ(t, pte_phys(e) & ~(GIB - 1), g);
	}
	KEXPECT_EQ(t, huge, direct_map_pages[2]);
	ktest_log(t, "direct map: %lu x 1 GiB, %lu x 2 MiB, %lu x 4 KiB (CPU 1g %d)",
		  direct_map_pages[2], direct_map_pages[1], direct_map_pages[0],
		  boot_cpu_features.gbpages);
}

/* Write a pattern through the direct map, read it through a second mapping
 * of the same physical page (and back), so the page is the memory at its
 * address, not an alias of lower memory. */
static void check_page_through_two_mappings(struct ktest *t, struct page *p)
{
	uint64_t *direct = page_address(p);
	uint64_t va = vmap_reserve(PAGE_SIZE), pa = 0;
	KEXPECT_TRUE(t, kernel_translate((uint64_t)direct, &pa, NULL));
	KEXPECT_EQ(t, pa, page_to_phys(p));
	for (size_t i = 0; i < PAGE_SIZE / 8; i++)
		direct[i] = page_to_phys(p) ^ (i * 0x9e3779b97f4a7c15ull);
	if (kmap_page(va, page_to_phys(p), KMAP_WRITE)) {
		ktest_fail(t, __FILE__, __LINE__, "kmap_page(%#lx) failed", page_to_phys(p));
		return;
	}
	volatile uint64_t *alias = (volatile uint64_t *)va;
	for (size_t i = 0; i < PAGE_SIZE / 8; i++)
		if (alias[i] != (page_to_phys(p) ^ (i * 0x9e3779b97f4a7c15ull))) {
			KEXPECT_EQ(t, alias[i], page_to_phys(p) ^ (i * 0x9e3779b97f4a7c15ull));
			break;
		}
	alias[7] = 0x5a5a5a5a5a5a5a5aull;
	KEXPECT_EQ(t, ((volatile uint64_t *)direct)[7], 0x5a5a5a5a5a5a5a5aull);
	KEXPECT_EQ(t, kunmap_page(va), 0);
}

/* The allocator hands out pages above 4 GiB when asked for its top zone,
 * single pages and whole MAX_ORDER blocks, and they hold what is written. */
static void high_zone_pages_work(struct ktest *t)
{
	if (!have_high_memory())
		KTEST_SKIP(t, "no RAM above 4 GiB (boot with MEM=5G)");
	uint64_t before = nr_free_pages();
	struct page *p = alloc_pages_zone(0, 0, ZONE_NORMAL);
	KASSERT_NOT_NULL(t, p);
	KEXPECT_GE(t, page_to_pfn(p), ZONE_DMA32_END_PFN);
	KEXPECT_EQ(t, page_count(p), 1);
	check_page_through_two_mappings(t, p);
	put_page(p);

	struct page *b = alloc_pages_zone(__GFP_ZERO, MAX_ORDER, ZONE_NORMAL);
	KASSERT_NOT_NULL(t, b);
	KEXPECT_GE(t, page_to_pfn(b), ZONE_DMA32_END_PFN);
	KEXPECT_EQ(t, page_to_pfn(b) & ((1u << MAX_ORDER) - 1), 0);
	for (unsigned i = 0; i < (1u << MAX_ORDER); i++) {
		uint64_t *w = page_address(&b[i]);
		KEXPECT_EQ(t, w[0] | w[511], 0); /* __GFP_ZERO reached it */
		w[0] = page_to_pfn(&b[i]);
		w[511] = ~page_to_pfn(&b[i]);
	}
	for (unsigned i = 0; i < (1u << MAX_ORDER); i++) {
		const uint64_t *w = page_address(&b[i]);
		if (w[0] != page_to_pfn(&b[i]) || w[511] != ~page_to_pfn(&b[i])) {
			KEXPECT_EQ(t, w[0], page_to_pfn(&b[i]));
			break;
		}
	}
	check_page_through_two_mappings(t, &b[(1u << MAX_ORDER) - 1]);
	__free_pages(b, MAX_ORDER);
	KEXPECT_EQ(t, nr_free_pages(), before);
}

/* Ordinary allocations use memory above 4 GiB, by default first: blocks come
 * from ZONE_NORMAL, and single pages within a bounded number of tries (the
 * per-CPU caches may hold low pages first). */
static void default_allocations_go_high(struct ktest *t)
{
	enum { TRIES = 4096 };
	static struct page *held[TRIES];
	if (!have_high_memory())
		KTEST_SKIP(t, "no RAM above 4 GiB (boot with MEM=5G)");
	struct page *b = alloc_pages(0, 3);
	KASSERT_NOT_NULL(t, b);
	KEXPECT_EQ(t, page_zone(b), ZONE_NORMAL);
	__free_pages(b, 3);

	int n = 0, found = -1;
	for (; n < TRIES && found < 0; n++) {
		held[n] = alloc_page(0);
		if (!held[n])
			break;
		if (page_zone(held[n]) == ZONE_NORMAL)
			found = n;
	}
	if (found < 0)
		ktest_fail(t, __FILE__, __LINE__,
			   "no page above 4 GiB in %d single-page allocations", n);
	else
		check_page_through_two_mappings(t, held[found]);
	for (int i = 0; i < n; i++)
		if (held[i])
			put_page(held[i]);
}

/* __GFP_DMA32 stays below 4 GiB, whatever else is free. */
static void dma32_stays_below_4g(struct ktest *t)
{
	static const unsigned orders[] = { 0, 1, 4, MAX_ORDER };
	for (size_t i = 0; i < ARRAY_SIZE(orders); i++) {
		struct page *p = alloc_pages(__GFP_DMA32, orders[i]);
		KASSERT_NOT_NULL(t, p);
		KEXPECT_LE(t, page_to_pfn(p) + (1u << orders[i]), ZONE_DMA32_END_PFN);
		KEXPECT_EQ(t, page_zone(p), ZONE_DMA32);
		__free_pages(p, orders[i]);
	}
	struct page *p = alloc_pages_zone(0, 0, ZONE_DMA32);
	KASSERT_NOT_NULL(t, p);
	KEXPECT_LT(t, page_to_pfn(p), ZONE_DMA32_END_PFN);
	put_page(p);
	if (!have_high_memory())
		KEXPECT_TRUE(t, alloc_pages_zone(0, 0, ZONE_NORMAL) == NULL);
}

KTEST_SUITE(highmem, KTEST_CASE(zones_cover_memory_map), KTEST_CASE(direct_map_covers_ram),
	    KTEST_CASE(high_zone_pages_work), KTEST_CASE(default_allocations_go_high),
	    KTEST_CASE(dma32_stays_below_4g));
