/*
 * tests/user/bench/munmap.c - the cost of munmap in a process live on
 * several CPUs: the zap, the page and page-table frees and the TLB
 * shootdown (R9: one IPI round per munmap, INVLPG per page up to a
 * ceiling, a full flush beyond).
 *
 * The main thread runs on CPU 0; N-1 other threads of the process spin in
 * user space on CPUs 1..N-1 (so their CPUs hold the mm's translations and
 * are not lazy: every munmap must interrupt them). The main thread maps
 * K pages (K = 1, 32, 512), writes each (so there is something to zap and
 * to flush), and times the munmap alone with RDTSC.
 *
 *   munmap_K_threads_N        cycles per munmap of K touched pages
 *   munmap_K_threads_N_ipis   TLB-shootdown IPIs received per munmap: the
 *                             `TLB` row of /proc/interrupts summed over the
 *                             CPU columns, read before and after a
 *                             repetition, divided by its munmap calls (both
 *                             kernels have that row; Linux's ends in "TLB
 *                             shootdowns")
 *
 * N = 1, 2, 4 (at most the CPU count). Each repetition maps, touches and
 * unmaps for -t MS (150; at least 3 calls): 9 sizes x task counts x 5
 * repetitions, about 7 s under TCG at 4 CPUs.
 */
#include "bench.h"

static _Atomic int spin_stop, spinning;

static void *spinner(void *p)
{
	int cpu = (int)(intptr_t)p;
	if (!pin(cpu))
		printf("# warning: sched_setaffinity(%d): %s\n", cpu, strerror(errno));
	atomic_fetch_add(&spinning, 1);
	while (!atomic_load_explicit(&spin_stop, memory_order_relaxed))
		cpu_relax();
	return NULL;
}

/* The sum of the TLB row's CPU columns, -1 when there is no such row. */
static long tlb_ipis(void)
{
	static char buf[16384];
	int fd = open("/proc/interrupts", O_RDONLY);
	if (fd < 0)
		return -1;
	size_t len = 0;
	ssize_t r;
	while (len < sizeof(buf) - 1 && (r = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += r;
	close(fd);
	buf[len] = 0;
	for (char *line = buf; line && *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		char *s = line;
		while (*s == ' ')
			s++;
		if (strncmp(s, "TLB:", 4))
			continue;
		s += 4;
		long sum = 0;
		for (int col = 0; col < ncpus; col++) {
			char *end;
			long v = strtol(s, &end, 10);
			if (end == s)
				break;
			sum += v;
			s = end;
		}
		return sum;
	}
	return -1;
}

int main(int argc, char **argv)
{
	bench_init(argc, argv, "", NULL);
	if (!pin(0))
		fail("sched_setaffinity(0): %s", strerror(errno));
	int have_ipis = tlb_ipis() >= 0;
	if (!have_ipis)
		printf("# no TLB row in /proc/interrupts: no _ipis figures\n");
	static const int sizes[] = { 1, 32, 512 };
	for (int k = 0; k < 3; k++) {
		int n = task_counts[k];
		if (skip_tasks("munmap", n))
			continue;
		pthread_t th[MAX_TASKS];
		atomic_store(&spin_stop, 0);
		atomic_store(&spinning, 0);
		for (int i = 1; i < n; i++)
			if ((errno = pthread_create(&th[i], NULL, spinner, (void *)(intptr_t)i)))
				fail("pthread_create: %s", strerror(errno));
		while (atomic_load(&spinning) < n - 1)
			sleep_ms(1);
		for (int s = 0; s < 3; s++) {
			size_t len = sizes[s] * PAGE;
			char fig[64], figi[80];
			snprintf(fig, sizeof(fig), "munmap_%d_threads_%d", sizes[s], n);
			snprintf(figi, sizeof(figi), "%s_ipis", fig);
			for (int r = 0; r < reps; r++) {
				uint64_t spent = 0, calls = 0, budget = ms_cycles(rep_ms);
				long i0 = tlb_ipis();
				uint64_t start = rdtsc();
				while (calls < 3 || rdtsc() - start < budget) {
					char *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
						       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
					if (m == MAP_FAILED)
						fail("mmap: %s", strerror(errno));
					for (size_t off = 0; off < len; off += PAGE)
						((volatile char *)m)[off] = 1;
					uint64_t t0 = rdtsc();
					if (munmap(m, len))
						fail("munmap: %s", strerror(errno));
					spent += rdtsc() - t0;
					calls++;
				}
				long i1 = tlb_ipis();
				emit(fig, (double)spent / calls, "cycles");
				if (have_ipis)
					emit(figi, (double)(i1 - i0) / calls, "ipis");
			}
		}
		atomic_store(&spin_stop, 1);
		for (int i = 1; i < n; i++)
			pthread_join(th[i], NULL);
	}
	return 0;
}
