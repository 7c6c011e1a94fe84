/*
 * tools/sfs_mkfs_lib.h - build an SFS image in a memory buffer (host only).
 *
 * The core of mkfs_sfs, also used by the host tests to make images that
 * they then corrupt. The image is a caller-owned buffer of whole 4096-byte
 * blocks; every function keeps the bitmap, the inodes and the directories
 * consistent, and sfs_mkfs_finish() writes the free counts and the
 * superblock checksum, after which the image passes sfs_check().
 *
 * Paths are absolute or relative to the root ("/a/b" or "a/b"); empty
 * components are skipped. Errors are negative errno values, with a message
 * in fs->err; after an error other than a bad argument (-EINVAL, -EEXIST,
 * -ENOENT, -ENOTDIR) the image may hold allocated but unused blocks:
 * discard it.
 */
#ifndef TOOLS_SFS_MKFS_LIB_H
#define TOOLS_SFS_MKFS_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/fs/sfs_format.h"

struct sfs_mkfs {
	uint8_t *img;	     /* nr_blocks * SFS_BLOCK_SIZE bytes */
	uint32_t nr_blocks;  /* = the superblock's */
	uint32_t max_blocks; /* = the superblock's: the bitmap's size */
	uint32_t nr_inodes;  /* table slots, slot 0 included */
	uint32_t next_block; /* allocation cursor (first free data block) */
	bool sparse;	     /* add_file: all-zero blocks become holes */
	char err[256];
};

/* Default number of usable inodes for an image of nr_blocks blocks. */
uint32_t sfs_mkfs_default_inodes(uint32_t nr_blocks);

/*
 * Formats img (img_size bytes, rounded down to whole blocks) as an empty
 * file system with at least `inodes` usable inodes (0: the default); the
 * inode table is filled up to a whole block. max_blocks = nr_blocks (it
 * cannot grow). Needs at least 4 blocks.
 */
int sfs_mkfs_format(struct sfs_mkfs *fs, void *img, size_t img_size, uint32_t inodes);

struct sfs_mkfs_opts {
	uint32_t inodes;     /* usable inodes, the root included; 0: the default */
	uint64_t max_blocks; /* the file system may grow to this; 0 or less than
			      * the image: the image's size */
	bool img_zeroed;     /* img is all zero already (e.g. calloc'd): write
			      * only the blocks used, so the pages of a large
			      * image that stay zero are never touched */
};

/* sfs_mkfs_format with options; -EFBIG if max_blocks needs more than 32 bits,
 * -ENOSPC if the bitmap for max_blocks leaves no room in the image. */
int sfs_mkfs_format_opts(struct sfs_mkfs *fs, void *img, size_t img_size,
			 const struct sfs_mkfs_opts *opts);

/* mkdir -p: creates the directory path and its missing parents; *ino (if
 * not NULL) gets the directory's inode. An existing directory is fine. */
int sfs_mkfs_mkdir(struct sfs_mkfs *fs, const char *path, uint32_t *ino);

/* Creates the regular file path (parents as needed; it must not exist) with
 * size bytes of data; data == NULL makes a sparse file (all holes), and so
 * do blocks of zeros if fs->sparse is set. Files of any size up to
 * SFS_MAX_FILE_SIZE: the blocks past the direct ones go through the single,
 * double and triple indirect blocks. */
int sfs_mkfs_add_file(struct sfs_mkfs *fs, const char *path, const void *data, uint64_t size,
		      uint32_t *ino);

/* Writes len bytes of data at byte offset off of the regular file ino
 * (allocating its blocks and index blocks; blocks of zeros stay holes if
 * fs->sparse is set and they are not mapped yet). The file's size does not
 * change: off + len must be within it. */
int sfs_mkfs_write(struct sfs_mkfs *fs, uint32_t ino, uint64_t off, const void *data, uint64_t len);

/* Creates the symbolic link path (parents as needed; it must not exist) to
 * target (1..SFS_SYMLINK_MAX bytes, stored as the link's data). */
int sfs_mkfs_symlink(struct sfs_mkfs *fs, const char *path, const char *target, uint32_t *ino);

/* Adds a hard link path to the regular file (or symbolic link) ino. */
int sfs_mkfs_link(struct sfs_mkfs *fs, const char *path, uint32_t ino);

/* Resolves path to an inode number; -ENOENT if missing. */
int sfs_mkfs_lookup(struct sfs_mkfs *fs, const char *path, uint32_t *ino);

/* Recomputes free_blocks and free_inodes and signs the superblock. */
void sfs_mkfs_finish(struct sfs_mkfs *fs);

/* Access into the image, for tools and tests. */
struct sfs_super *sfs_mkfs_super(struct sfs_mkfs *fs);
struct sfs_inode *sfs_mkfs_inode(struct sfs_mkfs *fs, uint32_t ino);
uint8_t *sfs_mkfs_block(struct sfs_mkfs *fs, uint32_t b);
/* The block of logical block lbn of inode ino (0: hole), through every
 * index level. */
uint32_t sfs_mkfs_bmap(struct sfs_mkfs *fs, uint32_t ino, uint64_t lbn);
/* The index block on the way to logical block lbn of inode ino at this
 * height above the data (1: the indirect block whose entry maps lbn; up to
 * the level of lbn), 0 if there is none. For tests that corrupt them. */
uint32_t sfs_mkfs_index_block(struct sfs_mkfs *fs, uint32_t ino, uint64_t lbn, unsigned height);
/* Rewrites the superblock checksum only (after a deliberate change). */
void sfs_mkfs_sign(struct sfs_mkfs *fs);

#endif
