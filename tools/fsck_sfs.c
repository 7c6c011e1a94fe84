/*
 * tools/fsck_sfs.c - check an SFS image with the kernel's own checker
 * (sfs_check() from kernel/fs/sfs_format.c) and optionally list its tree.
 *
 *   fsck_sfs [--list] IMAGE
 *
 * Prints "fsck: clean (N files, M dirs, K blocks used of B, at most X)"
 * (B = nr_blocks, X = max_blocks, what the file system may grow to) and
 * exits 0, or "fsck: IMAGE: <what is wrong>" and exits 1 (2 for a usage or
 * I/O error on the host). --list prints the tree, with each file's size and
 * the blocks it uses (data and index blocks), and each symbolic link's
 * target. Read-only: the image file is
 * mapped for reading only, so a large sparse image costs only the pages the
 * check reads. A trailing partial block of the file is ignored (with a
 * note).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/fs/sfs_format.h"

struct image {
	const uint8_t *data;
	uint64_t nr_blocks;
	size_t map_len; /* of the mapping; 0: data is not mapped */
};

static int read_block(void *ctx, uint32_t block, void *buf)
{
	struct image *im = ctx;

	if (block >= im->nr_blocks)
		return -SFS_EIO;
	memcpy(buf, im->data + (size_t)block * SFS_BLOCK_SIZE, SFS_BLOCK_SIZE);
	return 0;
}

static int load(const char *path, struct image *im)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	void *p;

	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "fsck: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	im->nr_blocks = (uint64_t)st.st_size / SFS_BLOCK_SIZE;
	im->map_len = (size_t)(im->nr_blocks * SFS_BLOCK_SIZE);
	im->data = NULL;
	if (im->map_len) {
		p = mmap(NULL, im->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			fprintf(stderr, "fsck: %s: cannot map %llu bytes: %s\n", path,
				(unsigned long long)im->map_len, strerror(errno));
			close(fd);
			return -1;
		}
		im->data = p;
	}
	close(fd);
	if (st.st_size % SFS_BLOCK_SIZE)
		fprintf(stderr,
			"fsck: %s: note: ignoring the last %lld bytes (not a whole block)\n", path,
			(long long)(st.st_size % SFS_BLOCK_SIZE));
	return 0;
}

static void unload(struct image *im)
{
	if (im->map_len)
		munmap((void *)im->data, im->map_len);
}

/* ---- --list: the tree of a checked image -------------------------------- */

static const struct sfs_inode *inode_of(const struct image *im, uint32_t ino)
{
	const struct sfs_super *sb = (const void *)im->data;
	return (const void *)(im->data + (size_t)sfs_inode_block(sb, ino) * SFS_BLOCK_SIZE +
			      sfs_inode_offset(ino));
}

/* Directories: direct and single indirect blocks only. */
static uint32_t bmap(const struct image *im, const struct sfs_inode *in, uint32_t lbn)
{
	if (lbn < SFS_NDIRECT)
		return in->direct[lbn];
	return sfs_get_le32(im->data + (size_t)in->indirect * SFS_BLOCK_SIZE +
			    4 * (lbn - SFS_NDIRECT));
}

/* Blocks of the tree under index block b, height levels above the data
 * (b itself included). */
static uint64_t tree_blocks(const struct image *im, uint32_t b, unsigned height)
{
	uint64_t n = 1;

	for (uint32_t j = 0; height && j < SFS_PTRS_PER_BLOCK; j++) {
		uint32_t e = sfs_get_le32(im->data + (size_t)b * SFS_BLOCK_SIZE + 4 * j);
		if (e)
			n += height > 1 ? tree_blocks(im, e, height - 1) : 1;
	}
	return n;
}

/* Blocks an inode uses: data and index blocks. */
static uint64_t inode_blocks(const struct image *im, const struct sfs_inode *in)
{
	uint64_t n = 0;

	for (uint32_t k = 0; k < SFS_NDIRECT; k++)
		n += in->direct[k] != 0;
	for (unsigned level = 1; level <= SFS_INDEX_LEVELS; level++)
		if (sfs_inode_index(in, level))
			n += tree_blocks(im, sfs_inode_index(in, level), level);
	return n;
}

/* Only called after sfs_check passed: every number below is in range and
 * the tree has no loops. */
static void list_dir(const struct image *im, uint32_t dir, char *path, size_t plen)
{
	const struct sfs_inode *din = inode_of(im, dir);
	uint32_t n = (uint32_t)(din->size / SFS_DIRENT_SIZE);

	for (uint32_t i = 0; i < n; i++) {
		const struct sfs_dirent *de =
		    (const void *)(im->data +
				   (size_t)bmap(im, din, i / SFS_DIRENTS_PER_BLOCK) *
				       SFS_BLOCK_SIZE +
				   (i % SFS_DIRENTS_PER_BLOCK) * SFS_DIRENT_SIZE);
		if (!de->ino)
			continue;
		const struct sfs_inode *in = inode_of(im, de->ino);
		size_t len = plen + 1 + de->name_len;
		if (len >= 4096) {
			printf("%.*s/...: (path too long to print)\n", (int)plen, path);
			continue;
		}
		path[plen] = '/';
		memcpy(path + plen + 1, de->name, de->name_len);
		path[len] = '\0';
		if (in->mode == SFS_S_IFDIR) {
			printf("%-40s  dir   inode %-5u %llu entries\n", path, de->ino,
			       (unsigned long long)(in->size / SFS_DIRENT_SIZE));
			list_dir(im, de->ino, path, len);
		} else if (in->mode == SFS_S_IFLNK) {
			/* the target, when its (one) block is there */
			uint32_t b = bmap(im, in, 0);
			printf("%-40s  link  inode %-5u -> %.*s\n", path, de->ino,
			       b ? (int)in->size : 0,
			       b ? (const char *)im->data + (size_t)b * SFS_BLOCK_SIZE : "");
		} else {
			printf("%-40s  file  inode %-5u %llu bytes, %llu blocks, %u links\n", path,
			       de->ino, (unsigned long long)in->size,
			       (unsigned long long)inode_blocks(im, in), in->nlink);
		}
	}
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	bool list = false;
	struct image im;
	struct sfs_check_stats st;
	struct sfs_super sb;
	char err[512];
	size_t need = SFS_BLOCK_SIZE;
	void *scratch;
	int r;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--list"))
			list = true;
		else if (argv[i][0] != '-' && !path)
			path = argv[i];
		else
			path = NULL, argc = 0;
	}
	if (!path) {
		fprintf(stderr, "usage: fsck_sfs [--list] IMAGE\n");
		return 2;
	}
	if (load(path, &im))
		return 2;

	/* Size the scratch buffer from a superblock that is sound; otherwise
	 * one block is enough for sfs_check to find what is wrong with it. */
	if (im.nr_blocks) {
		memcpy(&sb, im.data, sizeof(sb));
		if (sfs_check_super(&sb, im.nr_blocks, NULL, 0) == 0)
			need = sfs_check_scratch_size(sb.nr_blocks, sb.nr_inodes);
	}
	scratch = aligned_alloc(SFS_BLOCK_SIZE,
				(need + SFS_BLOCK_SIZE - 1) & ~(size_t)(SFS_BLOCK_SIZE - 1));
	if (!scratch) {
		fprintf(stderr, "fsck: out of memory\n");
		unload(&im);
		return 2;
	}
	struct sfs_io io = { &im, im.nr_blocks, read_block, scratch, need };
	r = sfs_check_full(&io, &st, err, sizeof(err));
	free(scratch);
	if (r) {
		printf("fsck: %s: %s\n", path, err);
		unload(&im);
		return 1;
	}
	if (list) {
		char buf[4096];
		printf("%-40s  dir   inode %-5u %llu entries\n", "/", SFS_ROOT_INO,
		       (unsigned long long)(inode_of(&im, SFS_ROOT_INO)->size / SFS_DIRENT_SIZE));
		list_dir(&im, SFS_ROOT_INO, buf, 0);
	}
	memcpy(&sb, im.data, sizeof(sb));
	printf("fsck: clean (%u files, %u dirs, %u blocks used of %u, at most %u)\n", st.files,
	       st.dirs, st.blocks_used, sb.nr_blocks, sb.max_blocks);
	unload(&im);
	return 0;
}
