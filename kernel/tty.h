/*
 * kernel/tty.h - the console tty: the serial port and the framebuffer
 * console as one terminal with Linux's N_TTY line discipline, sessions,
 * process groups and a controlling tty. See kernel/tty.c.
 */
#ifndef KERNEL_TTY_H
#define KERNEL_TTY_H

#include "kernel/compiler.h"
#include "kernel/console_file.h"

#ifndef __NR_setpgid
#define __NR_setpgid 109
#endif
#ifndef __NR_setsid
#define __NR_setsid 112
#endif

/* termios bits (Linux's uapi asm-generic/termbits.h) */
#define VINTR	0
#define VQUIT	1
#define VERASE	2
#define VKILL	3
#define VEOF	4
#define VTIME	5
#define VMIN	6
#define VSTART	8
#define VSTOP	9
#define VSUSP	10
#define VEOL	11
#define VWERASE 14
#define VLNEXT	15
#define VEOL2	16
#define ISTRIP	0000040
#define INLCR	0000100
#define IGNCR	0000200
#define ICRNL	0000400
#define IXON	0002000
#define OPOST	0000001
#define ONLCR	0000004
#define ISIG	0000001
#define ICANON	0000002
#define ECHO	0000010
#define ECHOE	0000020
#define ECHOK	0000040
#define ECHONL	0000100
#define NOFLSH	0000200
#define TOSTOP	0000400
#define ECHOCTL 0001000
#define ECHOKE	0004000
#define IEXTEN	0100000

#define TCSBRK	    0x5409
#define TCXONC	    0x540a
#define TCFLSH	    0x540b
#define TIOCSCTTY   0x540e
#define TIOCSPGRP   0x5410
#define TIOCOUTQ    0x5411
#define TIOCNOTTY   0x5422
#define TIOCGSERIAL 0x541e
#define TIOCGSID    0x5429

/* A byte of input from a device or a test (thread context: the input
 * thread, or the caller of console_inject_input). */
void tty_receive(const char *s, size_t n);
/* Throw away pending input (tests; TCFLSH). */
void tty_flush_input(void);
/* Back to the boot settings: termios, no session, no foreground group
 * (tests, between cases). */
void tty_reset(void);
/* Start the input thread (serial port and PS/2 keyboard, polled). */
void tty_init(void);

/* The kfile ops of the tty: reads and writes go through the line
 * discipline. is_tty_file: f is open on it. */
struct kfile;
bool is_tty_file(const struct kfile *f);
/* open() of /dev/tty, /dev/ttyS0, /dev/console (devfs): a new kfile;
 * ctty_only: /dev/tty (-ENXIO without a controlling tty); may_ctty: a
 * session leader without a controlling tty gets this one (not with
 * O_NOCTTY, not for /dev/console). */
int tty_open(int flags, bool ctty_only, bool may_ctty, struct kfile **out);

int64_t sys_setsid(void);
int64_t sys_setpgid(int pid, int pgid);

/* The i8042 decoder (drivers/i8042.c): one set 1 scan code byte in,
 * the bytes it means (0 to 4) out in buf. */
int i8042_decode(uint8_t sc, char buf[8]);
void i8042_reset_state(void);
/* One byte of the keyboard (mouse bytes dropped), or -1. */
int i8042_read_byte(void);
bool i8042_present(void);
/* Turn on the controller's keyboard interrupt (IRQ 1). */
void i8042_enable_irq(void);
/* IRQ 1 or 4 arrived (arch/x86_64/trap.c, interrupt context). */
void tty_irq(int irq);

/* Is sid the console tty's session (then *pgrp: its foreground process
 * group, 0 if none)? For /proc/PID/stat's tty_nr and tpgid. */
bool tty_session_pgrp(int sid, int *pgrp);

#endif
