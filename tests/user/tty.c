/*
 * tests/user/tty.c - the console tty from ring 3 (kernel/tty.c), driven by
 * tests/test_tty.c, which types the input (console_inject_input) after
 * each "# ready STEP" line and checks the echo in the captured output.
 *
 *   canon  canonical mode: DEL and ^H erase one byte, ^U the line, an
 *          erase never goes past the start of the line (a line already
 *          ended stays whole), ^D ends a line without a byte and alone
 *          reads as end of file, CR becomes NL (ICRNL), ECHO off hides the
 *          typed line, FIONREAD counts a ready line; poll: not readable
 *          until the line ends, a poll sleeping with no timeout is woken
 *          by the typed line
 *   raw    ~ICANON: VMIN=1 VTIME=0 returns what is there at once, VMIN=0
 *          VTIME=0 returns 0 when there is nothing (even with O_NONBLOCK),
 *          VMIN=0 VTIME=2 waits about 200 ms, ~ICRNL keeps CR, an erase
 *          byte is data, ECHO off: nothing echoed
 *   jobs   sessions and process groups: TIOCSCTTY (steal: 1), the
 *          foreground group is the caller's, setpgid/setsid/getsid/getpgid
 *          results and errors, tcsetpgrp to a child's group, ^C kills that
 *          group (SIGINT) and not the caller, ^\ (SIGQUIT) the same, a
 *          read from the background group of an orphaned group is EIO,
 *          tcsetpgrp from the background is ENOTTY unless SIGTTOU is
 *          ignored, a new session has no controlling tty (/dev/tty ENXIO,
 *          TIOCGPGRP ENOTTY, TIOCSCTTY EPERM while the tty is another live
 *          session's)
 * KTAP lines; "# every check ran" last; exit status 0 if all passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include "ktap.h"

static void ready(const char *step)
{
	printf("# ready %s\n", step);
	fflush(stdout);
}

static ssize_t rd(char *buf, size_t n)
{
	memset(buf, 0, n);
	return read(0, buf, n);
}

static long ms_since(const struct timespec *a)
{
	struct timespec b;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

static void canon(void)
{
	char buf[64];
	ready("erase");
	ssize_t r = rd(buf, sizeof(buf));
	check(r == 3 && !memcmp(buf, "ad\n", 3), "DEL and ^H erase the last byte of the line");
	ready("kill");
	r = rd(buf, sizeof(buf));
	check(r == 3 && !memcmp(buf, "ok\n", 3), "^U erases the whole line");
	ready("lines");
	r = rd(buf, sizeof(buf));
	check(r == 4 && !memcmp(buf, "one\n", 4), "a line ends at NL: one line per read");
	r = rd(buf, sizeof(buf));
	check(r == 4 && !memcmp(buf, "two\n", 4),
	      "an erase does not go past the start of the line being typed");
	ready("eof");
	r = rd(buf, sizeof(buf));
	check(r == 3 && !memcmp(buf, "abc", 3), "^D ends the line without a byte");
	r = rd(buf, sizeof(buf));
	check(r == 0, "^D on an empty line: read returns 0 (end of file)");
	ready("cr");
	r = rd(buf, sizeof(buf));
	check(r == 3 && !memcmp(buf, "cr\n", 3), "ICRNL: CR is read as NL");
	r = rd(buf, 2);
	check(r == 2 && !memcmp(buf, "lo", 2), "a read shorter than the line takes part of it");
	r = rd(buf, sizeof(buf));
	check(r == 3 && !memcmp(buf, "ng\n", 3), "the rest of the line comes with the next read");
	struct termios t;
	check(tcgetattr(0, &t) == 0 && (t.c_lflag & ICANON) && (t.c_lflag & ECHO) &&
		  t.c_cc[VERASE] == 0x7f && t.c_cc[VINTR] == 3,
	      "TCGETS: canonical mode, echo, DEL erases, ^C interrupts");
	t.c_lflag &= ~ECHO;
	check(tcsetattr(0, TCSANOW, &t) == 0, "TCSETS: echo off");
	ready("noecho");
	r = rd(buf, sizeof(buf));
	check(r == 7 && !memcmp(buf, "hidden\n", 7), "echo off: the line is read");
	t.c_lflag |= ECHO;
	tcsetattr(0, TCSANOW, &t);
	struct pollfd p = { .fd = 0, .events = POLLIN };
	ready("partial");
	usleep(100000);
	check(poll(&p, 1, 0) == 0, "poll: a line not ended yet is not readable");
	int n = -1;
	check(ioctl(0, FIONREAD, &n) == 0 && n == 0, "FIONREAD: 0 before the line ends");
	ready("poll");
	p.revents = 0;
	r = poll(&p, 1, -1);
	check(r == 1 && (p.revents & POLLIN), "poll with no timeout is woken by the typed line");
	check(ioctl(0, FIONREAD, &n) == 0 && n == 7, "FIONREAD: the bytes of the ready line");
	r = rd(buf, sizeof(buf));
	check(r == 7 && !memcmp(buf, "abcdef\n", 7), "the line typed around the poll");
	p.revents = 0;
	check(poll(&p, 1, 50) == 0 && p.revents == 0, "poll: empty tty, timeout, 0");
	struct winsize ws;
	check(ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row == 24 && ws.ws_col == 80,
	      "TIOCGWINSZ: 24x80");
	ws.ws_row = 40;
	ws.ws_col = 100;
	check(ioctl(0, TIOCSWINSZ, &ws) == 0, "TIOCSWINSZ");
	memset(&ws, 0, sizeof(ws));
	check(ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row == 40 && ws.ws_col == 100,
	      "TIOCGWINSZ: what TIOCSWINSZ set");
	check(ioctl(0, TIOCGWINSZ, (void *)8) == -1 && errno == EFAULT, "TIOCGWINSZ: EFAULT");
	check(ioctl(0, 0x54ff, 0) == -1 && errno == ENOTTY, "unknown ioctl: ENOTTY");
}

static void raw(void)
{
	char buf[64];
	struct termios t0, t;
	tcgetattr(0, &t0);
	t = t0;
	t.c_lflag &= ~(ICANON | ECHO);
	t.c_iflag &= ~ICRNL;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	check(tcsetattr(0, TCSAFLUSH, &t) == 0, "TCSETSF: raw mode");
	ready("raw");
	ssize_t r = rd(buf, sizeof(buf));
	/* "xy\r\x7f" typed at once: all of it, CR kept, DEL is data */
	check(r == 4 && !memcmp(buf, "xy\r\x7f", 4),
	      "VMIN=1: the bytes there at once, CR kept (no ICRNL), DEL is data");
	t.c_cc[VMIN] = 0;
	check(tcsetattr(0, TCSANOW, &t) == 0, "VMIN=0 VTIME=0");
	r = rd(buf, sizeof(buf));
	check(r == 0, "VMIN=0 VTIME=0: nothing there, read returns 0");
	int fl = fcntl(0, F_GETFL);
	fcntl(0, F_SETFL, fl | O_NONBLOCK);
	r = rd(buf, sizeof(buf));
	check(r == 0, "VMIN=0 VTIME=0 with O_NONBLOCK: 0 too (Linux)");
	fcntl(0, F_SETFL, fl);
	t.c_cc[VTIME] = 2;
	tcsetattr(0, TCSANOW, &t);
	struct timespec a;
	clock_gettime(CLOCK_MONOTONIC, &a);
	r = rd(buf, sizeof(buf));
	long ms = ms_since(&a);
	check(r == 0 && ms >= 150 && ms < 2000, "VMIN=0 VTIME=2: 0 after about 200 ms");
	t.c_cc[VTIME] = 0;
	t.c_cc[VMIN] = 1;
	tcsetattr(0, TCSANOW, &t);
	ready("raw2");
	r = rd(buf, sizeof(buf));
	check(r == 1 && buf[0] == 'q', "VMIN=1: a read blocks for one byte");
	tcsetattr(0, TCSANOW, &t0);
	check(tcgetattr(0, &t) == 0 && (t.c_lflag & ICANON), "TCSETS back to canonical mode");
}

static int wait_child(pid_t pid)
{
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return st;
}

/* A child in its own process group, made the foreground one; typed
 * `what` (by the test) must kill it with sig, and not us. */
static void fg_child_killed(const char *what, int sig, const char *msg)
{
	int go[2];
	pipe(go);
	pid_t c = fork();
	if (!c) {
		setpgid(0, 0);
		close(go[1]);
		char b;
		read(go[0], &b, 1); /* the parent made us the foreground */
		for (;;)
			pause();
	}
	close(go[0]);
	setpgid(c, c);
	check(tcsetpgrp(0, c) == 0, "TIOCSPGRP: a child's group becomes the foreground");
	check(tcgetpgrp(0) == c, "TIOCGPGRP: the foreground group");
	write(go[1], "g", 1);
	close(go[1]);
	ready(what);
	int st = wait_child(c);
	check(WIFSIGNALED(st) && WTERMSIG(st) == sig, msg);
	signal(SIGTTOU, SIG_IGN);
	check(tcsetpgrp(0, getpgrp()) == 0, "tcsetpgrp from the background with SIGTTOU ignored");
	signal(SIGTTOU, SIG_DFL);
}

/* A pipeline's first process may exit before the next one joins its group
 * (busybox's ash: `cat f | grep x`): an unreaped zombie is still a member,
 * so setpgid into its group and tcsetpgrp to it work, as Linux, which
 * keeps a zombie in its group until it is reaped. */
static void zombie_group(void)
{
	pid_t a = fork();
	if (!a) {
		setpgid(0, 0);
		_exit(0);
	}
	setpgid(a, a);
	siginfo_t si;
	waitid(P_PID, a, &si, WEXITED | WNOWAIT); /* a zombie now, not reaped */
	int go[2];
	pipe(go);
	pid_t b = fork();
	if (!b) {
		char c;
		close(go[1]);
		read(go[0], &c, 1);
		_exit(0);
	}
	close(go[0]);
	check(setpgid(b, a) == 0, "setpgid into a group whose only member is a zombie");
	check(getpgid(b) == a, "... the child is in it");
	check(tcsetpgrp(0, a) == 0, "tcsetpgrp to that group");
	signal(SIGTTOU, SIG_IGN);
	tcsetpgrp(0, getpgrp());
	signal(SIGTTOU, SIG_DFL);
	close(go[1]);
	wait_child(b);
	wait_child(a);
	check(tcsetpgrp(0, a) == -1 && errno == ESRCH, "reaped: the group is gone (ESRCH)");
}

static void jobs(void)
{
	pid_t me = getpid();
	check(getsid(0) == me && getpgrp() == me, "started as a session and group leader");
	check(ioctl(0, TIOCSCTTY, 1) == 0, "TIOCSCTTY (1: taken from any other session)");
	check(ioctl(0, TIOCSCTTY, 0) == 0, "TIOCSCTTY again: it is ours already");
	check(tcgetpgrp(0) == me, "TIOCSCTTY: our group is the foreground");
	pid_t sid = -1;
	check(ioctl(0, TIOCGSID, &sid) == 0 && sid == me, "TIOCGSID: our session");
	check(setsid() == -1 && errno == EPERM, "setsid: EPERM for a group leader");
	zombie_group();
	check(setpgid(0, -1) == -1 && errno == EINVAL, "setpgid: negative group EINVAL");
	check(setpgid(999999, 0) == -1 && errno == ESRCH, "setpgid: no such process ESRCH");
	check(setpgid(0, 0) == -1 && errno == EPERM, "setpgid of a session leader: EPERM");
	check(getpgid(999999) == -1 && errno == ESRCH, "getpgid: ESRCH");
	int fd = open("/dev/tty", O_RDWR);
	check(fd >= 0, "/dev/tty opens with a controlling tty");
	if (fd >= 0) {
		check(write(fd, "# via /dev/tty\n", 15) == 15, "write to /dev/tty");
		close(fd);
	}
	fg_child_killed("sigint", SIGINT, "^C kills the foreground group with SIGINT, not us");
	fg_child_killed("sigquit", SIGQUIT, "^\\ kills the foreground group with SIGQUIT");

	/* the background: an orphaned group, SIGTTIN / SIGTTOU not ignored */
	int go[2], back[2];
	pipe(go);
	pipe(back);
	pid_t c = fork();
	if (!c) {
		setpgid(0, 0);
		char b;
		read(go[0], &b, 1);
		write(back[1], "r", 1);
		for (;;)
			pause();
	}
	setpgid(c, c);
	check(getpgid(c) == c, "setpgid of a child: its own group");
	check(tcsetpgrp(0, c) == 0, "foreground: the child");
	write(go[1], "g", 1);
	char b;
	read(back[0], &b, 1);
	char buf[8];
	errno = 0;
	check(read(0, buf, sizeof(buf)) == -1 && errno == EIO,
	      "read from the background (orphaned group): EIO");
	check(tcsetpgrp(0, me) == -1 && errno == ENOTTY,
	      "tcsetpgrp from the background, orphaned, SIGTTOU not ignored: ENOTTY");
	signal(SIGTTOU, SIG_IGN);
	check(tcsetpgrp(0, me) == 0, "... and with SIGTTOU ignored it works");
	signal(SIGTTOU, SIG_DFL);
	check(tcsetpgrp(0, 999999) == -1 && errno == ESRCH, "tcsetpgrp: no such group ESRCH");
	kill(-c, SIGKILL);
	int st = wait_child(c);
	check(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "kill(-pgrp) reaches the group");

	/* a new session has no controlling tty */
	int res[2];
	pipe(res);
	c = fork();
	if (!c) {
		char r[5] = "0000";
		pid_t s = setsid();
		r[0] = s == getpid() && getsid(0) == s && getpgrp() == s ? '1' : '0';
		errno = 0;
		int f = open("/dev/tty", O_RDWR);
		r[1] = f == -1 && errno == ENXIO ? '1' : '0';
		pid_t pg;
		errno = 0;
		r[2] = ioctl(0, TIOCGPGRP, &pg) == -1 && errno == ENOTTY ? '1' : '0';
		errno = 0;
		r[3] = ioctl(0, TIOCSCTTY, 0) == -1 && errno == EPERM ? '1' : '0';
		write(res[1], r, 4);
		_exit(0);
	}
	char r[5] = { 0 };
	read(res[0], r, 4);
	wait_child(c);
	check(r[0] == '1', "setsid in a child: a new session and group, its id");
	check(r[1] == '1', "open /dev/tty without a controlling tty: ENXIO");
	check(r[2] == '1', "TIOCGPGRP on a tty that is not ours: ENOTTY");
	check(r[3] == '1', "TIOCSCTTY on another live session's tty: EPERM");
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("KTAP version 1\n");
	const char *what = argc > 1 ? argv[1] : "canon";
	if (!strcmp(what, "canon"))
		canon();
	else if (!strcmp(what, "raw"))
		raw();
	else if (!strcmp(what, "jobs"))
		jobs();
	printf("1..%d\n# every check ran\n", n);
	return failed ? 1 : 0;
}
