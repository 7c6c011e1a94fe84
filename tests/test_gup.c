/*
 * tests/test_gup.c - get_user_pages and pin_user_pages, slow and fast (R4, R5).
 *
 *   basics: references and pins counted right, unpin restores, FOLL_WRITE
 *       breaks COW first, the fast path hits on present pages, bad ranges fail.
 *   gup_fast_vs_zap: GUP-fast paused after taking its reference and before
 *       the PTE re-check while another CPU zaps the PTE: it must drop the
 *       reference and fall back, returning the page mapped now (kills
 *       NO_PTE_RECHECK).
 *   pin_during_fork: fork paused half-way through write-protecting the
 *       parent while another CPU pins the range: the pins back off to the
 *       slow path; DMA through them is seen by the parent only.
 *   fast_pin_vs_fork_wrprotect (seed 003, the write_protect_seq): a fast pin
 *       samples the count before fork begins and is paused in its walk; fork
 *       then decides the page is not pinned and is paused before it
 *       write-protects it; the pin takes the still-writable page. Its re-check
 *       of the count must drop that pin and go the slow way, which waits for
 *       fork and pins the parent's own copy: DMA through it reaches the
 *       parent only (kills GUP_FAST_NO_SEQ_RETRY).
 *   gup_fast_never_walks_freed_table: GUP-fast paused inside its IRQs-off
 *       walk while another CPU unmaps the whole range: munmap cannot free
 *       the table (cannot even return) before the walk ends.
 *   random_stress: CPUs fork, write, pin, DMA, unpin, unmap, remap and exit
 *       at random for a bounded time; every page matches a per-process model,
 *       no pin leaks, every page comes back.
 */
#include "tests/ktest_mm.h"
#include "mm/gup.h"
#include "kernel/stats.h"
#include "kernel/pause.h"
#include "kernel/string.h"
#include "drivers/dma_engine.h"

struct gup_call {
	uint64_t addr;
	unsigned long nr;
	unsigned flags;
	bool pin, fast;
	struct page *pages[16];
	long got;
	volatile bool started;
};

static void do_gup(void *p)
{
	struct gup_call *g = p;
	g->started = true;
	if (g->fast)
		g->got = g->pin ? pin_user_pages_fast(g->addr, g->nr, g->flags, g->pages)
				: get_user_pages_fast(g->addr, g->nr, g->flags, g->pages);
	else
		g->got = g->pin ? pin_user_pages(current->mm, g->addr, g->nr, g->flags, g->pages)
				: get_user_pages(current->mm, g->addr, g->nr, g->flags, g->pages);
}

static struct page *mapped_page(struct mm *mm, uint64_t addr)
{
	pte_t *p = walk_pte(mm, addr);
	return p && pte_present(*p) ? phys_to_page(pte_phys(*p)) : NULL;
}

static void basics(struct ktest *t)
{
	struct mm *mm = mm_alloc();
	KASSERT_NOT_NULL(t, mm);
	uint64_t a = ktest_mmap(mm, 4 * PAGE_SIZE);
	struct gup_call g = { .addr = a, .nr = 4 };
	ktest_run_in_mm(mm, CPU_ANY, do_gup, &g); /* slow path faults them in */
	KASSERT_EQ(t, g.got, 4);
	for (int i = 0; i < 4; i++) {
		KEXPECT_EQ(t, g.pages[i], mapped_page(mm, a + i * PAGE_SIZE));
		KEXPECT_EQ(t, page_count(g.pages[i]), 2);
		put_page(g.pages[i]);
	}
	uint64_t hits = event_sum(EV_GUP_FAST_PAGES), pins = pinned_pages_outstanding();
	g = (struct gup_call){ .addr = a, .nr = 4, .fast = true, .pin = true, .flags = FOLL_WRITE };
	ktest_run_in_mm(mm, CPU_ANY, do_gup, &g);
	KASSERT_EQ(t, g.got, 4);
	KEXPECT_EQ(t, event_sum(EV_GUP_FAST_PAGES) - hits, 4);
	KEXPECT_EQ(t, pinned_pages_outstanding() - pins, 4);
	for (int i = 0; i < 4; i++)
		KEXPECT_EQ(t, page_count(g.pages[i]), 1 + GUP_PIN_COUNTING_BIAS);
	KEXPECT_TRUE(t, page_maybe_dma_pinned(g.pages[0]));
	unpin_user_pages_dirty(g.pages, 4, true);
	KEXPECT_EQ(t, page_count(g.pages[0]), 1);
	KEXPECT_TRUE(t, g.pages[0]->flags & PG_dirty);
	KEXPECT_EQ(t, pinned_pages_outstanding(), pins);

	/* FOLL_WRITE on a page shared by fork breaks COW first */
	int err;
	struct mm *child = dup_mm(mm, &err);
	KASSERT_NOT_NULL(t, child);
	struct page *shared = mapped_page(mm, a);
	KEXPECT_EQ(t, shared, mapped_page(child, a));
	g = (struct gup_call){ .addr = a, .nr = 1, .fast = true, .flags = FOLL_WRITE };
	ktest_run_in_mm(mm, CPU_ANY, do_gup, &g);
	KASSERT_EQ(t, g.got, 1);
	KEXPECT_NE(t, g.pages[0], shared);
	KEXPECT_EQ(t, g.pages[0], mapped_page(mm, a));
	put_page(g.pages[0]);

	/* bad ranges fail cleanly */
	g = (struct gup_call){ .addr = a + 100, .nr = 1, .fast = true };
	ktest_run_in_mm(mm, CPU_ANY, do_gup, &g);
	KEXPECT_EQ(t, g.got, -EFAULT);
	g = (struct gup_call){ .addr = 0x1000, .nr = 1, .fast = true };
	ktest_run_in_mm(mm, CPU_ANY, do_gup, &g);
	KEXPECT_EQ(t, g.got, -EFAULT);
	mmput(child);
	mmput(mm);
}

struct async_gup {
	struct gup_call g;
	struct mm *mm;
	struct completion done;
};

static void async_gup_fn(void *p)
{
	struct async_gup *a = p;
	ktest_run_in_mm(a->mm, cpu_id(), do_gup, &a->g);
	complete(&a->done);
}

static void start_async_gup(struct async_gup *a, int cpu)
{
	init_completion(&a->done);
	thread_create("gup", async_gup_fn, a, cpu);
}

static void gup_fast_vs_zap(struct ktest *t)
{
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs");
	sched_migrate(cpu_id());
	struct mm *mm = mm_alloc();
	KASSERT_NOT_NULL(t, mm);
	uint64_t a = ktest_mmap(mm, PAGE_SIZE);
	KASSERT_EQ(t, ktest_poke(mm, CPU_ANY, a, 42), 0);
	struct page *old = mapped_page(mm, a);
	/* Pause GUP-fast with its reference taken until the PTE changes. */
	pause_arm_until(PAUSE_GUP_FAST_REF, mm, walk_pte(mm, a), 5000);
	static struct async_gup g;
	g = (struct async_gup){ .mm = mm, .g = { .addr = a, .nr = 1, .fast = true } };
	start_async_gup(&g, ktest_other_cpu(cpu_id(), 1));
	KASSERT_TRUE(t, pause_wait_reached(PAUSE_GUP_FAST_REF, 10000));
	use_mm(mm);
	KEXPECT_EQ(t, vm_madvise(mm, a, PAGE_SIZE, MADV_DONTNEED), 0); /* zap */
	unuse_mm(mm);
	wait_for_completion(&g.done);
	KASSERT_EQ(t, g.g.got, 1);
	/* The page GUP returns must be the one mapped now, not the zapped one. */
	KEXPECT_EQ(t, g.g.pages[0], mapped_page(mm, a));
	if (g.g.pages[0] == old)
		KEXPECT_NE(t, mapped_page(mm, a), NULL);
	put_page(g.g.pages[0]);
	mmput(mm);
}

struct forker {
	struct mm *parent, *child;
	struct completion done;
};

static void forker_fn(void *p)
{
	struct forker *f = p;
	int err;
	f->child = dup_mm(f->parent, &err);
	complete(&f->done);
}

static void pin_during_fork(struct ktest *t)
{
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs");
	sched_migrate(cpu_id());
	enum { N = 8 };
	struct mm *parent = mm_alloc();
	KASSERT_NOT_NULL(t, parent);
	uint64_t a = ktest_mmap(parent, N * PAGE_SIZE), v;
	for (int i = 0; i < N; i++)
		ktest_poke(parent, CPU_ANY, a + i * PAGE_SIZE, 0x100 + i);
	static struct forker f;
	f = (struct forker){ .parent = parent };
	init_completion(&f.done);
	pause_arm_after(PAUSE_FORK_COPY, parent, N / 2 - 1); /* after half the PTEs */
	thread_create("forker", forker_fn, &f, ktest_other_cpu(cpu_id(), 1));
	KASSERT_TRUE(t, pause_wait_reached(PAUSE_FORK_COPY, 10000));
	static struct async_gup g;
	g = (struct async_gup){
		.mm = parent,
		.g = { .addr = a, .nr = N, .fast = true, .pin = true, .flags = FOLL_WRITE }
	};
	uint64_t fallbacks = event_sum(EV_GUP_FAST_FALLBACK);
	start_async_gup(&g, cpu_id());
	while (!g.g.started)
		sleep_ms(1);
	sleep_ms(20);
	KEXPECT_FALSE(t, g.done.done); /* it waits for fork */
	pause_release(PAUSE_FORK_COPY);
	wait_for_completion(&f.done);
	wait_for_completion(&g.done);
	KASSERT_NOT_NULL(t, f.child);
	KASSERT_EQ(t, g.g.got, N);
	KEXPECT_GE(t, event_sum(EV_GUP_FAST_FALLBACK) - fallbacks, 1);
	for (int i = 0; i < N; i++)
		KEXPECT_EQ(t, g.g.pages[i], mapped_page(parent, a + i * PAGE_SIZE));
	static struct dma_request dma;
	dma = (struct dma_request){
		.pages = g.g.pages, .nr = N, .offset = 16, .value = 0xd0a, .unpin = true
	};
	dma_submit(&dma);
	wait_for_completion(&dma.done);
	for (int i = 0; i < N; i++) {
		KEXPECT_EQ(t, ktest_peek(parent, CPU_ANY, a + i * PAGE_SIZE + 16, &v), 0);
		KEXPECT_EQ(t, v, 0xd0a);
		KEXPECT_EQ(t, ktest_peek(f.child, CPU_ANY, a + i * PAGE_SIZE + 16, &v), 0);
		KEXPECT_EQ(t, v, 0);
		KEXPECT_EQ(t, ktest_peek(f.child, CPU_ANY, a + i * PAGE_SIZE, &v), 0);
		KEXPECT_EQ(t, v, 0x100 + i);
	}
	mmput(f.child);
	mmput(parent);
}

static void fast_pin_vs_fork_wrprotect(struct ktest *t)
{
	if (nr_cpus_online < 3)
		KTEST_SKIP(t, "needs 3 CPUs");
	sched_migrate(cpu_id());
	struct mm *parent = mm_alloc();
	KASSERT_NOT_NULL(t, parent);
	uint64_t a = ktest_mmap(parent, PAGE_SIZE), v;
	KASSERT_EQ(t, ktest_poke(parent, CPU_ANY, a, 0x100), 0);
	struct page *orig = mapped_page(parent, a);
	/* 1. The pin samples write_protect_seq (even) and pauses, IRQs off. */
	static struct async_gup g;
	g = (struct async_gup){
		.mm = parent,
		.g = { .addr = a, .nr = 1, .fast = true, .pin = true, .flags = FOLL_WRITE }
	};
	pause_arm(PAUSE_GUP_FAST_WALK, parent);
	start_async_gup(&g, ktest_other_cpu(cpu_id(), 1));
	KASSERT_TRUE(t, pause_wait_reached(PAUSE_GUP_FAST_WALK, 10000));
	/* 2. Fork finds the page unpinned and pauses before write-protecting. */
	static struct forker f;
	f = (struct forker){ .parent = parent };
	init_completion(&f.done);
	pause_arm(PAUSE_FORK_WRPROTECT, parent);
	thread_create("forker", forker_fn, &f, ktest_other_cpu(cpu_id(), 2));
	KASSERT_TRUE(t, pause_wait_reached(PAUSE_FORK_WRPROTECT, 10000));
	/* 3. The pin takes the writable page, then must notice fork. */
	uint64_t fallbacks = event_sum(EV_GUP_FAST_FALLBACK);
	pause_release(PAUSE_GUP_FAST_WALK);
	sleep_ms(20);
	pause_release(PAUSE_FORK_WRPROTECT);
	wait_for_completion(&f.done);
	wait_for_completion(&g.done);
	KASSERT_NOT_NULL(t, f.child);
	KASSERT_EQ(t, g.g.got, 1);
	KEXPECT_GE(t, event_sum(EV_GUP_FAST_FALLBACK) - fallbacks, 1);
	/* The parent writes again: its page must still be the pinned one. */
	KEXPECT_EQ(t, ktest_poke(parent, CPU_ANY, a + 8, 0x9a7e), 0);
	KEXPECT_EQ(t, g.g.pages[0], mapped_page(parent, a));
	KEXPECT_NE(t, g.g.pages[0], mapped_page(f.child, a));
	KEXPECT_EQ(t, mapped_page(f.child, a), orig);
	static struct dma_request dma;
	dma = (struct dma_request){
		.pages = g.g.pages, .nr = 1, .offset = 16, .value = 0xd0a, .unpin = true
	};
	dma_submit(&dma);
	wait_for_completion(&dma.done);
	KEXPECT_EQ(t, ktest_peek(parent, CPU_ANY, a + 16, &v), 0);
	KEXPECT_EQ(t, v, 0xd0a);
	KEXPECT_EQ(t, ktest_peek(f.child, CPU_ANY, a + 16, &v), 0);
	KEXPECT_EQ(t, v, 0);
	KEXPECT_EQ(t, ktest_peek(f.child, CPU_ANY, a, &v), 0);
	KEXPECT_EQ(t, v, 0x100);
	mmput(f.child);
	mmput(parent);
}

static void gup_fast_never_walks_freed_table(struct ktest *t)
{
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs");
	sched_migrate(cpu_id());
	struct mm *mm = mm_alloc();
	KASSERT_NOT_NULL(t, mm);
	uint64_t a = ktest_mmap(mm, 4 * PAGE_SIZE);
	KASSERT_EQ(t, ktest_poke(mm, CPU_ANY, a, 1), 0);
	KASSERT_EQ(t, vm_madvise(mm, a, 4 * PAGE_SIZE, MADV_DONTNEED), 0); /* only tables left */
	uint64_t freed = event_sum(EV_PT_PAGES_FREED);
	/* GUP-fast stops inside its IRQs-off walk until this CPU starts the
	 * shootdown of the table free (its count of TLB IPIs sent moves), so
	 * munmap comes during the walk however slowly this thread is scheduled;
	 * 5 s at most (with the NO_IPI_ON_PT_FREE bug no IPI ever comes). */
	pause_arm_until(PAUSE_GUP_FAST_WALK, mm,
			(const volatile uint64_t *)&cpus[cpu_id()].events[EV_TLB_IPI_SENT], 5000);
	static struct async_gup g;
	g = (struct async_gup){ .mm = mm, .g = { .addr = a, .nr = 1, .fast = true } };
	start_async_gup(&g, ktest_other_cpu(cpu_id(), 1));
	KASSERT_TRUE(t, pause_wait_reached(PAUSE_GUP_FAST_WALK, 10000));
	KEXPECT_EQ(t, vm_munmap(mm, a, 4 * PAGE_SIZE), 0);
	uint64_t returned = ktime_get_ns();
	wait_for_completion(&g.done);
	KEXPECT_GT(t, event_sum(EV_PT_PAGES_FREED) - freed, 0);
	/* munmap could not free the tables, nor return, while the walk ran. */
	KEXPECT_GT(t, returned, pause_points[PAUSE_GUP_FAST_WALK].resumed_ns);
	KEXPECT_EQ(t, g.g.got, -EFAULT); /* and then the range was gone */
	mmput(mm);
}

/* ---- randomized stress ------------------------------------------------- */

enum { SP_PAGES = 16, SP_PROCS = 3, UNMAPPED = ~0ull };

struct sproc {
	struct mm *mm;
	uint64_t base;
	uint64_t model[SP_PAGES];
	struct page *pinned[SP_PAGES];
};

struct sworker {
	int id;
	uint64_t seed, ops, deadline;
	struct sproc procs[SP_PROCS];
	int nprocs;
	struct ktest *t;
	struct completion done;
};

static uint64_t rnd(struct sworker *w)
{
	w->seed ^= w->seed << 13;
	w->seed ^= w->seed >> 7;
	w->seed ^= w->seed << 17;
	return w->seed;
}

static void sp_check(struct sworker *w, struct sproc *p, int i)
{
	uint64_t v = 0;
	int r = get_user_u64(&v, p->base + i * PAGE_SIZE);
	if (p->model[i] == UNMAPPED ? r != -EFAULT : (r != 0 || v != p->model[i]))
		ktest_fail(w->t, __FILE__, __LINE__,
			   "worker %d mm %p page %d: read %d/%#lx, model %#lx", w->id,
			   (void *)p->mm, i, r, v, p->model[i]);
}

static void sp_release(struct sproc *p)
{
	for (int i = 0; i < SP_PAGES; i++)
		if (p->pinned[i])
			unpin_user_page(p->pinned[i]);
	mmput(p->mm);
}

static void sp_op(struct sworker *w, struct sproc *p)
{
	int i = rnd(w) % SP_PAGES;
	uint64_t addr = p->base + i * PAGE_SIZE, v = rnd(w);
	switch (rnd(w) % 9) {
	case 0:
	case 1: /* write */
		if (p->model[i] != UNMAPPED && put_user_u64(addr, v) == 0)
			p->model[i] = v;
		break;
	case 2: /* read */
		sp_check(w, p, i);
		break;
	case 3: /* pin */
		if (p->model[i] != UNMAPPED && !p->pinned[i] &&
		    pin_user_pages_fast(addr, 1, FOLL_WRITE, &p->pinned[i]) != 1)
			p->pinned[i] = NULL;
		break;
	case 4: /* the device writes through the pin */
		if (p->pinned[i]) {
			*(volatile uint64_t *)page_address(p->pinned[i]) = v;
			p->model[i] = v;
		}
		break;
	case 5: /* unpin */
		if (p->pinned[i]) {
			unpin_user_page(p->pinned[i]);
			p->pinned[i] = NULL;
		}
		break;
	case 6: /* munmap (unpinned pages only: a pinned page stays mapped) */
		if (!p->pinned[i] && p->model[i] != UNMAPPED &&
		    vm_munmap(p->mm, addr, PAGE_SIZE) == 0)
			p->model[i] = UNMAPPED;
		break;
	case 7: /* remap */
		if (p->model[i] == UNMAPPED &&
		    vm_mmap(p->mm, addr, PAGE_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED) == (int64_t)addr)
			p->model[i] = 0;
		break;
	case 8: /* fork */
		if (w->nprocs < SP_PROCS) {
			int err;
			struct sproc *c = &w->procs[w->nprocs];
			c->mm = dup_mm(p->mm, &err);
			if (c->mm) {
				c->base = p->base;
				memcpy(c->model, p->model, sizeof(c->model));
				memset(c->pinned, 0, sizeof(c->pinned));
				w->nprocs++;
			}
		}
		break;
	}
}

static void stress_worker(void *arg)
{
	struct sworker *w = arg;
	struct sproc *p0 = &w->procs[0];
	p0->mm = mm_alloc();
	p0->base = ktest_mmap(p0->mm, SP_PAGES * PAGE_SIZE);
	memset(p0->model, 0, sizeof(p0->model));
	memset(p0->pinned, 0, sizeof(p0->pinned));
	w->nprocs = 1;
	while (ktime_get_ns() < w->deadline) {
		if (rnd(w) % 16 == 0)
			sched_migrate(ktest_other_cpu(cpu_id(), 1 + rnd(w) % nr_cpus_online));
		int k = rnd(w) % w->nprocs;
		struct sproc *p = &w->procs[k];
		if (k > 0 && rnd(w) % 32 == 0) { /* a child exits */
			use_mm(p->mm);
			for (int i = 0; i < SP_PAGES; i++)
				sp_check(w, p, i);
			unuse_mm(p->mm);
			sp_release(p);
			w->procs[k] = w->procs[--w->nprocs];
			continue;
		}
		use_mm(p->mm);
		for (int j = 0; j < 8; j++, w->ops++)
			sp_op(w, p);
		unuse_mm(p->mm);
	}
	for (int k = 0; k < w->nprocs; k++) {
		use_mm(w->procs[k].mm);
		for (int i = 0; i < SP_PAGES; i++)
			sp_check(w, &w->procs[k], i);
		unuse_mm(w->procs[k].mm);
		sp_release(&w->procs[k]);
	}
	complete(&w->done);
}

static void random_stress(struct ktest *t)
{
	static struct sworker w[4];
	int n = MIN(nr_cpus_online, 4);
	uint64_t pins = pinned_pages_outstanding(), before = ktest_free_pages();
	uint64_t seed = 0x51ab1e5eed ^ arch_cycles();
	ktest_log(t, "seed %#lx, %d workers", seed, n);
	int threads = sched_thread_count();
	for (int i = 0; i < n; i++) {
		w[i] = (struct sworker){ .id = i,
					 .seed = seed + i * 0x9e3779b97f4a7c15ull,
					 .t = t,
					 .deadline = ktime_get_ns() + 1500000000ull };
		init_completion(&w[i].done);
		thread_create("stress", stress_worker, &w[i], CPU_ANY);
	}
	uint64_t ops = 0;
	for (int i = 0; i < n; i++) {
		wait_for_completion(&w[i].done);
		ops += w[i].ops;
	}
	ktest_wait_threads(threads);
	ktest_log(t, "%lu operations", ops);
	KEXPECT_EQ(t, pinned_pages_outstanding(), pins);
	/* No page lost. Not "equal": in 1.5 s a page freed by something else
	 * (a thread of an earlier case reaped late) was seen once in CI; the
	 * exact count is the leaks suite's, after every case. */
	uint64_t after = ktest_free_pages();
	if (after != before)
		ktest_log(t, "free pages %lu before, %lu after", before, after);
	KEXPECT_GE(t, after, before);
}

/*
 * A get or pin that would take page_count near overflow is refused (about
 * two million pins of one page would wrap it; a later put would then free a
 * page still in use). The page's count is set near the limit by hand, each
 * path is asked, and the count is put back. A range whose size in bytes
 * wraps is refused as well. MUTATION_GUP_NO_REF_OVERFLOW_CHECK survives
 * neither.
 */
static void refcount_overflow_refused(struct ktest *t)
{
	struct mm *mm = mm_alloc();
	KASSERT_NOT_NULL(t, mm);
	uint64_t a = ktest_mmap(mm, PAGE_SIZE);
	KASSERT_EQ(t, ktest_poke(mm, CPU_ANY, a, 7), 0);
	struct page *page = mapped_page(mm, a);
	KASSERT_NOT_NULL(t, page);
	int saved = page_count(page);
	uint64_t refused = event_sum(EV_GUP_REF_LIMIT);
	static const struct gup_call calls[] = {
		{ .nr = 1, .pin = true, .fast = false, .flags = FOLL_WRITE },
		{ .nr = 1, .pin = true, .fast = true, .flags = FOLL_WRITE },
		{ .nr = 1, .pin = false, .fast = false },
		{ .nr = 1, .pin = false, .fast = true },
	};
	for (size_t i = 0; i < ARRAY_SIZE(calls); i++) {
		/* One pin short of wrapping: a pin or a get must be refused. */
		int near = INT32_MAX - GUP_PIN_COUNTING_BIAS / 2;
		atomic_set(&page->_refcount, near);
		struct gup_call g = calls[i];
		g.addr = a;
		ktest_run_in_mm(mm, CPU_ANY, do_gup, &g);
		int after = page_count(page);
		atomic_set(&page->_refcount, saved); /* before any check can return */
		KEXPECT_LE(t, g.got, 0);
		KEXPECT_EQ(t, after, near); /* nothing added */
	}
	/* each call refused at least once (a fast one again on its slow fallback) */
	KEXPECT_GE(t, event_sum(EV_GUP_REF_LIMIT) - refused, ARRAY_SIZE(calls));
	/* nr pages whose byte size wraps around to one page. */
	struct gup_call g = { .addr = a, .nr = (1ul << 52) + 1, .pin = true, .flags = FOLL_WRITE };
	ktest_run_in_mm(mm, CPU_ANY, do_gup, &g);
	KEXPECT_EQ(t, g.got, -EFAULT);
	KEXPECT_EQ(t, page_count(page), saved);
	mmput(mm);
}

KTEST_SUITE(gup, KTEST_CASE(basics), KTEST_CASE(gup_fast_vs_zap), KTEST_CASE(pin_during_fork),
	    KTEST_CASE(fast_pin_vs_fork_wrprotect), KTEST_CASE(gup_fast_never_walks_freed_table),
	    KTEST_CASE(random_stress), KTEST_CASE(refcount_overflow_refused));
