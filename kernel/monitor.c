/*
 * kernel/monitor.c - a small command interpreter on the serial console
 * (output goes to every console). It polls the UART every 10 ms from a
 * normal thread, so it costs nothing when idle and needs no IRQ routing.
 */
#include "kernel/monitor.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "kernel/sched.h"
#include "kernel/stats.h"
#include "kernel/percpu.h"
#include "mm/page.h"
#include "mm/kmalloc.h"
#include "drivers/serial.h"
#include "tests/ktest.h"
#include "arch/arch.h"
#include "kernel/fs/fs.h"
#include "drivers/ramdisk.h"
#include "mm/mm.h"

static void cmd_help(char *arg);

static void cmd_tests(char *arg)
{
	ktest_list();
}

static void cmd_run(char *arg)
{
	if (!*arg) {
		printk("usage: run <glob>[,<glob>...]   e.g. run pmm.*   (see 'tests')\n");
		return;
	}
	ktest_run_all(arg);
}

static void cmd_cpus(char *arg)
{
	printk("%d CPUs online of %d started\n", nr_cpus_online, nr_cpus);
	for (int i = 0; i < nr_cpus; i++)
		printk("  cpu %2d apic %3u %s ticks %lu queued %d running %s\n", i, cpus[i].apic_id,
		       cpus[i].online ? "online " : "offline", cpus[i].ticks, cpus[i].rq.nr_queued,
		       cpus[i].curr ? cpus[i].curr->name : "-");
}

static void cmd_mem(char *arg)
{
	pmm_dump();
	kmalloc_dump();
}

static void cmd_counters(char *arg)
{
	for (int e = 0; e < NR_EVENTS; e++) {
		printk("  %-20s %10lu  [", event_names[e], event_sum(e));
		for_each_online_cpu (i)
			printk(" %lu", event_cpu(i, e));
		printk(" ]\n");
	}
}

static void cmd_threads(char *arg)
{
	sched_dump();
}

static void print_entry(const char *name, bool dir, uint64_t size, void *arg)
{
	printk("  %-30s %s %lu\n", name, dir ? "dir " : "file", size);
}

static void cmd_ls(char *arg)
{
	int err = vfs_readdir(*arg ? arg : "/", print_entry, NULL);
	if (err)
		printk("ls: %s: error %d\n", *arg ? arg : "/", err);
}

static void cmd_cat(char *arg)
{
	struct file *f;
	int err = *arg ? vfs_open(arg, O_RDONLY, &f) : -EINVAL;
	if (err) {
		printk("usage: cat /path (error %d)\n", err);
		return;
	}
	char buf[257];
	uint64_t pos = 0;
	for (ssize_t n; pos < 16384 && (n = vfs_pread(f, buf, 256, pos)) > 0; pos += n) {
		for (ssize_t i = 0; i < n; i++)
			if ((buf[i] < 32 || buf[i] > 126) && buf[i] != '\n')
				buf[i] = '.';
		buf[n] = 0;
		printk("%s", buf);
	}
	printk("\n");
	vfs_close(f);
}

static void cmd_disk(char *arg)
{
	struct block_device *b = ramdisk();
	if (!b) {
		printk("no RAM disk\n");
		return;
	}
	printk("RAM disk: %lu KiB, %lu reads (%lu bytes), %lu writes (%lu bytes), fs %s\n",
	       b->nr_sectors / 2, atomic64_read(&b->reads), atomic64_read(&b->bytes_read),
	       atomic64_read(&b->writes), atomic64_read(&b->bytes_written),
	       fs_mounted() ? "mounted" : "not mounted");
	char err[160] = "";
	if (fs_mounted())
		printk("fsck: %s\n", fs_sync_and_check(err, sizeof(err)) ? err : "clean");
}

static void cmd_reboot(char *arg)
{
	printk("rebooting\n");
	arch_reboot();
}

static const struct {
	const char *name, *help;
	void (*fn)(char *arg);
} commands[] = {
	{ "help", "this list", cmd_help },
	{ "tests", "list test suites and cases", cmd_tests },
	{ "run", "run <glob>: run matching tests (suite.case)", cmd_run },
	{ "cpus", "show CPUs", cmd_cpus },
	{ "mem", "show memory and heap", cmd_mem },
	{ "counters", "show the kernel's event counters (total and per CPU)", cmd_counters },
	{ "threads", "show kernel threads", cmd_threads },
	{ "ls", "ls [/dir]: list a directory of the RAM disk", cmd_ls },
	{ "cat", "cat /file: print a file (first 16 KiB)", cmd_cat },
	{ "disk", "RAM disk counters and an fsck of the file system", cmd_disk },
	{ "reboot", "reset the machine", cmd_reboot },
};

static void cmd_help(char *arg)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		printk("  %-9s %s\n", commands[i].name, commands[i].help);
}

bool monitor_exec(char *line)
{
	while (*line == ' ')
		line++;
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
			commands[i].fn(arg);
			return true;
		}
	}
	printk("unknown command '%s'. usage: help | tests | run <glob> | cpus | mem | counters | "
	       "threads | ls [dir] | cat file | disk | reboot\n",
	       line);
	return false;
}

__noreturn void monitor_run(void)
{
	char line[128];
	size_t len = 0;
	printk("monitor: ready (type 'help')\n> ");
	for (;;) {
		int c = serial_getc();
		if (c < 0) {
			sleep_ms(10);
			continue;
		}
		if (c == '\r' || c == '\n') {
			printk("\n");
			line[len] = 0;
			monitor_exec(line);
			len = 0;
			printk("> ");
		} else if ((c == 8 || c == 127) && len > 0) {
			len--;
			printk("\b \b");
		} else if (c >= 32 && c < 127 && len < sizeof(line) - 1) {
			line[len++] = (char)c;
			printk("%c", c);
		}
	}
}
