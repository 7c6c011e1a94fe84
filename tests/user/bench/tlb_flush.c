/*
 * tests/user/bench/tlb_flush.c - TLB shootdowns per second from ring 3,
 * modelled on will-it-scale's tlb_flush1/2/3 (our own code).
 *
 * Each task (a thread: all tasks share one mm, that is the point) has a
 * 1 MiB mapping of its own; for each of its pages in turn it writes the
 * page and then MADV_DONTNEEDs that one page. One operation is one
 * write + MADV_DONTNEED. With N > 1 the other threads of the process are
 * running on the other CPUs (each in its own loop, mostly in user space
 * writing), so every MADV_DONTNEED must flush the TLBs of the N-1 other
 * CPUs: a shootdown round of IPIs per operation, plus the fault that
 * brings the page back.
 *
 *   tlb_flush_anon_threads_N          tlb_flush2: private anonymous memory
 *                                     (the write is a fresh zero-page fault)
 *   tlb_flush_file_private_threads_N  tlb_flush3-style: a MAP_PRIVATE file
 *                                     mapping (the write copies the cached
 *                                     page; the zap frees the copy)
 *   tlb_flush_file_shared_threads_N   tlb_flush1: a MAP_SHARED file mapping
 *                                     (the write dirties the cached page;
 *                                     the zap moves the dirty bit to the
 *                                     page and must flush before the page
 *                                     can be written back: R2)
 *   tlb_flush_anon_processes_N        the same as processes (one mm each:
 *                                     no shootdown), the baseline
 *
 * The file is made in "/" (4 MiB: 1 MiB per task, written and fsync'd
 * first). Each repetition lasts -t MS (150): 12 figures x 5 x 150 ms,
 * about 10 s under TCG at 4 CPUs.
 */
#include "bench.h"

#define MAP_SIZE (1ul << 20)

static int file_fd = -1;

static int flush_work(int id, struct ctl *ctl, void *p)
{
	int kind = *(int *)p; /* 0 anon, 1 file private, 2 file shared */
	int flags = kind == 0 ? MAP_PRIVATE | MAP_ANONYMOUS : kind == 1 ? MAP_PRIVATE : MAP_SHARED;
	char *m = mmap(NULL, MAP_SIZE, PROT_READ | PROT_WRITE, flags, kind ? file_fd : -1,
		       kind ? id * MAP_SIZE : 0);
	if (m == MAP_FAILED) {
		printf("# error: mmap: %s\n", strerror(errno));
		return -1;
	}
	task_ready(ctl);
	for (size_t off = 0; !atomic_load_explicit(&ctl->stop, memory_order_relaxed);
	     off = (off + PAGE) % MAP_SIZE) {
		((volatile char *)m)[off] = 1;
		if (madvise(m + off, PAGE, MADV_DONTNEED)) {
			printf("# error: madvise: %s\n", strerror(errno));
			return -1;
		}
		atomic_fetch_add_explicit(&ctl->count[id].v, 1, memory_order_relaxed);
	}
	munmap(m, MAP_SIZE);
	return 0;
}

int main(int argc, char **argv)
{
	bench_init(argc, argv, "", NULL);
	file_fd = make_file("/bench_tlb", MAX_TASKS * MAP_SIZE);
	static int kinds[] = { 0, 1, 2 };
	scale("tlb_flush_anon", 1, 1, flush_work, &kinds[0]);
	scale("tlb_flush_file_private", 1, 0, flush_work, &kinds[1]);
	scale("tlb_flush_file_shared", 1, 0, flush_work, &kinds[2]);
	close(file_fd);
	unlink("/bench_tlb");
	return 0;
}
