/*
 * tests/bench.c - benchmarks: figures printed as "bench: name: value unit".
 * Run by `make bench` (bench.run=1 on the kernel command line), never by
 * the test suite. Times are TSC cycles of the emulated CPU: compare them
 * with each other, not with real hardware.
 *
 *   tlb_munmap        IPIs, IPI rounds and cycles per munmap of 1, 32 and 512
 *                     touched pages of an mm live on up to 4 CPUs (R9)
 *   tlb_shootdown     cycles per flush_tlb_mm_range round to the live CPUs
 */
#include "tests/bench.h"
#include "tests/ktest_mm.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "kernel/stats.h"

#define REGION 0x40000000ull

static void bench_tlb_munmap(void)
{
	struct mm *mm = mm_alloc();
	if (!mm)
		return;
	use_mm(mm);
	uint64_t live = ktest_mmap(mm, PAGE_SIZE);
	static struct live_worker w[3];
	int n = start_live_workers(w, 3, mm, live);
	static const int sizes[] = { 1, 32, 512 };
	enum { ROUNDS = 10 };
	for (size_t k = 0; k < ARRAY_SIZE(sizes); k++) {
		uint64_t len = sizes[k] * PAGE_SIZE, cycles = 0;
		uint64_t ipis = event_sum(EV_TLB_IPI_SENT), rounds = event_sum(EV_TLB_SHOOTDOWN);
		for (int r = 0; r < ROUNDS; r++) {
			vm_mmap(mm, REGION, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
			for (int i = 0; i < sizes[k]; i++)
				put_user_u64(REGION + i * PAGE_SIZE, i);
			uint64_t t0 = arch_cycles();
			vm_munmap(mm, REGION, len);
			cycles += arch_cycles() - t0;
		}
		printk("bench: tlb_munmap_%d_pages_%d_cpus: %lu.%lu IPIs, %lu.%lu IPI rounds, "
		       "%lu cycles per munmap\n", sizes[k], n + 1,
		       (event_sum(EV_TLB_IPI_SENT) - ipis) / ROUNDS,
		       (event_sum(EV_TLB_IPI_SENT) - ipis) % ROUNDS * 10 / ROUNDS,
		       (event_sum(EV_TLB_SHOOTDOWN) - rounds) / ROUNDS,
		       (event_sum(EV_TLB_SHOOTDOWN) - rounds) % ROUNDS * 10 / ROUNDS, cycles / ROUNDS);
	}
	stop_live_workers(w, n);
	unuse_mm(mm);
	mmput(mm);
}

static void bench_tlb_shootdown(void)
{
	struct mm *mm = mm_alloc();
	if (!mm)
		return;
	use_mm(mm);
	uint64_t live = ktest_mmap(mm, PAGE_SIZE);
	static struct live_worker w[3];
	int n = start_live_workers(w, 3, mm, live);
	enum { ROUNDS = 200 };
	uint64_t t0 = arch_cycles();
	for (int r = 0; r < ROUNDS; r++)
		flush_tlb_mm_range(mm, live, live + PAGE_SIZE, false);
	uint64_t cycles = (arch_cycles() - t0) / ROUNDS;
	printk("bench: tlb_shootdown_round_%d_cpus: %lu cycles per round (%lu us at %lu MHz)\n",
	       n + 1, cycles, cycles * 1000 / (tsc_khz ? tsc_khz : 1), tsc_khz / 1000);
	stop_live_workers(w, n);
	unuse_mm(mm);
	mmput(mm);
}

static const struct {
	const char *name;
	void (*fn)(void);
} benches[] = {
	{ "tlb_munmap", bench_tlb_munmap },
	{ "tlb_shootdown", bench_tlb_shootdown },
};

static bool bench_selected(const char *filter, const char *name)
{
	if (!filter || !*filter)
		return true;
	char buf[128];
	strlcpy(buf, filter, sizeof(buf));
	for (char *p = buf, *comma; p; p = comma ? comma + 1 : NULL) {
		comma = strchr(p, ',');
		if (comma)
			*comma = 0;
		if (glob_match(p, name))
			return true;
	}
	return false;
}

void bench_run_all(const char *filter)
{
	printk("# bench: %d CPUs online\n", nr_cpus_online);
	for (size_t i = 0; i < ARRAY_SIZE(benches); i++)
		if (bench_selected(filter, benches[i].name))
			benches[i].fn();
	printk("# bench: done\n");
}
