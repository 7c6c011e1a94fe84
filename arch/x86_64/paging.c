/*
 * arch/x86_64/paging.c - the kernel's own page tables.
 *
 * paging_init() replaces the loader's tables with the kernel's:
 *   - the direct map: every region of the firmware memory map except MMIO,
 *     write-back, NX, global, with 1 GiB pages where a run of regions covers
 *     an aligned GiB and the CPU has them (CPUID pdpe1gb), else 2 MiB pages
 *     where it allows, else 4 KiB;
 *   - the kernel image with per-section permissions: text RX, rodata R+NX,
 *     data/bss RW+NX (CR0.WP makes read-only binding for ring 0 too);
 *   - every upper-half PML4 entry allocated now and never changed, so user
 *     address spaces (later) share the kernel half by copying 256 entries;
 *   - no identity map: a NULL or user-half access from the kernel faults.
 * Without NX in the CPU (EFER.NXE cannot be set, and bit 63 of an entry is
 * then reserved: a fault on every access), kernel entries go without it:
 * pte_supported_mask drops the bit.
 * ioremap() and kmap_page() add 4 KiB mappings in the vmalloc area.
 *
 * Locks: kmap_lock serializes changes to the kernel tables. Freeing or
 * changing a present kernel mapping flushes every CPU (IPI) before returning.
 */
#include "arch/x86_64/pgtable.h"
#include "arch/x86_64/asm.h"
#include "arch/arch.h"
#include "mm/vmalloc.h"
#include "mm/page.h"
#include "kernel/smp.h"
#include "kernel/printk.h"
#include "kernel/panic.h"
#include "kernel/string.h"
#include "boot/boot_info.h"

#define EFI_MMIO      11
#define EFI_MMIO_PORT 12

extern char __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern char __data_start[], __data_end[], __ksyms_start[], __kernel_end[];

pte_t *kernel_pml4;
uint64_t kernel_pml4_phys;
static DEFINE_SPINLOCK(kmap_lock);
static uint64_t vmap_next = VMALLOC_START;
static uint64_t kernel_phys_base;

uint64_t kernel_pagetable_pages;
/* Direct-map leaf entries by size (4 KiB, 2 MiB, 1 GiB), for the boot line and tests. */
uint64_t direct_map_pages[3];
/* Entry bits this CPU accepts: _PAGE_NX only with NX (set by paging_init). */
pte_t pte_supported_mask = ~0ull;

static pte_t *alloc_table(void)
{
	struct page *p = alloc_page(__GFP_ZERO);
	if (!p)
		panic("paging: out of memory for page tables");
	__atomic_fetch_add(&kernel_pagetable_pages, 1, __ATOMIC_RELAXED);
	p->flags |= PG_pagetable;
	return page_address(p);
}

/* Next-level table of entry *e, allocated if absent. */
static pte_t *next_table(pte_t *e)
{
	if (!pte_present(*e)) {
		pte_t *t = alloc_table();
		*e = virt_to_phys(t) | _PAGE_PRESENT | _PAGE_RW;
	}
	if (pte_large(*e))
		panic("paging: large page where a table was expected (%#lx)", *e);
	return pte_table(*e);
}

static pte_t *walk_create(pte_t *pml4, uint64_t va, int level_shift)
{
	pte_t *t = pml4;
	for (int shift = PML4_SHIFT; shift > level_shift; shift -= 9)
		t = next_table(&t[PT_INDEX(va, shift)]);
	return &t[PT_INDEX(va, level_shift)];
}

static void map_4k(pte_t *pml4, uint64_t va, uint64_t pa, pte_t flags)
{
	*walk_create(pml4, va, PT_SHIFT) = pa | (flags & pte_supported_mask);
}

#define HUGE_PAGE_SIZE (1ul << PDPT_SHIFT) /* 1 GiB */

/* Map [va, va+size) to pa with the largest pages that alignment and the CPU allow;
 * counts[] gets the number of 4 KiB, 2 MiB and 1 GiB entries written. */
static void map_range(pte_t *pml4, uint64_t va, uint64_t pa, uint64_t size, pte_t flags,
		      uint64_t counts[3])
{
	uint64_t end = va + size;
	flags &= pte_supported_mask;
	while (va < end) {
		if (boot_cpu_features.gbpages && IS_ALIGNED(va | pa, HUGE_PAGE_SIZE) &&
		    end - va >= HUGE_PAGE_SIZE) {
			*walk_create(pml4, va, PDPT_SHIFT) = pa | flags | _PAGE_PSE;
			va += HUGE_PAGE_SIZE;
			pa += HUGE_PAGE_SIZE;
			counts[2]++;
		} else if (IS_ALIGNED(va | pa, LARGE_PAGE_SIZE) && end - va >= LARGE_PAGE_SIZE) {
			*walk_create(pml4, va, PD_SHIFT) = pa | flags | _PAGE_PSE;
			va += LARGE_PAGE_SIZE;
			pa += LARGE_PAGE_SIZE;
			counts[1]++;
		} else {
			map_4k(pml4, va, pa, flags);
			va += PAGE_SIZE;
			pa += PAGE_SIZE;
			counts[0]++;
		}
	}
}

static void map_kernel_section(char *start, char *end, pte_t flags)
{
	uint64_t va = ALIGN_DOWN((uint64_t)start, PAGE_SIZE);
	uint64_t e = ALIGN_UP((uint64_t)end, PAGE_SIZE);
	for (; va < e; va += PAGE_SIZE)
		map_4k(kernel_pml4, va, kernel_phys_base + (va - KERNEL_VIRT_BASE), flags);
}

/* Merge runs of direct-mappable regions so 2 MiB pages span region borders. */
static void map_direct(const struct boot_info *bi)
{
	const struct boot_mem_region *r = phys_to_virt(bi->mem_regions);
	uint64_t run_start = 0, run_end = 0;
	for (uint64_t i = 0; i <= bi->mem_region_count; i++) {
		bool last = i == bi->mem_region_count;
		if (!last && (r[i].efi_type == EFI_MMIO || r[i].efi_type == EFI_MMIO_PORT))
			continue;
		uint64_t s = last ? 0 : r[i].base,
			 e = last ? 0 : r[i].base + r[i].pages * PAGE_SIZE;
		if (!last && s == run_end && run_end) {
			run_end = e;
			continue;
		}
		if (run_end > run_start)
			map_range(kernel_pml4, (uint64_t)phys_to_virt(run_start), run_start,
				  run_end - run_start, PAGE_KERNEL, direct_map_pages);
		run_start = s;
		run_end = e;
	}
}

void paging_init(const struct boot_info *bi)
{
	kernel_phys_base = bi->kernel_phys;
	if (!boot_cpu_features.nx)
		pte_supported_mask &= ~_PAGE_NX;
	kernel_pml4 = alloc_table();
	for (int i = 256; i < PT_ENTRIES; i++)
		next_table(&kernel_pml4[i]);
	map_direct(bi);
	map_kernel_section(__text_start, __text_end, PAGE_KERNEL_EXEC);
	map_kernel_section(__rodata_start, __rodata_end, PAGE_KERNEL_RO);
	map_kernel_section(__data_start, __data_end, PAGE_KERNEL);
	map_kernel_section(__ksyms_start, __kernel_end, PAGE_KERNEL_RO);
	kernel_pml4_phys = virt_to_phys(kernel_pml4);
	write_cr3(kernel_pml4_phys);
	printk("paging: kernel page tables at %#lx, direct map at %#lx: %lu x 1 GiB, %lu x 2 MiB, "
	       "%lu x 4 KiB pages%s\n",
	       kernel_pml4_phys, (uint64_t)PAGE_OFFSET, direct_map_pages[2], direct_map_pages[1],
	       direct_map_pages[0], boot_cpu_features.nx ? "" : " (no NX)");
}

/* ---- vmalloc area ---------------------------------------------------------- */

uint64_t vmap_reserve(size_t size)
{
	spin_lock(&kmap_lock);
	uint64_t va = vmap_next;
	vmap_next += ALIGN_UP(size, PAGE_SIZE) + PAGE_SIZE; /* unmapped guard page after */
	spin_unlock(&kmap_lock);
	BUG_ON(vmap_next > VMALLOC_END);
	return va;
}

static void *ioremap_flags(uint64_t phys, size_t size, pte_t flags)
{
	uint64_t off = phys & (PAGE_SIZE - 1);
	size = ALIGN_UP(size + off, PAGE_SIZE);
	uint64_t va = vmap_reserve(size);
	spin_lock(&kmap_lock);
	for (uint64_t i = 0; i < size; i += PAGE_SIZE)
		map_4k(kernel_pml4, va + i, phys - off + i, flags);
	spin_unlock(&kmap_lock);
	return (void *)(va + off);
}

void *ioremap(uint64_t phys, size_t size)
{
	return ioremap_flags(phys, size, PAGE_KERNEL_NOCACHE);
}

void *ioremap_wc(uint64_t phys, size_t size)
{
	/* PAT entry 1 is WT by default; write-through is a safe, faster choice
	 * for a framebuffer than UC without reprogramming the PAT. */
	return ioremap_flags(phys, size, PAGE_KERNEL | _PAGE_PWT);
}

int kmap_page(uint64_t va, uint64_t pa, unsigned prot)
{
	if (va < VMALLOC_START || va >= VMALLOC_END || !IS_ALIGNED(va | pa, PAGE_SIZE))
		return -22;
	pte_t flags = _PAGE_PRESENT | _PAGE_GLOBAL | _PAGE_ACCESSED;
	if (prot & KMAP_WRITE)
		flags |= _PAGE_RW | _PAGE_DIRTY;
	if (!(prot & KMAP_EXEC) && boot_cpu_features.nx)
		flags |= _PAGE_NX;
	spin_lock(&kmap_lock);
	pte_t *e = walk_create(kernel_pml4, va, PT_SHIFT);
	bool was_present = pte_present(*e);
	*e = pa | flags;
	spin_unlock(&kmap_lock);
	if (was_present)
		flush_tlb_kernel_page(va);
	return 0;
}

/* Leaf entry for va, or NULL (no allocation). *shift gets the leaf level. */
static pte_t *walk_lookup(uint64_t va, int *shift)
{
	pte_t *t = kernel_pml4;
	for (int s = PML4_SHIFT;; s -= 9) {
		pte_t *e = &t[PT_INDEX(va, s)];
		if (!pte_present(*e))
			return NULL;
		if (s == PT_SHIFT || (s <= PDPT_SHIFT && pte_large(*e))) {
			*shift = s;
			return e;
		}
		t = pte_table(*e);
	}
}

int kunmap_page(uint64_t va)
{
	int shift;
	spin_lock(&kmap_lock);
	pte_t *e = walk_lookup(va, &shift);
	if (!e || shift != PT_SHIFT || va < VMALLOC_START || va >= VMALLOC_END) {
		spin_unlock(&kmap_lock);
		return -22;
	}
	*e = 0;
	spin_unlock(&kmap_lock);
	flush_tlb_kernel_page(va);
	return 0;
}

bool kernel_translate(uint64_t va, uint64_t *pa, uint64_t *entry)
{
	int shift;
	pte_t *e = walk_lookup(va, &shift);
	if (!e)
		return false;
	if (pa)
		*pa = (pte_phys(*e) & ~((1ull << shift) - 1)) + (va & ((1ull << shift) - 1));
	if (entry)
		*entry = *e;
	return true;
}

/* ---- kernel TLB flushes ------------------------------------------------- */

static void do_invlpg(void *va)
{
	invlpg((uint64_t)va);
}

/* Kernel mappings are global: every CPU may cache them. */
void flush_tlb_kernel_page(uint64_t va)
{
	invlpg(va);
	cpumask_t m;
	cpumask_online(&m);
	if (irqs_disabled())
		panic("flush_tlb_kernel_page with interrupts off");
	smp_call_function_many(&m, do_invlpg, (void *)va, true);
}
