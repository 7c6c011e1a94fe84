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
 * As the console tty's screen (issue 15) it also understands the escape
 * sequences busybox's line editing, vi and top send (ECMA-48 / the Linux
 * console's): ESC [ params final with CSI n A/B/C/D (cursor up, down,
 * right, left), H and f (row;col, 1-based, clamped to the screen), G and d
 * (column, row), J 0/1/2 (erase below, above, all), K 0/1/2 (erase right,
 * left, the line), X (erase n cells), m (0 reset, 1 bold, 7 reverse, 30-37
 * / 40-47 colours, 39/49 defaults); private ones (ESC [ ? 25 h/l: the
 * cursor shown/hidden, ?1049h ...) and other ESC sequences are swallowed.
 * Not done: insert/delete of lines and characters, scrolling regions,
 * cursor save/restore. A shadow array keeps the byte shown in each cell
 * (fbcon_cell, for tests). Scrolling stays the half-screen jump below,
 * which keeps relative positions (the line editor's moves).
 *
 * The cursor (without it a Left arrow on the command line moves nothing
 * you can see): an underline, the cell's last two scan lines XORed with
 * the default foreground (Linux's default underline cursor), drawn at the
 * end of every write and taken away at the start of the next, so that
 * nothing inside a write (glyphs, clears, the scroll's copy) ever sees it.
 * Nothing draws between the two (printk and the tty both write through
 * fbcon_write, serialized by their callers), so the second XOR restores
 * the cell exactly; a writer racing during a panic may leave a stray
 * underline, never a store outside the grid. ESC [ ? 25 l hides it,
 * ESC [ ? 25 h shows it again (vi, top). At cx == cols ("wrap first") it
 * sits in the last column.
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
	uint32_t format, rmask, gmask, bmask;
	/* escape sequences (ESC [ params final) */
	enum { ST_NORMAL, ST_ESC, ST_CSI } state;
	bool priv; /* ESC [ ? ... */
	uint32_t par[8];
	unsigned npar;
	bool bold, reverse;
	int fgc, bgc; /* 0-7, or -1 for the default */
	/* the cursor: shown (ESC [ ? 25 h/l), drawn at (curx, cury) with curmask */
	bool cur_on, cur_drawn;
	uint32_t curx, cury, curmask;
} fbc;

/* What each cell shows (tests: fbcon_cell), at most SHADOW_COLS x SHADOW_ROWS. */
#define SHADOW_COLS 256
#define SHADOW_ROWS 128
static char shadow[SHADOW_ROWS][SHADOW_COLS];

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
	if (cx < SHADOW_COLS && cy < SHADOW_ROWS)
		shadow[cy][cx] = (char)c;
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
	for (uint32_t r = 0; r < SHADOW_ROWS; r++) {
		if (r + shift < SHADOW_ROWS && r < keep)
			memcpy(shadow[r], shadow[r + shift], SHADOW_COLS);
		else
			memset(shadow[r], ' ', SHADOW_COLS);
	}
	fbc.cy = keep;
}

static void newline(void)
{
	fbc.cx = 0;
	if (++fbc.cy >= fbc.rows)
		scroll();
}

/* ---- escape sequences (what busybox's line editing, vi and top send) ---- */

static const uint8_t palette[8][3] = {
	{ 0x00, 0x00, 0x00 }, { 0xc0, 0x00, 0x00 }, { 0x00, 0xc0, 0x00 }, { 0xc0, 0xc0, 0x00 },
	{ 0x00, 0x00, 0xc0 }, { 0xc0, 0x00, 0xc0 }, { 0x00, 0xc0, 0xc0 }, { 0xc0, 0xc0, 0xc0 },
};

static uint32_t color_pixel(int c, bool bright)
{
	uint32_t r = palette[c][0], g = palette[c][1], b = palette[c][2];
	if (bright) {
		r = r ? 0xff : 0x40;
		g = g ? 0xff : 0x40;
		b = b ? 0xff : 0x40;
	}
	return make_pixel(fbc.format, r, g, b, fbc.rmask, fbc.gmask, fbc.bmask);
}

static void update_colors(void)
{
	int f = fbc.fgc < 0 ? 7 : fbc.fgc, b = fbc.bgc < 0 ? 0 : fbc.bgc;
	uint32_t fg = color_pixel(f, fbc.bold), bg = color_pixel(b, false);
	fbc.fg = fbc.reverse ? bg : fg;
	fbc.bg = fbc.reverse ? fg : bg;
}

/* Blank cells [x0, x1) of row y in the background colour. */
static void clear_cells(uint32_t y, uint32_t x0, uint32_t x1)
{
	x1 = MIN(x1, fbc.cols);
	if (y >= fbc.rows || x0 >= x1)
		return;
	for (uint32_t r = 0; r < FONT_HEIGHT; r++) {
		volatile uint32_t *p = scanline(y * FONT_HEIGHT + r);
		for (uint32_t x = x0 * FONT_WIDTH; x < x1 * FONT_WIDTH; x++)
			p[x] = fbc.bg;
	}
	if (y < SHADOW_ROWS)
		for (uint32_t x = x0; x < x1 && x < SHADOW_COLS; x++)
			shadow[y][x] = ' ';
}

static void clear_rows(uint32_t y0, uint32_t y1)
{
	for (uint32_t y = y0; y < y1 && y < fbc.rows; y++)
		clear_cells(y, 0, fbc.cols);
}

static uint32_t par(unsigned i, uint32_t def)
{
	return i < fbc.npar && fbc.par[i] ? fbc.par[i] : def;
}

static void csi_dispatch(unsigned char f)
{
	uint32_t n = par(0, 1), cx = MIN(fbc.cx, fbc.cols - 1);
	if (fbc.priv) {
		/* ?25h / ?25l: the cursor shown or hidden; ?1049h ...: ignored */
		if ((f == 'h' || f == 'l') && fbc.npar == 1 && fbc.par[0] == 25)
			fbc.cur_on = f == 'h';
		return;
	}
	switch (f) {
	case 'A':
		fbc.cy = fbc.cy > n ? fbc.cy - n : 0;
		fbc.cx = cx;
		break;
	case 'B':
	case 'e':
		fbc.cy = MIN(fbc.cy + n, fbc.rows - 1);
		fbc.cx = cx;
		break;
	case 'C':
	case 'a':
		fbc.cx = MIN(cx + n, fbc.cols - 1);
		break;
	case 'D':
		fbc.cx = cx > n ? cx - n : 0;
		break;
	case 'G':
	case '`':
		fbc.cx = MIN(n, fbc.cols) - 1;
		break;
	case 'd':
		fbc.cy = MIN(n, fbc.rows) - 1;
		break;
	case 'H':
	case 'f':
#ifdef MUTATION_FBCON_CUP_ZERO_BASED
		fbc.cy = MIN(par(0, 0), fbc.rows - 1);
		fbc.cx = MIN(par(1, 0), fbc.cols - 1);
#else
		fbc.cy = MIN(par(0, 1), fbc.rows) - 1;
		fbc.cx = MIN(par(1, 1), fbc.cols) - 1;
#endif
		break;
	case 'J':
		switch (fbc.npar ? fbc.par[0] : 0) {
		case 0:
			clear_cells(fbc.cy, cx, fbc.cols);
			clear_rows(fbc.cy + 1, fbc.rows);
			break;
		case 1:
			clear_rows(0, fbc.cy);
			clear_cells(fbc.cy, 0, cx + 1);
			break;
		case 2:
		case 3:
			clear_rows(0, fbc.rows);
			break;
		}
		break;
	case 'K':
		switch (fbc.npar ? fbc.par[0] : 0) {
		case 0:
			clear_cells(fbc.cy, cx, fbc.cols);
			break;
		case 1:
			clear_cells(fbc.cy, 0, cx + 1);
			break;
		case 2:
			clear_cells(fbc.cy, 0, fbc.cols);
			break;
		}
		break;
	case 'X':
		clear_cells(fbc.cy, cx, cx + n);
		break;
	case 'm':
		for (unsigned i = 0; i < MAX(fbc.npar, 1u); i++) {
			uint32_t p = i < fbc.npar ? fbc.par[i] : 0;
			if (p == 0) {
				fbc.bold = fbc.reverse = false;
				fbc.fgc = fbc.bgc = -1;
			} else if (p == 1) {
				fbc.bold = true;
			} else if (p == 22) {
				fbc.bold = false;
			} else if (p == 7) {
				fbc.reverse = true;
			} else if (p == 27) {
				fbc.reverse = false;
			} else if (p >= 30 && p <= 37) {
				fbc.fgc = (int)p - 30;
			} else if (p == 39) {
				fbc.fgc = -1;
			} else if (p >= 40 && p <= 47) {
				fbc.bgc = (int)p - 40;
			} else if (p == 49) {
				fbc.bgc = -1;
			}
		}
		update_colors();
		break;
	default:
		break; /* others ignored */
	}
}

/* true: c was part of an escape sequence. */
static bool escape_feed(unsigned char c)
{
	switch (fbc.state) {
	case ST_NORMAL:
		if (c != 0x1b)
			return false;
		fbc.state = ST_ESC;
		return true;
	case ST_ESC:
		if (c == '[') {
			fbc.state = ST_CSI;
			fbc.npar = 0;
			fbc.priv = false;
			memset(fbc.par, 0, sizeof(fbc.par));
			return true;
		}
		fbc.state = ST_NORMAL; /* ESC 7, ESC 8, ESC M ...: ignored */
		return true;
	case ST_CSI:
		if (c == 0x1b) { /* a new sequence cuts this one */
			fbc.state = ST_ESC;
		} else if (c == '?' || c == '>' || c == '=') {
			fbc.priv = true;
		} else if (c >= '0' && c <= '9') {
			if (!fbc.npar)
				fbc.npar = 1;
			if (fbc.npar <= 8 && fbc.par[fbc.npar - 1] < 10000)
				fbc.par[fbc.npar - 1] = fbc.par[fbc.npar - 1] * 10 + (c - '0');
		} else if (c == ';') {
			if (!fbc.npar)
				fbc.npar = 1;
			if (fbc.npar < 8)
				fbc.npar++;
		} else if (c >= 0x40 && c <= 0x7e) {
			fbc.state = ST_NORMAL;
			csi_dispatch(c);
		} else if (c == 0x18 || c == 0x1a) {
			fbc.state = ST_NORMAL; /* CAN, SUB: cancelled */
		}
		return true;
	}
	return false;
}

static void fbcon_putc(unsigned char c)
{
	if (escape_feed(c))
		return;
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

/* XOR the underline of cell (x, y): drawing it twice restores the cell. */
static void cursor_xor(uint32_t x, uint32_t y, uint32_t mask)
{
	if (x >= fbc.cols || y >= fbc.rows)
		return;
	for (uint32_t r = FONT_HEIGHT - 2; r < FONT_HEIGHT; r++) {
		volatile uint32_t *p = scanline(y * FONT_HEIGHT + r) + x * FONT_WIDTH;

		for (uint32_t i = 0; i < FONT_WIDTH; i++)
			p[i] ^= mask;
	}
}

static void cursor_hide(void)
{
	if (!fbc.cur_drawn)
		return;
	fbc.cur_drawn = false;
#ifndef MUTATION_FBCON_CURSOR_NOT_ERASED
	cursor_xor(fbc.curx, fbc.cury, fbc.curmask);
#endif
}

static void cursor_show(void)
{
	if (!fbc.cur_on || !fbc.cols || fbc.cy >= fbc.rows)
		return;
	fbc.curx = MIN(fbc.cx, fbc.cols - 1);
	fbc.cury = fbc.cy;
	cursor_xor(fbc.curx, fbc.cury, fbc.curmask);
	fbc.cur_drawn = true;
}

static void fbcon_write(const char *s, size_t n)
{
	if (!fbc.base)
		return;
	cursor_hide();
	for (size_t i = 0; i < n; i++)
		fbcon_putc((unsigned char)s[i]);
	cursor_show();
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
	fbc.format = format;
	fbc.rmask = rmask;
	fbc.gmask = gmask;
	fbc.bmask = bmask;
	fbc.state = ST_NORMAL;
	fbc.fgc = fbc.bgc = -1;
	fbc.bold = fbc.reverse = false;
	fbc.cur_on = true;
	fbc.cur_drawn = false; /* the screen is cleared below */
	fbc.curmask = fbc.fg ^ fbc.bg;
	memset(shadow, ' ', sizeof(shadow));
	fbc.base = fb;
	fill_lines(0, height);
	barrier();

	if (!fbcon_registered) {
		fbcon_registered = true;
		register_console(&fb_console);
	}
	return 0;
}

void fbcon_tty_write(const char *s, size_t n)
{
	fbcon_write(s, n);
}

bool fbcon_geometry(uint32_t *cols, uint32_t *rows)
{
	if (!fbc.base)
		return false;
	*cols = fbc.cols;
	*rows = fbc.rows;
	return true;
}

void fbcon_cursor(uint32_t *x, uint32_t *y)
{
	*x = fbc.cx;
	*y = fbc.cy;
}

uint32_t fbcon_pixel(uint32_t x, uint32_t y)
{
	if (!fbc.base || x >= fbc.width || y >= fbc.height)
		return 0;
	return scanline(y)[x];
}

char fbcon_cell(uint32_t x, uint32_t y)
{
	return x < SHADOW_COLS && y < SHADOW_ROWS ? shadow[y][x] : 0;
}
