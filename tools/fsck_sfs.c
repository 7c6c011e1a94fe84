/*
 * tools/fsck_sfs.c - check an SFS image with the kernel's own checker
 * (sfs_check() from kernel/fs/sfs_format.c) and optionally list its tree.
 *
 *   fsck_sfs [--list] IMAGE
 *
 * Prints "fsck: clean (N files, M dirs, K blocks used)" and exits 0, or
 * "fsck: IMAGE: <what is wrong>" and exits 1 (2 for a usage or I/O error on
 * the host). Read-only: the image file is opened for reading only. A
 * trailing partial block of the file is ignored (with a note).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/fs/sfs_format.h"

struct image {
	uint8_t *data;
	uint64_t nr_blocks;
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
	FILE *f = fopen(path, "rb");
	long size;

	if (!f || fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fprintf(stderr, "fsck: %s: %s\n", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	im->nr_blocks = (uint64_t)size / SFS_BLOCK_SIZE;
	im->data = malloc(im->nr_blocks * SFS_BLOCK_SIZE + 1);
	if (!im->data || fread(im->data, 1, im->nr_blocks * SFS_BLOCK_SIZE, f) !=
			     im->nr_blocks * SFS_BLOCK_SIZE) {
		fprintf(stderr, "fsck: %s: cannot read %ld bytes\n", path, size);
		fclose(f);
		return -1;
	}
	fclose(f);
	if (size % SFS_BLOCK_SIZE)
		fprintf(stderr, "fsck: %s: note: ignoring the last %ld bytes (not a whole block)\n",
			path, size % SFS_BLOCK_SIZE);
	return 0;
}

/* ---- --list: the tree of a checked image -------------------------------- */

static const struct sfs_inode *inode_of(const struct image *im, uint32_t ino)
{
	const struct sfs_super *sb = (const void *)im->data;
	return (const void *)(im->data + (size_t)sfs_inode_block(sb, ino) * SFS_BLOCK_SIZE +
			      sfs_inode_offset(ino));
}

static uint32_t bmap(const struct image *im, const struct sfs_inode *in, uint32_t lbn)
{
	if (lbn < SFS_NDIRECT)
		return in->direct[lbn];
	return sfs_get_le32(im->data + (size_t)in->indirect * SFS_BLOCK_SIZE +
			    4 * (lbn - SFS_NDIRECT));
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
		} else {
			printf("%-40s  file  inode %-5u %llu bytes, %u links\n", path, de->ino,
			       (unsigned long long)in->size, in->nlink);
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
		free(im.data);
		return 2;
	}
	struct sfs_io io = { &im, im.nr_blocks, read_block, scratch, need };
	r = sfs_check_full(&io, &st, err, sizeof(err));
	free(scratch);
	if (r) {
		printf("fsck: %s: %s\n", path, err);
		free(im.data);
		return 1;
	}
	if (list) {
		char buf[4096];
		printf("%-40s  dir   inode %-5u %llu entries\n", "/", SFS_ROOT_INO,
		       (unsigned long long)(inode_of(&im, SFS_ROOT_INO)->size / SFS_DIRENT_SIZE));
		list_dir(&im, SFS_ROOT_INO, buf, 0);
	}
	printf("fsck: clean (%u files, %u dirs, %u blocks used)\n", st.files, st.dirs,
	       st.blocks_used);
	free(im.data);
	return 0;
}
