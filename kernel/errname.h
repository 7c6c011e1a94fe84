/*
 * kernel/errname.h - names and texts of error numbers (kernel/errno.h), for
 * messages: "ls: /hello.txt: Not a directory (ENOTDIR)". Every function
 * takes the error either way round (-ENOTDIR or ENOTDIR).
 */
#ifndef KERNEL_ERRNAME_H
#define KERNEL_ERRNAME_H

#include "kernel/compiler.h"
#include "kernel/errno.h"

/* "ENOTDIR", or NULL for a number the table does not know. */
const char *errno_name(int err);
/* "Not a directory" (Linux's strerror text), or NULL if unknown. */
const char *errno_text(int err);
/* "Not a directory (ENOTDIR)"; "Unknown error 999" for an unknown number;
 * "Success" for 0. Always NUL-terminated; returns buf. */
const char *strerror_r(int err, char *buf, size_t len);
/* Enough for every strerror_r() result. */
#define ERRSTR_MAX 80

/* The table itself, for the tests: nr_errnos rows. */
struct errno_entry {
	int num;
	const char *name, *text;
};
extern const struct errno_entry errno_table[];
extern const size_t nr_errnos;

#endif
