/* kernel/monitor.h - the interactive kernel monitor on the serial console. */
#ifndef KERNEL_MONITOR_H
#define KERNEL_MONITOR_H

#include "kernel/compiler.h"

void monitor_run(void) __noreturn;
/* Execute one command line (modified in place); output to every console.
 * Returns false for an unknown command. */
bool monitor_exec(char *line);

/* Where the monitor's own output goes: buf == NULL means printk (every
 * console); otherwise it is appended to buf (always NUL-terminated, len
 * counts what did not fit too). Output of the subsystems a command calls
 * (ktest, pmm_dump, sched_dump) always goes to the consoles. */
struct mon_out {
	char *buf;
	size_t size, len;
};
bool monitor_exec_to(char *line, struct mon_out *out);

/* The line editor, one byte of input at a time. */
#define MONITOR_LINE_MAX 255 /* characters in a command line */
struct monitor_line {
	char buf[MONITOR_LINE_MAX + 1];
	size_t len; /* characters typed, even past MONITOR_LINE_MAX */
	int esc;    /* inside an escape sequence (arrow keys): 1 after ESC, 2 in CSI */
	bool cr;    /* the last byte was '\r' (a '\n' after it ends nothing) */
};
enum monitor_key {
	MON_NONE,     /* nothing to do yet */
	MON_LINE,     /* a line is ready in buf (NUL-terminated) */
	MON_TOO_LONG, /* a line ended that had more than MONITOR_LINE_MAX characters */
	MON_CANCEL,   /* Ctrl-C: the line was dropped */
};
/* Feed one input byte; the echo goes to out. After MON_LINE, MON_TOO_LONG
 * or MON_CANCEL the editor is empty again. */
enum monitor_key monitor_line_feed(struct monitor_line *l, int c, struct mon_out *out);

/* The line `run` prints after ktest_run_all() returned result for filter:
 * "run: N failed", "run: all passed", or when nothing ran (result < 0)
 * "run: no test matches 'X'" (for a list: "run: not every glob of 'X,Y'
 * matches a test; nothing ran"). */
void monitor_run_verdict(int result, const char *filter, struct mon_out *out);

#endif
