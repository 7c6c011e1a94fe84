/*
 * tests/host/fuzz_sfs.c - libFuzzer target for the SFS image checker
 * (sfs_check in kernel/fs/sfs_format.c): the input is a disk image.
 *
 * The device is the input padded with zeros to a whole number of blocks,
 * and further up to the nr_blocks its superblock claims (at most
 * FUZZ_MAX_BLOCKS), so a corpus file can be a truncated image: the zero
 * tail of an image need not be stored. Unless the input length is odd, the
 * superblock checksum is rewritten first, so that the fuzzer gets past it
 * and into the inodes and directories; odd lengths keep the checksum as it
 * is and exercise its check.
 *
 * Oracles: AddressSanitizer and UBSan (any bad access or overflow), the
 * device's read_block (aborts on a block number past the device), the
 * result (0 or -EINVAL, nothing else) and a NUL-terminated message without
 * a newline. A second check of the same image must give the same answer.
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

#define FUZZ_MAX_BLOCKS 256 /* pad up to 1 MiB for the superblock's nr_blocks */

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

static void check_message(int r, const char *err, size_t len)
{
	size_t n = strnlen(err, len);

	if (n == len || strchr(err, '\n') || (r != 0 && n == 0)) {
		fprintf(stderr, "fuzz_sfs: bad error message for result %d\n", r);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t nr_blocks = (size + SFS_BLOCK_SIZE - 1) / SFS_BLOCK_SIZE;
	struct sfs_super sb;
	struct fuzz_dev dev;
	uint8_t *img;
	void *scratch;
	size_t need = SFS_BLOCK_SIZE;
	char err[256], err2[256];
	int r, r2;

	if (nr_blocks == 0)
		nr_blocks = 1;
	memset(&sb, 0, sizeof(sb));
	memcpy(&sb, data, size < sizeof(sb) ? size : sizeof(sb));
	if (sb.nr_blocks > nr_blocks && sb.nr_blocks <= FUZZ_MAX_BLOCKS)
		nr_blocks = sb.nr_blocks;

	img = calloc(nr_blocks, SFS_BLOCK_SIZE);
	if (!img)
		abort();
	memcpy(img, data, size);
	if (size % 2 == 0) {
		sb.checksum = sfs_super_checksum(&sb);
		memcpy(img, &sb, sizeof(sb));
	}

	if (sfs_check_super(&sb, nr_blocks, NULL, 0) == 0)
		need = sfs_check_scratch_size(sb.nr_blocks, sb.nr_inodes);
	scratch = aligned_alloc(SFS_BLOCK_SIZE, (need + SFS_BLOCK_SIZE - 1) & ~(size_t)(SFS_BLOCK_SIZE - 1));
	if (!scratch)
		abort();

	dev = (struct fuzz_dev){ img, nr_blocks, 0 };
	struct sfs_io io = { &dev, nr_blocks, fuzz_read_block, scratch, need };
	struct sfs_check_stats st;
	r = sfs_check_full(&io, &st, err, sizeof(err));
	check_message(r, err, sizeof(err));
	if (r != 0 && r != -SFS_EINVAL) {
		fprintf(stderr, "fuzz_sfs: unexpected result %d: %s\n", r, err);
		abort();
	}
	/* Bounded work: each block once, plus directory re-reads (at most
	 * one per block and per compared name pair, see sfs_check). */
	if (dev.reads > 8 * nr_blocks + 2 * 70000) {
		fprintf(stderr, "fuzz_sfs: %llu reads for %llu blocks\n",
			(unsigned long long)dev.reads, (unsigned long long)nr_blocks);
		abort();
	}
	if (r == 0 && (st.blocks_used > sb.nr_blocks || st.files + st.dirs >= sb.nr_inodes)) {
		fprintf(stderr, "fuzz_sfs: impossible stats for a clean image\n");
		abort();
	}

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
