/* kernel/ksyms.h - address to symbol lookup for backtraces. */
#ifndef KERNEL_KSYMS_H
#define KERNEL_KSYMS_H

#include "kernel/compiler.h"

/* Name of the function containing addr and the offset into it, or NULL. */
const char *ksym_lookup(uint64_t addr, uint64_t *offset);
/* Prints "name+0xoff" (or "?"), no newline. */
void print_symbol(uint64_t addr);

#endif
