/*
 * kernel/pipe.c - pipes: a ring of pages, blocking and O_NONBLOCK I/O,
 * PIPE_BUF atomicity, EOF and EPIPE. See pipe.h for the rules.
 */
#include "kernel/signal.h"
#include "kernel/process.h"
#include "kernel/pipe.h"
#include "kernel/file.h"
#include "kernel/fs/fs.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "kernel/atomic.h"
#include "arch/x86_64/uaccess.h"
#include "mm/kmalloc.h"
#include "mm/page.h"

#define PIPE_SIZE ((uint64_t)PIPE_DEF_BUFFERS * PAGE_SIZE)

void (*pipe_sigpipe_hook)(void);
static atomic_t nr_pipes;
static atomic_t next_ino;

int pipe_nr_live(void)
{
	return atomic_read(&nr_pipes);
}

unsigned pipe_bytes(struct pipe_inode_info *p)
{
	return (unsigned)(READ_ONCE(p->head) - READ_ONCE(p->tail));
}

static bool pipe_readable(struct pipe_inode_info *p)
{
	return READ_ONCE(p->head) != READ_ONCE(p->tail) || !READ_ONCE(p->writers);
}

/* Room for `need` bytes (or there is no reader to wait for). */
static bool pipe_writable(struct pipe_inode_info *p, uint64_t need)
{
	return PIPE_SIZE - (READ_ONCE(p->head) - READ_ONCE(p->tail)) >= need ||
	       !READ_ONCE(p->readers);
}

/* Copy n bytes between the ring at byte `at` and user memory; mutex held.
 * 0 or -EFAULT / -ENOMEM (then nothing counts as moved). */
static int ring_copy(struct pipe_inode_info *p, uint64_t at, uint64_t ubuf, size_t n, bool to_ring)
{
	size_t done = 0;
	while (done < n) {
		uint64_t pos = (at + done) % PIPE_SIZE;
		unsigned slot = (unsigned)(pos / PAGE_SIZE);
		size_t off = pos % PAGE_SIZE, chunk = MIN(n - done, PAGE_SIZE - off);
		if (!p->pages[slot]) {
			if (!to_ring)
				return -EFAULT; /* cannot happen: data has a page */
			if (!(p->pages[slot] = get_free_page(0)))
				return -ENOMEM;
		}
		char *k = (char *)p->pages[slot] + off;
		int err = to_ring ? copy_from_user(k, ubuf + done, chunk)
				  : copy_to_user(ubuf + done, k, chunk);
		if (err)
			return err;
		done += chunk;
	}
	return 0;
}

static ssize_t pipe_read(struct kfile *f, uint64_t ubuf, size_t len, uint64_t *pos)
{
	struct pipe_inode_info *p = f->pipe;
	if (!len)
		return 0;
	down_write(&p->mutex);
	for (;;) {
		uint64_t avail = p->head - p->tail;
		if (avail) {
			size_t n = MIN(len, avail);
			int err = ring_copy(p, p->tail, ubuf, n, false);
			if (!err)
				WRITE_ONCE(p->tail, p->tail + n);
			up_write(&p->mutex);
			wake_up_all(&p->wr_wait);
			return err ? err : (ssize_t)n;
		}
		if (!p->writers) {
			up_write(&p->mutex);
			return 0; /* EOF */
		}
		if (f->f_flags & O_NONBLOCK) {
			up_write(&p->mutex);
			return -EAGAIN;
		}
		up_write(&p->mutex);
#ifdef MUTATION_PIPE_READ_KILLABLE
		if (wait_event_killable(p->rd_wait, pipe_readable(p)))
#else
		if (wait_event_interruptible(p->rd_wait, pipe_readable(p)))
#endif
			return -ERESTARTSYS; /* a signal: -EINTR or restarted */
		down_write(&p->mutex);
	}
}

static ssize_t pipe_write(struct kfile *f, uint64_t ubuf, size_t len, uint64_t *pos)
{
	struct pipe_inode_info *p = f->pipe;
	size_t done = 0;
	int err = 0;
	down_write(&p->mutex);
#ifndef MUTATION_PIPE_WRITE_NO_READER_CHECK
	if (!p->readers) {
		err = -EPIPE;
		goto out;
	}
#endif
	if (!len)
		goto out;
	for (;;) {
#ifndef MUTATION_PIPE_WRITE_NO_READER_CHECK
		if (!p->readers) {
			err = -EPIPE;
			break;
		}
#endif
		uint64_t room = PIPE_SIZE - (p->head - p->tail), left = len - done;
#ifdef MUTATION_PIPE_BUF_NOT_ATOMIC
		/* a small write goes in piece by piece like a large one */
		uint64_t need = 1;
#else
		/* <= PIPE_BUF: all of it at once, or wait */
		uint64_t need = len <= PIPE_BUF ? left : 1;
#endif
		if (room >= need && room) {
			size_t n = MIN(room, left);
			err = ring_copy(p, p->head, ubuf + done, n, true);
			if (err)
				break;
			WRITE_ONCE(p->head, p->head + n);
			done += n;
			wake_up_all(&p->rd_wait);
			if (done == len)
				break;
			continue;
		}
		if (f->f_flags & O_NONBLOCK) {
			err = -EAGAIN;
			break;
		}
		up_write(&p->mutex);
		int intr = wait_event_interruptible(p->wr_wait, pipe_writable(p, need));
		down_write(&p->mutex);
		if (intr) {
			err = -ERESTARTSYS; /* what was written counts (Linux) */
			break;
		}
	}
out:
	up_write(&p->mutex);
	if (done)
		wake_up_all(&p->rd_wait);
	if (err == -EPIPE && !done) {
		if (pipe_sigpipe_hook)
			pipe_sigpipe_hook(); /* tests */
#ifndef MUTATION_NO_SIGPIPE
		else if (current->proc)
			send_sigpipe(); /* Linux: SIGPIPE to the writing thread */
#endif
	}
	return done ? (ssize_t)done : err;
}

static void pipe_release(struct kfile *f)
{
	struct pipe_inode_info *p = f->pipe;
	down_write(&p->mutex);
	if (f->f_mode & FMODE_READ)
		p->readers--;
	if (f->f_mode & FMODE_WRITE)
		p->writers--;
	bool last = !p->readers && !p->writers;
	/* Under the mutex, as Linux: the other end's release may free p as
	 * soon as we drop it. */
	wake_up_all(&p->rd_wait);
	wake_up_all(&p->wr_wait);
	up_write(&p->mutex);
	if (!last)
		return;
	for (int i = 0; i < PIPE_DEF_BUFFERS; i++)
		if (p->pages[i])
			free_page(p->pages[i]);
	kfree(p);
	atomic_dec(&nr_pipes);
}

static long pipe_ioctl(struct kfile *f, unsigned cmd, uint64_t arg)
{
	if (cmd == 0x541b) { /* FIONREAD */
		down_write(&f->pipe->mutex);
		int n = (int)pipe_bytes(f->pipe);
		up_write(&f->pipe->mutex);
		return copy_to_user(arg, &n, sizeof(n));
	}
	return -ENOTTY;
}

static const struct file_operations pipe_ops = {
	.read = pipe_read,
	.write = pipe_write,
	.ioctl = pipe_ioctl,
	.release = pipe_release,
};

int create_pipe_files(struct kfile **rd, struct kfile **wr, int flags)
{
	struct pipe_inode_info *p = kzalloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	rwsem_init(&p->mutex);
	waitq_init(&p->rd_wait);
	waitq_init(&p->wr_wait);
	p->readers = p->writers = 1;
	p->ino = (uint64_t)atomic_inc_return(&next_ino);
	atomic_inc(&nr_pipes);
	int st = flags & O_NONBLOCK;
	*rd = kfile_alloc(&pipe_ops, KFILE_PIPE, FMODE_READ, O_RDONLY | st);
	*wr = kfile_alloc(&pipe_ops, KFILE_PIPE, FMODE_WRITE, O_WRONLY | st);
	if (!*rd && !*wr) {
		kfree(p);
		atomic_dec(&nr_pipes);
		return -ENOMEM;
	}
	if (!*rd || !*wr) {
		/* an end that exists releases its side; the pipe goes with both */
		if (!*rd)
			p->readers--;
		if (!*wr)
			p->writers--;
		if (*rd) {
			(*rd)->pipe = p;
			kfile_put(*rd);
		}
		if (*wr) {
			(*wr)->pipe = p;
			kfile_put(*wr);
		}
		return -ENOMEM;
	}
	(*rd)->pipe = p;
	(*wr)->pipe = p;
	return 0;
}
