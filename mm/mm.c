/*
 * mm/mm.c - address spaces: creation, reference counting, teardown, the
 * VMA list, and mmap / munmap / mprotect / madvise / mremap / mincore /
 * mlock as kernel functions (Linux 6.1's checks and errnos, in its order;
 * kernel/sys_mm.c makes the checks that need no lock).
 *
 * mremap moves PTEs under the page-table lock and flushes the old range
 * before dropping it (CVE-2018-18281, see move_ptes). mlock only accounts
 * (mm->locked_vm, VM_LOCKED) and populates: nothing is reclaimed here.
 * madvise, mprotect and mlock walk the VMAs of the range in order and stop
 * at the first error, the VMAs before it changed, as Linux; holes give
 * -ENOMEM (madvise: at the end).
 *
 * Lifetime (Linux's mm_users / mm_count, mmget / mmput, mmgrab / mmdrop):
 *   mm_users counts the users of the address space: threads running in it,
 *   its creator, fork. The last mmput() tears the user half down: every VMA
 *   is zapped into one fullmm mmu_gather, every user page table is unhooked,
 *   one flush with freed_tables reaches every CPU in mm->cpumask (lazy ones
 *   too, which then leave it), and pages and tables are freed. It then asks
 *   CPUs still keeping the mm lazily to leave it (without waiting) and drops
 *   the users' mm_count reference.
 *   mm_count counts references to the struct mm and its PML4. All users
 *   together hold one; each CPU that has the mm loaded holds one
 *   (arch/x86_64/tlb.c): a CPU running it, a lazy CPU keeping it under a
 *   kernel thread, and a CPU half-way through a switch away from it, which
 *   has left mm->cpumask but still has the old PML4 in CR3 until it writes
 *   the new one. That CPU is out of reach of every IPI the last mmput()
 *   sends, so only a reference keeps the PML4 from being freed (and reused:
 *   its kernel half then garbage) under it. A CPU drops its reference only
 *   after its CR3 points elsewhere. The last mmdrop(), wherever it happens
 *   (mmput, a switch, a lazy CPU leaving, with interrupts off: the page and
 *   heap allocators are irq-safe), frees the PML4 and the struct.
 *   MUTATION_MM_NO_MMGRAB takes no CPU references: the last mmput frees the
 *   PML4 under a switching or lazy CPU (tlb.pml4_kept_for_switching_cpu,
 *   tlb.pml4_kept_for_lazy_cpu).
 *
 * VMAs are kept in a sorted list (small address spaces; a tree can come
 * later) under mm->mmap_lock. Ranges are split at the boundaries of an
 * operation, never merged. Locks: see mm/mm.h; the bounds and offset of a
 * VMA on a file's i_mmap change only under that mapping's i_mmap_lock as
 * well, since rmap walkers read them under it (split_vma).
 */
#include "mm/mm.h"
#include "mm/mmu_gather.h"
#include "mm/kmalloc.h"
#include "mm/page.h"
#include "kernel/string.h"
#include "kernel/panic.h"
#include "kernel/printk.h"
#include "kernel/sched.h"
#include "kernel/pause.h"
#include "kernel/fs/fs.h"
#include "mm/shmem.h"
#include "mm/filemap.h"
#include "kernel/errno.h"

#define MMAP_BASE 0x0000000100000000ull /* first address mmap hands out */
#define USER_TOP  (USER_SPACE_END - PAGE_SIZE)

void free_pgtables(struct mmu_gather *tlb, uint64_t lo, uint64_t hi);
void change_protection(struct vm_area_struct *vma, uint64_t start, uint64_t end);

struct mm init_mm;
static void vma_unlink_file(struct vm_area_struct *v);
static atomic64_t next_ctx_id = ATOMIC_INIT(1);

void mm_init_kernel(void)
{
	extern pte_t *kernel_pml4;
	init_mm.pgd = kernel_pml4;
	init_mm.pgd_phys = kernel_pml4_phys;
	init_mm.ctx_id = 0;
	atomic64_set(&init_mm.tlb_gen, 1);
	atomic_set(&init_mm.mm_users, 1);
	atomic_set(&init_mm.mm_count, 1); /* never dropped: CPUs take none on init_mm */
	spin_lock_init(&init_mm.page_table_lock, "init_mm.ptl");
	rwsem_init(&init_mm.mmap_lock);
	INIT_LIST_HEAD(&init_mm.vmas);
}

struct mm *mm_alloc(void)
{
	struct mm *mm = kzalloc(sizeof(*mm));
	if (!mm)
		return NULL;
	struct page *pgd = alloc_page(__GFP_ZERO);
	if (!pgd) {
		kfree(mm);
		return NULL;
	}
	pgd->flags |= PG_pagetable;
	mm->pgd = page_address(pgd);
	mm->pgd_phys = page_to_phys(pgd);
	/* The kernel half: the same PDPTs as every address space (memlayout.h). */
	for (int i = 256; i < PT_ENTRIES; i++)
		mm->pgd[i] = init_mm.pgd[i];
	mm->ctx_id = (uint64_t)atomic64_inc_return(&next_ctx_id);
	atomic64_set(&mm->tlb_gen, 1);
	atomic_set(&mm->mm_users, 1);
	atomic_set(&mm->mm_count, 1); /* the users' reference */
	rwsem_init(&mm->mmap_lock);
	spin_lock_init(&mm->page_table_lock, "page_table_lock");
	INIT_LIST_HEAD(&mm->vmas);
	mm->mmap_base = MMAP_BASE;
	seqcount_init(&mm->write_protect_seq);
	return mm;
}

void mmget(struct mm *mm)
{
	atomic_inc(&mm->mm_users);
}

static void exit_mmap(struct mm *mm)
{
	struct mmu_gather tlb;
	LIST_HEAD(detached);
	tlb_gather_mmu_fullmm(&tlb, mm);
	struct vm_area_struct *v, *n;
	list_for_each_entry (v, &mm->vmas, vm_node)
		unmap_page_range(&tlb, v, v->vm_start, v->vm_end, false, NULL);
	list_for_each_entry_safe (v, n, &mm->vmas, vm_node) {
		list_del(&v->vm_node);
		list_add_tail(&v->vm_node, &detached); /* no VMA left: every table goes */
	}
	free_pgtables(&tlb, 0, USER_SPACE_END);
	tlb_finish_mmu(&tlb);
	list_for_each_entry_safe (v, n, &detached, vm_node) {
		vma_unlink_file(v); /* after the flush (mm/filemap.c) */
		kfree(v);
	}
}

void mmgrab(struct mm *mm)
{
	BUG_ON(atomic_read(&mm->mm_count) <= 0);
	atomic_inc(&mm->mm_count);
}

/* No CPU has the PML4 loaded any more (each dropped its reference after
 * loading another CR3, which it records in loaded_mm before the drop), and
 * the user half is gone. A CPU that still names the mm as loaded, or is
 * still in its cpumask, would walk a freed PML4: reported as a BUG (the
 * case running fails), then freed anyway, as the caller asked. */
static void __mmdrop(struct mm *mm)
{
	BUG_ON(mm == &init_mm);
	BUG_ON(atomic64_read(&mm->nr_pt_pages) != 0 || atomic64_read(&mm->rss) != 0);
	for_each_online_cpu (cpu)
		if (loaded_mm(cpu) == mm || cpumask_test(&mm->cpumask, cpu))
			printk("%s mm %p freed while CPU %d still has it %s\n", bug_tag(),
			       (void *)mm, cpu, loaded_mm(cpu) == mm ? "loaded" : "in its cpumask");
	put_page(virt_to_page(mm->pgd));
	kfree(mm);
}

void mmdrop(struct mm *mm)
{
	int count = atomic_dec_return(&mm->mm_count);
	BUG_ON(count < 0);
	if (count == 0)
		__mmdrop(mm);
}

void mmput(struct mm *mm)
{
	int users = atomic_dec_return(&mm->mm_users);
	BUG_ON(users < 0);
	if (users)
		return;
	exit_mmap(mm);
	BUG_ON(atomic64_read(&mm->nr_pt_pages) != 0 || atomic64_read(&mm->rss) != 0);
	tlb_release_mm(mm); /* lazy CPUs: leave now, so the memory comes back soon */
	mmdrop(mm);	    /* the users' reference: frees now unless a CPU still holds it */
}

void use_mm(struct mm *mm)
{
	struct thread *t = current;
	BUG_ON(t->mm);
	mmget(mm);
	unsigned long f = local_irq_save();
	t->mm = mm;
	switch_mm_irqs_off(mm);
	local_irq_restore(f);
}

void exec_mmap(struct mm *mm)
{
	struct thread *t = current;
	struct mm *old = t->mm;
	unsigned long f = local_irq_save();
	t->mm = mm;
	switch_mm_irqs_off(mm);
	local_irq_restore(f);
	if (old)
		mmput(old);
}

bool uaccess_mm_ok(void)
{
#ifdef MUTATION_UACCESS_ANY_MM
	return true; /* a thread without an mm reads the lazily loaded one */
#else
	return current->mm != NULL;
#endif
}

void unuse_mm(struct mm *mm)
{
	struct thread *t = current;
	BUG_ON(t->mm != mm);
	unsigned long f = local_irq_save();
	t->mm = NULL;
	enter_lazy_tlb(); /* like a kernel thread: tables stay until someone flushes us out */
	local_irq_restore(f);
	mmput(mm);
}

/* ---- file VMAs: the reverse map of mm/filemap.c ------------------------- */

static void vma_link_file(struct vm_area_struct *v)
{
	if (!v->vm_file)
		return;
	mapped_file_get(v->vm_file);
	struct address_space *m = &v->vm_file->mapping;
	spin_lock(&m->i_mmap_lock);
	list_add_tail(&v->vm_file_node, &m->i_mmap);
	spin_unlock(&m->i_mmap_lock);
}

/* Only once the VMA's PTEs are zapped and flushed (see mm/filemap.c). */
static void vma_unlink_file(struct vm_area_struct *v)
{
	if (!v->vm_file)
		return;
	struct address_space *m = &v->vm_file->mapping;
	spin_lock(&m->i_mmap_lock);
	list_del(&v->vm_file_node);
	spin_unlock(&m->i_mmap_lock);
	mapped_file_put(v->vm_file);
}

/* A copy of v (same file, same offset): for split and fork. */
struct vm_area_struct *vma_dup(const struct vm_area_struct *v)
{
	struct vm_area_struct *n = kmalloc(sizeof(*n));
	if (!n)
		return NULL;
	*n = *v;
	vma_link_file(n);
	return n;
}

/* ---- VMAs (mmap_lock held) ---------------------------------------------- */

struct vm_area_struct *find_vma(struct mm *mm, uint64_t addr)
{
	struct vm_area_struct *v;
	list_for_each_entry (v, &mm->vmas, vm_node)
		if (v->vm_end > addr)
			return v;
	return NULL;
}

static void insert_vma(struct mm *mm, struct vm_area_struct *vma)
{
	struct list_head *pos;
	list_for_each (pos, &mm->vmas)
		if (list_entry(pos, struct vm_area_struct, vm_node)->vm_start > vma->vm_start)
			break;
	list_add_tail(&vma->vm_node, pos);
}

/*
 * Split vma at addr (inside it); the new VMA is the upper part (mmap_lock
 * held for write). A file VMA is on its mapping's i_mmap, where rmap
 * walkers (page_mkclean, ...) read vm_start, vm_pgoff and vm_end under
 * i_mmap_lock to compute where a page is mapped: a walker that saw the new
 * VMA's start moved but not its offset would look for the page at the
 * wrong address, miss the PTE that maps it (and leave it dirty and
 * writable behind writeback's back) or act on another page's PTE. So the
 * new VMA is linked, and both halves change, under that lock, as Linux's
 * __split_vma does under i_mmap_lock_write (vma_prepare): walkers see the
 * VMA whole or split, never half-way. MUTATION_SPLIT_VMA_UNLOCKED: the old
 * code, without the lock (vma.split_vma_holds_i_mmap_lock; from user space
 * races.split_rmap: an O_DIRECT write's invalidation then unmaps a page
 * at an address computed from the half-split VMA).
 */
static int split_vma(struct vm_area_struct *vma, uint64_t addr)
{
	struct vm_area_struct *hi = kmalloc(sizeof(*hi));
	if (!hi)
		return -ENOMEM;
	*hi = *vma;
	struct address_space *m = vma->vm_file ? &vma->vm_file->mapping : NULL;
	if (m) {
		inode_get(vma->vm_file); /* the new VMA's reference */
#ifndef MUTATION_SPLIT_VMA_UNLOCKED
		spin_lock(&m->i_mmap_lock);
#endif
		list_add_tail(&hi->vm_file_node, &m->i_mmap);
	}
	hi->vm_start = addr;
	if (m)
		pause_point(PAUSE_SPLIT_VMA, vma);
	hi->vm_pgoff += (addr - vma->vm_start) >> PAGE_SHIFT;
	vma->vm_end = addr;
#ifndef MUTATION_SPLIT_VMA_UNLOCKED
	if (m)
		spin_unlock(&m->i_mmap_lock);
#endif
	list_add(&hi->vm_node, &vma->vm_node);
	return 0;
}

/* Make [start, end) start and end on VMA boundaries. */
static int split_at(struct mm *mm, uint64_t start, uint64_t end)
{
	struct vm_area_struct *v = find_vma(mm, start);
	if (v && v->vm_start < start && split_vma(v, start))
		return -ENOMEM;
	v = find_vma(mm, end);
	if (v && v->vm_start < end && split_vma(v, end))
		return -ENOMEM;
	return 0;
}

static uint64_t find_gap(struct mm *mm, uint64_t len)
{
	uint64_t addr = mm->mmap_base;
	struct vm_area_struct *v;
	list_for_each_entry (v, &mm->vmas, vm_node) {
		if (v->vm_end <= addr)
			continue;
		if (v->vm_start >= addr + len)
			break;
		addr = v->vm_end;
	}
	return addr + len <= USER_TOP ? addr : 0;
}

static unsigned long prot_to_vm_flags(int prot)
{
	return (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) |
	       (prot & PROT_EXEC ? VM_EXEC : 0);
}

static bool bad_range(uint64_t addr, uint64_t len)
{
	return !len || (addr & (PAGE_SIZE - 1)) || addr >= USER_TOP || len > USER_TOP - addr;
}

/* Does any VMA intersect [start, end)? (find_vma_intersection) */
static bool range_has_mapping(struct mm *mm, uint64_t start, uint64_t end)
{
	struct vm_area_struct *v = find_vma(mm, start);
	return v && v->vm_start < end;
}

/* The VMA after v, or NULL. */
static struct vm_area_struct *vma_next(struct mm *mm, struct vm_area_struct *v)
{
	return v->vm_node.next == &mm->vmas
		   ? NULL
		   : list_entry(v->vm_node.next, struct vm_area_struct, vm_node);
}

/* The VMA that contains addr, or NULL (Linux's vma_lookup). */
static struct vm_area_struct *vma_lookup(struct mm *mm, uint64_t addr)
{
	struct vm_area_struct *v = find_vma(mm, addr);
	return v && v->vm_start <= addr ? v : NULL;
}

/* Split so that one VMA covers exactly [start, end) of vma (which contains
 * both); that VMA, or NULL if a split had no memory. mmap_lock for write. */
static struct vm_area_struct *isolate_range(struct vm_area_struct *vma, uint64_t start,
					    uint64_t end)
{
	if (vma->vm_start < start) {
		if (split_vma(vma, start))
			return NULL;
		vma = list_entry(vma->vm_node.next, struct vm_area_struct, vm_node);
	}
	if (vma->vm_end > end && split_vma(vma, end))
		return NULL;
	return vma;
}

/* Remove [start, end) (mmap_lock held for write). */
static int do_munmap(struct mm *mm, uint64_t start, uint64_t end)
{
	if (split_at(mm, start, end))
		return -ENOMEM;
	LIST_HEAD(detached);
	struct vm_area_struct *v, *n;
	list_for_each_entry_safe (v, n, &mm->vmas, vm_node) {
		if (v->vm_start >= start && v->vm_end <= end) {
			list_del(&v->vm_node);
			list_add_tail(&v->vm_node, &detached);
			if (v->vm_flags & VM_LOCKED)
				mm->locked_vm -= (v->vm_end - v->vm_start) >> PAGE_SHIFT;
		}
	}
	if (list_empty(&detached))
		return 0;
	/* The VMAs are gone: no fault can repopulate the range, so the PTEs
	 * need no flush under the lock, and one flush covers PTEs and tables. */
	struct mmu_gather tlb;
	tlb_gather_mmu(&tlb, mm);
	list_for_each_entry (v, &detached, vm_node)
		unmap_page_range(&tlb, v, v->vm_start, v->vm_end, false, NULL);
	free_pgtables(&tlb, start, end);
	tlb_finish_mmu(&tlb);
	list_for_each_entry_safe (v, n, &detached, vm_node) {
		vma_unlink_file(v); /* after the flush: page_mkclean saw it until now */
		kfree(v);
	}
	return 0;
}

static int64_t do_mmap(struct mm *mm, uint64_t addr, uint64_t len, int prot, int flags,
		       struct inode *file, uint64_t pgoff, unsigned long vm_may);

int64_t vm_mmap(struct mm *mm, uint64_t addr, uint64_t len, int prot, int flags)
{
	if (!(flags & MAP_ANONYMOUS))
		return -EINVAL; /* files go through vfs_mmap */
#ifndef MUTATION_SHARED_ANON_PRIVATE
	if ((flags & MAP_SHARED) && !(flags & MAP_PRIVATE) && len && len <= USER_TOP) {
		/* Shared anonymous memory is a mapping of a memory file (mm/shmem.c):
		 * pages first touched after fork are shared too. */
		struct inode *shmem = shmem_file_setup(ALIGN_UP(len, PAGE_SIZE));
		if (!shmem)
			return -ENOMEM;
		int64_t ret = do_mmap(mm, addr, len, prot, flags, shmem, 0, VM_MAY_ALL);
		mapped_file_put(shmem); /* the VMA holds its own reference */
		return ret;
	}
#endif
	return do_mmap(mm, addr, len, prot, flags, NULL, 0, VM_MAY_ALL);
}

/* vm_may: the VM_MAY* bits the file's open mode allows (vfs_mmap). */
int64_t vm_mmap_file(struct mm *mm, uint64_t addr, uint64_t len, int prot, int flags,
		     struct inode *inode, uint64_t pgoff, unsigned long vm_may)
{
	if (flags & MAP_ANONYMOUS)
		return -EINVAL;
	return do_mmap(mm, addr, len, prot, flags, inode, pgoff, vm_may & VM_MAY_ALL);
}

/* A protection the VMA may not have (Linux: newflags & ~(newflags >> 4)). */
static bool vm_flags_allowed(unsigned long vm_flags)
{
	return !((vm_flags & ~(vm_flags >> 4)) & (VM_READ | VM_WRITE | VM_EXEC));
}

static int64_t do_mmap(struct mm *mm, uint64_t addr, uint64_t len, int prot, int flags,
		       struct inode *file, uint64_t pgoff, unsigned long vm_may)
{
	len = ALIGN_UP(len, PAGE_SIZE);
	bool noreplace = flags & MAP_FIXED_NOREPLACE;
#ifndef MUTATION_MAP_NOREPLACE_AS_HINT
	if (noreplace)
		flags |= MAP_FIXED; /* the address checks of MAP_FIXED apply */
#else
	noreplace = false; /* before Linux 4.17: a hint */
#endif
	if (!(flags & (MAP_SHARED | MAP_PRIVATE)) ||
	    ((flags & MAP_SHARED) && (flags & MAP_PRIVATE)) || (prot & ~7))
		return -EINVAL;
	if ((flags & MAP_FIXED) ? bad_range(addr, len) : (!len || len > USER_TOP))
		return -EINVAL;
	unsigned long vm_flags =
	    prot_to_vm_flags(prot) | (flags & MAP_SHARED ? VM_SHARED : 0) | vm_may;
	if (!vm_flags_allowed(vm_flags))
		return -EACCES;
	if (flags & MAP_GROWSDOWN)
		vm_flags |= VM_GROWSDOWN;
	if (flags & MAP_NORESERVE)
		vm_flags |= VM_NORESERVE;
	if (flags & MAP_LOCKED)
		vm_flags |= VM_LOCKED;
	struct vm_area_struct *vma = kzalloc(sizeof(*vma));
	if (!vma)
		return -ENOMEM;
	down_write(&mm->mmap_lock);
	int64_t err = 0;
	if (flags & MAP_FIXED) {
		/* MAP_FIXED_NOREPLACE: -EEXIST rather than replace (Linux 4.17+). */
		if (noreplace && range_has_mapping(mm, addr, addr + len))
			err = -EEXIST;
	} else if (!(addr = find_gap(mm, len))) {
		err = -ENOMEM;
	}
	vm_flags |= mm->def_flags; /* mlockall(MCL_FUTURE) */
	/* mlock_future_check: the new locked pages within RLIMIT_MEMLOCK. */
	if (!err && (vm_flags & VM_LOCKED) &&
	    mm->locked_vm + (len >> PAGE_SHIFT) > MLOCK_LIMIT_PAGES)
		err = -EAGAIN;
	if (!err && (flags & MAP_FIXED) && do_munmap(mm, addr, addr + len))
		err = -ENOMEM;
	if (err) {
		up_write(&mm->mmap_lock);
		kfree(vma);
		return err;
	}
	vma->vm_mm = mm;
	vma->vm_start = addr;
	vma->vm_end = addr + len;
	vma->vm_flags = vm_flags;
	vma->vm_file = file;
	vma->vm_pgoff = pgoff;
	vma_link_file(vma);
	insert_vma(mm, vma);
	if (vm_flags & VM_LOCKED)
		mm->locked_vm += len >> PAGE_SHIFT;
	/* MAP_POPULATE (not with MAP_NONBLOCK) and MAP_LOCKED fault the range
	 * in, as Linux's mm_populate after do_mmap. */
	if (((vm_flags & VM_LOCKED) && !(vm_flags & VM_LOCKONFAULT)) ||
	    (flags & (MAP_POPULATE | MAP_NONBLOCK)) == MAP_POPULATE)
		populate_range(mm, addr, addr + len);
	up_write(&mm->mmap_lock);
	return (int64_t)addr;
}

int vm_munmap(struct mm *mm, uint64_t addr, uint64_t len)
{
	len = ALIGN_UP(len, PAGE_SIZE);
	if (bad_range(addr, len))
		return -EINVAL;
	down_write(&mm->mmap_lock);
	int err = do_munmap(mm, addr, addr + len);
	up_write(&mm->mmap_lock);
	return err;
}

/*
 * brk (Linux's sys_brk, mm/mmap.c): the break moves within [start_brk, ...);
 * the pages from ALIGN_UP(start_brk) to ALIGN_UP(brk) are anonymous private
 * memory. Growing needs the range up to the new break plus one guard page
 * free of other mappings (Linux: newbrk + PAGE_SIZE > vm_start_gap(next));
 * shrinking unmaps the whole pages above the new break, so growing again
 * gives zeros. Every refusal returns the old break, as Linux. One VMA per
 * growth (VMAs are never merged here); they are anonymous, so fork and
 * munmap treat them as any other.
 */
uint64_t vm_brk(struct mm *mm, uint64_t newbrk)
{
	down_write(&mm->mmap_lock);
	uint64_t ret = mm->brk;
	if (newbrk < mm->start_brk || newbrk > USER_TOP - PAGE_SIZE)
		goto out;
	uint64_t newpg = ALIGN_UP(newbrk, PAGE_SIZE), oldpg = ALIGN_UP(mm->brk, PAGE_SIZE);
	if (newpg == oldpg) {
		mm->brk = ret = newbrk;
		goto out;
	}
	if (newpg < oldpg) {
		if (do_munmap(mm, newpg, oldpg) == 0)
			mm->brk = ret = newbrk;
		goto out;
	}
	struct vm_area_struct *next = find_vma(mm, oldpg);
	if (next && newpg + PAGE_SIZE > next->vm_start) {
#ifndef MUTATION_BRK_NO_OVERLAP_CHECK
		goto out; /* would reach another mapping or its guard page */
#endif
	}
	struct vm_area_struct *vma = kzalloc(sizeof(*vma));
	if (!vma)
		goto out;
#ifdef MUTATION_BRK_NO_OVERLAP_CHECK
	if (do_munmap(mm, oldpg, newpg)) {
		kfree(vma);
		goto out;
	}
#endif
	vma->vm_mm = mm;
	vma->vm_start = oldpg;
	vma->vm_end = newpg;
	vma->vm_flags = VM_READ | VM_WRITE | VM_MAY_ALL;
	insert_vma(mm, vma);
	mm->brk = ret = newbrk;
out:
	up_write(&mm->mmap_lock);
	return ret;
}

/*
 * mprotect (Linux 6.1 do_mprotect_pkey), check for check: PROT_GROWSDOWN
 * with PROT_GROWSUP -EINVAL; start not page aligned -EINVAL; len 0: 0;
 * a range that wraps -ENOMEM; prot bits beyond READ|WRITE|EXEC|SEM
 * -EINVAL; no VMA at start -ENOMEM (PROT_GROWSDOWN: the range starts at
 * the VMA's start, which must be VM_GROWSDOWN, else -EINVAL). Then VMA by
 * VMA in address order: a protection the VMA may not have (VM_MAY*)
 * -EACCES, a hole -ENOMEM; the VMAs before the failing one keep their new
 * protection, as in Linux.
 */
#define PROT_SEM       0x8
#define PROT_GROWSDOWN 0x01000000
#define PROT_GROWSUP   0x02000000

int vm_mprotect(struct mm *mm, uint64_t start, uint64_t len, int prot)
{
	unsigned grows = (unsigned)prot & (PROT_GROWSDOWN | PROT_GROWSUP);
	prot &= ~(PROT_GROWSDOWN | PROT_GROWSUP);
	if (grows == (PROT_GROWSDOWN | PROT_GROWSUP))
		return -EINVAL;
	if (start & (PAGE_SIZE - 1))
		return -EINVAL;
	if (!len)
		return 0;
	len = ALIGN_UP(len, PAGE_SIZE);
	uint64_t end = start + len;
	if (end <= start)
		return -ENOMEM;
	if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM))
		return -EINVAL;
	down_write(&mm->mmap_lock);
	int err = -ENOMEM;
	struct vm_area_struct *v = find_vma(mm, start);
	if (!v)
		goto out;
	if (grows & PROT_GROWSDOWN) {
		if (v->vm_start >= end)
			goto out;
		start = v->vm_start;
		err = -EINVAL;
		if (!(v->vm_flags & VM_GROWSDOWN))
			goto out;
	} else if (grows & PROT_GROWSUP) {
		err = -EINVAL; /* x86 has no VM_GROWSUP */
		goto out;
	} else if (v->vm_start > start) {
		goto out;
	}
	for (uint64_t nstart = start;;) {
		unsigned long newflags =
		    (v->vm_flags & ~(VM_READ | VM_WRITE | VM_EXEC)) | prot_to_vm_flags(prot);
#ifndef MUTATION_NO_VM_MAY_CHECK
		if (!vm_flags_allowed(newflags)) {
			err = -EACCES;
			break;
		}
#endif
		uint64_t tmp = MIN(v->vm_end, end);
		if (newflags != v->vm_flags) {
			struct vm_area_struct *r = isolate_range(v, nstart, tmp);
			if (!r) {
				err = -ENOMEM;
				break;
			}
			r->vm_flags = newflags;
			change_protection(r, r->vm_start, r->vm_end);
			v = r;
		}
		nstart = tmp;
		err = 0;
		if (nstart >= end)
			break;
		v = find_vma(mm, nstart);
		if (!v || v->vm_start != nstart) {
			err = -ENOMEM;
			break;
		}
	}
out:
	up_write(&mm->mmap_lock);
	return err;
}

/* ---- madvise (Linux 6.1 mm/madvise.c) ------------------------------------ */

static bool madvise_behavior_valid(int advice)
{
	switch (advice) {
	case MADV_NORMAL:
	case MADV_RANDOM:
	case MADV_SEQUENTIAL:
	case MADV_WILLNEED:
	case MADV_DONTNEED:
	case MADV_DONTNEED_LOCKED:
	case MADV_FREE:
	case MADV_REMOVE:
	case MADV_DONTFORK:
	case MADV_DOFORK:
	case MADV_HUGEPAGE:
	case MADV_NOHUGEPAGE:
	case MADV_DONTDUMP:
	case MADV_DODUMP:
	case MADV_WIPEONFORK:
	case MADV_KEEPONFORK:
	case MADV_COLD:
	case MADV_PAGEOUT:
		return true;
	default:
		return false;
	}
}

/* The advice that only changes vm_flags takes mmap_lock for write. */
static bool madvise_need_mmap_write(int advice)
{
	switch (advice) {
	case MADV_REMOVE:
	case MADV_WILLNEED:
	case MADV_DONTNEED:
	case MADV_DONTNEED_LOCKED:
	case MADV_COLD:
	case MADV_PAGEOUT:
	case MADV_FREE:
		return false;
	default:
		return true;
	}
}

/* Zap [start, end) of one VMA; it stays mapped: flush under the lock (R6). */
static void madvise_zap(struct vm_area_struct *v, uint64_t start, uint64_t end)
{
	struct mmu_gather tlb;
	tlb_gather_mmu(&tlb, v->vm_mm);
	unmap_page_range(&tlb, v, start, end, true, NULL);
	tlb_finish_mmu(&tlb);
}

/* Apply advice to [start, end) inside v. 0 or -errno. */
static int madvise_vma(struct vm_area_struct *v, uint64_t start, uint64_t end, int advice)
{
	unsigned long nf = v->vm_flags;
	switch (advice) {
	case MADV_REMOVE:
		/* Linux: a hole punched in the file (fallocate PUNCH_HOLE). */
		if (v->vm_flags & VM_LOCKED)
			return -EINVAL;
		if (!v->vm_file)
			return -EINVAL;
		if ((v->vm_flags & (VM_SHARED | VM_WRITE)) != (VM_SHARED | VM_WRITE))
			return -EACCES;
		return -EOPNOTSUPP; /* neither SFS nor shmem punches holes here */
	case MADV_WILLNEED:
		return 0; /* a hint: the pages come at the first fault */
	case MADV_COLD:
	case MADV_PAGEOUT:
		return (v->vm_flags & VM_LOCKED) ? -EINVAL : 0; /* no LRU, no swap */
	case MADV_FREE:
	case MADV_DONTNEED:
	case MADV_DONTNEED_LOCKED:
#ifndef MUTATION_MADV_DONTNEED_LOCKED_OK
		if (advice != MADV_DONTNEED_LOCKED && (v->vm_flags & VM_LOCKED))
			return -EINVAL;
#endif
		if (advice == MADV_FREE && v->vm_file)
			return -EINVAL; /* anonymous memory only */
		/* MADV_FREE frees at once: a later read sees zeros, allowed. */
		madvise_zap(v, start, end);
		return 0;
	case MADV_NORMAL:
		nf &= ~(VM_RAND_READ | VM_SEQ_READ);
		break;
	case MADV_SEQUENTIAL:
		nf = (nf & ~VM_RAND_READ) | VM_SEQ_READ;
		break;
	case MADV_RANDOM:
		nf = (nf & ~VM_SEQ_READ) | VM_RAND_READ;
		break;
	case MADV_DONTFORK:
		nf |= VM_DONTCOPY;
		break;
	case MADV_DOFORK:
		nf &= ~VM_DONTCOPY;
		break;
	case MADV_WIPEONFORK:
		if (v->vm_file || (v->vm_flags & VM_SHARED))
			return -EINVAL; /* private anonymous memory only */
		nf |= VM_WIPEONFORK;
		break;
	case MADV_KEEPONFORK:
		nf &= ~VM_WIPEONFORK;
		break;
	case MADV_DONTDUMP:
		nf |= VM_DONTDUMP;
		break;
	case MADV_DODUMP:
		nf &= ~VM_DONTDUMP;
		break;
	case MADV_HUGEPAGE:
		nf = (nf & ~VM_NOHUGEPAGE) | VM_HUGEPAGE;
		break;
	case MADV_NOHUGEPAGE:
		nf = (nf & ~VM_HUGEPAGE) | VM_NOHUGEPAGE;
		break;
	}
	if (nf == v->vm_flags)
		return 0;
	struct vm_area_struct *r = isolate_range(v, start, end);
	if (!r)
		return -EAGAIN; /* Linux: a failed split is -ENOMEM, turned into -EAGAIN */
	r->vm_flags = nf;
	return 0;
}

/*
 * madvise (do_madvise): unknown advice -EINVAL; start not page aligned
 * -EINVAL; a length that rounds up to 0 (but was not 0) or wraps -EINVAL;
 * len 0: 0. Then each VMA of the range in order (madvise_walk_vmas): the
 * advice is applied to the mapped parts, an error of a VMA stops the walk
 * and is returned, a hole gives -ENOMEM at the end (after the mapped parts
 * got the advice), as does a range that runs past the last VMA.
 */
int vm_madvise(struct mm *mm, uint64_t start, uint64_t len_in, int advice)
{
	if (!madvise_behavior_valid(advice))
		return -EINVAL;
	if (start & (PAGE_SIZE - 1))
		return -EINVAL;
	uint64_t len = ALIGN_UP(len_in, PAGE_SIZE);
	if (len_in && !len)
		return -EINVAL;
	uint64_t end = start + len;
	if (end < start)
		return -EINVAL;
	if (end == start)
		return 0;
	bool write = madvise_need_mmap_write(advice);
	if (write)
		down_write(&mm->mmap_lock);
	else
		down_read(&mm->mmap_lock);
	int err = 0, unmapped = 0;
	struct vm_area_struct *v = find_vma(mm, start);
	for (;;) {
		if (!v) {
			err = -ENOMEM;
			break;
		}
		if (start < v->vm_start) {
			unmapped = -ENOMEM;
			start = v->vm_start;
			if (start >= end)
				break;
		}
		uint64_t tmp = MIN(v->vm_end, end);
		err = madvise_vma(v, start, tmp, advice);
		if (err)
			break;
		start = tmp;
		if (start >= end)
			break;
		v = find_vma(mm, start);
	}
	if (write)
		up_write(&mm->mmap_lock);
	else
		up_read(&mm->mmap_lock);
	return err ? err : unmapped;
}

/* ---- populate (MAP_POPULATE, MAP_LOCKED, mlock) -------------------------- */

void populate_range(struct mm *mm, uint64_t start, uint64_t end)
{
	rwsem_assert_held(&mm->mmap_lock);
	for (struct vm_area_struct *v = find_vma(mm, start); v && v->vm_start < end;
	     v = vma_next(mm, v)) {
		if (!(v->vm_flags & (VM_READ | VM_WRITE | VM_EXEC)))
			continue; /* PROT_NONE: nothing to fault in */
		unsigned fl =
		    (v->vm_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE ? FAULT_FLAG_WRITE : 0;
		for (uint64_t a = MAX(start, v->vm_start); a < MIN(end, v->vm_end); a += PAGE_SIZE)
			if (handle_mm_fault(v, a, fl))
				break; /* past the end of the file, or no memory */
	}
}

/* ---- mlock (Linux 6.1 mm/mlock.c): VM_LOCKED is accounted and populated;
 * nothing is ever reclaimed here, so that is all a lock needs to do. */

static int mlock_fixup(struct mm *mm, struct vm_area_struct *v, uint64_t start, uint64_t end,
		       unsigned long newflags)
{
	if (newflags == v->vm_flags)
		return 0;
	struct vm_area_struct *r = isolate_range(v, start, end);
	if (!r)
		return -ENOMEM;
	uint64_t pages = (end - start) >> PAGE_SHIFT;
	if ((newflags & VM_LOCKED) && !(r->vm_flags & VM_LOCKED))
		mm->locked_vm += pages;
	else if (!(newflags & VM_LOCKED) && (r->vm_flags & VM_LOCKED))
		mm->locked_vm -= pages;
	r->vm_flags = newflags;
	return 0;
}

int apply_vma_lock_flags(struct mm *mm, uint64_t start, uint64_t len, unsigned long flags)
{
	rwsem_assert_held_write(&mm->mmap_lock);
	uint64_t end = start + len;
	if (end < start)
		return -EINVAL;
	if (end == start)
		return 0;
	struct vm_area_struct *v = vma_lookup(mm, start);
	if (!v)
		return -ENOMEM;
	for (uint64_t nstart = start;;) {
		unsigned long newflags = (v->vm_flags & ~VM_LOCKED_MASK) | flags;
		uint64_t tmp = MIN(v->vm_end, end);
		int err = mlock_fixup(mm, v, nstart, tmp, newflags);
		if (err)
			return err;
		nstart = tmp;
		if (nstart >= end)
			return 0;
		v = find_vma(mm, nstart);
		if (!v || v->vm_start != nstart)
			return -ENOMEM;
	}
}

int apply_mlockall_flags(struct mm *mm, int flags)
{
	rwsem_assert_held_write(&mm->mmap_lock);
	unsigned long to_add = 0;
	mm->def_flags &= ~VM_LOCKED_MASK;
	if (flags & MCL_FUTURE) {
		mm->def_flags |= VM_LOCKED;
		if (flags & MCL_ONFAULT)
			mm->def_flags |= VM_LOCKONFAULT;
		if (!(flags & MCL_CURRENT))
			return 0;
	}
	if (flags & MCL_CURRENT) {
		to_add |= VM_LOCKED;
		if (flags & MCL_ONFAULT)
			to_add |= VM_LOCKONFAULT;
	}
	struct vm_area_struct *v;
	list_for_each_entry (v, &mm->vmas, vm_node)
		mlock_fixup(mm, v, v->vm_start, v->vm_end,
			    (v->vm_flags & ~VM_LOCKED_MASK) | to_add);
	return 0;
}

uint64_t mm_total_vm(struct mm *mm)
{
	uint64_t pages = 0;
	struct vm_area_struct *v;
	list_for_each_entry (v, &mm->vmas, vm_node)
		pages += (v->vm_end - v->vm_start) >> PAGE_SHIFT;
	return pages;
}

/* ---- mincore (Linux 6.1 mm/mincore.c) ------------------------------------ */

long vm_mincore(struct mm *mm, uint64_t addr, uint64_t pages, uint8_t *vec)
{
	down_read(&mm->mmap_lock);
	struct vm_area_struct *v = vma_lookup(mm, addr);
	if (!v) {
		up_read(&mm->mmap_lock);
		return -ENOMEM;
	}
	uint64_t end = MIN(v->vm_end, addr + pages * PAGE_SIZE);
	long n = 0;
	for (uint64_t a = addr; a < end; a += PAGE_SIZE, n++) {
		spin_lock(&mm->page_table_lock);
		pte_t *pte = walk_pte(mm, a);
		bool mapped = pte && pte_mapped(READ_ONCE(*pte));
		spin_unlock(&mm->page_table_lock);
		uint8_t in = mapped;
		if (!mapped && v->vm_file) { /* not mapped here: is it in the page cache? */
			struct page *p = find_get_page(
			    &v->vm_file->mapping, v->vm_pgoff + ((a - v->vm_start) >> PAGE_SHIFT));
			if (p) {
				in = 1;
				put_page(p);
			}
		}
		vec[n] = in;
	}
	up_read(&mm->mmap_lock);
	return n;
}

/* ---- mremap (Linux 6.1 mm/mremap.c) -------------------------------------- */

/*
 * Move the PTEs of [old_addr, old_addr + len) to new_addr (mmap_lock held
 * for write, both VMAs on the file's i_mmap). Page table by page table:
 * under the page-table lock each mapped PTE is cleared with an atomic
 * exchange (its dirty bit comes along) and installed at the new address;
 * then the old range is flushed, STILL UNDER THE LOCK (Linux's move_ptes,
 * CVE-2018-18281): once the lock is dropped, an rmap walker (truncate,
 * page_mkclean) finds only the new PTE, zaps it, flushes the new address
 * and frees the page; a CPU that still held a TLB entry for the old
 * address would then read and write a freed page. With the flush first,
 * every stale entry is gone before anyone can see the move.
 * MUTATION_MREMAP_FLUSH_AFTER_UNLOCK flushes after the unlock
 * (memcalls.mremap_flush_before_unlock). The new tables are allocated as
 * the move goes; without memory, what moved is moved back: -ENOMEM with
 * nothing changed.
 */
static uint64_t move_ptes(struct mm *mm, uint64_t old_addr, uint64_t new_addr, uint64_t len,
			  bool *nomem)
{
	uint64_t off = 0;
	while (off < len && !*nomem) {
		uint64_t o = old_addr + off, n = new_addr + off;
		/* Up to the end of the old or the new page table, whichever first. */
		uint64_t step = MIN(ALIGN_DOWN(o, LARGE_PAGE_SIZE) + LARGE_PAGE_SIZE - o,
				    ALIGN_DOWN(n, LARGE_PAGE_SIZE) + LARGE_PAGE_SIZE - n);
		step = MIN(step, len - off);
		bool moved = false;
		uint64_t done = 0;
		spin_lock(&mm->page_table_lock);
		for (; done < step; done += PAGE_SIZE) {
			pte_t *op = walk_pte(mm, o + done);
			if (!op || !pte_mapped(READ_ONCE(*op)))
				continue;
			pte_t *np = walk_pte_alloc(mm, n + done, NULL);
			if (!np) {
				*nomem = true;
				break;
			}
			WRITE_ONCE(*np, ptep_get_and_clear(op));
			moved = true;
		}
#ifdef MUTATION_MREMAP_FLUSH_AFTER_UNLOCK
		spin_unlock(&mm->page_table_lock);
		pause_point(PAUSE_MREMAP_MOVED, mm);
		if (moved)
			flush_tlb_mm_range(mm, o, o + step, false); /* too late: CVE-2018-18281 */
#else
		if (moved)
			flush_tlb_mm_range(mm, o, o + step, false);
		spin_unlock(&mm->page_table_lock);
		pause_point(PAUSE_MREMAP_MOVED, mm);
#endif
		off += done;
	}
	return off;
}

static int move_page_tables(struct mm *mm, uint64_t old_addr, uint64_t new_addr, uint64_t len)
{
	bool nomem = false;
	uint64_t done = move_ptes(mm, old_addr, new_addr, len, &nomem);
	if (!nomem)
		return 0;
	bool again = false; /* the old tables are still there: this cannot fail */
	move_ptes(mm, new_addr, old_addr, done, &again);
	return -ENOMEM;
}

/* vma_to_resize: vma (looked up at addr) may become new_len long; NULL
 * and *err otherwise. */
static struct vm_area_struct *vma_to_resize(struct mm *mm, uint64_t addr, uint64_t old_len,
					    uint64_t new_len, unsigned long flags, int64_t *err)
{
	struct vm_area_struct *v = vma_lookup(mm, addr);
	*err = -EFAULT;
	if (!v)
		return NULL;
	/* old_len 0 duplicates a shared mapping; a private one makes no sense. */
	*err = -EINVAL;
	if (!old_len && !(v->vm_flags & VM_SHARED))
		return NULL;
	(void)flags; /* MREMAP_DONTUNMAP refuses VM_DONTEXPAND | VM_PFNMAP: none here */
	*err = -EFAULT;
	if (old_len > v->vm_end - addr)
		return NULL; /* across VMA boundaries */
	if (new_len == old_len)
		return v;
	uint64_t pgoff = v->vm_pgoff + ((addr - v->vm_start) >> PAGE_SHIFT);
	*err = -EINVAL;
	if (pgoff + (new_len >> PAGE_SHIFT) < pgoff)
		return NULL;
	*err = -EAGAIN; /* mlock_future_check */
	if ((v->vm_flags & VM_LOCKED) &&
	    mm->locked_vm + ((new_len - old_len) >> PAGE_SHIFT) > MLOCK_LIMIT_PAGES)
		return NULL;
	return v;
}

/* move_vma: a new VMA at new_addr for [old_addr, old_addr + old_len) of
 * vma, grown to new_len, the PTEs moved into it, the old range unmapped
 * (unless MREMAP_DONTUNMAP). */
static int64_t move_vma(struct mm *mm, struct vm_area_struct *vma, uint64_t old_addr,
			uint64_t old_len, uint64_t new_len, uint64_t new_addr, unsigned long flags)
{
	if (old_len && !(vma = isolate_range(vma, old_addr, old_addr + old_len)))
		return -ENOMEM;
	struct vm_area_struct *nv = kmalloc(sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	*nv = *vma;
	nv->vm_start = new_addr;
	nv->vm_end = new_addr + new_len;
	nv->vm_pgoff = vma->vm_pgoff + ((old_addr - vma->vm_start) >> PAGE_SHIFT);
	vma_link_file(nv); /* on i_mmap before any PTE moves: rmap walkers find it */
	insert_vma(mm, nv);
	if (move_page_tables(mm, old_addr, new_addr, old_len)) {
		list_del(&nv->vm_node);
		vma_unlink_file(nv);
		kfree(nv);
		return -ENOMEM;
	}
	if (nv->vm_flags & VM_LOCKED)
		mm->locked_vm += new_len >> PAGE_SHIFT;
	if (flags & MREMAP_DONTUNMAP) {
		/* The old range stays mapped, empty, and no longer locked. */
		if (vma->vm_flags & VM_LOCKED)
			mm->locked_vm -= old_len >> PAGE_SHIFT;
		vma->vm_flags &= ~VM_LOCKED_MASK;
	} else if (old_len) {
		do_munmap(mm, old_addr, old_addr + old_len);
	}
	if ((nv->vm_flags & VM_LOCKED) && new_len > old_len)
		populate_range(mm, new_addr + old_len, new_addr + new_len);
	return (int64_t)new_addr;
}

/* do_munmap with munmap's own argument checks (Linux's do_vmi_munmap of
 * a shrinking mremap): a range past the user half -EINVAL. */
static int munmap_checked(struct mm *mm, uint64_t start, uint64_t len)
{
	if (start > USER_TOP || len > USER_TOP - start)
		return -EINVAL;
	return do_munmap(mm, start, start + len);
}

/* mremap_to: MREMAP_FIXED or MREMAP_DONTUNMAP. */
static int64_t mremap_to(struct mm *mm, uint64_t addr, uint64_t old_len, uint64_t new_addr,
			 uint64_t new_len, unsigned long flags)
{
	if (new_addr & (PAGE_SIZE - 1))
		return -EINVAL;
	if (new_len > USER_TOP || new_addr > USER_TOP - new_len)
		return -EINVAL;
#ifndef MUTATION_MREMAP_NO_OVERLAP_CHECK
	if (addr + old_len > new_addr && new_addr + new_len > addr)
		return -EINVAL; /* the old and new ranges overlap */
#endif
	if ((flags & MREMAP_FIXED) && do_munmap(mm, new_addr, new_addr + new_len))
		return -ENOMEM;
	if (old_len > new_len) {
		int err = munmap_checked(mm, addr + new_len, old_len - new_len);
		if (err)
			return err;
		old_len = new_len;
	}
	int64_t err;
	struct vm_area_struct *v = vma_to_resize(mm, addr, old_len, new_len, flags, &err);
	if (!v)
		return err;
	if (flags & MREMAP_FIXED) {
		if (new_addr < 65536)
			return -EPERM;			  /* security_mmap_addr: mmap_min_addr */
	} else if (!(new_addr = find_gap(mm, new_len))) { /* a hint only */
		return -ENOMEM;
	}
	return move_vma(mm, v, addr, old_len, new_len, new_addr, flags);
}

/* Can vma grow by delta in place (vma_expandable)? */
static bool vma_expandable(struct mm *mm, struct vm_area_struct *v, uint64_t delta)
{
	uint64_t end = v->vm_end + delta;
	if (end < v->vm_end || end > USER_TOP)
		return false;
	return !range_has_mapping(mm, v->vm_end, end);
}

int64_t vm_mremap(struct mm *mm, uint64_t addr, uint64_t old_len, uint64_t new_len,
		  unsigned long flags, uint64_t new_addr)
{
	down_write(&mm->mmap_lock);
	int64_t ret = -EFAULT;
	struct vm_area_struct *v = vma_lookup(mm, addr);
	if (!v)
		goto out;
	if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) {
		ret = mremap_to(mm, addr, old_len, new_addr, new_len, flags);
		goto out;
	}
	/* Shrinking always works: it just unmaps the tail. */
	if (old_len >= new_len) {
		ret = (int64_t)addr;
		if (old_len != new_len) {
			int err = munmap_checked(mm, addr + new_len, old_len - new_len);
			if (err)
				ret = err;
		}
		goto out;
	}
	if (!(v = vma_to_resize(mm, addr, old_len, new_len, flags, &ret)))
		goto out;
	if (old_len == v->vm_end - addr && vma_expandable(mm, v, new_len - old_len)) {
		uint64_t delta = new_len - old_len;
		struct address_space *m = v->vm_file ? &v->vm_file->mapping : NULL;
		if (m) /* rmap walkers read vm_end under it */
			spin_lock(&m->i_mmap_lock);
		v->vm_end += delta;
		if (m)
			spin_unlock(&m->i_mmap_lock);
		if (v->vm_flags & VM_LOCKED) {
			mm->locked_vm += delta >> PAGE_SHIFT;
			populate_range(mm, addr + old_len, addr + new_len);
		}
		ret = (int64_t)addr;
		goto out;
	}
	ret = -ENOMEM;
	if (flags & MREMAP_MAYMOVE) {
		uint64_t to = find_gap(mm, new_len);
		if (to)
			ret = move_vma(mm, v, addr, old_len, new_len, to, flags);
	}
out:
	up_write(&mm->mmap_lock);
	return ret;
}

/* ---- faults ------------------------------------------------------------ */

int do_user_fault(uint64_t addr, unsigned flags)
{
	struct thread *t = current;
	struct mm *mm = t->mm;
	if (!mm || addr >= USER_SPACE_END || t->preempt_count)
		return -EFAULT; /* no mm, kernel address, or atomic context: cannot sleep */
	down_read(&mm->mmap_lock);
	struct vm_area_struct *vma = find_vma(mm, addr);
	int err = -EFAULT;
	if (vma && vma->vm_start <= addr) {
		unsigned long need = flags & FAULT_FLAG_WRITE	? VM_WRITE
				     : flags & FAULT_FLAG_INSTR ? VM_EXEC
								: VM_READ;
		t->fault_major = false;
		err = vma->vm_flags & need ? handle_mm_fault(vma, addr, flags) : -EACCES;
	}
	up_read(&mm->mmap_lock);
	/* Linux's mm_account_fault: a resolved fault counts once, major if
	 * it read its page in (kernel/rusage.c); a failed one not at all. */
#ifndef MUTATION_FAULT_NOT_COUNTED
	if (!err) {
#ifndef MUTATION_FAULT_ALL_MINOR
		if (t->fault_major)
			t->maj_flt++;
		else
#endif
			t->min_flt++;
	}
#endif
	return err;
}
