/*
 * tests/test_cow.c - fork and copy-on-write by page_count (R3, R4).
 *
 *   basic_cow_every_cpu_pair: after fork each side's writes stay its own, for
 *       every pair of CPUs; the first writer copies, the last one reuses
 *       (counter-checked), also once the other side has exited.
 *   vmsplice_leak (CVE-2020-29374): a read-only GUP reference held by the
 *       child keeps seeing the old data after the parent writes (kills
 *       COW_BY_MAPCOUNT).
 *   fork_vs_pinned_dma (seed 003): a page pinned for DMA before fork stays
 *       the parent's: the DMA write and the parent's write both land in the
 *       parent, neither in the child (kills NO_PRECOW_PINNED).
 *   madvise_dontfork: the child has no mapping; the pinned buffer is untouched.
 *   fork_failure_unwinds: an allocation failure at any point of fork leaks
 *       nothing and leaves the parent intact.
 *   shared_mapping_stays_shared: MAP_SHARED memory is shared after fork.
 *   fork_flushes_parent_tlb (R3, R6): a thread of the parent keeps writing
 *       a page on another CPU while the parent forks: once fork returns, the
 *       child's copy never changes again, because fork flushed the stale
 *       writable entries (kills FORK_NO_FLUSH).
 *   concurrent_cow_faults_lose_nothing: threads of the parent on several
 *       CPUs take the COW fault on the same pages at the same moment; the
 *       one that finds the PTE changed when it comes back with its copy must
 *       drop it, or it overwrites the other's copy and its writes (kills
 *       COW_NO_PTE_RECHECK, Linux's pte_same in wp_page_copy).
 *   concurrent_first_touch_faults_lose_nothing: the same on fresh pages: the
 *       second of two faults that allocated a zero page must find the PTE
 *       taken and drop its page (kills ANON_FAULT_NO_RECHECK).
 *   shared_anon_is_shared_after_fork (mm/shmem.c): pages of a MAP_SHARED |
 *       MAP_ANONYMOUS mapping first touched after fork, by either side, are
 *       shared too; they outlive one side's exit and all go with the last
 *       (kills SHARED_ANON_PRIVATE).
 *   pinned_mprotect_round_trip (PageAnonExclusive): a pinned page (writable
 *       pin, and a read-only pin taken in a read-only mapping) survives
 *       mprotect(PROT_READ), mprotect(PROT_READ|PROT_WRITE) and a write: the
 *       process keeps the pinned page, and the DMA lands where it reads
 *       (before 5.19 the write copied and the device wrote into a lost page).
 *   readonly_pin_unshares_after_fork: a read-only pin (fast path, slow path)
 *       of a page shared with a fork child unshares it first: whatever the
 *       child and the parent write next, the pinned page is the parent's
 *       (kills PIN_NO_UNSHARE, ANON_EXCLUSIVE_IGNORED); a plain read-only GUP
 *       still gets the shared page, no copy.
 *   mprotect_after_fork_keeps_cow: mprotect giving write back after fork
 *       must not make a page shared with the child writable (kills
 *       MPROTECT_WRITE_ANY_ANON); an exclusive page gets it back at once.
 *   copy_installed_after_flush (R6): a COW break clears the PTE, flushes,
 *       and only then installs the copy. Paused between the two while one
 *       CPU still holds the old read-only translation and another thread
 *       writes the page and then a flag: the first CPU must never see the
 *       flag and the old data (kills COW_INSTALL_BEFORE_FLUSH: a thread that
 *       walks the new PTE writes the copy while a stale TLB still reads the
 *       original, as Linux's wp_page_copy comment explains).
 */
#include "tests/ktest_mm.h"
#include "mm/gup.h"
#include "kernel/stats.h"
#include "drivers/dma_engine.h"
#include "mm/rmap.h"
#include "kernel/pause.h"

static struct mm *parent_with_pages(struct ktest *t, int pages, uint64_t *addr)
{
	struct mm *mm = mm_alloc();
	if (!mm)
		return NULL;
	*addr = ktest_mmap(mm, pages * PAGE_SIZE);
	for (int i = 0; i < pages; i++)
		ktest_poke(mm, CPU_ANY, *addr + i * PAGE_SIZE, 0xa000 + i);
	return mm;
}

static struct mm *fork_mm(struct ktest *t, struct mm *parent)
{
	int err;
	struct mm *child = dup_mm(parent, &err);
	if (!child)
		ktest_fail(t, __FILE__, __LINE__, "fork failed: %d", err);
	return child;
}

static void basic_cow_every_cpu_pair(struct ktest *t)
{
	int n = MIN(nr_cpus_online, 4);
	for (int pc = 0; pc < n; pc++) {
		for (int cc = 0; cc < n; cc++) {
			int pcpu = ktest_other_cpu(0, pc), ccpu = ktest_other_cpu(0, cc);
			uint64_t a, v;
			struct mm *parent = parent_with_pages(t, 2, &a);
			KASSERT_NOT_NULL(t, parent);
			struct mm *child = fork_mm(t, parent);
			KASSERT_NOT_NULL(t, child);
			uint64_t copies = event_sum(EV_COW_COPY), reuses = event_sum(EV_COW_REUSE);
			/* page 0: the child writes first (copies), then the parent (reuses) */
			KEXPECT_EQ(t, ktest_poke(child, ccpu, a, 0xc0), 0);
			KEXPECT_EQ(t, ktest_poke(parent, pcpu, a, 0xb0), 0);
			KEXPECT_EQ(t, event_sum(EV_COW_COPY) - copies, 1);
			KEXPECT_EQ(t, event_sum(EV_COW_REUSE) - reuses, 1);
			KEXPECT_EQ(t, ktest_peek(parent, ccpu, a, &v), 0);
			KEXPECT_EQ(t, v, 0xb0);
			KEXPECT_EQ(t, ktest_peek(child, pcpu, a, &v), 0);
			KEXPECT_EQ(t, v, 0xc0);
			/* page 1: untouched by both, still shared and intact */
			KEXPECT_EQ(t, ktest_peek(child, ccpu, a + PAGE_SIZE, &v), 0);
			KEXPECT_EQ(t, v, 0xa001);
			/* the child exits: the parent's write reuses the page, no copy */
			mmput(child);
			copies = event_sum(EV_COW_COPY);
			KEXPECT_EQ(t, ktest_poke(parent, pcpu, a + PAGE_SIZE, 0xb1), 0);
			KEXPECT_EQ(t, event_sum(EV_COW_COPY) - copies, 0);
			KEXPECT_EQ(t, ktest_peek(parent, ccpu, a + PAGE_SIZE, &v), 0);
			KEXPECT_EQ(t, v, 0xb1);
			mmput(parent);
		}
	}
}

struct gup_ref {
	uint64_t addr;
	struct page *page;
	long got;
};

static void child_takes_ref_and_unmaps(void *p)
{
	struct gup_ref *r = p;
	r->got = get_user_pages(current->mm, r->addr, 1, 0, &r->page); /* read-only */
	vm_munmap(current->mm, r->addr, PAGE_SIZE);
}

static void get_ref(void *p)
{
	struct gup_ref *r = p;
	r->got = get_user_pages_fast(r->addr, 1, 0, &r->page); /* read-only, no pin */
}

static void vmsplice_leak(struct ktest *t)
{
	uint64_t a, v;
	struct mm *parent = parent_with_pages(t, 1, &a);
	KASSERT_NOT_NULL(t, parent);
	struct mm *child = fork_mm(t, parent);
	KASSERT_NOT_NULL(t, child);
	struct gup_ref r = { .addr = a };
	ktest_run_in_mm(child, CPU_ANY, child_takes_ref_and_unmaps, &r);
	KASSERT_EQ(t, r.got, 1);
	KEXPECT_EQ(t, page_mapcount(r.page), 1); /* only the parent maps it now */
	KEXPECT_EQ(t, ktest_poke(parent, CPU_ANY, a, 0x5ec7e7), 0);
	/* The child's reference must still show what it saw: */
	KEXPECT_EQ(t, *(uint64_t *)page_address(r.page), 0xa000);
	KEXPECT_EQ(t, ktest_peek(parent, CPU_ANY, a, &v), 0);
	KEXPECT_EQ(t, v, 0x5ec7e7);
	put_page(r.page);
	mmput(child);
	mmput(parent);
}

struct pin_req {
	uint64_t addr;
	unsigned long nr;
	struct page *pages[16];
	long got;
};

static void pin_fast(void *p)
{
	struct pin_req *r = p;
	r->got = pin_user_pages_fast(r->addr, r->nr, FOLL_WRITE, r->pages);
}

static void fork_vs_pinned_dma(struct ktest *t)
{
	uint64_t a, v;
	struct mm *parent = parent_with_pages(t, 1, &a);
	KASSERT_NOT_NULL(t, parent);
	struct pin_req pin = { .addr = a, .nr = 1 };
	ktest_run_in_mm(parent, CPU_ANY, pin_fast, &pin);
	KASSERT_EQ(t, pin.got, 1);
	KEXPECT_TRUE(t, page_maybe_dma_pinned(pin.pages[0]));
	uint64_t precow = event_sum(EV_FORK_PRECOW);
	struct mm *child = fork_mm(t, parent);
	KASSERT_NOT_NULL(t, child);
	KEXPECT_EQ(t, event_sum(EV_FORK_PRECOW) - precow, 1);
	/* The device writes word 0 later; the parent writes word 1 meanwhile. */
	struct completion gate;
	init_completion(&gate);
	static struct dma_request dma;
	dma = (struct dma_request){ .pages = pin.pages,
				    .nr = 1,
				    .offset = 0,
				    .value = 0xd3a,
				    .unpin = true,
				    .gate = &gate };
	dma_submit(&dma);
	KEXPECT_EQ(t, ktest_poke(parent, CPU_ANY, a + 8, 0x9a7e), 0);
	complete(&gate);
	wait_for_completion(&dma.done);
	KEXPECT_EQ(t, ktest_peek(parent, CPU_ANY, a, &v), 0);
	KEXPECT_EQ(t, v, 0xd3a); /* the DMA landed in the parent */
	KEXPECT_EQ(t, ktest_peek(parent, CPU_ANY, a + 8, &v), 0);
	KEXPECT_EQ(t, v, 0x9a7e);
	KEXPECT_EQ(t, ktest_peek(child, CPU_ANY, a, &v), 0);
	KEXPECT_EQ(t, v, 0xa000); /* the child sees neither */
	KEXPECT_EQ(t, ktest_peek(child, CPU_ANY, a + 8, &v), 0);
	KEXPECT_EQ(t, v, 0);
	mmput(child);
	mmput(parent);
}

static void madvise_dontfork(struct ktest *t)
{
	uint64_t a, v;
	struct mm *parent = parent_with_pages(t, 2, &a);
	KASSERT_NOT_NULL(t, parent);
	KASSERT_EQ(t, vm_madvise(parent, a, PAGE_SIZE, MADV_DONTFORK), 0);
	struct pin_req pin = { .addr = a, .nr = 1 };
	ktest_run_in_mm(parent, CPU_ANY, pin_fast, &pin);
	KASSERT_EQ(t, pin.got, 1);
	int count = page_count(pin.pages[0]);
	pte_t before = *walk_pte(parent, a);
	struct mm *child = fork_mm(t, parent);
	KASSERT_NOT_NULL(t, child);
	KEXPECT_EQ(t, ktest_peek(child, CPU_ANY, a, &v), -EFAULT); /* no mapping */
	KEXPECT_EQ(t, ktest_peek(child, CPU_ANY, a + PAGE_SIZE, &v), 0);
	KEXPECT_EQ(t, v, 0xa001);
	KEXPECT_EQ(t, *walk_pte(parent, a), before); /* untouched: same page, still writable */
	KEXPECT_EQ(t, page_count(pin.pages[0]), count);
	unpin_user_pages_dirty(pin.pages, 1, true);
	mmput(child);
	mmput(parent);
}

static void fork_failure_unwinds(struct ktest *t)
{
	uint64_t a, v;
	struct mm *parent = parent_with_pages(t, 40, &a);
	KASSERT_NOT_NULL(t, parent);
	struct pin_req pin = { .addr = a + 3 * PAGE_SIZE, .nr = 2 };
	ktest_run_in_mm(parent, CPU_ANY, pin_fast, &pin); /* so fork copies too */
	KASSERT_EQ(t, pin.got, 2);
	uint64_t before = ktest_free_pages();
	int failures = 0;
	for (int k = 0; k < 100; k++) { /* fail the k-th allocation, until fork succeeds */
		int err = 0;
		ktest_progress();
		fork_fail_after = k;
		struct mm *child = dup_mm(parent, &err);
		fork_fail_after = -1;
		if (child) {
			mmput(child);
			break;
		}
		failures++;
		KEXPECT_EQ(t, err, -ENOMEM);
		KEXPECT_EQ(t, ktest_free_pages(), before);
	}
	KEXPECT_GE(t, failures, 4); /* VMA, tables, the pinned pages' copies */
	KEXPECT_EQ(t, ktest_free_pages(), before);
	for (int i = 0; i < 40; i++) {
		KEXPECT_EQ(t, ktest_peek(parent, CPU_ANY, a + i * PAGE_SIZE, &v), 0);
		KEXPECT_EQ(t, v, 0xa000 + i);
	}
	unpin_user_pages_dirty(pin.pages, 2, false);
	mmput(parent);
}

static void shared_mapping_stays_shared(struct ktest *t)
{
	struct mm *parent = mm_alloc();
	KASSERT_NOT_NULL(t, parent);
	int64_t a =
	    vm_mmap(parent, 0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
	KASSERT_GT(t, a, 0);
	KEXPECT_EQ(t, ktest_poke(parent, CPU_ANY, a, 1), 0);
	struct mm *child = fork_mm(t, parent);
	KASSERT_NOT_NULL(t, child);
	uint64_t copies = event_sum(EV_COW_COPY), v;
	KEXPECT_EQ(t, ktest_poke(child, CPU_ANY, a, 2), 0);
	KEXPECT_EQ(t, ktest_peek(parent, CPU_ANY, a, &v), 0);
	KEXPECT_EQ(t, v, 2);
	KEXPECT_EQ(t, event_sum(EV_COW_COPY) - copies, 0);
	mmput(child);
	mmput(parent);
}

/* Pin one page of mm at addr with flags (FOLL_PIN implied), fast or slow. */
struct pin_call {
	uint64_t addr;
	unsigned flags;
	bool fast;
	struct page *page;
	long got;
};

static void do_pin(void *p)
{
	struct pin_call *c = p;
	c->got = c->fast ? pin_user_pages_fast(c->addr, 1, c->flags, &c->page)
			 : pin_user_pages(current->mm, c->addr, 1, c->flags, &c->page);
}

static struct page *mapped_anon_page(struct mm *mm, uint64_t addr)
{
	pte_t *pte = walk_pte(mm, addr);
	return pte && pte_present(*pte) ? phys_to_page(pte_phys(*pte)) : NULL;
}

/* The device writes value at word 0 of the pinned page, and unpins it. */
static void dma_write_and_unpin(struct page *page, uint64_t value)
{
	static struct page *pages[1];
	static struct dma_request dma;
	pages[0] = page;
	dma = (struct dma_request){
		.pages = pages, .nr = 1, .offset = 0, .value = value, .unpin = true
	};
	dma_submit(&dma);
	wait_for_completion(&dma.done);
}

static void pin_round_trip_one(struct ktest *t, bool writable_pin)
{
	uint64_t a, v;
	struct mm *mm = parent_with_pages(t, 1, &a);
	KASSERT_NOT_NULL(t, mm);
	if (!writable_pin) /* a read-only pin, taken in a read-only mapping */
		KASSERT_EQ(t, vm_mprotect(mm, a, PAGE_SIZE, PROT_READ), 0);
	struct pin_call pin = { .addr = a, .flags = writable_pin ? FOLL_WRITE : 0, .fast = true };
	ktest_run_in_mm(mm, CPU_ANY, do_pin, &pin);
	KASSERT_EQ(t, pin.got, 1);
	KEXPECT_TRUE(t, PageAnonExclusive(pin.page));
	KEXPECT_EQ(t, vm_mprotect(mm, a, PAGE_SIZE, PROT_READ), 0);
	KEXPECT_EQ(t, vm_mprotect(mm, a, PAGE_SIZE, PROT_READ | PROT_WRITE), 0);
	KEXPECT_EQ(t, ktest_poke(mm, CPU_ANY, a + 8, 0x3e7), 0);
	KEXPECT_EQ(t, mapped_anon_page(mm, a), pin.page); /* still the pinned page */
	dma_write_and_unpin(pin.page, 0xd3a);
	KEXPECT_EQ(t, ktest_peek(mm, CPU_ANY, a, &v), 0);
	KEXPECT_EQ(t, v, 0xd3a); /* the DMA landed where the process reads */
	KEXPECT_EQ(t, ktest_peek(mm, CPU_ANY, a + 8, &v), 0);
	KEXPECT_EQ(t, v, 0x3e7);
	mmput(mm);
}

static void pinned_mprotect_round_trip(struct ktest *t)
{
	pin_round_trip_one(t, true);
	pin_round_trip_one(t, false);
}

static void ro_pin_after_fork_one(struct ktest *t, bool fast)
{
	uint64_t a, v;
	struct mm *parent = parent_with_pages(t, 1, &a);
	KASSERT_NOT_NULL(t, parent);
	struct mm *child = fork_mm(t, parent);
	KASSERT_NOT_NULL(t, child);
	struct page *shared = mapped_anon_page(parent, a);
	KEXPECT_FALSE(t, PageAnonExclusive(shared));
	struct pin_call pin = { .addr = a, .flags = 0, .fast = fast };
	ktest_run_in_mm(parent, CPU_ANY, do_pin, &pin);
	KASSERT_EQ(t, pin.got, 1);
	KEXPECT_NE(t, pin.page, shared); /* unshared: a copy of its own */
	KEXPECT_TRUE(t, PageAnonExclusive(pin.page));
	KEXPECT_FALSE(t, pte_write(*walk_pte(parent, a))); /* mapped read-only */
	/* The child writes, then the parent: the pin follows the parent. */
	KEXPECT_EQ(t, ktest_poke(child, CPU_ANY, a, 0xc1d), 0);
	KEXPECT_EQ(t, ktest_poke(parent, CPU_ANY, a + 8, 0xba5), 0);
	KEXPECT_EQ(t, mapped_anon_page(parent, a), pin.page);
	uint64_t *seen = page_address(pin.page);
	KEXPECT_EQ(t, seen[0], 0xa000);
	KEXPECT_EQ(t, seen[1], 0xba5);
	KEXPECT_EQ(t, ktest_peek(child, CPU_ANY, a, &v), 0);
	KEXPECT_EQ(t, v, 0xc1d);
	KEXPECT_EQ(t, ktest_peek(child, CPU_ANY, a + 8, &v), 0);
	KEXPECT_EQ(t, v, 0);
	unpin_user_page(pin.page);
	mmput(child);
	mmput(parent);
}

static void plain_ro_gup_keeps_sharing(struct ktest *t)
{
	uint64_t a;
	struct mm *parent = parent_with_pages(t, 1, &a);
	KASSERT_NOT_NULL(t, parent);
	struct mm *child = fork_mm(t, parent);
	KASSERT_NOT_NULL(t, child);
	struct gup_ref r = { .addr = a };
	uint64_t copies = event_sum(EV_COW_COPY);
	ktest_run_in_mm(parent, CPU_ANY, get_ref, &r);
	KASSERT_EQ(t, r.got, 1);
	KEXPECT_EQ(t, r.page, mapped_anon_page(child, a)); /* the shared page itself */
	KEXPECT_EQ(t, event_sum(EV_COW_COPY) - copies, 0);
	put_page(r.page);
	mmput(child);
	mmput(parent);
}

static void readonly_pin_unshares_after_fork(struct ktest *t)
{
	ro_pin_after_fork_one(t, true);
	ro_pin_after_fork_one(t, false);
	plain_ro_gup_keeps_sharing(t);
}

static void mprotect_after_fork_keeps_cow(struct ktest *t)
{
	uint64_t a, v;
	struct mm *parent = parent_with_pages(t, 1, &a);
	KASSERT_NOT_NULL(t, parent);
	struct mm *child = fork_mm(t, parent);
	KASSERT_NOT_NULL(t, child);
	KEXPECT_EQ(t, vm_mprotect(parent, a, PAGE_SIZE, PROT_READ), 0);
	KEXPECT_EQ(t, vm_mprotect(parent, a, PAGE_SIZE, PROT_READ | PROT_WRITE), 0);
	KEXPECT_FALSE(t, pte_write(*walk_pte(parent, a))); /* shared: no write yet */
	KEXPECT_EQ(t, ktest_poke(parent, CPU_ANY, a, 0xb0), 0);
	KEXPECT_EQ(t, ktest_peek(child, CPU_ANY, a, &v), 0);
	KEXPECT_EQ(t, v, 0xa000); /* the parent's write did not reach the child */
	KEXPECT_EQ(t, ktest_peek(parent, CPU_ANY, a, &v), 0);
	KEXPECT_EQ(t, v, 0xb0);
	/* The parent's copy is exclusive: a round trip gives write back at once. */
	KEXPECT_EQ(t, vm_mprotect(parent, a, PAGE_SIZE, PROT_READ), 0);
	KEXPECT_EQ(t, vm_mprotect(parent, a, PAGE_SIZE, PROT_READ | PROT_WRITE), 0);
	KEXPECT_TRUE(t, pte_write(*walk_pte(parent, a)));
	mmput(child);
	mmput(parent);
}

struct r6_thread {
	struct mm *mm;
	uint64_t p, f;
	volatile bool stop, started;
	uint64_t violations;
	volatile uint64_t seen_flag;
	struct completion done;
};

/* Holds P's read-only translation, then watches F and P. */
static void r6_reader(void *arg)
{
	struct r6_thread *r = arg;
	use_mm(r->mm);
	uint64_t f, v;
	get_user_u64(&v, r->p);
	r->started = true;
	while (!r->stop) {
		get_user_u64(&f, r->f);
		get_user_u64(&v, r->p);
		if (f == 1) {
			r->seen_flag++;
			if (v == 0xa000)
				r->violations++; /* the flag, and P from before the write */
		}
	}
	unuse_mm(r->mm);
	complete(&r->done);
}

/* Writes P (the COW break, or a write through the new PTE), then F = 1. */
static void r6_writer(void *arg)
{
	struct r6_thread *w = arg;
	use_mm(w->mm);
	put_user_u64(w->p, 0x77 + w->f);
	if (w->f)
		put_user_u64(w->f, 1);
	unuse_mm(w->mm);
	complete(&w->done);
}

/* One try; returns how many times the reader saw the flag with old data. */
static uint64_t copy_install_once(struct ktest *t)
{
	uint64_t a, v;
	struct mm *parent = parent_with_pages(t, 2, &a);
	if (!parent)
		return 0;
	struct mm *child = fork_mm(t, parent);
	if (!child) {
		mmput(parent);
		return 0;
	}
	uint64_t p = a, f = a + PAGE_SIZE;
	KEXPECT_EQ(t, ktest_poke(parent, CPU_ANY, f, 0), 0); /* F: the parent's own */
	static struct r6_thread reader, breaker, writer;
	reader = (struct r6_thread){ .mm = parent, .p = p, .f = f };
	breaker = (struct r6_thread){ .mm = parent, .p = p };
	writer = (struct r6_thread){ .mm = parent, .p = p, .f = f };
	init_completion(&reader.done);
	init_completion(&breaker.done);
	init_completion(&writer.done);
	thread_create("r6-reader", r6_reader, &reader, ktest_other_cpu(cpu_id(), 1));
	while (!reader.started)
		sleep_ms(1);
	/* The COW break of P pauses in its flush. It resumes once the reader
	 * has seen the flag (possible during the pause only if the writer found
	 * the copy installed already: the bug), or after 300 ms (the writer
	 * waits for the page-table lock). */
	pause_arm_until(PAUSE_TLB_FLUSH, parent, &reader.seen_flag, 300);
	thread_create("r6-cow", r6_writer, &breaker, ktest_other_cpu(cpu_id(), 2));
	KEXPECT_TRUE(t, pause_wait_reached(PAUSE_TLB_FLUSH, 5000));
	thread_create("r6-writer", r6_writer, &writer, ktest_other_cpu(cpu_id(), 3));
	wait_for_completion(&writer.done);
	pause_release(PAUSE_TLB_FLUSH);
	wait_for_completion(&breaker.done);
	sleep_ms(5);
	reader.stop = true;
	wait_for_completion(&reader.done);
	KEXPECT_GT(t, reader.seen_flag, 0);
	KEXPECT_EQ(t, ktest_peek(child, CPU_ANY, p, &v), 0);
	KEXPECT_EQ(t, v, 0xa000);
	mmput(child);
	mmput(parent);
	return reader.violations;
}

/* The emulated TLB may lose the reader's stale entry by itself (it is a
 * cache with conflicts), which hides the bug in one try: up to 5 tries. */
static void copy_installed_after_flush(struct ktest *t)
{
	if (nr_cpus_online < 4)
		KTEST_SKIP(t, "needs 4 CPUs");
	sched_migrate(cpu_id());
	uint64_t violations = 0;
	for (int i = 0; i < 5 && !violations; i++) {
		violations += copy_install_once(t);
		ktest_progress();
	}
	KEXPECT_EQ(t, violations, 0);
}

struct tlb_writer {
	struct mm *mm;
	uint64_t addr;
	volatile bool stop, running;
	uint64_t n;
	struct completion done;
};

static void tlb_writer_fn(void *p)
{
	struct tlb_writer *w = p;
	use_mm(w->mm);
	while (!w->stop) {
		put_user_u64(w->addr, ++w->n);
		w->running = true;
	}
	unuse_mm(w->mm);
	complete(&w->done);
}

static void fork_flushes_parent_tlb(struct ktest *t)
{
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs");
	sched_migrate(cpu_id());
	uint64_t a, v1, v2;
	struct mm *parent = parent_with_pages(t, 1, &a);
	KASSERT_NOT_NULL(t, parent);
	static struct tlb_writer w;
	w = (struct tlb_writer){ .mm = parent, .addr = a };
	init_completion(&w.done);
	thread_create("cow-writer", tlb_writer_fn, &w, ktest_other_cpu(cpu_id(), 1));
	while (!w.running)
		sleep_ms(1);
	struct mm *child = fork_mm(t, parent);
	KASSERT_NOT_NULL(t, child);
	KEXPECT_EQ(t, ktest_peek(child, cpu_id(), a, &v1), 0);
	sleep_ms(20);
	KEXPECT_EQ(t, ktest_peek(child, cpu_id(), a, &v2), 0);
	KEXPECT_EQ(t, v1, v2); /* nobody writes the child's page */
	w.stop = true;
	wait_for_completion(&w.done);
	KEXPECT_GT(t, w.n, v2); /* the parent went on writing, into its own copy */
	mmput(child);
	mmput(parent);
}

enum { RACE_PAGES = 64, RACE_WRITERS = 3 };

struct cow_racer {
	struct mm *mm;
	uint64_t addr;
	int id;
	volatile bool *go;
	struct completion done;
};

static void cow_racer_fn(void *p)
{
	struct cow_racer *r = p;
	use_mm(r->mm);
	while (!*r->go)
		cpu_relax();
	for (int i = 0; i < RACE_PAGES; i++)
		put_user_u64(r->addr + i * PAGE_SIZE + 8 * (r->id + 1), 0x1000 * (r->id + 1) + i);
	unuse_mm(r->mm);
	complete(&r->done);
}

/* Threads of one mm on several CPUs write their own word of the same pages
 * at the same moment: fresh pages (first touch), or pages shared with a
 * fork child (COW). No write may be lost, the child sees none, and every
 * page comes back (a fault that installs over another's page leaks one). */
static void concurrent_faults(struct ktest *t, bool cow)
{
	if (nr_cpus_online < 3)
		KTEST_SKIP(t, "needs 3 CPUs");
	sched_migrate(cpu_id());
	int n = MIN(RACE_WRITERS, nr_cpus_online - 1);
	uint64_t before = ktest_free_pages();
	for (int round = 0; round < 4; round++) {
		uint64_t a, v;
		struct mm *parent = mm_alloc(), *child = NULL;
		KASSERT_NOT_NULL(t, parent);
		a = ktest_mmap(parent, RACE_PAGES * PAGE_SIZE);
		if (cow) {
			for (int i = 0; i < RACE_PAGES; i++)
				ktest_poke(parent, CPU_ANY, a + i * PAGE_SIZE, 0xa000 + i);
			child = fork_mm(t, parent);
			KASSERT_NOT_NULL(t, child);
		}
		static volatile bool go;
		static struct cow_racer r[RACE_WRITERS];
		go = false;
		for (int k = 0; k < n; k++) {
			r[k] = (struct cow_racer){ .mm = parent, .addr = a, .id = k, .go = &go };
			init_completion(&r[k].done);
			thread_create("racer", cow_racer_fn, &r[k],
				      ktest_other_cpu(cpu_id(), k + 1));
		}
		sleep_ms(5);
		go = true;
		for (int k = 0; k < n; k++)
			wait_for_completion(&r[k].done);
		for (int i = 0; i < RACE_PAGES; i++) {
			for (int k = 0; k < n; k++) {
				uint64_t at = a + i * PAGE_SIZE + 8 * (k + 1);
				KEXPECT_EQ(t, ktest_peek(parent, CPU_ANY, at, &v), 0);
				KEXPECT_EQ(t, v, 0x1000 * (k + 1) + i);
			}
			if (child) {
				KEXPECT_EQ(t, ktest_peek(child, CPU_ANY, a + i * PAGE_SIZE + 8, &v),
					   0);
				KEXPECT_EQ(t, v, 0);
			}
		}
		if (child)
			mmput(child);
		mmput(parent);
		ktest_progress();
	}
	KEXPECT_EQ(t, ktest_free_pages(), before);
}

static void concurrent_cow_faults_lose_nothing(struct ktest *t)
{
	concurrent_faults(t, true);
}

static void concurrent_first_touch_faults_lose_nothing(struct ktest *t)
{
	concurrent_faults(t, false);
}

static void shared_anon_is_shared_after_fork(struct ktest *t)
{
	uint64_t before = ktest_free_pages(), v;
	struct mm *parent = mm_alloc();
	KASSERT_NOT_NULL(t, parent);
	int64_t a =
	    vm_mmap(parent, 0, 3 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
	KASSERT_GT(t, a, 0);
	KEXPECT_EQ(t, ktest_poke(parent, CPU_ANY, a, 1), 0);
	struct mm *child = fork_mm(t, parent);
	KASSERT_NOT_NULL(t, child);
	uint64_t copies = event_sum(EV_COW_COPY);
	KEXPECT_EQ(t, ktest_poke(child, CPU_ANY, a + PAGE_SIZE, 2), 0); /* first touch: child */
	KEXPECT_EQ(t, ktest_poke(parent, CPU_ANY, a + 2 * PAGE_SIZE, 3), 0); /* parent */
	KEXPECT_EQ(t, ktest_peek(parent, CPU_ANY, a + PAGE_SIZE, &v), 0);
	KEXPECT_EQ(t, v, 2);
	KEXPECT_EQ(t, ktest_peek(child, CPU_ANY, a + 2 * PAGE_SIZE, &v), 0);
	KEXPECT_EQ(t, v, 3);
	KEXPECT_EQ(t, ktest_peek(child, CPU_ANY, a, &v), 0);
	KEXPECT_EQ(t, v, 1);
	for (int i = 0; i < 3; i++)
		KEXPECT_EQ(t, mapped_anon_page(parent, a + i * PAGE_SIZE),
			   mapped_anon_page(child, a + i * PAGE_SIZE));
	KEXPECT_EQ(t, event_sum(EV_COW_COPY) - copies, 0);
	mmput(child); /* the parent keeps the memory */
	KEXPECT_EQ(t, ktest_peek(parent, CPU_ANY, a + PAGE_SIZE, &v), 0);
	KEXPECT_EQ(t, v, 2);
	mmput(parent);
	KEXPECT_EQ(t, ktest_free_pages(), before); /* the file and its pages went too */
}

KTEST_SUITE(cow, KTEST_CASE(basic_cow_every_cpu_pair), KTEST_CASE(vmsplice_leak),
	    KTEST_CASE(fork_vs_pinned_dma), KTEST_CASE(madvise_dontfork),
	    KTEST_CASE(fork_failure_unwinds), KTEST_CASE(shared_mapping_stays_shared),
	    KTEST_CASE(pinned_mprotect_round_trip), KTEST_CASE(readonly_pin_unshares_after_fork),
	    KTEST_CASE(mprotect_after_fork_keeps_cow), KTEST_CASE(copy_installed_after_flush),
	    KTEST_CASE(fork_flushes_parent_tlb), KTEST_CASE(concurrent_cow_faults_lose_nothing),
	    KTEST_CASE(concurrent_first_touch_faults_lose_nothing),
	    KTEST_CASE(shared_anon_is_shared_after_fork));
