/*
 * kernel/tty.c - the console tty: the serial port (COM1) and the
 * framebuffer console with the PS/2 keyboard, as ONE terminal (Linux's
 * /dev/console, /dev/ttyS0 and, for its session, /dev/tty), with the N_TTY
 * line discipline (Linux's drivers/tty/n_tty.c), job control and the
 * setsid/setpgid calls.
 *
 * Input. Bytes come from the serial port and the keyboard: IRQ 4 and IRQ 1,
 * routed through the I/O APIC to the boot CPU (arch/x86_64/ioapic.c), read
 * the devices into a ring (tty_irq) and wake the "tty-input" thread (on
 * the boot CPU too: one producer), which decodes scan codes and feeds the
 * line discipline; it also drains the devices every 100 ms (an edge lost
 * while a device already held a byte), or every 10 ms when no I/O APIC
 * serves the IRQs. The devices are read only while a tty file is open, so
 * the monitor keeps polling the UART otherwise. Tests type input with
 * console_inject_input, the same path from there on. Each byte goes
 * through n_tty_receive_char, under tty.lock:
 *   ISTRIP, IGNCR / ICRNL / INLCR; with ISIG, VINTR (^C) sends SIGINT,
 *   VQUIT (^\) SIGQUIT and VSUSP (^Z) SIGTSTP to the FOREGROUND process
 *   group (tty.pgrp, not the session: MUTATION_TTY_SIGINT_SESSION), and
 *   flush the input unless NOFLSH; IXON: VSTART/VSTOP are swallowed.
 *   ICANON: VERASE (and ^H, as a convenience: a PS/2 Backspace sends DEL
 *   like Linux's keymap, some serial terminals send ^H) removes the last
 *   byte of the line being typed, VWERASE (^W, with IEXTEN) the last word,
 *   VKILL (^U) the whole line; none of them goes past the start of the line
 *   (canon_head: MUTATION_TTY_ERASE_PAST_LINE). VEOF (^D) ends the line
 *   without a byte: a read of an empty line returns 0 (end of file). '\n',
 *   VEOL and VEOL2 end a line. A line becomes readable only when it ends.
 *   Without ICANON every byte is readable at once.
 *   Echo (ECHO): the byte (control bytes as ^X with ECHOCTL), ECHOE's
 *   "\b \b" per erased byte, ECHOK's newline after a kill, ECHONL.
 *
 * Reading (n_tty_read): canonical mode returns at most one line (the ^D
 * marker is dropped), raw mode follows VMIN/VTIME as Linux: VMIN=0 VTIME=0
 * returns what is there (maybe 0, even with O_NONBLOCK), VMIN>0 waits for
 * min(VMIN, count) bytes (VTIME>0: with an inter-byte timer once one came),
 * VMIN=0 VTIME>0 waits at most VTIME tenths of a second. Sleeps are
 * interruptible (-ERESTARTSYS, the typed bytes stay in the buffer).
 *
 * Output goes to printk's consoles (the serial console turns '\n' into
 * "\r\n" itself, which is ONLCR; with OPOST or ONLCR off it still does:
 * documented difference) or, in tests, to console_output_sink, which sees
 * the bytes the program wrote and the echo, before output processing.
 *
 * Sessions and job control (Linux's drivers/tty/tty_jobctrl.c). The tty
 * records its session (the sid of the session leader that took it:
 * TIOCSCTTY, or an open() of /dev/ttyS0 without O_NOCTTY) and its
 * foreground process group. A process's controlling tty is this tty when
 * its sid is the tty's session (one tty: no per-process pointer needed).
 * A read by a process of the session outside the foreground group gets
 * SIGTTIN to its group (-EIO if SIGTTIN is ignored or blocked, or its
 * group is orphaned), a write with TOSTOP and TCSETS* and TIOCSPGRP get
 * SIGTTOU the same way (allowed when SIGTTOU is ignored or blocked).
 *
 * Locks: tty.lock (a spinlock; no sleeping, no user copies under it) guards
 * the buffer, termios, winsize, session and pgrp. Signals and echo are done
 * after it is dropped (tasklist_lock and the printk lock are never taken
 * under it). read_wait is woken when input becomes readable (and after a
 * flush), write_wait never blocks anyone (output is synchronous).
 */
#include "kernel/tty.h"
#include "kernel/poll.h"
#include "kernel/file.h"
#include "kernel/fs/fs.h"
#include "kernel/process.h"
#include "kernel/signal.h"
#include "kernel/sched.h"
#include "kernel/errno.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "kernel/spinlock.h"
#include "drivers/serial.h"
#include "arch/x86_64/ioapic.h"
#include "arch/x86_64/arch_impl.h"
#include "arch/x86_64/uaccess.h"

#define N_TTY_BUF_SIZE 4096
#define EOF_MARK       0x100 /* a ^D in the buffer: ends a line, no byte */

static struct tty_struct {
	spinlock_t lock;
	struct kernel_termios termios;
	struct kernel_winsize winsize;
	uint16_t buf[N_TTY_BUF_SIZE];
	/* free running: [read_tail, canon_head) lines ready (canonical),
	 * [canon_head, read_head) the line being typed */
	unsigned read_head, canon_head, read_tail;
	int session, pgrp; /* 0: none */
	int opened;	   /* tty kfiles open (the input thread reads devices) */
	struct waitq read_wait, write_wait;
} tty;

static const struct kernel_termios tty_std_termios = {
	.c_iflag = ICRNL | IXON,
	.c_oflag = OPOST | ONLCR,
	.c_cflag = 0xbf, /* B38400 | CS8 | CREAD | HUPCL */
	.c_lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN,
	.c_cc = { 3, 0x1c, 0x7f, 0x15, 4, 0, 1, 0, 0x11, 0x13, 0x1a, 0, 0x12, 0xf, 0x17, 0x16 },
};

static bool tty_inited;

static void tty_setup(void)
{
	if (tty_inited)
		return;
	spin_lock_init(&tty.lock, "tty");
	waitq_init(&tty.read_wait);
	waitq_init(&tty.write_wait);
	tty.termios = tty_std_termios;
	tty.winsize = (struct kernel_winsize){ .ws_row = 24, .ws_col = 80 };
	tty_inited = true;
}

#define L(f)  (tty.termios.c_lflag & (f))
#define I(f)  (tty.termios.c_iflag & (f))
#define CC(i) (tty.termios.c_cc[i])

/* ---- output -------------------------------------------------------------- */

void (*console_output_sink)(const char *s, size_t n);

static void tty_out(const char *s, size_t n)
{
	if (!n)
		return;
	if (console_output_sink)
		console_output_sink(s, n);
	else
		printk("%.*s", (int)n, s);
}

/* ---- input (n_tty_receive_char) ------------------------------------------ */

struct echo_buf {
	char b[64];
	size_t n;
};

/* Echo is gathered and written once tty.lock is dropped; a long one (^U
 * of a long line) is written out in pieces under it (tty.lock nests
 * outside the printk lock and the tests' capture lock). */
static void echo_add(struct echo_buf *e, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (e->n == sizeof(e->b)) {
			tty_out(e->b, e->n);
			e->n = 0;
		}
		e->b[e->n++] = s[i];
	}
}

/* The echo of one byte (Linux's echo_char). */
static void echo_char(struct echo_buf *e, unsigned c)
{
	if (L(ECHOCTL) && (c < 0x20 || c == 0x7f) && c != '\t' && c != '\n') {
		char s[2] = { '^', (char)(c ^ 0100) };
		echo_add(e, s, 2);
	} else {
		char s = (char)c;
		echo_add(e, &s, 1);
	}
}

static bool is_ctl_echoed(unsigned c)
{
	return L(ECHOCTL) && (c < 0x20 || c == 0x7f) && c != '\t';
}

/* Remove the last byte of the line being typed (never past canon_head). */
static bool erase_one(struct echo_buf *e)
{
#ifdef MUTATION_TTY_ERASE_PAST_LINE
	if (tty.read_head == tty.read_tail)
		return false;
	if (tty.read_head == tty.canon_head)
		tty.canon_head--;
#else
	if (tty.read_head == tty.canon_head)
		return false;
#endif
	unsigned c = tty.buf[--tty.read_head % N_TTY_BUF_SIZE];
	if (L(ECHO) && L(ECHOE)) {
		echo_add(e, "\b \b", 3);
		if (is_ctl_echoed(c))
			echo_add(e, "\b \b", 3);
	}
	return true;
}

static void put_byte(unsigned c)
{
	tty.buf[tty.read_head++ % N_TTY_BUF_SIZE] = (uint16_t)c;
}

static unsigned room(void)
{
	return N_TTY_BUF_SIZE - (tty.read_head - tty.read_tail);
}

static void flush_locked(void)
{
	tty.read_head = tty.canon_head = tty.read_tail;
}

/* One input byte; *sig: a signal for the foreground group. true: readers
 * may have something new. */
static bool n_tty_receive_char(unsigned c, struct echo_buf *e, int *sig)
{
	if (I(ISTRIP))
		c &= 0x7f;
	if (c == '\r') {
		if (I(IGNCR))
			return false;
#ifndef MUTATION_TTY_NO_ICRNL
		if (I(ICRNL))
			c = '\n';
#endif
	} else if (c == '\n' && I(INLCR)) {
		c = '\r';
	}
	if (L(ISIG) && c && (c == CC(VINTR) || c == CC(VQUIT) || c == CC(VSUSP))) {
		*sig = c == CC(VINTR) ? SIGINT : c == CC(VQUIT) ? SIGQUIT : SIGTSTP;
		if (!L(NOFLSH))
			flush_locked();
		if (L(ECHO))
			echo_char(e, c);
		return true;
	}
	if (I(IXON) && c && (c == CC(VSTART) || c == CC(VSTOP)))
		return false;
	if (L(ICANON)) {
		if ((c && c == CC(VERASE)) || c == '\b' || (L(IEXTEN) && c && c == CC(VWERASE))) {
			if (c == CC(VWERASE) && c != CC(VERASE) && c != '\b') {
				/* spaces, then the word */
				while (tty.read_head != tty.canon_head &&
				       tty.buf[(tty.read_head - 1) % N_TTY_BUF_SIZE] == ' ')
					erase_one(e);
				while (tty.read_head != tty.canon_head &&
				       tty.buf[(tty.read_head - 1) % N_TTY_BUF_SIZE] != ' ')
					erase_one(e);
			} else {
				erase_one(e);
			}
			return false;
		}
		if (c && c == CC(VKILL)) {
			bool any = false;
			if (L(ECHO) && !L(ECHOKE) && L(ECHOK)) {
				flush_locked(); /* only the typed line: canon_head stays */
			}
			while (tty.read_head != tty.canon_head) {
				any = true;
				if (L(ECHOKE) || !L(ECHOK))
					erase_one(e);
				else
					tty.read_head--;
			}
			if (L(ECHO) && !L(ECHOKE) && L(ECHOK)) {
				echo_char(e, c);
				echo_add(e, "\n", 1);
			}
			(void)any;
			return false;
		}
		if (c && c == CC(VEOF)) {
			if (!room())
				return false;
#ifdef MUTATION_TTY_EOF_AS_BYTE
			put_byte(c); /* ^D read as a byte: no end of file */
#else
			put_byte(EOF_MARK);
#endif
			tty.canon_head = tty.read_head;
			return true;
		}
		bool eol = c == '\n' || (c && (c == CC(VEOL) || c == CC(VEOL2)));
		/* keep the last slot for the end of the line (n_tty) */
		if (room() < (eol ? 1u : 2u))
			return false;
		if (L(ECHO) || (c == '\n' && L(ECHONL)))
			echo_char(e, c);
		put_byte(c);
		if (eol) {
			tty.canon_head = tty.read_head;
			return true;
		}
		return false;
	}
	if (!room())
		return false;
	if (L(ECHO))
		echo_char(e, c);
	put_byte(c);
	tty.canon_head = tty.read_head;
	return true;
}

void tty_receive(const char *s, size_t n)
{
	tty_setup();
	for (size_t i = 0; i < n;) {
		struct echo_buf e = { .n = 0 };
		int sig = 0, pgrp = 0;
		bool wake = false;
		unsigned long f = spin_lock_irqsave(&tty.lock);
		for (; i < n && e.n + 8 < sizeof(e.b) && !sig; i++)
			wake |= n_tty_receive_char((unsigned char)s[i], &e, &sig);
#ifdef MUTATION_TTY_SIGINT_SESSION
		pgrp = -tty.session;
#else
		pgrp = tty.pgrp;
#endif
		spin_unlock_irqrestore(&tty.lock, f);
		tty_out(e.b, e.n);
		if (sig && pgrp > 0) {
			kill_pgrp(pgrp, sig);
		} else if (sig && pgrp < 0) { /* the mutation: every process of the session */
			struct process *p;
			spin_lock(&tasklist_lock);
			list_for_each_entry (p, &all_processes, all_node)
				if (p->sid == -pgrp && p->state == PROC_ALIVE)
					kernel_send_process(p, sig, SI_KERNEL);
			spin_unlock(&tasklist_lock);
		}
#ifndef MUTATION_TTY_NO_WAKE
		if (wake || sig)
			wake_up_all(&tty.read_wait);
#endif
	}
}

void tty_flush_input(void)
{
	tty_setup();
	unsigned long f = spin_lock_irqsave(&tty.lock);
	flush_locked();
	spin_unlock_irqrestore(&tty.lock, f);
	wake_up_all(&tty.read_wait);
}

void tty_reset(void)
{
	tty_setup();
	unsigned long f = spin_lock_irqsave(&tty.lock);
	flush_locked();
	tty.termios = tty_std_termios;
	tty.winsize = (struct kernel_winsize){ .ws_row = 24, .ws_col = 80 };
	tty.session = tty.pgrp = 0;
	spin_unlock_irqrestore(&tty.lock, f);
}

void console_inject_input(const char *s, size_t n)
{
	if (!n) {
		tty_flush_input();
		return;
	}
	tty_receive(s, n);
}

/* ---- input from the devices ------------------------------------------------ */

/* Bytes read from the UART and the i8042 (scan codes), in arrival order,
 * until the input thread decodes them. One producer: CPU 0 with interrupts
 * off (the IRQ handlers, routed to CPU 0, and the thread's own drain, the
 * thread running on CPU 0); one consumer: the thread. */
#define IN_RING 1024
static struct {
	unsigned head, tail; /* free running; head written by the producer */
	uint8_t byte[IN_RING];
	bool kbd[IN_RING];
} in_ring;
static struct waitq input_wq;
static bool irq_routed;

static void ring_put(uint8_t b, bool kbd)
{
	unsigned h = in_ring.head;
	if (h - __atomic_load_n(&in_ring.tail, __ATOMIC_ACQUIRE) >= IN_RING)
		return; /* full: dropped */
	in_ring.byte[h % IN_RING] = b;
	in_ring.kbd[h % IN_RING] = kbd;
	__atomic_store_n(&in_ring.head, h + 1, __ATOMIC_RELEASE);
}

static bool ring_empty(void)
{
	return __atomic_load_n(&in_ring.head, __ATOMIC_ACQUIRE) == in_ring.tail;
}

/* Everything the devices hold into the ring (CPU 0, interrupts off). */
static int drain_devices(void)
{
	int n = 0, c;
	while (n < 256 && (c = serial_getc()) >= 0) {
		ring_put((uint8_t)c, false);
		n++;
	}
	while (n < 512 && (c = i8042_read_byte()) >= 0) {
		ring_put((uint8_t)c, true);
		n++;
	}
	return n;
}

/* IRQ 1 or 4 (arch/x86_64/trap.c): read the bytes, wake the thread. With
 * no tty open the bytes stay in the devices (the monitor polls the UART;
 * the edge comes again once it read them). */
void tty_irq(int irq)
{
	(void)irq;
	if (READ_ONCE(tty.opened) && drain_devices())
		wake_up_all(&input_wq);
}

/* The ring through the line discipline (thread context). */
static void consume_ring(void)
{
	char b[64];
	size_t n = 0;
	while (!ring_empty()) {
		unsigned t = in_ring.tail;
		uint8_t c = in_ring.byte[t % IN_RING];
		bool kbd = in_ring.kbd[t % IN_RING];
		__atomic_store_n(&in_ring.tail, t + 1, __ATOMIC_RELEASE);
		if (n + 8 > sizeof(b)) {
			tty_receive(b, n);
			n = 0;
		}
		if (kbd)
			n += (size_t)i8042_decode(c, b + n);
		else
			b[n++] = (char)c;
	}
	if (n)
		tty_receive(b, n);
}

static void tty_input_thread(void *arg)
{
	for (;;) {
		/* interrupts: woken by them, a drain every 100 ms in case an
		 * edge was missed; none: a poll every 10 ms */
		if (irq_routed)
			wait_event_timeout(input_wq, !ring_empty(), 100);
		else
			sleep_ms(10);
		if (READ_ONCE(tty.opened)) {
			unsigned long f = local_irq_save();
			drain_devices();
			local_irq_restore(f);
		}
		consume_ring();
	}
}

void tty_init(void)
{
	tty_setup();
	waitq_init(&input_wq);
	/* on this CPU (the BSP): the IRQs come here, the thread runs here */
	bool kbd = i8042_present() && ioapic_route_isa_irq(1, VEC_IRQ_KBD);
	bool com = serial_present() && ioapic_route_isa_irq(4, VEC_IRQ_COM1);
	if (kbd)
		i8042_enable_irq();
	if (com)
		serial_enable_irq();
	irq_routed = kbd || com;
	if (!thread_create("tty-input", tty_input_thread, NULL, 0))
		printk("tty: no input thread: the console takes no input\n");
}

/* ---- sessions and job control --------------------------------------------- */

/* A live process of session sid (tasklist_lock held). */
static bool session_alive(int sid)
{
	struct process *p;
	list_for_each_entry (p, &all_processes, all_node)
		if (p->sid == sid && p->state == PROC_ALIVE)
			return true;
	return false;
}

/* This tty is current's controlling tty. */
static bool is_ctty(void)
{
	struct process *p = current->proc;
	return p && tty.session && READ_ONCE(p->sid) == tty.session;
}

/* Linux's __tty_check_change: 0 (go on), -EIO, or -ERESTARTSYS (the
 * caller's group was sent sig). */
static int tty_check_change(int sig)
{
	struct process *p = current->proc;
	if (!p || !is_ctty())
		return 0;
	int pgid = READ_ONCE(p->pgid);
	if (!tty.pgrp || pgid == tty.pgrp)
		return 0;
#ifdef MUTATION_TTY_NO_JOB_CONTROL
	return 0; /* the background reads and takes the terminal as it likes */
#endif
	if (current_sig_ignored_or_blocked(sig))
		return sig == SIGTTIN ? -EIO : 0;
	if (is_current_pgrp_orphaned())
		return -EIO;
	kill_pgrp(pgid, sig);
	return -ERESTARTSYS;
}

int64_t sys_setsid(void)
{
	struct process *me = current->proc, *p;
	int err = 0;
	spin_lock(&tasklist_lock);
	list_for_each_entry (p, &all_processes, all_node)
		if (p->pgid == me->pid) {
#ifndef MUTATION_SETSID_GROUP_LEADER
			err = -EPERM; /* a process group with our id exists */
#endif
			break;
		}
	if (!err) {
		me->sid = me->pgid = me->pid;
		err = me->pid;
	}
	spin_unlock(&tasklist_lock);
	return err;
}

int64_t sys_setpgid(int pid, int pgid)
{
	struct process *me = current->proc, *p, *q;
	if (!pid)
		pid = me->pid;
	if (!pgid)
		pgid = pid;
	if (pgid < 0)
		return -EINVAL;
	spin_lock(&tasklist_lock);
	int err = -ESRCH;
	struct thread *t = find_thread(pid);
	p = t ? t->proc : NULL;
	if (!p)
		goto out;
	err = -EINVAL;
	if (p->pid != pid)
		goto out; /* a thread that is not its group's leader */
	if (p->parent == me) {
		err = -EPERM;
		if (p->sid != me->sid)
			goto out;
		/* Linux: -EACCES once the child has called execve (not tracked) */
	} else if (p != me) {
		err = -ESRCH;
		goto out;
	}
	err = -EPERM;
	if (p->sid == p->pid)
		goto out; /* a session leader */
	if (pgid != pid) {
		bool found = false;
		/* a zombie not yet reaped is still a member (Linux detaches
		 * it from its group at release_task) */
		list_for_each_entry (q, &all_processes, all_node)
#ifdef MUTATION_PGRP_IGNORES_ZOMBIES
			if (q->pgid == pgid && q->sid == me->sid && q->state == PROC_ALIVE) {
#else
			if (q->pgid == pgid && q->sid == me->sid) {
#endif
				found = true;
				break;
			}
		if (!found)
			goto out;
	}
	p->pgid = pgid;
	err = 0;
out:
	spin_unlock(&tasklist_lock);
	return err;
}

/* ---- the file ------------------------------------------------------------- */

static bool input_available(int amt)
{
	if (L(ICANON))
		return tty.canon_head != tty.read_tail;
	return (int)(tty.read_head - tty.read_tail) >= amt;
}

/* Copy what a read may take now into kb (at most len): canonical, up to
 * one line end; raw, what is there. The bytes taken; *eof: an empty line
 * (^D) was taken. */
static size_t take_locked(char *kb, size_t len, bool *eof)
{
	size_t n = 0;
	*eof = false;
	if (L(ICANON)) {
		while (n < len && tty.read_tail != tty.canon_head) {
			unsigned c = tty.buf[tty.read_tail++ % N_TTY_BUF_SIZE];
			if (c == EOF_MARK) {
				*eof = !n;
				break;
			}
			kb[n++] = (char)c;
			if (c == '\n' || (c && (c == CC(VEOL) || c == CC(VEOL2))))
				break;
		}
		return n;
	}
	while (n < len && tty.read_tail != tty.read_head) {
		unsigned c = tty.buf[tty.read_tail++ % N_TTY_BUF_SIZE];
		if (c != EOF_MARK) /* left from canonical mode */
			kb[n++] = (char)c;
	}
	if (tty.canon_head - tty.read_tail > N_TTY_BUF_SIZE)
		tty.canon_head = tty.read_tail;
	return n;
}

static ssize_t tty_read(struct kfile *f, uint64_t ubuf, size_t len, uint64_t *pos)
{
	char kb[512];
	size_t done = 0;
	int err = tty_check_change(SIGTTIN);
	if (err)
		return err;
	if (!len)
		return 0;
	unsigned long fl = spin_lock_irqsave(&tty.lock);
	bool canon = L(ICANON);
	int vmin = CC(VMIN), vtime = CC(VTIME);
	spin_unlock_irqrestore(&tty.lock, fl);
	int minimum = 0;
	uint64_t timeout_ns = 0; /* 0: no timeout */
	uint64_t inter_ns = 0;
	bool no_wait = false;
	if (!canon) {
		minimum = vmin;
		if (minimum) {
			inter_ns = (uint64_t)vtime * 100000000ull;
		} else {
			if (!vtime)
				no_wait = true;
			timeout_ns = (uint64_t)vtime * 100000000ull;
			minimum = 1;
		}
	}
	uint64_t deadline = timeout_ns ? ktime_get_ns() + timeout_ns : 0;
	for (;;) {
		bool eof = false;
		fl = spin_lock_irqsave(&tty.lock);
		size_t n = take_locked(kb, MIN(len - done, sizeof(kb)), &eof);
		bool more = tty.canon_head != tty.read_tail;
		spin_unlock_irqrestore(&tty.lock, fl);
		if (n) {
			if (copy_to_user(ubuf + done, kb, n))
				return done ? (ssize_t)done : -EFAULT;
			done += n;
		}
		if (canon) {
			if (n || eof) {
				/* a long line continues in the next piece */
				if (n && done < len && kb[n - 1] != '\n' && n == sizeof(kb) && more)
					continue;
				return (ssize_t)done;
			}
		} else {
			if (done >= len || (int)done >= minimum)
				return (ssize_t)done;
			if (n && inter_ns)
				deadline = ktime_get_ns() + inter_ns;
			if (n)
				continue;
		}
		if (no_wait)
			return (ssize_t)done;
		if (f->f_flags & O_NONBLOCK)
			return done ? (ssize_t)done : -EAGAIN;
		int need = canon ? 1 : (int)(MIN((size_t)minimum, len) - done);
#ifdef MUTATION_CONSOLE_READ_UNINTERRUPTIBLE
		/* the old console: sleeps through signals */
		int r = wait_event_timeout(tty.read_wait, input_available(need), 10) ? 0 : 0;
		if (deadline && ktime_get_ns() >= deadline)
			r = -ETIMEDOUT;
#else
		int r = wait_event_interruptible_deadline(tty.read_wait, input_available(need),
							  deadline);
#endif
		if (r == -ERESTARTSYS)
			return done ? (ssize_t)done : -ERESTARTSYS;
		if (r == -ETIMEDOUT) {
			fl = spin_lock_irqsave(&tty.lock);
			n = take_locked(kb, MIN(len - done, sizeof(kb)), &eof);
			spin_unlock_irqrestore(&tty.lock, fl);
			if (n && copy_to_user(ubuf + done, kb, n))
				return done ? (ssize_t)done : -EFAULT;
			return (ssize_t)(done + n);
		}
	}
}

static ssize_t tty_write(struct kfile *f, uint64_t ubuf, size_t len, uint64_t *pos)
{
	char buf[256];
	size_t done = 0;
	if (L(TOSTOP)) {
		int err = tty_check_change(SIGTTOU);
		if (err)
			return err;
	}
	while (done < len) {
		size_t n = MIN(len - done, sizeof(buf));
		if (copy_from_user(buf, ubuf + done, n))
			return done ? (ssize_t)done : -EFAULT;
		tty_out(buf, n);
		done += n;
	}
	return (ssize_t)done;
}

static unsigned tty_poll(struct kfile *f, poll_table *pt)
{
	poll_wait(f, &tty.read_wait, pt);
	poll_wait(f, &tty.write_wait, pt);
	unsigned long fl = spin_lock_irqsave(&tty.lock);
	bool canon = L(ICANON);
	int amt = canon ? 1 : (CC(VMIN) ? CC(VMIN) : 1);
	if (!canon && CC(VTIME))
		amt = 1;
	unsigned mask = POLLOUT | POLLWRNORM;
#ifdef MUTATION_POLL_TTY_ALWAYS_READABLE
	mask |= POLLIN | POLLRDNORM;
	(void)amt;
#else
	if (input_available(amt))
		mask |= POLLIN | POLLRDNORM;
#endif
	spin_unlock_irqrestore(&tty.lock, fl);
	return mask;
}

/* Bytes a canonical read could take (Linux's inq_canon: no ^D markers). */
static int inq_locked(void)
{
	unsigned end = L(ICANON) ? tty.canon_head : tty.read_head;
	int n = 0;
	for (unsigned i = tty.read_tail; i != end; i++)
		n += tty.buf[i % N_TTY_BUF_SIZE] != EOF_MARK;
	return n;
}

static long tiocspgrp(uint64_t arg)
{
	int err = tty_check_change(SIGTTOU);
	if (err == -EIO)
		return -ENOTTY;
	if (err)
		return err;
	int nr;
	if (copy_from_user(&nr, arg, sizeof(nr)))
		return -EFAULT;
	if (nr < 0)
		return -EINVAL;
	if (!is_ctty())
		return -ENOTTY;
	struct process *me = current->proc, *p;
	spin_lock(&tasklist_lock);
	int sid = -1;
	list_for_each_entry (p, &all_processes, all_node) /* zombies too */
#ifdef MUTATION_PGRP_IGNORES_ZOMBIES
		if (p->pgid == nr && p->state == PROC_ALIVE) {
#else
		if (p->pgid == nr) {
#endif
			sid = p->sid;
			break;
		}
	if (sid < 0) {
		p = find_process(nr);
		if (p)
			sid = p->sid;
	}
	err = sid < 0 ? -ESRCH : sid != me->sid ? -EPERM : 0;
	if (!err) {
		unsigned long fl = spin_lock_irqsave(&tty.lock);
		tty.pgrp = nr;
		spin_unlock_irqrestore(&tty.lock, fl);
	}
	spin_unlock(&tasklist_lock);
	return err;
}

static long tiocsctty(struct kfile *f, uint64_t arg)
{
	struct process *me = current->proc;
	if (!me)
		return -EPERM;
	spin_lock(&tasklist_lock);
	long err = 0;
	if (me->sid == me->pid && tty.session == me->sid)
		goto out; /* ours already */
	err = -EPERM;
	if (me->sid != me->pid)
		goto out; /* not a session leader (or it has another tty) */
	if (tty.session && session_alive(tty.session) && arg != 1)
		goto out; /* another session's; arg 1 steals it (root) */
	unsigned long fl = spin_lock_irqsave(&tty.lock);
	tty.session = me->sid;
	tty.pgrp = me->pgid;
	spin_unlock_irqrestore(&tty.lock, fl);
	err = 0;
out:
	spin_unlock(&tasklist_lock);
	return err;
}

static long tiocnotty(void)
{
	if (!is_ctty())
		return -ENOTTY;
	struct process *me = current->proc;
	if (me->sid != me->pid)
		return 0; /* Linux detaches only the caller: not tracked here */
	unsigned long fl = spin_lock_irqsave(&tty.lock);
	int pgrp = tty.pgrp;
	tty.session = tty.pgrp = 0;
	spin_unlock_irqrestore(&tty.lock, fl);
	if (pgrp) { /* disassociate_ctty */
		kill_pgrp(pgrp, SIGHUP);
		kill_pgrp(pgrp, SIGCONT);
	}
	return 0;
}

static long tty_ioctl(struct kfile *f, unsigned cmd, uint64_t arg)
{
	unsigned long fl;
	switch (cmd) {
	case TCGETS: {
		struct kernel_termios t;
		fl = spin_lock_irqsave(&tty.lock);
		t = tty.termios;
		spin_unlock_irqrestore(&tty.lock, fl);
		return copy_to_user(arg, &t, sizeof(t));
	}
	case TCSETS:
	case TCSETSW:
	case TCSETSF: {
		int err = tty_check_change(SIGTTOU);
		if (err)
			return err;
		struct kernel_termios t;
		if (copy_from_user(&t, arg, sizeof(t)))
			return -EFAULT;
		fl = spin_lock_irqsave(&tty.lock);
		if (cmd == TCSETSF)
			flush_locked();
		bool was_canon = L(ICANON);
		tty.termios = t;
		if (was_canon && !L(ICANON))
			tty.canon_head = tty.read_head; /* the partial line is readable */
		spin_unlock_irqrestore(&tty.lock, fl);
		wake_up_all(&tty.read_wait);
		return 0;
	}
	case TIOCGWINSZ: {
		struct kernel_winsize w;
		fl = spin_lock_irqsave(&tty.lock);
		w = tty.winsize;
		spin_unlock_irqrestore(&tty.lock, fl);
		return copy_to_user(arg, &w, sizeof(w));
	}
	case TIOCSWINSZ: {
		struct kernel_winsize w;
		if (copy_from_user(&w, arg, sizeof(w)))
			return -EFAULT;
		fl = spin_lock_irqsave(&tty.lock);
		bool changed = memcmp(&w, &tty.winsize, sizeof(w)) != 0;
		tty.winsize = w;
		int pgrp = tty.pgrp;
		spin_unlock_irqrestore(&tty.lock, fl);
		if (changed && pgrp)
			kill_pgrp(pgrp, SIGWINCH);
		return 0;
	}
	case TIOCGPGRP: {
		if (!is_ctty())
			return -ENOTTY;
		int pg = tty.pgrp;
		return copy_to_user(arg, &pg, sizeof(pg));
	}
	case TIOCSPGRP:
		return tiocspgrp(arg);
	case TIOCGSID: {
		if (!is_ctty())
			return -ENOTTY;
		int s = tty.session;
		return copy_to_user(arg, &s, sizeof(s));
	}
	case TIOCSCTTY:
		return tiocsctty(f, arg);
	case TIOCNOTTY:
		return tiocnotty();
	case FIONREAD: {
		fl = spin_lock_irqsave(&tty.lock);
		int n = inq_locked();
		spin_unlock_irqrestore(&tty.lock, fl);
		return copy_to_user(arg, &n, sizeof(n));
	}
	case TIOCOUTQ: {
		int n = 0;
		return copy_to_user(arg, &n, sizeof(n));
	}
	case TCFLSH:
		if (arg > 2)
			return -EINVAL;
		if (arg != 1)
			tty_flush_input();
		return 0;
	case TCSBRK:
	case TCXONC:
		return 0;
	case TIOCGSERIAL: {
		/* struct serial_struct of the 16550 on COM1 (busybox's cttyhack
		 * finds /dev/ttyS<line> with it) */
		int32_t ss[18];
		memset(ss, 0, sizeof(ss));
		ss[0] = 4;	/* type PORT_16550A */
		ss[1] = 0;	/* line: ttyS0 */
		ss[2] = 0x3f8;	/* port */
		ss[3] = 4;	/* irq */
		ss[5] = 16;	/* xmit_fifo_size */
		ss[7] = 115200; /* baud_base */
		return copy_to_user(arg, ss, sizeof(ss));
	}
	default:
		return -ENOTTY;
	}
}

static void tty_release(struct kfile *f)
{
	__atomic_fetch_sub(&tty.opened, 1, __ATOMIC_RELAXED);
}

static const struct file_operations tty_fops = {
	.read = tty_read,
	.write = tty_write,
	.ioctl = tty_ioctl,
	.release = tty_release,
	.poll = tty_poll,
};

bool is_tty_file(const struct kfile *f)
{
	return f->f_op == &tty_fops;
}

static struct kfile *tty_kfile(int flags)
{
	tty_setup();
	struct kfile *f = kfile_alloc(&tty_fops, KFILE_CONSOLE, FMODE_READ | FMODE_WRITE,
				      O_RDWR | O_LARGEFILE | (flags & (O_NONBLOCK | O_APPEND)));
	if (f)
		__atomic_fetch_add(&tty.opened, 1, __ATOMIC_RELAXED);
	return f;
}

int tty_open(int flags, bool ctty_only, bool may_ctty, struct kfile **out)
{
	tty_setup();
	struct process *me = current->proc;
#ifndef MUTATION_DEV_TTY_WITHOUT_CTTY
	if (ctty_only && !is_ctty())
		return -ENXIO;
#endif
	struct kfile *f = tty_kfile(flags);
	if (!f)
		return -ENOMEM;
	int acc = flags & O_ACCMODE;
	f->f_mode = (acc == O_RDONLY   ? FMODE_READ
		     : acc == O_WRONLY ? FMODE_WRITE
				       : FMODE_READ | FMODE_WRITE);
	f->f_flags = (flags & (O_ACCMODE | O_NONBLOCK | O_APPEND)) | O_LARGEFILE;
	if (may_ctty && !(flags & O_NOCTTY) && me) {
		/* tty_open_proc_set_tty: a session leader without a tty */
		spin_lock(&tasklist_lock);
		if (me->sid == me->pid && (!tty.session || !session_alive(tty.session))) {
			unsigned long fl = spin_lock_irqsave(&tty.lock);
			tty.session = me->sid;
			tty.pgrp = me->pgid;
			spin_unlock_irqrestore(&tty.lock, fl);
		}
		spin_unlock(&tasklist_lock);
	}
	*out = f;
	return 0;
}

struct kfile *console_file_open(int flags)
{
	return tty_kfile(flags);
}

/* /proc/PID/stat (kernel/fs/procfs.c): is sid the console tty's session?
 * Then *pgrp is its foreground process group (0: none). */
bool tty_session_pgrp(int sid, int *pgrp)
{
	unsigned long fl = spin_lock_irqsave(&tty.lock);
	bool ours = tty.session && sid == tty.session;
	*pgrp = tty.pgrp;
	spin_unlock_irqrestore(&tty.lock, fl);
	return ours;
}
