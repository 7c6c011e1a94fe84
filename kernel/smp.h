/*
 * kernel/smp.h - running functions on other CPUs.
 *
 * smp_call_function_many(mask, fn, arg, wait) queues fn(arg) on every CPU
 * of mask except the caller, sends one IPI to each, and with wait=true spins
 * until every target has run fn and acknowledged. It must be called with
 * interrupts enabled (two CPUs each waiting for the other with interrupts
 * off would deadlock); fn runs in interrupt context on the targets.
 */
#ifndef KERNEL_SMP_H
#define KERNEL_SMP_H

#include "kernel/percpu.h"

typedef void (*smp_call_func_t)(void *arg);

void smp_call_function_many(const cpumask_t *mask, smp_call_func_t fn, void *arg, bool wait);
int smp_call_function_single(int cpu, smp_call_func_t fn, void *arg, bool wait);
/* Every online CPU, the caller included (runs locally with IRQs off). */
void on_each_cpu(smp_call_func_t fn, void *arg, bool wait);
void smp_handle_call_ipi(void); /* VEC_CALL_FUNCTION handler */
void smp_init_cpu(int cpu);

/* Senders halt while they wait for acknowledgements (under a hypervisor;
 * smp.halt_waits=0|1 overrides): set once on the boot CPU. */
extern bool smp_halt_in_waits;
void smp_init_wait_mode(bool hypervisor);

#endif
