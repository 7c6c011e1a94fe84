/*
 * tests/test_files.c - the file system calls of kernel/sys_file.c, run from
 * kernel threads inside a test address space (use_mm) with their own fd
 * table, as a process would make them; user buffers are in that mm.
 *
 *   fd_numbering: lowest free fd, dup/dup2/dup3/F_DUPFD(_CLOEXEC), dup2
 *       onto itself, dup3 of the same fd -EINVAL, close-on-exec kept per
 *       fd (not per file), the RLIMIT_NOFILE limit (-EMFILE, -EBADF,
 *       -EINVAL as Linux), execve's close-on-exec pass, fork's copy and
 *       CLONE_FILES sharing (kills FD_NEXT_NOT_LOWERED).
 *   bad_user_pointers: NULL, kernel, unmapped and wrapping buffers give
 *       -EFAULT and the kernel memory they point at is unchanged; a path
 *       that ends just before an unmapped page is read; pipe2 into a bad
 *       pointer leaks no fd; readv/writev iovec checks (kills
 *       RW_NO_ACCESS_OK, GETNAME_WHOLE_PATH).
 *   file_calls: open/openat/creat flags and errors, read/write/pread/
 *       pwrite/readv/writev/lseek (SEEK_DATA/HOLE), O_APPEND, ftruncate,
 *       fsync, fdatasync, fadvise64, mkdir/unlink/rmdir, ioctl, on SFS.
 *   stat_layout: struct stat as Linux x86-64 lays it out, every padding
 *       byte zero, for a file, a directory, a pipe and the console.
 *   getdents_layout: records 8-byte aligned, names NUL-terminated, padding
 *       zero, "." and "..", d_off resumes, a too small buffer is -EINVAL
 *       (kills DIRENT_PAD_UNINIT).
 *   pipe_semantics: EOF, EPIPE (and the SIGPIPE hook), O_NONBLOCK
 *       -EAGAIN, atomic small writes and partial large ones when full,
 *       F_GETFL/F_SETFL, FIONREAD (kills PIPE_WRITE_NO_READER_CHECK).
 *   pipe_stream_smp: a producer and a consumer on two CPUs move 4 MiB in
 *       random-sized pieces; every byte arrives, in order, then EOF.
 *   pipe_buf_atomic: writers on several CPUs write records of up to
 *       PIPE_BUF bytes into one pipe while a reader drains it in odd-sized
 *       pieces, keeping it full: no record is split by another (kills
 *       PIPE_BUF_NOT_ATOMIC).
 *   append_smp: every CPU appends records through its own O_APPEND open
 *       of one file: none is lost or torn (kills APPEND_SIZE_UNLOCKED).
 *   shared_table_smp: threads on every CPU share one fd table (pipe2,
 *       dup, dup2 onto high fds that grow the table, read, close).
 *   console: stdio on the console: write, a line read, TCGETS and
 *       TIOCGWINSZ answered, other ioctls -ENOTTY, -ESPIPE, O_NONBLOCK.
 *   sfs_links_fsck: SFS's hard links, symbolic links (one with two
 *       names), rename with NOREPLACE and EXCHANGE, on the disk: fsck
 *       checks the link counts and the link's data, before and after the
 *       names go; an unlinked name's file lives on while open.
 *   user_ops_*, user_ns_*: /bin/files (tests/user/files.c) from ring 3,
 *       in parts (ops; ns on / and on /tmp), musl and glibc: creat, readv/writev on files, pipes and stdout,
 *       preadv/pwritev(2), stat/lstat/statx, getdents64, rename/renameat2
 *       (raced by a second process: atomic), link, symlink/readlink (40
 *       links, ELOOP), truncate, fallocate, the syncs, fcntl, getcwd/chdir/
 *       fchdir through fork and execve, umask, statfs (TMPFS_MAGIC on
 *       /tmp), access, copy_file_range, sendfile, FIONREAD, the /tmp files,
 *       with hostile arguments; then nothing leaked and fsck passes (kills
 *       UNLINK_ZEROES_NLINK, RENAME_NOT_ATOMIC, SYMLINK_LOOP_BOUND,
 *       OEXCL_IGNORED).
 */
#include "tests/ktest_mm.h"
#include "tests/ktest_fs.h"
#include "tests/ktest_user.h"
#include "kernel/sys_file.h"
#include "kernel/file.h"
#include "kernel/fdtable.h"
#include "kernel/pipe.h"
#include "kernel/console_file.h"
#include "kernel/fs/fs.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "kernel/smp.h"
#include "drivers/ramdisk.h"
#include "mm/kmalloc.h"
#include "kernel/printk.h"

#define UBUF_PAGES 64

struct fx {
	struct mm *mm;
	uint64_t u;    /* UBUF_PAGES of user memory */
	uint64_t hole; /* an unmapped user page right after it */
	struct files_struct *files;
	int live_files, live_pipes;
};

static void fx_setup(struct fx *x)
{
	x->live_files = kfile_nr_live();
	x->live_pipes = pipe_nr_live();
	x->mm = mm_alloc();
	use_mm(x->mm);
	x->u = ktest_mmap(x->mm, (UBUF_PAGES + 1) * PAGE_SIZE);
	x->hole = x->u + UBUF_PAGES * PAGE_SIZE;
	vm_munmap(x->mm, x->hole, PAGE_SIZE);
	x->files = files_alloc();
	set_current_files(x->files);
}

static void fx_teardown(struct ktest *t, struct fx *x)
{
	put_files(set_current_files(NULL));
	unuse_mm(x->mm);
	mmput(x->mm);
	KEXPECT_EQ(t, kfile_nr_live(), x->live_files);
	KEXPECT_EQ(t, pipe_nr_live(), x->live_pipes);
}

/* A NUL-terminated copy of s in user memory at offset off of the buffer. */
static uint64_t ustr(struct fx *x, uint64_t off, const char *s)
{
	uint64_t a = x->u + off;
	copy_to_user(a, s, strlen(s) + 1);
	return a;
}

static void uput(uint64_t a, const void *k, size_t n)
{
	copy_to_user(a, k, n);
}
static void uget(void *k, uint64_t a, size_t n)
{
	copy_from_user(k, a, n);
}

/* ---- fd numbering ---------------------------------------------------------- */

static void fd_numbering(struct ktest *t)
{
	struct fx x;
	fx_setup(&x);
	uint64_t fds = x.u;
	int k[2];
	KEXPECT_EQ(t, sys_pipe2(fds, 0), 0);
	uget(k, fds, 8);
	KEXPECT_EQ(t, k[0], 0);
	KEXPECT_EQ(t, k[1], 1);
	KEXPECT_EQ(t, sys_pipe(fds), 0);
	uget(k, fds, 8);
	KEXPECT_EQ(t, k[0], 2);
	KEXPECT_EQ(t, k[1], 3);
	KEXPECT_EQ(t, sys_close(1), 0);
	KEXPECT_EQ(t, sys_close(1), -EBADF);
	KEXPECT_EQ(t, sys_close(~0u), -EBADF);
	KEXPECT_EQ(t, sys_write(1, x.u, 1), -EBADF);
	KEXPECT_EQ(t, sys_dup(0), 1); /* the lowest free */
	KEXPECT_EQ(t, sys_dup(77), -EBADF);
	KEXPECT_EQ(t, sys_dup2(0, 10), 10);
	KEXPECT_EQ(t, sys_dup(3), 4);
	KEXPECT_EQ(t, sys_dup2(10, 10), 10); /* onto itself: nothing happens */
	KEXPECT_EQ(t, sys_dup2(11, 11), -EBADF);
	KEXPECT_EQ(t, sys_dup2(0, NR_OPEN_DEFAULT), -EBADF);
	KEXPECT_EQ(t, sys_dup3(0, 0, 0), -EINVAL);
	KEXPECT_EQ(t, sys_dup3(0, 5, 0x4), -EINVAL);
	KEXPECT_EQ(t, sys_dup3(0, 5, O_CLOEXEC), 5);
	KEXPECT_EQ(t, sys_fcntl(5, F_GETFD, 0), FD_CLOEXEC);
	KEXPECT_EQ(t, sys_fcntl(0, F_GETFD, 0), 0); /* per fd, not per file */
	KEXPECT_EQ(t, sys_fcntl(10, F_GETFD, 0), 0);
	KEXPECT_EQ(t, sys_fcntl(0, F_DUPFD, 20), 20);
	KEXPECT_EQ(t, sys_fcntl(0, F_DUPFD, 20), 21);
	KEXPECT_EQ(t, sys_fcntl(0, F_DUPFD_CLOEXEC, 0), 6);
	KEXPECT_EQ(t, sys_fcntl(6, F_GETFD, 0), FD_CLOEXEC);
	KEXPECT_EQ(t, sys_fcntl(0, F_DUPFD, NR_OPEN_DEFAULT), -EINVAL);
	KEXPECT_EQ(t, sys_fcntl(0, 999, 0), -EINVAL);
	KEXPECT_EQ(t, sys_fcntl(6, F_SETFD, 0), 0);
	KEXPECT_EQ(t, sys_fcntl(6, F_GETFD, 0), 0);
	KEXPECT_EQ(t, sys_fcntl(20, F_SETFD, FD_CLOEXEC), 0);
	KEXPECT_EQ(t, sys_fcntl(40, F_GETFD, 0), -EBADF);
	/* dup2 over an open fd closes it: fd 4 was a dup of 3 (the write end) */
	KEXPECT_EQ(t, sys_dup2(2, 4), 4);
	KEXPECT_EQ(t, sys_write(4, x.u, 1), -EBADF); /* now the read end */
	/* a close lowers the next fd */
	KEXPECT_EQ(t, sys_close(2), 0);
	KEXPECT_EQ(t, sys_dup(0), 2);
	/* fork's copy keeps the close-on-exec bits; CLONE_FILES shares */
	int err = 0;
	struct files_struct *copy = dup_fd(x.files, &err);
	KASSERT_NOT_NULL(t, copy);
	KEXPECT_EQ(t, files_count_open(copy), files_count_open(x.files));
	KEXPECT_EQ(t, get_close_on_exec(copy, 5), 1);
	KEXPECT_EQ(t, get_close_on_exec(copy, 0), 0);
	KEXPECT_EQ(t, close_fd(copy, 0), 0);
	KEXPECT_EQ(t, get_close_on_exec(x.files, 0), 0); /* still open here */
	do_close_on_exec(copy);
	KEXPECT_EQ(t, get_close_on_exec(copy, 5), -EBADF);
	KEXPECT_EQ(t, get_close_on_exec(copy, 20), -EBADF);
	KEXPECT_EQ(t, get_close_on_exec(copy, 21), 0);
	put_files(copy);
	get_files(x.files); /* a thread sharing the table */
	KEXPECT_EQ(t, close_fd(x.files, 21), 0);
	KEXPECT_EQ(t, sys_fcntl(21, F_GETFD, 0), -EBADF);
	put_files(x.files);
	/* the limit: fds up to 1023, then -EMFILE */
	int n = 0;
	long r;
	while ((r = sys_dup(0)) >= 0)
		n++;
	KEXPECT_EQ(t, r, -EMFILE);
	KEXPECT_EQ(t, files_count_open(x.files), NR_OPEN_DEFAULT);
	KEXPECT_EQ(t, sys_pipe2(fds, 0), -EMFILE);
	KEXPECT_EQ(t, sys_close(700), 0);
	KEXPECT_EQ(t, sys_dup(0), 700);
	KEXPECT_GT(t, n, 1000);
	fx_teardown(t, &x);
}

/* ---- bad user pointers -------------------------------------------------------- */

static volatile uint8_t kernel_target[64];

static void bad_user_pointers(struct ktest *t)
{
	struct fx x;
	fx_setup(&x);
	uint64_t fds = x.u, kaddr = (uint64_t)kernel_target;
	int k[2];
	memset((void *)kernel_target, 0x5a, sizeof(kernel_target));
	KASSERT_EQ(t, sys_pipe2(fds, 0), 0);
	uget(k, fds, 8);
	uint64_t bad[] = { 0, kaddr, x.hole, USER_SPACE_END - 8, ~0ull - 7 };
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		KEXPECT_EQ(t, sys_write((unsigned)k[1], bad[i], 8), -EFAULT);
		/* data to read (an empty pipe would block: NULL and the hole
		 * pass access_ok, as on Linux), which the fault leaves there */
		KEXPECT_EQ(t, sys_write((unsigned)k[1], x.u, 8), 8);
		KEXPECT_EQ(t, sys_read((unsigned)k[0], bad[i], 8), -EFAULT);
		KEXPECT_EQ(t, sys_fstat((unsigned)k[0], bad[i]), -EFAULT);
		KEXPECT_EQ(t, sys_pipe2(bad[i], 0), -EFAULT);
		KEXPECT_EQ(t, sys_open(bad[i], O_RDONLY, 0), -EFAULT);
	}
	KEXPECT_EQ(t, sys_read((unsigned)k[0], x.u + 2048, 4096), 8 * ARRAY_SIZE(bad));
	/* nothing was written anywhere, no fd leaked */
	for (unsigned i = 0; i < sizeof(kernel_target); i++)
		KEXPECT_EQ(t, kernel_target[i], 0x5a);
	KEXPECT_EQ(t, files_count_open(x.files), 2);
	KEXPECT_EQ(t, sys_dup(0), 2);
	KEXPECT_EQ(t, sys_close(2), 0);
	/* a pipe with data: reading into the kernel leaves the data there */
	uput(x.u, "abcdefgh", 8);
	KEXPECT_EQ(t, sys_write((unsigned)k[1], x.u, 8), 8);
	KEXPECT_EQ(t, sys_read((unsigned)k[0], kaddr, 8), -EFAULT);
	KEXPECT_EQ(t, kernel_target[0], 0x5a);
	/* lengths that wrap or run past the user half */
	KASSERT_EQ(t, sys_read((unsigned)k[0], x.u, ~0ull), -EFAULT); /* else it took the data */
	KEXPECT_EQ(t, sys_write((unsigned)k[1], x.u, ~0ull - x.u + 2), -EFAULT);
	KEXPECT_EQ(t, sys_write((unsigned)k[1], x.u, USER_SPACE_END - x.u + 1), -EFAULT);
	KEXPECT_EQ(t, sys_write((unsigned)k[1], x.u, 0x7fffffffffffull), -EFAULT);
	/* a buffer that runs into the unmapped page: what fits, then stops */
	KEXPECT_EQ(t, sys_read((unsigned)k[0], x.hole - 4, 8), -EFAULT);
	uint8_t got[8];
	KEXPECT_EQ(t, sys_read((unsigned)k[0], x.u + 100, 8), 8);
	uget(got, x.u + 100, 8);
	KEXPECT_EQ(t, memcmp(got, "abcdefgh", 8), 0);
	/* paths: a name that ends right before the hole is read whole; one
	 * that runs into it is -EFAULT; too long is -ENAMETOOLONG */
	uint64_t p = x.hole - 2;
	uput(p, "/", 2);
	KEXPECT_EQ(t, sys_mkdir(p, 0755), -EEXIST);
	uput(x.hole - 3, "/ab", 3);
	KEXPECT_EQ(t, sys_mkdir(x.hole - 3, 0755), -EFAULT);
	uint8_t fill[PAGE_SIZE];
	memset(fill, 'a', sizeof(fill));
	fill[0] = '/';
	uput(x.u, fill, PAGE_SIZE);
	uput(x.u + PAGE_SIZE, fill, PAGE_SIZE);
	KEXPECT_EQ(t, sys_open(x.u, O_RDONLY, 0), -ENAMETOOLONG);
	uput(x.u, "", 1);
	KEXPECT_EQ(t, sys_open(x.u, O_RDONLY, 0), -ENOENT);
	/* iovecs */
	struct iovec_user iov[2] = { { x.u, 4 }, { kaddr, 4 } };
	uput(x.u + 512, iov, sizeof(iov));
	KEXPECT_EQ(t, sys_writev((unsigned)k[1], x.u + 512, 2), -EFAULT);
	KEXPECT_EQ(t, sys_readv((unsigned)k[0], x.u + 512, 2), -EFAULT);
	KEXPECT_EQ(t, sys_writev((unsigned)k[1], kaddr, 1), -EFAULT);
	KEXPECT_EQ(t, sys_writev((unsigned)k[1], x.hole - 8, 1), -EFAULT);
	KEXPECT_EQ(t, sys_writev((unsigned)k[1], x.u + 512, UIO_MAXIOV + 1), -EINVAL);
	KEXPECT_EQ(t, sys_writev((unsigned)k[1], x.u + 512, ~0ull), -EINVAL);
	iov[1].iov_len = ~0ull; /* negative as ssize_t */
	iov[1].iov_base = x.u;
	uput(x.u + 512, iov, sizeof(iov));
	KEXPECT_EQ(t, sys_writev((unsigned)k[1], x.u + 512, 2), -EINVAL);
	KEXPECT_EQ(t, sys_writev((unsigned)k[1], x.u + 512, 0), 0);
	KEXPECT_EQ(t, sys_writev(99, x.u + 512, 0), -EBADF);
	for (unsigned i = 0; i < sizeof(kernel_target); i++)
		KEXPECT_EQ(t, kernel_target[i], 0x5a);
	fx_teardown(t, &x);
}

/* ---- regular files and directories ----------------------------------------------- */

static void file_calls(struct ktest *t)
{
	REQUIRE_FS(t);
	struct fx x;
	fx_setup(&x);
	uint64_t buf = x.u + 8 * PAGE_SIZE;
	uint64_t dir = ustr(&x, 0, "/files_t"), a = ustr(&x, 64, "/files_t/a"),
		 rel = ustr(&x, 128, "b"), ab = ustr(&x, 192, "/files_t/./b"),
		 miss = ustr(&x, 256, "/files_t/nothere"), slash = ustr(&x, 320, "/files_t/a/"),
		 up = ustr(&x, 384, "/files_t/../files_t//a"), root = ustr(&x, 448, "/");
	KASSERT_EQ(t, sys_mkdir(dir, 0755), 0);
	KEXPECT_EQ(t, sys_mkdir(dir, 0755), -EEXIST);
	KEXPECT_EQ(t, sys_mkdir(root, 0755), -EEXIST);
	KEXPECT_EQ(t, sys_open(miss, O_RDONLY, 0), -ENOENT);
	long fd = sys_open(a, O_CREAT | O_RDWR | O_CLOEXEC, 0644);
	KASSERT_EQ(t, fd, 0);
	KEXPECT_EQ(t, sys_fcntl(0, F_GETFD, 0), FD_CLOEXEC);
	KEXPECT_EQ(t, sys_fcntl(0, F_GETFL, 0), O_RDWR | O_LARGEFILE);
	KEXPECT_EQ(t, sys_open(a, O_CREAT | O_EXCL | O_RDWR, 0644), -EEXIST);
	KEXPECT_EQ(t, sys_open(a, O_RDONLY | O_DIRECTORY, 0), -ENOTDIR);
	KEXPECT_EQ(t, sys_open(slash, O_RDONLY, 0), -ENOTDIR);
	KEXPECT_EQ(t, sys_open(slash, O_RDONLY | O_CREAT, 0), -EISDIR);
	KEXPECT_EQ(t, sys_open(dir, O_WRONLY, 0), -EISDIR);
	KEXPECT_EQ(t, sys_open(dir, O_RDWR, 0), -EISDIR);
	KEXPECT_EQ(t, sys_open(dir, O_RDONLY | O_TRUNC, 0), -EISDIR);
	KEXPECT_EQ(t, sys_open(dir, O_RDONLY | O_CREAT, 0), -EISDIR);
	KEXPECT_EQ(t, sys_open(dir, O_RDONLY | O_CREAT | O_DIRECTORY, 0), -EINVAL);
	KEXPECT_EQ(t, sys_open(dir, O_RDWR | O_TMPFILE | O_DIRECTORY, 0), -EOPNOTSUPP);
	KEXPECT_EQ(t, sys_open(dir, O_RDONLY | O_TMPFILE | O_DIRECTORY, 0), -EINVAL);
	/* write, read back through the position, pread, pwrite */
	KEXPECT_EQ(t, sys_write(0, buf, 0), 0);
	KEXPECT_EQ(t, sys_read(0, buf, 0), 0);
	KEXPECT_EQ(t, sys_write(0, x.hole, 8), -EFAULT);
	KEXPECT_EQ(t, sys_write(0, (uint64_t)&x, 8), -EFAULT);
	KEXPECT_EQ(t, sys_lseek(0, 0, SEEK_END), 0);
	uput(buf, "hello, world", 12);
	KEXPECT_EQ(t, sys_write(0, buf, 12), 12);
	KEXPECT_EQ(t, sys_lseek(0, 0, SEEK_CUR), 12);
	KEXPECT_EQ(t, sys_read(0, buf + 100, 12), 0); /* at the end */
	KEXPECT_EQ(t, sys_pread64(0, x.hole, 12, 0), -EFAULT);
	KEXPECT_EQ(t, sys_pread64(0, (uint64_t)&x, 12, 0), -EFAULT);
	KEXPECT_EQ(t, sys_lseek(0, 7, SEEK_SET), 7);
	KEXPECT_EQ(t, sys_read(0, buf + 100, 100), 5);
	char k[16] = { 0 };
	uget(k, buf + 100, 5);
	KEXPECT_EQ(t, memcmp(k, "world", 5), 0);
	KEXPECT_EQ(t, sys_pread64(0, buf + 100, 5, 0), 5);
	uget(k, buf + 100, 5);
	KEXPECT_EQ(t, memcmp(k, "hello", 5), 0);
	KEXPECT_EQ(t, sys_lseek(0, 0, SEEK_CUR), 12); /* pread leaves it */
	KEXPECT_EQ(t, sys_pwrite64(0, buf, 5, 20), 5);
	KEXPECT_EQ(t, sys_lseek(0, 0, SEEK_END), 25);
	KEXPECT_EQ(t, sys_pread64(0, buf, 5, -1), -EINVAL);
	KEXPECT_EQ(t, sys_lseek(0, -1, SEEK_SET), -EINVAL);
	KEXPECT_EQ(t, sys_lseek(0, 0, 5), -EINVAL);
	KEXPECT_EQ(t, sys_lseek(0, 3, SEEK_DATA), 3);
	KEXPECT_EQ(t, sys_lseek(0, 3, SEEK_HOLE), 25);
	KEXPECT_EQ(t, sys_lseek(0, 25, SEEK_DATA), -ENXIO);
	/* readv / writev */
	struct iovec_user iov[3] = { { buf, 2 }, { buf + 50, 0 }, { buf + 2, 3 } };
	uput(x.u + 1024, iov, sizeof(iov));
	KEXPECT_EQ(t, sys_lseek(0, 0, SEEK_SET), 0);
	KEXPECT_EQ(t, sys_readv(0, x.u + 1024, 3), 5);
	uget(k, buf, 5);
	KEXPECT_EQ(t, memcmp(k, "hello", 5), 0);
	KEXPECT_EQ(t, sys_lseek(0, 0, SEEK_CUR), 5);
	KEXPECT_EQ(t, sys_writev(0, x.u + 1024, 3), 5);
	KEXPECT_EQ(t, sys_lseek(0, 0, SEEK_CUR), 10);
	/* size calls */
	KEXPECT_EQ(t, sys_ftruncate(0, 3), 0);
	KEXPECT_EQ(t, sys_lseek(0, 0, SEEK_END), 3);
	KEXPECT_EQ(t, sys_ftruncate(0, -1), -EINVAL);
	KEXPECT_EQ(t, sys_ftruncate(0, (int64_t)SFS_MAX_FILE_SIZE + 1), -EFBIG);
	KEXPECT_EQ(t, sys_ftruncate(55, 0), -EBADF);
	KEXPECT_EQ(t, sys_fsync(0), 0);
	KEXPECT_EQ(t, sys_fdatasync(0), 0);
	KEXPECT_EQ(t, sys_fsync(55), -EBADF);
	KEXPECT_EQ(t, sys_fadvise64(0, 0, 0, POSIX_FADV_DONTNEED), 0);
	KEXPECT_EQ(t, sys_fadvise64(0, 0, -1, 0), -EINVAL);
	KEXPECT_EQ(t, sys_fadvise64(0, 0, 0, 6), -EINVAL);
	KEXPECT_EQ(t, sys_fadvise64(55, 0, 0, 0), -EBADF);
	KEXPECT_EQ(t, sys_ioctl(0, TCGETS, buf), -ENOTTY);
	int nread = -1;
	KEXPECT_EQ(t, sys_lseek(0, 1, SEEK_SET), 1);
	KEXPECT_EQ(t, sys_ioctl(0, FIONREAD, buf), 0);
	uget(&nread, buf, 4);
	KEXPECT_EQ(t, nread, 2);
	/* O_APPEND */
	long fa = sys_open(up, O_WRONLY | O_APPEND, 0);
	KEXPECT_EQ(t, fa, 1);
	uput(buf, "XY", 2);
	KEXPECT_EQ(t, sys_write(1, buf, 2), 2);
	KEXPECT_EQ(t, sys_lseek(0, 0, SEEK_END), 5);
	KEXPECT_EQ(t, sys_read(1, buf, 1), -EBADF); /* write-only */
	KEXPECT_EQ(t, sys_ftruncate(1, 0), 0);
	KEXPECT_EQ(t, sys_close(1), 0);
	/* read-only: no writes, no ftruncate */
	KEXPECT_EQ(t, sys_open(a, O_RDONLY, 0), 1);
	KEXPECT_EQ(t, sys_write(1, buf, 1), -EBADF);
	KEXPECT_EQ(t, sys_ftruncate(1, 0), -EINVAL);
	KEXPECT_EQ(t, sys_close(1), 0);
	/* directories: read is -EISDIR; openat relative to one */
	long d = sys_open(dir, O_RDONLY | O_DIRECTORY, 0);
	KEXPECT_EQ(t, d, 1);
	KEXPECT_EQ(t, sys_read(1, buf, 10), -EISDIR);
	KEXPECT_EQ(t, sys_pread64(1, buf, 10, 0), -EISDIR);
	KEXPECT_EQ(t, sys_ftruncate(1, 0), -EINVAL);
	KEXPECT_EQ(t, sys_openat(1, rel, O_CREAT | O_WRONLY, 0644), 2);
	KEXPECT_EQ(t, sys_openat(0, rel, O_RDONLY, 0), -ENOTDIR); /* 0 is a file */
	KEXPECT_EQ(t, sys_openat(66, rel, O_RDONLY, 0), -EBADF);
	KEXPECT_EQ(t, sys_openat(66, a, O_RDONLY, 0), 3); /* absolute: dirfd unused */
	KEXPECT_EQ(t, sys_close(3), 0);
	KEXPECT_EQ(t, sys_open(ab, O_RDONLY, 0), 3);
	KEXPECT_EQ(t, sys_close(3), 0);
	/* O_PATH: no I/O */
	KEXPECT_EQ(t, sys_open(a, O_PATH | O_RDWR, 0), 3);
	KEXPECT_EQ(t, sys_read(3, buf, 1), -EBADF);
	KEXPECT_EQ(t, sys_write(3, buf, 1), -EBADF);
	KEXPECT_EQ(t, sys_fcntl(3, F_GETFL, 0) & O_PATH, O_PATH);
	KEXPECT_EQ(t, sys_close(3), 0);
	/* creat truncates */
	KEXPECT_EQ(t, sys_creat(a, 0644), 3);
	KEXPECT_EQ(t, sys_lseek(0, 0, SEEK_END), 0);
	KEXPECT_EQ(t, sys_close(3), 0);
	/* unlink, rmdir */
	KEXPECT_EQ(t, sys_unlink(dir), -EISDIR);
	KEXPECT_EQ(t, sys_rmdir(dir), -ENOTEMPTY);
	KEXPECT_EQ(t, sys_rmdir(a), -ENOTDIR);
	KEXPECT_EQ(t, sys_unlink(slash), -ENOTDIR);
	KEXPECT_EQ(t, sys_rmdir(root), -EBUSY);
	KEXPECT_EQ(t, sys_unlinkat(AT_FDCWD, a, 0x1), -EINVAL);
	KEXPECT_EQ(t, sys_unlinkat(1, rel, 0), 0);
	KEXPECT_EQ(t, sys_unlink(rel), -ENOENT);
	KEXPECT_EQ(t, sys_unlink(a), 0);
	KEXPECT_EQ(t, sys_unlink(a), -ENOENT);
	/* the unlinked file stays readable through its fd */
	KEXPECT_EQ(t, sys_pwrite64(0, buf, 2, 0), 2);
	KEXPECT_EQ(t, sys_pread64(0, buf + 10, 2, 0), 2);
	KEXPECT_EQ(t, sys_close(0), 0);
	KEXPECT_EQ(t, sys_close(2), 0);
	KEXPECT_EQ(t, sys_close(1), 0);
	KEXPECT_EQ(t, sys_rmdir(dir), 0);
	KEXPECT_EQ(t, sys_open(dir, O_RDONLY, 0), -ENOENT);
	fx_teardown(t, &x);
}

/* ---- stat ---------------------------------------------------------------------- */

static void check_stat_bytes(struct ktest *t, const uint8_t *b)
{
	/* __pad0 and __unused: zero */
	for (int i = 36; i < 40; i++)
		KEXPECT_EQ(t, b[i], 0);
	for (int i = 120; i < 144; i++)
		KEXPECT_EQ(t, b[i], 0);
}

static void stat_layout(struct ktest *t)
{
	REQUIRE_FS(t);
	struct fx x;
	fx_setup(&x);
	uint64_t sb = x.u + PAGE_SIZE, path = ustr(&x, 0, "/files_stat"), buf = x.u + 2 * PAGE_SIZE;
	uint8_t b[160];
	uint64_t v;
	KASSERT_EQ(t, sys_open(path, O_CREAT | O_RDWR, 0644), 0);
	KEXPECT_EQ(t, sys_pwrite64(0, buf, 5000, 0), 5000);
	memset(b, 0xaa, sizeof(b));
	uput(sb, b, sizeof(b));
	KEXPECT_EQ(t, sys_fstat(0, sb), 0);
	uget(b, sb, sizeof(b));
	check_stat_bytes(t, b);
	KEXPECT_EQ(t, b[144], 0xaa); /* 144 bytes, not one more */
	memcpy(&v, b + 48, 8);
	KEXPECT_EQ(t, v, 5000); /* st_size */
	uint32_t mode;
	memcpy(&mode, b + 24, 4);
	KEXPECT_EQ(t, mode & S_IFMT, S_IFREG);
	memcpy(&v, b + 16, 8);
	KEXPECT_EQ(t, v, 1); /* st_nlink */
	memcpy(&v, b + 56, 8);
	KEXPECT_EQ(t, v, 4096); /* st_blksize */
	memcpy(&v, b + 64, 8);
	KEXPECT_EQ(t, v, 16); /* st_blocks: 512-byte units */
	uint64_t ino;
	memcpy(&ino, b + 8, 8);
	KEXPECT_NE(t, ino, 0);
	/* stat by path: the same inode */
	memset(b, 0xaa, sizeof(b));
	uput(sb, b, sizeof(b));
	KEXPECT_EQ(t, sys_stat(path, sb), 0);
	uget(b, sb, sizeof(b));
	check_stat_bytes(t, b);
	memcpy(&v, b + 8, 8);
	KEXPECT_EQ(t, v, ino);
	KEXPECT_EQ(t, sys_newfstatat(AT_FDCWD, path, sb, 0x1), -EINVAL);
	uint64_t empty = ustr(&x, 200, "");
	KEXPECT_EQ(t, sys_newfstatat(AT_FDCWD, empty, sb, 0), -ENOENT);
	KEXPECT_EQ(t, sys_newfstatat(0, empty, sb, AT_EMPTY_PATH), 0);
	uget(b, sb, sizeof(b));
	memcpy(&v, b + 8, 8);
	KEXPECT_EQ(t, v, ino);
	KEXPECT_EQ(t, sys_newfstatat(AT_FDCWD, empty, sb, AT_EMPTY_PATH), 0);
	uget(&mode, sb + 24, 4);
	KEXPECT_EQ(t, mode & S_IFMT, S_IFDIR);
	KEXPECT_EQ(t, sys_lstat(ustr(&x, 300, "/"), sb), 0);
	uget(&mode, sb + 24, 4);
	KEXPECT_EQ(t, mode & S_IFMT, S_IFDIR);
	KEXPECT_EQ(t, sys_stat(ustr(&x, 300, "/files_stat/"), sb), -ENOTDIR);
	KEXPECT_EQ(t, sys_stat(ustr(&x, 300, "/nope_files"), sb), -ENOENT);
	/* a pipe and the console */
	KEXPECT_EQ(t, sys_pipe(buf), 0);
	memset(b, 0xaa, sizeof(b));
	uput(sb, b, sizeof(b));
	KEXPECT_EQ(t, sys_fstat(1, sb), 0);
	uget(b, sb, sizeof(b));
	check_stat_bytes(t, b);
	memcpy(&mode, b + 24, 4);
	KEXPECT_EQ(t, mode & S_IFMT, S_IFIFO);
	struct kfile *con = console_file_open(0);
	KASSERT_NOT_NULL(t, con);
	int cfd = fd_alloc(x.files, 0, false);
	fd_install(x.files, (unsigned)cfd, con);
	memset(b, 0xaa, sizeof(b));
	uput(sb, b, sizeof(b));
	KEXPECT_EQ(t, sys_fstat((unsigned)cfd, sb), 0);
	uget(b, sb, sizeof(b));
	check_stat_bytes(t, b);
	memcpy(&mode, b + 24, 4);
	KEXPECT_EQ(t, mode & S_IFMT, S_IFCHR);
	KEXPECT_EQ(t, sys_fstat(99, sb), -EBADF);
	KEXPECT_EQ(t, sys_unlink(path), 0);
	fx_teardown(t, &x);
}

/* ---- getdents64 ---------------------------------------------------------------- */

static const char *const dent_names[] = {
	"a_very_long_name_of_fifty_nine_characters_to_fill_the_entr",
	"b",
	"cc",
	"name_of_twenty_chars",
	"ddd4567",
	"e",
};

static void getdents_layout(struct ktest *t)
{
	REQUIRE_FS(t);
	struct fx x;
	fx_setup(&x);
	char p[96];
	KASSERT_EQ(t, sys_mkdir(ustr(&x, 0, "/files_gd"), 0755), 0);
	for (unsigned i = 0; i < ARRAY_SIZE(dent_names); i++) {
		snprintf(p, sizeof(p), "/files_gd/%s", dent_names[i]);
		KEXPECT_EQ(t, sys_open(ustr(&x, 0, p), O_CREAT | O_WRONLY, 0644), 0);
		KEXPECT_EQ(t, sys_close(0), 0);
	}
	KEXPECT_EQ(t, sys_mkdir(ustr(&x, 0, "/files_gd/sub"), 0755), 0);
	KASSERT_EQ(t, sys_open(ustr(&x, 0, "/files_gd"), O_RDONLY | O_DIRECTORY, 0), 0);
	uint64_t ub = x.u + PAGE_SIZE;
	uint8_t *b = kmalloc(PAGE_SIZE);
	KASSERT_NOT_NULL(t, b);
	memset(b, 0xcc, PAGE_SIZE);
	uput(ub, b, PAGE_SIZE);
	long n = sys_getdents64(0, ub, PAGE_SIZE);
	KASSERT_GT(t, n, 0);
	uget(b, ub, PAGE_SIZE);
	unsigned seen = 0, found = 0;
	bool dot = false, dotdot = false, sub = false;
	int64_t last_off = 0;
	for (long off = 0; off < n;) {
		struct linux_dirent64 *d = (struct linux_dirent64 *)(b + off);
		KASSERT_EQ(t, d->d_reclen % 8, 0);
		KASSERT_GE(t, d->d_reclen, 24);
		KASSERT_GE(t, n - off, d->d_reclen);
		size_t nl = strnlen(d->d_name, d->d_reclen - 19);
		KEXPECT_LT(t, nl, d->d_reclen - 19); /* NUL-terminated inside the record */
		KEXPECT_EQ(t, ALIGN_UP(19 + nl + 1, 8), d->d_reclen);
		for (size_t i = 19 + nl; i < d->d_reclen; i++)
			KEXPECT_EQ(t, b[off + (long)i], 0); /* padding zero */
		KEXPECT_GT(t, d->d_off, last_off);
		KEXPECT_NE(t, d->d_ino, 0);
		last_off = d->d_off;
		if (!strcmp(d->d_name, "."))
			dot = d->d_type == DT_DIR;
		else if (!strcmp(d->d_name, ".."))
			dotdot = d->d_type == DT_DIR && d->d_ino == 1;
		else if (!strcmp(d->d_name, "sub"))
			sub = d->d_type == DT_DIR;
		for (unsigned i = 0; i < ARRAY_SIZE(dent_names); i++)
			if (!strcmp(d->d_name, dent_names[i]) && d->d_type == DT_REG)
				found |= 1u << i;
		seen++;
		off += d->d_reclen;
	}
	KEXPECT_EQ(t, b[n], 0xcc); /* nothing past what it returned */
	KEXPECT_TRUE(t, dot);
	KEXPECT_TRUE(t, dotdot);
	KEXPECT_TRUE(t, sub);
	KEXPECT_EQ(t, found, (1u << ARRAY_SIZE(dent_names)) - 1);
	KEXPECT_EQ(t, seen, ARRAY_SIZE(dent_names) + 3);
	KEXPECT_EQ(t, sys_getdents64(0, ub, PAGE_SIZE), 0); /* the end */
	/* one at a time with a small buffer: the same entries */
	KEXPECT_EQ(t, sys_lseek(0, 0, SEEK_SET), 0);
	unsigned again = 0;
	long r;
	while ((r = sys_getdents64(0, ub, 88)) > 0)
		again++;
	KEXPECT_EQ(t, r, 0);
	KEXPECT_GE(t, again, 1);
	KEXPECT_EQ(t, sys_lseek(0, 0, SEEK_SET), 0);
	KEXPECT_EQ(t, sys_getdents64(0, ub, 16), -EINVAL); /* cannot hold one */
	KEXPECT_EQ(t, sys_getdents64(0, (uint64_t)b, PAGE_SIZE), -EFAULT);
	KEXPECT_EQ(t, sys_getdents64(0, x.hole, PAGE_SIZE), -EFAULT);
	KEXPECT_EQ(t, sys_getdents64(7, ub, PAGE_SIZE), -EBADF);
	KEXPECT_EQ(t, sys_pipe(ub), 0);
	KEXPECT_EQ(t, sys_getdents64(1, ub, PAGE_SIZE), -ENOTDIR);
	kfree(b);
	for (unsigned i = 0; i < ARRAY_SIZE(dent_names); i++) {
		snprintf(p, sizeof(p), "/files_gd/%s", dent_names[i]);
		KEXPECT_EQ(t, sys_unlink(ustr(&x, 0, p)), 0);
	}
	KEXPECT_EQ(t, sys_rmdir(ustr(&x, 0, "/files_gd/sub")), 0);
	KEXPECT_EQ(t, sys_rmdir(ustr(&x, 0, "/files_gd")), 0);
	fx_teardown(t, &x);
}

/* ---- pipes ------------------------------------------------------------------------ */

static int sigpipes;
static void count_sigpipe(void)
{
	sigpipes++;
}

static void pipe_semantics(struct ktest *t)
{
	struct fx x;
	fx_setup(&x);
	uint64_t buf = x.u + PAGE_SIZE;
	int k[2];
	KEXPECT_EQ(t, sys_pipe2(x.u, 0x1), -EINVAL);
	KEXPECT_EQ(t, sys_pipe2(x.u, O_DIRECT), -EINVAL);
	KASSERT_EQ(t, sys_pipe2(x.u, O_NONBLOCK), 0);
	uget(k, x.u, 8);
	KEXPECT_EQ(t, sys_fcntl(0, F_GETFL, 0), O_RDONLY | O_NONBLOCK);
	KEXPECT_EQ(t, sys_fcntl(1, F_GETFL, 0), O_WRONLY | O_NONBLOCK);
	KEXPECT_EQ(t, sys_read(0, buf, 10), -EAGAIN);
	KEXPECT_EQ(t, sys_read(0, buf, 0), 0);
	KEXPECT_EQ(t, sys_read(1, buf, 1), -EBADF);
	KEXPECT_EQ(t, sys_write(0, buf, 1), -EBADF);
	KEXPECT_EQ(t, sys_lseek(0, 0, SEEK_SET), -ESPIPE);
	KEXPECT_EQ(t, sys_pread64(0, buf, 1, 0), -ESPIPE);
	KEXPECT_EQ(t, sys_pwrite64(1, buf, 1, 0), -ESPIPE);
	KEXPECT_EQ(t, sys_fsync(0), -EINVAL);
	KEXPECT_EQ(t, sys_fadvise64(0, 0, 0, 0), -ESPIPE);
	KEXPECT_EQ(t, sys_ftruncate(1, 0), -EINVAL);
	KEXPECT_EQ(t, sys_ioctl(0, TCGETS, buf), -ENOTTY);
	/* fill it: 64 KiB */
	long total = 0, r;
	while ((r = sys_write(1, buf, PIPE_BUF)) > 0)
		total += r;
	KEXPECT_EQ(t, r, -EAGAIN);
	KEXPECT_EQ(t, total, PIPE_DEF_BUFFERS * PAGE_SIZE);
	int nread;
	KEXPECT_EQ(t, sys_ioctl(0, FIONREAD, buf), 0);
	uget(&nread, buf, 4);
	KEXPECT_EQ(t, nread, total);
	/* 1000 bytes free: an atomic write of 4096 does not go in at all, a
	 * larger one goes in partly */
	KEXPECT_EQ(t, sys_read(0, buf, 1000), 1000);
	KEXPECT_EQ(t, sys_write(1, buf, PIPE_BUF), -EAGAIN);
	KEXPECT_EQ(t, sys_write(1, buf, 1001), -EAGAIN);
	KEXPECT_EQ(t, sys_write(1, buf, 8192), 1000);
	KEXPECT_EQ(t, sys_read(0, buf, 5000), 5000);
	KEXPECT_EQ(t, sys_write(1, buf, PIPE_BUF), PIPE_BUF);
	/* F_SETFL: blocking again */
	KEXPECT_EQ(t, sys_fcntl(0, F_SETFL, 0), 0);
	KEXPECT_EQ(t, sys_fcntl(0, F_GETFL, 0), O_RDONLY);
	/* data then EOF once the last writer is gone (a dup counts) */
	KEXPECT_EQ(t, sys_dup(1), 2);
	KEXPECT_EQ(t, sys_close(1), 0);
	uput(buf, "xyz", 3);
	KEXPECT_EQ(t, sys_write(2, buf, 3), 3);
	KEXPECT_EQ(t, sys_close(2), 0);
	total = 0;
	while ((r = sys_read(0, buf, 7000)) > 0)
		total += r;
	KEXPECT_EQ(t, r, 0);
	KEXPECT_EQ(t, total, PIPE_DEF_BUFFERS * PAGE_SIZE - 1000 + 1000 - 5000 + PIPE_BUF + 3);
	char tail[3];
	KEXPECT_EQ(t, sys_read(0, buf, 10), 0);
	KEXPECT_EQ(t, sys_close(0), 0);
	/* EPIPE with no reader, and the SIGPIPE hook */
	KASSERT_EQ(t, sys_pipe(x.u), 0);
	KEXPECT_EQ(t, sys_close(0), 0);
	pipe_sigpipe_hook = count_sigpipe;
	sigpipes = 0;
	KEXPECT_EQ(t, sys_write(1, buf, 1), -EPIPE);
	KEXPECT_EQ(t, sys_write(1, buf, 0), -EPIPE);
	pipe_sigpipe_hook = NULL;
	KEXPECT_EQ(t, sigpipes, 2);
	KEXPECT_EQ(t, sys_close(1), 0);
	/* the last bytes read back right */
	KASSERT_EQ(t, sys_pipe(x.u), 0);
	uput(buf, "abc", 3);
	KEXPECT_EQ(t, sys_write(1, buf, 3), 3);
	KEXPECT_EQ(t, sys_read(0, buf + 10, 3), 3);
	uget(tail, buf + 10, 3);
	KEXPECT_EQ(t, memcmp(tail, "abc", 3), 0);
	fx_teardown(t, &x);
}

/* A deterministic byte stream: byte i of stream seed. */
static uint8_t stream_byte(uint64_t seed, uint64_t i)
{
	uint64_t z = (i / 8) * 0x9e3779b97f4a7c15ull + seed;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (uint8_t)(z >> ((i % 8) * 8));
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

struct stream_arg {
	struct fx *x;
	int fd;
	uint64_t ubuf, total, moved;
	bool mismatch, early_eof;
	long err;
	struct completion done;
};

#define STREAM_BYTES (4ull << 20)

static void producer_fn(void *p)
{
	struct stream_arg *a = p;
	use_mm(a->x->mm);
	get_files(a->x->files);
	set_current_files(a->x->files);
	uint8_t *k = kmalloc(20000);
	uint64_t s = 0x1234567, i = 0;
	while (k && i < a->total) {
		size_t n = MIN(1 + rnd(&s) % 20000, a->total - i);
		for (size_t j = 0; j < n; j++)
			k[j] = stream_byte(7, i + j);
		copy_to_user(a->ubuf, k, n);
		long r = sys_write((unsigned)a->fd, a->ubuf, n);
		if (r != (long)n) {
			a->err = r;
			break;
		}
		i += n;
	}
	a->moved = i;
	kfree(k);
	sys_close((unsigned)a->fd); /* the last writer: EOF */
	put_files(set_current_files(NULL));
	unuse_mm(a->x->mm);
	complete(&a->done);
}

static void consumer_fn(void *p)
{
	struct stream_arg *a = p;
	use_mm(a->x->mm);
	get_files(a->x->files);
	set_current_files(a->x->files);
	uint8_t *k = kmalloc(30000);
	uint64_t s = 0x7654321, i = 0;
	for (;;) {
		if (!k)
			break;
		size_t n = 1 + rnd(&s) % 30000;
		long r = sys_read((unsigned)a->fd, a->ubuf, n);
		if (r < 0) {
			a->err = r;
			break;
		}
		if (r == 0)
			break;
		copy_from_user(k, a->ubuf, (size_t)r);
		for (long j = 0; j < r; j++)
			if (k[j] != stream_byte(7, i + (uint64_t)j))
				a->mismatch = true;
		i += (uint64_t)r;
	}
	a->moved = i;
	kfree(k);
	put_files(set_current_files(NULL));
	unuse_mm(a->x->mm);
	complete(&a->done);
}

static void pipe_stream_smp(struct ktest *t)
{
	struct fx x;
	fx_setup(&x);
	int k[2];
	KASSERT_EQ(t, sys_pipe(x.u), 0);
	uget(k, x.u, 8);
	struct stream_arg w = {
		.x = &x, .fd = k[1], .ubuf = x.u + PAGE_SIZE, .total = STREAM_BYTES
	};
	struct stream_arg r = { .x = &x, .fd = k[0], .ubuf = x.u + 16 * PAGE_SIZE };
	init_completion(&w.done);
	init_completion(&r.done);
	int threads = sched_thread_count();
	int c1 = ktest_other_cpu(cpu_id(), 1), c2 = ktest_other_cpu(cpu_id(), 2);
	/* the test's own fds go, so the producer's close is the last writer */
	thread_create("pipe-rd", consumer_fn, &r, c2);
	thread_create("pipe-wr", producer_fn, &w, c1);
	wait_for_completion(&w.done);
	wait_for_completion(&r.done);
	ktest_wait_threads(threads);
	KEXPECT_EQ(t, w.err, 0);
	KEXPECT_EQ(t, r.err, 0);
	KEXPECT_EQ(t, w.moved, STREAM_BYTES);
	KEXPECT_EQ(t, r.moved, STREAM_BYTES);
	KEXPECT_FALSE(t, r.mismatch);
	KEXPECT_EQ(t, sys_close((unsigned)k[1]), -EBADF); /* the producer closed it */
	KEXPECT_EQ(t, sys_close((unsigned)k[0]), 0);
	fx_teardown(t, &x);
}

/* PIPE_BUF atomicity: records [magic:16 | writer:8 | len:16 | seq:24]
 * followed by len-8 bytes of a fill from (writer, seq). */
#define NR_WRITERS_MAX 3
struct atomic_arg {
	struct fx *x;
	int fd, id;
	uint64_t ubuf;
	uint32_t records;
	long err;
	volatile bool *stop;
	struct completion done;
};

static uint8_t rec_fill(int id, uint32_t seq)
{
	return (uint8_t)(id * 37 + seq * 11 + 1);
}

static void atomic_writer_fn(void *p)
{
	struct atomic_arg *a = p;
	use_mm(a->x->mm);
	get_files(a->x->files);
	set_current_files(a->x->files);
	uint8_t *k = kmalloc(PIPE_BUF);
	uint64_t s = 0x9999 + (uint64_t)a->id;
	uint64_t start = ktime_get_ns();
	for (uint32_t seq = 0; k && ktest_stress_more(start, seq, 200, 100000) && !*a->stop;
	     seq++) {
		static const uint16_t sizes[] = { PIPE_BUF, PIPE_BUF, 3000, 2049, 700, 64 };
		uint16_t len = sizes[rnd(&s) % ARRAY_SIZE(sizes)];
		uint64_t hdr = 0xa70eull | ((uint64_t)a->id << 16) | ((uint64_t)len << 24) |
			       ((uint64_t)seq << 40);
		memcpy(k, &hdr, 8);
		memset(k + 8, rec_fill(a->id, seq), len - 8u);
		copy_to_user(a->ubuf, k, len);
		long r = sys_write((unsigned)a->fd, a->ubuf, len);
		if (r != len) {
			a->err = r < 0 ? r : -1000 - r;
			break;
		}
		a->records = seq + 1;
	}
	kfree(k);
	sys_close((unsigned)a->fd);
	put_files(set_current_files(NULL));
	unuse_mm(a->x->mm);
	complete(&a->done);
}

static void pipe_buf_atomic(struct ktest *t)
{
	if (nr_cpus_online < 2)
		KTEST_SKIP(t, "needs 2 CPUs");
	struct fx x;
	fx_setup(&x);
	int k[2];
	KASSERT_EQ(t, sys_pipe(x.u), 0);
	uget(k, x.u, 8);
	int nw = MAX(2, MIN(NR_WRITERS_MAX, nr_cpus_online - 1));
	struct atomic_arg w[NR_WRITERS_MAX];
	volatile bool stop = false;
	int threads = sched_thread_count();
	for (int i = 0; i < nw; i++) {
		w[i] = (struct atomic_arg){
			.x = &x, .id = i, .ubuf = x.u + (1 + i) * PAGE_SIZE, .stop = &stop
		};
		w[i].fd = (int)sys_dup((unsigned)k[1]);
		init_completion(&w[i].done);
		thread_create("pipe-atomic", atomic_writer_fn, &w[i],
			      ktest_other_cpu(cpu_id(), 1 + i));
	}
	sys_close((unsigned)k[1]);
	/* read in odd pieces, pausing now and then so the pipe fills up and
	 * writers find less room than they need */
	uint8_t *stream = kmalloc(2 * 65536);
	KASSERT_NOT_NULL(t, stream);
	size_t have = 0;
	uint32_t next_seq[NR_WRITERS_MAX] = { 0 };
	uint64_t s = 42, reads = 0, records = 0;
	bool bad = false;
	uint64_t ub = x.u + 8 * PAGE_SIZE;
	for (;;) {
		size_t n = 1 + rnd(&s) % 5000;
		long r = sys_read((unsigned)k[0], ub, n);
		if (r <= 0) {
			KEXPECT_EQ(t, r, 0);
			break;
		}
		copy_from_user(stream + have, ub, (size_t)r);
		have += (size_t)r;
		if (++reads % 8 == 0)
			sleep_ms(1);
		size_t off = 0;
		while (!bad && have - off >= 8) {
			uint64_t hdr;
			memcpy(&hdr, stream + off, 8);
			unsigned id = (hdr >> 16) & 0xff, len = (hdr >> 24) & 0xffff;
			uint32_t seq = (uint32_t)(hdr >> 40);
			if ((hdr & 0xffff) != 0xa70e || id >= (unsigned)nw || len < 8 ||
			    len > PIPE_BUF || seq != next_seq[id]) {
				ktest_log(t, "bad record header %#lx at stream byte %lu", hdr,
					  records);
				bad = true;
				break;
			}
			if (have - off < len)
				break;
			for (unsigned j = 8; j < len; j++)
				if (stream[off + j] != rec_fill((int)id, seq)) {
					ktest_log(t, "record %u/%u split at byte %u", id, seq, j);
					bad = true;
					break;
				}
			next_seq[id]++;
			records++;
			off += len;
		}
		if (bad) {
			stop = true;
			/* drain until EOF so the writers finish */
			while (sys_read((unsigned)k[0], ub, 65536) > 0)
				;
			break;
		}
		memmove(stream, stream + off, have - off);
		have -= off;
	}
	for (int i = 0; i < nw; i++)
		wait_for_completion(&w[i].done);
	ktest_wait_threads(threads);
	KEXPECT_FALSE(t, bad);
	if (!bad) {
		KEXPECT_EQ(t, have, 0);
		for (int i = 0; i < nw; i++) {
			KEXPECT_EQ(t, w[i].err, 0);
			KEXPECT_EQ(t, next_seq[i], w[i].records);
		}
	}
	ktest_log(t, "%lu records from %d writers, %lu reads", records, nw, reads);
	kfree(stream);
	sys_close((unsigned)k[0]);
	fx_teardown(t, &x);
}

/* ---- shared tables and O_APPEND on every CPU ------------------------------------ */

#define REC 64
struct smp_arg {
	struct fx *x;
	uint64_t path;
	int nr_cpus;
	uint32_t records[64];
	long err[64];
};

static void enter(struct fx *x)
{
	use_mm(x->mm);
	get_files(x->files);
	set_current_files(x->files);
}

static void leave(struct fx *x)
{
	put_files(set_current_files(NULL));
	unuse_mm(x->mm);
}

/* Each CPU appends records [cpu, seq, fill...] through its own open file
 * description: only O_APPEND keeps them from overwriting each other. */
static void appender(void *p, int cpu)
{
	struct smp_arg *a = p;
	enter(a->x);
	uint64_t ub = a->x->u + (2 + (uint64_t)cpu) * PAGE_SIZE;
	long fd = sys_open(a->path, O_WRONLY | O_APPEND, 0);
	uint8_t rec[REC];
	uint64_t start = ktime_get_ns();
	uint32_t seq = 0;
	for (; fd >= 0 && ktest_stress_more(start, seq, 300, 5000); seq++) {
		memset(rec, (int)(cpu * 7 + seq) & 0xff, REC);
		memcpy(rec, &cpu, 4);
		memcpy(rec + 4, &seq, 4);
		copy_to_user(ub, rec, REC);
		long r = sys_write((unsigned)fd, ub, REC);
		if (r != REC) {
			a->err[cpu] = r;
			break;
		}
	}
	a->records[cpu] = seq;
	if (fd < 0)
		a->err[cpu] = fd;
	else
		sys_close((unsigned)fd);
	leave(a->x);
}

static void append_smp(struct ktest *t)
{
	REQUIRE_FS(t);
	struct fx x;
	fx_setup(&x);
	struct smp_arg *a = kzalloc(sizeof(*a));
	KASSERT_NOT_NULL(t, a);
	a->x = &x;
	a->path = ustr(&x, 0, "/files_append");
	KASSERT_EQ(t, sys_open(a->path, O_CREAT | O_RDWR | O_TRUNC, 0644), 0);
	ktest_on_each_cpu_thread(appender, a);
	uint64_t total = 0;
	for (int c = 0; c < 64; c++) {
		KEXPECT_EQ(t, a->err[c], 0);
		total += a->records[c];
	}
	KEXPECT_EQ(t, sys_lseek(0, 0, SEEK_END), (long)(total * REC));
	/* every record whole, each CPU's in order */
	uint32_t next[64] = { 0 };
	uint8_t rec[REC];
	uint64_t ub = x.u + PAGE_SIZE, bad = 0;
	for (uint64_t i = 0; i < total; i++) {
		if (sys_pread64(0, ub, REC, (int64_t)(i * REC)) != REC) {
			bad++;
			break;
		}
		uget(rec, ub, REC);
		uint32_t cpu, seq;
		memcpy(&cpu, rec, 4);
		memcpy(&seq, rec + 4, 4);
		if (cpu >= 64 || seq != next[cpu]) {
			bad++;
			continue;
		}
		for (int j = 8; j < REC; j++)
			if (rec[j] != ((cpu * 7 + seq) & 0xff)) {
				bad++;
				break;
			}
		next[cpu]++;
	}
	KEXPECT_EQ(t, bad, 0);
	ktest_log(t, "%lu records appended", total);
	KEXPECT_EQ(t, sys_close(0), 0);
	KEXPECT_EQ(t, sys_unlink(a->path), 0);
	kfree(a);
	fx_teardown(t, &x);
}

/* Threads on every CPU share one table (CLONE_FILES): pipe2, write, dup,
 * dup2 onto a high fd (the table grows under them), read, close. */
static void table_user(void *p, int cpu)
{
	struct smp_arg *a = p;
	enter(a->x);
	uint64_t ub = a->x->u + (2 + (uint64_t)cpu) * PAGE_SIZE;
	uint64_t start = ktime_get_ns();
	uint32_t round = 0;
	long err = 0;
	for (; ktest_stress_more(start, round, 100, 20000); round++) {
		int k[2];
		if ((err = sys_pipe2(ub, round & 1 ? O_CLOEXEC : 0)))
			break;
		copy_from_user(k, ub, 8);
		uint8_t c = (uint8_t)(cpu + round);
		copy_to_user(ub + 64, &c, 1);
		unsigned high = 900 + (unsigned)cpu;
		long d = sys_dup((unsigned)k[0]);
		if (sys_write((unsigned)k[1], ub + 64, 1) != 1 || d < 0 ||
		    sys_dup2((unsigned)d, high) != high || sys_read(high, ub + 65, 1) != 1 ||
		    sys_fcntl(high, F_GETFD, 0) != 0) {
			err = -1000;
			break;
		}
		uint8_t back;
		copy_from_user(&back, ub + 65, 1);
		if (back != c) {
			err = -2000;
			break;
		}
		if (sys_close((unsigned)k[0]) || sys_close((unsigned)k[1]) ||
		    sys_close((unsigned)d) || sys_close(high)) {
			err = -3000;
			break;
		}
	}
	a->records[cpu] = round;
	a->err[cpu] = err;
	leave(a->x);
}

static void shared_table_smp(struct ktest *t)
{
	struct fx x;
	fx_setup(&x);
	struct smp_arg *a = kzalloc(sizeof(*a));
	KASSERT_NOT_NULL(t, a);
	a->x = &x;
	ktest_on_each_cpu_thread(table_user, a);
	for (int c = 0; c < 64; c++)
		KEXPECT_EQ(t, a->err[c], 0);
	KEXPECT_EQ(t, files_count_open(x.files), 0);
	KEXPECT_EQ(t, x.files->max_fds, NR_OPEN_DEFAULT);
	kfree(a);
	fx_teardown(t, &x);
}

/* ---- console ---------------------------------------------------------------------- */

static char captured[128];
static size_t captured_len;
static void capture(const char *s, size_t n)
{
	n = MIN(n, sizeof(captured) - captured_len);
	memcpy(captured + captured_len, s, n);
	captured_len += n;
}

static void console(struct ktest *t)
{
	struct fx x;
	fx_setup(&x);
	uint64_t buf = x.u + PAGE_SIZE;
	KASSERT_EQ(t, console_install_stdio(x.files), 0);
	KEXPECT_EQ(t, files_count_open(x.files), 3);
	captured_len = 0;
	console_output_sink = capture;
	uput(buf, "# files: hello\n", 15);
	KEXPECT_EQ(t, sys_write(1, buf, 15), 15);
	KEXPECT_EQ(t, sys_write(2, buf, 0), 0);
	KEXPECT_EQ(t, sys_write(2, 0, 4), -EFAULT);
	console_output_sink = NULL;
	KEXPECT_EQ(t, captured_len, 15);
	KEXPECT_EQ(t, memcmp(captured, "# files: hello\n", 15), 0);
	/* a terminal to the C libraries */
	struct kernel_termios tio;
	memset(&tio, 0, sizeof(tio));
	KEXPECT_EQ(t, sys_ioctl(1, TCGETS, buf), 0);
	uget(&tio, buf, sizeof(tio));
	KEXPECT_EQ(t, tio.c_lflag & 0x2, 0x2); /* ICANON */
	KEXPECT_EQ(t, sizeof(tio), 36);
	KEXPECT_EQ(t, sys_ioctl(1, TCSETS, buf), 0);
	struct kernel_winsize ws;
	KEXPECT_EQ(t, sys_ioctl(1, TIOCGWINSZ, buf), 0);
	uget(&ws, buf, sizeof(ws));
	KEXPECT_EQ(t, ws.ws_col, 80);
	KEXPECT_EQ(t, sys_ioctl(1, TCGETS, 0), -EFAULT);
	KEXPECT_EQ(t, sys_ioctl(1, TCGETS, (uint64_t)&tio), -EFAULT);
	KEXPECT_EQ(t, sys_ioctl(1, 0x1234, buf), -ENOTTY);
	KEXPECT_EQ(t, sys_ioctl(9, TCGETS, buf), -EBADF);
	KEXPECT_EQ(t, sys_ioctl(1, FIOCLEX, 0), 0);
	KEXPECT_EQ(t, sys_fcntl(1, F_GETFD, 0), FD_CLOEXEC);
	KEXPECT_EQ(t, sys_fcntl(2, F_GETFD, 0), 0);
	KEXPECT_EQ(t, sys_lseek(0, 0, SEEK_SET), -ESPIPE);
	KEXPECT_EQ(t, sys_fsync(1), -EINVAL);
	/* a line at a time */
	console_inject_input("one\rtwo\n", 8);
	char k[8];
	KEXPECT_EQ(t, sys_read(0, buf, 100), 4);
	uget(k, buf, 4);
	KEXPECT_EQ(t, memcmp(k, "one\n", 4), 0);
	KEXPECT_EQ(t, sys_read(0, buf, 2), 2);
	KEXPECT_EQ(t, sys_read(0, buf + 2, 10), 2);
	uget(k, buf, 4);
	KEXPECT_EQ(t, memcmp(k, "two\n", 4), 0);
	int one = 1;
	uput(buf, &one, 4);
	KEXPECT_EQ(t, sys_ioctl(0, FIONBIO, buf), 0);
	KEXPECT_EQ(t, sys_fcntl(0, F_GETFL, 0) & O_NONBLOCK, O_NONBLOCK);
	KEXPECT_EQ(t, sys_read(0, buf, 10), -EAGAIN);
	fx_teardown(t, &x);
}

/* SFS's links on the disk: a hard link, a symbolic link with two names, a
 * renamed directory holding a moved file, all checked by fsck (link counts,
 * the link's data block) while they exist and after they are gone. */
static void sfs_links_fsck(struct ktest *t)
{
	REQUIRE_FS(t);
	char err[256] = "", buf[64];
	struct file *f;
	static const char *const leftovers[] = { "/kl/d2/h", "/kl/d2", "/kl/d", "/kl/s",
						 "/kl/s2",   "/kl/h",  "/kl/f", "/kl" };
	for (size_t i = 0; i < sizeof(leftovers) / sizeof(leftovers[0]); i++)
		vfs_unlink(leftovers[i]);
	KEXPECT_EQ(t, vfs_mkdir("/kl"), 0);
	KASSERT_EQ(t, vfs_open("/kl/f", O_RDWR | O_CREAT, &f), 0);
	KEXPECT_EQ(t, vfs_pwrite(f, "data", 4, 0), 4);
	KEXPECT_EQ(t, vfs_link("/kl/f", "/kl/h"), 0);
	KEXPECT_EQ(t, f->inode->d.nlink, 2);
	KEXPECT_EQ(t, vfs_link("/kl/f", "/kl/h"), -EEXIST);
	KEXPECT_EQ(t, vfs_symlink("f", "/kl/s"), 0);
	KEXPECT_EQ(t, vfs_symlink("f", "/kl/s"), -EEXIST);
	KEXPECT_EQ(t, vfs_readlink("/kl/s", buf, sizeof(buf)), 1);
	KEXPECT_EQ(t, buf[0], 'f');
	KEXPECT_EQ(t, vfs_readlink("/kl/f", buf, sizeof(buf)), -EINVAL);
	KEXPECT_EQ(t, vfs_link("/kl/s", "/kl/s2"), 0); /* a hard link to a symbolic link */
	KEXPECT_EQ(t, vfs_mkdir("/kl/d"), 0);
	KEXPECT_EQ(t, vfs_link("/kl/d", "/kl/dl"), -EPERM);
	KEXPECT_EQ(t, vfs_rename("/kl/d", "/kl/d2", 0), 0);
	KEXPECT_EQ(t, vfs_rename("/kl/h", "/kl/d2/h", SFS_RENAME_NOREPLACE), 0);
	KEXPECT_EQ(t, vfs_rename("/kl/s", "/kl/d2/h", SFS_RENAME_NOREPLACE), -EEXIST);
	KEXPECT_EQ(t, vfs_rename("/kl/d2", "/kl/s", SFS_RENAME_EXCHANGE), 0);
	KEXPECT_EQ(t, vfs_rename("/kl/d2", "/kl/s", SFS_RENAME_EXCHANGE), 0);
	KEXPECT_EQ(t, fs_sync_and_check(err, sizeof(err)), 0);
	KEXPECT_EQ(t, vfs_unlink("/kl/f"), 0);
	KEXPECT_EQ(t, f->inode->d.nlink, 1);
	KEXPECT_EQ(t, vfs_pread(f, buf, 4, 0), 4);
	KEXPECT_EQ(t, memcmp(buf, "data", 4), 0);
	vfs_close(f);
	KEXPECT_EQ(t, vfs_unlink("/kl/d2"), -ENOTEMPTY);
	for (size_t i = 0; i < sizeof(leftovers) / sizeof(leftovers[0]); i++)
		vfs_unlink(leftovers[i]);
	KEXPECT_EQ(t, vfs_open("/kl", O_RDONLY, &f), -ENOENT);
	KEXPECT_EQ(t, fs_sync_and_check(err, sizeof(err)), 0);
	if (err[0])
		ktest_log(t, "fsck: %s", err);
}

/* /bin/files PART [DIR] (tests/user/files.c): exit 0, no "not ok", the
 * last check printed; then nothing leaked and fsck passes. */
static void user_calls(struct ktest *t, const char *path, const char *part, const char *dir)
{
	REQUIRE_FS(t);
	struct ktest_baseline before;
	ktest_baseline_take(&before);
	char *const argv[] = { (char *)path, (char *)part, (char *)dir, NULL };
	KEXPECT_EQ(t, run_program(t, path, argv), 0);
	KEXPECT_FALSE(t, contains(out_buf, "not ok"));
	KEXPECT_TRUE(t, contains(out_buf, "every check ran"));
	ktest_baseline_expect(t, &before); /* no leak; then fsck of the whole image */
}

static void user_ops_musl(struct ktest *t)
{
	user_calls(t, "/bin/files", "ops", NULL);
}

static void user_ns_sfs_musl(struct ktest *t)
{
	user_calls(t, "/bin/files", "ns", "/ft");
}

static void user_ns_tmp_musl(struct ktest *t)
{
	user_calls(t, "/bin/files", "ns", "/tmp/ft");
}

static void user_ops_glibc(struct ktest *t)
{
	user_calls(t, "/bin/files-glibc", "ops", NULL);
}

static void user_ns_sfs_glibc(struct ktest *t)
{
	user_calls(t, "/bin/files-glibc", "ns", "/ft");
}

KTEST_SUITE(files, KTEST_CASE(fd_numbering), KTEST_CASE(bad_user_pointers), KTEST_CASE(file_calls),
	    KTEST_CASE(stat_layout), KTEST_CASE(getdents_layout), KTEST_CASE(pipe_semantics),
	    KTEST_CASE(pipe_stream_smp), KTEST_CASE(pipe_buf_atomic), KTEST_CASE(append_smp),
	    KTEST_CASE(shared_table_smp), KTEST_CASE(console), KTEST_CASE(sfs_links_fsck),
	    KTEST_CASE(user_ops_musl), KTEST_CASE(user_ns_sfs_musl), KTEST_CASE(user_ns_tmp_musl),
	    KTEST_CASE(user_ops_glibc), KTEST_CASE(user_ns_sfs_glibc));
