/*
 * kernel/spinlock.h - ticket spinlocks, and the unfair fallback a guest
 * uses (virt_spin_lock, see kernel/spinlock.c).
 *
 * On bare metal a ticket lock is fair: CPUs get the lock in the order they
 * asked. Under a hypervisor the same lock word is taken test-and-set
 * style (Linux's virt_spin_lock). spin_lock() disables preemption;
 * spin_lock_irqsave() also disables interrupts on this CPU (use it for any
 * lock an interrupt handler takes). Lock order is documented by each user.
 * A lock that spins for very long prints who holds it (debugging aid; the
 * spin goes on).
 */
#ifndef KERNEL_SPINLOCK_H
#define KERNEL_SPINLOCK_H

#include "kernel/compiler.h"
#include "kernel/panic.h"

typedef struct spinlock {
	union {
		struct {
			uint16_t owner; /* ticket being served */
			uint16_t next;	/* next ticket to hand out */
		};
		uint32_t val; /* both: free iff owner == next */
	};
	int16_t holder;	 /* CPU holding it, -1 if none (debug only) */
	uint16_t halted; /* CPUs halted waiting for it (virt_spin_lock) */
	const char *name;
} spinlock_t;

#define SPINLOCK_INIT(n)                                       \
	{                                                      \
		.owner = 0, .next = 0, .holder = -1, .name = n \
	}
#define DEFINE_SPINLOCK(x) spinlock_t x = SPINLOCK_INIT(#x)

void spin_lock_init(spinlock_t *l, const char *name);
void spin_lock(spinlock_t *l);
void spin_unlock(spinlock_t *l);
bool spin_trylock(spinlock_t *l);
unsigned long spin_lock_irqsave(spinlock_t *l);
void spin_unlock_irqrestore(spinlock_t *l, unsigned long flags);
bool spin_is_locked(spinlock_t *l);

/* Raw variants: no preemption accounting (scheduler internals, printk). */
void raw_spin_lock(spinlock_t *l);
void raw_spin_unlock(spinlock_t *l);
bool raw_spin_trylock(spinlock_t *l);

/* Take locks test-and-set style (true under a hypervisor, unless
 * spinlock=fair): set once on the boot CPU before the others start. */
extern bool virt_spin_lock_enabled;
void spinlock_init_mode(bool hypervisor);

int smp_processor_id(void);
#define assert_spin_locked(l)                                                              \
	do {                                                                               \
		if (unlikely(READ_ONCE((l)->holder) != smp_processor_id()))                \
			panic("%s:%d: lock %s not held by this CPU (holder %d)", __FILE__, \
			      __LINE__, (l)->name, (int)READ_ONCE((l)->holder));           \
	} while (0)

#endif
