/*
 * arch/x86_64/asid.c - the ASID/PCID and TLB-generation decisions (rule R7),
 * in plain C so the host model test can run them against a simulated tagged
 * TLB. The kernel applies the decisions in arch/x86_64/tlb.c.
 *
 * Mutations (tests/mutants.txt, host rows: built into the host model test
 * tests/host/asid_model_test.c, which must fail):
 *   ASID_RESUME_NO_GEN_CHECK   resume an mm's slot without comparing the
 *                              slot's generation with the mm's (R7);
 *   ASID_REUSE_NO_FLUSH        give a slot to another mm without flushing
 *                              what the old one left under its PCID (R7);
 *   FLUSH_PARTIAL_MISSED_GENS  INVLPG only this request's range although
 *                              the CPU missed earlier ones too (R7);
 *   NO_FLUSH_CEILING           INVLPG page by page however long the range
 *                              (R9; a kernel row: tlb.flush_ceiling).
 */
#include "arch/x86_64/asid.h"

void tlb_state_init(struct tlb_state *ts, bool have_pcid)
{
	ts->loaded_ctx_id = 0;
	ts->loaded_asid = 0;
	ts->next_asid = 0;
	ts->nr_asids = have_pcid ? TLB_NR_DYN_ASIDS : 1;
	ts->is_lazy = false;
	for (int i = 0; i < TLB_NR_DYN_ASIDS; i++) {
		ts->ctxs[i].ctx_id = 0;
		ts->ctxs[i].tlb_gen = 0;
	}
}

struct asid_choice choose_new_asid(struct tlb_state *ts, uint64_t ctx_id, uint64_t next_gen)
{
	struct asid_choice c;
	if (ts->nr_asids > 1) {
		for (uint16_t asid = 0; asid < ts->nr_asids; asid++) {
			if (ts->ctxs[asid].ctx_id != ctx_id)
				continue;
			c.asid = asid;
#ifdef MUTATION_ASID_RESUME_NO_GEN_CHECK
			c.need_flush = false; /* the bug: the slot's generation is not compared */
#else
			c.need_flush = ts->ctxs[asid].tlb_gen < next_gen;
#endif
			return c;
		}
	} else if (ts->loaded_ctx_id == ctx_id && ts->ctxs[0].ctx_id == ctx_id) {
		/* Without PCID only a reload of the same mm may skip the flush. */
		c.asid = 0;
		c.need_flush = ts->ctxs[0].tlb_gen < next_gen;
		return c;
	}
	c.asid = ts->next_asid;
	ts->next_asid = (uint16_t)((ts->next_asid + 1) % ts->nr_asids);
#ifdef MUTATION_ASID_REUSE_NO_FLUSH
	c.need_flush = false; /* the bug: the evicted mm's entries stay under this PCID */
#else
	c.need_flush = true;
#endif
	return c;
}

void asid_switched(struct tlb_state *ts, uint64_t ctx_id, struct asid_choice choice, uint64_t gen)
{
	ts->ctxs[choice.asid].ctx_id = ctx_id;
	if (choice.need_flush)
		ts->ctxs[choice.asid].tlb_gen = gen;
	ts->loaded_ctx_id = ctx_id;
	ts->loaded_asid = choice.asid;
	ts->is_lazy = false;
}

enum flush_action flush_tlb_decide(struct tlb_state *ts, const struct flush_request *f,
				   uint64_t mm_gen, unsigned ceiling)
{
	if (ts->loaded_ctx_id != f->ctx_id || ts->is_lazy)
		return FLUSH_NONE;
	struct tlb_context *ctx = &ts->ctxs[ts->loaded_asid];
	uint64_t local = ctx->tlb_gen;
	if (local >= mm_gen || f->new_gen <= local)
		return FLUSH_NONE; /* already covered; a newer request brings its own IPI */
#ifdef MUTATION_NO_FLUSH_CEILING
	bool small = f->end != TLB_FLUSH_ALL; /* the bug: INVLPG however long the range */
#else
	bool small = f->end != TLB_FLUSH_ALL && (f->end - f->start) / 4096 <= ceiling;
#endif
#ifdef MUTATION_FLUSH_PARTIAL_MISSED_GENS
	if (small && f->new_gen == mm_gen) { /* the bug: earlier missed requests ignored */
#else
	if (small && f->new_gen == local + 1 && f->new_gen == mm_gen) {
#endif
		ctx->tlb_gen = f->new_gen;
		return FLUSH_PARTIAL;
	}
	ctx->tlb_gen = mm_gen;
	return FLUSH_FULL;
}
