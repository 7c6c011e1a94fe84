/* mm/gup.h - get_user_pages and pin_user_pages, slow and fast (see gup.c). */
#ifndef MM_GUP_H
#define MM_GUP_H

#include "kernel/compiler.h"

struct mm;
struct page;

#define FOLL_WRITE 0x01u /* the caller will write: break COW first */
#define FOLL_PIN   0x02u /* a DMA-style pin: GUP_PIN_COUNTING_BIAS, unpin_user_page */

/* Slow path: takes mm's mmap_lock for read and faults pages in. Returns
 * how many pages it got (from the first), or -errno if none. */
long get_user_pages(struct mm *mm, uint64_t start, unsigned long nr, unsigned flags,
		    struct page **pages);
long pin_user_pages(struct mm *mm, uint64_t start, unsigned long nr, unsigned flags,
		    struct page **pages);
/* Another process's mm (process_vm_readv/writev): the slow path above
 * under that mm's mmap_lock, by Linux's names. */
long get_user_pages_remote(struct mm *mm, uint64_t start, unsigned long nr, unsigned flags,
			   struct page **pages);
long pin_user_pages_remote(struct mm *mm, uint64_t start, unsigned long nr, unsigned flags,
			   struct page **pages);
/* Fast path on the current thread's mm: lockless with IRQs off, falls back
 * to the slow path for what it could not take. */
long get_user_pages_fast(uint64_t start, unsigned long nr, unsigned flags, struct page **pages);
long pin_user_pages_fast(uint64_t start, unsigned long nr, unsigned flags, struct page **pages);
/* The fast walk alone (no fallback), for tests and benchmarks. */
long gup_fast_only(uint64_t start, unsigned long nr, unsigned flags, struct page **pages);

void unpin_user_page(struct page *page);
void unpin_user_pages_dirty(struct page **pages, unsigned long nr, bool make_dirty);
uint64_t pinned_pages_outstanding(void); /* pins - unpins, for leak checks */

/* GUP refuses a reference that would take a page's count above this
 * (mm/gup.c; tests lower it). */
extern int page_ref_limit;

#endif
