/*
 * tests/host/sfs_test.c - host unit test of the SFS format code
 * (kernel/fs/sfs_format.c) and of the image builder (tools/sfs_mkfs_lib.c).
 *
 * Builds images in memory with the mkfs library (files small and large with
 * an indirect block, a sparse file, nested and empty directories, hard
 * links, a directory of two blocks), checks that sfs_check() finds them
 * clean with the right counts, then breaks them one way at a time (every
 * rule of the format: superblock fields and geometry, inode modes, sizes
 * and block pointers, the bitmap, free counts, directory entries and names,
 * loops, second parents, link counts, unreachable inodes, I/O errors, a
 * small scratch buffer) and checks the result code and the message.
 *
 * The device hands the checker a copy of each block and aborts on a block
 * number past the device; with ASan and UBSan any stray access is caught.
 * A random mutation pass (alarm() turns a hang into a failure) and the
 * replay of the fuzzing regression corpus (argv[1], normally
 * tests/host/sfs_corpus, through the fuzz target's LLVMFuzzerTestOneInput)
 * close the test.
 *
 * Build and run from the repository root: make build/host/sfs_test &&
 * build/host/sfs_test tests/host/sfs_corpus (SFS_TEST_VERBOSE=1 prints
 * every message).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel/fs/sfs_format.h"
#include "tools/sfs_mkfs_lib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- harness ------------------------------------------------------------ */

static int failures, checks, verbose;
static const char *current_test;

#define CHECK(cond)                                                                              \
	do {                                                                                     \
		checks++;                                                                        \
		if (!(cond)) {                                                                   \
			failures++;                                                              \
			printf("FAIL %s: %s:%d: %s\n", current_test, __FILE__, __LINE__, #cond); \
		}                                                                                \
	} while (0)
#define CHECK_EQ(a, b)                                                                            \
	do {                                                                                      \
		long long _a = (long long)(a), _b = (long long)(b);                               \
		checks++;                                                                         \
		if (_a != _b) {                                                                   \
			failures++;                                                               \
			printf("FAIL %s: %s:%d: %s == %lld, expected %s == %lld\n", current_test, \
			       __FILE__, __LINE__, #a, _a, #b, _b);                               \
		}                                                                                 \
	} while (0)

/* ---- the device --------------------------------------------------------- */

struct dev {
	const uint8_t *img;
	uint64_t nr_blocks;
	int64_t fail_block; /* read_block fails here; -1 never */
};

static int dev_read(void *ctx, uint32_t block, void *buf)
{
	struct dev *d = ctx;

	if (block >= d->nr_blocks) {
		printf("FAIL %s: checker read block %u of a %llu-block device\n", current_test,
		       block, (unsigned long long)d->nr_blocks);
		abort();
	}
	if ((int64_t)block == d->fail_block)
		return -5;
	/* A fresh heap block per read: ASan sees any access past 4096. */
	uint8_t *copy = malloc(SFS_BLOCK_SIZE);
	memcpy(copy, d->img + (size_t)block * SFS_BLOCK_SIZE, SFS_BLOCK_SIZE);
	memcpy(buf, copy, SFS_BLOCK_SIZE);
	free(copy);
	return 0;
}

static char last_err[512];
static struct sfs_check_stats last_stats;

/* Runs sfs_check_full on img as a device of dev_blocks blocks, with an
 * exactly sized scratch buffer. */
static int check_dev(const uint8_t *img, uint64_t dev_blocks, int64_t fail_block)
{
	struct dev d = { img, dev_blocks, fail_block };
	const struct sfs_super *sb = (const void *)img;
	size_t need = SFS_BLOCK_SIZE;
	void *scratch;
	int r;

	if (dev_blocks && sfs_check_super(sb, dev_blocks, NULL, 0) == 0)
		need = sfs_check_scratch_size(sb->nr_blocks, sb->nr_inodes);
	scratch = malloc(need); /* exact size: ASan catches overruns */
	struct sfs_io io = { &d, dev_blocks, dev_read, scratch, need };
	memset(&last_stats, 0, sizeof(last_stats));
	memset(last_err, 'x', sizeof(last_err));
	r = sfs_check_full(&io, &last_stats, last_err, sizeof(last_err));
	free(scratch);
	CHECK(memchr(last_err, '\0', sizeof(last_err)) != NULL);
	if (verbose)
		printf("  %s: %d %s\n", current_test, r, r ? last_err : "clean");
	return r;
}

static int check_fs(struct sfs_mkfs *fs)
{
	return check_dev(fs->img, fs->nr_blocks, -1);
}

#define EXPECT_CORRUPT_DEV(img, dev_blocks, substr)                                           \
	do {                                                                                  \
		int _r = check_dev(img, dev_blocks, -1);                                      \
		CHECK_EQ(_r, -SFS_EINVAL);                                                    \
		checks++;                                                                     \
		if (!strstr(last_err, substr)) {                                              \
			failures++;                                                           \
			printf("FAIL %s: %s:%d: message \"%s\" lacks \"%s\"\n", current_test, \
			       __FILE__, __LINE__, last_err, substr);                         \
		}                                                                             \
	} while (0)
#define EXPECT_CORRUPT(fs, substr) EXPECT_CORRUPT_DEV((fs)->img, (fs)->nr_blocks, substr)

/* ---- images ------------------------------------------------------------- */

#define BASE_BLOCKS 256 /* 1 MiB */
#define BASE_INODES 127
#define MANY_FILES  70 /* /many spans two directory blocks */

static const char hello[] = "hello from the RAM disk\n";

struct base {
	struct sfs_mkfs fs;
	uint8_t *img;
	uint32_t hello, empty, big, sparse, dir, sub, deep, docs, many;
};

static uint32_t lookup(struct sfs_mkfs *fs, const char *path)
{
	uint32_t ino = 0;
	int r = sfs_mkfs_lookup(fs, path, &ino);
	if (r) {
		printf("FAIL %s: lookup %s: %s\n", current_test, path, fs->err);
		abort();
	}
	return ino;
}

static void must(struct sfs_mkfs *fs, int r, const char *what)
{
	if (r) {
		printf("FAIL %s: %s: %s\n", current_test, what, fs->err);
		abort();
	}
}

static void make_base(struct base *b)
{
	static uint8_t big[60 * 1024]; /* 15 blocks: 12 direct + 3 through the indirect block */
	struct sfs_mkfs *fs = &b->fs;
	char name[32];

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + 3);
	b->img = malloc((size_t)BASE_BLOCKS * SFS_BLOCK_SIZE);
	must(fs, sfs_mkfs_format(fs, b->img, (size_t)BASE_BLOCKS * SFS_BLOCK_SIZE, BASE_INODES),
	     "format");
	must(fs, sfs_mkfs_add_file(fs, "/hello.txt", hello, strlen(hello), &b->hello), "hello");
	must(fs, sfs_mkfs_add_file(fs, "/empty", "", 0, &b->empty), "empty");
	must(fs, sfs_mkfs_add_file(fs, "/big.bin", big, sizeof(big), &b->big), "big");
	must(fs, sfs_mkfs_add_file(fs, "/sparse", NULL, 100 * 1024, &b->sparse), "sparse");
	must(fs, sfs_mkfs_add_file(fs, "/dir/sub/deep.txt", "deep\n", 5, &b->deep), "deep");
	must(fs, sfs_mkfs_link(fs, "/dir/link", b->hello), "link");
	must(fs, sfs_mkfs_mkdir(fs, "/docs", &b->docs), "docs");
	must(fs, sfs_mkfs_mkdir(fs, "/many", &b->many), "many");
	for (int i = 0; i < MANY_FILES; i++) {
		snprintf(name, sizeof(name), "/many/f%02d", i);
		must(fs, sfs_mkfs_add_file(fs, name, name, strlen(name), NULL), name);
	}
	sfs_mkfs_finish(fs);
	b->dir = lookup(fs, "/dir");
	b->sub = lookup(fs, "/dir/sub");
}

static void free_base(struct base *b)
{
	free(b->img);
}

static struct sfs_super *super(struct base *b)
{
	return sfs_mkfs_super(&b->fs);
}

static struct sfs_inode *inode(struct base *b, uint32_t ino)
{
	return sfs_mkfs_inode(&b->fs, ino);
}

static uint8_t *bitmap(struct base *b)
{
	return sfs_mkfs_block(&b->fs, super(b)->bitmap_start);
}

/* The entry called name in directory dir. */
static struct sfs_dirent *dirent(struct base *b, uint32_t dir, const char *name)
{
	uint32_t n = (uint32_t)(inode(b, dir)->size / SFS_DIRENT_SIZE);

	for (uint32_t i = 0; i < n; i++) {
		uint32_t blk = sfs_mkfs_bmap(&b->fs, dir, i / SFS_DIRENTS_PER_BLOCK);
		struct sfs_dirent *de = (void *)(sfs_mkfs_block(&b->fs, blk) +
						 (i % SFS_DIRENTS_PER_BLOCK) * SFS_DIRENT_SIZE);
		if (de->ino && de->name_len == strlen(name) &&
		    !memcmp(de->name, name, de->name_len))
			return de;
	}
	printf("FAIL %s: no entry %s in directory %u\n", current_test, name, dir);
	abort();
}

static void set_name(struct sfs_dirent *de, const char *name, size_t len)
{
	memset(de->name, 0, sizeof(de->name));
	memcpy(de->name, name, len);
	de->name_len = (uint8_t)len;
}

/* A free data block of the base image. */
static uint32_t free_block(struct base *b)
{
	for (uint32_t blk = super(b)->data_start; blk < super(b)->nr_blocks; blk++)
		if (!sfs_bit_test(bitmap(b), blk))
			return blk;
	abort();
}

#define TEST(name)                               \
	static void test_##name(struct base *b); \
	static void run_##name(void)             \
	{                                        \
		struct base b;                   \
		current_test = #name;            \
		make_base(&b);                   \
		test_##name(&b);                 \
		free_base(&b);                   \
	}                                        \
	static void test_##name(struct base *b)

/* ---- clean images ------------------------------------------------------- */

TEST(clean_base)
{
	CHECK_EQ(check_fs(&b->fs), 0);
	CHECK_EQ(last_err[0], '\0');
	/* files: hello, empty, big, sparse, deep, 70 in /many; dirs: / dir sub docs many */
	CHECK_EQ(last_stats.files, 5 + MANY_FILES);
	CHECK_EQ(last_stats.dirs, 5);
	/* data: hello 1, big 15 + indirect, deep 1, many 70, dirs: / dir sub many*2 */
	CHECK_EQ(last_stats.data_blocks, 1 + 16 + 1 + MANY_FILES + 5);
	CHECK_EQ(last_stats.blocks_used, super(b)->data_start + last_stats.data_blocks);
	CHECK_EQ(last_stats.free_blocks, BASE_BLOCKS - last_stats.blocks_used);
	CHECK_EQ(super(b)->nr_inodes, 128);
	CHECK_EQ(last_stats.free_inodes, 127 - 10 - MANY_FILES);
	CHECK_EQ(inode(b, b->hello)->nlink, 2);
	CHECK_EQ(inode(b, b->big)->indirect != 0, 1);
	CHECK_EQ(inode(b, b->sparse)->direct[0], 0);
	CHECK_EQ(inode(b, b->many)->size, MANY_FILES * SFS_DIRENT_SIZE);
	CHECK_EQ(
	    memcmp(sfs_mkfs_block(&b->fs, inode(b, b->hello)->direct[0]), hello, strlen(hello)), 0);
	/* The layout of sfs_format.h. */
	CHECK_EQ(super(b)->bitmap_start, 1);
	CHECK_EQ(super(b)->bitmap_blocks, 1);
	CHECK_EQ(super(b)->inode_table_start, 2);
	CHECK_EQ(super(b)->inode_table_blocks, 4);
	CHECK_EQ(super(b)->data_start, 6);
	CHECK_EQ(memcmp(b->img, "SFS1", 4), 0);
	CHECK_EQ(super(b)->version, 2);
	CHECK_EQ(super(b)->max_blocks, BASE_BLOCKS);
	/* A bigger device than the file system is fine. */
	uint8_t *bigger = calloc(BASE_BLOCKS + 3, SFS_BLOCK_SIZE);
	memcpy(bigger, b->img, (size_t)BASE_BLOCKS * SFS_BLOCK_SIZE);
	CHECK_EQ(check_dev(bigger, BASE_BLOCKS + 3, -1), 0);
	free(bigger);
}

static void run_clean_variants(void)
{
	struct sfs_mkfs fs;
	size_t size;
	uint8_t *img;

	current_test = "clean_variants";
	/* Empty file systems, the smallest one included. */
	size = 4 * SFS_BLOCK_SIZE;
	img = malloc(size);
	CHECK_EQ(sfs_mkfs_format(&fs, img, size, 1), 0);
	CHECK_EQ(check_fs(&fs), 0);
	CHECK_EQ(last_stats.dirs, 1);
	CHECK_EQ(last_stats.files, 0);
	CHECK_EQ(sfs_mkfs_format(&fs, img, 3 * SFS_BLOCK_SIZE, 1), -ENOSPC);
	free(img);

	/* Files past the single indirect block (more than 4 MiB: 12 + 1024 +
	 * 300 blocks, through the double indirect block, every block with
	 * data), one of the maximum size (sparse, its last block written) and
	 * a bitmap of two blocks (more than 32768 blocks: 130 MiB). */
	size = (size_t)33000 * SFS_BLOCK_SIZE;
	img = malloc(size);
	CHECK_EQ(sfs_mkfs_format(&fs, img, size, 0), 0);
	uint64_t big_size = (SFS_IND2_FIRST + 300) * SFS_BLOCK_SIZE - 5;
	uint8_t *data = malloc(big_size);
	for (size_t i = 0; i < big_size; i++)
		data[i] = (uint8_t)(i >> 12) ^ (uint8_t)i;
	uint32_t big_ino, max_ino;
	CHECK_EQ(sfs_mkfs_add_file(&fs, "/big", data, big_size, &big_ino), 0);
	CHECK_EQ(sfs_mkfs_add_file(&fs, "/max", NULL, SFS_MAX_FILE_SIZE, &max_ino), 0);
	CHECK_EQ(sfs_mkfs_write(&fs, max_ino, SFS_MAX_FILE_SIZE - 3, "end", 3), 0);
	CHECK_EQ(sfs_mkfs_write(&fs, max_ino, SFS_MAX_FILE_SIZE - 2, "end", 3), -EINVAL);
	CHECK_EQ(sfs_mkfs_write(&fs, big_ino, ~0ull, "x", 2), -EINVAL);
	CHECK_EQ(sfs_mkfs_add_file(&fs, "/toobig", NULL, SFS_MAX_FILE_SIZE + 1, NULL), -EFBIG);
	sfs_mkfs_finish(&fs);
	CHECK_EQ(sfs_mkfs_super(&fs)->bitmap_blocks, 2);
	CHECK_EQ(check_fs(&fs), 0);
	/* big: 1336 data blocks, the indirect block, the double indirect
	 * block and one indirect block under it; max: data, triple, double
	 * and indirect blocks. */
	CHECK_EQ(last_stats.data_blocks, 1 + 1336 + 3 + 4);
	int same = 1;
	for (uint64_t lbn = 0; lbn < SFS_IND2_FIRST + 300; lbn++) {
		uint32_t blk = sfs_mkfs_bmap(&fs, big_ino, lbn);
		uint64_t n = lbn == SFS_IND2_FIRST + 299 ? SFS_BLOCK_SIZE - 5 : SFS_BLOCK_SIZE;
		same &=
		    blk != 0 && !memcmp(sfs_mkfs_block(&fs, blk), data + lbn * SFS_BLOCK_SIZE, n);
	}
	CHECK(same);
	free(data);
	CHECK_EQ(sfs_mkfs_inode(&fs, big_ino)->triple_indirect, 0);
	uint32_t last = sfs_mkfs_bmap(&fs, max_ino, SFS_MAX_FILE_BLOCKS - 1);
	CHECK(last != 0);
	CHECK_EQ(memcmp(sfs_mkfs_block(&fs, last) + SFS_BLOCK_SIZE - 3, "end", 3), 0);
	CHECK_EQ(sfs_mkfs_bmap(&fs, max_ino, SFS_MAX_FILE_BLOCKS - 2), 0);
	CHECK_EQ(sfs_mkfs_inode(&fs, max_ino)->indirect, 0);
	CHECK_EQ(sfs_mkfs_inode(&fs, max_ino)->double_indirect, 0);
	/* One byte more than the maximum. */
	sfs_mkfs_inode(&fs, max_ino)->size++;
	CHECK_EQ(check_fs(&fs), -SFS_EINVAL);
	CHECK(strstr(last_err, "maximum file size") != NULL);
	free(img);
}

static void run_helpers(void)
{
	current_test = "helpers";
	CHECK_EQ(sfs_fnv1a32("", 0), 0x811c9dc5u);
	CHECK_EQ(sfs_fnv1a32("a", 1), 0xe40c292cu);
	CHECK_EQ(sfs_fnv1a32("foobar", 6), 0xbf9cf968u);
	CHECK(sfs_valid_name("a", 1));
	CHECK(sfs_valid_name("...", 3));
	CHECK(sfs_valid_name(".hidden", 7));
	CHECK(sfs_valid_name("x2345678901234567890123456789012345678901234567890123456789", 59));
	CHECK(!sfs_valid_name("x23456789012345678901234567890123456789012345678901234567890", 60));
	CHECK(!sfs_valid_name("", 0));
	CHECK(!sfs_valid_name(".", 1));
	CHECK(!sfs_valid_name("..", 2));
	CHECK(!sfs_valid_name("a/b", 3));
	CHECK(!sfs_valid_name("a\0b", 3));
	CHECK_EQ(sfs_block_of_offset(0), 0);
	CHECK_EQ(sfs_block_of_offset(4095), 0);
	CHECK_EQ(sfs_block_of_offset(4096), 1);
	CHECK_EQ(sfs_offset_in_block(4097), 1);
	CHECK_EQ(sfs_size_blocks(0), 0);
	CHECK_EQ(sfs_size_blocks(1), 1);
	CHECK_EQ(sfs_size_blocks(SFS_MAX_FILE_SIZE), SFS_MAX_FILE_BLOCKS);
	CHECK_EQ(sfs_block_to_sector(3), 24);
	CHECK_EQ(SFS_MAX_FILE_SIZE, 1074791436ull * 4096);
	uint8_t map[8] = { 0 };
	sfs_bit_set(map, 9);
	CHECK_EQ(map[1], 2);
	CHECK(sfs_bit_test(map, 9));
	CHECK(!sfs_bit_test(map, 8));
	sfs_bit_clear(map, 9);
	CHECK_EQ(map[1], 0);
	struct sfs_super sb = { .inode_table_start = 5,
				.bitmap_start = 1,
				.nr_inodes = 64,
				.data_start = 7,
				.nr_blocks = 100 };
	CHECK_EQ(sfs_inode_block(&sb, 33), 6);
	CHECK_EQ(sfs_inode_offset(33), 128);
	CHECK(!sfs_ino_valid(&sb, 0));
	CHECK(sfs_ino_valid(&sb, 63));
	CHECK(!sfs_ino_valid(&sb, 64));
	CHECK(!sfs_data_block_valid(&sb, 6));
	CHECK(sfs_data_block_valid(&sb, 99));
	CHECK(!sfs_data_block_valid(&sb, 100));
	CHECK_EQ(sfs_bitmap_block(&sb, 40000), 2);
	CHECK_EQ(sfs_bitmap_bit(40000), 40000 - 32768);
	CHECK_EQ(sfs_check_scratch_size(2048, 512),
		 5 * 4096 + 2048 * 4 + 512 + 3 * 512 * 4 + 66304 * 8);
	/* The level boundaries of the block map. */
	CHECK_EQ(SFS_IND1_FIRST, 12);
	CHECK_EQ(SFS_IND2_FIRST, 1036);
	CHECK_EQ(SFS_IND3_FIRST, 1036 + 1024 * 1024);
	CHECK_EQ(SFS_MAX_FILE_BLOCKS, 12ull + 1024 + 1024 * 1024 + 1024ull * 1024 * 1024);
	CHECK_EQ(SFS_MAX_DIR_SIZE, 1036ull * 4096);
	CHECK_EQ(SFS_MAX_DIRENTS, 66304);
	static const struct {
		uint64_t lbn;
		int level;
		uint32_t idx[3];
	} paths[] = {
		{ 0, 0, { 0 } },
		{ 11, 0, { 11 } },
		{ 12, 1, { 0 } },
		{ 1035, 1, { 1023 } },
		{ 1036, 2, { 0, 0 } },
		{ 1036 + 1023, 2, { 0, 1023 } },
		{ 1036 + 1024, 2, { 1, 0 } },
		{ 1036 + 1024 * 1024 - 1, 2, { 1023, 1023 } },
		{ 1036 + 1024 * 1024, 3, { 0, 0, 0 } },
		{ 1036 + 1024 * 1024 + 1024, 3, { 0, 1, 0 } },
		{ 1036 + 2 * 1024 * 1024 + 5, 3, { 1, 0, 5 } },
		{ SFS_MAX_FILE_BLOCKS - 1, 3, { 1023, 1023, 1023 } },
		{ SFS_MAX_FILE_BLOCKS, -1, { 0 } },
		{ ~0ull, -1, { 0 } },
	};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		uint32_t idx[3] = { 7, 7, 7 };
		int level = sfs_bmap_path(paths[i].lbn, idx);
		CHECK_EQ(level, paths[i].level);
		for (int k = 0; k < (level > 0 ? level : level == 0 ? 1 : 0); k++)
			CHECK_EQ(idx[k], paths[i].idx[k]);
	}
	CHECK_EQ(sfs_entry_span(1), 1);
	CHECK_EQ(sfs_entry_span(2), 1024);
	CHECK_EQ(sfs_entry_span(3), 1024 * 1024);
	CHECK_EQ(sfs_level_first(2) + sfs_level_blocks(2), sfs_level_first(3));
}

static void run_mkfs_errors(void)
{
	struct sfs_mkfs fs;
	size_t size = 64 * SFS_BLOCK_SIZE;
	uint8_t *img = malloc(size);
	uint32_t ino;
	char name[80];

	current_test = "mkfs_errors";
	CHECK_EQ(sfs_mkfs_format(&fs, img, size, 31), 0);
	CHECK_EQ(sfs_mkfs_add_file(&fs, "/a", "x", 1, &ino), 0);
	CHECK_EQ(sfs_mkfs_add_file(&fs, "/a", "x", 1, NULL), -EEXIST);
	CHECK_EQ(sfs_mkfs_mkdir(&fs, "/a", NULL), -EEXIST);
	CHECK_EQ(sfs_mkfs_add_file(&fs, "/a/b", "x", 1, NULL), -ENOTDIR);
	CHECK_EQ(sfs_mkfs_add_file(&fs, "/..", "x", 1, NULL), -EINVAL);
	memset(name, 'n', sizeof(name));
	name[0] = '/';
	name[61] = '\0'; /* 60 characters */
	CHECK_EQ(sfs_mkfs_add_file(&fs, name, "x", 1, NULL), -EINVAL);
	CHECK_EQ(sfs_mkfs_mkdir(&fs, name, NULL), -EINVAL);
	CHECK_EQ(sfs_mkfs_link(&fs, "/l", SFS_ROOT_INO), -EINVAL);
	CHECK_EQ(sfs_mkfs_lookup(&fs, "/nope", &ino), -ENOENT);
	CHECK_EQ(sfs_mkfs_mkdir(&fs, "//d1///d2/", &ino), 0);
	CHECK_EQ(sfs_mkfs_lookup(&fs, "d1/d2", &ino), 0);
	/* Inodes run out: 31 (slots 1..31), 4 used (root, a, d1, d2). */
	int r = 0, made = 0;
	for (int i = 0; i < 40 && !r; i++) {
		snprintf(name, sizeof(name), "/f%d", i);
		r = sfs_mkfs_add_file(&fs, name, NULL, 0, NULL);
		made += !r;
	}
	CHECK_EQ(r, -ENOSPC);
	CHECK_EQ(made, 31 - 4);
	sfs_mkfs_finish(&fs);
	CHECK_EQ(check_fs(&fs), 0);
	CHECK_EQ(last_stats.free_inodes, 0);

	/* Blocks run out. */
	CHECK_EQ(sfs_mkfs_format(&fs, img, size, 31), 0);
	uint8_t *data = calloc(1, 70 * SFS_BLOCK_SIZE);
	CHECK_EQ(sfs_mkfs_add_file(&fs, "/huge", data, 70 * SFS_BLOCK_SIZE, NULL), -ENOSPC);
	free(data);
	free(img);
}

/* ---- the superblock ----------------------------------------------------- */

TEST(super_magic)
{
	super(b)->magic = 0x12345678;
	EXPECT_CORRUPT(&b->fs, "bad magic 0x12345678");
}

TEST(super_version)
{
	super(b)->version = 3;
	sfs_mkfs_sign(&b->fs);
	EXPECT_CORRUPT(&b->fs, "unsupported version 3 (expected 2)");
	/* A version 1 image is named as such, with what to do about it. */
	super(b)->version = 1;
	sfs_mkfs_sign(&b->fs);
	EXPECT_CORRUPT(&b->fs, "SFS version 1 image: this kernel and its tools read version 2; "
			       "rebuild the image with tools/mkfs_sfs");
}

TEST(super_block_size)
{
	super(b)->block_size = 512;
	sfs_mkfs_sign(&b->fs);
	EXPECT_CORRUPT(&b->fs, "bad block size 512");
}

TEST(super_checksum)
{
	super(b)->free_blocks--; /* not re-signed */
	EXPECT_CORRUPT(&b->fs, "bad superblock checksum");
	super(b)->free_blocks++;
	super(b)->checksum ^= 1;
	EXPECT_CORRUPT(&b->fs, "bad superblock checksum");
}

TEST(super_reserved)
{
	super(b)->reserved[1] = 7;
	sfs_mkfs_sign(&b->fs);
	EXPECT_CORRUPT(&b->fs, "reserved[1]");
}

TEST(super_root_ino)
{
	super(b)->root_ino = 2;
	sfs_mkfs_sign(&b->fs);
	EXPECT_CORRUPT(&b->fs, "bad root inode number 2");
}

TEST(super_truncated)
{
	/* The same image on a device one block short. */
	CHECK_EQ(check_dev(b->img, BASE_BLOCKS - 1, -1), -SFS_EINVAL);
	CHECK(strstr(last_err, "has 256 blocks but the device only 255") != NULL);
	/* nr_blocks past the device. */
	super(b)->nr_blocks = 100000;
	super(b)->max_blocks = 100000;
	super(b)->bitmap_blocks = 4;
	sfs_mkfs_sign(&b->fs);
	EXPECT_CORRUPT(&b->fs, "truncated image");
	/* No superblock at all. */
	CHECK_EQ(check_dev(b->img, 0, -1), -SFS_EINVAL);
	CHECK(strstr(last_err, "device too small") != NULL);
}

TEST(super_bitmap_geometry)
{
	super(b)->bitmap_start = 0;
	sfs_mkfs_sign(&b->fs);
	EXPECT_CORRUPT(&b->fs, "bitmap_start is 0");
	super(b)->bitmap_start = 1;
	super(b)->bitmap_blocks = 2;
	sfs_mkfs_sign(&b->fs);
	EXPECT_CORRUPT(&b->fs, "bitmap_blocks is 2, expected 1 for max_blocks 256");
	/* The bitmap is sized by max_blocks, not nr_blocks. */
	super(b)->bitmap_blocks = 1;
	super(b)->max_blocks = 32769;
	sfs_mkfs_sign(&b->fs);
	EXPECT_CORRUPT(&b->fs, "bitmap_blocks is 1, expected 2 for max_blocks 32769");
	super(b)->max_blocks = 255;
	sfs_mkfs_sign(&b->fs);
	EXPECT_CORRUPT(&b->fs, "max_blocks 255 is less than nr_blocks 256");
	super(b)->max_blocks = 32768; /* the most one bitmap block covers */
	sfs_mkfs_sign(&b->fs);
	CHECK_EQ(check_fs(&b->fs), 0);
}

TEST(super_table_overlaps_bitmap)
{
	super(b)->inode_table_start = 1;
	sfs_mkfs_sign(&b->fs);
	EXPECT_CORRUPT(&b->fs, "overlaps the bitmap");
	super(b)->inode_table_start = 3;
	sfs_mkfs_sign(&b->fs);
	EXPECT_CORRUPT(&b->fs, "inode table starts at block 3, expected 2");
}

TEST(super_inode_count)
{
	super(b)->nr_inodes = 1;
	sfs_mkfs_sign(&b->fs);
	EXPECT_CORRUPT(&b->fs, "need at least 2");
	super(b)->nr_inodes = 1000;
	sfs_mkfs_sign(&b->fs);
	EXPECT_CORRUPT(&b->fs, "inode_table_blocks is 4, expected 32");
	/* Consistent, but the table runs past the end. */
	super(b)->nr_inodes = 300 * 32;
	super(b)->inode_table_blocks = 300;
	sfs_mkfs_sign(&b->fs);
	EXPECT_CORRUPT(&b->fs, "leaves no data blocks");
	super(b)->nr_inodes = 0xffffffff;
	super(b)->inode_table_blocks = 0x8000000;
	sfs_mkfs_sign(&b->fs);
	EXPECT_CORRUPT(&b->fs, "leaves no data blocks");
}

TEST(super_data_start)
{
	super(b)->data_start = 5;
	sfs_mkfs_sign(&b->fs);
	EXPECT_CORRUPT(&b->fs, "overlaps the inode table");
	super(b)->data_start = 7;
	sfs_mkfs_sign(&b->fs);
	EXPECT_CORRUPT(&b->fs, "data area starts at block 7, expected 6");
}

TEST(super_free_counts)
{
	uint32_t fb = super(b)->free_blocks, fi = super(b)->free_inodes;

	super(b)->free_blocks = 1000;
	sfs_mkfs_sign(&b->fs);
	EXPECT_CORRUPT(&b->fs, "free_blocks 1000 is more than the 250 data blocks");
	super(b)->free_blocks = fb - 1;
	sfs_mkfs_sign(&b->fs);
	EXPECT_CORRUPT(&b->fs, "free blocks");
	super(b)->free_blocks = fb;
	super(b)->free_inodes = fi + 1;
	sfs_mkfs_sign(&b->fs);
	EXPECT_CORRUPT(&b->fs, "free inodes");
	super(b)->free_inodes = 200;
	sfs_mkfs_sign(&b->fs);
	EXPECT_CORRUPT(&b->fs, "free_inodes 200 is more than");
}

/* ---- inodes -------------------------------------------------------------- */

TEST(inode_slot0)
{
	inode(b, 0)->size = 1; /* slot 0 lives at offset 0 of the table */
	EXPECT_CORRUPT(&b->fs, "inode table slot 0");
}

TEST(inode_slot_past_nr_inodes)
{
	/* 127 slots in a 4-block table: slot 127 must stay zero. */
	super(b)->nr_inodes = 127;
	super(b)->free_inodes--;
	sfs_mkfs_sign(&b->fs);
	CHECK_EQ(check_fs(&b->fs), 0);
	inode(b, 127)->mode = SFS_S_IFREG;
	EXPECT_CORRUPT(&b->fs, "inode table slot 127");
}

TEST(inode_free_not_zero)
{
	inode(b, 120)->size = 5;
	EXPECT_CORRUPT(&b->fs, "free inode 120 is not zeroed");
}

TEST(inode_bad_mode)
{
	inode(b, b->hello)->mode = 4;
	EXPECT_CORRUPT(&b->fs, "bad mode 4");
	inode(b, b->hello)->mode = 0x8001;
	EXPECT_CORRUPT(&b->fs, "bad mode");
}

TEST(inode_symlink_size)
{
	/* a small file read as a symbolic link is a valid link ... */
	inode(b, b->hello)->mode = SFS_S_IFLNK;
	CHECK_EQ(check_fs(&b->fs), 0);
	/* ... whose target has 1 .. 4095 bytes */
	inode(b, b->hello)->size = 0;
	EXPECT_CORRUPT(&b->fs, "symlink inode");
	inode(b, b->hello)->size = SFS_SYMLINK_MAX + 1;
	EXPECT_CORRUPT(&b->fs, "symlink inode");
}

TEST(inode_nlink_zero)
{
	inode(b, b->empty)->nlink = 0;
	EXPECT_CORRUPT(&b->fs, "nlink 0");
}

TEST(inode_size_past_max)
{
	inode(b, b->sparse)->size = SFS_MAX_FILE_SIZE + 1;
	EXPECT_CORRUPT(&b->fs, "past the maximum file size");
	inode(b, b->sparse)->size = ~0ull;
	EXPECT_CORRUPT(&b->fs, "past the maximum file size");
}

TEST(inode_dir_size)
{
	inode(b, b->docs)->size = 65;
	EXPECT_CORRUPT(&b->fs, "size 65 is not a multiple of 64");
}

TEST(inode_direct_out_of_range)
{
	inode(b, b->hello)->direct[0] = BASE_BLOCKS;
	EXPECT_CORRUPT(&b->fs, "direct[0] = block 256 is out of range");
	inode(b, b->hello)->direct[0] = 0xffffffff;
	EXPECT_CORRUPT(&b->fs, "out of range");
	/* Into the metadata: the superblock, the bitmap, the inode table. */
	for (uint32_t blk = 1; blk < super(b)->data_start; blk++) {
		inode(b, b->hello)->direct[0] = blk;
		EXPECT_CORRUPT(&b->fs, "out of range (data blocks are 6..255)");
	}
}

TEST(inode_indirect_out_of_range)
{
	inode(b, b->big)->indirect = 2;
	EXPECT_CORRUPT(&b->fs, "indirect block = block 2 is out of range");
	inode(b, b->big)->indirect = 300;
	EXPECT_CORRUPT(&b->fs, "indirect block = block 300 is out of range");
}

TEST(inode_indirect_entry_out_of_range)
{
	uint8_t *ind = sfs_mkfs_block(&b->fs, inode(b, b->big)->indirect);
	sfs_put_le32(ind + 4 * 2, 4000);
	EXPECT_CORRUPT(&b->fs, "indirect[2] = block 4000 is out of range");
	sfs_put_le32(ind + 4 * 2, 1);
	EXPECT_CORRUPT(&b->fs, "indirect[2] = block 1 is out of range");
}

TEST(inode_block_shared)
{
	/* Two files, one block. */
	inode(b, b->deep)->direct[0] = inode(b, b->hello)->direct[0];
	EXPECT_CORRUPT(&b->fs, "used twice: by inode");
}

TEST(inode_block_twice_in_file)
{
	inode(b, b->big)->direct[5] = inode(b, b->big)->direct[4];
	EXPECT_CORRUPT(&b->fs, "used twice by inode");
}

TEST(inode_indirect_block_shared)
{
	/* The indirect block is also a data block of the same file. */
	uint8_t *ind = sfs_mkfs_block(&b->fs, inode(b, b->big)->indirect);
	sfs_put_le32(ind, inode(b, b->big)->indirect);
	EXPECT_CORRUPT(&b->fs, "used twice by inode");
	/* ... and a directory block. */
	struct base c;
	make_base(&c);
	inode(&c, c.docs)->size = 64;
	inode(&c, c.docs)->direct[0] = inode(&c, c.big)->indirect;
	EXPECT_CORRUPT(&c.fs, "used twice");
	free_base(&c);
}

TEST(inode_block_past_size)
{
	inode(b, b->big)->size = 11 * SFS_BLOCK_SIZE;
	EXPECT_CORRUPT(&b->fs, "direct[11] = block");
	inode(b, b->big)->size = 12 * SFS_BLOCK_SIZE + 1;
	EXPECT_CORRUPT(&b->fs, "indirect[1] = block");
	inode(b, b->big)->size = 12 * SFS_BLOCK_SIZE;
	EXPECT_CORRUPT(&b->fs, "needs none");
	inode(b, b->hello)->size = 0;
	inode(b, b->big)->size = 15 * SFS_BLOCK_SIZE;
	EXPECT_CORRUPT(&b->fs, "maps past the end of the file (size 0)");
}

TEST(inode_dir_hole)
{
	/* /many has two blocks; unmap the first and free it. */
	uint32_t blk = inode(b, b->many)->direct[0];
	inode(b, b->many)->direct[0] = 0;
	sfs_bit_clear(bitmap(b), blk);
	super(b)->free_blocks++;
	sfs_mkfs_sign(&b->fs);
	EXPECT_CORRUPT(&b->fs, "has a hole at block 0");
}

TEST(inode_sparse_ok)
{
	/* Regular files may have holes anywhere, the indirect block too. */
	uint32_t blk = inode(b, b->big)->direct[3];
	inode(b, b->big)->direct[3] = 0;
	sfs_bit_clear(bitmap(b), blk);
	super(b)->free_blocks++;
	sfs_mkfs_sign(&b->fs);
	CHECK_EQ(check_fs(&b->fs), 0);
}

/* ---- the bitmap ---------------------------------------------------------- */

TEST(bitmap_used_but_free)
{
	sfs_bit_clear(bitmap(b), inode(b, b->deep)->direct[0]);
	super(b)->free_blocks++;
	sfs_mkfs_sign(&b->fs);
	EXPECT_CORRUPT(&b->fs, "marked free in the bitmap");
	/* An indirect block too. */
	struct base c;
	make_base(&c);
	sfs_bit_clear(bitmap(&c), inode(&c, c.big)->indirect);
	EXPECT_CORRUPT(&c.fs, "marked free in the bitmap");
	free_base(&c);
}

TEST(bitmap_leak)
{
	uint32_t blk = free_block(b);
	sfs_bit_set(bitmap(b), blk);
	super(b)->free_blocks--;
	sfs_mkfs_sign(&b->fs);
	EXPECT_CORRUPT(&b->fs, "no inode uses it (leaked)");
}

TEST(bitmap_metadata)
{
	sfs_bit_clear(bitmap(b), 3);
	EXPECT_CORRUPT(&b->fs, "metadata block 3 is marked free");
	sfs_bit_set(bitmap(b), 3);
	sfs_bit_clear(bitmap(b), 0);
	EXPECT_CORRUPT(&b->fs, "metadata block 0 is marked free");
}

TEST(bitmap_past_end)
{
	sfs_bit_set(bitmap(b), BASE_BLOCKS);
	EXPECT_CORRUPT(&b->fs, "bit of block 256 (past the last block 255) is set");
	sfs_bit_clear(bitmap(b), BASE_BLOCKS);
	sfs_bit_set(bitmap(b), SFS_BITS_PER_BLOCK - 1);
	EXPECT_CORRUPT(&b->fs, "past the last block");
}

/* ---- directory entries ---------------------------------------------------- */

TEST(dirent_free_inode)
{
	dirent(b, SFS_ROOT_INO, "empty")->ino = 121;
	EXPECT_CORRUPT(&b->fs, "entry \"empty\" points to free inode 121");
}

TEST(dirent_out_of_range)
{
	dirent(b, SFS_ROOT_INO, "empty")->ino = 128;
	EXPECT_CORRUPT(&b->fs, "points to inode 128, out of range (1..127)");
	dirent(b, SFS_ROOT_INO, "empty")->ino = 0xffffffff;
	EXPECT_CORRUPT(&b->fs, "out of range");
}

TEST(dirent_bad_names)
{
	struct sfs_dirent *de = dirent(b, b->dir, "link");

	set_name(de, "", 0);
	EXPECT_CORRUPT(&b->fs, "name length 0 is not in 1..59");
	set_name(de, "x", 1);
	de->name_len = 60;
	EXPECT_CORRUPT(&b->fs, "name length 60");
	de->name_len = 255;
	EXPECT_CORRUPT(&b->fs, "name length 255");
	set_name(de, "a/b", 3);
	EXPECT_CORRUPT(&b->fs, "bad name \"a/b\"");
	set_name(de, "a\0b", 3);
	EXPECT_CORRUPT(&b->fs, "bad name \"a\\x00b\"");
	set_name(de, ".", 1);
	EXPECT_CORRUPT(&b->fs, "bad name \".\"");
	set_name(de, "..", 2);
	EXPECT_CORRUPT(&b->fs, "bad name \"..\"");
	/* Unprintable bytes are escaped in the message, and fine in a name. */
	set_name(de, "\x01\xff\"", 3);
	CHECK_EQ(check_fs(&b->fs), 0);
	de->ino = 125;
	EXPECT_CORRUPT(&b->fs, "entry \"\\x01\\xff\\x22\" points to free inode");
}

TEST(dirent_duplicate)
{
	set_name(dirent(b, SFS_ROOT_INO, "empty"), "hello.txt", 9);
	EXPECT_CORRUPT(&b->fs, "duplicate name \"hello.txt\"");
}

TEST(dirent_duplicate_across_blocks)
{
	/* f69 is entry 69, in the second block of /many; f01 in the first. */
	set_name(dirent(b, b->many, "f69"), "f01", 3);
	EXPECT_CORRUPT(&b->fs, "duplicate name \"f01\" (entries 1 and 69)");
}

TEST(dir_loop_to_root)
{
	dirent(b, b->sub, "deep.txt")->ino = SFS_ROOT_INO;
	EXPECT_CORRUPT(&b->fs, "directory loop: entry \"deep.txt\" in directory");
	CHECK(strstr(last_err, "points to the root") != NULL);
}

TEST(dir_loop_to_ancestor)
{
	dirent(b, b->sub, "deep.txt")->ino = b->dir;
	EXPECT_CORRUPT(&b->fs, "directory loop");
	CHECK(strstr(last_err, "which contains it") != NULL);
}

TEST(dir_loop_to_self)
{
	dirent(b, b->sub, "deep.txt")->ino = b->sub;
	EXPECT_CORRUPT(&b->fs,
		       "directory loop: entry \"deep.txt\" in directory 7 points to itself");
}

TEST(dir_two_parents)
{
	dirent(b, b->dir, "link")->ino = b->docs;
	EXPECT_CORRUPT(&b->fs, "has two parents");
	/* The same directory twice in one directory. */
	struct base c;
	make_base(&c);
	dirent(&c, SFS_ROOT_INO, "empty")->ino = c.docs;
	EXPECT_CORRUPT(&c.fs, "directory 9 appears twice in directory 1");
	free_base(&c);
}

TEST(link_count)
{
	inode(b, b->hello)->nlink = 3;
	EXPECT_CORRUPT(&b->fs, "nlink is 3 but 2 directory entries point to it");
	inode(b, b->hello)->nlink = 1;
	EXPECT_CORRUPT(&b->fs, "nlink is 1 but 2");
	inode(b, b->hello)->nlink = 2;
	inode(b, b->docs)->nlink = 2;
	EXPECT_CORRUPT(&b->fs, "nlink is 2 but 1");
	inode(b, b->docs)->nlink = 1;
	inode(b, SFS_ROOT_INO)->nlink = 2;
	EXPECT_CORRUPT(&b->fs, "root inode 1: nlink is 2, expected 1");
}

TEST(unreachable_file)
{
	dirent(b, SFS_ROOT_INO, "empty")->ino = 0;
	EXPECT_CORRUPT(&b->fs, "(file) is in use but not reachable from the root");
}

TEST(unreachable_dir_cycle)
{
	/* Cut /dir/sub off and make it contain itself: a cycle that no walk
	 * from the root enters. */
	dirent(b, b->dir, "sub")->ino = 0;
	dirent(b, b->sub, "deep.txt")->ino = b->sub;
	EXPECT_CORRUPT(&b->fs, "is in use but not reachable from the root");
}

static void run_root_bad(void)
{
	struct sfs_mkfs fs;
	size_t size = 16 * SFS_BLOCK_SIZE;
	uint8_t *img = malloc(size);

	current_test = "root_bad";
	CHECK_EQ(sfs_mkfs_format(&fs, img, size, 0), 0);
	sfs_mkfs_inode(&fs, SFS_ROOT_INO)->mode = SFS_S_IFREG;
	EXPECT_CORRUPT(&fs, "root inode 1 is not a directory");
	memset(sfs_mkfs_inode(&fs, SFS_ROOT_INO), 0, sizeof(struct sfs_inode));
	sfs_mkfs_finish(&fs);
	EXPECT_CORRUPT(&fs, "root inode 1 is free");
	free(img);
}

/*
 * Names with one FNV-1a hash, by Joux's multicollision: find two 4-byte
 * strings that take the hash state to the same value (a birthday search),
 * seven times in a row from the state reached; any choice of one string of
 * each pair then gives the same hash: 2^7 = 128 names of 28 bytes.
 */
#define COLL_ROUNDS 7

static uint32_t fnv_step(uint32_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)s[i];
		h *= 16777619u;
	}
	return h;
}

static void collision_pairs(char pairs[COLL_ROUNDS][2][5])
{
	enum { TABLE = 1 << 20 };
	static const char set[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	uint32_t *keys = malloc(TABLE * sizeof(*keys)), *vals = malloc(TABLE * sizeof(*vals));
	uint32_t h = 2166136261u;

	for (int round = 0; round < COLL_ROUNDS; round++) {
		bool found = false;
		memset(vals, 0xff, TABLE * sizeof(*vals));
		for (uint32_t n = 0; n < 36u * 36 * 36 * 36 && !found; n++) {
			char s[5] = { set[n % 36], set[n / 36 % 36], set[n / 1296 % 36],
				      set[n / 46656 % 36], 0 };
			uint32_t v = fnv_step(h, s, 4), slot = (v * 2654435761u) % TABLE;
			while (vals[slot] != 0xffffffff && keys[slot] != v)
				slot = (slot + 1) % TABLE;
			if (vals[slot] == 0xffffffff) {
				keys[slot] = v;
				vals[slot] = n;
				continue;
			}
			uint32_t m = vals[slot];
			char t[5] = { set[m % 36], set[m / 36 % 36], set[m / 1296 % 36],
				      set[m / 46656 % 36], 0 };
			memcpy(pairs[round][0], t, 5);
			memcpy(pairs[round][1], s, 5);
			h = v;
			found = true;
		}
		if (!found)
			abort();
	}
	free(keys);
	free(vals);
}

static void run_hash_collisions(void)
{
	static char pairs[COLL_ROUNDS][2][5];
	struct sfs_mkfs fs;
	size_t size = 64 * SFS_BLOCK_SIZE;
	uint8_t *img = malloc(size);
	char path[64];
	uint32_t ino, hash0 = 0;

	current_test = "hash_collisions";
	collision_pairs(pairs);
	/* /few: 8 distinct names with one hash: every pair compared, clean. */
	CHECK_EQ(sfs_mkfs_format(&fs, img, size, 0), 0);
	CHECK_EQ(sfs_mkfs_add_file(&fs, "/f", "x", 1, &ino), 0);
	for (int n = 0; n < 1 << COLL_ROUNDS; n++) {
		char name[COLL_ROUNDS * 4 + 1] = "";
		for (int r = 0; r < COLL_ROUNDS; r++)
			strcat(name, pairs[r][n >> r & 1]);
		if (n == 0)
			hash0 = sfs_fnv1a32(name, strlen(name));
		CHECK_EQ(sfs_fnv1a32(name, strlen(name)), hash0);
		if (n < 8) {
			snprintf(path, sizeof(path), "/few/%s", name);
			CHECK_EQ(sfs_mkfs_link(&fs, path, ino), 0);
		}
		snprintf(path, sizeof(path), "/all/%s", name);
		CHECK_EQ(sfs_mkfs_link(&fs, path, ino), 0);
	}
	uint32_t all;
	CHECK_EQ(sfs_mkfs_lookup(&fs, "/all", &all), 0);
	/* /all: 128 names, 8128 pairs to compare; more than the budget of
	 * one per entry + 4096: refused rather than slow. */
	sfs_mkfs_finish(&fs);
	snprintf(path, sizeof(path), "directory %u: too many names with the same hash", all);
	EXPECT_CORRUPT(&fs, path);
	free(img);

	img = malloc(size);
	CHECK_EQ(sfs_mkfs_format(&fs, img, size, 0), 0);
	CHECK_EQ(sfs_mkfs_add_file(&fs, "/f", "x", 1, &ino), 0);
	for (int n = 0; n < 8; n++) {
		char name[COLL_ROUNDS * 4 + 1] = "";
		for (int r = 0; r < COLL_ROUNDS; r++)
			strcat(name, pairs[r][n >> r & 1]);
		snprintf(path, sizeof(path), "/few/%s", name);
		CHECK_EQ(sfs_mkfs_link(&fs, path, ino), 0);
	}
	sfs_mkfs_finish(&fs);
	CHECK_EQ(check_fs(&fs), 0);
	/* The same with a true duplicate among them. */
	uint32_t few;
	CHECK_EQ(sfs_mkfs_lookup(&fs, "/few", &few), 0);
	struct sfs_dirent *de = (void *)sfs_mkfs_block(&fs, sfs_mkfs_inode(&fs, few)->direct[0]);
	memcpy(de[5].name, de[2].name, de[2].name_len);
	EXPECT_CORRUPT(&fs, "duplicate name");
	free(img);
}

/* ---- the caller's side: I/O errors, scratch, messages -------------------- */

TEST(io_error)
{
	/* Every metadata block, an indirect block, a directory block. */
	for (int64_t blk = 0; blk < super(b)->data_start; blk++) {
		CHECK_EQ(check_dev(b->img, BASE_BLOCKS, blk), -SFS_EIO);
		CHECK(strstr(last_err, "read error -5 at block") != NULL);
	}
	CHECK_EQ(check_dev(b->img, BASE_BLOCKS, inode(b, b->big)->indirect), -SFS_EIO);
	CHECK_EQ(check_dev(b->img, BASE_BLOCKS, inode(b, b->many)->direct[1]), -SFS_EIO);
	/* File data is not read. */
	CHECK_EQ(check_dev(b->img, BASE_BLOCKS, inode(b, b->hello)->direct[0]), 0);
}

TEST(scratch)
{
	struct dev d = { b->img, BASE_BLOCKS, -1 };
	size_t need = sfs_check_scratch_size(BASE_BLOCKS, super(b)->nr_inodes);
	uint8_t *s = malloc(need + 8);
	struct sfs_io io = { &d, BASE_BLOCKS, dev_read, s, need - 1 };
	char err[128];

	CHECK_EQ(sfs_check(&io, err, sizeof(err)), -SFS_ENOMEM);
	CHECK(strstr(err, "scratch buffer too small") != NULL);
	io.scratch_size = 100;
	CHECK_EQ(sfs_check(&io, err, sizeof(err)), -SFS_ENOMEM);
	io.scratch = s + 4;
	io.scratch_size = need;
	CHECK_EQ(sfs_check(&io, err, sizeof(err)), -SFS_ENOMEM);
	CHECK(strstr(err, "aligned") != NULL);
	io.scratch = s;
	CHECK_EQ(sfs_check(&io, err, sizeof(err)), 0);
	CHECK_EQ(sfs_check(&io, NULL, 0), 0);
	/* Messages are cut to the buffer and stay terminated. */
	super(b)->magic = 0;
	CHECK_EQ(sfs_check(&io, NULL, 0), -SFS_EINVAL);
	memset(err, 'x', sizeof(err));
	CHECK_EQ(sfs_check(&io, err, 1), -SFS_EINVAL);
	CHECK_EQ(err[0], '\0');
	CHECK_EQ(err[1], 'x');
	CHECK_EQ(sfs_check(&io, err, 10), -SFS_EINVAL);
	CHECK_EQ(strcmp(err, "bad magic"), 0);
	CHECK_EQ(err[10], 'x');
	/* sfs_check_super alone. */
	super(b)->magic = SFS_MAGIC;
	CHECK_EQ(sfs_check_super(super(b), BASE_BLOCKS, err, sizeof(err)), 0);
	CHECK_EQ(sfs_check_super(super(b), 10, err, sizeof(err)), -SFS_EINVAL);
	CHECK(strstr(err, "device only 10") != NULL);
	io.read_block = NULL;
	CHECK_EQ(sfs_check(&io, err, sizeof(err)), -SFS_EINVAL);
	free(s);
}

/* ---- random damage -------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static void run_random_damage(void)
{
	struct base b;
	size_t size = (size_t)BASE_BLOCKS * SFS_BLOCK_SIZE;
	uint8_t *copy = malloc(size);
	int clean = 0, corrupt = 0;

	current_test = "random_damage";
	make_base(&b);
	alarm(120);
	for (int iter = 0; iter < 3000; iter++) {
		memcpy(copy, b.img, size);
		int flips = 1 + (int)(rnd() % 8);
		for (int i = 0; i < flips; i++) {
			/* Mostly metadata and the first data blocks. */
			uint32_t blk = rnd() % 4 ? rnd() % 24 : rnd() % BASE_BLOCKS;
			uint32_t off = rnd() % 4 ? rnd() % 256 : rnd() % SFS_BLOCK_SIZE;
			if (blk == 2 || blk == 3)
				off = rnd() % SFS_BLOCK_SIZE; /* the inode table, all of it */
			copy[(size_t)blk * SFS_BLOCK_SIZE + off] ^= (uint8_t)(1u << (rnd() % 8));
		}
		if (rnd() % 8) {
			struct sfs_super *sb = (void *)copy;
			sb->checksum = sfs_super_checksum(sb);
		}
		int r = check_dev(copy, BASE_BLOCKS, -1);
		CHECK(r == 0 || r == -SFS_EINVAL);
		clean += r == 0;
		corrupt += r != 0;
	}
	alarm(0);
	printf("sfs_test: random damage: %d images clean, %d corrupt\n", clean, corrupt);
	CHECK(corrupt > 1000); /* the rest hit file data, pad bytes, name tails */
	free(copy);
	free_base(&b);
}

/* ---- the index levels: double and triple indirect blocks ------------------ */

/*
 * An image with one sparse file of the maximum size that has data at both
 * sides of every level boundary (logical blocks 11/12, 1035/1036, ...,
 * the last one), a 5 GiB file with data at both ends, and a small file
 * and a directory to share blocks with.
 */
#define DEEP_BLOCKS 128
static const uint64_t deep_lbns[] = {
	0,
	11,
	12,
	1035,
	1036,
	1036 + 1023,
	1036 + 1024,
	SFS_IND3_FIRST - 1,
	SFS_IND3_FIRST,
	SFS_IND3_FIRST + 1023,
	SFS_IND3_FIRST + 1024,
	SFS_IND3_FIRST + 1024 * 1024 - 1,
	SFS_IND3_FIRST + 1024 * 1024,
	SFS_MAX_FILE_BLOCKS - 1,
};
#define NR_DEEP_LBNS (sizeof(deep_lbns) / sizeof(deep_lbns[0]))
#define FIVE_GIB     (5ull << 30)

struct deep {
	struct sfs_mkfs fs;
	uint8_t *img;
	uint32_t max, big, small, dir;
};

static void make_deep(struct deep *d)
{
	struct sfs_mkfs *fs = &d->fs;
	char tag[32];

	d->img = malloc((size_t)DEEP_BLOCKS * SFS_BLOCK_SIZE);
	must(fs, sfs_mkfs_format(fs, d->img, (size_t)DEEP_BLOCKS * SFS_BLOCK_SIZE, 63), "format");
	must(fs, sfs_mkfs_add_file(fs, "/max", NULL, SFS_MAX_FILE_SIZE, &d->max), "max");
	for (size_t i = 0; i < NR_DEEP_LBNS; i++) {
		snprintf(tag, sizeof(tag), "lbn %llu", (unsigned long long)deep_lbns[i]);
		must(fs,
		     sfs_mkfs_write(fs, d->max, deep_lbns[i] * SFS_BLOCK_SIZE, tag, strlen(tag)),
		     tag);
	}
	must(fs, sfs_mkfs_add_file(fs, "/big5g", NULL, FIVE_GIB, &d->big), "big5g");
	must(fs, sfs_mkfs_write(fs, d->big, 0, "head", 4), "head");
	must(fs, sfs_mkfs_write(fs, d->big, FIVE_GIB - 4, "tail", 4), "tail");
	must(fs, sfs_mkfs_add_file(fs, "/small", "small\n", 6, &d->small), "small");
	must(fs, sfs_mkfs_mkdir(fs, "/dir", &d->dir), "dir");
	must(fs, sfs_mkfs_add_file(fs, "/dir/f", "f", 1, NULL), "dir/f");
	sfs_mkfs_finish(fs);
}

static struct sfs_inode *dinode(struct deep *d, uint32_t ino)
{
	return sfs_mkfs_inode(&d->fs, ino);
}

/* The index block on the way to lbn of inode ino, height levels above the
 * data, and a pointer to entry `entry` of it. */
static uint32_t dindex(struct deep *d, uint32_t ino, uint64_t lbn, unsigned height)
{
	uint32_t blk = sfs_mkfs_index_block(&d->fs, ino, lbn, height);
	if (!blk) {
		printf("FAIL %s: no index block at height %u for lbn %llu\n", current_test, height,
		       (unsigned long long)lbn);
		abort();
	}
	return blk;
}

static uint8_t *dentry(struct deep *d, uint32_t blk, uint32_t entry)
{
	return sfs_mkfs_block(&d->fs, blk) + 4 * entry;
}

#define DEEP_TEST(name)                          \
	static void deep_##name(struct deep *d); \
	static void run_deep_##name(void)        \
	{                                        \
		struct deep d;                   \
		current_test = "deep_" #name;    \
		make_deep(&d);                   \
		deep_##name(&d);                 \
		free(d.img);                     \
	}                                        \
	static void deep_##name(struct deep *d)

DEEP_TEST(clean)
{
	/* Index blocks of /max: 1 single; double + 3 singles (entries 0, 1,
	 * 1023); triple + doubles for entries 0, 1, 1023 + singles (0/0,
	 * 0/1, 0/1023, 1/0, 1023/1023). /big5g: 2 data blocks, its head in a
	 * direct block, its tail under triple[0] -> double[...] -> ... */
	CHECK_EQ(check_fs(&d->fs), 0);
	CHECK_EQ(last_stats.files, 4);
	CHECK_EQ(last_stats.dirs, 2);
	uint32_t max_index = 1 + (1 + 3) + (1 + 3 + 5);
	CHECK_EQ(last_stats.data_blocks,
		 NR_DEEP_LBNS + max_index + (2 + 3) + 1 + 1 /* root */ + 1 /* dir */ + 1 /* f */);
	/* Every tag reads back where it was written, through every level. */
	for (size_t i = 0; i < NR_DEEP_LBNS; i++) {
		char tag[32];
		uint32_t blk = sfs_mkfs_bmap(&d->fs, d->max, deep_lbns[i]);
		snprintf(tag, sizeof(tag), "lbn %llu", (unsigned long long)deep_lbns[i]);
		CHECK(blk != 0);
		CHECK(blk && !memcmp(sfs_mkfs_block(&d->fs, blk), tag, strlen(tag)));
		/* Its neighbours that are not in the list are holes. */
		if (deep_lbns[i] + 1 < SFS_MAX_FILE_BLOCKS &&
		    (i + 1 == NR_DEEP_LBNS || deep_lbns[i + 1] != deep_lbns[i] + 1))
			CHECK_EQ(sfs_mkfs_bmap(&d->fs, d->max, deep_lbns[i] + 1), 0);
	}
	uint32_t tail = sfs_mkfs_bmap(&d->fs, d->big, FIVE_GIB / SFS_BLOCK_SIZE - 1);
	CHECK(tail && !memcmp(sfs_mkfs_block(&d->fs, tail) + SFS_BLOCK_SIZE - 4, "tail", 4));
	CHECK_EQ(dinode(d, d->big)->indirect, 0);
	CHECK_EQ(dinode(d, d->big)->double_indirect, 0);
	CHECK(dinode(d, d->big)->triple_indirect != 0);
	/* Sizes at the exact level boundaries: the index pointers of the
	 * levels the size does not reach are 0. */
	uint32_t f;
	struct sfs_mkfs *fs = &d->fs;
	must(fs, sfs_mkfs_add_file(fs, "/b12", NULL, SFS_IND1_FIRST * SFS_BLOCK_SIZE, &f), "b12");
	must(fs, sfs_mkfs_write(fs, f, SFS_IND1_FIRST * SFS_BLOCK_SIZE - 1, "x", 1), "b12 w");
	must(fs, sfs_mkfs_add_file(fs, "/b1036", NULL, SFS_IND2_FIRST * SFS_BLOCK_SIZE, &f),
	     "b1036");
	must(fs, sfs_mkfs_write(fs, f, SFS_IND2_FIRST * SFS_BLOCK_SIZE - 1, "x", 1), "b1036 w");
	CHECK_EQ(dinode(d, f)->double_indirect, 0);
	must(fs, sfs_mkfs_add_file(fs, "/b3", NULL, SFS_IND3_FIRST * SFS_BLOCK_SIZE, &f), "b3");
	must(fs, sfs_mkfs_write(fs, f, SFS_IND3_FIRST * SFS_BLOCK_SIZE - 1, "x", 1), "b3 w");
	CHECK_EQ(dinode(d, f)->triple_indirect, 0);
	CHECK(dinode(d, f)->double_indirect != 0);
	sfs_mkfs_finish(fs);
	CHECK_EQ(check_fs(fs), 0);
}

DEEP_TEST(out_of_range)
{
	/* At every level, on the way down and at the bottom. */
	uint32_t dbl = dinode(d, d->max)->double_indirect;
	sfs_put_le32(dentry(d, dindex(d, d->max, 1036 + 1024, 1), 0), 9999);
	EXPECT_CORRUPT(&d->fs, "inode 2: double indirect[1] -> indirect[0] = block 9999 is out "
			       "of range");
	free(d->img);
	make_deep(d);
	sfs_put_le32(dentry(d, dbl, 1023), 3);
	EXPECT_CORRUPT(&d->fs, "inode 2: double indirect[1023] = block 3 is out of range "
			       "(data blocks are 4..127)");
	free(d->img);
	make_deep(d);
	dinode(d, d->max)->double_indirect = DEEP_BLOCKS;
	EXPECT_CORRUPT(&d->fs, "inode 2: double indirect block = block 128 is out of range");
	dinode(d, d->max)->double_indirect = 0xffffffff;
	EXPECT_CORRUPT(&d->fs, "double indirect block = block 4294967295 is out of range");
	free(d->img);
	make_deep(d);
	dinode(d, d->max)->triple_indirect = 1;
	EXPECT_CORRUPT(&d->fs, "inode 2: triple indirect block = block 1 is out of range");
	free(d->img);
	make_deep(d);
	uint64_t last = SFS_MAX_FILE_BLOCKS - 1;
	sfs_put_le32(dentry(d, dindex(d, d->max, last, 3), 1023), 5000);
	EXPECT_CORRUPT(&d->fs, "inode 2: triple indirect[1023] = block 5000 is out of range");
	free(d->img);
	make_deep(d);
	sfs_put_le32(dentry(d, dindex(d, d->max, last, 2), 1023), 200);
	EXPECT_CORRUPT(&d->fs,
		       "inode 2: triple indirect[1023] -> double indirect[1023] = block 200 is "
		       "out of range");
	free(d->img);
	make_deep(d);
	sfs_put_le32(dentry(d, dindex(d, d->max, last, 1), 1023), 3);
	EXPECT_CORRUPT(&d->fs, "inode 2: triple indirect[1023] -> double indirect[1023] -> "
			       "indirect[1023] = block 3 is out of range");
}

DEEP_TEST(loops)
{
	/* An index block that points at itself, at every level. */
	uint32_t t = dinode(d, d->max)->triple_indirect;
	sfs_put_le32(dentry(d, t, 5), t);
	EXPECT_CORRUPT(&d->fs, "is used twice by inode 2 (again as triple indirect[5])");
	free(d->img);
	make_deep(d);
	uint32_t dbl = dindex(d, d->max, SFS_IND3_FIRST, 2);
	sfs_put_le32(dentry(d, dbl, 2), dbl);
	EXPECT_CORRUPT(&d->fs, "(again as triple indirect[0] -> double indirect[2])");
	free(d->img);
	make_deep(d);
	/* Back up the tree: a single indirect block under the double that
	 * points at the triple indirect block (its ancestor), and at the
	 * double one above it. */
	uint32_t single = dindex(d, d->max, SFS_IND3_FIRST, 1);
	sfs_put_le32(dentry(d, single, 7), t);
	EXPECT_CORRUPT(&d->fs, "(again as triple indirect[0] -> double indirect[0] -> "
			       "indirect[7])");
	sfs_put_le32(dentry(d, single, 7), dbl);
	EXPECT_CORRUPT(&d->fs, "used twice by inode 2");
	free(d->img);
	make_deep(d);
	/* Every entry of the triple indirect block points at one double
	 * indirect block: refused at the second one, after reading it once. */
	for (uint32_t j = 0; j < SFS_PTRS_PER_BLOCK; j++)
		sfs_put_le32(dentry(d, t, j), dbl);
	EXPECT_CORRUPT(&d->fs, "(again as triple indirect[1])");
	free(d->img);
	make_deep(d);
	/* The inode's own pointers: the double indirect block as its triple. */
	dinode(d, d->max)->triple_indirect = dinode(d, d->max)->double_indirect;
	EXPECT_CORRUPT(&d->fs, "(again as triple indirect block)");
}

DEEP_TEST(shared)
{
	/* An index block of /max is also /small's data, /big5g's index
	 * block, a directory block; and a data block of /max is an index
	 * block of /big5g. */
	uint32_t dbl = dinode(d, d->max)->double_indirect;
	dinode(d, d->small)->direct[0] = dbl;
	EXPECT_CORRUPT(&d->fs, "used twice: by inode 2 and by inode");
	CHECK(strstr(last_err, "(direct[0])") != NULL);
	free(d->img);
	make_deep(d);
	uint32_t inner = dindex(d, d->max, SFS_MAX_FILE_BLOCKS - 1, 2);
	dinode(d, d->big)->triple_indirect = inner;
	EXPECT_CORRUPT(&d->fs, "used twice: by inode 2 and by inode 3 (triple indirect block)");
	free(d->img);
	make_deep(d);
	dinode(d, d->dir)->direct[0] = dindex(d, d->max, SFS_IND3_FIRST, 1);
	EXPECT_CORRUPT(&d->fs, "used twice");
	free(d->img);
	make_deep(d);
	uint32_t data = sfs_mkfs_bmap(&d->fs, d->max, SFS_IND3_FIRST + 1024);
	uint32_t bt = dinode(d, d->big)->triple_indirect;
	uint32_t slot = 0;
	while (!sfs_get_le32(dentry(d, bt, slot)))
		slot++;
	sfs_put_le32(dentry(d, bt, slot), data);
	EXPECT_CORRUPT(&d->fs, "used twice: by inode 2 and by inode 3");
	/* Within one file: the same data block under two levels. */
	free(d->img);
	make_deep(d);
	uint32_t d12 = sfs_mkfs_bmap(&d->fs, d->max, 12);
	sfs_put_le32(dentry(d, dindex(d, d->max, 1036, 1), 5), d12);
	EXPECT_CORRUPT(&d->fs, "block");
	CHECK(strstr(last_err, "used twice by inode 2 (again as double indirect[0] -> "
			       "indirect[5])") != NULL);
}

DEEP_TEST(empty_index)
{
	/* An index block that maps nothing, at every level. The blocks it
	 * mapped are still marked used: the empty block is found first. */
	uint32_t single = dindex(d, d->max, 1036 + 1024, 1);
	sfs_put_le32(dentry(d, single, 0), 0);
	EXPECT_CORRUPT(&d->fs, "inode 2: double indirect[1] = block");
	CHECK(strstr(last_err, "is an empty index block (it maps no block)") != NULL);
	free(d->img);
	make_deep(d);
	uint32_t ind = dinode(d, d->max)->indirect;
	memset(sfs_mkfs_block(&d->fs, ind), 0, SFS_BLOCK_SIZE);
	EXPECT_CORRUPT(&d->fs, "inode 2: indirect block = block");
	CHECK(strstr(last_err, "is an empty index block") != NULL);
	free(d->img);
	make_deep(d);
	uint32_t t = dinode(d, d->big)->triple_indirect;
	memset(sfs_mkfs_block(&d->fs, t), 0, SFS_BLOCK_SIZE);
	EXPECT_CORRUPT(&d->fs, "inode 3: triple indirect block = block");
	CHECK(strstr(last_err, "is an empty index block") != NULL);
	free(d->img);
	make_deep(d);
	uint32_t dbl = dindex(d, d->max, SFS_IND3_FIRST + 1024 * 1024, 2);
	memset(sfs_mkfs_block(&d->fs, dbl), 0, SFS_BLOCK_SIZE);
	EXPECT_CORRUPT(&d->fs, "inode 2: triple indirect[1] = block");
	CHECK(strstr(last_err, "is an empty index block") != NULL);
	/* Emptied for real (the blocks under it freed too): the same. */
	free(d->img);
	make_deep(d);
	single = dindex(d, d->max, SFS_MAX_FILE_BLOCKS - 1, 1);
	uint32_t blk = sfs_mkfs_bmap(&d->fs, d->max, SFS_MAX_FILE_BLOCKS - 1);
	sfs_put_le32(dentry(d, single, 1023), 0);
	sfs_bit_clear(sfs_mkfs_block(&d->fs, 1), blk);
	sfs_mkfs_finish(&d->fs);
	EXPECT_CORRUPT(&d->fs, "inode 2: triple indirect[1023] -> double indirect[1023] = block");
	CHECK(strstr(last_err, "is an empty index block") != NULL);
}

DEEP_TEST(past_size)
{
	/* Sizes that end right at, or one block past, a level boundary: the
	 * pointers beyond are past the end. */
	struct sfs_inode *in = dinode(d, d->max);
	in->size = SFS_IND3_FIRST * SFS_BLOCK_SIZE;
	EXPECT_CORRUPT(&d->fs, "inode 2: triple indirect block");
	CHECK(strstr(last_err, "but its size 4299210752 needs none") != NULL);
	in->size = (SFS_IND3_FIRST + 1) * SFS_BLOCK_SIZE;
	EXPECT_CORRUPT(&d->fs, "inode 2: triple indirect[0] -> double indirect[0] -> "
			       "indirect[1023] = block");
	CHECK(strstr(last_err, "maps past the end of the file (size 4299214848)") != NULL);
	in->size = SFS_IND3_FIRST * SFS_BLOCK_SIZE - 1;
	EXPECT_CORRUPT(&d->fs, "inode 2: triple indirect block");
	in->size = SFS_IND2_FIRST * SFS_BLOCK_SIZE;
	EXPECT_CORRUPT(&d->fs, "inode 2: double indirect block");
	CHECK(strstr(last_err, "needs none") != NULL);
	in->size = (SFS_IND2_FIRST + 1023) * SFS_BLOCK_SIZE;
	EXPECT_CORRUPT(&d->fs, "inode 2: double indirect[0] -> indirect[1023] = block");
	in->size = (SFS_IND2_FIRST + 1024) * SFS_BLOCK_SIZE;
	EXPECT_CORRUPT(&d->fs, "inode 2: double indirect[1] = block");
	in->size = (SFS_IND2_FIRST + 1025) * SFS_BLOCK_SIZE;
	EXPECT_CORRUPT(&d->fs, "inode 2: double indirect[1023] = block");
	CHECK(strstr(last_err, "maps past the end") != NULL);
	in->size = 13 * SFS_BLOCK_SIZE;
	EXPECT_CORRUPT(&d->fs, "inode 2: indirect[1023] = block");
	in->size = 12 * SFS_BLOCK_SIZE;
	EXPECT_CORRUPT(&d->fs, "inode 2: indirect block");
	CHECK(strstr(last_err, "needs none") != NULL);
	in->size = 11 * SFS_BLOCK_SIZE + 1;
	EXPECT_CORRUPT(&d->fs, "inode 2: indirect block");
	in->size = SFS_MAX_FILE_SIZE - SFS_BLOCK_SIZE;
	EXPECT_CORRUPT(&d->fs, "inode 2: triple indirect[1023] -> double indirect[1023] -> "
			       "indirect[1023] = block");
	in->size = SFS_MAX_FILE_SIZE - SFS_BLOCK_SIZE + 1;
	CHECK_EQ(check_fs(&d->fs), 0);
	/* The 5 GiB file cut to 4 GiB: its tail is past the end. */
	in->size = SFS_MAX_FILE_SIZE;
	dinode(d, d->big)->size = 4ull << 30;
	EXPECT_CORRUPT(&d->fs, "inode 3: triple indirect block");
	CHECK(strstr(last_err, "needs none") != NULL);
}

DEEP_TEST(directories)
{
	/* Directories use the direct and single indirect blocks only: a
	 * double indirect block is past their largest size, and so is a size
	 * beyond it. */
	struct sfs_inode *din = dinode(d, d->dir);
	din->size = SFS_MAX_DIR_SIZE + SFS_DIRENT_SIZE;
	EXPECT_CORRUPT(&d->fs, "directory inode 5: size 4243520 is past the maximum directory "
			       "size 4243456");
	din->size = SFS_DIRENT_SIZE;
	uint32_t small_blk = dinode(d, d->small)->direct[0];
	dinode(d, d->small)->direct[0] = 0;
	din->double_indirect = small_blk;
	EXPECT_CORRUPT(&d->fs, "inode 5: double indirect block");
	CHECK(strstr(last_err, "needs none") != NULL);
}

DEEP_TEST(io_error)
{
	/* A read error in any index block. */
	uint64_t last = SFS_MAX_FILE_BLOCKS - 1;
	for (unsigned h = 1; h <= 3; h++) {
		CHECK_EQ(check_dev(d->img, DEEP_BLOCKS, dindex(d, d->max, last, h)), -SFS_EIO);
		CHECK(strstr(last_err, "read error -5 at block") != NULL);
	}
	CHECK_EQ(check_dev(d->img, DEEP_BLOCKS, dinode(d, d->max)->double_indirect), -SFS_EIO);
}

/* The device counts reads: each index block is read once. */
static uint64_t dev_reads;

static int counting_read(void *ctx, uint32_t block, void *buf)
{
	dev_reads++;
	return dev_read(ctx, block, buf);
}

DEEP_TEST(bounded_reads)
{
	struct dev dv = { d->img, DEEP_BLOCKS, -1 };
	size_t need = sfs_check_scratch_size(DEEP_BLOCKS, d->fs.nr_inodes);
	void *scratch = malloc(need);
	struct sfs_io io = { &dv, DEEP_BLOCKS, counting_read, scratch, need };
	char err[256];

	dev_reads = 0;
	CHECK_EQ(sfs_check(&io, err, sizeof(err)), 0);
	/* super, the table twice, the bitmap, index blocks once, directories
	 * (inode block + data block each) */
	uint32_t index_blocks = 1 + 4 + 9 + 3;
	CHECK_EQ(dev_reads, 1 + 2 * 2 + 1 + index_blocks + 2 * 2);
	/* A triple indirect block whose 1024 entries all name the same
	 * double block (which names the same single block 1024 times):
	 * refused after a few reads, not 1024^2. */
	uint32_t t = dinode(d, d->max)->triple_indirect;
	uint32_t dbl = dindex(d, d->max, SFS_IND3_FIRST, 2);
	for (uint32_t j = 0; j < SFS_PTRS_PER_BLOCK; j++) {
		sfs_put_le32(dentry(d, t, j), dbl);
		sfs_put_le32(dentry(d, dbl, j), dindex(d, d->max, SFS_IND3_FIRST, 1));
	}
	dev_reads = 0;
	CHECK_EQ(sfs_check(&io, err, sizeof(err)), -SFS_EINVAL);
	CHECK(dev_reads < 20);
	free(scratch);
}

/* Growth: the bitmap is sized for max_blocks, so raising nr_blocks (and
 * free_blocks) up to it on a larger device keeps the image clean. */
static void run_grow(void)
{
	struct sfs_mkfs fs;
	struct sfs_mkfs_opts opts = { .inodes = 31, .max_blocks = 40000 };
	size_t small = 64 * SFS_BLOCK_SIZE, large = (size_t)40000 * SFS_BLOCK_SIZE;
	uint8_t *img = calloc(1, large);

	current_test = "grow";
	CHECK_EQ(sfs_mkfs_format_opts(&fs, img, small, &opts), 0);
	CHECK_EQ(sfs_mkfs_super(&fs)->max_blocks, 40000);
	CHECK_EQ(sfs_mkfs_super(&fs)->bitmap_blocks, 2);
	CHECK_EQ(sfs_mkfs_super(&fs)->data_start, 1 + 2 + 1);
	CHECK_EQ(sfs_mkfs_add_file(&fs, "/a", "abc", 3, NULL), 0);
	sfs_mkfs_finish(&fs);
	CHECK_EQ(check_dev(img, 64, -1), 0);
	CHECK_EQ(last_stats.free_blocks, 64 - 4 - 2);
	/* On its own device and on a larger one: the same clean image. */
	CHECK_EQ(check_dev(img, 40000, -1), 0);
	struct sfs_super *sb = sfs_mkfs_super(&fs);
	CHECK_EQ(sfs_super_grow(sb, 64), 0);
	CHECK_EQ(sfs_super_grow(sb, 10), 0);
	CHECK_EQ(sfs_super_grow(sb, 1000), 1000 - 64);
	CHECK_EQ(sb->nr_blocks, 1000);
	CHECK_EQ(check_dev(img, 1000, -1), 0);
	CHECK_EQ(last_stats.free_blocks, 1000 - 4 - 2);
	CHECK_EQ(sfs_super_grow(sb, 1ull << 40), 40000 - 1000); /* up to max_blocks */
	CHECK_EQ(sb->nr_blocks, 40000);
	CHECK_EQ(check_dev(img, 40000, -1), 0);
	CHECK_EQ(last_stats.free_blocks, 40000 - 4 - 2);
	/* A bit set past nr_blocks (in either bitmap block) is refused. */
	sb->nr_blocks = 1000;
	sb->free_blocks = 1000 - 6;
	sfs_mkfs_sign(&fs);
	CHECK_EQ(check_dev(img, 40000, -1), 0);
	sfs_bit_set(sfs_mkfs_block(&fs, 1), 1000);
	EXPECT_CORRUPT_DEV(img, 40000, "bit of block 1000 (past the last block 999) is set");
	sfs_bit_clear(sfs_mkfs_block(&fs, 1), 1000);
	sfs_bit_set(sfs_mkfs_block(&fs, 1), 39999);
	EXPECT_CORRUPT_DEV(img, 40000, "bit of block 39999 (past the last block 999) is set");
	sfs_bit_clear(sfs_mkfs_block(&fs, 1), 39999);
	sfs_bit_set(sfs_mkfs_block(&fs, 1), 2 * SFS_BITS_PER_BLOCK - 1);
	EXPECT_CORRUPT_DEV(img, 40000, "bit of block 65535 (past the last block 999) is set");
	free(img);

	/* mkfs refuses a maximum its bitmap cannot fit, or past 32 bits. */
	img = malloc(small);
	opts.max_blocks = 64ull * SFS_BITS_PER_BLOCK;
	CHECK_EQ(sfs_mkfs_format_opts(&fs, img, small, &opts), -ENOSPC);
	opts.max_blocks = 1ull << 32;
	CHECK_EQ(sfs_mkfs_format_opts(&fs, img, small, &opts), -EFBIG);
	opts.max_blocks = 10; /* less than the image: the image's size */
	CHECK_EQ(sfs_mkfs_format_opts(&fs, img, small, &opts), 0);
	CHECK_EQ(sfs_mkfs_super(&fs)->max_blocks, 64);
	free(img);
}

/* Random damage to index blocks of every level. */
static void run_deep_random_damage(void)
{
	struct deep d;
	size_t size = (size_t)DEEP_BLOCKS * SFS_BLOCK_SIZE;
	uint8_t *copy = malloc(size);
	uint32_t targets[64], n = 0;
	int corrupt = 0;

	current_test = "deep_random_damage";
	make_deep(&d);
	for (unsigned h = 1; h <= 3; h++)
		for (size_t i = 0; i < NR_DEEP_LBNS && n < 60; i++) {
			uint32_t blk = sfs_mkfs_index_block(&d.fs, d.max, deep_lbns[i], h);
			if (blk)
				targets[n++] = blk;
		}
	alarm(120);
	for (int iter = 0; iter < 3000; iter++) {
		memcpy(copy, d.img, size);
		int flips = 1 + (int)(rnd() % 4);
		for (int i = 0; i < flips; i++) {
			uint32_t blk = targets[rnd() % n];
			/* The low entries and the last ones are the mapped ones. */
			uint32_t entry = rnd() % 2 ? rnd() % 4 : 1020 + rnd() % 4;
			uint32_t off = entry * 4 + rnd() % 4;
			copy[(size_t)blk * SFS_BLOCK_SIZE + off] ^= (uint8_t)(1u << (rnd() % 8));
		}
		int r = check_dev(copy, DEEP_BLOCKS, -1);
		CHECK(r == 0 || r == -SFS_EINVAL);
		corrupt += r != 0;
	}
	alarm(0);
	printf("sfs_test: deep random damage: %d of 3000 images corrupt\n", corrupt);
	CHECK(corrupt > 2000);
	free(copy);
	free(d.img);
}

/* ---- the fuzzing regression corpus ----------------------------------------- */

static void run_corpus(const char *dir)
{
	struct dirent **names;
	int n, replayed = 0;

	current_test = "corpus";
	if (!dir)
		return;
	n = scandir(dir, &names, NULL, alphasort);
	CHECK(n >= 0);
	if (n < 0) {
		printf("FAIL corpus: %s: %s\n", dir, strerror(errno));
		return;
	}
	alarm(120);
	for (int i = 0; i < n; i++) {
		char path[4096];
		FILE *f;

		if (names[i]->d_name[0] == '.') {
			free(names[i]);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		f = fopen(path, "rb");
		CHECK(f != NULL);
		if (f) {
			uint8_t *data = malloc(1 << 20);
			size_t len = fread(data, 1, 1 << 20, f);
			fclose(f);
			if (verbose)
				printf("  corpus: %s (%zu bytes)\n", names[i]->d_name, len);
			/* A copy of exactly len bytes: overreads are caught. */
			uint8_t *exact = malloc(len ? len : 1);
			memcpy(exact, data, len);
			LLVMFuzzerTestOneInput(exact, len);
			free(exact);
			free(data);
			replayed++;
		}
		free(names[i]);
	}
	alarm(0);
	free(names);
	printf("sfs_test: replayed %d corpus files from %s\n", replayed, dir);
}

int main(int argc, char **argv)
{
	verbose = getenv("SFS_TEST_VERBOSE") != NULL;

	run_helpers();
	run_clean_base();
	run_clean_variants();
	run_mkfs_errors();

	run_super_magic();
	run_super_version();
	run_super_block_size();
	run_super_checksum();
	run_super_reserved();
	run_super_root_ino();
	run_super_truncated();
	run_super_bitmap_geometry();
	run_super_table_overlaps_bitmap();
	run_super_inode_count();
	run_super_data_start();
	run_super_free_counts();

	run_inode_slot0();
	run_inode_slot_past_nr_inodes();
	run_inode_free_not_zero();
	run_inode_bad_mode();
	run_inode_symlink_size();
	run_inode_nlink_zero();
	run_inode_size_past_max();
	run_inode_dir_size();
	run_inode_direct_out_of_range();
	run_inode_indirect_out_of_range();
	run_inode_indirect_entry_out_of_range();
	run_inode_block_shared();
	run_inode_block_twice_in_file();
	run_inode_indirect_block_shared();
	run_inode_block_past_size();
	run_inode_dir_hole();
	run_inode_sparse_ok();

	run_bitmap_used_but_free();
	run_bitmap_leak();
	run_bitmap_metadata();
	run_bitmap_past_end();

	run_dirent_free_inode();
	run_dirent_out_of_range();
	run_dirent_bad_names();
	run_dirent_duplicate();
	run_dirent_duplicate_across_blocks();
	run_dir_loop_to_root();
	run_dir_loop_to_ancestor();
	run_dir_loop_to_self();
	run_dir_two_parents();
	run_link_count();
	run_unreachable_file();
	run_unreachable_dir_cycle();
	run_root_bad();
	run_hash_collisions();

	run_io_error();
	run_scratch();
	run_random_damage();

	run_deep_clean();
	run_deep_out_of_range();
	run_deep_loops();
	run_deep_shared();
	run_deep_empty_index();
	run_deep_past_size();
	run_deep_directories();
	run_deep_io_error();
	run_deep_bounded_reads();
	run_grow();
	run_deep_random_damage();
	run_corpus(argc > 1 ? argv[1] : NULL);

	printf("sfs_test: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
