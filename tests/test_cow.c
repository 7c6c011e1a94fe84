/*
 * tests/test_cow.c - fork and copy-on-write by page_count (R3, R4).
 *
 *   basic_cow_every_cpu_pair: after fork each side's writes stay its own, for
 *       every pair of CPUs; the first writer copies, the last one reuses
 *       (counter-checked), also once the other side has exited.
 *   vmsplice_leak (CVE-2020-29374): a read-only GUP reference held by the
 *       child keeps seeing the old data after the parent writes (kills
 *       COW_BY_MAPCOUNT).
 *   fork_vs_pinned_dma (seed 003): a page pinned for DMA before fork stays
 *       the parent's: the DMA write and the parent's write both land in the
 *       parent, neither in the child (kills NO_PRECOW_PINNED).
 *   madvise_dontfork: the child has no mapping; the pinned buffer is untouched.
 *   fork_failure_unwinds: an allocation failure at any point of fork leaks
 *       nothing and leaves the parent intact.
 *   shared_mapping_stays_shared: MAP_SHARED memory is shared after fork.
 */
#include "tests/ktest_mm.h"
#include "mm/gup.h"
#include "kernel/stats.h"
#include "drivers/dma_engine.h"

static struct mm *parent_with_pages(struct ktest *t, int pages, uint64_t *addr)
{
	struct mm *mm = mm_alloc();
	if (!mm)
		return NULL;
	*addr = ktest_mmap(mm, pages * PAGE_SIZE);
	for (int i = 0; i < pages; i++)
		ktest_poke(mm, CPU_ANY, *addr + i * PAGE_SIZE, 0xa000 + i);
	return mm;
}

static struct mm *fork_mm(struct ktest *t, struct mm *parent)
{
	int err;
	struct mm *child = dup_mm(parent, &err);
	if (!child)
		ktest_fail(t, __FILE__, __LINE__, "fork failed: %d", err);
	return child;
}

static void basic_cow_every_cpu_pair(struct ktest *t)
{
	int n = MIN(nr_cpus_online, 4);
	for (int pc = 0; pc < n; pc++) {
		for (int cc = 0; cc < n; cc++) {
			int pcpu = ktest_other_cpu(0, pc), ccpu = ktest_other_cpu(0, cc);
			uint64_t a, v;
			struct mm *parent = parent_with_pages(t, 2, &a);
			KASSERT_NOT_NULL(t, parent);
			struct mm *child = fork_mm(t, parent);
			KASSERT_NOT_NULL(t, child);
			uint64_t copies = event_sum(EV_COW_COPY), reuses = event_sum(EV_COW_REUSE);
			/* page 0: the child writes first (copies), then the parent (reuses) */
			KEXPECT_EQ(t, ktest_poke(child, ccpu, a, 0xc0), 0);
			KEXPECT_EQ(t, ktest_poke(parent, pcpu, a, 0xb0), 0);
			KEXPECT_EQ(t, event_sum(EV_COW_COPY) - copies, 1);
			KEXPECT_EQ(t, event_sum(EV_COW_REUSE) - reuses, 1);
			KEXPECT_EQ(t, ktest_peek(parent, ccpu, a, &v), 0);
			KEXPECT_EQ(t, v, 0xb0);
			KEXPECT_EQ(t, ktest_peek(child, pcpu, a, &v), 0);
			KEXPECT_EQ(t, v, 0xc0);
			/* page 1: untouched by both, still shared and intact */
			KEXPECT_EQ(t, ktest_peek(child, ccpu, a + PAGE_SIZE, &v), 0);
			KEXPECT_EQ(t, v, 0xa001);
			/* the child exits: the parent's write reuses the page, no copy */
			mmput(child);
			copies = event_sum(EV_COW_COPY);
			KEXPECT_EQ(t, ktest_poke(parent, pcpu, a + PAGE_SIZE, 0xb1), 0);
			KEXPECT_EQ(t, event_sum(EV_COW_COPY) - copies, 0);
			KEXPECT_EQ(t, ktest_peek(parent, ccpu, a + PAGE_SIZE, &v), 0);
			KEXPECT_EQ(t, v, 0xb1);
			mmput(parent);
		}
	}
}

struct gup_ref {
	uint64_t addr;
	struct page *page;
	long got;
};

static void child_takes_ref_and_unmaps(void *p)
{
	struct gup_ref *r = p;
	r->got = get_user_pages(current->mm, r->addr, 1, 0, &r->page); /* read-only */
	vm_munmap(current->mm, r->addr, PAGE_SIZE);
}

static void vmsplice_leak(struct ktest *t)
{
	uint64_t a, v;
	struct mm *parent = parent_with_pages(t, 1, &a);
	KASSERT_NOT_NULL(t, parent);
	struct mm *child = fork_mm(t, parent);
	KASSERT_NOT_NULL(t, child);
	struct gup_ref r = { .addr = a };
	ktest_run_in_mm(child, CPU_ANY, child_takes_ref_and_unmaps, &r);
	KASSERT_EQ(t, r.got, 1);
	KEXPECT_EQ(t, page_mapcount(r.page), 1); /* only the parent maps it now */
	KEXPECT_EQ(t, ktest_poke(parent, CPU_ANY, a, 0x5ec7e7), 0);
	/* The child's reference must still show what it saw: */
	KEXPECT_EQ(t, *(uint64_t *)page_address(r.page), 0xa000);
	KEXPECT_EQ(t, ktest_peek(parent, CPU_ANY, a, &v), 0);
	KEXPECT_EQ(t, v, 0x5ec7e7);
	put_page(r.page);
	mmput(child);
	mmput(parent);
}

struct pin_req {
	uint64_t addr;
	unsigned long nr;
	struct page *pages[16];
	long got;
};

static void pin_fast(void *p)
{
	struct pin_req *r = p;
	r->got = pin_user_pages_fast(r->addr, r->nr, FOLL_WRITE, r->pages);
}

static void fork_vs_pinned_dma(struct ktest *t)
{
	uint64_t a, v;
	struct mm *parent = parent_with_pages(t, 1, &a);
	KASSERT_NOT_NULL(t, parent);
	struct pin_req pin = { .addr = a, .nr = 1 };
	ktest_run_in_mm(parent, CPU_ANY, pin_fast, &pin);
	KASSERT_EQ(t, pin.got, 1);
	KEXPECT_TRUE(t, page_maybe_dma_pinned(pin.pages[0]));
	uint64_t precow = event_sum(EV_FORK_PRECOW);
	struct mm *child = fork_mm(t, parent);
	KASSERT_NOT_NULL(t, child);
	KEXPECT_EQ(t, event_sum(EV_FORK_PRECOW) - precow, 1);
	/* The device writes word 0 later; the parent writes word 1 meanwhile. */
	struct completion gate;
	init_completion(&gate);
	static struct dma_request dma;
	dma = (struct dma_request){ .pages = pin.pages,
				    .nr = 1,
				    .offset = 0,
				    .value = 0xd3a,
				    .unpin = true,
				    .gate = &gate };
	dma_submit(&dma);
	KEXPECT_EQ(t, ktest_poke(parent, CPU_ANY, a + 8, 0x9a7e), 0);
	complete(&gate);
	wait_for_completion(&dma.done);
	KEXPECT_EQ(t, ktest_peek(parent, CPU_ANY, a, &v), 0);
	KEXPECT_EQ(t, v, 0xd3a); /* the DMA landed in the parent */
	KEXPECT_EQ(t, ktest_peek(parent, CPU_ANY, a + 8, &v), 0);
	KEXPECT_EQ(t, v, 0x9a7e);
	KEXPECT_EQ(t, ktest_peek(child, CPU_ANY, a, &v), 0);
	KEXPECT_EQ(t, v, 0xa000); /* the child sees neither */
	KEXPECT_EQ(t, ktest_peek(child, CPU_ANY, a + 8, &v), 0);
	KEXPECT_EQ(t, v, 0);
	mmput(child);
	mmput(parent);
}

static void madvise_dontfork(struct ktest *t)
{
	uint64_t a, v;
	struct mm *parent = parent_with_pages(t, 2, &a);
	KASSERT_NOT_NULL(t, parent);
	KASSERT_EQ(t, vm_madvise(parent, a, PAGE_SIZE, MADV_DONTFORK), 0);
	struct pin_req pin = { .addr = a, .nr = 1 };
	ktest_run_in_mm(parent, CPU_ANY, pin_fast, &pin);
	KASSERT_EQ(t, pin.got, 1);
	int count = page_count(pin.pages[0]);
	pte_t before = *walk_pte(parent, a);
	struct mm *child = fork_mm(t, parent);
	KASSERT_NOT_NULL(t, child);
	KEXPECT_EQ(t, ktest_peek(child, CPU_ANY, a, &v), -EFAULT); /* no mapping */
	KEXPECT_EQ(t, ktest_peek(child, CPU_ANY, a + PAGE_SIZE, &v), 0);
	KEXPECT_EQ(t, v, 0xa001);
	KEXPECT_EQ(t, *walk_pte(parent, a), before); /* untouched: same page, still writable */
	KEXPECT_EQ(t, page_count(pin.pages[0]), count);
	unpin_user_pages_dirty(pin.pages, 1, true);
	mmput(child);
	mmput(parent);
}

static void fork_failure_unwinds(struct ktest *t)
{
	uint64_t a, v;
	struct mm *parent = parent_with_pages(t, 40, &a);
	KASSERT_NOT_NULL(t, parent);
	struct pin_req pin = { .addr = a + 3 * PAGE_SIZE, .nr = 2 };
	ktest_run_in_mm(parent, CPU_ANY, pin_fast, &pin); /* so fork copies too */
	KASSERT_EQ(t, pin.got, 2);
	uint64_t before = ktest_free_pages();
	int failures = 0;
	for (int k = 0; k < 100; k++) { /* fail the k-th allocation, until fork succeeds */
		int err = 0;
		ktest_progress();
		fork_fail_after = k;
		struct mm *child = dup_mm(parent, &err);
		fork_fail_after = -1;
		if (child) {
			mmput(child);
			break;
		}
		failures++;
		KEXPECT_EQ(t, err, -ENOMEM);
		KEXPECT_EQ(t, ktest_free_pages(), before);
	}
	KEXPECT_GE(t, failures, 4); /* VMA, tables, the pinned pages' copies */
	KEXPECT_EQ(t, ktest_free_pages(), before);
	for (int i = 0; i < 40; i++) {
		KEXPECT_EQ(t, ktest_peek(parent, CPU_ANY, a + i * PAGE_SIZE, &v), 0);
		KEXPECT_EQ(t, v, 0xa000 + i);
	}
	unpin_user_pages_dirty(pin.pages, 2, false);
	mmput(parent);
}

static void shared_mapping_stays_shared(struct ktest *t)
{
	struct mm *parent = mm_alloc();
	KASSERT_NOT_NULL(t, parent);
	int64_t a =
	    vm_mmap(parent, 0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
	KASSERT_GT(t, a, 0);
	KEXPECT_EQ(t, ktest_poke(parent, CPU_ANY, a, 1), 0);
	struct mm *child = fork_mm(t, parent);
	KASSERT_NOT_NULL(t, child);
	uint64_t copies = event_sum(EV_COW_COPY), v;
	KEXPECT_EQ(t, ktest_poke(child, CPU_ANY, a, 2), 0);
	KEXPECT_EQ(t, ktest_peek(parent, CPU_ANY, a, &v), 0);
	KEXPECT_EQ(t, v, 2);
	KEXPECT_EQ(t, event_sum(EV_COW_COPY) - copies, 0);
	mmput(child);
	mmput(parent);
}

KTEST_SUITE(cow, KTEST_CASE(basic_cow_every_cpu_pair), KTEST_CASE(vmsplice_leak),
	    KTEST_CASE(fork_vs_pinned_dma), KTEST_CASE(madvise_dontfork),
	    KTEST_CASE(fork_failure_unwinds), KTEST_CASE(shared_mapping_stays_shared));
