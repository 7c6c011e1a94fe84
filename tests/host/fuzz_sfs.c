/*
 * tests/host/fuzz_sfs.c - libFuzzer target for the SFS image checker
 * (sfs_check in kernel/fs/sfs_format.c).
 *
 * An input is read in one of two ways:
 *
 *  - raw (the default): the input is a disk image. The device is the input
 *    padded with zeros to a whole number of blocks, and further up to the
 *    nr_blocks its superblock claims (at most FUZZ_MAX_BLOCKS), so a corpus
 *    file can be a truncated image: the zero tail need not be stored.
 *
 *  - patches (the input starts with "SFSp"): the device is a fixed, valid
 *    image built here with the mkfs library (nested directories, hard
 *    links, symbolic links, a file with an indirect block, a directory of two blocks and
 *    one of 14 with an indirect block; then a sparse file of the maximum
 *    size with data on both sides of the level boundaries, through double
 *    and triple indirect blocks, and a 5 GiB file with data at both ends),
 *    and the rest of the input is a list of patches applied to it: { u8 block,
 *    u8 offset_lo, u8 offset_hi, u8 len, len bytes }, block and offset
 *    taken modulo the image. A few bytes reach deep into the checker (a
 *    changed inode number in a directory entry is a loop or a second
 *    parent), where random changes of a raw image rarely get.
 *
 * With -DFUZZ_SFS_MUTATOR (make fuzz), a custom mutator adds patches aimed
 * at the fields of the base image (see below).
 *
 * In both cases, unless the input length is odd, the superblock checksum is
 * rewritten after the changes, so that the fuzzer gets past it; odd lengths
 * keep the checksum as it is and exercise its check.
 *
 * Oracles: AddressSanitizer and UBSan (any bad access or overflow), the
 * device's read_block (aborts on a block number past the device), the
 * result (0 or -EINVAL, nothing else), a NUL-terminated one-line message, a
 * bound on the reads, and a second check giving the same answer. With
 * FUZZ_SFS_VERBOSE set in the environment, each verdict is printed
 * (fuzz_sfs FILE... runs just those inputs).
 *
 * Built two ways:
 *   make fuzz: clang -fsanitize=fuzzer,address,undefined (libFuzzer's main);
 *   sfs_test: gcc with ASan, which replays tests/host/sfs_corpus/ through
 *   LLVMFuzzerTestOneInput (so the regression corpus runs without clang).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/fs/sfs_format.h"
#include "tools/sfs_mkfs_lib.h"

#define FUZZ_MAX_BLOCKS	  256 /* raw: pad up to 1 MiB for the superblock's nr_blocks */
#define PATCH_BASE_BLOCKS 64  /* patches: the base image, 256 KiB */
#define PATCH_MAGIC	  "SFSp"

struct fuzz_dev {
	const uint8_t *data;
	uint64_t nr_blocks;
	uint64_t reads;
};

static int fuzz_read_block(void *ctx, uint32_t block, void *buf)
{
	struct fuzz_dev *dev = ctx;

	if (block >= dev->nr_blocks) {
		fprintf(stderr, "fuzz_sfs: read of block %u past the device (%llu blocks)\n", block,
			(unsigned long long)dev->nr_blocks);
		abort();
	}
	dev->reads++;
	memcpy(buf, dev->data + (size_t)block * SFS_BLOCK_SIZE, SFS_BLOCK_SIZE);
	return 0;
}

static void die(const char *what)
{
	fprintf(stderr, "fuzz_sfs: %s\n", what);
	abort();
}

static void check_message(int r, const char *err, size_t len)
{
	size_t n = strnlen(err, len);

	if (n == len || strchr(err, '\n') || (r != 0 && n == 0))
		die("bad error message");
}

/* The base image of patch mode, made once. */
static const uint8_t *patch_base(void)
{
	static uint8_t *img;
	static const char data[] = "0123456789abcdef";
	struct sfs_mkfs fs;
	char name[32];

	if (img)
		return img;
	img = malloc((size_t)PATCH_BASE_BLOCKS * SFS_BLOCK_SIZE);
	if (!img || sfs_mkfs_format(&fs, img, (size_t)PATCH_BASE_BLOCKS * SFS_BLOCK_SIZE, 95))
		die("cannot format the base image");
	uint32_t ino = 0;
	int r = sfs_mkfs_add_file(&fs, "/a.txt", data, sizeof(data), &ino);
	r = r ? r : sfs_mkfs_add_file(&fs, "/d1/d2/b.txt", data, 5, NULL);
	r = r ? r : sfs_mkfs_link(&fs, "/d1/link", ino);
	r = r ? r : sfs_mkfs_mkdir(&fs, "/d1/d2/d3", NULL);
	r = r ? r : sfs_mkfs_mkdir(&fs, "/empty", NULL);
	r = r ? r : sfs_mkfs_add_file(&fs, "/holes", NULL, 14 * SFS_BLOCK_SIZE, NULL);
	/* A file with an indirect block (blocks 12 and 13 only). */
	uint8_t *big = calloc(14, SFS_BLOCK_SIZE);
	big[12 * SFS_BLOCK_SIZE] = big[13 * SFS_BLOCK_SIZE] = 1;
	fs.sparse = true;
	r = r ? r : sfs_mkfs_add_file(&fs, "/d1/big", big, 14 * SFS_BLOCK_SIZE, NULL);
	free(big);
	for (int i = 0; i < 66 && !r; i++) { /* two directory blocks */
		snprintf(name, sizeof(name), "/many/%d", i);
		r = sfs_mkfs_add_file(&fs, name, NULL, 0, NULL);
	}
	/* A directory with an indirect block: 13 blocks of hard links. */
	for (int i = 0; i < 13 * 64 + 1 && !r; i++) {
		snprintf(name, sizeof(name), "/links/%x", i);
		r = sfs_mkfs_link(&fs, name, ino);
	}
	/* After the above (whose block numbers the corpus's patches name):
	 * the index levels. /deep (the maximum size) has data at logical
	 * blocks 1035/1036 (single/double), 1036 + 1024 (a second indirect
	 * block under the double one), the first block of the triple level
	 * and the last block of all; /5g at both ends of 5 GiB. */
	static const uint64_t deep[] = { SFS_IND2_FIRST - 1, SFS_IND2_FIRST,
					 SFS_IND2_FIRST + SFS_PTRS_PER_BLOCK, SFS_IND3_FIRST,
					 SFS_MAX_FILE_BLOCKS - 1 };
	uint32_t deep_ino = 0, big_ino = 0;
	r = r ? r : sfs_mkfs_add_file(&fs, "/deep", NULL, SFS_MAX_FILE_SIZE, &deep_ino);
	for (size_t i = 0; i < sizeof(deep) / sizeof(deep[0]) && !r; i++)
		r = sfs_mkfs_write(&fs, deep_ino, deep[i] * SFS_BLOCK_SIZE, data, 4);
	r = r ? r : sfs_mkfs_add_file(&fs, "/d1/5g", NULL, 5ull << 30, &big_ino);
	r = r ? r : sfs_mkfs_write(&fs, big_ino, 0, data, 4);
	r = r ? r : sfs_mkfs_write(&fs, big_ino, (5ull << 30) - 4, data, 4);
	/* symbolic links (made last, so the blocks above keep their places):
	 * a relative target and an absolute one, the second with two names */
	uint32_t sym_ino = 0;
	r = r ? r : sfs_mkfs_symlink(&fs, "/d1/sym", "../a.txt", NULL);
	r = r ? r : sfs_mkfs_symlink(&fs, "/abs", "/d1/d2/b.txt", &sym_ino);
	r = r ? r : sfs_mkfs_link(&fs, "/d1/d2/abs2", sym_ino);
	if (r)
		die(fs.err);
	sfs_mkfs_finish(&fs);

	/* It must be clean, or the patches start from a broken image. */
	struct fuzz_dev dev = { img, PATCH_BASE_BLOCKS, 0 };
	size_t need = sfs_check_scratch_size(PATCH_BASE_BLOCKS, fs.nr_inodes);
	void *scratch = malloc(need);
	struct sfs_io io = { &dev, PATCH_BASE_BLOCKS, fuzz_read_block, scratch, need };
	char err[256];
	if (!scratch || sfs_check(&io, err, sizeof(err)))
		die("the base image of patch mode is not clean");
	free(scratch);
	return img;
}

/* Builds the device of an input: *img (calloc'd) of *nr_blocks blocks. */
static void make_device(const uint8_t *data, size_t size, uint8_t **img, uint64_t *nr_blocks)
{
	if (size >= 4 && memcmp(data, PATCH_MAGIC, 4) == 0) {
		*nr_blocks = PATCH_BASE_BLOCKS;
		*img = malloc((size_t)PATCH_BASE_BLOCKS * SFS_BLOCK_SIZE);
		if (!*img)
			die("out of memory");
		memcpy(*img, patch_base(), (size_t)PATCH_BASE_BLOCKS * SFS_BLOCK_SIZE);
		for (size_t p = 4; p + 4 <= size;) {
			size_t block = data[p] % PATCH_BASE_BLOCKS;
			size_t off = (data[p + 1] | (size_t)data[p + 2] << 8) % SFS_BLOCK_SIZE;
			size_t len = data[p + 3];
			p += 4;
			if (len > size - p)
				len = size - p;
			if (len > SFS_BLOCK_SIZE - off)
				len = SFS_BLOCK_SIZE - off;
			memcpy(*img + block * SFS_BLOCK_SIZE + off, data + p, len);
			p += len;
		}
		return;
	}

	struct sfs_super sb;
	*nr_blocks = (size + SFS_BLOCK_SIZE - 1) / SFS_BLOCK_SIZE;
	if (*nr_blocks == 0)
		*nr_blocks = 1;
	memset(&sb, 0, sizeof(sb));
	if (size)
		memcpy(&sb, data, size < sizeof(sb) ? size : sizeof(sb));
	if (sb.nr_blocks > *nr_blocks && sb.nr_blocks <= FUZZ_MAX_BLOCKS)
		*nr_blocks = sb.nr_blocks;
	*img = calloc(*nr_blocks, SFS_BLOCK_SIZE);
	if (!*img)
		die("out of memory");
	if (size)
		memcpy(*img, data, size);
}

/* ---- a structure-aware mutator for patch mode ---------------------------- */

#ifdef FUZZ_SFS_MUTATOR
/*
 * libFuzzer's byte-level mutations rarely turn a patch list into a patch
 * that hits a field (an inode's nlink, a directory entry's inode number, an
 * indirect entry): this mutator appends one patch aimed at a field of the
 * base image, with a value chosen to matter (an existing block or inode
 * number, a bound, off by one, a name copied from another entry). Inputs
 * that are not patch lists, and one mutation in four, go to libFuzzer's own
 * mutator.
 */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

#define MAX_SPOTS 1024

/* Where the fields are in the base image. */
static struct {
	bool ready;
	struct sfs_super sb;
	uint32_t inodes[MAX_SPOTS], nr_inodes_used;		    /* in use */
	uint32_t dirs[MAX_SPOTS], nr_dirs;			    /* directory inodes */
	uint32_t ent_block[MAX_SPOTS], ent_off[MAX_SPOTS], nr_ents; /* used entries */
	uint32_t ind_blocks[MAX_SPOTS], nr_ind;			    /* index blocks, every level */
	uint32_t ind_used[MAX_SPOTS][4];	  /* up to 4 of their used entries */
	uint32_t deep_ind[MAX_SPOTS], nr_deep;	  /* double and triple levels */
	uint32_t data_blocks[MAX_SPOTS], nr_data; /* any mapped block */
} spots;

static void add_spot(uint32_t *arr, uint32_t *n, uint32_t v)
{
	if (*n < MAX_SPOTS)
		arr[(*n)++] = v;
}

/* Records index block b (height levels above the data) and what it maps. */
static void find_tree(const uint8_t *img, uint32_t b, unsigned height)
{
	uint32_t used = 0, slot = spots.nr_ind;

	add_spot(spots.ind_blocks, &spots.nr_ind, b);
	if (height > 1)
		add_spot(spots.deep_ind, &spots.nr_deep, b);
	for (uint32_t j = 0; j < SFS_PTRS_PER_BLOCK; j++) {
		uint32_t e = sfs_get_le32(img + (size_t)b * SFS_BLOCK_SIZE + 4 * j);
		if (!e)
			continue;
		if (slot < MAX_SPOTS && used < 4)
			spots.ind_used[slot][used++] = j;
		if (height > 1)
			find_tree(img, e, height - 1);
		else
			add_spot(spots.data_blocks, &spots.nr_data, e);
	}
	for (; slot < MAX_SPOTS && used < 4; used++)
		spots.ind_used[slot][used] = spots.ind_used[slot][0];
}

static void find_spots(void)
{
	const uint8_t *img = patch_base();

	memcpy(&spots.sb, img, sizeof(spots.sb));
	for (uint32_t ino = 1; ino < spots.sb.nr_inodes; ino++) {
		const struct sfs_inode *in =
		    (const void *)(img + (size_t)sfs_inode_block(&spots.sb, ino) * SFS_BLOCK_SIZE +
				   sfs_inode_offset(ino));
		if (!in->mode || spots.nr_inodes_used == MAX_SPOTS)
			continue;
		spots.inodes[spots.nr_inodes_used++] = ino;
		for (unsigned level = 1; level <= SFS_INDEX_LEVELS; level++)
			if (sfs_inode_index(in, level))
				find_tree(img, sfs_inode_index(in, level), level);
		for (uint32_t k = 0; k < SFS_NDIRECT; k++)
			if (in->direct[k])
				add_spot(spots.data_blocks, &spots.nr_data, in->direct[k]);
		if (in->mode != SFS_S_IFDIR)
			continue;
		/* Directories: direct and single indirect blocks only. */
		for (uint32_t lbn = 0; lbn < sfs_size_blocks(in->size); lbn++) {
			uint32_t b =
			    lbn < SFS_NDIRECT
				? in->direct[lbn]
				: sfs_get_le32(img + (size_t)in->indirect * SFS_BLOCK_SIZE +
					       4 * (lbn - SFS_NDIRECT));
			for (uint32_t e = 0; e < SFS_DIRENTS_PER_BLOCK; e++) {
				uint64_t idx = (uint64_t)lbn * SFS_DIRENTS_PER_BLOCK + e;
				if (idx * SFS_DIRENT_SIZE >= in->size || spots.nr_ents == MAX_SPOTS)
					break;
				spots.ent_block[spots.nr_ents] = b;
				spots.ent_off[spots.nr_ents++] = e * SFS_DIRENT_SIZE;
			}
		}
		if (in->mode == SFS_S_IFDIR && spots.nr_dirs < MAX_SPOTS)
			spots.dirs[spots.nr_dirs++] = ino;
	}
	spots.ready = true;
}

static uint64_t mut_state;

static uint32_t mut_rand(uint32_t n)
{
	mut_state ^= mut_state << 13;
	mut_state ^= mut_state >> 7;
	mut_state ^= mut_state << 17;
	return n ? (uint32_t)(mut_state >> 11) % n : 0;
}

#define PICK(arr, n) ((n) ? (arr)[mut_rand(n)] : 0)

/* A size at a level boundary of the block map, give or take one byte or
 * block (64 bits: the inode's size field whole). */
static uint64_t interesting_size(void)
{
	static const uint64_t first[] = {
		SFS_IND1_FIRST, SFS_IND2_FIRST,	     SFS_IND2_FIRST + SFS_PTRS_PER_BLOCK,
		SFS_IND3_FIRST, SFS_MAX_FILE_BLOCKS, SFS_MAX_DIR_BLOCKS
	};
	uint64_t blocks = first[mut_rand(sizeof(first) / sizeof(first[0]))] + mut_rand(3) - 1;

	return blocks * SFS_BLOCK_SIZE + mut_rand(3) - 1;
}

/* A value for a 32-bit field: mostly numbers that mean something here. */
static uint32_t interesting(void)
{
	const struct sfs_super *sb = &spots.sb;
	uint32_t v;

	switch (mut_rand(14)) {
	case 0:
		v = PICK(spots.inodes, spots.nr_inodes_used);
		break;
	case 1:
		v = PICK(spots.dirs, spots.nr_dirs);
		break;
	case 2:
		v = PICK(spots.data_blocks, spots.nr_data);
		break;
	case 3:
		v = PICK(spots.ind_blocks, spots.nr_ind);
		break;
	case 4:
		v = sb->nr_blocks - 1 + mut_rand(3);
		break;
	case 5:
		v = sb->data_start - 1 + mut_rand(3);
		break;
	case 6:
		v = sb->nr_inodes - 1 + mut_rand(3);
		break;
	case 7:
		v = mut_rand(3) ? mut_rand(16) : 0xffffffffu - mut_rand(4);
		break;
	case 8:
		v = SFS_ROOT_INO;
		break;
	case 9:
		v = (SFS_NDIRECT + mut_rand(3)) * SFS_BLOCK_SIZE - 1 + mut_rand(3);
		break;
	case 10:
		v = mut_rand(64) * SFS_DIRENT_SIZE + mut_rand(2);
		break;
	case 11: /* a double or triple indirect block */
		v = PICK(spots.deep_ind, spots.nr_deep);
		break;
	case 12: /* a max_blocks (or nr_blocks) near a bitmap block boundary */
		v = SFS_BITS_PER_BLOCK * (1 + mut_rand(2)) - 1 + mut_rand(3);
		break;
	default:
		v = (uint32_t)mut_state;
		break;
	}
	return v;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	uint8_t rec[4 + SFS_DIRENT_SIZE];
	uint32_t block = 0, off = 0, len = 4, v;
	uint64_t v64 = 0;

	mut_state = seed * 0x9e3779b97f4a7c15ull + 1;
	if (size < 4 || memcmp(data, PATCH_MAGIC, 4) || mut_rand(4) == 0)
		return LLVMFuzzerMutate(data, size, max_size);
	if (!spots.ready)
		find_spots();

	v = interesting();
	switch (mut_rand(7)) {
	case 0: /* a superblock field */
		off = 4 * mut_rand(17);
		break;
	case 1: { /* an inode field */
		uint32_t ino = mut_rand(8) ? PICK(spots.inodes, spots.nr_inodes_used)
					   : mut_rand(spots.sb.nr_inodes);
		/* mode, nlink, size (low, high), direct[0..2, 6, 11],
		 * indirect, double and triple indirect */
		static const uint8_t fields[] = { 0, 2, 8, 12, 16, 20, 24, 40, 60, 64, 68, 72 };
		uint32_t f = fields[mut_rand(sizeof(fields))];
		block = sfs_inode_block(&spots.sb, ino);
		off = sfs_inode_offset(ino) + f;
		len = f < 4 ? 2 : 4;
		if (f < 4 && mut_rand(2))
			v = mut_rand(4);     /* mode or nlink: small */
		if (f == 8 && mut_rand(2)) { /* the whole size: a level boundary */
			len = 8;
			v64 = interesting_size();
		}
		break;
	}
	case 2: { /* a directory entry: inode number, name length or name */
		uint32_t e = mut_rand(spots.nr_ents);
		block = spots.ent_block[e];
		off = spots.ent_off[e];
		switch (mut_rand(3)) {
		case 0:
			break;
		case 1:
			off += 4;
			len = 1;
			v = mut_rand(2) ? mut_rand(4) : 58 + mut_rand(4);
			break;
		default: { /* the name of another entry: a duplicate */
			uint32_t o = mut_rand(spots.nr_ents);
			const uint8_t *src = patch_base() +
					     (size_t)spots.ent_block[o] * SFS_BLOCK_SIZE +
					     spots.ent_off[o];
			off += 4;
			len = 1 + SFS_NAME_MAX;
			memcpy(rec + 4, src + 4, len);
			break;
		}
		}
		break;
	}
	case 3: /* an entry of an index block (any level) */
	case 6: {
		uint32_t i = mut_rand(spots.nr_ind);
		block = spots.ind_blocks[i];
		switch (mut_rand(4)) {
		case 0: /* one that maps something */
			off = 4 * spots.ind_used[i][mut_rand(4)];
			break;
		case 1: /* a neighbour of one */
			off = 4 * ((spots.ind_used[i][mut_rand(4)] + mut_rand(3) + 1023) % 1024);
			break;
		case 2: /* the first or the last ones */
			off = 4 * (mut_rand(2) ? mut_rand(4) : 1020 + mut_rand(4));
			break;
		default:
			off = 4 * mut_rand(SFS_PTRS_PER_BLOCK);
			break;
		}
		if (mut_rand(8) == 0)
			v = 0; /* unmap: holes, and index blocks left empty */
		break;
	}
	case 4: /* a bitmap byte */
		block = spots.sb.bitmap_start;
		off = mut_rand(spots.sb.nr_blocks / 8 + 2);
		len = 1;
		v = patch_base()[(size_t)block * SFS_BLOCK_SIZE + off] ^ (1u << mut_rand(8));
		break;
	default: /* anywhere */
		block = mut_rand(PATCH_BASE_BLOCKS);
		off = mut_rand(SFS_BLOCK_SIZE - 4);
		break;
	}
	rec[0] = (uint8_t)block;
	rec[1] = (uint8_t)off;
	rec[2] = (uint8_t)(off >> 8);
	rec[3] = (uint8_t)len;
	if (len == 8)
		memcpy(rec + 4, &v64, 8);
	else if (len <= 4)
		memcpy(rec + 4, &v, len);
	if (size + 4 + len + 1 > max_size)
		return LLVMFuzzerMutate(data, size, max_size);
	memcpy(data + size, rec, 4 + len);
	size += 4 + len;
	if (size % 2 && mut_rand(8)) /* even: the checksum is rewritten */
		data[size++] = 0;
	return size;
}
#endif /* FUZZ_SFS_MUTATOR */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sfs_super sb;
	struct sfs_check_stats st;
	struct fuzz_dev dev;
	uint64_t nr_blocks;
	uint8_t *img;
	void *scratch;
	size_t need = SFS_BLOCK_SIZE;
	char err[256], err2[256];
	int r, r2;

	make_device(data, size, &img, &nr_blocks);
	memcpy(&sb, img, sizeof(sb));
	if (size % 2 == 0) {
		sb.checksum = sfs_super_checksum(&sb);
		memcpy(img, &sb, sizeof(sb));
	}

	if (sfs_check_super(&sb, nr_blocks, NULL, 0) == 0)
		need = sfs_check_scratch_size(sb.nr_blocks, sb.nr_inodes);
	scratch = aligned_alloc(SFS_BLOCK_SIZE,
				(need + SFS_BLOCK_SIZE - 1) & ~(size_t)(SFS_BLOCK_SIZE - 1));
	if (!scratch)
		die("out of memory");

	dev = (struct fuzz_dev){ img, nr_blocks, 0 };
	struct sfs_io io = { &dev, nr_blocks, fuzz_read_block, scratch, need };
	r = sfs_check_full(&io, &st, err, sizeof(err));
	if (getenv("FUZZ_SFS_VERBOSE"))
		fprintf(stderr, "fuzz_sfs: %zu bytes, %llu blocks: %d %s\n", size,
			(unsigned long long)nr_blocks, r, r ? err : "clean");
	check_message(r, err, sizeof(err));
	if (r != 0 && r != -SFS_EINVAL) {
		fprintf(stderr, "fuzz_sfs: unexpected result %d: %s\n", r, err);
		abort();
	}
	/* Bounded work (see sfs_check): the inode table twice, indirect and
	 * bitmap blocks, each directory's inode, indirect block and blocks,
	 * and two reads per name comparison (at most one per entry + 4096). */
	if (dev.reads > 170 * nr_blocks + 8192 + 16) {
		fprintf(stderr, "fuzz_sfs: %llu reads for %llu blocks\n",
			(unsigned long long)dev.reads, (unsigned long long)nr_blocks);
		abort();
	}
	if (r == 0 && (st.blocks_used > sb.nr_blocks || st.files + st.dirs >= sb.nr_inodes))
		die("impossible stats for a clean image");

	/* Deterministic: the same image gives the same verdict. */
	r2 = sfs_check(&io, err2, sizeof(err2));
	if (r2 != r || (r && strcmp(err, err2))) {
		fprintf(stderr, "fuzz_sfs: second check differs: %d \"%s\" vs %d \"%s\"\n", r, err,
			r2, err2);
		abort();
	}

	free(scratch);
	free(img);
	return 0;
}
