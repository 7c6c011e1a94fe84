/*
 * kernel/monitor.c - a small command interpreter on the serial console
 * (output goes to every console). It polls the UART every 10 ms from a
 * normal thread, so it costs nothing when idle and needs no IRQ routing.
 *
 * Errors are printed as "cmd: what: Linux's strerror text (ENAME)"; a line
 * longer than MONITOR_LINE_MAX characters is refused whole, never cut.
 */
#include "kernel/monitor.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "kernel/sched.h"
#include "kernel/stats.h"
#include "kernel/percpu.h"
#include "kernel/errname.h"
#include "kernel/cmdline.h"
#include "mm/page.h"
#include "mm/kmalloc.h"
#include "drivers/serial.h"
#include "tests/ktest.h"
#include "arch/arch.h"
#include "kernel/fs/fs.h"
#include "drivers/ramdisk.h"
#include "mm/mm.h"

#define CAT_MAX 16384 /* cat shows at most this many bytes of a file */

static __printf(2, 3) void mprintf(struct mon_out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (!o || !o->buf) {
		vprintk(fmt, ap);
	} else {
		size_t room = o->len < o->size ? o->size - o->len : 0;
		o->len += (size_t)vsnprintf(o->buf + (room ? o->len : 0), room, fmt, ap);
	}
	va_end(ap);
}

/* "cmd: what: No such file or directory (ENOENT)" */
static void print_error(struct mon_out *o, const char *cmd, const char *what, int err)
{
	char text[ERRSTR_MAX];
	mprintf(o, "%s: %s: %s\n", cmd, what, strerror_r(err, text, sizeof(text)));
}

static void cmd_help(struct mon_out *o, char *arg);

static void cmd_tests(struct mon_out *o, char *arg)
{
	ktest_list();
}

void monitor_run_verdict(int result, const char *filter, struct mon_out *o)
{
	/* ktest_run_all() printed the precise reason as "# ktest: error: ..." */
	if (result < 0 && cmdline_truncated())
		mprintf(o, "run: error: nothing ran: the kernel command line was truncated\n");
	else if (result < 0 && strchr(filter, ','))
		mprintf(o, "run: not every glob of '%s' matches a test; nothing ran\n", filter);
	else if (result < 0)
		mprintf(o, "run: no test matches '%s'\n", filter);
	else if (result == 0)
		mprintf(o, "run: all passed\n");
	else
		mprintf(o, "run: %d failed\n", result);
}

static void cmd_run(struct mon_out *o, char *arg)
{
	if (!*arg) {
		mprintf(o, "usage: run <glob>[,<glob>...]   e.g. run pmm.*   (see 'tests')\n");
		return;
	}
	monitor_run_verdict(ktest_run_all(arg), arg, o);
}

static void cmd_cpus(struct mon_out *o, char *arg)
{
	mprintf(o, "%d CPUs online of %d started\n", nr_cpus_online, nr_cpus);
	for (int i = 0; i < nr_cpus; i++)
		mprintf(o, "  cpu %2d apic %3u %s ticks %lu queued %d running %s\n", i,
			cpus[i].apic_id, cpus[i].online ? "online " : "offline", cpus[i].ticks,
			cpus[i].rq.nr_queued, cpus[i].curr ? cpus[i].curr->name : "-");
}

static void cmd_mem(struct mon_out *o, char *arg)
{
	pmm_dump();
	kmalloc_dump();
}

static int digits(uint64_t v)
{
	int n = 1;
	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/*
 * One row per event: the name in a fixed-width column, then the total and
 * one column per online CPU, right-aligned under a header naming the CPUs.
 * The values are read once into a snapshot, so the widths fit what is shown.
 */
static void cmd_counters(struct mon_out *o, char *arg)
{
	int cpu_ids[NR_CPUS], ncols = 0;
	for_each_online_cpu (i)
		cpu_ids[ncols++] = i;
	/* snap[e * (ncols + 1)]: the total, then the CPUs' values */
	uint64_t *snap = kmalloc(sizeof(uint64_t) * NR_EVENTS * (ncols + 1));
	if (!snap) {
		print_error(o, "counters", "snapshot", -ENOMEM);
		return;
	}
	int name_w = (int)strlen("event"), total_w = (int)strlen("total"), cpu_w[NR_CPUS];
	for (int c = 0; c < ncols; c++) {
		char h[16];
		cpu_w[c] = snprintf(h, sizeof(h), "cpu%d", cpu_ids[c]);
	}
	for (int e = 0; e < NR_EVENTS; e++) {
		uint64_t *row = &snap[e * (ncols + 1)], sum = 0;
		for (int c = 0; c < ncols; c++) {
			row[c + 1] = event_cpu(cpu_ids[c], e);
			sum += row[c + 1];
			cpu_w[c] = MAX(cpu_w[c], digits(row[c + 1]));
		}
		row[0] = sum;
		total_w = MAX(total_w, digits(sum));
		name_w = MAX(name_w, (int)strlen(event_names[e]));
	}
	mprintf(o, "  %-*s  %*s", name_w, "event", total_w, "total");
	for (int c = 0; c < ncols; c++) {
		char h[16];
		snprintf(h, sizeof(h), "cpu%d", cpu_ids[c]);
		mprintf(o, "  %*s", cpu_w[c], h);
	}
	mprintf(o, "\n");
	for (int e = 0; e < NR_EVENTS; e++) {
		uint64_t *row = &snap[e * (ncols + 1)];
		mprintf(o, "  %-*s  %*lu", name_w, event_names[e], total_w, row[0]);
		for (int c = 0; c < ncols; c++)
			mprintf(o, "  %*lu", cpu_w[c], row[c + 1]);
		mprintf(o, "\n");
	}
	kfree(snap);
}

static void cmd_threads(struct mon_out *o, char *arg)
{
	sched_dump();
}

static void print_entry(const char *name, bool dir, uint64_t size, void *arg)
{
	mprintf(arg, "  %-30s %s %lu\n", name, dir ? "dir " : "file", size);
}

static bool need_fs(struct mon_out *o, const char *cmd)
{
	if (fs_mounted())
		return true;
	mprintf(o, "%s: no file system (the RAM disk is %s)\n", cmd,
		ramdisk() ? "not mounted" : "missing");
	return false;
}

static void cmd_ls(struct mon_out *o, char *arg)
{
	const char *path = *arg ? arg : "/";
	if (!need_fs(o, "ls"))
		return;
	int err = vfs_readdir(path, print_entry, o);
	if (err)
		print_error(o, "ls", path, err);
}

static void cmd_cat(struct mon_out *o, char *arg)
{
	if (!*arg) {
		mprintf(o, "usage: cat /path/to/file   (shows the first %d bytes)\n", CAT_MAX);
		return;
	}
	if (!need_fs(o, "cat"))
		return;
	struct file *f;
	int err = vfs_open(arg, O_RDONLY, &f);
	if (err) {
		print_error(o, "cat", arg, err);
		return;
	}
	if (f->inode->d.mode == SFS_S_IFDIR) {
		print_error(o, "cat", arg, -EISDIR);
		vfs_close(f);
		return;
	}
	char buf[257], last = '\n';
	uint64_t pos = 0;
	ssize_t n = 0;
	while (pos < CAT_MAX && (n = vfs_pread(f, buf, MIN(256, CAT_MAX - pos), pos)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if ((buf[i] < 32 || buf[i] > 126) && buf[i] != '\n')
				buf[i] = '.';
		buf[n] = 0;
		mprintf(o, "%s", buf);
		last = buf[n - 1];
		pos += (uint64_t)n;
	}
	if (last != '\n')
		mprintf(o, "\n");
	uint64_t size = vfs_size(f);
	if (n < 0)
		print_error(o, "cat", arg, (int)n);
	else if (pos < size)
		mprintf(o, "cat: %s: showed the first %lu of %lu bytes\n", arg, pos, size);
	vfs_close(f);
}

static void cmd_disk(struct mon_out *o, char *arg)
{
	struct block_device *b = ramdisk();
	if (!b) {
		mprintf(o, "no RAM disk\n");
		return;
	}
	mprintf(o, "RAM disk: %lu KiB, %lu reads (%lu bytes), %lu writes (%lu bytes), fs %s\n",
		b->nr_sectors / 2, atomic64_read(&b->reads), atomic64_read(&b->bytes_read),
		atomic64_read(&b->writes), atomic64_read(&b->bytes_written),
		fs_mounted() ? "mounted" : "not mounted");
	char err[160] = "";
	if (fs_mounted())
		mprintf(o, "fsck: %s\n", fs_sync_and_check(err, sizeof(err)) ? err : "clean");
}

static void cmd_reboot(struct mon_out *o, char *arg)
{
	mprintf(o, "reboot: rebooting the machine now\n");
	arch_reboot();
}

static const struct {
	const char *name, *help;
	void (*fn)(struct mon_out *o, char *arg);
} commands[] = {
	{ "help", "this list", cmd_help },
	{ "tests", "list test suites and cases", cmd_tests },
	{ "run", "run <glob>[,<glob>...]: run matching tests (suite.case)", cmd_run },
	{ "cpus", "show CPUs", cmd_cpus },
	{ "mem", "show memory and heap", cmd_mem },
	{ "counters", "show the kernel's event counters (total and per CPU)", cmd_counters },
	{ "threads", "show kernel threads", cmd_threads },
	{ "ls", "ls [/dir]: list a directory of the RAM disk", cmd_ls },
	{ "cat", "cat /file: print a file (first 16 KiB)", cmd_cat },
	{ "disk", "RAM disk counters and an fsck of the file system", cmd_disk },
	{ "reboot", "reset the machine", cmd_reboot },
};

static void cmd_help(struct mon_out *o, char *arg)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		mprintf(o, "  %-9s %s\n", commands[i].name, commands[i].help);
}

bool monitor_exec_to(char *line, struct mon_out *o)
{
	while (*line == ' ')
		line++;
	for (size_t n = strlen(line); n && line[n - 1] == ' ';)
		line[--n] = 0;
	if (!*line)
		return true;
	char *arg = strchr(line, ' ');
	if (arg) {
		*arg++ = 0;
		while (*arg == ' ')
			arg++;
	} else {
		arg = line + strlen(line);
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (!strcmp(commands[i].name, line)) {
			commands[i].fn(o, arg);
			return true;
		}
	}
	mprintf(o, "monitor: unknown command '%s'; commands:", line);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		mprintf(o, " %s", commands[i].name);
	mprintf(o, " (type 'help')\n");
	return false;
}

bool monitor_exec(char *line)
{
	return monitor_exec_to(line, NULL);
}

enum monitor_key monitor_line_feed(struct monitor_line *l, int c, struct mon_out *o)
{
	bool after_cr = l->cr;
	l->cr = c == '\r';
	if (l->esc == 1) { /* ESC [ or ESC O starts a sequence; anything else ends it */
		l->esc = c == '[' || c == 'O' ? 2 : 0;
		return MON_NONE;
	}
	if (l->esc == 2) { /* parameters until a final byte 0x40..0x7e */
		if (c >= 0x40 && c <= 0x7e)
			l->esc = 0;
		return MON_NONE;
	}
	if (c == '\n' && after_cr) /* the second half of "\r\n" */
		return MON_NONE;
	if (c == '\r' || c == '\n') {
		mprintf(o, "\n");
		bool too_long = l->len > MONITOR_LINE_MAX;
		l->buf[MIN(l->len, (size_t)MONITOR_LINE_MAX)] = 0;
		l->len = 0;
		return too_long ? MON_TOO_LONG : MON_LINE;
	}
	if (c == 3) { /* Ctrl-C */
		mprintf(o, "^C\n");
		l->len = 0;
		return MON_CANCEL;
	}
	if (c == 27) {
		l->esc = 1;
	} else if (c == 8 || c == 127) {
		if (l->len > 0) {
			l->len--;
			mprintf(o, "\b \b");
		}
	} else if (c >= 32 && c < 127) {
		if (l->len < MONITOR_LINE_MAX)
			l->buf[l->len] = (char)c;
		l->len++; /* counted past the limit too: the line is then refused */
		mprintf(o, "%c", c);
	}
	return MON_NONE;
}

__noreturn void monitor_run(void)
{
	static struct monitor_line line;
	printk("monitor: ready (type 'help')\n> ");
	for (;;) {
		int c = serial_getc();
		if (c < 0) {
			sleep_ms(10);
			continue;
		}
		enum monitor_key k = monitor_line_feed(&line, c, NULL);
		if (k == MON_NONE)
			continue;
		if (k == MON_LINE)
			monitor_exec(line.buf);
		else if (k == MON_TOO_LONG)
			printk("monitor: line too long (max %d characters), ignored\n",
			       MONITOR_LINE_MAX);
		printk("> ");
	}
}
