/*
 * kernel/printk.h - formatted output to every console (serial, framebuffer).
 * printk serializes whole calls with one lock, so lines printed by different
 * CPUs never interleave. Safe from interrupt context and with IRQs off.
 */
#ifndef KERNEL_PRINTK_H
#define KERNEL_PRINTK_H

#include <stdarg.h>
#include "kernel/compiler.h"

int printk(const char *fmt, ...) __printf(1, 2);
int vprintk(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/* A console receives every printed byte range, under the printk lock. */
struct console {
	const char *name;
	void (*write)(const char *s, size_t n);
	struct console *next;
};
void register_console(struct console *c);

/* Panic path: take over the consoles even if another CPU holds the lock. */
void printk_force_unlock(void);

#define pr_info(fmt, ...) printk(fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...) printk("WARNING: " fmt, ##__VA_ARGS__)
#define pr_err(fmt, ...)  printk("ERROR: " fmt, ##__VA_ARGS__)

#endif
