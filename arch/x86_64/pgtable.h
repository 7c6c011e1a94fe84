/*
 * arch/x86_64/pgtable.h - x86-64 4-level page-table entries.
 *
 * PML4 -> PDPT -> PD -> PT, 512 entries each, 9 bits of the address per
 * level. The bits below are the hardware's; software bits (9-11, 52-58)
 * are named as their users need them. Generic mm code uses the pte_*
 * helpers and never the raw bits.
 */
#ifndef ARCH_X86_64_PGTABLE_H
#define ARCH_X86_64_PGTABLE_H

#include "kernel/compiler.h"
#include "arch/x86_64/memlayout.h"

typedef uint64_t pte_t;

#define _PAGE_PRESENT  (1ull << 0)
#define _PAGE_RW       (1ull << 1)
#define _PAGE_USER     (1ull << 2)
#define _PAGE_PWT      (1ull << 3)
#define _PAGE_PCD      (1ull << 4)
#define _PAGE_ACCESSED (1ull << 5)
#define _PAGE_DIRTY    (1ull << 6)
#define _PAGE_PSE      (1ull << 7) /* 2 MiB / 1 GiB leaf in PD / PDPT */
#define _PAGE_GLOBAL   (1ull << 8)
#define _PAGE_SOFTW1   (1ull << 9)
#define _PAGE_SOFTW2   (1ull << 10)
#define _PAGE_SOFTW3   (1ull << 11)
#define _PAGE_NX       (1ull << 63)
#define PTE_ADDR_MASK  0x000ffffffffff000ull

#define PT_ENTRIES	    512
#define PML4_SHIFT	    39
#define PDPT_SHIFT	    30
#define PD_SHIFT	    21
#define PT_SHIFT	    12
#define PT_INDEX(va, shift) (((va) >> (shift)) & 511)
#define LARGE_PAGE_SIZE	    (1ul << PD_SHIFT)

/* Kernel mapping protections */
#define PAGE_KERNEL \
	(_PAGE_PRESENT | _PAGE_RW | _PAGE_GLOBAL | _PAGE_NX | _PAGE_ACCESSED | _PAGE_DIRTY)
#define PAGE_KERNEL_RO	    (_PAGE_PRESENT | _PAGE_GLOBAL | _PAGE_NX | _PAGE_ACCESSED)
#define PAGE_KERNEL_EXEC    (_PAGE_PRESENT | _PAGE_GLOBAL | _PAGE_ACCESSED)
#define PAGE_KERNEL_NOCACHE (PAGE_KERNEL | _PAGE_PCD | _PAGE_PWT)

/* PROT_NONE pages: not present to the hardware, still mapped for the kernel. */
#define _PAGE_PROTNONE _PAGE_SOFTW1
/* Not backed by a normal struct page (none yet): GUP-fast refuses it. */
#define _PAGE_SPECIAL _PAGE_SOFTW2

static inline bool pte_present(pte_t p)
{
	return p & _PAGE_PRESENT;
}
/* A page is mapped here (accessible or PROT_NONE): it holds a reference. */
static inline bool pte_mapped(pte_t p)
{
	return p & (_PAGE_PRESENT | _PAGE_PROTNONE);
}
static inline bool pte_write(pte_t p)
{
	return p & _PAGE_RW;
}
static inline bool pte_dirty(pte_t p)
{
	return p & _PAGE_DIRTY;
}
static inline bool pte_user(pte_t p)
{
	return p & _PAGE_USER;
}
static inline bool pte_exec(pte_t p)
{
	return !(p & _PAGE_NX);
}
static inline bool pte_special(pte_t p)
{
	return p & _PAGE_SPECIAL;
}
static inline bool pte_large(pte_t p)
{
	return p & _PAGE_PSE;
}
static inline uint64_t pte_phys(pte_t p)
{
	return p & PTE_ADDR_MASK;
}
static inline pte_t *pte_table(pte_t p)
{
	return phys_to_virt(pte_phys(p));
}

/* ---- building and changing user PTEs (generic mm/ code uses only these) ---- */

extern pte_t pte_supported_mask; /* clears the bits this CPU lacks (NX) */

/* An entry pointing at a user page table (the leaf PTEs decide access). */
static inline pte_t mk_table_entry(uint64_t table_phys)
{
	return table_phys | _PAGE_PRESENT | _PAGE_RW | _PAGE_USER;
}
/* A present user PTE for the page at phys. */
static inline pte_t pfn_user_pte(uint64_t phys, bool write, bool exec)
{
	pte_t p = phys | _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED;
	if (write)
		p |= _PAGE_RW;
	if (!exec)
		p |= _PAGE_NX & pte_supported_mask;
	return p;
}
/* The same permissions and state bits, another page. */
static inline pte_t pte_set_phys(pte_t p, uint64_t phys)
{
	return (p & ~PTE_ADDR_MASK) | phys;
}
static inline pte_t pte_mkwrite(pte_t p)
{
	return p | _PAGE_RW;
}
static inline pte_t pte_wrprotect(pte_t p)
{
	return p & ~_PAGE_RW;
}
static inline pte_t pte_mkdirty(pte_t p)
{
	return p | _PAGE_DIRTY;
}
static inline pte_t pte_mkclean(pte_t p)
{
	return p & ~_PAGE_DIRTY;
}
static inline pte_t pte_mkold(pte_t p)
{
	return p & ~_PAGE_ACCESSED;
}
/*
 * p with a mapping's new permissions: accessible or PROT_NONE (not present
 * to the hardware, still mapped for the kernel), execute or not. Write
 * access is only taken away here, never added: whoever adds it decides
 * (the write fault, or mprotect for an exclusive page).
 */
static inline pte_t pte_modify(pte_t p, bool accessible, bool write, bool exec)
{
	p &= ~(_PAGE_PRESENT | _PAGE_PROTNONE | _PAGE_NX);
	p |= accessible ? _PAGE_PRESENT : _PAGE_PROTNONE;
	if (!write)
		p &= ~_PAGE_RW;
	if (!exec)
		p |= _PAGE_NX & pte_supported_mask;
	return p;
}

/* Atomic updates of a live PTE: the CPU may set the accessed and dirty bits
 * at any moment, and a plain read-modify-write would lose them (R2). */
static inline pte_t ptep_get_and_clear(pte_t *ptep)
{
	return __atomic_exchange_n(ptep, 0, __ATOMIC_SEQ_CST);
}
/* Clears the write bit; returns the new entry (with any dirty bit). */
static inline pte_t ptep_set_wrprotect(pte_t *ptep)
{
	return __atomic_and_fetch(ptep, ~_PAGE_RW, __ATOMIC_SEQ_CST);
}
/* Takes write and dirty away (page_mkclean); returns the old entry. */
static inline pte_t ptep_wrprotect_clean(pte_t *ptep)
{
	return __atomic_fetch_and(ptep, ~(_PAGE_RW | _PAGE_DIRTY), __ATOMIC_SEQ_CST);
}
/* *ptep = new if it still is *old; else *old = its current value. */
static inline bool ptep_cmpxchg(pte_t *ptep, pte_t *old, pte_t new)
{
	return __atomic_compare_exchange_n(ptep, old, new, false, __ATOMIC_SEQ_CST,
					   __ATOMIC_SEQ_CST);
}

#endif
