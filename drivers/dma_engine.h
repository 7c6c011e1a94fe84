/*
 * drivers/dma_engine.h - a stand-in for a DMA-capable device: a kernel
 * thread on its own CPU that receives pinned user pages, writes into them
 * later (when the request's gate opens), and unpins them, marking them
 * dirty, exactly as a driver completing a device-to-memory transfer would.
 */
#ifndef DRIVERS_DMA_ENGINE_H
#define DRIVERS_DMA_ENGINE_H

#include "kernel/sched.h"

struct page;

struct dma_request {
	struct page **pages; /* pinned with FOLL_PIN | FOLL_WRITE */
	unsigned long nr;
	uint64_t offset;	 /* byte offset in each page, 8-byte aligned */
	uint64_t value;		 /* the 64-bit word "the device" writes */
	bool unpin;		 /* unpin (dirty) the pages when done */
	struct completion *gate; /* if set, wait for it before writing */
	struct completion done;
	struct list_head node;
};

void dma_engine_init(void);
int dma_engine_cpu(void);
/* Queue r; r->done completes when the write (and unpin) happened. */
void dma_submit(struct dma_request *r);

#endif
