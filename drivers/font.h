/*
 * drivers/font.h - the kernel's built-in 8x16 bitmap font.
 *
 * One glyph is FONT_HEIGHT bytes, one byte per pixel row from top to bottom,
 * one bit per pixel with the most significant bit the leftmost pixel. Only
 * printable ASCII (0x20..0x7e) has a glyph; every other byte is drawn with
 * font_fallback, a hollow box.
 *
 * Metrics: rows 0-1 and 15 are blank (line spacing), capitals and ascenders
 * span rows 2-11, the x-height rows 5-11, descenders rows 12-14; column 7
 * is always blank so neighbouring glyphs never touch (except '_').
 */
#ifndef DRIVERS_FONT_H
#define DRIVERS_FONT_H

#include <stdint.h>

#define FONT_WIDTH  8
#define FONT_HEIGHT 16
#define FONT_FIRST  0x20
#define FONT_LAST   0x7e

extern const uint8_t font_glyphs[FONT_LAST - FONT_FIRST + 1][FONT_HEIGHT];
extern const uint8_t font_fallback[FONT_HEIGHT];

/* The glyph for byte c, or the fallback box if c is not printable ASCII. */
static inline const uint8_t *font_glyph(unsigned char c)
{
	if (c < FONT_FIRST || c > FONT_LAST)
		return font_fallback;
	return font_glyphs[c - FONT_FIRST];
}

#endif
