/*
 * tests/test_rwsem.c - the rwsem of kernel/rwsem.c (mmap_lock), whose
 * readers take and drop it with one compare-and-swap and no lock.
 *
 *   exclusion: every CPU in a loop takes it, mostly for read, every fourth
 *       time for write: a writer is always alone (no reader, no other
 *       writer inside), the writers' plain increments all count, and
 *       readers share it (at least two inside at once with 2+ CPUs)
 *       (kills RWSEM_READ_IGNORES_WRITER).
 *   writer_waits_and_blocks_readers: with a reader inside, a writer waits;
 *       a reader arriving after the writer waits too (writers are not
 *       starved); the last reader's release wakes the writer, whose
 *       release wakes the new reader (kills RWSEM_UP_READ_NO_WAKE).
 */
#include "tests/ktest.h"
#include "kernel/rwsem.h"
#include "kernel/sched.h"
#include "kernel/smp.h"
#include "kernel/string.h"

static struct rwsem sem;
static volatile int writers_inside, readers_inside, max_readers;
static volatile int violations;
static uint64_t writes;
static uint64_t my_writes[NR_CPUS];

static void hold_a_little(void)
{
	for (int i = 0; i < 200; i++)
		cpu_relax();
}

static void mixed(void *arg, int cpu)
{
	(void)arg;
	uint64_t start = ktime_get_ns(), n = 0;
	for (uint64_t i = 0; ktest_stress_more(start, i, 200, 20000); i++) {
		if ((i + (uint64_t)cpu) % 4 == 0) {
			down_write(&sem);
			if (writers_inside || READ_ONCE(readers_inside))
				__atomic_fetch_add(&violations, 1, __ATOMIC_RELAXED);
			writers_inside = 1;
			uint64_t w = writes;
			hold_a_little();
			writes = w + 1;
			n++;
			writers_inside = 0;
			up_write(&sem);
		} else {
			down_read(&sem);
			int r = __atomic_add_fetch(&readers_inside, 1, __ATOMIC_SEQ_CST);
			if (r > max_readers)
				max_readers = r; /* racy max: only a lower bound */
			if (writers_inside)
				__atomic_fetch_add(&violations, 1, __ATOMIC_RELAXED);
			hold_a_little();
			if (writers_inside)
				__atomic_fetch_add(&violations, 1, __ATOMIC_RELAXED);
			__atomic_sub_fetch(&readers_inside, 1, __ATOMIC_SEQ_CST);
			up_read(&sem);
		}
	}
	my_writes[cpu] = n;
}

static void exclusion(struct ktest *t)
{
	rwsem_init(&sem);
	writes = 0;
	violations = 0;
	max_readers = 0;
	memset(my_writes, 0, sizeof(my_writes));
	ktest_on_each_cpu_thread(mixed, NULL);
	uint64_t sum = 0;
	for_each_online_cpu (i)
		sum += my_writes[i];
	ktest_log(t, "%lu writes, at most %d readers inside at once", sum, max_readers);
	KEXPECT_EQ(t, violations, 0);
	KEXPECT_EQ(t, writes, sum);
	KEXPECT_GT(t, sum, 0);
	if (nr_cpus_online >= 2)
		KEXPECT_GE(t, max_readers, 2);
	KEXPECT_FALSE(t, rwsem_is_locked(&sem));
}

static volatile int got_write, got_read, done_threads;

static void writer_fn(void *arg)
{
	(void)arg;
	down_write(&sem);
	WRITE_ONCE(got_write, 1);
	sleep_ms(20);
	WRITE_ONCE(got_write, 2);
	up_write(&sem);
	__atomic_fetch_add(&done_threads, 1, __ATOMIC_SEQ_CST);
}

static void reader_fn(void *arg)
{
	(void)arg;
	down_read(&sem);
	/* after the writer, never beside it */
	WRITE_ONCE(got_read, READ_ONCE(got_write) == 2 ? 1 : -1);
	up_read(&sem);
	__atomic_fetch_add(&done_threads, 1, __ATOMIC_SEQ_CST);
}

static bool wait_for(volatile int *v, int want, uint64_t ms)
{
	uint64_t until = ktime_get_ns() + ms * 1000000ull;
	while (READ_ONCE(*v) != want && ktime_get_ns() < until)
		sleep_ms(1);
	return READ_ONCE(*v) == want;
}

static void writer_waits_and_blocks_readers(struct ktest *t)
{
	rwsem_init(&sem);
	got_write = got_read = done_threads = 0;
	int threads = sched_thread_count();
	down_read(&sem);
	KASSERT_NOT_NULL(t, thread_create("rwsem-w", writer_fn, NULL, CPU_ANY));
	sleep_ms(50);
	KEXPECT_EQ(t, READ_ONCE(got_write), 0); /* a reader is inside */
	KASSERT_NOT_NULL(t, thread_create("rwsem-r", reader_fn, NULL, CPU_ANY));
	sleep_ms(50);
	KEXPECT_EQ(t, READ_ONCE(got_read), 0); /* a writer waits: no new reader */
	up_read(&sem);
	KEXPECT_TRUE(t, wait_for(&done_threads, 2, 3000));
	KEXPECT_EQ(t, READ_ONCE(got_write), 2);
	KEXPECT_EQ(t, READ_ONCE(got_read), 1);
	ktest_wait_threads(threads); /* reaped */
	KEXPECT_FALSE(t, rwsem_is_locked(&sem));
}

KTEST_SUITE(rwsem, KTEST_CASE(exclusion), KTEST_CASE(writer_waits_and_blocks_readers));
