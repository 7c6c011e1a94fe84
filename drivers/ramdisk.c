/*
 * drivers/ramdisk.c - see ramdisk.h. The initrd stays where the loader put
 * it (boot data memory, never given to the page allocator); an empty disk
 * is allocated from the page allocator as one contiguous run per 4 MiB.
 * No lock: sector copies of different callers may interleave, like DMA to
 * the same sectors on real hardware; the file system orders its own I/O.
 */
#include "drivers/ramdisk.h"
#include "boot/boot_info.h"
#include "kernel/cmdline.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "mm/page.h"
#include "mm/mm.h"

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

void ramdisk_init(const struct boot_info *bi)
{
	initrd_given = bi->initrd != 0;
	if (initrd_given && bi->initrd_size < SECTOR_SIZE)
		printk("ramdisk: error: initrd.img of %lu bytes is smaller than one %d-byte "
		       "sector: no RAM disk\n",
		       bi->initrd_size, SECTOR_SIZE);
	if (initrd_given && bi->initrd_size >= SECTOR_SIZE) {
		if (bi->initrd_size % SECTOR_SIZE)
			printk("ramdisk: warning: initrd.img is %lu bytes, not whole sectors: "
			       "its last %lu bytes are not on the disk\n",
			       bi->initrd_size, bi->initrd_size % SECTOR_SIZE);
		rd.data = phys_to_virt(bi->initrd);
		rd.nr_sectors = bi->initrd_size / SECTOR_SIZE;
		present = true;
		printk("ramdisk: %lu KiB from initrd.img at %#lx\n", bi->initrd_size / 1024,
		       bi->initrd);
		return;
	}
	unsigned long kib = cmdline_ulong("ramdisk.size", 0);
	if (!kib || initrd_given)
		return;
	unsigned order = 0;
	while ((PAGE_SIZE << order) < kib * 1024 && order < MAX_ORDER)
		order++;
	rd.data = get_free_pages(__GFP_ZERO, order);
	if (!rd.data) {
		printk("ramdisk: no memory for %lu KiB\n", kib);
		return;
	}
	rd.nr_sectors = (PAGE_SIZE << order) / SECTOR_SIZE;
	present = true;
	printk("ramdisk: %lu KiB, empty\n", (PAGE_SIZE << order) / 1024);
}

static bool in_range(struct block_device *b, uint64_t sector, uint64_t n)
{
	return sector < b->nr_sectors && n <= b->nr_sectors - sector;
}

int bdev_read(struct block_device *b, uint64_t sector, void *buf, uint64_t n)
{
	if (!in_range(b, sector, n))
		return -EINVAL;
	memcpy(buf, b->data + sector * SECTOR_SIZE, n * SECTOR_SIZE);
	atomic64_add(n * SECTOR_SIZE, &b->bytes_read);
	atomic64_inc(&b->reads);
	return 0;
}

int bdev_write(struct block_device *b, uint64_t sector, const void *buf, uint64_t n)
{
	if (!in_range(b, sector, n))
		return -EINVAL;
	memcpy(b->data + sector * SECTOR_SIZE, buf, n * SECTOR_SIZE);
	atomic64_add(n * SECTOR_SIZE, &b->bytes_written);
	atomic64_inc(&b->writes);
	return 0;
}
