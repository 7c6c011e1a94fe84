/*
 * kernel/splice.h - vmsplice, splice and tee (Linux's fs/splice.c), over
 * the page-buffer pipes of kernel/pipe.h. See splice.c for the rules.
 */
#ifndef KERNEL_SPLICE_H
#define KERNEL_SPLICE_H

#include "kernel/compiler.h"

#define __NR_splice   275
#define __NR_tee      276
#define __NR_vmsplice 278

#define SPLICE_F_MOVE	  0x01
#define SPLICE_F_NONBLOCK 0x02
#define SPLICE_F_MORE	  0x04
#define SPLICE_F_GIFT	  0x08
#define SPLICE_F_ALL	  (SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT)

struct iovec_user;
/* Linux's import_iovec: nr (<= UIO_MAXIOV, else -EINVAL) iovecs copied in
 * (-EFAULT), each length non-negative (-EINVAL), the total capped at
 * MAX_RW_COUNT; with check_access each range must be user memory
 * (-EFAULT). *out (kfree it) and the total, or -errno. */
long import_iovec_user(uint64_t uiov, uint64_t nr, bool check_access, struct iovec_user **out,
		       uint64_t *total);

long sys_vmsplice(int fd, uint64_t uiov, uint64_t nr_segs, unsigned flags);
long sys_splice(int fd_in, uint64_t off_in, int fd_out, uint64_t off_out, uint64_t len,
		unsigned flags);
long sys_tee(int fdin, int fdout, uint64_t len, unsigned flags);

#endif
