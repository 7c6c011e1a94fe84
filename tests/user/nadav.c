/*
 * tests/user/nadav.c - Nadav Amit's lost dirty write (seed 004, Linux 6.1,
 * fixed by "mm: delay page_remove_rmap() until after the TLB has been
 * flushed"), as an ordinary program: our own code doing what his
 * reproducer does.
 *
 *   writer thread (CPU 0): writes 1, 2, 3, ... into slot i % SLOTS of a
 *       MAP_SHARED mapping of a one-page file, and before each write checks
 *       that the slot still holds the value it wrote there SLOTS writes ago
 *       (a write lost meanwhile shows as an older value);
 *   zapper thread (CPU 1): MADV_DONTNEED on the page, or (argument
 *       "munmap") mmap(MAP_FIXED) of the file again over it, which unmaps
 *       the old mapping first;
 *   flusher child (CPU 2, a fork: its msync does not wait for our
 *       mmap_lock): drops its own PTE (MADV_DONTNEED), then
 *       msync(MS_SYNC) + posix_fadvise(POSIX_FADV_DONTNEED) in a loop:
 *       writeback, then the clean page is dropped from the cache.
 *
 * The bug: the zap clears the PTE while the writer's CPU still has a TLB
 * entry for it; if writeback can clean the page before that entry is
 * flushed (page_mkclean found no PTE and returned), the writes made through
 * the stale entry after the clean go into a page that the next
 * POSIX_FADV_DONTNEED drops as clean: the writer's next fault reads the
 * older data back from the disk.
 *
 * Bounded: runs for argv[2] milliseconds (default 2000). At the end the
 * mapping and then the file (after msync, munmap, a cache drop and
 * pread) must hold every slot's last value. KTAP output; exit 0 when
 * nothing was lost.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ktap.h"

#define PG    4096
#define SLOTS 512

static const char *path = "/nadav-user.dat";
static volatile uint64_t *map;
static int fd, ncpu, use_munmap;
static volatile int stop;
static volatile uint64_t last, lost_at, lost_saw, zaps;

static void pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu % ncpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void *writer(void *arg)
{
	(void)arg;
	pin(0);
	for (uint64_t i = 1; !stop; i++) {
		uint64_t k = i % SLOTS;
		uint64_t want = i > SLOTS ? i - SLOTS : 0;
		uint64_t got = map[k];
		if (got != want && !lost_at) {
			lost_at = want;
			lost_saw = got;
		}
		map[k] = i;
		last = i;
	}
	return NULL;
}

static void *zapper(void *arg)
{
	(void)arg;
	pin(1);
	while (!stop) {
		if (use_munmap) {
			void *p = mmap((void *)map, PG, PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_FIXED | MAP_POPULATE, fd, 0);
			if (p != (void *)map) {
				printf("# remap failed: %s\n", strerror(errno));
				break;
			}
		} else if (madvise((void *)map, PG, MADV_DONTNEED)) {
			printf("# MADV_DONTNEED failed: %s\n", strerror(errno));
			break;
		}
		zaps++;
		/* A breath between zaps (his nanosleep of 10 us; a sleep here
		 * lasts a timer tick, so spin): the writer refaults the page. */
		uint64_t until = now_us() + 20;
		while (now_us() < until)
			;
	}
	return NULL;
}

static void flusher(void)
{
	pin(2);
	/* Our copy of the mapping must not map the page: with a mapping of
	 * its own here the page never looks unmapped to page_mkclean, nor
	 * droppable to POSIX_FADV_DONTNEED (his reproducer does the same). */
	if (madvise((void *)map, PG, MADV_DONTNEED))
		_exit(4);
	for (;;) {
		if (msync((void *)map, PG, MS_SYNC))
			_exit(2);
		if (posix_fadvise(fd, 0, PG, POSIX_FADV_DONTNEED))
			_exit(3);
	}
}

int main(int argc, char **argv)
{
	use_munmap = argc > 1 && !strcmp(argv[1], "munmap");
	uint64_t ms = argc > 2 ? strtoull(argv[2], NULL, 0) : 2000;
	if (argc > 3)
		path = argv[3];
	cpu_set_t set;
	sched_getaffinity(0, sizeof(set), &set);
	ncpu = CPU_COUNT(&set) > 0 ? CPU_COUNT(&set) : 1;
	printf("KTAP version 1\n1..5\n");
	printf("# %s variant, %d CPUs, %llu ms\n", use_munmap ? "munmap" : "madvise", ncpu,
	       (unsigned long long)ms);

	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	static uint64_t zero[SLOTS];
	int ok = fd >= 0 && pwrite(fd, zero, PG, 0) == PG && fsync(fd) == 0;
	map = ok ? mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
	check(ok && map != MAP_FAILED, "a one-page file mapped shared");
	if (!ok || map == MAP_FAILED)
		return 1;
	map[0] = 0; /* fault it in before the child shares the mapping */

	pid_t child = fork();
	if (child == 0)
		flusher();
	pthread_t tw, tz;
	pthread_create(&tw, NULL, writer, NULL);
	pthread_create(&tz, NULL, zapper, NULL);
	uint64_t end = now_ms() + ms;
	while (now_ms() < end && !lost_at) {
		struct timespec ts = { 0, 20 * 1000000 };
		nanosleep(&ts, NULL);
	}
	stop = 1;
	pthread_join(tw, NULL);
	pthread_join(tz, NULL);
	kill(child, SIGKILL);
	int st = 0;
	waitpid(child, &st, 0);
	printf("# %llu writes, %llu zaps\n", (unsigned long long)last, (unsigned long long)zaps);
	if (lost_at)
		printf("# slot %llu held %llu where the writer had written %llu\n",
		       (unsigned long long)(lost_at % SLOTS), (unsigned long long)lost_saw,
		       (unsigned long long)lost_at);
	check(!lost_at, "no write lost while the race ran (each slot checked before reuse)");

	int bad = 0;
	for (uint64_t k = 0; k < SLOTS; k++) {
		uint64_t want = last >= k ? last - ((last - k) % SLOTS) : 0;
		if (map[k] != want)
			bad++;
	}
	check(!bad, "the mapping holds every slot's last value");

	static uint64_t v[SLOTS];
	msync((void *)map, PG, MS_SYNC);
	munmap((void *)map, PG);
	posix_fadvise(fd, 0, PG, POSIX_FADV_DONTNEED);
	bad = pread(fd, v, PG, 0) == PG ? 0 : SLOTS;
	for (uint64_t k = 0; k < SLOTS && !bad; k++) {
		uint64_t want = last >= k ? last - ((last - k) % SLOTS) : 0;
		if (v[k] != want)
			bad++;
	}
	if (bad)
		printf("# %d slots of the file lost their last write\n", bad);
	check(!bad, "the file holds every slot's last value");
	close(fd);
	check(unlink(path) == 0 && last > SLOTS, "the writer made progress");
	printf("# %s\n", failed ? "lost writes" : "every write kept");
	return failed ? 1 : 0;
}
