/*
 * arch/x86_64/clock.h - reference clocks, TSC calibration, delays, ktime.
 *
 * Order at boot (BSP): acpi_init() -> mm up (ioremap works) -> lapic_init()
 * -> clock_init() -> start the APs. udelay()/mdelay() work at any time:
 * before clock_init() they count a reference clock (PM timer, else PIT)
 * directly, afterwards the calibrated TSC.
 */
#ifndef ARCH_X86_64_CLOCK_H
#define ARCH_X86_64_CLOCK_H

#include "kernel/compiler.h"

/*
 * BSP only, once, before any AP runs: choose the reference clock (HPET, else
 * ACPI PM timer, else PIT channel 2; CPUID frequency leaves if none ticks),
 * calibrate tsc_khz against it, set the ktime epoch, then calibrate the LAPIC
 * timer (lapic_timer_calibrate(), needs lapic_init() on this CPU first).
 */
void clock_init(void);

/* Nanoseconds since clock_init() from the TSC; 0 before it. Monotonic on each
 * CPU; across CPUs as good as the firmware's TSC synchronization. */
uint64_t ktime_get_ns(void);

/* Busy-wait at least us microseconds / ms milliseconds. Any context. */
void udelay(uint64_t us);
void mdelay(uint64_t ms);

/* Name of the reference clock the TSC was calibrated against. */
const char *clock_ref_name(void);

/* a * b / c without overflow of the product (c != 0); UINT64_MAX if the
 * quotient does not fit in 64 bits. */
static inline uint64_t mul_div_u64(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t lo, hi, q, r;

	__asm__("mulq %3" : "=a"(lo), "=d"(hi) : "a"(a), "rm"(b) : "cc");
	if (hi >= c)
		return UINT64_MAX;
	__asm__("divq %4" : "=a"(q), "=d"(r) : "a"(lo), "d"(hi), "rm"(c) : "cc");
	(void)r;
	return q;
}

static inline uint64_t median3_u64(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t lo = MIN(a, b), hi = MAX(a, b);

	return c <= lo ? lo : c >= hi ? hi : c;
}

#endif
