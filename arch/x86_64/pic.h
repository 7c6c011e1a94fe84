/*
 * arch/x86_64/pic.h - the legacy 8259A PIC pair, taken out of the way at
 * boot (see the comment at the top of pic.c for why and how).
 */
#ifndef ARCH_X86_64_PIC_H
#define ARCH_X86_64_PIC_H

#include "kernel/compiler.h"

/* Where the 8259s deliver after pic_init() (Linux's ISA_IRQ_VECTOR(0)). */
#define PIC_MASTER_VECTOR 0x30 /* IRQ 0-7  -> 0x30-0x37 */
#define PIC_SLAVE_VECTOR  0x38 /* IRQ 8-15 -> 0x38-0x3f */
#define PIC_NR_IRQS	  16

/*
 * BSP, interrupts off, right after the IDT exists (arch_early_init): install
 * the stray-interrupt handlers on vectors 0x30-0x3f, reprogram both 8259s to
 * deliver there (ICW1-4), then mask all 16 lines. Logs what the firmware had
 * left unmasked. Harmless when there is no PIC (the probe says so).
 */
void pic_init(void);

/* True if the probe found an 8259 (the IMR kept what was written to it). */
bool pic_present(void);

/* The live registers, master in bits 0-7, slave in bits 8-15 (0 without a PIC). */
uint16_t pic_read_imr(void); /* mask: 1 = masked */
uint16_t pic_read_irr(void); /* requested */
uint16_t pic_read_isr(void); /* in service */

/* Interrupts that reached vectors 0x30-0x3f: real ones per IRQ line, and the
 * spurious IRQ 7 / IRQ 15 the 8259 answers when a request went away. */
uint64_t pic_irq_count(unsigned irq);
uint64_t pic_spurious_count(void);

/* For tests: unmask (true) or mask (false) one line. Everything else keeps
 * every line masked. */
void pic_set_masked(unsigned irq, bool masked);

#endif
