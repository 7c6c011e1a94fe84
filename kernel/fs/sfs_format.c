/*
 * kernel/fs/sfs_format.c - SFS code shared by the kernel and the host tools:
 * the superblock checksum, name rules, and the consistency checker that the
 * kernel runs at mount and fsck_sfs runs on the host. The format itself is
 * described at the top of sfs_format.h.
 *
 * The same file is compiled freestanding into the kernel (memcpy, memset and
 * memcmp from kernel/string.h) and on the host (from <string.h>; hosted
 * compilers define __STDC_HOSTED__, or pass -DSFS_HOST). It allocates
 * nothing and prints nothing: the caller passes a scratch buffer and gets
 * one line of text back.
 *
 * The checker treats the image as hostile. It reads the device only through
 * io->read_block, only blocks below the superblock's nr_blocks (which must
 * fit the device), never writes, and keeps every index inside its buffers.
 * Its passes, each bounded by the geometry:
 *
 *   1. superblock: magic, version, block size, checksum, exact layout that
 *      fits the device (sfs_check_super);
 *   2. inode table: modes, sizes, every block pointer (direct, and down
 *      the single, double and triple indirect trees, depth first) in the
 *      data area, mapped below the size, and owned by one inode once
 *      (owner[] records who; a second claim is an error naming both). An
 *      index block is claimed before it is read, so a loop in a tree or an
 *      index block shared with anything else is a second claim: each index
 *      block is read once, and the walk reads at most nr_blocks blocks. It
 *      needs one buffer per level (buf_ind[0..2]); an index block that maps
 *      nothing is refused; directories have no holes;
 *   3. bitmap: exactly the metadata blocks and the owned blocks are marked,
 *      nothing from nr_blocks on (up to max_blocks, and the tail of the last
 *      bitmap block); free_blocks and free_inodes are exact;
 *   4. tree: breadth-first from the root; each entry has a valid name and
 *      points at an inode in use; a directory is enqueued when it is first
 *      reached, and reaching it again is a loop (it is an ancestor) or a
 *      second parent: so every directory is read once and the walk ends;
 *      names are unique (hashes sorted per directory, equal hashes compared);
 *   5. links: every inode in use was reached, and nlink equals the number
 *      of entries that point at it (the root: 1, its implicit reference).
 *
 * Pass 4 re-reads directory inodes; if the device changed under the check
 * (a block list that no longer matches pass 2), it stops with -SFS_EIO
 * instead of trusting the new data.
 */
#if defined(SFS_HOST) || __STDC_HOSTED__
#include <string.h>
#else
#include "kernel/string.h"
#endif
#include <stdarg.h>

#include "kernel/fs/sfs_format.h"

/* ---- hashes, names ------------------------------------------------------ */

uint32_t sfs_fnv1a32(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

uint32_t sfs_super_checksum(const struct sfs_super *sb)
{
	return sfs_fnv1a32(sb, offsetof(struct sfs_super, checksum));
}

bool sfs_valid_name(const char *name, size_t len)
{
	if (len < 1 || len > SFS_NAME_MAX)
		return false;
	if (name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.')))
		return false;
	for (size_t i = 0; i < len; i++)
		if (name[i] == '/' || name[i] == '\0')
			return false;
	return true;
}

/* ---- a tiny snprintf for the error line --------------------------------- */

struct outbuf {
	char *p;
	size_t len; /* capacity, the NUL included */
	size_t pos;
};

static void out_c(struct outbuf *o, char ch)
{
	if (o->pos + 1 < o->len)
		o->p[o->pos++] = ch;
}

static void out_s(struct outbuf *o, const char *s)
{
	while (*s)
		out_c(o, *s++);
}

static void out_u(struct outbuf *o, unsigned long long v, unsigned base)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n)
		out_c(o, tmp[--n]);
}

/* Supports %s %c %d %u %x with the length modifiers l, ll and z. */
static void out_vfmt(struct outbuf *o, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			out_c(o, *fmt);
			continue;
		}
		int lng = 0;
		fmt++;
		while (*fmt == 'l' || *fmt == 'z') {
			lng = *fmt == 'z' ? 3 : lng + 1;
			fmt++;
		}
		switch (*fmt) {
		case 's':
			out_s(o, va_arg(ap, const char *));
			break;
		case 'c':
			out_c(o, (char)va_arg(ap, int));
			break;
		case 'd': {
			long long v = lng == 0	 ? va_arg(ap, int)
				      : lng == 3 ? (long long)va_arg(ap, ptrdiff_t)
						 : va_arg(ap, long long);
			if (v < 0) {
				out_c(o, '-');
				out_u(o, 0ull - (unsigned long long)v, 10);
			} else {
				out_u(o, (unsigned long long)v, 10);
			}
			break;
		}
		case 'u':
		case 'x': {
			unsigned long long v = lng == 0	  ? va_arg(ap, unsigned)
					       : lng == 3 ? va_arg(ap, size_t)
							  : va_arg(ap, unsigned long long);
			out_u(o, v, *fmt == 'x' ? 16 : 10);
			break;
		}
		case '%':
			out_c(o, '%');
			break;
		default: /* unknown conversion or a lone '%' at the end */
			return;
		}
	}
}

static void __attribute__((format(printf, 3, 4)))
fmt_into(char *buf, size_t len, const char *fmt, ...)
{
	struct outbuf o = { buf, len, 0 };
	va_list ap;

	if (!buf || !len)
		return;
	va_start(ap, fmt);
	out_vfmt(&o, fmt, ap);
	va_end(ap);
	buf[o.pos] = '\0';
}

/* A directory entry name made printable: bytes outside ' '..'~' and '"'
 * and '\\' become \xNN. */
#define NAME_TEXT_MAX (SFS_NAME_MAX * 4 + 1)

static void name_text(char out[NAME_TEXT_MAX], const char *name, size_t len)
{
	size_t n = 0;

	if (len > SFS_NAME_MAX)
		len = SFS_NAME_MAX;
	for (size_t i = 0; i < len; i++) {
		uint8_t ch = (uint8_t)name[i];
		if (ch >= ' ' && ch <= '~' && ch != '"' && ch != '\\') {
			out[n++] = (char)ch;
		} else {
			out[n++] = '\\';
			out[n++] = 'x';
			out[n++] = "0123456789abcdef"[ch >> 4];
			out[n++] = "0123456789abcdef"[ch & 15];
		}
	}
	out[n] = '\0';
}

/* ---- the checker's state ------------------------------------------------ */

/* state[ino]: the inode's type (0 free, SFS_S_IFREG, SFS_S_IFDIR,
 * SFS_S_IFLNK) and, for
 * directories, whether the tree walk has reached it. */
#define ST_TYPE_MASK 0x03
#define ST_REACHED   0x04

/* Budget of name comparisons for names whose hashes are equal, on top of
 * one per entry (a valid file system needs about one per 2^32 pairs of
 * names in a directory): bounds the work on crafted collisions. */
#define NAME_COMPARE_SLACK 4096u

struct scratch_layout {
	size_t owner, state, refs, parent, queue, names, total;
	uint32_t names_cap;
};

static uint64_t div_up(uint64_t n, uint64_t d)
{
	return (n + d - 1) / d;
}

static size_t up8(size_t x)
{
	return (x + 7) & ~(size_t)7;
}

/* Block buffers at the start of the scratch: buf_a, buf_ind[3], buf_dir. */
#define SCRATCH_BUFFERS (2 + SFS_INDEX_LEVELS)

static void scratch_layout(uint32_t nr_blocks, uint32_t nr_inodes, struct scratch_layout *l)
{
	uint64_t cap = (uint64_t)nr_blocks * SFS_DIRENTS_PER_BLOCK;
	size_t off = SCRATCH_BUFFERS * (size_t)SFS_BLOCK_SIZE;

	l->names_cap = (uint32_t)(cap < SFS_MAX_DIRENTS ? cap : SFS_MAX_DIRENTS);
	l->owner = off;
	off += up8((size_t)nr_blocks * 4);
	l->state = off;
	off += up8(nr_inodes);
	l->refs = off;
	off += up8((size_t)nr_inodes * 4);
	l->parent = off;
	off += up8((size_t)nr_inodes * 4);
	l->queue = off;
	off += up8((size_t)nr_inodes * 4);
	l->names = off;
	off += (size_t)l->names_cap * 8;
	l->total = off;
}

size_t sfs_check_scratch_size(uint32_t nr_blocks, uint32_t nr_inodes)
{
	struct scratch_layout l;

	scratch_layout(nr_blocks, nr_inodes, &l);
	return l.total;
}

/* Longest pointer path: "triple indirect[1023] -> double indirect[1023] ->
 * indirect[1023]" (63 characters). */
#define PTR_TEXT_MAX 96

struct chk {
	const struct sfs_io *io;
	struct sfs_super sb;
	char *err;
	size_t errlen;

	uint8_t *buf_a;			    /* inode table, bitmap, name re-reads */
	uint8_t *buf_ind[SFS_INDEX_LEVELS]; /* [h-1]: the index block h levels above
					     * the data on the walk down a tree; a
					     * directory's indirect block: [0] */
	uint8_t *buf_dir;		    /* a directory block */
	uint32_t *owner;		    /* [nr_blocks]: inode that maps the block, 0 none */
	uint8_t *state;			    /* [nr_inodes]: ST_* */
	uint32_t *refs;			    /* [nr_inodes]: entries pointing at the inode */
	uint32_t *parent;		    /* [nr_inodes]: the directory that holds a directory */
	uint32_t *queue;		    /* [nr_inodes]: directories to walk, breadth first */
	uint64_t *names;		    /* [names_cap]: hash << 32 | entry index, one dir */
	uint32_t names_cap;

	uint32_t files, dirs, data_blocks, inodes_used;
	uint64_t compare_budget; /* name comparisons left (check_unique) */
	char what[PTR_TEXT_MAX]; /* a pointer's path for a message: here, not on
				  * the stack of the walk down an index tree */
};

static int __attribute__((format(printf, 3, 4))) fail(struct chk *c, int code, const char *fmt, ...)
{
	struct outbuf o = { c->err, c->errlen, 0 };
	va_list ap;

	if (c->err && c->errlen) {
		va_start(ap, fmt);
		out_vfmt(&o, fmt, ap);
		va_end(ap);
		c->err[o.pos] = '\0';
	}
	return code;
}

static int rd(struct chk *c, uint32_t b, void *buf)
{
	int r;

	if (b >= c->sb.nr_blocks) /* every caller checked: a checker bug */
		return fail(c, -SFS_EINVAL, "internal error: read of block %u past the end", b);
	r = c->io->read_block(c->io->ctx, b, buf);
	if (r != 0)
		return fail(c, -SFS_EIO, "read error %d at block %u", r, b);
	return 0;
}

static const char *type_name(unsigned type)
{
	return type == SFS_S_IFDIR ? "directory" : type == SFS_S_IFLNK ? "symlink" : "file";
}

/* ---- pass 1: the superblock --------------------------------------------- */

static int check_super(struct chk *c, uint64_t dev_blocks)
{
	const struct sfs_super *sb = &c->sb;
	uint64_t bitmap_blocks, table_blocks, table_end, data_blocks;

	if (sb->magic != SFS_MAGIC)
		return fail(c, -SFS_EINVAL,
			    "bad magic 0x%x (expected 0x%x \"SFS1\"): not an SFS image", sb->magic,
			    SFS_MAGIC);
	if (sb->version == 1)
		return fail(c, -SFS_EINVAL,
			    "SFS version 1 image: this kernel and its tools read version %u; "
			    "rebuild the image with tools/mkfs_sfs",
			    SFS_VERSION);
	if (sb->version != SFS_VERSION)
		return fail(c, -SFS_EINVAL, "unsupported version %u (expected %u)", sb->version,
			    SFS_VERSION);
	if (sb->block_size != SFS_BLOCK_SIZE)
		return fail(c, -SFS_EINVAL, "bad block size %u (expected %u)", sb->block_size,
			    SFS_BLOCK_SIZE);
	if (sb->checksum != sfs_super_checksum(sb))
		return fail(c, -SFS_EINVAL, "bad superblock checksum 0x%x (computed 0x%x)",
			    sb->checksum, sfs_super_checksum(sb));
	for (unsigned i = 0; i < 2; i++)
		if (sb->reserved[i])
			return fail(c, -SFS_EINVAL, "superblock: reserved[%u] = 0x%x, expected 0",
				    i, sb->reserved[i]);
	if (sb->root_ino != SFS_ROOT_INO)
		return fail(c, -SFS_EINVAL, "bad root inode number %u (expected %u)", sb->root_ino,
			    SFS_ROOT_INO);

	/* Geometry: fits the device, then the exact layout. */
	if (sb->nr_blocks > dev_blocks)
		return fail(c, -SFS_EINVAL,
			    "file system has %u blocks but the device only %llu: truncated image?",
			    sb->nr_blocks, (unsigned long long)dev_blocks);
	if (sb->max_blocks < sb->nr_blocks)
		return fail(c, -SFS_EINVAL, "max_blocks %u is less than nr_blocks %u",
			    sb->max_blocks, sb->nr_blocks);
	bitmap_blocks = div_up(sb->max_blocks, SFS_BITS_PER_BLOCK);
	if (sb->bitmap_start != 1)
		return fail(c, -SFS_EINVAL,
			    "bitmap_start is %u, expected 1 (right after the superblock)",
			    sb->bitmap_start);
	if (sb->bitmap_blocks != bitmap_blocks)
		return fail(c, -SFS_EINVAL, "bitmap_blocks is %u, expected %llu for max_blocks %u",
			    sb->bitmap_blocks, (unsigned long long)bitmap_blocks, sb->max_blocks);
	if (sb->nr_inodes < 2)
		return fail(c, -SFS_EINVAL,
			    "nr_inodes is %u: need at least 2 (slot 0 and the root)",
			    sb->nr_inodes);
	if (sb->inode_table_start < 1 + bitmap_blocks)
		return fail(c, -SFS_EINVAL,
			    "inode table (start %u) overlaps the bitmap (blocks 1..%llu)",
			    sb->inode_table_start, (unsigned long long)bitmap_blocks);
	if (sb->inode_table_start != 1 + bitmap_blocks)
		return fail(
		    c, -SFS_EINVAL,
		    "inode table starts at block %u, expected %llu (right after the bitmap)",
		    sb->inode_table_start, (unsigned long long)(1 + bitmap_blocks));
	table_blocks = div_up(sb->nr_inodes, SFS_INODES_PER_BLOCK);
	if (sb->inode_table_blocks != table_blocks)
		return fail(c, -SFS_EINVAL, "inode_table_blocks is %u, expected %llu for %u inodes",
			    sb->inode_table_blocks, (unsigned long long)table_blocks,
			    sb->nr_inodes);
	table_end = (uint64_t)sb->inode_table_start + table_blocks;
	if (table_end >= sb->nr_blocks)
		return fail(c, -SFS_EINVAL,
			    "inode table (blocks %u..%llu) leaves no data blocks in %u blocks",
			    sb->inode_table_start, (unsigned long long)(table_end - 1),
			    sb->nr_blocks);
	if (sb->data_start < table_end)
		return fail(c, -SFS_EINVAL,
			    "data area (start %u) overlaps the inode table (blocks %u..%llu)",
			    sb->data_start, sb->inode_table_start,
			    (unsigned long long)(table_end - 1));
	if (sb->data_start != table_end)
		return fail(
		    c, -SFS_EINVAL,
		    "data area starts at block %u, expected %llu (right after the inode table)",
		    sb->data_start, (unsigned long long)table_end);
	data_blocks = sb->nr_blocks - sb->data_start;
	if (sb->free_blocks > data_blocks)
		return fail(c, -SFS_EINVAL, "free_blocks %u is more than the %llu data blocks",
			    sb->free_blocks, (unsigned long long)data_blocks);
	if (sb->free_inodes > sb->nr_inodes - 1)
		return fail(c, -SFS_EINVAL, "free_inodes %u is more than the %u inodes",
			    sb->free_inodes, sb->nr_inodes - 1);
	return 0;
}

int sfs_check_super(const struct sfs_super *sb, uint64_t dev_blocks, char *err, size_t errlen)
{
	struct chk c = { .err = err, .errlen = errlen };

	memcpy(&c.sb, sb, sizeof(c.sb));
	return check_super(&c, dev_blocks);
}

uint32_t sfs_super_grow(struct sfs_super *sb, uint64_t dev_blocks)
{
	uint64_t target = dev_blocks < sb->max_blocks ? dev_blocks : sb->max_blocks;
	uint32_t added;

	if (target <= sb->nr_blocks)
		return 0;
	added = (uint32_t)(target - sb->nr_blocks);
	sb->nr_blocks = (uint32_t)target;
	sb->free_blocks += added;
	sb->checksum = sfs_super_checksum(sb);
	return added;
}

/* ---- pass 2: the inode table -------------------------------------------- */

/*
 * A block pointer's place in an inode, for messages: direct[k] (level 0),
 * the inode's index pointer of level 1..3 (depth 0: "double indirect
 * block"), or an entry down that tree, idx[0..depth-1] ("double
 * indirect[3] -> indirect[17]").
 */
struct ptr_path {
	unsigned level; /* 0 direct, 1 single, 2 double, 3 triple indirect */
	unsigned depth; /* entries followed below the inode's pointer */
	uint32_t idx[SFS_INDEX_LEVELS];
};

static const char *const index_name[] = { "", "indirect", "double indirect", "triple indirect" };

static void ptr_text(char *buf, size_t len, const struct ptr_path *p)
{
	struct outbuf o = { buf, len, 0 };

	if (p->level == 0) {
		fmt_into(buf, len, "direct[%u]", p->idx[0]);
		return;
	}
	if (p->depth == 0) {
		fmt_into(buf, len, "%s block", index_name[p->level]);
		return;
	}
	for (unsigned i = 0; i < p->depth; i++) {
		if (i)
			out_s(&o, " -> ");
		out_s(&o, index_name[p->level - i]);
		out_c(&o, '[');
		out_u(&o, p->idx[i], 10);
		out_c(&o, ']');
	}
	buf[o.pos] = '\0';
}

/* Inode ino maps block b (through the pointer at p): in range, and nobody's
 * yet. Index blocks are claimed too, before they are read. */
static int claim(struct chk *c, uint32_t ino, uint32_t b, const struct ptr_path *p)
{
	if (sfs_data_block_valid(&c->sb, b) && !c->owner[b]) {
		c->owner[b] = ino;
		c->data_blocks++;
		return 0;
	}
	ptr_text(c->what, sizeof(c->what), p);
	if (!sfs_data_block_valid(&c->sb, b))
		return fail(c, -SFS_EINVAL,
			    "inode %u: %s = block %u is out of range (data blocks are %u..%u)", ino,
			    c->what, b, c->sb.data_start, c->sb.nr_blocks - 1);
	if (c->owner[b] == ino)
		return fail(c, -SFS_EINVAL, "block %u is used twice by inode %u (again as %s)", b,
			    ino, c->what);
	return fail(c, -SFS_EINVAL, "block %u is used twice: by inode %u and by inode %u (%s)", b,
		    c->owner[b], ino, c->what);
}

/* The inode at hand in pass 2. */
struct inode_walk {
	uint32_t ino;
	const struct sfs_inode *in;
	uint64_t nblocks; /* logical blocks its size spans */
};

static int check_index(struct chk *c, const struct inode_walk *w, uint32_t b, unsigned height,
		       uint64_t first, struct ptr_path *p);

/*
 * One block pointer b: a data block (height 0) or an index block `height`
 * levels above the data, whose first logical block is `first`. Holes are
 * fine in files, not in directories; nothing maps at or past the end.
 */
static int check_ptr(struct chk *c, const struct inode_walk *w, uint32_t b, unsigned height,
		     uint64_t first, struct ptr_path *p)
{
	if (b == 0) {
		if (w->in->mode == SFS_S_IFDIR && first < w->nblocks)
			return fail(c, -SFS_EINVAL, "directory inode %u has a hole at block %llu",
				    w->ino, (unsigned long long)first);
		return 0;
	}
	if (first >= w->nblocks) {
		ptr_text(c->what, sizeof(c->what), p);
		if (p->depth == 0 && p->level > 0)
			return fail(c, -SFS_EINVAL, "inode %u: %s %u, but its size %llu needs none",
				    w->ino, c->what, b, (unsigned long long)w->in->size);
		return fail(c, -SFS_EINVAL,
			    "inode %u: %s = block %u maps past the end of the file (size %llu)",
			    w->ino, c->what, b, (unsigned long long)w->in->size);
	}
	int r = claim(c, w->ino, b, p);
	if (r || height == 0)
		return r;
	return check_index(c, w, b, height, first, p);
}

/* The index block b (already claimed): read it into its level's buffer and
 * check its 1024 entries, each the root of a subtree one level lower. */
static int check_index(struct chk *c, const struct inode_walk *w, uint32_t b, unsigned height,
		       uint64_t first, struct ptr_path *p)
{
	uint8_t *buf = c->buf_ind[height - 1];
	uint64_t span = sfs_entry_span(height);
	unsigned depth = p->depth;
	uint32_t mapped = 0;
	int r;

	r = rd(c, b, buf);
	if (r)
		return r;
	p->depth = depth + 1;
	for (uint32_t j = 0; j < SFS_PTRS_PER_BLOCK; j++) {
		uint32_t e = sfs_get_le32(buf + 4 * j);

		p->idx[depth] = j;
		r = check_ptr(c, w, e, height - 1, first + j * span, p);
		if (r)
			return r;
		mapped += e != 0;
	}
	p->depth = depth;
	if (mapped == 0) {
		ptr_text(c->what, sizeof(c->what), p);
		return fail(c, -SFS_EINVAL,
			    "inode %u: %s = block %u is an empty index block (it maps no block)",
			    w->ino, c->what, b);
	}
	return 0;
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static int check_inode(struct chk *c, uint32_t ino, const struct sfs_inode *in)
{
	struct inode_walk w = { ino, in, 0 };
	struct ptr_path p;
	uint64_t max_size;
	int r;

	if (ino == 0 || ino >= c->sb.nr_inodes) {
		if (!all_zero(in, sizeof(*in)))
			return fail(c, -SFS_EINVAL,
				    "inode table slot %u is not a valid inode (1..%u) "
				    "but is not zero",
				    ino, c->sb.nr_inodes - 1);
		return 0;
	}
	if (in->mode == 0) {
		if (!all_zero(in, sizeof(*in)))
			return fail(c, -SFS_EINVAL, "free inode %u is not zeroed", ino);
		return 0;
	}
	if (in->mode != SFS_S_IFREG && in->mode != SFS_S_IFDIR && in->mode != SFS_S_IFLNK)
		return fail(c, -SFS_EINVAL,
			    "inode %u: bad mode %u (expected 1 file, 2 directory or 3 symlink)",
			    ino, in->mode);
	if (in->mode == SFS_S_IFLNK && (in->size == 0 || in->size > SFS_SYMLINK_MAX))
		return fail(c, -SFS_EINVAL, "symlink inode %u: size %llu is not 1..%u", ino,
			    (unsigned long long)in->size, SFS_SYMLINK_MAX);
	if (in->nlink == 0)
		return fail(c, -SFS_EINVAL, "inode %u: in use with nlink 0", ino);
	if (in->size > SFS_MAX_FILE_SIZE)
		return fail(c, -SFS_EINVAL,
			    "inode %u: size %llu is past the maximum file size %llu", ino,
			    (unsigned long long)in->size, (unsigned long long)SFS_MAX_FILE_SIZE);
	if (in->mode == SFS_S_IFDIR) {
		if (in->size % SFS_DIRENT_SIZE)
			return fail(c, -SFS_EINVAL,
				    "directory inode %u: size %llu is not a multiple of %u", ino,
				    (unsigned long long)in->size, SFS_DIRENT_SIZE);
		max_size = SFS_MAX_DIR_SIZE;
		if (in->size > max_size)
			return fail(c, -SFS_EINVAL,
				    "directory inode %u: size %llu is past the maximum directory "
				    "size %llu",
				    ino, (unsigned long long)in->size,
				    (unsigned long long)max_size);
	}

	w.nblocks = sfs_size_blocks(in->size);
	p.level = 0;
	p.depth = 0;
	for (uint32_t k = 0; k < SFS_NDIRECT; k++) {
		p.idx[0] = k;
		r = check_ptr(c, &w, in->direct[k], 0, k, &p);
		if (r)
			return r;
	}
	for (unsigned level = 1; level <= SFS_INDEX_LEVELS; level++) {
		p.level = level;
		p.depth = 0;
		r = check_ptr(c, &w, sfs_inode_index(in, level), level, sfs_level_first(level), &p);
		if (r)
			return r;
	}

	c->state[ino] = (uint8_t)in->mode;
	c->inodes_used++;
	if (in->mode == SFS_S_IFDIR)
		c->dirs++;
	else
		c->files++;
	return 0;
}

static int check_inodes(struct chk *c)
{
	struct sfs_inode in;
	int r;

	for (uint32_t t = 0; t < c->sb.inode_table_blocks; t++) {
		r = rd(c, c->sb.inode_table_start + t, c->buf_a);
		if (r)
			return r;
		for (uint32_t s = 0; s < SFS_INODES_PER_BLOCK; s++) {
			memcpy(&in, c->buf_a + s * SFS_INODE_SIZE, sizeof(in));
			r = check_inode(c, t * SFS_INODES_PER_BLOCK + s, &in);
			if (r)
				return r;
		}
	}
	return 0;
}

/* ---- pass 3: the bitmap and the free counts ----------------------------- */

/* The first bit set in the bitmap block buf at or after bit from, or
 * SFS_BITS_PER_BLOCK if none: byte by byte, so a bitmap sized for a large
 * max_blocks is checked quickly. */
static uint32_t first_set_bit(const uint8_t *buf, uint32_t from)
{
	uint32_t n = from;

	for (; n < SFS_BITS_PER_BLOCK && (n & 7); n++)
		if (sfs_bit_test(buf, n))
			return n;
	for (; n < SFS_BITS_PER_BLOCK; n += 8) {
		if (!buf[n >> 3])
			continue;
		while (!sfs_bit_test(buf, n))
			n++;
		return n;
	}
	return SFS_BITS_PER_BLOCK;
}

static int check_bitmap(struct chk *c)
{
	const struct sfs_super *sb = &c->sb;
	uint32_t used = sb->data_start + c->data_blocks;
	uint32_t free_inodes = sb->nr_inodes - 1 - c->inodes_used;
	int r;

	for (uint32_t i = 0; i < sb->bitmap_blocks; i++) {
		uint64_t base = (uint64_t)i * SFS_BITS_PER_BLOCK;
		/* Bits [0, in_range) are blocks of the file system; the rest
		 * (blocks nr_blocks .. max_blocks and the tail) must be zero. */
		uint32_t in_range = base >= sb->nr_blocks ? 0
				    : sb->nr_blocks - base < SFS_BITS_PER_BLOCK
					? (uint32_t)(sb->nr_blocks - base)
					: SFS_BITS_PER_BLOCK;
		uint32_t set;

		r = rd(c, sb->bitmap_start + i, c->buf_a);
		if (r)
			return r;
		set = first_set_bit(c->buf_a, in_range);
		if (set < SFS_BITS_PER_BLOCK)
			return fail(c, -SFS_EINVAL,
				    "bitmap: bit of block %llu (past the last block %u) is set",
				    (unsigned long long)(base + set), sb->nr_blocks - 1);
		for (uint32_t n = 0; n < in_range; n++) {
			bool marked = sfs_bit_test(c->buf_a, n);
			uint32_t b = (uint32_t)(base + n);
			if (b < sb->data_start) {
				if (!marked)
					return fail(c, -SFS_EINVAL,
						    "bitmap: metadata block %u is marked free", b);
			} else if (c->owner[b] && !marked) {
				return fail(
				    c, -SFS_EINVAL,
				    "block %u is used by inode %u but marked free in the bitmap", b,
				    c->owner[b]);
			} else if (!c->owner[b] && marked) {
				return fail(
				    c, -SFS_EINVAL,
				    "block %u is marked used in the bitmap but no inode uses it "
				    "(leaked)",
				    b);
			}
		}
	}
	if (sb->free_blocks != sb->nr_blocks - used)
		return fail(c, -SFS_EINVAL, "superblock says %u free blocks, but %u are free",
			    sb->free_blocks, sb->nr_blocks - used);
	if (sb->free_inodes != free_inodes)
		return fail(c, -SFS_EINVAL, "superblock says %u free inodes, but %u are free",
			    sb->free_inodes, free_inodes);
	return 0;
}

/* ---- pass 4: the directory tree ----------------------------------------- */

/* Sorts a[0..n) ascending, in place, without recursion (heapsort). */
static void sort_u64(uint64_t *a, uint32_t n)
{
	for (uint32_t end = n, start = n / 2;;) {
		uint32_t root;
		uint64_t t;

		if (start > 0) {
			start--;
		} else {
			if (end <= 1)
				return;
			end--;
			t = a[0];
			a[0] = a[end];
			a[end] = t;
		}
		root = start;
		for (;;) {
			uint64_t child = 2 * (uint64_t)root + 1;
			if (child >= end)
				break;
			if (child + 1 < end && a[child + 1] > a[child])
				child++;
			if (a[root] >= a[child])
				break;
			t = a[root];
			a[root] = a[child];
			a[child] = t;
			root = (uint32_t)child;
		}
	}
}

/*
 * The directory being walked: its inode (re-read and matched against pass
 * 2) and the block of each logical block. buf_ind[0] holds its indirect
 * block (directories have no deeper levels).
 */
struct dir_walk {
	uint32_t ino;
	struct sfs_inode in;
	uint32_t nblocks;
	uint32_t nentries;
};

static int changed(struct chk *c, uint32_t ino)
{
	return fail(c, -SFS_EIO, "inode %u changed on the device during the check", ino);
}

/* Block of logical block lbn of the directory (non-zero, owned by it). */
static int dir_block(struct chk *c, const struct dir_walk *w, uint32_t lbn, uint32_t *out)
{
	uint32_t b;

	if (lbn < SFS_NDIRECT)
		b = w->in.direct[lbn];
	else
		b = sfs_get_le32(c->buf_ind[0] + 4 * (lbn - SFS_NDIRECT));
	if (b >= c->sb.nr_blocks || c->owner[b] != w->ino)
		return changed(c, w->ino);
	*out = b;
	return 0;
}

static int dir_open(struct chk *c, uint32_t ino, struct dir_walk *w)
{
	int r;

	w->ino = ino;
	r = rd(c, sfs_inode_block(&c->sb, ino), c->buf_a);
	if (r)
		return r;
	memcpy(&w->in, c->buf_a + sfs_inode_offset(ino), sizeof(w->in));
	if (w->in.mode != SFS_S_IFDIR || w->in.size > SFS_MAX_DIR_SIZE ||
	    w->in.size % SFS_DIRENT_SIZE)
		return changed(c, ino);
	w->nblocks = (uint32_t)sfs_size_blocks(w->in.size);
	w->nentries = (uint32_t)(w->in.size / SFS_DIRENT_SIZE);
	if (w->nblocks > SFS_NDIRECT) {
		if (w->in.indirect >= c->sb.nr_blocks || c->owner[w->in.indirect] != ino)
			return changed(c, ino);
		r = rd(c, w->in.indirect, c->buf_ind[0]);
	}
	return r;
}

/* Is directory anc an ancestor of directory d (or d itself)? */
static bool is_ancestor(struct chk *c, uint32_t anc, uint32_t d)
{
	/* parent[] links form a tree rooted at the root (each directory got
	 * its parent once, when it was enqueued); the bound is for safety. */
	for (uint32_t steps = 0; steps < c->sb.nr_inodes; steps++) {
		if (d == anc)
			return true;
		if (d == SFS_ROOT_INO || d == 0 || d >= c->sb.nr_inodes)
			return false;
		d = c->parent[d];
	}
	return false;
}

/* One used entry, index idx, of directory w. */
static int check_dirent(struct chk *c, const struct dir_walk *w, uint32_t idx,
			const struct sfs_dirent *de, uint32_t *tail)
{
	char name[NAME_TEXT_MAX];
	uint32_t ino = de->ino;
	unsigned type;

	name_text(name, de->name, de->name_len);
	if (de->name_len < 1 || de->name_len > SFS_NAME_MAX)
		return fail(c, -SFS_EINVAL,
			    "directory %u, entry %u: name length %u is not in 1..%u", w->ino, idx,
			    de->name_len, SFS_NAME_MAX);
	if (!sfs_valid_name(de->name, de->name_len))
		return fail(c, -SFS_EINVAL,
			    "directory %u, entry %u: bad name \"%s\" (no '/', no NUL, not . or ..)",
			    w->ino, idx, name);
	if (ino >= c->sb.nr_inodes)
		return fail(c, -SFS_EINVAL,
			    "directory %u: entry \"%s\" points to inode %u, out of range (1..%u)",
			    w->ino, name, ino, c->sb.nr_inodes - 1);
	type = c->state[ino] & ST_TYPE_MASK;
	if (type == 0)
		return fail(c, -SFS_EINVAL, "directory %u: entry \"%s\" points to free inode %u",
			    w->ino, name, ino);
	if (c->refs[ino] < 0x10000) /* more than any nlink: saturate */
		c->refs[ino]++;

	if (type == SFS_S_IFDIR) {
		if (ino == SFS_ROOT_INO)
			return fail(
			    c, -SFS_EINVAL,
			    "directory loop: entry \"%s\" in directory %u points to the root", name,
			    w->ino);
		if (c->state[ino] & ST_REACHED) {
			if (ino == w->ino)
				return fail(
				    c, -SFS_EINVAL,
				    "directory loop: entry \"%s\" in directory %u points to "
				    "itself",
				    name, ino);
			if (c->parent[ino] == w->ino)
				return fail(
				    c, -SFS_EINVAL,
				    "directory %u appears twice in directory %u (entry \"%s\")",
				    ino, w->ino, name);
			if (is_ancestor(c, ino, w->ino))
				return fail(
				    c, -SFS_EINVAL,
				    "directory loop: entry \"%s\" in directory %u points to "
				    "directory %u, which contains it",
				    name, w->ino, ino);
			return fail(c, -SFS_EINVAL,
				    "directory %u has two parents: directories %u and %u "
				    "(entry \"%s\")",
				    ino, c->parent[ino], w->ino, name);
		}
		if (*tail >= c->sb.nr_inodes) /* cannot happen: one slot per directory */
			return fail(c, -SFS_EINVAL, "internal error: directory queue full");
		c->state[ino] |= ST_REACHED;
		c->parent[ino] = w->ino;
		c->queue[(*tail)++] = ino;
	}
	return 0;
}

/* Reads entry idx of directory w into *de (through buf_a). */
static int read_entry(struct chk *c, const struct dir_walk *w, uint32_t idx, struct sfs_dirent *de)
{
	uint32_t b = 0;
	int r = dir_block(c, w, idx / SFS_DIRENTS_PER_BLOCK, &b);

	if (!r)
		r = rd(c, b, c->buf_a);
	if (!r)
		memcpy(de, c->buf_a + (idx % SFS_DIRENTS_PER_BLOCK) * SFS_DIRENT_SIZE, sizeof(*de));
	return r;
}

/* Names of the directory are unique: c->names[0..n) holds hash << 32 | index. */
static int check_unique(struct chk *c, const struct dir_walk *w, uint32_t n)
{
	struct sfs_dirent a, b;
	int r;

	c->compare_budget += n;
	sort_u64(c->names, n);
	for (uint32_t i = 0; i + 1 < n; i++) {
		for (uint32_t j = i + 1; j < n && c->names[j] >> 32 == c->names[i] >> 32; j++) {
			if (c->compare_budget == 0)
				return fail(c, -SFS_EINVAL,
					    "directory %u: too many names with the same hash",
					    w->ino);
			c->compare_budget--;
			r = read_entry(c, w, (uint32_t)c->names[i], &a);
			if (!r)
				r = read_entry(c, w, (uint32_t)c->names[j], &b);
			if (r)
				return r;
			if (a.name_len == b.name_len && a.name_len <= SFS_NAME_MAX &&
			    memcmp(a.name, b.name, a.name_len) == 0) {
				char name[NAME_TEXT_MAX];
				name_text(name, a.name, a.name_len);
				return fail(
				    c, -SFS_EINVAL,
				    "directory %u: duplicate name \"%s\" (entries %u and %u)",
				    w->ino, name, (uint32_t)c->names[i], (uint32_t)c->names[j]);
			}
		}
	}
	return 0;
}

static int walk_dir(struct chk *c, uint32_t ino, uint32_t *tail)
{
	struct dir_walk w;
	struct sfs_dirent de;
	uint32_t n = 0;
	int r = dir_open(c, ino, &w);

	for (uint32_t lbn = 0; !r && lbn < w.nblocks; lbn++) {
		uint32_t b = 0;

		r = dir_block(c, &w, lbn, &b);
		if (!r)
			r = rd(c, b, c->buf_dir);
		for (uint32_t e = 0; !r && e < SFS_DIRENTS_PER_BLOCK; e++) {
			uint32_t idx = lbn * SFS_DIRENTS_PER_BLOCK + e;

			if (idx >= w.nentries)
				break;
			memcpy(&de, c->buf_dir + e * SFS_DIRENT_SIZE, sizeof(de));
			if (de.ino == 0)
				continue;
			r = check_dirent(c, &w, idx, &de, tail);
			if (r)
				break;
			if (n >= c->names_cap) /* cannot happen: entries <= 64 * blocks */
				return fail(c, -SFS_EINVAL, "internal error: name table full");
			c->names[n++] = (uint64_t)sfs_fnv1a32(de.name, de.name_len) << 32 | idx;
		}
	}
	if (!r)
		r = check_unique(c, &w, n);
	return r;
}

static int check_tree(struct chk *c)
{
	uint32_t head = 0, tail = 0;
	unsigned root_type = c->state[SFS_ROOT_INO] & ST_TYPE_MASK;
	int r;

	if (root_type == 0)
		return fail(c, -SFS_EINVAL, "root inode %u is free", SFS_ROOT_INO);
	if (root_type != SFS_S_IFDIR)
		return fail(c, -SFS_EINVAL, "root inode %u is not a directory", SFS_ROOT_INO);
	c->state[SFS_ROOT_INO] |= ST_REACHED;
	c->refs[SFS_ROOT_INO] = 1; /* the mount */
	c->parent[SFS_ROOT_INO] = 0;
	c->queue[tail++] = SFS_ROOT_INO;
	while (head < tail) {
		r = walk_dir(c, c->queue[head++], &tail);
		if (r)
			return r;
	}
	return 0;
}

/* ---- pass 5: link counts and reachability ------------------------------- */

static int check_links(struct chk *c)
{
	struct sfs_inode in;
	int r;

	for (uint32_t t = 0; t < c->sb.inode_table_blocks; t++) {
		r = rd(c, c->sb.inode_table_start + t, c->buf_a);
		if (r)
			return r;
		for (uint32_t s = 0; s < SFS_INODES_PER_BLOCK; s++) {
			uint32_t ino = t * SFS_INODES_PER_BLOCK + s;
			unsigned type;

			if (ino == 0 || ino >= c->sb.nr_inodes)
				continue;
			type = c->state[ino] & ST_TYPE_MASK;
			if (type == 0)
				continue;
			memcpy(&in, c->buf_a + s * SFS_INODE_SIZE, sizeof(in));
			if (in.mode != type)
				return changed(c, ino);
			if (c->refs[ino] == 0)
				return fail(
				    c, -SFS_EINVAL,
				    "inode %u (%s) is in use but not reachable from the root%s",
				    ino, type_name(type),
				    type == SFS_S_IFDIR ? " (cut off, or in a loop of its own)"
							: "");
			if (ino == SFS_ROOT_INO && in.nlink != 1)
				return fail(c, -SFS_EINVAL,
					    "root inode %u: nlink is %u, expected 1", ino,
					    in.nlink);
			if (c->refs[ino] != in.nlink)
				return fail(
				    c, -SFS_EINVAL,
				    "inode %u (%s): nlink is %u but %u directory entries point "
				    "to it",
				    ino, type_name(type), in.nlink, c->refs[ino]);
		}
	}
	return 0;
}

/* ---- the whole check ---------------------------------------------------- */

int sfs_check_full(const struct sfs_io *io, struct sfs_check_stats *stats, char *err, size_t errlen)
{
	struct chk c = { .io = io, .err = err, .errlen = errlen };
	struct scratch_layout l;
	uint8_t *s;
	int r;

	if (err && errlen)
		err[0] = '\0';
	if (!io || !io->read_block)
		return fail(&c, -SFS_EINVAL, "no device to check");
	s = io->scratch;
	if (!s || io->scratch_size < SFS_BLOCK_SIZE || ((uintptr_t)s & 7))
		return fail(&c, -SFS_ENOMEM, "scratch buffer too small or not 8-byte aligned");
	if (io->nr_blocks_on_device < 1)
		return fail(&c, -SFS_EINVAL, "device too small: no room for a superblock");

	/* Block 0 goes to where buf_a will be; sb is a copy. */
	c.sb.nr_blocks = 1;
	r = rd(&c, 0, s);
	if (r)
		return r;
	memcpy(&c.sb, s, sizeof(c.sb));
	r = check_super(&c, io->nr_blocks_on_device);
	if (r)
		return r;

	scratch_layout(c.sb.nr_blocks, c.sb.nr_inodes, &l);
	if (io->scratch_size < l.total)
		return fail(&c, -SFS_ENOMEM, "scratch buffer too small: %zu bytes, need %zu",
			    io->scratch_size, l.total);
	c.buf_a = s;
	for (unsigned i = 0; i < SFS_INDEX_LEVELS; i++)
		c.buf_ind[i] = s + (1 + i) * SFS_BLOCK_SIZE;
	c.buf_dir = s + (1 + SFS_INDEX_LEVELS) * SFS_BLOCK_SIZE;
	c.owner = (uint32_t *)(void *)(s + l.owner);
	c.state = s + l.state;
	c.refs = (uint32_t *)(void *)(s + l.refs);
	c.parent = (uint32_t *)(void *)(s + l.parent);
	c.queue = (uint32_t *)(void *)(s + l.queue);
	c.names = (uint64_t *)(void *)(s + l.names);
	c.names_cap = l.names_cap;
	memset(s + l.owner, 0, l.names - l.owner); /* owner, state, refs, parent, queue */
	c.compare_budget = NAME_COMPARE_SLACK;

	r = check_inodes(&c);
	if (!r)
		r = check_bitmap(&c);
	if (!r)
		r = check_tree(&c);
	if (!r)
		r = check_links(&c);
	if (r)
		return r;

	if (stats) {
		stats->files = c.files;
		stats->dirs = c.dirs;
		stats->data_blocks = c.data_blocks;
		stats->blocks_used = c.sb.data_start + c.data_blocks;
		stats->free_blocks = c.sb.free_blocks;
		stats->free_inodes = c.sb.free_inodes;
	}
	return 0;
}

int sfs_check(const struct sfs_io *io, char *err, size_t errlen)
{
	return sfs_check_full(io, NULL, err, errlen);
}
