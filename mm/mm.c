/*
 * mm/mm.c - address spaces: creation, reference counting, teardown, the
 * VMA list, and mmap / munmap / mprotect / madvise as kernel functions.
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
 * code, without the lock (vma.split_vma_holds_i_mmap_lock).
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
	if (!(flags & (MAP_SHARED | MAP_PRIVATE)) ||
	    ((flags & MAP_SHARED) && (flags & MAP_PRIVATE)) || (prot & ~7))
		return -EINVAL;
	if ((flags & MAP_FIXED) ? bad_range(addr, len) : (!len || len > USER_TOP))
		return -EINVAL;
	unsigned long vm_flags =
	    prot_to_vm_flags(prot) | (flags & MAP_SHARED ? VM_SHARED : 0) | vm_may;
	if (!vm_flags_allowed(vm_flags))
		return -EACCES;
	struct vm_area_struct *vma = kzalloc(sizeof(*vma));
	if (!vma)
		return -ENOMEM;
	down_write(&mm->mmap_lock);
	if (flags & MAP_FIXED) {
		if (do_munmap(mm, addr, addr + len)) {
			up_write(&mm->mmap_lock);
			kfree(vma);
			return -ENOMEM;
		}
	} else if (!(addr = find_gap(mm, len))) {
		up_write(&mm->mmap_lock);
		kfree(vma);
		return -ENOMEM;
	}
	vma->vm_mm = mm;
	vma->vm_start = addr;
	vma->vm_end = addr + len;
	vma->vm_flags = vm_flags;
	vma->vm_file = file;
	vma->vm_pgoff = pgoff;
	vma_link_file(vma);
	insert_vma(mm, vma);
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

/* Every page of [start, end) is covered by VMAs. */
static bool fully_mapped(struct mm *mm, uint64_t start, uint64_t end)
{
	for (struct vm_area_struct *v = find_vma(mm, start); start < end; v = find_vma(mm, start)) {
		if (!v || v->vm_start > start)
			return false;
		start = v->vm_end;
	}
	return true;
}

int vm_mprotect(struct mm *mm, uint64_t addr, uint64_t len, int prot)
{
	len = ALIGN_UP(len, PAGE_SIZE);
	if (bad_range(addr, len) || (prot & ~7))
		return -EINVAL;
	uint64_t end = addr + len;
	down_write(&mm->mmap_lock);
	int err = -ENOMEM;
	if (!fully_mapped(mm, addr, end))
		goto out;
	/* Every VMA of the range must allow prot (its VM_MAY* bits), checked
	 * before anything changes: a read-only file mapped shared never becomes
	 * writable (-EACCES, as Linux). */
	err = -EACCES;
	for (struct vm_area_struct *v = find_vma(mm, addr); v && v->vm_start < end;
	     v = list_entry(v->vm_node.next, struct vm_area_struct, vm_node)) {
#ifndef MUTATION_NO_VM_MAY_CHECK
		if (!vm_flags_allowed((v->vm_flags & ~(VM_READ | VM_WRITE | VM_EXEC)) |
				      prot_to_vm_flags(prot)))
			goto out;
#endif
		if (v->vm_node.next == &mm->vmas)
			break;
	}
	err = -ENOMEM;
	if (split_at(mm, addr, end))
		goto out;
	for (struct vm_area_struct *v = find_vma(mm, addr); v && v->vm_start < end;
	     v = list_entry(v->vm_node.next, struct vm_area_struct, vm_node)) {
		v->vm_flags =
		    (v->vm_flags & ~(VM_READ | VM_WRITE | VM_EXEC)) | prot_to_vm_flags(prot);
		change_protection(v, v->vm_start, v->vm_end);
		if (v->vm_node.next == &mm->vmas)
			break;
	}
	err = 0;
out:
	up_write(&mm->mmap_lock);
	return err;
}

static int madvise_dontneed(struct mm *mm, uint64_t start, uint64_t end)
{
	down_read(&mm->mmap_lock);
	if (!fully_mapped(mm, start, end)) {
		up_read(&mm->mmap_lock);
		return -ENOMEM;
	}
	struct mmu_gather tlb;
	tlb_gather_mmu(&tlb, mm);
	for (struct vm_area_struct *v = find_vma(mm, start); v && v->vm_start < end;) {
		/* The VMA stays: flush under the page-table lock (R6). */
		unmap_page_range(&tlb, v, MAX(start, v->vm_start), MIN(end, v->vm_end), true, NULL);
		if (v->vm_node.next == &mm->vmas)
			break;
		v = list_entry(v->vm_node.next, struct vm_area_struct, vm_node);
	}
	tlb_finish_mmu(&tlb);
	up_read(&mm->mmap_lock);
	return 0;
}

static int madvise_dontfork(struct mm *mm, uint64_t start, uint64_t end, bool dontfork)
{
	down_write(&mm->mmap_lock);
	int err = -ENOMEM;
	if (!fully_mapped(mm, start, end) || split_at(mm, start, end))
		goto out;
	for (struct vm_area_struct *v = find_vma(mm, start); v && v->vm_start < end;) {
		if (dontfork)
			v->vm_flags |= VM_DONTCOPY;
		else
			v->vm_flags &= ~VM_DONTCOPY;
		if (v->vm_node.next == &mm->vmas)
			break;
		v = list_entry(v->vm_node.next, struct vm_area_struct, vm_node);
	}
	err = 0;
out:
	up_write(&mm->mmap_lock);
	return err;
}

int vm_madvise(struct mm *mm, uint64_t addr, uint64_t len, int advice)
{
	len = ALIGN_UP(len, PAGE_SIZE);
	if (bad_range(addr, len))
		return -EINVAL;
	switch (advice) {
	case MADV_DONTNEED:
		return madvise_dontneed(mm, addr, addr + len);
	case MADV_DONTFORK:
	case MADV_DOFORK:
		return madvise_dontfork(mm, addr, addr + len, advice == MADV_DONTFORK);
	default:
		return -EINVAL;
	}
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
		err = vma->vm_flags & need ? handle_mm_fault(vma, addr, flags) : -EACCES;
	}
	up_read(&mm->mmap_lock);
	return err;
}
