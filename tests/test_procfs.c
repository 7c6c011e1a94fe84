/*
 * tests/test_procfs.c - /proc (kernel/fs/procfs.c) from ring 3: each case
 * runs one part of /bin/procfs (tests/user/procfs.c, which says what each
 * checks) and wants exit status 0, no "not ok" and its last line.
 *
 *   maps: /proc/self/maps lines after mmap/mprotect/munmap, a file at an
 *       offset, [heap], [stack]; smaps_rollup Rss/Pss, Pss of pages shared
 *       after fork; a zombie's maps and status (MAPS_PGOFF_IN_PAGES,
 *       SMAPS_PSS_NOT_SHARED).
 *   pagemap: present/PFN/bits 56, 61, 63 as Linux 6.1, of itself and of a
 *       fork child (COW), EINVAL for unaligned reads, a read across two
 *       VMAs, reads after exit (PAGEMAP_EXCLUSIVE_BY_COUNT,
 *       PAGEMAP_UNALIGNED_OK, PAGEMAP_PROTNONE_NOT_PRESENT, PAGEMAP_VMA_ONCE).
 *   counters: pgfault, nr_tlb_remote_flush(_received) and the TLB row of
 *       /proc/interrupts, with two threads on two CPUs (TLB_IPI_NOT_COUNTED).
 *   status, cmdline, links, dirs: the rest (EXE_NOT_INHERITED).
 *   hostile: kernel and NULL buffers, huge counts and offsets, bad names:
 *       Linux's errno, never a kernel fault.
 *   no_leak: a /proc file held open across its process's exit and reap,
 *       then closed: every kfile and page back.
 */
#include "tests/ktest_user.h"
#include "tests/ktest_fs.h"
#include "kernel/file.h"
#include "kernel/percpu.h"

static void run_part(struct ktest *t, const char *part)
{
	REQUIRE_FS(t);
	char *const argv[] = { "/bin/procfs", (char *)part, NULL };
	KEXPECT_EQ(t, run_program(t, "/bin/procfs", argv), 0);
	KEXPECT_FALSE(t, contains(out_buf, "not ok"));
	KEXPECT_TRUE(t, contains(out_buf, "every check ran"));
}

static void maps(struct ktest *t)
{
	run_part(t, "maps");
}

static void pagemap(struct ktest *t)
{
	run_part(t, "pagemap");
}

static void counters(struct ktest *t)
{
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs");
	run_part(t, "counters");
}

static void status(struct ktest *t)
{
	run_part(t, "status");
}

static void cmdline(struct ktest *t)
{
	REQUIRE_FS(t);
	char *const argv[] = { "/bin/procfs", "cmdline", "a", "bb", "", "ccc", NULL };
	KEXPECT_EQ(t, run_program(t, "/bin/procfs", argv), 0);
	KEXPECT_FALSE(t, contains(out_buf, "not ok"));
	KEXPECT_TRUE(t, contains(out_buf, "every check ran"));
}

static void links(struct ktest *t)
{
	run_part(t, "links");
}

static void dirs(struct ktest *t)
{
	run_part(t, "dirs");
}

static void hostile(struct ktest *t)
{
	run_part(t, "hostile");
}

static void no_leak(struct ktest *t)
{
	REQUIRE_FS(t);
	int kf = kfile_nr_live();
	run_part(t, "pagemap"); /* holds a child's pagemap and maps past its reap */
	KEXPECT_EQ(t, kfile_nr_live(), kf);
}

KTEST_SUITE(procfs, KTEST_CASE(maps), KTEST_CASE(pagemap), KTEST_CASE(counters), KTEST_CASE(status),
	    KTEST_CASE(cmdline), KTEST_CASE(links), KTEST_CASE(dirs), KTEST_CASE(hostile),
	    KTEST_CASE(no_leak));
