/*
 * kernel/init.h - the first user process, named by the command line's
 * init= (kernel/init.c).
 */
#ifndef KERNEL_INIT_H
#define KERNEL_INIT_H

#include "kernel/compiler.h"

/* Start path (a static ELF of the RAM disk) with argv and envp (kernel
 * strings, NULL-terminated) as the first user process (pid 1 if no other
 * process has it), stdin, stdout and stderr on the console. 0, or -errno
 * from execve's loader (-ENOENT, -ENOEXEC, ...) or -ENOMEM. One at a
 * time. */
int start_init_process(const char *path, char *const argv[], char *const envp[]);
/* Wait until it has ended: its Linux wait status (code << 8, or the
 * signal number). */
int wait_init_process(void);
/* The pid the last init process had (tests), once it has ended. */
int init_process_pid(void);
/* Print "init: PATH exited with status N" or "... killed by signal S (NAME)". */
void init_report(const char *path, int status);
/* The command line's init= job, if there is one (kernel/main.c): run it,
 * report it, and with qemu_exit=1 exit QEMU with its verdict (status 0:
 * isa-debug-exit code 0, QEMU exits 1; anything else, or a program that
 * cannot start: code 1, QEMU exits 3). Returns only without init= or
 * without qemu_exit. */
void run_init_from_cmdline(void);

#endif
