/*
 * tests/user/bench/sys.c - system call, context switch and wake-up costs
 * from ring 3, in cycles per operation.
 *
 *   sys_getpid         cycles per syscall(SYS_getpid) (the raw system call:
 *                      no libc cache): entry, dispatch, exit, SYSRET.
 *   sys_pipe_pingpong  cycles per round trip of one byte between two
 *                      processes pinned to CPUs 0 and 1 through two pipes:
 *                      two wake-ups of a sleeping task on another CPU and
 *                      two context switches to and from idle per round
 *                      trip.
 *   sys_futex_wake     cycles from the FUTEX_WAKE of a thread on CPU 0 to
 *                      the woken thread (pinned to CPU 1, asleep in
 *                      FUTEX_WAIT) running in user space again, measured
 *                      with the TSC on both sides (the TSCs of QEMU's vCPUs
 *                      agree).
 *
 * Each figure repeats for -t MS (150; at least 10 round trips or wake-ups,
 * each after a 1 ms sleep). About 3 s under TCG. With one CPU the last two are skipped.
 */
#include "bench.h"

#define MIN_ROUNDS 10

#define FUTEX_WAIT_PRIVATE 128 /* FUTEX_WAIT | FUTEX_PRIVATE_FLAG */
#define FUTEX_WAKE_PRIVATE 129

static void getpid_figure(void)
{
	for (int r = 0; r < reps; r++) {
		uint64_t start = rdtsc(), budget = ms_cycles(rep_ms), calls = 0;
		while (rdtsc() - start < budget) {
			for (int i = 0; i < 100; i++)
				syscall(SYS_getpid);
			calls += 100;
		}
		emit("sys_getpid", (double)(rdtsc() - start) / calls, "cycles");
	}
}

static void pingpong_figure(void)
{
	for (int r = 0; r < reps; r++) {
		int ping[2], pong[2];
		if (pipe(ping) || pipe(pong))
			fail("pipe: %s", strerror(errno));
		pid_t c = fork();
		if (c < 0)
			fail("fork: %s", strerror(errno));
		if (c == 0) {
			pin(1);
			close(ping[1]);
			close(pong[0]);
			char b;
			while (read(ping[0], &b, 1) == 1)
				if (write(pong[1], &b, 1) != 1)
					_exit(1);
			_exit(0);
		}
		close(ping[0]);
		close(pong[1]);
		char b = 'x';
		if (write(ping[1], &b, 1) != 1 || read(pong[0], &b, 1) != 1) /* warm up */
			fail("pipe ping-pong: %s", strerror(errno));
		uint64_t t0 = rdtsc(), budget = ms_cycles(rep_ms), rounds = 0;
		while (rounds < MIN_ROUNDS || rdtsc() - t0 < budget) {
			if (write(ping[1], &b, 1) != 1 || read(pong[0], &b, 1) != 1)
				fail("pipe ping-pong: %s", strerror(errno));
			rounds++;
		}
		emit("sys_pipe_pingpong", (double)(rdtsc() - t0) / rounds, "cycles");
		close(ping[1]); /* the child reads EOF */
		int st;
		if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st))
			fail("the ping-pong child failed");
		close(pong[0]);
	}
}

static _Atomic uint32_t fword;
static _Atomic uint64_t woke_at;
static _Atomic int waiter_ready, waiter_stop;

static long futex(_Atomic uint32_t *addr, int op, uint32_t val)
{
	return syscall(SYS_futex, addr, op, val, NULL, NULL, 0);
}

static void *waiter(void *arg)
{
	(void)arg;
	pin(1);
	while (!atomic_load(&waiter_stop)) {
		atomic_store(&waiter_ready, 1);
		while (atomic_load(&fword) == 0)
			futex(&fword, FUTEX_WAIT_PRIVATE, 0);
		if (atomic_load(&waiter_stop))
			break;
		atomic_store(&woke_at, rdtsc());
		atomic_store(&fword, 0);
		while (atomic_load(&waiter_ready)) /* the waker takes the figure */
			cpu_relax();
	}
	return NULL;
}

static void futex_figure(void)
{
	for (int r = 0; r < reps; r++) {
		uint64_t sum = 0, wakes = 0, start = rdtsc(), budget = ms_cycles(rep_ms);
		pthread_t th;
		atomic_store(&waiter_stop, 0);
		atomic_store(&waiter_ready, 0);
		atomic_store(&fword, 0);
		if ((errno = pthread_create(&th, NULL, waiter, NULL)))
			fail("pthread_create: %s", strerror(errno));
		while (wakes < MIN_ROUNDS || rdtsc() - start < budget) {
			while (!atomic_load(&waiter_ready))
				cpu_relax();
			sleep_ms(1); /* let it fall asleep in FUTEX_WAIT */
			uint64_t t0 = rdtsc();
			atomic_store(&fword, 1);
			futex(&fword, FUTEX_WAKE_PRIVATE, 1);
			while (atomic_load(&fword) == 1)
				cpu_relax();
			sum += atomic_load(&woke_at) - t0;
			wakes++;
			atomic_store(&waiter_ready, 0);
		}
		atomic_store(&waiter_stop, 1);
		atomic_store(&fword, 1);
		futex(&fword, FUTEX_WAKE_PRIVATE, 1);
		pthread_join(th, NULL);
		emit("sys_futex_wake", (double)sum / wakes, "cycles");
	}
}

int main(int argc, char **argv)
{
	bench_init(argc, argv, "", NULL);
	if (!pin(0))
		fail("sched_setaffinity(0): %s", strerror(errno));
	getpid_figure();
	if (ncpus < 2) {
		printf("# skipped sys_pipe_pingpong, sys_futex_wake: one CPU\n");
		return 0;
	}
	pingpong_figure();
	futex_figure();
	return 0;
}
