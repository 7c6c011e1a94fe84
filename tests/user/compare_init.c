/*
 * tests/user/compare_init.c - the first process of `make compare`
 * (tools/compare/compare.py): the same static binary is /init of the
 * Linux initramfs and `init=/bin/compare_init` on this kernel.
 *
 * It runs a list of programs one after the other, each as a child
 * (fork + execve + wait4), and reports on the console, one parseable line
 * each (stdout is the console on both kernels):
 *   compare: kernel SYSNAME RELEASE
 *   compare: root DESCRIPTION           (where the programs' "/" is)
 *   compare: run I/N PATH ARGS...       before program I
 *   compare: exit I STATUS MS           after it: STATUS as a shell says it
 *                                       (exit code, 128+S when signal S
 *                                       killed it, 127 when execve failed,
 *                                       124 when it ran out of time), MS
 *                                       the wall time in milliseconds
 *   compare: done N
 *   compare: fact KEY VALUE             (Linux) what explains differences:
 *                                       la57 (5-level paging: user space
 *                                       up to 2^56), mmap_min_addr
 *   compare: warning ...                something was not as planned
 *
 * The list: `-f FILE` (one program per line: path and arguments separated
 * by blanks; the runner uses this, because Linux hands init at most 32
 * arguments: init/main.c MAX_INIT_ARGS) or inline words, programs separated
 * by the word ";" (`-- /bin/files ; /bin/fault ud`). `-t SECONDS` sets the
 * time limit of each program (default 300; alarm(2), then SIGKILL). Words
 * starting with "initrd=" are ignored (OVMF appends `initrd=initrd` to the
 * command line of a `-kernel` boot).
 *
 * What a program leaves running (its orphans come to init) is waited for
 * up to 5 s after it exits, its output counted as the program's, then
 * killed (kill(-1, SIGKILL)) so that it cannot write into the next
 * program's lines.
 *
 * On Linux (mount(2) works) it first builds the machine the programs
 * expect: devtmpfs on /dev, proc on /proc, tmpfs on /tmp; the modules
 * listed in /compare.modules ("PATH PARAMS..." per line, in load order,
 * finit_module(2)) are loaded (brd, which makes /dev/ram0, and ext4 with
 * its dependencies); /ext2.sparse (an ext2 image made on the host, stored
 * as its non-zero blocks: records of u64 offset, u32 length, data) is
 * written to /dev/ram0, mounted on /newroot with /bin bound into it, and
 * becomes the root (chroot): the programs create their files in "/" as on
 * this kernel, on a block-device file system with a page cache, writeback
 * and O_DIRECT (Linux 6.1's tmpfs has no O_DIRECT). Any step that fails is
 * a warning and the programs run in the initramfs (rootfs) instead. At the
 * end it leaves QEMU through isa-debug-exit (ioperm + outb 0 to port
 * 0xf4; QEMU exits 1) or, failing that, powers off.
 * On this kernel mount(2) is ENOSYS (and when not pid 1): none of that; at the end it exits 0
 * and the kernel's qemu_exit=1 ends QEMU (kernel/init.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_PROGS	256
#define MAX_WORDS	4096
#define DEBUG_EXIT_PORT 0xf4
#define LEFTOVER_MS	5000

static char *words[MAX_WORDS];
static int nwords;
static volatile sig_atomic_t timed_out;

/* Console lines with write(2): nothing buffered across fork. */
static void say(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	if (len > (int)sizeof(buf) - 2)
		len = sizeof(buf) - 2;
	buf[len++] = '\n';
	for (int off = 0; off < len;) {
		ssize_t w = write(1, buf + off, len - off);
		if (w <= 0 && errno != EINTR)
			return;
		if (w > 0)
			off += w;
	}
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static char *read_file(const char *path, size_t *size)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap + 1);
	for (;;) {
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
		}
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += r;
	}
	close(fd);
	buf[len] = 0;
	if (size)
		*size = len;
	return buf;
}

static void mount_or_warn(const char *src, const char *dir, const char *type, unsigned long flags)
{
	mkdir(dir, 0755);
	if (mount(src, dir, type, flags, NULL) && errno != EBUSY)
		say("compare: warning: mount %s on %s: %s", type ? type : src, dir,
		    strerror(errno));
}

/* /compare.modules: "PATH PARAMS..." per line, in load order. */
static void load_modules(void)
{
	char *list = read_file("/compare.modules", NULL);
	if (!list)
		return;
	for (char *line = strtok(list, "\n"); line; line = strtok(NULL, "\n")) {
		char *params = strchr(line, ' ');
		if (params)
			*params++ = 0;
		int fd = open(line, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			say("compare: warning: module %s: %s", line, strerror(errno));
			continue;
		}
		if (syscall(SYS_finit_module, fd, params ? params : "", 0) && errno != EEXIST)
			say("compare: warning: finit_module %s: %s", line, strerror(errno));
		close(fd);
	}
	free(list);
}

/* /ext2.sparse onto /dev/ram0. 0 when done. */
static int write_image(void)
{
	size_t size;
	char *img = read_file("/ext2.sparse", &size);
	if (!img)
		return -1;
	int fd = open("/dev/ram0", O_WRONLY);
	if (fd < 0) {
		say("compare: warning: /dev/ram0: %s", strerror(errno));
		free(img);
		return -1;
	}
	int err = 0;
	for (size_t off = 0; off + 12 <= size && !err;) {
		uint64_t where;
		uint32_t len;
		memcpy(&where, img + off, 8);
		memcpy(&len, img + off + 8, 4);
		off += 12;
		if (len > size - off || pwrite(fd, img + off, len, where) != (ssize_t)len) {
			say("compare: warning: writing the image at %llu: %s",
			    (unsigned long long)where, strerror(errno));
			err = -1;
		}
		off += len;
	}
	if (fsync(fd))
		err = -1;
	close(fd);
	free(img);
	/* The page cache of the image file: the programs get the memory. */
	unlink("/ext2.sparse");
	return err;
}

static void setup_linux(void)
{
	mount_or_warn("proc", "/proc", "proc", 0);
	mount_or_warn("tmpfs", "/tmp", "tmpfs", 0);
	load_modules();
	if (access("/ext2.sparse", R_OK))
		return;
	if (write_image()) {
		say("compare: warning: no ext2 root: the programs run in the initramfs");
		return;
	}
	mkdir("/newroot", 0755);
	if (mount("/dev/ram0", "/newroot", "ext2", 0, NULL) &&
	    mount("/dev/ram0", "/newroot", "ext4", 0, NULL)) {
		say("compare: warning: mount /dev/ram0: %s: the programs run in the initramfs",
		    strerror(errno));
		return;
	}
	static const char *const dirs[] = { "bin", "dev", "proc", "tmp" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char p[64];
		snprintf(p, sizeof(p), "/newroot/%s", dirs[i]);
		mkdir(p, 0755);
	}
	if (mount("/bin", "/newroot/bin", NULL, MS_BIND, NULL))
		say("compare: warning: bind /bin: %s", strerror(errno));
	mount_or_warn("devtmpfs", "/newroot/dev", "devtmpfs", 0);
	mount_or_warn("proc", "/newroot/proc", "proc", 0);
	mount_or_warn("tmpfs", "/newroot/tmp", "tmpfs", 0);
	if (chdir("/newroot") || chroot(".") || chdir("/")) {
		say("compare: warning: chroot: %s", strerror(errno));
		return;
	}
	say("compare: root ext2 on /dev/ram0 (brd)");
}

/* Facts that explain differences: 5-level paging (user space up to 2^56). */
static void linux_facts(void)
{
	char *info = read_file("/proc/cpuinfo", NULL);
	if (info) {
		char *flags = strstr(info, "\nflags");
		char *end = flags ? strchr(flags + 1, '\n') : NULL;
		if (end)
			*end = 0;
		say("compare: fact la57 %s", flags && strstr(flags, " la57") ? "yes" : "no");
		free(info);
	}
	char *min = read_file("/proc/sys/vm/mmap_min_addr", NULL);
	if (min) {
		min[strcspn(min, "\n")] = 0;
		say("compare: fact mmap_min_addr %s", min);
		free(min);
	}
}

static void leave_linux(void)
{
	sync();
	/* The console's last lines are still in the tty and the UART: without
	 * this, QEMU ends before they are sent (seen: the last ~250 bytes lost). */
	tcdrain(1);
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	if (ioperm(DEBUG_EXIT_PORT, 4, 1) == 0)
		outb(0, DEBUG_EXIT_PORT);
	say("compare: warning: isa-debug-exit: %s: powering off", strerror(errno));
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

/*
 * What the program left running has come to us (pid 1) as orphans: wait
 * for them (their output belongs to this program), up to LEFTOVER_MS, then
 * kill(-1, SIGKILL) kills them all (not us: Linux's kill(-1) skips init).
 */
static void reap_leftovers(const char *path)
{
	long start = now_ms();
	for (;;) {
		pid_t w = waitpid(-1, NULL, WNOHANG);
		if (w > 0)
			continue;
		if (w < 0)
			return; /* ECHILD: nothing left */
		if (now_ms() - start > LEFTOVER_MS)
			break;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if (kill(-1, SIGKILL)) {
		say("compare: warning: %s left processes running: kill(-1): %s", path,
		    strerror(errno));
		return;
	}
	say("compare: warning: %s left processes running after %d ms: killed", path, LEFTOVER_MS);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
}

static int run_one(int idx, int total, char **argv, unsigned limit)
{
	char line[900];
	size_t len = 0;
	line[0] = 0;
	for (char **a = argv; *a && len < sizeof(line) - 2; a++)
		len += snprintf(line + len, sizeof(line) - len, "%s%s", a == argv ? "" : " ", *a);
	say("compare: run %d/%d %s", idx, total, line);
	long t0 = now_ms();
	pid_t pid = fork();
	if (pid < 0) {
		say("compare: warning: fork: %s", strerror(errno));
		say("compare: exit %d 125 0", idx);
		return 125;
	}
	if (pid == 0) {
		static char *const envp[] = { "HOME=/", "TERM=linux", NULL };
		execve(argv[0], argv, envp);
		say("compare: cannot run %s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	timed_out = 0;
	alarm(limit);
	int st = 0, outcome, killed = 0;
	for (;;) {
		pid_t w = waitpid(pid, &st, 0);
		if (w == pid)
			break;
		if (w < 0 && errno == EINTR && timed_out) {
			say("compare: warning: %s ran out of time (%u s): killed", argv[0], limit);
			kill(pid, SIGKILL);
			killed = 1;
			timed_out = 0;
			alarm(0);
			continue;
		}
		if (w < 0 && errno != EINTR) {
			say("compare: warning: waitpid: %s", strerror(errno));
			st = 125 << 8;
			break;
		}
	}
	alarm(0);
	if (killed && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
		outcome = 124;
	else if (WIFSIGNALED(st))
		outcome = 128 + WTERMSIG(st);
	else
		outcome = WEXITSTATUS(st);
	long ms = now_ms() - t0;
	reap_leftovers(argv[0]);
	say("compare: exit %d %d %ld", idx, outcome, ms);
	return outcome;
}

static void add_words(char *text)
{
	for (char *w = strtok(text, " \t"); w && nwords < MAX_WORDS - 1; w = strtok(NULL, " \t"))
		words[nwords++] = w;
}

int main(int argc, char **argv)
{
	unsigned limit = 300;
	int i = 1;
	char *list = NULL;
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "-t") && i + 1 < argc)
			limit = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "-f") && i + 1 < argc)
			list = argv[++i];
		else if (!strcmp(argv[i], "--"))
			continue;
		else
			break;
	}
	/* Only as pid 1: run by hand on a host, it must not mount anything. */
	int on_linux = getpid() == 1 &&
		       (mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) == 0 || errno == EBUSY);
	/* The list first: setup_linux changes the root. */
	if (list) {
		char *text = read_file(list, NULL);
		if (!text) {
			say("compare: warning: %s: %s", list, strerror(errno));
		} else {
			for (char *l = text, *nl; l && *l; l = nl) {
				nl = strchr(l, '\n');
				if (nl)
					*nl++ = 0;
				add_words(l);
				if (nwords < MAX_WORDS - 2)
					words[nwords++] = ";";
			}
		}
	}
	struct utsname u;
	if (uname(&u) == 0)
		say("compare: kernel %s %s", u.sysname, u.release);
	if (on_linux) {
		setup_linux();
		linux_facts();
	} else
		say("compare: root as the kernel booted it");

	/* OVMF's loader of `-kernel` appends "initrd=initrd" to the command
	 * line, after our "--": not a program. */
	for (; i < argc && nwords < MAX_WORDS - 1; i++)
		if (strncmp(argv[i], "initrd=", 7))
			words[nwords++] = argv[i];
	words[nwords++] = ";";

	static char **progs[MAX_PROGS];
	int nprogs = 0, start = 0;
	for (int w = 0; w < nwords; w++) {
		if (strcmp(words[w], ";"))
			continue;
		words[w] = NULL;
		if (w > start && nprogs < MAX_PROGS)
			progs[nprogs++] = &words[start];
		start = w + 1;
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm; /* no SA_RESTART: waitpid returns EINTR */
	sigaction(SIGALRM, &sa, NULL);

	for (int p = 0; p < nprogs; p++)
		run_one(p + 1, nprogs, progs[p], limit);
	say("compare: done %d", nprogs);
	if (on_linux)
		leave_linux();
	return 0;
}
