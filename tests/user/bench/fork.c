/*
 * tests/user/bench/fork.c - fork and copy-on-write from ring 3.
 *
 *   fork_MMIB       cycles per fork + child _exit(0) + waitpid of a
 *                   process with M MiB of touched private anonymous memory
 *                   (M = 1, 16 and -m MiB, default 256): the page-table copy
 *                   and write-protect of every PTE, the parent's TLB flush,
 *                   the child's teardown (the zap of M MiB of shared pages)
 *                   and two context switches. The parent runs on CPU 0, the
 *                   child on CPU 1 (its affinity is inherited, then moved).
 *   fork_cow_copy   cycles per write fault of the parent on a page shared
 *                   with a live child (the child waits in a pipe read on
 *                   CPU 1): a copy (R3: page_count > 1).
 *   fork_cow_reuse  cycles per write fault of the parent on a page that
 *                   was shared with a child that has exited: page_count 1,
 *                   the page is reused in place (no copy), only the PTE
 *                   made writable again.
 *
 * The COW figures write the first byte of each of 512 pages (2 MiB) after
 * a fresh fork, timed per page; the fork itself is outside the timing.
 * Each fork figure repeats for -t MS (150; at least one fork). Under TCG a
 * fork of 256 MiB takes about 0.1-0.2 s and touching the 256 MiB first 2-3
 * s: the program takes about 6-7 s (-m 64 for a smaller MEM than 512M).
 */
#include "bench.h"

#define COW_PAGES 512

static char *region(size_t len)
{
	char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		fail("mmap of %zu bytes: %s", len, strerror(errno));
	for (size_t off = 0; off < len; off += PAGE)
		m[off] = 1;
	return m;
}

static void fork_figure(int mib)
{
	size_t len = (size_t)mib << 20;
	char *m = region(len);
	char fig[64];
	snprintf(fig, sizeof(fig), "fork_%dmib", mib);
	for (int r = 0; r < reps; r++) {
		uint64_t start = rdtsc(), budget = ms_cycles(rep_ms), forks = 0;
		while (forks < 1 || rdtsc() - start < budget) {
			pid_t c = fork();
			if (c < 0)
				fail("fork: %s", strerror(errno));
			if (c == 0) {
				pin(1);
				_exit(0);
			}
			int st;
			if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st))
				fail("the child did not exit 0");
			forks++;
		}
		emit(fig, (double)(rdtsc() - start) / forks, "cycles");
	}
	munmap(m, len);
}

static uint64_t write_pages(char *m)
{
	uint64_t t0 = rdtsc();
	for (int i = 0; i < COW_PAGES; i++)
		((volatile char *)m)[i * PAGE] = 2;
	return rdtsc() - t0;
}

static void cow_figures(void)
{
	size_t len = COW_PAGES * PAGE;
	for (int r = 0; r < reps; r++) {
		char *m = region(len);
		int p[2];
		if (pipe(p))
			fail("pipe: %s", strerror(errno));
		pid_t c = fork();
		if (c < 0)
			fail("fork: %s", strerror(errno));
		if (c == 0) {
			pin(1);
			char b;
			close(p[1]);
			_exit(read(p[0], &b, 1) < 0);
		}
		close(p[0]);
		uint64_t copy = write_pages(m);
		close(p[1]); /* the child reads EOF and exits */
		waitpid(c, NULL, 0);
		munmap(m, len);
		emit("fork_cow_copy", (double)copy / COW_PAGES, "cycles");
	}
	for (int r = 0; r < reps; r++) {
		char *m = region(len);
		pid_t c = fork();
		if (c < 0)
			fail("fork: %s", strerror(errno));
		if (c == 0)
			_exit(0);
		waitpid(c, NULL, 0);
		uint64_t reuse = write_pages(m);
		munmap(m, len);
		emit("fork_cow_reuse", (double)reuse / COW_PAGES, "cycles");
	}
}

int main(int argc, char **argv)
{
	int big = 256;
	int *vals[] = { &big };
	bench_init(argc, argv, "m", vals);
	if (!pin(0))
		printf("# not pinned: sched_setaffinity(0): %s\n", strerror(errno));
	if (ncpus < 2)
		printf("# one CPU: the children run on CPU 0 too\n");
	fork_figure(1);
	fork_figure(16);
	if (big > 16)
		fork_figure(big);
	cow_figures();
	return 0;
}
