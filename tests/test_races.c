/*
 * tests/test_races.c - the memory rules' historic races as ordinary user
 * programs (issue 13): each case runs one mode of /bin/races
 * (tests/user/races.c), threads pinned to CPUs with sched_setaffinity,
 * fork, munmap, MADV_DONTNEED, O_DIRECT, fsync; no test hooks in the
 * program. tests/mutants-user.txt lists the mutation each case kills
 * (`make mutants-user`), as tests/mutants.txt does for the in-kernel suites.
 *
 * Where a window is too narrow to hit in a bounded time under TCG, the case
 * widens it for the program's run only: pause_points[ID].delay_us (what
 * pause.delay=NAME:US does for a whole boot, kernel/pause.h) makes every
 * CPU that passes the pause point spin there; the code's order of steps is
 * unchanged, only the window is longer. A program that finds the timing
 * did not set the race up prints "# inconclusive: ..." and the case skips
 * as inconclusive (make mutants does not count that as a pass).
 *
 *   fork_exclusive (R3, R4): the parent writes after fork, on each pair
 *       of the first three CPUs; the child still sees the data of the fork.
 *   mprotect_cow (R3, R4): after fork the parent mprotects a shared page
 *       read-only and back, then writes it: the write copies, the child
 *       keeps the data of the fork (only an exclusive page gets write back).
 *   dio_read_fork (R3, R5): an O_DIRECT read into a buffer shared with a
 *       fork child reaches the parent only (GUP-fast must not take the
 *       read-only PTE for a write).
 *   pin_unshare (R4), dio_write 500 ms: an O_DIRECT write from a buffer
 *       shared with a fork child; the parent writes the buffer while the
 *       write is in flight: the file gets the parent's data (the read-only
 *       pin unshared the page first).
 *   fork_flush (R3, R6): a thread on CPU 1 writes a counter without a break
 *       while CPU 0 forks: the child's copy never changes.
 *   free_flush (R1), tlb_flush 50 ms: a reader on CPU 1 while CPU 0
 *       munmaps: it sees the data or SIGSEGV, never a freed (poisoned) page.
 *   mkwrite (R2), clean_for_io 300 ms, the flusher held: a shared file mapping
 *       written while fsync runs on CPU 1 between page_mkclean and the clear of
 *       PG_dirty: the write fault waits for the page lock until the page is
 *       clean; then written again, unmapped, fsync and POSIX_FADV_DONTNEED:
 *       every write is in the file.
 *   gup_zap (R5), gup_fast_ref 300 ms: an O_DIRECT write on CPU 1 from a
 *       buffer CPU 0 MADV_DONTNEEDs while GUP-fast holds its reference: the
 *       file gets zeros (what the buffer holds once the zap is done).
 *   fork_pin (R4, seed 003), gup_fast_walk and fork_wrprotect 100 ms: an
 *       O_DIRECT read on CPU 1 into a buffer while CPU 0 forks: the data
 *       reaches the parent only.
 *   pt_free (R5, R8), gup_fast_walk 500 ms, 2 tries: an O_DIRECT write on CPU 1 from
 *       a page whose PTE is gone, while CPU 0 munmaps it (its page table is
 *       freed) and maps another file's page at the same slot of new 2 MiB
 *       regions: the write fails (EFAULT), the file never gets the other
 *       file's data through a freed (and reused) page table.
 *   cow_concurrent, first_touch: two threads on two CPUs write their own
 *       word of the same 32 pages at once, COW pages shared with a fork
 *       child or fresh ones: every page ends with both words (the
 *       faults' PTE re-checks under the page-table lock).
 *   many_dirty (R2): 600 dirty pages of a shared file mapping dropped by
 *       MADV_DONTNEED (then unmapped): every write reaches the file, and the
 *       zap kept its delayed rmaps in the bundle and one batch: the scan
 *       under the page-table lock (tlb_rmap_scan_max) stays within
 *       TLB_RMAP_SCAN_BOUND (the flusher is held meanwhile, as in
 *       fs.delayed_rmaps_stay_in_two_batches).
 *   cow_flush (R6), tlb_flush 60 ms, 4 CPUs: one thread breaks COW, one
 *       writes the copy then a flag, one reads the flag then the data: it
 *       never sees the flag without the data.
 *   split_rmap (R2), split_vma 100 ms per split: O_DIRECT writes of a file's
 *       page 0 on CPU 1 while CPU 0 mprotects page 4 of a shared mapping of
 *       the file (two splits): the writes' rmap walks unmap page 0 only,
 *       never a page at an address computed from a half-split VMA.
 */
#include "tests/ktest_user.h"
#include "tests/ktest_fs.h"
#include "kernel/pause.h"
#include "kernel/smp.h"
#include "kernel/stats.h"
#include "mm/filemap.h"
#include "mm/mmu_gather.h"

struct delay {
	enum pause_id id;
	uint32_t us;
};

/* Run /bin/races MODE with the delays set for the run only; check it. */
static void races(struct ktest *t, const char *mode, int cpus, const struct delay *d, int nr)
{
	REQUIRE_FS(t);
	if (nr_cpus_online < cpus)
		KTEST_SKIP(t, cpus == 2 ? "needs 2 CPUs" : "needs 4 CPUs");
	uint32_t old[4];
	for (int i = 0; i < nr; i++) {
		old[i] = pause_points[d[i].id].delay_us;
		WRITE_ONCE(pause_points[d[i].id].delay_us, d[i].us);
	}
	char *const argv[] = { "/bin/races", (char *)mode, NULL };
	int status = run_program(t, "/bin/races", argv);
	for (int i = nr - 1; i >= 0; i--)
		WRITE_ONCE(pause_points[d[i].id].delay_us, old[i]);
	KEXPECT_EQ(t, status, 0);
	KEXPECT_FALSE(t, contains(out_buf, "not ok"));
	KEXPECT_TRUE(t, contains(out_buf, "\n1.."));
	if (status == 0 && contains(out_buf, "# inconclusive"))
		KTEST_SKIP(t, "inconclusive: the timing did not set the race up (see the log)");
}

static void fork_exclusive(struct ktest *t)
{
	races(t, "fork_exclusive", 1, NULL, 0);
}

static void mprotect_cow(struct ktest *t)
{
	races(t, "mprotect_cow", 1, NULL, 0);
}

static void dio_read_fork(struct ktest *t)
{
	races(t, "dio_read_fork", 1, NULL, 0);
}

static void pin_unshare(struct ktest *t)
{
	const struct delay d[] = { { PAUSE_DIO_WRITE, 500000 } };
	races(t, "pin_unshare", 2, d, 1);
}

static void fork_flush(struct ktest *t)
{
	races(t, "fork_flush", 2, NULL, 0);
}

static void free_flush(struct ktest *t)
{
	const struct delay d[] = { { PAUSE_TLB_FLUSH, 50000 } };
	races(t, "free_flush", 2, d, 1);
}

static void mkwrite(struct ktest *t)
{
	/* clean_for_io is passed for every cached page a writeback walks:
	 * without the flusher, only this program's file pays the delay. */
	const struct delay d[] = { { PAUSE_CLEAN_FOR_IO, 300000 } };
	flusher_hold();
	races(t, "mkwrite", 2, d, 1);
	flusher_release();
}

static void gup_zap(struct ktest *t)
{
	const struct delay d[] = { { PAUSE_GUP_FAST_REF, 300000 } };
	races(t, "gup_zap", 2, d, 1);
}

static void fork_pin(struct ktest *t)
{
	const struct delay d[] = { { PAUSE_GUP_FAST_WALK, 100000 },
				   { PAUSE_FORK_WRPROTECT, 100000 } };
	races(t, "fork_pin", 2, d, 2);
}

static void cow_flush(struct ktest *t)
{
	const struct delay d[] = { { PAUSE_TLB_FLUSH, 60000 } };
	races(t, "cow_flush", 4, d, 1);
}

static void pt_free(struct ktest *t)
{
	const struct delay d[] = { { PAUSE_GUP_FAST_WALK, 500000 } };
	races(t, "pt_free", 2, d, 1);
}

static void cow_concurrent(struct ktest *t)
{
	races(t, "cow_concurrent", 2, NULL, 0);
}

static void first_touch(struct ktest *t)
{
	races(t, "first_touch", 2, NULL, 0);
}

static void many_dirty(struct ktest *t)
{
	REQUIRE_FS(t);
	flusher_hold(); /* it would clean the PTEs behind the program's back */
	uint64_t delayed = event_sum(EV_DELAYED_RMAP);
	tlb_rmap_scan_max = 0;
	races(t, "many_dirty", 1, NULL, 0);
	uint64_t scanned = tlb_rmap_scan_max;
	flusher_release();
	delayed = event_sum(EV_DELAYED_RMAP) - delayed;
	ktest_log(t, "%lu delayed rmaps, at most %lu scanned under a lock (bound %lu)", delayed,
		  scanned, (uint64_t)TLB_RMAP_SCAN_BOUND);
	KEXPECT_GE(t, delayed, 600); /* the rule was exercised */
	KEXPECT_LE(t, scanned, TLB_RMAP_SCAN_BOUND);
}

static void split_rmap(struct ktest *t)
{
	const struct delay d[] = { { PAUSE_SPLIT_VMA, 100000 } };
	races(t, "split_rmap", 2, d, 1);
}

KTEST_SUITE(races, KTEST_CASE(fork_exclusive), KTEST_CASE(mprotect_cow), KTEST_CASE(dio_read_fork),
	    KTEST_CASE(pin_unshare), KTEST_CASE(fork_flush), KTEST_CASE(free_flush),
	    KTEST_CASE(mkwrite), KTEST_CASE(gup_zap), KTEST_CASE(fork_pin), KTEST_CASE(cow_flush),
	    KTEST_CASE(many_dirty), KTEST_CASE(pt_free), KTEST_CASE(cow_concurrent),
	    KTEST_CASE(first_touch), KTEST_CASE(split_rmap));
