/*
 * arch/x86_64/arch_impl.h - the inline part of the arch interface: interrupt
 * flag, pause, TSC, per-CPU base. Included only through arch/arch.h.
 *
 * Per-CPU data: GS base points at the CPU's struct cpu, whose first field is
 * a pointer to itself, so this_cpu() is one load (mov %gs:0) and is correct
 * even if the thread migrates right after (the caller gets the CPU it was on).
 * But this_cpu()->field is two loads, and a preemptible thread can move to
 * another CPU between them: it then reads the field of the CPU it left. For
 * a field that changes with the running thread (curr) that is wrong, so such
 * a field is read with one %gs-relative load (this_cpu_read_ulong), which an
 * interrupt cannot split (Linux: this_cpu_read, current_task).
 */
#ifndef ARCH_X86_64_ARCH_IMPL_H
#define ARCH_X86_64_ARCH_IMPL_H

#include "kernel/compiler.h"

static inline void local_irq_disable(void)
{
	__asm__ __volatile__("cli" ::: "memory");
}
static inline void local_irq_enable(void)
{
	__asm__ __volatile__("sti" ::: "memory");
}
static inline unsigned long local_irq_save(void)
{
	unsigned long f;
	__asm__ __volatile__("pushfq; popq %0; cli" : "=r"(f)::"memory");
	return f;
}
static inline void local_irq_restore(unsigned long f)
{
	if (f & (1ul << 9))
		__asm__ __volatile__("sti" ::: "memory");
	else
		__asm__ __volatile__("cli" ::: "memory");
}
static inline bool irqs_disabled(void)
{
	unsigned long f;
	__asm__ __volatile__("pushfq; popq %0" : "=r"(f));
	return !(f & (1ul << 9));
}
static inline void cpu_relax(void)
{
	__asm__ __volatile__("pause" ::: "memory");
}
static inline uint64_t arch_cycles(void)
{
	uint32_t lo, hi;
	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
/* Enable interrupts and halt until one arrives (atomic: sti; hlt). */
static inline void arch_idle(void)
{
	__asm__ __volatile__("sti; hlt" ::: "memory");
}
static inline __noreturn void arch_halt_forever(void)
{
	for (;;)
		__asm__ __volatile__("cli; hlt");
}

struct cpu;
static inline struct cpu *this_cpu(void)
{
	struct cpu *c;
	__asm__ __volatile__("movq %%gs:0, %0" : "=r"(c));
	return c;
}

/* The 8-byte field at `offset` of this CPU's struct cpu, in one load. */
#define this_cpu_read_ulong(offset)                                                  \
	({                                                                           \
		unsigned long __v;                                                   \
		__asm__ __volatile__("movq %%gs:%c1, %0" : "=r"(__v) : "i"(offset)); \
		__v;                                                                 \
	})

#endif
