/*
 * arch/x86_64/uaccess.h - kernel access to user memory (see uaccess.asm).
 * All return 0 or -EFAULT; a fault in the user range is resolved like a
 * user fault first (demand paging, COW). Must not be called in atomic
 * context (the fault may sleep on the mmap_lock): it then fails instead.
 */
#ifndef ARCH_X86_64_UACCESS_H
#define ARCH_X86_64_UACCESS_H

#include "kernel/compiler.h"
#include "arch/x86_64/memlayout.h"

int __get_user_8(uint64_t uaddr, uint64_t *out);
int __put_user_8(uint64_t uaddr, uint64_t val);
int __copy_user(void *dst, const void *src, uint64_t n);

/* The range lies in user space (any address space: GUP checks a remote
 * mm's range with it too). */
static inline bool access_ok(uint64_t uaddr, uint64_t n)
{
	return uaddr < USER_SPACE_END && n <= USER_SPACE_END - uaddr;
}
/* The user half loaded on this CPU is the calling thread's own (it has an
 * mm): a thread without one runs on whatever tables were loaded last (lazy
 * TLB) and must not read or write another process's memory through them
 * (Linux's nmi_uaccess_okay asks the same). mm/mm.c. */
bool uaccess_mm_ok(void);
static inline bool uaccess_ok(uint64_t uaddr, uint64_t n)
{
	return access_ok(uaddr, n) && uaccess_mm_ok();
}
static inline int get_user_u64(uint64_t *val, uint64_t uaddr)
{
	return uaccess_ok(uaddr, 8) ? __get_user_8(uaddr, val) : -14;
}
static inline int put_user_u64(uint64_t uaddr, uint64_t val)
{
	return uaccess_ok(uaddr, 8) ? __put_user_8(uaddr, val) : -14;
}
static inline int copy_to_user(uint64_t uaddr, const void *src, uint64_t n)
{
	return uaccess_ok(uaddr, n) ? __copy_user((void *)uaddr, src, n) : -14;
}
static inline int copy_from_user(void *dst, uint64_t uaddr, uint64_t n)
{
	return uaccess_ok(uaddr, n) ? __copy_user(dst, (const void *)uaddr, n) : -14;
}

/* The fixup for a faulting kernel instruction, or 0. */
uint64_t search_exception_table(uint64_t rip);
extern bool uaccess_smap;

#endif
