/*
 * tests/user/bench/bench.h - what the benchmark programs of `make compare`
 * share (tests/compare.mk builds each tests/user/bench/NAME.c, static musl,
 * into both guests' /bin/bench/NAME; tools/compare/programs.py BENCHMARKS).
 *
 * Output, one line per repetition of each figure (the contract with
 * tools/compare/compare.py):
 *   bench: FIGURE: VALUE UNIT
 * FIGURE has no blanks or colons; UNIT is `cycles` (a cost per operation:
 * lower is better), `ops/s` or `MB/s` (rates: higher is better) or `ipis`
 * (IPIs per call, informational). Lines starting with `#` are comments.
 * A failed set-up prints `# error: ...` and exits 1.
 *
 * Time: RDTSC read by the program itself. Both kernels run in the same
 * QEMU, so the TSC and CLOCK_MONOTONIC are the same hardware on both; the
 * TSC frequency is measured once at start (RDTSC across ~100 ms of
 * CLOCK_MONOTONIC, printed as `# tsc_hz N`) and used for every rate.
 *
 * Scalable figures run 1, 2 and 4 tasks (threads of one process, or
 * processes), task i pinned to CPU i with sched_setaffinity; counts above
 * the number of CPUs the program may run on are skipped with a `# skipped`
 * comment. A rate is measured will-it-scale's way: every task repeats its
 * operation for a fixed time (-t MS, default 150 ms per repetition),
 * counting operations in its own cache line; the figure is the total
 * count over the time between the start and the stop signal. A fixed time
 * rather than a fixed count keeps each program's run time the same on
 * both kernels, whatever their speed.
 *
 * Common options: -r N repetitions of each figure (default 5), -t MS the
 * time of one repetition of a rate (default 150).
 */
#ifndef TESTS_USER_BENCH_BENCH_H
#define TESTS_USER_BENCH_BENCH_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#pragma GCC diagnostic ignored "-Wunused-function"

#define PAGE	  4096ul
#define MAX_TASKS 4

static int reps = 5;
static int rep_ms = 150;
static double tsc_hz;
static int ncpus;
static const int task_counts[] = { 1, 2, 4 };

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void cpu_relax(void)
{
	__asm__ __volatile__("pause" ::: "memory");
}

static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("# error: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static uint64_t ms_cycles(int ms)
{
	return (uint64_t)(tsc_hz * ms / 1000.0);
}

static int pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) == 0;
}

/* One figure, one repetition. */
static void emit(const char *figure, double value, const char *unit)
{
	int prec = !strcmp(unit, "MB/s") ? 1 : !strcmp(unit, "ipis") ? 3 : 0;
	printf("bench: %s: %.*f %s\n", figure, prec, value, unit);
}

static double rate(uint64_t ops, uint64_t cycles)
{
	return cycles ? ops * tsc_hz / cycles : 0;
}

static int skip_tasks(const char *what, int n)
{
	if (n <= ncpus)
		return 0;
	printf("# skipped %s with %d tasks: %d CPUs\n", what, n, ncpus);
	return 1;
}

/*
 * Options -r and -t, plus the program's own letters in OPTS (each takes a
 * number, stored in *VALS[i] in OPTS's order). Then the CPU count and the
 * TSC frequency.
 */
static void bench_init(int argc, char **argv, const char *opts, int **vals)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || !a[1] || a[2] || i + 1 >= argc)
			fail("usage: %s [-r REPS] [-t MS] [-X N for X in '%s']", argv[0], opts);
		int v = atoi(argv[++i]);
		if (a[1] == 'r')
			reps = v > 0 ? v : 1;
		else if (a[1] == 't')
			rep_ms = v > 0 ? v : 1;
		else {
			const char *p = strchr(opts, a[1]);
			if (!p)
				fail("unknown option %s", a);
			*vals[p - opts] = v;
		}
	}
	cpu_set_t set;
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set))
		fail("sched_getaffinity: %s", strerror(errno));
	ncpus = CPU_COUNT(&set);
	uint64_t t0 = now_ns(), c0 = rdtsc(), t1;
	while ((t1 = now_ns()) - t0 < 100000000ull)
		;
	uint64_t c1 = rdtsc();
	tsc_hz = (double)(c1 - c0) * 1e9 / (double)(t1 - t0);
	printf("# tsc_hz %.0f\n", tsc_hz);
	printf("# cpus %d, %d repetitions, %d ms per rate\n", ncpus, reps, rep_ms);
}

/*
 * The task runner of the rates. A task is a thread of this process or a
 * forked process; CTL lives in MAP_SHARED memory so that both see it.
 * WORK(id, ctl, arg) sets itself up, calls task_ready(), then repeats its
 * operation while !ctl->stop, adding to ctl->count[id].v; it returns 0,
 * or -1 after printing `# error: ...` (its own setup failed).
 */
struct ctl {
	_Atomic int ready, go, stop, failed;
	struct {
		_Atomic uint64_t v;
		char pad[56];
	} count[MAX_TASKS] __attribute__((aligned(64)));
};

typedef int (*work_fn)(int id, struct ctl *ctl, void *arg);

static void task_ready(struct ctl *ctl)
{
	atomic_fetch_add(&ctl->ready, 1);
	while (!atomic_load(&ctl->go))
		cpu_relax();
}

struct task_arg {
	int id;
	struct ctl *ctl;
	work_fn fn;
	void *arg;
};

static void *task_thread(void *p)
{
	struct task_arg *t = p;
	if (!pin(t->id)) {
		printf("# error: sched_setaffinity(%d): %s\n", t->id, strerror(errno));
		atomic_store(&t->ctl->failed, 1);
		atomic_fetch_add(&t->ctl->ready, 1);
		return NULL;
	}
	if (t->fn(t->id, t->ctl, t->arg)) {
		atomic_store(&t->ctl->failed, 1);
		atomic_fetch_add(&t->ctl->ready, 1);
	}
	return NULL;
}

/* N tasks for rep_ms: the total operations per second. */
static double run_tasks(int n, int procs, work_fn fn, void *arg)
{
	struct ctl *ctl =
	    mmap(NULL, sizeof(*ctl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ctl == MAP_FAILED)
		fail("mmap of the control page: %s", strerror(errno));
	struct task_arg ta[MAX_TASKS];
	pthread_t th[MAX_TASKS];
	pid_t pid[MAX_TASKS];
	for (int i = 0; i < n; i++) {
		ta[i] = (struct task_arg){ i, ctl, fn, arg };
		if (procs) {
			pid[i] = fork();
			if (pid[i] < 0)
				fail("fork: %s", strerror(errno));
			if (pid[i] == 0) {
				task_thread(&ta[i]);
				fflush(stdout);
				_exit(0);
			}
		} else if ((errno = pthread_create(&th[i], NULL, task_thread, &ta[i])))
			fail("pthread_create: %s", strerror(errno));
	}
	for (int waited = 0; atomic_load(&ctl->ready) < n; waited++) {
		sleep_ms(1);
		for (int i = 0; procs && i < n; i++) {
			int st;
			if (waitpid(pid[i], &st, WNOHANG) == pid[i])
				fail("task %d ended before it was ready (status 0x%x)", i, st);
		}
		if (waited > 60000)
			fail("the tasks were not ready after 60 s");
	}
	if (atomic_load(&ctl->failed)) {
		atomic_store(&ctl->stop, 1);
		atomic_store(&ctl->go, 1);
	}
	uint64_t t0 = rdtsc();
	atomic_store(&ctl->go, 1);
	sleep_ms(rep_ms);
	uint64_t sum = 0;
	for (int i = 0; i < n; i++)
		sum += atomic_load(&ctl->count[i].v);
	uint64_t t1 = rdtsc();
	atomic_store(&ctl->stop, 1);
	for (int i = 0; i < n; i++) {
		if (procs) {
			int st;
			if (waitpid(pid[i], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
				atomic_store(&ctl->failed, 1);
		} else
			pthread_join(th[i], NULL);
	}
	if (atomic_load(&ctl->failed))
		fail("a task failed");
	munmap(ctl, sizeof(*ctl));
	return rate(sum, t1 - t0);
}

/* REPS lines of NAME_{threads,processes}_N for each task count. */
static void scale(const char *name, int threads, int procs, work_fn fn, void *arg)
{
	char fig[128];
	for (int k = 0; k < 3; k++) {
		int n = task_counts[k];
		if (skip_tasks(name, n))
			continue;
		for (int p = 0; p < 2; p++) {
			if (!(p ? procs : threads))
				continue;
			snprintf(fig, sizeof(fig), "%s_%s_%d", name, p ? "processes" : "threads",
				 n);
			for (int r = 0; r < reps; r++)
				emit(fig, run_tasks(n, p, fn, arg), "ops/s");
		}
	}
}

/* A file of SIZE bytes in "/" filled with write() and fsync'd. */
static int make_file(const char *path, size_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		fail("open %s: %s", path, strerror(errno));
	static char buf[65536];
	memset(buf, 0x5a, sizeof(buf));
	for (size_t off = 0; off < size;) {
		size_t len = size - off < sizeof(buf) ? size - off : sizeof(buf);
		ssize_t w = write(fd, buf, len);
		if (w <= 0)
			fail("write %s: %s", path, w < 0 ? strerror(errno) : "short");
		off += w;
	}
	if (fsync(fd))
		fail("fsync %s: %s", path, strerror(errno));
	return fd;
}

static double secs_since(uint64_t ns0)
{
	return (now_ns() - ns0) / 1e9;
}

#endif
