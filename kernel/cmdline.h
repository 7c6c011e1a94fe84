/*
 * kernel/cmdline.h - the kernel command line (\cmdline.txt on the boot
 * volume): `key` or `key=value` words separated by white space; when a key
 * appears more than once, the last one wins.
 *   ktest.run=1            run the test suite at boot
 *   ktest.filter=G[,G...]  run only cases whose "suite.case" matches a glob
 *   ktest.timeout=S        per-case timeout in seconds (default 60)
 *   qemu_exit=1            exit QEMU through isa-debug-exit with the verdict
 *                          (of the suite, or of init: kernel/init.c)
 *   init=/bin/prog         run this program of the RAM disk as the first
 *                          user process (kernel/init.c)
 *   -- WORD...             the words after "--" are not the kernel's: they
 *                          are init's arguments (argv[1], ...), as Linux
 *
 * The limit is CMDLINE_MAX bytes (Linux x86 has COMMAND_LINE_SIZE 2048,
 * NUL included; we take twice that, NUL excluded); any number of words fits.
 * The loader refuses to boot with a longer cmdline.txt (boot/files.c); a
 * longer line given anyway is cut before the first word that does not fit
 * whole, with an error line, and cmdline_truncated() says so, which fails
 * the test run.
 */
#ifndef KERNEL_CMDLINE_H
#define KERNEL_CMDLINE_H

/* Shared with the loader, which includes this header for it alone. */
#define CMDLINE_MAX 4096 /* bytes, without the terminating NUL */

#ifndef CMDLINE_LIMIT_ONLY
#include "kernel/compiler.h"

/* Parse the boot command line (len bytes at s, not necessarily
 * NUL-terminated; NULs and control characters count as white space). Prints
 * "cmdline: error: ..." if it is longer than CMDLINE_MAX. */
void cmdline_init(const char *s, size_t len);
/* Value of key=value, "" for a bare key, NULL if absent. */
const char *cmdline_get(const char *key);
bool cmdline_flag(const char *key); /* present and not "0" */
unsigned long cmdline_ulong(const char *key, unsigned long def);
/* The command line as kept (control characters turned into spaces). */
const char *cmdline_raw(void);
/* Print "cmdline: <the whole line>" (printk cuts one call at 511 bytes). */
void cmdline_print(void);
/* The boot command line was longer than CMDLINE_MAX and lost its tail. */
bool cmdline_truncated(void);
/* The words after "--" (init's arguments): up to max pointers into the
 * kept line; returns how many there are (at most max). */
int cmdline_init_args(const char **out, int max);

/* One parsed command line; the boot one is a static instance of this, the
 * tests parse their own. */
struct cmdline {
	char raw[CMDLINE_MAX + 1];   /* what was kept, control chars -> ' ' */
	char words[CMDLINE_MAX + 1]; /* the same with every blank -> NUL */
	size_t len;		     /* bytes kept */
	size_t given;		     /* bytes given */
	bool truncated;		     /* given > CMDLINE_MAX: words dropped */
};
void cmdline_parse(struct cmdline *c, const char *s, size_t len);
const char *cmdline_lookup(const struct cmdline *c, const char *key);
int cmdline_args_after_dashes(const struct cmdline *c, const char **out, int max);
#endif

#endif
