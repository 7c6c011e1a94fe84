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

static inline bool access_ok(uint64_t uaddr, uint64_t n)
{
	return uaddr < USER_SPACE_END && n <= USER_SPACE_END - uaddr;
}
static inline int get_user_u64(uint64_t *val, uint64_t uaddr)
{
	return access_ok(uaddr, 8) ? __get_user_8(uaddr, val) : -14;
}
static inline int put_user_u64(uint64_t uaddr, uint64_t val)
{
	return access_ok(uaddr, 8) ? __put_user_8(uaddr, val) : -14;
}
static inline int copy_to_user(uint64_t uaddr, const void *src, uint64_t n)
{
	return access_ok(uaddr, n) ? __copy_user((void *)uaddr, src, n) : -14;
}
static inline int copy_from_user(void *dst, uint64_t uaddr, uint64_t n)
{
	return access_ok(uaddr, n) ? __copy_user(dst, (const void *)uaddr, n) : -14;
}

/* The fixup for a faulting kernel instruction, or 0. */
uint64_t search_exception_table(uint64_t rip);
extern bool uaccess_smap;

#endif
