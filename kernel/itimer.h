/*
 * kernel/itimer.h - ITIMER_REAL: alarm, setitimer, getitimer (SIGALRM).
 * See kernel/itimer.c.
 */
#ifndef KERNEL_ITIMER_H
#define KERNEL_ITIMER_H

#include "kernel/compiler.h"

struct process;

void itimer_init(void); /* the thread that fires the timers (boot) */
/* p died or is freed: disarm (tasklist_lock held). */
void itimer_release(struct process *p);

int64_t sys_alarm(unsigned seconds);
int64_t sys_setitimer(int which, uint64_t unew, uint64_t uold);
int64_t sys_getitimer(int which, uint64_t ucur);

#endif
