/*
 * kernel/pipe.h - pipes (Linux's fs/pipe.c semantics).
 *
 * A pipe is a ring of up to PIPE_DEF_BUFFERS (16) pages, 64 KiB, each
 * allocated when data first reaches it. Reads take what there is (at least
 * one byte, blocking while the pipe is empty and has writers; 0 = EOF when
 * it has none). A write of at most PIPE_BUF (4096) bytes is atomic: it
 * waits until the whole of it fits and goes in at once, so writers never
 * interleave inside it; a larger one goes in piece by piece as room appears
 * (blocking), or as much as fits (O_NONBLOCK; -EAGAIN if nothing fits). A
 * write with no reader left fails with -EPIPE and sends SIGPIPE to the
 * writing thread (kernel/signal.c; tests may set pipe_sigpipe_hook
 * instead). Sleeps are interruptible: a signal ends them with
 * -ERESTARTSYS (-EINTR, or restarted with SA_RESTART; a write returns
 * what it wrote so far).
 *
 * Capacity is counted in bytes (64 KiB), not in page slots as Linux does:
 * Linux puts a write that does not fit the last page's tail into a fresh
 * slot, so how much a full pipe holds depends there on the write sizes
 * (16 writes of 3000 bytes fill it); here it always holds 64 KiB. What a
 * program may rely on is the same: PIPE_BUF atomicity, at least 4096 bytes
 * of room, and that O_NONBLOCK small writes that do not fit fail whole.
 *
 * Locks: pipe->mutex (sleeping: held across the copy to or from user
 * memory, which may fault) guards the ring, readers and writers; the two
 * wait queues are woken after every change.
 */
#ifndef KERNEL_PIPE_H
#define KERNEL_PIPE_H

#include "kernel/compiler.h"
#include "kernel/sched.h"
#include "kernel/rwsem.h"

#define PIPE_DEF_BUFFERS 16
#define PIPE_BUF	 4096

struct kfile;

struct pipe_inode_info {
	struct rwsem mutex; /* held for write only */
	struct waitq rd_wait, wr_wait;
	void *pages[PIPE_DEF_BUFFERS];
	uint64_t head, tail; /* bytes written / read so far; head - tail <= capacity */
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

#endif
