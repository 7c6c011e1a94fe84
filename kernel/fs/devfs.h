/*
 * kernel/fs/devfs.h - /dev (kernel/fs/devfs.c): console, tty, ttyS0, null,
 * zero, full, random, urandom.
 */
#ifndef KERNEL_FS_DEVFS_H
#define KERNEL_FS_DEVFS_H

#include "kernel/compiler.h"

struct kfile;
struct linux_stat;

/* path (absolute, normalized) is /dev or under it. */
bool devfs_path(const char *path);
/* open(2) of a /dev path: 0 with *out (one reference) or -errno. */
int devfs_open(const char *path, int flags, bool dir_only, struct kfile **out);
/* stat of a /dev path: 0 or -errno. */
int devfs_stat(const char *path, bool dir_only, struct linux_stat *st);
/* fstat of a devfs kfile (the tty's too): true if f is one (st filled). */
bool devfs_fstat(struct kfile *f, struct linux_stat *st);
/* f is the /dev directory. */
bool devfs_is_dir(const struct kfile *f);
long devfs_getdents64(struct kfile *f, uint64_t dirp, unsigned count);

#endif
