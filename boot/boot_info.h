/*
 * boot/boot_info.h - the one structure the loader hands to the kernel.
 *
 * Shared by the GNU-EFI loader (boot/loader.c) and the kernel. It holds only
 * fixed-size integer fields so both sides agree on its layout whatever their
 * compiler flags. Every address in it is a *physical* address; the kernel
 * reads them through its direct map (PAGE_OFFSET + phys).
 *
 * Memory the loader allocates is tagged with OS-defined UEFI memory types
 * (0x80000000 and up) so the final memory map tells the kernel exactly which
 * pages hold the kernel image, the boot data and the loader's page tables.
 */
#ifndef BOOT_BOOT_INFO_H
#define BOOT_BOOT_INFO_H

#include <stdint.h>

#define BOOT_INFO_MAGIC	  0x4f464e49544f4f42ULL /* "BOOTINFO" */
#define BOOT_INFO_VERSION 1

/* Virtual layout the loader's page tables must provide at the jump. */
#define BOOT_KERNEL_VIRT_BASE 0xffffffff80000000ULL /* kernel link base */
#define BOOT_PAGE_OFFSET      0xffff800000000000ULL /* direct map of RAM */

/* Simplified memory types of struct boot_mem_region. */
enum boot_mem_type {
	BOOT_MEM_USABLE = 1,	   /* conventional, boot services, loader code/data */
	BOOT_MEM_RESERVED = 2,	   /* runtime services, MMIO, anything unknown */
	BOOT_MEM_ACPI_RECLAIM = 3, /* ACPI tables: usable once parsed */
	BOOT_MEM_ACPI_NVS = 4,
	BOOT_MEM_UNUSABLE = 5,	 /* firmware says the RAM is bad */
	BOOT_MEM_KERNEL = 6,	 /* the kernel image's PT_LOAD segments */
	BOOT_MEM_BOOTDATA = 7,	 /* boot_info, region array, cmdline, initrd */
	BOOT_MEM_BOOT_PT = 8,	 /* the loader's page tables: free after switch */
	BOOT_MEM_TRAMPOLINE = 9, /* the page below 1 MiB for AP start-up */
	BOOT_MEM_PERSISTENT = 10,
};

/* UEFI's types of memory that held firmware or loader code (usable once
 * boot services are gone; mm/pmm.c overwrites them before first use). */
#define BOOT_EFI_TYPE_LOADER_CODE	 1u
#define BOOT_EFI_TYPE_BOOT_SERVICES_CODE 3u

/* UEFI memory types the loader uses for its own allocations. */
#define BOOT_EFI_TYPE_KERNEL	 0x80000001u
#define BOOT_EFI_TYPE_BOOTDATA	 0x80000002u
#define BOOT_EFI_TYPE_BOOT_PT	 0x80000003u
#define BOOT_EFI_TYPE_TRAMPOLINE 0x80000004u

struct boot_mem_region {
	uint64_t base;	   /* physical, page aligned */
	uint64_t pages;	   /* 4 KiB pages */
	uint32_t type;	   /* enum boot_mem_type */
	uint32_t efi_type; /* the original UEFI type, for the log */
};

/* Pixel formats of the framebuffer. */
enum boot_fb_format {
	BOOT_FB_NONE = 0,
	BOOT_FB_RGBX = 1,    /* byte 0 red, 1 green, 2 blue (PixelRedGreenBlueReserved) */
	BOOT_FB_BGRX = 2,    /* byte 0 blue, 1 green, 2 red (PixelBlueGreenRedReserved) */
	BOOT_FB_BITMASK = 3, /* use the masks below */
};

struct boot_info {
	uint64_t magic;	  /* BOOT_INFO_MAGIC */
	uint32_t version; /* BOOT_INFO_VERSION */
	uint32_t size;	  /* sizeof(struct boot_info) */

	/* Kernel image: one physically contiguous block holding every PT_LOAD
	 * segment; virtual address v maps to kernel_phys + (v - kernel_virt). */
	uint64_t kernel_phys;
	uint64_t kernel_virt; /* lowest PT_LOAD vaddr, page aligned down */
	uint64_t kernel_size; /* bytes, page aligned up */

	/* Final UEFI memory map, converted, sorted by base, non-overlapping. */
	uint64_t mem_regions; /* phys address of struct boot_mem_region[] */
	uint64_t mem_region_count;

	uint64_t cmdline;     /* phys address of a NUL-terminated string, 0 if none */
	uint64_t cmdline_len; /* bytes, without the NUL */
	uint64_t initrd;      /* phys address, 0 if no \initrd.img */
	uint64_t initrd_size; /* bytes */

	uint64_t rsdp;	     /* phys address of the ACPI 2.0+ RSDP (1.0 if only that), 0 if none */
	uint64_t trampoline; /* phys address of a 4 KiB page below 1 MiB */

	/* GOP framebuffer; fb_base == 0 if there is none. */
	uint64_t fb_base;
	uint64_t fb_size;
	uint32_t fb_width, fb_height;			   /* pixels */
	uint32_t fb_pitch;				   /* bytes per scan line */
	uint32_t fb_bpp;				   /* bits per pixel, 32 */
	uint32_t fb_format;				   /* enum boot_fb_format */
	uint32_t fb_red_mask, fb_green_mask, fb_blue_mask; /* BOOT_FB_BITMASK */

	uint64_t efi_system_table; /* phys, for reference only (boot services are gone) */
	uint64_t loader_tsc;	   /* rdtsc just before the jump */
};

/*
 * The jump: the loader calls the ELF entry point with the System V ABI,
 *   entry(struct boot_info *phys_address)   (rdi = physical address)
 * with interrupts disabled, CR3 = the loader's tables (identity map of all
 * RAM, direct map at BOOT_PAGE_OFFSET, kernel at its link address), long mode,
 * a valid stack anywhere in identity-mapped RAM. The kernel switches stack and
 * tables at once.
 */

#endif
