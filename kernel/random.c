/*
 * kernel/random.c - get_random_bytes: each 8 bytes are splitmix64 of a
 * global counter (atomic: no two callers share an output), the TSC and a
 * hardware random number when the CPU has RDRAND. Good enough for AT_RANDOM
 * (glibc's and musl's stack protector and pointer guard seeds) to differ
 * between programs and boots; without RDRAND it is predictable to someone
 * who knows the TSC, which a teaching kernel accepts (Linux's CRNG is the
 * real thing).
 */
#include "kernel/random.h"
#include "kernel/atomic.h"
#include "kernel/string.h"
#include "arch/arch.h"

static atomic64_t random_counter = ATOMIC_INIT(0x9e3779b97f4a7c15ll);

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

void get_random_bytes(void *buf, size_t n)
{
	uint8_t *p = buf;
	while (n) {
		uint64_t hw = 0;
		arch_get_random_u64(&hw);
		uint64_t c = (uint64_t)atomic64_add_return(0x632be59bd9b4e019ll, &random_counter);
		uint64_t v = splitmix64(c ^ splitmix64(arch_cycles()) ^ hw);
		size_t k = MIN(n, sizeof(v));
		memcpy(p, &v, k);
		p += k;
		n -= k;
	}
}
