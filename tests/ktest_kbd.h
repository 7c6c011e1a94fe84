/*
 * tests/ktest_kbd.h - scan codes through the keyboard decoder, for the tty
 * and fbkbd suites.
 */
#ifndef TESTS_KTEST_KBD_H
#define TESTS_KTEST_KBD_H

#include "kernel/tty.h"
#include "kernel/string.h"

/* Feed n scan codes to i8042_decode; the bytes they give, NUL-terminated,
 * in out (room for 8 per code). Their number. */
static inline size_t kbd_feed(const uint8_t *sc, size_t n, char *out)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		char b[8];
		int k = i8042_decode(sc[i], b);
		memcpy(out + len, b, (size_t)k);
		len += (size_t)k;
	}
	out[len] = 0;
	return len;
}

#endif
