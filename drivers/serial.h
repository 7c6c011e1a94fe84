/* drivers/serial.h - 16550 UART console on COM1. */
#ifndef DRIVERS_SERIAL_H
#define DRIVERS_SERIAL_H

#include "kernel/compiler.h"

void serial_init(void);
/* Non-blocking read of one received byte; -1 if none. */
int serial_getc(void);
bool serial_present(void);
/* Interrupt on received data (IRQ 4); the caller routed the IRQ. */
void serial_enable_irq(void);

#endif
