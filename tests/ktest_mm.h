/* tests/ktest_mm.h - helpers for tests that run inside user address spaces. */
#ifndef TESTS_KTEST_MM_H
#define TESTS_KTEST_MM_H

#include "tests/ktest.h"
#include "mm/mm.h"
#include "mm/page.h"

/* mmap anonymous private read-write memory in mm, or 0. */
static inline uint64_t ktest_mmap(struct mm *mm, uint64_t len)
{
	int64_t a = vm_mmap(mm, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	return a < 0 ? 0 : (uint64_t)a;
}

/* Pages that long-lived kernel caches keep once allocated (heap slabs and
 * kernel page tables): subtract their growth to count leaks exactly. */
uint64_t ktest_kept_pages(void);
/* Free pages plus the pages those caches took: exact across a test. */
static inline uint64_t ktest_free_pages(void)
{
	return nr_free_pages() + ktest_kept_pages();
}

/* The i-th online CPU after `from` (wrapping), to place test threads. */
int ktest_other_cpu(int from, int i);

/* Live workers: threads running in an mm on other CPUs, never lazy (they
 * keep reading one user address), so every flush of the mm must reach them. */
struct live_worker {
	struct mm *mm;
	uint64_t addr;
	volatile bool stop, running;
	struct completion done;
};
/* Start up to n workers on the CPUs after this one; returns how many. */
int start_live_workers(struct live_worker *w, int n, struct mm *mm, uint64_t addr);
void stop_live_workers(struct live_worker *w, int n);

/* Run fn(arg) in a thread on `cpu` (CPU_ANY allowed) running in mm; wait. */
void ktest_run_in_mm(struct mm *mm, int cpu, void (*fn)(void *), void *arg);
/* Read / write one u64 of mm at addr from a thread on cpu (0 or -EFAULT). */
int ktest_peek(struct mm *mm, int cpu, uint64_t addr, uint64_t *val);
int ktest_poke(struct mm *mm, int cpu, uint64_t addr, uint64_t val);

#endif
