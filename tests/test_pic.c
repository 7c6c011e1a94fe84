/*
 * tests/test_pic.c - the legacy 8259 PIC is out of the way (arch/x86_64/pic.c)
 * and LAPIC LINT0 is masked on every CPU (arch/x86_64/apic.c).
 *
 *   masked_after_boot       both IMRs read 0xff and nothing is in service;
 *   lint0_masked_every_cpu  LVT LINT0 is ExtINT + masked on every CPU; the
 *                           NMI pin (LINT1 unless the MADT names LINT0) is
 *                           NMI, unmasked on CPU 0 and masked elsewhere;
 *   irq0_on_remapped_vector a real PIT interrupt, let through on purpose
 *                           (LINT0 opened on CPU 0, IRQ 0 unmasked, PIT
 *                           channel 0 one-shot), arrives on vector 0x30, is
 *                           counted and acknowledged; without the remap it
 *                           would come in on the firmware's vector (8 after a
 *                           BIOS: a "double fault"). Then everything is
 *                           masked again.
 */
#include "tests/ktest.h"
#include "arch/arch.h"
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/asm.h"
#include "arch/x86_64/clock.h"
#include "arch/x86_64/pic.h"
#include "kernel/percpu.h"
#include "kernel/smp.h"

/* The MADT says there are 8259s (PCAT_COMPAT): pic_init() must have found
 * and handled them. Neither: nothing to test. */
static bool have_pic(struct ktest *t)
{
	if (!acpi.pcat_compat && !pic_present())
		return false;
	KEXPECT_TRUE(t, pic_present());
	return true;
}

static void masked_after_boot(struct ktest *t)
{
	if (!have_pic(t))
		KTEST_SKIP(t, "no 8259 PIC on this machine (MADT PCAT_COMPAT clear)");
	KEXPECT_EQ(t, pic_read_imr(), 0xffff);
	KEXPECT_EQ(t, pic_read_isr(), 0);
	ktest_log(t, "IMR %#06x IRR %#06x ISR %#06x, %lu spurious", pic_read_imr(), pic_read_irr(),
		  pic_read_isr(), pic_spurious_count());
}

/* Which LINT pin the MADT wires to NMI for CPU 0 (default LINT1). */
static int nmi_pin_of_bsp(void)
{
	uint32_t id = cpus[0].apic_id;
	int idx = acpi_cpu_index(id);
	for (uint32_t i = 0; i < acpi.nr_lapic_nmis; i++) {
		const struct acpi_lapic_nmi *n = &acpi.lapic_nmis[i];
		if (n->uid == ACPI_UID_ALL_CPUS_32 || (idx >= 0 && n->uid == acpi.cpus[idx].uid))
			return n->lint;
	}
	return 1;
}

static uint32_t lint_seen[NR_CPUS][2];

static void read_lints(void *arg, int cpu)
{
	unsigned long f = local_irq_save();
	lint_seen[cpu][0] = lapic_read_lvt_lint(0);
	lint_seen[cpu][1] = lapic_read_lvt_lint(1);
	local_irq_restore(f);
}

static void lint0_masked_every_cpu(struct ktest *t)
{
	int nmi_pin = nmi_pin_of_bsp();
	ktest_on_each_cpu_thread(read_lints, NULL);
	for_each_online_cpu (c) {
		uint32_t extint = lint_seen[c][nmi_pin ? 0 : 1];
		uint32_t nmi = lint_seen[c][nmi_pin];
		KEXPECT_TRUE(t, extint & LAPIC_LVT_MASKED);
		KEXPECT_EQ(t, LAPIC_LVT_DM(extint), LAPIC_LVT_DM_EXTINT);
		KEXPECT_EQ(t, LAPIC_LVT_DM(nmi), LAPIC_LVT_DM_NMI);
		if (c == 0)
			KEXPECT_FALSE(t, nmi & LAPIC_LVT_MASKED);
		else
			KEXPECT_TRUE(t, nmi & LAPIC_LVT_MASKED);
	}
	ktest_log(t, "CPU 0: LINT0 %#x LINT1 %#x (%s mode)", lint_seen[0][0], lint_seen[0][1],
		  lapic_is_x2apic() ? "x2APIC" : "xAPIC");
}

#define PIT_CH0_DATA	    0x40
#define PIT_COMMAND	    0x43
#define PIT_CMD_CH0_LOHI_M0 0x30 /* channel 0, lo/hi byte, mode 0, binary */
#define PIT_ONE_MS	    1193
#define IRQ0_WAIT_MS	    200

static void irq0_on_remapped_vector(struct ktest *t)
{
	if (!have_pic(t))
		KTEST_SKIP(t, "no 8259 PIC on this machine (MADT PCAT_COMPAT clear)");
	if (nmi_pin_of_bsp() == 0)
		KTEST_SKIP(t, "the MADT wires NMI to LINT0: no ExtINT path to test");
	sched_migrate(0); /* ExtINT is delivered to the BSP only */
	KASSERT_EQ(t, cpu_id(), 0);
	uint64_t before = pic_irq_count(0), spurious = pic_spurious_count();

	unsigned long f = local_irq_save();
	uint32_t lint0 = lapic_read_lvt_lint(0);
	lapic_set_lvt_lint0(LAPIC_LVT_DM_EXTINT << 8); /* unmasked virtual wire */
	outb(PIT_COMMAND, PIT_CMD_CH0_LOHI_M0);
	outb(PIT_CH0_DATA, PIT_ONE_MS & 0xff);
	outb(PIT_CH0_DATA, PIT_ONE_MS >> 8);
	pic_set_masked(0, false);
	local_irq_enable();
	for (int ms = 0; ms < IRQ0_WAIT_MS && pic_irq_count(0) == before; ms++)
		mdelay(1);
	local_irq_disable();
	pic_set_masked(0, true);
	lapic_set_lvt_lint0(lint0);
	local_irq_restore(f);

	KEXPECT_EQ(t, pic_irq_count(0) - before, 1);
	KEXPECT_EQ(t, pic_read_imr(), 0xffff);
	KEXPECT_EQ(t, pic_read_isr(), 0); /* acknowledged */
	ktest_log(t, "IRQ 0 counted %lu time(s) on vector %#x, %lu spurious",
		  pic_irq_count(0) - before, PIC_MASTER_VECTOR, pic_spurious_count() - spurious);
}

KTEST_SUITE(pic, KTEST_CASE(masked_after_boot), KTEST_CASE(lint0_masked_every_cpu),
	    KTEST_CASE(irq0_on_remapped_vector));
