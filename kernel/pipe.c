/*
 * kernel/pipe.c - pipes: a ring of page buffers (copied ones and page
 * references from vmsplice/splice), blocking and O_NONBLOCK I/O, PIPE_BUF
 * atomicity, EOF and EPIPE. See pipe.h for the rules.
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
#include "kernel/poll.h"

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
	return (unsigned)READ_ONCE(p->bytes);
}

/* ---- buffers ------------------------------------------------------------- */

static void page_buf_release(struct pipe_inode_info *p, struct pipe_buffer *buf)
{
	put_page(buf->page);
}

static void user_page_buf_release(struct pipe_inode_info *p, struct pipe_buffer *buf)
{
#ifndef MUTATION_PIPE_BUF_RELEASE_NO_PUT
	put_page(buf->page); /* the reference get_user_pages_fast took */
#endif
}

static bool page_buf_get(struct pipe_inode_info *p, struct pipe_buffer *buf)
{
	return try_get_page(buf->page);
}

const struct pipe_buf_operations anon_pipe_buf_ops = {
	.release = page_buf_release,
	.get = page_buf_get,
};

const struct pipe_buf_operations user_page_pipe_buf_ops = {
	.release = user_page_buf_release,
	.get = page_buf_get,
};

void pipe_buf_release(struct pipe_inode_info *p, struct pipe_buffer *buf)
{
	const struct pipe_buf_operations *ops = buf->ops;
	buf->ops = NULL;
	if (ops)
		ops->release(p, buf);
}

bool pipe_full(const struct pipe_inode_info *p)
{
	return pipe_occupancy(p) >= PIPE_SLOTS || READ_ONCE(p->bytes) >= PIPE_SIZE;
}

void pipe_add_buf(struct pipe_inode_info *p, const struct pipe_buffer *buf)
{
	BUG_ON(pipe_occupancy(p) >= PIPE_SLOTS);
	*pipe_buf(p, p->head) = *buf;
	WRITE_ONCE(p->bytes, p->bytes + buf->len);
	WRITE_ONCE(p->head, p->head + 1);
}

void pipe_consume(struct pipe_inode_info *p, unsigned n)
{
	struct pipe_buffer *b = pipe_buf(p, p->tail);
	BUG_ON(pipe_empty(p) || n > b->len);
	b->offset += n;
	b->len -= n;
	WRITE_ONCE(p->bytes, p->bytes - n);
	if (!b->len) {
		pipe_buf_release(p, b);
		WRITE_ONCE(p->tail, p->tail + 1);
	}
}

/* ---- waiting ------------------------------------------------------------- */

static bool pipe_readable(struct pipe_inode_info *p)
{
	return READ_ONCE(p->head) != READ_ONCE(p->tail) || !READ_ONCE(p->writers);
}

/* Bytes write() can put in now: 64 KiB less what the pipe holds, and no
 * more than the free slots and the last anonymous buffer's tail take. */
static uint64_t pipe_write_room(struct pipe_inode_info *p)
{
	unsigned head = READ_ONCE(p->head), tail = READ_ONCE(p->tail);
	uint64_t bytes = READ_ONCE(p->bytes);
	if (bytes >= PIPE_SIZE || head - tail > PIPE_SLOTS)
		return 0;
	uint64_t merge = 0;
	if (head != tail) {
		struct pipe_buffer *b = pipe_buf(p, head - 1);
		unsigned end = READ_ONCE(b->offset) + READ_ONCE(b->len);
		if ((READ_ONCE(b->flags) & PIPE_BUF_FLAG_CAN_MERGE) && end < PAGE_SIZE)
			merge = PAGE_SIZE - end;
	}
	uint64_t slots = (uint64_t)(PIPE_SLOTS - (head - tail)) * PAGE_SIZE + merge;
	return MIN(PIPE_SIZE - bytes, slots);
}

/* Room for `need` bytes (or there is no reader to wait for). */
static bool pipe_writable(struct pipe_inode_info *p, uint64_t need)
{
	return pipe_write_room(p) >= need || !READ_ONCE(p->readers);
}

void pipe_lock(struct pipe_inode_info *p)
{
	down_write(&p->mutex);
}

void pipe_unlock(struct pipe_inode_info *p)
{
	up_write(&p->mutex);
}

void pipe_wake_readers(struct pipe_inode_info *p)
{
	wake_up_all(&p->rd_wait);
}

void pipe_wake_writers(struct pipe_inode_info *p)
{
	wake_up_all(&p->wr_wait);
}

int pipe_wait_readable(struct pipe_inode_info *p)
{
	pipe_unlock(p);
	int intr = wait_event_interruptible(p->rd_wait, pipe_readable(p));
	pipe_lock(p);
	return intr ? -ERESTARTSYS : 0;
}

static bool pipe_splice_writable(struct pipe_inode_info *p)
{
	return !pipe_full(p) || !READ_ONCE(p->readers);
}

int pipe_wait_writable(struct pipe_inode_info *p)
{
	pipe_unlock(p);
	int intr = wait_event_interruptible(p->wr_wait, pipe_splice_writable(p));
	pipe_lock(p);
	return intr ? -ERESTARTSYS : 0;
}

void pipe_send_sigpipe(void)
{
	if (pipe_sigpipe_hook)
		pipe_sigpipe_hook(); /* tests */
#ifndef MUTATION_NO_SIGPIPE
	else if (current->proc)
		send_sigpipe(); /* Linux: SIGPIPE to the writing thread */
#endif
}

/* ---- read and write ------------------------------------------------------ */

/* Copy n bytes of user memory into the ring: the tail of the last
 * anonymous buffer first, then fresh pages (the caller saw room for them).
 * All or nothing: 0, or -EFAULT / -ENOMEM with the ring as it was. */
static int pipe_copy_in(struct pipe_inode_info *p, uint64_t ubuf, size_t n)
{
	unsigned head = p->head, h = head;
	struct pipe_buffer *last = pipe_empty(p) ? NULL : pipe_buf(p, head - 1);
	unsigned last_len = last ? last->len : 0;
	size_t done = 0;
	int err = 0;
	if (last && (last->flags & PIPE_BUF_FLAG_CAN_MERGE) &&
	    last->offset + last->len < PAGE_SIZE) {
		size_t chunk = MIN(n, PAGE_SIZE - last->offset - last->len);
		err = copy_from_user((char *)page_address(last->page) + last->offset + last->len,
				     ubuf, chunk);
		if (err)
			return err;
		last->len += (unsigned)chunk;
		done = chunk;
	}
	while (done < n) {
		BUG_ON(h - p->tail >= PIPE_SLOTS);
		void *kp = get_free_page(0);
		if (!kp) {
			err = -ENOMEM;
			break;
		}
		size_t chunk = MIN(n - done, PAGE_SIZE);
		*pipe_buf(p, h++) = (struct pipe_buffer){ .page = virt_to_page(kp),
							  .offset = 0,
							  .len = (unsigned)chunk,
							  .ops = &anon_pipe_buf_ops,
							  .flags = PIPE_BUF_FLAG_CAN_MERGE };
		err = copy_from_user(kp, ubuf + done, chunk);
		if (err)
			break;
		done += chunk;
	}
	if (err) {
		while (h != head)
			pipe_buf_release(p, pipe_buf(p, --h));
		if (last)
			last->len = last_len;
		return err;
	}
	WRITE_ONCE(p->bytes, p->bytes + n);
	WRITE_ONCE(p->head, h);
	return 0;
}

static ssize_t pipe_read(struct kfile *f, uint64_t ubuf, size_t len, uint64_t *pos)
{
	struct pipe_inode_info *p = f->pipe;
	if (!len)
		return 0;
	pipe_lock(p);
	for (;;) {
		if (!pipe_empty(p)) {
			size_t done = 0;
			int err = 0;
			while (done < len && !pipe_empty(p)) {
				struct pipe_buffer *b = pipe_buf(p, p->tail);
				size_t chunk = MIN(len - done, b->len);
				err = copy_to_user(
				    ubuf + done, (char *)page_address(b->page) + b->offset, chunk);
				if (err)
					break;
				done += chunk;
				pipe_consume(p, (unsigned)chunk);
			}
			pipe_unlock(p);
			wake_up_all(&p->wr_wait);
			return done ? (ssize_t)done : err;
		}
		if (!p->writers) {
			pipe_unlock(p);
			return 0; /* EOF */
		}
		if (f->f_flags & O_NONBLOCK) {
			pipe_unlock(p);
			return -EAGAIN;
		}
		pipe_unlock(p);
#ifdef MUTATION_PIPE_READ_KILLABLE
		if (wait_event_killable(p->rd_wait, pipe_readable(p)))
#else
		if (wait_event_interruptible(p->rd_wait, pipe_readable(p)))
#endif
			return -ERESTARTSYS; /* a signal: -EINTR or restarted */
		pipe_lock(p);
	}
}

static ssize_t pipe_write(struct kfile *f, uint64_t ubuf, size_t len, uint64_t *pos)
{
	struct pipe_inode_info *p = f->pipe;
	size_t done = 0;
	int err = 0;
	pipe_lock(p);
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
		uint64_t room = pipe_write_room(p), left = len - done;
#ifdef MUTATION_PIPE_BUF_NOT_ATOMIC
		/* a small write goes in piece by piece like a large one */
		uint64_t need = 1;
#else
		/* <= PIPE_BUF: all of it at once, or wait */
		uint64_t need = len <= PIPE_BUF ? left : 1;
#endif
		if (room >= need && room) {
			size_t n = MIN(room, left);
			err = pipe_copy_in(p, ubuf + done, n);
			if (err)
				break;
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
		pipe_unlock(p);
		int intr = wait_event_interruptible(p->wr_wait, pipe_writable(p, need));
		pipe_lock(p);
		if (intr) {
			err = -ERESTARTSYS; /* what was written counts (Linux) */
			break;
		}
	}
out:
	pipe_unlock(p);
	if (done)
		wake_up_all(&p->rd_wait);
	if (err == -EPIPE && !done)
		pipe_send_sigpipe();
	return done ? (ssize_t)done : err;
}

static void pipe_release(struct kfile *f)
{
	struct pipe_inode_info *p = f->pipe;
	pipe_lock(p);
	if (f->f_mode & FMODE_READ)
		p->readers--;
	if (f->f_mode & FMODE_WRITE)
		p->writers--;
	bool last = !p->readers && !p->writers;
	/* Under the mutex, as Linux: the other end's release may free p as
	 * soon as we drop it. */
	wake_up_all(&p->rd_wait);
	wake_up_all(&p->wr_wait);
	pipe_unlock(p);
	if (!last)
		return;
	while (!pipe_empty(p)) {
		pipe_buf_release(p, pipe_buf(p, p->tail));
		p->tail++;
	}
	kfree(p);
	atomic_dec(&nr_pipes);
}

static long pipe_ioctl(struct kfile *f, unsigned cmd, uint64_t arg)
{
	if (cmd == 0x541b) { /* FIONREAD */
		pipe_lock(f->pipe);
		int n = (int)pipe_bytes(f->pipe);
		pipe_unlock(f->pipe);
		return copy_to_user(arg, &n, sizeof(n));
	}
	return -ENOTTY;
}

/* Linux's pipe_poll: queued on the queues of the end's direction first,
 * then the state read without the mutex (a wake-up after the look is not
 * lost: the poller is already on the queue). */
static unsigned pipe_poll(struct kfile *f, poll_table *pt)
{
	struct pipe_inode_info *p = f->pipe;
	if (f->f_mode & FMODE_READ)
		poll_wait(f, &p->rd_wait, pt);
	if (f->f_mode & FMODE_WRITE)
		poll_wait(f, &p->wr_wait, pt);
	unsigned head = READ_ONCE(p->head), tail = READ_ONCE(p->tail), mask = 0;
	if (f->f_mode & FMODE_READ) {
		if (head != tail)
			mask |= POLLIN | POLLRDNORM;
#ifndef MUTATION_PIPE_POLL_NO_HUP
		if (!READ_ONCE(p->writers))
			mask |= POLLHUP;
#endif
	}
	if (f->f_mode & FMODE_WRITE) {
		if (!pipe_full(p))
			mask |= POLLOUT | POLLWRNORM;
		if (!READ_ONCE(p->readers))
			mask |= POLLERR;
	}
	return mask;
}

static const struct file_operations pipe_ops = {
	.read = pipe_read,
	.write = pipe_write,
	.ioctl = pipe_ioctl,
	.release = pipe_release,
	.poll = pipe_poll,
};

struct pipe_inode_info *get_pipe_info(struct kfile *f)
{
	return f->type == KFILE_PIPE && f->f_op == &pipe_ops ? f->pipe : NULL;
}

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
