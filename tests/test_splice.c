/*
 * tests/test_splice.c - suite `splice`: vmsplice, splice, tee,
 * process_vm_readv/writev and O_DIRECT from ring 3 (issue 13), and the
 * historic races as user programs with threads pinned to CPUs
 * (tests/user/splice.c, tests/user/pvm.c). Where a race needs a wider
 * window than the machine gives, the case sets the dio_pinned pause delay
 * (the O_DIRECT read's pin-to-transfer time) for the program's run and
 * resets it after: the program is the same for every kernel and mutant.
 *
 *   vmsplice_splice_tee      data and errno rules of vmsplice/splice/tee
 *   vmsplice_pages_released  the pipe drops the page references vmsplice
 *                            took (mutation PIPE_BUF_RELEASE_NO_PUT)
 *   vmsplice_leak_cve_2020_29374  a fork child vmsplices a page shared
 *                            with the parent, unmaps it, exits; the
 *                            parent writes: the pipe has the old data
 *                            (R3, COW_BY_MAPCOUNT)
 *   odirect_alignment        512-byte alignment, EOF, batches; no pin left
 *   process_vm               process_vm_readv/writev data and errno rules
 *   race_odirect_vs_fork     seed 003 from user space (NO_PRECOW_PINNED)
 *   race_odirect_mprotect    a pin kept through mprotect round trips (R4,
 *                            ANON_EXCLUSIVE_IGNORED)
 *   race_odirect_vs_munmap   O_DIRECT against munmap/remap of its buffer
 *   race_pvm_vs_exit         process_vm_readv against the target's exit
 *   vmsplice_ref_limit       with the page reference limit lowered for the
 *                            run, vmsplice of one page into many pipes is
 *                            refused at it (GUP_NO_REF_OVERFLOW_CHECK)
 */
#include "tests/ktest.h"
#include "tests/ktest_user.h"
#include "tests/ktest_mm.h"
#include "tests/ktest_fs.h"
#include "kernel/pause.h"
#include "kernel/printk.h"
#include "mm/gup.h"

static void expect_clean_run(struct ktest *t, int status)
{
	KEXPECT_EQ(t, status, 0);
	KEXPECT_FALSE(t, contains(out_buf, "not ok"));
	KEXPECT_TRUE(t, contains(out_buf, "# every check ran"));
}

static void run_mode(struct ktest *t, const char *path, const char *mode, const char *arg)
{
	char *const argv[] = { (char *)path, (char *)mode, (char *)arg, NULL };
	uint64_t pins = pinned_pages_outstanding();
	expect_clean_run(t, run_program(t, path, argv));
	KEXPECT_EQ(t, pinned_pages_outstanding(), pins); /* every pin dropped */
}

static void vmsplice_splice_tee(struct ktest *t)
{
	REQUIRE_FS(t);
	run_mode(t, "/bin/splice", "basic", NULL);
}

static void vmsplice_leak_cve_2020_29374(struct ktest *t)
{
	run_mode(t, "/bin/splice", "leak", NULL);
}

/* 24 rounds, each leaving a page only the pipe holds once the parent
 * copied: a pipe that forgets put_page leaks them all. */
static void vmsplice_pages_released(struct ktest *t)
{
	run_mode(t, "/bin/splice", "leak", NULL); /* warm: slabs, the program's pages */
	uint64_t before = ktest_free_pages();
	run_mode(t, "/bin/splice", "leak", NULL);
	uint64_t after = ktest_free_pages();
	ktest_log(t, "free pages %lu before, %lu after", before, after);
	KEXPECT_LT(t, before - MIN(before, after), 8);
}

/* The page reference limit from a program: lowered to 4096 for the run
 * (two billion references are out of any program's reach), vmsplice of
 * one page into pipe after pipe must be refused near it
 * (GUP_NO_REF_OVERFLOW_CHECK: never refused). */
static void vmsplice_ref_limit(struct ktest *t)
{
	enum { LIMIT = 4096 };
	int saved = page_ref_limit;
	WRITE_ONCE(page_ref_limit, LIMIT);
	char arg[16];
	snprintf(arg, sizeof(arg), "%d", LIMIT);
	run_mode(t, "/bin/splice", "reflimit", arg);
	WRITE_ONCE(page_ref_limit, saved);
}

static void odirect_alignment(struct ktest *t)
{
	REQUIRE_FS(t);
	run_mode(t, "/bin/splice", "odirect", NULL);
}

static void process_vm(struct ktest *t)
{
	run_mode(t, "/bin/pvm", "basic", NULL);
}

#define DIO_DELAY_US 200000 /* 200 ms between the pin and the transfer */

static void run_with_dio_delay(struct ktest *t, const char *mode, uint32_t us)
{
	static char arg[16];
	snprintf(arg, sizeof(arg), "%u", us);
	WRITE_ONCE(pause_points[PAUSE_DIO_PINNED].delay_us, us);
	run_mode(t, "/bin/splice", mode, arg);
	WRITE_ONCE(pause_points[PAUSE_DIO_PINNED].delay_us, 0);
}

static void race_odirect_vs_fork(struct ktest *t)
{
	REQUIRE_FS(t);
	run_with_dio_delay(t, "race-fork", DIO_DELAY_US);
}

static void race_odirect_mprotect(struct ktest *t)
{
	REQUIRE_FS(t);
	run_with_dio_delay(t, "race-mprotect", DIO_DELAY_US);
}

static void race_odirect_vs_munmap(struct ktest *t)
{
	REQUIRE_FS(t);
	run_with_dio_delay(t, "race-munmap", 2000);
}

static void race_pvm_vs_exit(struct ktest *t)
{
	run_mode(t, "/bin/pvm", "race-exit", NULL);
}

KTEST_SUITE(splice, KTEST_CASE(vmsplice_splice_tee), KTEST_CASE(vmsplice_leak_cve_2020_29374),
	    KTEST_CASE(vmsplice_pages_released), KTEST_CASE(odirect_alignment),
	    KTEST_CASE(process_vm), KTEST_CASE(race_odirect_vs_fork),
	    KTEST_CASE(race_odirect_mprotect), KTEST_CASE(race_odirect_vs_munmap),
	    KTEST_CASE(race_pvm_vs_exit), KTEST_CASE(vmsplice_ref_limit));
