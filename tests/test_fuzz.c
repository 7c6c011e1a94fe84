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
#include "tests/ktest_fs.h"
#include "kernel/fs/fs.h"

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
	struct ktest_baseline before;
	int status = run_seeded_program(t, "/bin/sysfuzz", "fuzz", &before);
	KEXPECT_EQ(t, status, 0);
	KEXPECT_FALSE(t, contains(out_buf, "not ok"));
	KEXPECT_TRUE(t, contains(out_buf, "ok 2 /fz removed"));
	remove_fz(t);

	ktest_baseline_expect(t, &before);
}

KTEST_SUITE(fuzz, KTEST_CASE(syscalls));
