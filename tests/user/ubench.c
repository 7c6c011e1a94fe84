/*
 * tests/user/ubench.c - the user-space costs `make bench` reports (run by
 * tests/bench.c as /bin/ubench; the same binary runs on Linux for `make
 * compare`). Times are TSC cycles read by the program itself; each figure
 * is the median of 7 runs, printed as "bench: name: value unit".
 *
 *   syscall_round_trip   cycles per getppid() (a system call libc does not
 *                        cache): entry, dispatch, exit, SYSRET
 *   pipe_pingpong        cycles per round trip of one byte between two
 *                        processes pinned to CPUs 0 and 1 (two wake-ups
 *                        and two context switches per round trip)
 *   futex_wake_latency   cycles from FUTEX_WAKE in one thread to the woken
 *                        thread running, the two pinned to CPUs 0 and 1
 *   user_page_fault      cycles per first write to a page of a fresh
 *                        anonymous mapping (#PF from ring 3, a zeroed page,
 *                        the PTE, the return), 1024 pages per run
 *   mmap_munmap          cycles per mmap + one touched page + munmap of 16
 *                        KiB of anonymous memory (VMA in and out, one fault,
 *                        the zap and the local flush), a single-threaded mm
 *
 * Pinning uses sched_setaffinity; where it fails (one CPU) the figure is
 * printed with "(not pinned)".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define RUNS		   7
#define FUTEX_WAIT_PRIVATE 128 /* FUTEX_WAIT | FUTEX_PRIVATE_FLAG */
#define FUTEX_WAKE_PRIVATE 129

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *name, uint64_t *v, const char *unit, int pinned)
{
	qsort(v, RUNS, sizeof(*v), cmp_u64);
	printf("bench: %s: %llu %s (median of %d, min %llu, max %llu)%s\n", name,
	       (unsigned long long)v[RUNS / 2], unit, RUNS, (unsigned long long)v[0],
	       (unsigned long long)v[RUNS - 1], pinned ? "" : " (not pinned)");
}

static int pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) == 0;
}

static void syscall_round_trip(void)
{
	uint64_t v[RUNS];
	for (int r = 0; r < RUNS; r++) {
		uint64_t t0 = rdtsc();
		for (int i = 0; i < 20000; i++)
			syscall(SYS_getppid);
		v[r] = (rdtsc() - t0) / 20000;
	}
	report("syscall_round_trip", v, "cycles/call", 1);
}

static void pipe_pingpong(void)
{
	enum { ROUNDS = 2000 };
	uint64_t v[RUNS];
	int pinned = 1;
	for (int r = 0; r < RUNS; r++) {
		int ping[2], pong[2];
		pipe(ping);
		pipe(pong);
		pid_t c = fork();
		if (c == 0) {
			pin(1);
			char b;
			for (int i = 0; i < ROUNDS; i++)
				if (read(ping[0], &b, 1) != 1 || write(pong[1], &b, 1) != 1)
					_exit(1);
			_exit(0);
		}
		pinned &= pin(0);
		char b = 'x';
		write(ping[1], &b, 1); /* warm up: the child is running */
		read(pong[0], &b, 1);
		uint64_t t0 = rdtsc();
		for (int i = 1; i < ROUNDS; i++) {
			write(ping[1], &b, 1);
			read(pong[0], &b, 1);
		}
		v[r] = (rdtsc() - t0) / (ROUNDS - 1);
		waitpid(c, NULL, 0);
		close(ping[0]);
		close(ping[1]);
		close(pong[0]);
		close(pong[1]);
	}
	report("pipe_pingpong", v, "cycles/round trip", pinned);
}

static _Atomic uint32_t fword;
static _Atomic uint64_t woke_at;
static atomic_int waiter_ready, waiter_pinned = 1;

static long futex(_Atomic uint32_t *addr, int op, uint32_t val)
{
	return syscall(SYS_futex, addr, op, val, NULL, NULL, 0);
}

static void *waiter(void *arg)
{
	int rounds = *(int *)arg;
	waiter_pinned = pin(1);
	for (int i = 0; i < rounds; i++) {
		atomic_store(&waiter_ready, 1);
		while (atomic_load(&fword) == 0)
			futex(&fword, FUTEX_WAIT_PRIVATE, 0);
		atomic_store(&woke_at, rdtsc());
		atomic_store(&fword, 0);
		while (atomic_load(&waiter_ready)) /* the waker takes the figure */
			sched_yield();
	}
	return NULL;
}

static void futex_wake_latency(void)
{
	enum { ROUNDS = 200 };
	uint64_t v[RUNS];
	int pinned = pin(0);
	for (int r = 0; r < RUNS; r++) {
		uint64_t sum = 0;
		int rounds = ROUNDS;
		pthread_t th;
		pthread_create(&th, NULL, waiter, &rounds);
		for (int i = 0; i < ROUNDS; i++) {
			while (!atomic_load(&waiter_ready))
				sched_yield();
			for (volatile int d = 0; d < 20000; d++)
				; /* let it fall asleep in FUTEX_WAIT */
			uint64_t t0 = rdtsc();
			atomic_store(&fword, 1);
			futex(&fword, FUTEX_WAKE_PRIVATE, 1);
			while (atomic_load(&fword) == 1)
				;
			sum += atomic_load(&woke_at) - t0;
			atomic_store(&waiter_ready, 0);
		}
		pthread_join(th, NULL);
		v[r] = sum / ROUNDS;
	}
	report("futex_wake_latency", v, "cycles", pinned && waiter_pinned);
}

static void user_page_fault(void)
{
	enum { PAGES = 1024 };
	uint64_t v[RUNS];
	for (int r = 0; r < RUNS; r++) {
		char *p = mmap(NULL, PAGES * 4096ul, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			printf("bench: user_page_fault: mmap failed (%s)\n", strerror(errno));
			return;
		}
		uint64_t t0 = rdtsc();
		for (int i = 0; i < PAGES; i++)
			((volatile char *)p)[i * 4096ul] = 1;
		v[r] = (rdtsc() - t0) / PAGES;
		munmap(p, PAGES * 4096ul);
	}
	report("user_page_fault", v, "cycles/page", 1);
}

static void mmap_munmap(void)
{
	enum { ROUNDS = 2000 };
	uint64_t v[RUNS];
	for (int r = 0; r < RUNS; r++) {
		uint64_t t0 = rdtsc();
		for (int i = 0; i < ROUNDS; i++) {
			char *p = mmap(NULL, 16384, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED) {
				printf("bench: mmap_munmap: mmap failed (%s)\n", strerror(errno));
				return;
			}
			((volatile char *)p)[0] = 1;
			munmap(p, 16384);
		}
		v[r] = (rdtsc() - t0) / ROUNDS;
	}
	report("mmap_munmap", v, "cycles/round trip", 1);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	const char *only = argc > 1 ? argv[1] : NULL;
	if (!only || !strcmp(only, "syscall"))
		syscall_round_trip();
	if (!only || !strcmp(only, "pipe"))
		pipe_pingpong();
	if (!only || !strcmp(only, "futex"))
		futex_wake_latency();
	if (!only || !strcmp(only, "fault"))
		user_page_fault();
	if (!only || !strcmp(only, "mmap"))
		mmap_munmap();
	return 0;
}
