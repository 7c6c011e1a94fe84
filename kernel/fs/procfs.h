/*
 * kernel/fs/procfs.h - /proc (see procfs.c): the hooks the file system
 * calls of kernel/sys_file.c and kernel/file.c use for paths under /proc.
 */
#ifndef KERNEL_FS_PROCFS_H
#define KERNEL_FS_PROCFS_H

#include "kernel/compiler.h"

struct kfile;
struct linux_stat;

/* path (absolute, normalized) is /proc or below it. */
bool procfs_path(const char *path);

/*
 * Open a /proc path (the last component followed unless O_NOFOLLOW).
 * 0 with *out; 1 when the path is a link to a file of SFS
 * (/proc/PID/exe): its path is copied to redirect[PATH_MAX] and the caller
 * opens that instead; -errno (-ENOENT: no such entry or process).
 */
int procfs_open(const char *path, int flags, bool dir_only, struct kfile **out, char *redirect);

/* stat of a /proc path: 0, 1 (redirect, as procfs_open), or -errno. */
int procfs_stat(const char *path, bool follow, bool dir_only, struct linux_stat *st,
		char *redirect);
/* fstat of an open /proc kfile. */
void procfs_fstat(struct kfile *f, struct linux_stat *st);
/* getdents64 on an open /proc directory. */
long procfs_getdents64(struct kfile *f, uint64_t dirp, unsigned count);
/* readlink of a /proc path: the length copied, -EINVAL (not a link),
 * -ENOENT. */
long procfs_readlink(const char *path, uint64_t ubuf, int bufsiz);
/* The kfile is a /proc directory (dirfd-relative paths resolve in it). */
bool procfs_is_dir(struct kfile *f);

/* A file of SFS was opened (or execve'd) by this path: remember it, so
 * /proc/PID/maps can name the file a VMA maps. */
void procfs_note_path(uint32_t ino, const char *path);

/* The memory figures /proc/meminfo and sysinfo show, in pages. */
struct meminfo_counts {
	uint64_t total, free, available, cached, shmem, anon, mapped, dirty, slab, pagetables;
};
void proc_meminfo_counts(struct meminfo_counts *mc);

#endif
