/*
 * tests/test_memcalls.c - the memory system calls of issue 13 (mremap,
 * msync, madvise, mmap flags, mincore, mlock) and Nadav Amit's race as a
 * user program.
 *
 *   mremap_flush_before_unlock (deterministic, CVE-2018-18281): a thread
 *       on its own CPU writes through its TLB into a shared file mapping;
 *       a third CPU mremaps the page elsewhere (MREMAP_FIXED) and pauses
 *       just after move_ptes dropped the page-table lock; we truncate the
 *       file meanwhile, which finds the PTE at the new address, zaps it and
 *       drops the page. The writer must have lost its old entry by then (a
 *       fault): the flush of the old range comes before the lock is
 *       dropped. Kills MREMAP_FLUSH_AFTER_UNLOCK (the writer keeps writing
 *       into the page truncate removed; we hold a reference to it, so the
 *       mutant writes into a page we own, not a freed one).
 *   memcalls_musl / memcalls_glibc: /bin/memcalls checks every call's
 *       results and Linux 6.1's errno for each bad argument.
 *   nadav_madvise / nadav_munmap: /bin/nadav (seed 004 as a user program:
 *       a writer thread, a zapper thread, a forked msync+fadvise flusher,
 *       each pinned to its CPU) runs 3 s; no write may be lost. For the
 *       run the TLB-flush pause point gets a 300 us delay and the file
 *       fault one 500 us (what pause.delay=tlb_flush:1000,file_fault:500
 *       does at boot; the program is the same): the windows of the race
 *       are then long enough to hit within the run. Needs 3 CPUs. Kill
 *       RMAP_BEFORE_FLUSH and NO_FORCED_FLUSH in about 6 runs of 10.
 *       Found a real bug: a write fault made the PTE writable between
 *       writeback's page_mkclean and its clear of PG_dirty; fixed by the
 *       page lock (mm/filemap.c); MKWRITE_UNLOCKED and
 *       CLEAN_FOR_IO_UNLOCKED re-open the window.
 */
#include "tests/ktest_mm.h"
#include "tests/ktest_fs.h"
#include "tests/ktest_user.h"
#include "kernel/fs/fs.h"
#include "kernel/pause.h"
#include "kernel/sched.h"
#include "kernel/string.h"
#include "kernel/smp.h"
#include "kernel/sys_mm.h"
#include "mm/filemap.h"
#include "mm/mm.h"
#include "mm/page.h"
#include "arch/x86_64/uaccess.h"

/* ---- mremap: the flush before the page-table lock is dropped ------------ */

struct mr_writer {
	struct mm *mm;
	uint64_t addr;
	volatile bool stop, faulted;
	volatile uint64_t last;
	struct completion done;
};

/* Writes with interrupts off: a write goes through the TLB (live or stale)
 * or fails at once (no fault handling with IRQs off): it never waits for
 * the mmap_lock the paused mover holds. */
static void mr_writer_fn(void *arg)
{
	struct mr_writer *w = arg;
	use_mm(w->mm);
	if (put_user_u64(w->addr, 0))
		w->faulted = true;
	for (uint64_t i = 1; !w->stop && !w->faulted; i++) {
		unsigned long f = local_irq_save();
		int err = put_user_u64(w->addr + (i % 64) * 8, i);
		local_irq_restore(f);
		if (err)
			w->faulted = true;
		else
			w->last = i;
	}
	unuse_mm(w->mm);
	complete(&w->done);
}

struct mr_mover {
	struct mm *mm;
	uint64_t from, to;
	volatile int64_t ret;
	struct completion done;
};

static void mr_mover_fn(void *arg)
{
	struct mr_mover *m = arg;
	m->ret =
	    vm_mremap(m->mm, m->from, PAGE_SIZE, PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, m->to);
	complete(&m->done);
}

static void mremap_flush_before_unlock(struct ktest *t)
{
	REQUIRE_FS(t);
	if (nr_cpus_online < 3)
		KTEST_SKIP(t, "needs 3 CPUs (writer, mover, truncate)");
	sched_migrate(cpu_id());
	const char *path = "/mremap-race.dat";
	struct file *f;
	vfs_unlink(path);
	KASSERT_EQ(t, vfs_open(path, O_RDWR | O_CREAT, &f), 0);
	static uint8_t buf[PAGE_SIZE];
	memset(buf, 'x', sizeof(buf));
	KEXPECT_EQ(t, vfs_pwrite(f, buf, PAGE_SIZE, 0), PAGE_SIZE);
	struct mm *mm = mm_alloc();
	KASSERT_NOT_NULL(t, mm);
	int64_t a = vfs_mmap(mm, f, 0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	KASSERT_GT(t, a, 0);
	uint64_t to = (uint64_t)a + 64 * PAGE_SIZE;

	static struct mr_writer w;
	static struct mr_mover m;
	w = (struct mr_writer){ .mm = mm, .addr = (uint64_t)a };
	m = (struct mr_mover){ .mm = mm, .from = (uint64_t)a, .to = to };
	init_completion(&w.done);
	init_completion(&m.done);
	/* The writer has a CPU of its own: it never switches away from its mm,
	 * so only a flush can take its TLB entry (a switch to us and back on
	 * a shared CPU would reload CR3 and drop it). */
	thread_create("mr-writer", mr_writer_fn, &w, ktest_other_cpu(cpu_id(), 1));
	uint64_t dl = ktime_get_ns() + 5000 * 1000000ull;
	while (w.last < 1000 && !w.faulted && ktime_get_ns() < dl)
		sleep_ms(1);
	KEXPECT_GE(t, w.last, 1000); /* its TLB holds a writable entry for a */
	/* Hold the page: the mutant's stale writes land in a page we own. */
	struct page *page = find_get_page(&f->inode->mapping, 0);
	KEXPECT_TRUE(t, page != NULL);

	pause_arm(PAUSE_MREMAP_MOVED, mm);
	thread_create("mr-mover", mr_mover_fn, &m, ktest_other_cpu(cpu_id(), 2));
	bool paused = pause_wait_reached(PAUSE_MREMAP_MOVED, 10000);
	KEXPECT_TRUE(t, paused);
	if (paused) {
		/* The PTE is at `to` now and the lock is free: truncate finds it
		 * there through i_mmap, zaps and flushes `to`, drops the page. */
		KEXPECT_EQ(t, vfs_truncate(f, 0), 0);
		uint64_t seen = w.last;
		dl = ktime_get_ns() + 200 * 1000000ull;
		while (!w.faulted && w.last < seen + 1000 && ktime_get_ns() < dl)
			sleep_ms(1);
		if (!w.faulted)
			ktest_fail(t, __FILE__, __LINE__,
				   "the writer still writes through its old TLB entry (%lu writes "
				   "after the truncate): mremap dropped the page-table lock before "
				   "flushing the old range",
				   w.last - seen);
		pause_release(PAUSE_MREMAP_MOVED);
	}
	wait_for_completion(&m.done);
	KEXPECT_EQ(t, m.ret, (int64_t)to);
	w.stop = true;
	wait_for_completion(&w.done);
	if (page)
		put_page(page);
	vm_munmap(mm, to, PAGE_SIZE);
	mmput(mm);
	vfs_close(f);
	vfs_unlink(path);
}

/* ---- the user programs ---------------------------------------------------- */

static void memcalls_musl(struct ktest *t)
{
	REQUIRE_FS(t);
	run_checks(t, "/bin/memcalls", "every check ran");
}

static void memcalls_glibc(struct ktest *t)
{
	REQUIRE_FS(t);
	run_checks(t, "/bin/memcalls-glibc", "every check ran");
}

/* The two windows of the race, widened (what pause.delay=tlb_flush:1000,
 * file_fault:500 does at boot): a zap's PTE clear to its TLB flush, where
 * the stale entry writes after writeback cleaned the page, and the
 * writer's fault to its page lookup, where the clean page is dropped and
 * then read back from the disk without those writes. */
enum { NADAV_FLUSH_DELAY_US = 1000, NADAV_FAULT_DELAY_US = 500 };

static void nadav(struct ktest *t, const char *variant)
{
	REQUIRE_FS(t);
	if (nr_cpus_online < 3)
		KTEST_SKIP(t, "needs 3 CPUs (writer, zapper, flusher)");
	char *const argv[] = { "/bin/nadav", (char *)variant, "3000", NULL };
	uint32_t old_flush = pause_points[PAUSE_TLB_FLUSH].delay_us;
	uint32_t old_fault = pause_points[PAUSE_FILE_FAULT].delay_us;
	pause_points[PAUSE_TLB_FLUSH].delay_us = NADAV_FLUSH_DELAY_US;
	pause_points[PAUSE_FILE_FAULT].delay_us = NADAV_FAULT_DELAY_US;
	int st = run_on(t, argv, CPU_ANY);
	pause_points[PAUSE_TLB_FLUSH].delay_us = old_flush;
	pause_points[PAUSE_FILE_FAULT].delay_us = old_fault;
	for (const char *l = out_buf; l && *l;) { /* the program's summary lines */
		const char *e = strchr(l, '\n');
		if (l[0] == '#')
			ktest_log(t, "%.*s", (int)(e ? e - l : (long)strlen(l)), l);
		l = e ? e + 1 : NULL;
	}
	KEXPECT_EQ(t, st, 0);
	KEXPECT_FALSE(t, contains(out_buf, "not ok"));
	KEXPECT_TRUE(t, contains(out_buf, "every write kept"));
}

static void nadav_madvise(struct ktest *t)
{
	nadav(t, "madvise");
}

static void nadav_munmap(struct ktest *t)
{
	nadav(t, "munmap");
}

KTEST_SUITE(memcalls, KTEST_CASE(mremap_flush_before_unlock), KTEST_CASE(memcalls_musl),
	    KTEST_CASE(memcalls_glibc), KTEST_CASE(nadav_madvise), KTEST_CASE(nadav_munmap));
