/*
 * kernel/init.c - the first user process: `init=/bin/prog` on the kernel
 * command line runs /bin/prog from the RAM disk, with the words after
 * "--" as its arguments (argv[1], ...: Linux passes init the words after
 * "--" the same way, kernel/cmdline.c) and Linux's initial environment
 * (HOME=/, TERM=linux). stdin, stdout and stderr are the console
 * (kernel/console_file.c). When it ends, its wait status is printed on the
 * console (`init: /bin/prog exited with status N`, or `init: /bin/prog
 * killed by signal S (NAME)`), and with qemu_exit=1 it becomes QEMU's exit
 * code through isa-debug-exit: status 0 is code 0 (QEMU exits 1), anything
 * else is code 1 (QEMU exits 3), as a test run's pass and fail; the runner
 * (tests/runner.py --init) reads the precise status from the console line.
 * Without qemu_exit the kernel goes on to the monitor (Linux would panic:
 * "Attempted to kill init!").
 *
 * Without init= the kernel runs /sbin/init (Linux's kernel_init tries it
 * first too) if the RAM disk has it: the initrd's is tests/user/init.c,
 * which starts the busybox shell (`make run`). init=monitor runs no user
 * process: the kernel monitor (kernel/monitor.c) gets the console, as
 * before /sbin/init existed; so does a boot without /sbin/init.
 *
 * The process is made by start_init_process (kernel/process.c's
 * process_spawn with as_init: pid 1, the child reaper that orphans go to)
 * and waited for by wait_init_process: it has no parent to wait4 for it,
 * so its exit notifier, run when the last thread of the process has gone,
 * hands the wait status over.
 */
#include "kernel/init.h"
#include "kernel/syscall.h"
#include "kernel/process.h"
#include "kernel/cmdline.h"
#include "kernel/sched.h"
#include "kernel/printk.h"
#include "kernel/errname.h"
#include "kernel/errno.h"
#include "arch/arch.h"
#include "kernel/file.h"
#include "kernel/string.h"
#include "kernel/fs/fs.h"

#define INIT_MAX_ARGS 64

static struct completion init_done;
static volatile int init_status, init_pid;

static void init_exited(struct thread *t, void *arg)
{
	(void)arg;
	init_pid = t->pid;
	init_status = t->exit_status;
	complete(&init_done);
}

int start_init_process(const char *path, char *const argv[], char *const envp[])
{
#ifndef MUTATION_INIT_NOT_PID1
	bool as_init = true;
#else
	bool as_init = false; /* an ordinary process: orphans have nowhere to go */
#endif
	init_completion(&init_done);
	init_status = -1;
	int pid = process_spawn(path, argv, envp, CPU_ANY, as_init, init_exited, NULL);
	return pid < 0 ? pid : 0;
}

int wait_init_process(void)
{
	wait_for_completion(&init_done);
	return init_status;
}

int init_process_pid(void)
{
	return init_pid;
}

static const char *signal_name(int sig)
{
	static const char *const names[] = {
		[SIGILL] = "SIGILL", [SIGTRAP] = "SIGTRAP", [SIGBUS] = "SIGBUS",
		[SIGFPE] = "SIGFPE", [SIGKILL] = "SIGKILL", [SIGSEGV] = "SIGSEGV",
	};
	return sig > 0 && sig < (int)ARRAY_SIZE(names) && names[sig] ? names[sig] : "?";
}

void init_report(const char *path, int status)
{
	if (status & 0x7f)
		printk("init: %s killed by signal %d (%s)\n", path, status & 0x7f,
		       signal_name(status & 0x7f));
	else
		printk("init: %s exited with status %d\n", path, (status >> 8) & 0xff);
}

/* The default first program, as Linux's kernel_init tries /sbin/init. */
#define DEFAULT_INIT "/sbin/init"

static bool init_exists(const char *path)
{
	struct kfile *f;
	if (kfile_open_path(path, O_RDONLY, &f) < 0)
		return false;
	kfile_put(f);
	return true;
}

void run_init_from_cmdline(void)
{
	const char *path = cmdline_get("init");
	if (path && !strcmp(path, "monitor"))
		return; /* init=monitor: the kernel monitor, no user process */
	if (!path) {
		if (!fs_mounted() || !init_exists(DEFAULT_INIT)) {
			printk("init: no %s: the kernel monitor runs instead\n", DEFAULT_INIT);
			return;
		}
		path = DEFAULT_INIT;
	}
	const char *argv[INIT_MAX_ARGS + 2] = { path };
	int argc = 1 + cmdline_init_args(argv + 1, INIT_MAX_ARGS);
	argv[argc] = NULL;
	static char *const envp[] = { "HOME=/", "TERM=linux", NULL };
	printk("init: starting %s with %d argument%s\n", path, argc - 1, argc == 2 ? "" : "s");
	int err = start_init_process(path, (char *const *)argv, envp);
	int status;
	if (err) {
		const char *name = errno_name(-err);
		printk("init: cannot run %s: %s (%d)\n", path, name ? name : "error", err);
		status = 0x7f00; /* as a shell's "cannot execute": failure */
	} else {
		status = wait_init_process();
		init_report(path, status);
	}
	if (cmdline_flag("qemu_exit"))
		arch_qemu_exit(status ? 1 : 0);
}
