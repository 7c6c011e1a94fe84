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
 *   mmap_musl: /bin/mmap maps files by fd (kernel/sys_mm.c): shared writes
 *       reach the file (read() after munmap, O_DIRECT after fsync), the
 *       mapping outlives close and unlink, Linux's errno for bad arguments;
 *       no kfile is left behind.
 *   faults_musl: /bin/fault raises each CPU exception from ring 3 (one run
 *       per exception, on CPUs in turn): each ends with Linux 6.1's signal
 *       in the wait status, and the kernel carries on (/bin/fault none
 *       exits 0 after them).
 *   sysret_musl: /bin/sysret runs `syscall` from the last two bytes below
 *       TASK_SIZE_MAX: SIGSEGV at the return address, the kernel carries on.
 *   fpu_musl: copies of /bin/fpu on every CPU at once (two per CPU, each
 *       with its own seed, CPU_ANY so they migrate), yielding thousands of
 *       times: all get bit-exact x87 and SSE results.
 *   init_process: kernel/init.c's start_init_process/wait_init_process run
 *       /bin/args with arguments as pid 1 (what init= does at boot).
 *   time_musl, time_glibc: /bin/time and /bin/time-glibc: the clocks, sleeps
 *       and CPU-time clocks (tests/user/time.c) through each libc.
 *   misc_musl: /bin/misc: ids, uname, getrandom, sysinfo, rlimits, robust
 *       list, rseq, prctl, sched_* queries and affinity on every CPU.
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
#include "kernel/pause.h"
#include "kernel/string.h"
#include "kernel/file.h"
#include "kernel/init.h"
#include "kernel/printk.h"
#include "mm/kmalloc.h"

#include "tests/ktest_user.h"

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

/* /bin/threads again, with 3 ms between a dying thread leaving the count
 * and its wake-up of an execve waiting in de_thread: a wake-up before the
 * count changes (EXIT_WAKE_BEFORE_COUNT) lets de_thread see the old count
 * and sleep for good, and the program never ends. */
static void exec_waits_for_threads(struct ktest *t)
{
	REQUIRE_FS(t);
	uint32_t old = pause_points[PAUSE_EXIT_THREAD].delay_us;
	WRITE_ONCE(pause_points[PAUSE_EXIT_THREAD].delay_us, 3000);
	run_checks(t, "/bin/threads", "every check ran");
	WRITE_ONCE(pause_points[PAUSE_EXIT_THREAD].delay_us, old);
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

static void mmap_musl(struct ktest *t)
{
	REQUIRE_FS(t);
	static char *const argv[] = { "/bin/mmap", NULL };
	int files = kfile_nr_live();
	KEXPECT_EQ(t, run_on(t, argv, CPU_ANY), 0);
	KEXPECT_FALSE(t, contains(out_buf, "not ok"));
	KEXPECT_TRUE(t, contains(out_buf, "ok 46 "));
	KEXPECT_EQ(t, kfile_nr_live(), files); /* mmap put the fd's reference */
}

#define SKIPPED_HERE (77 << 8) /* /bin/fault: the exception cannot be raised here */

/* Linux 6.1's signal for each (arch/x86/kernel/traps.c). */
static void faults_musl(struct ktest *t)
{
	static const struct {
		const char *name;
		int sig;
	} cases[] = {
		{ "de", SIGFPE },  { "ud", SIGILL },   { "gp", SIGSEGV },  { "pf", SIGSEGV },
		{ "bp", SIGTRAP }, { "of", SIGSEGV },  { "ss", SIGBUS },   { "np", SIGBUS },
		{ "ac", SIGBUS },  { "mf", SIGFPE },   { "xm", SIGFPE },   { "db", SIGTRAP },
		{ "io", SIGSEGV }, { "hlt", SIGSEGV }, { "cli", SIGSEGV },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *argv[] = { "/bin/fault", (char *)cases[i].name, NULL };
		int cpu = ktest_other_cpu(cpu_id(), (int)i);
		int st = run_on(t, argv, cpu);
		const char *name = cases[i].name;
		bool may_skip = !strcmp(name, "np") || !strcmp(name, "ac") || !strcmp(name, "xm");
		if (st == SKIPPED_HERE && may_skip)
			ktest_log(t, "fault %s: not raised on this CPU/emulator (see above)", name);
		else if (!strcmp(name, "ss") && st == SIGSEGV)
			ktest_log(t, "fault ss: SIGSEGV: the CPU raised #GP for the non-canonical "
				     "stack reference (QEMU's TCG does; a CPU raises #SS: SIGBUS)");
		else if (st != cases[i].sig)
			ktest_fail(t, __FILE__, __LINE__, "fault %s on CPU %d: status %#x, want %d",
				   cases[i].name, cpu, st, cases[i].sig);
	}
	static char *const none[] = { "/bin/fault", "none", NULL };
	KEXPECT_EQ(t, run_on(t, none, CPU_ANY), 0); /* the kernel carries on */
}

static void sysret_musl(struct ktest *t)
{
	static char *const argv[] = { "/bin/sysret", NULL };
	uint64_t irets = __atomic_load_n(&syscall_iret_returns, __ATOMIC_RELAXED);
	KEXPECT_EQ(t, run_on(t, argv, CPU_ANY), SIGSEGV);
	KEXPECT_TRUE(t, contains(out_buf, "ok 2 map the last user page"));
	KEXPECT_FALSE(t, contains(out_buf, "not ok"));
	KEXPECT_GT(t, __atomic_load_n(&syscall_iret_returns, __ATOMIC_RELAXED), irets);
	static char *const hello[] = { "/bin/hello", NULL };
	KEXPECT_EQ(t, run_on(t, hello, CPU_ANY), 0);
}

#define FPU_PER_CPU 2
#define FPU_ROUNDS  "1500"

static void fpu_musl(struct ktest *t)
{
	int nr = nr_cpus_online * FPU_PER_CPU;
	static char seeds[NR_CPUS * FPU_PER_CPU][8];
	static char *argv[NR_CPUS * FPU_PER_CPU][4];
	static char *const *argvs[NR_CPUS * FPU_PER_CPU];
	static int cpus[NR_CPUS * FPU_PER_CPU], status[NR_CPUS * FPU_PER_CPU];
	for (int i = 0; i < nr; i++) {
		snprintf(seeds[i], sizeof(seeds[i]), "%d", 3 + 7 * i);
		argv[i][0] = "/bin/fpu";
		argv[i][1] = seeds[i];
		argv[i][2] = FPU_ROUNDS;
		argv[i][3] = NULL;
		argvs[i] = argv[i];
		/* half pinned to each CPU, half free to migrate */
		cpus[i] = i % FPU_PER_CPU ? CPU_ANY : i / FPU_PER_CPU;
	}
	run_programs(t, nr, argvs, cpus, status, 120000);
	for (int i = 0; i < nr; i++)
		if (status[i] != 0)
			ktest_fail(t, __FILE__, __LINE__, "fpu seed %s (cpu %d): status %#x",
				   seeds[i], cpus[i], status[i]);
	KEXPECT_FALSE(t, contains(out_buf, "not ok"));
}

/* One process, a thread per CPU and one more (so they are preempted and
 * migrate), each computing its own x87/SSE series: threads of one mm switch
 * without a CR3 change, and each must keep its own FPU state. */
static void fpu_threads_musl(struct ktest *t)
{
	char nthreads[8];
	snprintf(nthreads, sizeof(nthreads), "%d", nr_cpus_online + 1);
	char *const argv[] = { "/bin/fpu", "5", "800", nthreads, NULL };
	KEXPECT_EQ(t, run_on(t, argv, CPU_ANY), 0);
	KEXPECT_FALSE(t, contains(out_buf, "not ok"));
	KEXPECT_TRUE(t, contains(out_buf, "ok 4 "));
}

/* A child eats all memory: killed (SIGKILL), never a kernel panic, and the
 * memory comes back (the leak check after the suite agrees). */
static void oom_musl(struct ktest *t)
{
	REQUIRE_FS(t);
	static char *const argv[] = { "/bin/oom", NULL };
	/* Filling memory takes long under Bochs: more than the default 20 s. */
	KEXPECT_EQ(t, run_program_long(t, argv, 120000), 0);
	KEXPECT_FALSE(t, contains(out_buf, "not ok"));
	KEXPECT_TRUE(t, contains(out_buf, "ok 3 "));
}

/* A handler for every (sender CPU, receiver CPU) pair, the receiver
 * spinning in user mode (tests/user/sigpairs.c). */
static void signal_cpu_pairs_musl(struct ktest *t)
{
	REQUIRE_FS(t);
	static char *const argv[] = { "/bin/sigpairs", NULL };
	KEXPECT_EQ(t, run_on(t, argv, CPU_ANY), 0);
	KEXPECT_FALSE(t, contains(out_buf, "not ok"));
}

static void init_process(struct ktest *t)
{
	static char *const argv[] = { "/bin/args", "argc=4", "arg=3=envc=2", "envc=2", NULL };
	static char *const envp[] = { "HOME=/", "TERM=linux", NULL };
	capture_begin();
	int err = start_init_process("/bin/args", argv, envp);
	int status = err ? -1 : wait_init_process();
	capture_end(t);
	KEXPECT_EQ(t, err, 0);
	KEXPECT_EQ(t, status, 0);
	KEXPECT_EQ(t, init_process_pid(), 1); /* the child reaper */
	KEXPECT_TRUE(t, contains(out_buf, "ok 3 "));
	KEXPECT_EQ(t, start_init_process("/bin/none", argv, envp), -ENOENT);
}

/* The programs print their KTAP plan at the end: it ran to the end. */
static void time_musl(struct ktest *t)
{
	run_checks(t, "/bin/time", "\n1..");
}

static void time_glibc(struct ktest *t)
{
	run_checks(t, "/bin/time-glibc", "\n1..");
}

static void misc_musl(struct ktest *t)
{
	run_checks(t, "/bin/misc", "\n1..");
}

/* /bin/signals (issue 12): handlers and the rt_sigframe, masks, nesting,
 * SA_* flags, the altstack, fault signals fixed by a handler, interrupted
 * and restarted calls, timers, SIGCHLD, SIGPIPE, kill errno, fork and
 * execve, threads on every CPU, hostile rt_sigreturn frames (the kernel
 * must not fault on any of them). */
static void signals_musl(struct ktest *t)
{
	REQUIRE_FS(t);
	run_checks(t, "/bin/signals", "every check ran");
}

/* SIGCONT then SIGSTOP at once, 30 times, to a two-thread child, with 5 ms
 * (pause point stop_recheck) between a stopped thread waking and its look
 * at whether to sleep on: the new stop comes inside that window, and a
 * thread that only waits for the old stop to end (STOP_MISSES_RESTOP)
 * sleeps through it; the stop never completes and the program hangs. */
static void stop_restop(struct ktest *t)
{
	REQUIRE_FS(t);
	if (nr_cpus_online < 2) {
		ktest_skip(t, "needs 2 CPUs");
		return;
	}
	char *const argv[] = { "/bin/signals", "stop", NULL };
	uint32_t old = pause_points[PAUSE_STOP_RECHECK].delay_us;
	WRITE_ONCE(pause_points[PAUSE_STOP_RECHECK].delay_us, 5000);
	KEXPECT_EQ(t, run_on(t, argv, CPU_ANY), 0);
	WRITE_ONCE(pause_points[PAUSE_STOP_RECHECK].delay_us, old);
}

/* tgkill to threads spinning in user mode on other CPUs: signal_wake_up's
 * IPI brings them into the kernel at once, not at their next tick
 * (signals_on_resched_ipi counts those; nothing else in this run sends an
 * IPI to a CPU running user code with a signal pending). */
static void signals_ipi_musl(struct ktest *t)
{
	REQUIRE_FS(t);
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs");
	char *const argv[] = { "/bin/signals", "ipi", NULL };
	uint64_t ipi = event_sum(EV_SIGNAL_ON_IPI);
	KEXPECT_EQ(t, run_program(t, "/bin/signals", argv), 0);
	ipi = event_sum(EV_SIGNAL_ON_IPI) - ipi;
	ktest_log(t, "signals that brought user code into the kernel by their IPI: %lu", ipi);
	KEXPECT_FALSE(t, contains(out_buf, "not ok"));
	KEXPECT_GE(t, ipi, 1);
}

static void signals_glibc(struct ktest *t)
{
	REQUIRE_FS(t);
	run_checks(t, "/bin/signals-glibc", "every check ran");
}

/* As pid 1: signals it has no handler for (SIGKILL too) are dropped, one
 * it handles is delivered (Linux's SIGNAL_UNKILLABLE). */
static void signals_init_immune(struct ktest *t)
{
	REQUIRE_FS(t);
	char *const argv[] = { "/bin/signals", "init", NULL };
	KEXPECT_EQ(t, run_program_as(t, "/bin/signals", argv, true), 0);
	KEXPECT_FALSE(t, contains(out_buf, "not ok"));
	KEXPECT_TRUE(t, contains(out_buf, "every check ran"));
}

/* A blocking read of the console ends with EINTR when SIGALRM's handler
 * has no SA_RESTART, and restarts with it, keeping what was typed before
 * the signal (tests/user/signals.c console_checks): "abc" is typed before
 * the program starts, "def\n" once it is blocked in the restarted read. */
static void signals_console_read(struct ktest *t)
{
	REQUIRE_FS(t);
	char *const argv[] = { "/bin/signals", "console", NULL };
	struct prog_run run;
	int threads = sched_thread_count();
	capture_begin();
	console_inject_input("abc", 3);
	if (start_program(t, "/bin/signals", argv, CPU_ANY, false, &run)) {
		uint64_t deadline = ktime_get_ns() + 10000000000ull;
		while (!contains(out_buf, "# waiting for def") && ktime_get_ns() < deadline)
			sleep_ms(10);
		sleep_ms(300); /* several SIGALRMs restart the read meanwhile */
		console_inject_input("def\n", 4);
	}
	KEXPECT_EQ(t, wait_program(t, "/bin/signals", &run, 20000), 0);
	ktest_wait_threads(threads);
	capture_end(t);
	console_inject_input("", 0);
	KEXPECT_FALSE(t, contains(out_buf, "not ok"));
	KEXPECT_TRUE(t, contains(out_buf, "every check ran"));
}

KTEST_SUITE(user, KTEST_CASE(hello_musl), KTEST_CASE(args_musl), KTEST_CASE(hello_glibc),
	    KTEST_CASE(files_musl), KTEST_CASE(proc_musl), KTEST_CASE(proc_glibc),
	    KTEST_CASE(threads_musl), KTEST_CASE(exec_waits_for_threads), KTEST_CASE(threads_glibc),
	    KTEST_CASE(proc_as_init), KTEST_CASE(exit_group_ipis_spinners), KTEST_CASE(mmap_musl),
	    KTEST_CASE(faults_musl), KTEST_CASE(sysret_musl), KTEST_CASE(fpu_musl),
	    KTEST_CASE(init_process), KTEST_CASE(futex_musl), KTEST_CASE(fpu_threads_musl),
	    KTEST_CASE(oom_musl), KTEST_CASE(signal_cpu_pairs_musl), KTEST_CASE(time_musl),
	    KTEST_CASE(time_glibc), KTEST_CASE(misc_musl), KTEST_CASE(signals_musl),
	    KTEST_CASE(stop_restop), KTEST_CASE(signals_glibc), KTEST_CASE(signals_init_immune),
	    KTEST_CASE(signals_ipi_musl), KTEST_CASE(signals_console_read));
