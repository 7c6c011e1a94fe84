/* tests/ktest_user.h - running user programs from test cases (ktest_user.c). */
#ifndef TESTS_KTEST_USER_H
#define TESTS_KTEST_USER_H

#include "tests/ktest.h"
#include "kernel/sched.h"

/* What the programs of the last run printed on the console (NUL-terminated). */
extern char out_buf[8192];
bool contains(const char *hay, const char *needle);

struct prog_exit {
	struct completion done;
	volatile int status;
};
struct prog_run {
	struct prog_exit e;
	int pid; /* > 0 once started */
};

/* Low level: capture the console, start programs, wait for each. */
void capture_begin(void);
void capture_end(struct ktest *t); /* stop, repeat the output as diagnostics */
bool start_program(struct ktest *t, const char *path, char *const argv[], int cpu, bool as_init,
		   struct prog_run *run);
int wait_program(struct ktest *t, const char *path, struct prog_run *run, uint64_t timeout_ms);

/* Run nr programs at once (argvs[i], on cpus[i]); their wait statuses in
 * status[] (-1: did not start or did not end within timeout_ms). */
void run_programs(struct ktest *t, int nr, char *const *argvs[], const int cpus[], int status[],
		  uint64_t timeout_ms);
/* One program (argv[0] is its path) on cpu (CPU_ANY: any), 20 s at most. */
int run_on(struct ktest *t, char *const argv[], int cpu);
/* Run path with argv; its wait status, or -1. as_init: as pid 1. */
int run_program_as(struct ktest *t, const char *path, char *const argv[], bool as_init);
int run_program(struct ktest *t, const char *path, char *const argv[]);
/* path (no arguments) exited 0, printed no "not ok", and printed last. */
void run_checks(struct ktest *t, const char *path, const char *last);

/* A long run of argv[0] (fuzzer, soak): waits up to timeout_ms, telling the
 * watchdog it is alive each second; its wait status, or -1. */
int run_program_long(struct ktest *t, char *const argv[], uint64_t timeout_ms);

/* What must be back after a run of programs: threads, open files, heap
 * bytes and free pages (file caches dropped first). */
struct ktest_baseline {
	int threads, files;
	uint64_t heap, pages, kept;
};
void ktest_baseline_take(struct ktest_baseline *b);
/* Expect everything of before back; then the file system must check clean. */
void ktest_baseline_expect(struct ktest *t, const struct ktest_baseline *before);

/* The fuzz and soak suites' run: PROG SEED MS with the seed and length
 * from the command line (NAME.seed=, default from the clock, logged for a
 * replay; NAME.ms=, default 3000), after a warm-up run (PROG 1 1 1: the
 * caches it fills for good) and *before taken. Its wait status. */
int run_seeded_program(struct ktest *t, const char *prog, const char *name,
		       struct ktest_baseline *before);

#endif
