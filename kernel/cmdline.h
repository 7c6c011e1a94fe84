/*
 * kernel/cmdline.h - the kernel command line (\cmdline.txt on the boot
 * volume): space-separated `key` or `key=value` words.
 *   ktest.run=1            run the test suite at boot
 *   ktest.filter=G[,G...]  run only cases whose "suite.case" matches a glob
 *   ktest.timeout=S        per-case timeout in seconds (default 60)
 *   qemu_exit=1            exit QEMU through isa-debug-exit with the verdict
 */
#ifndef KERNEL_CMDLINE_H
#define KERNEL_CMDLINE_H

#include "kernel/compiler.h"

void cmdline_init(const char *s, size_t len);
/* Value of key=value, "" for a bare key, NULL if absent. */
const char *cmdline_get(const char *key);
bool cmdline_flag(const char *key); /* present and not "0" */
unsigned long cmdline_ulong(const char *key, unsigned long def);
const char *cmdline_raw(void);

#endif
