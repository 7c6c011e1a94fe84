/*
 * drivers/serial.c - 16550 UART on COM1 (I/O port 0x3f8), 115200 8N1.
 * Output is the kernel's primary console (printk), polled; input feeds the
 * monitor, which polls serial_getc(), and the console tty (kernel/tty.c),
 * which reads it from IRQ 4 once serial_enable_irq() turned on the
 * received-data interrupt (and OUT2, which gates the IRQ line on a PC). If no UART answers (scratch register
 * test), output is dropped instead of spinning forever on a missing device.
 */
#include "drivers/serial.h"
#include "kernel/printk.h"
#include "arch/x86_64/asm.h"

#define COM1	       0x3f8
#define REG_DATA       0
#define REG_IER	       1
#define REG_FCR	       2
#define REG_LCR	       3
#define REG_MCR	       4
#define REG_LSR	       5
#define REG_SCRATCH    7
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY  0x20

static bool present;

static void serial_putc(char c)
{
	for (int i = 0; i < 100000 && !(inb(COM1 + REG_LSR) & LSR_THR_EMPTY); i++)
		__asm__ __volatile__("pause");
	outb(COM1 + REG_DATA, (uint8_t)c);
}

static void serial_write(const char *s, size_t n)
{
	if (!present)
		return;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			serial_putc('\r');
		serial_putc(s[i]);
	}
}

static struct console serial_console = { .name = "serial", .write = serial_write };

void serial_init(void)
{
	outb(COM1 + REG_SCRATCH, 0x5a);
	if (inb(COM1 + REG_SCRATCH) != 0x5a)
		return;
	outb(COM1 + REG_IER, 0x00);
	outb(COM1 + REG_LCR, 0x80); /* DLAB: divisor 1 = 115200 */
	outb(COM1 + 0, 0x01);
	outb(COM1 + 1, 0x00);
	outb(COM1 + REG_LCR, 0x03); /* 8N1 */
	outb(COM1 + REG_FCR, 0xc7); /* FIFO on, cleared, 14-byte threshold */
	outb(COM1 + REG_MCR, 0x03); /* DTR, RTS */
	present = true;
	register_console(&serial_console);
}

bool serial_present(void)
{
	return present;
}

void serial_enable_irq(void)
{
	if (!present)
		return;
	outb(COM1 + REG_FCR, 0x01); /* FIFO on, 1-byte threshold (nothing cleared) */
	outb(COM1 + REG_MCR, 0x0b); /* DTR, RTS, OUT2: the IRQ line on a PC */
	outb(COM1 + REG_IER, 0x01); /* received data available */
	(void)inb(COM1 + 2);	    /* IIR: clear what is pending */
}

int serial_getc(void)
{
	if (!present || !(inb(COM1 + REG_LSR) & LSR_DATA_READY))
		return -1;
	return inb(COM1 + REG_DATA);
}
