/*
 * tools/sfs_mkfs_lib.c - build an SFS image in a memory buffer (host only).
 *
 * Allocation is first-fit from a cursor: blocks are handed out in increasing
 * order (a file's data block, then the index blocks on the way to it that
 * are not there yet, top down), so a small image keeps its used blocks at
 * the start and can be truncated for a fuzzing corpus, and a large image
 * whose memory is zero already (sfs_mkfs_opts.img_zeroed) only touches the
 * pages of the blocks it uses. Inodes are the lowest free ones. Nothing here is clever:
 * the image it builds is checked by sfs_check() from kernel/fs/sfs_format.c,
 * which is the real authority on the format.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tools/sfs_mkfs_lib.h"

static int __attribute__((format(printf, 3, 4)))
fail(struct sfs_mkfs *fs, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(fs->err, sizeof(fs->err), fmt, ap);
	va_end(ap);
	return code;
}

struct sfs_super *sfs_mkfs_super(struct sfs_mkfs *fs)
{
	return (struct sfs_super *)(void *)fs->img;
}

uint8_t *sfs_mkfs_block(struct sfs_mkfs *fs, uint32_t b)
{
	return fs->img + (size_t)b * SFS_BLOCK_SIZE;
}

struct sfs_inode *sfs_mkfs_inode(struct sfs_mkfs *fs, uint32_t ino)
{
	struct sfs_super *sb = sfs_mkfs_super(fs);
	return (struct sfs_inode *)(void *)(sfs_mkfs_block(fs, sfs_inode_block(sb, ino)) +
					    sfs_inode_offset(ino));
}

static uint8_t *bitmap(struct sfs_mkfs *fs)
{
	return sfs_mkfs_block(fs, sfs_mkfs_super(fs)->bitmap_start);
}

void sfs_mkfs_sign(struct sfs_mkfs *fs)
{
	struct sfs_super *sb = sfs_mkfs_super(fs);
	sb->checksum = sfs_super_checksum(sb);
}

uint32_t sfs_mkfs_default_inodes(uint32_t nr_blocks)
{
	/* One inode per 4 blocks (16 KiB), at least 31 (one table block). */
	uint32_t n = nr_blocks / 4;
	return n < 31 ? 31 : n;
}

int sfs_mkfs_format(struct sfs_mkfs *fs, void *img, size_t img_size, uint32_t inodes)
{
	struct sfs_mkfs_opts opts = { .inodes = inodes };

	return sfs_mkfs_format_opts(fs, img, img_size, &opts);
}

int sfs_mkfs_format_opts(struct sfs_mkfs *fs, void *img, size_t img_size,
			 const struct sfs_mkfs_opts *opts)
{
	uint64_t nr_blocks = img_size / SFS_BLOCK_SIZE, slots, table_blocks, bitmap_blocks;
	uint64_t max_blocks;
	uint32_t inodes = opts->inodes;
	struct sfs_super *sb;

	memset(fs, 0, sizeof(*fs));
	if (nr_blocks > UINT32_MAX)
		return fail(fs, -EFBIG, "image too large: %llu blocks (at most %u)",
			    (unsigned long long)nr_blocks, UINT32_MAX);
	max_blocks = opts->max_blocks > nr_blocks ? opts->max_blocks : nr_blocks;
	if (max_blocks > UINT32_MAX)
		return fail(fs, -EFBIG, "maximum size too large: %llu blocks (at most %u)",
			    (unsigned long long)max_blocks, UINT32_MAX);
	if (inodes == 0)
		inodes = sfs_mkfs_default_inodes((uint32_t)nr_blocks);
	slots = ((uint64_t)inodes + 1 + SFS_INODES_PER_BLOCK - 1) / SFS_INODES_PER_BLOCK *
		SFS_INODES_PER_BLOCK;
	if (slots > UINT32_MAX)
		return fail(fs, -EINVAL, "too many inodes: %u", inodes);
	table_blocks = slots / SFS_INODES_PER_BLOCK;
	bitmap_blocks = (max_blocks + SFS_BITS_PER_BLOCK - 1) / SFS_BITS_PER_BLOCK;
	if (1 + bitmap_blocks + table_blocks >= nr_blocks)
		return fail(fs, -ENOSPC,
			    "image of %llu blocks too small for a bitmap of %llu blocks (for a "
			    "maximum of %llu blocks), %llu inode table blocks and data",
			    (unsigned long long)nr_blocks, (unsigned long long)bitmap_blocks,
			    (unsigned long long)max_blocks, (unsigned long long)table_blocks);

	fs->img = img;
	fs->nr_blocks = (uint32_t)nr_blocks;
	fs->max_blocks = (uint32_t)max_blocks;
	fs->nr_inodes = (uint32_t)slots;
	if (!opts->img_zeroed)
		memset(img, 0, (size_t)nr_blocks * SFS_BLOCK_SIZE);
	sb = sfs_mkfs_super(fs);
	sb->magic = SFS_MAGIC;
	sb->version = SFS_VERSION;
	sb->block_size = SFS_BLOCK_SIZE;
	sb->nr_blocks = fs->nr_blocks;
	sb->max_blocks = fs->max_blocks;
	sb->nr_inodes = fs->nr_inodes;
	sb->bitmap_start = 1;
	sb->bitmap_blocks = (uint32_t)bitmap_blocks;
	sb->inode_table_start = 1 + sb->bitmap_blocks;
	sb->inode_table_blocks = (uint32_t)table_blocks;
	sb->data_start = sb->inode_table_start + sb->inode_table_blocks;
	sb->root_ino = SFS_ROOT_INO;
	for (uint32_t b = 0; b < sb->data_start; b++)
		sfs_bit_set(bitmap(fs), b);
	fs->next_block = sb->data_start;

	struct sfs_inode *root = sfs_mkfs_inode(fs, SFS_ROOT_INO);
	root->mode = SFS_S_IFDIR;
	root->nlink = 1;
	sfs_mkfs_finish(fs);
	return 0;
}

void sfs_mkfs_finish(struct sfs_mkfs *fs)
{
	struct sfs_super *sb = sfs_mkfs_super(fs);
	uint32_t free_blocks = 0, free_inodes = 0;

	for (uint32_t b = sb->data_start; b < fs->nr_blocks; b++)
		free_blocks += !sfs_bit_test(bitmap(fs), b);
	for (uint32_t ino = 1; ino < fs->nr_inodes; ino++)
		free_inodes += sfs_mkfs_inode(fs, ino)->mode == 0;
	sb->free_blocks = free_blocks;
	sb->free_inodes = free_inodes;
	sfs_mkfs_sign(fs);
}

/* ---- allocation --------------------------------------------------------- */

static int alloc_block(struct sfs_mkfs *fs, uint32_t *out)
{
	for (uint32_t b = fs->next_block; b < fs->nr_blocks; b++) {
		if (!sfs_bit_test(bitmap(fs), b)) {
			sfs_bit_set(bitmap(fs), b);
			memset(sfs_mkfs_block(fs, b), 0, SFS_BLOCK_SIZE);
			fs->next_block = b + 1;
			*out = b;
			return 0;
		}
	}
	return fail(fs, -ENOSPC, "no free blocks left (%u blocks)", fs->nr_blocks);
}

static int alloc_inode(struct sfs_mkfs *fs, uint16_t mode, uint32_t *out)
{
	for (uint32_t ino = SFS_ROOT_INO + 1; ino < fs->nr_inodes; ino++) {
		struct sfs_inode *in = sfs_mkfs_inode(fs, ino);
		if (in->mode == 0) {
			memset(in, 0, sizeof(*in));
			in->mode = mode;
			*out = ino;
			return 0;
		}
	}
	return fail(fs, -ENOSPC, "no free inodes left (%u usable)", fs->nr_inodes - 2);
}

/* Entry j of index block b (0 for a block number outside the image: the
 * tests call this on images they corrupted). */
static uint32_t index_entry(struct sfs_mkfs *fs, uint32_t b, uint32_t j)
{
	if (b >= fs->nr_blocks)
		return 0;
	return sfs_get_le32(sfs_mkfs_block(fs, b) + 4 * j);
}

uint32_t sfs_mkfs_index_block(struct sfs_mkfs *fs, uint32_t ino, uint64_t lbn, unsigned height)
{
	struct sfs_inode *in = sfs_mkfs_inode(fs, ino);
	uint32_t idx[SFS_INDEX_LEVELS];
	int level = sfs_bmap_path(lbn, idx);
	uint32_t b;

	if (level <= 0 || height < 1 || height > (unsigned)level)
		return 0;
	b = sfs_inode_index(in, (unsigned)level);
	for (unsigned i = 0; b && i < (unsigned)level - height; i++)
		b = index_entry(fs, b, idx[i]);
	return b;
}

uint32_t sfs_mkfs_bmap(struct sfs_mkfs *fs, uint32_t ino, uint64_t lbn)
{
	struct sfs_inode *in = sfs_mkfs_inode(fs, ino);
	uint32_t idx[SFS_INDEX_LEVELS];
	int level = sfs_bmap_path(lbn, idx);
	uint32_t b;

	if (level < 0)
		return 0;
	if (level == 0)
		return in->direct[idx[0]];
	b = sfs_mkfs_index_block(fs, ino, lbn, 1);
	return b ? index_entry(fs, b, idx[level - 1]) : 0;
}

/* Maps logical block lbn (a hole) of inode ino to a fresh zeroed block,
 * then adds the index blocks on the way that are not there yet. */
static int map_new_block(struct sfs_mkfs *fs, uint32_t ino, uint64_t lbn, uint32_t *out)
{
	struct sfs_inode *in = sfs_mkfs_inode(fs, ino);
	uint32_t idx[SFS_INDEX_LEVELS];
	int level = sfs_bmap_path(lbn, idx);
	uint32_t b, cur;
	int r;

	if (level < 0)
		return fail(fs, -EFBIG, "file too large (at most %llu bytes)",
			    (unsigned long long)SFS_MAX_FILE_SIZE);
	r = alloc_block(fs, &b);
	if (r)
		return r;
	if (level == 0) {
		in->direct[idx[0]] = b;
		*out = b;
		return 0;
	}
	cur = sfs_inode_index(in, (unsigned)level);
	if (!cur) {
		r = alloc_block(fs, &cur);
		if (r)
			return r;
		sfs_inode_set_index(in, (unsigned)level, cur);
	}
	for (int i = 0; i < level - 1; i++) {
		uint8_t *slot = sfs_mkfs_block(fs, cur) + 4 * idx[i];
		uint32_t next = sfs_get_le32(slot);
		if (!next) {
			r = alloc_block(fs, &next);
			if (r)
				return r;
			sfs_put_le32(slot, next);
		}
		cur = next;
	}
	sfs_put_le32(sfs_mkfs_block(fs, cur) + 4 * idx[level - 1], b);
	*out = b;
	return 0;
}

/* ---- directories -------------------------------------------------------- */

static struct sfs_dirent *dirent_at(struct sfs_mkfs *fs, uint32_t dir, uint32_t idx)
{
	uint32_t b = sfs_mkfs_bmap(fs, dir, idx / SFS_DIRENTS_PER_BLOCK);
	return (struct sfs_dirent *)(void *)(sfs_mkfs_block(fs, b) +
					     (idx % SFS_DIRENTS_PER_BLOCK) * SFS_DIRENT_SIZE);
}

static uint32_t dir_entries(struct sfs_mkfs *fs, uint32_t dir)
{
	return (uint32_t)(sfs_mkfs_inode(fs, dir)->size / SFS_DIRENT_SIZE);
}

static uint32_t dir_find(struct sfs_mkfs *fs, uint32_t dir, const char *name, size_t len)
{
	for (uint32_t i = 0; i < dir_entries(fs, dir); i++) {
		struct sfs_dirent *de = dirent_at(fs, dir, i);
		if (de->ino && de->name_len == len && memcmp(de->name, name, len) == 0)
			return de->ino;
	}
	return 0;
}

static int dir_add(struct sfs_mkfs *fs, uint32_t dir, const char *name, size_t len, uint32_t ino)
{
	struct sfs_inode *din = sfs_mkfs_inode(fs, dir);
	struct sfs_dirent *de = NULL;
	uint32_t n = dir_entries(fs, dir);
	int r;

	if (!sfs_valid_name(name, len))
		return fail(fs, -EINVAL, "bad name \"%.*s\" (1..%u bytes, no '/', not . or ..)",
			    (int)len, name, SFS_NAME_MAX);
	if (dir_find(fs, dir, name, len))
		return fail(fs, -EEXIST, "\"%.*s\" exists", (int)len, name);
	if (sfs_mkfs_inode(fs, ino)->nlink == UINT16_MAX)
		return fail(fs, -EMLINK, "inode %u has too many links", ino);
	for (uint32_t i = 0; i < n && !de; i++)
		if (dirent_at(fs, dir, i)->ino == 0)
			de = dirent_at(fs, dir, i);
	if (!de) {
		if (n % SFS_DIRENTS_PER_BLOCK == 0) {
			uint32_t b;
			if (n >= SFS_MAX_DIRENTS)
				return fail(fs, -EFBIG,
					    "directory %u is full (%llu entries at most)", dir,
					    (unsigned long long)SFS_MAX_DIRENTS);
			r = map_new_block(fs, dir, n / SFS_DIRENTS_PER_BLOCK, &b);
			if (r)
				return r;
		}
		din->size += SFS_DIRENT_SIZE;
		de = dirent_at(fs, dir, n);
	}
	memset(de, 0, sizeof(*de));
	de->ino = ino;
	de->name_len = (uint8_t)len;
	memcpy(de->name, name, len);
	sfs_mkfs_inode(fs, ino)->nlink++;
	return 0;
}

/* Creates an inode of this mode under name in dir; on failure the inode is
 * freed again (a directory block it allocated stays: discard the image). */
static int create_child(struct sfs_mkfs *fs, uint32_t dir, const char *name, size_t len,
			uint16_t mode, uint32_t *child)
{
	int r;

	if (!sfs_valid_name(name, len))
		return fail(fs, -EINVAL, "bad name \"%.*s\" (1..%u bytes, no '/', not . or ..)",
			    (int)len, name, SFS_NAME_MAX);
	r = alloc_inode(fs, mode, child);
	if (r)
		return r;
	r = dir_add(fs, dir, name, len, *child);
	if (r)
		memset(sfs_mkfs_inode(fs, *child), 0, sizeof(struct sfs_inode));
	return r;
}

/* Splits off the next component of *path: returns its length (0 at the end). */
static size_t next_component(const char **path, const char **name)
{
	const char *p = *path;
	size_t len = 0;

	while (*p == '/')
		p++;
	*name = p;
	while (p[len] && p[len] != '/')
		len++;
	*path = p + len;
	return len;
}

/* Walks to the parent directory of the last component of path, creating
 * missing directories if create; *name and *len get the last component. */
static int walk_parent(struct sfs_mkfs *fs, const char *path, bool create, uint32_t *dir,
		       const char **name, size_t *len)
{
	const char *p = path, *comp, *rest;
	size_t n = next_component(&p, &comp);
	uint32_t cur = SFS_ROOT_INO;
	int r;

	if (n == 0)
		return fail(fs, -EINVAL, "empty path \"%s\"", path);
	for (;;) {
		const char *next;
		rest = p;
		size_t m = next_component(&rest, &next);
		if (m == 0)
			break;
		uint32_t child = dir_find(fs, cur, comp, n);
		if (!child) {
			if (!create)
				return fail(fs, -ENOENT, "%s: \"%.*s\" not found", path, (int)n,
					    comp);
			r = create_child(fs, cur, comp, n, SFS_S_IFDIR, &child);
			if (r)
				return r;
		} else if (sfs_mkfs_inode(fs, child)->mode != SFS_S_IFDIR) {
			return fail(fs, -ENOTDIR, "%s: \"%.*s\" is not a directory", path, (int)n,
				    comp);
		}
		cur = child;
		comp = next;
		n = m;
		p = rest;
	}
	*dir = cur;
	*name = comp;
	*len = n;
	return 0;
}

int sfs_mkfs_lookup(struct sfs_mkfs *fs, const char *path, uint32_t *ino)
{
	const char *name;
	size_t len;
	uint32_t dir, found;
	int r;

	if (next_component(&(const char *){ path }, &name) == 0) {
		*ino = SFS_ROOT_INO;
		return 0;
	}
	r = walk_parent(fs, path, false, &dir, &name, &len);
	if (r)
		return r;
	found = dir_find(fs, dir, name, len);
	if (!found)
		return fail(fs, -ENOENT, "%s not found", path);
	*ino = found;
	return 0;
}

int sfs_mkfs_mkdir(struct sfs_mkfs *fs, const char *path, uint32_t *ino)
{
	const char *name;
	size_t len;
	uint32_t dir, child;
	int r;

	if (next_component(&(const char *){ path }, &name) == 0) {
		if (ino)
			*ino = SFS_ROOT_INO;
		return 0;
	}
	r = walk_parent(fs, path, true, &dir, &name, &len);
	if (r)
		return r;
	child = dir_find(fs, dir, name, len);
	if (child) {
		if (sfs_mkfs_inode(fs, child)->mode != SFS_S_IFDIR)
			return fail(fs, -EEXIST, "%s exists and is not a directory", path);
	} else {
		r = create_child(fs, dir, name, len, SFS_S_IFDIR, &child);
		if (r)
			return r;
	}
	if (ino)
		*ino = child;
	return 0;
}

static bool all_zero(const uint8_t *p, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

int sfs_mkfs_add_file(struct sfs_mkfs *fs, const char *path, const void *data, uint64_t size,
		      uint32_t *ino)
{
	const char *name;
	size_t len;
	uint32_t dir, child;
	int r;

	if (size > SFS_MAX_FILE_SIZE)
		return fail(fs, -EFBIG, "%s: %llu bytes, more than the maximum file size %llu",
			    path, (unsigned long long)size, (unsigned long long)SFS_MAX_FILE_SIZE);
	r = walk_parent(fs, path, true, &dir, &name, &len);
	if (r)
		return r;
	if (!sfs_valid_name(name, len))
		return fail(fs, -EINVAL, "bad name \"%.*s\" (1..%u bytes, no '/', not . or ..)",
			    (int)len, name, SFS_NAME_MAX);
	if (dir_find(fs, dir, name, len))
		return fail(fs, -EEXIST, "%s exists", path);
	r = alloc_inode(fs, SFS_S_IFREG, &child);
	if (r)
		return r;
	struct sfs_inode *in = sfs_mkfs_inode(fs, child);
	in->size = size;
	r = data ? sfs_mkfs_write(fs, child, 0, data, size) : 0;
	if (r) {
		memset(in, 0, sizeof(*in)); /* blocks stay allocated: the image is
					     * abandoned anyway */
		return r;
	}
	r = dir_add(fs, dir, name, len, child);
	if (r)
		return r;
	if (ino)
		*ino = child;
	return 0;
}

int sfs_mkfs_write(struct sfs_mkfs *fs, uint32_t ino, uint64_t off, const void *data, uint64_t len)
{
	struct sfs_inode *in;
	uint64_t end = off + len;

	if (!sfs_ino_valid(sfs_mkfs_super(fs), ino) ||
	    (sfs_mkfs_inode(fs, ino)->mode != SFS_S_IFREG &&
	     sfs_mkfs_inode(fs, ino)->mode != SFS_S_IFLNK))
		return fail(fs, -EINVAL, "inode %u is not a regular file", ino);
	in = sfs_mkfs_inode(fs, ino);
	if (end < off || end > in->size)
		return fail(fs, -EINVAL, "write of %llu bytes at %llu is past the size %llu",
			    (unsigned long long)len, (unsigned long long)off,
			    (unsigned long long)in->size);
	for (uint64_t pos = off; pos < end;) {
		uint32_t in_block = sfs_offset_in_block(pos);
		uint64_t n = SFS_BLOCK_SIZE - in_block;
		const uint8_t *src = (const uint8_t *)data + (pos - off);
		uint32_t b = sfs_mkfs_bmap(fs, ino, pos >> SFS_BLOCK_SHIFT);
		int r;

		if (n > end - pos)
			n = end - pos;
		if (!b) {
			if (fs->sparse && all_zero(src, n)) {
				pos += n;
				continue;
			}
			r = map_new_block(fs, ino, pos >> SFS_BLOCK_SHIFT, &b);
			if (r)
				return r;
		}
		memcpy(sfs_mkfs_block(fs, b) + in_block, src, n);
		pos += n;
	}
	return 0;
}

int sfs_mkfs_symlink(struct sfs_mkfs *fs, const char *path, const char *target, uint32_t *ino)
{
	const char *name;
	size_t len, tlen = strlen(target);
	uint32_t dir, child;
	int r;

	if (tlen == 0 || tlen > SFS_SYMLINK_MAX)
		return fail(fs, -EINVAL, "%s: a link target has 1..%u bytes", path,
			    SFS_SYMLINK_MAX);
	r = walk_parent(fs, path, true, &dir, &name, &len);
	if (r)
		return r;
	if (!sfs_valid_name(name, len))
		return fail(fs, -EINVAL, "bad name \"%.*s\" (1..%u bytes, no '/', not . or ..)",
			    (int)len, name, SFS_NAME_MAX);
	if (dir_find(fs, dir, name, len))
		return fail(fs, -EEXIST, "%s exists", path);
	r = alloc_inode(fs, SFS_S_IFLNK, &child);
	if (r)
		return r;
	struct sfs_inode *in = sfs_mkfs_inode(fs, child);
	in->size = tlen;
	bool sparse = fs->sparse;
	fs->sparse = false; /* a target is never a hole */
	r = sfs_mkfs_write(fs, child, 0, target, tlen);
	fs->sparse = sparse;
	if (r) {
		memset(in, 0, sizeof(*in));
		return r;
	}
	r = dir_add(fs, dir, name, len, child);
	if (r)
		return r;
	if (ino)
		*ino = child;
	return 0;
}

int sfs_mkfs_link(struct sfs_mkfs *fs, const char *path, uint32_t ino)
{
	const char *name;
	size_t len;
	uint32_t dir;
	int r;

	if (!sfs_ino_valid(sfs_mkfs_super(fs), ino) ||
	    (sfs_mkfs_inode(fs, ino)->mode != SFS_S_IFREG &&
	     sfs_mkfs_inode(fs, ino)->mode != SFS_S_IFLNK))
		return fail(fs, -EINVAL, "%s: inode %u is not a regular file or link", path, ino);
	r = walk_parent(fs, path, true, &dir, &name, &len);
	if (r)
		return r;
	return dir_add(fs, dir, name, len, ino);
}
