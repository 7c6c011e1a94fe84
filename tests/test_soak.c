/*
 * tests/test_soak.c - the soak program (tests/user/soak.c) and what must
 * hold after it.
 *
 *   processes: /bin/soak SEED MS runs one process per CPU (each with a
 *       second thread) doing random mmap/munmap/mprotect/MADV_DONTNEED/
 *       mremap, writes through a shared file mapping and pwrite, pread and
 *       O_DIRECT reads, msync, fadvise(DONTNEED), truncate, fork (COW
 *       checked both ways), execve and vmsplice against a model of every
 *       page, for soak.ms milliseconds (3000 in make test; make soak
 *       SOAK_SECONDS=N runs longer, at 8 CPUs). Afterwards: no lost write
 *       (the files read back from the disk match the model), every
 *       process, page, heap byte and open file is back, fsck is clean. The
 *       seed is soak.seed= (default: from the clock) and printed.
 */
#include "tests/ktest_user.h"
#include "tests/ktest_fs.h"

static void processes(struct ktest *t)
{
	REQUIRE_FS(t);
	struct ktest_baseline before;
	KEXPECT_EQ(t, run_seeded_program(t, "/bin/soak", "soak", &before), 0);
	KEXPECT_FALSE(t, contains(out_buf, "not ok"));
	KEXPECT_TRUE(t, contains(out_buf, "ok 2 /soak removed"));
	ktest_baseline_expect(t, &before);
}

KTEST_SUITE(soak, KTEST_CASE(processes));
