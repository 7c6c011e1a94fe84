/* arch/x86_64/ioapic.h - ISA interrupts through the I/O APIC (ioapic.c). */
#ifndef ARCH_X86_64_IOAPIC_H
#define ARCH_X86_64_IOAPIC_H

#include "kernel/compiler.h"

/* The vectors of the console tty's interrupts (kernel/tty.c). */
#define VEC_IRQ_KBD  0x41 /* ISA IRQ 1: the i8042 keyboard */
#define VEC_IRQ_COM1 0x44 /* ISA IRQ 4: COM1 */

/* Deliver ISA IRQ irq (MADT overrides applied) as `vector` to the calling
 * CPU. false: no I/O APIC serves it (nothing changed). */
bool ioapic_route_isa_irq(unsigned irq, uint8_t vector);

#endif
