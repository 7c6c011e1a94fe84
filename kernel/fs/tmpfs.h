/*
 * kernel/fs/tmpfs.h - the memory file system on /tmp (kernel/fs/tmpfs.c).
 * Paths are absolute and normalized, under TMPFS_ROOT, symbolic links
 * followed by the caller (kernel/sys_file.c) except where a call does not
 * follow its last component. -errno as Linux's tmpfs.
 */
#ifndef KERNEL_FS_TMPFS_H
#define KERNEL_FS_TMPFS_H

#include "kernel/compiler.h"

#define TMPFS_ROOT  "/tmp"
#define TMPFS_MAGIC 0x01021994

#define TMPFS_REG 1
#define TMPFS_DIR 2
#define TMPFS_LNK 3

struct kfile;
struct linux_stat;

/* Is /tmp mounted (always, once the kernel runs: /proc/mounts lists it)? */
bool tmpfs_mounted(void);
/* Is path TMPFS_ROOT or under it? */
bool tmpfs_path(const char *path);
/* The type (TMPFS_REG, _DIR, _LNK) of what is at path, or -errno. */
int tmpfs_type(const char *path);
int tmpfs_stat(const char *path, struct linux_stat *st); /* not followed */
/* Open (O_CREAT: create a missing regular file; O_TRUNC; O_PATH): a memfd
 * kfile for a file, a KFILE_TMPFS_DIR kfile for a directory; -ELOOP on a
 * symbolic link. The caller checked O_EXCL, O_DIRECTORY and the access
 * mode against the type. */
int tmpfs_open(const char *path, int flags, struct kfile **out);
int tmpfs_mkdir(const char *path);
int tmpfs_symlink(const char *target, const char *path);
int tmpfs_readlink(const char *path, char *buf, size_t size);
int tmpfs_unlink(const char *path, bool rmdir);
int tmpfs_link(const char *oldpath, const char *newpath);
/* flags: SFS_RENAME_NOREPLACE / SFS_RENAME_EXCHANGE (kernel/fs/fs.h) */
int tmpfs_rename(const char *oldpath, const char *newpath, unsigned flags);
/* A KFILE_TMPFS_DIR kfile: fstat, and getdents64's entry at position pos
 * (0 ".", 1 "..", then the entries): 1 with name (NUL-terminated, at most
 * 256 bytes), ino and d_type, or 0 past the end. */
void tmpfs_fstat_dir(struct kfile *f, struct linux_stat *st);
int tmpfs_dir_entry(struct kfile *f, uint64_t pos, char *name, uint64_t *ino, uint8_t *dtype);

#endif
