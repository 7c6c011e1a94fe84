/* arch/x86_64/tlb.h - address-space switching and TLB shootdown (see tlb.c). */
#ifndef ARCH_X86_64_TLB_H
#define ARCH_X86_64_TLB_H

#include "kernel/compiler.h"
#include "arch/x86_64/asid.h"

struct mm;

extern unsigned int tlb_single_page_flush_ceiling;

void tlb_init_cpu(int cpu);
/* Load mm's tables on this CPU (interrupts off). */
void switch_mm_irqs_off(struct mm *next);
/* A kernel thread runs: keep the tables, skip flush IPIs until we return. */
void enter_lazy_tlb(void);
/* Drop whatever user mm this CPU holds and run on the kernel's tables. */
void leave_mm(void);
struct mm *loaded_mm(int cpu);
bool cpu_is_lazy(int cpu);
const struct tlb_state *cpu_tlb_state(int cpu);

/* Flush [start, end) of mm on every CPU that may cache it and wait (R1,
 * R8, R9). freed_tables: page tables were unhooked, so lazy CPUs are
 * flushed too and the walk caches are invalidated. */
void flush_tlb_mm_range(struct mm *mm, uint64_t start, uint64_t end, bool freed_tables);
/* The last user of mm is gone: ask the CPUs that keep it lazily to leave
 * it, without waiting (their mm_count references keep the PML4 meanwhile);
 * this CPU leaves at once. */
void tlb_release_mm(struct mm *mm);

#endif
