/*
 * arch/x86_64/asid.h - PCID/ASID bookkeeping, free of inline assembly so the
 * same code runs in the kernel (arch/x86_64/tlb.c) and in the host model test
 * (tests/host/asid_model_test.c).
 *
 * Each CPU keeps TLB_NR_DYN_ASIDS slots. A slot remembers which address space
 * (ctx_id: unique per mm, never reused) last used it and up to which TLB
 * generation of that mm the TLB entries tagged with its PCID are known to be
 * flushed. An mm's generation (mm->tlb_gen) is bumped by every flush request.
 * Rule R7: an mm may be resumed under its old PCID without a flush only if
 * the slot's generation equals the mm's current generation.
 *
 * Without PCID (nr_asids == 1) every CR3 write flushes, so choose_new_asid()
 * always asks for a flush when the mm changes.
 */
#ifndef ARCH_X86_64_ASID_H
#define ARCH_X86_64_ASID_H

#include <stdbool.h>
#include <stdint.h>

#define TLB_NR_DYN_ASIDS 6
#define TLB_FLUSH_ALL	 (~0ull)

struct tlb_context {
	uint64_t ctx_id;  /* 0: slot never used */
	uint64_t tlb_gen; /* TLB entries of this ASID are flushed up to this generation */
};

/* Per-CPU state; written only by its CPU with interrupts off. Other CPUs
 * read is_lazy when choosing flush targets (see arch/x86_64/tlb.c). */
struct tlb_state {
	uint64_t loaded_ctx_id; /* mm whose tables CR3 points at (0: kernel only) */
	uint16_t loaded_asid;
	uint16_t next_asid; /* round-robin victim */
	uint16_t nr_asids;  /* TLB_NR_DYN_ASIDS with PCID, 1 without */
	bool is_lazy;	    /* a kernel thread runs on loaded_ctx_id's tables */
	struct tlb_context ctxs[TLB_NR_DYN_ASIDS];
};

/* What switching to an mm requires of the CPU. */
struct asid_choice {
	uint16_t asid;
	bool need_flush; /* load CR3 flushing this ASID's entries */
};

/* Hardware PCID of an ASID slot: PCID 0 is left to the kernel-only tables. */
static inline uint16_t asid_to_pcid(uint16_t asid)
{
	return (uint16_t)(asid + 1);
}

void tlb_state_init(struct tlb_state *ts, bool have_pcid);

/* Pick the slot for ctx_id at generation next_gen (the mm's tlb_gen read
 * before the switch). Reuses the slot that last held ctx_id if any; then
 * need_flush says whether that slot is behind. Otherwise evicts a slot. */
struct asid_choice choose_new_asid(struct tlb_state *ts, uint64_t ctx_id, uint64_t next_gen);

/* Record that CR3 now holds ctx_id under choice.asid, flushed up to gen
 * (if it flushed) or still at the slot's generation (if it did not). */
void asid_switched(struct tlb_state *ts, uint64_t ctx_id, struct asid_choice choice, uint64_t gen);

enum flush_action { FLUSH_NONE, FLUSH_PARTIAL, FLUSH_FULL };

/* A flush request: [start, end) of ctx_id up to new_gen. */
struct flush_request {
	uint64_t ctx_id;
	uint64_t start, end; /* end == TLB_FLUSH_ALL: everything */
	uint64_t new_gen;    /* the mm's tlb_gen after the requester bumped it */
	bool freed_tables;
};

/*
 * Decide what this CPU must do for a request, given the mm's current
 * generation mm_gen (read now). Updates the slot's generation to what the
 * returned action achieves:
 *   FLUSH_NONE     not loaded here, or already flushed up to mm_gen;
 *   FLUSH_PARTIAL  invalidate [start, end) page by page (at most `ceiling`
 *                  pages, and only when this request is the only one the
 *                  CPU has missed: new_gen == local + 1 == mm_gen);
 *   FLUSH_FULL     flush the whole ASID.
 * Lazy CPUs return FLUSH_NONE (they catch up through the generation check
 * when they switch back) - the caller handles freed_tables for them.
 */
enum flush_action flush_tlb_decide(struct tlb_state *ts, const struct flush_request *f,
				   uint64_t mm_gen, unsigned ceiling);

#endif
