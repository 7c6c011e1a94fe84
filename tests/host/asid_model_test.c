/*
 * tests/host/asid_model_test.c - randomized model test of the PCID/ASID and
 * TLB-generation logic (arch/x86_64/asid.c, rules R7 and R8).
 *
 * asid.c makes the decisions; this file plays the hardware and the rest of
 * the kernel:
 *   - per CPU a tagged TLB: (pcid, page) -> cached PTE version, limited in
 *     size, dropping entries at random (as hardware may) and filling them
 *     speculatively from whatever CR3 holds, but never keeping an entry it was
 *     told to flush. CR3 writes with and without the no-flush bit, INVLPG of
 *     the current PCID, full flush of the current PCID. Without PCID
 *     (nr_asids == 1) every CR3 write flushes everything.
 *   - per mm (unique ctx_id, tlb_gen starting at 1) a page table of NPAGES
 *     PTEs; every PTE change creates a new, globally increasing version.
 *   - the kernel's protocol: switch_mm (cpumask bit set, then tlb_gen read,
 *     then choose_new_asid / CR3 / asid_switched), lazy TLB mode for kernel
 *     threads, flush_tlb_mm_range (PTE change, ++tlb_gen, a flush_request to
 *     every CPU of the cpumask that is not lazy - lazy ones too when page
 *     tables are freed - each running flush_tlb_decide). Flush IPIs may be
 *     delivered at once or queued and processed later in random order, also
 *     across a switch_mm (a flush may land between the tlb_gen read and the
 *     CR3 write). A request completes when every target processed it.
 *
 * Checked:
 *   - end to end: a user access never uses a translation of another mm, nor
 *     a PTE version older than the one published by the last COMPLETED flush
 *     of that page (stale reads while a flush is in flight are allowed);
 *   - R7 directly: every TLB entry tagged with a slot's PCID belongs to the
 *     slot's mm and is not older than the slot's tlb_gen claims (no PTE
 *     change with generation <= slot.tlb_gen is missing from it); a switch
 *     without flush only with an up-to-date slot;
 *   - R8: when a request that freed page tables completes, no CPU that was
 *     lazy on that mm before the request is still lazy on it;
 *   - bookkeeping: loaded ctx/asid/CR3/cpumask agree, ASIDs < nr_asids, no
 *     slot shared by two mms, slot generations never ahead of the mm.
 * Set ASID_MODEL_CHECKS=e2e to keep only the end-to-end access check (to
 * see that it alone catches a broken asid.c).
 *
 * Mutations: `make mutants` builds this test with each host row of
 * tests/mutants.txt (-DMUTATION_NAME=1: the ones in arch/x86_64/asid.c, and
 * SWITCH_GEN_BEFORE_CPUMASK here in the model's switch_mm) and expects it
 * to fail.
 *
 * Usage: asid_model_test [base_seed [nr_seeds [steps]]]
 *   defaults: 0x5eed0000 200 5000. On failure it prints the seed, the step,
 *   the last steps and a command line that replays just that seed.
 * Build (from the repository root): see $(BUILD)/host/asid_model_test in
 * tests/host.mk.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arch/x86_64/asid.h"

#define MAX_CPUS    8
#define MAX_MMS	    10
#define NPAGES	    64
#define HOT_PAGES   8
#define PAGE_SIZE   ((uint64_t)4096)
#define MAX_TLB	    64
#define CEILING	    33
#define MAX_REQS    256
#define MAX_PENDING 16
#define MAX_CHANGED 8
#define TRACE_LEN   24

/* ---- random numbers (splitmix64) ----------------------------------------- */

static uint64_t rng;

static uint64_t rnd64(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned rnd(unsigned n)
{
	return (unsigned)(rnd64() % n);
}
static bool chance(unsigned pct)
{
	return rnd(100) < pct;
}

/* A page: mostly from a small hot set, so flushed pages are also accessed. */
static int rnd_page(void)
{
	return chance(60) ? (int)rnd(HOT_PAGES) : (int)rnd(NPAGES);
}

/* ---- model state ---------------------------------------------------------- */

struct tlb_entry {
	bool valid;
	uint16_t pcid;
	uint16_t vpage;
	int mm;	      /* not known to hardware: only for the checks */
	uint32_t ver; /* cached PTE version */
};

struct cpu {
	struct tlb_state ts; /* the kernel's per-CPU state, owned by asid.c */
	/* hardware */
	struct tlb_entry tlb[MAX_TLB];
	int cr3_mm; /* -1: kernel-only tables */
	uint16_t cr3_pcid;
	/* flush IPIs not yet processed */
	int pending[MAX_PENDING];
	int npending;
	unsigned lazy_epoch; /* req_ids when it last entered lazy mode */
};

struct mm {
	uint64_t ctx_id;
	uint64_t tlb_gen;
	uint32_t cpumask;
	uint32_t pte[NPAGES];  /* current version */
	uint32_t must[NPAGES]; /* version published by the last completed flush */
};

struct req {
	bool used;
	unsigned id;
	int mm;
	struct flush_request f;
	int npend;
	int nchanged;
	uint16_t vpage[MAX_CHANGED];
	uint32_t ver[MAX_CHANGED];
};

static struct {
	int ncpus, nmms, tlb_cap;
	bool have_pcid;
} cfg;

static struct cpu cpus[MAX_CPUS];
static struct mm mms[MAX_MMS];
static struct req reqs[MAX_REQS];
static unsigned req_ids;

/* Versions are global and increasing. next_ver[v]: the version that replaced
 * v in its PTE (0: v is current); ver_gen[v]: generation whose flush
 * publishes v (0 for the initial PTEs). */
static uint32_t nver, maxver;
static uint32_t *next_ver;
static uint64_t *ver_gen;

static bool full_checks = true;
static int switching_cpu = -1; /* in switch_mm with interrupts off */
static const char *prog;
static uint64_t cur_seed;
static long cur_step, nr_steps;

static struct {
	unsigned long steps, accesses, hits, stale_allowed, requests, delayed, completed;
	unsigned long act[3], lazy_leave, sw_flush, sw_noflush, window_flushes, seeds_pcid,
	    seeds_nopcid;
} st;

/* ---- trace and failure ---------------------------------------------------- */

static char trace[TRACE_LEN][200];
static unsigned long trace_n;

static void __attribute__((format(printf, 1, 2))) tr(const char *fmt, ...)
{
	char *b = trace[trace_n++ % TRACE_LEN];
	int n = snprintf(b, sizeof(trace[0]), "%5ld ", cur_step);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b + n, sizeof(trace[0]) - (size_t)n, fmt, ap);
	va_end(ap);
}

static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;
	printf("FAIL seed=%#" PRIx64 " step=%ld (%d cpus, %d mms, %s, %d TLB entries)\n  ",
	       cur_seed, cur_step, cfg.ncpus, cfg.nmms, cfg.have_pcid ? "PCID" : "no PCID",
	       cfg.tlb_cap);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\nlast events (step, what):\n");
	unsigned long from = trace_n > TRACE_LEN ? trace_n - TRACE_LEN : 0;
	for (unsigned long i = from; i < trace_n; i++)
		printf("  %s\n", trace[i % TRACE_LEN]);
	printf("CPU state:\n");
	for (int c = 0; c < cfg.ncpus; c++) {
		struct tlb_state *ts = &cpus[c].ts;
		printf("  cpu%d ctx=%" PRIu64 " asid=%u%s cr3=(mm%d,pcid%u) pending=%d slots:", c,
		       ts->loaded_ctx_id, ts->loaded_asid, ts->is_lazy ? " lazy" : "",
		       cpus[c].cr3_mm, cpus[c].cr3_pcid, cpus[c].npending);
		for (int i = 0; i < ts->nr_asids; i++)
			printf(" [%" PRIu64 "@%" PRIu64 "]", ts->ctxs[i].ctx_id,
			       ts->ctxs[i].tlb_gen);
		printf("\n");
	}
	for (int m = 0; m < cfg.nmms; m++)
		printf("  mm%d ctx=%" PRIu64 " tlb_gen=%" PRIu64 " cpumask=%#x\n", m, mms[m].ctx_id,
		       mms[m].tlb_gen, mms[m].cpumask);
	printf("replay: %s %#" PRIx64 " 1 %ld\n", prog, cur_seed, nr_steps);
	fflush(stdout);
	exit(1);
}

static const char *act_name(enum flush_action a)
{
	return a == FLUSH_NONE ? "NONE" : a == FLUSH_PARTIAL ? "PARTIAL" : "FULL";
}

/* ---- hardware ------------------------------------------------------------- */

static struct tlb_entry *tlb_find(struct cpu *cp, uint16_t pcid, int vpage)
{
	for (int i = 0; i < cfg.tlb_cap; i++) {
		struct tlb_entry *e = &cp->tlb[i];
		if (e->valid && e->pcid == pcid && e->vpage == vpage)
			return e;
	}
	return NULL;
}

/* Page walk through CR3's tables: cache the current PTE. */
static struct tlb_entry *tlb_fill(struct cpu *cp, int vpage)
{
	if (cp->cr3_mm < 0)
		return NULL; /* kernel-only tables map no user page */
	struct tlb_entry *e = tlb_find(cp, cp->cr3_pcid, vpage);
	for (int i = 0; !e && i < cfg.tlb_cap; i++)
		if (!cp->tlb[i].valid)
			e = &cp->tlb[i];
	if (!e)
		e = &cp->tlb[rnd((unsigned)cfg.tlb_cap)]; /* full: evict at random */
	e->valid = true;
	e->pcid = cp->cr3_pcid;
	e->vpage = (uint16_t)vpage;
	e->mm = cp->cr3_mm;
	e->ver = mms[cp->cr3_mm].pte[vpage];
	return e;
}

static void hw_drop_pcid(struct cpu *cp, uint16_t pcid)
{
	for (int i = 0; i < cfg.tlb_cap; i++)
		if (cp->tlb[i].pcid == pcid)
			cp->tlb[i].valid = false;
}

static void hw_drop_all(struct cpu *cp)
{
	for (int i = 0; i < cfg.tlb_cap; i++)
		cp->tlb[i].valid = false;
}

static void hw_invlpg(struct cpu *cp, int vpage)
{
	struct tlb_entry *e = tlb_find(cp, cp->cr3_pcid, vpage);
	if (e)
		e->valid = false;
}

/* Full flush of the current PCID (without PCID: of everything). */
static void hw_flush_current(struct cpu *cp)
{
	if (cfg.have_pcid)
		hw_drop_pcid(cp, cp->cr3_pcid);
	else
		hw_drop_all(cp);
}

static void hw_write_cr3(struct cpu *cp, int mm, uint16_t pcid, bool flush)
{
	if (!cfg.have_pcid) {
		hw_drop_all(cp); /* no PCID: every CR3 write flushes */
		pcid = 0;
	} else if (flush) {
		hw_drop_pcid(cp, pcid);
	}
	cp->cr3_mm = mm;
	cp->cr3_pcid = pcid;
}

/* ---- kernel protocol ------------------------------------------------------ */

static int loaded_mm(const struct cpu *cp)
{
	return cp->ts.loaded_ctx_id ? (int)cp->ts.loaded_ctx_id - 1 : -1;
}

static void complete_req(int r)
{
	struct req *q = &reqs[r];
	struct mm *m = &mms[q->mm];
	for (int i = 0; i < q->nchanged; i++)
		if (m->must[q->vpage[i]] < q->ver[i])
			m->must[q->vpage[i]] = q->ver[i];
	if (q->f.freed_tables && full_checks)
		for (int c = 0; c < cfg.ncpus; c++)
			/* A CPU inside switch_mm (interrupts off) has already left the
			 * cpumask and is about to load another CR3; the page-table free
			 * itself must wait for it (its sync IPI needs interrupts on). */
			if (c != switching_cpu && loaded_mm(&cpus[c]) == q->mm &&
			    cpus[c].ts.is_lazy && cpus[c].lazy_epoch <= q->id)
				fail("R8: req#%u freed page tables of mm%d and completed, but "
				     "cpu%d, lazy "
				     "on it since before the request, still uses its tables",
				     q->id, q->mm, c);
	st.completed++;
	q->used = false;
}

/* A lazy CPU told that page tables are gone switches to the kernel tables. */
static void leave_to_kernel(int c)
{
	struct cpu *cp = &cpus[c];
	mms[loaded_mm(cp)].cpumask &= ~(1u << c);
	cp->ts.loaded_ctx_id = 0;
	cp->ts.is_lazy = false;
	hw_write_cr3(cp, -1, 0, true);
	st.lazy_leave++;
}

/* The flush IPI handler. */
static void process_req(int c, int r)
{
	struct cpu *cp = &cpus[c];
	struct tlb_state *ts = &cp->ts;
	struct req *q = &reqs[r];
	struct mm *m = &mms[q->mm];

	if (q->f.freed_tables && ts->is_lazy && ts->loaded_ctx_id == q->f.ctx_id) {
		tr("cpu%d req#%u (mm%d freed tables): lazy -> kernel tables", c, q->id, q->mm);
		leave_to_kernel(c);
	} else {
		bool here = ts->loaded_ctx_id == q->f.ctx_id;
		uint64_t local = ts->ctxs[ts->loaded_asid].tlb_gen;
		enum flush_action a = flush_tlb_decide(ts, &q->f, m->tlb_gen, CEILING);
		tr("cpu%d req#%u (mm%d gen%" PRIu64 " pages %" PRIu64 "+%" PRIu64
		   "%s) %s local=%" PRIu64 " mm_gen=%" PRIu64 " -> %s",
		   c, q->id, q->mm, q->f.new_gen, q->f.start / PAGE_SIZE,
		   q->f.end == TLB_FLUSH_ALL ? 0 : (q->f.end - q->f.start) / PAGE_SIZE,
		   q->f.end == TLB_FLUSH_ALL ? " ALL" : "",
		   here ? (ts->is_lazy ? "lazy" : "loaded") : "away", local, m->tlb_gen,
		   act_name(a));
		st.act[a]++;
		if (full_checks && a != FLUSH_NONE && (!here || ts->is_lazy || cp->cr3_mm != q->mm))
			fail("flush_tlb_decide: %s for mm%d on cpu%d which does not run it",
			     act_name(a), q->mm, c);
		if (a == FLUSH_PARTIAL) {
			if (q->f.end == TLB_FLUSH_ALL ||
			    (q->f.end - q->f.start) / PAGE_SIZE > CEILING)
				fail("flush_tlb_decide: PARTIAL for a range beyond the ceiling");
			for (uint64_t a2 = q->f.start; a2 < q->f.end; a2 += PAGE_SIZE)
				if (a2 / PAGE_SIZE < NPAGES)
					hw_invlpg(cp, (int)(a2 / PAGE_SIZE));
		} else if (a == FLUSH_FULL) {
			hw_flush_current(cp);
		}
	}
	if (--q->npend == 0)
		complete_req(r);
}

static void deliver_pending(int c, bool all)
{
	struct cpu *cp = &cpus[c];
	while (cp->npending) {
		int i = (int)rnd((unsigned)cp->npending);
		int r = cp->pending[i];
		cp->pending[i] = cp->pending[--cp->npending];
		process_req(c, r);
		if (!all)
			break;
	}
}

static void enqueue(int c, int r)
{
	struct cpu *cp = &cpus[c];
	if (cp->npending == MAX_PENDING)
		deliver_pending(c, false);
	cp->pending[cp->npending++] = r;
	st.delayed++;
}

static void drain_all(void)
{
	for (int k = 0; k < cfg.ncpus; k++) {
		int c = (int)rnd((unsigned)cfg.ncpus);
		deliver_pending(c, true);
	}
	for (int c = 0; c < cfg.ncpus; c++)
		deliver_pending(c, true);
}

static void change_pte(struct req *q, int mi, int vpage)
{
	struct mm *m = &mms[mi];
	uint32_t v = ++nver;
	if (v >= maxver)
		fail("model: out of versions");
	next_ver[m->pte[vpage]] = v;
	next_ver[v] = 0;
	ver_gen[v] = UINT64_MAX;
	m->pte[vpage] = v;
	q->vpage[q->nchanged] = (uint16_t)vpage;
	q->ver[q->nchanged] = v;
	q->nchanged++;
}

/*
 * Change PTEs of mm mi and run flush_tlb_mm_range. CPU irqs_off_cpu (-1:
 * none) has interrupts off: its IPI waits in its queue.
 */
static void flush_op(int mi, int irqs_off_cpu)
{
	struct mm *m = &mms[mi];
	int r = -1;
	for (int tries = 0; r < 0; tries++) {
		for (int i = 0; i < MAX_REQS; i++)
			if (!reqs[i].used) {
				r = i;
				break;
			}
		if (r < 0) {
			if (tries)
				fail("model: out of requests");
			drain_all();
		}
	}
	struct req *q = &reqs[r];
	memset(q, 0, sizeof(*q));
	q->used = true;
	q->id = req_ids++;
	q->mm = mi;

	unsigned kind = rnd(100);
	int first, npages;
	if (kind < 55) {
		first = rnd_page();
		npages = 1;
	} else if (kind < 85) {
		npages = 2 + (int)rnd(47); /* 2..48 pages: both sides of the ceiling */
		first =
		    chance(50) ? (int)rnd(HOT_PAGES) : (int)rnd((unsigned)(NPAGES - npages + 1));
		if (first + npages > NPAGES)
			first = NPAGES - npages;
	} else {
		first = 0;
		npages = 0; /* TLB_FLUSH_ALL */
	}
	int nch = npages == 1 ? 1 : 1 + (int)rnd(MAX_CHANGED);
	for (int i = 0; i < nch; i++)
		change_pte(q, mi, npages ? first + (int)rnd((unsigned)npages) : rnd_page());

	q->f.ctx_id = m->ctx_id;
	q->f.start = npages ? (uint64_t)first * PAGE_SIZE : 0;
	q->f.end = npages ? q->f.start + (uint64_t)npages * PAGE_SIZE : TLB_FLUSH_ALL;
	q->f.freed_tables = chance(20);
	q->f.new_gen = ++m->tlb_gen;
	for (int i = 0; i < q->nchanged; i++)
		ver_gen[q->ver[i]] = q->f.new_gen;
	st.requests++;

	uint32_t targets = 0;
	for (int c = 0; c < cfg.ncpus; c++)
		if ((m->cpumask & (1u << c)) && (!cpus[c].ts.is_lazy || q->f.freed_tables))
			targets |= 1u << c;
	q->npend = __builtin_popcount(targets) + 1; /* +1: held while sending */
	tr("mm%d req#%u pages %d+%d%s changed %d, gen -> %" PRIu64 "%s, targets %#x", mi, q->id,
	   first, npages, npages ? "" : " (ALL)", q->nchanged, q->f.new_gen,
	   q->f.freed_tables ? " freed_tables" : "", targets);

	unsigned mode = rnd(3); /* 0: all at once, 1: some delayed, 2: all delayed */
	for (int c = 0; c < cfg.ncpus; c++) {
		if (!(targets & (1u << c)))
			continue;
		if (c == irqs_off_cpu || mode == 2 || (mode == 1 && chance(50)))
			enqueue(c, r);
		else
			process_req(c, r);
	}
	if (--q->npend == 0)
		complete_req(r);
}

/*
 * switch_mm: clear is_lazy, join the next mm's cpumask, read its tlb_gen,
 * pick the ASID, load CR3, record it. With window, a flush of some mm lands
 * between the tlb_gen read and the CR3 write while this CPU has interrupts
 * off. -DMUTATION_SWITCH_GEN_BEFORE_CPUMASK instead reads tlb_gen first and
 * leaves is_lazy and the cpumask to the end (asid_switched): that order
 * misses such flushes (a host row of tests/mutants.txt: this model must
 * fail).
 */
static void switch_mm(int c, int mi, bool window)
{
	struct cpu *cp = &cpus[c];
	struct tlb_state *ts = &cp->ts;
	struct mm *m = &mms[mi];
	if (window && cp->npending == MAX_PENDING)
		deliver_pending(c, false); /* room for the IPI that will wait */
	int prev = loaded_mm(cp);
	bool was_lazy = ts->is_lazy;

#ifndef MUTATION_SWITCH_GEN_BEFORE_CPUMASK
	/* Stop looking lazy, join the cpumask, only then read tlb_gen: a flush
	 * that bumps tlb_gen after our read then sends us its IPI. */
	ts->is_lazy = false;
	if (prev >= 0 && prev != mi)
		mms[prev].cpumask &= ~(1u << c);
	m->cpumask |= 1u << c;
#endif
	uint64_t gen = m->tlb_gen;
	if (window) {
		if (chance(50) && cp->cr3_mm >= 0)
			tlb_fill(cp, rnd_page()); /* still on the old CR3 */
		int fm = chance(80) ? mi : (int)rnd((unsigned)cfg.nmms);
		if (prev >= 0 && chance(30))
			fm = prev;
		tr("cpu%d switch to mm%d read gen %" PRIu64 "; flush of mm%d lands now", c, mi, gen,
		   fm);
		st.window_flushes++;
		switching_cpu = c;
		flush_op(fm, c);
		switching_cpu = -1;
	}
	struct asid_choice ch = choose_new_asid(ts, m->ctx_id, gen);
	if (ch.asid >= ts->nr_asids)
		fail("choose_new_asid: asid %u >= nr_asids %u", ch.asid, ts->nr_asids);
	if (full_checks && ch.asid < ts->nr_asids && !ch.need_flush) {
		if (ts->ctxs[ch.asid].ctx_id != m->ctx_id || ts->ctxs[ch.asid].tlb_gen < gen)
			fail("R7: choose_new_asid reuses asid %u (ctx %" PRIu64 " gen %" PRIu64
			     ") for mm%d at gen %" PRIu64 " without a flush",
			     ch.asid, ts->ctxs[ch.asid].ctx_id, ts->ctxs[ch.asid].tlb_gen, mi, gen);
		if (!cfg.have_pcid && prev != mi)
			fail(
			    "choose_new_asid: no flush for a switch from mm%d to mm%d without PCID",
			    prev, mi);
	}
	if (cfg.have_pcid)
		hw_write_cr3(cp, mi, asid_to_pcid(ch.asid), ch.need_flush);
	else if (ts->loaded_ctx_id != m->ctx_id || ch.need_flush)
		hw_write_cr3(cp, mi, 0, true);
	asid_switched(ts, m->ctx_id, ch, gen);
#ifdef MUTATION_SWITCH_GEN_BEFORE_CPUMASK
	if (prev >= 0 && prev != mi)
		mms[prev].cpumask &= ~(1u << c);
	m->cpumask |= 1u << c;
#endif
	tr("cpu%d switch mm%d -> mm%d%s gen %" PRIu64 ": asid %u %s", c, prev, mi,
	   was_lazy ? " (was lazy)" : "", gen, ch.asid, ch.need_flush ? "flush" : "no flush");
	if (ch.need_flush)
		st.sw_flush++;
	else
		st.sw_noflush++;

	if (!full_checks)
		return;
	if (ts->loaded_ctx_id != m->ctx_id || ts->loaded_asid != ch.asid || ts->is_lazy)
		fail("asid_switched: loaded ctx %" PRIu64 " asid %u lazy %d, expected ctx %" PRIu64
		     " asid %u",
		     ts->loaded_ctx_id, ts->loaded_asid, ts->is_lazy, m->ctx_id, ch.asid);
	if (full_checks && ch.need_flush && ts->ctxs[ch.asid].tlb_gen != gen)
		fail("asid_switched: slot %u at gen %" PRIu64
		     " after a flushing switch at gen %" PRIu64,
		     ch.asid, ts->ctxs[ch.asid].tlb_gen, gen);
	if (cp->cr3_mm != mi || cp->cr3_pcid != (cfg.have_pcid ? asid_to_pcid(ch.asid) : 0))
		fail("CR3 (mm%d, pcid %u) after switching to mm%d asid %u", cp->cr3_mm,
		     cp->cr3_pcid, mi, ch.asid);
}

static void enter_lazy(int c)
{
	cpus[c].ts.is_lazy = true;
	cpus[c].lazy_epoch = req_ids;
	tr("cpu%d enters lazy mode on mm%d", c, loaded_mm(&cpus[c]));
}

/* A user access on a CPU running its mm. */
static void access(int c, int vpage)
{
	struct cpu *cp = &cpus[c];
	int mi = cp->cr3_mm;
	if (mi < 0)
		fail("model: access on cpu%d without a user mm", c);
	struct tlb_entry *e = tlb_find(cp, cp->cr3_pcid, vpage);
	st.accesses++;
	if (e) {
		st.hits++;
		if (e->mm != mi)
			fail("cpu%d running mm%d (pcid %u) used a TLB entry of mm%d for page %d", c,
			     mi, cp->cr3_pcid, e->mm, vpage);
	} else {
		e = tlb_fill(cp, vpage);
	}
	uint32_t must = mms[mi].must[vpage];
	if (e->ver < must)
		fail("stale TLB: cpu%d mm%d page %d used version %u, but the flush publishing "
		     "version %u (gen %" PRIu64 ") completed; current %u",
		     c, mi, vpage, e->ver, must, ver_gen[must], mms[mi].pte[vpage]);
	if (e->ver != mms[mi].pte[vpage])
		st.stale_allowed++;
}

/* ---- invariants ----------------------------------------------------------- */

static void check_cpu(int c, bool tlb)
{
	struct cpu *cp = &cpus[c];
	struct tlb_state *ts = &cp->ts;
	uint16_t want = cfg.have_pcid ? TLB_NR_DYN_ASIDS : 1;
	if (ts->nr_asids != want)
		fail("cpu%d nr_asids %u, expected %u", c, ts->nr_asids, want);
	if (ts->loaded_asid >= ts->nr_asids || ts->next_asid >= ts->nr_asids)
		fail("cpu%d loaded_asid %u next_asid %u, nr_asids %u", c, ts->loaded_asid,
		     ts->next_asid, ts->nr_asids);
	for (int i = 0; i < TLB_NR_DYN_ASIDS; i++) {
		const struct tlb_context *x = &ts->ctxs[i];
		if (i >= ts->nr_asids) {
			if (x->ctx_id)
				fail("cpu%d slot %d beyond nr_asids in use", c, i);
			continue;
		}
		if (!x->ctx_id)
			continue;
		if (x->ctx_id > (uint64_t)cfg.nmms)
			fail("cpu%d slot %d: unknown ctx %" PRIu64, c, i, x->ctx_id);
		if (x->tlb_gen > mms[x->ctx_id - 1].tlb_gen)
			fail("cpu%d slot %d at gen %" PRIu64 ", ahead of mm%d's %" PRIu64, c, i,
			     x->tlb_gen, (int)x->ctx_id - 1, mms[x->ctx_id - 1].tlb_gen);
		for (int j = 0; j < i; j++)
			if (ts->ctxs[j].ctx_id == x->ctx_id)
				fail("cpu%d slots %d and %d both hold ctx %" PRIu64, c, j, i,
				     x->ctx_id);
	}
	int mi = loaded_mm(cp);
	if (mi >= cfg.nmms)
		fail("cpu%d loaded ctx %" PRIu64 " unknown", c, ts->loaded_ctx_id);
	if (mi < 0) {
		if (ts->is_lazy || cp->cr3_mm != -1)
			fail("cpu%d on kernel tables but lazy=%d cr3 mm%d", c, ts->is_lazy,
			     cp->cr3_mm);
	} else {
		if (cp->cr3_mm != mi ||
		    cp->cr3_pcid != (cfg.have_pcid ? asid_to_pcid(ts->loaded_asid) : 0))
			fail("cpu%d loaded mm%d asid %u but CR3 (mm%d, pcid %u)", c, mi,
			     ts->loaded_asid, cp->cr3_mm, cp->cr3_pcid);
		if (ts->ctxs[ts->loaded_asid].ctx_id != ts->loaded_ctx_id)
			fail("cpu%d loaded ctx %" PRIu64 " but its slot %u holds ctx %" PRIu64, c,
			     ts->loaded_ctx_id, ts->loaded_asid, ts->ctxs[ts->loaded_asid].ctx_id);
	}
	for (int m = 0; m < cfg.nmms; m++)
		if (((mms[m].cpumask >> c) & 1) != (m == mi))
			fail("cpu%d %s mm%d's cpumask but runs mm%d", c,
			     m == mi ? "missing from" : "still in", m, mi);
	if (!tlb)
		return;
	for (int i = 0; i < cfg.tlb_cap; i++) {
		const struct tlb_entry *e = &cp->tlb[i];
		if (!e->valid)
			continue;
		int slot;
		if (cfg.have_pcid) {
			if (e->pcid == 0 || e->pcid > ts->nr_asids)
				fail("cpu%d TLB entry with pcid %u", c, e->pcid);
			slot = e->pcid - 1;
		} else {
			if (e->pcid != 0 || mi < 0)
				fail("cpu%d TLB entry (pcid %u) left without PCID on mm%d", c,
				     e->pcid, mi);
			slot = 0;
		}
		const struct tlb_context *x = &ts->ctxs[slot];
		if (x->ctx_id != mms[e->mm].ctx_id)
			fail("cpu%d pcid %u caches page %d of mm%d, but its slot %d holds ctx "
			     "%" PRIu64,
			     c, e->pcid, e->vpage, e->mm, slot, x->ctx_id);
		uint32_t nv = next_ver[e->ver];
		if (nv && ver_gen[nv] <= x->tlb_gen)
			fail("R7: cpu%d slot %d claims mm%d flushed up to gen %" PRIu64
			     ", but pcid %u caches page %d version %u, replaced at gen %" PRIu64,
			     c, slot, e->mm, x->tlb_gen, e->pcid, e->vpage, e->ver, ver_gen[nv]);
	}
}

/* ---- driver --------------------------------------------------------------- */

static void step(void)
{
	int c = (int)rnd((unsigned)cfg.ncpus);
	struct cpu *cp = &cpus[c];
	int mi = loaded_mm(cp);
	unsigned r = rnd(100);

	if (r < 40) { /* user accesses (first running the mm again if needed) */
		if (mi < 0 || cp->ts.is_lazy) {
			switch_mm(c, mi < 0 || chance(30) ? (int)rnd((unsigned)cfg.nmms) : mi,
				  false);
		} else {
			if (cp->npending && chance(60))
				deliver_pending(c, true);
			for (int n = 1 + (int)rnd(6); n > 0; n--)
				access(c, rnd_page());
		}
	} else if (r < 50) { /* change PTEs + flush, preferably of a running mm */
		flush_op(mi >= 0 && chance(70) ? mi : (int)rnd((unsigned)cfg.nmms), -1);
	} else if (r < 58) {
		switch_mm(c, (int)rnd((unsigned)cfg.nmms), false);
	} else if (r < 64) {
		if (mi >= 0 && !cp->ts.is_lazy)
			enter_lazy(c);
	} else if (r < 70) {
		if (mi >= 0 && cp->ts.is_lazy)
			switch_mm(c, mi, false);
	} else if (r < 80) {
		deliver_pending(c, chance(50));
	} else if (r < 85) { /* hardware drops entries */
		for (int n = (int)rnd(4); n >= 0; n--)
			cp->tlb[rnd((unsigned)cfg.tlb_cap)].valid = false;
	} else if (r < 93) { /* hardware fills speculatively, also when lazy */
		tlb_fill(cp, rnd_page());
	} else {
		switch_mm(c, chance(30) && mi >= 0 ? mi : (int)rnd((unsigned)cfg.nmms), true);
	}
	st.steps++;
	for (int k = 0; full_checks && k < cfg.ncpus; k++)
		check_cpu(k, k == c || (cur_step & 7) == 0);
}

static void run_seed(uint64_t seed, long steps)
{
	cur_seed = seed;
	rng = seed;
	cur_step = -1;
	trace_n = 0;
	memset(cpus, 0, sizeof(cpus));
	memset(mms, 0, sizeof(mms));
	memset(reqs, 0, sizeof(reqs));
	req_ids = 0;

	cfg.ncpus = 1 + (int)(seed % MAX_CPUS);
	cfg.have_pcid = (seed / MAX_CPUS) % 3 != 2;
	cfg.nmms = 1 + (int)rnd(MAX_MMS);
	cfg.tlb_cap = 4 + (int)rnd(MAX_TLB - 3);
	cfg.have_pcid ? st.seeds_pcid++ : st.seeds_nopcid++;

	for (int c = 0; c < cfg.ncpus; c++) {
		tlb_state_init(&cpus[c].ts, cfg.have_pcid);
		cpus[c].cr3_mm = -1;
	}
	nver = 0;
	next_ver[0] = 0;
	ver_gen[0] = 0;
	for (int m = 0; m < cfg.nmms; m++) {
		mms[m].ctx_id = (uint64_t)m + 1;
		mms[m].tlb_gen = 1;
		for (int p = 0; p < NPAGES; p++) {
			uint32_t v = ++nver;
			next_ver[v] = 0;
			ver_gen[v] = 0;
			mms[m].pte[p] = v;
			mms[m].must[p] = v;
		}
	}
	for (int c = 0; full_checks && c < cfg.ncpus; c++)
		check_cpu(c, true);

	for (cur_step = 0; cur_step < steps; cur_step++)
		step();

	/* Quiesce: every flush completes, then every running CPU sees it all. */
	tr("drain all pending flushes");
	drain_all();
	for (int i = 0; i < MAX_REQS; i++)
		if (reqs[i].used)
			fail("req#%u never completed (%d targets left)", reqs[i].id, reqs[i].npend);
	for (int c = 0; c < cfg.ncpus; c++) {
		if (full_checks)
			check_cpu(c, true);
		int mi = loaded_mm(&cpus[c]);
		if (mi < 0)
			continue;
		if (cpus[c].ts.is_lazy)
			switch_mm(c, mi, false);
		for (int p = 0; p < NPAGES; p++)
			access(c, p); /* now must == pte: no stale read left */
	}
	for (int m = 0; m < cfg.nmms; m++)
		for (int p = 0; p < NPAGES; p++)
			if (mms[m].must[p] != mms[m].pte[p])
				fail("model: mm%d page %d changed but never published", m, p);
}

int main(int argc, char **argv)
{
	prog = argv[0];
	uint64_t base = argc > 1 ? strtoull(argv[1], NULL, 0) : 0x5eed0000ull;
	long nseeds = argc > 2 ? strtol(argv[2], NULL, 0) : 200;
	nr_steps = argc > 3 ? strtol(argv[3], NULL, 0) : 5000;
	const char *checks = getenv("ASID_MODEL_CHECKS");
	full_checks = !(checks && !strcmp(checks, "e2e"));
	if (nseeds < 1 || nr_steps < 0) {
		fprintf(stderr, "usage: %s [base_seed [nr_seeds [steps]]]\n", prog);
		return 2;
	}
	/* Each step changes at most 2 * MAX_CHANGED PTEs (a window flush too). */
	maxver = (uint32_t)(MAX_MMS * NPAGES + (nr_steps + 1) * 2 * MAX_CHANGED + 2);
	next_ver = calloc(maxver, sizeof(*next_ver));
	ver_gen = calloc(maxver, sizeof(*ver_gen));
	if (!next_ver || !ver_gen)
		return 2;

	clock_t t0 = clock();
	for (long i = 0; i < nseeds; i++)
		run_seed(base + (uint64_t)i, nr_steps);
	double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;

	printf("asid_model_test: %ld seeds (%lu with PCID, %lu without) x %ld steps from seed "
	       "%#" PRIx64 "%s: ok in %.2fs\n",
	       nseeds, st.seeds_pcid, st.seeds_nopcid, nr_steps, base,
	       full_checks ? "" : " (end-to-end checks only)", secs);
	printf("  %lu accesses (%lu TLB hits, %lu stale while a flush was in flight), %lu flush "
	       "requests (%lu IPIs delayed, %lu during a switch_mm), decisions NONE %lu PARTIAL "
	       "%lu FULL %lu, %lu lazy CPUs sent to kernel tables, switches %lu flushing / %lu "
	       "not\n",
	       st.accesses, st.hits, st.stale_allowed, st.requests, st.delayed, st.window_flushes,
	       st.act[FLUSH_NONE], st.act[FLUSH_PARTIAL], st.act[FLUSH_FULL], st.lazy_leave,
	       st.sw_flush, st.sw_noflush);
	free(next_ver);
	free(ver_gen);
	return 0;
}
