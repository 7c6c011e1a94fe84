/*
 * tests/test_heap.c - kmalloc/kfree: sizes and alignment, large blocks,
 * exact byte accounting, a write after free detected on reallocation, a
 * double free caught as a BUG, and a concurrent stress on every CPU.
 */
#include "tests/ktest.h"
#include "tests/ktest_mm.h"
#include "kernel/panic.h"
#include "mm/kmalloc.h"
#include "mm/page.h"
#include "kernel/stats.h"
#include "kernel/string.h"

static void sizes_and_alignment(struct ktest *t)
{
	uint64_t before = kmalloc_bytes_in_use();
	static void *p[64];
	for (int i = 0; i < 64; i++) {
		size_t size = 1 + i * 37;
		p[i] = kmalloc(size);
		KASSERT_NOT_NULL(t, p[i]);
		KEXPECT_EQ(t, (uint64_t)p[i] & 15, 0);
		KEXPECT_GE(t, ksize(p[i]), size);
		memset(p[i], i, size);
	}
	for (int i = 0; i < 64; i++) {
		const unsigned char *b = p[i];
		for (size_t k = 0; k < 1 + (size_t)i * 37; k++)
			if (b[k] != i) {
				KEXPECT_EQ(t, b[k], i);
				break;
			}
		kfree(p[i]);
	}
	KEXPECT_EQ(t, kmalloc_bytes_in_use(), before);
	kfree(NULL); /* allowed */
}

static void large_blocks(struct ktest *t)
{
	uint64_t free_before = ktest_free_pages(); /* kmalloc(3000) may grow a slab */
	void *a = kmalloc(3000), *b = kzalloc(64 * 1024);
	KASSERT_NOT_NULL(t, a);
	KASSERT_NOT_NULL(t, b);
	KEXPECT_EQ(t, (uint64_t)b & (PAGE_SIZE - 1), 0);
	KEXPECT_EQ(t, ((uint64_t *)b)[8191], 0);
	KEXPECT_EQ(t, ksize(b), 64 * 1024);
	kfree(a);
	kfree(b);
	KEXPECT_EQ(t, ktest_free_pages(), free_before);
}

static void write_after_free_detected(struct ktest *t)
{
	sched_migrate(cpu_id());
	uint64_t bad = event_sum(EV_POISON_BAD);
	char *p = kmalloc(1500); /* 2048-byte class: nothing else uses it */
	KASSERT_NOT_NULL(t, p);
	kfree(p);
	p[100] = 1; /* stale write */
	bug_expect_begin();
	char *q = kmalloc(1500);
	KEXPECT_EQ(t, bug_expect_end(), 1);
	KEXPECT_EQ(t, q, p); /* LIFO free list */
	KEXPECT_EQ(t, event_sum(EV_POISON_BAD) - bad, 1);
	ktest_expected_poison_errors++;
	kfree(q);
}

static void do_kfree(void *p)
{
	kfree(p);
}

static void double_free_caught(struct ktest *t)
{
	void *p = kmalloc(40);
	KASSERT_NOT_NULL(t, p);
	kfree(p);
	struct fault_catch fc;
	KEXPECT_EQ(t, ktest_catch_fault(VEC_BIT(6), do_kfree, p, &fc), 6);
	void *big = kmalloc(8192);
	KASSERT_NOT_NULL(t, big);
	kfree(big);
	KEXPECT_EQ(t, ktest_catch_fault(VEC_BIT(6), do_kfree, big, &fc), 6);
}

static struct ktest *stress_t;
static void stress_cpu(void *arg, int cpu)
{
	enum { SLOTS = 64, MIN_ROUNDS = 50, MAX_ROUNDS = 4000 };
	void *slot[SLOTS] = { 0 };
	size_t len[SLOTS];
	uint64_t seed = 0x2545f4914f6cdd1dull * (cpu + 7), start = ktime_get_ns();
	for (uint64_t r = 0; ktest_stress_more(start, r, MIN_ROUNDS, MAX_ROUNDS); r++) {
		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		int i = seed % SLOTS;
		if (slot[i]) {
			unsigned char *b = slot[i];
			for (size_t k = 0; k < len[i]; k++)
				if (b[k] != (unsigned char)(cpu + i)) {
					ktest_fail(stress_t, __FILE__, __LINE__,
						   "object %p changed while held by CPU %d",
						   slot[i], cpu);
					break;
				}
			kfree(slot[i]);
			slot[i] = NULL;
		} else {
			len[i] = 1 + (seed >> 20) % 3000;
			slot[i] = kmalloc(len[i]);
			if (slot[i])
				memset(slot[i], cpu + i, len[i]);
		}
	}
	for (int i = 0; i < SLOTS; i++)
		kfree(slot[i]);
}

static void smp_stress(struct ktest *t)
{
	uint64_t before = kmalloc_bytes_in_use();
	stress_t = t;
	ktest_on_each_cpu_thread(stress_cpu, NULL);
	KEXPECT_EQ(t, kmalloc_bytes_in_use(), before);
}

KTEST_SUITE(heap, KTEST_CASE(sizes_and_alignment), KTEST_CASE(large_blocks),
	    KTEST_CASE(write_after_free_detected), KTEST_CASE(double_free_caught),
	    KTEST_CASE(smp_stress));
