/*
 * mm/vmalloc.h - kernel virtual mappings outside the direct map.
 *
 * ioremap() maps device memory (MMIO: LAPIC, HPET, framebuffer) uncached
 * (write-combining for ioremap_wc) and returns a kernel virtual address; it
 * may be called once the kernel's own page tables are up (after paging_init).
 * RAM described by the firmware memory map, of any type (ACPI tables
 * included), is always reachable through phys_to_virt().
 *
 * kmap_page()/kunmap_page() map single pages at chosen addresses of the
 * vmalloc area (tests use them); kunmap flushes the TLB on every CPU before
 * it returns.
 */
#ifndef MM_VMALLOC_H
#define MM_VMALLOC_H

#include "kernel/compiler.h"

void *ioremap(uint64_t phys, size_t size);
void *ioremap_wc(uint64_t phys, size_t size);

/* Protection for kmap_page */
#define KMAP_READ  0u
#define KMAP_WRITE 1u
#define KMAP_EXEC  2u

/* Reserve `size` bytes (page multiple) of kernel virtual space, unmapped. */
uint64_t vmap_reserve(size_t size);
int kmap_page(uint64_t va, uint64_t pa, unsigned prot);
int kunmap_page(uint64_t va);
/* Walk the kernel tables: true if va is mapped; *pa and *entry filled. */
bool kernel_translate(uint64_t va, uint64_t *pa, uint64_t *entry);
/* Page-table pages of the kernel's own tables (never freed). */
extern uint64_t kernel_pagetable_pages;

#endif
