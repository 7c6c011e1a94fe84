/*
 * tests/user/bench/page_fault.c - page faults per second from ring 3,
 * modelled on will-it-scale's page_fault1/2/3 (our own code).
 *
 *   page_fault_anon_{threads,processes}_N
 *       page_fault1: each task maps MiB of private anonymous memory, writes
 *       one byte to every page (a fault each: a zeroed page, the PTE), and
 *       unmaps it, over and over; one operation is one page written. (Under
 *       TCG a task faults some 20,000-90,000 pages a second, so within one
 *       150 ms repetition it does not reach the end of a 128 MiB mapping:
 *       the figure is the fault alone, as on hardware, where the munmap is
 *       amortized over 32768 faults.)
 *   page_fault_file_private_{threads,processes}_N
 *       page_fault2: the same on a MAP_PRIVATE mapping of a file of its own
 *       (a write fault copies the page-cache page: the file read path plus
 *       a COW copy).
 *   page_fault_file_shared_{threads,processes}_N
 *       page_fault3: on a MAP_SHARED mapping (a write fault maps the
 *       page-cache page writable and marks it dirty).
 *
 * Threads share one mm (mmap_lock, the page-table pages, shootdowns);
 * processes share nothing but the page allocator (and for the files, the
 * page cache and the file system), which is why both are measured (with
 * one task they are the same work: both are printed all the same).
 *
 * Sizes: the anonymous mapping is -m MiB per task (default 128, at most
 * 256/N MiB per task so that 4 tasks fit in MEM=512M: 64 MiB with 4). The
 * files are created in "/" (SFS on this kernel's RAM disk; ext2 on brd on
 * Linux), -f MiB each (default 8), one per task, written with write() and
 * fsync'd first so that the faults find the pages in the page cache with
 * their blocks allocated (a file system that allocates at fault time
 * would measure its allocator, and 4 x 128 MiB would not fit the 64 MiB
 * RAM disk). Each repetition lasts -t MS (150): 18 figures x 5 x 150 ms
 * plus the set-up of the tasks, about 22 s under TCG at 4 CPUs.
 */
#include "bench.h"

static int anon_mib = 128, file_mib = 8;
static int files[MAX_TASKS];
static int cur_tasks;

struct fault_arg {
	int kind; /* 0 anon, 1 file private, 2 file shared */
};

static int fault_work(int id, struct ctl *ctl, void *p)
{
	struct fault_arg *a = p;
	size_t size;
	if (a->kind == 0) {
		int mib = anon_mib < 256 / cur_tasks ? anon_mib : 256 / cur_tasks;
		size = (size_t)mib << 20;
	} else
		size = (size_t)file_mib << 20;
	int flags = a->kind == 0   ? MAP_PRIVATE | MAP_ANONYMOUS
		    : a->kind == 1 ? MAP_PRIVATE
				   : MAP_SHARED;
	int fd = a->kind ? files[id] : -1;
	task_ready(ctl);
	while (!atomic_load(&ctl->stop)) {
		char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, fd, 0);
		if (m == MAP_FAILED) {
			printf("# error: mmap of %zu bytes: %s\n", size, strerror(errno));
			return -1;
		}
		for (size_t off = 0; off < size; off += PAGE) {
			if (atomic_load_explicit(&ctl->stop, memory_order_relaxed))
				break;
			((volatile char *)m)[off] = 1;
			atomic_fetch_add_explicit(&ctl->count[id].v, 1, memory_order_relaxed);
		}
		munmap(m, size);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int *vals[] = { &anon_mib, &file_mib };
	bench_init(argc, argv, "mf", vals);
	if (anon_mib < 1 || file_mib < 1)
		fail("sizes must be at least 1 MiB");
	printf("# anonymous: %d MiB per task (at most 256/N); files: %d MiB per task\n", anon_mib,
	       file_mib);

	static const char *names[] = { "page_fault_anon", "page_fault_file_private",
				       "page_fault_file_shared" };
	int nfiles = ncpus < MAX_TASKS ? ncpus : MAX_TASKS;
	for (int i = 0; i < nfiles; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/bench_pf.%d", i);
		files[i] = make_file(path, (size_t)file_mib << 20);
	}
	for (int kind = 0; kind < 3; kind++) {
		struct fault_arg a = { kind };
		char fig[128];
		for (int k = 0; k < 3; k++) {
			int n = task_counts[k];
			cur_tasks = n;
			if (skip_tasks(names[kind], n))
				continue;
			for (int p = 0; p < 2; p++) {
				snprintf(fig, sizeof(fig), "%s_%s_%d", names[kind],
					 p ? "processes" : "threads", n);
				for (int r = 0; r < reps; r++)
					emit(fig, run_tasks(n, p, fault_work, &a), "ops/s");
			}
		}
	}
	for (int i = 0; i < nfiles; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/bench_pf.%d", i);
		close(files[i]);
		unlink(path);
	}
	return 0;
}
