/*
 * arch/x86_64/elf_arch.c - what execve (kernel/exec.c) asks the CPU for:
 * AT_HWCAP and randomness for AT_RANDOM.
 *
 * AT_HWCAP on x86-64 Linux is ELF_HWCAP = boot_cpu_data.x86_capability
 * [CPUID_1_EDX], the EDX of CPUID leaf 1. Randomness: RDRAND when CPUID
 * 1:ECX bit 30 says the CPU has it (10 tries, as Linux's rdrand_long), else
 * nothing (the caller mixes in the TSC, kernel/random.c).
 */
#include "arch/arch.h"
#include "arch/x86_64/asm.h"

uint64_t arch_elf_hwcap(void)
{
	uint32_t a, b, c, d;
	cpuid_count(1, 0, &a, &b, &c, &d);
	return d;
}

bool arch_get_random_u64(uint64_t *out)
{
	uint32_t a, b, c, d;
	cpuid_count(1, 0, &a, &b, &c, &d);
	if (!(c & (1u << 30)))
		return false;
	for (int i = 0; i < 10; i++) {
		uint64_t v;
		bool ok;
		__asm__ __volatile__("rdrand %0" : "=r"(v), "=@ccc"(ok));
		if (ok) {
			*out = v;
			return true;
		}
	}
	return false;
}
