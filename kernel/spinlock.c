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
 * The mode is chosen once on the boot CPU, before any other CPU runs;
 * `spinlock=fair` or `spinlock=unfair` on the command line overrides it
 * (for measuring one against the other).
 *
 * `holder` is debug state for assert_spin_locked() and the "stuck" report.
 */
#include "kernel/spinlock.h"
#include "kernel/sched.h"
#include "kernel/printk.h"
#include "kernel/cmdline.h"
#include "kernel/string.h"
#include "arch/arch.h"

bool virt_spin_lock_enabled;

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
	printk("spinlock: %s\n", virt_spin_lock_enabled
				     ? "test-and-set (hypervisor: virt_spin_lock)"
				     : "ticket (fair)");
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

static void virt_spin_lock(spinlock_t *l)
{
	uint64_t spins = 0;
	for (;;) {
		uint32_t seen = __atomic_load_n(&l->val, __ATOMIC_RELAXED);
		if (spin_try_word(l, seen))
			return;
		cpu_relax();
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
