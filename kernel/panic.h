/*
 * kernel/panic.h - broken-invariant reporting.
 *
 * panic() prints the message, the CPU, registers and a backtrace, stops every
 * other CPU with an NMI, and halts (or exits QEMU with failure when the
 * command line asks for it). BUG()/BUG_ON() are for kernel invariants: they
 * execute ud2 after printing where, so the #UD handler shows the registers
 * and a test that expects the bug can catch it (tests/ktest.h, KEXPECT_BUG).
 */
#ifndef KERNEL_PANIC_H
#define KERNEL_PANIC_H

#include "kernel/compiler.h"

void panic(const char *fmt, ...) __printf(1, 2) __noreturn;
void __bug_report(const char *file, int line, const char *cond);
void __warn_report(const char *file, int line, const char *cond);
extern volatile int panic_in_progress;
/* For reporters that print their own details (the trap handler):
 * panic_begin() stops the other CPUs and takes the consoles,
 * panic_end() exits QEMU when asked to, or halts. */
void panic_begin(void);
void panic_end(void) __noreturn;
extern bool qemu_exit_on_panic;

/*
 * Reports a test provokes on purpose. Between bug_expect_begin() and
 * bug_expect_end() every report is tagged "BUG (expected):" instead of
 * "BUG:", so a reader of the log (and the test runner, which fails a run on
 * any other "BUG:" line) tells them from real ones at a glance.
 * bug_expect_end() returns how many reports the window saw. Reporters print
 * their first line as printk("%s ...", bug_tag()).
 */
void bug_expect_begin(void);
unsigned bug_expect_end(void);
const char *bug_tag(void);

#define BUG()                                           \
	do {                                            \
		__bug_report(__FILE__, __LINE__, NULL); \
		__asm__ __volatile__("ud2");            \
		__builtin_unreachable();                \
	} while (0)
#define BUG_ON(cond)                                             \
	do {                                                     \
		if (unlikely(cond)) {                            \
			__bug_report(__FILE__, __LINE__, #cond); \
			__asm__ __volatile__("ud2");             \
			__builtin_unreachable();                 \
		}                                                \
	} while (0)
#define WARN_ON(cond)                                             \
	({                                                        \
		bool __w = !!(cond);                              \
		if (unlikely(__w))                                \
			__warn_report(__FILE__, __LINE__, #cond); \
		__w;                                              \
	})

#endif
