/*
 * kernel/fs/sfs_format.h - the on-disk format of SFS, the simple file system
 * of the RAM disk, shared by the kernel and the host tools (mkfs_sfs,
 * fsck_sfs, the host tests and the fuzzer).
 *
 * Format, version 2. All integers are little-endian; the structures are
 * packed and their sizes are asserted below. (Version 1 had no max_blocks,
 * no double or triple indirect block, files of at most 1036 blocks and a
 * bitmap sized for nr_blocks; it is refused, with a message that names both
 * versions: rebuild such an image with tools/mkfs_sfs.)
 *
 *   block size   4096 bytes (= the page size); a block device with 512-byte
 *                sectors holds block b in sectors 8b .. 8b+7.
 *
 *   block 0                        superblock (struct sfs_super, rest zero)
 *   1 .. data_start-1              block bitmap, then the inode table
 *   data_start .. nr_blocks-1      data blocks (file data, directories,
 *                                  index blocks)
 *
 *   The layout is exact, so a superblock can be checked without guessing:
 *     nr_blocks         <= max_blocks
 *     bitmap_start       = 1
 *     bitmap_blocks      = DIV_ROUND_UP(max_blocks, 32768)
 *     inode_table_start  = bitmap_start + bitmap_blocks
 *     inode_table_blocks = DIV_ROUND_UP(nr_inodes, 32)
 *     data_start         = inode_table_start + inode_table_blocks < nr_blocks
 *
 * Growth: the bitmap is sized for max_blocks, not nr_blocks, so a file
 * system can be grown in place up to max_blocks blocks by raising nr_blocks
 * (and free_blocks by as much) when its device is larger: nothing moves,
 * the new blocks' bits are already there and zero (sfs_super_grow). The
 * kernel does that at mount; an initrd image can stay small.
 *
 * Superblock: magic SFS_MAGIC ("SFS1" in the first four bytes), version 2,
 * block_size 4096, root_ino 1, free_blocks / free_inodes exact, max_blocks
 * >= nr_blocks, reserved zero, checksum = FNV-1a 32 of the 64 bytes before
 * it (sfs_super_checksum).
 *
 * Block bitmap: one bit per block up to max_blocks, bit b is bit (b % 8) of
 * byte (b / 8) of the bitmap (which spans bitmap_blocks blocks); set = used.
 * Blocks 0 .. data_start-1 are always marked used; the bits of blocks
 * nr_blocks and beyond (up to max_blocks, and the tail of the last bitmap
 * block) are zero.
 *
 * Inodes: 128 bytes, 32 per block; table slot i holds inode i. nr_inodes is
 * the number of slots, so valid inode numbers are 1 .. nr_inodes-1 (slot 0
 * is never used and stays zero). A free inode has mode 0 and is all zero.
 * An inode in use has mode SFS_S_IFREG, SFS_S_IFDIR or SFS_S_IFLNK, nlink
 * >= 1, and size <= SFS_MAX_FILE_SIZE (a directory: <= SFS_MAX_DIR_SIZE; a
 * symbolic link: 1 .. SFS_SYMLINK_MAX, the bytes of its target, which the
 * checker does not read: any bytes but NUL are a valid target). Symbolic
 * links may have holes, as regular files (a page not yet written back), and
 * several entries (hard links to a symlink, as Linux allows).
 *
 * Block map of an inode: logical block lbn (byte offset lbn * 4096) is
 * mapped, by the level its number falls in (sfs_bmap_path), through
 *
 *   direct[lbn]                        lbn 0 .. 11                (12)
 *   indirect -> [a]                    lbn 12 .. 1035             (1024)
 *   double_indirect -> [a] -> [b]      lbn 1036 .. 1049611        (1024^2)
 *   triple_indirect -> [a] -> [b] -> [c]
 *                                      lbn 1049612 .. 1074791435  (1024^3)
 *
 * where each index block holds 1024 block numbers (a, b, c are the indices
 * at each step: for the double indirect block a = (lbn - 1036) / 1024, b =
 * (lbn - 1036) % 1024). So a file holds at most SFS_MAX_FILE_BLOCKS =
 * 12 + 1024 + 1024^2 + 1024^3 blocks (just over 4 TiB). Block number 0
 * means none: a hole in a regular file (reads as zeros), or an index block
 * that is not there (every block under it is a hole). The rules:
 *
 *   - No pointer maps at or past the file's end: a data pointer of logical
 *     block lbn >= DIV_ROUND_UP(size, 4096) is 0, and so is an index
 *     pointer whose first logical block is there (an inode's indirect,
 *     double or triple indirect block is 0 when its size needs no such
 *     level).
 *   - Holes stay holes: an index block (at any level) maps at least one
 *     block; an empty index block is an error (a file system frees an
 *     index block when the last block under it goes). So a sparse file
 *     uses blocks only for its data and the index blocks on the way to it:
 *     a 1 GiB file with data at both ends uses a handful.
 *   - Directories have no holes, at no level, and use only the direct and
 *     the single indirect block (SFS_MAX_DIR_SIZE = 1036 blocks).
 *   - Every data block and index block belongs to one inode, once.
 *
 * flags and pad have no meaning in version 2: mkfs writes zero, the checker
 * ignores them.
 *
 * Directories: a directory is a file whose data is an array of 64-byte
 * entries (struct sfs_dirent); its size is a multiple of 64. ino 0 marks a
 * free slot; otherwise name[0..name_len-1] is the name (1..59 bytes, no
 * '/', no NUL, not "." or "..", unique in the directory) and ino an inode
 * in use. There are no "." or ".." entries. The root directory is inode 1.
 * Every directory other than the root has exactly one entry pointing at it
 * (one parent, so the tree has no loops); regular files may have several
 * (hard links). nlink = the number of entries that point at the inode; the
 * root directory has nlink 1 (the implicit reference from the mount). Every
 * inode in use is reachable from the root.
 *
 * The checker (sfs_check, in sfs_format.c) verifies every rule above.
 */
#ifndef KERNEL_FS_SFS_FORMAT_H
#define KERNEL_FS_SFS_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "SFS structures are read in place: little-endian hosts only"
#endif

#define SFS_MAGIC	      0x31534653u /* "SFS1" as bytes 'S' 'F' 'S' '1' */
#define SFS_VERSION	      2u
#define SFS_BLOCK_SIZE	      4096u
#define SFS_BLOCK_SHIFT	      12
#define SFS_SECTOR_SIZE	      512u
#define SFS_SECTORS_PER_BLOCK (SFS_BLOCK_SIZE / SFS_SECTOR_SIZE)
#define SFS_BITS_PER_BLOCK    (SFS_BLOCK_SIZE * 8u) /* bitmap bits per block */

#define SFS_INODE_SIZE	     128u
#define SFS_INODES_PER_BLOCK (SFS_BLOCK_SIZE / SFS_INODE_SIZE) /* 32 */
#define SFS_ROOT_INO	     1u

#define SFS_S_IFREG 1u
#define SFS_S_IFDIR 2u
#define SFS_S_IFLNK 3u /* symbolic link: its data is the target */

/* A symbolic link's target: 1 .. SFS_SYMLINK_MAX bytes, no NUL (Linux's
 * PATH_MAX less the NUL), held in its data (one block at most). */
#define SFS_SYMLINK_MAX 4095u

#define SFS_NDIRECT	   12u
#define SFS_PTRS_PER_BLOCK (SFS_BLOCK_SIZE / 4u) /* 1024 */
#define SFS_PTRS_SHIFT	   10			 /* log2(SFS_PTRS_PER_BLOCK) */
#define SFS_INDEX_LEVELS   3u			 /* single, double, triple */

/* The first logical block mapped through each level, and how many. */
#define SFS_IND1_FIRST	    SFS_NDIRECT				   /* 12 */
#define SFS_IND1_BLOCKS	    ((uint64_t)SFS_PTRS_PER_BLOCK)	   /* 1024 */
#define SFS_IND2_FIRST	    (SFS_IND1_FIRST + SFS_IND1_BLOCKS)	   /* 1036 */
#define SFS_IND2_BLOCKS	    (SFS_IND1_BLOCKS * SFS_PTRS_PER_BLOCK) /* 1024^2 */
#define SFS_IND3_FIRST	    (SFS_IND2_FIRST + SFS_IND2_BLOCKS)	   /* 1049612 */
#define SFS_IND3_BLOCKS	    (SFS_IND2_BLOCKS * SFS_PTRS_PER_BLOCK) /* 1024^3 */
#define SFS_MAX_FILE_BLOCKS (SFS_IND3_FIRST + SFS_IND3_BLOCKS)	   /* 1074791436 */
#define SFS_MAX_FILE_SIZE   (SFS_MAX_FILE_BLOCKS * SFS_BLOCK_SIZE) /* ~4 TiB */

/* Directories: direct and single indirect blocks only (4244 KiB). */
#define SFS_MAX_DIR_BLOCKS (SFS_IND1_FIRST + SFS_IND1_BLOCKS) /* 1036 */
#define SFS_MAX_DIR_SIZE   (SFS_MAX_DIR_BLOCKS * SFS_BLOCK_SIZE)

#define SFS_DIRENT_SIZE	      64u
#define SFS_DIRENTS_PER_BLOCK (SFS_BLOCK_SIZE / SFS_DIRENT_SIZE) /* 64 */
#define SFS_NAME_MAX	      59u
#define SFS_MAX_DIRENTS	      (SFS_MAX_DIR_SIZE / SFS_DIRENT_SIZE) /* 66304 */

/* Block 0. checksum covers the bytes before it (offsetof(checksum) = 64). */
struct sfs_super {
	uint32_t magic;		     /* SFS_MAGIC */
	uint32_t version;	     /* SFS_VERSION */
	uint32_t block_size;	     /* SFS_BLOCK_SIZE */
	uint32_t nr_blocks;	     /* blocks in the file system */
	uint32_t nr_inodes;	     /* inode table slots, slot 0 included */
	uint32_t inode_table_start;  /* first block of the inode table */
	uint32_t inode_table_blocks; /* DIV_ROUND_UP(nr_inodes, 32) */
	uint32_t bitmap_start;	     /* 1 */
	uint32_t bitmap_blocks;	     /* DIV_ROUND_UP(max_blocks, 32768) */
	uint32_t data_start;	     /* first data block */
	uint32_t root_ino;	     /* SFS_ROOT_INO */
	uint32_t free_blocks;	     /* blocks clear in the bitmap */
	uint32_t free_inodes;	     /* free inodes among 1 .. nr_inodes-1 */
	uint32_t max_blocks;	     /* nr_blocks may grow up to this */
	uint32_t reserved[2];	     /* zero */
	uint32_t checksum;	     /* sfs_super_checksum() */
} __attribute__((packed));

struct sfs_inode {
	uint16_t mode;		      /* 0 free, SFS_S_IFREG, SFS_S_IFDIR, SFS_S_IFLNK */
	uint16_t nlink;		      /* directory entries pointing here */
	uint32_t flags;		      /* none defined yet: 0 */
	uint64_t size;		      /* bytes */
	uint32_t direct[SFS_NDIRECT]; /* logical blocks 0..11, 0 = hole */
	uint32_t indirect;	      /* block of 1024 block numbers, 0 = none */
	uint32_t double_indirect;     /* block of 1024 indirect blocks, 0 = none */
	uint32_t triple_indirect;     /* block of 1024 double indirect blocks */
	uint32_t pad[13];	      /* 0 */
} __attribute__((packed));

struct sfs_dirent {
	uint32_t ino; /* 0 = free slot */
	uint8_t name_len;
	char name[SFS_NAME_MAX]; /* not NUL-terminated */
} __attribute__((packed));

_Static_assert(sizeof(struct sfs_super) == 68, "sfs_super is 68 bytes");
_Static_assert(offsetof(struct sfs_super, checksum) == 64, "checksum at 64");
_Static_assert(sizeof(struct sfs_inode) == SFS_INODE_SIZE, "sfs_inode is 128 bytes");
_Static_assert(offsetof(struct sfs_inode, direct) == 16, "direct[] at 16");
_Static_assert(offsetof(struct sfs_inode, indirect) == 64, "indirect at 64");
_Static_assert(offsetof(struct sfs_inode, double_indirect) == 68, "double_indirect at 68");
_Static_assert(offsetof(struct sfs_inode, triple_indirect) == 72, "triple_indirect at 72");
_Static_assert(offsetof(struct sfs_super, max_blocks) == 52, "max_blocks at 52");
_Static_assert(SFS_MAX_FILE_BLOCKS == 1074791436ull, "12 + 1024 + 1024^2 + 1024^3");
_Static_assert(SFS_MAX_FILE_BLOCKS <= 0xffffffffull, "logical block numbers fit 32 bits");
_Static_assert(SFS_MAX_FILE_SIZE > (4ull << 30), "files reach past 4 GiB");
_Static_assert(1u << SFS_PTRS_SHIFT == SFS_PTRS_PER_BLOCK, "pointer shift");
_Static_assert(sizeof(struct sfs_dirent) == SFS_DIRENT_SIZE, "sfs_dirent is 64 bytes");
_Static_assert(SFS_BLOCK_SIZE == 1u << SFS_BLOCK_SHIFT, "block shift");
_Static_assert(SFS_BLOCK_SIZE % SFS_INODE_SIZE == 0, "inodes tile a block");

/* Error codes returned by the checker (negative errno values). */
#define SFS_EIO	   5  /* the device's read_block failed */
#define SFS_ENOMEM 12 /* the caller's scratch buffer is too small */
#define SFS_EINVAL 22 /* the image is corrupt */

/* ---- small helpers ------------------------------------------------------ */

/* Logical block of byte offset off in a file, and the offset inside it. */
static inline uint32_t sfs_block_of_offset(uint64_t off)
{
	return (uint32_t)(off >> SFS_BLOCK_SHIFT);
}

static inline uint32_t sfs_offset_in_block(uint64_t off)
{
	return (uint32_t)(off & (SFS_BLOCK_SIZE - 1));
}

/* Number of logical blocks a file of size bytes spans. */
static inline uint64_t sfs_size_blocks(uint64_t size)
{
	return (size + SFS_BLOCK_SIZE - 1) >> SFS_BLOCK_SHIFT;
}

/*
 * Where logical block lbn is mapped (see "Block map" above). Returns the
 * level: 0 = direct[idx[0]]; 1 = indirect, entry idx[0]; 2 = double
 * indirect, entry idx[0], then entry idx[1] of that indirect block; 3 =
 * triple indirect, entries idx[0], idx[1], idx[2] down the tree. Returns -1
 * if lbn is past the largest file (>= SFS_MAX_FILE_BLOCKS).
 */
static inline int sfs_bmap_path(uint64_t lbn, uint32_t idx[SFS_INDEX_LEVELS])
{
	const uint32_t mask = SFS_PTRS_PER_BLOCK - 1;

	if (lbn < SFS_IND1_FIRST) {
		idx[0] = (uint32_t)lbn;
		return 0;
	}
	if (lbn < SFS_IND2_FIRST) {
		idx[0] = (uint32_t)(lbn - SFS_IND1_FIRST);
		return 1;
	}
	if (lbn < SFS_IND3_FIRST) {
		lbn -= SFS_IND2_FIRST;
		idx[0] = (uint32_t)(lbn >> SFS_PTRS_SHIFT);
		idx[1] = (uint32_t)lbn & mask;
		return 2;
	}
	if (lbn < SFS_MAX_FILE_BLOCKS) {
		lbn -= SFS_IND3_FIRST;
		idx[0] = (uint32_t)(lbn >> (2 * SFS_PTRS_SHIFT));
		idx[1] = (uint32_t)(lbn >> SFS_PTRS_SHIFT) & mask;
		idx[2] = (uint32_t)lbn & mask;
		return 3;
	}
	return -1;
}

/* The first logical block mapped through the inode's index block of this
 * level (1 single, 2 double, 3 triple), and how many blocks it maps. */
static inline uint64_t sfs_level_first(unsigned level)
{
	return level == 1 ? SFS_IND1_FIRST : level == 2 ? SFS_IND2_FIRST : SFS_IND3_FIRST;
}

static inline uint64_t sfs_level_blocks(unsigned level)
{
	return level == 1 ? SFS_IND1_BLOCKS : level == 2 ? SFS_IND2_BLOCKS : SFS_IND3_BLOCKS;
}

/* Logical blocks under one entry of an index block that is `height` levels
 * above the data (1: an indirect block, whose entries are data blocks). */
static inline uint64_t sfs_entry_span(unsigned height)
{
	return 1ull << (SFS_PTRS_SHIFT * (height - 1));
}

/* The inode's index pointer of this level (1, 2 or 3). */
static inline uint32_t sfs_inode_index(const struct sfs_inode *in, unsigned level)
{
	return level == 1 ? in->indirect : level == 2 ? in->double_indirect : in->triple_indirect;
}

static inline void sfs_inode_set_index(struct sfs_inode *in, unsigned level, uint32_t b)
{
	if (level == 1)
		in->indirect = b;
	else if (level == 2)
		in->double_indirect = b;
	else
		in->triple_indirect = b;
}

/* First 512-byte sector of block b. */
static inline uint64_t sfs_block_to_sector(uint32_t b)
{
	return (uint64_t)b * SFS_SECTORS_PER_BLOCK;
}

/* Is ino a valid inode number of this file system (1 .. nr_inodes-1)? */
static inline bool sfs_ino_valid(const struct sfs_super *sb, uint32_t ino)
{
	return ino >= 1 && ino < sb->nr_inodes;
}

/* The block of the inode table that holds inode ino, and its byte offset. */
static inline uint32_t sfs_inode_block(const struct sfs_super *sb, uint32_t ino)
{
	return sb->inode_table_start + ino / SFS_INODES_PER_BLOCK;
}

static inline uint32_t sfs_inode_offset(uint32_t ino)
{
	return (ino % SFS_INODES_PER_BLOCK) * SFS_INODE_SIZE;
}

/* Is b a block number that may appear in an inode or indirect block? */
static inline bool sfs_data_block_valid(const struct sfs_super *sb, uint32_t b)
{
	return b >= sb->data_start && b < sb->nr_blocks;
}

/* The bitmap block holding the bit of block b, and the bit inside it. */
static inline uint32_t sfs_bitmap_block(const struct sfs_super *sb, uint32_t b)
{
	return sb->bitmap_start + b / SFS_BITS_PER_BLOCK;
}

static inline uint32_t sfs_bitmap_bit(uint32_t b)
{
	return b % SFS_BITS_PER_BLOCK;
}

/* Bit helpers over a byte array: bit n is bit (n % 8) of byte n / 8. */
static inline bool sfs_bit_test(const void *map, uint32_t n)
{
	return (((const uint8_t *)map)[n >> 3] >> (n & 7)) & 1;
}

static inline void sfs_bit_set(void *map, uint32_t n)
{
	((uint8_t *)map)[n >> 3] |= (uint8_t)(1u << (n & 7));
}

static inline void sfs_bit_clear(void *map, uint32_t n)
{
	((uint8_t *)map)[n >> 3] &= (uint8_t) ~(1u << (n & 7));
}

/* Little-endian loads and stores that need no alignment. */
static inline uint32_t sfs_get_le32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline void sfs_put_le32(void *p, uint32_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)(v >> 16);
	b[3] = (uint8_t)(v >> 24);
}

/* ---- shared code (sfs_format.c) ----------------------------------------- */

/* FNV-1a 32-bit hash of len bytes (offset basis 2166136261, prime 16777619). */
uint32_t sfs_fnv1a32(const void *data, size_t len);

/* The checksum a superblock must carry: FNV-1a 32 of its first 64 bytes. */
uint32_t sfs_super_checksum(const struct sfs_super *sb);

/* Is name[0..len-1] a valid directory entry name (see the format above)? */
bool sfs_valid_name(const char *name, size_t len);

/*
 * How the checker reads the device. read_block(ctx, b, buf) fills buf with
 * the 4096 bytes of block b (b < nr_blocks_on_device, always) and returns 0,
 * or a negative errno. The checker never writes.
 *
 * scratch: a buffer of at least sfs_check_scratch_size(nr_blocks, nr_inodes)
 * bytes (the superblock's values), 8-byte aligned (page-aligned is best); its
 * contents on entry do not matter and are garbage on return.
 */
struct sfs_io {
	void *ctx;
	uint64_t nr_blocks_on_device;
	int (*read_block)(void *ctx, uint32_t block, void *buf4096);
	void *scratch;
	size_t scratch_size;
};

/*
 * Scratch bytes sfs_check needs for a file system of this geometry:
 *   5 block buffers: inode table / bitmap, one per index level (3: the
 *   walk down a triple indirect tree), a directory block   20 KiB
 *   the owner (inode) of each block                 4 * nr_blocks
 *   per inode: type and state byte, reference count, parent, BFS queue slot
 *                                                   13 * nr_inodes
 *   one directory's name hashes (duplicate names)   8 * min(66304, 64 * nr_blocks)
 * (each part rounded up to 8 bytes). For the 4 MiB RAM disk (1024 blocks,
 * 288 inode slots): 540 KiB; for 1 GiB (262144 blocks, 65568 slots): 2.3
 * MiB. It grows with nr_blocks, not max_blocks. Call sfs_check_super()
 * first: it bounds both numbers by the device size (nr_inodes <= 32 *
 * nr_blocks, nr_blocks <= the device).
 */
size_t sfs_check_scratch_size(uint32_t nr_blocks, uint32_t nr_inodes);

/*
 * Grows the file system of superblock sb in place to its device of
 * dev_blocks blocks, up to sb->max_blocks: raises nr_blocks and free_blocks
 * by the same amount and re-signs the superblock; the bitmap needs no
 * change (the bits of blocks >= nr_blocks are zero). Returns the number of
 * blocks added (0: nothing to do). sb must have passed sfs_check_super.
 */
uint32_t sfs_super_grow(struct sfs_super *sb, uint64_t dev_blocks);

/* What a successful check found. */
struct sfs_check_stats {
	uint32_t files;	      /* regular files in use */
	uint32_t dirs;	      /* directories in use, the root included */
	uint32_t blocks_used; /* blocks marked used, metadata included */
	uint32_t data_blocks; /* data blocks owned by inodes (incl. indirect) */
	uint32_t free_blocks;
	uint32_t free_inodes;
};

/*
 * Check the superblock alone (sb = the first bytes of block 0) against a
 * device of dev_blocks blocks: magic, version, block size, checksum, and a
 * geometry that fits the device. 0 if sound, else -SFS_EINVAL and a message
 * in err (if err != NULL; truncated to errlen-1 characters, NUL-terminated).
 */
int sfs_check_super(const struct sfs_super *sb, uint64_t dev_blocks, char *err, size_t errlen);

/*
 * Full read-only consistency check of the file system on io: the superblock
 * (as sfs_check_super), every inode and every index block (single, double
 * and triple indirect, each claimed once, so loops and shared index blocks
 * are refused), the block bitmap, the directory tree, link counts and free
 * counts. Returns 0 if the file system obeys every rule of the format,
 * -SFS_EINVAL if it is corrupt, -SFS_EIO if read_block failed, -SFS_ENOMEM
 * if the scratch buffer is too small or misaligned; except for 0, err says
 * what and where (one line, no newline; a block pointer is named by its
 * path from the inode, e.g. "inode 5: double indirect[3] -> indirect[17] =
 * block 9 is out of range"). Reads only metadata, index and directory
 * blocks, each a few times at most (an index block once: it is claimed
 * before it is read, so at most nr_blocks of them), plus two reads per
 * compared pair of names whose hashes are equal (at most one per entry +
 * 4096 in all): the work is bounded by the geometry on any input. So a
 * directory whose names collide on their FNV-1a hash in more pairs than
 * that, which only crafted names do, is refused ("too many names with the
 * same hash"). Never writes; touches no memory but io->scratch, err and its
 * own stack (about 2 KiB with the kernel flags: the walk down an index
 * tree is four calls deep, about 150 bytes each).
 */
int sfs_check(const struct sfs_io *io, char *err, size_t errlen);

/* sfs_check that also fills *stats (if not NULL) when the check passes. */
int sfs_check_full(const struct sfs_io *io, struct sfs_check_stats *stats, char *err,
		   size_t errlen);

#endif
