/*
 * tests/test_sfs.c - SFS with files of any size (format version 2: double
 * and triple indirect blocks, kernel/fs/sfs_format.h), the page cache's
 * radix tree at any offset, and a RAM disk grown to its size at mount.
 *
 *   large_sparse_file: a 1 GiB sparse file written at both ends takes a
 *       handful of blocks; mapped shared, dirtied through the mapping on
 *       every CPU at once (pages at the level boundaries, each page by
 *       every CPU), msync'd, dropped from the cache and read back; truncated
 *       to a few blocks and back up (zeros, no block for it); fsck clean and
 *       the free-block count back to where it was.
 *   level_boundaries: one block on each side of every level boundary
 *       (logical blocks 11/12, 1035/1036, 2059/2060, 1049611/1049612, ...,
 *       the last one): exactly the data and index blocks they need, read
 *       back, neighbours are holes; truncated down through each boundary,
 *       every index block that empties is freed (fsck clean each time).
 *   lseek_past_4g: lseek, read and write at offsets past 4 GiB and up to the
 *       largest file; beyond it -EINVAL / -EFBIG.
 *   odirect_high_offsets: O_DIRECT writes and reads past 4 GiB and at the
 *       end of the triple indirect tree agree with the cache.
 *   model_all_levels: random reads, writes, truncates, mapped writes,
 *       writeback and cache drops against a model, in windows that straddle
 *       every level boundary of the block map; fsck clean along the way.
 *   full_disk_keeps_trees_whole: with too few blocks left for a write that
 *       needs new index blocks, the write fails with ENOSPC and leaves no
 *       empty index block; with just enough it takes exactly that many.
 *   grown_to_the_disk: the file system spans its RAM disk (up to
 *       max_blocks): grown at mount when ramdisk.size= was given.
 *   check_scratch_mapped: the checker's scratch in pages mapped in the
 *       vmalloc area (what a disk of more than ~1M blocks needs) works too.
 */
#include "tests/ktest_mm.h"
#include "tests/ktest_fs.h"
#include "kernel/fs/fs.h"
#include "kernel/string.h"
#include "kernel/printk.h"
#include "kernel/smp.h"
#include "kernel/percpu.h"
#include "drivers/ramdisk.h"
#include "mm/filemap.h"
#include "arch/x86_64/asm.h"
#include "arch/x86_64/uaccess.h"

#define GIB (1ull << 30)

/* Free blocks once everything is written back (blocks are allocated at
 * writeback). */
static uint32_t free_blocks(void)
{
	struct sfs_super s;
	writeback_all();
	fs_statfs(&s);
	return s.free_blocks;
}

static void expect_clean(struct ktest *t, int line)
{
	char err[160] = "";
	int r = fs_sync_and_check(err, sizeof(err));
	if (r)
		ktest_fail(t, __FILE__, line, "fsck: %s (%d)", err, r);
}
#define EXPECT_CLEAN(t) expect_clean(t, __LINE__)

static struct file *create(struct ktest *t, const char *path, int flags)
{
	struct file *f;
	vfs_unlink(path);
	int r = vfs_open(path, O_RDWR | O_CREAT | flags, &f);
	if (r) {
		ktest_fail(t, __FILE__, __LINE__, "open %s: %d", path, r);
		return NULL;
	}
	return f;
}

/*
 * The blocks a file whose data blocks are exactly lbns[0..n) (distinct)
 * uses: those, and the index blocks on the way (sfs_bmap_path): the single
 * indirect block, the double one and an indirect block per distinct first
 * index under it, the triple one, a double per distinct first index, an
 * indirect block per distinct pair.
 */
static uint64_t blocks_for(const uint64_t *lbns, int n)
{
	uint64_t total = (uint64_t)n;
	bool level_used[4] = { false };
	for (int i = 0; i < n; i++) {
		uint32_t p[3] = { 0 }, q[3] = { 0 };
		int l = sfs_bmap_path(lbns[i], p);
		level_used[l] = true;
		bool new1 = true, new2 = true;
		for (int k = 0; k < i; k++) {
			if (sfs_bmap_path(lbns[k], q) != l || l < 2)
				continue;
			if (q[0] == p[0])
				new1 = false;
			if (l == 3 && q[0] == p[0] && q[1] == p[1])
				new2 = false;
		}
		if (l >= 2 && new1)
			total++; /* an indirect (l 2) or double indirect (l 3) block */
		if (l == 3 && new2)
			total++; /* an indirect block under that double one */
	}
	for (int l = 1; l <= 3; l++)
		total += level_used[l];
	return total;
}

/* ---- a 1 GiB sparse file, mapped on every CPU ----------------------------- */

/* Pages the CPUs dirty through the mapping: level boundaries of the block
 * map and a few in the middle; each CPU writes 8 bytes at 2048 + 8 * cpu
 * of every one, so every page is dirtied from several CPUs. */
static const uint64_t large_pages[] = { 0,    11,    12,     1035,   1036,  2059,
					2060, 65536, 131071, 200000, 262143 };
#define NR_LARGE_PAGES (sizeof(large_pages) / sizeof(large_pages[0]))

static uint64_t large_magic(int cpu, uint64_t page)
{
	return 0x5f5000000000ull ^ ((uint64_t)cpu << 40) ^ page;
}

struct large_run {
	struct mm *mm;
	uint64_t addr;
	int cpu;
	int errors;
	struct completion done;
};

static void large_writer(void *arg)
{
	struct large_run *r = arg;
	for (size_t i = 0; i < NR_LARGE_PAGES; i++) {
		uint64_t off = large_pages[i] * PAGE_SIZE + 2048 + 8 * (uint64_t)r->cpu;
		if (put_user_u64(r->addr + off, large_magic(r->cpu, large_pages[i])))
			r->errors++;
	}
}

static void large_writer_entry(void *arg)
{
	struct large_run *r = arg;
	ktest_run_in_mm(r->mm, r->cpu, large_writer, r);
	complete(&r->done);
}

static const char large_head[] = "the head of a sparse 1 GiB file";
static const char large_tail[] = "and its tail, 1 GiB further";

static void large_sparse_file(struct ktest *t)
{
	REQUIRE_FS(t);
	vfs_unlink("/large.dat");
	uint32_t free0 = free_blocks();
	struct file *f = create(t, "/large.dat", 0);
	KASSERT_NOT_NULL(t, f);
	KASSERT_EQ(t, vfs_truncate(f, GIB), 0);
	KEXPECT_EQ(t, vfs_size(f), GIB);
	KEXPECT_EQ(t, free_blocks(), free0); /* a hole of 1 GiB: no block */
	uint64_t tail_pos = GIB - sizeof(large_tail);
	KASSERT_EQ(t, vfs_pwrite(f, large_head, sizeof(large_head), 0), sizeof(large_head));
	KASSERT_EQ(t, vfs_pwrite(f, large_tail, sizeof(large_tail), tail_pos), sizeof(large_tail));
	/* 2 data blocks, the last one under the double indirect block and
	 * one indirect block: a handful. */
	uint64_t ends[] = { 0, GIB / PAGE_SIZE - 1 };
	KEXPECT_EQ(t, free0 - free_blocks(), blocks_for(ends, 2));
	ktest_log(t, "1 GiB, written at both ends: %u blocks", free0 - free_blocks());

	/* Mapped shared, whole, and dirtied from every CPU at once. */
	struct mm *mm = mm_alloc();
	KASSERT_NOT_NULL(t, mm);
	int64_t a = vfs_mmap(mm, f, 0, GIB, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	KASSERT_GE(t, a, 0);
	static struct large_run runs[NR_CPUS];
	int ncpu = MIN(nr_cpus_online, NR_CPUS);
	for (int c = 0; c < ncpu; c++) {
		runs[c] = (struct large_run){ .mm = mm, .addr = (uint64_t)a, .cpu = c };
		init_completion(&runs[c].done);
		KASSERT_NOT_NULL(t, thread_create("large", large_writer_entry, &runs[c], c));
	}
	for (int c = 0; c < ncpu; c++) {
		wait_for_completion(&runs[c].done);
		KEXPECT_EQ(t, runs[c].errors, 0);
	}
	KEXPECT_EQ(t, vm_msync(mm, (uint64_t)a, GIB, MS_SYNC), 0);
	KEXPECT_EQ(t, vm_munmap(mm, (uint64_t)a, GIB), 0);
	mmput(mm);
	/* Dropped from the cache: every page was written back. */
	vfs_fadvise_dontneed(f, 0, 0);
	KEXPECT_EQ(t, f->inode->mapping.nrpages, 0);
	KEXPECT_EQ(t, f->inode->mapping.i_pages.nodes, 0);

	/* Read back from the disk. */
	char buf[64];
	KEXPECT_EQ(t, vfs_pread(f, buf, sizeof(large_head), 0), sizeof(large_head));
	KEXPECT_EQ(t, memcmp(buf, large_head, sizeof(large_head)), 0);
	KEXPECT_EQ(t, vfs_pread(f, buf, sizeof(large_tail), tail_pos), sizeof(large_tail));
	KEXPECT_EQ(t, memcmp(buf, large_tail, sizeof(large_tail)), 0);
	int bad = 0;
	for (size_t i = 0; i < NR_LARGE_PAGES; i++) {
		for (int c = 0; c < ncpu; c++) {
			uint64_t v = 0, off = large_pages[i] * PAGE_SIZE + 2048 + 8 * (uint64_t)c;
			if (vfs_pread(f, &v, 8, off) != 8 || v != large_magic(c, large_pages[i])) {
				if (bad++ < 4)
					ktest_fail(t, __FILE__, __LINE__,
						   "page %lu, cpu %d: %#lx, expected %#lx",
						   large_pages[i], c, v,
						   large_magic(c, large_pages[i]));
			}
		}
		uint64_t v = 1; /* the rest of the page is still zeros */
		KEXPECT_EQ(t, vfs_pread(f, &v, 8, large_pages[i] * PAGE_SIZE + 1024), 8);
		KEXPECT_EQ(t, v, 0);
	}
	uint64_t v = 1; /* a hole between */
	KEXPECT_EQ(t, vfs_pread(f, &v, 8, GIB / 2 + 12345), 8);
	KEXPECT_EQ(t, v, 0);
	KEXPECT_EQ(t, free0 - free_blocks(), blocks_for(large_pages, NR_LARGE_PAGES));
	EXPECT_CLEAN(t);

	/* Down to a few blocks (into the hole of page 3: no block for its
	 * tail), and back up: zeros, and no block for them either. */
	uint64_t small = 3 * PAGE_SIZE + 100;
	KEXPECT_EQ(t, vfs_truncate(f, small), 0);
	KEXPECT_EQ(t, free0 - free_blocks(), 1); /* page 0 only */
	EXPECT_CLEAN(t);
	KEXPECT_EQ(t, vfs_truncate(f, GIB), 0);
	KEXPECT_EQ(t, free0 - free_blocks(), 1);
	v = 1;
	KEXPECT_EQ(t, vfs_pread(f, &v, 8, tail_pos), 8);
	KEXPECT_EQ(t, v, 0);
	v = 1;
	KEXPECT_EQ(t, vfs_pread(f, &v, 8, 1036 * PAGE_SIZE + 2048), 8);
	KEXPECT_EQ(t, v, 0);
	KEXPECT_EQ(t, vfs_pread(f, buf, sizeof(large_head), 0), sizeof(large_head));
	KEXPECT_EQ(t, memcmp(buf, large_head, sizeof(large_head)), 0);
	EXPECT_CLEAN(t);
	vfs_close(f);
	KEXPECT_EQ(t, vfs_unlink("/large.dat"), 0);
	KEXPECT_EQ(t, free_blocks(), free0);
	EXPECT_CLEAN(t);
}

/* ---- both sides of every level boundary ----------------------------------- */

static const uint64_t boundary_lbns[] = {
	0,
	11,
	12,
	1035,
	1036,
	2059,
	2060,
	SFS_IND3_FIRST - 1,
	SFS_IND3_FIRST,
	SFS_IND3_FIRST + 1023,
	SFS_IND3_FIRST + 1024,
	SFS_IND3_FIRST + SFS_IND2_BLOCKS - 1,
	SFS_IND3_FIRST + SFS_IND2_BLOCKS,
	SFS_MAX_FILE_BLOCKS - 1,
};
#define NR_BOUNDARY (int)(sizeof(boundary_lbns) / sizeof(boundary_lbns[0]))

static uint64_t tag_of(uint64_t lbn)
{
	return 0x7a6000000000000ull ^ lbn;
}

static void level_boundaries(struct ktest *t)
{
	REQUIRE_FS(t);
	vfs_unlink("/levels.dat");
	uint32_t free0 = free_blocks();
	struct file *f = create(t, "/levels.dat", 0);
	KASSERT_NOT_NULL(t, f);
	for (int i = 0; i < NR_BOUNDARY; i++) {
		uint64_t v = tag_of(boundary_lbns[i]);
		KASSERT_EQ(t, vfs_pwrite(f, &v, 8, boundary_lbns[i] * PAGE_SIZE + 8), 8);
	}
	KEXPECT_EQ(t, vfs_size(f), SFS_MAX_FILE_SIZE - PAGE_SIZE + 16);
	KEXPECT_EQ(t, free0 - free_blocks(), blocks_for(boundary_lbns, NR_BOUNDARY));
	ktest_log(t, "%d data blocks at the level boundaries: %u blocks", NR_BOUNDARY,
		  free0 - free_blocks());
	vfs_fadvise_dontneed(f, 0, 0);
	for (int i = 0; i < NR_BOUNDARY; i++) {
		uint64_t lbn = boundary_lbns[i], v = 0;
		KEXPECT_EQ(t, vfs_pread(f, &v, 8, lbn * PAGE_SIZE + 8), 8);
		KEXPECT_EQ(t, v, tag_of(lbn));
		if (lbn + 1 < SFS_MAX_FILE_BLOCKS &&
		    (i + 1 == NR_BOUNDARY || boundary_lbns[i + 1] != lbn + 1)) {
			v = 1; /* a hole next to it */
			KEXPECT_EQ(t, vfs_pread(f, &v, 8, (lbn + 1) * PAGE_SIZE + 8), 8);
			KEXPECT_EQ(t, v, 0);
		}
	}
	KEXPECT_EQ(t, free0 - free_blocks(), blocks_for(boundary_lbns, NR_BOUNDARY));
	EXPECT_CLEAN(t);
	/* Down through every boundary: first keeping one byte of the block,
	 * then cutting right before it; what the rest needs, and not one
	 * index block more, stays. */
	for (int i = NR_BOUNDARY - 1; i >= 0 && !t->failures; i--) {
		uint64_t lbn = boundary_lbns[i];
		KEXPECT_EQ(t, vfs_truncate(f, lbn * PAGE_SIZE + 9), 0);
		KEXPECT_EQ(t, free0 - free_blocks(), blocks_for(boundary_lbns, i + 1));
		uint64_t v = 0;
		KEXPECT_EQ(t, vfs_pread(f, &v, 8, lbn * PAGE_SIZE + 1), 8);
		KEXPECT_EQ(t, v, (tag_of(lbn) & 0xff) << 56); /* bytes 1..8: zeros, the
								 * tag's first byte */
		KEXPECT_EQ(t, vfs_truncate(f, lbn * PAGE_SIZE), 0);
		KEXPECT_EQ(t, free0 - free_blocks(), blocks_for(boundary_lbns, i));
		EXPECT_CLEAN(t);
		ktest_progress();
	}
	KEXPECT_EQ(t, free_blocks(), free0);
	vfs_close(f);
	KEXPECT_EQ(t, vfs_unlink("/levels.dat"), 0);
	KEXPECT_EQ(t, free_blocks(), free0);
}

/* ---- lseek and I/O past 4 GiB ------------------------------------------------ */

static void lseek_past_4g(struct ktest *t)
{
	REQUIRE_FS(t);
	uint32_t free0 = free_blocks();
	struct file *f = create(t, "/seek.dat", 0);
	KASSERT_NOT_NULL(t, f);
	uint64_t five = 5 * GIB + 3;
	KEXPECT_EQ(t, vfs_lseek(f, (int64_t)five, SEEK_SET), (int64_t)five);
	KEXPECT_EQ(t, vfs_write(f, "past 4 GiB", 10), 10);
	KEXPECT_EQ(t, f->pos, five + 10);
	KEXPECT_EQ(t, vfs_size(f), five + 10);
	KEXPECT_EQ(t, vfs_lseek(f, -10, SEEK_CUR), (int64_t)five);
	char buf[16] = { 0 };
	KEXPECT_EQ(t, vfs_read(f, buf, sizeof(buf)), 10); /* up to the end */
	KEXPECT_EQ(t, memcmp(buf, "past 4 GiB", 10), 0);
	KEXPECT_EQ(t, vfs_read(f, buf, sizeof(buf)), 0); /* at the end */
	KEXPECT_EQ(t, vfs_lseek(f, 0, SEEK_END), (int64_t)(five + 10));
	KEXPECT_EQ(t, vfs_lseek(f, -(int64_t)(five + 10), SEEK_END), 0);
	KEXPECT_EQ(t, vfs_lseek(f, 4 * (int64_t)GIB, SEEK_CUR), 4 * (int64_t)GIB);
	KEXPECT_EQ(t, vfs_read(f, buf, 4), 4); /* a hole */
	KEXPECT_EQ(t, memcmp(buf, "\0\0\0\0", 4), 0);
	/* The largest file: its last byte, through the end of the triple
	 * indirect tree; one more is refused. */
	int64_t max = (int64_t)SFS_MAX_FILE_SIZE;
	KEXPECT_EQ(t, vfs_lseek(f, max - 1, SEEK_SET), max - 1);
	KEXPECT_EQ(t, vfs_write(f, "Z", 1), 1);
	KEXPECT_EQ(t, vfs_size(f), SFS_MAX_FILE_SIZE);
	KEXPECT_EQ(t, vfs_write(f, "Z", 1), -EFBIG);
	KEXPECT_EQ(t, vfs_pwrite(f, "ZZ", 2, SFS_MAX_FILE_SIZE - 1), -EFBIG);
	KEXPECT_EQ(t, vfs_pwrite(f, "Z", 1, ~0ull), -EFBIG);
	KEXPECT_EQ(t, vfs_lseek(f, max, SEEK_SET), max);
	KEXPECT_EQ(t, vfs_lseek(f, max + 1, SEEK_SET), -EINVAL);
	KEXPECT_EQ(t, vfs_lseek(f, 1, SEEK_END), -EINVAL);
	KEXPECT_EQ(t, vfs_lseek(f, -1, SEEK_SET), -EINVAL);
	KEXPECT_EQ(t, vfs_lseek(f, INT64_MAX, SEEK_CUR), -EINVAL); /* overflow */
	KEXPECT_EQ(t, vfs_lseek(f, INT64_MIN, SEEK_END), -EINVAL);
	KEXPECT_EQ(t, vfs_lseek(f, 0, 7), -EINVAL);
	KEXPECT_EQ(t, f->pos, SFS_MAX_FILE_SIZE); /* unchanged by the refusals */
	KEXPECT_EQ(t, vfs_pread(f, buf, 4, SFS_MAX_FILE_SIZE - 1), 1);
	KEXPECT_EQ(t, buf[0], 'Z');
	KEXPECT_EQ(t, vfs_truncate(f, SFS_MAX_FILE_SIZE + 1), -EFBIG);
	KEXPECT_EQ(t, vfs_truncate(f, 5 * GIB), 0);
	KEXPECT_EQ(t, vfs_pread(f, buf, 10, five), 0); /* past the end now */
	vfs_close(f);
	KEXPECT_EQ(t, vfs_unlink("/seek.dat"), 0);
	KEXPECT_EQ(t, free_blocks(), free0);
	EXPECT_CLEAN(t);
}

/* ---- O_DIRECT at high offsets ---------------------------------------------- */

struct dio_high {
	struct ktest *t;
	struct file *direct, *cached;
	int errors;
};

static const uint64_t dio_positions[] = { 5 * GIB, SFS_IND3_FIRST *PAGE_SIZE - 2 * PAGE_SIZE,
					  SFS_MAX_FILE_SIZE - 4 * PAGE_SIZE };

static void dio_high_worker(void *arg)
{
	struct dio_high *d = arg;
	struct mm *mm = current->mm;
	uint64_t len = 4 * PAGE_SIZE, buf = ktest_mmap(mm, 2 * len);
	if (!buf) {
		d->errors++;
		return;
	}
	for (size_t k = 0; k < sizeof(dio_positions) / sizeof(dio_positions[0]); k++) {
		uint64_t pos = dio_positions[k];
		for (uint64_t o = 0; o < len; o += 8)
			put_user_u64(buf + o, pos + o);
		if (vfs_pwrite_user(d->direct, buf, len, pos) != (ssize_t)len) {
			d->errors++;
			continue;
		}
		/* The cache agrees (and a cached read may have been there). */
		for (uint64_t o = 0; o < len; o += 512) {
			uint64_t v = 0;
			if (vfs_pread(d->cached, &v, 8, pos + o) != 8 || v != pos + o)
				d->errors++;
		}
		/* Written through the cache, read back with O_DIRECT. */
		uint64_t w = ~pos;
		vfs_pwrite(d->cached, &w, 8, pos + 8);
		if (vfs_pread_user(d->direct, buf + len, len, pos) != (ssize_t)len)
			d->errors++;
		uint64_t v = 0;
		get_user_u64(&v, buf + len + 8);
		if (v != ~pos)
			d->errors++;
		get_user_u64(&v, buf + len + len - 8);
		if (v != pos + len - 8)
			d->errors++;
	}
}

static void odirect_high_offsets(struct ktest *t)
{
	REQUIRE_FS(t);
	uint32_t free0 = free_blocks();
	static struct dio_high d;
	d = (struct dio_high){ .t = t };
	d.cached = create(t, "/dio-high.dat", 0);
	KASSERT_NOT_NULL(t, d.cached);
	KASSERT_EQ(t, vfs_open("/dio-high.dat", O_RDWR | O_DIRECT, &d.direct), 0);
	struct mm *mm = mm_alloc();
	ktest_run_in_mm(mm, CPU_ANY, dio_high_worker, &d);
	mmput(mm);
	KEXPECT_EQ(t, d.errors, 0);
	KEXPECT_EQ(t, vfs_size(d.cached), SFS_MAX_FILE_SIZE);
	vfs_close(d.direct);
	vfs_close(d.cached);
	KEXPECT_EQ(t, vfs_unlink("/dio-high.dat"), 0);
	KEXPECT_EQ(t, free_blocks(), free0);
	EXPECT_CLEAN(t);
}

/* ---- a model across every level ------------------------------------------- */

/*
 * The file is modelled in windows of WIN_PAGES pages, each straddling a
 * level boundary (or the end of the largest file); outside them it is all
 * holes. Operations: write, read, truncate (anywhere in a window, or at a
 * boundary exactly), writes through a shared mapping of a window from
 * another CPU, writeback, cache drops, and now and then a full fsck.
 */
#define WIN_PAGES 8
#define WIN_BYTES (WIN_PAGES * PAGE_SIZE)
static const uint64_t win_first_page[] = {
	0,
	SFS_IND1_FIRST - WIN_PAGES / 2,
	SFS_IND2_FIRST - WIN_PAGES / 2,
	SFS_IND2_FIRST + 1024 - WIN_PAGES / 2,
	SFS_IND3_FIRST - WIN_PAGES / 2,
	SFS_IND3_FIRST + 1024 - WIN_PAGES / 2,
	SFS_IND3_FIRST + SFS_IND2_BLOCKS - WIN_PAGES / 2,
	SFS_MAX_FILE_BLOCKS - WIN_PAGES,
};
#define NR_WINDOWS (sizeof(win_first_page) / sizeof(win_first_page[0]))

struct lmodel {
	struct ktest *t;
	struct file *f;
	uint64_t size, seed;
	uint64_t map_win; /* the window mapped_writes works on */
	uint8_t data[NR_WINDOWS][WIN_BYTES];
};

static uint64_t lrand(struct lmodel *m)
{
	m->seed ^= m->seed << 13, m->seed ^= m->seed >> 7, m->seed ^= m->seed << 17;
	return m->seed;
}

static uint64_t win_pos(unsigned w)
{
	return win_first_page[w] * PAGE_SIZE;
}

/* The model's byte at pos of window w. */
static uint8_t model_byte(struct lmodel *m, unsigned w, uint64_t off)
{
	return win_pos(w) + off < m->size ? m->data[w][off] : 0;
}

static bool lmodel_check(struct lmodel *m, unsigned w, uint64_t off, uint64_t len)
{
	static uint8_t buf[WIN_BYTES];
	uint64_t pos = win_pos(w) + off;
	ssize_t want = pos >= m->size ? 0 : (ssize_t)MIN(len, m->size - pos);
	ssize_t got = vfs_pread(m->f, buf, len, pos);
	if (got != want) {
		ktest_fail(m->t, __FILE__, __LINE__, "read of %lu at %lu: %ld bytes, model %ld",
			   len, pos, got, want);
		return false;
	}
	for (ssize_t i = 0; i < got; i++) {
		if (buf[i] != model_byte(m, w, off + (uint64_t)i)) {
			ktest_fail(m->t, __FILE__, __LINE__, "byte %lu is %u, model %u",
				   pos + (uint64_t)i, buf[i], model_byte(m, w, off + (uint64_t)i));
			return false;
		}
	}
	return true;
}

/* The model after a truncate to size: zeros from size on. */
static void lmodel_truncate(struct lmodel *m, uint64_t size)
{
	for (unsigned w = 0; w < NR_WINDOWS; w++) {
		uint64_t keep = size <= win_pos(w) ? 0 : MIN(size - win_pos(w), WIN_BYTES);
		memset(&m->data[w][keep], 0, WIN_BYTES - keep);
	}
	m->size = size;
}

static void lmodel_mapped_writes(void *arg)
{
	struct lmodel *m = arg;
	unsigned w = (unsigned)m->map_win;
	uint64_t pos = win_pos(w);
	if (m->size <= pos + PAGE_SIZE)
		return; /* nothing of the window is in the file (a fault would SIGBUS) */
	uint64_t len = MIN(WIN_BYTES, ALIGN_DOWN(m->size - pos, PAGE_SIZE));
	int64_t a = vfs_mmap(current->mm, m->f, 0, len, PROT_READ | PROT_WRITE, MAP_SHARED, pos);
	if (a < 0) {
		ktest_fail(m->t, __FILE__, __LINE__, "mmap at %lu: %ld", pos, a);
		return;
	}
	for (int k = 0; k < 8; k++) {
		uint64_t off = lrand(m) % len & ~7ull, v = lrand(m);
		if (put_user_u64((uint64_t)a + off, v) == 0)
			memcpy(&m->data[w][off], &v, 8);
		else
			ktest_fail(m->t, __FILE__, __LINE__, "write at %lu through the mapping",
				   pos + off);
	}
	if (lrand(m) % 2)
		vm_msync(current->mm, (uint64_t)a, len, MS_SYNC);
	vm_munmap(current->mm, (uint64_t)a, len);
}

static void model_all_levels(struct ktest *t)
{
	REQUIRE_FS(t);
	uint32_t free0 = free_blocks();
	static struct lmodel m;
	memset(&m, 0, sizeof(m));
	m.t = t;
	m.seed = 0x51f5a11ull ^ arch_cycles();
	ktest_log(t, "seed %#lx", m.seed);
	m.f = create(t, "/levels-model.dat", 0);
	KASSERT_NOT_NULL(t, m.f);
	struct mm *mm = mm_alloc();
	KASSERT_NOT_NULL(t, mm);
	static uint8_t buf[WIN_BYTES];
	uint64_t start = ktime_get_ns(), op;
	for (op = 0; ktest_stress_more(start, op, 300, 3000) && !t->failures; op++) {
		unsigned w = (unsigned)(lrand(&m) % NR_WINDOWS);
		uint64_t off = lrand(&m) % WIN_BYTES, len = 1 + lrand(&m) % (2 * PAGE_SIZE);
		len = MIN(len, WIN_BYTES - off);
		switch (lrand(&m) % 10) {
		case 0:
		case 1:
		case 2: /* write */
			for (uint64_t i = 0; i < len; i++)
				buf[i] = (uint8_t)lrand(&m);
			KASSERT_EQ(t, vfs_pwrite(m.f, buf, len, win_pos(w) + off), len);
			/* (past the end, the gap reads as zeros: the model is
			 * zero beyond the size already) */
			memcpy(&m.data[w][off], buf, len);
			m.size = MAX(m.size, win_pos(w) + off + len);
			break;
		case 3:
		case 4: /* read */
			lmodel_check(&m, w, off, len);
			break;
		case 5: { /* truncate: in a window, at a level boundary, or 0 */
			uint64_t size = win_pos(w) + off;
			if (lrand(&m) % 3 == 0)
				size = win_pos(w) + WIN_BYTES / 2; /* the boundary itself */
			if (lrand(&m) % 16 == 0)
				size = 0;
			KASSERT_EQ(t, vfs_truncate(m.f, size), 0);
			lmodel_truncate(&m, size);
			break;
		}
		case 6: /* writes through a shared mapping, from another CPU */
			m.map_win = w;
			ktest_run_in_mm(mm, CPU_ANY, lmodel_mapped_writes, &m);
			break;
		case 7: /* writeback */
			KEXPECT_EQ(t, vfs_fsync(m.f), 0);
			break;
		case 8: /* drop the clean pages: the next reads come from the disk */
			vfs_fadvise_dontneed(m.f, 0, 0);
			break;
		case 9: /* every index block that maps nothing was freed, ... */
			if (lrand(&m) % 8 == 0)
				EXPECT_CLEAN(t);
			break;
		}
	}
	ktest_log(t, "%lu operations, file size %lu", op, m.size);
	for (unsigned w = 0; w < NR_WINDOWS; w++)
		lmodel_check(&m, w, 0, WIN_BYTES);
	vfs_fsync(m.f);
	vfs_fadvise_dontneed(m.f, 0, 0);
	for (unsigned w = 0; w < NR_WINDOWS; w++)
		lmodel_check(&m, w, 0, WIN_BYTES);
	EXPECT_CLEAN(t);
	mmput(mm);
	vfs_close(m.f);
	KEXPECT_EQ(t, vfs_unlink("/levels-model.dat"), 0);
	KEXPECT_EQ(t, free_blocks(), free0);
}

/* ---- a full disk --------------------------------------------------------- */

struct dio_job {
	struct file *f;
	uint64_t pos, len;
	ssize_t last;
	bool fill; /* write len at pos, pos + len, ... until one is short */
};

/* O_DIRECT writes (the blocks are taken at once, or refused at once). */
static void dio_job_worker(void *arg)
{
	struct dio_job *j = arg;
	uint64_t buf = ktest_mmap(current->mm, j->len);
	if (!buf) {
		j->last = -ENOMEM;
		return;
	}
	put_user_u64(buf, 0xdeeb);
	do {
		j->last = vfs_pwrite_user(j->f, buf, j->len, j->pos);
		if (j->last > 0)
			j->pos += (uint64_t)j->last;
		ktest_progress();
	} while (j->fill && j->last == (ssize_t)j->len);
}

static ssize_t dio_write(struct file *f, uint64_t pos, uint64_t len, bool fill, uint64_t *end)
{
	static struct dio_job j;
	j = (struct dio_job){ .f = f, .pos = pos, .len = len, .fill = fill };
	struct mm *mm = mm_alloc();
	if (!mm)
		return -ENOMEM;
	ktest_run_in_mm(mm, CPU_ANY, dio_job_worker, &j);
	mmput(mm);
	if (end)
		*end = j.pos;
	return j.last;
}

static void full_disk_keeps_trees_whole(struct ktest *t)
{
	REQUIRE_FS(t);
	uint32_t free0 = free_blocks();
	if (free0 > 40000)
		KTEST_SKIP(t, "the disk has more than 40000 free blocks: too many to fill here");
	struct file *filler = create(t, "/filler.dat", O_DIRECT);
	struct file *spare = create(t, "/spare.dat", 0);
	struct file *f = create(t, "/deep.dat", O_DIRECT);
	KASSERT_NOT_NULL(t, filler);
	KASSERT_NOT_NULL(t, spare);
	KASSERT_NOT_NULL(t, f);
	uint64_t size = 0;
	ssize_t last = dio_write(filler, 0, DIO_MAX_PAGES * PAGE_SIZE, true, &size);
	ktest_log(t, "filled %lu KiB, last write %ld", size / 1024, last);
	KEXPECT_EQ(t, free_blocks(), 0);
	/* Exactly 3 free: give back pages of the filler (one block each, or two
	 * when an index block empties) until 4 or 5 are free, then take one
	 * block at a time with direct blocks of /spare. */
	while (free_blocks() < 4 && size >= PAGE_SIZE) {
		size -= PAGE_SIZE;
		KASSERT_EQ(t, vfs_truncate(filler, size), 0);
	}
	uint64_t spare_pages = 0;
	while (free_blocks() > 3 && spare_pages < SFS_NDIRECT)
		KASSERT_EQ(t, vfs_pwrite(spare, "s", 1, spare_pages++ * PAGE_SIZE), 1);
	KASSERT_EQ(t, free_blocks(), 3);
	KASSERT_GE(t, spare_pages, 1);
	/* The first block of the triple level needs 4 (the data, the triple,
	 * a double and an indirect block): refused, nothing left behind. */
	uint64_t pos = SFS_IND3_FIRST * PAGE_SIZE;
	KEXPECT_EQ(t, dio_write(f, pos, PAGE_SIZE, false, NULL), -ENOSPC);
	KEXPECT_EQ(t, free_blocks(), 3);
	KEXPECT_EQ(t, f->inode->d.triple_indirect, 0);
	EXPECT_CLEAN(t);
	/* With 4 it fits, and takes exactly that. */
	KASSERT_EQ(t, vfs_truncate(spare, (spare_pages - 1) * PAGE_SIZE), 0);
	KEXPECT_EQ(t, free_blocks(), 4);
	KEXPECT_EQ(t, dio_write(f, pos, PAGE_SIZE, false, NULL), PAGE_SIZE);
	KEXPECT_EQ(t, free_blocks(), 0);
	KEXPECT_NE(t, f->inode->d.triple_indirect, 0);
	uint64_t v = 0;
	KEXPECT_EQ(t, vfs_pread(f, &v, 8, pos), 8);
	KEXPECT_EQ(t, v, 0xdeeb);
	EXPECT_CLEAN(t);
	vfs_close(f);
	vfs_close(spare);
	vfs_close(filler);
	vfs_unlink("/deep.dat");
	vfs_unlink("/spare.dat");
	vfs_unlink("/filler.dat");
	KEXPECT_EQ(t, free_blocks(), free0);
	EXPECT_CLEAN(t);
}

/* ---- growth, and the checker's memory ------------------------------------ */

static void grown_to_the_disk(struct ktest *t)
{
	REQUIRE_FS(t);
	struct sfs_super s;
	fs_statfs(&s);
	uint64_t dev_blocks = ramdisk()->nr_sectors / SECTORS_PER_PAGE;
	ktest_log(t, "RAM disk %lu blocks, file system %u blocks (at most %u), %u free", dev_blocks,
		  s.nr_blocks, s.max_blocks, s.free_blocks);
	KEXPECT_EQ(t, s.nr_blocks, MIN(dev_blocks, (uint64_t)s.max_blocks));
	KEXPECT_GE(t, s.max_blocks, s.nr_blocks);
	/* The bitmap covers max_blocks: growth moved nothing. */
	KEXPECT_EQ(t, s.bitmap_blocks, DIV_ROUND_UP(s.max_blocks, SFS_BITS_PER_BLOCK));
	EXPECT_CLEAN(t);
}

static void check_scratch_mapped(struct ktest *t)
{
	REQUIRE_FS(t);
	size_t saved = sfs_scratch_contiguous_max;
	sfs_scratch_contiguous_max = PAGE_SIZE; /* every check: mapped pages */
	EXPECT_CLEAN(t);
	EXPECT_CLEAN(t); /* again, in the same range of the vmalloc area */
	sfs_scratch_contiguous_max = saved;
	EXPECT_CLEAN(t);
}

KTEST_SUITE(sfs, KTEST_CASE(grown_to_the_disk), KTEST_CASE(lseek_past_4g),
	    KTEST_CASE(level_boundaries), KTEST_CASE(large_sparse_file),
	    KTEST_CASE(odirect_high_offsets), KTEST_CASE(model_all_levels),
	    KTEST_CASE(full_disk_keeps_trees_whole), KTEST_CASE(check_scratch_mapped));
