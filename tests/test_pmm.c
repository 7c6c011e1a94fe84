/*
 * tests/test_pmm.c - the physical page allocator: allocation and freeing of
 * every order, exact free-page accounting, poisoning of freed pages (a write
 * after free is detected when the page is handed out again), double-free
 * detection, zeroed allocations, and a multi-CPU stress that would expose a
 * page handed out twice.
 */
#include "tests/ktest.h"
#include "tests/ktest_mm.h"
#include "kernel/panic.h"
#include "mm/page.h"
#include "kernel/stats.h"
#include "kernel/percpu.h"
#include "kernel/string.h"
#include "boot/boot_info.h"

extern const struct boot_info *boot_info;

static void alloc_free_orders(struct ktest *t)
{
	for (unsigned order = 0; order <= MAX_ORDER; order++) {
		uint64_t before = nr_free_pages();
		struct page *p = alloc_pages(0, order);
		KASSERT_NOT_NULL(t, p);
		KEXPECT_EQ(t, page_to_pfn(p) & ((1ul << order) - 1), 0); /* naturally aligned */
		KEXPECT_EQ(t, page_count(p), 1);
		KEXPECT_EQ(t, nr_free_pages(), before - (1ul << order));
		memset(page_address(p), 0xa5, PAGE_SIZE << order);
		__free_pages(p, order);
		KEXPECT_EQ(t, nr_free_pages(), before);
	}
}

static void accounting(struct ktest *t)
{
	enum { N = 1000 };
	static struct page *pages[N];
	uint64_t before = nr_free_pages(), allocs = event_sum(EV_PAGE_ALLOC);
	for (int i = 0; i < N; i++) {
		pages[i] = alloc_page(0);
		KASSERT_NOT_NULL(t, pages[i]);
	}
	KEXPECT_EQ(t, nr_free_pages(), before - N);
	KEXPECT_GE(t, event_sum(EV_PAGE_ALLOC) - allocs, N);
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < i + 8 && j < N; j++)
			KEXPECT_NE(t, pages[i], pages[j]);
	for (int i = 0; i < N; i++)
		put_page(pages[i]);
	KEXPECT_EQ(t, nr_free_pages(), before);
}

static void refcount_frees_at_zero(struct ktest *t)
{
	uint64_t before = nr_free_pages();
	struct page *p = alloc_page(0);
	KASSERT_NOT_NULL(t, p);
	get_page(p);
	KEXPECT_EQ(t, page_count(p), 2);
	put_page(p);
	KEXPECT_EQ(t, nr_free_pages(), before - 1); /* still held */
	put_page(p);
	KEXPECT_EQ(t, nr_free_pages(), before);
	KEXPECT_FALSE(t, try_get_page(p)); /* free page: count 0, no new reference */
}

static void freed_page_is_poisoned(struct ktest *t)
{
	struct page *p = alloc_page(0);
	KASSERT_NOT_NULL(t, p);
	uint64_t *w = page_address(p);
	w[0] = 1;
	put_page(p);
	for (size_t i = 0; i < PAGE_SIZE / 8; i++)
		if (w[i] != PAGE_POISON) {
			KEXPECT_EQ(t, w[i], PAGE_POISON);
			break;
		}
}

/* A write after free is reported when the page is allocated again. */
static void write_after_free_detected(struct ktest *t)
{
	sched_migrate(cpu_id()); /* stay on this CPU: its page cache is LIFO */
	preempt_disable();
	struct page *p = alloc_page(0);
	if (!p) {
		preempt_enable();
		KASSERT_NOT_NULL(t, p);
	}
	uint64_t *w = page_address(p);
	uint64_t bad = event_sum(EV_POISON_BAD);
	put_page(p);
	w[17] = 0xdeadbeef; /* the stale write */
	bug_expect_begin();
	struct page *again = alloc_page(0);
	unsigned reports = bug_expect_end();
	preempt_enable();
	KEXPECT_EQ(t, reports, 1);
	KEXPECT_EQ(t, again, p);
	KEXPECT_EQ(t, event_sum(EV_POISON_BAD) - bad, 1);
	ktest_expected_poison_errors++;
	put_page(again);
}

static void do_double_free(void *arg)
{
	put_page(arg);
}

static void double_free_caught(struct ktest *t)
{
	struct page *p = alloc_page(0);
	KASSERT_NOT_NULL(t, p);
	put_page(p);
	struct fault_catch fc;
	KEXPECT_EQ(t, ktest_catch_fault(VEC_BIT(6), do_double_free, p, &fc), 6);
	KEXPECT_EQ(t, page_count(p), 0); /* state left as it was */
}

static void zeroed_allocation(struct ktest *t)
{
	for (int round = 0; round < 16; round++) {
		struct page *p = alloc_pages(__GFP_ZERO, round % 3);
		KASSERT_NOT_NULL(t, p);
		const uint64_t *w = page_address(p);
		for (size_t i = 0; i < (PAGE_SIZE << (round % 3)) / 8; i++)
			if (w[i]) {
				KEXPECT_EQ(t, w[i], 0);
				break;
			}
		__free_pages(p, round % 3);
	}
}

static struct ktest *stress_t;
static void stress_cpu(void *arg, int cpu)
{
	enum { MIN_ROUNDS = 30, MAX_ROUNDS = 3000, HELD = 32 };
	struct page *held[HELD] = { 0 };
	uint64_t seed = 0x9e3779b97f4a7c15ull * (cpu + 1), start = ktime_get_ns();
	for (uint64_t r = 0; ktest_stress_more(start, r, MIN_ROUNDS, MAX_ROUNDS); r++) {
		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		int i = seed % HELD;
		if (held[i]) {
			uint64_t *w = page_address(held[i]);
			if (w[0] != (uint64_t)cpu << 32 || w[511] != page_to_pfn(held[i]))
				ktest_fail(stress_t, __FILE__, __LINE__,
					   "page pfn %#lx changed while held by CPU %d",
					   page_to_pfn(held[i]), cpu);
			put_page(held[i]);
			held[i] = NULL;
		} else {
			held[i] = alloc_page(0);
			if (!held[i])
				continue;
			uint64_t *w = page_address(held[i]);
			w[0] = (uint64_t)cpu << 32;
			w[511] = page_to_pfn(held[i]);
		}
	}
	for (int i = 0; i < HELD; i++)
		if (held[i])
			put_page(held[i]);
}

static void smp_stress(struct ktest *t)
{
	uint64_t before = ktest_free_pages(); /* creating threads may grow a slab */
	stress_t = t;
	ktest_on_each_cpu_thread(stress_cpu, NULL);
	KEXPECT_EQ(t, ktest_free_pages(), before);
}

/*
 * Pages that held firmware or loader code are poisoned as they enter the
 * allocator (mm/pmm.c: under QEMU's TCG a page once translated from stays
 * marked as code and every write to it is slow until all of its
 * translations are gone; a kernel stack there made each system call ~70x
 * slower). Every such page still in the buddy lists is poisoned.
 */
static void boot_code_pages_scrubbed(struct ktest *t)
{
	const struct boot_mem_region *r = phys_to_virt(boot_info->mem_regions);
	uint64_t free = 0, unpoisoned = 0;
	for (uint64_t i = 0; i < boot_info->mem_region_count; i++) {
		if (r[i].type != BOOT_MEM_USABLE || !pmm_region_held_code(&r[i]))
			continue;
		uint64_t bad, s = r[i].base / PAGE_SIZE;
		free += pmm_buddy_pages_in(s, s + r[i].pages, &bad);
		unpoisoned += bad;
	}
	if (!free) {
		ktest_skip(t, "no free page that held firmware code (not booted by UEFI?)");
		return;
	}
	ktest_log(t, "%lu free pages held firmware or loader code", free);
	KEXPECT_EQ(t, unpoisoned, 0);
}

KTEST_SUITE(pmm, KTEST_CASE(alloc_free_orders), KTEST_CASE(accounting),
	    KTEST_CASE(refcount_frees_at_zero), KTEST_CASE(freed_page_is_poisoned),
	    KTEST_CASE(write_after_free_detected), KTEST_CASE(double_free_caught),
	    KTEST_CASE(zeroed_allocation), KTEST_CASE(boot_code_pages_scrubbed),
	    KTEST_CASE(smp_stress));
