/*
 * tests/test_tlb.c - TLB shootdown and the mmu_gather, on real CPUs. QEMU's
 * TLB keeps stale translations until the guest flushes, so a missing or
 * late flush is observable here, as on hardware.
 *
 *   R1 toucher_faults_after_munmap: a CPU writing through its TLB while
 *      another CPU unmaps the page never writes a freed page, and faults
 *      once munmap has returned (kills FREE_BEFORE_FLUSH).
 *   R9 munmap_512_pages_one_round / flush_ceiling: one IPI round per
 *      gather (kills SHOOTDOWN_PER_PAGE); INVLPG page by page up to the
 *      ceiling, a full flush beyond (kills NO_FLUSH_CEILING).
 *   R9 flush_beyond_ceiling_reaches_every_page: a flush of more pages than
 *      the ceiling leaves no stale entry on a CPU running the mm, past the
 *      ceiling either (kills FLUSH_CEILING_CUT).
 *   R8 lazy_cpu: a lazy CPU gets no IPI for a PTE change, but does get one
 *      when page tables are freed, and leaves the mm (kills NO_IPI_ON_PT_FREE).
 *   R8 lazy_resume_sees_zap: a lazy CPU skipped by a flush catches up when
 *      it comes back to the mm (kills LAZY_NO_GEN_CHECK).
 *   mm lifetime pml4_kept_for_switching_cpu / pml4_kept_for_lazy_cpu: the
 *      last mmput does not free the PML4 under a CPU half-way through a
 *      switch away from the mm, nor under a lazy CPU that has not left it
 *      yet; the last of them frees it (kills MM_NO_MMGRAB).
 *   R5 table_free_waits_for_irq_off_walker: page tables are not freed while
 *      a CPU walks them with interrupts off (kills NO_IPI_ON_PT_FREE).
 *   R7 pcid_resume_without_flush: in-kernel PCID check (SKIP without PCID).
 */
#include "tests/ktest_mm.h"
#include "kernel/stats.h"
#include "kernel/pause.h"
#include "kernel/smp.h"
#include "kernel/printk.h"
#include "arch/x86_64/uaccess.h"
#include "kernel/string.h"

static struct mm *new_mm_in_use(struct ktest *t)
{
	struct mm *mm = mm_alloc();
	if (mm)
		use_mm(mm);
	return mm;
}

static void drop_mm(struct mm *mm)
{
	unuse_mm(mm);
	mmput(mm);
}

/* ---- R1 ------------------------------------------------------------------ */

struct toucher {
	struct mm *mm;
	uint64_t addr;
	volatile uint64_t writes;
	volatile bool faulted;
	struct completion done;
};

static void toucher_fn(void *arg)
{
	struct toucher *to = arg;
	use_mm(to->mm);
	for (uint64_t i = 1;; i++) {
		if (put_user_u64(to->addr, i) != 0) {
			to->faulted = true;
			break;
		}
		to->writes++;
	}
	unuse_mm(to->mm);
	complete(&to->done);
}

struct unmapper {
	struct mm *mm;
	uint64_t addr, len;
	volatile bool done_flag;
	struct completion done;
};

static void unmapper_fn(void *arg)
{
	struct unmapper *u = arg;
	use_mm(u->mm);
	vm_munmap(u->mm, u->addr, u->len);
	u->done_flag = true;
	unuse_mm(u->mm);
	complete(&u->done);
}

static void toucher_faults_after_munmap(struct ktest *t)
{
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs");
	sched_migrate(cpu_id());
	struct mm *mm = new_mm_in_use(t);
	KASSERT_NOT_NULL(t, mm);
	uint64_t a = ktest_mmap(mm, PAGE_SIZE);
	KASSERT_NE(t, a, 0);
	KASSERT_EQ(t, put_user_u64(a, 1), 0);
	struct page *page = phys_to_page(pte_phys(*walk_pte(mm, a)));

	static struct toucher to;
	static struct unmapper u;
	to = (struct toucher){ .mm = mm, .addr = a };
	u = (struct unmapper){ .mm = mm, .addr = a, .len = PAGE_SIZE };
	init_completion(&to.done);
	init_completion(&u.done);
	int toucher_cpu = ktest_other_cpu(cpu_id(), 1);
	int unmapper_cpu = nr_cpus_online > 2 ? ktest_other_cpu(cpu_id(), 2) : cpu_id();
	thread_create("toucher", toucher_fn, &to, toucher_cpu);
	while (to.writes < 100)
		sleep_ms(1); /* the toucher's TLB now holds the translation */

	pause_arm(PAUSE_TLB_FLUSH, mm);
	thread_create("unmapper", unmapper_fn, &u, unmapper_cpu);
	KASSERT_TRUE(t, pause_wait_reached(PAUSE_TLB_FLUSH, 10000));
	/* The PTE is gone but no CPU has flushed: the toucher goes on writing
	 * through its stale entry. The page must still be allocated. */
	uint64_t w0 = to.writes;
	for (int i = 0; i < 1000 && to.writes < w0 + 100 && !to.faulted; i++)
		sleep_ms(1);
	bool freed_while_stale = page_count(page) == 0;
	KEXPECT_FALSE(t, freed_while_stale);
	pause_release(PAUSE_TLB_FLUSH);

	wait_for_completion(&u.done);
	uint64_t at_return = to.writes;
	wait_for_completion(&to.done);
	KEXPECT_TRUE(t, to.faulted);
	KEXPECT_LE(t, to.writes, at_return + 1); /* at most one write in flight */
	if (page_count(page) == 0)
		KEXPECT_TRUE(t, page_poison_ok(page)); /* nothing written after the free */
	drop_mm(mm);
}

/* ---- R9 ------------------------------------------------------------------ */

#define BIG_REGION 0x40000000ull /* 1 GiB: 2 MiB aligned */

/* Anonymous read-write memory at BIG_REGION (one page table covers 2 MiB). */
static int64_t map_big_region(struct mm *mm, uint64_t len)
{
	return vm_mmap(mm, BIG_REGION, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
}

static void snapshot(enum event e, uint64_t *snap)
{
	for (int i = 0; i < nr_cpus; i++)
		snap[i] = event_cpu(i, e);
}

static void munmap_512_pages_one_round(struct ktest *t)
{
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs");
	sched_migrate(cpu_id());
	struct mm *mm = new_mm_in_use(t);
	KASSERT_NOT_NULL(t, mm);
	uint64_t live = ktest_mmap(mm, PAGE_SIZE);
	KASSERT_NE(t, live, 0);
	static struct live_worker w[3];
	int n = start_live_workers(w, 3, mm, live);
	static const int sizes[] = { 1, 32, 512 };
	for (size_t k = 0; k < ARRAY_SIZE(sizes); k++) {
		uint64_t len = sizes[k] * PAGE_SIZE;
		int64_t a = map_big_region(mm, len);
		KASSERT_EQ(t, a, BIG_REGION);
		for (int i = 0; i < sizes[k]; i++)
			KASSERT_EQ(t, put_user_u64(a + i * PAGE_SIZE, i), 0);
		uint64_t rounds = event_sum(EV_TLB_SHOOTDOWN), sent = event_sum(EV_TLB_IPI_SENT);
		KEXPECT_EQ(t, vm_munmap(mm, a, len), 0);
		KEXPECT_EQ(t, event_sum(EV_TLB_SHOOTDOWN) - rounds, 1);
		KEXPECT_EQ(t, event_sum(EV_TLB_IPI_SENT) - sent, n);
		ktest_log(t, "munmap of %d pages live on %d CPUs: %lu IPI round(s), %lu IPIs",
			  sizes[k], n + 1, event_sum(EV_TLB_SHOOTDOWN) - rounds,
			  event_sum(EV_TLB_IPI_SENT) - sent);
	}
	stop_live_workers(w, n);
	drop_mm(mm);
}

/*
 * One MADV_DONTNEED of npages on an mm live on the worker CPUs; on each
 * worker CPU that ran its worker throughout (no context switch: a CPU that
 * ran another thread meanwhile was lazy, or switched and caught up, and
 * rightly flushed nothing or something else), the flush is INVLPG per page
 * up to the ceiling and one full flush beyond. Returns the CPUs checked.
 */
static int check_ceiling_round(struct ktest *t, struct mm *mm, int64_t a, unsigned npages, int n)
{
	static uint64_t pages[NR_CPUS], fulls[NR_CPUS], switches[NR_CPUS];
	for (unsigned i = 0; i < npages; i++)
		KEXPECT_EQ(t, put_user_u64(a + i * PAGE_SIZE, i), 0);
	snapshot(EV_TLB_PAGES_FLUSHED, pages);
	snapshot(EV_TLB_FULL_FLUSH, fulls);
	snapshot(EV_CONTEXT_SWITCH, switches);
	KEXPECT_EQ(t, vm_madvise(mm, a, npages * PAGE_SIZE, MADV_DONTNEED), 0);
	int checked = 0;
	for (int k = 0; k < n; k++) {
		int c = ktest_other_cpu(cpu_id(), k + 1);
		if (event_cpu(c, EV_CONTEXT_SWITCH) != switches[c])
			continue;
		uint64_t p = event_cpu(c, EV_TLB_PAGES_FLUSHED) - pages[c];
		uint64_t f = event_cpu(c, EV_TLB_FULL_FLUSH) - fulls[c];
		bool single = npages <= tlb_single_page_flush_ceiling;
		KEXPECT_EQ(t, p, single ? npages : 0); /* INVLPG each page, up to the ceiling */
		KEXPECT_EQ(t, f, single ? 0 : 1);      /* one full flush beyond it */
		checked++;
	}
	return checked;
}

static void flush_ceiling(struct ktest *t)
{
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs");
	sched_migrate(cpu_id());
	struct mm *mm = new_mm_in_use(t);
	KASSERT_NOT_NULL(t, mm);
	uint64_t live = ktest_mmap(mm, PAGE_SIZE);
	int64_t a = map_big_region(mm, 64 * PAGE_SIZE);
	KASSERT_EQ(t, a, BIG_REGION);
	static struct live_worker w[3];
	int n = start_live_workers(w, 3, mm, live);
	unsigned ceiling = tlb_single_page_flush_ceiling;
	for (unsigned npages = ceiling; npages <= ceiling + 1; npages++) {
		int checked = 0;
		for (int try = 0; try < 10 && !checked; try++)
			checked = check_ceiling_round(t, mm, a, npages, n);
		if (!checked)
			ktest_fail(t, __FILE__, __LINE__,
				   "no worker CPU ran undisturbed through any of 10 tries");
	}
	stop_live_workers(w, n);
	drop_mm(mm);
}

/* ---- R9: the ceiling must not cut a flush short ------------------------------ */

enum { CEIL_PAGES = 64 }; /* beyond the ceiling (33), within one page table */

/*
 * Runs in the mm on its own CPU, never lazy, and reads every page over and
 * over with interrupts off, so that a missing translation fails at once
 * (-EFAULT) instead of faulting a page in: a read that succeeds after the
 * PTE is gone went through a stale TLB entry. Between two reads interrupts
 * are on, so flush IPIs get in. It records which pages each pass could
 * read: a pass made wholly while the zapper is paused before its flush
 * (the stale entries still there), and a pass begun after the test's mark.
 */
struct ceil_reader {
	struct mm *mm;
	uint64_t addr;
	volatile bool stop, ready, faulted_in_error;
	volatile uint64_t mark;			  /* bumped by the test */
	volatile uint64_t window_passes;	  /* passes wholly inside the paused flush */
	volatile uint64_t window_mask;		  /* pages one of them could read */
	volatile uint64_t after_mark, after_mask; /* last pass begun after mark */
	struct completion done;
};

static bool flush_paused(void)
{
	const struct pause_point_state *p = &pause_points[PAUSE_TLB_FLUSH];
	return READ_ONCE(p->reached) && !READ_ONCE(p->resumed_ns);
}

static void ceil_reader_fn(void *arg)
{
	struct ceil_reader *r = arg;
	use_mm(r->mm);
	for (unsigned i = 0; i < CEIL_PAGES; i++)
		if (put_user_u64(r->addr + i * PAGE_SIZE, i))
			r->faulted_in_error = true;
	r->ready = true;
	while (!r->stop) {
		uint64_t mark = r->mark, mask = 0;
		bool in_window = flush_paused();
		for (unsigned i = 0; i < CEIL_PAGES; i++) {
			uint64_t v;
			unsigned long f = local_irq_save();
			if (get_user_u64(&v, r->addr + i * PAGE_SIZE) == 0)
				mask |= 1ull << i;
			local_irq_restore(f);
		}
		if (in_window && flush_paused()) {
			r->window_mask = mask;
			smp_store_release(&r->window_passes, r->window_passes + 1);
		}
		r->after_mask = mask;
		smp_store_release(&r->after_mark, mark);
	}
	unuse_mm(r->mm);
	complete(&r->done);
}

enum ceil_result { CEIL_RAN, CEIL_INCONCLUSIVE };

static enum ceil_result ceil_try(struct ktest *t, struct mm *mm, int64_t a, int cpu)
{
	static struct ceil_reader r;
	r = (struct ceil_reader){ .mm = mm, .addr = (uint64_t)a };
	init_completion(&r.done);
	thread_create("ceil-reader", ceil_reader_fn, &r, cpu);
	uint64_t dl = ktime_get_ns() + 5000000000ull;
	while (!r.ready && ktime_get_ns() < dl)
		sleep_ms(1);
	KEXPECT_TRUE(t, r.ready);
	KEXPECT_FALSE(t, r.faulted_in_error);
	uint64_t switches = event_cpu(cpu, EV_CONTEXT_SWITCH);
	/* Pause the zap before its flush (under the page-table lock, all
	 * CEIL_PAGES PTEs cleared) until the reader has made one pass. */
	pause_points[PAUSE_TLB_FLUSH].resumed_ns = 0;
	pause_arm_until(PAUSE_TLB_FLUSH, mm, &r.window_passes, 5000);
	KEXPECT_EQ(t, vm_madvise(mm, a, CEIL_PAGES * PAGE_SIZE, MADV_DONTNEED), 0);
	pause_release(PAUSE_TLB_FLUSH);
	r.mark = 1; /* the flush is done: no page may be readable any more */
	dl = ktime_get_ns() + 5000000000ull;
	while (smp_load_acquire(&r.after_mark) != 1 && ktime_get_ns() < dl)
		sleep_ms(1);
	bool passed_after = r.after_mark == 1;
	uint64_t after = r.after_mask, window = r.window_mask;
	bool windowed = r.window_passes > 0;
	bool undisturbed = event_cpu(cpu, EV_CONTEXT_SWITCH) == switches;
	r.stop = true;
	wait_for_completion(&r.done);
	KEXPECT_TRUE(t, passed_after);
	uint64_t beyond = ~0ull << tlb_single_page_flush_ceiling;
	ktest_log(t, "CPU %d: pages readable while the flush waited %#lx, after it %#lx%s", cpu,
		  window, after, undisturbed ? "" : " (it switched meanwhile)");
	if (after) {
		ktest_fail(t, __FILE__, __LINE__,
			   "after MADV_DONTNEED of %d pages, CPU %d still reads pages %#lx "
			   "through stale TLB entries (ceiling %u)",
			   CEIL_PAGES, cpu, after, tlb_single_page_flush_ceiling);
		return CEIL_RAN;
	}
	/* Conclusive only if the stale entries beyond the ceiling were there
	 * when the flush came, and the reader's CPU ran it throughout (a CPU
	 * that switched was lazy or reloaded CR3: rightly flushed otherwise). */
	if (!windowed || !(window & beyond) || !undisturbed)
		return CEIL_INCONCLUSIVE;
	return CEIL_RAN;
}

static void flush_beyond_ceiling_reaches_every_page(struct ktest *t)
{
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs");
	BUILD_BUG_ON(CEIL_PAGES > 64);
	if (tlb_single_page_flush_ceiling >= CEIL_PAGES)
		KTEST_SKIP(t, "ceiling too high for this test");
	sched_migrate(cpu_id());
	struct mm *mm = mm_alloc();
	KASSERT_NOT_NULL(t, mm);
	int64_t a = map_big_region(mm, CEIL_PAGES * PAGE_SIZE);
	KASSERT_EQ(t, a, BIG_REGION);
	int cpu = ktest_other_cpu(cpu_id(), 1);
	enum ceil_result res = CEIL_INCONCLUSIVE;
	for (int try = 1; try <= 3 && res == CEIL_INCONCLUSIVE && !t->failures; try++) {
		res = ceil_try(t, mm, a, cpu);
		if (res == CEIL_INCONCLUSIVE)
			ktest_log(t, "try %d: no stale entry beyond the ceiling reached the flush",
				  try);
	}
	mmput(mm);
	if (res == CEIL_INCONCLUSIVE && !t->failures)
		KTEST_SKIP(t, "inconclusive: no stale TLB entry beyond the ceiling survived "
			      "until the flush in 3 tries");
}

/* ---- R8 ------------------------------------------------------------------ */

struct sleeper {
	struct mm *mm;
	uint64_t addr;
	volatile bool touched;
	struct completion go, done;
};

static void sleeper_fn(void *arg)
{
	struct sleeper *s = arg;
	use_mm(s->mm);
	uint64_t v;
	get_user_u64(&v, s->addr);
	s->touched = true;
	wait_for_completion(&s->go); /* our CPU runs its idle thread: lazy */
	unuse_mm(s->mm);
	complete(&s->done);
}

static void lazy_cpu(struct ktest *t)
{
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs");
	sched_migrate(cpu_id());
	struct mm *mm = new_mm_in_use(t);
	KASSERT_NOT_NULL(t, mm);
	int64_t a = map_big_region(mm, 4 * PAGE_SIZE);
	KASSERT_EQ(t, a, BIG_REGION);
	KASSERT_EQ(t, put_user_u64(a, 1), 0);
	KASSERT_EQ(t, put_user_u64(a + PAGE_SIZE, 2), 0);
	static struct sleeper s;
	s = (struct sleeper){ .mm = mm, .addr = a };
	init_completion(&s.go);
	init_completion(&s.done);
	int lazy = ktest_other_cpu(cpu_id(), 1);
	thread_create("sleeper", sleeper_fn, &s, lazy);
	while (!s.touched || !cpu_is_lazy(lazy))
		sleep_ms(1);
	KEXPECT_EQ(t, loaded_mm(lazy), mm);

	uint64_t recv = event_cpu(lazy, EV_TLB_IPI_RECEIVED),
		 skipped = event_sum(EV_TLB_LAZY_SKIPPED);
	KEXPECT_EQ(t, vm_madvise(mm, a, PAGE_SIZE, MADV_DONTNEED), 0); /* a PTE change */
	KEXPECT_EQ(t, event_cpu(lazy, EV_TLB_IPI_RECEIVED) - recv, 0);
	KEXPECT_GE(t, event_sum(EV_TLB_LAZY_SKIPPED) - skipped, 1);
	KEXPECT_EQ(t, loaded_mm(lazy), mm);

	KEXPECT_EQ(t, vm_munmap(mm, a, 4 * PAGE_SIZE), 0); /* frees the page tables */
	KEXPECT_EQ(t, event_cpu(lazy, EV_TLB_IPI_RECEIVED) - recv, 1);
	KEXPECT_EQ(t, loaded_mm(lazy), &init_mm); /* it left the mm */
	KEXPECT_FALSE(t, cpumask_test(&mm->cpumask, lazy));
	complete(&s.go);
	wait_for_completion(&s.done);
	drop_mm(mm);
}

/*
 * R8, coming back: a CPU that kept the mm loaded under a kernel thread was
 * skipped by the flush of a PTE change (it was lazy) and still caches the
 * old translation; when a thread of the mm runs there again, the switch
 * compares the slot's generation with tlb_gen and flushes. The resumed
 * thread reads with interrupts off, so a missing translation fails at once
 * (-EFAULT) and a successful read can only be the stale entry. A probe on
 * the lazy CPU first checks that the stale entry is really there (else the
 * try proves nothing: inconclusive).
 */
#define RESUME_MAGIC 0x5e1f5e1f0000a5a5ull

struct resumer {
	struct mm *mm;
	uint64_t addr;
	volatile bool cached;
	volatile int err;
	volatile uint64_t val;
	struct completion go, done;
};

static void resumer_fn(void *arg)
{
	struct resumer *r = arg;
	use_mm(r->mm);
	uint64_t v = 0;
	if (put_user_u64(r->addr, RESUME_MAGIC) == 0 && get_user_u64(&v, r->addr) == 0)
		r->cached = v == RESUME_MAGIC; /* the TLB holds a->page */
	wait_for_completion(&r->go);	       /* our CPU runs a kernel thread: lazy */
	unsigned long f = local_irq_save();
	r->err = get_user_u64(&v, r->addr);
	local_irq_restore(f);
	r->val = v;
	unuse_mm(r->mm);
	complete(&r->done);
}

struct probe {
	uint64_t addr, val;
	int err;
	struct completion done;
};

/* A kernel thread on the lazy CPU (which stays lazy: no mm switch): is the
 * stale translation still in its TLB? A raw read, not get_user (which
 * refuses a thread without an mm). */
static void probe_fn(void *arg)
{
	struct probe *p = arg;
	unsigned long f = local_irq_save();
	p->err = __get_user_8(p->addr, &p->val);
	local_irq_restore(f);
	complete(&p->done);
}

enum { RESUME_RAN, RESUME_INCONCLUSIVE };

static int lazy_resume_once(struct ktest *t, int lazy)
{
	struct mm *mm = mm_alloc();
	int64_t a = mm ? map_big_region(mm, 4 * PAGE_SIZE) : -ENOMEM;
	if (a != (int64_t)BIG_REGION) {
		ktest_fail(t, __FILE__, __LINE__, "cannot set up the mm (%ld)", a);
		if (mm)
			mmput(mm);
		return RESUME_RAN;
	}
	static struct resumer r;
	static struct probe p;
	r = (struct resumer){ .mm = mm, .addr = (uint64_t)a };
	p = (struct probe){ .addr = (uint64_t)a };
	init_completion(&r.go);
	init_completion(&r.done);
	init_completion(&p.done);
	thread_create("resumer", resumer_fn, &r, lazy);
	uint64_t dl = ktime_get_ns() + 5000000000ull;
	while ((!r.cached || !cpu_is_lazy(lazy)) && ktime_get_ns() < dl)
		sleep_ms(1);
	KEXPECT_TRUE(t, r.cached);
	KEXPECT_TRUE(t, cpu_is_lazy(lazy));
	KEXPECT_EQ(t, loaded_mm(lazy), mm);

	uint64_t recv = event_cpu(lazy, EV_TLB_IPI_RECEIVED);
	KEXPECT_EQ(t, vm_madvise(mm, a, PAGE_SIZE, MADV_DONTNEED), 0); /* the page is freed */
	bool skipped = event_cpu(lazy, EV_TLB_IPI_RECEIVED) == recv && cpu_is_lazy(lazy) &&
		       loaded_mm(lazy) == mm;
	thread_create("probe", probe_fn, &p, lazy);
	wait_for_completion(&p.done);
	bool stale = p.err == 0 && skipped;

	complete(&r.go); /* the mm's thread runs on that CPU again */
	wait_for_completion(&r.done);
	ktest_log(t, "CPU %d: lazy CPU %s the flush, probe %s, resumed thread %s %#lx", lazy,
		  skipped ? "skipped by" : "reached by",
		  p.err ? "found no entry" : "read through the stale entry",
		  r.err ? "got -EFAULT, not" : "read", r.err ? (uint64_t)RESUME_MAGIC : r.val);
	if (r.err == 0)
		ktest_fail(t, __FILE__, __LINE__,
			   "a thread resumed on lazy CPU %d read %#lx through a translation "
			   "MADV_DONTNEED had removed while the CPU was lazy",
			   lazy, r.val);
	else
		KEXPECT_EQ(t, r.err, -EFAULT);
	mmput(mm);
	return r.err == 0 || stale ? RESUME_RAN : RESUME_INCONCLUSIVE;
}

static void lazy_resume_sees_zap(struct ktest *t)
{
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs");
	sched_migrate(cpu_id());
	int lazy = ktest_other_cpu(cpu_id(), 1);
	for (int try = 1; try <= 3 && !t->failures; try++) {
		if (lazy_resume_once(t, lazy) == RESUME_RAN)
			return;
		ktest_log(t, "try %d: the lazy CPU had no stale entry left to resume with", try);
	}
	if (!t->failures)
		KTEST_SKIP(t, "inconclusive: the lazy CPU never kept the stale entry in 3 tries");
}

/* ---- the PML4's lifetime: mm_count ------------------------------------------- */

/* The PML4 page still is mm's: allocated, a page table, the kernel half in
 * place (a freed page is poisoned, a reused one is something else). */
static bool pml4_intact(struct page *pg, const pte_t *pgd)
{
	return page_count(pg) == 1 && (pg->flags & PG_pagetable) &&
	       !memcmp(pgd + 256, init_mm.pgd + 256, 256 * sizeof(pte_t));
}

struct switcher {
	struct mm *from, *to;
	struct completion done;
};

/* Run in `from`, go lazy, then switch to `to`: the switch pauses after
 * leaving from's cpumask, before the CR3 write. */
static void switcher_fn(void *arg)
{
	struct switcher *s = arg;
	use_mm(s->from);
	uint64_t v;
	get_user_u64(&v, BIG_REGION);
	unuse_mm(s->from); /* lazy on from; its mm_users back to the test's one */
	use_mm(s->to);
	unuse_mm(s->to);
	complete(&s->done);
}

/*
 * A CPU switching from mm A to mm B has left A's cpumask but still has A's
 * PML4 in CR3 until it writes B's. Meanwhile another CPU drops A's last
 * user: exit_mmap's flush and the lazy shoot-down reach no CPU (A's cpumask
 * is empty), so only the switching CPU's mm_count reference keeps A's PML4
 * (and struct mm) from being freed, poisoned and reused under its CR3. The
 * PML4 must outlive the last mmput and be freed by the switching CPU once
 * it has loaded B's. MUTATION_MM_NO_MMGRAB frees it in mmput.
 */
static void pml4_kept_for_switching_cpu(struct ktest *t)
{
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs");
	sched_migrate(cpu_id());
	int threads = sched_thread_count();
	uint64_t before = ktest_free_pages();
	struct mm *a = mm_alloc(), *b = mm_alloc();
	KASSERT_NOT_NULL(t, a);
	KASSERT_NOT_NULL(t, b);
	KASSERT_EQ(t, map_big_region(a, PAGE_SIZE), BIG_REGION); /* page tables too */
	pte_t *pgd = a->pgd;
	struct page *pg = virt_to_page(pgd);
	static struct switcher s;
	s = (struct switcher){ .from = a, .to = b };
	init_completion(&s.done);
	int cpu = ktest_other_cpu(cpu_id(), 1);
	pause_points[PAUSE_SWITCH_MM].resumed_ns = 0;
	pause_arm_until(PAUSE_SWITCH_MM, a, NULL, 10000); /* bounded: resumes by itself */
	thread_create("switcher", switcher_fn, &s, cpu);
	KEXPECT_TRUE(t, pause_wait_reached(PAUSE_SWITCH_MM, 10000));
	KEXPECT_EQ(t, pause_points[PAUSE_SWITCH_MM].reached_cpu, cpu);
	KEXPECT_FALSE(t, cpumask_test(&a->cpumask, cpu)); /* out of reach of A's IPIs */
	KEXPECT_EQ(t, loaded_mm(cpu), a);
	KEXPECT_EQ(t, atomic_read(&a->mm_users), 1);

	mmput(a); /* the last user: tears A down */
	bool intact = pml4_intact(pg, pgd);
	int count = intact ? atomic_read(&a->mm_count) : -1;
	bool still_loaded = loaded_mm(cpu) == a && !pause_points[PAUSE_SWITCH_MM].resumed_ns;
	pause_release(PAUSE_SWITCH_MM);
	wait_for_completion(&s.done);
	KEXPECT_TRUE(t, still_loaded); /* the checks above ran inside the window */
	if (!intact)
		ktest_fail(t, __FILE__, __LINE__,
			   "the last mmput freed the PML4 (pfn %#lx) while CPU %d, switching "
			   "away, still had it in CR3",
			   page_to_pfn(pg), cpu);
	else
		KEXPECT_EQ(t, count, 1); /* the switching CPU's reference */
	/* B: the switcher's CPU keeps it lazily; hold the struct until that
	 * CPU has left it (mmput asks, without waiting), then free it here. */
	mmgrab(b);
	mmput(b);
	uint64_t dl = ktime_get_ns() + 5000000000ull;
	while (atomic_read(&b->mm_count) > 1 && ktime_get_ns() < dl)
		sleep_ms(1);
	KEXPECT_EQ(t, atomic_read(&b->mm_count), 1);
	mmdrop(b);
	ktest_wait_threads(threads);
	KEXPECT_EQ(t, ktest_free_pages(), before); /* A's PML4 freed by the switching CPU */
}

struct lazy_holder {
	struct mm *mm;
	volatile bool ready, release;
	volatile bool left; /* once interrupts are back on */
	struct completion done;
};

/* Keep mm loaded lazily with interrupts off until released: the lazy
 * shoot-down of the last mmput waits in this CPU's queue meanwhile. */
static void lazy_holder_fn(void *arg)
{
	struct lazy_holder *h = arg;
	use_mm(h->mm);
	unuse_mm(h->mm); /* lazy; mm_users back to the test's one */
	unsigned long f = local_irq_save();
	h->ready = true;
	uint64_t dl = ktime_get_ns() + 10000000000ull;
	while (!h->release && ktime_get_ns() < dl)
		cpu_relax();
	local_irq_restore(f); /* the queued request: leave the mm */
	h->left = loaded_mm(cpu_id()) != h->mm;
	complete(&h->done);
}

/*
 * A lazy CPU keeps a dead mm's PML4 loaded: the last mmput asks it to
 * leave but does not wait (its interrupts are off here, as they may be
 * for long), so the PML4 must outlive the mmput, held by the lazy CPU's
 * mm_count reference, and be freed when that CPU leaves. (The mm has no
 * page tables: exit_mmap sends no flush, which the lazy CPU would have to
 * acknowledge.) MUTATION_MM_NO_MMGRAB frees it under the lazy CPU.
 */
static void pml4_kept_for_lazy_cpu(struct ktest *t)
{
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs");
	sched_migrate(cpu_id());
	int threads = sched_thread_count();
	uint64_t before = ktest_free_pages();
	struct mm *mm = mm_alloc();
	KASSERT_NOT_NULL(t, mm);
	pte_t *pgd = mm->pgd;
	struct page *pg = virt_to_page(pgd);
	static struct lazy_holder h;
	h = (struct lazy_holder){ .mm = mm };
	init_completion(&h.done);
	int cpu = ktest_other_cpu(cpu_id(), 1);
	thread_create("lazy-holder", lazy_holder_fn, &h, cpu);
	uint64_t dl = ktime_get_ns() + 5000000000ull;
	while (!h.ready && ktime_get_ns() < dl)
		sleep_ms(1);
	bool ready = h.ready && loaded_mm(cpu) == mm && cpu_is_lazy(cpu);
	if (ready)
		mmput(mm); /* the last user, while the lazy CPU cannot take the IPI */
	bool intact = pml4_intact(pg, pgd);
	int count = intact ? atomic_read(&mm->mm_count) : -1;
	bool still_loaded = loaded_mm(cpu) == mm && !h.release;
	h.release = true;
	wait_for_completion(&h.done);
	if (!ready) {
		ktest_fail(t, __FILE__, __LINE__, "CPU %d did not keep the mm lazily", cpu);
		mmput(mm);
		return;
	}
	KEXPECT_TRUE(t, still_loaded);
	if (!intact)
		ktest_fail(t, __FILE__, __LINE__,
			   "the last mmput freed the PML4 (pfn %#lx) while lazy CPU %d still "
			   "had it loaded",
			   page_to_pfn(pg), cpu);
	else
		KEXPECT_EQ(t, count, 1); /* the lazy CPU's reference */
	KEXPECT_TRUE(t, h.left);	 /* it left once it took the request */
	ktest_wait_threads(threads);
	KEXPECT_EQ(t, ktest_free_pages(), before); /* and freed the PML4 */
}

/* ---- R5 ------------------------------------------------------------------ */

struct walker {
	struct mm *mm;
	uint64_t addr;
	const volatile uint64_t *unmapper_ipis; /* TLB IPIs sent by the unmapper's CPU */
	volatile bool walking, freed_during_walk, table_dead_during_walk;
	struct completion done;
};

/* Walk like GUP-fast: interrupts off, read each level once, hold on to the
 * page table, and see whether it is freed before interrupts come back on. */
static void walker_fn(void *arg)
{
	struct walker *w = arg;
	use_mm(w->mm);
	unsigned long f = local_irq_save();
	pte_t *pte = walk_pte(w->mm, w->addr);
	struct page *pt = pte ? virt_to_page((void *)ALIGN_DOWN((uint64_t)pte, PAGE_SIZE)) : NULL;
	uint64_t ipis = *w->unmapper_ipis;
	w->walking = true;
	/* Stay in the walk until munmap's shootdown starts (then the IPI waits
	 * for us) or, if it sends none, until it is about to free the tables;
	 * bounded, however slowly the unmapper gets scheduled. */
	uint64_t deadline = ktime_get_ns() + 5000000000ull;
	while (ktime_get_ns() < deadline && *w->unmapper_ipis == ipis &&
	       !READ_ONCE(pause_points[PAUSE_TLB_FREE_TABLES].reached))
		cpu_relax();
	w->freed_during_walk = READ_ONCE(pause_points[PAUSE_TLB_FREE_TABLES].reached);
	w->table_dead_during_walk = !pt || page_count(pt) == 0;
	local_irq_restore(f);
	unuse_mm(w->mm);
	complete(&w->done);
}

static void table_free_waits_for_irq_off_walker(struct ktest *t)
{
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs");
	sched_migrate(cpu_id());
	struct mm *mm = new_mm_in_use(t);
	KASSERT_NOT_NULL(t, mm);
	int64_t a = map_big_region(mm, 4 * PAGE_SIZE);
	KASSERT_EQ(t, a, BIG_REGION);
	KASSERT_EQ(t, put_user_u64(a, 1), 0);
	/* Empty the PTEs first: the munmap below then only frees tables. */
	KASSERT_EQ(t, vm_madvise(mm, a, 4 * PAGE_SIZE, MADV_DONTNEED), 0);
	KASSERT_NOT_NULL(t, walk_pte(mm, a));

	static struct walker w;
	static struct unmapper u;
	w = (struct walker){
		.mm = mm,
		.addr = a,
		.unmapper_ipis = (const volatile uint64_t *)&cpus[cpu_id()].events[EV_TLB_IPI_SENT]
	};
	u = (struct unmapper){ .mm = mm, .addr = a, .len = 4 * PAGE_SIZE };
	init_completion(&w.done);
	init_completion(&u.done);
	pause_arm(PAUSE_TLB_FREE_TABLES, mm);
	thread_create("walker", walker_fn, &w, ktest_other_cpu(cpu_id(), 1));
	while (!w.walking)
		sleep_ms(1);
	/* munmap unhooks the tables, flushes (its IPI must wait for the
	 * walker) and pauses just before freeing them. */
	thread_create("unmapper", unmapper_fn, &u, cpu_id());
	wait_for_completion(&w.done);
	KEXPECT_TRUE(t, pause_wait_reached(PAUSE_TLB_FREE_TABLES, 10000));
	pause_release(PAUSE_TLB_FREE_TABLES);
	wait_for_completion(&u.done);
	KEXPECT_FALSE(t, w.freed_during_walk);
	KEXPECT_FALSE(t, w.table_dead_during_walk);
	KEXPECT_EQ(t, walk_pte(mm, a), NULL);
	drop_mm(mm);
}

/* ---- R7 (needs PCID) ------------------------------------------------------ */

static void pcid_resume_without_flush(struct ktest *t)
{
	if (!boot_cpu_features.pcid)
		KTEST_SKIP(t, "CPU has no PCID (QEMU TCG has none; see the host model test)");
	sched_migrate(cpu_id());
	struct mm *a = mm_alloc(), *b = mm_alloc();
	KASSERT_NOT_NULL(t, a);
	KASSERT_NOT_NULL(t, b);
	use_mm(a);
	unuse_mm(a);
	use_mm(b);
	unuse_mm(b);
	uint64_t noflush = event_cpu(cpu_id(), EV_MM_SWITCH_NOFLUSH);
	use_mm(a); /* a's ASID slot is current: no flush needed */
	KEXPECT_EQ(t, event_cpu(cpu_id(), EV_MM_SWITCH_NOFLUSH) - noflush, 1);
	unuse_mm(a);
	mmput(a);
	mmput(b);
}

KTEST_SUITE(tlb, KTEST_CASE(toucher_faults_after_munmap), KTEST_CASE(munmap_512_pages_one_round),
	    KTEST_CASE(flush_ceiling), KTEST_CASE(flush_beyond_ceiling_reaches_every_page),
	    KTEST_CASE(lazy_cpu), KTEST_CASE(lazy_resume_sees_zap),
	    KTEST_CASE(pml4_kept_for_switching_cpu), KTEST_CASE(pml4_kept_for_lazy_cpu),
	    KTEST_CASE(table_free_waits_for_irq_off_walker), KTEST_CASE(pcid_resume_without_flush));
