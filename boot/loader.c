/*
 * boot/loader.c - the UEFI boot loader (BOOTX64.EFI).
 *
 * What it does, in order:
 *   1. Prints a banner on COM1 and ConOut (every message goes to both, and
 *      only once to COM1 when the firmware console reaches it too, see
 *      boot/console.c; after ExitBootServices to COM1 only).
 *   2. Reads \kernel.elf (required), \initrd.img and \cmdline.txt (optional)
 *      from the volume it was itself loaded from.
 *   3. Validates the kernel ELF (boot/elf_check.c), allocates ONE physically
 *      contiguous block for all its PT_LOAD segments, zeroes it and copies
 *      the file bytes in: virtual v lives at kernel_phys + (v - kernel_virt).
 *   4. Reserves a page below 1 MiB for the AP trampoline, finds the ACPI
 *      RSDP and the GOP framebuffer (the video mode is left as it is).
 *   5. Builds the hand-off page tables (boot/paging.c): identity map and
 *      direct map at BOOT_PAGE_OFFSET of [0, max(4 GiB, top of the memory
 *      map)) with 2 MiB pages, the kernel block at its link address with
 *      4 KiB pages.
 *   6. Takes the final memory map, exits boot services, converts the map
 *      (boot/memmap.c) into the boot_info region array.
 *   7. Jumps to the kernel (see "The jump" below).
 *
 * Why the OS-defined memory types: every page the loader allocates for the
 * kernel is tagged with one of BOOT_EFI_TYPE_{KERNEL,BOOTDATA,BOOT_PT,
 * TRAMPOLINE} (0x8000000x, reserved by UEFI for OS loaders). The final
 * memory map then tells the kernel exactly which pages hold its image, the
 * boot data it must read before reusing them, the loader's page tables
 * (free once the kernel has its own CR3) and the trampoline page, with no
 * side list to keep in sync. Scratch buffers (the kernel file as read, the
 * raw memory map) are plain LoaderData: usable RAM for the kernel.
 *
 * Failure policy: before ExitBootServices every failure prints one line
 * naming the file or the step and the reason (always the last line logged),
 * then `loader: boot failed: <that reason>` (the line tests/runner.py stops
 * at), waits 3 s so a human can read it, frees everything the loader
 * allocated and returns an error to the firmware (which then tries the next
 * boot option, or drops into its shell). After the first ExitBootServices
 * attempt no firmware call is allowed any more: a failure there is reported
 * on COM1 (`loader: boot failed: ExitBootServices ...; halting`) and the
 * CPU halts.
 *
 * The jump (the contract of boot/boot_info.h): interrupts off; CR3 = the
 * tables above (with a PML5 on top if the firmware runs with CR4.LA57 = 1,
 * mapping the same 48-bit addresses); RSP = top of a 64 KiB BOOTDATA stack
 * (16-byte aligned, identity-mapped); RBP = 0; RDI = physical address of the
 * struct boot_info; a System V call to the ELF entry point. The loader's own
 * code keeps running across the CR3 switch because it is identity-mapped.
 * The kernel never returns; if it does, the CPU halts.
 */
#include <efi.h>

#include "boot/boot_info.h"
#include "boot/console.h"
#include "boot/elf_check.h"
#include "boot/files.h"
#include "boot/memmap.h"
#include "boot/paging.h"

#define PAGE_SIZE	4096ULL
#define PAGES(bytes)	(((bytes) + PAGE_SIZE - 1) / PAGE_SIZE)
#define STACK_SIZE	(64ULL << 10)
#define MAP_SLACK_DESCS 16	   /* room for the map to grow before the exit */
#define EXIT_TRIES	8	   /* ExitBootServices attempts */
#define FAIL_STALL_US	3000000	   /* let a human read the error */
#define TRAMPOLINE_MAX	0x9F000ULL /* highest trampoline page wanted */
#define LOW_1M		0x100000ULL
#define CR4_LA57	(1ULL << 12)

static EFI_SYSTEM_TABLE *g_st;
static EFI_BOOT_SERVICES *g_bs;

/* Everything the loader has found or built, filled step by step. */
struct loader {
	EFI_HANDLE image;
	EFI_FILE_HANDLE root;
	struct boot_info *bi; /* one BOOTDATA page */
	uint64_t entry;	      /* kernel ELF entry point (virtual) */
	uint64_t cr3;	      /* hand-off page tables */
	uint64_t stack_top;   /* hand-off stack, BOOTDATA */
	int verbose;	      /* "loader.verbose" on the command line */

	/* The memory map buffer (LoaderData pool) and its last contents. */
	void *map;
	UINTN map_cap, map_size, map_key, desc_size;
	UINT32 desc_ver;
	struct boot_mem_region *regions; /* BOOTDATA, region_cap entries */
	uint64_t region_cap;
};

/* ---- allocation bookkeeping ----------------------------------------------
 * Every allocation is recorded so a failure before ExitBootServices can give
 * all memory back before returning to the firmware. */

#define MAX_ALLOCS 32

struct alloc_rec {
	EFI_PHYSICAL_ADDRESS addr;
	UINTN pages; /* 0 for a pool allocation */
};

static struct alloc_rec allocs[MAX_ALLOCS];
static unsigned nallocs;

static void track(EFI_PHYSICAL_ADDRESS addr, UINTN pages)
{
	if (nallocs < MAX_ALLOCS)
		allocs[nallocs++] = (struct alloc_rec){ addr, pages };
}

/* AllocatePages; on success the pages are recorded (not zeroed). */
static EFI_STATUS alloc_pages(EFI_ALLOCATE_TYPE how, UINT32 type, UINTN pages,
			      EFI_PHYSICAL_ADDRESS *addr)
{
	EFI_STATUS st =
	    uefi_call_wrapper(g_bs->AllocatePages, 4, how, (EFI_MEMORY_TYPE)type, pages, addr);
	if (!EFI_ERROR(st))
		track(*addr, pages);
	return st;
}

/* Zeroed pages of the given type anywhere in memory. */
static EFI_STATUS alloc_zeroed(UINT32 type, UINT64 bytes, EFI_PHYSICAL_ADDRESS *addr)
{
	EFI_STATUS st = alloc_pages(AllocateAnyPages, type, PAGES(bytes), addr);
	if (!EFI_ERROR(st))
		uefi_call_wrapper(g_bs->SetMem, 3, (void *)*addr, PAGES(bytes) * PAGE_SIZE, 0);
	return st;
}

static EFI_STATUS alloc_pool(UINTN size, void **p)
{
	EFI_STATUS st = uefi_call_wrapper(g_bs->AllocatePool, 3, EfiLoaderData, size ? size : 1, p);
	if (!EFI_ERROR(st))
		track((EFI_PHYSICAL_ADDRESS)*p, 0);
	return st;
}

static void free_rec(struct alloc_rec *r)
{
	if (r->pages)
		uefi_call_wrapper(g_bs->FreePages, 2, r->addr, r->pages);
	else
		uefi_call_wrapper(g_bs->FreePool, 1, (void *)r->addr);
	*r = allocs[--nallocs];
}

/* Free the allocation that starts at addr (pages or pool). */
static void free_alloc(EFI_PHYSICAL_ADDRESS addr)
{
	for (unsigned i = 0; i < nallocs; i++)
		if (allocs[i].addr == addr) {
			free_rec(&allocs[i]);
			return;
		}
}

static void release_all(void)
{
	while (nallocs)
		free_rec(&allocs[nallocs - 1]);
}

/* ---- small helpers ------------------------------------------------------ */

static const char *efi_strerror(EFI_STATUS st)
{
	switch (st) {
	case EFI_NOT_FOUND:
		return "not found";
	case EFI_OUT_OF_RESOURCES:
		return "out of memory";
	case EFI_DEVICE_ERROR:
		return "device error";
	case EFI_VOLUME_CORRUPTED:
		return "volume corrupted";
	case EFI_END_OF_FILE:
		return "file shorter than its size";
	case EFI_UNSUPPORTED:
		return "unsupported";
	case EFI_INVALID_PARAMETER:
		return "invalid parameter";
	case EFI_BUFFER_TOO_SMALL:
		return "buffer too small";
	case EFI_LOAD_ERROR:
		return "load error";
	default:
		return "error";
	}
}

/* Log "loader: error: <what>: <reason> (status 0x..)" and return st. */
static EFI_STATUS efi_fail(EFI_STATUS st, const char *what)
{
	log_msg("loader: error: %s: %s (status 0x%lx)\n", what, efi_strerror(st),
		(unsigned long)st);
	return st;
}

static int guid_eq(const EFI_GUID *a, const EFI_GUID *b)
{
	const UINT8 *x = (const UINT8 *)a, *y = (const UINT8 *)b;

	for (unsigned i = 0; i < sizeof(*a); i++)
		if (x[i] != y[i])
			return 0;
	return 1;
}

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static uint64_t read_cr4(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static void __attribute__((noreturn)) halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* Is word a whole space-separated token of s? */
static int has_token(const char *s, const char *word)
{
	for (const char *p = s; *p; p++) {
		if (p != s && p[-1] != ' ')
			continue;
		size_t n = 0;
		while (word[n] && p[n] == word[n])
			n++;
		if (!word[n] && (p[n] == 0 || p[n] == ' '))
			return 1;
	}
	return 0;
}

/* ---- step 2/3: the kernel ------------------------------------------------ */

/* Read a whole file into a LoaderData pool buffer. */
static EFI_STATUS read_to_pool(struct loader *ld, CHAR16 *path, void **buf, UINT64 *size)
{
	EFI_FILE_HANDLE fh;
	EFI_STATUS st = file_open(ld->root, path, &fh, size);

	if (EFI_ERROR(st))
		return st;
	st = alloc_pool(*size, buf);
	if (!EFI_ERROR(st)) {
		st = file_read(fh, *buf, *size);
		if (EFI_ERROR(st))
			free_alloc((EFI_PHYSICAL_ADDRESS)*buf);
	}
	file_close(fh);
	return st;
}

/* Copy a validated image into one zeroed KERNEL block. */
static EFI_STATUS place_kernel(struct loader *ld, const void *file, const struct kernel_layout *kl)
{
	EFI_PHYSICAL_ADDRESS phys;
	EFI_STATUS st = alloc_zeroed(BOOT_EFI_TYPE_KERNEL, kl->size, &phys);

	if (EFI_ERROR(st))
		return efi_fail(st, "kernel.elf: allocating the kernel block");
	elf_load(file, kl, (void *)phys);
	ld->bi->kernel_phys = phys;
	ld->bi->kernel_virt = kl->virt_lo;
	ld->bi->kernel_size = kl->size;
	ld->entry = kl->entry;
	return EFI_SUCCESS;
}

static EFI_STATUS load_kernel(struct loader *ld)
{
	struct kernel_layout kl;
	char why[160];
	void *file;
	UINT64 size;
	EFI_STATUS st = read_to_pool(ld, L"\\kernel.elf", &file, &size);

	if (st == EFI_NOT_FOUND) {
		log_msg("loader: error: \\kernel.elf not found on the boot volume\n");
		return st;
	}
	if (EFI_ERROR(st))
		return efi_fail(st, "kernel.elf: cannot read");
	if (elf_check(file, size, &kl, why, sizeof(why))) {
		log_msg("loader: error: kernel.elf: %s\n", why);
		free_alloc((EFI_PHYSICAL_ADDRESS)file);
		return EFI_LOAD_ERROR;
	}
	st = place_kernel(ld, file, &kl);
	free_alloc((EFI_PHYSICAL_ADDRESS)file);
	if (EFI_ERROR(st))
		return st;
	log_msg("loader: kernel.elf: %lu bytes, %u PT_LOAD, virt 0x%lx size 0x%lx "
		"at phys 0x%lx, entry 0x%lx\n",
		(unsigned long)size, kl.nload, (unsigned long)kl.virt_lo, (unsigned long)kl.size,
		(unsigned long)ld->bi->kernel_phys, (unsigned long)kl.entry);
	return EFI_SUCCESS;
}

/* ---- step 2: optional files ---------------------------------------------- */

/*
 * Read an optional file into BOOTDATA pages, with one extra zero byte after
 * its end. *addr = 0 when the file does not exist (not an error); a file that
 * exists but cannot be read is an error.
 */
static EFI_STATUS read_optional(struct loader *ld, CHAR16 *path, const char *name,
				EFI_PHYSICAL_ADDRESS *addr, UINT64 *size)
{
	EFI_FILE_HANDLE fh;
	EFI_STATUS st = file_open(ld->root, path, &fh, size);

	*addr = 0;
	if (st == EFI_NOT_FOUND) {
		log_msg("loader: \\%s not found, continuing without it\n", name);
		*size = 0;
		return EFI_SUCCESS;
	}
	if (EFI_ERROR(st))
		return efi_fail(st, name);
	st = alloc_zeroed(BOOT_EFI_TYPE_BOOTDATA, *size + 1, addr);
	if (!EFI_ERROR(st)) {
		st = file_read(fh, (void *)*addr, *size);
		if (EFI_ERROR(st)) {
			free_alloc(*addr);
			*addr = 0;
		}
	}
	file_close(fh);
	return EFI_ERROR(st) ? efi_fail(st, name) : EFI_SUCCESS;
}

static EFI_STATUS load_initrd(struct loader *ld)
{
	EFI_PHYSICAL_ADDRESS addr;
	UINT64 size;
	EFI_STATUS st = read_optional(ld, L"\\initrd.img", "initrd.img", &addr, &size);

	if (EFI_ERROR(st))
		return st;
	ld->bi->initrd = addr;
	ld->bi->initrd_size = size;
	if (addr)
		log_msg("loader: initrd.img: %lu bytes at 0x%lx\n", (unsigned long)size,
			(unsigned long)addr);
	return EFI_SUCCESS;
}

/* Strip trailing whitespace; turn interior line breaks and tabs into spaces
 * so a multi-line cmdline.txt still reads as one command line. */
static UINT64 clean_cmdline(char *s, UINT64 len)
{
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' ||
		       s[len - 1] == '\n' || s[len - 1] == 0))
		len--;
	s[len] = 0;
	for (UINT64 i = 0; i < len; i++)
		if (s[i] == '\r' || s[i] == '\n' || s[i] == '\t')
			s[i] = ' ';
	return len;
}

static EFI_STATUS load_cmdline(struct loader *ld)
{
	EFI_PHYSICAL_ADDRESS addr;
	UINT64 size;
	EFI_STATUS st = read_optional(ld, L"\\cmdline.txt", "cmdline.txt", &addr, &size);

	if (EFI_ERROR(st) || !addr)
		return st;
	ld->bi->cmdline = addr;
	ld->bi->cmdline_len = clean_cmdline((char *)addr, size);
	st = cmdline_check_size(ld->bi->cmdline_len); /* never cut it silently */
	if (EFI_ERROR(st))
		return st;
	ld->verbose = has_token((char *)addr, "loader.verbose");
	cmdline_log((char *)addr, ld->bi->cmdline_len);
	return EFI_SUCCESS;
}

/* ---- step 4: trampoline, ACPI, framebuffer ------------------------------- */

static int trampoline_ok(EFI_PHYSICAL_ADDRESS a)
{
	return a != 0 && a < LOW_1M;
}

/* One TRAMPOLINE page below 1 MiB: the highest free one up to 0x9F000,
 * else scan down page by page. Failure is not fatal: the kernel then runs
 * on the boot CPU only. */
static EFI_STATUS reserve_trampoline(struct loader *ld)
{
	EFI_PHYSICAL_ADDRESS a = TRAMPOLINE_MAX;
	EFI_STATUS st = alloc_pages(AllocateMaxAddress, BOOT_EFI_TYPE_TRAMPOLINE, 1, &a);

	if (!EFI_ERROR(st) && !trampoline_ok(a)) {
		free_alloc(a); /* page 0: unusable as a SIPI vector */
		st = EFI_NOT_FOUND;
	}
	for (EFI_PHYSICAL_ADDRESS p = TRAMPOLINE_MAX; EFI_ERROR(st) && p >= PAGE_SIZE;
	     p -= PAGE_SIZE) {
		a = p;
		st = alloc_pages(AllocateAddress, BOOT_EFI_TYPE_TRAMPOLINE, 1, &a);
	}
	if (EFI_ERROR(st)) {
		log_msg("loader: warning: no free page below 1 MiB for the AP "
			"trampoline: the kernel will run on one CPU\n");
		ld->bi->trampoline = 0;
		return EFI_SUCCESS;
	}
	ld->bi->trampoline = a;
	log_msg("loader: AP trampoline page at 0x%lx\n", (unsigned long)a);
	return EFI_SUCCESS;
}

/* ACPI RSDP from the configuration table: the 2.0 one if present. */
static EFI_STATUS find_rsdp(struct loader *ld)
{
	EFI_GUID acpi20 = ACPI_20_TABLE_GUID, acpi10 = ACPI_TABLE_GUID;
	uint64_t v1 = 0, v2 = 0;

	for (UINTN i = 0; i < g_st->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &g_st->ConfigurationTable[i];
		if (guid_eq(&t->VendorGuid, &acpi20))
			v2 = (uint64_t)t->VendorTable;
		else if (guid_eq(&t->VendorGuid, &acpi10))
			v1 = (uint64_t)t->VendorTable;
	}
	ld->bi->rsdp = v2 ? v2 : v1;
	if (!ld->bi->rsdp)
		log_msg("loader: warning: no ACPI RSDP in the configuration table\n");
	else
		log_msg("loader: ACPI %s RSDP at 0x%lx\n", v2 ? "2.0" : "1.0",
			(unsigned long)ld->bi->rsdp);
	return EFI_SUCCESS;
}

/* Record the current GOP mode; the mode itself is left unchanged. */
static EFI_STATUS find_framebuffer(struct loader *ld)
{
	EFI_GUID gop_guid = EFI_GRAPHICS_OUTPUT_PROTOCOL_GUID;
	EFI_GRAPHICS_OUTPUT_PROTOCOL *gop;
	struct boot_info *bi = ld->bi;
	EFI_STATUS st = uefi_call_wrapper(g_bs->LocateProtocol, 3, &gop_guid, NULL, (void **)&gop);

	if (EFI_ERROR(st) || !gop->Mode || !gop->Mode->Info) {
		log_msg("loader: no GOP: no framebuffer\n");
		return EFI_SUCCESS;
	}
	EFI_GRAPHICS_OUTPUT_MODE_INFORMATION *info = gop->Mode->Info;
	switch (info->PixelFormat) {
	case PixelRedGreenBlueReserved8BitPerColor:
		bi->fb_format = BOOT_FB_RGBX;
		bi->fb_red_mask = 0x0000ff, bi->fb_green_mask = 0x00ff00,
		bi->fb_blue_mask = 0xff0000;
		break;
	case PixelBlueGreenRedReserved8BitPerColor:
		bi->fb_format = BOOT_FB_BGRX;
		bi->fb_red_mask = 0xff0000, bi->fb_green_mask = 0x00ff00,
		bi->fb_blue_mask = 0x0000ff;
		break;
	case PixelBitMask:
		bi->fb_format = BOOT_FB_BITMASK;
		bi->fb_red_mask = info->PixelInformation.RedMask;
		bi->fb_green_mask = info->PixelInformation.GreenMask;
		bi->fb_blue_mask = info->PixelInformation.BlueMask;
		break;
	default: /* PixelBltOnly: no linear framebuffer */
		log_msg("loader: GOP is blt-only: no framebuffer\n");
		return EFI_SUCCESS;
	}
	bi->fb_base = gop->Mode->FrameBufferBase;
	bi->fb_size = gop->Mode->FrameBufferSize;
	bi->fb_width = info->HorizontalResolution;
	bi->fb_height = info->VerticalResolution;
	bi->fb_pitch = info->PixelsPerScanLine * 4;
	bi->fb_bpp = 32;
	log_msg("loader: framebuffer %ux%u pitch %u format %u at 0x%lx (%lu bytes)\n", bi->fb_width,
		bi->fb_height, bi->fb_pitch, bi->fb_format, (unsigned long)bi->fb_base,
		(unsigned long)bi->fb_size);
	return EFI_SUCCESS;
}

/* ---- step 5/6 preparation: map buffer, page tables, stack ---------------- */

/* Size the memory map, allocate its buffer with slack and the BOOTDATA
 * region array to match, and read a first map into the buffer. */
static EFI_STATUS prepare_map(struct loader *ld)
{
	EFI_PHYSICAL_ADDRESS regions;
	UINTN size = 0;
	EFI_STATUS st = uefi_call_wrapper(g_bs->GetMemoryMap, 5, &size, NULL, &ld->map_key,
					  &ld->desc_size, &ld->desc_ver);

	if (st != EFI_BUFFER_TOO_SMALL)
		return efi_fail(EFI_ERROR(st) ? st : EFI_DEVICE_ERROR, "GetMemoryMap (sizing)");
	ld->map_cap = size + MAP_SLACK_DESCS * ld->desc_size;
	st = alloc_pool(ld->map_cap, &ld->map);
	if (EFI_ERROR(st))
		return efi_fail(st, "allocating the memory map buffer");
	ld->region_cap = ld->map_cap / ld->desc_size;
	st = alloc_zeroed(BOOT_EFI_TYPE_BOOTDATA, ld->region_cap * sizeof(struct boot_mem_region),
			  &regions);
	if (EFI_ERROR(st))
		return efi_fail(st, "allocating the memory region array");
	ld->regions = (struct boot_mem_region *)regions;
	ld->map_size = ld->map_cap;
	st = uefi_call_wrapper(g_bs->GetMemoryMap, 5, &ld->map_size, ld->map, &ld->map_key,
			       &ld->desc_size, &ld->desc_ver);
	return EFI_ERROR(st) ? efi_fail(st, "GetMemoryMap") : EFI_SUCCESS;
}

/* Allocate the BOOT_PT block and build the hand-off tables in it. */
static EFI_STATUS build_page_tables(struct loader *ld)
{
	uint64_t top = memmap_top(ld->map, ld->map_size, ld->desc_size);
	uint64_t limit = pt_map_limit(top);
	int la57 = (read_cr4() & CR4_LA57) != 0;
	struct boot_info *bi = ld->bi;
	struct pt_pool pool = { 0, pt_pages_needed(limit, bi->kernel_size, la57), 0 };
	EFI_STATUS st =
	    alloc_pages(AllocateAnyPages, BOOT_EFI_TYPE_BOOT_PT, pool.npages, &pool.base);

	if (EFI_ERROR(st))
		return efi_fail(st, "allocating page tables");
	if (top > limit)
		log_msg("loader: warning: memory map reaches 0x%lx, mapping only "
			"below 0x%lx\n",
			(unsigned long)top, (unsigned long)limit);
	ld->cr3 = pt_build(&pool, limit, bi->kernel_phys, bi->kernel_virt, bi->kernel_size, la57);
	if (!ld->cr3)
		return efi_fail(EFI_OUT_OF_RESOURCES, "building page tables");
	log_msg("loader: page tables: %lu of %lu pages, RAM and direct map up to "
		"%lu GiB%s\n",
		(unsigned long)pool.used, (unsigned long)pool.npages, (unsigned long)(limit >> 30),
		la57 ? ", 5-level (LA57)" : "");
	return EFI_SUCCESS;
}

static EFI_STATUS alloc_stack(struct loader *ld)
{
	EFI_PHYSICAL_ADDRESS base;
	EFI_STATUS st = alloc_zeroed(BOOT_EFI_TYPE_BOOTDATA, STACK_SIZE, &base);

	if (EFI_ERROR(st))
		return efi_fail(st, "allocating the hand-off stack");
	ld->stack_top = base + STACK_SIZE;
	return EFI_SUCCESS;
}

/* ---- step 6: leaving the firmware ---------------------------------------- */

/*
 * GetMemoryMap + ExitBootServices, retried while the map key goes stale.
 * Returns an error only if the very first GetMemoryMap fails (the firmware is
 * still fully usable then); any later failure halts, since after an
 * ExitBootServices attempt only these two calls are allowed.
 */
static EFI_STATUS exit_boot_services(struct loader *ld)
{
	EFI_STATUS st = EFI_SUCCESS;

	for (int i = 0; i < EXIT_TRIES; i++) {
		ld->map_size = ld->map_cap;
		st = uefi_call_wrapper(g_bs->GetMemoryMap, 5, &ld->map_size, ld->map, &ld->map_key,
				       &ld->desc_size, &ld->desc_ver);
		if (EFI_ERROR(st) && i == 0)
			return efi_fail(st, "GetMemoryMap (final)");
		if (EFI_ERROR(st))
			break;
		st = uefi_call_wrapper(g_bs->ExitBootServices, 2, ld->image, ld->map_key);
		con_detach(); /* ConOut is off limits from the first attempt on */
		if (!EFI_ERROR(st)) {
			__asm__ volatile("cli");
			return EFI_SUCCESS;
		}
		if (st != EFI_INVALID_PARAMETER)
			break;
	}
	log_msg("loader: boot failed: ExitBootServices failed (status 0x%lx); halting\n",
		(unsigned long)st);
	halt_forever();
}

/* ---- step 7: the hand-off ------------------------------------------------- */

static void log_regions(const struct loader *ld)
{
	const struct boot_info *bi = ld->bi;
	const struct boot_mem_region *r = ld->regions;
	uint64_t usable = 0;

	for (uint64_t i = 0; i < bi->mem_region_count; i++) {
		if (r[i].type == BOOT_MEM_USABLE)
			usable += r[i].pages;
		if (ld->verbose)
			log_msg("loader:   [0x%012lx-0x%012lx) type %u efi %x\n",
				(unsigned long)r[i].base,
				(unsigned long)(r[i].base + r[i].pages * PAGE_SIZE), r[i].type,
				r[i].efi_type);
	}
	log_msg("loader: memory map: %lu descriptors -> %lu regions, %lu MiB usable\n",
		(unsigned long)(ld->map_size / ld->desc_size), (unsigned long)bi->mem_region_count,
		(unsigned long)(usable * PAGE_SIZE >> 20));
}

/* Switch to the new tables and stack and call the kernel; never returns. */
static void __attribute__((noreturn))
jump_to_kernel(uint64_t cr3, uint64_t stack, uint64_t entry, uint64_t bi)
{
	__asm__ volatile("cli\n\t"
			 "mov %[cr3], %%cr3\n\t"
			 "mov %[stack], %%rsp\n\t"
			 "xor %%ebp, %%ebp\n\t"
			 "call *%[entry]\n\t"
			 "1: cli\n\t"
			 "hlt\n\t"
			 "jmp 1b"
			 :
			 : [cr3] "d"(cr3), [stack] "S"(stack), [entry] "a"(entry), "D"(bi)
			 : "memory");
	__builtin_unreachable();
}

static void __attribute__((noreturn)) hand_off(struct loader *ld)
{
	struct boot_info *bi = ld->bi;

	bi->mem_regions = (uint64_t)ld->regions;
	bi->mem_region_count =
	    memmap_convert(ld->map, ld->map_size, ld->desc_size, ld->regions, ld->region_cap);
	log_regions(ld);
	bi->magic = BOOT_INFO_MAGIC;
	bi->version = BOOT_INFO_VERSION;
	bi->size = sizeof(*bi);
	bi->efi_system_table = (uint64_t)g_st;
	log_msg("loader: boot services exited; entering the kernel at 0x%lx with "
		"boot_info at 0x%lx\n",
		(unsigned long)ld->entry, (unsigned long)bi);
	bi->loader_tsc = rdtsc();
	jump_to_kernel(ld->cr3, ld->stack_top, ld->entry, (uint64_t)bi);
}

/* ---- entry ----------------------------------------------------------------- */

static void banner(void)
{
	char vendor[64];

	ucs2_to_ascii(vendor, sizeof(vendor), g_st->FirmwareVendor);
	log_msg("\nloader: UEFI boot loader, boot_info v%u\n", BOOT_INFO_VERSION);
	log_msg("loader: firmware %s rev 0x%x, UEFI %u.%u\n", vendor, g_st->FirmwareRevision,
		g_st->Hdr.Revision >> 16, (g_st->Hdr.Revision & 0xffff) / 10);
	log_msg("loader: output: %s\n", con_describe());
}

/* `loader: boot failed: <reason>` on one line: the reason is the line the
 * failing step logged last, without its `loader: ` and `error: `. */
static void report_failure(void)
{
	char why[160];
	const char *s = con_last_line();

	for (const char *pre = "loader: "; *pre && *s == *pre; pre++)
		s++;
	if (s[0] == 'e' && s[1] == 'r' && s[2] == 'r' && s[3] == 'o' && s[4] == 'r' &&
	    s[5] == ':' && s[6] == ' ')
		s += 7;
	fmt_buf(why, sizeof(why), "%s", *s ? s : "error");
	log_msg("loader: boot failed: %s\n", why);
	log_msg("loader: returning to the firmware in 3 s\n");
}

static EFI_STATUS open_volume(struct loader *ld)
{
	EFI_STATUS st = vol_open_root(ld->image, g_bs, &ld->root);
	return EFI_ERROR(st) ? efi_fail(st, "opening the boot volume") : st;
}

static EFI_STATUS alloc_boot_info(struct loader *ld)
{
	EFI_PHYSICAL_ADDRESS bi;
	EFI_STATUS st = alloc_zeroed(BOOT_EFI_TYPE_BOOTDATA, sizeof(*ld->bi), &bi);

	if (EFI_ERROR(st))
		return efi_fail(st, "allocating boot_info");
	ld->bi = (struct boot_info *)bi;
	return EFI_SUCCESS;
}

/* Everything up to the exit, in order; an error here goes back to the
 * firmware. The steps that cannot fail log what they found or missed. */
static EFI_STATUS (*const prepare_steps[])(struct loader *) = {
	open_volume,  alloc_boot_info,	  load_kernel, load_initrd,
	load_cmdline, reserve_trampoline, find_rsdp,   find_framebuffer,
	prepare_map,  build_page_tables,  alloc_stack,
};

static EFI_STATUS prepare(struct loader *ld)
{
	for (unsigned i = 0; i < sizeof(prepare_steps) / sizeof(prepare_steps[0]); i++) {
		EFI_STATUS st = prepare_steps[i](ld);
		if (EFI_ERROR(st))
			return st;
	}
	return EFI_SUCCESS;
}

/* Called by GNU-EFI's crt0 (System V ABI) after self-relocation. */
EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st_table)
{
	struct loader ld = { .image = image };
	EFI_STATUS st;

	g_st = st_table;
	g_bs = st_table->BootServices;
	con_init(st_table);
	banner();

	st = prepare(&ld);
	if (!EFI_ERROR(st))
		st = exit_boot_services(&ld);
	if (!EFI_ERROR(st))
		hand_off(&ld);

	if (ld.root)
		uefi_call_wrapper(ld.root->Close, 1, ld.root);
	report_failure();
	uefi_call_wrapper(g_bs->Stall, 1, FAIL_STALL_US);
	release_all();
	return st;
}
