/*
 * boot/console.h - the loader's output: COM1 and the UEFI text console.
 *
 * Every message goes to the serial port (written directly, so it works in a
 * headless QEMU and after ExitBootServices) and, while boot services are
 * alive, to ConOut as well. The formatter is a small printf subset:
 * %s %c %d %u %x %p with l/ll/z length modifiers, a field width and the '0'
 * flag.
 */
#ifndef BOOT_CONSOLE_H
#define BOOT_CONSOLE_H

#include <efi.h>
#include <stddef.h>
#include <stdint.h>

/* Initialise COM1 (115200 8N1) and remember ConOut for later messages. */
void con_init(EFI_SYSTEM_TABLE *st);

/* Boot services are gone: from now on print to the serial port only. */
void con_detach(void);

/* Print a formatted message on the serial port and ConOut. */
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Format into buf (always NUL-terminated if cap > 0); returns the length. */
size_t fmt_buf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
size_t vfmt_buf(char *buf, size_t cap, const char *fmt, __builtin_va_list ap);

/* Copy a UCS-2 string to ASCII (non-ASCII becomes '?'), NUL-terminated. */
void ucs2_to_ascii(char *dst, size_t cap, const CHAR16 *src);

#endif
