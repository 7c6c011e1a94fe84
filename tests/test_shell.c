/*
 * tests/test_shell.c - issue 15's /proc files and busybox (the `shell`
 * suite). Two kinds of cases:
 *
 *   procfiles_*  one part of /bin/procfiles (tests/user/procfiles.c, which
 *       says what each part checks: /proc/PID/stat, statm, fd/, meminfo,
 *       the global files, readdir of /proc), exit status 0, no "not ok"
 *       (PROC_STAT_RSS_BYTES, PROC_STATM_RSS_ANON_ONLY,
 *       MEMINFO_FREE_IS_TOTAL, PROC_READDIR_SKIPS_PID, PROC_FD_PIPE_NAME).
 *   bb_*  Debian's busybox 1.35 (/bin/busybox in the initrd, tools/busybox.sh)
 *       run as a program, its output checked: ps lists itself, free's
 *       total is MemTotal, uptime's load average, top -b -n 1's summary
 *       and its own line (skipped while chdir is missing), df (skipped while
 *       statfs is missing), a shell
 *       with a redirection and a pipe, the applet links of /bin, /proc
 *       read by the shell, a program killed by a signal while the shell
 *       carries on. Skipped when the initrd has no busybox (no network
 *       when it was built).
 */
#include "tests/ktest_user.h"
#include "tests/ktest_fs.h"
#include "kernel/file.h"
#include "kernel/string.h"
#include "kernel/printk.h"
#include "mm/page.h"

static void run_part(struct ktest *t, const char *part)
{
	REQUIRE_FS(t);
	char *const argv[] = { "/bin/procfiles", (char *)part, NULL };
	KEXPECT_EQ(t, run_program(t, "/bin/procfiles", argv), 0);
	KEXPECT_FALSE(t, contains(out_buf, "not ok"));
	KEXPECT_TRUE(t, contains(out_buf, "every check ran"));
}

static void procfiles_stat(struct ktest *t)
{
	run_part(t, "stat");
}

static void procfiles_statm(struct ktest *t)
{
	run_part(t, "statm");
}

static void procfiles_fd(struct ktest *t)
{
	run_part(t, "fd");
}

static void procfiles_meminfo(struct ktest *t)
{
	run_part(t, "meminfo");
}

static void procfiles_global(struct ktest *t)
{
	run_part(t, "global");
}

static void procfiles_readdir(struct ktest *t)
{
	run_part(t, "readdir");
}

/* ---- busybox ---------------------------------------------------------------- */

static bool have_busybox(void)
{
	struct kfile *f;
	if (kfile_open_path("/bin/busybox", O_RDONLY, &f) < 0)
		return false;
	kfile_put(f);
	return true;
}

#define REQUIRE_BUSYBOX(t)                                                                 \
	do {                                                                               \
		REQUIRE_FS(t);                                                             \
		if (!have_busybox())                                                       \
			KTEST_SKIP(t, "no /bin/busybox in the initrd (tools/busybox.sh)"); \
	} while (0)

/* busybox with argv (argv[0] "busybox"): its wait status. */
static int bb(struct ktest *t, char *const argv[])
{
	return run_program(t, "/bin/busybox", argv);
}

static void bb_ps(struct ktest *t)
{
	REQUIRE_BUSYBOX(t);
	char *const argv[] = { "busybox", "ps", NULL };
	KEXPECT_EQ(t, bb(t, argv), 0);
	KEXPECT_TRUE(t, contains(out_buf, "PID"));
	KEXPECT_TRUE(t, contains(out_buf, "COMMAND"));
	KEXPECT_TRUE(t, contains(out_buf, "busybox ps")); /* itself, by its cmdline */
}

static void bb_free(struct ktest *t)
{
	REQUIRE_BUSYBOX(t);
	char *const argv[] = { "busybox", "free", NULL };
	KEXPECT_EQ(t, bb(t, argv), 0);
	char total[32];
	snprintf(total, sizeof(total), " %lu ", nr_total_pages() * (PAGE_SIZE / 1024));
	KEXPECT_TRUE(t, contains(out_buf, "buff/cache"));
	KEXPECT_TRUE(t, contains(out_buf, "Mem:"));
	KEXPECT_TRUE(t, contains(out_buf, total)); /* sysinfo's totalram in KiB */
}

static void bb_uptime(struct ktest *t)
{
	REQUIRE_BUSYBOX(t);
	char *const argv[] = { "busybox", "uptime", NULL };
	KEXPECT_EQ(t, bb(t, argv), 0);
	KEXPECT_TRUE(t, contains(out_buf, " up "));
	KEXPECT_TRUE(t, contains(out_buf, "load average: "));
}

static void bb_top(struct ktest *t)
{
	REQUIRE_BUSYBOX(t);
	char *const argv[] = { "busybox", "top", "-b", "-n", "1", NULL };
	int st = bb(t, argv);
	if (contains(out_buf, "can't change directory to '/proc'"))
		KTEST_SKIP(t, "no chdir(2) in this kernel yet");
	KEXPECT_EQ(t, st, 0);
	KEXPECT_TRUE(t, contains(out_buf, "Mem: "));
	KEXPECT_TRUE(t, contains(out_buf, "CPU:"));
	KEXPECT_TRUE(t, contains(out_buf, "Load average: "));
	KEXPECT_TRUE(t, contains(out_buf, "PID"));
	KEXPECT_TRUE(t, contains(out_buf, "busybox top")); /* its own line */
}

static void bb_df(struct ktest *t)
{
	REQUIRE_BUSYBOX(t);
	char *const argv[] = { "busybox", "df", NULL };
	int st = bb(t, argv);
	if (contains(out_buf, "Function not implemented"))
		KTEST_SKIP(t, "no statfs(2) in this kernel yet");
	KEXPECT_EQ(t, st, 0);
	KEXPECT_TRUE(t, contains(out_buf, "Mounted on"));
	KEXPECT_TRUE(t, contains(out_buf, "/dev/root"));
}

static void bb_sh_pipe(struct ktest *t)
{
	REQUIRE_BUSYBOX(t);
	char *const argv[] = {
		"busybox", "sh", "-c",
		"echo hi > /shell_f; cat /shell_f | wc -c; rm -f /shell_f; echo done", NULL
	};
	KEXPECT_EQ(t, bb(t, argv), 0);
	KEXPECT_TRUE(t, contains(out_buf, "3\ndone\n"));
}

static void bb_applets(struct ktest *t)
{
	REQUIRE_BUSYBOX(t);
	/* /bin/cat, /bin/echo, /bin/uname: symbolic links to busybox, run by
	 * execve from the shell */
	char *const argv[] = { "busybox", "sh", "-c",
			       "/bin/cat /hello.txt; /bin/echo via-link; /bin/uname -s", NULL };
	KEXPECT_EQ(t, bb(t, argv), 0);
	KEXPECT_TRUE(t, contains(out_buf, "hello from the RAM disk\n"));
	KEXPECT_TRUE(t, contains(out_buf, "via-link\n"));
	KEXPECT_TRUE(t, contains(out_buf, "Linux\n"));
}

static void bb_proc(struct ktest *t)
{
	REQUIRE_BUSYBOX(t);
	char *const argv[] = { "busybox", "sh", "-c",
			       "ls /proc; cat /proc/self/statm; head -n 1 /proc/meminfo; "
			       "readlink /proc/self/exe",
			       NULL };
	KEXPECT_EQ(t, bb(t, argv), 0);
	KEXPECT_TRUE(t, contains(out_buf, "meminfo"));
	KEXPECT_TRUE(t, contains(out_buf, "loadavg"));
	KEXPECT_TRUE(t, contains(out_buf, "MemTotal:"));
	KEXPECT_TRUE(t, contains(out_buf, "/bin/busybox\n"));
}

static void bb_crash(struct ktest *t)
{
	REQUIRE_BUSYBOX(t);
	/* a program killed by SIGSEGV: the shell sees 128 + 11 and goes on */
	char *const argv[] = { "busybox", "sh", "-c", "/bin/fault pf; echo after=$?", NULL };
	KEXPECT_EQ(t, bb(t, argv), 0);
	KEXPECT_TRUE(t, contains(out_buf, "after=139\n"));
}

KTEST_SUITE(shell, KTEST_CASE(procfiles_stat), KTEST_CASE(procfiles_statm),
	    KTEST_CASE(procfiles_fd), KTEST_CASE(procfiles_meminfo), KTEST_CASE(procfiles_global),
	    KTEST_CASE(procfiles_readdir), KTEST_CASE(bb_ps), KTEST_CASE(bb_free),
	    KTEST_CASE(bb_uptime), KTEST_CASE(bb_top), KTEST_CASE(bb_df), KTEST_CASE(bb_sh_pipe),
	    KTEST_CASE(bb_applets), KTEST_CASE(bb_proc), KTEST_CASE(bb_crash));
