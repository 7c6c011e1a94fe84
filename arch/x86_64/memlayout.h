/*
 * arch/x86_64/memlayout.h - the kernel's virtual address map.
 *
 *   0x0000000000000000 - 0x00007fffffffffff  user space (per mm)
 *   0xffff800000000000 - 0xffffbfffffffffff  direct map of all RAM (64 TiB)
 *   0xffffc00000000000 - 0xffffc0ffffffffff  vmalloc: kernel stacks with
 *                                              guard pages, ioremap
 *   0xffffffff80000000 - ...                 kernel image (-mcmodel=kernel)
 *
 * Every PML4 entry of the upper half is allocated at boot and never changes,
 * so every address space can share them by copying the top 256 entries once.
 */
#ifndef ARCH_X86_64_MEMLAYOUT_H
#define ARCH_X86_64_MEMLAYOUT_H

#include "boot/boot_info.h"

#define PAGE_SHIFT 12
#define PAGE_SIZE  (1ul << PAGE_SHIFT)
#define PAGE_MASK  (~(PAGE_SIZE - 1))

#define PAGE_OFFSET	 BOOT_PAGE_OFFSET
#define DIRECT_MAP_SIZE	 (1ul << 46)
#define VMALLOC_START	 0xffffc00000000000ul
#define VMALLOC_END	 0xffffc10000000000ul
#define KERNEL_VIRT_BASE BOOT_KERNEL_VIRT_BASE
#define USER_SPACE_END	 0x0000800000000000ul

#define phys_to_virt(pa) ((void *)((uint64_t)(pa) + PAGE_OFFSET))
#define virt_to_phys(va) ((uint64_t)(va)-PAGE_OFFSET) /* direct map only */

#endif
