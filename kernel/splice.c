/*
 * kernel/splice.c - vmsplice, splice and tee (Linux's fs/splice.c).
 *
 * vmsplice(fd, iov, nr, flags) on the write end of a pipe puts the user
 * pages themselves into the pipe, not copies: get_user_pages_fast, an
 * ordinary read-only reference (no FOLL_WRITE, no FOLL_PIN), one
 * pipe_buffer (user_page_pipe_buf_ops) per page piece, as Linux did in
 * 2020. The data a reader later gets is whatever the page holds then, so
 * the page must never be written in place by anyone who could change what
 * was spliced: R3 guarantees it, since the pipe's reference makes
 * page_count > 1 and do_wp_page then copies for the writer (the parent
 * after fork, CVE-2020-29374). On the read end of a pipe vmsplice copies
 * the pipe's data to the iovecs (Linux's vmsplice_to_user), so only a
 * descriptor that is no pipe gives -EBADF. SPLICE_F_GIFT is recorded on
 * the buffers (nothing steals pages here), SPLICE_F_MORE is accepted,
 * SPLICE_F_NONBLOCK makes a full pipe -EAGAIN.
 *
 * splice(in, off_in, out, off_out, len, flags), Linux's do_splice:
 *   pipe -> pipe: whole buffers move (page references and all), the last
 *     one is split with another reference (the part given away loses
 *     CAN_MERGE, so a write() to one pipe never lands in the other's data);
 *   pipe -> file (SFS): the buffers' bytes are written at the offset
 *     (vfs_pwrite through the page cache), what was written is consumed;
 *   file -> pipe: the file's bytes are read into new pipe pages (copies).
 * Errors in Linux's order: len 0 -> 0, unknown flags -EINVAL, bad fds
 * -EBADF, an offset given for a pipe end -ESPIPE, an fd not open for
 * reading (in) or writing (out) -EBADF, the same pipe twice -EINVAL, an
 * unreadable offset -EFAULT, a non-seekable file with an offset, O_APPEND
 * output or a negative offset -EINVAL, neither end a pipe -EINVAL. The
 * offset given is updated (copied back), else the file position.
 * tee(in, out, len, flags) duplicates buffers (references) without
 * consuming them.
 *
 * Waits: for data (an empty input pipe with writers) and for room (a full
 * output pipe with readers) only while nothing has been moved yet, as
 * Linux; interruptible (-ERESTARTSYS); SPLICE_F_NONBLOCK (or O_NONBLOCK on
 * a pipe end for splice/tee between pipes) gives -EAGAIN instead. An
 * output pipe with no reader: SIGPIPE and -EPIPE.
 *
 * Locks: a pipe's mutex is held across the copy or file I/O (pipe mutex
 * before the file's locks, as Linux); two pipes are locked in address
 * order (pipe_double_lock). The file position under the kfile's pos_lock.
 */
#include "kernel/splice.h"
#include "kernel/pipe.h"
#include "kernel/file.h"
#include "kernel/fdtable.h"
#include "kernel/sys_file.h"
#include "kernel/fs/fs.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "kernel/sched.h"
#include "arch/x86_64/uaccess.h"
#include "mm/kmalloc.h"
#include "mm/page.h"
#include "mm/gup.h"

long import_iovec_user(uint64_t uiov, uint64_t nr, bool check_access, struct iovec_user **out,
		       uint64_t *total)
{
	*out = NULL;
	*total = 0;
	if (nr > UIO_MAXIOV)
		return -EINVAL;
	if (!nr)
		return 0;
	struct iovec_user *iov = kmalloc(nr * sizeof(*iov));
	if (!iov)
		return -ENOMEM;
	if (copy_from_user(iov, uiov, nr * sizeof(*iov))) {
		kfree(iov);
		return -EFAULT;
	}
	uint64_t sum = 0;
	for (uint64_t i = 0; i < nr; i++) {
		if ((int64_t)iov[i].iov_len < 0) {
			kfree(iov);
			return -EINVAL;
		}
		if (iov[i].iov_len > MAX_RW_COUNT - sum)
			iov[i].iov_len = MAX_RW_COUNT - sum;
		if (check_access && !access_ok(iov[i].iov_base, iov[i].iov_len)) {
			kfree(iov);
			return -EFAULT;
		}
		sum += iov[i].iov_len;
	}
	*out = iov;
	*total = sum;
	return 0;
}

/* ---- waiting for the pipes (mutex held) ---------------------------------- */

/* Room for a buffer in p (Linux's wait_for_space). */
static int wait_for_space(struct pipe_inode_info *p, unsigned flags)
{
	for (;;) {
		if (!p->readers) {
			pipe_send_sigpipe();
			return -EPIPE;
		}
		if (!pipe_full(p))
			return 0;
		if (flags & SPLICE_F_NONBLOCK)
			return -EAGAIN;
		if (signal_pending(current))
			return -ERESTARTSYS;
		int err = pipe_wait_writable(p);
		if (err)
			return err;
	}
}

/* Data in p: 1; 0 = nothing to wait for (EOF, or something moved
 * already); -EAGAIN, -ERESTARTSYS (Linux's splice_from_pipe_next). */
static int splice_from_pipe_next(struct pipe_inode_info *p, unsigned flags, long done)
{
	if (signal_pending(current))
		return -ERESTARTSYS;
	while (pipe_empty(p)) {
		if (!p->writers || done)
			return 0;
		if (flags & SPLICE_F_NONBLOCK)
			return -EAGAIN;
		if (signal_pending(current))
			return -ERESTARTSYS;
		pipe_wake_writers(p);
		int err = pipe_wait_readable(p);
		if (err)
			return err;
	}
	return 1;
}

/* Move up to len bytes out of p through actor(buf, n, ctx), which returns
 * how many of the n bytes at the buffer's start it took (<= n) or -errno. */
typedef long (*splice_actor)(struct pipe_buffer *buf, unsigned n, void *ctx);

static long splice_from_pipe(struct pipe_inode_info *p, size_t len, unsigned flags,
			     splice_actor actor, void *ctx)
{
	long done = 0, ret = 0;
	pipe_lock(p);
	while (len) {
		int r = splice_from_pipe_next(p, flags, done);
		if (r <= 0) {
			ret = r;
			break;
		}
		struct pipe_buffer *b = pipe_buf(p, p->tail);
		unsigned n = (unsigned)MIN(len, b->len);
		long got = actor(b, n, ctx);
		if (got <= 0) {
			ret = got;
			break;
		}
		pipe_consume(p, (unsigned)got);
		done += got;
		len -= (size_t)got;
		if ((unsigned)got < n)
			break;
	}
	pipe_unlock(p);
	if (done)
		pipe_wake_writers(p);
	return done ? done : ret;
}

/* ---- vmsplice ------------------------------------------------------------ */

#define VMSPLICE_BATCH 16

/* User pages into the pipe, by reference (Linux's iter_to_pipe). */
static long vmsplice_to_pipe(struct pipe_inode_info *p, struct iovec_user *iov, uint64_t nr,
			     unsigned flags)
{
	unsigned buf_flag = flags & SPLICE_F_GIFT ? PIPE_BUF_FLAG_GIFT : 0;
	long total = 0, ret;
	pipe_lock(p);
	ret = wait_for_space(p, flags);
	for (uint64_t i = 0; !ret && i < nr; i++) {
		uint64_t addr = iov[i].iov_base, left = iov[i].iov_len;
		while (left && !pipe_full(p)) {
			unsigned start = (unsigned)(addr & (PAGE_SIZE - 1));
			uint64_t want = (start + left + PAGE_SIZE - 1) / PAGE_SIZE;
			unsigned long n = (unsigned long)MIN(want, (uint64_t)VMSPLICE_BATCH);
			n = MIN(n, (unsigned long)(PIPE_SLOTS - pipe_occupancy(p)));
			struct page *pages[VMSPLICE_BATCH];
			long got =
			    get_user_pages_fast(addr - start, n, 0, pages); /* read-only, no pin */
			if (got <= 0) {
				ret = got ? got : -EFAULT;
				break;
			}
			long j = 0;
			for (; j < got && !pipe_full(p); j++) {
				unsigned size = (unsigned)MIN(left, (uint64_t)(PAGE_SIZE - start));
				struct pipe_buffer b = { .page = pages[j],
							 .offset = start,
							 .len = size,
							 .ops = &user_page_pipe_buf_ops,
							 .flags = buf_flag };
				pipe_add_buf(p, &b);
				total += size;
				left -= size;
				addr += size;
				start = 0;
			}
			while (j < got)
				put_page(pages[j++]); /* the pipe filled up */
			if ((unsigned long)got < n && left) {
				ret = -EFAULT; /* a hole: stop here */
				break;
			}
		}
		if (left)
			break; /* full, or a fault */
	}
	pipe_unlock(p);
	if (total)
		pipe_wake_readers(p);
	return total ? total : ret;
}

struct user_iter {
	struct iovec_user *iov;
	uint64_t nr, seg, off;
};

/* Copy a buffer's bytes to the iovecs (Linux's pipe_to_user). */
static long pipe_to_user(struct pipe_buffer *buf, unsigned n, void *ctx)
{
	struct user_iter *it = ctx;
	unsigned done = 0;
	while (done < n && it->seg < it->nr) {
		struct iovec_user *v = &it->iov[it->seg];
		uint64_t room = v->iov_len - it->off;
		if (!room) {
			it->seg++;
			it->off = 0;
			continue;
		}
		unsigned chunk = (unsigned)MIN((uint64_t)(n - done), room);
		if (copy_to_user(v->iov_base + it->off,
				 (char *)page_address(buf->page) + buf->offset + done, chunk))
			return done ? (long)done : -EFAULT;
		done += chunk;
		it->off += chunk;
	}
	return done;
}

long sys_vmsplice(int fd, uint64_t uiov, uint64_t nr_segs, unsigned flags)
{
	if (flags & ~SPLICE_F_ALL)
		return -EINVAL;
	struct kfile *f = fget(current_files(), fd);
	if (!f)
		return -EBADF;
	long ret;
	bool to_pipe = f->f_mode & FMODE_WRITE;
	if (!(f->f_mode & (FMODE_WRITE | FMODE_READ))) {
		ret = -EBADF;
		goto out;
	}
	struct iovec_user *iov;
	uint64_t total;
	ret = import_iovec_user(uiov, nr_segs, true, &iov, &total);
	if (ret)
		goto out;
	struct pipe_inode_info *p = get_pipe_info(f);
	if (!total)
		ret = 0;
	else if (!p)
		ret = -EBADF;
	else if (to_pipe)
		ret = vmsplice_to_pipe(p, iov, nr_segs, flags);
	else {
		struct user_iter it = { iov, nr_segs, 0, 0 };
		ret = splice_from_pipe(p, total, flags, pipe_to_user, &it);
	}
	kfree(iov);
out:
	kfile_put(f);
	return ret;
}

/* ---- splice: pipe -> file, file -> pipe ---------------------------------- */

struct file_ctx {
	struct kfile *f;
	uint64_t pos;
};

static long pipe_to_file(struct pipe_buffer *buf, unsigned n, void *ctx)
{
	struct file_ctx *c = ctx;
	ssize_t r = vfs_pwrite(c->f->sfs, (char *)page_address(buf->page) + buf->offset, n, c->pos);
	if (r > 0)
		c->pos += (uint64_t)r;
	return r;
}

/* File bytes into new pipe pages, a page-cache page at a time. */
static long splice_file_to_pipe(struct kfile *in, struct pipe_inode_info *p, uint64_t *pos,
				size_t len, unsigned flags)
{
	long done = 0, ret;
	if (len > MAX_RW_COUNT)
		len = MAX_RW_COUNT;
	pipe_lock(p);
	ret = wait_for_space(p, flags);
	while (!ret && len && !pipe_full(p)) {
		size_t chunk = MIN(len, PAGE_SIZE - (*pos & (PAGE_SIZE - 1)));
		void *kp = get_free_page(0);
		if (!kp) {
			ret = -ENOMEM;
			break;
		}
		ssize_t r = vfs_pread(in->sfs, kp, chunk, *pos);
		if (r <= 0) {
			free_page(kp);
			ret = r;
			break;
		}
		struct pipe_buffer b = { .page = virt_to_page(kp),
					 .offset = 0,
					 .len = (unsigned)r,
					 .ops = &anon_pipe_buf_ops,
					 .flags = PIPE_BUF_FLAG_CAN_MERGE };
		pipe_add_buf(p, &b);
		*pos += (uint64_t)r;
		done += r;
		len -= (size_t)r;
		if ((size_t)r < chunk)
			break; /* the end of the file */
	}
	pipe_unlock(p);
	if (done)
		pipe_wake_readers(p);
	return done ? done : ret;
}

/* ---- pipe -> pipe, tee ---------------------------------------------------- */

static void pipe_double_lock(struct pipe_inode_info *a, struct pipe_inode_info *b)
{
	if (a < b) {
		pipe_lock(a);
		pipe_lock(b);
	} else {
		pipe_lock(b);
		pipe_lock(a);
	}
}

static void pipe_double_unlock(struct pipe_inode_info *a, struct pipe_inode_info *b)
{
	pipe_unlock(a);
	pipe_unlock(b);
}

/* Wait for data in the input pipe (Linux's ipipe_prep). */
static int ipipe_prep(struct pipe_inode_info *p, unsigned flags)
{
	int ret = 0;
	if (!pipe_empty(p))
		return 0;
	pipe_lock(p);
	while (pipe_empty(p)) {
		if (signal_pending(current)) {
			ret = -ERESTARTSYS;
			break;
		}
		if (!p->writers)
			break;
		if (flags & SPLICE_F_NONBLOCK) {
			ret = -EAGAIN;
			break;
		}
		if ((ret = pipe_wait_readable(p)))
			break;
	}
	pipe_unlock(p);
	return ret;
}

/* Wait for room in the output pipe (Linux's opipe_prep). */
static int opipe_prep(struct pipe_inode_info *p, unsigned flags)
{
	int ret = 0;
	if (!pipe_full(p))
		return 0;
	pipe_lock(p);
	while (pipe_full(p)) {
		if (!p->readers) {
			pipe_send_sigpipe();
			ret = -EPIPE;
			break;
		}
		if (flags & SPLICE_F_NONBLOCK) {
			ret = -EAGAIN;
			break;
		}
		if (signal_pending(current)) {
			ret = -ERESTARTSYS;
			break;
		}
		if ((ret = pipe_wait_writable(p)))
			break;
	}
	pipe_unlock(p);
	return ret;
}

static long splice_pipe_to_pipe(struct pipe_inode_info *ip, struct pipe_inode_info *op, size_t len,
				unsigned flags)
{
	long ret;
	bool input_wakeup = false;
retry:
	if ((ret = ipipe_prep(ip, flags)) || (ret = opipe_prep(op, flags)))
		return ret;
	pipe_double_lock(ip, op);
	do {
		if (!op->readers) {
			pipe_send_sigpipe();
			if (!ret)
				ret = -EPIPE;
			break;
		}
		if (pipe_empty(ip) && !ip->writers)
			break;
		if (pipe_empty(ip) || pipe_full(op)) {
			if (ret)
				break;
			if (flags & SPLICE_F_NONBLOCK) {
				ret = -EAGAIN;
				break;
			}
			pipe_double_unlock(ip, op);
			goto retry; /* raced with another reader or writer */
		}
		struct pipe_buffer *ib = pipe_buf(ip, ip->tail);
		struct pipe_buffer ob = *ib;
		if (len >= ib->len) { /* the whole buffer moves, reference and all */
			ib->ops = NULL;
			ip->bytes -= ib->len;
			ip->tail++;
			input_wakeup = true;
		} else { /* split: another reference for the part given away */
			if (!ib->ops->get(ip, ib)) {
				if (!ret)
					ret = -EFAULT;
				break;
			}
			ob.flags &= ~(PIPE_BUF_FLAG_GIFT | PIPE_BUF_FLAG_CAN_MERGE);
			ob.len = (unsigned)len;
			ib->offset += (unsigned)len;
			ib->len -= (unsigned)len;
			ip->bytes -= len;
		}
		pipe_add_buf(op, &ob);
		ret += ob.len;
		len -= ob.len;
	} while (len);
	pipe_double_unlock(ip, op);
	if (ret > 0)
		pipe_wake_readers(op);
	if (input_wakeup)
		pipe_wake_writers(ip);
	return ret;
}

/* tee: the input's buffers, referenced again, into the output (Linux's
 * link_pipe); the input keeps them. */
static long link_pipe(struct pipe_inode_info *ip, struct pipe_inode_info *op, size_t len)
{
	long ret = 0;
	unsigned i = 0;
	pipe_double_lock(ip, op);
	do {
		if (!op->readers) {
			pipe_send_sigpipe();
			if (!ret)
				ret = -EPIPE;
			break;
		}
		if (ip->tail + i == ip->head || pipe_full(op))
			break;
		struct pipe_buffer *ib = pipe_buf(ip, ip->tail + i);
		if (!ib->ops->get(ip, ib)) {
			if (!ret)
				ret = -EFAULT;
			break;
		}
		struct pipe_buffer ob = *ib;
		ob.flags &= ~(PIPE_BUF_FLAG_GIFT | PIPE_BUF_FLAG_CAN_MERGE);
		if (ob.len > len)
			ob.len = (unsigned)len;
		pipe_add_buf(op, &ob);
		ret += ob.len;
		len -= ob.len;
		i++;
	} while (len);
	pipe_double_unlock(ip, op);
	if (ret > 0)
		pipe_wake_readers(op);
	return ret;
}

/* ---- the calls ------------------------------------------------------------ */

/* The file position (pos_lock held) or the given offset. */
static long do_splice(struct kfile *in, uint64_t *off_in, struct kfile *out, uint64_t *off_out,
		      size_t len, unsigned flags)
{
	if (!(in->f_mode & FMODE_READ) || !(out->f_mode & FMODE_WRITE))
		return -EBADF;
	struct pipe_inode_info *ip = get_pipe_info(in), *op = get_pipe_info(out);
	if (ip && op) {
		if (off_in || off_out)
			return -ESPIPE;
		if (ip == op)
			return -EINVAL; /* splicing to self */
		if ((in->f_flags | out->f_flags) & O_NONBLOCK)
			flags |= SPLICE_F_NONBLOCK;
		return splice_pipe_to_pipe(ip, op, len, flags);
	}
	if (ip) {
		if (off_in)
			return -ESPIPE;
		if (off_out && !(out->f_mode & FMODE_LSEEK))
			return -EINVAL;
		if (out->f_flags & O_APPEND)
			return -EINVAL;
		if (out->type != KFILE_REG || !out->sfs)
			return -EINVAL; /* no splice_write */
		if (in->f_flags & O_NONBLOCK)
			flags |= SPLICE_F_NONBLOCK;
		if (!off_out)
			down_write(&out->pos_lock);
		struct file_ctx c = { out, off_out ? *off_out : out->f_pos };
		/* Linux's rw_verify_area */
		long ret = (int64_t)len < 0 || (int64_t)c.pos < 0 || (int64_t)(c.pos + len) < 0
			       ? -EINVAL
			       : splice_from_pipe(ip, MIN(len, (size_t)MAX_RW_COUNT), flags,
						  pipe_to_file, &c);
		if (off_out)
			*off_out = c.pos;
		else {
			out->f_pos = c.pos;
			up_write(&out->pos_lock);
		}
		return ret;
	}
	if (op) {
		if (off_out)
			return -ESPIPE;
		if (off_in && !(in->f_mode & FMODE_LSEEK))
			return -EINVAL;
		if (out->f_flags & O_NONBLOCK)
			flags |= SPLICE_F_NONBLOCK;
		if (in->type != KFILE_REG || !in->sfs)
			return in->type == KFILE_DIR ? -EISDIR : -EINVAL;
		if (!off_in)
			down_write(&in->pos_lock);
		uint64_t pos = off_in ? *off_in : in->f_pos;
		/* the length is first cut to what the pipe takes (64 KiB) */
		long ret = (int64_t)pos < 0 || (int64_t)(pos + MIN(len, (size_t)65536)) < 0
			       ? -EINVAL
			       : splice_file_to_pipe(in, op, &pos, len, flags);
		if (off_in)
			*off_in = pos;
		else {
			in->f_pos = pos;
			up_write(&in->pos_lock);
		}
		return ret;
	}
	return -EINVAL;
}

long sys_splice(int fd_in, uint64_t uoff_in, int fd_out, uint64_t uoff_out, uint64_t len,
		unsigned flags)
{
	if (!len)
		return 0;
	if (flags & ~SPLICE_F_ALL)
		return -EINVAL;
	struct kfile *in = fget(current_files(), fd_in);
	if (!in)
		return -EBADF;
	struct kfile *out = fget(current_files(), fd_out);
	if (!out) {
		kfile_put(in);
		return -EBADF;
	}
	long ret;
	uint64_t off_in, off_out, *pin = NULL, *pout = NULL;
	struct pipe_inode_info *ip = get_pipe_info(in), *op = get_pipe_info(out);
	if ((ip && uoff_in) || (op && uoff_out)) {
		ret = -ESPIPE;
		goto out;
	}
	if (uoff_out) {
		if (copy_from_user(&off_out, uoff_out, sizeof(off_out))) {
			ret = -EFAULT;
			goto out;
		}
		pout = &off_out;
	}
	if (uoff_in) {
		if (copy_from_user(&off_in, uoff_in, sizeof(off_in))) {
			ret = -EFAULT;
			goto out;
		}
		pin = &off_in;
	}
	ret = do_splice(in, pin, out, pout, len, flags);
	if (ret < 0)
		goto out;
	if (pout && copy_to_user(uoff_out, pout, sizeof(*pout)))
		ret = -EFAULT;
	else if (pin && copy_to_user(uoff_in, pin, sizeof(*pin)))
		ret = -EFAULT;
out:
	kfile_put(out);
	kfile_put(in);
	return ret;
}

long sys_tee(int fdin, int fdout, uint64_t len, unsigned flags)
{
	if (flags & ~SPLICE_F_ALL)
		return -EINVAL;
	if (!len)
		return 0;
	struct kfile *in = fget(current_files(), fdin);
	if (!in)
		return -EBADF;
	struct kfile *out = fget(current_files(), fdout);
	long ret = -EBADF;
	if (!out)
		goto put_in;
	if (!(in->f_mode & FMODE_READ) || !(out->f_mode & FMODE_WRITE))
		goto put;
	struct pipe_inode_info *ip = get_pipe_info(in), *op = get_pipe_info(out);
	ret = -EINVAL;
	if (ip && op && ip != op) {
		if ((in->f_flags | out->f_flags) & O_NONBLOCK)
			flags |= SPLICE_F_NONBLOCK;
		ret = ipipe_prep(ip, flags);
		if (!ret)
			ret = opipe_prep(op, flags);
		if (!ret)
			ret = link_pipe(ip, op, len);
	}
put:
	kfile_put(out);
put_in:
	kfile_put(in);
	return ret;
}
