/*
 * boot/console.c - serial (COM1) and ConOut output for the loader.
 *
 * The serial side programs the 16550 itself and polls the transmitter, so
 * it needs no firmware service and keeps working after ExitBootServices.
 * If no UART answers at 0x3F8 (a machine without COM1 reads 0xFF from every
 * register) serial output is skipped instead of spinning on a dead port.
 *
 * Every line written once: firmware such as OVMF (and most PCs with a serial
 * console enabled in their setup) sends its console to COM1 as well. While
 * boot services run, the loader writes COM1 itself only if the firmware
 * console does not reach it: a handle of the console (EDK II marks them
 * with the ConsoleOutDevice protocol; else the ConOut variable, checked
 * against the text-output handles that exist) whose device path goes
 * through COM1's UART, ACPI PNP0501 UID 0 then a UART messaging node (type
 * 3, subtype 14). A console on the screen only, or on another UART (COM2, a
 * PCI or AMT serial port), still gets COM1 written directly. After
 * ExitBootServices, COM1 is the only output.
 */
#include "boot/console.h"

#define COM1	      0x3F8
#define UART_THR      0	   /* transmit holding register (DLAB=0) */
#define UART_DLL      0	   /* divisor latch low (DLAB=1) */
#define UART_IER      1	   /* interrupt enable (DLAB=0) */
#define UART_DLM      1	   /* divisor latch high (DLAB=1) */
#define UART_FCR      2	   /* FIFO control */
#define UART_LCR      3	   /* line control */
#define UART_MCR      4	   /* modem control */
#define UART_LSR      5	   /* line status */
#define LSR_THRE      0x20 /* transmit holding register empty */
#define LSR_TEMT      0x40 /* transmitter idle: FIFO and shift register empty */
#define TX_SPIN_LIMIT 100000

#define PNP_COM	       0x0501 /* ACPI HID of a 16550-compatible port */
#define DP_MAX_NODES   512    /* bound on a device path walk */
#define CON_VAR_MAX    4096   /* bytes of the ConOut variable read */
#define LAST_LINE_SIZE 200

/* EDK II's gEfiConsoleOutDeviceGuid: on the handles ConOut writes to. */
#define CONSOLE_OUT_DEVICE_GUID                                        \
	{                                                              \
		0xd3b36f2c, 0xd551, 0x11d4,                            \
		{                                                      \
			0x9a, 0x46, 0x00, 0x90, 0x27, 0x3f, 0xc1, 0x4d \
		}                                                      \
	}

static SIMPLE_TEXT_OUTPUT_INTERFACE *con_out; /* NULL after con_detach() */
static int serial_ok;
static int serial_direct; /* write COM1 ourselves (else ConOut reaches it) */
static const char *con_how = "firmware console and COM1";

/* The last complete line logged, and the one being built. */
static char last_line[LAST_LINE_SIZE], cur_line[LAST_LINE_SIZE];
static size_t cur_len;

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* Program COM1 for 115200 baud, 8 data bits, no parity, 1 stop bit, FIFOs on,
 * interrupts off. Waits first (bounded) for what the firmware sent to leave
 * the FIFO, which the reset below would drop. */
static void serial_init(void)
{
	for (int i = 0; i < TX_SPIN_LIMIT; i++)
		if (inb(COM1 + UART_LSR) & LSR_TEMT)
			break;
	outb(COM1 + UART_IER, 0x00);
	outb(COM1 + UART_LCR, 0x80); /* DLAB: access the divisor */
	outb(COM1 + UART_DLL, 0x01); /* 115200 / 1 */
	outb(COM1 + UART_DLM, 0x00);
	outb(COM1 + UART_LCR, 0x03); /* 8N1, DLAB off */
	outb(COM1 + UART_FCR, 0xC7); /* enable + clear FIFOs, 14-byte trigger */
	outb(COM1 + UART_MCR, 0x03); /* DTR + RTS, OUT2 off: no IRQs */
	serial_ok = inb(COM1 + UART_LSR) != 0xFF;
}

static void serial_putc(char c)
{
	for (int i = 0; i < TX_SPIN_LIMIT; i++)
		if (inb(COM1 + UART_LSR) & LSR_THRE)
			break;
	outb(COM1 + UART_THR, (uint8_t)c);
}

static void serial_write(const char *s)
{
	if (!serial_ok || !serial_direct)
		return;
	for (; *s; s++) {
		if (*s == '\n')
			serial_putc('\r');
		serial_putc(*s);
	}
}

/* ConOut wants UCS-2 and CR LF; convert in small chunks on the stack. */
static void conout_write(const char *s)
{
	CHAR16 chunk[130];
	size_t n = 0;

	if (!con_out)
		return;
	for (; *s; s++) {
		if (*s == '\n')
			chunk[n++] = L'\r';
		chunk[n++] = (CHAR16)(unsigned char)*s;
		if (n >= 128) {
			chunk[n] = 0;
			uefi_call_wrapper(con_out->OutputString, 2, con_out, chunk);
			n = 0;
		}
	}
	if (n) {
		chunk[n] = 0;
		uefi_call_wrapper(con_out->OutputString, 2, con_out, chunk);
	}
}

/* ---- does the firmware console reach COM1? ------------------------------- */

/*
 * Walk a device path of one or more instances (at most `bytes` long, 0 =
 * unbounded but for the node limit): 1 if an instance goes through COM1's
 * UART. Malformed paths (a node shorter than its header, or past `bytes`)
 * end the walk with the answer so far.
 */
static int path_reaches_com1(const EFI_DEVICE_PATH_PROTOCOL *dp, UINTN bytes)
{
	const UINT8 *p = (const UINT8 *)dp;
	UINTN off = 0;
	int com1 = 0; /* this instance is below the COM1 ACPI node */

	for (int n = 0; dp && n < DP_MAX_NODES; n++) {
		if (bytes && off + sizeof(EFI_DEVICE_PATH_PROTOCOL) > bytes)
			break;
		const EFI_DEVICE_PATH_PROTOCOL *node = (const void *)(p + off);
		UINTN len = DevicePathNodeLength(node);
		if (len < sizeof(EFI_DEVICE_PATH_PROTOCOL) || (bytes && off + len > bytes))
			break;
		UINT8 type = DevicePathType(node), sub = DevicePathSubType(node);
		if (type == END_DEVICE_PATH_TYPE) {
			if (sub == END_ENTIRE_DEVICE_PATH_SUBTYPE)
				break;
			com1 = 0; /* the next instance */
		} else if (type == ACPI_DEVICE_PATH && sub == ACPI_DP &&
			   len >= sizeof(ACPI_HID_DEVICE_PATH)) {
			const ACPI_HID_DEVICE_PATH *a = (const void *)node;
			com1 = a->HID == EISA_PNP_ID(PNP_COM) && a->UID == 0;
		} else if (type == MESSAGING_DEVICE_PATH && sub == MSG_UART_DP && com1) {
			return 1;
		}
		off += len;
	}
	return 0;
}

static int handle_reaches_com1(EFI_BOOT_SERVICES *bs, EFI_HANDLE h)
{
	EFI_GUID dp_guid = EFI_DEVICE_PATH_PROTOCOL_GUID;
	EFI_DEVICE_PATH_PROTOCOL *dp;

	if (EFI_ERROR(uefi_call_wrapper(bs->HandleProtocol, 3, h, &dp_guid, (void **)&dp)))
		return 0;
	return path_reaches_com1(dp, 0);
}

static int has_protocol(EFI_BOOT_SERVICES *bs, EFI_HANDLE h, EFI_GUID *guid)
{
	void *iface;
	return !EFI_ERROR(uefi_call_wrapper(bs->HandleProtocol, 3, h, guid, &iface));
}

static int conout_reaches_com1(EFI_SYSTEM_TABLE *st)
{
	EFI_BOOT_SERVICES *bs = st->BootServices;
	EFI_GUID text_guid = EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL_GUID;
	EFI_GUID dev_guid = CONSOLE_OUT_DEVICE_GUID;
	EFI_GUID var_guid = EFI_GLOBAL_VARIABLE;
	EFI_HANDLE *handles = NULL;
	UINTN n = 0;
	int marked = 0, marked_com1 = 0, text_com1 = 0;

	/* ConOut is one device (no splitter): its own path says it. */
	if (st->ConsoleOutHandle && handle_reaches_com1(bs, st->ConsoleOutHandle))
		return 1;
	if (EFI_ERROR(uefi_call_wrapper(bs->LocateHandleBuffer, 5, ByProtocol, &text_guid, NULL, &n,
					&handles)))
		return 0;
	for (UINTN i = 0; i < n; i++) {
		int com1 = handle_reaches_com1(bs, handles[i]);
		text_com1 |= com1;
		if (has_protocol(bs, handles[i], &dev_guid)) {
			marked = 1;
			marked_com1 |= com1;
		}
	}
	uefi_call_wrapper(bs->FreePool, 1, handles);
	if (marked)
		return marked_com1;
	if (!text_com1)
		return 0;
	/* No EDK II marks: a text output on COM1 exists; is it in ConOut? */
	static UINT8 var[CON_VAR_MAX];
	UINTN size = sizeof(var);
	if (EFI_ERROR(uefi_call_wrapper(st->RuntimeServices->GetVariable, 5, L"ConOut", &var_guid,
					NULL, &size, var)))
		return 0;
	return path_reaches_com1((EFI_DEVICE_PATH_PROTOCOL *)var, size);
}

void con_init(EFI_SYSTEM_TABLE *st)
{
	con_out = st->ConOut;
	if (con_out && conout_reaches_com1(st)) {
		serial_direct = 0; /* set up at con_detach() */
		con_how = "firmware console (it includes COM1)";
		return;
	}
	serial_direct = 1;
	serial_init();
	con_how = !con_out    ? "COM1"
		  : serial_ok ? "firmware console and COM1"
			      : "firmware console (no UART at COM1)";
}

const char *con_describe(void)
{
	return con_how;
}

void con_detach(void)
{
	con_out = NULL;
	if (!serial_direct) {
		serial_direct = 1;
		serial_init();
	}
}

/* Keep the last whole line that went out (for `loader: boot failed`). */
static void remember(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n') {
			if (cur_len) {
				cur_line[cur_len] = 0;
				for (size_t i = 0; i <= cur_len; i++)
					last_line[i] = cur_line[i];
			}
			cur_len = 0;
		} else if (cur_len + 1 < sizeof(cur_line)) {
			cur_line[cur_len++] = *s;
		}
	}
}

const char *con_last_line(void)
{
	return last_line;
}

void log_msg(const char *fmt, ...)
{
	char buf[512];
	__builtin_va_list ap;

	__builtin_va_start(ap, fmt);
	vfmt_buf(buf, sizeof(buf), fmt, ap);
	__builtin_va_end(ap);
	remember(buf);
	serial_write(buf);
	conout_write(buf);
}

void ucs2_to_ascii(char *dst, size_t cap, const CHAR16 *src)
{
	size_t i = 0;

	if (!cap)
		return;
	for (; src && src[i] && i + 1 < cap; i++)
		dst[i] = src[i] < 0x80 ? (char)src[i] : '?';
	dst[i] = 0;
}

/* ---- the formatter ----------------------------------------------------- */

struct out {
	char *buf;
	size_t cap, len; /* len counts every byte, even those that did not fit */
};

static void out_c(struct out *o, char c)
{
	if (o->len + 1 < o->cap)
		o->buf[o->len] = c;
	o->len++;
}

/* Emit v in base 10 or 16, right-aligned in width, padded with pad. */
static void out_num(struct out *o, uint64_t v, unsigned base, int neg, int width, char pad)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		tmp[n++] = '-';
	for (int i = n; i < width; i++)
		out_c(o, pad);
	while (n)
		out_c(o, tmp[--n]);
}

/* Fetch an integer argument of the given length (0 int, 1 long, 2 long long). */
#define FETCH(ap, lng, type)                                    \
	((lng) == 0 ? (type) __builtin_va_arg(ap, unsigned int) \
		    : (type) __builtin_va_arg(ap, unsigned long))

size_t vfmt_buf(char *buf, size_t cap, const char *fmt, __builtin_va_list ap)
{
	struct out o = { buf, cap, 0 };

	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			out_c(&o, *fmt);
			continue;
		}
		fmt++;
		char pad = ' ';
		int width = 0, lng = 0;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 'd': {
			int64_t v = lng ? (int64_t) __builtin_va_arg(ap, long)
					: (int64_t) __builtin_va_arg(ap, int);
			uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
			out_num(&o, mag, 10, v < 0, width, pad);
			break;
		}
		case 'u':
			out_num(&o, FETCH(ap, lng, uint64_t), 10, 0, width, pad);
			break;
		case 'x':
			out_num(&o, FETCH(ap, lng, uint64_t), 16, 0, width, pad);
			break;
		case 'p':
			out_c(&o, '0');
			out_c(&o, 'x');
			out_num(&o, (uint64_t) __builtin_va_arg(ap, void *), 16, 0, width, pad);
			break;
		case 'c':
			out_c(&o, (char)__builtin_va_arg(ap, int));
			break;
		case 's': {
			const char *s = __builtin_va_arg(ap, const char *);
			for (s = s ? s : "(null)"; *s; s++)
				out_c(&o, *s);
			break;
		}
		case '%':
			out_c(&o, '%');
			break;
		case 0:
			fmt--; /* a lone '%' at the end: stop at the NUL */
			break;
		default:
			out_c(&o, '%');
			out_c(&o, *fmt);
			break;
		}
	}
	if (cap)
		buf[o.len < cap ? o.len : cap - 1] = 0;
	return o.len;
}

size_t fmt_buf(char *buf, size_t cap, const char *fmt, ...)
{
	__builtin_va_list ap;
	size_t n;

	__builtin_va_start(ap, fmt);
	n = vfmt_buf(buf, cap, fmt, ap);
	__builtin_va_end(ap);
	return n;
}
