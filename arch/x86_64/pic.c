/*
 * arch/x86_64/pic.c - the legacy 8259A PIC pair: remapped, masked, and its
 * stray interrupts absorbed.
 *
 * Why the kernel must do this itself: this kernel takes every interrupt
 * through the local APIC (timer, IPIs) and never uses the two 8259s, but it
 * cannot assume the firmware left them quiet. A PC BIOS (and GRUB after it)
 * programs the master 8259 to vectors 0x08-0x0f, the real-mode layout, with
 * the PIT on IRQ 0 unmasked and ticking at 18.2 Hz; OVMF uses 0x68-0x6f and
 * 0x70-0x77. The 8259's INTR output reaches the CPU through LAPIC LINT0,
 * which firmware leaves in ExtINT ("virtual wire") mode, so the first `sti`
 * after a BIOS boot takes the PIT tick on vector 8, where it looks exactly
 * like a double fault (no error code is pushed, so the frame is even
 * misread). Masking LINT0 alone is not enough: emulators (Bochs) and some
 * chipsets feed the 8259 output to the CPU no matter what LINT0 says.
 *
 * What Linux does, and what this file does the same way:
 *   - arch/x86/kernel/i8259.c, init_8259A(): mask both IMRs, then ICW1
 *     (0x11: edge, cascade, ICW4 follows), ICW2 = ISA_IRQ_VECTOR(0) = 0x30
 *     for the master and 0x38 for the slave (the first vectors above the
 *     exceptions that Linux keeps for the ISA IRQs), ICW3 (slave on IR2),
 *     ICW4 (8086 mode, normal EOI), a short delay, and the mask written back.
 *     ICW1 clears the IMR, so the mask must be written again *after* the
 *     initialisation words; writing it before only closes the window while
 *     the words go out. Each access is followed by a write to port 0x80
 *     (outb_pic: slow_down_io) for old parts that need recovery time.
 *   - probe_8259A(): write a mask and read it back; a missing PIC reads 0xff
 *     whatever was written, and then nothing here touches it again.
 *   - An interrupt the 8259 had already raised still arrives after the
 *     reprogramming: as IRQ n on the new vector 0x30 + n, or - when the
 *     request went away (it was masked) between INTR and the CPU's INTA
 *     cycle - as a *spurious* IRQ 7 (or IRQ 15 on the slave), which the
 *     8259 reports without setting its in-service bit. Linux checks the ISR
 *     for exactly that (i8259.c, mask_and_ack_8259A: "spurious 8259A
 *     interrupt") and sends no EOI for it, except to the master for a
 *     spurious slave interrupt, since the cascade line IR2 was acknowledged.
 *     Here vectors 0x30-0x3f get their own small handlers that do just that:
 *     count, EOI the 8259 (never the LAPIC: an ExtINT delivery does not set
 *     the LAPIC in-service bit) and return. No printk: they may run at any
 *     time, even with a console lock held by the interrupted code.
 *   - arch/x86/kernel/apic/apic.c, setup_local_APIC(): LINT0 is ExtINT and
 *     masked ("masked ExtINT on CPU#n") unless the 8259 is actually used,
 *     LINT1 is NMI on the boot CPU only. apic.c's lapic_init() does that on
 *     every CPU (arch/x86_64/apic.c, lapic_setup_lint).
 *
 * Order at boot (arch_early_init, interrupts off): idt_init() fills every
 * gate with the generic stubs; pic_init() then points 0x30-0x3f at the
 * handlers below, reprograms the chips and masks every line. Nothing here
 * depends on the LAPIC, so it is done before anything could enable
 * interrupts.
 *
 * Concurrency: pic_init() runs once on the BSP before any AP. The counters
 * are atomics. pic_set_masked() (tests only) does a read-modify-write of an
 * IMR under pic_lock with interrupts off; the handlers write only the
 * command ports (EOI, OCW3 read of the ISR), which needs no lock as long as
 * only one CPU (the BSP, where ExtINT arrives) handles 8259 interrupts.
 */
#include "arch/x86_64/pic.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/asm.h"
#include "arch/x86_64/cpu.h"
#include "kernel/printk.h"
#include "kernel/spinlock.h"

#define PIC_MASTER_CMD 0x20
#define PIC_MASTER_IMR 0x21
#define PIC_SLAVE_CMD  0xa0
#define PIC_SLAVE_IMR  0xa1
#define PIC_CASCADE_IR 2
#define IO_DELAY_PORT  0x80

#define ICW1_INIT_ICW4	   0x11 /* edge triggered, cascade, ICW4 follows */
#define ICW4_8086	   0x01 /* 8086 mode, normal EOI, not buffered */
#define OCW2_SPECIFIC_EOI  0x60 /* | IR level */
#define OCW3_READ_IRR	   0x0a
#define OCW3_READ_ISR	   0x0b
#define PIC_SPURIOUS_LEVEL 7
#define PIC_PROBE_MASK	   ((uint8_t) ~(1u << PIC_CASCADE_IR))

static bool have_pic;
static uint64_t irq_counts[PIC_NR_IRQS];
static uint64_t spurious_count;
static DEFINE_SPINLOCK(pic_lock);

static void outb_pic(uint8_t v, uint16_t port)
{
	outb(port, v);
	outb(IO_DELAY_PORT, 0); /* Linux's slow_down_io() */
}

static uint8_t read_ocw3(uint16_t cmd_port, uint8_t ocw3)
{
	outb(cmd_port, ocw3);
	return inb(cmd_port);
}

bool pic_present(void)
{
	return have_pic;
}

uint16_t pic_read_imr(void)
{
	if (!have_pic)
		return 0;
	return (uint16_t)(inb(PIC_MASTER_IMR) | inb(PIC_SLAVE_IMR) << 8);
}

uint16_t pic_read_irr(void)
{
	if (!have_pic)
		return 0;
	return (uint16_t)(read_ocw3(PIC_MASTER_CMD, OCW3_READ_IRR) |
			  read_ocw3(PIC_SLAVE_CMD, OCW3_READ_IRR) << 8);
}

uint16_t pic_read_isr(void)
{
	if (!have_pic)
		return 0;
	return (uint16_t)(read_ocw3(PIC_MASTER_CMD, OCW3_READ_ISR) |
			  read_ocw3(PIC_SLAVE_CMD, OCW3_READ_ISR) << 8);
}

uint64_t pic_irq_count(unsigned irq)
{
	return irq < PIC_NR_IRQS ? __atomic_load_n(&irq_counts[irq], __ATOMIC_RELAXED) : 0;
}

uint64_t pic_spurious_count(void)
{
	return __atomic_load_n(&spurious_count, __ATOMIC_RELAXED);
}

void pic_set_masked(unsigned irq, bool masked)
{
	if (!have_pic || irq >= PIC_NR_IRQS)
		return;
	uint16_t port = irq < 8 ? PIC_MASTER_IMR : PIC_SLAVE_IMR;
	uint8_t bit = (uint8_t)(1u << (irq & 7));
	unsigned long f = spin_lock_irqsave(&pic_lock);
	uint8_t imr = inb(port);
	outb(port, masked ? (uint8_t)(imr | bit) : (uint8_t)(imr & ~bit));
	if (!masked && irq >= 8) { /* the slave reaches the CPU through IR2 */
		imr = inb(PIC_MASTER_IMR);
		outb(PIC_MASTER_IMR, (uint8_t)(imr & ~(1u << PIC_CASCADE_IR)));
	}
	spin_unlock_irqrestore(&pic_lock, f);
}

/* ---- the stray-interrupt handlers ----------------------------------------- */

/* IRQ `irq` arrived on PIC_MASTER_VECTOR + irq: spurious check, count, EOI. */
static void pic_handle(unsigned irq)
{
	bool slave = irq >= 8;
	uint16_t cmd = slave ? PIC_SLAVE_CMD : PIC_MASTER_CMD;

	if ((irq & 7) == PIC_SPURIOUS_LEVEL &&
	    !(read_ocw3(cmd, OCW3_READ_ISR) & (1u << PIC_SPURIOUS_LEVEL))) {
		__atomic_fetch_add(&spurious_count, 1, __ATOMIC_RELAXED);
		if (slave) /* the master did acknowledge the cascade line */
			outb(PIC_MASTER_CMD, OCW2_SPECIFIC_EOI | PIC_CASCADE_IR);
		return;
	}
	__atomic_fetch_add(&irq_counts[irq], 1, __ATOMIC_RELAXED);
	if (slave) {
		outb(PIC_SLAVE_CMD, OCW2_SPECIFIC_EOI | (irq & 7));
		outb(PIC_MASTER_CMD, OCW2_SPECIFIC_EOI | PIC_CASCADE_IR);
	} else {
		outb(PIC_MASTER_CMD, OCW2_SPECIFIC_EOI | irq);
	}
}

/*
 * One entry per vector. GCC's interrupt attribute saves every register the
 * function (and what it calls) may touch and returns with iretq; no error
 * code is pushed for these vectors. The kernel is built with
 * -mgeneral-regs-only, so there is no SSE state to save. They do not go
 * through trap_dispatch: no scheduler work, no LAPIC EOI, nothing that could
 * take a lock.
 */
struct interrupt_frame;
#define PIC_ENTRY(n)                                          \
	__attribute__((interrupt)) static void pic_entry_##n( \
	    struct interrupt_frame *frame __maybe_unused)     \
	{                                                     \
		pic_handle(n);                                \
	}
PIC_ENTRY(0)
PIC_ENTRY(1)
PIC_ENTRY(2)
PIC_ENTRY(3)
PIC_ENTRY(4)
PIC_ENTRY(5)
PIC_ENTRY(6)
PIC_ENTRY(7)
PIC_ENTRY(8)
PIC_ENTRY(9)
PIC_ENTRY(10)
PIC_ENTRY(11)
PIC_ENTRY(12)
PIC_ENTRY(13)
PIC_ENTRY(14)
PIC_ENTRY(15)

static void (*const pic_entries[PIC_NR_IRQS])(struct interrupt_frame *) = {
	pic_entry_0,  pic_entry_1,  pic_entry_2,  pic_entry_3,	pic_entry_4,  pic_entry_5,
	pic_entry_6,  pic_entry_7,  pic_entry_8,  pic_entry_9,	pic_entry_10, pic_entry_11,
	pic_entry_12, pic_entry_13, pic_entry_14, pic_entry_15,
};

/* ---- initialisation -------------------------------------------------------- */

/* probe_8259A(): a real IMR keeps what is written to it; no PIC reads 0xff. */
static bool pic_probe(void)
{
	outb(PIC_SLAVE_IMR, 0xff);
	outb(PIC_MASTER_IMR, PIC_PROBE_MASK);
	return inb(PIC_MASTER_IMR) == PIC_PROBE_MASK;
}

void pic_init(void)
{
	uint8_t fw_master = inb(PIC_MASTER_IMR), fw_slave = inb(PIC_SLAVE_IMR);

	/* Handlers first: whatever the chips deliver from now on is absorbed. */
	for (unsigned irq = 0; irq < PIC_NR_IRQS; irq++)
		idt_set_gate(PIC_MASTER_VECTOR + irq, pic_entries[irq]);
	if (!pic_probe()) {
		printk("pic: no 8259 answers (IMR reads %#x): nothing to mask\n",
		       inb(PIC_MASTER_IMR));
		return;
	}
	have_pic = true;
	/* init_8259A(): mask, ICW1-4 on each chip, then the mask again (ICW1
	 * cleared it). */
	outb(PIC_MASTER_IMR, 0xff);
	outb(PIC_SLAVE_IMR, 0xff);
	outb_pic(ICW1_INIT_ICW4, PIC_MASTER_CMD);
	outb_pic(PIC_MASTER_VECTOR, PIC_MASTER_IMR);	/* ICW2 */
	outb_pic(1u << PIC_CASCADE_IR, PIC_MASTER_IMR); /* ICW3: slave on IR2 */
	outb_pic(ICW4_8086, PIC_MASTER_IMR);		/* ICW4 */
	outb_pic(ICW1_INIT_ICW4, PIC_SLAVE_CMD);
	outb_pic(PIC_SLAVE_VECTOR, PIC_SLAVE_IMR); /* ICW2 */
	outb_pic(PIC_CASCADE_IR, PIC_SLAVE_IMR);   /* ICW3: cascade identity */
	outb_pic(ICW4_8086, PIC_SLAVE_IMR);	   /* ICW4 */
	for (int i = 0; i < 100; i++)		   /* ~100 us: let them settle */
		outb(IO_DELAY_PORT, 0);
	outb(PIC_MASTER_IMR, 0xff);
	outb(PIC_SLAVE_IMR, 0xff);
	/* Leave the command ports reading the IRR (the power-on default). */
	outb(PIC_MASTER_CMD, OCW3_READ_IRR);
	outb(PIC_SLAVE_CMD, OCW3_READ_IRR);
	printk("pic: 8259 IMR was %#04x/%#04x (0 = unmasked line); remapped to vectors "
	       "%#x/%#x, all 16 lines masked (IMR now %#06x)\n",
	       fw_master, fw_slave, PIC_MASTER_VECTOR, PIC_SLAVE_VECTOR, pic_read_imr());
}
