/*
 * drivers/dma_engine.c - see dma_engine.h. The engine thread is pinned to
 * the last CPU (another CPU than the tests' submitters when there are
 * several), writes through the direct map (as a device writes physical
 * memory: no page tables of the process are involved), and drops the pins.
 * Lock: engine_lock (irqsave) guards the request queue.
 */
#include "drivers/dma_engine.h"
#include "mm/page.h"
#include "mm/gup.h"
#include "kernel/list.h"
#include "kernel/percpu.h"

static DEFINE_SPINLOCK(engine_lock);
static LIST_HEAD(queue);
static struct waitq engine_wq;
static int engine_cpu = -1;

static struct dma_request *next_request(void)
{
	unsigned long f = spin_lock_irqsave(&engine_lock);
	struct dma_request *r = NULL;
	if (!list_empty(&queue)) {
		r = list_first_entry(&queue, struct dma_request, node);
		list_del(&r->node);
	}
	spin_unlock_irqrestore(&engine_lock, f);
	return r;
}

static void engine_thread(void *arg)
{
	for (;;) {
		struct dma_request *r;
		wait_event(engine_wq, (r = next_request()) != NULL);
		if (r->gate)
			wait_for_completion(r->gate);
		for (unsigned long i = 0; i < r->nr; i++)
			__atomic_store_n(
			    (uint64_t *)((char *)page_address(r->pages[i]) + r->offset), r->value,
			    __ATOMIC_SEQ_CST);
		if (r->unpin)
			unpin_user_pages_dirty(r->pages, r->nr, true);
		complete(&r->done);
	}
}

void dma_engine_init(void)
{
	waitq_init(&engine_wq);
	engine_cpu = nr_cpus - 1;
	while (!cpus[engine_cpu].online)
		engine_cpu--;
	thread_create("dma-engine", engine_thread, NULL, engine_cpu);
}

int dma_engine_cpu(void)
{
	return engine_cpu;
}

void dma_submit(struct dma_request *r)
{
	init_completion(&r->done);
	unsigned long f = spin_lock_irqsave(&engine_lock);
	list_add_tail(&r->node, &queue);
	spin_unlock_irqrestore(&engine_lock, f);
	wake_up_all(&engine_wq);
}
