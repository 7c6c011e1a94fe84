/*
 * boot/memmap.c - UEFI memory map -> struct boot_mem_region[].
 *
 * The UEFI map is usually sorted and non-overlapping, but the spec does not
 * promise it, so the result is sorted here (insertion sort in place: the map
 * has at most a few hundred entries and nothing may be allocated), and a
 * descriptor that overlaps its predecessor is trimmed (the earlier
 * descriptor wins). Neighbours of equal type and efi_type are then merged.
 * Descriptors are desc_size bytes apart, which may exceed
 * sizeof(EFI_MEMORY_DESCRIPTOR) on newer firmware.
 */
#include "boot/memmap.h"

#define PAGE_SHIFT	      12
#define EFI_PERSISTENT_MEMORY 14 /* EfiPersistentMemory (UEFI 2.5) */

uint32_t memmap_boot_type(uint32_t efi_type)
{
	switch (efi_type) {
	case EfiConventionalMemory:
	case EfiBootServicesCode:
	case EfiBootServicesData:
	case EfiLoaderCode:
	case EfiLoaderData:
		return BOOT_MEM_USABLE;
	case EfiACPIReclaimMemory:
		return BOOT_MEM_ACPI_RECLAIM;
	case EfiACPIMemoryNVS:
		return BOOT_MEM_ACPI_NVS;
	case EfiUnusableMemory:
		return BOOT_MEM_UNUSABLE;
	case EFI_PERSISTENT_MEMORY:
		return BOOT_MEM_PERSISTENT;
	case BOOT_EFI_TYPE_KERNEL:
		return BOOT_MEM_KERNEL;
	case BOOT_EFI_TYPE_BOOTDATA:
		return BOOT_MEM_BOOTDATA;
	case BOOT_EFI_TYPE_BOOT_PT:
		return BOOT_MEM_BOOT_PT;
	case BOOT_EFI_TYPE_TRAMPOLINE:
		return BOOT_MEM_TRAMPOLINE;
	default: /* runtime services, MMIO, reserved, PAL code, unknown */
		return BOOT_MEM_RESERVED;
	}
}

static const EFI_MEMORY_DESCRIPTOR *desc_at(const void *map, uint64_t desc_size, uint64_t i)
{
	return (const EFI_MEMORY_DESCRIPTOR *)((const uint8_t *)map + i * desc_size);
}

uint64_t memmap_top(const void *map, uint64_t map_size, uint64_t desc_size)
{
	uint64_t top = 0;

	for (uint64_t i = 0; i < map_size / desc_size; i++) {
		const EFI_MEMORY_DESCRIPTOR *d = desc_at(map, desc_size, i);
		uint64_t end = d->PhysicalStart + (d->NumberOfPages << PAGE_SHIFT);
		if (end > top)
			top = end;
	}
	return top;
}

static uint64_t region_end(const struct boot_mem_region *r)
{
	return r->base + (r->pages << PAGE_SHIFT);
}

static void sort_by_base(struct boot_mem_region *r, uint64_t n)
{
	for (uint64_t i = 1; i < n; i++) {
		struct boot_mem_region key = r[i];
		uint64_t j = i;
		for (; j > 0 && r[j - 1].base > key.base; j--)
			r[j] = r[j - 1];
		r[j] = key;
	}
}

/* Trim overlaps and merge equal neighbours of the sorted r[0..n); returns the
 * new count. */
static uint64_t trim_and_merge(struct boot_mem_region *r, uint64_t n)
{
	uint64_t m = 0; /* r[0..m) is the finished output */

	for (uint64_t i = 0; i < n; i++) {
		struct boot_mem_region cur = r[i];
		if (m > 0 && cur.base < region_end(&r[m - 1])) {
			uint64_t prev_end = region_end(&r[m - 1]);
			if (region_end(&cur) <= prev_end)
				continue; /* fully covered */
			cur.pages -= (prev_end - cur.base) >> PAGE_SHIFT;
			cur.base = prev_end;
		}
		if (m > 0 && region_end(&r[m - 1]) == cur.base && r[m - 1].type == cur.type &&
		    r[m - 1].efi_type == cur.efi_type) {
			r[m - 1].pages += cur.pages;
			continue;
		}
		r[m++] = cur;
	}
	return m;
}

uint64_t memmap_convert(const void *map, uint64_t map_size, uint64_t desc_size,
			struct boot_mem_region *out, uint64_t cap)
{
	uint64_t n = 0;

	for (uint64_t i = 0; i < map_size / desc_size && n < cap; i++) {
		const EFI_MEMORY_DESCRIPTOR *d = desc_at(map, desc_size, i);
		if (d->NumberOfPages == 0)
			continue;
		out[n].base = d->PhysicalStart;
		out[n].pages = d->NumberOfPages;
		out[n].type = memmap_boot_type(d->Type);
		out[n].efi_type = d->Type;
		n++;
	}
	sort_by_base(out, n);
	return trim_and_merge(out, n);
}
