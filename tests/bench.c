/*
 * tests/bench.c - benchmarks: figures printed as "bench: name: value unit".
 * Run by `make bench` (bench.run=1 on the kernel command line), never by
 * the test suite. Times are TSC cycles of the emulated CPU: compare them
 * with each other, not with real hardware.
 *
 *   tlb_munmap        IPIs, IPI rounds and cycles per munmap of 1, 32 and 512
 *                     touched pages of an mm live on up to 4 CPUs (R9)
 *   tlb_shootdown     cycles per flush_tlb_mm_range round to the live CPUs
 *   cow_fault         cycles per write fault that copies vs one that reuses (R3)
 *   fork              cycles per fork of 1, 16 and 256 MiB of touched memory
 *   gup               pages per second through GUP-fast and the slow path,
 *                     one CPU and four CPUs at once on the same mm (R5)
 *   fs_writeback      MB/s of fsync writing dirty page-cache pages to the RAM
 *                     disk, against memcpy of the same bytes
 *   fs_read           MB/s of read() from the page cache
 *   zap_dirty_flush   TLB flushes per MADV_DONTNEED of 1 and 512 dirty pages
 *                     of a shared file mapping (the forced flush of R2)
 *   user              /bin/ubench in ring 3: system-call round trip, pipe
 *                     ping-pong between two processes on two CPUs, futex
 *                     wake-up latency, the user page-fault cost and an
 *                     mmap + touch + munmap round trip (tests/user/ubench.c)
 */
#include "tests/bench.h"
#include "tests/ktest_mm.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "kernel/stats.h"
#include "mm/gup.h"
#include "kernel/fs/fs.h"
#include "kernel/process.h"

#define REGION 0x40000000ull

/* An address space in use here and live on up to 3 other CPUs. */
struct live_mm {
	struct mm *mm;
	uint64_t live; /* the page the workers keep reading */
	struct live_worker w[3];
	int n; /* workers started */
};

static bool live_mm_start(struct live_mm *l)
{
	if (!(l->mm = mm_alloc()))
		return false;
	use_mm(l->mm);
	l->live = ktest_mmap(l->mm, PAGE_SIZE);
	l->n = start_live_workers(l->w, 3, l->mm, l->live);
	return true;
}

static void live_mm_stop(struct live_mm *l)
{
	stop_live_workers(l->w, l->n);
	unuse_mm(l->mm);
	mmput(l->mm);
}

static void bench_tlb_munmap(void)
{
	static struct live_mm l;
	if (!live_mm_start(&l))
		return;
	struct mm *mm = l.mm;
	int n = l.n;
	static const int sizes[] = { 1, 32, 512 };
	enum { ROUNDS = 10 };
	for (size_t k = 0; k < ARRAY_SIZE(sizes); k++) {
		uint64_t len = sizes[k] * PAGE_SIZE, cycles = 0;
		uint64_t ipis = event_sum(EV_TLB_IPI_SENT), rounds = event_sum(EV_TLB_SHOOTDOWN);
		for (int r = 0; r < ROUNDS; r++) {
			vm_mmap(mm, REGION, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
			for (int i = 0; i < sizes[k]; i++)
				put_user_u64(REGION + i * PAGE_SIZE, i);
			uint64_t t0 = arch_cycles();
			vm_munmap(mm, REGION, len);
			cycles += arch_cycles() - t0;
		}
		printk("bench: tlb_munmap_%d_pages_%d_cpus: %lu.%lu IPIs, %lu.%lu IPI rounds, "
		       "%lu cycles per munmap\n",
		       sizes[k], n + 1, (event_sum(EV_TLB_IPI_SENT) - ipis) / ROUNDS,
		       (event_sum(EV_TLB_IPI_SENT) - ipis) % ROUNDS * 10 / ROUNDS,
		       (event_sum(EV_TLB_SHOOTDOWN) - rounds) / ROUNDS,
		       (event_sum(EV_TLB_SHOOTDOWN) - rounds) % ROUNDS * 10 / ROUNDS,
		       cycles / ROUNDS);
	}
	live_mm_stop(&l);
}

static void bench_tlb_shootdown(void)
{
	static struct live_mm l;
	if (!live_mm_start(&l))
		return;
	enum { ROUNDS = 200 };
	uint64_t t0 = arch_cycles();
	for (int r = 0; r < ROUNDS; r++)
		flush_tlb_mm_range(l.mm, l.live, l.live + PAGE_SIZE, false);
	uint64_t cycles = (arch_cycles() - t0) / ROUNDS;
	printk("bench: tlb_shootdown_round_%d_cpus: %lu cycles per round (%lu us at %lu MHz)\n",
	       l.n + 1, cycles, cycles * 1000 / (tsc_khz ? tsc_khz : 1), tsc_khz / 1000);
	live_mm_stop(&l);
}

static uint64_t cycles_to_us(uint64_t c)
{
	return c * 1000 / (tsc_khz ? tsc_khz : 1);
}

static void touch_pages(struct mm *mm, uint64_t a, uint64_t pages)
{
	use_mm(mm);
	for (uint64_t i = 0; i < pages; i++)
		put_user_u64(a + i * PAGE_SIZE, i);
	unuse_mm(mm);
}

/* Average cycles of a write fault on pages shared by fork (copy) or left
 * exclusive by the child's exit (reuse). */
static uint64_t cow_round(bool child_exits)
{
	enum { PAGES = 256 };
	struct mm *mm = mm_alloc();
	uint64_t a = ktest_mmap(mm, PAGES * PAGE_SIZE);
	touch_pages(mm, a, PAGES);
	int err;
	struct mm *child = dup_mm(mm, &err);
	if (child_exits) {
		mmput(child);
		child = NULL;
	}
	use_mm(mm);
	uint64_t t0 = arch_cycles();
	for (int i = 0; i < PAGES; i++)
		put_user_u64(a + i * PAGE_SIZE, 1);
	uint64_t c = (arch_cycles() - t0) / PAGES;
	unuse_mm(mm);
	if (child)
		mmput(child);
	mmput(mm);
	return c;
}

static void bench_cow_fault(void)
{
	uint64_t copies = event_sum(EV_COW_COPY), reuses = event_sum(EV_COW_REUSE);
	uint64_t copy = cow_round(false);
	uint64_t reuse = cow_round(true);
	printk("bench: cow_fault_copy: %lu cycles per fault (%lu us)\n", copy, cycles_to_us(copy));
	printk("bench: cow_fault_reuse: %lu cycles per fault (%lu us)\n", reuse,
	       cycles_to_us(reuse));
	printk("bench: cow_fault_counters: %lu copies, %lu reuses\n",
	       event_sum(EV_COW_COPY) - copies, event_sum(EV_COW_REUSE) - reuses);
}

static void bench_fork(void)
{
	static const int mib[] = { 1, 16, 256 };
	for (size_t k = 0; k < ARRAY_SIZE(mib); k++) {
		uint64_t pages = (uint64_t)mib[k] * 256;
		if (pages + pages / 256 + 4096 > nr_free_pages()) {
			printk("bench: fork_%d_mib: skipped (not enough memory)\n", mib[k]);
			continue;
		}
		struct mm *mm = mm_alloc();
		uint64_t a = ktest_mmap(mm, pages * PAGE_SIZE);
		touch_pages(mm, a, pages);
		int err;
		uint64_t t0 = arch_cycles();
		struct mm *child = dup_mm(mm, &err);
		uint64_t c = arch_cycles() - t0;
		printk("bench: fork_%d_mib: %lu cycles (%lu us), %lu page tables\n", mib[k], c,
		       cycles_to_us(c), (uint64_t)atomic64_read(&child->nr_pt_pages));
		mmput(child);
		mmput(mm);
	}
}

struct gup_bench {
	struct mm *mm;
	uint64_t addr;
	bool fast;
	uint64_t pages_done, cycles;
	struct completion done;
};

enum { GUP_PAGES = 256, GUP_ROUNDS = 40 };

static void gup_bench_thread(void *arg)
{
	struct gup_bench *g = arg;
	static struct page *pages[NR_CPUS][GUP_PAGES];
	struct page **pg = pages[cpu_id()];
	use_mm(g->mm);
	uint64_t t0 = arch_cycles();
	for (int r = 0; r < GUP_ROUNDS; r++) {
		long n = g->fast ? get_user_pages_fast(g->addr, GUP_PAGES, 0, pg)
				 : get_user_pages(g->mm, g->addr, GUP_PAGES, 0, pg);
		for (long i = 0; i < n; i++)
			put_page(pg[i]);
		g->pages_done += n > 0 ? n : 0;
	}
	g->cycles = arch_cycles() - t0;
	unuse_mm(g->mm);
	complete(&g->done);
}

static void gup_bench_run(struct mm *mm, uint64_t a, bool fast, int ncpu)
{
	static struct gup_bench g[4];
	for (int i = 0; i < ncpu; i++) {
		g[i] = (struct gup_bench){ .mm = mm, .addr = a, .fast = fast };
		init_completion(&g[i].done);
		thread_create("gup-bench", gup_bench_thread, &g[i],
			      ktest_other_cpu(cpu_id(), i + 1));
	}
	uint64_t pages = 0, cycles = 0;
	for (int i = 0; i < ncpu; i++) {
		wait_for_completion(&g[i].done);
		pages += g[i].pages_done;
		cycles = MAX(cycles, g[i].cycles);
	}
	uint64_t us = cycles_to_us(cycles);
	printk("bench: gup_%s_%d_cpus: %lu pages per second (%lu pages in %lu us)\n",
	       fast ? "fast" : "slow", ncpu, us ? pages * 1000000 / us : 0, pages, us);
}

static void bench_gup(void)
{
	struct mm *mm = mm_alloc();
	uint64_t a = ktest_mmap(mm, GUP_PAGES * PAGE_SIZE);
	touch_pages(mm, a, GUP_PAGES);
	int cpus4 = MIN(4, nr_cpus_online);
	uint64_t fallbacks = event_sum(EV_GUP_FAST_FALLBACK);
	gup_bench_run(mm, a, true, 1);
	gup_bench_run(mm, a, false, 1);
	gup_bench_run(mm, a, true, cpus4);
	gup_bench_run(mm, a, false, cpus4);
	printk("bench: gup_fast_fallbacks: %lu\n", event_sum(EV_GUP_FAST_FALLBACK) - fallbacks);
	mmput(mm);
}

enum { FS_BENCH_PAGES = 512 };

static uint64_t mb_per_s(uint64_t bytes, uint64_t cycles)
{
	uint64_t us = cycles_to_us(cycles);
	return us ? bytes / us : 0; /* bytes per us = MB/s */
}

static void bench_fs(void)
{
	struct file *f;
	if (!fs_mounted() || vfs_open("/bench.dat", O_RDWR | O_CREAT | O_TRUNC, &f)) {
		printk("bench: fs: skipped (no file system)\n");
		return;
	}
	static uint8_t buf[PAGE_SIZE];
	memset(buf, 0x5a, sizeof(buf));
	uint64_t bytes = (uint64_t)FS_BENCH_PAGES * PAGE_SIZE, wb = 0, rd = 0, cp = 0;
	enum { ROUNDS = 5 };
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < FS_BENCH_PAGES; i++)
			vfs_pwrite(f, buf, PAGE_SIZE, (uint64_t)i * PAGE_SIZE);
		uint64_t t0 = arch_cycles();
		vfs_fsync(f);
		wb += arch_cycles() - t0;
		t0 = arch_cycles();
		for (int i = 0; i < FS_BENCH_PAGES; i++)
			vfs_pread(f, buf, PAGE_SIZE, (uint64_t)i * PAGE_SIZE);
		rd += arch_cycles() - t0;
	}
	void *a = get_free_pages(0, 8), *b = get_free_pages(0, 8); /* 1 MiB each */
	if (a && b) {
		uint64_t t0 = arch_cycles();
		for (int r = 0; r < ROUNDS; r++)
			memcpy(b, a, bytes);
		cp = arch_cycles() - t0;
	}
	free_pages(a, 8);
	free_pages(b, 8);
	printk("bench: fs_writeback: %lu MB/s (memcpy of the same bytes: %lu MB/s)\n",
	       mb_per_s(bytes * ROUNDS, wb), mb_per_s(bytes * ROUNDS, cp));
	printk("bench: fs_read_cached: %lu MB/s\n", mb_per_s(bytes * ROUNDS, rd));

	struct mm *mm = mm_alloc();
	use_mm(mm);
	int64_t m = vfs_mmap(mm, f, 0, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	static const int counts[] = { 1, 512 > FS_BENCH_PAGES ? FS_BENCH_PAGES : 512 };
	for (size_t k = 0; m > 0 && k < ARRAY_SIZE(counts); k++) {
		for (int i = 0; i < counts[k]; i++)
			put_user_u64(m + (uint64_t)i * PAGE_SIZE, i); /* dirty PTEs */
		uint64_t flushes = event_sum(EV_TLB_LOCAL_FLUSH),
			 delayed = event_sum(EV_DELAYED_RMAP);
		vm_madvise(mm, m, (uint64_t)counts[k] * PAGE_SIZE, MADV_DONTNEED);
		printk("bench: zap_dirty_flush_%d_pages: %lu TLB flushes, %lu delayed rmaps\n",
		       counts[k], event_sum(EV_TLB_LOCAL_FLUSH) - flushes,
		       event_sum(EV_DELAYED_RMAP) - delayed);
	}
	unuse_mm(mm);
	mmput(mm);
	vfs_close(f);
	vfs_unlink("/bench.dat");
}

static void ubench_done(struct thread *t, void *arg)
{
	(void)t;
	complete(arg);
}

/* /bin/ubench (tests/user/ubench.c) prints its own figures from ring 3. */
static void bench_user(void)
{
	if (!fs_mounted()) {
		printk("bench: user: skipped (no file system)\n");
		return;
	}
	char *const argv[] = { "/bin/ubench", NULL };
	struct completion done;
	init_completion(&done);
	int err = process_spawn("/bin/ubench", argv, NULL, CPU_ANY, false, ubench_done, &done);
	if (err < 0) {
		printk("bench: user: /bin/ubench: error %d\n", err);
		return;
	}
	if (!wait_for_completion_timeout(&done, 120000))
		printk("bench: user: /bin/ubench did not end in 120 s\n");
}

static const struct {
	const char *name;
	void (*fn)(void);
} benches[] = {
	{ "user", bench_user },
	{ "fs", bench_fs },
	{ "tlb_munmap", bench_tlb_munmap },
	{ "tlb_shootdown", bench_tlb_shootdown },
	{ "cow_fault", bench_cow_fault },
	{ "fork", bench_fork },
	{ "gup", bench_gup },
};

static bool bench_selected(const char *filter, const char *name)
{
	if (!filter || !*filter)
		return true;
	char buf[128];
	strlcpy(buf, filter, sizeof(buf));
	for (char *p = buf, *comma; p; p = comma ? comma + 1 : NULL) {
		comma = strchr(p, ',');
		if (comma)
			*comma = 0;
		if (glob_match(p, name))
			return true;
	}
	return false;
}

void bench_run_all(const char *filter)
{
	printk("# bench: %d CPUs online\n", nr_cpus_online);
	for (size_t i = 0; i < ARRAY_SIZE(benches); i++)
		if (bench_selected(filter, benches[i].name))
			benches[i].fn();
	printk("# bench: done\n");
}
