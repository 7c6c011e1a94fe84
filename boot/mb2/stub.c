/*
 * boot/mb2/stub.c - the legacy-BIOS boot path: GRUB 2 loads this stub with
 * `multiboot2 /boot/mb2stub.elf <cmdline>` and the kernel and RAM disk as
 * modules (`module2 /boot/kernel.elf kernel`, `module2 /boot/initrd.img
 * initrd`); the stub builds the same struct boot_info as the UEFI loader
 * (boot/loader.c) and enters the kernel under the same contract (end of
 * boot/boot_info.h). Bochs, which boots only a legacy BIOS, runs the kernel
 * this way (tests/bochs.mk).
 *
 * Entry: boot/mb2/entry.asm switched to long mode with the first 4 GiB
 * identity-mapped and calls mb2_main(magic, mbi). GRUB keeps the stub, the
 * MBI (Multiboot2 information) and the modules below 4 GiB; the stub
 * allocates below 4 GiB too, so a physical address is a pointer here.
 *
 * What it does, in order (the same steps as the UEFI loader):
 *   1. Checks the magic and walks the MBI tags: command line, modules,
 *      memory map (E820 as GRUB got it from the BIOS), ACPI RSDP copies,
 *      framebuffer, boot loader name. Every tag is bounds-checked.
 *   2. Validates kernel.elf with boot/elf_check.c, allocates ONE block for
 *      its PT_LOAD segments and copies them (boot_info's kernel_phys/virt).
 *   3. Copies the initrd, the command line and the RSDP into boot-data pages
 *      (the MBI and the module copies are plain usable RAM for the kernel).
 *   4. Reserves the AP trampoline page (the highest free usable page below
 *      0x9f000, as the UEFI loader prefers), the hand-off stack and the page
 *      tables, built by boot/paging.c exactly as the UEFI loader builds them
 *      (identity + direct map of max(4 GiB, top of the map) in 2 MiB pages,
 *      the kernel at its link address in 4 KiB pages).
 *   5. Converts the E820 map into boot_mem_region[]: type 1 usable (shrunk
 *      to whole pages), 3 ACPI reclaim, 4 ACPI NVS, 5 unusable, 7 persistent,
 *      anything else reserved (grown to whole pages; a reserved page wins
 *      over a usable one). efi_type carries the UEFI type with the same
 *      meaning (7 conventional, 9, 10, 8, 14, 0 reserved), so the kernel's
 *      memory-map log reads the same after either loader. A reserved range
 *      above 4 GiB that starts at or above the end of RAM (QEMU's 1 TiB
 *      HyperTransport hole) is device space: it gets efi_type 11
 *      (EfiMemoryMappedIO), which the kernel keeps out of its direct map,
 *      and the loader's tables map up to max(4 GiB, end of RAM). Reserved
 *      ranges below 4 GiB stay ordinary reserved memory, mapped like the
 *      UEFI loader's: SeaBIOS keeps its ACPI tables in one, right after the
 *      last usable page, and the MTRRs make device ranges there uncached
 *      whatever the page tables say. Then every page
 *      the stub allocated is marked with the loader's types (KERNEL,
 *      BOOTDATA, BOOT_PT, TRAMPOLINE; efi_type BOOT_EFI_TYPE_*). Sorted,
 *      non-overlapping, neighbours of equal type merged.
 *   6. Jumps: interrupts off, CR3 = the new tables, RSP = top of the 64 KiB
 *      BOOTDATA stack, RDI = boot_info, call the ELF entry.
 *
 * Allocation: first fit over the E820 usable ranges in [1 MiB, 4 GiB),
 * avoiding every "busy" range: the stub image itself, the MBI, every module
 * and every earlier allocation, and any non-usable E820 range (a BIOS map
 * may overlap). Nothing is ever freed.
 *
 * Failure policy: one line `loader: boot failed: <reason>` on COM1 and the
 * CPU halts (there is no firmware to return to; the test runner stops on the
 * line). Output is serial only: boot/console.c with no UEFI console.
 */
#include "boot/boot_info.h"
#include "boot/console.h"
#include "boot/elf_check.h"
#include "boot/paging.h"

#define MB2_BOOTLOADER_MAGIC 0x36d76289u

enum mb2_tag_type {
	MB2_TAG_END = 0,
	MB2_TAG_CMDLINE = 1,
	MB2_TAG_LOADER_NAME = 2,
	MB2_TAG_MODULE = 3,
	MB2_TAG_MMAP = 6,
	MB2_TAG_FRAMEBUFFER = 8,
	MB2_TAG_EFI64 = 12,
	MB2_TAG_ACPI_OLD = 14,
	MB2_TAG_ACPI_NEW = 15,
};

enum e820_type {
	E820_RAM = 1,
	E820_RESERVED = 2,
	E820_ACPI = 3,
	E820_NVS = 4,
	E820_UNUSABLE = 5,
	E820_PMEM = 7,
};

/* UEFI memory types with the same meaning (UEFI spec, EFI_MEMORY_TYPE). */
#define EFI_RESERVED	 0
#define EFI_CONVENTIONAL 7
#define EFI_UNUSABLE	 8
#define EFI_ACPI_RECLAIM 9
#define EFI_ACPI_NVS	 10
#define EFI_MMIO	 11
#define EFI_PERSISTENT	 14

struct mb2_info {
	uint32_t total_size, reserved;
};

struct mb2_tag {
	uint32_t type, size;
};

struct mb2_tag_string {
	uint32_t type, size;
	char string[];
};

struct mb2_tag_module {
	uint32_t type, size;
	uint32_t mod_start, mod_end;
	char string[];
};

struct mb2_tag_mmap {
	uint32_t type, size;
	uint32_t entry_size, entry_version;
};

struct mb2_mmap_entry {
	uint64_t addr, len;
	uint32_t type, zero;
};

/* GRUB's struct multiboot_tag_framebuffer_common + the RGB colour info. */
struct mb2_tag_framebuffer {
	uint32_t type, size;
	uint64_t addr;
	uint32_t pitch, width, height;
	uint8_t bpp, fb_type;
	uint16_t reserved;
	uint8_t red_pos, red_size, green_pos, green_size, blue_pos, blue_size;
} __attribute__((packed));

#define MB2_FB_TYPE_RGB 1

#define PAGE_SIZE      (4096ULL)
#define PAGES(b)       (((b) + PAGE_SIZE - 1) / PAGE_SIZE)
#define ALIGN_UP(x)    (((x) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))
#define ALIGN_DOWN(x)  ((x) & ~(PAGE_SIZE - 1))
#define LOW_1M	       0x100000ULL
#define LIMIT_4G       0x100000000ULL
#define TRAMPOLINE_MAX 0x9f000ULL
#define STACK_SIZE     (64ULL << 10)
#define MAX_MODULES    8
#define MAX_BUSY       64
#define MAX_MARKS      16
#define RSDP_V1_LEN    20
#define RSDP_MAX_LEN   64
#define CMDLINE_MAX    4096

extern char __stub_start[], __stub_end[];

struct range {
	uint64_t base, end; /* [base, end) */
};

/* What the walk over the MBI found. */
struct mbi {
	const struct mb2_tag_string *cmdline, *loader_name;
	const struct mb2_tag_module *modules[MAX_MODULES];
	unsigned nmodules;
	const struct mb2_tag_mmap *mmap;
	const struct mb2_tag *acpi_old, *acpi_new;
	const struct mb2_tag_framebuffer *fb;
	int efi;
};

static struct mbi mbi;
static struct range busy[MAX_BUSY];
static unsigned nbusy;
static struct boot_mem_region marks[MAX_MARKS]; /* what the stub allocated */
static unsigned nmarks;
static struct boot_info *bi;
static int verbose;

/* ---- freestanding helpers (the compiler may emit calls to these) -------- */

void *memcpy(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;
	while (n--)
		*d++ = *s++;
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;
	if (d < s)
		return memcpy(dst, src, n);
	while (n--)
		d[n] = s[n];
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	uint8_t *d = dst;
	while (n--)
		*d++ = (uint8_t)c;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;
	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x < *y ? -1 : 1;
	return 0;
}

static size_t str_len(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

static int str_eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static void __attribute__((noreturn)) halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
	char buf[256];
	__builtin_va_list ap;

	__builtin_va_start(ap, fmt);
	vfmt_buf(buf, sizeof(buf), fmt, ap);
	__builtin_va_end(ap);
	log_msg("loader: boot failed: %s\n", buf);
	halt_forever();
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

/* ---- step 1: the Multiboot2 information ---------------------------------- */

/* The string of a string-carrying tag, if NUL-terminated inside the tag. */
static int tag_string_ok(const char *s, const struct mb2_tag *t, size_t header)
{
	for (size_t i = 0; i + header < t->size; i++)
		if (s[i] == 0)
			return 1;
	return 0;
}

static void parse_tag(const struct mb2_tag *t)
{
	switch (t->type) {
	case MB2_TAG_CMDLINE:
	case MB2_TAG_LOADER_NAME: {
		const struct mb2_tag_string *s = (const void *)t;
		if (!tag_string_ok(s->string, t, sizeof(*s)))
			fail("Multiboot2 tag %u: string not terminated", t->type);
		if (t->type == MB2_TAG_CMDLINE)
			mbi.cmdline = s;
		else
			mbi.loader_name = s;
		break;
	}
	case MB2_TAG_MODULE: {
		const struct mb2_tag_module *m = (const void *)t;
		if (t->size < sizeof(*m) || !tag_string_ok(m->string, t, sizeof(*m)))
			fail("Multiboot2 module tag malformed (size %u)", t->size);
		if (m->mod_end < m->mod_start)
			fail("module \"%s\" ends before it starts", m->string);
		if (mbi.nmodules == MAX_MODULES)
			fail("more than %u modules", MAX_MODULES);
		mbi.modules[mbi.nmodules++] = m;
		break;
	}
	case MB2_TAG_MMAP: {
		const struct mb2_tag_mmap *mm = (const void *)t;
		if (t->size < sizeof(*mm) || mm->entry_size < sizeof(struct mb2_mmap_entry))
			fail("Multiboot2 memory map tag malformed (entry size %u)",
			     t->size < sizeof(*mm) ? 0 : mm->entry_size);
		mbi.mmap = mm;
		break;
	}
	case MB2_TAG_FRAMEBUFFER:
		if (t->size >= sizeof(struct mb2_tag_framebuffer) - 6)
			mbi.fb = (const void *)t;
		break;
	case MB2_TAG_ACPI_OLD:
		if (t->size >= sizeof(*t) + RSDP_V1_LEN)
			mbi.acpi_old = t;
		break;
	case MB2_TAG_ACPI_NEW:
		if (t->size >= sizeof(*t) + RSDP_V1_LEN)
			mbi.acpi_new = t;
		break;
	case MB2_TAG_EFI64:
		mbi.efi = 1;
		break;
	default:
		break;
	}
}

static void parse_mbi(uint32_t magic, uint64_t addr)
{
	const struct mb2_info *info = (const void *)addr;

	if (magic != MB2_BOOTLOADER_MAGIC)
		fail("not started by a Multiboot2 boot loader (magic 0x%x)", magic);
	if (!addr || (addr & 7) || info->total_size < sizeof(*info) + sizeof(struct mb2_tag))
		fail("bad Multiboot2 information at 0x%lx", (unsigned long)addr);
	uint64_t end = addr + info->total_size;
	const struct mb2_tag *t = (const void *)(info + 1);
	for (;;) {
		uint64_t at = (uint64_t)t;
		if (at + sizeof(*t) > end || t->size < sizeof(*t) || t->size > end - at)
			fail("Multiboot2 tag at 0x%lx runs past the information (%u bytes)",
			     (unsigned long)at, info->total_size);
		if (t->type == MB2_TAG_END)
			break;
		parse_tag(t);
		t = (const void *)((at + t->size + 7) & ~7ULL);
	}
	busy[nbusy++] = (struct range){ addr, end };
	log_msg("loader: started by \"%s\" (Multiboot2), information at 0x%lx, %u bytes\n",
		mbi.loader_name ? mbi.loader_name->string : "?", (unsigned long)addr,
		info->total_size);
}

/* ---- the E820 map and allocation ----------------------------------------- */

static unsigned mmap_count(void)
{
	return (mbi.mmap->size - sizeof(*mbi.mmap)) / mbi.mmap->entry_size;
}

static const struct mb2_mmap_entry *mmap_entry(unsigned i)
{
	return (const void *)((const uint8_t *)(mbi.mmap + 1) + (uint64_t)i * mbi.mmap->entry_size);
}

/* The end of a busy range (or non-usable E820 range) overlapping [a, e), or 0. */
static uint64_t overlap_end(uint64_t a, uint64_t e)
{
	for (unsigned i = 0; i < nbusy; i++)
		if (busy[i].base < e && a < busy[i].end)
			return busy[i].end;
	for (unsigned i = 0; i < mmap_count(); i++) {
		const struct mb2_mmap_entry *m = mmap_entry(i);
		if (m->type != E820_RAM && m->len && m->addr < e && a < m->addr + m->len)
			return m->addr + m->len;
	}
	return 0;
}

/* Lowest free page-aligned [a, a + size) in usable RAM within [lo, hi), or 0. */
static uint64_t find_free(uint64_t size, uint64_t lo, uint64_t hi)
{
	for (unsigned i = 0; i < mmap_count(); i++) {
		const struct mb2_mmap_entry *m = mmap_entry(i);
		if (m->type != E820_RAM)
			continue;
		uint64_t s = ALIGN_UP(m->addr), e = ALIGN_DOWN(m->addr + m->len);
		if (s < lo)
			s = lo;
		if (e > hi)
			e = hi;
		while (s < e && size <= e - s) {
			uint64_t skip = overlap_end(s, s + size);
			if (!skip)
				return s;
			s = ALIGN_UP(skip);
		}
	}
	return 0;
}

static void mark(uint64_t base, uint64_t bytes, uint32_t efi_type, uint32_t type)
{
	if (nmarks == MAX_MARKS || nbusy == MAX_BUSY)
		fail("too many allocations");
	marks[nmarks++] = (struct boot_mem_region){ base, PAGES(bytes), type, efi_type };
	busy[nbusy++] = (struct range){ base, base + PAGES(bytes) * PAGE_SIZE };
}

/* Zeroed pages above 1 MiB and below 4 GiB, marked with a loader type. */
static uint64_t alloc_zeroed(uint64_t bytes, uint32_t efi_type, uint32_t type, const char *what)
{
	uint64_t size = PAGES(bytes) * PAGE_SIZE;
	uint64_t a = find_free(size, LOW_1M, LIMIT_4G);

	if (!a)
		fail("out of memory: no %lu KiB of free RAM below 4 GiB for %s",
		     (unsigned long)(size >> 10), what);
	memset((void *)a, 0, size);
	mark(a, size, efi_type, type);
	return a;
}

static uint64_t alloc_bootdata(uint64_t bytes, const char *what)
{
	return alloc_zeroed(bytes, BOOT_EFI_TYPE_BOOTDATA, BOOT_MEM_BOOTDATA, what);
}

/* ---- step 2/3: kernel, initrd, command line ------------------------------ */

/* The module whose string is `name`, else the `index`-th one, else NULL. */
static const struct mb2_tag_module *find_module(const char *name, unsigned index)
{
	for (unsigned i = 0; i < mbi.nmodules; i++)
		if (str_eq(mbi.modules[i]->string, name))
			return mbi.modules[i];
	for (unsigned i = 0; i < mbi.nmodules; i++)
		if (mbi.modules[i]->string[0] == 0 && index-- == 0)
			return mbi.modules[i];
	return 0;
}

static uint64_t entry_point;

static void load_kernel(void)
{
	const struct mb2_tag_module *m = find_module("kernel", 0);
	struct kernel_layout kl;
	char why[160];

	if (!m)
		fail("no kernel module (grub.cfg needs `module2 /boot/kernel.elf kernel`)");
	const void *file = (const void *)(uint64_t)m->mod_start;
	uint64_t size = m->mod_end - m->mod_start;
	if (elf_check(file, size, &kl, why, sizeof(why)))
		fail("kernel.elf: %s", why);
	uint64_t phys = alloc_zeroed(kl.size, BOOT_EFI_TYPE_KERNEL, BOOT_MEM_KERNEL, "the kernel");
	elf_load(file, &kl, (void *)phys);
	bi->kernel_phys = phys;
	bi->kernel_virt = kl.virt_lo;
	bi->kernel_size = kl.size;
	entry_point = kl.entry;
	log_msg("loader: kernel.elf: %lu bytes, %u PT_LOAD, virt 0x%lx size 0x%lx at phys 0x%lx, "
		"entry 0x%lx\n",
		(unsigned long)size, kl.nload, (unsigned long)kl.virt_lo, (unsigned long)kl.size,
		(unsigned long)phys, (unsigned long)kl.entry);
}

/* The RAM disk: copied into BOOTDATA pages with a zero byte after it, as the
 * UEFI loader leaves it. */
static void load_initrd(void)
{
	const struct mb2_tag_module *m = find_module("initrd", 1);

	if (!m) {
		log_msg("loader: no initrd module, continuing without it\n");
		return;
	}
	uint64_t size = m->mod_end - m->mod_start;
	uint64_t a = alloc_bootdata(size + 1, "initrd.img");
	memcpy((void *)a, (const void *)(uint64_t)m->mod_start, size);
	bi->initrd = a;
	bi->initrd_size = size;
	log_msg("loader: initrd.img: %lu bytes at 0x%lx\n", (unsigned long)size, (unsigned long)a);
}

/* Copy the command line, tabs and line breaks as spaces, trailing blanks cut. */
static void load_cmdline(void)
{
	const char *s = mbi.cmdline ? mbi.cmdline->string : "";
	size_t len = str_len(s);

	if (len >= CMDLINE_MAX)
		fail("command line of %lu bytes (at most %u)", (unsigned long)len, CMDLINE_MAX - 1);
	char *d = (char *)alloc_bootdata(len + 1, "the command line");
	for (size_t i = 0; i < len; i++)
		d[i] = (s[i] == '\t' || s[i] == '\r' || s[i] == '\n') ? ' ' : s[i];
	while (len && d[len - 1] == ' ')
		len--;
	d[len] = 0;
	bi->cmdline = (uint64_t)d;
	bi->cmdline_len = len;
	verbose = has_token(d, "loader.verbose");
	log_msg("loader: cmdline: \"%s\"\n", d);
}

/* ---- step 4: trampoline, ACPI, framebuffer -------------------------------- */

static void reserve_trampoline(void)
{
	for (uint64_t p = TRAMPOLINE_MAX; p >= PAGE_SIZE; p -= PAGE_SIZE) {
		if (overlap_end(p, p + PAGE_SIZE))
			continue;
		for (unsigned i = 0; i < mmap_count(); i++) {
			const struct mb2_mmap_entry *m = mmap_entry(i);
			if (m->type == E820_RAM && m->addr <= p &&
			    p + PAGE_SIZE <= m->addr + m->len) {
				mark(p, PAGE_SIZE, BOOT_EFI_TYPE_TRAMPOLINE, BOOT_MEM_TRAMPOLINE);
				bi->trampoline = p;
				log_msg("loader: AP trampoline page at 0x%lx\n", (unsigned long)p);
				return;
			}
		}
	}
	log_msg("loader: warning: no free page below 1 MiB for the AP trampoline: the kernel "
		"will run on one CPU\n");
}

/* A 16-bit load from a low physical address (GCC rejects a constant
 * pointer into page 0 as a null dereference). */
static uint16_t read_u16(uint64_t phys)
{
	uint16_t v;
	__asm__ volatile("movw (%1), %0" : "=r"(v) : "r"(phys) : "memory");
	return v;
}

static int rsdp_sum_ok(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += p[i];
	return s == 0;
}

/* The BIOS areas where an RSDP lives (ACPI spec 5.2.5.1): the first KiB of
 * the EBDA, then 0xe0000-0xfffff, on 16-byte boundaries. */
static uint64_t scan_rsdp(void)
{
	uint64_t ebda = (uint64_t)read_u16(0x40e) << 4; /* BDA: EBDA segment */
	struct range areas[2] = { { ebda, ebda + 1024 }, { 0xe0000, 0x100000 } };

	for (int a = ebda >= 0x80000 && ebda < 0xa0000 ? 0 : 1; a < 2; a++)
		for (uint64_t p = areas[a].base; p + RSDP_V1_LEN <= areas[a].end; p += 16)
			if (!memcmp((const void *)p, "RSD PTR ", 8) &&
			    rsdp_sum_ok((const void *)p, RSDP_V1_LEN))
				return p;
	return 0;
}

/* GRUB hands over copies of the RSDP in the MBI, which the kernel will
 * reuse as RAM: keep the copy in a BOOTDATA page. */
static void find_rsdp(void)
{
	const struct mb2_tag *t = mbi.acpi_new ? mbi.acpi_new : mbi.acpi_old;

	if (t) {
		size_t len = t->size - sizeof(*t);
		if (len > RSDP_MAX_LEN)
			len = RSDP_MAX_LEN;
		uint64_t a = alloc_bootdata(RSDP_MAX_LEN, "the RSDP");
		memcpy((void *)a, t + 1, len);
		bi->rsdp = a;
		log_msg("loader: ACPI %s RSDP (GRUB's copy) at 0x%lx\n",
			t == mbi.acpi_new ? "2.0" : "1.0", (unsigned long)a);
		return;
	}
	bi->rsdp = scan_rsdp();
	if (bi->rsdp)
		log_msg("loader: ACPI RSDP found in the BIOS area at 0x%lx\n",
			(unsigned long)bi->rsdp);
	else
		log_msg("loader: warning: no ACPI RSDP\n");
}

static uint32_t field_mask(uint8_t pos, uint8_t size)
{
	return size >= 32 ? ~0u : ((1u << size) - 1) << pos;
}

static void find_framebuffer(void)
{
	const struct mb2_tag_framebuffer *f = mbi.fb;

	if (!f || f->fb_type != MB2_FB_TYPE_RGB || f->bpp != 32 || f->size < sizeof(*f) ||
	    !f->addr) {
		log_msg("loader: no 32-bit linear framebuffer (%s): no framebuffer\n",
			!f		  ? "no framebuffer tag"
			: f->fb_type == 2 ? "EGA text mode"
					  : "unsupported");
		return;
	}
	bi->fb_red_mask = field_mask(f->red_pos, f->red_size);
	bi->fb_green_mask = field_mask(f->green_pos, f->green_size);
	bi->fb_blue_mask = field_mask(f->blue_pos, f->blue_size);
	if (bi->fb_red_mask == 0xff0000 && bi->fb_green_mask == 0xff00 && bi->fb_blue_mask == 0xff)
		bi->fb_format = BOOT_FB_BGRX;
	else if (bi->fb_red_mask == 0xff && bi->fb_green_mask == 0xff00 &&
		 bi->fb_blue_mask == 0xff0000)
		bi->fb_format = BOOT_FB_RGBX;
	else
		bi->fb_format = BOOT_FB_BITMASK;
	bi->fb_base = f->addr;
	bi->fb_width = f->width;
	bi->fb_height = f->height;
	bi->fb_pitch = f->pitch;
	bi->fb_bpp = 32;
	bi->fb_size = (uint64_t)f->pitch * f->height;
	log_msg("loader: framebuffer %ux%u pitch %u format %u at 0x%lx (%lu bytes)\n", bi->fb_width,
		bi->fb_height, bi->fb_pitch, bi->fb_format, (unsigned long)bi->fb_base,
		(unsigned long)bi->fb_size);
}

/* ---- step 5: the memory map ------------------------------------------------ */

static struct boot_mem_region *regions;
static uint64_t nregions, region_cap;

static uint64_t region_end(const struct boot_mem_region *r)
{
	return r->base + r->pages * PAGE_SIZE;
}

/* Make [base, end) one region of this type: trim or split whatever it
 * overlapped. */
static void paint(uint64_t base, uint64_t end, uint32_t type, uint32_t efi_type)
{
	if (base >= end)
		return;
	for (uint64_t i = 0; i < nregions; i++) {
		struct boot_mem_region *r = &regions[i];
		uint64_t rs = r->base, re = region_end(r);
		if (re <= base || end <= rs)
			continue;
		if (rs < base && end < re) { /* split: the tail becomes a new entry */
			if (nregions == region_cap)
				fail("memory map too large");
			regions[nregions++] = (struct boot_mem_region){ end, (re - end) / PAGE_SIZE,
									r->type, r->efi_type };
			r->pages = (base - rs) / PAGE_SIZE;
		} else if (rs < base) {
			r->pages = (base - rs) / PAGE_SIZE;
		} else if (end < re) {
			r->base = end;
			r->pages = (re - end) / PAGE_SIZE;
		} else {
			r->pages = 0; /* covered: dropped below */
		}
	}
	if (nregions == region_cap)
		fail("memory map too large");
	regions[nregions++] =
	    (struct boot_mem_region){ base, (end - base) / PAGE_SIZE, type, efi_type };
}

static int e820_is_ram(uint32_t type)
{
	return type == E820_RAM || type == E820_ACPI || type == E820_NVS || type == E820_PMEM;
}

/* End of the highest RAM-like E820 range (usable, ACPI, NVS, persistent). */
static uint64_t ram_top(void)
{
	uint64_t top = 0;

	for (unsigned i = 0; i < mmap_count(); i++) {
		const struct mb2_mmap_entry *m = mmap_entry(i);
		if (e820_is_ram(m->type) && m->len && m->addr + m->len > top)
			top = m->addr + m->len;
	}
	return top;
}

static void e820_kind(const struct mb2_mmap_entry *m, uint32_t *type, uint32_t *efi)
{
	uint32_t e820 = m->type;

	switch (e820) {
	case E820_RAM:
		*type = BOOT_MEM_USABLE, *efi = EFI_CONVENTIONAL;
		break;
	case E820_ACPI:
		*type = BOOT_MEM_ACPI_RECLAIM, *efi = EFI_ACPI_RECLAIM;
		break;
	case E820_NVS:
		*type = BOOT_MEM_ACPI_NVS, *efi = EFI_ACPI_NVS;
		break;
	case E820_UNUSABLE:
		*type = BOOT_MEM_UNUSABLE, *efi = EFI_UNUSABLE;
		break;
	case E820_PMEM:
		*type = BOOT_MEM_PERSISTENT, *efi = EFI_PERSISTENT;
		break;
	default:
		*type = BOOT_MEM_RESERVED;
		*efi = m->addr >= LIMIT_4G && m->addr >= ram_top() ? EFI_MMIO : EFI_RESERVED;
		break;
	}
}

static void sort_and_merge(void)
{
	uint64_t m = 0;

	for (uint64_t i = 1; i < nregions; i++) { /* insertion sort by base */
		struct boot_mem_region key = regions[i];
		uint64_t j = i;
		for (; j > 0 && regions[j - 1].base > key.base; j--)
			regions[j] = regions[j - 1];
		regions[j] = key;
	}
	for (uint64_t i = 0; i < nregions; i++) {
		struct boot_mem_region r = regions[i];
		if (!r.pages)
			continue;
		if (m && region_end(&regions[m - 1]) == r.base && regions[m - 1].type == r.type &&
		    regions[m - 1].efi_type == r.efi_type) {
			regions[m - 1].pages += r.pages;
			continue;
		}
		regions[m++] = r;
	}
	nregions = m;
}

static void build_memory_map(void)
{
	unsigned n = mmap_count();
	uint64_t usable = 0;
	uint32_t type, efi;

	/* usable first (whole pages inside), then the rest over it (whole pages
	 * around), then the stub's allocations */
	for (int pass = 0; pass < 2; pass++)
		for (unsigned i = 0; i < n; i++) {
			const struct mb2_mmap_entry *m = mmap_entry(i);
			if ((m->type == E820_RAM) != (pass == 0) || !m->len)
				continue;
			e820_kind(m, &type, &efi);
			if (pass == 0)
				paint(ALIGN_UP(m->addr), ALIGN_DOWN(m->addr + m->len), type, efi);
			else
				paint(ALIGN_DOWN(m->addr), ALIGN_UP(m->addr + m->len), type, efi);
		}
	for (unsigned i = 0; i < nmarks; i++)
		paint(marks[i].base, region_end(&marks[i]), marks[i].type, marks[i].efi_type);
	sort_and_merge();
	for (uint64_t i = 0; i < nregions; i++) {
		if (regions[i].type == BOOT_MEM_USABLE)
			usable += regions[i].pages;
		if (verbose)
			log_msg("loader:   [0x%012lx-0x%012lx) type %u efi %x\n",
				(unsigned long)regions[i].base,
				(unsigned long)region_end(&regions[i]), regions[i].type,
				regions[i].efi_type);
	}
	bi->mem_regions = (uint64_t)regions;
	bi->mem_region_count = nregions;
	log_msg("loader: memory map: %u E820 entries -> %lu regions, %lu MiB usable\n", n,
		(unsigned long)nregions, (unsigned long)(usable * PAGE_SIZE >> 20));
}

/* ---- step 4/6: tables, stack, the jump ------------------------------------- */

static uint64_t build_page_tables(void)
{
	uint64_t top = ram_top(), limit = pt_map_limit(top);
	struct pt_pool pool = { 0, pt_pages_needed(limit, bi->kernel_size, 0), 0 };
	uint64_t cr3;

	pool.base = alloc_zeroed(pool.npages * PAGE_SIZE, BOOT_EFI_TYPE_BOOT_PT, BOOT_MEM_BOOT_PT,
				 "page tables");
	if (top > limit)
		log_msg("loader: warning: memory map reaches 0x%lx, mapping only below 0x%lx\n",
			(unsigned long)top, (unsigned long)limit);
	cr3 = pt_build(&pool, limit, bi->kernel_phys, bi->kernel_virt, bi->kernel_size, 0);
	if (!cr3)
		fail("building page tables: pool of %lu pages too small",
		     (unsigned long)pool.npages);
	log_msg("loader: page tables: %lu of %lu pages, RAM and direct map up to %lu GiB\n",
		(unsigned long)pool.used, (unsigned long)pool.npages, (unsigned long)(limit >> 30));
	return cr3;
}

static void __attribute__((noreturn))
jump_to_kernel(uint64_t cr3, uint64_t stack, uint64_t entry, uint64_t info)
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
			 : [cr3] "d"(cr3), [stack] "S"(stack), [entry] "a"(entry), "D"(info)
			 : "memory");
	__builtin_unreachable();
}

static EFI_SYSTEM_TABLE no_firmware; /* console.c with no ConOut: serial only */

void mb2_main(uint32_t magic, uint32_t mbi_addr)
{
	con_init(&no_firmware);
	log_msg("\nloader: Multiboot2 stub for legacy BIOS, boot_info v%u\n", BOOT_INFO_VERSION);
	busy[nbusy++] = (struct range){ (uint64_t)__stub_start, (uint64_t)__stub_end };
	parse_mbi(magic, mbi_addr);
	if (!mbi.mmap)
		fail("no memory map from the boot loader (Multiboot2 tag 6)");
	for (unsigned i = 0; i < mbi.nmodules; i++)
		busy[nbusy++] = (struct range){ ALIGN_DOWN((uint64_t)mbi.modules[i]->mod_start),
						ALIGN_UP((uint64_t)mbi.modules[i]->mod_end) };
	if (mbi.efi)
		log_msg("loader: note: started from UEFI GRUB; boot services are gone, the "
			"kernel gets no system table\n");

	bi = (struct boot_info *)alloc_bootdata(sizeof(*bi), "boot_info");
	region_cap = 2 * (uint64_t)mmap_count() + 2 * MAX_MARKS + 8;
	regions = (struct boot_mem_region *)alloc_bootdata(region_cap * sizeof(*regions),
							   "the memory region array");
	load_kernel();
	load_initrd();
	load_cmdline();
	reserve_trampoline();
	find_rsdp();
	find_framebuffer();
	uint64_t cr3 = build_page_tables();
	uint64_t stack = alloc_bootdata(STACK_SIZE, "the hand-off stack") + STACK_SIZE;
	build_memory_map();

	bi->magic = BOOT_INFO_MAGIC;
	bi->version = BOOT_INFO_VERSION;
	bi->size = sizeof(*bi);
	bi->efi_system_table = 0;
	log_msg("loader: entering the kernel at 0x%lx with boot_info at 0x%lx\n",
		(unsigned long)entry_point, (unsigned long)bi);
	bi->loader_tsc = rdtsc();
	jump_to_kernel(cr3, stack, entry_point, (uint64_t)bi);
}
