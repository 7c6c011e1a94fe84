/* kernel/monitor.h - the interactive kernel monitor on the serial console. */
#ifndef KERNEL_MONITOR_H
#define KERNEL_MONITOR_H

#include "kernel/compiler.h"

void monitor_run(void) __noreturn;
/* Execute one command line; returns false for an unknown command. */
bool monitor_exec(char *line);

#endif
