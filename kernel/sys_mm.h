/*
 * kernel/sys_mm.h - the memory system calls (kernel/sys_mm.c): mmap,
 * munmap, mprotect, madvise, brk, mremap, msync, mincore, mlock, munlock,
 * mlock2, mlockall, munlockall, with Linux 6.1's arguments and errors.
 */
#ifndef KERNEL_SYS_MM_H
#define KERNEL_SYS_MM_H

#include "kernel/compiler.h"
#include "mm/mm.h"

/* mmap flags beyond mm/mm.h's (Linux x86-64 values). */
#define MAP_SHARED_VALIDATE 0x03
#define MAP_TYPE	    0x0f
#define MAP_32BIT	    0x40
#define MAP_DENYWRITE	    0x0800
#define MAP_EXECUTABLE	    0x1000
#define MAP_STACK	    0x20000
#define MAP_HUGETLB	    0x40000
#define MAP_SYNC	    0x80000
#define MAP_UNINITIALIZED   0x4000000
/* The flags MAP_SHARED_VALIDATE accepts for a file without an
 * mmap_supported_flags of its own (Linux's LEGACY_MAP_MASK). */
#define LEGACY_MAP_MASK                                                                         \
	(0x01 | 0x02 | 0x10 | 0x20 | MAP_DENYWRITE | MAP_EXECUTABLE | MAP_UNINITIALIZED |       \
	 MAP_GROWSDOWN | MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE | MAP_NONBLOCK | MAP_STACK | \
	 MAP_HUGETLB)

/* The system-call numbers of the calls above that kernel/syscall.h lacks
 * (x86-64 values). */
#define __NR_mremap	25
#define __NR_msync	26
#define __NR_mincore	27
#define __NR_mlock	149
#define __NR_munlock	150
#define __NR_mlockall	151
#define __NR_munlockall 152
#define __NR_mlock2	325

int64_t sys_mmap(uint64_t addr, uint64_t len, uint64_t prot, uint64_t flags, uint64_t fd,
		 uint64_t off);
int64_t sys_munmap(uint64_t addr, uint64_t len);
int64_t sys_mprotect(uint64_t addr, uint64_t len, uint64_t prot);
int64_t sys_madvise(uint64_t addr, uint64_t len, uint64_t advice);
int64_t sys_brk(uint64_t brk);
int64_t sys_mremap(uint64_t addr, uint64_t old_len, uint64_t new_len, uint64_t flags,
		   uint64_t new_addr);
int64_t sys_msync(uint64_t start, uint64_t len, uint64_t flags);
int64_t sys_mincore(uint64_t start, uint64_t len, uint64_t vec);
int64_t sys_mlock(uint64_t start, uint64_t len);
int64_t sys_mlock2(uint64_t start, uint64_t len, uint64_t flags);
int64_t sys_munlock(uint64_t start, uint64_t len);
int64_t sys_mlockall(uint64_t flags);
int64_t sys_munlockall(void);

#endif
