/*
 * tests/test_fuzz.c - the system-call fuzzer (tests/user/sysfuzz.c) and
 * what must hold after it.
 *
 *   syscalls: /bin/sysfuzz SEED MS runs its workers (two per CPU, pinned,
 *       with a second thread each that keeps unmapping what the first one
 *       passes to the kernel) for fuzz.ms milliseconds (3000 in make test;
 *       make fuzz-syscalls FUZZ_SECONDS=N runs longer), then kills and reaps
 *       them. Afterwards: the kernel did not panic or fault (the run would
 *       stop), the program reaped every worker and removed its files, every
 *       thread is gone, every page and every heap byte is back (once the
 *       file caches are dropped), no open file is left, and the file system
 *       checks clean. The seed is fuzz.seed= (default: from the clock) and
 *       printed, so a failure can be replayed.
 */
#include "tests/ktest_user.h"
#include "tests/ktest_mm.h"
#include "tests/ktest_fs.h"
#include "kernel/cmdline.h"
#include "kernel/file.h"
#include "kernel/fs/fs.h"
#include "kernel/printk.h"
#include "kernel/smp.h"
#include "kernel/string.h"
#include "mm/kmalloc.h"

static char *fmt_ulong(char *p, uint64_t v)
{
	char tmp[24];
	int n = 0;
	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (n)
		*p++ = tmp[--n];
	*p = 0;
	return p;
}

struct fuzz_baseline {
	int threads, files;
	uint64_t heap, pages, kept;
};

static void baseline(struct fuzz_baseline *b)
{
	fs_drop_caches();
	b->threads = sched_thread_count();
	b->files = kfile_nr_live();
	b->heap = kmalloc_bytes_in_use();
	b->kept = ktest_kept_pages();
	b->pages = nr_free_pages();
}

/* Whatever the program could not remove under /fz: logged, then removed
 * (so a failure here does not spill into later suites). */
struct leftover {
	struct ktest *t;
	char path[SFS_NAME_MAX + 8];
};

static void log_leftover(const char *name, bool dir, uint64_t size, void *arg)
{
	struct leftover *l = arg;
	ktest_log(l->t, "left under /fz: %s%s (%lu bytes)", name, dir ? "/" : "", size);
}

static void remove_fz(struct ktest *t)
{
	struct leftover l = { .t = t };
	if (vfs_readdir("/fz", log_leftover, &l) == 0)
		ktest_fail(t, __FILE__, __LINE__, "/fz is still there");
	static const char *const names[] = { "/fz/d/x", "/fz/d/y", "/fz/d/z", "/fz/d",
					     "/fz/a",	"/fz/b",   "/fz/e",   "/fz" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		vfs_unlink(names[i]);
}

static void syscalls(struct ktest *t)
{
	REQUIRE_FS(t);
	uint64_t ms = cmdline_ulong("fuzz.ms", 3000);
	uint64_t seed = cmdline_ulong("fuzz.seed", ktime_get_ns() % 1000000007ull);
	char seed_s[24], ms_s[24];
	fmt_ulong(seed_s, seed);
	fmt_ulong(ms_s, ms);
	ktest_log(t, "seed %s (replay: make fuzz-syscalls FUZZ_SEED=%s), %s ms", seed_s, seed_s,
		  ms_s);

	/* Warm the caches the run will fill for good (the program's pages,
	 * /bin/hello's, which workers execve), then measure. */
	char *const warm[] = { "/bin/sysfuzz", "1", "1", "1", NULL };
	run_program(t, "/bin/sysfuzz", warm);
	struct fuzz_baseline before, after;
	baseline(&before);

	char *const argv[] = { "/bin/sysfuzz", seed_s, ms_s, NULL };
	struct prog_run run;
	capture_begin();
	int status = -1;
	if (start_program(t, "/bin/sysfuzz", argv, CPU_ANY, false, &run)) {
		uint64_t deadline = ktime_get_ns() + (ms + 30000) * 1000000ull;
		while (!wait_for_completion_timeout(&run.e.done, 1000) && ktime_get_ns() < deadline)
			ktest_progress();
		status = wait_program(t, "/bin/sysfuzz", &run, 1000);
	}
	ktest_wait_threads(before.threads);
	capture_end(t);
	KEXPECT_EQ(t, status, 0);
	KEXPECT_FALSE(t, contains(out_buf, "not ok"));
	KEXPECT_TRUE(t, contains(out_buf, "ok 2 /fz removed"));
	remove_fz(t);

	baseline(&after);
	KEXPECT_EQ(t, after.threads, before.threads);
	KEXPECT_EQ(t, after.files, before.files);
	KEXPECT_EQ(t, after.heap, before.heap);
	KEXPECT_EQ(t, after.pages + (after.kept - before.kept), before.pages);
	char err[160] = "";
	int r = fs_sync_and_check(err, sizeof(err));
	if (r)
		ktest_fail(t, __FILE__, __LINE__, "fsck after the fuzzer: %s (%d)", err, r);
}

KTEST_SUITE(fuzz, KTEST_CASE(syscalls));
