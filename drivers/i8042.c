/*
 * drivers/i8042.c - the PS/2 keyboard behind an i8042 controller (QEMU's,
 * and the built-in keyboard of many laptops), as input of the console tty.
 *
 * The controller translates the keyboard's scan code set 2 into set 1 (the
 * firmware leaves translation on, QEMU's default; Linux's atkbd does the
 * same with "i8042.direct" off), so the decoder reads set 1: a make code
 * 0x01-0x58 presses a key, the same code | 0x80 releases it, 0xe0 prefixes
 * the extended keys (the arrows, Home/End/PgUp/PgDn/Ins/Del, right Ctrl
 * and Alt, keypad Enter and /). It keeps the state of Shift (both), Ctrl
 * (both), Alt and Caps Lock, and turns a press into the bytes a Linux
 * console sends with the US keymap: letters and digits (Shift, Caps Lock
 * on letters), Ctrl+letter 0x01-0x1a (^C, ^D, ^U, ...), Ctrl+[ \ ] ESC
 * 0x1c 0x1d, Enter '\r' (ICRNL makes it '\n'), Backspace DEL 0x7f (the
 * VERASE of the default termios), Tab, Esc, Alt+key ESC then the key, the
 * arrows ESC [ A..D, Home ESC [ 1 ~, Ins ESC [ 2 ~, Del ESC [ 3 ~, End
 * ESC [ 4 ~, PgUp ESC [ 5 ~, PgDn ESC [ 6 ~. The keypad as Linux's
 * console: * - + always, Num Lock (off at start, as Linux after a UEFI
 * boot: boot_params.kbd_status is the BIOS's, 0 here) makes 7 8 9 4 5 6
 * 1 2 3 0 . the digits and '.', and without it Home Up PgUp Left ESC [ G
 * Right End Down PgDn Ins Del; keypad Enter and / (0xe0 codes) always.
 * Pause (0xe1 0x1d 0x45 0xe1 0x9d 0xc5) is skipped whole: its 0x1d and
 * 0x45 are not Ctrl and Num Lock. Function keys are ignored; no set 2
 * decoder.
 *
 * How bytes arrive: IRQ 1, routed through the I/O APIC to the BSP
 * (arch/x86_64/ioapic.c; i8042_enable_irq sets the controller's interrupt
 * bit), makes kernel/tty.c read the data port while the status port says a
 * byte waits (bit 0; mouse bytes, bit 5, dropped) into its input ring; the
 * tty's input thread decodes them (i8042_decode) into tty_receive(). The
 * thread also drains the port every 100 ms (a missed edge), or every 10 ms
 * when no I/O APIC serves IRQ 1. A status of 0xff means no controller:
 * nothing is read.
 *
 * Locks: the decoder state is only touched by the input thread (and by the
 * in-kernel test, which resets it first and runs while no keyboard input
 * is polled: a test typing on QEMU's keyboard at the same time would mix).
 */
#include "kernel/tty.h"
#include "arch/x86_64/asm.h"

#define I8042_DATA	 0x60
#define I8042_STATUS	 0x64
#define STATUS_OBF	 0x01
#define STATUS_IBF	 0x02
#define STATUS_AUX	 0x20
#define CMD_READ_CONFIG	 0x20
#define CMD_WRITE_CONFIG 0x60
#define CFG_KBD_IRQ	 0x01

static const char keymap[0x3a] = {
	0,    0x1b, '1', '2', '3', '4', '5', '6', '7', '8', '9',  '0', '-', '=',  0x7f,
	'\t', 'q',  'w', 'e', 'r', 't', 'y', 'u', 'i', 'o', 'p',  '[', ']', '\r', 0,
	'a',  's',  'd', 'f', 'g', 'h', 'j', 'k', 'l', ';', '\'', '`', 0,   '\\', 'z',
	'x',  'c',  'v', 'b', 'n', 'm', ',', '.', '/', 0,   '*',  0,   ' ',
};
static const char keymap_shift[0x3a] = {
	0,    0x1b, '!', '@', '#', '$', '%', '^', '&', '*', '(', ')', '_', '+',	 0x7f,
	'\t', 'Q',  'W', 'E', 'R', 'T', 'Y', 'U', 'I', 'O', 'P', '{', '}', '\r', 0,
	'A',  'S',  'D', 'F', 'G', 'H', 'J', 'K', 'L', ':', '"', '~', 0,   '|',	 'Z',
	'X',  'C',  'V', 'B', 'N', 'M', '<', '>', '?', 0,   '*', 0,   ' ',
};

/* The keypad 0x47-0x53 (no 0xe0): with Num Lock, and without it. */
static const char keypad_num[0x53 - 0x47 + 1] = "789-456+1230.";
static const char *const keypad_nav[0x53 - 0x47 + 1] = {
	"\033[1~", "\033[A",  "\033[5~", "-",	    "\033[D",  "\033[G",  "\033[C",
	"+",	   "\033[4~", "\033[B",	 "\033[6~", "\033[2~", "\033[3~",
};

static struct {
	bool e0, lshift, rshift, lctrl, rctrl, alt, caps, num;
	uint8_t e1; /* bytes of a 0xe1 sequence (Pause) still to skip */
} kbd;

void i8042_reset_state(void)
{
	kbd.e0 = kbd.lshift = kbd.rshift = kbd.lctrl = kbd.rctrl = kbd.alt = kbd.caps = false;
	kbd.num = false;
	kbd.e1 = 0;
}

static int put_seq(char buf[8], const char *s)
{
	int n = 0;
	while (s[n] && n < 8) {
		buf[n] = s[n];
		n++;
	}
	return n;
}

int i8042_decode(uint8_t sc, char buf[8])
{
#ifndef MUTATION_I8042_PAUSE_AS_CTRL
	if (kbd.e1) {
		kbd.e1--;
		return 0;
	}
	if (sc == 0xe1) { /* Pause: 0xe1 then two bytes, twice */
		kbd.e1 = 2;
		return 0;
	}
#endif
	if (sc == 0xe0) {
		kbd.e0 = true;
		return 0;
	}
	bool e0 = kbd.e0, up = sc & 0x80;
	kbd.e0 = false;
	uint8_t code = sc & 0x7f;
	switch (code) {
	case 0x2a:
		if (!e0) /* 0xe0 0x2a: a fake shift some keys send */
			kbd.lshift = !up;
		return 0;
	case 0x36:
		if (!e0)
			kbd.rshift = !up;
		return 0;
	case 0x1d:
		if (e0)
			kbd.rctrl = !up;
		else
			kbd.lctrl = !up;
		return 0;
	case 0x38:
		kbd.alt = !up;
		return 0;
	case 0x3a:
#ifndef MUTATION_I8042_NO_CAPS_LOCK
		if (!up)
			kbd.caps = !kbd.caps;
#endif
		return 0;
	case 0x45:
		if (!e0 && !up)
			kbd.num = !kbd.num;
		return 0;
	}
	if (up)
		return 0;
#ifdef MUTATION_I8042_NO_KEYPAD
	if (false) {
#else
	if (!e0 && code >= 0x47 && code <= 0x53) {
#endif
		if (kbd.num) {
			buf[0] = keypad_num[code - 0x47];
			return 1;
		}
		return put_seq(buf, keypad_nav[code - 0x47]);
	}
	if (e0) {
		switch (code) {
		case 0x48:
			return put_seq(buf, "\033[A");
		case 0x50:
			return put_seq(buf, "\033[B");
		case 0x4d:
			return put_seq(buf, "\033[C");
		case 0x4b:
			return put_seq(buf, "\033[D");
		case 0x47:
			return put_seq(buf, "\033[1~");
		case 0x52:
			return put_seq(buf, "\033[2~");
		case 0x53:
			return put_seq(buf, "\033[3~");
		case 0x4f:
			return put_seq(buf, "\033[4~");
		case 0x49:
			return put_seq(buf, "\033[5~");
		case 0x51:
			return put_seq(buf, "\033[6~");
		case 0x1c:
			return put_seq(buf, "\r");
		case 0x35:
			return put_seq(buf, "/");
		default:
			return 0;
		}
	}
	if (code >= sizeof(keymap) || !keymap[code])
		return 0;
	bool shift = kbd.lshift || kbd.rshift, ctrl = kbd.lctrl || kbd.rctrl;
	char c = keymap[code];
	bool letter = c >= 'a' && c <= 'z';
	if (letter ? shift != kbd.caps : shift)
		c = keymap_shift[code];
	if (ctrl) {
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			c = (char)(c & 0x1f);
		else if (c == '[' || c == '\\' || c == ']')
			c = (char)(c & 0x1f);
		else if (c == ' ' || c == '2' || c == '@')
			c = 0;
		else if (c == '/' || c == '_' || c == '-')
			c = 0x1f;
		else if (c == '^' || c == '6')
			c = 0x1e;
	}
	int n = 0;
	if (kbd.alt)
		buf[n++] = 0x1b;
	buf[n++] = c;
	return n;
}

static int present = -1;

bool i8042_present(void)
{
	if (present < 0)
		present = inb(I8042_STATUS) != 0xff;
	return present;
}

int i8042_read_byte(void)
{
	if (!i8042_present())
		return -1;
	for (int i = 0; i < 32; i++) {
		uint8_t st = inb(I8042_STATUS);
		if (!(st & STATUS_OBF))
			return -1;
		uint8_t sc = inb(I8042_DATA);
		if (!(st & STATUS_AUX))
			return sc;
		/* a mouse byte: dropped */
	}
	return -1;
}

static bool wait_status(uint8_t bit, bool set)
{
	for (int i = 0; i < 100000; i++)
		if (!!(inb(I8042_STATUS) & bit) == set)
			return true;
	return false;
}

void i8042_enable_irq(void)
{
	/* the controller's configuration byte: bit 0 the keyboard interrupt,
	 * bit 6 the set 2 -> set 1 translation (kept as the firmware left it) */
	if (!wait_status(STATUS_IBF, false))
		return;
	outb(I8042_STATUS, CMD_READ_CONFIG);
	if (!wait_status(STATUS_OBF, true))
		return;
	uint8_t cfg = inb(I8042_DATA);
	if (cfg & CFG_KBD_IRQ)
		return;
	if (!wait_status(STATUS_IBF, false))
		return;
	outb(I8042_STATUS, CMD_WRITE_CONFIG);
	if (!wait_status(STATUS_IBF, false))
		return;
	outb(I8042_DATA, (uint8_t)(cfg | CFG_KBD_IRQ));
}
