/*
 * arch/x86_64/clock.c - reference clocks, TSC calibration, delays and ktime.
 *
 * What it does: the TSC is the kernel's clock (cheap, per CPU, no locks), but
 * its frequency is not architecturally reported everywhere, so clock_init()
 * measures it against a clock of known frequency, the "reference":
 *   1. HPET main counter (MMIO, period in femtoseconds in the capabilities
 *      register; read as 32 bits, which every HPET and QEMU accept);
 *   2. ACPI PM timer (I/O port from the FADT, 3.579545 MHz, 24 or 32 bits);
 *   3. PIT channel 2 (ports 0x42/0x43, gate bit 0 of port 0x61, mode 0 with
 *      count 0x10000, 1.193182 MHz, 16 bits; counts down and, in mode 0,
 *      keeps counting down past zero, so a latched read is a free-running
 *      counter).
 * A candidate is used only if it is seen ticking (an absent device reads as a
 * constant), so a missing HPET or a PM timer that the firmware lies about
 * falls through to the next one. If none ticks (hardware-reduced platforms
 * may lack all three), the CPUID frequency leaves are used, and failing
 * those a 4 GHz TSC is assumed, which makes delays too long, never too short.
 *
 * Every reference is modelled the same way: an up-counter of `mask` width
 * that wraps, read by one function; elapsed counts are (now - last) & mask,
 * accumulated often enough (every loop iteration) that no wrap is missed.
 *
 * Calibration: three windows of CAL_WINDOW_MS, each bracketed by TSC reads
 * on both sides of the reference read (the tightest of a few tries), and the
 * median result kept, so a vCPU preempted in the middle of a window or a slow
 * emulated port read does not skew the answer. Under QEMU TCG the TSC follows
 * the host TSC and HPET/PM timer follow host time, so the numbers are the
 * host's and sane.
 *
 * ktime_get_ns() converts TSC cycles with a 32.32 fixed-point multiplier
 * (128-bit product, no division), so it is a few cycles and never overflows
 * in practice. Whether the TSC is invariant (CPUID 0x80000007 EDX bit 8) is
 * logged: without it, ktime drifts if the CPU changes frequency.
 *
 * Concurrency: clock_init() runs on the BSP before any AP starts; afterwards
 * all state here is read-only, so there are no locks. Before clock_init(),
 * udelay() reads the reference directly; only the BSP runs then (the PIT
 * latch sequence is not safe against concurrent readers).
 */
#include "arch/x86_64/clock.h"
#include "arch/arch.h"
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/asm.h"
#include "kernel/printk.h"
#include "mm/vmalloc.h"

uint64_t tsc_khz; /* declared in arch/arch.h */

#define USEC_PER_SEC 1000000ull
#define FSEC_PER_SEC 1000000000000000ull

#define CAL_WINDOW_MS	 10
#define CAL_ROUNDS	 3
#define SAMPLE_TRIES	 3
#define TICK_PROBE_READS 100000	    /* reads before declaring a clock dead */
#define ASSUMED_TSC_KHZ	 4000000ull /* last resort: delays err on the long side */

/* ACPI PM timer */
#define PM_TIMER_HZ	 3579545ull
#define PM_TIMER_MASK_24 0x00ffffffu
#define PM_TIMER_MASK_32 0xffffffffu

/* HPET registers (byte offsets, accessed as 32-bit) */
#define HPET_MMIO_SIZE	   0x400
#define HPET_REG_PERIOD	   0x004 /* high half of capabilities: period in fs */
#define HPET_REG_CONFIG	   0x010
#define HPET_REG_COUNTER   0x0f0 /* low 32 bits of the main counter */
#define HPET_CFG_ENABLE	   0x1
#define HPET_MAX_PERIOD_FS 100000000u /* spec: at most 100 ns */

/* PIT channel 2 */
#define PIT_HZ		       1193182ull
#define PIT_CH2_DATA	       0x42
#define PIT_COMMAND	       0x43
#define PIT_CONTROL_PORT       0x61 /* bit 0 gate of channel 2, bit 1 speaker */
#define PIT_CTRL_GATE2	       0x01
#define PIT_CTRL_SPEAKER       0x02
#define PIT_CMD_CH2_LOHI_MODE0 0xb0 /* channel 2, lo then hi byte, mode 0, binary */
#define PIT_CMD_CH2_LATCH      0x80
#define PIT_MASK	       0xffffu

/* ktime fixed point */
#define KTIME_SHIFT 32

struct clock_ref {
	const char *name;
	uint32_t (*read)(void); /* counts up, wraps at mask */
	uint32_t mask;
	uint64_t hz;
};

static struct clock_ref ref;  /* the chosen reference; ref.read == NULL: none */
static bool early_ref_probed; /* udelay() before clock_init() looked for one */
static const char *tsc_source = "nothing";
static uint64_t ktime_mult;  /* ns = cycles * ktime_mult >> KTIME_SHIFT */
static uint64_t ktime_epoch; /* TSC at clock_init() */

/* ---- the reference clocks ----------------------------------------------- */

static volatile uint32_t *hpet_mmio;
static uint16_t pm_timer_port;

static uint32_t hpet_read(void)
{
	return hpet_mmio[HPET_REG_COUNTER / 4];
}
static uint32_t pm_timer_read(void)
{
	return inl(pm_timer_port);
}

static uint32_t pit_read(void)
{
	uint8_t lo, hi;

	outb(PIT_COMMAND, PIT_CMD_CH2_LATCH);
	lo = inb(PIT_CH2_DATA);
	hi = inb(PIT_CH2_DATA);
	return PIT_MASK - ((uint32_t)hi << 8 | lo); /* turn the down-count into an up-count */
}

/* A clock that never changes over many reads is absent or dead. */
static bool ref_ticks(const struct clock_ref *r)
{
	uint32_t first = r->read() & r->mask;

	for (int i = 0; i < TICK_PROBE_READS; i++)
		if ((r->read() & r->mask) != first)
			return true;
	pr_warn("clock: %s does not tick, not using it\n", r->name);
	return false;
}

static bool hpet_probe(struct clock_ref *r)
{
	uint32_t period, cfg;

	if (!acpi.hpet_phys)
		return false;
	if (!hpet_mmio)
		hpet_mmio = ioremap(acpi.hpet_phys, HPET_MMIO_SIZE);
	if (!hpet_mmio) {
		pr_warn("clock: cannot map the HPET at 0x%lx\n", acpi.hpet_phys);
		return false;
	}
	period = hpet_mmio[HPET_REG_PERIOD / 4];
	if (period == 0 || period > HPET_MAX_PERIOD_FS) {
		pr_warn("clock: HPET reports period %u fs, not using it\n", period);
		return false;
	}
	cfg = hpet_mmio[HPET_REG_CONFIG / 4];
	if (!(cfg & HPET_CFG_ENABLE))
		hpet_mmio[HPET_REG_CONFIG / 4] = cfg | HPET_CFG_ENABLE;
	*r = (struct clock_ref){ "HPET", hpet_read, 0xffffffffu, FSEC_PER_SEC / period };
	return ref_ticks(r);
}

static bool pm_timer_probe(struct clock_ref *r)
{
	if (!acpi.pm_timer_port)
		return false;
	pm_timer_port = acpi.pm_timer_port;
	*r = (struct clock_ref){ "ACPI PM timer", pm_timer_read,
				 acpi.pm_timer_32bit ? PM_TIMER_MASK_32 : PM_TIMER_MASK_24,
				 PM_TIMER_HZ };
	return ref_ticks(r);
}

static bool pit_probe(struct clock_ref *r)
{
	uint8_t ctrl = inb(PIT_CONTROL_PORT);

	outb(PIT_CONTROL_PORT, (ctrl & ~PIT_CTRL_SPEAKER) | PIT_CTRL_GATE2);
	outb(PIT_COMMAND, PIT_CMD_CH2_LOHI_MODE0);
	outb(PIT_CH2_DATA, 0); /* count 0 = 0x10000 */
	outb(PIT_CH2_DATA, 0);
	*r = (struct clock_ref){ "PIT", pit_read, PIT_MASK, PIT_HZ };
	return ref_ticks(r);
}

/* Wait until the reference has advanced by `counts`. */
static void ref_wait(const struct clock_ref *r, uint64_t counts)
{
	uint32_t last = r->read();
	uint64_t done = 0;

	while (done < counts) {
		uint32_t now = r->read();

		done += (now - last) & r->mask;
		last = now;
		cpu_relax();
	}
}

/* Reference for udelay() before clock_init(): no HPET (ioremap may not work
 * yet), no log unless nothing ticks. */
static const struct clock_ref *early_ref(void)
{
	if (ref.read || early_ref_probed)
		return ref.read ? &ref : NULL;
	early_ref_probed = true;
	if (pm_timer_probe(&ref) || pit_probe(&ref))
		return &ref;
	ref.read = NULL;
	return NULL;
}

/* ---- TSC calibration ---------------------------------------------------- */

struct ref_sample {
	uint64_t tsc;	/* TSC at the moment of the read (midpoint of the bracket) */
	uint32_t count; /* reference counter */
};

/* The tightest of SAMPLE_TRIES TSC-bracketed reference reads. */
static struct ref_sample ref_sample(const struct clock_ref *r)
{
	struct ref_sample best = { 0, 0 };
	uint64_t best_gap = UINT64_MAX;

	for (int i = 0; i < SAMPLE_TRIES; i++) {
		uint64_t a = arch_cycles();
		uint32_t c = r->read();
		uint64_t b = arch_cycles();

		if (b - a < best_gap) {
			best_gap = b - a;
			best = (struct ref_sample){ a + (b - a) / 2, c };
		}
	}
	return best;
}

/* TSC kHz measured over one window of about `ms` of the reference. */
static uint64_t tsc_calibrate_once(const struct clock_ref *r, uint32_t ms)
{
	uint64_t target = r->hz * ms / 1000, counts = 0;
	struct ref_sample s0 = ref_sample(r), s1;
	uint32_t last = s0.count;

	while (counts < target) {
		uint32_t now = r->read();

		counts += (now - last) & r->mask;
		last = now;
	}
	s1 = ref_sample(r);
	counts += (s1.count - last) & r->mask;
	return mul_div_u64(s1.tsc - s0.tsc, r->hz, counts * 1000);
}

static uint64_t tsc_calibrate(const struct clock_ref *r)
{
	uint64_t v[CAL_ROUNDS];

	BUILD_BUG_ON(CAL_ROUNDS != 3);
	for (int i = 0; i < CAL_ROUNDS; i++)
		v[i] = tsc_calibrate_once(r, CAL_WINDOW_MS);
	return median3_u64(v[0], v[1], v[2]);
}

/* TSC frequency from CPUID, 0 if not reported. Hypervisor timing leaf
 * 0x40000010 (EAX = TSC kHz), else leaf 0x15 (crystal * ratio), else leaf
 * 0x16 (nominal base MHz, approximate). */
static uint64_t tsc_khz_from_cpuid(void)
{
	uint32_t a, b, c, d, max;

	cpuid_count(1, 0, &a, &b, &c, &d);
	if (c & (1u << 31)) { /* running under a hypervisor */
		cpuid_count(0x40000000, 0, &max, &b, &c, &d);
		if (max >= 0x40000010) {
			cpuid_count(0x40000010, 0, &a, &b, &c, &d);
			if (a)
				return a;
		}
	}
	cpuid_count(0, 0, &max, &b, &c, &d);
	if (max >= 0x15) {
		cpuid_count(0x15, 0, &a, &b, &c, &d);
		if (a && b && c)
			return mul_div_u64(c, b, (uint64_t)a * 1000);
	}
	if (max >= 0x16) {
		cpuid_count(0x16, 0, &a, &b, &c, &d);
		if (a & 0xffff)
			return (uint64_t)(a & 0xffff) * 1000;
	}
	return 0;
}

static bool tsc_invariant(void)
{
	uint32_t max, b, c, d;

	cpuid_count(0x80000000, 0, &max, &b, &c, &d);
	if (max < 0x80000007)
		return false;
	cpuid_count(0x80000007, 0, &max, &b, &c, &d);
	return d & (1u << 8);
}

/* ---- public interface --------------------------------------------------- */

static bool ref_choose(void)
{
	if (hpet_probe(&ref) || pm_timer_probe(&ref) || pit_probe(&ref))
		return true;
	ref.read = NULL;
	return false;
}

static void tsc_set_khz(void)
{
	uint64_t khz = 0;

	if (ref.read) {
		khz = tsc_calibrate(&ref);
		tsc_source = ref.name;
	}
	if (!khz) {
		khz = tsc_khz_from_cpuid();
		tsc_source = "CPUID frequency leaves";
	}
	if (!khz) {
		khz = ASSUMED_TSC_KHZ;
		tsc_source = "nothing (assumed)";
		pr_err("clock: no reference clock and no CPUID frequency: assuming a %lu MHz TSC\n",
		       khz / 1000);
	}
	tsc_khz = khz;
	ktime_mult = mul_div_u64(USEC_PER_SEC, 1ull << KTIME_SHIFT, khz);
	ktime_epoch = arch_cycles();
}

void clock_init(void)
{
	if (!ref_choose())
		pr_warn("clock: no HPET, PM timer or PIT ticks\n");
	tsc_set_khz();
	lapic_timer_calibrate();
	if (lapic_timer_hz)
		pr_info("clock: TSC %lu MHz, LAPIC timer %lu MHz bus / %u calibrated against %s\n",
			tsc_khz / 1000,
			(unsigned long)(lapic_timer_hz * LAPIC_TIMER_DIVIDE / USEC_PER_SEC),
			LAPIC_TIMER_DIVIDE, tsc_source);
	else
		pr_info("clock: TSC %lu MHz calibrated against %s, LAPIC timer not calibrated\n",
			tsc_khz / 1000, tsc_source);
	if (!tsc_invariant())
		pr_info("clock: TSC not reported invariant: ktime may drift if the CPU clock "
			"changes\n");
}

const char *clock_ref_name(void)
{
	return tsc_source;
}

uint64_t ktime_get_ns(void)
{
	uint64_t d = arch_cycles() - ktime_epoch;

	if (!ktime_mult || (int64_t)d < 0) /* before clock_init, or a TSC behind the BSP's */
		return 0;
	return (uint64_t)(((unsigned __int128)d * ktime_mult) >> KTIME_SHIFT);
}

static void tsc_spin(uint64_t cycles)
{
	uint64_t start = arch_cycles();

	while (arch_cycles() - start < cycles)
		cpu_relax();
}

void udelay(uint64_t us)
{
	const struct clock_ref *r;

	if (tsc_khz) {
		tsc_spin(mul_div_u64(us, tsc_khz, 1000));
		return;
	}
	r = early_ref();
	if (r)
		ref_wait(r, mul_div_u64(us, r->hz, USEC_PER_SEC) + 1);
	else
		tsc_spin(mul_div_u64(us, ASSUMED_TSC_KHZ, 1000));
}

void mdelay(uint64_t ms)
{
	udelay(ms * 1000);
}
