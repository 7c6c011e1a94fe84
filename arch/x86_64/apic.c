/*
 * arch/x86_64/apic.c - the local APIC: per-CPU set-up, IPIs, AP start-up
 * and the periodic timer, in xAPIC or x2APIC mode behind one interface.
 *
 * Hardware facts relied on (Intel SDM vol. 3 ch. 10 "APIC", AMD APM vol. 2
 * ch. 16, Intel MultiProcessor Specification 1.4 appendix B.4):
 *   - IA32_APIC_BASE (MSR 0x1b): bit 8 BSP, bit 10 EXTD (x2APIC), bit 11 EN,
 *     bits 12+ the MMIO base. Valid mode changes: disabled -> xAPIC ->
 *     x2APIC, and x2APIC -> disabled -> xAPIC; never disabled -> x2APIC.
 *   - xAPIC registers are 32-bit MMIO at base + offset (16-byte stride);
 *     x2APIC register `offset` is MSR 0x800 + offset / 16, the ICR is one
 *     64-bit MSR with the 32-bit destination in bits 32-63, there is no
 *     delivery-status bit and no INIT de-assert, and the ID is 32 bits.
 *   - The APIC must be software-enabled (SVR bit 8) before LVT mask bits can
 *     be cleared. LVT entries beyond "max LVT" (version register bits 16-23)
 *     do not exist, and touching a missing one in x2APIC mode faults.
 *   - ESR: a write (of 0) latches the errors seen since the previous write,
 *     which a read then returns.
 *   - WRMSR to the x2APIC ICR is not serializing: without a fence, the IPI
 *     can overtake this CPU's earlier stores, and the target would handle the
 *     IPI before seeing the data it was sent about (mfence; lfence first).
 *   - AP start-up: INIT (level assert; then de-assert for xAPIC, as the MP
 *     spec asks for older parts), wait 10 ms, STARTUP with vector =
 *     trampoline page number, wait 200 us, STARTUP again, wait 200 us. A CPU
 *     that already started ignores the second STARTUP.
 *   - The timer counts down at the bus/crystal clock divided by the divide
 *     configuration (0b0011 = 16); its rate is not reported portably, so it
 *     is measured against the TSC, which clock.c calibrated first. In C1
 *     (hlt), the only idle state this kernel uses, the timer keeps running.
 *
 * Why x2APIC when available: no MMIO mapping, a single ICR write per IPI and
 * 32-bit APIC ids, which machines with more than 255 CPUs need. QEMU TCG has
 * none, so the xAPIC path is the one the test suite exercises there.
 *
 * Concurrency: the mode and the MMIO pointer are set once by the BSP before
 * any AP runs and are read-only afterwards. Every other access is to the
 * calling CPU's own APIC. The xAPIC ICR is written in two stores (destination,
 * then command): interrupts are disabled around them so an interrupt handler
 * sending its own IPI cannot interleave (NMI handlers must not send IPIs,
 * except the panic path, which no longer cares).
 */
#include "arch/x86_64/apic.h"
#include "arch/arch.h"
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/asm.h"
#include "arch/x86_64/clock.h"
#include "kernel/panic.h"
#include "kernel/printk.h"
#include "mm/vmalloc.h"

#ifndef EIO
#define EIO 5
#endif
#ifndef EINVAL
#define EINVAL 22
#endif
#ifndef ETIMEDOUT
#define ETIMEDOUT 110
#endif

/* Register offsets (xAPIC MMIO bytes; x2APIC MSR = 0x800 + offset / 16). */
#define APIC_REG_ID	     0x020
#define APIC_REG_VERSION     0x030
#define APIC_REG_TPR	     0x080
#define APIC_REG_EOI	     0x0b0
#define APIC_REG_SVR	     0x0f0
#define APIC_REG_ISR0	     0x100 /* 8 registers, 0x10 apart */
#define APIC_REG_ESR	     0x280
#define APIC_REG_LVT_CMCI    0x2f0
#define APIC_REG_ICR_LO	     0x300
#define APIC_REG_ICR_HI	     0x310 /* xAPIC only */
#define APIC_REG_LVT_TIMER   0x320
#define APIC_REG_LVT_THERMAL 0x330
#define APIC_REG_LVT_PERF    0x340
#define APIC_REG_LVT_LINT0   0x350
#define APIC_REG_LVT_LINT1   0x360
#define APIC_REG_LVT_ERROR   0x370
#define APIC_REG_TIMER_INIT  0x380
#define APIC_REG_TIMER_CUR   0x390
#define APIC_REG_TIMER_DIV   0x3e0
#define APIC_NR_ISR_REGS     8
#define X2APIC_MSR(reg)	     (MSR_X2APIC_BASE + ((reg) >> 4))

/* IA32_APIC_BASE */
#define APIC_BASE_BSP	    (1ull << 8)
#define APIC_BASE_EXTD	    (1ull << 10)
#define APIC_BASE_EN	    (1ull << 11)
#define APIC_BASE_ADDR_MASK 0x000ffffffffff000ull

#define APIC_SVR_ENABLE	       (1u << 8)
#define APIC_VERSION_MAXLVT(v) (((v) >> 16) & 0xff)
#define MAXLVT_HAS_PERF	       4
#define MAXLVT_HAS_THERMAL     5
#define MAXLVT_HAS_CMCI	       6

/* LVT and ICR fields */
#define APIC_DM_FIXED		(0u << 8)
#define APIC_DM_NMI		(4u << 8)
#define APIC_DM_INIT		(5u << 8)
#define APIC_DM_STARTUP		(6u << 8)
#define APIC_DM_EXTINT		(7u << 8)
#define APIC_SEND_PENDING	(1u << 12) /* ICR delivery status, xAPIC only */
#define APIC_LVT_ACTIVE_LOW	(1u << 13)
#define APIC_ICR_ASSERT		(1u << 14)
#define APIC_ICR_LEVEL_TRIG	(1u << 15)
#define APIC_LVT_MASKED		(1u << 16)
#define APIC_LVT_TIMER_PERIODIC (1u << 17)
#define APIC_ICR_ALL_BUT_SELF	(3u << 18)
#define XAPIC_DEST_SHIFT	24
#define XAPIC_ID_SHIFT		24
#define XAPIC_MAX_ID		0xfe /* 0xff is the broadcast destination */

#define APIC_TIMER_DIV_16	0x3
#define ESR_SEND_CHECKSUM	(1u << 0)
#define ESR_SEND_ACCEPT		(1u << 2)
#define ESR_SEND_ILLEGAL_VECTOR (1u << 5)
#define ESR_SEND_ERRORS		(ESR_SEND_CHECKSUM | ESR_SEND_ACCEPT | ESR_SEND_ILLEGAL_VECTOR)

#define ICR_FAST_POLLS	     1000 /* pause-spins before falling back to udelay */
#define ICR_SLOW_POLL_US     1000 /* then this long, 1 us at a time */
#define INIT_DELAY_MS	     10
#define SIPI_DELAY_US	     200
#define SIPI_COUNT	     2
#define SIPI_MAX_PHYS	     0x100000 /* the vector is a page number below 1 MiB */
#define MAX_STALE_EOIS	     (APIC_NR_ISR_REGS * 32)
#define FIRST_ALLOWED_VECTOR 32
#define TIMER_CAL_WINDOW_MS  10

bool lapic_no_x2apic;
uint64_t lapic_timer_hz;

static bool lapic_mode_chosen;	      /* set once by the BSP */
static bool lapic_x2;		      /* x2APIC mode on every CPU */
static uint64_t lapic_phys;	      /* xAPIC MMIO base */
static volatile uint32_t *lapic_mmio; /* xAPIC only */

/* ---- register access ---------------------------------------------------- */

static uint32_t lapic_read(uint32_t reg)
{
	if (lapic_x2)
		return (uint32_t)rdmsr(X2APIC_MSR(reg));
	return lapic_mmio[reg / 4];
}

static void lapic_write(uint32_t reg, uint32_t v)
{
	if (lapic_x2)
		wrmsr(X2APIC_MSR(reg), v);
	else
		lapic_mmio[reg / 4] = v;
}

/* Errors since the last call (see the ESR note above). */
static uint32_t lapic_read_esr(void)
{
	lapic_write(APIC_REG_ESR, 0);
	return lapic_read(APIC_REG_ESR);
}

bool lapic_is_x2apic(void)
{
	return lapic_x2;
}

/* ---- mode and enabling -------------------------------------------------- */

static uint32_t cpuid_ecx_edx(uint32_t leaf, uint32_t *edx)
{
	uint32_t a, b, c;

	cpuid_count(leaf, 0, &a, &b, &c, edx);
	return c;
}

static bool cpu_has_apic(void)
{
	uint32_t edx;

	cpuid_ecx_edx(1, &edx);
	return edx & (1u << 9);
}

static bool cpu_has_x2apic(void)
{
	uint32_t edx;

	return cpuid_ecx_edx(1, &edx) & (1u << 21);
}

/* The BSP decides the mode for everyone and maps the xAPIC page. */
static void lapic_choose_mode(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);
	bool firmware_x2 = (base & APIC_BASE_EN) && (base & APIC_BASE_EXTD);

	if (!cpu_has_apic())
		panic("lapic: the CPU reports no local APIC");
	lapic_x2 = firmware_x2 || (cpu_has_x2apic() && !lapic_no_x2apic);
	lapic_phys = base & APIC_BASE_ADDR_MASK;
	if (!lapic_x2) {
		if (acpi.lapic_phys && acpi.lapic_phys != lapic_phys)
			pr_warn(
			    "lapic: MADT says 0x%lx, IA32_APIC_BASE says 0x%lx: using the MSR\n",
			    acpi.lapic_phys, lapic_phys);
		lapic_mmio = ioremap(lapic_phys, PAGE_SIZE);
		if (!lapic_mmio)
			panic("lapic: cannot map the local APIC at 0x%lx", lapic_phys);
		pr_info("lapic: xAPIC mode, registers at 0x%lx\n", lapic_phys);
	} else {
		pr_info("lapic: x2APIC mode%s\n", firmware_x2 ? " (the firmware enabled it)" : "");
	}
	lapic_mode_chosen = true;
}

/* Put the calling CPU's APIC into the chosen mode. */
static void lapic_enable_this_cpu(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);

	if (!lapic_x2 && (base & APIC_BASE_EXTD)) {
		/* x2APIC -> xAPIC is only allowed through "disabled". */
		base &= ~(APIC_BASE_EN | APIC_BASE_EXTD);
		wrmsr(MSR_APIC_BASE, base);
	}
	if (!lapic_x2 && (base & APIC_BASE_ADDR_MASK) != lapic_phys) {
		/* Keep every CPU's registers where the BSP mapped them. */
		base = (base & ~APIC_BASE_ADDR_MASK) | lapic_phys;
		wrmsr(MSR_APIC_BASE, base);
	}
	if (!(base & APIC_BASE_EN)) {
		base |= APIC_BASE_EN;
		wrmsr(MSR_APIC_BASE, base);
	}
	if (lapic_x2 && !(base & APIC_BASE_EXTD))
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_EXTD);
}

/* Mask every LVT entry except LINT0/1 (lapic_setup_lint). */
static void lapic_mask_lvts(void)
{
	uint32_t maxlvt = APIC_VERSION_MAXLVT(lapic_read(APIC_REG_VERSION));

	lapic_write(APIC_REG_TIMER_INIT, 0);
	lapic_write(APIC_REG_LVT_TIMER, APIC_LVT_MASKED | VEC_TIMER);
	lapic_write(APIC_REG_LVT_ERROR, APIC_LVT_MASKED);
	if (maxlvt >= MAXLVT_HAS_PERF)
		lapic_write(APIC_REG_LVT_PERF, APIC_LVT_MASKED);
	if (maxlvt >= MAXLVT_HAS_THERMAL)
		lapic_write(APIC_REG_LVT_THERMAL, APIC_LVT_MASKED);
	if (maxlvt >= MAXLVT_HAS_CMCI)
		lapic_write(APIC_REG_LVT_CMCI, APIC_LVT_MASKED);
}

/* The MADT's LINT NMI entry for this APIC id (its UID, or "all"), or NULL. */
static const struct acpi_lapic_nmi *madt_nmi_for(uint32_t apic_id)
{
	int idx = acpi_cpu_index(apic_id);

	for (uint32_t i = 0; i < acpi.nr_lapic_nmis; i++) {
		const struct acpi_lapic_nmi *n = &acpi.lapic_nmis[i];

		if (n->uid == ACPI_UID_ALL_CPUS_32 || (idx >= 0 && n->uid == acpi.cpus[idx].uid))
			return n;
	}
	return NULL;
}

/*
 * LINT0 (the 8259's INTR line, which firmware leaves in ExtINT "virtual
 * wire" mode) is masked everywhere: this kernel does not use the PIC, which
 * pic.c has remapped and masked already. As Linux's setup_local_APIC() does
 * when the 8259 is not in use, it stays ExtINT | masked ("masked ExtINT on
 * CPU#n"). The NMI line (LINT1 unless the MADT says otherwise) is NMI on
 * the BSP only, as in Linux: on a PC it is wired to every CPU and one
 * handler is enough; the APs keep it masked.
 */
static void lapic_setup_lint(bool bsp)
{
	uint32_t lint[2] = { APIC_DM_EXTINT | APIC_LVT_MASKED, APIC_DM_NMI | APIC_LVT_MASKED };

	if (bsp) {
		const struct acpi_lapic_nmi *n = madt_nmi_for(lapic_id());
		uint32_t v = APIC_DM_NMI;

		if (n && (n->flags & ACPI_INTI_POLARITY_MASK) == ACPI_INTI_ACTIVE_LOW)
			v |= APIC_LVT_ACTIVE_LOW;
		lint[n ? n->lint : 1] = v;
	}
	lapic_write(APIC_REG_LVT_LINT0, lint[0]);
	lapic_write(APIC_REG_LVT_LINT1, lint[1]);
}

uint32_t lapic_read_lvt_lint(int pin)
{
	return lapic_read(pin ? APIC_REG_LVT_LINT1 : APIC_REG_LVT_LINT0);
}

void lapic_set_lvt_lint0(uint32_t v)
{
	lapic_write(APIC_REG_LVT_LINT0, v);
}

static bool lapic_isr_pending(void)
{
	for (uint32_t i = 0; i < APIC_NR_ISR_REGS; i++)
		if (lapic_read(APIC_REG_ISR0 + i * 0x10))
			return true;
	return false;
}

void lapic_init(void)
{
	bool bsp = rdmsr(MSR_APIC_BASE) & APIC_BASE_BSP;

	if (!lapic_mode_chosen)
		lapic_choose_mode();
	lapic_enable_this_cpu();
	lapic_write(APIC_REG_TPR, 0);
	lapic_write(APIC_REG_SVR, APIC_SVR_ENABLE | VEC_SPURIOUS);
	lapic_mask_lvts();
	lapic_setup_lint(bsp);
	lapic_write(APIC_REG_ESR, 0); /* two writes: discard what the firmware left */
	lapic_read_esr();
	/* Interrupts the firmware accepted but never acknowledged. */
	for (int n = 0; n < MAX_STALE_EOIS && lapic_isr_pending(); n++)
		lapic_eoi();
}

/* ---- identification and EOI --------------------------------------------- */

/* Initial APIC id from CPUID: leaf 0xb (x2APIC id) if valid, else leaf 1. */
static uint32_t cpuid_apic_id(void)
{
	uint32_t a, b, c, d, max;

	cpuid_count(0, 0, &max, &b, &c, &d);
	if (max >= 0xb) {
		cpuid_count(0xb, 0, &a, &b, &c, &d);
		if (b)
			return d;
	}
	cpuid_count(1, 0, &a, &b, &c, &d);
	return b >> 24;
}

uint32_t lapic_id(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);

	if (!(base & APIC_BASE_EN))
		return cpuid_apic_id();
	if (base & APIC_BASE_EXTD)
		return (uint32_t)rdmsr(X2APIC_MSR(APIC_REG_ID));
	if (!lapic_mmio)
		return cpuid_apic_id();
	return lapic_mmio[APIC_REG_ID / 4] >> XAPIC_ID_SHIFT;
}

void lapic_eoi(void)
{
	lapic_write(APIC_REG_EOI, 0);
}

/* ---- IPIs --------------------------------------------------------------- */

static bool xapic_icr_idle(void)
{
	return !(lapic_mmio[APIC_REG_ICR_LO / 4] & APIC_SEND_PENDING);
}

/* xAPIC: wait (bounded) until the previous IPI has left this APIC. */
static bool xapic_wait_icr_idle(void)
{
	for (int i = 0; i < ICR_FAST_POLLS; i++) {
		if (xapic_icr_idle())
			return true;
		cpu_relax();
	}
	for (int us = 0; us < ICR_SLOW_POLL_US; us++) {
		if (xapic_icr_idle())
			return true;
		udelay(1);
	}
	return xapic_icr_idle();
}

/* Write the ICR. Caller has interrupts off (xAPIC: two stores). */
static void lapic_write_icr(uint32_t dest, uint32_t low)
{
	if (lapic_x2) {
		__asm__ __volatile__("mfence; lfence" ::: "memory");
		wrmsr(X2APIC_MSR(APIC_REG_ICR_LO), (uint64_t)dest << 32 | low);
		return;
	}
	lapic_mmio[APIC_REG_ICR_HI / 4] = dest << XAPIC_DEST_SHIFT;
	lapic_mmio[APIC_REG_ICR_LO / 4] = low;
}

/*
 * Send one IPI after the previous one left (xAPIC). If the ICR stays busy,
 * warn and send anyway: a lost IPI shows up as a hang with a warning before
 * it, which is better than silence. Returns false in that case.
 */
static bool lapic_ipi(uint32_t dest, uint32_t low)
{
	unsigned long flags = local_irq_save();
	bool idle = lapic_x2 || xapic_wait_icr_idle();

	if (!idle)
		pr_warn(
		    "lapic: previous IPI still pending after %u us, sending 0x%x to %u anyway\n",
		    ICR_SLOW_POLL_US, low, dest);
	lapic_write_icr(dest, low);
	local_irq_restore(flags);
	return idle;
}

void lapic_send_ipi(uint32_t apic_id, int vector)
{
	if (vector < FIRST_ALLOWED_VECTOR || vector > 0xff) {
		pr_warn("lapic: refusing IPI with vector %d\n", vector);
		return;
	}
	if (!lapic_x2 && apic_id > XAPIC_MAX_ID) {
		pr_warn("lapic: APIC id %u is not addressable in xAPIC mode\n", apic_id);
		return;
	}
	lapic_ipi(apic_id, APIC_DM_FIXED | APIC_ICR_ASSERT | (uint32_t)vector);
}

void lapic_send_nmi_allbutself(void)
{
	if (!lapic_mode_chosen)
		return; /* too early: no other CPU runs yet */
	lapic_ipi(0, APIC_DM_NMI | APIC_ICR_ASSERT | APIC_ICR_ALL_BUT_SELF);
}

void lapic_send_nmi(uint32_t apic_id)
{
	if (lapic_mode_chosen)
		lapic_ipi(apic_id, APIC_DM_NMI | APIC_ICR_ASSERT);
}

/* One start-up IPI, waited for and checked in the error status register. */
static int lapic_ipi_checked(uint32_t apic_id, uint32_t low, const char *what)
{
	unsigned long flags = local_irq_save();
	uint32_t esr;
	bool sent;

	lapic_read_esr(); /* forget older errors */
	sent = lapic_ipi(apic_id, low) && (lapic_x2 || xapic_wait_icr_idle());
	esr = lapic_read_esr();
	local_irq_restore(flags);
	if (!sent) {
		pr_err("lapic: %s IPI to APIC %u still pending\n", what, apic_id);
		return -ETIMEDOUT;
	}
	if (esr & ESR_SEND_ERRORS) {
		pr_err("lapic: %s IPI to APIC %u failed, error status 0x%x\n", what, apic_id, esr);
		return -EIO;
	}
	return 0;
}

int lapic_start_ap(uint32_t apic_id, uint32_t trampoline_phys)
{
	uint32_t vector = trampoline_phys >> PAGE_SHIFT;
	int err;

	if (!lapic_mode_chosen) {
		pr_err("lapic: lapic_start_ap() before lapic_init()\n");
		return -EINVAL;
	}
	if ((trampoline_phys & (PAGE_SIZE - 1)) || trampoline_phys >= SIPI_MAX_PHYS) {
		pr_err("lapic: trampoline 0x%x is not a page below 1 MiB\n", trampoline_phys);
		return -EINVAL;
	}
	if (!lapic_x2 && apic_id > XAPIC_MAX_ID) {
		pr_err("lapic: APIC id %u needs x2APIC mode to be started\n", apic_id);
		return -EINVAL;
	}
	err = lapic_ipi_checked(apic_id, APIC_DM_INIT | APIC_ICR_ASSERT | APIC_ICR_LEVEL_TRIG,
				"INIT");
	if (!err && !lapic_x2)
		err = lapic_ipi_checked(apic_id, APIC_DM_INIT | APIC_ICR_LEVEL_TRIG,
					"INIT de-assert");
	if (err)
		return err;
	mdelay(INIT_DELAY_MS);
	for (int i = 0; i < SIPI_COUNT; i++) {
		err = lapic_ipi_checked(apic_id, APIC_DM_STARTUP | APIC_ICR_ASSERT | vector,
					"STARTUP");
		if (err)
			return err;
		udelay(SIPI_DELAY_US);
	}
	return 0;
}

/* ---- timer -------------------------------------------------------------- */

struct timer_sample {
	uint64_t tsc;	/* midpoint of the TSC reads around the count read */
	uint32_t count; /* current count, counting down */
};

static struct timer_sample timer_sample(void)
{
	uint64_t a = arch_cycles();
	uint32_t c = lapic_read(APIC_REG_TIMER_CUR);
	uint64_t b = arch_cycles();

	return (struct timer_sample){ a + (b - a) / 2, c };
}

/* Timer ticks per second (divide by 16) over one window; 0 if it does not count. */
static uint64_t lapic_timer_measure(void)
{
	uint64_t window = (uint64_t)TIMER_CAL_WINDOW_MS * tsc_khz; /* TSC cycles */
	struct timer_sample s0, s1;

	lapic_write(APIC_REG_TIMER_DIV, APIC_TIMER_DIV_16);
	lapic_write(APIC_REG_LVT_TIMER, APIC_LVT_MASKED | VEC_TIMER); /* one-shot, silent */
	lapic_write(APIC_REG_TIMER_INIT, UINT32_MAX);
	s0 = timer_sample();
	while (arch_cycles() - s0.tsc < window)
		cpu_relax();
	s1 = timer_sample();
	lapic_write(APIC_REG_TIMER_INIT, 0);
	if (s1.count >= s0.count || s1.tsc <= s0.tsc)
		return 0;
	return mul_div_u64(s0.count - s1.count, tsc_khz * 1000, s1.tsc - s0.tsc);
}

void lapic_timer_calibrate(void)
{
	uint64_t v[3];
	unsigned long flags;

	if (!lapic_mode_chosen || !tsc_khz) {
		pr_warn("lapic: timer calibration needs lapic_init() and a calibrated TSC\n");
		return;
	}
	flags = local_irq_save();
	for (int i = 0; i < 3; i++)
		v[i] = lapic_timer_measure();
	local_irq_restore(flags);
	lapic_timer_hz = median3_u64(v[0], v[1], v[2]);
	if (!lapic_timer_hz)
		pr_err("lapic: the timer does not count down\n");
}

void lapic_timer_stop(void)
{
	lapic_write(APIC_REG_LVT_TIMER, APIC_LVT_MASKED | VEC_TIMER);
	lapic_write(APIC_REG_TIMER_INIT, 0);
}

void lapic_timer_start(uint32_t hz)
{
	uint64_t count;

	if (hz == 0) {
		lapic_timer_stop();
		return;
	}
	if (!lapic_timer_hz)
		lapic_timer_calibrate();
	if (!lapic_timer_hz) {
		pr_err("lapic: timer not calibrated, no tick on APIC %u\n", lapic_id());
		return;
	}
	count = lapic_timer_hz / hz;
	count = MAX(count, 1ull);
	count = MIN(count, (uint64_t)UINT32_MAX);
	lapic_write(APIC_REG_TIMER_DIV, APIC_TIMER_DIV_16);
	lapic_write(APIC_REG_LVT_TIMER, VEC_TIMER | APIC_LVT_TIMER_PERIODIC);
	lapic_write(APIC_REG_TIMER_INIT, (uint32_t)count);
}
