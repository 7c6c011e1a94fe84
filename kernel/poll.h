/*
 * kernel/poll.h - poll/ppoll/select/pselect6 (kernel/poll.c) and the
 * interface a file's ->poll implements (Linux's include/linux/poll.h).
 *
 * ->poll(f, pt) returns the events ready now (POLLIN ...); before it looks
 * it calls poll_wait(f, wq, pt) for every wait queue whose wake-up may
 * change the answer. pt may be NULL (a one-off look).
 */
#ifndef KERNEL_POLL_H
#define KERNEL_POLL_H

#include "kernel/compiler.h"

#define POLLIN		 0x001
#define POLLPRI		 0x002
#define POLLOUT		 0x004
#define POLLERR		 0x008
#define POLLHUP		 0x010
#define POLLNVAL	 0x020
#define POLLRDNORM	 0x040
#define POLLRDBAND	 0x080
#define POLLWRNORM	 0x100
#define POLLWRBAND	 0x200
#define DEFAULT_POLLMASK (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM)

#ifndef __NR_poll
#define __NR_poll 7
#endif
#ifndef __NR_select
#define __NR_select 23
#endif
#ifndef __NR_pselect6
#define __NR_pselect6 270
#endif
#ifndef __NR_ppoll
#define __NR_ppoll 271
#endif

struct kfile;
struct waitq;
typedef struct poll_table_struct poll_table;

/* Queue the poller on wq (once per poll call; the entry keeps a
 * reference on f until the poll ends). pt NULL: nothing. */
void poll_wait(struct kfile *f, struct waitq *wq, poll_table *pt);
/* The events of f now (DEFAULT_POLLMASK for a file without ->poll). */
unsigned vfs_poll(struct kfile *f, poll_table *pt);

int64_t sys_poll(uint64_t ufds, unsigned nfds, int timeout_ms);
int64_t sys_ppoll(uint64_t ufds, unsigned nfds, uint64_t utsp, uint64_t usigmask,
		  uint64_t sigsetsize);
int64_t sys_select(int n, uint64_t inp, uint64_t outp, uint64_t exp, uint64_t utvp);
int64_t sys_pselect6(int n, uint64_t inp, uint64_t outp, uint64_t exp, uint64_t utsp,
		     uint64_t usig);

#endif
