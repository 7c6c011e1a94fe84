/*
 * drivers/fbcon.c - text console on the UEFI GOP framebuffer.
 *
 * What: fbcon_init() gets the linear framebuffer the loader found (32 bits
 * per pixel, any of the three GOP pixel layouts), clears it and registers a
 * printk console named "fb". Its write() draws text in a grid of 8x16 cells
 * with the built-in font (drivers/font.c), light grey on black. It knows
 * '\n', '\r', '\t' (next multiple of 8), '\b' (move left, non-destructive)
 * and ignores every other control character; bytes >= 0x7f are drawn as a
 * hollow box. A line longer than the screen wraps.
 *
 * Why jump scrolling: the framebuffer is plain (uncached, or emulated) memory
 * and scrolling means copying almost all of it. The kernel test suite prints
 * thousands of lines under QEMU/TCG, where one full-screen copy per line
 * would dominate the run time. So when the cursor moves past the last row we
 * scroll by half a screen at once: one memmove of the lower half up and one
 * clear of the bottom half, i.e. one copy per rows/2 lines instead of per
 * line. The cursor then sits in the middle of the screen; the most recent
 * half screen of output is always visible.
 *
 * Who calls it: kernel start-up calls fbcon_init() once boot_info has been
 * parsed (the serial console is already up, so failures get logged there).
 * printk calls fbcon_write() under the printk lock, from any CPU, in any
 * context, possibly with interrupts off and during a panic (after
 * printk_force_unlock). It therefore takes no lock, never allocates and never
 * sleeps; it re-checks the cursor against the grid before every store so
 * that even a racing writer during a panic cannot write outside the
 * framebuffer.
 */
#include "drivers/fbcon.h"
#include "drivers/font.h"
#include "boot/boot_info.h"
#include "kernel/compiler.h"
#include "kernel/printk.h"
#include "kernel/string.h"

#define FBCON_EINVAL 22
#define TAB_WIDTH    8

/* Light grey on black, as 8-bit R, G, B. */
#define FG_R 0xc0
#define FG_G 0xc0
#define FG_B 0xc0
#define BG_R 0x00
#define BG_G 0x00
#define BG_B 0x00

static struct fbcon {
	volatile uint8_t *base; /* first pixel */
	uint32_t width, height; /* pixels */
	uint32_t pitch;		/* bytes per scan line */
	uint32_t cols, rows;	/* text grid */
	uint32_t cx, cy;	/* cursor cell; cx == cols means "wrap first" */
	uint32_t fg, bg;	/* composed pixels */
} fbc;

static bool fbcon_registered;

/* Places an 8-bit channel value into the bits of mask (BOOT_FB_BITMASK). */
static uint32_t channel_to_mask(uint32_t v, uint32_t mask)
{
	unsigned int shift = 0, bits = 0;

	if (!mask)
		return 0;
	while (!(mask & (1u << shift)))
		shift++;
	while (shift + bits < 32 && (mask & (1u << (shift + bits))))
		bits++;
	if (bits >= 8)
		v <<= bits - 8;
	else
		v >>= 8 - bits;
	return (v << shift) & mask;
}

static uint32_t make_pixel(uint32_t format, uint32_t r, uint32_t g, uint32_t b, uint32_t rmask,
			   uint32_t gmask, uint32_t bmask)
{
	switch (format) {
	case BOOT_FB_RGBX:
		return r | g << 8 | b << 16;
	case BOOT_FB_BGRX:
		return b | g << 8 | r << 16;
	default: /* BOOT_FB_BITMASK */
		return channel_to_mask(r, rmask) | channel_to_mask(g, gmask) |
		       channel_to_mask(b, bmask);
	}
}

static inline volatile uint32_t *scanline(uint32_t y)
{
	return (volatile uint32_t *)(fbc.base + (size_t)y * fbc.pitch);
}

/*
 * Bytes from the start of scan line y to the end of the visible part of scan
 * line y + n - 1: bulk copies and clears cover the (invisible) pitch padding
 * between lines but never go past the last visible pixel, in case the
 * framebuffer ends right there.
 */
static inline size_t span_bytes(uint32_t n)
{
	return (size_t)(n - 1) * fbc.pitch + (size_t)fbc.width * 4;
}

/* Fills the scan lines [y, y + n) with the background colour. */
static void fill_lines(uint32_t y, uint32_t n)
{
	if (!n)
		return;
	if (fbc.bg == 0) {
		memset((void *)scanline(y), 0, span_bytes(n));
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		volatile uint32_t *p = scanline(y + i);

		for (uint32_t x = 0; x < fbc.width; x++)
			p[x] = fbc.bg;
	}
}

static void draw_glyph(uint32_t cx, uint32_t cy, unsigned char c)
{
	const uint8_t *g = font_glyph(c);
	uint32_t fg = fbc.fg, bg = fbc.bg;

	if (cx >= fbc.cols || cy >= fbc.rows)
		return;
	for (uint32_t r = 0; r < FONT_HEIGHT; r++) {
		volatile uint32_t *p = scanline(cy * FONT_HEIGHT + r) + cx * FONT_WIDTH;
		uint32_t bits = g[r];

		for (uint32_t x = 0; x < FONT_WIDTH; x++)
			p[x] = (bits & (0x80u >> x)) ? fg : bg;
	}
}

/* Jump scroll: move the lower half of the text grid up, clear the rest. */
static void scroll(void)
{
	uint32_t shift = fbc.rows / 2 ? fbc.rows / 2 : 1;
	uint32_t keep = fbc.rows - shift;

	if (keep)
		memmove((void *)scanline(0), (const void *)scanline(shift * FONT_HEIGHT),
			span_bytes(keep * FONT_HEIGHT));
	fill_lines(keep * FONT_HEIGHT, shift * FONT_HEIGHT);
	fbc.cy = keep;
}

static void newline(void)
{
	fbc.cx = 0;
	if (++fbc.cy >= fbc.rows)
		scroll();
}

static void fbcon_putc(unsigned char c)
{
	switch (c) {
	case '\n':
		newline();
		return;
	case '\r':
		fbc.cx = 0;
		return;
	case '\t':
		if (fbc.cx >= fbc.cols)
			newline();
		fbc.cx = MIN(ALIGN_DOWN(fbc.cx, TAB_WIDTH) + TAB_WIDTH, fbc.cols);
		return;
	case '\b':
		if (fbc.cx > 0)
			fbc.cx = MIN(fbc.cx, fbc.cols) - 1;
		return;
	}
	if (c < 0x20)
		return; /* other control characters */
	if (fbc.cx >= fbc.cols)
		newline();
	draw_glyph(fbc.cx, fbc.cy, c);
	fbc.cx++;
}

static void fbcon_write(const char *s, size_t n)
{
	if (!fbc.base)
		return;
	for (size_t i = 0; i < n; i++)
		fbcon_putc((unsigned char)s[i]);
}

static struct console fb_console = {
	.name = "fb",
	.write = fbcon_write,
};

int fbcon_init(void *fb, uint32_t width, uint32_t height, uint32_t pitch_bytes, uint32_t format,
	       uint32_t rmask, uint32_t gmask, uint32_t bmask)
{
	if (format != BOOT_FB_RGBX && format != BOOT_FB_BGRX && format != BOOT_FB_BITMASK)
		return -FBCON_EINVAL;
	if (format == BOOT_FB_BITMASK && (!rmask || !gmask || !bmask))
		return -FBCON_EINVAL;
	if (!fb || width < FONT_WIDTH || height < FONT_HEIGHT || pitch_bytes / 4 < width ||
	    pitch_bytes % 4)
		return -FBCON_EINVAL;

	fbc.base = NULL; /* a racing writer sees no console while we switch */
	barrier();
	fbc.width = width;
	fbc.height = height;
	fbc.pitch = pitch_bytes;
	fbc.cols = width / FONT_WIDTH;
	fbc.rows = height / FONT_HEIGHT;
	fbc.cx = fbc.cy = 0;
	fbc.fg = make_pixel(format, FG_R, FG_G, FG_B, rmask, gmask, bmask);
	fbc.bg = make_pixel(format, BG_R, BG_G, BG_B, rmask, gmask, bmask);
	fbc.base = fb;
	fill_lines(0, height);
	barrier();

	if (!fbcon_registered) {
		fbcon_registered = true;
		register_console(&fb_console);
	}
	return 0;
}
