/* kernel/process_vm.h - process_vm_readv / process_vm_writev (process_vm.c). */
#ifndef KERNEL_PROCESS_VM_H
#define KERNEL_PROCESS_VM_H

#include "kernel/compiler.h"

#define __NR_process_vm_readv  310
#define __NR_process_vm_writev 311

long sys_process_vm_readv(int pid, uint64_t lvec, uint64_t liovcnt, uint64_t rvec, uint64_t riovcnt,
			  uint64_t flags);
long sys_process_vm_writev(int pid, uint64_t lvec, uint64_t liovcnt, uint64_t rvec,
			   uint64_t riovcnt, uint64_t flags);

#endif
