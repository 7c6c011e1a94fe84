/*
 * kernel/console_file.c - the console as stdin, stdout and stderr of the
 * processes the kernel starts: fds 0, 1 and 2 on one open file of the
 * console tty (kernel/tty.c: the line discipline, echo, job control, the
 * ioctls, and console_inject_input / console_output_sink for the tests).
 *
 * A read sleeps interruptibly as Linux's n_tty_read: a signal ends it with
 * -ERESTARTSYS (-EINTR, or a restart with SA_RESTART), and the part of a
 * line typed before the signal stays in the line discipline's buffer.
 */
#include "kernel/console_file.h"
#include "kernel/tty.h"
#include "kernel/file.h"
#include "kernel/fdtable.h"
#include "kernel/errno.h"

int console_install_stdio(struct files_struct *files)
{
	struct kfile *f = console_file_open(0);
	if (!f)
		return -ENOMEM;
	for (int i = 0; i < 3; i++) {
		int fd = fd_alloc(files, (unsigned)i, false);
		if (fd != i) {
			if (fd >= 0)
				put_unused_fd(files, (unsigned)fd);
			kfile_put(f);
			return fd < 0 ? fd : -EBUSY;
		}
		kfile_get(f);
		fd_install(files, (unsigned)fd, f);
	}
	kfile_put(f);
	return 0;
}
