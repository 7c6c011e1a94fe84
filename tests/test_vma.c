/*
 * tests/test_vma.c - VMAs as the reverse map sees them.
 *
 *   split_vma_holds_i_mmap_lock: rmap walkers (page_mkclean, ...) read a
 *      file VMA's vm_start, vm_end and vm_pgoff under its mapping's
 *      i_mmap_lock to compute where a page is mapped; mprotect splitting
 *      the VMA changes them under that lock too, so a walker never sees a
 *      VMA half-way through a split (its start moved, its offset not: the
 *      page looked for at another page's address). Kills
 *      SPLIT_VMA_UNLOCKED.
 */
#include "tests/ktest_mm.h"
#include "tests/ktest_fs.h"
#include "kernel/fs/fs.h"
#include "kernel/pause.h"
#include "kernel/string.h"
#include "drivers/ramdisk.h"
#include "mm/filemap.h"

enum { SPLIT_PAGES = 4, SPLIT_AT = 2 };

struct splitter {
	struct mm *mm;
	uint64_t addr;
	int ret;
	struct completion done;
};

static void splitter_fn(void *arg)
{
	struct splitter *s = arg;
	s->ret = vm_mprotect(s->mm, s->addr + SPLIT_AT * PAGE_SIZE,
			     (SPLIT_PAGES - SPLIT_AT) * PAGE_SIZE, PROT_READ);
	complete(&s->done);
}

/*
 * Walk mapping m as an rmap walker does (i_mmap_lock held): for each VMA of
 * mm and each file page p, where the VMA says p is mapped, the PTE there
 * must map p (or nothing). Returns how many VMAs of mm put some page at
 * another page's address, and counts in found[p] the VMAs that locate p.
 */
static int rmap_check(struct ktest *t, struct address_space *m, struct mm *mm,
		      struct page *const *pages, int *found, bool report)
{
	int torn = 0;
	struct vm_area_struct *v;
	list_for_each_entry (v, &m->i_mmap, vm_file_node) {
		if (v->vm_mm != mm)
			continue;
		bool bad = false;
		for (uint64_t p = 0; p < SPLIT_PAGES; p++) {
			if (p < v->vm_pgoff)
				continue;
			uint64_t addr = v->vm_start + ((p - v->vm_pgoff) << PAGE_SHIFT);
			if (addr >= v->vm_end)
				continue;
			found[p]++;
			pte_t *pte = walk_pte(mm, addr);
			if (!pte || !pte_present(*pte) || pte_phys(*pte) == page_to_phys(pages[p]))
				continue;
			if (report && !bad)
				ktest_fail(t, __FILE__, __LINE__,
					   "VMA [%#lx, %#lx) pgoff %lu puts file page %lu at %#lx, "
					   "where the PTE maps another page",
					   v->vm_start, v->vm_end, v->vm_pgoff, p, addr);
			bad = true;
		}
		torn += bad;
	}
	return torn;
}

static void split_vma_holds_i_mmap_lock(struct ktest *t)
{
	REQUIRE_FS(t);
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs");
	sched_migrate(cpu_id());
	struct file *f;
	vfs_unlink("/splitvma.dat");
	KASSERT_EQ(t, vfs_open("/splitvma.dat", O_RDWR | O_CREAT, &f), 0);
	static uint8_t zeros[PAGE_SIZE];
	for (int i = 0; i < SPLIT_PAGES; i++)
		KASSERT_EQ(t, vfs_pwrite(f, zeros, PAGE_SIZE, (uint64_t)i * PAGE_SIZE), PAGE_SIZE);
	struct mm *mm = mm_alloc();
	KASSERT_NOT_NULL(t, mm);
	int64_t a =
	    vfs_mmap(mm, f, 0, SPLIT_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	KASSERT_GT(t, a, 0);
	struct address_space *m = &f->inode->mapping;
	struct page *pages[SPLIT_PAGES];
	for (int i = 0; i < SPLIT_PAGES; i++) {
		KEXPECT_EQ(t, ktest_poke(mm, CPU_ANY, a + i * PAGE_SIZE, i + 1), 0);
		pages[i] = find_get_page(m, i);
		KASSERT_NOT_NULL(t, pages[i]);
	}
	down_read(&mm->mmap_lock);
	struct vm_area_struct *vma = find_vma(mm, a);
	up_read(&mm->mmap_lock);

	static struct splitter s;
	s = (struct splitter){ .mm = mm, .addr = (uint64_t)a };
	init_completion(&s.done);
	pause_points[PAUSE_SPLIT_VMA].resumed_ns = 0;
	pause_arm_until(PAUSE_SPLIT_VMA, vma, NULL, 10000); /* bounded: resumes by itself */
	thread_create("splitter", splitter_fn, &s, ktest_other_cpu(cpu_id(), 1));
	bool paused = pause_wait_reached(PAUSE_SPLIT_VMA, 10000);
	KEXPECT_TRUE(t, paused);
	/* The splitter stands between moving the new VMA's start and its
	 * offset. An rmap walker takes i_mmap_lock now. */
	int found[SPLIT_PAGES] = { 0 }, torn = 0;
	bool got = paused && spin_trylock(&m->i_mmap_lock);
	if (got) {
		torn = rmap_check(t, m, mm, pages, found, true);
		spin_unlock(&m->i_mmap_lock);
	}
	bool in_window = !pause_points[PAUSE_SPLIT_VMA].resumed_ns;
	pause_release(PAUSE_SPLIT_VMA);
	wait_for_completion(&s.done);
	KEXPECT_EQ(t, s.ret, 0);
	if (got)
		ktest_fail(t, __FILE__, __LINE__,
			   "an rmap walker took i_mmap_lock while split_vma was half-way "
			   "(%d VMA(s) seen torn)%s",
			   torn, in_window ? "" : ", though the pause had timed out");

	/* Split: each page is located by exactly one VMA, at its address. */
	spin_lock(&m->i_mmap_lock);
	memset(found, 0, sizeof(found));
	KEXPECT_EQ(t, rmap_check(t, m, mm, pages, found, true), 0);
	spin_unlock(&m->i_mmap_lock);
	for (int i = 0; i < SPLIT_PAGES; i++) {
		KEXPECT_EQ(t, found[i], 1);
		KEXPECT_EQ(t, pte_phys(*walk_pte(mm, a + i * PAGE_SIZE)), page_to_phys(pages[i]));
		put_page(pages[i]);
	}
	down_read(&mm->mmap_lock);
	struct vm_area_struct *lo = find_vma(mm, a), *hi = find_vma(mm, a + SPLIT_AT * PAGE_SIZE);
	KEXPECT_EQ(t, lo->vm_end, a + SPLIT_AT * PAGE_SIZE);
	KEXPECT_EQ(t, hi->vm_start, a + SPLIT_AT * PAGE_SIZE);
	KEXPECT_EQ(t, hi->vm_pgoff, SPLIT_AT);
	up_read(&mm->mmap_lock);
	mmput(mm);
	vfs_close(f);
	vfs_unlink("/splitvma.dat");
}

KTEST_SUITE(vma, KTEST_CASE(split_vma_holds_i_mmap_lock));
