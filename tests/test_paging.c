/*
 * tests/test_paging.c - the kernel's page tables: map, translate, unmap,
 * permissions (read-only binds ring 0 through CR0.WP, NX blocks execution),
 * per-section permissions of the kernel image, no identity map, and a
 * remap that another CPU observes only because the change was flushed on
 * every CPU (QEMU's TLB keeps stale entries until the guest flushes).
 */
#include "tests/ktest.h"
#include "mm/page.h"
#include "mm/vmalloc.h"
#include "arch/x86_64/pgtable.h"
#include "arch/x86_64/trap.h"
#include "kernel/smp.h"
#include "kernel/string.h"

extern char __text_start[], __rodata_start[], __data_start[];

static void map_translate_unmap(struct ktest *t)
{
	uint64_t va = vmap_reserve(PAGE_SIZE);
	struct page *p = alloc_page(__GFP_ZERO);
	KASSERT_NOT_NULL(t, p);
	KASSERT_EQ(t, kmap_page(va, page_to_phys(p), KMAP_WRITE), 0);
	uint64_t pa = 0, entry = 0;
	KEXPECT_TRUE(t, kernel_translate(va + 0x123, &pa, &entry));
	KEXPECT_EQ(t, pa, page_to_phys(p) + 0x123);
	KEXPECT_TRUE(t, pte_write(entry));
	*(volatile uint64_t *)(va + 8) = 0x1234567887654321ull;
	KEXPECT_EQ(t, ((uint64_t *)page_address(p))[1], 0x1234567887654321ull);
	KEXPECT_EQ(t, kunmap_page(va), 0);
	KEXPECT_FALSE(t, kernel_translate(va, NULL, NULL));
	KEXPECT_EQ(t, kunmap_page(va), -22);			   /* not mapped: clean error */
	KEXPECT_EQ(t, kmap_page(va + 1, page_to_phys(p), 0), -22); /* misaligned */
	put_page(p);
}

static void read_va(void *va)
{
	(void)*(volatile uint64_t *)va;
}
static void write_va(void *va)
{
	*(volatile uint64_t *)va = 42;
}

static void unmapped_access_faults(struct ktest *t)
{
	uint64_t va = vmap_reserve(PAGE_SIZE);
	struct fault_catch fc;
	KEXPECT_EQ(t, ktest_catch_fault(VEC_BIT(EXC_PF), read_va, (void *)va, &fc), EXC_PF);
	KEXPECT_EQ(t, fc.cr2, va);
	KEXPECT_EQ(t, fc.error_code & (PF_PROT | PF_WRITE), 0);
}

static void readonly_binds_kernel(struct ktest *t)
{
	uint64_t va = vmap_reserve(PAGE_SIZE);
	struct page *p = alloc_page(__GFP_ZERO);
	KASSERT_NOT_NULL(t, p);
	KASSERT_EQ(t, kmap_page(va, page_to_phys(p), KMAP_READ), 0);
	struct fault_catch fc;
	KEXPECT_EQ(t, ktest_catch_fault(VEC_BIT(EXC_PF), read_va, (void *)va, &fc), -1);
	KEXPECT_EQ(t, ktest_catch_fault(VEC_BIT(EXC_PF), write_va, (void *)va, &fc), EXC_PF);
	KEXPECT_EQ(t, fc.error_code & (PF_PROT | PF_WRITE), PF_PROT | PF_WRITE);
	KEXPECT_EQ(t, ((uint64_t *)page_address(p))[0], 0);
	kunmap_page(va);
	put_page(p);
}

static void call_va(void *va)
{
	((void (*)(void))va)();
}

static void nx_blocks_execution(struct ktest *t)
{
	if (!boot_cpu_features.nx)
		KTEST_SKIP(t, "CPU has no NX");
	uint64_t va = vmap_reserve(PAGE_SIZE);
	struct page *p = alloc_page(__GFP_ZERO);
	KASSERT_NOT_NULL(t, p);
	*(uint8_t *)page_address(p) = 0xc3; /* ret */
	KASSERT_EQ(t, kmap_page(va, page_to_phys(p), KMAP_READ), 0);
	struct fault_catch fc;
	KEXPECT_EQ(t, ktest_catch_fault(VEC_BIT(EXC_PF), call_va, (void *)va, &fc), EXC_PF);
	KEXPECT_EQ(t, fc.cr2, va);
	KEXPECT_TRUE(t, fc.error_code & PF_INSTR);
	/* The same page mapped executable runs. */
	KASSERT_EQ(t, kmap_page(va, page_to_phys(p), KMAP_EXEC), 0);
	KEXPECT_EQ(t, ktest_catch_fault(VEC_BIT(EXC_PF), call_va, (void *)va, &fc), -1);
	kunmap_page(va);
	put_page(p);
}

static void kernel_section_permissions(struct ktest *t)
{
	uint64_t e;
	KASSERT_TRUE(t, kernel_translate((uint64_t)__text_start, NULL, &e));
	KEXPECT_TRUE(t, pte_exec(e));
	KEXPECT_FALSE(t, pte_write(e));
	KASSERT_TRUE(t, kernel_translate((uint64_t)__rodata_start, NULL, &e));
	KEXPECT_FALSE(t, pte_write(e));
	KEXPECT_EQ(t, pte_exec(e), !boot_cpu_features.nx);
	KASSERT_TRUE(t, kernel_translate((uint64_t)__data_start, NULL, &e));
	KEXPECT_TRUE(t, pte_write(e));
	KEXPECT_EQ(t, pte_exec(e), !boot_cpu_features.nx);
	struct fault_catch fc;
	KEXPECT_EQ(t, ktest_catch_fault(VEC_BIT(EXC_PF), write_va, (void *)__rodata_start, &fc),
		   EXC_PF);
	KEXPECT_EQ(t, ktest_catch_fault(VEC_BIT(EXC_PF), write_va, (void *)__text_start, &fc),
		   EXC_PF);
}

static void direct_map_no_identity(struct ktest *t)
{
	struct page *p = alloc_page(0);
	KASSERT_NOT_NULL(t, p);
	uint64_t pa = 0;
	KEXPECT_TRUE(t, kernel_translate((uint64_t)page_address(p) + 5, &pa, NULL));
	KEXPECT_EQ(t, pa, page_to_phys(p) + 5);
	KEXPECT_FALSE(t, kernel_translate(page_to_phys(p), NULL, NULL)); /* no identity map */
	KEXPECT_FALSE(t, kernel_translate(0, NULL, NULL));
	struct fault_catch fc;
	KEXPECT_EQ(t, ktest_catch_fault(VEC_BIT(EXC_PF), read_va, (void *)page_to_phys(p), &fc),
		   EXC_PF);
	put_page(p);
}

/* Another CPU caches the old translation; the remap must reach it. */
struct remap_ctx {
	uint64_t va, seen;
};
static void remote_read(void *arg)
{
	struct remap_ctx *c = arg;
	c->seen = *(volatile uint64_t *)c->va;
}

static void remap_flushes_all_cpus(struct ktest *t)
{
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs");
	struct page *a = alloc_page(0), *b = alloc_page(0);
	KASSERT_NOT_NULL(t, a);
	KASSERT_NOT_NULL(t, b);
	*(uint64_t *)page_address(a) = 0xaaaa;
	*(uint64_t *)page_address(b) = 0xbbbb;
	struct remap_ctx c = { vmap_reserve(PAGE_SIZE), 0 };
	KASSERT_EQ(t, kmap_page(c.va, page_to_phys(a), KMAP_READ), 0);
	for (int i = 0; i < nr_cpus; i++) {
		if (i == cpu_id() || !cpus[i].online)
			continue;
		smp_call_function_single(i, remote_read, &c, true);
		KEXPECT_EQ(t, c.seen, 0xaaaa);
	}
	KASSERT_EQ(t, kmap_page(c.va, page_to_phys(b), KMAP_READ), 0);
	for (int i = 0; i < nr_cpus; i++) {
		if (i == cpu_id() || !cpus[i].online)
			continue;
		smp_call_function_single(i, remote_read, &c, true);
		KEXPECT_EQ(t, c.seen, 0xbbbb);
	}
	kunmap_page(c.va);
	put_page(a);
	put_page(b);
}

KTEST_SUITE(paging, KTEST_CASE(map_translate_unmap), KTEST_CASE(unmapped_access_faults),
	    KTEST_CASE(readonly_binds_kernel), KTEST_CASE(nx_blocks_execution),
	    KTEST_CASE(kernel_section_permissions), KTEST_CASE(direct_map_no_identity),
	    KTEST_CASE(remap_flushes_all_cpus));
