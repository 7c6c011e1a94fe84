/*
 * mm/fork.c - duplicating an address space (rules R3, R4; seeds 000-003).
 *
 * dup_mm() copies every VMA not marked VM_DONTCOPY (MADV_DONTFORK) and the
 * page tables under it; page tables are always copied, never shared. A
 * VM_WIPEONFORK VMA (MADV_WIPEONFORK, private anonymous only) is copied
 * without its pages: the child reads zeros there. The child's VMAs are not
 * locked (mlock is not inherited, as POSIX and Linux say).
 * MUTATION_FORK_COPIES_DONTCOPY and MUTATION_WIPEONFORK_COPIES ignore the
 * two flags (memcalls.memcalls_musl).
 * For each mapped page of the parent:
 *   - shared mappings (VM_SHARED) stay shared: same page, same permissions;
 *   - an exclusive anonymous page that page_maybe_dma_pinned() is copied for
 *     the child at once and stays writable and exclusive in the parent (R4):
 *     a DMA into it must keep landing in the parent's page, never in a page
 *     the child now owns (page_try_dup_anon_rmap, mm/rmap.h);
 *   - any other private page is shared read-only: it stops being exclusive,
 *     the parent's PTE loses its write bit, both sides hold a reference and
 *     a mapping, and the first write fault decides by page_count (R3,
 *     mm/memory.c).
 * The parent's TLB is flushed (every CPU running it) before the parent can
 * write again, i.e. before fork returns and drops the mmap_lock.
 *
 * Locks: parent's mmap_lock for write for the whole copy (faults and the
 * GUP slow path wait), parent's page_table_lock then the child's (the child
 * is new, nobody else takes it), and parent->write_protect_seq around the
 * write-protection so a concurrent FOLL_PIN GUP-fast backs off (mm/gup.c):
 * one that sampled the count before fork began can still pin a page after
 * page_try_dup_anon_rmap decided it was not pinned and before its PTE is
 * write-protected (PAUSE_FORK_WRPROTECT marks that window); its re-check of
 * the count after pinning is what keeps that pin off a page the child shares.
 *
 * Failure (no memory for a table or a copy): the half-built child is torn
 * down by mmput(), which drops exactly the references taken so far; the
 * parent keeps working (some PTEs are read-only: the next write reuses).
 */
#include "mm/mm.h"
#include "mm/mmu_gather.h"
#include "mm/kmalloc.h"
#include "mm/page.h"
#include "mm/rmap.h"
#include "kernel/string.h"
#include "kernel/pause.h"
#include "kernel/stats.h"
#include "kernel/panic.h"

int fork_fail_after = -1;

/* Allocation hook for the failure test. */
static bool fork_may_alloc(void)
{
	if (fork_fail_after < 0)
		return true;
	return __atomic_fetch_sub(&fork_fail_after, 1, __ATOMIC_SEQ_CST) > 0;
}

/* The child gets its own copy of an exclusive, maybe pinned page (R4). */
static int copy_present_page(struct page *page, pte_t pte, pte_t *dst_pte)
{
	struct page *copy = fork_may_alloc() ? alloc_page(0) : NULL;
	if (!copy)
		return -ENOMEM;
	memcpy(page_address(copy), page_address(page), PAGE_SIZE);
	page_add_new_anon_rmap(copy);
	*dst_pte = pte_mkold(pte_set_phys(pte, page_to_phys(copy)));
	count_event(EV_FORK_PRECOW);
	return 0;
}

/* Copy one mapped PTE; both ptls held. Returns 0 or -ENOMEM. */
static int copy_one_pte(struct mm *dst, struct vm_area_struct *vma, pte_t *src_pte, pte_t *dst_pte)
{
	assert_spin_locked(&vma->vm_mm->page_table_lock);
	pte_t pte = READ_ONCE(*src_pte);
	struct page *page = phys_to_page(pte_phys(pte));
	bool cow = !(vma->vm_flags & VM_SHARED);
	if (cow && PageAnon(page)) {
		/* Shares the page unless it may be pinned (-EBUSY: copy it). */
		if (page_try_dup_anon_rmap(page)) {
			int err = copy_present_page(page, pte, dst_pte);
			if (!err)
				atomic64_inc(&dst->rss);
			return err;
		}
	} else {
		page_add_file_rmap(page); /* a file page (Linux: page_dup_file_rmap) */
	}
	/* Here a GUP-fast pin that sampled write_protect_seq before fork began
	 * may still take the page (its PTE is writable yet): it must notice
	 * the count changed and back off (mm/gup.c), or it pins a page that
	 * the child shares. */
	pause_point(PAUSE_FORK_WRPROTECT, vma->vm_mm);
	if (cow && pte_write(pte)) {
		/* Write-protect the parent; keep a dirty bit set meanwhile. */
		pte = ptep_set_wrprotect(src_pte);
	}
	get_page(page);
	*dst_pte = pte_mkold(pte);
	atomic64_inc(&dst->rss);
	return 0;
}

static int copy_page_range(struct mm *dst, struct mm *src, struct vm_area_struct *vma)
{
	for (uint64_t addr = vma->vm_start; addr < vma->vm_end; addr += PAGE_SIZE) {
		spin_lock(&src->page_table_lock);
		pte_t *src_pte = walk_pte(src, addr);
		if (!src_pte || !pte_mapped(*src_pte)) {
			spin_unlock(&src->page_table_lock);
			if (!src_pte) /* no table: skip to the next one */
				addr =
				    ALIGN_DOWN(addr, LARGE_PAGE_SIZE) + LARGE_PAGE_SIZE - PAGE_SIZE;
			continue;
		}
		spin_lock(&dst->page_table_lock);
		pte_t *dst_pte = walk_pte_alloc(dst, addr, fork_may_alloc);
		int err = dst_pte ? copy_one_pte(dst, vma, src_pte, dst_pte) : -ENOMEM;
		spin_unlock(&dst->page_table_lock);
		pause_point(PAUSE_FORK_COPY, src);
		spin_unlock(&src->page_table_lock);
		if (err)
			return err;
	}
	return 0;
}

struct mm *dup_mm(struct mm *oldmm, int *err)
{
	*err = 0;
	struct mm *mm = mm_alloc();
	if (!mm) {
		*err = -ENOMEM;
		return NULL;
	}
	down_write(&oldmm->mmap_lock);
	mm->start_brk = oldmm->start_brk;
	mm->brk = oldmm->brk;
	mm->start_stack = oldmm->start_stack;
	mm->arg_start = oldmm->arg_start;
	mm->arg_end = oldmm->arg_end;
	mm->env_start = oldmm->env_start;
	mm->env_end = oldmm->env_end;
	write_seqcount_begin(&oldmm->write_protect_seq);
	struct vm_area_struct *v;
	list_for_each_entry (v, &oldmm->vmas, vm_node) {
#ifndef MUTATION_FORK_COPIES_DONTCOPY
		if (v->vm_flags & VM_DONTCOPY)
			continue; /* MADV_DONTFORK: the child has no such VMA */
#endif
		struct vm_area_struct *nv = fork_may_alloc() ? vma_dup(v) : NULL;
		if (!nv) {
			*err = -ENOMEM;
			break;
		}
		nv->vm_mm = mm;
		nv->vm_flags &= ~VM_LOCKED_MASK;	/* mlock is not inherited */
		list_add_tail(&nv->vm_node, &mm->vmas); /* same order: stays sorted */
#ifndef MUTATION_WIPEONFORK_COPIES
		if (v->vm_flags & VM_WIPEONFORK)
			continue; /* MADV_WIPEONFORK: the child starts with zeros */
#endif
		if ((*err = copy_page_range(mm, oldmm, v)))
			break;
	}
	/* The parent may not write through an old writable entry any more. */
#ifndef MUTATION_FORK_NO_FLUSH
	flush_tlb_mm_range(oldmm, 0, TLB_FLUSH_ALL, false);
#endif
	write_seqcount_end(&oldmm->write_protect_seq);
	up_write(&oldmm->mmap_lock);
	if (*err) {
		mmput(mm);
		return NULL;
	}
	count_event(EV_FORK);
	return mm;
}
