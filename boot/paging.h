/*
 * boot/paging.h - the page tables in force when the kernel is entered.
 *
 * Three mappings, all present + writable, no NX bit (EFER.NXE may be off),
 * supervisor only:
 *   identity     [0, limit)                        2 MiB pages
 *   direct map   [BOOT_PAGE_OFFSET, +limit)        2 MiB pages, same tables
 *   kernel       [kernel_virt, +kernel_size)       4 KiB pages -> kernel_phys
 * The identity and direct maps share their PDPT and PD pages (two PML4
 * entries point at each PDPT). The tables live in one block of pages the
 * caller allocated (EFI type BOOT_PT) before the final memory map; building
 * them needs no firmware call.
 */
#ifndef BOOT_PAGING_H
#define BOOT_PAGING_H

#include <stdint.h>

/* The direct map stops here even if the memory map reaches further: PML4
 * slots 256..383, well clear of the kernel's slot 511. */
#define PT_MAX_DIRECT (64ULL << 40)

struct pt_pool {
	uint64_t base;	 /* physical (= identity) address of the first page */
	uint64_t npages; /* pages in the block */
	uint64_t used;	 /* pages handed out so far */
};

/* The identity/direct map limit for a memory map ending at top:
 * max(4 GiB, top) rounded up to 1 GiB, at most PT_MAX_DIRECT. */
uint64_t pt_map_limit(uint64_t top);

/* Upper bound of table pages pt_build() needs. */
uint64_t pt_pages_needed(uint64_t limit, uint64_t kernel_size, int la57);

/*
 * Build the tables in pool. With la57 (the firmware runs with 5-level
 * paging, CR4.LA57 = 1, which cannot be turned off in long mode) a PML5 is
 * added whose slots 0 and 511 both point to the PML4, so the same 48-bit
 * canonical addresses work. Returns the value for CR3, or 0 if the pool ran
 * out (a bug in pt_pages_needed).
 */
uint64_t pt_build(struct pt_pool *pool, uint64_t limit, uint64_t kernel_phys, uint64_t kernel_virt,
		  uint64_t kernel_size, int la57);

#endif
