/*
 * kernel/console_file.c - the console as a file: stdin, stdout and stderr of
 * user programs.
 *
 * write() prints the bytes on every console (serial and framebuffer) through
 * printk, in pieces of at most 256 bytes copied from user memory first (so a
 * bad pointer prints nothing of its piece and ends the write with what was
 * done, or -EFAULT). read() returns one line from the serial input, as a
 * terminal in canonical mode: it polls the UART every 10 ms until it has a
 * newline (CR becomes NL, as ICRNL) or the buffer is full, echoing what it
 * reads; O_NONBLOCK returns -EAGAIN when nothing is there.
 *
 * A blocking read sleeps interruptibly (Linux's n_tty_read): a signal ends
 * it with -ERESTARTSYS, which the way back to user mode turns into -EINTR
 * or a restart (SA_RESTART), as for a pipe. The part of a line typed
 * before the signal is not lost: it goes back to the head of the input
 * (already echoed, so not echoed again), as Linux keeps it in the line
 * discipline's buffer. MUTATION_CONSOLE_READ_UNINTERRUPTIBLE sleeps through
 * signals (the old behaviour: alarm() cannot interrupt a read of stdin).
 *
 * The ioctls a C
 * library asks a terminal answer as a terminal would: TCGETS (glibc's
 * isatty, so stdio line-buffers stdout), TIOCGWINSZ (musl's), TCSETS* are
 * accepted; any other one is -ENOTTY.
 */
#include "kernel/console_file.h"
#include "kernel/file.h"
#include "kernel/fdtable.h"
#include "kernel/fs/fs.h"
#include "kernel/errno.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "kernel/spinlock.h"
#include "kernel/sched.h"
#include "drivers/serial.h"
#include "arch/x86_64/uaccess.h"

void (*console_output_sink)(const char *s, size_t n);

static DEFINE_SPINLOCK(inject_lock);
static char inject_buf[256];
static size_t inject_len, inject_off;
/* Input read by an interrupted read, given back first (inject_lock). */
static char pushback_buf[256];
static size_t pushback_len, pushback_off;

void console_inject_input(const char *s, size_t n)
{
	spin_lock(&inject_lock);
	n = MIN(n, sizeof(inject_buf));
	memcpy(inject_buf, s, n);
	inject_len = n;
	inject_off = 0;
	spin_unlock(&inject_lock);
}

/* One input byte, or -1. */
static int console_getc(bool *echo)
{
	int c = -1;
	spin_lock(&inject_lock);
	if (pushback_off < pushback_len)
		c = (unsigned char)pushback_buf[pushback_off++];
	else if (inject_off < inject_len)
		c = (unsigned char)inject_buf[inject_off++];
	spin_unlock(&inject_lock);
	*echo = false;
	if (c < 0 && (c = serial_getc()) >= 0)
		*echo = true;
	return c;
}

static void console_out(const char *s, size_t n)
{
	if (console_output_sink)
		console_output_sink(s, n);
	else
		printk("%.*s", (int)n, s);
}

/* Give the n bytes of an interrupted line back, ahead of anything left. */
static void console_unread(const char *s, size_t n)
{
	spin_lock(&inject_lock);
	size_t left = pushback_len - pushback_off;
	char rest[sizeof(pushback_buf)];
	memcpy(rest, pushback_buf + pushback_off, left);
	n = MIN(n, sizeof(pushback_buf) - left);
	memcpy(pushback_buf, s, n);
	memcpy(pushback_buf + n, rest, left);
	pushback_len = n + left;
	pushback_off = 0;
	spin_unlock(&inject_lock);
}

/* Wait 10 ms for input: 0, or -ERESTARTSYS for a signal. */
static int console_wait_input(void)
{
	uint64_t deadline = ktime_get_ns() + 10000000ull;
	struct waitq wq; /* nobody wakes it: a poll with a deadline (no UART IRQ) */
	waitq_init(&wq);
#ifdef MUTATION_CONSOLE_READ_UNINTERRUPTIBLE
	(void)deadline;
	sleep_ms(10);
	return 0;
#else
	return wait_event_interruptible_deadline(wq, false, deadline) == -ERESTARTSYS ? -ERESTARTSYS
										      : 0;
#endif
}

static ssize_t console_read(struct kfile *f, uint64_t ubuf, size_t len, uint64_t *pos)
{
	char line[256];
	size_t n = 0;
	len = MIN(len, sizeof(line));
	while (n < len) {
		bool echo;
		int c = console_getc(&echo);
		if (c < 0) {
			/* nothing yet (O_NONBLOCK: -EAGAIN), or a line in
			 * progress: wait for its end */
			if (!n && (f->f_flags & O_NONBLOCK))
				return -EAGAIN;
			if (console_wait_input()) {
				console_unread(line, n);
				return -ERESTARTSYS; /* a signal: -EINTR or restarted */
			}
			continue;
		}
		if (c == '\r')
			c = '\n';
		line[n++] = (char)c;
		if (echo)
			console_out(&line[n - 1], 1);
		if (c == '\n')
			break;
	}
	if (!n)
		return 0;
	return copy_to_user(ubuf, line, n) ? -EFAULT : (ssize_t)n;
}

static ssize_t console_write(struct kfile *f, uint64_t ubuf, size_t len, uint64_t *pos)
{
	char buf[256];
	size_t done = 0;
	while (done < len) {
		size_t n = MIN(len - done, sizeof(buf));
		if (copy_from_user(buf, ubuf + done, n))
			return done ? (ssize_t)done : -EFAULT;
		console_out(buf, n);
		done += n;
	}
	return (ssize_t)done;
}

static long console_ioctl(struct kfile *f, unsigned cmd, uint64_t arg)
{
	switch (cmd) {
	case TCGETS: {
		struct kernel_termios t;
		memset(&t, 0, sizeof(t));
		t.c_iflag = 0x500;  /* ICRNL | IXON */
		t.c_oflag = 0x5;    /* OPOST | ONLCR */
		t.c_cflag = 0xbf;   /* B38400 | CS8 | CREAD | HUPCL */
		t.c_lflag = 0x8a3b; /* ISIG ICANON ECHO ECHOE ECHOK ECHOCTL ECHOKE IEXTEN */
		static const uint8_t cc[] = { 3,    0x1c, 0x7f, 0x15, 4,    0,	 1,    0,
					      0x11, 0x13, 0x1a, 0,    0x12, 0xf, 0x17, 0x16 };
		memcpy(t.c_cc, cc, sizeof(cc));
		return copy_to_user(arg, &t, sizeof(t));
	}
	case TCSETS:
	case TCSETSW:
	case TCSETSF: {
		struct kernel_termios t;
		return copy_from_user(&t, arg, sizeof(t)); /* accepted, not applied */
	}
	case TIOCGWINSZ: {
		struct kernel_winsize w = { .ws_row = 24, .ws_col = 80 };
		return copy_to_user(arg, &w, sizeof(w));
	}
	default:
		return -ENOTTY;
	}
}

static const struct file_operations console_ops = {
	.read = console_read,
	.write = console_write,
	.ioctl = console_ioctl,
};

struct kfile *console_file_open(int flags)
{
	return kfile_alloc(&console_ops, KFILE_CONSOLE, FMODE_READ | FMODE_WRITE,
			   O_RDWR | O_LARGEFILE | (flags & (O_NONBLOCK | O_APPEND)));
}

int console_install_stdio(struct files_struct *files)
{
	struct kfile *f = console_file_open(0);
	if (!f)
		return -ENOMEM;
	for (int i = 0; i < 3; i++) {
		int fd = fd_alloc(files, (unsigned)i, false);
		if (fd != i) {
			if (fd >= 0)
				put_unused_fd(files, (unsigned)fd);
			kfile_put(f);
			return fd < 0 ? fd : -EBUSY;
		}
		kfile_get(f);
		fd_install(files, (unsigned)fd, f);
	}
	kfile_put(f);
	return 0;
}
