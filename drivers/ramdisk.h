/*
 * drivers/ramdisk.h - the RAM block device: fixed 512-byte sectors, backed
 * by the boot loader's initrd.img when there is one (so the disk has content
 * at boot), or empty with a size from the command line (ramdisk.size=KiB).
 * Every access is bounds-checked and counted.
 */
#ifndef DRIVERS_RAMDISK_H
#define DRIVERS_RAMDISK_H

#include "kernel/compiler.h"
#include "kernel/atomic.h"

#define SECTOR_SIZE	 512
#define SECTORS_PER_PAGE (4096 / SECTOR_SIZE)

struct block_device {
	uint8_t *data; /* direct-map address of the backing memory */
	uint64_t nr_sectors;
	atomic64_t bytes_read, bytes_written, reads, writes;
};

struct boot_info;
void ramdisk_init(const struct boot_info *bi);
struct block_device *ramdisk(void); /* NULL if none */
/* The loader handed over an initrd.img (even one too small to use): a disk
 * that then does not mount is an error, not "no file system". */
bool ramdisk_initrd_given(void);

/* Return 0, or -EINVAL for a range outside the device. */
int bdev_read(struct block_device *b, uint64_t sector, void *buf, uint64_t nsectors);
int bdev_write(struct block_device *b, uint64_t sector, const void *buf, uint64_t nsectors);
static inline int bdev_read_block(struct block_device *b, uint64_t block, void *buf)
{
	return bdev_read(b, block * SECTORS_PER_PAGE, buf, SECTORS_PER_PAGE);
}
static inline int bdev_write_block(struct block_device *b, uint64_t block, const void *buf)
{
	return bdev_write(b, block * SECTORS_PER_PAGE, buf, SECTORS_PER_PAGE);
}

#endif
