/* kernel/memfd.h - memfd_create(2), fallocate(2) and the memfd kfile
 * (kernel/memfd.c). */
#ifndef KERNEL_MEMFD_H
#define KERNEL_MEMFD_H

#include "kernel/compiler.h"
#include "kernel/file.h"

struct kfile;
struct inode;

/* The kfile type of a memfd. Not (yet) in kernel/file.h's enum kfile_type:
 * a value outside it, so that the switches of kernel/sys_file.c (another
 * part of issue 13) still compile; they treat it as no type they know
 * (fill_stat leaves the stat zero: fstat and ftruncate of a memfd come here
 * first, see memfd_fstat). To be moved into the enum when those learn it. */
#define KFILE_MEMFD ((enum kfile_type)16)

#define __NR_fallocate	  285
#define __NR_memfd_create 319

long sys_memfd_create(uint64_t uname, unsigned flags);
long sys_fallocate(int fd, int mode, int64_t offset, int64_t len);
/* ftruncate(2) and fstat(2): a memfd's here, every other fd's
 * kernel/sys_file.c's (sys_ftruncate, sys_fstat). */
long memfd_ftruncate(unsigned fd, int64_t length);
long memfd_fstat(unsigned fd, uint64_t statbuf);
long memfd_newfstatat(int dirfd, uint64_t upath, uint64_t statbuf, int flags);

bool is_memfd(struct kfile *f);
/* /tmp's files (kernel/fs/tmpfs.c): a memfd kfile on an existing shmem
 * inode (a new reference on it), opened with flags' access mode and status
 * flags; NULL on no memory. A tmpfs file's inode has SHMEM_TMPFS_FILE in
 * d.flags and its link count in d.nlink. */
#define SHMEM_TMPFS_FILE 0x1u
struct kfile *memfd_file_open(struct inode *inode, int flags);
/* ftruncate of a memfd's inode (O_TRUNC of a /tmp file). */
int memfd_truncate_inode(struct inode *inode, uint64_t size);
/* The shmem inode of a memfd kfile (for mmap), NULL for any other. */
struct inode *memfd_file_inode(struct kfile *f);

#endif
