/*
 * tests/user/sigpairs.c - a signal handler runs for every (sender CPU,
 * receiver CPU) pair: a receiver thread pinned to CPU j spins in user mode,
 * a sender pinned to CPU i tgkill()s it; the handler must run on CPU j, in
 * the receiver, promptly (an IPI when i != j, the next switch when i == j).
 * One KTAP case per receiver CPU; exit 0 if every pair passed.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ktap.h"

static atomic_int got, ready, stop, handler_cpu = -1;
static atomic_long handler_tid, recv_tid;

static int pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static int this_cpu(void)
{
	unsigned c = 0;
	syscall(SYS_getcpu, &c, NULL, NULL);
	return (int)c;
}

static void handler(int sig)
{
	(void)sig;
	atomic_store(&handler_cpu, this_cpu());
	atomic_store(&handler_tid, syscall(SYS_gettid));
	atomic_fetch_add(&got, 1);
}

static void *receiver(void *arg)
{
	pin((int)(intptr_t)arg);
	atomic_store(&recv_tid, syscall(SYS_gettid));
	atomic_store(&ready, 1);
	while (!atomic_load(&stop))
		__asm__ __volatile__("" ::: "memory"); /* user mode, no system calls */
	return NULL;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	cpu_set_t all;
	sched_getaffinity(0, sizeof(all), &all);
	int ncpu = CPU_COUNT(&all);
	printf("KTAP version 1\n1..%d\n", ncpu);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigaction(SIGUSR1, &sa, NULL);
	for (int j = 0; j < ncpu; j++) {
		atomic_store(&ready, 0);
		atomic_store(&stop, 0);
		pthread_t th;
		pthread_create(&th, NULL, receiver, (void *)(intptr_t)j);
		while (!atomic_load(&ready))
			sched_yield();
		int bad = 0;
		for (int i = 0; i < ncpu; i++) {
			pin(i);
			for (int round = 0; round < 3; round++) {
				int before = atomic_load(&got);
				atomic_store(&handler_cpu, -1);
				syscall(SYS_tgkill, getpid(), atomic_load(&recv_tid), SIGUSR1);
				for (long w = 0; atomic_load(&got) == before && w < 2000000; w++)
					sched_yield();
				if (atomic_load(&got) == before || atomic_load(&handler_cpu) != j ||
				    atomic_load(&handler_tid) != atomic_load(&recv_tid) ||
				    this_cpu() != i) {
					printf("# sender CPU %d -> receiver CPU %d: handled %d, on "
					       "CPU %d\n",
					       i, j, atomic_load(&got) - before,
					       atomic_load(&handler_cpu));
					bad++;
				}
			}
		}
		atomic_store(&stop, 1);
		pthread_join(th, NULL);
		char what[96];
		snprintf(what, sizeof(what),
			 "receiver on CPU %d: a handler there for senders on all %d CPUs", j, ncpu);
		check(!bad, what);
	}
	return failed ? 1 : 0;
}
