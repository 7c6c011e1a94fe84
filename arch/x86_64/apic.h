/*
 * arch/x86_64/apic.h - local APIC (xAPIC over MMIO or x2APIC over MSRs):
 * per-CPU set-up, IPIs, AP start-up, the periodic timer.
 *
 * The mode is chosen once, by the first lapic_init() (the BSP): x2APIC when
 * CPUID.1:ECX[21] reports it (or the firmware already switched to it) and
 * lapic_no_x2apic is false, else xAPIC. Every CPU then runs in that mode;
 * the functions below hide the difference.
 */
#ifndef ARCH_X86_64_APIC_H
#define ARCH_X86_64_APIC_H

#include "kernel/compiler.h"

#define LAPIC_TIMER_DIVIDE 16

/* Set before the BSP's lapic_init() to stay in xAPIC mode (e.g. "nox2apic"). */
extern bool lapic_no_x2apic;

/* Timer ticks per second after the divide-by-16, 0 until calibrated.
 * The APIC bus (or crystal) clock is lapic_timer_hz * LAPIC_TIMER_DIVIDE. */
extern uint64_t lapic_timer_hz;

/*
 * Bring up the local APIC of the calling CPU, interrupts disabled: BSP first
 * (it maps the xAPIC page and chooses the mode), then each AP on itself.
 * Enables the APIC (spurious vector VEC_SPURIOUS, TPR 0), masks the timer,
 * error, thermal, perf and CMCI entries and LINT0; LINT1 (or the pin the MADT
 * names) delivers NMI on the BSP only. Clears the error status and any
 * interrupt the firmware left in service.
 */
void lapic_init(void);

/* APIC id of the calling CPU (full 32 bits in x2APIC mode). Reads the mode of
 * this CPU from IA32_APIC_BASE, so it is right even before lapic_init() on an
 * AP (then from CPUID). Not for hot paths: use the per-CPU data. */
uint32_t lapic_id(void);

/* Signal end of interrupt. Not for the spurious vector. */
void lapic_eoi(void);

/* Fixed IPI with `vector` (>= 32) to one CPU, physical destination. */
void lapic_send_ipi(uint32_t apic_id, int vector);

/* NMI to every CPU but the caller (panic, backtrace-all). */
void lapic_send_nmi_allbutself(void);
void lapic_send_nmi(uint32_t apic_id);

/*
 * INIT, 10 ms, STARTUP, 200 us, STARTUP, 200 us to the CPU with apic_id; the
 * AP starts in real mode at trampoline_phys (page aligned, below 1 MiB).
 * Returns 0 when the IPIs were delivered (the caller then waits for the AP to
 * check in), -EINVAL (-22) for a bad trampoline address or an APIC id that
 * xAPIC mode cannot address, -EIO (-5) if the APIC reported a send error,
 * -ETIMEDOUT (-110) if an IPI stayed pending. Needs clock_init() (delays).
 */
int lapic_start_ap(uint32_t apic_id, uint32_t trampoline_phys);

/* Measure lapic_timer_hz against the calibrated TSC (clock_init() calls it). */
void lapic_timer_calibrate(void);

/* Periodic interrupt VEC_TIMER at hz on the calling CPU; hz == 0 stops it. */
void lapic_timer_start(uint32_t hz);
void lapic_timer_stop(void);

/* The calling CPU's LVT entry for LINT0 (pin 0) or LINT1 (pin 1), raw. */
uint32_t lapic_read_lvt_lint(int pin);
/* Tests only (tests/test_pic.c): set the calling CPU's LINT0 entry. */
void lapic_set_lvt_lint0(uint32_t v);
#define LAPIC_LVT_MASKED    (1u << 16)
#define LAPIC_LVT_DM(v)	    (((v) >> 8) & 7)
#define LAPIC_LVT_DM_NMI    4
#define LAPIC_LVT_DM_EXTINT 7

/* True once the BSP chose x2APIC mode. */
bool lapic_is_x2apic(void);

#endif
