/* kernel/random.h - random bytes for the kernel (see random.c). */
#ifndef KERNEL_RANDOM_H
#define KERNEL_RANDOM_H

#include "kernel/compiler.h"

/* Fill buf with n bytes: RDRAND mixed with the TSC and a global counter
 * through splitmix64; not a CSPRNG without RDRAND (a teaching kernel:
 * AT_RANDOM and stack canaries differ per exec, nothing stronger). */
void get_random_bytes(void *buf, size_t n);

#endif
