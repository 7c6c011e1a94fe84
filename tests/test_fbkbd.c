/*
 * tests/test_fbkbd.c - the PS/2 keyboard decoder's keypad and Pause key
 * (drivers/i8042.c, issue 15: the framebuffer console and the keyboard are
 * enough to use the shell; `make test-fb` checks the whole path in QEMU).
 *
 *   keypad: scan code set 1 0x47-0x53 without 0xe0, as Linux's console
 *       with the US keymap: * - + always; Num Lock off (the state at
 *       start) gives Home Up PgUp Left ESC [ G Right End Down PgDn Ins Del,
 *       Num Lock on the digits and '.'; the 0xe0 arrows are unchanged.
 *   pause: 0xe1 0x1d 0x45 0xe1 0x9d 0xc5 gives nothing and leaves no
 *       state behind: no Ctrl held (the next 'c' is 'c', not ^C), Num Lock
 *       not toggled.
 *   cursor: drivers/fbcon.c draws its cursor (the cell's last scan line
 *       lit, in the framebuffer's pixels) where the next byte goes, takes
 *       it away from the cell it leaves (the cell as it was: its pixels
 *       equal the background again), hides it on ESC [ ? 25 l and shows it
 *       on ESC [ ? 25 h (skipped without a framebuffer).
 */
#include "tests/ktest.h"
#include "tests/ktest_kbd.h"
#include "kernel/tty.h"
#include "kernel/string.h"
#include "drivers/fbcon.h"
#include "drivers/font.h"

static void keypad(struct ktest *t)
{
	char out[128];
	i8042_reset_state();
	/* Num Lock off: 7 8 9 - 4 5 6 + 1 2 3 0 . (presses and releases) */
	static const uint8_t pad[] = {
		0x47, 0xc7, 0x48, 0xc8, 0x49, 0xc9, 0x4a, 0xca, 0x4b, 0xcb, 0x4c, 0xcc, 0x4d,
		0xcd, 0x4e, 0xce, 0x4f, 0xcf, 0x50, 0xd0, 0x51, 0xd1, 0x52, 0xd2, 0x53, 0xd3,
	};
	kbd_feed(pad, sizeof(pad), out);
	KEXPECT_EQ(t,
		   strcmp(out, "\033[1~\033[A\033[5~-\033[D\033[G\033[C+\033[4~\033[B\033[6~"
			       "\033[2~\033[3~"),
		   0);
	/* Num Lock on (press and release 0x45): the digits; keypad * too */
	static const uint8_t num[] = { 0x45, 0xc5, 0x37, 0xb7 };
	kbd_feed(num, sizeof(num), out);
	KEXPECT_EQ(t, out[0], '*');
	kbd_feed(pad, sizeof(pad), out);
	KEXPECT_EQ(t, strcmp(out, "789-456+1230."), 0);
	/* the 0xe0 arrows stay arrows with Num Lock on */
	static const uint8_t arrows[] = { 0xe0, 0x48, 0xe0, 0xc8, 0xe0, 0x4d, 0xe0, 0xcd };
	kbd_feed(arrows, sizeof(arrows), out);
	KEXPECT_EQ(t, strcmp(out, "\033[A\033[C"), 0);
	/* Num Lock off again */
	static const uint8_t off[] = { 0x45, 0xc5, 0x48, 0xc8 };
	kbd_feed(off, sizeof(off), out);
	KEXPECT_EQ(t, strcmp(out, "\033[A"), 0);
	i8042_reset_state();
}

static void pause(struct ktest *t)
{
	char out[64];
	i8042_reset_state();
	static const uint8_t seq[] = { 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5 };
	KEXPECT_EQ(t, kbd_feed(seq, sizeof(seq), out), 0);
	/* 'c' then keypad 8: no Ctrl held, Num Lock still off */
	static const uint8_t after[] = { 0x2e, 0xae, 0x48, 0xc8 };
	kbd_feed(after, sizeof(after), out);
	KEXPECT_EQ(t, strcmp(out, "c\033[A"), 0);
	/* Pause between a Ctrl press and release: Ctrl still held after it */
	static const uint8_t mid[] = { 0x1d, 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5, 0x2e, 0x9d, 0x2e };
	KEXPECT_EQ(t, kbd_feed(mid, sizeof(mid), out), 2);
	KEXPECT_EQ(t, out[0], 3);
	KEXPECT_EQ(t, out[1], 'c');
	i8042_reset_state();
}

static void fw(const char *s)
{
	fbcon_tty_write(s, strlen(s));
}

/* The cell's last scan line differs from its (always blank) first. */
static bool underlined(uint32_t cx, uint32_t cy)
{
	uint32_t y0 = cy * FONT_HEIGHT, x0 = cx * FONT_WIDTH;
	uint32_t bg = fbcon_pixel(x0, y0);
	for (uint32_t x = 0; x < FONT_WIDTH; x++)
		if (fbcon_pixel(x0 + x, y0 + FONT_HEIGHT - 1) != bg)
			return true;
	return false;
}

static void cursor(struct ktest *t)
{
	uint32_t cols, rows;
	if (!fbcon_geometry(&cols, &rows)) {
		ktest_skip(t, "no framebuffer console");
		return;
	}
	/* the console is shared with printk: one write at a time, no CPU
	 * prints during a case */
	fw("\033[2J\033[3;1Hab");
	KEXPECT_TRUE(t, underlined(2, 2));
	KEXPECT_FALSE(t, underlined(1, 2));
	KEXPECT_FALSE(t, underlined(0, 2));
	fw("\b"); /* left: the cursor on 'b', the cell after it as it was */
	KEXPECT_TRUE(t, underlined(1, 2));
	KEXPECT_FALSE(t, underlined(2, 2));
	fw("\033[?25l");
	KEXPECT_FALSE(t, underlined(1, 2));
	fw("\033[?25h");
	KEXPECT_TRUE(t, underlined(1, 2));
	fw("\033[5;7H"); /* a jump: the old place restored */
	KEXPECT_TRUE(t, underlined(6, 4));
	KEXPECT_FALSE(t, underlined(1, 2));
	KEXPECT_EQ(t, fbcon_cell(1, 2), 'b');
	fw("\033[2J\033[H");
	KEXPECT_TRUE(t, underlined(0, 0));
	KEXPECT_FALSE(t, underlined(6, 4));
}

KTEST_SUITE(fbkbd, KTEST_CASE(keypad), KTEST_CASE(pause), KTEST_CASE(cursor));
