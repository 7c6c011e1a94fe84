/*
 * mm/filemap.c - the page cache, the file reverse map, page_mkclean,
 * writeback, msync and O_DIRECT (rules R1, R2, R6; Nadav Amit's race, seed
 * 004). Truncation and invalidation are in mm/truncate.c.
 *
 * Page cache: each file's address_space holds a reference on every cached
 * page (page->mapping, page->index say where it belongs), in a radix tree
 * indexed by page index (mapping->i_pages, kernel/radix_tree.c): lookups,
 * and walks over a range (find_get_next_page), cost a few node steps per
 * cached page whatever the file's size, and a sparse file's cache takes
 * memory for its cached pages only. Adding a page may need tree nodes
 * (kmalloc, under mapping->lock); when there is no memory for them the
 * page is not added and the read fails cleanly. A page is read
 * completely before it becomes visible, so a cached page is always up to
 * date. Pages enter the cache only under mapping->invalidate_lock (shared),
 * and leave it by truncate, by the invalidation around an O_DIRECT write
 * (both holding it exclusive, mm/truncate.c), or by invalidate_mapping_pages,
 * which drops clean pages that no PTE maps (page_mapcount) and nobody else
 * holds (page_count == 1: not pinned, not in an mmu_gather).
 *
 * Reverse map: mapping->i_mmap lists the VMAs mapping the file. A VMA stays
 * on it until after its PTEs were zapped and flushed (munmap and teardown
 * unlink it last), so page_mkclean always finds, and takes the page-table
 * lock of, every mm that may still map the page or cache it in a TLB.
 *
 * Dirty tracking: a shared file PTE is made writable only by a write fault,
 * which marks the page dirty; page_mkclean takes write and dirty away again
 * (flushing before it drops the page-table lock, R6), so the next write
 * faults and re-dirties. Writeback = clear_page_dirty_for_io (page_mkclean,
 * then test-and-clear PG_dirty) followed by a write of the page to the disk.
 *
 * The page lock (PG_locked) makes those two steps one, as far as PTEs are
 * concerned: writeback holds it across page_mkclean and the test-and-clear,
 * and a write fault holds it from marking the page dirty until its PTE is
 * writable (Linux's page_mkwrite protocol: do_page_mkwrite, then
 * fault_dirty_shared_page). Without it, a fault could map the page writable
 * just after page_mkclean found it unmapped, a zap could move that PTE's
 * dirty bit to the page and wait for its flush, and the test-and-clear would
 * then call the page clean while the writer's stale TLB entry still writes
 * to it: the writes after the copy are lost when the clean page is dropped
 * (seen with /bin/nadav, memcalls.nadav_*; fs.mkwrite_waits_for_clean).
 * Invalidation needs no page lock here: it drops only pages nobody else
 * holds (page_count == 1), and a locker holds a reference.
 *
 * Why this loses no write (R2): zapping a dirty shared PTE moves the dirty
 * bit to the page, keeps the page's rmap (mapcount) until after the TLB
 * flush, and flushes before dropping the page-table lock (mm/memory.c,
 * mm/mmu_gather.c, mm/truncate.c). page_mkclean serializes on that lock, so
 * writeback cannot clean the page while another CPU can still write through
 * a stale TLB entry, and the page cannot be dropped while it is still
 * "mapped".
 *
 * O_DIRECT (as Linux's generic_file_read_iter / generic_file_direct_write):
 * the disk is the truth for the range, so the cache must agree with it
 * around the transfer. A read first writes back the range's dirty pages
 * (else it would read older data than read() returns). A write first writes
 * back and then invalidates the range (unmap through the rmap, drop the
 * pages: a page left cached keeps the old data, and if it is mapped, a later
 * write through the mapping dirties it and its writeback puts the old data
 * back over the new), and invalidates again after the transfer, because a
 * read or a fault may have brought the old data back in meanwhile.
 * Requests go in batches of at most DIO_MAX_PAGES pinned user pages, each
 * pinned, moved and unpinned before the next (the pins never outlive a
 * batch, whatever fails); the caller has checked Linux's alignment (user
 * address, file offset and length multiples of the 512-byte logical block,
 * kernel/fs/sfs.c), so a batch may start and end inside a page.
 *
 * Locks, in order: mm->mmap_lock, the inode's i_rwsem, mapping->invalidate_lock
 * (rwsem), mapping->wb_lock (rwsem), the page lock, mapping->i_mmap_lock, an
 * mm's page_table_lock, mapping->lock (innermost, never held over I/O).
 */
#include "mm/filemap.h"
#include "mm/mm.h"
#include "mm/page.h"
#include "mm/kmalloc.h"
#include "kernel/sched.h"
#include "kernel/string.h"
#include "kernel/stats.h"
#include "kernel/panic.h"
#include "kernel/printk.h"
#include "kernel/pause.h"
#include "kernel/fs/fs.h"
#include "mm/gup.h"

#define FLUSHER_INTERVAL_MS 500

void mapping_init(struct address_space *m, struct inode *host, const struct address_space_ops *ops)
{
	m->host = host;
	m->a_ops = ops;
	spin_lock_init(&m->lock, "mapping");
	radix_tree_init(&m->i_pages);
	m->nrpages = 0;
	rwsem_init(&m->invalidate_lock);
	spin_lock_init(&m->i_mmap_lock, "i_mmap");
	INIT_LIST_HEAD(&m->i_mmap);
	rwsem_init(&m->wb_lock);
	INIT_LIST_HEAD(&m->dirty_node);
}

struct page *find_get_page(struct address_space *m, uint64_t index)
{
	spin_lock(&m->lock);
	struct page *p = radix_tree_lookup(&m->i_pages, index);
	if (p)
		get_page(p);
	spin_unlock(&m->lock);
	return p;
}

struct page *find_get_next_page(struct address_space *m, uint64_t *index, uint64_t end)
{
	spin_lock(&m->lock);
	struct page *p = radix_tree_next(&m->i_pages, index, end);
	if (p)
		get_page(p);
	spin_unlock(&m->lock);
	return p;
}

struct page *find_or_read_page(struct address_space *m, uint64_t index)
{
	struct page *p = find_get_page(m, index);
	if (p)
		return p;
	/* Adding a page: no truncate or invalidation may run meanwhile. */
	rwsem_assert_held(&m->invalidate_lock);
	struct page *fresh = alloc_page(__GFP_ZERO);
	if (!fresh)
		return NULL;
	fresh->mapping = m;
	fresh->index = index;
	if (m->a_ops->readpage(m, fresh) < 0) {
		fresh->mapping = NULL;
		put_page(fresh);
		return NULL;
	}
	spin_lock(&m->lock);
	p = radix_tree_lookup(&m->i_pages, index);
	if (!p) { /* ours goes in: one reference for the cache, one for the caller */
		if (radix_tree_insert(&m->i_pages, index, fresh)) { /* no memory for nodes */
			spin_unlock(&m->lock);
			fresh->mapping = NULL;
			put_page(fresh);
			return NULL;
		}
		p = fresh;
		m->nrpages++;
		get_page(p);
		fresh = NULL;
	} else {
		get_page(p);
	}
	spin_unlock(&m->lock);
	if (fresh) { /* someone else read it in first */
		fresh->mapping = NULL;
		put_page(fresh);
	}
	return p;
}

/* ---- the page lock ------------------------------------------------------ */

/* Sleepers wait on a hashed queue (Linux's page_waitqueue); PG_waiters
 * tells unlock_page that someone may sleep. A waiter queues itself, sets
 * PG_waiters, then reads PG_locked; unlock_page clears both bits in one
 * atomic operation, then reads whether PG_waiters was set: one of the two
 * sees the other, so no wake-up is lost. A waker clears PG_waiters for
 * every waiter of the page at once and wakes the whole queue; those still
 * waiting set it again. */
#define PAGE_WAIT_TABLE_BITS 6
static struct waitq page_wait_table[1u << PAGE_WAIT_TABLE_BITS];

void page_lock_init(void)
{
	for (unsigned i = 0; i < ARRAY_SIZE(page_wait_table); i++)
		waitq_init(&page_wait_table[i]);
}

static struct waitq *page_waitqueue(const struct page *page)
{
	uint64_t h = page_to_pfn(page) * 0x9e3779b97f4a7c15ull;
	return &page_wait_table[h >> (64 - PAGE_WAIT_TABLE_BITS)];
}

bool trylock_page(struct page *page)
{
	return !(__atomic_fetch_or(&page->flags, PG_locked, __ATOMIC_ACQUIRE) & PG_locked);
}

void lock_page(struct page *page)
{
	while (!trylock_page(page)) {
		struct waitq *wq = page_waitqueue(page);
		struct waiter w = { 0 };
		prepare_to_wait(wq, &w);
		__atomic_fetch_or(&page->flags, PG_waiters, __ATOMIC_SEQ_CST);
		if (PageLocked(page))
			schedule();
		finish_wait(wq, &w);
	}
}

void unlock_page(struct page *page)
{
	uint32_t old =
	    __atomic_fetch_and(&page->flags, ~(PG_locked | PG_waiters), __ATOMIC_SEQ_CST);
	BUG_ON(!(old & PG_locked));
	if (old & PG_waiters)
		wake_up_all(page_waitqueue(page));
}

void set_page_dirty(struct page *page)
{
	__atomic_fetch_or(&page->flags, PG_dirty, __ATOMIC_SEQ_CST);
}

static bool test_clear_page_dirty(struct page *page)
{
	return __atomic_fetch_and(&page->flags, ~PG_dirty, __ATOMIC_SEQ_CST) & PG_dirty;
}

int page_mkclean(struct page *page)
{
	struct address_space *m = page->mapping;
	/* As Linux's folio_mkclean: a page no PTE maps has nothing to clean.
	 * This is why a zap must keep a dirty shared page's rmap until its TLB
	 * flush is done (delayed rmap, R2): with the rmap gone first, writeback
	 * would return here, write the page and call it clean while a stale TLB
	 * entry can still write to it (seed 004). */
	if (!m || page_mapcount(page) == 0)
		return 0;
	int dirty = 0;
	spin_lock(&m->i_mmap_lock);
	struct vm_area_struct *vma;
	list_for_each_entry (vma, &m->i_mmap, vm_file_node) {
		if (!(vma->vm_flags & VM_SHARED) || page->index < vma->vm_pgoff)
			continue;
		uint64_t addr = vma->vm_start + ((page->index - vma->vm_pgoff) << PAGE_SHIFT);
		if (addr >= vma->vm_end)
			continue;
		struct mm *mm = vma->vm_mm;
		/* Taken even if the PTE is gone: a zap in progress holds it until
		 * its TLB flush is done (R2). */
		spin_lock(&mm->page_table_lock);
		pte_t *pte = walk_pte(mm, addr);
		pte_t entry = pte ? READ_ONCE(*pte) : 0;
		if (pte_present(entry) && pte_phys(entry) == page_to_phys(page) &&
		    (pte_write(entry) || pte_dirty(entry))) {
			pte_t old = ptep_wrprotect_clean(pte);
			flush_tlb_mm_range(mm, addr, addr + PAGE_SIZE, false); /* R6 */
			dirty |= pte_dirty(old);
		}
		spin_unlock(&mm->page_table_lock);
	}
	spin_unlock(&m->i_mmap_lock);
	return dirty;
}

bool clear_page_dirty_for_io(struct page *page)
{
#ifndef MUTATION_CLEAN_FOR_IO_UNLOCKED
	BUG_ON(!PageLocked(page));
#endif
	if (page_mkclean(page))
		set_page_dirty(page);
	/* No PTE can become writable here (the page lock): a write fault
	 * waits, and marks the page dirty again after the clear below. */
	pause_point(PAUSE_CLEAN_FOR_IO, page->mapping);
	return test_clear_page_dirty(page);
}

int writeback_page(struct address_space *m, struct page *p)
{
#ifdef MUTATION_CLEAN_FOR_IO_UNLOCKED
	/* The bug: a write fault may make a PTE writable between page_mkclean
	 * and the test-and-clear. */
	bool dirty = clear_page_dirty_for_io(p);
#else
	lock_page(p);
	bool dirty = clear_page_dirty_for_io(p);
	unlock_page(p);
#endif
	if (!dirty)
		return 0;
	int e = m->a_ops->writepage(m, p);
	if (e < 0)
		set_page_dirty(p); /* keep the data: retry later */
	count_event(EV_WRITEBACK_PAGES);
	return e < 0 ? e : 0;
}

int filemap_write_and_wait_range(struct address_space *m, uint64_t start, uint64_t end)
{
	int err = 0;
	down_write(&m->wb_lock);
	struct page *p;
	for (uint64_t i = start; (p = find_get_next_page(m, &i, end)); i++) {
		int e = writeback_page(m, p);
		if (e < 0)
			err = e;
		put_page(p);
	}
	up_write(&m->wb_lock);
	return err;
}

/* ---- msync ------------------------------------------------------------ */

int vm_msync(struct mm *mm, uint64_t addr, uint64_t len, int flags)
{
	if (addr & (PAGE_SIZE - 1))
		return -EINVAL;
	uint64_t end = addr + ALIGN_UP(len, PAGE_SIZE);
	down_read(&mm->mmap_lock);
	int err = 0;
	for (struct vm_area_struct *v = find_vma(mm, addr); v && v->vm_start < end;) {
		if (v->vm_file && (v->vm_flags & VM_SHARED) && (flags & MS_SYNC)) {
			uint64_t s = MAX(addr, v->vm_start), e = MIN(end, v->vm_end);
			uint64_t first = v->vm_pgoff + ((s - v->vm_start) >> PAGE_SHIFT);
			int r = filemap_write_and_wait_range(&v->vm_file->mapping, first,
							     first + ((e - s) >> PAGE_SHIFT));
			if (r)
				err = r;
		}
		if (v->vm_node.next == &mm->vmas)
			break;
		v = list_entry(v->vm_node.next, struct vm_area_struct, vm_node);
	}
	up_read(&mm->mmap_lock);
	return err;
}

/* ---- O_DIRECT ------------------------------------------------------------ */

/* The batch of [uaddr, uaddr+len) that fits DIO_MAX_PAGES user pages:
 * its length; *nr the pages it spans. */
static size_t dio_batch(uint64_t uaddr, size_t len, long *nr)
{
	unsigned pg_off = (unsigned)(uaddr & (PAGE_SIZE - 1));
	size_t n = MIN(len, DIO_MAX_PAGES * PAGE_SIZE - pg_off);
	*nr = (long)((pg_off + n + PAGE_SIZE - 1) / PAGE_SIZE);
	return n;
}

ssize_t generic_file_direct_read(struct address_space *m, uint64_t uaddr, size_t len, uint64_t pos)
{
	size_t done = 0;
	while (done < len) {
		if (done && fatal_signal_pending(current))
			break; /* killed: what is done counts, the rest is not started */
		uint64_t ua = uaddr + done, at = pos + done;
		unsigned pg_off = (unsigned)(ua & (PAGE_SIZE - 1));
		long nr;
		size_t n = dio_batch(ua, len - done, &nr);
#ifndef MUTATION_ODIRECT_READ_NO_WRITEBACK
		/* The disk must hold what read() would return: write back the
		 * range (the dirty bits of PTEs mapping it too, through
		 * page_mkclean). */
		int err =
		    filemap_write_and_wait_range(m, at >> PAGE_SHIFT, (at + n - 1) / PAGE_SIZE + 1);
		if (err)
			return done ? (ssize_t)done : err;
#endif
		struct page *pages[DIO_MAX_PAGES];
		long got = pin_user_pages_fast(ua - pg_off, (unsigned long)nr, FOLL_WRITE, pages);
		if (got <= 0)
			return done ? (ssize_t)done : (got ? got : -EFAULT);
		if (got < nr)
			n = (size_t)got * PAGE_SIZE - pg_off; /* up to the hole */
		pause_point(PAUSE_DIO_PINNED, current->mm);
		/* the "device" writes memory */
		ssize_t r = m->a_ops->direct_IO(m, false, pages, pg_off, n, at);
		unpin_user_pages_dirty(pages, (unsigned long)got, true);
		if (r <= 0)
			return done ? (ssize_t)done : r;
		done += (size_t)r;
		if ((size_t)r < n || got < nr)
			break;
	}
	return (ssize_t)done;
}

/* One batch of an O_DIRECT write: bytes written or -errno. */
static ssize_t direct_write_batch(struct address_space *m, uint64_t ua, size_t n, long nr,
				  uint64_t pos)
{
	unsigned pg_off = (unsigned)(ua & (PAGE_SIZE - 1));
	/* Pin before taking invalidate_lock: the pin may fault, and a fault on
	 * a mapping of this very file takes invalidate_lock shared. */
	struct page *pages[DIO_MAX_PAGES];
	long got = pin_user_pages_fast(ua - pg_off, (unsigned long)nr, 0, pages);
	if (got <= 0)
		return got ? got : -EFAULT;
	if (got < nr)
		n = (size_t)got * PAGE_SIZE - pg_off; /* up to the hole */
	uint64_t first = pos >> PAGE_SHIFT, end = (pos + n - 1) / PAGE_SIZE + 1;

	/* Before: dirty cached data of the range reaches the disk first (it is
	 * older than ours), then no cached page or PTE keeps the old data. */
	filemap_invalidate_lock(m);
	uint64_t size = i_size_read(m->host);
	if (pos > size) /* the gap up to pos reads as zeros */
		pagecache_isize_extended(m, size, pos);
	int err = filemap_write_and_wait_range(m, first, end);
#ifndef MUTATION_ODIRECT_NO_INVALIDATE
	if (!err)
		err = invalidate_inode_pages2_range(m, first, end);
#endif
	filemap_invalidate_unlock(m);
	ssize_t done = err;
	if (!err) {
		pause_point(PAUSE_DIO_WRITE, current->mm);
		done = m->a_ops->direct_IO(m, true, pages, pg_off, n, pos);
		/* After: a read() or a fault may have cached the old data again
		 * while the transfer ran (Linux: kiocb_invalidate_post_direct_write). */
		filemap_invalidate_lock(m);
#if defined(MUTATION_ODIRECT_NO_INVALIDATE)
		/* the old code: only the clean, unmapped pages go */
		invalidate_mapping_pages(m, first, end);
#elif !defined(MUTATION_ODIRECT_NO_INVALIDATE_AFTER)
		if (invalidate_inode_pages2_range(m, first, end))
			printk("filemap: page cache invalidation failed after O_DIRECT write "
			       "(ino %u, pages %lu-%lu): stale data may stay cached\n",
			       m->host->ino, first, end - 1);
#endif
		filemap_invalidate_unlock(m);
	}
	unpin_user_pages_dirty(pages, (unsigned long)got, false);
	return done; /* short (got < nr): the caller stops there */
}

ssize_t generic_file_direct_write(struct address_space *m, uint64_t uaddr, size_t len, uint64_t pos)
{
	size_t done = 0;
	while (done < len) {
		if (done && fatal_signal_pending(current))
			break; /* killed: what is done counts, the rest is not started */
		long nr;
		size_t n = dio_batch(uaddr + done, len - done, &nr);
		ssize_t r = direct_write_batch(m, uaddr + done, n, nr, pos + done);
		if (r <= 0)
			return done ? (ssize_t)done : r;
		done += (size_t)r;
		if ((size_t)r < n)
			break;
	}
	return (ssize_t)done;
}

void mapping_destroy(struct address_space *m)
{
	truncate_inode_pages(m, 0);
	BUG_ON(m->i_pages.count || m->i_pages.nodes); /* an empty tree holds no node */
}

/* ---- the background flusher ------------------------------------------- */

/* Every mapping that may hold dirty pages is listed here from inode
 * creation to inode destruction; writers of the list take the rwsem for
 * write, so a pass (which sleeps in writeback) can hold it for read. */
static struct rwsem flusher_rwsem;
static LIST_HEAD(flusher_list);
static bool flusher_ready;

void flusher_register(struct address_space *m)
{
	down_write(&flusher_rwsem);
	list_add_tail(&m->dirty_node, &flusher_list);
	up_write(&flusher_rwsem);
}

void flusher_unregister(struct address_space *m)
{
	down_write(&flusher_rwsem);
	list_del_init(&m->dirty_node);
	up_write(&flusher_rwsem);
}

void writeback_all(void)
{
	down_read(&flusher_rwsem);
	struct address_space *m;
	list_for_each_entry (m, &flusher_list, dirty_node)
		filemap_write_and_wait_range(m, 0, ~0ull);
	up_read(&flusher_rwsem);
}

/* Tests that count exact page states hold the flusher off (flusher_hold):
 * a background pass cleans PTEs and takes page references meanwhile. */
static atomic_t flusher_held;
static struct rwsem flusher_pass;

void flusher_hold(void)
{
	atomic_inc(&flusher_held);
	down_write(&flusher_pass); /* a pass in progress ends first */
	up_write(&flusher_pass);
}

void flusher_release(void)
{
	atomic_dec(&flusher_held);
}

static void flusher_thread(void *arg)
{
	for (;;) {
		sleep_ms(FLUSHER_INTERVAL_MS);
		down_read(&flusher_pass);
		if (!atomic_read(&flusher_held)) {
			count_event(EV_FLUSHER_PASSES);
			writeback_all();
		}
		up_read(&flusher_pass);
	}
}

void flusher_init(void)
{
	if (!flusher_ready)
		rwsem_init(&flusher_rwsem);
	flusher_ready = true;
	rwsem_init(&flusher_pass);
	thread_create("flusher", flusher_thread, NULL, CPU_ANY);
}
