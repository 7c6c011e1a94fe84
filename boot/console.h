/*
 * boot/console.h - the loader's output: COM1 and the UEFI text console.
 *
 * Every message goes to ConOut while boot services are alive, and to the
 * serial port COM1 (written directly, so it works in a headless QEMU and
 * after ExitBootServices) unless the firmware console already reaches COM1
 * (OVMF does): then each line would appear twice in the serial log, and
 * COM1 is written directly only from con_detach() on. The formatter is a
 * small printf subset: %s %c %d %u %x %p with l/ll/z length modifiers, a
 * field width and the '0' flag.
 */
#ifndef BOOT_CONSOLE_H
#define BOOT_CONSOLE_H

#include <efi.h>
#include <stddef.h>
#include <stdint.h>

/* Remember ConOut for later messages; find out whether it reaches COM1,
 * else initialise COM1 (115200 8N1) to write it directly. */
void con_init(EFI_SYSTEM_TABLE *st);

/* Where messages go, for the banner: e.g. "firmware console and COM1". */
const char *con_describe(void);

/* Boot services are gone: from now on print to the serial port only
 * (initialised here if the firmware console had it until now). */
void con_detach(void);

/* Print a formatted message on ConOut and the serial port (once). */
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The last complete line log_msg() printed, without its newline ("" if
 * none): the reason of a failure, which is always logged last. */
const char *con_last_line(void);

/* Format into buf (always NUL-terminated if cap > 0); returns the length. */
size_t fmt_buf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
size_t vfmt_buf(char *buf, size_t cap, const char *fmt, __builtin_va_list ap);

/* Copy a UCS-2 string to ASCII (non-ASCII becomes '?'), NUL-terminated. */
void ucs2_to_ascii(char *dst, size_t cap, const CHAR16 *src);

#endif
