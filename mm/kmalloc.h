/* mm/kmalloc.h - kernel heap (see mm/kmalloc.c). */
#ifndef MM_KMALLOC_H
#define MM_KMALLOC_H

#include "kernel/compiler.h"

void *kmalloc(size_t size);
void *kzalloc(size_t size);
void kfree(void *p);
size_t ksize(const void *p);
uint64_t kmalloc_bytes_in_use(void);
uint64_t kmalloc_slab_pages(void); /* pages the heap keeps (never returned) */
void kmalloc_dump(void);

#endif
