/*
 * mm/mm.h - address spaces (struct mm) and their VMAs.
 *
 * Locks, in the order they are taken:
 *   mm->mmap_lock (rwsem)        the VMA list; read for faults, write for
 *                                mmap/munmap/mprotect (madvise takes read)
 *   mm->page_table_lock (spin)   every page-table entry of the user half and
 *                                the allocation/unhooking of user tables
 *   then the page allocator and the TLB-flush IPIs (which need IRQs on: the
 *   page_table_lock is a plain spinlock, never irqsave)
 * Lockless readers of the page tables (GUP-fast, later) run with interrupts
 * off; see mm/mmu_gather.c for why tables cannot be freed under them.
 *
 * struct mm's cpumask says which CPUs may hold TLB entries for it (set when
 * a CPU loads it, cleared when it switches away or leaves lazy mode);
 * tlb_gen counts flush requests (rule R7, arch/x86_64/tlb.c).
 *
 * Two reference counts, as Linux's: mm_users counts the users of the
 * address space (threads running in it, creators, fork); the last mmput()
 * tears the user half down. mm_count counts references to the struct and
 * its PML4: all of mm_users together hold one, and every CPU that has the
 * PML4 loaded (running the mm or lazily keeping it) holds one, from before
 * its CR3 can point at it until after its CR3 points elsewhere
 * (arch/x86_64/tlb.c). The last mmdrop() frees the PML4 and the struct.
 */
#ifndef MM_MM_H
#define MM_MM_H

#include "kernel/compiler.h"
#include "kernel/list.h"
#include "kernel/atomic.h"
#include "kernel/spinlock.h"
#include "kernel/rwsem.h"
#include "kernel/seqcount.h"
#include "kernel/percpu.h"
#include "arch/arch.h"

/* mmap prot and flags (Linux values) */
#define PROT_NONE	    0x0
#define PROT_READ	    0x1
#define PROT_WRITE	    0x2
#define PROT_EXEC	    0x4
#define MAP_SHARED	    0x01
#define MAP_PRIVATE	    0x02
#define MAP_FIXED	    0x10
#define MAP_ANONYMOUS	    0x20
#define MAP_GROWSDOWN	    0x0100
#define MAP_LOCKED	    0x2000
#define MAP_NORESERVE	    0x4000
#define MAP_POPULATE	    0x8000
#define MAP_NONBLOCK	    0x10000
#define MAP_FIXED_NOREPLACE 0x100000
/* madvise advice (Linux values) */
#define MADV_NORMAL	     0
#define MADV_RANDOM	     1
#define MADV_SEQUENTIAL	     2
#define MADV_WILLNEED	     3
#define MADV_DONTNEED	     4
#define MADV_FREE	     8
#define MADV_REMOVE	     9
#define MADV_DONTFORK	     10
#define MADV_DOFORK	     11
#define MADV_HUGEPAGE	     14
#define MADV_NOHUGEPAGE	     15
#define MADV_DONTDUMP	     16
#define MADV_DODUMP	     17
#define MADV_WIPEONFORK	     18
#define MADV_KEEPONFORK	     19
#define MADV_COLD	     20
#define MADV_PAGEOUT	     21
#define MADV_DONTNEED_LOCKED 24
/* mremap flags */
#define MREMAP_MAYMOVE	 1
#define MREMAP_FIXED	 2
#define MREMAP_DONTUNMAP 4
/* mlock2 / mlockall */
#define MLOCK_ONFAULT 1
#define MCL_CURRENT   1
#define MCL_FUTURE    2
#define MCL_ONFAULT   4
/* RLIMIT_MEMLOCK: Linux 6.1's default, 8 MiB (kernel/sys_info.c reports it). */
#define MLOCK_LIMIT_PAGES ((8ull << 20) >> 12)

/* vm_flags */
#define VM_READ	  0x1ul
#define VM_WRITE  0x2ul
#define VM_EXEC	  0x4ul
#define VM_SHARED 0x8ul
/* What mprotect may turn on later (Linux's values: VM_READ << 4, ...): set
 * at mmap from what the file was opened for; a MAP_SHARED mapping of a file
 * opened read-only never gets VM_MAYWRITE. */
#define VM_MAYREAD     0x10ul
#define VM_MAYWRITE    0x20ul
#define VM_MAYEXEC     0x40ul
#define VM_MAY_ALL     (VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC)
#define VM_GROWSDOWN   0x100ul	    /* MAP_GROWSDOWN (accepted; the VMA does not grow) */
#define VM_LOCKED      0x2000ul	    /* mlock, MAP_LOCKED: populated, only accounted */
#define VM_SEQ_READ    0x8000ul	    /* MADV_SEQUENTIAL */
#define VM_RAND_READ   0x10000ul    /* MADV_RANDOM */
#define VM_DONTCOPY    0x20000ul    /* MADV_DONTFORK */
#define VM_LOCKONFAULT 0x80000ul    /* mlock2(MLOCK_ONFAULT) */
#define VM_NORESERVE   0x200000ul   /* MAP_NORESERVE */
#define VM_WIPEONFORK  0x2000000ul  /* MADV_WIPEONFORK: the child gets zeros */
#define VM_DONTDUMP    0x4000000ul  /* MADV_DONTDUMP */
#define VM_HUGEPAGE    0x20000000ul /* MADV_HUGEPAGE (advice only: 4 KiB pages) */
#define VM_NOHUGEPAGE  0x40000000ul /* MADV_NOHUGEPAGE */
#define VM_LOCKED_MASK (VM_LOCKED | VM_LOCKONFAULT)

#define EFAULT 14
#define ENOMEM 12
#define EINVAL 22
#define EACCES 13
#define EEXIST 17
#define EAGAIN 11
#define EBUSY  16

struct inode;

struct vm_area_struct {
	struct mm *vm_mm;
	uint64_t vm_start, vm_end; /* [start, end), page aligned */
	unsigned long vm_flags;
	struct list_head vm_node;      /* in mm->vmas, sorted; mmap_lock */
	struct inode *vm_file;	       /* mapped file (a reference), NULL: anonymous */
	uint64_t vm_pgoff;	       /* file page at vm_start */
	struct list_head vm_file_node; /* in vm_file's mapping->i_mmap */
};

struct mm {
	pte_t *pgd; /* PML4: user half private, kernel half shared */
	uint64_t pgd_phys;
	uint64_t ctx_id;    /* unique, never reused: names the mm in ASID slots */
	atomic64_t tlb_gen; /* bumped by every flush request (R7) */
	cpumask_t cpumask;  /* CPUs that may cache its translations */
	atomic_t mm_users;  /* references: threads using it, creators */
	atomic_t mm_count;  /* references to the struct and PML4: 1 for all mm_users,
			     * 1 per CPU with it loaded (mmgrab/mmdrop) */
	struct rwsem mmap_lock;
	spinlock_t page_table_lock;
	struct list_head vmas;	/* mmap_lock */
	uint64_t mmap_base;	/* where address search starts */
	atomic64_t nr_pt_pages; /* user page-table pages (PDPT, PD, PT) */
	atomic64_t rss;		/* pages mapped */
	/* Odd while fork write-protects this mm's PTEs: a FOLL_PIN GUP-fast
	 * that overlaps it backs off to the slow path (mm/gup.c, seed 003). */
	seqcount_t write_protect_seq;
	/* The program break and the stack, set by execve (kernel/exec.c) and
	 * copied by fork; mmap_lock. brk's VMAs cover [start_brk,
	 * ALIGN_UP(brk, PAGE_SIZE)). */
	uint64_t start_brk, brk;
	uint64_t start_stack;				 /* the initial stack pointer (argc) */
	uint64_t arg_start, arg_end, env_start, env_end; /* the strings */
	/* mlock accounting (mmap_lock): pages in VM_LOCKED VMAs, and the
	 * flags every new VMA gets (mlockall(MCL_FUTURE): VM_LOCKED). */
	uint64_t locked_vm;
	unsigned long def_flags;
};

extern struct mm init_mm; /* the kernel's tables; what lazy CPUs fall back to */
void mm_init_kernel(void);

struct mm *mm_alloc(void);
void mmget(struct mm *mm);
void mmput(struct mm *mm);  /* last user: tear the user half down, then mmdrop */
void mmgrab(struct mm *mm); /* a reference to the struct and its PML4 (mm_count) */
void mmdrop(struct mm *mm); /* last one: free the PML4 and the struct */

/* The current thread (a kernel thread) starts/stops running in mm. */
void use_mm(struct mm *mm);
void unuse_mm(struct mm *mm);
/* execve: the calling thread's address space becomes mm (the caller's
 * reference passes to the thread); the old one is put. */
void exec_mmap(struct mm *mm);

/* The system calls, as kernel functions. Return the address or -errno. */
int64_t vm_mmap(struct mm *mm, uint64_t addr, uint64_t len, int prot, int flags);
/* mmap of a file (kernel/fs): the VMA holds a reference on inode. */
int64_t vm_mmap_file(struct mm *mm, uint64_t addr, uint64_t len, int prot, int flags,
		     struct inode *inode, uint64_t pgoff, unsigned long vm_may);
int vm_munmap(struct mm *mm, uint64_t addr, uint64_t len);
int vm_mprotect(struct mm *mm, uint64_t addr, uint64_t len, int prot);
int vm_madvise(struct mm *mm, uint64_t addr, uint64_t len, int advice);
/* mremap(2), mincore(2), mlock(2) family, Linux 6.1's checks and errnos
 * (kernel/sys_mm.c checks the arguments that need no lock first). */
int64_t vm_mremap(struct mm *mm, uint64_t addr, uint64_t old_len, uint64_t new_len,
		  unsigned long flags, uint64_t new_addr);
/* Residency of [addr, addr + pages pages) in vec (one byte a page, bit 0);
 * stops at the end of the VMA: pages done, or -ENOMEM (no VMA at addr). */
long vm_mincore(struct mm *mm, uint64_t addr, uint64_t pages, uint8_t *vec);
/* Set (flags VM_LOCKED[|VM_LOCKONFAULT]) or clear (0) the lock bits of
 * [start, start + len), len page aligned; mmap_lock held for write. */
int apply_vma_lock_flags(struct mm *mm, uint64_t start, uint64_t len, unsigned long flags);
int apply_mlockall_flags(struct mm *mm, int flags);
uint64_t mm_total_vm(struct mm *mm); /* pages in VMAs (mmap_lock held) */
/* Fault in [start, end) as MAP_POPULATE and mlock do (mmap_lock held for
 * read or write): write faults for private writable VMAs, read faults
 * otherwise; PROT_NONE VMAs and holes skipped; errors ignored. */
void populate_range(struct mm *mm, uint64_t start, uint64_t end);
/* brk(2) as Linux's sys_brk: moves the break to newbrk and returns the new
 * break, or returns the old one unchanged when it cannot (below start_brk,
 * past the user half, into another mapping with a guard page, or no
 * memory): never an error code. */
uint64_t vm_brk(struct mm *mm, uint64_t newbrk);

struct vm_area_struct *find_vma(struct mm *mm, uint64_t addr); /* first with end > addr */
struct vm_area_struct *vma_dup(const struct vm_area_struct *v);

/* Fault handling (mm/memory.c). Returns 0 or -errno. */
#define FAULT_FLAG_WRITE 1u
#define FAULT_FLAG_INSTR 2u
/* A read-only pin wants an exclusive anonymous page: copy a shared one,
 * mapped read-only (Linux 5.19+, mm/rmap.h). Only private mappings. */
#define FAULT_FLAG_UNSHARE 4u
int handle_mm_fault(struct vm_area_struct *vma, uint64_t addr, unsigned flags);
/* Resolve a user page fault of the current thread: 0, or why not, as
 * Linux's fault handler tells its callers: -EFAULT (no VMA there: SIGSEGV,
 * SEGV_MAPERR), -EACCES (the VMA forbids the access: SEGV_ACCERR),
 * VM_FAULT_SIGBUS (a file page past EOF: SIGBUS), -ENOMEM (out of memory:
 * Linux's OOM killer ends the process). */
int do_user_fault(uint64_t addr, unsigned flags);

/* The page-table walker (mm/memory.c): the PTE slot for addr, or NULL.
 * walk_pte: page_table_lock or mmap_lock held (tables cannot go away);
 * walk_pte_alloc: page_table_lock held, allocates missing tables (may_alloc:
 * a failure-injection hook, or NULL); walk_pte_lockless: GUP-fast, with
 * interrupts off, each level read once. */
pte_t *walk_pte(struct mm *mm, uint64_t addr);
pte_t *walk_pte_alloc(struct mm *mm, uint64_t addr, bool (*may_alloc)(void));
pte_t *walk_pte_lockless(struct mm *mm, uint64_t addr);

/* Zapping a range (mm/memory.c) for munmap, MADV_DONTNEED, exit and the
 * rmap zap of truncate (mm/truncate.c), which passes details. */
struct mmu_gather;
struct zap_details {
	bool even_cows; /* also private copies (anonymous pages) of file pages */
};
void unmap_page_range(struct mmu_gather *tlb, struct vm_area_struct *vma, uint64_t start,
		      uint64_t end, bool flush_under_lock, const struct zap_details *details);

/* fork (mm/fork.c): a copy of oldmm, or NULL with *err set (-ENOMEM). */
struct mm *dup_mm(struct mm *oldmm, int *err);
/* Test hook: make the n-th allocation of the next forks fail (-1: never). */
extern int fork_fail_after;

#endif
