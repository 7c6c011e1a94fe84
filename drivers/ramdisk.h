/*
 * drivers/ramdisk.h - the RAM block device: fixed 512-byte sectors, backed
 * by the boot loader's initrd.img when there is one (so the disk has content
 * at boot), or by memory from the page allocator: empty with the size of
 * ramdisk.size=, or that size with the initrd copied to its start (the file
 * system on it then grows to the disk at mount). Every access is
 * bounds-checked and counted.
 *
 * ramdisk.size= takes KiB, or a size with a suffix K, M or G, or "max": as
 * large as memory allows, which is the free memory less a reserve for the
 * kernel (ramdisk_max_bytes: 1/8 of RAM, at least 64 MiB). A larger request
 * is refused with a message, and the disk is then the initrd alone (or
 * none).
 */
#ifndef DRIVERS_RAMDISK_H
#define DRIVERS_RAMDISK_H

#include "kernel/compiler.h"
#include "kernel/atomic.h"

#define SECTOR_SIZE	 512
#define SECTORS_PER_PAGE (4096 / SECTOR_SIZE)

/* A disk allocated by bdev_alloc is made of pieces of this size (one
 * largest page-allocator block each), so it need not be contiguous. */
#define RAMDISK_CHUNK_SHIFT 22
#define RAMDISK_CHUNK_SIZE  (1ull << RAMDISK_CHUNK_SHIFT) /* 4 MiB */

struct block_device {
	uint8_t *data;	  /* contiguous backing (the initrd in place, a test's
			   * buffer), or NULL: the chunks below */
	uint8_t **chunks; /* [DIV_ROUND_UP(bytes, RAMDISK_CHUNK_SIZE)] direct-map
			   * addresses (bdev_alloc) */
	uint64_t nr_sectors;
	atomic64_t bytes_read, bytes_written, reads, writes;
};

struct boot_info;
void ramdisk_init(const struct boot_info *bi);
struct block_device *ramdisk(void); /* NULL if none */
/* The loader handed over an initrd.img (even one too small to use): a disk
 * that then does not mount is an error, not "no file system". */
bool ramdisk_initrd_given(void);
/* The largest RAM disk ramdisk.size= may ask for now (bytes). */
uint64_t ramdisk_max_bytes(void);

/* A zeroed disk of `bytes` (rounded up to 4096) in RAMDISK_CHUNK_SIZE
 * pieces; 0 or -ENOMEM (nothing kept). bdev_free gives the memory back. */
int bdev_alloc(struct block_device *b, uint64_t bytes);
void bdev_free(struct block_device *b);
/* The direct-map address of 4096-byte block `block` of b (in range), for
 * code that edits a disk in place (tests that corrupt a copy). */
void *bdev_block_address(struct block_device *b, uint64_t block);

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
