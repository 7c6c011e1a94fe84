/*
 * tests/test_user.c - unmodified static programs in ring 3 (issue 11).
 *
 * Each case loads a program of the initrd's /bin with execve's loader
 * (kernel/exec.c), runs it in a user thread with stdin, stdout and stderr on
 * the console (kernel/console_file.c; the output is captured, then repeated
 * here as diagnostics), waits for it to end, and checks its wait status and
 * the KTAP lines it printed. Until the process model exists a program is one
 * thread whose tid is its pid.
 *
 *   hello_musl: /bin/hello (musl static) prints its KTAP report, exits 0.
 *   args_musl: /bin/args checks argv, envp and the auxv it was given.
 *   hello_glibc: /bin/hello-glibc (glibc static) prints and exits 0.
 *   files_musl: /bin/files makes the file calls from ring 3 through libc and
 *       raw syscalls: results, and errno for bad fds, NULL, kernel
 *       addresses and wrapping lengths.
 *   futex_musl: /bin/futex makes futex(2) calls from ring 3 (raw syscall):
 *       EAGAIN, ETIMEDOUT, EFAULT, EINVAL, ENOSYS as Linux 6.1 gives them.
 */
#include "tests/ktest_mm.h"
#include "tests/ktest_fs.h"
#include "kernel/exec.h"
#include "kernel/fdtable.h"
#include "kernel/console_file.h"
#include "kernel/syscall.h"
#include "kernel/process.h"
#include "kernel/stats.h"
#include "kernel/smp.h"
#include "kernel/string.h"

static bool contains(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (!memcmp(hay, needle, n))
			return true;
	return false;
}

static char out_buf[8192];
static volatile size_t out_len;
static spinlock_t out_lock;

static void capture(const char *s, size_t n)
{
	spin_lock(&out_lock);
	size_t room = sizeof(out_buf) - 1 - out_len;
	n = MIN(n, room);
	memcpy(out_buf + out_len, s, n);
	out_len += n;
	out_buf[out_len] = 0;
	spin_unlock(&out_lock);
}

struct prog_exit {
	struct completion done;
	volatile int status;
};

static void note_exit(struct thread *th, void *arg)
{
	struct prog_exit *e = arg;
	e->status = th->exit_status;
	complete(&e->done);
}

/* Run path with argv (NULL-terminated); its wait status, or -1. as_init:
 * as pid 1, the child reaper. */
static int run_program_as(struct ktest *t, const char *path, char *const argv[], bool as_init)
{
	static char *const envp[] = { "HOME=/", "TERM=dumb", NULL };
	spin_lock_init(&out_lock, "user-out");
	out_len = 0;
	out_buf[0] = 0;
	console_output_sink = capture;
	struct prog_exit e = { .status = -1 };
	init_completion(&e.done);
	int threads = sched_thread_count();
	int pid = process_spawn(path, argv, envp, as_init, note_exit, &e);
	if (pid < 0) {
		console_output_sink = NULL;
		ktest_fail(t, __FILE__, __LINE__, "starting %s: %d", path, pid);
		return -1;
	}
	bool ended = wait_for_completion_timeout(&e.done, 20000);
	if (!ended) { /* hung: kill it and its children, so the run goes on */
		ktest_log(t, "%s did not end in 20 s: killed (%d processes)", path,
			  kill_process_tree(pid, SIGKILL));
		wait_for_completion_timeout(&e.done, 5000);
	}
	ktest_wait_threads(threads);
	console_output_sink = NULL;
	for (char *line = out_buf, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl) {
			ktest_log(t, "%s: %s", path, line);
			break;
		}
		*nl = 0;
		ktest_log(t, "%s: %s", path, line);
		*nl = '\n';
	}
	if (!ended) {
		ktest_fail(t, __FILE__, __LINE__, "%s did not end", path);
		return -1;
	}
	return e.status;
}

static int run_program(struct ktest *t, const char *path, char *const argv[])
{
	return run_program_as(t, path, argv, false);
}

static void hello_musl(struct ktest *t)
{
	static char *const argv[] = { "/bin/hello", NULL };
	KEXPECT_EQ(t, run_program(t, "/bin/hello", argv), 0); /* exited 0 */
	KEXPECT_TRUE(t, contains(out_buf, "KTAP version 1\n1..1\nok 1 /bin/hello\n"));
	/* Again, now that the file's pages are cached: nothing else stays. */
	uint64_t before = ktest_free_pages();
	KEXPECT_EQ(t, run_program(t, "/bin/hello", argv), 0);
	KEXPECT_EQ(t, ktest_free_pages(), before); /* the mm and the fds went */
}

static void args_musl(struct ktest *t)
{
	static char *const argv[] = { "/bin/args", "argc=6",	    "arg=1=argc=6",
				      "envc=2",	   "env=TERM=dumb", "execfn=/bin/args",
				      NULL };
	KEXPECT_EQ(t, run_program(t, "/bin/args", argv), 0);
	KEXPECT_FALSE(t, contains(out_buf, "not ok"));
	KEXPECT_TRUE(t, contains(out_buf, "ok 1"));
}

static void hello_glibc(struct ktest *t)
{
	static char *const argv[] = { "/bin/hello-glibc", NULL };
	KEXPECT_EQ(t, run_program(t, "/bin/hello-glibc", argv), 0);
	KEXPECT_TRUE(t, contains(out_buf, "ok 1 /bin/hello-glibc\n"));
}

static void files_musl(struct ktest *t)
{
	REQUIRE_FS(t);
	static char *const argv[] = { "/bin/files", NULL };
	KEXPECT_EQ(t, run_program(t, "/bin/files", argv), 0);
	KEXPECT_FALSE(t, contains(out_buf, "not ok"));
	KEXPECT_TRUE(t, contains(out_buf, "ok 16 "));
}

/* Every check of /bin/proc passed: its last line counts them. */
static void run_checks(struct ktest *t, const char *path, const char *last)
{
	char *const argv[] = { (char *)path, NULL };
	KEXPECT_EQ(t, run_program(t, path, argv), 0);
	KEXPECT_FALSE(t, contains(out_buf, "not ok"));
	KEXPECT_TRUE(t, contains(out_buf, last));
}

static void proc_musl(struct ktest *t)
{
	REQUIRE_FS(t);
	run_checks(t, "/bin/proc", "every check ran");
}

static void proc_glibc(struct ktest *t)
{
	REQUIRE_FS(t);
	run_checks(t, "/bin/proc-glibc", "every check ran");
}

static void threads_musl(struct ktest *t)
{
	REQUIRE_FS(t);
	run_checks(t, "/bin/threads", "every check ran");
}

static void threads_glibc(struct ktest *t)
{
	REQUIRE_FS(t);
	run_checks(t, "/bin/threads-glibc", "every check ran");
}

/* As pid 1 (the init= program), /bin/proc's orphan is handed to it: the
 * orphan reads ppid 1 (without init it reads 0: no parent). */
static void proc_as_init(struct ktest *t)
{
	REQUIRE_FS(t);
	char *const argv[] = { "/bin/proc", NULL };
	KEXPECT_EQ(t, run_program_as(t, "/bin/proc", argv, true), 0);
	KEXPECT_FALSE(t, contains(out_buf, "not ok"));
	KEXPECT_TRUE(t, contains(out_buf, "# orphan's new ppid: 1\n"));
}

/* exit_group while sibling threads spin in user mode (no system calls) on
 * other CPUs: kill_thread's IPI brings each into the kernel at once, not
 * at its next timer tick (kills_on_resched_ipi counts those). */
static void exit_group_ipis_spinners(struct ktest *t)
{
	REQUIRE_FS(t);
	if (nr_cpus < 4)
		KTEST_SKIP(t, "needs 4 CPUs: three spinners and the main thread");
	char *const argv[] = { "/bin/threads", "spin-exit", "3", NULL };
	uint64_t ipi = event_sum(EV_KILL_ON_IPI), other = event_sum(EV_KILL_ON_OTHER);
	KEXPECT_EQ(t, run_program(t, "/bin/threads", argv), 5 << 8);
	ipi = event_sum(EV_KILL_ON_IPI) - ipi;
	other = event_sum(EV_KILL_ON_OTHER) - other;
	ktest_log(t, "spinners killed: %lu on the IPI, %lu on another entry", ipi, other);
	KEXPECT_GE(t, ipi, 1);
}

static void futex_musl(struct ktest *t)
{
	static char *const argv[] = { "/bin/futex", NULL };
	KEXPECT_EQ(t, run_program(t, "/bin/futex", argv), 0);
	KEXPECT_FALSE(t, contains(out_buf, "not ok"));
	KEXPECT_TRUE(t, contains(out_buf, "ok 18 "));
}

KTEST_SUITE(user, KTEST_CASE(hello_musl), KTEST_CASE(args_musl), KTEST_CASE(hello_glibc),
	    KTEST_CASE(files_musl), KTEST_CASE(proc_musl), KTEST_CASE(proc_glibc),
	    KTEST_CASE(threads_musl), KTEST_CASE(threads_glibc), KTEST_CASE(proc_as_init),
	    KTEST_CASE(exit_group_ipis_spinners), KTEST_CASE(futex_musl));
