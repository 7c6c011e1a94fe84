/*
 * arch/x86_64/ioapic.c - route an ISA interrupt (the keyboard's IRQ 1, COM1's
 * IRQ 4) through the I/O APIC to one CPU, for the console tty.
 *
 * Facts (Intel 82093AA datasheet; ACPI 6.4 5.2.12): an I/O APIC is 32-bit
 * MMIO, an index register IOREGSEL at +0x00 and a data window IOWIN at
 * +0x10; register 1 holds the version and, in bits 16-23, the last
 * redirection entry; entry n is registers 0x10 + 2n (low: vector 0-7,
 * delivery mode 8-10 (000 fixed), destination mode 11 (0 physical),
 * polarity 13 (1 active low), trigger 15 (1 level), mask 16) and 0x11 + 2n
 * (high: the destination APIC id in bits 24-31). The MADT lists the I/O
 * APICs with their first global system interrupt (GSI) and the interrupt
 * source overrides: ISA IRQ n arrives at GSI n, edge triggered and active
 * high, unless an override says otherwise (QEMU: IRQ 0 -> GSI 2, and the
 * PCI ones; IRQ 1 and 4 are identity).
 *
 * The kernel has no general interrupt layer: the 8259 stays masked
 * (pic.c), the timer and IPIs are the local APIC's. ioapic_route_isa_irq
 * only unmasks the one entry it is asked for, to the calling CPU (the BSP
 * at boot); arch/x86_64/trap.c sends the vector to the tty (kernel/tty.c,
 * tty_irq). Not locked: called once per IRQ at boot, before the APs run.
 */
#include "arch/x86_64/ioapic.h"
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/apic.h"
#include "kernel/printk.h"
#include "mm/vmalloc.h"

#define IOREGSEL 0x00
#define IOWIN	 0x10
#define REG_VER	 0x01
#define REG_RED	 0x10

#define RED_POLARITY_LOW (1u << 13)
#define RED_LEVEL	 (1u << 15)
#define RED_MASKED	 (1u << 16)

extern struct acpi_info acpi;

static uint32_t ioapic_read(volatile uint32_t *base, uint32_t reg)
{
	base[IOREGSEL / 4] = reg;
	return base[IOWIN / 4];
}

static void ioapic_write(volatile uint32_t *base, uint32_t reg, uint32_t v)
{
	base[IOREGSEL / 4] = reg;
	base[IOWIN / 4] = v;
}

static volatile uint32_t *mapped[ACPI_MAX_IOAPICS];

bool ioapic_route_isa_irq(unsigned irq, uint8_t vector)
{
	uint32_t gsi = irq;
	uint32_t low = vector; /* fixed, physical, edge, active high */
	for (uint32_t i = 0; i < acpi.nr_isos; i++) {
		const struct acpi_iso *o = &acpi.isos[i];
		if (o->bus != 0 || o->source != irq)
			continue;
		gsi = o->gsi;
		if ((o->flags & 3) == 3)
			low |= RED_POLARITY_LOW;
		if (((o->flags >> 2) & 3) == 3)
			low |= RED_LEVEL;
	}
	for (uint32_t i = 0; i < acpi.nr_ioapics; i++) {
		const struct acpi_ioapic *a = &acpi.ioapics[i];
		if (gsi < a->gsi_base)
			continue;
		if (!mapped[i])
			mapped[i] = ioremap(a->phys, 4096);
		volatile uint32_t *base = mapped[i];
		if (!base)
			return false;
		uint32_t entries = ((ioapic_read(base, REG_VER) >> 16) & 0xff) + 1;
		uint32_t pin = gsi - a->gsi_base;
		if (pin >= entries)
			continue;
		ioapic_write(base, REG_RED + 2 * pin, RED_MASKED);
		ioapic_write(base, REG_RED + 2 * pin + 1, lapic_id() << 24);
		ioapic_write(base, REG_RED + 2 * pin, low);
		printk(
		    "ioapic: ISA IRQ %u -> GSI %u (I/O APIC %u pin %u) -> vector %#x on APIC %u\n",
		    irq, gsi, a->id, pin, vector, lapic_id());
		return true;
	}
	return false;
}
