/*
 * tests/test_mm.c - user address spaces: mmap, demand-zero faults through
 * the #PF handler, munmap, mprotect, MADV_DONTNEED and MADV_DONTFORK, bad
 * arguments rejected cleanly, and a teardown that returns every page and
 * every page table.
 */
#include "tests/ktest_mm.h"
#include "kernel/stats.h"

static void mmap_fault_munmap(struct ktest *t)
{
	struct mm *mm = mm_alloc();
	KASSERT_NOT_NULL(t, mm);
	use_mm(mm);
	uint64_t a = ktest_mmap(mm, 16 * PAGE_SIZE);
	KASSERT_NE(t, a, 0);
	uint64_t v = 1, faults = event_sum(EV_PAGE_FAULT);
	KEXPECT_EQ(t, get_user_u64(&v, a + 8), 0);
	KEXPECT_EQ(t, v, 0); /* demand-zero */
	for (int i = 0; i < 16; i++)
		KEXPECT_EQ(t, put_user_u64(a + i * PAGE_SIZE, 0x1000 + i), 0);
	for (int i = 0; i < 16; i++) {
		KEXPECT_EQ(t, get_user_u64(&v, a + i * PAGE_SIZE), 0);
		KEXPECT_EQ(t, v, 0x1000 + i);
	}
	KEXPECT_GE(t, event_sum(EV_PAGE_FAULT) - faults, 16);
	KEXPECT_EQ(t, atomic64_read(&mm->rss), 16);
	KEXPECT_EQ(t, vm_munmap(mm, a, 16 * PAGE_SIZE), 0);
	KEXPECT_EQ(t, atomic64_read(&mm->rss), 0);
	KEXPECT_EQ(t, get_user_u64(&v, a), -EFAULT);
	KEXPECT_EQ(t, put_user_u64(a, 1), -EFAULT);
	KEXPECT_EQ(t, get_user_u64(&v, 0), -EFAULT);			 /* NULL */
	KEXPECT_EQ(t, get_user_u64(&v, (uint64_t)&v), -EFAULT);		 /* a kernel address */
	KEXPECT_EQ(t, get_user_u64(&v, 0x00007ffffffffffcull), -EFAULT); /* straddles the top */
	unuse_mm(mm);
	mmput(mm);
}

static void protections(struct ktest *t)
{
	struct mm *mm = mm_alloc();
	KASSERT_NOT_NULL(t, mm);
	use_mm(mm);
	int64_t a = vm_mmap(mm, 0, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
	KASSERT_GT(t, a, 0);
	uint64_t v;
	KEXPECT_EQ(t, get_user_u64(&v, a), 0);
	KEXPECT_EQ(t, put_user_u64(a, 5), -EFAULT); /* read-only VMA */
	KEXPECT_EQ(t, vm_mprotect(mm, a, PAGE_SIZE, PROT_READ | PROT_WRITE), 0);
	KEXPECT_EQ(t, put_user_u64(a, 5), 0);
	KEXPECT_EQ(t, vm_mprotect(mm, a, PAGE_SIZE, PROT_READ), 0);
	KEXPECT_EQ(t, put_user_u64(a, 6), -EFAULT); /* the PTE lost its write bit and was flushed */
	KEXPECT_EQ(t, get_user_u64(&v, a), 0);
	KEXPECT_EQ(t, v, 5);
	KEXPECT_EQ(t, vm_mprotect(mm, a, PAGE_SIZE, PROT_NONE), 0);
	KEXPECT_EQ(t, get_user_u64(&v, a), -EFAULT);
	unuse_mm(mm);
	mmput(mm);
}

static void madvise_dontneed_zeroes(struct ktest *t)
{
	struct mm *mm = mm_alloc();
	KASSERT_NOT_NULL(t, mm);
	use_mm(mm);
	uint64_t a = ktest_mmap(mm, 8 * PAGE_SIZE), v;
	KASSERT_NE(t, a, 0);
	for (int i = 0; i < 8; i++)
		put_user_u64(a + i * PAGE_SIZE, 77);
	KEXPECT_EQ(t, vm_madvise(mm, a + 2 * PAGE_SIZE, 4 * PAGE_SIZE, MADV_DONTNEED), 0);
	for (int i = 0; i < 8; i++) {
		KEXPECT_EQ(t, get_user_u64(&v, a + i * PAGE_SIZE), 0);
		KEXPECT_EQ(t, v, i >= 2 && i < 6 ? 0 : 77);
	}
	KEXPECT_EQ(t, vm_madvise(mm, a, PAGE_SIZE, MADV_DONTFORK), 0);
	KEXPECT_TRUE(t, find_vma(mm, a)->vm_flags & VM_DONTCOPY);
	KEXPECT_FALSE(t, find_vma(mm, a + PAGE_SIZE)->vm_flags & VM_DONTCOPY); /* split */
	unuse_mm(mm);
	mmput(mm);
}

static void bad_arguments(struct ktest *t)
{
	struct mm *mm = mm_alloc();
	KASSERT_NOT_NULL(t, mm);
	int anon = MAP_PRIVATE | MAP_ANONYMOUS;
	KEXPECT_EQ(t, vm_mmap(mm, 0, 0, PROT_READ, anon), -EINVAL);
	KEXPECT_EQ(t, vm_mmap(mm, 0x1001, PAGE_SIZE, PROT_READ, anon | MAP_FIXED), -EINVAL);
	KEXPECT_EQ(t, vm_mmap(mm, USER_SPACE_END, PAGE_SIZE, PROT_READ, anon | MAP_FIXED), -EINVAL);
	KEXPECT_EQ(t, vm_mmap(mm, 0, PAGE_SIZE, PROT_READ, MAP_PRIVATE), -EINVAL); /* no file yet */
	KEXPECT_EQ(t, vm_mmap(mm, 0, PAGE_SIZE, 0x100, anon), -EINVAL);
	KEXPECT_EQ(t, vm_munmap(mm, 0x1234, PAGE_SIZE), -EINVAL);
	KEXPECT_EQ(t, vm_munmap(mm, 0x100000, 0), -EINVAL);
	KEXPECT_EQ(t, vm_munmap(mm, 0x100000, PAGE_SIZE), 0); /* nothing there: fine */
	KEXPECT_EQ(t, vm_mprotect(mm, 0x100000, PAGE_SIZE, PROT_READ), -ENOMEM);
	KEXPECT_EQ(t, vm_madvise(mm, 0x100000, PAGE_SIZE, MADV_DONTNEED), -ENOMEM);
	KEXPECT_EQ(t, vm_madvise(mm, 0x100000, PAGE_SIZE, 12345), -EINVAL);
	int64_t a = vm_mmap(mm, 0x200000, PAGE_SIZE, PROT_READ, anon | MAP_FIXED);
	KEXPECT_EQ(t, a, 0x200000);
	mmput(mm);
}

/* Thousands of pages and their tables all come back (R1 at teardown). */
static void teardown_returns_everything(struct ktest *t)
{
	enum { PAGES = 3000 };
	uint64_t before = ktest_free_pages(), freed_tables = event_sum(EV_PT_PAGES_FREED);
	struct mm *mm = mm_alloc();
	KASSERT_NOT_NULL(t, mm);
	use_mm(mm);
	uint64_t a = ktest_mmap(mm, PAGES * PAGE_SIZE);
	/* and a far-away mapping, so several PDPT/PD/PT tables exist */
	int64_t b = vm_mmap(mm, 0x7f0000000000ull, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
	KASSERT_NE(t, a, 0);
	KASSERT_GT(t, b, 0);
	for (int i = 0; i < PAGES; i++)
		KASSERT_EQ(t, put_user_u64(a + i * PAGE_SIZE, i), 0);
	for (int i = 0; i < 4; i++)
		KASSERT_EQ(t, put_user_u64(b + i * PAGE_SIZE, i), 0);
	uint64_t tables = atomic64_read(&mm->nr_pt_pages);
	KEXPECT_GE(t, tables, 2 + 2 + 6); /* 2 PDPT, 2 PD, >= 6 PT */
	KEXPECT_EQ(t, atomic64_read(&mm->rss), PAGES + 4);
	KEXPECT_LE(t, ktest_free_pages(), before - PAGES - 4 - tables);
	unuse_mm(mm);
	mmput(mm);
	KEXPECT_EQ(t, event_sum(EV_PT_PAGES_FREED) - freed_tables, tables);
	KEXPECT_EQ(t, ktest_free_pages(), before);
}

/*
 * A thread without an address space cannot reach user memory, even though
 * the CPU still has the last one loaded (lazy TLB): after unuse_mm the
 * user half is another process's, and get/put_user fail with -EFAULT
 * instead of reading or writing it. MUTATION_UACCESS_ANY_MM reads it.
 */
static void uaccess_needs_own_mm(struct ktest *t)
{
	sched_migrate(cpu_id()); /* stay where the mm stays loaded */
	struct mm *mm = mm_alloc();
	KASSERT_NOT_NULL(t, mm);
	uint64_t a = ktest_mmap(mm, PAGE_SIZE);
	KASSERT_NE(t, a, 0);
	use_mm(mm);
	KEXPECT_EQ(t, put_user_u64(a, 0x1234), 0);
	unuse_mm(mm); /* lazy: the CPU keeps mm's tables loaded */
	uint64_t v = 0;
	KEXPECT_EQ(t, get_user_u64(&v, a), -EFAULT);
	KEXPECT_EQ(t, v, 0);
	KEXPECT_EQ(t, put_user_u64(a, 0x5678), -EFAULT);
	KEXPECT_EQ(t, ktest_peek(mm, CPU_ANY, a, &v), 0);
	KEXPECT_EQ(t, v, 0x1234); /* untouched */
	mmput(mm);
}

KTEST_SUITE(mm, KTEST_CASE(mmap_fault_munmap), KTEST_CASE(protections),
	    KTEST_CASE(madvise_dontneed_zeroes), KTEST_CASE(bad_arguments),
	    KTEST_CASE(teardown_returns_everything), KTEST_CASE(uaccess_needs_own_mm));
