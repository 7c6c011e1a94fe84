/*
 * kernel/errno.h - error numbers, with Linux's values (asm-generic/errno-base.h
 * and errno.h). Kernel functions return them negated (-ENOENT).
 *
 * To add one: a #define here and its row in ERRNO_TABLE (kernel/errname.c
 * turns the table into errno_name() and strerror(); the errno suite checks
 * that every row has a distinct number and a name and text).
 */
#ifndef KERNEL_ERRNO_H
#define KERNEL_ERRNO_H

#define EPERM	     1
#define ENOENT	     2
#define ESRCH	     3
#define EINTR	     4
#define EIO	     5
#define ENXIO	     6
#define E2BIG	     7
#define ENOEXEC	     8
#define EBADF	     9
#define ECHILD	     10
#define EAGAIN	     11
#define ENOMEM	     12
#define EACCES	     13
#define EFAULT	     14
#define ENOTBLK	     15
#define EBUSY	     16
#define EEXIST	     17
#define EXDEV	     18
#define ENODEV	     19
#define ENOTDIR	     20
#define EISDIR	     21
#define EINVAL	     22
#define ENFILE	     23
#define EMFILE	     24
#define ENOTTY	     25
#define ETXTBSY	     26
#define EFBIG	     27
#define ENOSPC	     28
#define ESPIPE	     29
#define EROFS	     30
#define EMLINK	     31
#define EPIPE	     32
#define EDOM	     33
#define ERANGE	     34
#define EDEADLK	     35
#define ENAMETOOLONG 36
#define ENOLCK	     37
#define ENOSYS	     38
#define ENOTEMPTY    39
#define ELOOP	     40
#define ENODATA	     61
#define EOVERFLOW    75
#define EILSEQ	     84
#define EOPNOTSUPP   95
#define ETIMEDOUT    110
#define EALREADY     114
#define EINPROGRESS  115
#define ECANCELED    125
/* Kernel-internal: a system call interrupted by a signal, turned into
 * -EINTR or a restart on the way out (kernel/signal.c); never seen by
 * user code. */
#define ERESTARTSYS	      512
#define ERESTARTNOINTR	      513
#define ERESTARTNOHAND	      514
#define ERESTART_RESTARTBLOCK 516

/* X(name, text): the text is glibc's strerror() of that Linux errno. */
#define ERRNO_TABLE(X)                                                 \
	X(EPERM, "Operation not permitted")                            \
	X(ENOENT, "No such file or directory")                         \
	X(ESRCH, "No such process")                                    \
	X(EINTR, "Interrupted system call")                            \
	X(EIO, "Input/output error")                                   \
	X(ENXIO, "No such device or address")                          \
	X(E2BIG, "Argument list too long")                             \
	X(ENOEXEC, "Exec format error")                                \
	X(EBADF, "Bad file descriptor")                                \
	X(ECHILD, "No child processes")                                \
	X(EAGAIN, "Resource temporarily unavailable")                  \
	X(ENOMEM, "Cannot allocate memory")                            \
	X(EACCES, "Permission denied")                                 \
	X(EFAULT, "Bad address")                                       \
	X(ENOTBLK, "Block device required")                            \
	X(EBUSY, "Device or resource busy")                            \
	X(EEXIST, "File exists")                                       \
	X(EXDEV, "Invalid cross-device link")                          \
	X(ENODEV, "No such device")                                    \
	X(ENOTDIR, "Not a directory")                                  \
	X(EISDIR, "Is a directory")                                    \
	X(EINVAL, "Invalid argument")                                  \
	X(ENFILE, "Too many open files in system")                     \
	X(EMFILE, "Too many open files")                               \
	X(ENOTTY, "Inappropriate ioctl for device")                    \
	X(ETXTBSY, "Text file busy")                                   \
	X(EFBIG, "File too large")                                     \
	X(ENOSPC, "No space left on device")                           \
	X(ESPIPE, "Illegal seek")                                      \
	X(EROFS, "Read-only file system")                              \
	X(EMLINK, "Too many links")                                    \
	X(EPIPE, "Broken pipe")                                        \
	X(EDOM, "Numerical argument out of domain")                    \
	X(ERANGE, "Numerical result out of range")                     \
	X(EDEADLK, "Resource deadlock avoided")                        \
	X(ENAMETOOLONG, "File name too long")                          \
	X(ENOLCK, "No locks available")                                \
	X(ENOSYS, "Function not implemented")                          \
	X(ENOTEMPTY, "Directory not empty")                            \
	X(ELOOP, "Too many levels of symbolic links")                  \
	X(ENODATA, "No data available")                                \
	X(EOVERFLOW, "Value too large for defined data type")          \
	X(EILSEQ, "Invalid or incomplete multibyte or wide character") \
	X(EOPNOTSUPP, "Operation not supported")                       \
	X(ETIMEDOUT, "Connection timed out")                           \
	X(EALREADY, "Operation already in progress")                   \
	X(EINPROGRESS, "Operation now in progress")                    \
	X(ECANCELED, "Operation canceled")

#endif
