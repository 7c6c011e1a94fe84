/*
 * boot/paging.c - build the loader's hand-off page tables (see paging.h).
 *
 * The loader runs identity-mapped under UEFI, so a table's physical address
 * is also a pointer to it.
 */
#include "boot/boot_info.h"
#include "boot/paging.h"

#define PTE_P	 0x001ULL /* present */
#define PTE_W	 0x002ULL /* writable */
#define PTE_PS	 0x080ULL /* 2 MiB page (in a PD entry) */
#define PTE_ADDR 0x000ffffffffff000ULL
#define ENTRIES	 512

#define SZ_4K	(1ULL << 12)
#define SZ_2M	(1ULL << 21)
#define SZ_1G	(1ULL << 30)
#define SZ_512G (1ULL << 39)

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

uint64_t pt_map_limit(uint64_t top)
{
	uint64_t limit = top > 4 * SZ_1G ? top : 4 * SZ_1G;

	if (limit > PT_MAX_DIRECT)
		return PT_MAX_DIRECT;
	return div_up(limit, SZ_1G) * SZ_1G;
}

uint64_t pt_pages_needed(uint64_t limit, uint64_t kernel_size, int la57)
{
	uint64_t gib = limit / SZ_1G;

	return 1			 /* PML4 */
	       + div_up(gib, 512)	 /* PDPTs of the identity/direct map */
	       + gib			 /* their PDs */
	       + 1 + 2			 /* kernel PDPT, up to 2 PDs (span <= 1 GiB) */
	       + kernel_size / SZ_2M + 2 /* kernel PTs, both ends misaligned */
	       + (la57 ? 1 : 0);	 /* PML5 */
}

/* A zeroed table page from the pool, or NULL when it is empty. */
static uint64_t *pt_alloc(struct pt_pool *pool)
{
	if (pool->used >= pool->npages)
		return 0;
	uint64_t *t = (uint64_t *)(pool->base + pool->used++ * SZ_4K);
	for (int i = 0; i < ENTRIES; i++)
		t[i] = 0;
	return t;
}

/* The table that entry *e points to, creating it if e is empty. */
static uint64_t *pt_next(struct pt_pool *pool, uint64_t *e)
{
	if (!(*e & PTE_P)) {
		uint64_t *t = pt_alloc(pool);
		if (!t)
			return 0;
		*e = (uint64_t)t | PTE_P | PTE_W;
	}
	return (uint64_t *)(*e & PTE_ADDR);
}

/* Identity map [0, limit) with 2 MiB pages and alias it at BOOT_PAGE_OFFSET. */
static int map_low(struct pt_pool *pool, uint64_t *pml4, uint64_t limit)
{
	unsigned direct_slot = (BOOT_PAGE_OFFSET >> 39) & 511;

	for (uint64_t pa = 0; pa < limit; pa += SZ_1G) {
		unsigned slot = (unsigned)(pa / SZ_512G);
		uint64_t *pdpt = pt_next(pool, &pml4[slot]);
		if (!pdpt)
			return -1;
		pml4[direct_slot + slot] = pml4[slot];
		uint64_t *pd = pt_next(pool, &pdpt[(pa / SZ_1G) % 512]);
		if (!pd)
			return -1;
		for (int i = 0; i < ENTRIES; i++)
			pd[i] = (pa + i * SZ_2M) | PTE_P | PTE_W | PTE_PS;
	}
	return 0;
}

/* Map [virt, virt+size) to [phys, phys+size) with 4 KiB pages. */
static int map_kernel(struct pt_pool *pool, uint64_t *pml4, uint64_t phys, uint64_t virt,
		      uint64_t size)
{
	for (uint64_t off = 0; off < size; off += SZ_4K) {
		uint64_t va = virt + off;
		uint64_t *pdpt = pt_next(pool, &pml4[(va >> 39) & 511]);
		uint64_t *pd = pdpt ? pt_next(pool, &pdpt[(va >> 30) & 511]) : 0;
		uint64_t *pt = pd ? pt_next(pool, &pd[(va >> 21) & 511]) : 0;
		if (!pt)
			return -1;
		pt[(va >> 12) & 511] = (phys + off) | PTE_P | PTE_W;
	}
	return 0;
}

uint64_t pt_build(struct pt_pool *pool, uint64_t limit, uint64_t kernel_phys, uint64_t kernel_virt,
		  uint64_t kernel_size, int la57)
{
	uint64_t *pml4 = pt_alloc(pool);

	if (!pml4 || map_low(pool, pml4, limit) ||
	    map_kernel(pool, pml4, kernel_phys, kernel_virt, kernel_size))
		return 0;
	if (!la57)
		return (uint64_t)pml4;
	uint64_t *pml5 = pt_alloc(pool);
	if (!pml5)
		return 0;
	pml5[0] = (uint64_t)pml4 | PTE_P | PTE_W;
	pml5[511] = (uint64_t)pml4 | PTE_P | PTE_W;
	return (uint64_t)pml5;
}
