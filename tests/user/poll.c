/*
 * tests/user/poll.c - poll, ppoll, select and pselect6 (kernel/poll.c) on
 * pipes, a regular file and /dev/null, as Linux 6.1 answers them (the
 * program passes on Linux too):
 *   pipes: an empty read end is not readable, data makes it POLLIN, no
 *          writer left POLLHUP; a write end is POLLOUT until the pipe is
 *          full, POLLERR once the reader is gone; a poll with no timeout
 *          sleeps until a child writes (the wake-up), and until the last
 *          writer closes (POLLHUP)
 *   timeouts: poll 100 ms on an empty pipe returns 0 after about 100 ms;
 *          select writes back the time left (0 after a timeout)
 *   signals: a handler without SA_RESTART ends poll and select with EINTR;
 *          ppoll and pselect6 wait with their mask (a blocked pending
 *          signal unblocked by it ends them with EINTR, and the old mask
 *          is back afterwards)
 *   errors: a closed fd is POLLNVAL (poll) or EBADF (select), a negative
 *          fd is skipped, nfds > RLIMIT_NOFILE EINVAL, a bad array EFAULT,
 *          select n < 0 EINVAL, a bad timeval EINVAL, ppoll with a bad
 *          timespec EINVAL, a sigsetsize that is not 8 EINVAL
 *   files: a regular file and /dev/null are always readable and writable
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
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "ktap.h"

static long ms_since(const struct timespec *a)
{
	struct timespec b;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

static volatile int got;
static void on_sig(int s)
{
	got = s;
}

static void pipes(void)
{
	int p[2];
	pipe(p);
	struct pollfd f[2] = { { .fd = p[0], .events = POLLIN },
			       { .fd = p[1], .events = POLLOUT } };
	check(poll(f, 2, 0) == 1 && f[0].revents == 0 && f[1].revents == POLLOUT,
	      "empty pipe: the write end POLLOUT, the read end nothing");
	write(p[1], "x", 1);
	check(poll(f, 2, 0) == 2 && f[0].revents == POLLIN, "data: the read end POLLIN");
	/* fill it with whole pages: no POLLOUT (16 slots on Linux, 64 KiB here) */
	char x;
	read(p[0], &x, 1);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	char big[4096];
	memset(big, 'y', sizeof(big));
	while (write(p[1], big, sizeof(big)) > 0)
		;
	check(poll(&f[1], 1, 0) == 0 && f[1].revents == 0, "a full pipe is not POLLOUT");
	fd_set w;
	FD_ZERO(&w);
	FD_SET(p[1], &w);
	struct timeval tv = { 0, 0 };
	check(select(p[1] + 1, NULL, &w, NULL, &tv) == 0 && !FD_ISSET(p[1], &w),
	      "select: a full pipe is not writable");
	close(p[1]);
	f[0].revents = 0;
	check(poll(f, 1, 0) == 1 && f[0].revents == (POLLIN | POLLHUP),
	      "no writer left, data still there: POLLIN | POLLHUP");
	char buf[4096];
	while (read(p[0], buf, sizeof(buf)) > 0)
		;
	check(poll(f, 1, 0) == 1 && f[0].revents == POLLHUP, "no writer, empty: POLLHUP alone");
	close(p[0]);

	pipe(p);
	close(p[0]);
	f[1].fd = p[1];
	check(poll(&f[1], 1, 0) == 1 && f[1].revents == (POLLOUT | POLLERR),
	      "no reader left: the write end POLLOUT | POLLERR");
	f[1].events = 0;
	check(poll(&f[1], 1, 0) == 1 && f[1].revents == POLLERR, "POLLERR even when not asked");
	close(p[1]);
}

static void wakeups(void)
{
	int p[2];
	pipe(p);
	pid_t c = fork();
	if (!c) {
		usleep(150000);
		write(p[1], "w", 1);
		usleep(150000);
		_exit(0);
	}
	struct pollfd f = { .fd = p[0], .events = POLLIN };
	struct timespec a;
	clock_gettime(CLOCK_MONOTONIC, &a);
	int r = poll(&f, 1, -1);
	long ms = ms_since(&a);
	check(r == 1 && f.revents == POLLIN && ms >= 100,
	      "poll with no timeout sleeps until a child writes");
	char b;
	read(p[0], &b, 1);
	close(p[1]);
	f.revents = 0;
	r = poll(&f, 1, 5000);
	check(r == 1 && f.revents == POLLHUP, "... and until the last writer is gone: POLLHUP");
	waitpid(c, NULL, 0);
	close(p[0]);

	/* select sleeping on two pipes, woken by the second */
	int q[2];
	pipe(p);
	pipe(q);
	c = fork();
	if (!c) {
		usleep(100000);
		write(q[1], "z", 1);
		_exit(0);
	}
	fd_set rs;
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	FD_SET(q[0], &rs);
	r = select(q[0] + 1, &rs, NULL, NULL, NULL);
	check(r == 1 && FD_ISSET(q[0], &rs) && !FD_ISSET(p[0], &rs),
	      "select: woken by the one pipe written to, only its bit set");
	waitpid(c, NULL, 0);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

static void timeouts(void)
{
	int p[2];
	pipe(p);
	struct pollfd f = { .fd = p[0], .events = POLLIN };
	struct timespec a;
	clock_gettime(CLOCK_MONOTONIC, &a);
	int r = poll(&f, 1, 100);
	long ms = ms_since(&a);
	check(r == 0 && ms >= 90 && ms < 3000, "poll 100 ms on an empty pipe: 0 after ~100 ms");
	fd_set rs;
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	struct timeval tv = { 0, 50000 };
	/* the system call itself: musl's select passes a copy of the timeval */
	r = syscall(SYS_select, p[0] + 1, &rs, NULL, NULL, &tv);
	check(r == 0 && !FD_ISSET(p[0], &rs) && tv.tv_sec == 0 && tv.tv_usec == 0,
	      "select timeout: 0, the set cleared, the timeval written back to 0");
	write(p[1], "x", 1);
	FD_SET(p[0], &rs);
	tv.tv_sec = 5;
	tv.tv_usec = 0;
	r = syscall(SYS_select, p[0] + 1, &rs, NULL, NULL, &tv);
	check(r == 1 && tv.tv_sec >= 4 && tv.tv_sec <= 5,
	      "select ready: the time left written back");
	struct timespec ts = { 0, 1000000 };
	f.revents = 0;
	check(ppoll(&f, 1, &ts, NULL) == 1 && f.revents == POLLIN, "ppoll: ready");
	close(p[0]);
	close(p[1]);
}

static void signals(void)
{
	int p[2];
	pipe(p);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig;
	sigaction(SIGALRM, &sa, NULL); /* no SA_RESTART */
	struct itimerval it = { { 0, 0 }, { 0, 100000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	struct pollfd f = { .fd = p[0], .events = POLLIN };
	errno = 0;
	int r = poll(&f, 1, 5000);
	check(r == -1 && errno == EINTR && got == SIGALRM, "a signal's handler ends poll: EINTR");
	got = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	fd_set rs;
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	errno = 0;
	r = select(p[0] + 1, &rs, NULL, NULL, NULL);
	check(r == -1 && errno == EINTR && got == SIGALRM, "... and select: EINTR");

	/* ppoll/pselect6: SIGUSR1 blocked and pending, unblocked by their mask */
	sigaction(SIGUSR1, &sa, NULL);
	sigset_t blk, none, cur;
	sigemptyset(&blk);
	sigaddset(&blk, SIGUSR1);
	sigemptyset(&none);
	sigprocmask(SIG_BLOCK, &blk, NULL);
	got = 0;
	raise(SIGUSR1);
	check(got == 0, "SIGUSR1 blocked: pending");
	struct timespec ts = { 5, 0 };
	errno = 0;
	r = ppoll(&f, 1, &ts, &none);
	check(r == -1 && errno == EINTR && got == SIGUSR1,
	      "ppoll's mask lets the pending signal in");
	sigprocmask(SIG_BLOCK, NULL, &cur);
	check(sigismember(&cur, SIGUSR1), "ppoll: the old mask is back after the handler");
	got = 0;
	raise(SIGUSR1);
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	errno = 0;
	r = pselect(p[0] + 1, &rs, NULL, NULL, &ts, &none);
	check(r == -1 && errno == EINTR && got == SIGUSR1, "pselect's mask lets it in too");
	sigprocmask(SIG_BLOCK, NULL, &cur);
	check(sigismember(&cur, SIGUSR1), "pselect: the old mask is back");
	/* a mask that keeps it blocked: a timeout */
	got = 0;
	raise(SIGUSR1);
	struct timespec z = { 0, 10000000 };
	r = ppoll(&f, 1, &z, &blk);
	check(r == 0 && got == 0,
	      "ppoll with the signal still blocked: timeout, nothing delivered");
	sigprocmask(SIG_UNBLOCK, &blk, NULL);
	check(got == SIGUSR1, "delivered once unblocked");
	close(p[0]);
	close(p[1]);
}

static void errors(void)
{
	int p[2];
	pipe(p);
	struct pollfd f[3] = { { .fd = 999, .events = POLLIN },
			       { .fd = -1, .events = POLLIN, .revents = 0x7 },
			       { .fd = p[1], .events = POLLOUT } };
	check(poll(f, 3, 0) == 2 && f[0].revents == POLLNVAL && f[1].revents == 0 &&
		  f[2].revents == POLLOUT,
	      "a closed fd POLLNVAL, a negative one skipped (revents 0)");
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	errno = 0;
	check(poll(f, rl.rlim_cur + 1, 0) == -1 && errno == EINVAL, "nfds > RLIMIT_NOFILE: EINVAL");
	errno = 0;
	check(poll((void *)8, 1, 0) == -1 && errno == EFAULT, "a bad array: EFAULT");
	errno = 0;
	check(syscall(SYS_poll, (void *)0xffff800000000000ull, 1, 0) == -1 && errno == EFAULT,
	      "a kernel address: EFAULT");
	check(poll(NULL, 0, 10) == 0, "no fds: a sleep, 0");
	fd_set rs;
	FD_ZERO(&rs);
	FD_SET(50, &rs);
	struct timeval tv = { 0, 0 };
	errno = 0;
	check(select(51, &rs, NULL, NULL, &tv) == -1 && errno == EBADF,
	      "select: a closed fd EBADF");
	errno = 0;
	check(select(-1, NULL, NULL, NULL, &tv) == -1 && errno == EINVAL, "select: n < 0 EINVAL");
	tv.tv_sec = -1;
	errno = 0;
	check(select(0, NULL, NULL, NULL, &tv) == -1 && errno == EINVAL,
	      "select: negative timeval EINVAL");
	errno = 0;
	check(select(1, (void *)8, NULL, NULL, NULL) == -1 && errno == EFAULT, "select: EFAULT");
	struct timespec bad = { 0, 1000000000 };
	errno = 0;
	check(ppoll(f, 1, &bad, NULL) == -1 && errno == EINVAL, "ppoll: tv_nsec 10^9 EINVAL");
	sigset_t none;
	sigemptyset(&none);
	struct timespec z = { 0, 0 };
	errno = 0;
	check(syscall(SYS_ppoll, f, 1, &z, &none, 4) == -1 && errno == EINVAL,
	      "ppoll: sigsetsize 4 EINVAL");
	errno = 0;
	check(syscall(SYS_ppoll, &f[2], 1, &z, NULL, 4) == 1, "ppoll: no mask, sigsetsize ignored");
	close(p[0]);
	close(p[1]);
}

static void files(void)
{
	int fd = open("/tmp-poll-file", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		fd = open("/tmp/poll-file", O_RDWR | O_CREAT | O_TRUNC, 0600);
	struct pollfd f = { .fd = fd, .events = POLLIN | POLLOUT };
	check(fd >= 0 && poll(&f, 1, 0) == 1 && f.revents == (POLLIN | POLLOUT),
	      "a regular file: POLLIN | POLLOUT");
	close(fd);
	unlink("/tmp-poll-file");
	unlink("/tmp/poll-file");
	int n = open("/dev/null", O_RDWR);
	f.fd = n;
	f.revents = 0;
	check(n >= 0 && poll(&f, 1, 0) == 1 && f.revents == (POLLIN | POLLOUT),
	      "/dev/null: POLLIN | POLLOUT");
	fd_set rs, ws;
	FD_ZERO(&rs);
	FD_ZERO(&ws);
	FD_SET(n, &rs);
	FD_SET(n, &ws);
	struct timeval tv = { 0, 0 };
	check(select(n + 1, &rs, &ws, NULL, &tv) == 2, "select /dev/null: readable and writable");
	close(n);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("KTAP version 1\n");
	pipes();
	wakeups();
	timeouts();
	signals();
	errors();
	files();
	printf("1..%d\n# every check ran\n", n);
	return failed ? 1 : 0;
}
