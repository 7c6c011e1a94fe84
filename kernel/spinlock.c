/*
 * kernel/spinlock.c - ticket spinlocks.
 *
 * lock: take a ticket with one atomic fetch-add on `next`, spin until
 * `owner` equals it. unlock: owner++ with release ordering. FIFO, so
 * contention tests can count exactly. `holder` is debug state for
 * assert_spin_locked() and for the "stuck" report.
 */
#include "kernel/spinlock.h"
#include "kernel/sched.h"
#include "kernel/printk.h"
#include "arch/arch.h"

void spin_lock_init(spinlock_t *l, const char *name)
{
	l->owner = 0;
	l->next = 0;
	l->holder = -1;
	l->name = name;
}

void raw_spin_lock(spinlock_t *l)
{
	uint16_t ticket = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);
	uint64_t spins = 0;
	while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != ticket) {
		cpu_relax();
		if (unlikely(++spins == (1ull << 31)) && !panic_in_progress)
			printk("spinlock %s: CPU %d stuck, held by CPU %d\n", l->name,
			       smp_processor_id(), (int)READ_ONCE(l->holder));
	}
	WRITE_ONCE(l->holder, smp_processor_id());
}

bool raw_spin_trylock(spinlock_t *l)
{
	uint16_t owner = __atomic_load_n(&l->owner, __ATOMIC_RELAXED);
	uint16_t expect = owner;
	/* Free iff next == owner; take it by bumping next. */
	if (!__atomic_compare_exchange_n(&l->next, &expect, (uint16_t)(owner + 1), false,
					 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
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
