/*
 * kernel/panic.c - panic, BUG and WARN reporting.
 *
 * The first CPU to panic wins (panic_cpu); a second CPU that panics at the
 * same time halts quietly so the first report stays readable. The winner
 * takes the console lock by force (another CPU may have died holding it),
 * stops the other CPUs with an NMI, prints, and halts or exits QEMU.
 */
#include "kernel/panic.h"
#include "kernel/printk.h"
#include "kernel/percpu.h"
#include "kernel/sched.h"
#include "arch/arch.h"

volatile int panic_in_progress;
bool qemu_exit_on_panic;
static int panic_cpu = -1;

void panic_begin(void)
{
	local_irq_disable();
	int me = smp_processor_id();
	int expected = -1;
	if (!__atomic_compare_exchange_n(&panic_cpu, &expected, me, false, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST) &&
	    expected != me)
		arch_halt_forever();
	panic_in_progress = 1;
	printk_force_unlock();
	arch_send_nmi_allbutself();
}

__noreturn void panic_end(void)
{
	printk("---[ end kernel panic ]---\n");
	if (qemu_exit_on_panic)
		arch_qemu_exit(1);
	arch_halt_forever();
}

void panic(const char *fmt, ...)
{
	panic_begin();
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	struct thread *t = this_cpu()->curr;
	printk("KERNEL PANIC on CPU %d: %s\nthread %d (%s)\nBacktrace:\n", smp_processor_id(), buf,
	       t ? t->tid : -1, t ? t->name : "?");
	arch_dump_stack();
	panic_end();
}

static int bug_expect_depth;
static unsigned bug_expect_seen;

void bug_expect_begin(void)
{
	if (__atomic_fetch_add(&bug_expect_depth, 1, __ATOMIC_SEQ_CST) == 0)
		__atomic_store_n(&bug_expect_seen, 0, __ATOMIC_SEQ_CST);
}

unsigned bug_expect_end(void)
{
	unsigned seen = __atomic_load_n(&bug_expect_seen, __ATOMIC_SEQ_CST);
	__atomic_sub_fetch(&bug_expect_depth, 1, __ATOMIC_SEQ_CST);
	return seen;
}

const char *bug_tag(void)
{
	if (__atomic_load_n(&bug_expect_depth, __ATOMIC_SEQ_CST) > 0 && !panic_in_progress) {
		__atomic_add_fetch(&bug_expect_seen, 1, __ATOMIC_SEQ_CST);
		return "BUG (expected):";
	}
	return "BUG:";
}

void __bug_report(const char *file, int line, const char *cond)
{
	printk("%s at %s:%d%s%s%s on CPU %d\n", bug_tag(), file, line, cond ? " (" : "",
	       cond ? cond : "", cond ? ")" : "", smp_processor_id());
}

void __warn_report(const char *file, int line, const char *cond)
{
	printk("WARNING: at %s:%d (%s) on CPU %d\n", file, line, cond, smp_processor_id());
	arch_dump_stack();
}
