/*
 * drivers/ramdisk.c - see ramdisk.h. The initrd stays where the loader put
 * it (boot data memory, never given to the page allocator) when the disk is
 * the initrd's size; a larger disk (ramdisk.size=) is allocated from the
 * page allocator in 4 MiB pieces, zeroed, with the initrd copied to its
 * start. No lock: sector copies of different callers may interleave, like
 * DMA to the same sectors on real hardware; the file system orders its own
 * I/O.
 */
#include "drivers/ramdisk.h"
#include "boot/boot_info.h"
#include "kernel/cmdline.h"
#include "kernel/errno.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "mm/kmalloc.h"
#include "mm/page.h"
#include "mm/mm.h"

_Static_assert(PAGE_SIZE << MAX_ORDER == RAMDISK_CHUNK_SIZE, "a chunk is a MAX_ORDER block");

static struct block_device rd;
static bool present;
static bool initrd_given; /* the loader handed over an initrd, usable or not */

bool ramdisk_initrd_given(void)
{
	return initrd_given;
}

struct block_device *ramdisk(void)
{
	return present ? &rd : NULL;
}

/* Memory a RAM disk leaves to the kernel: 1/8 of RAM, at least 64 MiB. */
static uint64_t ramdisk_reserve(void)
{
	uint64_t min = 64ul << 20;

	return MAX(min, nr_total_pages() * PAGE_SIZE / 8);
}

uint64_t ramdisk_max_bytes(void)
{
	uint64_t free = nr_free_pages() * PAGE_SIZE, reserve = ramdisk_reserve();

	return free > reserve ? (free - reserve) & ~(uint64_t)(PAGE_SIZE - 1) : 0;
}

/* ---- allocated disks ----------------------------------------------------- */

static uint64_t nr_chunks(uint64_t bytes)
{
	return DIV_ROUND_UP(bytes, RAMDISK_CHUNK_SIZE);
}

/* The page-allocator order of chunk i of a disk of `bytes`. */
static unsigned chunk_order(uint64_t bytes, uint64_t i)
{
	uint64_t size = MIN(RAMDISK_CHUNK_SIZE, bytes - i * RAMDISK_CHUNK_SIZE);
	unsigned order = 0;

	while ((PAGE_SIZE << order) < size)
		order++;
	return order;
}

void bdev_free(struct block_device *b)
{
	uint64_t bytes = b->nr_sectors * SECTOR_SIZE;

	if (!b->chunks)
		return;
	for (uint64_t i = 0; i < nr_chunks(bytes); i++)
		if (b->chunks[i])
			free_pages(b->chunks[i], chunk_order(bytes, i));
	kfree(b->chunks);
	b->chunks = NULL;
	b->nr_sectors = 0;
}

int bdev_alloc(struct block_device *b, uint64_t bytes)
{
	bytes = ALIGN_UP(bytes, PAGE_SIZE);
	memset(b, 0, sizeof(*b));
	if (!bytes)
		return -EINVAL;
	b->chunks = kzalloc(nr_chunks(bytes) * sizeof(*b->chunks));
	if (!b->chunks)
		return -ENOMEM;
	b->nr_sectors = bytes / SECTOR_SIZE;
	for (uint64_t i = 0; i < nr_chunks(bytes); i++) {
		b->chunks[i] = get_free_pages(__GFP_ZERO, chunk_order(bytes, i));
		if (!b->chunks[i]) {
			bdev_free(b);
			return -ENOMEM;
		}
	}
	return 0;
}

/* The direct-map address of byte off of b, and how many bytes follow it
 * contiguously (up to len). */
static uint8_t *bdev_address(struct block_device *b, uint64_t off, uint64_t *len)
{
	uint64_t in_chunk = off & (RAMDISK_CHUNK_SIZE - 1);

	if (b->data)
		return b->data + off;
	*len = MIN(*len, RAMDISK_CHUNK_SIZE - in_chunk);
	return b->chunks[off >> RAMDISK_CHUNK_SHIFT] + in_chunk;
}

void *bdev_block_address(struct block_device *b, uint64_t block)
{
	uint64_t len = 4096;

	return bdev_address(b, block * 4096, &len);
}

/* ---- the boot disk ------------------------------------------------------- */

/* ramdisk.size=: KiB, or a size with K, M or G; "max". false if malformed. */
static bool parse_size(const char *s, uint64_t *bytes, bool *max)
{
	uint64_t v = 0;
	unsigned shift = 10;

	*max = !strcmp(s, "max");
	if (*max)
		return true;
	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (~0ull >> 34) / 10)
			return false; /* more than 2^30 GiB: nonsense anyway */
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (*s == 'K' || *s == 'k')
		shift = 10, s++;
	else if (*s == 'M' || *s == 'm')
		shift = 20, s++;
	else if (*s == 'G' || *s == 'g')
		shift = 30, s++;
	if (*s)
		return false;
	*bytes = v << shift;
	return true;
}

/* The disk size ramdisk.size= asks for (0 if none, or refused). */
static uint64_t wanted_bytes(void)
{
	const char *arg = cmdline_get("ramdisk.size");
	uint64_t bytes = 0, max = ramdisk_max_bytes();
	bool want_max;

	if (!arg)
		return 0;
	if (!parse_size(arg, &bytes, &want_max)) {
		printk("ramdisk: error: ramdisk.size=%s: expected KiB, a size with K, M or G, or "
		       "max\n",
		       arg);
		return 0;
	}
	if (want_max)
		return max;
	bytes = ALIGN_UP(bytes, PAGE_SIZE);
	if (bytes > max) {
		printk("ramdisk: error: ramdisk.size=%s (%lu MiB) is more than memory allows: "
		       "%lu MiB (free memory less %lu MiB for the kernel); ramdisk.size=max takes "
		       "that\n",
		       arg, bytes >> 20, max >> 20, ramdisk_reserve() >> 20);
		return 0;
	}
	return bytes;
}

void ramdisk_init(const struct boot_info *bi)
{
	uint64_t initrd_bytes = 0, want;

	initrd_given = bi->initrd != 0;
	if (initrd_given && bi->initrd_size < SECTOR_SIZE) {
		printk("ramdisk: error: initrd.img of %lu bytes is smaller than one %d-byte "
		       "sector: no RAM disk\n",
		       bi->initrd_size, SECTOR_SIZE);
		return;
	}
	if (initrd_given) {
		if (bi->initrd_size % SECTOR_SIZE)
			printk("ramdisk: warning: initrd.img is %lu bytes, not whole sectors: "
			       "its last %lu bytes are not on the disk\n",
			       bi->initrd_size, bi->initrd_size % SECTOR_SIZE);
		initrd_bytes = bi->initrd_size / SECTOR_SIZE * SECTOR_SIZE;
	}
	want = wanted_bytes();
	if (want && want <= initrd_bytes) {
		printk("ramdisk: note: ramdisk.size=%s is not larger than initrd.img (%lu KiB): "
		       "the disk is the initrd\n",
		       cmdline_get("ramdisk.size"), initrd_bytes / 1024);
		want = 0;
	}
	if (want && bdev_alloc(&rd, want)) {
		printk("ramdisk: error: no memory for %lu KiB%s\n", want / 1024,
		       initrd_bytes ? ": the disk is the initrd" : "");
		want = 0;
	}
	if (want) {
		present = true;
		if (initrd_bytes) {
			bdev_write(&rd, 0, phys_to_virt(bi->initrd), initrd_bytes / SECTOR_SIZE);
			atomic64_set(&rd.bytes_written, 0);
			atomic64_set(&rd.writes, 0);
			printk("ramdisk: %lu MiB, initrd.img (%lu KiB) copied to its start\n",
			       want >> 20, initrd_bytes / 1024);
		} else {
			printk("ramdisk: %lu KiB, empty\n", want / 1024);
		}
		return;
	}
	if (initrd_bytes) {
		rd.data = phys_to_virt(bi->initrd);
		rd.nr_sectors = initrd_bytes / SECTOR_SIZE;
		present = true;
		printk("ramdisk: %lu KiB from initrd.img at %#lx\n", initrd_bytes / 1024,
		       bi->initrd);
	}
}

/* ---- I/O ----------------------------------------------------------------- */

static bool in_range(struct block_device *b, uint64_t sector, uint64_t n)
{
	return sector < b->nr_sectors && n <= b->nr_sectors - sector;
}

int bdev_read(struct block_device *b, uint64_t sector, void *buf, uint64_t n)
{
	uint64_t off = sector * SECTOR_SIZE, left = n * SECTOR_SIZE;
	uint8_t *dst = buf;

	if (!in_range(b, sector, n))
		return -EINVAL;
	while (left) {
		uint64_t len = left;
		const uint8_t *src = bdev_address(b, off, &len);
		memcpy(dst, src, len);
		dst += len;
		off += len;
		left -= len;
	}
	atomic64_add(n * SECTOR_SIZE, &b->bytes_read);
	atomic64_inc(&b->reads);
	return 0;
}

int bdev_write(struct block_device *b, uint64_t sector, const void *buf, uint64_t n)
{
	uint64_t off = sector * SECTOR_SIZE, left = n * SECTOR_SIZE;
	const uint8_t *src = buf;

	if (!in_range(b, sector, n))
		return -EINVAL;
	while (left) {
		uint64_t len = left;
		uint8_t *dst = bdev_address(b, off, &len);
		memcpy(dst, src, len);
		src += len;
		off += len;
		left -= len;
	}
	atomic64_add(n * SECTOR_SIZE, &b->bytes_written);
	atomic64_inc(&b->writes);
	return 0;
}
