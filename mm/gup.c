/*
 * mm/gup.c - get_user_pages / pin_user_pages, slow and fast (rules R4, R5).
 *
 * References: get_user_pages* takes one ordinary reference per page
 * (put_page to drop it). pin_user_pages* (FOLL_PIN) takes
 * GUP_PIN_COUNTING_BIAS references, so page_maybe_dma_pinned() can tell a
 * pinned page at fork time (R4); unpin_user_page drops them. A pin of an
 * anonymous page requires it to be exclusive (PageAnonExclusive, mm/rmap.h):
 * a writable pin breaks COW first, like a write; a read-only pin of a page
 * shared with a fork child unshares it first (FAULT_FLAG_UNSHARE: a copy of
 * its own, mapped read-only). Either way the pinned page is the one the
 * process keeps, whatever it or its relatives write later (seeds 000-002).
 * A plain get (no FOLL_PIN, no FOLL_WRITE) takes a shared page as it is.
 *
 * Slow path: mmap_lock for read, then for each page look at the PTE under
 * the page-table lock; if it is missing, read-only when we need it
 * writable, or shared when we pin it, fault (handle_mm_fault: write or
 * unshare) and look again.
 *
 * Fast path (GUP-fast, seed 004): no lock at all. It walks the current
 * thread's page tables with interrupts disabled, reading each level exactly
 * once (READ_ONCE), and refuses anything it cannot take without a fault:
 * non-present and PROT_NONE entries, special entries, read-only entries for
 * FOLL_WRITE, and (after taking the reference) a read-only entry whose
 * anonymous page a pin would have to unshare. For a good PTE it takes a reference only if the
 * page's count is not zero (try_get_page: a page being freed stays freed),
 * then re-reads the PTE: if it changed, the page may have been unmapped and
 * even freed and reused between our read and our reference, so the
 * reference is dropped and the address left to the slow path.
 *
 * Why interrupts off make the walk safe: page tables are freed only after a
 * TLB-flush IPI that every CPU holding the mm must acknowledge (the
 * freed_tables flush of mm/mmu_gather.c, sent to lazy CPUs too). A CPU with
 * interrupts off cannot acknowledge, so no table this walk can reach is
 * freed before the walk ends. That is mm/mmu_gather.c's side of the bargain.
 * The walk must be on current->mm, whose cpumask includes this CPU.
 *
 * Fork (seed 003): fork write-protects the parent's PTEs inside
 * mm->write_protect_seq. A FOLL_PIN fast walk samples it first (odd: back
 * off at once) and re-checks it after pinning: if fork ran meanwhile, it
 * may have decided the page was not pinned and shared it with the child, so
 * the pins are dropped and the slow path (which waits for fork on the
 * mmap_lock and then breaks COW) takes over.
 */
#include "mm/gup.h"
#include "mm/mm.h"
#include "mm/page.h"
#include "mm/rmap.h"
#include "kernel/sched.h"
#include "kernel/stats.h"
#include "kernel/pause.h"
#include "kernel/panic.h"
#include "kernel/printk.h"

static atomic64_t pinned_outstanding;

uint64_t pinned_pages_outstanding(void)
{
	return (uint64_t)atomic64_read(&pinned_outstanding);
}

/*
 * The references a get (1) or a pin (GUP_PIN_COUNTING_BIAS) adds, taken only
 * if the page is live (count != 0, GUP-fast's rule) and the count stays far
 * from overflow: about two million pins of one page would otherwise wrap
 * _refcount to a value at which a put frees a page still in use (Linux
 * refuses a count that is negative or close to it, since CVE-2019-11487).
 * A refused grab makes GUP stop there, as a fault would.
 */
#define PAGE_REF_LIMIT (INT32_MAX - 16 * GUP_PIN_COUNTING_BIAS)

/* The limit in force: PAGE_REF_LIMIT, which no program can reach (two
 * billion references); a test lowers it for a program's run so that an
 * ordinary program shows the refusal (splice.vmsplice_ref_limit), as a
 * pause delay widens a race window. */
int page_ref_limit = PAGE_REF_LIMIT;

/* nr pages from start lie in user space; nr * PAGE_SIZE must not wrap. */
static bool gup_range_ok(uint64_t start, unsigned long nr)
{
	return nr <= (USER_SPACE_END >> PAGE_SHIFT) && access_ok(start, nr * PAGE_SIZE);
}

static bool try_grab_page(struct page *page, unsigned flags)
{
	int refs = flags & FOLL_PIN ? GUP_PIN_COUNTING_BIAS : 1;
	int old = atomic_read(&page->_refcount);
	do {
		if (old <= 0)
			return false; /* being freed (or already wrapped) */
#ifndef MUTATION_GUP_NO_REF_OVERFLOW_CHECK
		if (old > READ_ONCE(page_ref_limit) - refs) {
			count_event(EV_GUP_REF_LIMIT);
			return false;
		}
#endif
	} while (!__atomic_compare_exchange_n(&page->_refcount.counter, &old, old + refs, false,
					      __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
	if (flags & FOLL_PIN) {
		atomic64_inc(&pinned_outstanding);
		count_event(EV_PIN);
	}
	return true;
}

static void ungrab_page(struct page *page, unsigned flags)
{
	if (flags & FOLL_PIN)
		unpin_user_page(page);
	else
		put_page(page);
}

void unpin_user_page(struct page *page)
{
	if (unlikely(page_count(page) < GUP_PIN_COUNTING_BIAS)) {
		printk("%s unpin of pfn %#lx which is not pinned (count %d)\n", bug_tag(),
		       page_to_pfn(page), page_count(page));
		BUG();
	}
	atomic64_add(-1, &pinned_outstanding);
	count_event(EV_UNPIN);
	atomic_sub(GUP_PIN_COUNTING_BIAS - 1, &page->_refcount);
	put_page(page);
}

void unpin_user_pages_dirty(struct page **pages, unsigned long nr, bool make_dirty)
{
	for (unsigned long i = 0; i < nr; i++) {
		if (make_dirty)
			__atomic_fetch_or(&pages[i]->flags, PG_dirty, __ATOMIC_RELAXED);
		unpin_user_page(pages[i]);
	}
}

/* ---- slow path ------------------------------------------------------------ */

/*
 * A pin of an anonymous page needs the page to be exclusive (mm/rmap.h):
 * only a read-only pin can meet a non-exclusive one (a writable PTE maps an
 * exclusive page; FOLL_WRITE asks for a writable PTE). Linux: gup_must_unshare.
 */
static bool gup_must_unshare(unsigned flags, struct page *page)
{
	if ((flags & (FOLL_WRITE | FOLL_PIN)) != FOLL_PIN || !PageAnon(page))
		return false;
#ifdef MUTATION_PIN_NO_UNSHARE
	return false; /* a read-only pin of a page shared with a fork child */
#else
	return !PageAnonExclusive(page);
#endif
}

/* Does this PTE give what the caller needs without a fault? (before the
 * unshare check, which needs the page) */
static bool pte_suits(pte_t pte, unsigned flags)
{
	if (!pte_present(pte))
		return false;
#ifndef MUTATION_GUP_WRITE_RO_PTE
	if ((flags & FOLL_WRITE) && !pte_write(pte))
		return false; /* break COW first */
#endif
	return true;
}

/* The fault that gives what the caller needs, or -1 if the PTE already does. */
static int gup_fault_flags(struct vm_area_struct *vma, pte_t pte, unsigned flags)
{
	if (!pte_suits(pte, flags))
		return flags & FOLL_WRITE ? FAULT_FLAG_WRITE : 0;
	if (!pte_write(pte) && !(vma->vm_flags & VM_SHARED) &&
	    gup_must_unshare(flags, phys_to_page(pte_phys(pte))))
		return FAULT_FLAG_UNSHARE;
	return -1;
}

static long __get_user_pages(struct mm *mm, uint64_t start, unsigned long nr, unsigned flags,
			     struct page **pages)
{
	if (start & (PAGE_SIZE - 1) || !gup_range_ok(start, nr))
		return -EFAULT;
	long done = 0;
	down_read(&mm->mmap_lock);
	while ((unsigned long)done < nr) {
		uint64_t addr = start + done * PAGE_SIZE;
		struct vm_area_struct *vma = find_vma(mm, addr);
		unsigned long need = flags & FOLL_WRITE ? VM_WRITE : VM_READ;
		if (!vma || vma->vm_start > addr || !(vma->vm_flags & need))
			break;
		spin_lock(&mm->page_table_lock);
		pte_t *ptep = walk_pte(mm, addr);
		pte_t pte = ptep ? *ptep : 0;
		int fault = gup_fault_flags(vma, pte, flags);
		if (fault < 0) {
			struct page *page = phys_to_page(pte_phys(pte));
			if (!try_grab_page(page, flags)) {
				spin_unlock(&mm->page_table_lock);
				break; /* too many references already */
			}
			if ((flags & FOLL_PIN) && PageAnon(page) && !PageAnonExclusive(page) &&
			    !(vma->vm_flags & VM_SHARED)) {
				printk("%s pinned anonymous page pfn %#lx is not exclusive\n",
				       bug_tag(), page_to_pfn(page));
				BUG();
			}
			pages[done++] = page;
			spin_unlock(&mm->page_table_lock);
			count_event(EV_GUP_SLOW_PAGES);
			continue;
		}
		spin_unlock(&mm->page_table_lock);
		if (handle_mm_fault(vma, addr, (unsigned)fault) < 0)
			break;
	}
	up_read(&mm->mmap_lock);
	return done ? done : -EFAULT;
}

long get_user_pages(struct mm *mm, uint64_t start, unsigned long nr, unsigned flags,
		    struct page **pages)
{
	return __get_user_pages(mm, start, nr, flags & ~FOLL_PIN, pages);
}

long pin_user_pages(struct mm *mm, uint64_t start, unsigned long nr, unsigned flags,
		    struct page **pages)
{
	return __get_user_pages(mm, start, nr, flags | FOLL_PIN, pages);
}

long get_user_pages_remote(struct mm *mm, uint64_t start, unsigned long nr, unsigned flags,
			   struct page **pages)
{
	return get_user_pages(mm, start, nr, flags, pages);
}

long pin_user_pages_remote(struct mm *mm, uint64_t start, unsigned long nr, unsigned flags,
			   struct page **pages)
{
	return pin_user_pages(mm, start, nr, flags, pages);
}

/* ---- fast path ------------------------------------------------------------ */

/* One page, interrupts off: true if *page was taken. */
static bool gup_fast_one(struct mm *mm, uint64_t addr, unsigned flags, struct page **page)
{
	pte_t *ptep = walk_pte_lockless(mm, addr);
	if (!ptep)
		return false;
	pause_point(PAUSE_GUP_FAST_WALK, mm);
	pte_t pte = READ_ONCE(*ptep); /* read once */
	if (!pte_suits(pte, flags) || pte_special(pte) || !pte_user(pte))
		return false;
	struct page *p = phys_to_page(pte_phys(pte));
	if (!try_grab_page(p, flags))
		return false; /* being freed */
	pause_point(PAUSE_GUP_FAST_REF, mm);
#ifndef MUTATION_NO_PTE_RECHECK
	if (READ_ONCE(*ptep) != pte) { /* changed under us: the page may not be ours */
		ungrab_page(p, flags);
		return false;
	}
#endif
	if (!pte_write(pte) && gup_must_unshare(flags, p)) {
		ungrab_page(p, flags); /* shared: the slow path unshares it first */
		return false;
	}
	*page = p;
	return true;
}

long gup_fast_only(uint64_t start, unsigned long nr, unsigned flags, struct page **pages)
{
	struct mm *mm = current->mm;
	if (!mm || (start & (PAGE_SIZE - 1)) || !gup_range_ok(start, nr))
		return 0;
	unsigned int seq = 0;
	if (flags & FOLL_PIN) {
		seq = raw_read_seqcount(&mm->write_protect_seq);
		if (seq & 1)
			return 0; /* fork is write-protecting: slow path */
	}
	unsigned long n = 0;
	unsigned long irqflags = local_irq_save();
	while (n < nr && gup_fast_one(mm, start + n * PAGE_SIZE, flags, &pages[n]))
		n++;
	local_irq_restore(irqflags);
#ifdef MUTATION_GUP_FAST_NO_SEQ_RETRY
	seq = raw_read_seqcount(&mm->write_protect_seq); /* never notices fork */
#endif
	if ((flags & FOLL_PIN) && n && read_seqcount_retry(&mm->write_protect_seq, seq)) {
		while (n) /* fork ran: it may have shared what we pinned */
			ungrab_page(pages[--n], flags);
	}
	count_events(EV_GUP_FAST_PAGES, n);
	return (long)n;
}

static long gup_fast_fallback(uint64_t start, unsigned long nr, unsigned flags, struct page **pages)
{
	long n = gup_fast_only(start, nr, flags, pages);
	if ((unsigned long)n == nr)
		return n;
	count_event(EV_GUP_FAST_FALLBACK);
	long rest = __get_user_pages(current->mm, start + n * PAGE_SIZE, nr - n, flags, pages + n);
	if (rest < 0)
		return n ? n : rest;
	return n + rest;
}

long get_user_pages_fast(uint64_t start, unsigned long nr, unsigned flags, struct page **pages)
{
	if (!current->mm)
		return -EFAULT;
	return gup_fast_fallback(start, nr, flags & ~FOLL_PIN, pages);
}

long pin_user_pages_fast(uint64_t start, unsigned long nr, unsigned flags, struct page **pages)
{
	if (!current->mm)
		return -EFAULT;
	return gup_fast_fallback(start, nr, flags | FOLL_PIN, pages);
}
