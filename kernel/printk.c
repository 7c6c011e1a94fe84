/*
 * kernel/printk.c - vsnprintf and printk.
 *
 * printk formats into a per-call stack buffer, then writes it to every
 * registered console under printk_lock with interrupts off, so whole calls
 * never interleave between CPUs. The lock is a raw spinlock (no preemption
 * accounting) because printk runs from the scheduler and from traps. A CPU
 * that panics takes the consoles over with printk_force_unlock().
 * Lock order: printk_lock is innermost; console write functions take no lock.
 */
#include "kernel/printk.h"
#include "kernel/spinlock.h"
#include "kernel/string.h"
#include "arch/arch.h"

static spinlock_t printk_lock = SPINLOCK_INIT("printk");
static struct console *consoles;

/* The start of the boot log, kept so a console that registers late (the
 * framebuffer, after paging is up) shows the boot from its first line. */
#define EARLY_LOG_SIZE 8192
static char early_log[EARLY_LOG_SIZE];
static size_t early_log_len;

void register_console(struct console *c)
{
	unsigned long f = local_irq_save();
	raw_spin_lock(&printk_lock);
	c->write(early_log, early_log_len); /* replay the boot so far */
	c->next = consoles;
	consoles = c;
	raw_spin_unlock(&printk_lock);
	local_irq_restore(f);
}

void printk_force_unlock(void)
{
	spin_lock_init(&printk_lock, "printk");
}

struct outbuf {
	char *buf;
	size_t size, len;
};

static void out_char(struct outbuf *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void out_number(struct outbuf *o, uint64_t v, int base, bool neg, int width, char pad,
		       bool left, bool upper)
{
	char tmp[24];
	int n = 0;
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (neg)
		tmp[n++] = '-';
	if (neg && pad == '0') { /* sign before zero padding */
		out_char(o, '-');
		n--;
		width--;
	}
	for (int i = n; !left && i < width; i++)
		out_char(o, pad);
	while (n)
		out_char(o, tmp[--n]);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct outbuf o = { buf, size, 0 };
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			out_char(&o, *fmt);
			continue;
		}
		fmt++;
		bool left = false, alt = false;
		char pad = ' ';
		for (;; fmt++) {
			if (*fmt == '-')
				left = true;
			else if (*fmt == '#')
				alt = true;
			else if (*fmt == '0')
				pad = '0';
			else
				break;
		}
		int width = 0;
		if (*fmt == '*') {
			width = va_arg(ap, int);
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		int prec = -1;
		if (*fmt == '.') {
			fmt++;
			prec = 0;
			if (*fmt == '*') {
				prec = va_arg(ap, int);
				fmt++;
			}
			while (*fmt >= '0' && *fmt <= '9')
				prec = prec * 10 + (*fmt++ - '0');
		}
		int lng = 0;
		while (*fmt == 'l' || *fmt == 'z' || *fmt == 'h') {
			if (*fmt != 'h')
				lng = 1;
			fmt++;
		}
		size_t start = o.len;
		switch (*fmt) {
		case 'd':
		case 'i': {
			int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
			out_number(&o, v < 0 ? -(uint64_t)v : (uint64_t)v, 10, v < 0, width,
				   left ? ' ' : pad, left, false);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			uint64_t v = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int);
			if (alt && *fmt != 'u') {
				out_char(&o, '0');
				out_char(&o, 'x');
				width -= 2;
			}
			out_number(&o, v, *fmt == 'u' ? 10 : 16, false, width, left ? ' ' : pad,
				   left, *fmt == 'X');
			break;
		}
		case 'p':
			out_char(&o, '0');
			out_char(&o, 'x');
			out_number(&o, (uint64_t)va_arg(ap, void *), 16, false, 16, '0', false,
				   false);
			break;
		case 'c':
			out_char(&o, (char)va_arg(ap, int));
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			size_t n = prec >= 0 ? strnlen(s, prec) : strlen(s);
			for (size_t i = n; !left && (int)i < width; i++)
				out_char(&o, ' ');
			for (size_t i = 0; i < n; i++)
				out_char(&o, s[i]);
			break;
		}
		case '%':
			out_char(&o, '%');
			break;
		default:
			out_char(&o, '%');
			out_char(&o, *fmt);
			if (!*fmt)
				fmt--;
			break;
		}
		while (left && (int)(o.len - start) < width)
			out_char(&o, ' ');
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = 0;
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int vprintk(const char *fmt, va_list ap)
{
	char buf[512];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	size_t len = n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
	unsigned long f = local_irq_save();
	raw_spin_lock(&printk_lock);
	if (early_log_len + len <= EARLY_LOG_SIZE) {
		memcpy(early_log + early_log_len, buf, len);
		early_log_len += len;
	}
	for (struct console *c = consoles; c; c = c->next)
		c->write(buf, len);
	raw_spin_unlock(&printk_lock);
	local_irq_restore(f);
	return n;
}

int printk(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vprintk(fmt, ap);
	va_end(ap);
	return n;
}
