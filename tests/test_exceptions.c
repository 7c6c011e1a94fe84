/*
 * tests/test_exceptions.c - exceptions raised in a test context are
 * reported with the right vector, error code, faulting address and RIP,
 * and the kernel goes on (ktest_catch_fault); unexpected ones are fatal
 * (seen in every panic log: vector, registers, backtrace).
 */
#include "tests/ktest.h"
#include "arch/x86_64/trap.h"
#include "mm/vmalloc.h"
#include "kernel/panic.h"

static void touch(void *addr)
{
	(void)*(volatile uint64_t *)addr;
}

static void page_fault_reported(struct ktest *t)
{
	uint64_t va = vmap_reserve(PAGE_SIZE) + 0x10;
	struct fault_catch fc;
	KEXPECT_EQ(t, ktest_catch_fault(VEC_BIT(EXC_PF), touch, (void *)va, &fc), EXC_PF);
	KEXPECT_EQ(t, fc.cr2, va);
	KEXPECT_EQ(t, fc.error_code & PF_USER, 0);
	KEXPECT_GE(t, fc.rip, KERNEL_VIRT_BASE);
	KEXPECT_EQ(t, current->fault_catch, NULL); /* disarmed */
}

static void general_protection_reported(struct ktest *t)
{
	struct fault_catch fc;
	/* A non-canonical address raises #GP, not #PF. */
	KEXPECT_EQ(t, ktest_catch_fault(VEC_BIT(EXC_GP), touch, (void *)0x8000000000000000ull, &fc),
		   EXC_GP);
	KEXPECT_EQ(t, fc.error_code, 0);
}

static void do_bug(void *arg)
{
	BUG_ON(arg != NULL);
}

static void bug_is_invalid_opcode(struct ktest *t)
{
	struct fault_catch fc;
	KEXPECT_EQ(t, ktest_catch_fault(VEC_BIT(EXC_UD), do_bug, (void *)1, &fc), EXC_UD);
	KEXPECT_EQ(t, ktest_catch_fault(VEC_BIT(EXC_UD), do_bug, NULL, &fc), -1);
}

static void divide(void *arg)
{
	volatile int zero = 0;
	*(volatile int *)arg = 10 / zero;
}

static void divide_error_reported(struct ktest *t)
{
	int out = 0;
	struct fault_catch fc;
	KEXPECT_EQ(t, ktest_catch_fault(VEC_BIT(EXC_DE), divide, &out, &fc), EXC_DE);
}

static void breakpoint(void *arg)
{
	__asm__ __volatile__("int3");
}

static void breakpoint_reported(struct ktest *t)
{
	struct fault_catch fc;
	KEXPECT_EQ(t, ktest_catch_fault(VEC_BIT(EXC_BP), breakpoint, NULL, &fc), EXC_BP);
}

/* Only the vectors asked for are caught; state is intact afterwards. */
static void catch_is_selective_and_restores(struct ktest *t)
{
	struct fault_catch fc;
	volatile uint64_t marker = 0x1122334455667788ull;
	bool irqs_before = irqs_disabled();
	KEXPECT_EQ(t,
		   ktest_catch_fault(VEC_BIT(EXC_PF) | VEC_BIT(EXC_GP), touch,
				     (void *)0x8000000000000000ull, &fc),
		   EXC_GP);
	KEXPECT_EQ(t, marker, 0x1122334455667788ull);
	KEXPECT_EQ(t, irqs_disabled(), irqs_before);
	KEXPECT_EQ(t, current->preempt_count, 0);
}

/* Explicit only: shows the panic report (vector, CR2, registers, symbolized
 * backtrace) and that the runner fails on a panic. */
static void unexpected_fault_panics(struct ktest *t)
{
	touch((void *)(VMALLOC_END - PAGE_SIZE));
	KEXPECT_TRUE(t, false); /* not reached */
}

KTEST_SUITE(exceptions, KTEST_CASE(page_fault_reported), KTEST_CASE(general_protection_reported),
	    KTEST_CASE(bug_is_invalid_opcode), KTEST_CASE(divide_error_reported),
	    KTEST_CASE(breakpoint_reported), KTEST_CASE(catch_is_selective_and_restores),
	    KTEST_CASE_EXPLICIT(unexpected_fault_panics));
