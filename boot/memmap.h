/*
 * boot/memmap.h - turn the raw UEFI memory map into struct boot_mem_region[].
 *
 * Pure functions: they run after ExitBootServices, so they allocate nothing
 * and call no firmware service.
 */
#ifndef BOOT_MEMMAP_H
#define BOOT_MEMMAP_H

#include <efi.h>
#include <stdint.h>

#include "boot/boot_info.h"

/* The boot_mem_type for a UEFI memory type (unknown types are RESERVED). */
uint32_t memmap_boot_type(uint32_t efi_type);

/* Highest end address (exclusive) of any descriptor in the raw map. */
uint64_t memmap_top(const void *map, uint64_t map_size, uint64_t desc_size);

/*
 * Convert map[0..map_size) (descriptors desc_size bytes apart) into out[],
 * which has room for cap entries (cap >= map_size / desc_size): classify,
 * sort by base, trim overlaps, merge neighbours of equal type and efi_type.
 * Returns the number of entries written.
 */
uint64_t memmap_convert(const void *map, uint64_t map_size, uint64_t desc_size,
			struct boot_mem_region *out, uint64_t cap);

#endif
