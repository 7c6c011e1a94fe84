/*
 * tests/test_rusage.c - CPU time and fault accounting (kernel/rusage.c):
 * /bin/rusage (tests/user/rusage.c) checks getrusage, times, wait4's and
 * waitid's rusage and /proc/self/stat against user-mode spinning, a loop
 * of system calls, page faults (minor and major), a spinning child with a
 * spinning grandchild before and after it is reaped, an autoreaped child,
 * and the console tty's tty_nr/tpgid for a session that takes it.
 *
 *   checks: the program's every check passed, on any CPU, and the run
 *       really took the console as a controlling tty (so the tty_nr/tpgid
 *       check saw 1088 and its group, not the no-tty case).
 *   pinned_one_cpu: the same on CPU 0 only, the child and grandchild
 *       sharing the CPU with their waiting parent.
 */
#include "tests/ktest_user.h"
#include "tests/ktest_fs.h"

static void checks(struct ktest *t)
{
	REQUIRE_FS(t);
	run_checks(t, "/bin/rusage", "every check ran");
	KEXPECT_TRUE(t, contains(out_buf, "# tty: ours"));
}

static void pinned_one_cpu(struct ktest *t)
{
	REQUIRE_FS(t);
	char *const argv[] = { "/bin/rusage", NULL };
	KEXPECT_EQ(t, run_on(t, argv, 0), 0);
	KEXPECT_FALSE(t, contains(out_buf, "not ok"));
	KEXPECT_TRUE(t, contains(out_buf, "every check ran"));
}

KTEST_SUITE(rusage, KTEST_CASE(checks), KTEST_CASE(pinned_one_cpu));
