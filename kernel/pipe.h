/*
 * kernel/pipe.h - pipes (Linux's fs/pipe.c semantics), as a ring of page
 * buffers that splice and vmsplice can fill with page references.
 *
 * A pipe is a ring of struct pipe_buffer slots (Linux's), each a page, an
 * offset and a length, with operations that say how the page is released:
 *   - anon_pipe_buf_ops: a page the pipe allocated and write() copied into;
 *     it may take more bytes at its tail (PIPE_BUF_FLAG_CAN_MERGE);
 *   - user_page_pipe_buf_ops: a page of a process that vmsplice took with
 *     get_user_pages_fast (an ordinary read-only reference, no FOLL_PIN, as
 *     Linux did in 2020): not a copy. What makes this safe is R3: the
 *     reference raises page_count, so the next write fault on the page in
 *     any process copies instead of reusing (do_wp_page), and the pipe
 *     keeps the data as it was when it was spliced (CVE-2020-29374 was the
 *     same pipe with COW decided by page_mapcount).
 * Releasing a buffer is put_page for both kinds (mutation
 * PIPE_BUF_RELEASE_NO_PUT forgets it for user pages: a leak).
 *
 * Reads take what there is (at least one byte, blocking while the pipe is
 * empty and has writers; 0 = EOF when it has none). A write of at most
 * PIPE_BUF (4096) bytes is atomic: it waits until the whole of it fits and
 * goes in at once, so writers never interleave inside it; a larger one goes
 * in piece by piece as room appears (blocking), or as much as fits
 * (O_NONBLOCK; -EAGAIN if nothing fits). A write with no reader left fails
 * with -EPIPE and sends SIGPIPE to the writing thread (kernel/signal.c;
 * tests may set pipe_sigpipe_hook instead). Sleeps are interruptible: a
 * signal ends them with -ERESTARTSYS (-EINTR, or restarted with
 * SA_RESTART; a write returns what it wrote so far).
 *
 * Capacity: at most PIPE_SIZE (64 KiB) bytes AND PIPE_SLOTS buffers.
 * write() fills the last anonymous buffer to its page's end before it
 * takes a new slot, so copied data never needs more than 17 slots for 64
 * KiB (a partly read first page, 15 full ones, a partly written last one):
 * for write() the pipe always holds 64 KiB, as before (Linux counts only
 * slots, so there how much a full pipe holds depends on the write sizes).
 * A spliced buffer takes a slot whatever its length, and may be added
 * while the pipe holds less than 64 KiB (so it may end up holding up to
 * one page more): vmsplice of 16 whole pages fills an empty pipe, as on
 * Linux.
 *
 * Locks: pipe->mutex (sleeping: held across the copy to or from user
 * memory, which may fault) guards the ring, bytes, readers and writers;
 * the two wait queues are woken after every change. splice between two
 * pipes takes both mutexes, the lower address first (pipe_double_lock).
 */
#ifndef KERNEL_PIPE_H
#define KERNEL_PIPE_H

#include "kernel/compiler.h"
#include "kernel/sched.h"
#include "kernel/rwsem.h"

#define PIPE_DEF_BUFFERS 16
#define PIPE_SLOTS	 (PIPE_DEF_BUFFERS + 1)
#define PIPE_BUF	 4096

#define PIPE_BUF_FLAG_GIFT	0x04 /* vmsplice SPLICE_F_GIFT (recorded only) */
#define PIPE_BUF_FLAG_CAN_MERGE 0x10 /* write() may add bytes at the tail */

struct kfile;
struct page;
struct pipe_inode_info;
struct pipe_buffer;

struct pipe_buf_operations {
	/* Drop the buffer's page reference. */
	void (*release)(struct pipe_inode_info *p, struct pipe_buffer *buf);
	/* Take another reference (tee); false if it cannot. */
	bool (*get)(struct pipe_inode_info *p, struct pipe_buffer *buf);
};

struct pipe_buffer {
	struct page *page;
	unsigned offset, len;
	const struct pipe_buf_operations *ops;
	unsigned flags;
};

extern const struct pipe_buf_operations anon_pipe_buf_ops;
extern const struct pipe_buf_operations user_page_pipe_buf_ops;

struct pipe_inode_info {
	struct rwsem mutex; /* held for write only */
	struct waitq rd_wait, wr_wait;
	struct pipe_buffer bufs[PIPE_SLOTS];
	unsigned head, tail; /* slots, free running: buffers in use are tail .. head-1 */
	uint64_t bytes;	     /* bytes in all buffers */
	unsigned readers, writers;
	uint64_t ino; /* for fstat */
};

/* A pipe's two ends (each with one reference); flags O_NONBLOCK and the
 * access mode go into each. 0 or -ENOMEM. */
int create_pipe_files(struct kfile **rd, struct kfile **wr, int flags);
/* Bytes in the pipe (FIONREAD). */
unsigned pipe_bytes(struct pipe_inode_info *p);
/* Tests: called instead of sending SIGPIPE (a write found no reader). */
extern void (*pipe_sigpipe_hook)(void);
/* Pipes that exist (tests: no leak). */
int pipe_nr_live(void);

/* ---- for splice (kernel/splice.c); p->mutex held ------------------------ */
/* The pipe of f, or NULL if f is not a pipe end (Linux's get_pipe_info). */
struct pipe_inode_info *get_pipe_info(struct kfile *f);
static inline unsigned pipe_occupancy(const struct pipe_inode_info *p)
{
	return p->head - p->tail;
}
static inline bool pipe_empty(const struct pipe_inode_info *p)
{
	return p->head == p->tail;
}
/* No room for another buffer: every slot taken, or 64 KiB in it. */
bool pipe_full(const struct pipe_inode_info *p);
static inline struct pipe_buffer *pipe_buf(struct pipe_inode_info *p, unsigned slot)
{
	return &p->bufs[slot % PIPE_SLOTS];
}
/* Append a buffer (the pipe takes over its page reference); !pipe_full. */
void pipe_add_buf(struct pipe_inode_info *p, const struct pipe_buffer *buf);
/* Consume n bytes at the tail buffer (releasing it when it is empty). */
void pipe_consume(struct pipe_inode_info *p, unsigned n);
void pipe_buf_release(struct pipe_inode_info *p, struct pipe_buffer *buf);
/* Drop the mutex, sleep until readable / writable (or the other end is
 * gone), take it again: 0 or -ERESTARTSYS (a signal). */
int pipe_wait_readable(struct pipe_inode_info *p);
int pipe_wait_writable(struct pipe_inode_info *p);
void pipe_lock(struct pipe_inode_info *p);
void pipe_unlock(struct pipe_inode_info *p);
void pipe_wake_readers(struct pipe_inode_info *p);
void pipe_wake_writers(struct pipe_inode_info *p);
/* SIGPIPE to the calling thread (or the tests' hook). */
void pipe_send_sigpipe(void);

#endif
