/*
 * kernel/spinlock.c - ticket spinlocks, and virt_spin_lock.
 *
 * Ticket lock (bare metal): take a ticket with one atomic fetch-add on
 * `next`, spin until `owner` equals it. unlock: owner++ with release
 * ordering. FIFO: CPUs get the lock in the order they asked.
 *
 * Under a hypervisor FIFO is a trap: a vCPU is a host thread that the host
 * may deschedule at any time. When the lock is released to a waiter whose
 * vCPU is not running, every CPU queued behind it waits for the host to
 * run that vCPU again (milliseconds on an overcommitted host such as TCG
 * with more vCPUs than host cores), although the lock is free. Linux, as a
 * guest without paravirtual spinlocks, falls back from its fair queued
 * lock to a test-and-set lock for this reason (virt_spin_lock(), enabled
 * when CPUID reports a hypervisor): whichever running CPU sees the lock
 * free takes it. Same here, on the same lock word: the lock is free iff
 * owner == next, and a CPU takes it with one compare-and-swap of the whole
 * word from (k, k) to (k, k + 1), spinning on plain loads in between (no
 * cache-line ping-pong while it is held). unlock is the same owner++ in
 * both modes. One 32-bit CAS, not a CAS of `next` alone: after 65536
 * acquisitions `next` alone could be back at an old value while the lock
 * is held; the whole word at (k, k) means free, whatever happened between.
 *
 * A spinning vCPU also burns host time that the lock holder, and the CPUs
 * the holder waits for (a shootdown under the page-table lock), need to
 * run. So a test-and-set waiter that has spun for a while (50 us) halts, as Linux's
 * paravirtual spinlocks do through the hypervisor (pv_wait/pv_kick): it
 * records the lock in lock_waited_on[cpu], counts itself in l->halted,
 * checks once more that the lock is held (full barrier between), and halts
 * with sti; hlt; unlock releases, then (full barrier) reads l->halted and
 * kicks every CPU halted on the lock with an IPI. One of the two sees the
 * other's store, so no wake-up is lost; the timer tick would end a halt
 * anyway. Only a waiter with interrupts on and preemption off halts
 * (spin_lock, not spin_lock_irqsave: an interrupt must be able to end
 * the halt, and the CPU must not switch threads inside it).
 *
 * The mode is chosen once on the boot CPU, before any other CPU runs;
 * `spinlock=fair` or `spinlock=unfair` on the command line overrides it,
 * and `spinlock.halt_us=N` sets how long a test-and-set waiter spins
 * before it halts (0: never; for measuring one against the other).
 *
 * `holder` is debug state for assert_spin_locked() and the "stuck" report.
 */
#include "kernel/spinlock.h"
#include "kernel/sched.h"
#include "kernel/percpu.h"
#include "kernel/printk.h"
#include "kernel/cmdline.h"
#include "kernel/string.h"
#include "arch/arch.h"

bool virt_spin_lock_enabled;
/* A test-and-set waiter halts after spinning this long (spinlock.halt_us;
 * 0: never). Long enough that the short critical sections of a page fault
 * are waited out spinning (a halt and a kick cost more than they last),
 * short enough that a wait for a lock held across a shootdown does not
 * burn a host CPU. */
static uint32_t virt_spin_halt_us = 50;

void spinlock_init_mode(bool hypervisor)
{
	const char *m = cmdline_get("spinlock");
	virt_spin_lock_enabled = hypervisor;
	if (m && !strcmp(m, "fair"))
		virt_spin_lock_enabled = false;
	else if (m && !strcmp(m, "unfair"))
		virt_spin_lock_enabled = true;
	else if (m)
		printk("spinlock: spinlock=%s ignored (fair or unfair)\n", m);
	const char *h = cmdline_get("spinlock.halt_us");
	if (h) {
		uint32_t us = 0;
		for (; *h >= '0' && *h <= '9' && us < 1000000; h++)
			us = us * 10 + (uint32_t)(*h - '0');
		virt_spin_halt_us = us;
	}
	const char *mode =
	    virt_spin_lock_enabled ? "test-and-set (hypervisor: virt_spin_lock)" : "ticket (fair)";
	if (virt_spin_lock_enabled && virt_spin_halt_us)
		printk("spinlock: %s, waiters halt after %u us\n", mode, virt_spin_halt_us);
	else
		printk("spinlock: %s\n", mode);
}

static void spin_report_stuck(spinlock_t *l)
{
	if (!panic_in_progress)
		printk("spinlock %s: CPU %d stuck, held by CPU %d\n", l->name, smp_processor_id(),
		       (int)READ_ONCE(l->holder));
}

/* One attempt: (k, k) -> (k, k + 1). */
static bool spin_try_word(spinlock_t *l, uint32_t seen)
{
	uint16_t owner = (uint16_t)seen, next = (uint16_t)(seen >> 16);
#ifndef MUTATION_VIRT_SPIN_LOCK_NO_FREE_CHECK
	if (owner != next)
		return false;
#else
	(void)owner, (void)next;
#endif
	uint32_t want = seen + (1u << 16);
	return __atomic_compare_exchange_n(&l->val, &seen, want, false, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED);
}

static spinlock_t *volatile lock_waited_on[NR_CPUS];

static bool lock_held(spinlock_t *l)
{
	uint32_t v = __atomic_load_n(&l->val, __ATOMIC_RELAXED);
	return (uint16_t)v != (uint16_t)(v >> 16);
}

static void virt_spin_halt(spinlock_t *l)
{
	int cpu = smp_processor_id();
	unsigned long f = local_irq_save();
	lock_waited_on[cpu] = l;
	__atomic_fetch_add(&l->halted, 1, __ATOMIC_SEQ_CST); /* full barrier */
	if (lock_held(l))
		arch_idle(); /* sti; hlt: a kick cannot slip in between */
	__atomic_fetch_sub(&l->halted, 1, __ATOMIC_RELAXED);
	lock_waited_on[cpu] = NULL;
	local_irq_restore(f);
}

static void virt_spin_kick(spinlock_t *l)
{
	int me = smp_processor_id();
	for_each_online_cpu (c)
		if (c != me && lock_waited_on[c] == l)
			arch_send_ipi(c, VEC_CALL_FUNCTION);
}

static void virt_spin_lock(spinlock_t *l)
{
	bool may_halt =
	    virt_spin_halt_us && !irqs_disabled() && current && current->preempt_count > 0;
	uint64_t spins = 0, since = 0;
	for (;;) {
		uint32_t seen = __atomic_load_n(&l->val, __ATOMIC_RELAXED);
		if (spin_try_word(l, seen))
			return;
		cpu_relax();
		if (may_halt && (spins & 63) == 63) {
			uint64_t now = arch_cycles();
			if (!since)
				since = now;
			else if (now - since > tsc_khz * virt_spin_halt_us / 1000) {
				virt_spin_halt(l);
				since = arch_cycles();
			}
		}
		if (unlikely(++spins == (1ull << 31)))
			spin_report_stuck(l);
	}
}

void spin_lock_init(spinlock_t *l, const char *name)
{
	l->owner = 0;
	l->next = 0;
	l->holder = -1;
	l->name = name;
}

void raw_spin_lock(spinlock_t *l)
{
	if (virt_spin_lock_enabled) {
		virt_spin_lock(l);
		WRITE_ONCE(l->holder, smp_processor_id());
		return;
	}
	uint16_t ticket = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);
	uint64_t spins = 0;
	while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != ticket) {
		cpu_relax();
		if (unlikely(++spins == (1ull << 31)))
			spin_report_stuck(l);
	}
	WRITE_ONCE(l->holder, smp_processor_id());
}

bool raw_spin_trylock(spinlock_t *l)
{
	if (!spin_try_word(l, __atomic_load_n(&l->val, __ATOMIC_RELAXED)))
		return false;
	WRITE_ONCE(l->holder, smp_processor_id());
	return true;
}

void raw_spin_unlock(spinlock_t *l)
{
	WRITE_ONCE(l->holder, -1);
	__atomic_store_n(&l->owner, (uint16_t)(l->owner + 1), __ATOMIC_RELEASE);
	if (virt_spin_lock_enabled) {
		__atomic_thread_fence(__ATOMIC_SEQ_CST); /* the release, then halted */
#ifndef MUTATION_VIRT_SPIN_NO_KICK
		if (unlikely(READ_ONCE(l->halted)))
#else
		if (0)
#endif
			virt_spin_kick(l);
	}
}

void spin_lock(spinlock_t *l)
{
	preempt_disable();
	raw_spin_lock(l);
}

bool spin_trylock(spinlock_t *l)
{
	preempt_disable();
	if (raw_spin_trylock(l))
		return true;
	preempt_enable();
	return false;
}

void spin_unlock(spinlock_t *l)
{
	raw_spin_unlock(l);
	preempt_enable();
}

unsigned long spin_lock_irqsave(spinlock_t *l)
{
	unsigned long f = local_irq_save();
	preempt_disable();
	raw_spin_lock(l);
	return f;
}

void spin_unlock_irqrestore(spinlock_t *l, unsigned long flags)
{
	raw_spin_unlock(l);
	local_irq_restore(flags);
	preempt_enable();
}

bool spin_is_locked(spinlock_t *l)
{
	return READ_ONCE(l->owner) != READ_ONCE(l->next);
}
