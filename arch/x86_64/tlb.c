/*
 * arch/x86_64/tlb.c - switch_mm, lazy TLB and IPI shootdown (rules R1, R7,
 * R8, R9). The ASID/generation decisions are in asid.c (host-tested); this
 * file applies them with CR3 writes, INVPCID and INVLPG.
 *
 * Per CPU (interrupts off, own CPU only, except is_lazy which flushers read):
 *   loaded_mms[cpu]   the mm whose tables CR3 holds (init_mm: kernel only)
 *   tlb_states[cpu]   ASID slots, loaded ASID, lazy flag
 *
 * Flushing mm: bump mm->tlb_gen, flush here if loaded, then IPI every other
 * CPU in mm->cpumask that is not lazy (lazy ones too when page tables were
 * freed) and wait for all of them (smp_call_function_many). Each CPU
 * compares its slot's generation with the mm's: up to date, nothing to do;
 * exactly this request missed and the range is small, INVLPG page by page;
 * otherwise flush the whole ASID. A lazy CPU skipped here catches up when it
 * switches back: it clears is_lazy, then (full barrier) reads tlb_gen, while
 * the flusher bumps tlb_gen, then reads is_lazy: one of them sees the other.
 * The same pairing covers a CPU joining mm->cpumask while a flush runs.
 *
 * Page tables are freed only after a flush with freed_tables, whose IPI
 * every CPU holding the mm must acknowledge: a CPU walking the tables with
 * interrupts off (GUP-fast) delays the acknowledgement, and so the free,
 * until its walk is over (R5). A lazy CPU receiving it leaves the mm.
 *
 * Lazy resume (R8): a CPU coming back from a kernel thread to the mm it
 * kept loaded was skipped by every flush while lazy, so it compares its
 * slot's generation with tlb_gen like any switch and flushes if behind
 * (MUTATION_LAZY_NO_GEN_CHECK resumes as is: tlb.lazy_resume_sees_zap).
 *
 * Range flushes (R9): one flush_tlb_mm_range is one IPI round to every
 * target, however many pages (MUTATION_SHOOTDOWN_PER_PAGE: a round per page);
 * up to tlb_single_page_flush_ceiling pages (Linux: 33) are invalidated
 * with INVLPG one by one, a longer range by one full flush of the ASID:
 * beyond the ceiling that is cheaper than the INVLPGs and refills.
 * MUTATION_NO_FLUSH_CEILING uses INVLPG for any length (tlb.flush_ceiling);
 * MUTATION_FLUSH_CEILING_CUT invalidates only the first ceiling pages of a
 * longer range (tlb.flush_beyond_ceiling_reaches_every_page).
 *
 * Lifetime of the PML4 (the other half is in mm/mm.c): loaded_mms[cpu]
 * holds an mm_count reference (mmgrab) on the mm whose PML4 this CPU's CR3
 * may hold, running or lazy. A switch takes the reference on the next mm
 * before its CR3 write and drops the one on the previous mm only after it;
 * leave_mm drops it after loading the kernel's tables. Between leaving the
 * old mm's cpumask and the CR3 write, a switching CPU is out of reach of
 * the last mmput's IPIs, and a lazy CPU with interrupts off cannot act on
 * one: their references, not the IPIs, keep the PML4 alive. The last
 * mmput only asks lazy CPUs to leave (tlb_release_mm, without waiting),
 * so that the memory comes back soon; whichever CPU drops the last
 * reference frees it.
 */
#include "arch/x86_64/tlb.h"
#include "arch/x86_64/asm.h"
#include "arch/arch.h"
#include "mm/mm.h"
#include "kernel/smp.h"
#include "kernel/stats.h"
#include "kernel/pause.h"
#include "kernel/panic.h"
#include "kernel/printk.h"

#define CR3_NOFLUSH (1ull << 63)

unsigned int tlb_single_page_flush_ceiling = 33;

static struct tlb_state tlb_states[NR_CPUS];
static struct mm *loaded_mms[NR_CPUS];
static bool have_pcid, have_invpcid;

struct mm *loaded_mm(int cpu)
{
	return READ_ONCE(loaded_mms[cpu]);
}
bool cpu_is_lazy(int cpu)
{
	return READ_ONCE(tlb_states[cpu].is_lazy);
}
const struct tlb_state *cpu_tlb_state(int cpu)
{
	return &tlb_states[cpu];
}

void tlb_init_cpu(int cpu)
{
	have_pcid = boot_cpu_features.pcid;
	have_invpcid = boot_cpu_features.invpcid && have_pcid;
	if (have_pcid)
		write_cr4(read_cr4() | CR4_PCIDE); /* CR3 holds kernel_pml4 with PCID 0 */
	tlb_state_init(&tlb_states[cpu], have_pcid);
	loaded_mms[cpu] = &init_mm;
	if (cpu == 0 && !have_pcid)
		pr_info("tlb: no PCID: one ASID, every CR3 write flushes\n");
	else if (cpu == 0)
		pr_info("tlb: PCID on, %d ASIDs per CPU; an ASID is flushed by %s\n",
			TLB_NR_DYN_ASIDS,
			have_invpcid ? "INVPCID (single context)" : "a CR3 write");
}

static void invpcid_single(uint16_t pcid)
{
	struct {
		uint64_t pcid, addr;
	} desc = { pcid, 0 };
	__asm__ __volatile__("invpcid %0, %1" ::"m"(desc), "r"(1ul) : "memory");
}

static uint64_t build_cr3(uint64_t pgd_phys, uint16_t asid, bool noflush)
{
	if (!have_pcid)
		return pgd_phys;
	return pgd_phys | asid_to_pcid(asid) | (noflush ? CR3_NOFLUSH : 0);
}

/* Flush every non-global entry of the current ASID. */
static void flush_current_asid(void)
{
	struct tlb_state *ts = &tlb_states[cpu_id()];
	if (have_invpcid)
		invpcid_single(asid_to_pcid(ts->loaded_asid));
	else
		write_cr3(read_cr3() & ~CR3_NOFLUSH);
	count_event(EV_TLB_FULL_FLUSH);
}

/*
 * The reference a CPU holds on the mm it has loaded (see the top). Taken
 * before CR3 can point at the mm's PML4, dropped after it points elsewhere.
 */
static void cpu_mmgrab(struct mm *mm)
{
#ifndef MUTATION_MM_NO_MMGRAB
	if (mm != &init_mm)
		mmgrab(mm);
#endif
}
static void cpu_mmdrop(struct mm *mm)
{
#ifndef MUTATION_MM_NO_MMGRAB
	if (mm != &init_mm)
		mmdrop(mm); /* may be the last: frees the PML4 (irq-safe allocators) */
#endif
}

void switch_mm_irqs_off(struct mm *next)
{
	int cpu = cpu_id();
	struct tlb_state *ts = &tlb_states[cpu];
	struct mm *prev = loaded_mms[cpu];
	if (prev == next && !ts->is_lazy)
		return;
#ifdef MUTATION_LAZY_NO_GEN_CHECK
	if (prev == next) { /* the bug: resume the kept tables without the tlb_gen check */
		WRITE_ONCE(ts->is_lazy, false);
		return;
	}
#endif
	WRITE_ONCE(ts->is_lazy, false);
	if (prev != next) {
		cpu_mmgrab(next);
		if (prev != &init_mm)
			cpumask_clear_cpu(&prev->cpumask, cpu);
		/* Out of prev's cpumask, its PML4 still in CR3: no IPI for prev
		 * reaches us now, only our reference keeps that PML4. */
		pause_point(PAUSE_SWITCH_MM, prev);
		if (next != &init_mm)
			cpumask_set(&next->cpumask, cpu);
	}
	smp_mb(); /* is_lazy / cpumask before tlb_gen: pairs with flush_tlb_mm_range */
	uint64_t gen = atomic64_read(&next->tlb_gen);
	struct asid_choice c = choose_new_asid(ts, next->ctx_id, gen);
	if (prev != next || c.need_flush) {
		write_cr3(build_cr3(next->pgd_phys, c.asid, !c.need_flush));
		count_event(c.need_flush ? EV_MM_SWITCH : EV_MM_SWITCH_NOFLUSH);
	}
	asid_switched(ts, next->ctx_id, c, gen);
	WRITE_ONCE(loaded_mms[cpu], next);
	if (prev != next)
		cpu_mmdrop(prev); /* CR3 no longer holds its PML4 */
}

void enter_lazy_tlb(void)
{
	int cpu = cpu_id();
	if (loaded_mms[cpu] != &init_mm)
		WRITE_ONCE(tlb_states[cpu].is_lazy, true);
}

void leave_mm(void)
{
	unsigned long f = local_irq_save();
	int cpu = cpu_id();
	struct mm *prev = loaded_mms[cpu];
	if (prev != &init_mm) {
		struct tlb_state *ts = &tlb_states[cpu];
		write_cr3(kernel_pml4_phys); /* PCID 0, flushed */
		cpumask_clear_cpu(&prev->cpumask, cpu);
		ts->loaded_ctx_id = 0;
		ts->loaded_asid = 0;
		WRITE_ONCE(ts->is_lazy, false);
		WRITE_ONCE(loaded_mms[cpu], &init_mm);
		cpu_mmdrop(prev); /* after CR3 left its PML4 */
	}
	local_irq_restore(f);
}

struct flush_info {
	struct mm *mm;
	struct flush_request req;
};

/* On each CPU, interrupts off: bring this CPU's TLB up to the request.
 * local: the requesting CPU itself (Linux counts nr_tlb_local_flush_one
 * and _all only then, as flush_tlb_func does). */
static void __flush_tlb_func(const struct flush_info *f, bool local)
{
	int cpu = cpu_id();
	if (loaded_mms[cpu] != f->mm)
		return; /* switched away since: nothing cached under its ASID matters now */
	if (tlb_states[cpu].is_lazy) {
		if (f->req.freed_tables)
			leave_mm(); /* do not even walk freed tables speculatively */
		return;
	}
	struct flush_request req = f->req;
	if (req.freed_tables)
		req.end = TLB_FLUSH_ALL; /* paging-structure caches: flush everything */
	switch (flush_tlb_decide(&tlb_states[cpu], &req, atomic64_read(&f->mm->tlb_gen),
				 tlb_single_page_flush_ceiling)) {
	case FLUSH_NONE:
		break;
	case FLUSH_PARTIAL:
		for (uint64_t va = req.start; va < req.end; va += PAGE_SIZE)
			invlpg(va);
		count_events(EV_TLB_PAGES_FLUSHED, (req.end - req.start) / PAGE_SIZE);
		if (local)
			count_events(EV_TLB_LOCAL_FLUSH_ONE, (req.end - req.start) / PAGE_SIZE);
		break;
	case FLUSH_FULL:
#ifdef MUTATION_FLUSH_CEILING_CUT
		if (req.end != TLB_FLUSH_ALL &&
		    (req.end - req.start) / PAGE_SIZE > tlb_single_page_flush_ceiling) {
			/* The bug: INVLPG of the first `ceiling` pages of a longer range. */
			for (unsigned i = 0; i < tlb_single_page_flush_ceiling; i++)
				invlpg(req.start + i * PAGE_SIZE);
			count_events(EV_TLB_PAGES_FLUSHED, tlb_single_page_flush_ceiling);
			break;
		}
#endif
		flush_current_asid();
		if (local)
			count_event(EV_TLB_LOCAL_FLUSH_ALL);
		break;
	}
}

static void flush_tlb_func(void *arg)
{
	__flush_tlb_func(arg, true);
}

static void flush_tlb_func_ipi(void *arg)
{
#ifndef MUTATION_TLB_IPI_NOT_COUNTED
	/* Linux's irq_tlb_count (the TLB row of /proc/interrupts) and
	 * nr_tlb_remote_flush_received */
	count_event(EV_TLB_IPI_RECEIVED);
#endif
	__flush_tlb_func(arg, false);
}

void flush_tlb_mm_range(struct mm *mm, uint64_t start, uint64_t end, bool freed_tables)
{
#ifdef MUTATION_SHOOTDOWN_PER_PAGE
	/* The bug (before mmu_gather batching): a shootdown per page. */
	if (end != TLB_FLUSH_ALL && end - start > PAGE_SIZE) {
		for (uint64_t va = start; va < end; va += PAGE_SIZE)
			flush_tlb_mm_range(mm, va, va + PAGE_SIZE, false);
		if (!freed_tables)
			return;
	}
#endif
	pause_point(PAUSE_TLB_FLUSH, mm);
	struct flush_info info = {
		.mm = mm,
		.req = { .ctx_id = mm->ctx_id,
			 .start = start,
			 .end = end,
			 .freed_tables = freed_tables },
	};
#ifdef MUTATION_NO_IPI_ON_PT_FREE
	/* The old bug: freeing page tables is not treated as needing an IPI. */
	info.req.freed_tables = false;
	if (start >= end)
		return;
#endif
	preempt_disable();
	info.req.new_gen = atomic64_inc_return(&mm->tlb_gen); /* full barrier */
	int me = cpu_id();
	if (loaded_mms[me] == mm) {
		unsigned long f = local_irq_save();
		count_event(EV_TLB_LOCAL_FLUSH);
		flush_tlb_func(&info);
		local_irq_restore(f);
	}
	cpumask_t targets;
	cpumask_clear(&targets);
	int n = 0;
	for_each_cpu_in (c, &mm->cpumask) {
		if (c == me)
			continue;
		if (!info.req.freed_tables && cpu_is_lazy(c)) {
			count_event(EV_TLB_LAZY_SKIPPED);
			continue;
		}
		cpumask_set(&targets, c);
		n++;
	}
	if (n) {
		count_event(EV_TLB_SHOOTDOWN);
		count_events(EV_TLB_IPI_SENT, n);
		smp_call_function_many(&targets, flush_tlb_func_ipi, &info, true);
	}
	preempt_enable();
}

/* arg may be freed (and reused) by now: compared, never dereferenced. Only
 * a lazy CPU leaves; a CPU running an mm at that address keeps it. */
static void leave_lazy_mm_func(void *arg)
{
	int cpu = cpu_id();
	if (loaded_mms[cpu] == arg && tlb_states[cpu].is_lazy)
		leave_mm();
}

void tlb_release_mm(struct mm *mm)
{
	cpumask_t m = mm->cpumask;
	smp_call_function_many(&m, leave_lazy_mm_func, mm, false); /* this CPU: at once */
}
