/*
 * kernel/poll.c - poll, ppoll, select and pselect6 (Linux's fs/select.c).
 *
 * One loop for all four (do_poll): every pass asks each file's ->poll for
 * its ready events. On the first pass ->poll queues the caller, through
 * poll_wait, on every wait queue whose wake-up may change the answer (one
 * entry per queue, each holding a reference on its file, in chunks of a
 * page); the later passes only mark the caller sleeping again on the same
 * entries before they look (prepare_to_wait: a wake-up between the look
 * and the sleep makes schedule() return at once, none is lost). The loop
 * ends when something is ready, the timeout passed, or a signal is
 * pending (-ERESTARTNOHAND: -EINTR with a handler, a restart without; the
 * time already waited is not taken off the restarted timeout, a
 * difference from Linux's restart_block for poll). The entries are then
 * taken off their queues and the files put.
 *
 * A file without ->poll (a regular file, a directory, /proc, most of /dev)
 * is always readable and writable (DEFAULT_POLLMASK), as Linux.
 *
 * Checks in Linux's order: poll: nfds > RLIMIT_NOFILE -EINVAL, the array
 * -EFAULT; a negative fd is skipped (revents 0), a closed one is POLLNVAL.
 * select: n < 0 -EINVAL, n is clamped to the table's size, the sets and
 * the timeout -EFAULT / -EINVAL, a closed fd in a set -EBADF. ppoll and
 * pselect6 swap in the signal mask for the wait (sigsetsize must be 8)
 * and restore it on the way out unless a signal interrupted the call (then
 * after its handler ran, as sigsuspend). select, pselect6 and ppoll write
 * back the time left (a fault there is ignored, as Linux).
 *
 * Locks: none of its own; the wait queues' locks inside prepare_to_wait /
 * finish_wait, and each file's ->poll takes what it needs.
 */
#include "kernel/poll.h"
#include "kernel/file.h"
#include "kernel/fdtable.h"
#include "kernel/sched.h"
#include "kernel/signal.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "mm/kmalloc.h"
#include "arch/x86_64/uaccess.h"

struct poll_entry {
	struct kfile *file;
	struct waitq *wq;
	struct waiter w;
};

#define ENTRIES_PER_PAGE ((4096 - 16) / sizeof(struct poll_entry))
struct poll_page {
	struct poll_page *next;
	unsigned nr;
	struct poll_entry e[ENTRIES_PER_PAGE];
};

struct poll_table_struct {
	struct poll_page *pages;
	bool queue; /* first pass: poll_wait queues */
	int error;  /* -ENOMEM: an entry could not be made */
};

void poll_wait(struct kfile *f, struct waitq *wq, poll_table *pt)
{
#ifdef MUTATION_POLL_NO_QUEUE
	return; /* the poller is never woken: it sleeps to its timeout */
#endif
	if (!pt || !pt->queue || !wq)
		return;
	struct poll_page *pg = pt->pages;
	if (!pg || pg->nr == ENTRIES_PER_PAGE) {
		pg = kzalloc(sizeof(*pg));
		if (!pg) {
			pt->error = -ENOMEM;
			return;
		}
		pg->next = pt->pages;
		pt->pages = pg;
	}
	struct poll_entry *e = &pg->e[pg->nr++];
	kfile_get(f);
	e->file = f;
	e->wq = wq;
	prepare_to_wait_interruptible(wq, &e->w);
}

unsigned vfs_poll(struct kfile *f, poll_table *pt)
{
	if (!f->f_op || !f->f_op->poll)
		return DEFAULT_POLLMASK;
	return f->f_op->poll(f, pt);
}

/* Sleeping again on every queued entry (passes after the first). */
static void poll_rearm(poll_table *pt)
{
	for (struct poll_page *pg = pt->pages; pg; pg = pg->next)
		for (unsigned i = 0; i < pg->nr; i++)
			prepare_to_wait_interruptible(pg->e[i].wq, &pg->e[i].w);
}

static void poll_freewait(poll_table *pt)
{
	struct poll_page *pg = pt->pages;
	while (pg) {
		for (unsigned i = 0; i < pg->nr; i++) {
			finish_wait(pg->e[i].wq, &pg->e[i].w);
			kfile_put(pg->e[i].file);
		}
		struct poll_page *n = pg->next;
		kfree(pg);
		pg = n;
	}
	pt->pages = NULL;
}

/* What the caller polls: one per pollfd, or per fd of select. */
struct pollfd_k {
	int fd;
	short events, revents;
};

/* Linux's do_poll over the kernel copy: the count ready, or -errno. A
 * deadline of 0 waits forever; `nowait`: a zero timeout. */
static int do_poll(struct pollfd_k *fds, unsigned nfds, uint64_t deadline, bool nowait)
{
	struct files_struct *files = current_files();
	poll_table table = { .pages = NULL, .queue = !nowait, .error = 0 };
	int count = 0;
	for (;;) {
		if (!table.queue && table.pages)
			poll_rearm(&table);
		count = 0;
		for (unsigned i = 0; i < nfds; i++) {
			struct pollfd_k *p = &fds[i];
			p->revents = 0;
			if (p->fd < 0)
				continue;
			struct kfile *f = fget(files, p->fd);
			if (!f) {
				p->revents = POLLNVAL;
				count++;
				continue;
			}
			unsigned want = (unsigned)(uint16_t)p->events | POLLERR | POLLHUP;
			unsigned mask = vfs_poll(f, &table) & want;
			kfile_put(f);
			if (mask) {
				p->revents = (short)mask;
				count++;
				table.queue = false; /* Linux: no more queueing once one is ready */
			}
		}
		table.queue = false;
		if (count || nowait)
			break;
		if (table.error) {
			count = table.error;
			break;
		}
		if (signal_pending(current)) {
			count = -ERESTARTNOHAND;
			break;
		}
		if (deadline && ktime_get_ns() >= deadline)
			break;
		if (!table.pages) {
			/* nothing to wait on: sleep to the deadline or a signal */
			struct waitq wq;
			waitq_init(&wq);
			int r = wait_event_interruptible_deadline(wq, false, deadline);
			if (r == -ERESTARTSYS)
				continue;
			break;
		}
		if (deadline)
			schedule_timeout_deadline(deadline);
		else
			schedule();
	}
	poll_freewait(&table);
	return count;
}

static unsigned nofile_limit(void)
{
	struct files_struct *files = current_files();
	return files ? files->rlimit : NR_OPEN_DEFAULT;
}

#define POLL_STACK 32

static int64_t poll_common(uint64_t ufds, unsigned nfds, uint64_t deadline, bool nowait)
{
#ifndef MUTATION_POLL_NO_NFDS_LIMIT
	if (nfds > nofile_limit())
		return -EINVAL;
#else
	(void)nofile_limit;
#endif
	struct pollfd_k stack[POLL_STACK], *fds = stack;
	if (nfds > POLL_STACK) {
		fds = kmalloc(sizeof(*fds) * nfds);
		if (!fds)
			return -ENOMEM;
	}
	int64_t r = 0;
	if (nfds && copy_from_user(fds, ufds, sizeof(*fds) * nfds)) {
		r = -EFAULT;
		goto out;
	}
	r = do_poll(fds, nfds, deadline, nowait);
	if (r < 0)
		goto out;
	for (unsigned i = 0; i < nfds; i++)
		if (copy_to_user(ufds + i * sizeof(*fds) + 6, &fds[i].revents, 2)) {
			r = -EFAULT;
			break;
		}
out:
	if (fds != stack)
		kfree(fds);
	return r;
}

int64_t sys_poll(uint64_t ufds, unsigned nfds, int timeout_ms)
{
	uint64_t deadline = 0;
	bool nowait = timeout_ms == 0;
	if (timeout_ms > 0)
		deadline = ktime_get_ns() + (uint64_t)timeout_ms * 1000000ull;
	return poll_common(ufds, nfds, deadline, nowait);
}

/* A user timespec (utsp != 0) as a deadline: 0 or -EFAULT / -EINVAL. */
static int get_timespec_deadline(uint64_t utsp, uint64_t *deadline, bool *nowait)
{
	int64_t ts[2];
	*deadline = 0;
	*nowait = false;
	if (!utsp)
		return 0;
	if (copy_from_user(ts, utsp, sizeof(ts)))
		return -EFAULT;
	if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000)
		return -EINVAL;
	if (!ts[0] && !ts[1]) {
		*nowait = true;
		return 0;
	}
	uint64_t ns =
	    ts[0] >= 1000000000 ? (1ull << 62) : (uint64_t)ts[0] * 1000000000ull + (uint64_t)ts[1];
	*deadline = ktime_get_ns() + ns;
	return 0;
}

/* The time left to the deadline written back (faults ignored, as Linux). */
static void put_time_left(uint64_t uaddr, uint64_t deadline, bool timeval)
{
	if (!uaddr || !deadline)
		return;
	uint64_t now = ktime_get_ns(), left = deadline > now ? deadline - now : 0;
	int64_t t[2] = { (int64_t)(left / 1000000000ull), (int64_t)(left % 1000000000ull) };
	if (timeval)
		t[1] /= 1000;
	(void)copy_to_user(uaddr, t, sizeof(t));
}

/* ppoll/pselect6's mask: swapped in for the call (Linux's set_user_sigmask). */
static int set_user_sigmask(uint64_t umask, uint64_t size, sigset_t *saved, bool *swapped)
{
	*swapped = false;
	if (!umask)
		return 0;
	if (size != sizeof(sigset_t))
		return -EINVAL;
	sigset_t set;
	if (copy_from_user(&set, umask, sizeof(set)))
		return -EFAULT;
#ifdef MUTATION_PPOLL_IGNORES_MASK
	return 0;
#endif
	*saved = current->sig.blocked;
	set_current_blocked(set);
	*swapped = true;
	return 0;
}

/* Linux's restore_saved_sigmask_unless: interrupted, the old mask comes
 * back after the handler ran (as sigsuspend); else now. */
static void restore_user_sigmask(bool swapped, sigset_t saved, int64_t ret)
{
	if (!swapped)
		return;
	if (ret == -ERESTARTNOHAND && signal_pending(current)) {
		current->sig.saved_sigmask = saved;
		current->sig.restore_sigmask = true;
		return;
	}
	set_current_blocked(saved);
}

int64_t sys_ppoll(uint64_t ufds, unsigned nfds, uint64_t utsp, uint64_t usigmask,
		  uint64_t sigsetsize)
{
	uint64_t deadline;
	bool nowait;
	int err = get_timespec_deadline(utsp, &deadline, &nowait);
	if (err)
		return err;
	sigset_t saved = 0;
	bool swapped;
	err = set_user_sigmask(usigmask, sigsetsize, &saved, &swapped);
	if (err)
		return err;
	int64_t r = poll_common(ufds, nfds, deadline, nowait);
	restore_user_sigmask(swapped, saved, r);
	put_time_left(utsp, deadline, false);
	return r;
}

/* ---- select ---------------------------------------------------------------- */

#define POLLIN_SET  (POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR)
#define POLLOUT_SET (POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR)
#define POLLEX_SET  POLLPRI

static int64_t do_select(int n, uint64_t inp, uint64_t outp, uint64_t exp, uint64_t deadline,
			 bool nowait)
{
	if (n < 0)
		return -EINVAL;
	struct files_struct *files = current_files();
	unsigned max_fds = files ? READ_ONCE(files->max_fds) : 0;
	if ((unsigned)n > max_fds)
		n = (int)max_fds;
	size_t words = ((size_t)n + 63) / 64, bytes = words * 8;
	uint64_t *sets = kzalloc(bytes * 6 + 8);
	if (!sets)
		return -ENOMEM;
	uint64_t *in = sets, *out = sets + words, *ex = sets + 2 * words;
	uint64_t *rin = sets + 3 * words, *rout = sets + 4 * words, *rex = sets + 5 * words;
	int64_t r = 0;
	if ((inp && copy_from_user(in, inp, bytes)) || (outp && copy_from_user(out, outp, bytes)) ||
	    (exp && copy_from_user(ex, exp, bytes))) {
		r = -EFAULT;
		goto out;
	}
	/* the fds asked about, as pollfds */
	unsigned nr = 0;
	for (int fd = 0; fd < n; fd++)
		if ((in[fd / 64] | out[fd / 64] | ex[fd / 64]) & (1ull << (fd % 64)))
			nr++;
	struct pollfd_k *fds = kmalloc(sizeof(*fds) * (nr ? nr : 1));
	if (!fds) {
		r = -ENOMEM;
		goto out;
	}
	unsigned k = 0;
	for (int fd = 0; fd < n; fd++) {
		uint64_t bit = 1ull << (fd % 64);
		unsigned ev = 0;
		if (in[fd / 64] & bit)
			ev |= POLLIN_SET;
		if (out[fd / 64] & bit)
			ev |= POLLOUT_SET;
		if (ex[fd / 64] & bit)
			ev |= POLLEX_SET;
		if (!ev)
			continue;
		struct kfile *f = fget(files, fd);
#ifndef MUTATION_SELECT_IGNORES_BADF
		if (!f) {
			r = -EBADF;
			kfree(fds);
			goto out;
		}
#else
		if (!f) {
			fds[k++] = (struct pollfd_k){ .fd = -1 }; /* skipped */
			continue;
		}
#endif
		kfile_put(f);
		fds[k++] = (struct pollfd_k){ .fd = fd, .events = (short)ev };
	}
	r = do_poll(fds, nr, deadline, nowait);
	if (r >= 0) {
		r = 0;
		for (unsigned i = 0; i < nr; i++) {
			int fd = fds[i].fd;
			uint64_t bit = 1ull << (fd % 64);
			unsigned rev = (unsigned)(uint16_t)fds[i].revents;
			if (rev & POLLNVAL) {
				r = -EBADF; /* closed while we waited */
				break;
			}
			if ((in[fd / 64] & bit) && (rev & POLLIN_SET)) {
				rin[fd / 64] |= bit;
				r++;
			}
			if ((out[fd / 64] & bit) && (rev & POLLOUT_SET)) {
				rout[fd / 64] |= bit;
				r++;
			}
			if ((ex[fd / 64] & bit) && (rev & POLLEX_SET)) {
				rex[fd / 64] |= bit;
				r++;
			}
		}
	}
	kfree(fds);
	if (r >= 0 &&
	    ((inp && copy_to_user(inp, rin, bytes)) || (outp && copy_to_user(outp, rout, bytes)) ||
	     (exp && copy_to_user(exp, rex, bytes))))
		r = -EFAULT;
out:
	kfree(sets);
	return r;
}

int64_t sys_select(int n, uint64_t inp, uint64_t outp, uint64_t exp, uint64_t utvp)
{
	uint64_t deadline = 0;
	bool nowait = false;
	if (utvp) {
		int64_t tv[2];
		if (copy_from_user(tv, utvp, sizeof(tv)))
			return -EFAULT;
		/* Linux: tv_sec + tv_usec / 10^6 s and (tv_usec % 10^6) us */
		int64_t sec = tv[0] + tv[1] / 1000000, nsec = (tv[1] % 1000000) * 1000;
		if (sec < 0 || nsec < 0)
			return -EINVAL;
		uint64_t ns = sec >= 1000000000 ? (1ull << 62)
						: (uint64_t)sec * 1000000000ull + (uint64_t)nsec;
		if (!ns)
			nowait = true;
		else
			deadline = ktime_get_ns() + ns;
	}
	int64_t r = do_select(n, inp, outp, exp, deadline, nowait);
	put_time_left(utvp, deadline, true);
	if (utvp && nowait) {
		int64_t z[2] = { 0, 0 };
		(void)copy_to_user(utvp, z, sizeof(z));
	}
	return r;
}

int64_t sys_pselect6(int n, uint64_t inp, uint64_t outp, uint64_t exp, uint64_t utsp, uint64_t usig)
{
	uint64_t deadline;
	bool nowait;
	int err = get_timespec_deadline(utsp, &deadline, &nowait);
	if (err)
		return err;
	uint64_t sig[2] = { 0, 0 }; /* { const sigset_t *ss; size_t ss_len; } */
	if (usig && copy_from_user(sig, usig, sizeof(sig)))
		return -EFAULT;
	sigset_t saved = 0;
	bool swapped;
	err = set_user_sigmask(sig[0], sig[1], &saved, &swapped);
	if (err)
		return err;
	int64_t r = do_select(n, inp, outp, exp, deadline, nowait);
	restore_user_sigmask(swapped, saved, r);
	put_time_left(utsp, deadline, false);
	return r;
}
