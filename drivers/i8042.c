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
 * ESC [ 4 ~, PgUp ESC [ 5 ~, PgDn ESC [ 6 ~. Function keys and the keypad's
 * own codes (other than Enter, / and *) are ignored; no set 2 decoder.
 *
 * How bytes arrive: the tty's input thread calls i8042_poll() every 10 ms
 * (no IRQ 1: the kernel has no IOAPIC driver and keeps the 8259 masked).
 * It reads the data port while the status port says a byte waits (bit 0),
 * drops mouse bytes (bit 5) and feeds keyboard bytes through the decoder
 * to tty_receive(). A status of 0xff means no controller: nothing is read.
 *
 * Locks: the decoder state is only touched by the input thread (and by the
 * in-kernel test, which resets it first and runs while no keyboard input
 * is polled: a test typing on QEMU's keyboard at the same time would mix).
 */
#include "kernel/tty.h"
#include "arch/x86_64/asm.h"

#define I8042_DATA   0x60
#define I8042_STATUS 0x64
#define STATUS_OBF   0x01
#define STATUS_AUX   0x20

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

static struct {
	bool e0, lshift, rshift, lctrl, rctrl, alt, caps;
} kbd;

void i8042_reset_state(void)
{
	kbd.e0 = kbd.lshift = kbd.rshift = kbd.lctrl = kbd.rctrl = kbd.alt = kbd.caps = false;
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
	}
	if (up)
		return 0;
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

int i8042_poll(void)
{
	if (!i8042_present())
		return 0;
	int n = 0;
	for (int i = 0; i < 32; i++) {
		uint8_t st = inb(I8042_STATUS);
		if (!(st & STATUS_OBF))
			break;
		uint8_t sc = inb(I8042_DATA);
		if (st & STATUS_AUX)
			continue; /* a mouse byte */
		char buf[8];
		int k = i8042_decode(sc, buf);
		if (k)
			tty_receive(buf, (size_t)k);
		n++;
	}
	return n;
}
