/*
 * tools/mkfs_sfs.c - make an SFS image (the kernel's RAM-disk format, see
 * kernel/fs/sfs_format.h) and copy host files into it.
 *
 *   mkfs_sfs IMAGE SIZE [--inodes N] [--max-size SIZE] [--sparse]
 *            [--sparse-image] [--mkdir /dir ...] [--symlink /name=TARGET ...]
 *            [HOSTPATH:/name ...]
 *
 * Writes IMAGE of exactly SIZE (KiB, or with a suffix K, M, G or T; a
 * multiple of 4 KiB). HOSTPATH:/name copies a host file to /name, creating
 * missing directories on the way; a host directory is copied with
 * everything under it (in name order, so the image is reproducible). Files
 * of any size the format allows (about 4 TiB) are copied in pieces of 1
 * MiB, and only the data of a sparse host file is read (SEEK_DATA): its
 * holes stay holes. A symbolic link inside a copied directory is copied as
 * a link (as cp -r does); one named on the command line is followed.
 * --mkdir creates an empty directory; --symlink a symbolic link. --inodes sets the
 * number of inodes, the root included (default: one per 16 KiB, at least
 * 31; the table is filled up to whole blocks). --max-size sets how large
 * the file system may grow in place (max_blocks: the kernel grows it to its
 * RAM disk at mount): default 16 GiB, never less than SIZE (so
 * --max-size 0 makes a file system that cannot grow); its bitmap takes one
 * block per 128 MiB of it. --sparse stores blocks of zeros in the files
 * copied after it as holes. --sparse-image writes only the blocks in use
 * that hold something and leaves the rest of IMAGE a hole on the host (an
 * image of 16 GiB takes a few dozen KiB of disk). The image is built in
 * memory (untouched pages of it cost nothing), checked with sfs_check()
 * (the kernel's own checker) and written only if it passes.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/sfs_mkfs_lib.h"

static const char *prog = "mkfs_sfs";

static void usage(void)
{
	fprintf(stderr,
		"usage: %s IMAGE SIZE [--inodes N] [--max-size SIZE] [--sparse] "
		"[--sparse-image] [--mkdir /dir ...] [--symlink /name=TARGET ...] [HOSTPATH:/name "
		"...]\n"
		"  SIZE             image size: KiB, or with a suffix K, M, G, T; a multiple "
		"of 4 KiB\n"
		"  --inodes N       number of inodes, the root included\n"
		"  --max-size SIZE  the file system may grow in place up to SIZE (default "
		"16G,\n"
		"                   never less than the image)\n"
		"  --sparse         blocks of zeros in the files that follow become holes\n"
		"  --sparse-image   write only the blocks in use: IMAGE is sparse on the host\n"
		"  --mkdir /dir     create a directory (and its parents)\n"
		"  --symlink /name=TARGET  create a symbolic link\n"
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

/* A size in KiB: digits, optionally followed by K, M, G or T (binary). */
static int parse_kib(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return -1;
	if (*end) {
		const char *units = "KMGT", *u = strchr(units, *end);
		if (!u || end[1])
			return -1;
		shift = 10 * (unsigned)(u - units);
	}
	if (v > (UINT64_MAX >> 20) >> shift)
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

#define COPY_CHUNK (1u << 20)

/* Copies the regular host file host (st: its stat) to dest: only its data
 * segments (SEEK_DATA / SEEK_HOLE), in pieces of COPY_CHUNK bytes. */
static int copy_file(struct sfs_mkfs *fs, const char *host, const char *dest, const struct stat *st)
{
	uint64_t size = (uint64_t)st->st_size, off = 0;
	uint8_t *buf = NULL;
	uint32_t ino;
	int fd, r = 0;

	if (size > SFS_MAX_FILE_SIZE)
		return error("%s: %llu bytes, larger than the maximum file size %llu", host,
			     (unsigned long long)size, (unsigned long long)SFS_MAX_FILE_SIZE);
	fd = open(host, O_RDONLY);
	if (fd < 0)
		return error("%s: %s", host, strerror(errno));
	buf = malloc(COPY_CHUNK);
	if (!buf) {
		close(fd);
		return error("out of memory");
	}
	if (sfs_mkfs_add_file(fs, dest, NULL, size, &ino))
		r = error("%s: %s", dest, fs->err);
	while (r == 0 && off < size) {
		off_t data = lseek(fd, (off_t)off, SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO)
			break; /* a hole up to the end */
		if (data < 0)
			data = (off_t)off; /* no SEEK_DATA here: read it all */
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0 || (uint64_t)hole > size)
			hole = (off_t)size;
		for (uint64_t pos = (uint64_t)data; r == 0 && pos < (uint64_t)hole;) {
			size_t want = (uint64_t)hole - pos < COPY_CHUNK
					  ? (size_t)((uint64_t)hole - pos)
					  : COPY_CHUNK;
			ssize_t n = pread(fd, buf, want, (off_t)pos);
			if (n <= 0)
				r = error("%s: %s", host,
					  n < 0 ? strerror(errno) : "shrank while being copied");
			else if (sfs_mkfs_write(fs, ino, pos, buf, (uint64_t)n))
				r = error("%s: %s", dest, fs->err);
			else
				pos += (uint64_t)n;
		}
		off = (uint64_t)hole;
	}
	free(buf);
	close(fd);
	return r;
}

static int copy_in(struct sfs_mkfs *fs, const char *host, const char *dest);
static int copy_in_at(struct sfs_mkfs *fs, const char *host, const char *dest, bool top);

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
				r = copy_in_at(fs, h, d, false);
			free(h);
			free(d);
		}
		free(names[i]);
	}
	free(names);
	return r;
}

/* A host file, directory or (inside a copied directory: `top` false, as
 * cp -r does) symbolic link to dest. */
static int copy_in_at(struct sfs_mkfs *fs, const char *host, const char *dest, bool top)
{
	struct stat st;

	if (top ? stat(host, &st) : lstat(host, &st))
		return error("%s: %s", host, strerror(errno));
	if (S_ISLNK(st.st_mode)) {
		char target[SFS_SYMLINK_MAX + 1];
		ssize_t n = readlink(host, target, sizeof(target));
		if (n < 0)
			return error("%s: %s", host, strerror(errno));
		if (n > (ssize_t)SFS_SYMLINK_MAX)
			return error("%s: link target too long", host);
		target[n] = 0;
		if (sfs_mkfs_symlink(fs, dest, target, NULL))
			return error("%s: %s", dest, fs->err);
		return 0;
	}
	if (S_ISDIR(st.st_mode))
		return copy_dir(fs, host, dest);
	if (!S_ISREG(st.st_mode))
		return error("%s: not a regular file or directory", host);
	return copy_file(fs, host, dest, &st);
}

static int copy_in(struct sfs_mkfs *fs, const char *host, const char *dest)
{
	return copy_in_at(fs, host, dest, true);
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

static int write_all(int fd, const uint8_t *p, size_t len, off_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, p, len, off);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* Writes the image; sparse: only the blocks marked used in the bitmap (the
 * others were never written, so they are zero) that are not all zero (an
 * empty inode table), as runs, and the file is then extended to its full
 * size with a hole. */
/* Does block b go into a sparse image? */
static bool block_written(struct sfs_mkfs *fs, const uint8_t *bitmap, uint32_t b)
{
	const uint64_t *p = (const uint64_t *)(const void *)sfs_mkfs_block(fs, b);

	if (!sfs_bit_test(bitmap, b))
		return false;
	for (size_t i = 0; i < SFS_BLOCK_SIZE / sizeof(*p); i++)
		if (p[i])
			return true;
	return false;
}

static int write_image(const char *path, struct sfs_mkfs *fs, bool sparse)
{
	const uint8_t *bitmap = sfs_mkfs_block(fs, sfs_mkfs_super(fs)->bitmap_start);
	uint64_t size = (uint64_t)fs->nr_blocks * SFS_BLOCK_SIZE;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int r = 0;

	if (fd < 0)
		return error("%s: %s", path, strerror(errno));
	if (!sparse) {
		r = write_all(fd, fs->img, size, 0);
	} else {
		for (uint32_t b = 0; r == 0 && b < fs->nr_blocks;) {
			uint32_t e = b;
			if (!block_written(fs, bitmap, b)) {
				b++;
				continue;
			}
			while (e < fs->nr_blocks && block_written(fs, bitmap, e) && e - b < 4096)
				e++;
			r = write_all(fd, sfs_mkfs_block(fs, b), (size_t)(e - b) * SFS_BLOCK_SIZE,
				      (off_t)b * SFS_BLOCK_SIZE);
			b = e;
		}
		if (r == 0)
			r = ftruncate(fd, (off_t)size);
	}
	if (close(fd) || r)
		return error("%s: write error: %s", path, strerror(errno));
	return 0;
}

#define DEFAULT_MAX_KIB (16ull << 20) /* 16 GiB */

int main(int argc, char **argv)
{
	const char *image;
	uint64_t size_kib, max_kib = DEFAULT_MAX_KIB;
	uint32_t inodes = 0;
	bool sparse_image = false;
	struct sfs_mkfs fs;
	struct sfs_check_stats stats;
	uint8_t *img;
	size_t size;
	int i, r = 0;

	if (argc < 3 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		usage();
	image = argv[1];
	if (parse_kib(argv[2], &size_kib) || size_kib == 0 || size_kib % 4 ||
	    size_kib / 4 > UINT32_MAX)
		return error("SIZE must be a positive multiple of 4 KiB of at most %lluK (KiB, or "
			     "with a suffix K, M, G, T), not \"%s\"",
			     (unsigned long long)UINT32_MAX * 4, argv[2]),
		       2;
	for (i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--inodes")) {
			if (++i == argc || parse_u32(argv[i], &inodes) || inodes == 0)
				usage();
		} else if (!strcmp(argv[i], "--max-size")) {
			if (++i == argc || parse_kib(argv[i], &max_kib))
				usage();
			if (max_kib / 4 > UINT32_MAX)
				return error(
					   "--max-size %s: more than %lluK, the most 32-bit block "
					   "numbers reach",
					   argv[i], (unsigned long long)UINT32_MAX * 4),
				       2;
		} else if (!strcmp(argv[i], "--sparse-image")) {
			sparse_image = true;
		}
	}

	size = (size_t)size_kib * 1024;
	img = calloc(1, size);
	if (!img)
		return error("out of memory for a %llu KiB image", (unsigned long long)size_kib), 1;
	struct sfs_mkfs_opts opts = { .inodes = inodes,
				      .max_blocks = max_kib / 4,
				      .img_zeroed = true };
	if (sfs_mkfs_format_opts(&fs, img, size, &opts)) {
		error("%s%s", fs.err,
		      max_kib > size_kib ? " (a smaller --max-size makes a smaller bitmap)" : "");
		free(img);
		return 1;
	}

	for (i = 3; i < argc && r == 0; i++) {
		const char *arg = argv[i], *sep;

		if (!strcmp(arg, "--inodes") || !strcmp(arg, "--max-size")) {
			i++;
		} else if (!strcmp(arg, "--sparse-image")) {
			continue;
		} else if (!strcmp(arg, "--sparse")) {
			fs.sparse = true;
		} else if (!strcmp(arg, "--symlink")) {
			/* --symlink /name=TARGET */
			const char *eq;
			if (++i == argc || !(eq = strchr(argv[i], '=')) || eq == argv[i])
				usage();
			char *name = strndup(argv[i], (size_t)(eq - argv[i]));
			if (!name || sfs_mkfs_symlink(&fs, name, eq + 1, NULL))
				r = error("%s: %s", argv[i], name ? fs.err : "out of memory");
			free(name);
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
		r = write_image(image, &fs, sparse_image);
	if (r == 0)
		printf("mkfs: %s: %llu KiB, %u blocks (%u used, may grow to %u), %u inodes, %u "
		       "files, %u dirs\n",
		       image, (unsigned long long)size_kib, fs.nr_blocks, stats.blocks_used,
		       fs.max_blocks, fs.nr_inodes - 1, stats.files, stats.dirs);
	free(img);
	return r ? 1 : 0;
}
