/* arch/x86_64/cpu.h - arch-internal declarations shared by arch/x86_64 files. */
#ifndef ARCH_X86_64_CPU_H
#define ARCH_X86_64_CPU_H

#include "kernel/compiler.h"
#include "kernel/sched.h"

#define GDT_KERNEL_CS 0x08
#define GDT_KERNEL_DS 0x10
#define GDT_TSS	      0x30
#define GDT_USER_CS32 0x1b /* RPL 3 */
#define GDT_USER_DS   0x23
#define GDT_USER_CS   0x2b

#define IST_DF	1
#define IST_NMI 2
#define IST_MC	3

void idt_init(void);
void idt_load(void);
void idt_enable_ist(void);
void arch_cpu_setup_tables(int cpu);
void arch_set_kernel_stack(int cpu, uint64_t rsp0);
void arch_print_features(void);
/* A user thread's FPU registers (cpu.c): XSAVE/FXSAVE to and from an area
 * of boot_cpu_features.fpu_size bytes; init: the clean state (a page). */
void fpu_save(void *area);
void fpu_restore(const void *area);
void fpu_init_state(uint8_t *area);
/* The same restore from an image the user supplied (signal_fpu.asm): a
 * fault of XRSTOR/FXRSTOR (reserved MXCSR or header bits) is caught by the
 * exception table: 0 or -EFAULT, and the registers are then undefined. */
int fpu_restore_checked(const void *area, int use_xsave);

#endif
