/*
 * tests/user/pvm.c - process_vm_readv / process_vm_writev from ring 3
 * (tests/test_splice.c runs it). The same source runs on Linux.
 *
 *   basic      data both ways with a fork child and with oneself, Linux
 *              6.1's errno rules and the partial-transfer rule (the bytes
 *              done before the first fault, local or remote)
 *   race-exit  process_vm_readv of children that exit meanwhile, readers
 *              pinned on other CPUs: each call gives the whole data or
 *              ESRCH, never wrong data, never a crash (mmget_not_zero)
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
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ktap.h"

#define PG 4096

static long pvr(pid_t pid, const struct iovec *l, unsigned long ln, const struct iovec *rv,
		unsigned long rn, unsigned long fl)
{
	long v = syscall(SYS_process_vm_readv, pid, l, ln, rv, rn, fl);
	return v < 0 ? -errno : v;
}
static long pvw(pid_t pid, const struct iovec *l, unsigned long ln, const struct iovec *rv,
		unsigned long rn, unsigned long fl)
{
	long v = syscall(SYS_process_vm_writev, pid, l, ln, rv, rn, fl);
	return v < 0 ? -errno : v;
}

static int pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static int ncpus(void)
{
	cpu_set_t set;
	sched_getaffinity(0, sizeof(set), &set);
	return CPU_COUNT(&set);
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int all_bytes(const char *p, size_t n, char c)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != c)
			return 0;
	return 1;
}

static void basic(void)
{
	char *remote =
	    mmap(NULL, 5 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *local =
	    mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(remote + 4 * PG, PG); /* a hole after the 4 pages */
	memset(remote, 'R', 4 * PG);
	int go[2], done[2];
	pipe(go);
	pipe(done);
	pid_t c = fork();
	if (c == 0) {
		/* the child: its own copy of remote, changed; wait, then report
		 * what the parent wrote into it */
		memset(remote, 'C', 3 * PG);
		write(done[1], "r", 1);
		char x;
		read(go[0], &x, 1);
		_exit(all_bytes(remote + 100, 200, 'W') && all_bytes(remote + 300, 100, 'C') ? 0
											     : 1);
	}
	char x;
	read(done[0], &x, 1);
	struct iovec l = { local, 3 * PG }, rv = { remote, 3 * PG };
	check(pvr(c, &l, 1, &rv, 1, 0) == 3 * PG && all_bytes(local, 3 * PG, 'C'),
	      "readv: 3 pages of a child's memory (its own copy, not ours)");
	check(all_bytes(remote, 4 * PG, 'R'), "... ours unchanged");
	struct iovec l2[2] = { { local, 10 }, { local + 500, 90 } },
		     r2[3] = { { remote + PG - 50, 50 }, { NULL, 0 }, { remote + 2 * PG, 50 } };
	memset(local, 0, PG);
	check(pvr(c, l2, 2, r2, 3, 0) == 100 && all_bytes(local, 10, 'C') &&
		  all_bytes(local + 500, 90, 'C') && local[10] == 0,
	      "readv: several iovecs on both sides, scattered");
	memset(local, 'W', PG);
	struct iovec wl = { local, 200 }, wr = { remote + 100, 200 };
	check(pvw(c, &wl, 1, &wr, 1, 0) == 200, "writev: 200 bytes into the child");
	/* self */
	struct iovec sl = { local, PG }, sr = { remote, PG };
	check(pvr(getpid(), &sl, 1, &sr, 1, 0) == PG && all_bytes(local, PG, 'R'),
	      "readv of oneself");
	/* errno rules */
	check(pvr(c, &l, 1, &rv, 1, 1) == -EINVAL, "flags != 0: EINVAL");
	check(pvr(c, &l, 1025, &rv, 1, 0) == -EINVAL && pvr(c, &l, 1, &rv, 1025, 0) == -EINVAL,
	      "more than UIO_MAXIOV iovecs (local or remote): EINVAL");
	check(pvr(c, (struct iovec *)8, 1, &rv, 1, 0) == -EFAULT &&
		  pvr(c, &l, 1, (struct iovec *)8, 1, 0) == -EFAULT,
	      "unreadable iovec arrays: EFAULT");
	struct iovec zero = { local, 0 };
	check(pvr(0x3fffffff, &zero, 1, &rv, 1, 0) == 0,
	      "nothing to copy: 0, before the pid is looked at");
	check(pvr(0x3fffffff, &l, 1, &rv, 1, 0) == -ESRCH, "no such pid: ESRCH");
	struct iovec bad = { (void *)0xffff800000000000ul, 10 };
	check(pvr(c, &bad, 1, &rv, 1, 0) == -EFAULT,
	      "a kernel address as the local buffer: EFAULT");
	check(pvr(c, &l, 1, &bad, 1, 0) == -EFAULT, "a kernel address as the remote one: EFAULT");
	struct iovec unm = { (void *)0x1000, 10 };
	check(pvr(c, &l, 1, &unm, 1, 0) == -EFAULT, "an unmapped remote address: EFAULT");
	/* partial: the local buffer ends in an unmapped page */
	munmap(local + 2 * PG, PG);
	struct iovec pl = { local + PG + 100, 2 * PG }, pr = { remote, 3 * PG };
	check(pvr(c, &pl, 1, &pr, 1, 0) == PG - 100, "local fault: the bytes before it");
	/* partial: the remote range runs into an unmapped page (the child's
	 * 4th page is mapped, the 5th is not) */
	char *big = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iovec bl = { big, 3 * PG },
		     br[2] = { { remote + 3 * PG + 1000, 2 * PG }, { remote, 10 } };
	check(pvr(c, &bl, 1, br, 2, 0) == PG - 1000,
	      "remote fault: the bytes before it, later iovecs not read");
	write(go[1], "g", 1);
	int st;
	waitpid(c, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child saw the bytes written into it");
	check(pvr(c, &l, 1, &rv, 1, 0) == -ESRCH, "a reaped child: ESRCH");
}

#define RACE_US	   2000000
#define RACE_BYTES (32 * PG) /* long reads: the exit comes in the middle of some */
struct shared {		     /* a MAP_SHARED page: the children see it too */
	atomic_int child_pid;
	atomic_long okc, esrch, other;
};
static struct shared *sh;
static atomic_int stop;
static char *shared_buf;

static void *reader(void *arg)
{
	pin((int)(long)arg);
	char *local = malloc(RACE_BYTES);
	while (!atomic_load(&stop)) {
		pid_t p = atomic_load(&sh->child_pid);
		if (!p)
			continue;
		struct iovec l = { local, RACE_BYTES }, rv = { shared_buf, RACE_BYTES };
		memset(local, 0, RACE_BYTES);
		long v = pvr(p, &l, 1, &rv, 1, 0);
		if (v == RACE_BYTES && all_bytes(local, RACE_BYTES, 'K'))
			atomic_fetch_add(&sh->okc, 1);
		else if (v == -ESRCH)
			atomic_fetch_add(&sh->esrch, 1);
		else
			atomic_fetch_add(&sh->other, 1);
	}
	free(local);
	return NULL;
}

static void race_exit(void)
{
	int n = ncpus(), rounds = 0;
	shared_buf =
	    mmap(NULL, RACE_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(shared_buf, 'K', RACE_BYTES);
	sh = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, reader, (void *)(long)((i + 1) % n));
	pin(0);
	uint64_t end = now_us() + RACE_US;
	while (now_us() < end || rounds < 3) {
		pid_t c = fork();
		if (c == 0) {
			pin(3 % n);
			long ok0 = atomic_load(&sh->okc);
			atomic_store(&sh->child_pid, getpid()); /* the readers start now */
			/* live until a reader got our data (at most 1 s),
			 * then 0-3 ms more and exit: the mm is torn down under
			 * the readers */
			uint64_t t0 = now_us();
			while (atomic_load(&sh->okc) == ok0 && now_us() < t0 + 1000000)
				;
			uint64_t until = now_us() + (uint64_t)(rounds % 4) * 1000;
			while (now_us() < until)
				;
			_exit(0);
		}
		waitpid(c, NULL, 0);
		rounds++;
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	printf("# race-exit: %d children; readv whole %ld, ESRCH %ld, other %ld\n", rounds,
	       atomic_load(&sh->okc), atomic_load(&sh->esrch), atomic_load(&sh->other));
	check(atomic_load(&sh->other) == 0, "race-exit: every readv gave the data or ESRCH");
	check(atomic_load(&sh->okc) > 0, "race-exit: some readv got the data");
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "basic";
	printf("KTAP version 1\n");
	if (!strcmp(mode, "basic"))
		basic();
	else if (!strcmp(mode, "race-exit"))
		race_exit();
	else
		check(0, "known mode");
	printf("1..%d\n# every check ran\n", n);
	return failed ? 1 : 0;
}
