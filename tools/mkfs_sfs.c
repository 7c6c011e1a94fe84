/*
 * tools/mkfs_sfs.c - make an SFS image (the kernel's RAM-disk format, see
 * kernel/fs/sfs_format.h) and copy host files into it.
 *
 *   mkfs_sfs IMAGE SIZE_KIB [--inodes N] [--sparse] [--mkdir /dir ...]
 *            [HOSTPATH:/name ...]
 *
 * Writes IMAGE of exactly SIZE_KIB KiB (a multiple of 4). HOSTPATH:/name
 * copies a host file to /name, creating missing directories on the way; a
 * host directory is copied with everything under it (in name order, so the
 * image is reproducible). --mkdir creates an empty directory. --inodes sets
 * the number of inodes, the root included (default: one per 16 KiB, at
 * least 31; the table is filled up to whole blocks). --sparse stores blocks
 * of zeros in the files copied after it as holes. The
 * image is built in memory, checked with sfs_check() (the kernel's own
 * checker) and written only if it passes.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tools/sfs_mkfs_lib.h"

static const char *prog = "mkfs_sfs";

static void usage(void)
{
	fprintf(stderr,
		"usage: %s IMAGE SIZE_KIB [--inodes N] [--sparse] [--mkdir /dir ...] "
		"[HOSTPATH:/name ...]\n"
		"  SIZE_KIB         image size in KiB, a multiple of 4\n"
		"  --inodes N       number of inodes, the root included\n"
		"  --sparse         blocks of zeros in the files that follow become holes\n"
		"  --mkdir /dir     create a directory (and its parents)\n"
		"  HOSTPATH:/name   copy a host file (or directory tree) to /name\n",
		prog);
	exit(2);
}

static int __attribute__((format(printf, 1, 2))) error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || v > UINT32_MAX || s[0] == '-')
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* Reads a whole host file into a malloc'd buffer. */
static int read_host_file(const char *path, uint8_t **data, uint64_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return error("%s: %s", path, strerror(errno));
	do {
		if (len == cap) {
			cap = cap ? 2 * cap : 65536;
			if (cap > SFS_MAX_FILE_SIZE + SFS_BLOCK_SIZE) {
				fclose(f);
				free(buf);
				return error("%s: larger than the maximum file size %llu", path,
					     (unsigned long long)SFS_MAX_FILE_SIZE);
			}
			uint8_t *nbuf = realloc(buf, cap);
			if (!nbuf) {
				fclose(f);
				free(buf);
				return error("%s: out of memory", path);
			}
			buf = nbuf;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return error("%s: read error", path);
	}
	fclose(f);
	*data = buf;
	*size = len;
	return 0;
}

static int copy_in(struct sfs_mkfs *fs, const char *host, const char *dest);

/* Copies the host directory host (recursively) to dest. */
static int copy_dir(struct sfs_mkfs *fs, const char *host, const char *dest)
{
	struct dirent **names;
	int n, r = 0;

	if (sfs_mkfs_mkdir(fs, dest, NULL))
		return error("%s: %s", dest, fs->err);
	n = scandir(host, &names, NULL, alphasort);
	if (n < 0)
		return error("%s: %s", host, strerror(errno));
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		if (r == 0 && strcmp(name, ".") && strcmp(name, "..")) {
			char *h = NULL, *d = NULL;
			if (asprintf(&h, "%s/%s", host, name) < 0 ||
			    asprintf(&d, "%s/%s", dest, name) < 0)
				r = error("out of memory");
			else
				r = copy_in(fs, h, d);
			free(h);
			free(d);
		}
		free(names[i]);
	}
	free(names);
	return r;
}

static int copy_in(struct sfs_mkfs *fs, const char *host, const char *dest)
{
	struct stat st;
	uint8_t *data;
	uint64_t size;
	int r;

	if (stat(host, &st))
		return error("%s: %s", host, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return copy_dir(fs, host, dest);
	if (!S_ISREG(st.st_mode))
		return error("%s: not a regular file or directory", host);
	if (read_host_file(host, &data, &size))
		return -1;
	r = sfs_mkfs_add_file(fs, dest, data, size, NULL);
	free(data);
	if (r)
		return error("%s: %s", dest, fs->err);
	return 0;
}

static int read_block(void *ctx, uint32_t block, void *buf)
{
	struct sfs_mkfs *fs = ctx;

	memcpy(buf, sfs_mkfs_block(fs, block), SFS_BLOCK_SIZE);
	return 0;
}

/* The kernel's checker must accept what we made. */
static int self_check(struct sfs_mkfs *fs, struct sfs_check_stats *stats)
{
	size_t need = sfs_check_scratch_size(fs->nr_blocks, fs->nr_inodes);
	void *scratch = aligned_alloc(SFS_BLOCK_SIZE, (need + SFS_BLOCK_SIZE - 1) & ~(size_t)4095);
	struct sfs_io io = { fs, fs->nr_blocks, read_block, scratch, need };
	char err[256];
	int r;

	if (!scratch)
		return error("out of memory");
	r = sfs_check_full(&io, stats, err, sizeof(err));
	free(scratch);
	if (r)
		return error("internal error: the image fails its check: %s", err);
	return 0;
}

static int write_image(const char *path, const void *img, size_t size)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return error("%s: %s", path, strerror(errno));
	if (fwrite(img, 1, size, f) != size || fclose(f))
		return error("%s: write error: %s", path, strerror(errno));
	return 0;
}

int main(int argc, char **argv)
{
	const char *image;
	uint32_t size_kib, inodes = 0;
	struct sfs_mkfs fs;
	struct sfs_check_stats stats;
	uint8_t *img;
	size_t size;
	int i, r = 0;

	if (argc < 3 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		usage();
	image = argv[1];
	if (parse_u32(argv[2], &size_kib) || size_kib == 0 || size_kib % 4)
		return error("SIZE_KIB must be a positive multiple of 4 (KiB), not \"%s\"",
			     argv[2]),
		       2;
	for (i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--inodes")) {
			if (++i == argc || parse_u32(argv[i], &inodes) || inodes == 0)
				usage();
		}
	}

	size = (size_t)size_kib * 1024;
	img = calloc(1, size);
	if (!img)
		return error("out of memory for a %u KiB image", size_kib), 1;
	if (sfs_mkfs_format(&fs, img, size, inodes)) {
		error("%s", fs.err);
		free(img);
		return 1;
	}

	for (i = 3; i < argc && r == 0; i++) {
		const char *arg = argv[i], *sep;

		if (!strcmp(arg, "--inodes")) {
			i++;
		} else if (!strcmp(arg, "--sparse")) {
			fs.sparse = true;
		} else if (!strcmp(arg, "--mkdir")) {
			if (++i == argc)
				usage();
			if (sfs_mkfs_mkdir(&fs, argv[i], NULL))
				r = error("%s: %s", argv[i], fs.err);
		} else if (arg[0] == '-' && arg[1] == '-') {
			usage();
		} else {
			/* HOSTPATH:/name, split at the last ":/". */
			sep = NULL;
			for (const char *p = strstr(arg, ":/"); p; p = strstr(p + 1, ":/"))
				sep = p;
			if (!sep || sep == arg) {
				r = error("\"%s\": expected HOSTPATH:/name", arg);
			} else {
				char *host = strndup(arg, (size_t)(sep - arg));
				r = host ? copy_in(&fs, host, sep + 1) : error("out of memory");
				free(host);
			}
		}
	}
	if (r == 0) {
		sfs_mkfs_finish(&fs);
		r = self_check(&fs, &stats);
	}
	if (r == 0)
		r = write_image(image, img, size);
	if (r == 0)
		printf("mkfs: %s: %u KiB, %u blocks (%u used), %u inodes, %u files, %u dirs\n",
		       image, size_kib, fs.nr_blocks, stats.blocks_used, fs.nr_inodes - 1,
		       stats.files, stats.dirs);
	free(img);
	return r ? 1 : 0;
}
