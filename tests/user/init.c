/*
 * tests/user/init.c - /sbin/init of the RAM disk (kernel/init.c runs it as
 * pid 1 when the command line names no other init=): a banner, then the
 * busybox shell /bin/sh on the console, started again whenever it ends.
 *
 * What it does, and only that (predictable for the scripted session of
 * tests/runner.py --script): no mount (/proc needs none here), no
 * inittab. The shell runs in a session of its own (setsid, then
 * TIOCSCTTY on the console where the kernel has it; errors are ignored:
 * without a tty layer the shell runs without job control). Every child
 * that ends is reaped (orphans come to pid 1); when the shell ends, its
 * status is printed ("init: /bin/sh exited with status N" or "killed by
 * signal S (NAME)") and a new one starts, one second later if the last
 * lived less than a second (a shell that cannot start must not spin).
 * No /bin/sh at all (the build could not fetch busybox): init says so and
 * exits, and the kernel goes on to its monitor.
 *
 * `init -- PROG ARGS...` (kernel command line `init=/sbin/init -- PROG
 * ...`) runs PROG instead of /bin/sh, with the same respawning.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *const shell_env[] = {
	"HOME=/",	 "TERM=linux", "PATH=/sbin:/usr/sbin:/bin:/usr/bin",
	"SHELL=/bin/sh", "PS1=\\w # ", "USER=root",
	"LOGNAME=root",	 NULL,
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	char *sh_argv[] = { "/bin/sh", NULL };
	char **prog = sh_argv;
	if (argc > 1)
		prog = argv + 1 + (strcmp(argv[1], "--") == 0);
	if (!prog[0])
		prog = sh_argv;
	struct utsname u;
	if (uname(&u) == 0)
		printf("\ninit: %s %s (%s), %ld CPUs; starting %s\n", u.sysname, u.release,
		       u.version, sysconf(_SC_NPROCESSORS_ONLN), prog[0]);
	printf("init: busybox applets are in /bin (busybox --list), the tests' programs too;\n"
	       "init: /proc has ps, top, free, uptime and df what they need\n");
	struct stat st;
	if (stat(prog[0], &st) != 0) {
		/* no busybox (not fetched: tools/busybox.sh): nothing to respawn;
		 * the kernel goes on to its monitor when init ends */
		printf("init: cannot run %s: %s; init exits\n", prog[0], strerror(errno));
		return 1;
	}
	fflush(stdout);
	for (;;) {
		double start = now_s();
		pid_t pid = fork();
		if (pid < 0) {
			perror("init: fork");
			sleep(1);
			continue;
		}
		if (pid == 0) {
			setsid();
			ioctl(0, TIOCSCTTY, 0);
			execve(prog[0], prog, shell_env);
			fprintf(stderr, "init: cannot run %s: %s\n", prog[0], strerror(errno));
			_exit(127);
		}
		int status;
		pid_t w;
		while ((w = wait(&status)) != pid)
			if (w < 0 && errno != EINTR)
				break;
		if (w == pid) {
			if (WIFSIGNALED(status))
				printf("init: %s killed by signal %d (%s), starting it again\n",
				       prog[0], WTERMSIG(status), strsignal(WTERMSIG(status)));
			else
				printf("init: %s exited with status %d, starting it again\n",
				       prog[0], WEXITSTATUS(status));
			fflush(stdout);
		}
		if (now_s() - start < 1.0)
			sleep(1);
	}
}
