/*
 * boot/console.c - serial (COM1) and ConOut output for the loader.
 *
 * The serial side programs the 16550 itself and polls the transmitter, so
 * it needs no firmware service and keeps working after ExitBootServices.
 * If no UART answers at 0x3F8 (a machine without COM1 reads 0xFF from every
 * register) serial output is skipped instead of spinning on a dead port.
 */
#include "boot/console.h"

#define COM1	      0x3F8
#define UART_THR      0	   /* transmit holding register (DLAB=0) */
#define UART_DLL      0	   /* divisor latch low (DLAB=1) */
#define UART_IER      1	   /* interrupt enable (DLAB=0) */
#define UART_DLM      1	   /* divisor latch high (DLAB=1) */
#define UART_FCR      2	   /* FIFO control */
#define UART_LCR      3	   /* line control */
#define UART_MCR      4	   /* modem control */
#define UART_LSR      5	   /* line status */
#define LSR_THRE      0x20 /* transmit holding register empty */
#define TX_SPIN_LIMIT 100000

static SIMPLE_TEXT_OUTPUT_INTERFACE *con_out; /* NULL after con_detach() */
static int serial_ok;

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* Program COM1 for 115200 baud, 8 data bits, no parity, 1 stop bit, FIFOs on,
 * interrupts off. */
static void serial_init(void)
{
	outb(COM1 + UART_IER, 0x00);
	outb(COM1 + UART_LCR, 0x80); /* DLAB: access the divisor */
	outb(COM1 + UART_DLL, 0x01); /* 115200 / 1 */
	outb(COM1 + UART_DLM, 0x00);
	outb(COM1 + UART_LCR, 0x03); /* 8N1, DLAB off */
	outb(COM1 + UART_FCR, 0xC7); /* enable + clear FIFOs, 14-byte trigger */
	outb(COM1 + UART_MCR, 0x03); /* DTR + RTS, OUT2 off: no IRQs */
	serial_ok = inb(COM1 + UART_LSR) != 0xFF;
}

static void serial_putc(char c)
{
	for (int i = 0; i < TX_SPIN_LIMIT; i++)
		if (inb(COM1 + UART_LSR) & LSR_THRE)
			break;
	outb(COM1 + UART_THR, (uint8_t)c);
}

static void serial_write(const char *s)
{
	if (!serial_ok)
		return;
	for (; *s; s++) {
		if (*s == '\n')
			serial_putc('\r');
		serial_putc(*s);
	}
}

/* ConOut wants UCS-2 and CR LF; convert in small chunks on the stack. */
static void conout_write(const char *s)
{
	CHAR16 chunk[130];
	size_t n = 0;

	if (!con_out)
		return;
	for (; *s; s++) {
		if (*s == '\n')
			chunk[n++] = L'\r';
		chunk[n++] = (CHAR16)(unsigned char)*s;
		if (n >= 128) {
			chunk[n] = 0;
			uefi_call_wrapper(con_out->OutputString, 2, con_out, chunk);
			n = 0;
		}
	}
	if (n) {
		chunk[n] = 0;
		uefi_call_wrapper(con_out->OutputString, 2, con_out, chunk);
	}
}

void con_init(EFI_SYSTEM_TABLE *st)
{
	serial_init();
	con_out = st->ConOut;
}

void con_detach(void)
{
	con_out = NULL;
}

void log_msg(const char *fmt, ...)
{
	char buf[512];
	__builtin_va_list ap;

	__builtin_va_start(ap, fmt);
	vfmt_buf(buf, sizeof(buf), fmt, ap);
	__builtin_va_end(ap);
	serial_write(buf);
	conout_write(buf);
}

void ucs2_to_ascii(char *dst, size_t cap, const CHAR16 *src)
{
	size_t i = 0;

	if (!cap)
		return;
	for (; src && src[i] && i + 1 < cap; i++)
		dst[i] = src[i] < 0x80 ? (char)src[i] : '?';
	dst[i] = 0;
}

/* ---- the formatter ----------------------------------------------------- */

struct out {
	char *buf;
	size_t cap, len; /* len counts every byte, even those that did not fit */
};

static void out_c(struct out *o, char c)
{
	if (o->len + 1 < o->cap)
		o->buf[o->len] = c;
	o->len++;
}

/* Emit v in base 10 or 16, right-aligned in width, padded with pad. */
static void out_num(struct out *o, uint64_t v, unsigned base, int neg, int width, char pad)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		tmp[n++] = '-';
	for (int i = n; i < width; i++)
		out_c(o, pad);
	while (n)
		out_c(o, tmp[--n]);
}

/* Fetch an integer argument of the given length (0 int, 1 long, 2 long long). */
#define FETCH(ap, lng, type)                                    \
	((lng) == 0 ? (type) __builtin_va_arg(ap, unsigned int) \
		    : (type) __builtin_va_arg(ap, unsigned long))

size_t vfmt_buf(char *buf, size_t cap, const char *fmt, __builtin_va_list ap)
{
	struct out o = { buf, cap, 0 };

	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			out_c(&o, *fmt);
			continue;
		}
		fmt++;
		char pad = ' ';
		int width = 0, lng = 0;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 'd': {
			int64_t v = lng ? (int64_t) __builtin_va_arg(ap, long)
					: (int64_t) __builtin_va_arg(ap, int);
			uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
			out_num(&o, mag, 10, v < 0, width, pad);
			break;
		}
		case 'u':
			out_num(&o, FETCH(ap, lng, uint64_t), 10, 0, width, pad);
			break;
		case 'x':
			out_num(&o, FETCH(ap, lng, uint64_t), 16, 0, width, pad);
			break;
		case 'p':
			out_c(&o, '0');
			out_c(&o, 'x');
			out_num(&o, (uint64_t) __builtin_va_arg(ap, void *), 16, 0, width, pad);
			break;
		case 'c':
			out_c(&o, (char)__builtin_va_arg(ap, int));
			break;
		case 's': {
			const char *s = __builtin_va_arg(ap, const char *);
			for (s = s ? s : "(null)"; *s; s++)
				out_c(&o, *s);
			break;
		}
		case '%':
			out_c(&o, '%');
			break;
		case 0:
			fmt--; /* a lone '%' at the end: stop at the NUL */
			break;
		default:
			out_c(&o, '%');
			out_c(&o, *fmt);
			break;
		}
	}
	if (cap)
		buf[o.len < cap ? o.len : cap - 1] = 0;
	return o.len;
}

size_t fmt_buf(char *buf, size_t cap, const char *fmt, ...)
{
	__builtin_va_list ap;
	size_t n;

	__builtin_va_start(ap, fmt);
	n = vfmt_buf(buf, cap, fmt, ap);
	__builtin_va_end(ap);
	return n;
}
