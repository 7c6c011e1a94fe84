/*
 * tests/ktest_user.c - running user programs from a test case: start them
 * (one or several at once, on chosen CPUs), capture what they print on the
 * console, wait for them with a timeout (a program that hangs is killed with
 * its children, so the run goes on), and check their wait status and
 * output. Used by every suite that runs programs of the initrd's /bin.
 */
#include "tests/ktest_user.h"
#include "kernel/exec.h"
#include "kernel/fdtable.h"
#include "kernel/console_file.h"
#include "kernel/process.h"
#include "kernel/signal.h"
#include "kernel/smp.h"
#include "kernel/string.h"
#include "mm/kmalloc.h"
#include "tests/ktest_mm.h"
#include "kernel/file.h"
#include "kernel/fs/fs.h"
#include "kernel/cmdline.h"
#include "kernel/printk.h"

bool contains(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (!memcmp(hay, needle, n))
			return true;
	return false;
}

char out_buf[8192];
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

static void note_exit(struct thread *th, void *arg)
{
	struct prog_exit *e = arg;
	e->status = th->exit_status;
	complete(&e->done);
}

/* ---- programs started by the test, one or many at once ------------------- */

/* Start path with argv on cpu (as pid 1 if as_init), output captured (the
 * caller reset it). */
bool start_program(struct ktest *t, const char *path, char *const argv[], int cpu, bool as_init,
		   struct prog_run *run)
{
	static char *const envp[] = { "HOME=/", "TERM=dumb", NULL };
	run->e.status = -1;
	init_completion(&run->e.done);
	run->pid = process_spawn(path, argv, envp, cpu, as_init, note_exit, &run->e);
	if (run->pid < 0)
		ktest_fail(t, __FILE__, __LINE__, "starting %s: %d", path, run->pid);
	return run->pid > 0;
}

/* Its wait status, or -1 if it did not end within timeout_ms: then it is
 * killed with its children, so the run goes on. */
int wait_program(struct ktest *t, const char *path, struct prog_run *run, uint64_t timeout_ms)
{
	if (run->pid <= 0)
		return -1;
	if (wait_for_completion_timeout(&run->e.done, timeout_ms))
		return run->e.status;
	ktest_fail(t, __FILE__, __LINE__, "%s did not end in %lu ms: killed (%d processes)", path,
		   timeout_ms, kill_process_tree(run->pid, SIGKILL));
	wait_for_completion_timeout(&run->e.done, 5000);
	return -1;
}

void capture_begin(void)
{
	spin_lock_init(&out_lock, "user-out");
	out_len = 0;
	out_buf[0] = 0;
	console_output_sink = capture;
}

/* Stop capturing and repeat the output as diagnostics. */
void capture_end(struct ktest *t)
{
	console_output_sink = NULL;
	for (char *line = out_buf, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl) {
			ktest_log(t, "%s", line);
			break;
		}
		*nl = 0;
		ktest_log(t, "%s", line);
		*nl = '\n';
	}
}

/* Run nr programs at once (argvs[i], on cpus[i]); their wait statuses in
 * status[] (-1: did not start or did not end within timeout_ms). */
void run_programs(struct ktest *t, int nr, char *const *argvs[], const int cpus[], int status[],
		  uint64_t timeout_ms)
{
	struct prog_run *runs = kzalloc(sizeof(*runs) * (size_t)nr);
	if (!runs) {
		ktest_fail(t, __FILE__, __LINE__, "no memory");
		return;
	}
	int threads = sched_thread_count();
	capture_begin();
	for (int i = 0; i < nr; i++)
		start_program(t, argvs[i][0], argvs[i], cpus[i], false, &runs[i]);
	uint64_t deadline = ktime_get_ns() + timeout_ms * 1000000ull;
	for (int i = 0; i < nr; i++) {
		uint64_t now = ktime_get_ns(), left = now < deadline ? deadline - now : 0;
		status[i] = wait_program(t, argvs[i][0], &runs[i], left / 1000000 + 1);
	}
	ktest_wait_threads(threads);
	capture_end(t);
	kfree(runs);
}

int run_on(struct ktest *t, char *const argv[], int cpu)
{
	int status;
	char *const *argvs[1] = { argv };
	run_programs(t, 1, argvs, &cpu, &status, 20000);
	return status;
}

/* Run path with argv (NULL-terminated); its wait status, or -1. as_init:
 * as pid 1, the child reaper. */
int run_program_as(struct ktest *t, const char *path, char *const argv[], bool as_init)
{
	struct prog_run run;
	int threads = sched_thread_count();
	capture_begin();
	start_program(t, path, argv, CPU_ANY, as_init, &run);
	int status = wait_program(t, path, &run, 20000);
	ktest_wait_threads(threads);
	capture_end(t);
	return status;
}

int run_program(struct ktest *t, const char *path, char *const argv[])
{
	return run_program_as(t, path, argv, false);
}

/* path (no arguments) exited 0, printed no "not ok", and printed last. */
void run_checks(struct ktest *t, const char *path, const char *last)
{
	char *const argv[] = { (char *)path, NULL };
	KEXPECT_EQ(t, run_program(t, path, argv), 0);
	KEXPECT_FALSE(t, contains(out_buf, "not ok"));
	KEXPECT_TRUE(t, contains(out_buf, last));
}

void ktest_baseline_take(struct ktest_baseline *b)
{
	fs_drop_caches();
	b->threads = sched_thread_count();
	b->files = kfile_nr_live();
	b->heap = kmalloc_bytes_in_use();
	b->kept = ktest_kept_pages();
	b->pages = nr_free_pages();
}

void ktest_baseline_expect(struct ktest *t, const struct ktest_baseline *before)
{
	struct ktest_baseline after;
	ktest_baseline_take(&after);
	KEXPECT_EQ(t, after.threads, before->threads);
	KEXPECT_EQ(t, after.files, before->files);
	KEXPECT_EQ(t, after.heap, before->heap);
	KEXPECT_EQ(t, after.pages + (after.kept - before->kept), before->pages);
	char err[160] = "";
	int r = fs_sync_and_check(err, sizeof(err));
	if (r)
		ktest_fail(t, __FILE__, __LINE__, "fsck: %s (%d)", err, r);
}

int run_program_long(struct ktest *t, char *const argv[], uint64_t timeout_ms)
{
	struct prog_run run;
	int threads = sched_thread_count(), status = -1;
	capture_begin();
	if (start_program(t, argv[0], argv, CPU_ANY, false, &run)) {
		uint64_t deadline = ktime_get_ns() + timeout_ms * 1000000ull;
		while (!wait_for_completion_timeout(&run.e.done, 1000) && ktime_get_ns() < deadline)
			ktest_progress();
		status = wait_program(t, argv[0], &run, 1000);
	}
	ktest_wait_threads(threads);
	capture_end(t);
	return status;
}

int run_seeded_program(struct ktest *t, const char *prog, const char *name,
		       struct ktest_baseline *before)
{
	char key[32], seed_s[24], ms_s[24];
	snprintf(key, sizeof(key), "%s.ms", name);
	uint64_t ms = cmdline_ulong(key, 3000);
	snprintf(key, sizeof(key), "%s.seed", name);
	snprintf(seed_s, sizeof(seed_s), "%lu", cmdline_ulong(key, ktime_get_ns() % 1000000007ull));
	snprintf(ms_s, sizeof(ms_s), "%lu", ms);
	ktest_log(t, "%s SEED %s, MS %s (replay: %s.seed=%s)", prog, seed_s, ms_s, name, seed_s);
	char *const warm[] = { (char *)prog, "1", "1", "1", NULL };
	run_program(t, prog, warm); /* what it caches for good */
	ktest_baseline_take(before);
	char *const argv[] = { (char *)prog, seed_s, ms_s, NULL };
	return run_program_long(t, argv, ms + 60000);
}
