/*
 * mm/kmalloc.c - the kernel heap: power-of-two size classes of 16..2048
 * bytes carved from single pages ("slabs"), and whole page blocks beyond.
 *
 * A slab page is marked PG_slab with page->mapping pointing at its size
 * class, so kfree() finds the class from the address alone. Each class keeps
 * a free list of objects threaded through the objects themselves, under the
 * class lock (irqsave, innermost). Freed objects are filled with KMALLOC_POISON
 * after the free-list link; kmalloc checks the poison, so a write after free
 * is reported, and a second kfree of the same object is caught (BUG) because
 * its poison is already in place. Empty slab pages are kept (no shrinking):
 * the heap is small and this keeps the code simple.
 */
#include "mm/kmalloc.h"
#include "mm/page.h"
#include "kernel/spinlock.h"
#include "kernel/string.h"
#include "kernel/printk.h"
#include "kernel/panic.h"
#include "kernel/atomic.h"
#include "kernel/stats.h"

#define KMALLOC_MIN_SHIFT 4
#define KMALLOC_MAX_SHIFT 11
#define NR_CLASSES	  (KMALLOC_MAX_SHIFT - KMALLOC_MIN_SHIFT + 1)
#define KMALLOC_POISON	  0x5a
#define FREE_MAGIC	  0xf4eef4eef4eef4eeull

struct free_obj {
	struct free_obj *next;
	uint64_t magic; /* FREE_MAGIC while on the free list */
};

struct size_class {
	spinlock_t lock;
	size_t size;
	struct free_obj *free;
	uint64_t slabs, in_use;
};

static struct size_class classes[NR_CLASSES];
static atomic64_t bytes_in_use;
static bool kmalloc_ready;

static void kmalloc_init(void)
{
	for (int i = 0; i < NR_CLASSES; i++) {
		spin_lock_init(&classes[i].lock, "kmalloc");
		classes[i].size = 1ul << (i + KMALLOC_MIN_SHIFT);
	}
	kmalloc_ready = true;
}

static int class_index(size_t size)
{
	int i = 0;
	while ((1ul << (i + KMALLOC_MIN_SHIFT)) < size)
		i++;
	return i;
}

static void poison_obj(struct free_obj *o, size_t size)
{
	o->magic = FREE_MAGIC;
	memset((char *)o + sizeof(*o), KMALLOC_POISON, size - sizeof(*o));
}

static void check_obj(struct free_obj *o, size_t size)
{
	const unsigned char *b = (const unsigned char *)o + sizeof(*o);
	for (size_t i = 0; i < size - sizeof(*o); i++) {
		if (b[i] != KMALLOC_POISON) {
			printk("%s kmalloc object %p (size %lu) written after free at offset %lu\n",
			       bug_tag(), (void *)o, size, i + sizeof(*o));
			count_event(EV_POISON_BAD);
			return;
		}
	}
}

/* Class lock held: add a fresh page of objects. */
static bool grow(struct size_class *c)
{
	struct page *pg = alloc_page(GFP_KERNEL);
	if (!pg)
		return false;
	pg->flags |= PG_slab;
	pg->mapping = c;
	char *base = page_address(pg);
	for (size_t off = 0; off + c->size <= PAGE_SIZE; off += c->size) {
		struct free_obj *o = (struct free_obj *)(base + off);
		poison_obj(o, c->size);
		o->next = c->free;
		c->free = o;
	}
	c->slabs++;
	return true;
}

void *kmalloc(size_t size)
{
	if (unlikely(!kmalloc_ready))
		kmalloc_init();
	if (size == 0)
		size = 1;
	if (size > (1ul << KMALLOC_MAX_SHIFT)) {
		unsigned order = 0;
		while ((PAGE_SIZE << order) < size)
			order++;
		struct page *p = alloc_pages(GFP_KERNEL, order);
		if (!p)
			return NULL;
		atomic64_add(PAGE_SIZE << order, &bytes_in_use);
		return page_address(p);
	}
	struct size_class *c = &classes[class_index(size)];
	unsigned long f = spin_lock_irqsave(&c->lock);
	if (!c->free && !grow(c)) {
		spin_unlock_irqrestore(&c->lock, f);
		return NULL;
	}
	struct free_obj *o = c->free;
	c->free = o->next;
	c->in_use++;
	spin_unlock_irqrestore(&c->lock, f);
	check_obj(o, c->size);
	o->magic = 0;
	atomic64_add(c->size, &bytes_in_use);
	return o;
}

void *kzalloc(size_t size)
{
	void *p = kmalloc(size);
	if (p)
		memset(p, 0, size);
	return p;
}

size_t ksize(const void *p)
{
	struct page *pg = virt_to_page(p);
	if (pg->flags & PG_slab)
		return ((struct size_class *)pg->mapping)->size;
	return PAGE_SIZE << pg->order;
}

void kfree(void *p)
{
	if (!p)
		return;
	struct page *pg = virt_to_page(p);
	if (!(pg->flags & PG_slab)) {
		if (((uint64_t)p & (PAGE_SIZE - 1)) || page_count(pg) == 0) {
			printk("%s kfree(%p): not a live heap allocation\n", bug_tag(), p);
			BUG();
		}
		atomic64_add(-(int64_t)(PAGE_SIZE << pg->order), &bytes_in_use);
		__free_pages(pg, pg->order);
		return;
	}
	struct size_class *c = pg->mapping;
	struct free_obj *o = p;
	if (((uint64_t)p & (PAGE_SIZE - 1)) % c->size) {
		printk("%s kfree(%p): not the start of a %lu-byte object\n", bug_tag(), p, c->size);
		BUG();
	}
	unsigned long f = spin_lock_irqsave(&c->lock);
	if (o->magic == FREE_MAGIC) {
		spin_unlock_irqrestore(&c->lock, f);
		printk("%s kfree(%p): double free of a %lu-byte object\n", bug_tag(), p, c->size);
		BUG();
	}
	poison_obj(o, c->size);
	o->next = c->free;
	c->free = o;
	c->in_use--;
	spin_unlock_irqrestore(&c->lock, f);
	atomic64_add(-(int64_t)c->size, &bytes_in_use);
}

uint64_t kmalloc_bytes_in_use(void)
{
	return (uint64_t)atomic64_read(&bytes_in_use);
}

uint64_t kmalloc_slab_pages(void)
{
	uint64_t n = 0;
	for (int i = 0; i < NR_CLASSES; i++)
		n += READ_ONCE(classes[i].slabs);
	return n;
}

void kmalloc_dump(void)
{
	printk("heap: %lu bytes in use\n", kmalloc_bytes_in_use());
	for (int i = 0; i < NR_CLASSES; i++)
		if (classes[i].slabs)
			printk("  %5lu-byte objects: %lu in use, %lu slab pages\n", classes[i].size,
			       classes[i].in_use, classes[i].slabs);
}
