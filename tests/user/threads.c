/*
 * tests/user/threads.c - POSIX threads from ring 3 (musl and glibc): create,
 * join, detach, mutexes and condition variables under contention, thread
 * exit while others run, exit_group while siblings spin in user mode, fork
 * and execve from a multithreaded process. One KTAP case per check; exit
 * status 0 if every check passed, 1 otherwise.
 *
 *   threads spin-exit N   N threads spin in user mode (no system calls),
 *                         then the main thread spins too and one more
 *                         thread calls exit(5): exit_group must end them
 *                         wherever they are (the kernel test counts how).
 *   threads exec-spin     threads spin, the main thread execve's /bin/proc
 *                         exec-child 100 1 (exit 42): de_thread.
 *   threads leader-exit   the main thread pthread_exits while another
 *                         computes, then exits with 3: the process's
 *                         status is 3, as Linux 6.1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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
#include <time.h>
#include <unistd.h>

#include "ktap.h"

#define NCHECKS	 16
#define NTHREADS 8

static long tid(void)
{
	return syscall(SYS_gettid);
}

/* ---- create, join, ids ------------------------------------------------- */

struct work {
	long tid;
	uint64_t sum;
	int index;
};

static void *sum_thread(void *arg)
{
	struct work *w = arg;
	w->tid = tid();
	for (uint64_t i = 0; i <= 100000; i++)
		w->sum += i * (uint64_t)(w->index + 1);
	return w;
}

static void create_join(void)
{
	pthread_t th[NTHREADS];
	struct work w[NTHREADS];
	memset(w, 0, sizeof(w));
	int ok = 1;
	for (int i = 0; i < NTHREADS; i++) {
		w[i].index = i;
		ok &= pthread_create(&th[i], NULL, sum_thread, &w[i]) == 0;
	}
	for (int i = 0; i < NTHREADS; i++) {
		void *ret = NULL;
		ok &= pthread_join(th[i], &ret) == 0 && ret == &w[i];
	}
	check(ok, "pthread_create and pthread_join of 8 threads");
	ok = 1;
	for (int i = 0; i < NTHREADS; i++)
		ok &= w[i].sum == 5000050000ull * (uint64_t)(i + 1);
	check(ok, "each thread computed its own sum");
	ok = 1;
	for (int i = 0; i < NTHREADS; i++) {
		ok &= w[i].tid != getpid() && w[i].tid > 0;
		for (int j = 0; j < i; j++)
			ok &= w[i].tid != w[j].tid;
	}
	check(ok && tid() == getpid(), "every thread has its own tid; the main one's is the pid");
}

/* ---- mutexes and condition variables -------------------------------------- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static long counter;
static int queue[16], qhead, qtail, produced_done;

static void *inc_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20000; i++) {
		pthread_mutex_lock(&lock);
		counter++;
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	long *got = arg;
	for (;;) {
		pthread_mutex_lock(&lock);
		while (qhead == qtail && !produced_done)
			pthread_cond_wait(&cond, &lock);
		if (qhead == qtail && produced_done) {
			pthread_mutex_unlock(&lock);
			return NULL;
		}
		*got += queue[qhead++ % 16];
		pthread_cond_broadcast(&cond); /* room for the producer */
		pthread_mutex_unlock(&lock);
	}
}

static void sync_objects(void)
{
	pthread_t th[4];
	counter = 0;
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, inc_thread, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	check(counter == 80000, "a mutex under contention: no increment lost");

	long got[3] = { 0, 0, 0 };
	for (int i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, consumer, &got[i]);
	long sent = 0;
	for (int v = 1; v <= 5000; v++) {
		pthread_mutex_lock(&lock);
		while (qtail - qhead == 16)
			pthread_cond_wait(&cond, &lock);
		queue[qtail++ % 16] = v;
		sent += v;
		pthread_cond_broadcast(&cond);
		pthread_mutex_unlock(&lock);
	}
	pthread_mutex_lock(&lock);
	produced_done = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	check(got[0] + got[1] + got[2] == sent,
	      "condition variables: 3 consumers got every item once");
}

/* ---- detach, exit while others run -------------------------------------- */

static atomic_int detached_done;

static void *detached(void *arg)
{
	(void)arg;
	atomic_fetch_add(&detached_done, 1);
	return NULL;
}

static void *exits_early(void *arg)
{
	(void)arg;
	pthread_exit((void *)7);
}

static void detach_and_exit(void)
{
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	int ok = 1;
	for (int i = 0; i < 4; i++) {
		pthread_t th;
		ok &= pthread_create(&th, &a, detached, NULL) == 0;
	}
	for (int i = 0; i < 100000 && atomic_load(&detached_done) < 4; i++)
		sched_yield();
	check(ok && atomic_load(&detached_done) == 4, "detached threads run and leave");
	pthread_t th;
	void *ret = NULL;
	pthread_create(&th, NULL, exits_early, NULL);
	check(pthread_join(th, &ret) == 0 && ret == (void *)7, "pthread_exit's value reaches join");
}

/* ---- exit_group, fork and execve with threads ------------------------------- */

static atomic_int spinning;

static void *spin_forever(void *arg)
{
	(void)arg;
	atomic_fetch_add(&spinning, 1);
	for (;;)
		__asm__ __volatile__("" ::: "memory");
	return NULL;
}

static void start_spinners(int count)
{
	for (int i = 0; i < count; i++) {
		pthread_t th;
		pthread_create(&th, NULL, spin_forever, NULL);
	}
	while (atomic_load(&spinning) < count)
		sched_yield();
}

static __attribute__((noreturn)) void *exit_5(void *arg)
{
	(void)arg;
	exit(5); /* exit_group from a thread: the others spin in user mode */
}

static __attribute__((noreturn)) int spin_exit(int count)
{
	start_spinners(count);
	pthread_t th;
	pthread_create(&th, NULL, exit_5, NULL);
	for (;;) /* the main thread spins too */
		__asm__ __volatile__("" ::: "memory");
}

static pthread_mutex_t never_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never_cond = PTHREAD_COND_INITIALIZER;
static int block_pipe[2];
static atomic_int blocked;

static void *block_in_futex(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&never_lock);
	atomic_fetch_add(&blocked, 1);
	for (;;)
		pthread_cond_wait(&never_cond, &never_lock); /* FUTEX_WAIT */
	return NULL;
}

static void *block_in_pipe(void *arg)
{
	(void)arg;
	char b;
	atomic_fetch_add(&blocked, 1);
	for (;;)
		read(block_pipe[0], &b, 1); /* nobody writes */
	return NULL;
}

/* Page faults without end: fresh anonymous pages touched, then dropped. */
static void *faulting(void *arg)
{
	(void)arg;
	size_t len = 16ul << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	atomic_fetch_add(&blocked, 1);
	for (;;) {
		for (size_t i = 0; i < len; i += 4096)
			p[i] = 1; /* each a fault */
		madvise(p, len, MADV_DONTNEED);
	}
	return NULL;
}

/* exit_group while one thread sleeps in FUTEX_WAIT, one in a pipe read and
 * one takes page faults: the sleeps end (killable), the faulting thread
 * leaves when its fault is done; the process dies with 6. */
static __attribute__((noreturn)) int block_exit(void)
{
	pipe(block_pipe);
	pthread_t a, b, c;
	pthread_create(&a, NULL, block_in_futex, NULL);
	pthread_create(&b, NULL, block_in_pipe, NULL);
	pthread_create(&c, NULL, faulting, NULL);
	while (atomic_load(&blocked) < 3)
		sched_yield();
	/* Let them fall asleep (a sleep, not yields: on one CPU each yield
	 * would hand the faulting thread a whole time slice). */
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	exit(6);
}

static int exec_spin(char *self)
{
	(void)self;
	start_spinners(3);
	char *argv[] = { "/bin/proc", "exec-child", "100", "1", NULL };
	execve(argv[0], argv, NULL);
	return 2;
}

static int status_of(pid_t pid)
{
	int st = -1;
	return waitpid(pid, &st, 0) == pid ? st : -1;
}

static void *fork_from_thread(void *arg)
{
	(void)arg;
	pid_t c = fork();
	if (c == 0) {
		/* One thread here: a new thread works, then the process ends. */
		pthread_t th;
		struct work w = { .index = 0 };
		int ok = pthread_create(&th, NULL, sum_thread, &w) == 0 &&
			 pthread_join(th, NULL) == 0 && w.sum == 5000050000ull;
		_exit(ok ? 11 : 1);
	}
	return (void *)(intptr_t)status_of(c);
}

static int shared_fd = -1;

static void *open_in_thread(void *arg)
{
	(void)arg;
	int p[2];
	if (pipe(p) == 0) {
		shared_fd = p[1];
		close(p[0]);
	}
	return NULL;
}

static pid_t waited_for;

static void *wait_in_thread(void *arg)
{
	int st;
	*(int *)arg = waitpid(waited_for, &st, 0) == waited_for ? 1 : (errno == ECHILD ? 0 : -1);
	return NULL;
}

/* Threads share the fd table (CLONE_FILES); two threads waiting for one
 * child: one reaps it, the other gets ECHILD. */
static void shared_tables(void)
{
	pthread_t th;
	pthread_create(&th, NULL, open_in_thread, NULL);
	pthread_join(th, NULL);
	check(shared_fd >= 0 && fcntl(shared_fd, F_GETFD) == 0,
	      "threads share the fd table: a thread's pipe fd is the main thread's");
	close(shared_fd);

	int p[2];
	pipe(p);
	waited_for = fork();
	if (waited_for == 0) {
		char b;
		close(p[1]);
		read(p[0], &b, 1);
		_exit(0);
	}
	close(p[0]);
	int got[2] = { -1, -1 };
	pthread_t w[2];
	pthread_create(&w[0], NULL, wait_in_thread, &got[0]);
	pthread_create(&w[1], NULL, wait_in_thread, &got[1]);
	for (int i = 0; i < 1000; i++)
		sched_yield(); /* both asleep in wait4, probably */
	close(p[1]);
	pthread_join(w[0], NULL);
	pthread_join(w[1], NULL);
	check(got[0] + got[1] == 1 && got[0] >= 0 && got[1] >= 0,
	      "two threads wait for one child: one reaps it, the other gets ECHILD");
}

static atomic_long sibling_tid;
static atomic_int sibling_go, sibling_cpu = -1;

static void *pinned_sibling(void *arg)
{
	(void)arg;
	atomic_store(&sibling_tid, tid());
	while (!atomic_load(&sibling_go))
		sched_yield();
	sched_yield(); /* a switch: the new mask applies */
	unsigned cpu = 0;
	syscall(SYS_getcpu, &cpu, NULL, NULL);
	atomic_store(&sibling_cpu, (int)cpu);
	return NULL;
}

/* Another thread's affinity, named by its tid: set, read back, obeyed. */
static void sibling_affinity(void)
{
	cpu_set_t all, one;
	sched_getaffinity(0, sizeof(all), &all);
	int target = CPU_COUNT(&all) > 1 ? 1 : 0;
	pthread_t th;
	pthread_create(&th, NULL, pinned_sibling, NULL);
	while (!atomic_load(&sibling_tid))
		sched_yield();
	CPU_ZERO(&one);
	CPU_SET(target, &one);
	int set = sched_setaffinity((pid_t)atomic_load(&sibling_tid), sizeof(one), &one);
	cpu_set_t got;
	CPU_ZERO(&got);
	int get = sched_getaffinity((pid_t)atomic_load(&sibling_tid), sizeof(got), &got);
	atomic_store(&sibling_go, 1);
	pthread_join(th, NULL);
	check(set == 0 && get == 0 && CPU_EQUAL(&got, &one) && atomic_load(&sibling_cpu) == target,
	      "sched_setaffinity of a sibling by tid: read back, and it runs there");
	check(sched_setaffinity(0x3fffffff, sizeof(one), &one) < 0 && errno == ESRCH,
	      "sched_setaffinity of no thread: ESRCH");
}

static void group_calls(char *self)
{
	pid_t c = fork();
	if (c == 0)
		spin_exit(3);
	int st = status_of(c);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 5,
	      "exit_group ends threads spinning in user mode");

	c = fork();
	if (c == 0) {
		char *argv[] = { self, "exec-spin", NULL };
		execve(self, argv, NULL);
		_exit(2);
	}
	st = status_of(c);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 42,
	      "execve from a multithreaded process ends the other threads");

	c = fork();
	if (c == 0)
		block_exit();
	st = status_of(c);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 6,
	      "exit_group ends threads in FUTEX_WAIT, in a pipe read and in page faults");

	pthread_t th;
	void *ret = NULL;
	pthread_create(&th, NULL, fork_from_thread, NULL);
	pthread_join(th, &ret);
	st = (int)(intptr_t)ret;
	check(WIFEXITED(st) && WEXITSTATUS(st) == 11,
	      "fork from a second thread: the child runs threads of its own");

	/* The last thread to leave chooses the status (Linux 6.1's
	 * synchronize_group_exit; before 6.0 it was the leader's). In a fresh
	 * program: musl's main thread registers its
	 * CLONE_CHILD_CLEARTID word (the thread-list lock) at start-up, and a
	 * forked child inherits none (Linux's copy_process). */
	c = fork();
	if (c == 0) {
		char *argv[] = { self, "leader-exit", NULL };
		execve(self, argv, NULL);
		_exit(2);
	}
	st = status_of(c);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 3,
	      "the leader leaves with 0, the last thread with 3: status 3 (the last thread's)");
}

static void *exit_3(void *arg)
{
	(void)arg;
	struct timespec ts = { 0, 20000000 };
	nanosleep(&ts, NULL); /* let the leader leave first (or spin if no nanosleep) */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do { /* 100 ms, not a count: 100,000 yields took over 20 s on a loaded host */
		sched_yield();
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while ((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) < 100000000L);
	syscall(SYS_exit, 3); /* this thread only: the last one, with 3 */
	return NULL;
}

static int leader_exit(void)
{
	pthread_t t2;
	pthread_create(&t2, NULL, exit_3, NULL);
	pthread_exit(NULL); /* the leader leaves first, with status 0 */
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "leader-exit"))
		return leader_exit();
	if (argc > 2 && !strcmp(argv[1], "spin-exit"))
		return spin_exit(atoi(argv[2]));
	if (argc > 1 && !strcmp(argv[1], "exec-spin"))
		return exec_spin(argv[0]);
	setvbuf(stdout, NULL, _IONBF, 0);
	printf("KTAP version 1\n1..%d\n", NCHECKS + 1);
	create_join();
	sync_objects();
	detach_and_exit();
	shared_tables();
	sibling_affinity();
	group_calls(argv[0]);
	check(n == NCHECKS, "every check ran");
	return failed ? 1 : 0;
}
