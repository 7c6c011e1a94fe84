/* mm/shmem.h - memory-backed files (see mm/shmem.c). */
#ifndef MM_SHMEM_H
#define MM_SHMEM_H

#include "kernel/compiler.h"

struct inode;

/* A new memory file of size bytes with one reference, or NULL. */
struct inode *shmem_file_setup(uint64_t size);
bool is_shmem_inode(const struct inode *inode);

/* References to whatever a VMA maps: a memory file or an SFS inode. */
void mapped_file_get(struct inode *inode);
void mapped_file_put(struct inode *inode);

#endif
