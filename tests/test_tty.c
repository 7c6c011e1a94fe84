/*
 * tests/test_tty.c - the console tty, /dev and poll (issue 15).
 *
 * The user programs (tests/user/tty.c, poll.c, dev.c) run with stdin,
 * stdout and stderr on the console tty; the cases here type their input
 * with console_inject_input (the same path as the serial port and the
 * keyboard: the line discipline) after the program printed "# ready STEP",
 * and check what was echoed in the captured output (console_output_sink).
 *
 *   canon: /bin/tty canon - erase (DEL, ^H) and kill (^U) with their
 *       echo ("\b \b" per byte), no erase past the start of the line, ^D,
 *       ICRNL, echo off hides the line, poll wakes on a typed line.
 *   raw: /bin/tty raw - VMIN/VTIME, no ICRNL, no echo.
 *   jobs: /bin/tty jobs - ^C / ^\ kill the foreground group only (the
 *       program is the "shell" that survives), sessions and groups, job
 *       control errors (echo "^C").
 *   poll: /bin/poll - poll/ppoll/select/pselect6 on pipes, files, /dev,
 *       wake-ups, timeouts, EINTR, errno.
 *   dev: /bin/dev - /dev's entries, modes, majors and minors, I/O.
 *   i8042_decode: scan code set 1 to bytes (Shift, Caps Lock, Ctrl, Alt,
 *       the arrows, Backspace, Enter, releases).
 *   fbcon_escapes: the cursor after CSI H, A/B/C/D, \r, \b, \t; J and K
 *       clear cells (skipped without a framebuffer).
 */
#include "tests/ktest.h"
#include "tests/ktest_kbd.h"
#include "tests/ktest_fs.h"
#include "tests/ktest_user.h"
#include "kernel/tty.h"
#include "kernel/console_file.h"
#include "kernel/string.h"
#include "drivers/fbcon.h"

struct step {
	const char *marker; /* "# ready X" printed: then type input */
	const char *input;
	size_t len;
};

static void run_typed(struct ktest *t, char *const argv[], const struct step *steps, int nsteps)
{
	struct prog_run run;
	int threads = sched_thread_count();
	tty_reset();
	capture_begin();
	if (start_program(t, argv[0], argv, CPU_ANY, false, &run)) {
		for (int i = 0; i < nsteps; i++) {
			uint64_t deadline = ktime_get_ns() + 10000000000ull;
			while (!contains(out_buf, steps[i].marker) && ktime_get_ns() < deadline)
				sleep_ms(5);
			if (!contains(out_buf, steps[i].marker)) {
				ktest_fail(t, __FILE__, __LINE__, "no \"%s\"", steps[i].marker);
				break;
			}
			sleep_ms(100); /* the program is blocked in its read or poll */
			console_inject_input(steps[i].input, steps[i].len);
		}
	}
	KEXPECT_EQ(t, wait_program(t, argv[0], &run, 20000), 0);
	ktest_wait_threads(threads);
	capture_end(t);
	tty_reset();
	KEXPECT_FALSE(t, contains(out_buf, "not ok"));
	KEXPECT_TRUE(t, contains(out_buf, "# every check ran"));
}

#define STEP(m, s)                                  \
	{                                           \
		"# ready " m "\n", s, sizeof(s) - 1 \
	}

static void canon(struct ktest *t)
{
	REQUIRE_FS(t);
	static const struct step steps[] = {
		STEP("erase", "ab\x7f"
			      "c\bd\n"),
		STEP("kill", "xyz\x15ok\n"),
		STEP("lines", "one\n\x7f\x7ftwo\n"),
		STEP("eof", "abc\x04"),
		STEP("eof", "\x04"), /* the second read: the same marker, typed later */
		STEP("cr", "cr\rlong\n"),
		STEP("noecho", "hidden\n"),
		STEP("partial", "abc"),
		STEP("poll", "def\n"),
	};
	char *const argv[] = { "/bin/tty", "canon", NULL };
	run_typed(t, argv, steps, ARRAY_SIZE(steps));
	/* the echo, as Linux's n_tty gives it with ECHOE/ECHOKE/ECHOCTL */
	KEXPECT_TRUE(t, contains(out_buf, "ab\b \bc\b \bd\n"));
	KEXPECT_TRUE(t, contains(out_buf, "xyz\b \b\b \b\b \bok\n"));
	KEXPECT_TRUE(t, contains(out_buf, "one\ntwo\n"));
	KEXPECT_FALSE(t, contains(out_buf, "hidden"));
	KEXPECT_TRUE(t, contains(out_buf, "cr\nlong\n"));
}

static void raw(struct ktest *t)
{
	REQUIRE_FS(t);
	static const struct step steps[] = { STEP("raw", "xy\r\x7f"), STEP("raw2", "q") };
	char *const argv[] = { "/bin/tty", "raw", NULL };
	run_typed(t, argv, steps, ARRAY_SIZE(steps));
	KEXPECT_FALSE(t, contains(out_buf, "xy"));
}

static void jobs(struct ktest *t)
{
	REQUIRE_FS(t);
	static const struct step steps[] = { STEP("sigint", "\x03"), STEP("sigquit", "\x1c") };
	char *const argv[] = { "/bin/tty", "jobs", NULL };
	run_typed(t, argv, steps, ARRAY_SIZE(steps));
	KEXPECT_TRUE(t, contains(out_buf, "^C"));
	KEXPECT_TRUE(t, contains(out_buf, "^\\"));
	KEXPECT_TRUE(t, contains(out_buf, "# via /dev/tty"));
}

static void poll_prog(struct ktest *t)
{
	REQUIRE_FS(t);
	char *const argv[] = { "/bin/poll", NULL };
	run_typed(t, argv, NULL, 0);
}

static void dev(struct ktest *t)
{
	REQUIRE_FS(t);
	char *const argv[] = { "/bin/dev", NULL };
	run_typed(t, argv, NULL, 0);
}

static void i8042_decode_set1(struct ktest *t)
{
	char out[64];
	i8042_reset_state();
	static const uint8_t plain[] = { 0x1e, 0x9e, 0x30, 0xb0, 0x02, 0x82, 0x39, 0xb9 };
	KEXPECT_EQ(t, kbd_feed(plain, sizeof(plain), out), 4);
	KEXPECT_EQ(t, strcmp(out, "ab1 "), 0);
	/* Shift (left, then right) */
	static const uint8_t shift[] = { 0x2a, 0x1e, 0x9e, 0x02, 0xaa, 0x36, 0x0d, 0xb6, 0x1e };
	kbd_feed(shift, sizeof(shift), out);
	KEXPECT_EQ(t, strcmp(out, "A!+a"), 0);
	/* Caps Lock: letters only; with Shift back to lower case */
	static const uint8_t caps[] = {
		0x3a, 0xba, 0x1e, 0x02, 0x2a, 0x1e, 0xaa, 0x3a, 0xba, 0x1e
	};
	kbd_feed(caps, sizeof(caps), out);
	KEXPECT_EQ(t, strcmp(out, "A1aa"), 0);
	/* Ctrl: ^C ^D ^U, right Ctrl (0xe0 0x1d), ^\ */
	static const uint8_t ctrl[] = {
		0x1d, 0x2e, 0x20, 0x16, 0x9d, 0xe0, 0x1d, 0x2b, 0xe0, 0x9d
	};
	KEXPECT_EQ(t, kbd_feed(ctrl, sizeof(ctrl), out), 4);
	KEXPECT_EQ(t, out[0], 3);
	KEXPECT_EQ(t, out[1], 4);
	KEXPECT_EQ(t, out[2], 0x15);
	KEXPECT_EQ(t, out[3], 0x1c);
	/* Backspace DEL, Enter CR, Tab, Esc */
	static const uint8_t keys[] = { 0x0e, 0x1c, 0x0f, 0x01 };
	kbd_feed(keys, sizeof(keys), out);
	KEXPECT_EQ(t, strcmp(out, "\x7f\r\t\x1b"), 0);
	/* arrows and Del/Home: escape sequences; releases give nothing */
	static const uint8_t ext[] = { 0xe0, 0x48, 0xe0, 0xc8, 0xe0, 0x4b, 0xe0, 0x53, 0xe0, 0x47 };
	kbd_feed(ext, sizeof(ext), out);
	KEXPECT_EQ(t, strcmp(out, "\033[A\033[D\033[3~\033[1~"), 0);
	/* Alt+x: ESC x */
	static const uint8_t alt[] = { 0x38, 0x2d, 0xb8, 0x2d };
	kbd_feed(alt, sizeof(alt), out);
	KEXPECT_EQ(t, strcmp(out, "\033xx"), 0);
	i8042_reset_state();
}

static void fw(const char *s)
{
	fbcon_tty_write(s, strlen(s));
}

static void fbcon_escapes(struct ktest *t)
{
	uint32_t cols, rows, x, y;
	if (!fbcon_geometry(&cols, &rows)) {
		ktest_skip(t, "no framebuffer console");
		return;
	}
	/* the console is shared with printk: one write at a time, no CPU
	 * prints during a case */
	fw("\033[5;10H");
	fbcon_cursor(&x, &y);
	KEXPECT_EQ(t, x, 9);
	KEXPECT_EQ(t, y, 4);
	fw("\033[2A\033[3C");
	fbcon_cursor(&x, &y);
	KEXPECT_EQ(t, x, 12);
	KEXPECT_EQ(t, y, 2);
	fw("\033[B\033[D\033[D");
	fbcon_cursor(&x, &y);
	KEXPECT_EQ(t, x, 10);
	KEXPECT_EQ(t, y, 3);
	fw("\033[H");
	fbcon_cursor(&x, &y);
	KEXPECT_EQ(t, x, 0);
	KEXPECT_EQ(t, y, 0);
	fw("\033[999;999f"); /* clamped to the screen */
	fbcon_cursor(&x, &y);
	KEXPECT_EQ(t, x, cols - 1);
	KEXPECT_EQ(t, y, rows - 1);
	fw("\033[3;1Habc\b\b\033[1;31mX\033[0m\033[?25l\033[?25h");
	fbcon_cursor(&x, &y);
	KEXPECT_EQ(t, x, 2);
	KEXPECT_EQ(t, y, 2);
	KEXPECT_EQ(t, fbcon_cell(0, 2), 'a');
	KEXPECT_EQ(t, fbcon_cell(1, 2), 'X');
	KEXPECT_EQ(t, fbcon_cell(2, 2), 'c');
	fw("\033[K"); /* to the end of the line */
	KEXPECT_EQ(t, fbcon_cell(2, 2), ' ');
	KEXPECT_EQ(t, fbcon_cell(1, 2), 'X');
	fw("\033[1K"); /* to the cursor */
	KEXPECT_EQ(t, fbcon_cell(0, 2), ' ');
	fw("\rq\t");
	fbcon_cursor(&x, &y);
	KEXPECT_EQ(t, x, 8);
	KEXPECT_EQ(t, fbcon_cell(0, 2), 'q');
	fw("\033[2J");
	KEXPECT_EQ(t, fbcon_cell(0, 2), ' ');
	fw("\033[H");
}

KTEST_SUITE(tty, KTEST_CASE(canon), KTEST_CASE(raw), KTEST_CASE(jobs), KTEST_CASE(poll_prog),
	    KTEST_CASE(dev), KTEST_CASE(i8042_decode_set1), KTEST_CASE(fbcon_escapes));
