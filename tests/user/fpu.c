/*
 * tests/user/fpu.c - x87 and SSE state survives preemption, migration and
 * system calls: computations whose results are known exactly are repeated
 * while the program yields the CPU thousands of times (sched_yield), and
 * every round must give bit for bit what the first round gave. The kernel
 * test (tests/test_user.c) runs several copies at once on every CPU, each
 * with its own seed, so a state saved into or restored from the wrong
 * thread, or not at all, changes some copy's numbers.
 *
 *   fpu [SEED [ROUNDS [THREADS]]]     (defaults 1, 2000 and 1)
 *
 * With THREADS > 1, that many threads (pthreads) each run the rounds with
 * seed SEED + 1000 * i, at once, so the FPU state of threads of one
 * process (one mm, so no CR3 switch between them) must not be mixed up.
 *
 * Each round checks:
 *   1. SSE: a sum of sqrt() in doubles (sqrtsd, addsd), compared with the
 *      first round's bits;
 *   2. x87: an 80-bit series of fsqrt/fsin/fmul in inline assembly, with
 *      the running value kept in x87 registers across a sched_yield;
 *   3. integer-exact double sums (sum of k*k, exact below 2^53) against
 *      the integer formula;
 *   4. registers across a system call: xmm0-xmm15 and st(0)-st(1) loaded
 *      with seed-dependent values, a non-default MXCSR rounding mode and
 *      x87 control word, sched_yield inside the same asm block, all read
 *      back unchanged.
 * One KTAP case per check over all rounds; exit 0 if all passed.
 *
 * The work is one worker(struct worker *) call per thread.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct worker {
	unsigned seed;
	long rounds;
	long bad[4]; /* failed rounds of each check */
};

static double sse_series(unsigned seed)
{
	double s = 0;
	for (int k = 1; k <= 200; k++)
		s += sqrt((double)(k + seed)) * 1.0000001;
	return s;
}

/* x = sin(sqrt(x + k)) * 1.5 for k = 1..32, in 80-bit registers; the value
 * stays in st(0) across a sched_yield halfway. */
static long double x87_series(unsigned seed)
{
	long double x = seed, k, half = 1.5L;
	for (int i = 1; i <= 32; i++) {
		k = i;
		__asm__ __volatile__("fadd %2\n\tfsqrt\n\tfsin\n\tfmul %3"
				     : "=t"(x)
				     : "0"(x), "f"(k), "f"(half));
		if (i == 16) {
			long nr = SYS_sched_yield;
			/* the syscall with x live in st(0) */
			__asm__ __volatile__("syscall"
					     : "+a"(nr), "+t"(x)
					     :
					     : "rcx", "r11", "memory");
		}
	}
	return x;
}

static int exact_sums(unsigned seed)
{
	uint64_t n = 1000 + seed % 1000;
	double s = 0;
	for (uint64_t k = 1; k <= n; k++)
		s += (double)(k * k);
	return s == (double)(n * (n + 1) * (2 * n + 1) / 6);
}

/* xmm0-15, st(0), st(1), MXCSR (round toward zero) and the x87 control
 * word (round down) set, sched_yield, all read back. 1 if unchanged. */
static int regs_across_syscall(unsigned seed)
{
	uint64_t in[16], out[16];
	for (int i = 0; i < 16; i++)
		in[i] = 0x0101010101010101ull * (uint64_t)(seed + i) ^ (uint64_t)i << 56;
	uint32_t mx_in = 0x7f80 | 0x6000, mx_out = 0; /* masked, RC = toward zero */
	uint16_t cw_in = 0x037f | 0x0400, cw_out = 0; /* RC = down */
	uint64_t st_in[2] = { seed * 3ull + 1, seed * 5ull + 2 }, st_out[2] = { 0, 0 };
	uint32_t mx_save;
	uint16_t cw_save;
	long nr = SYS_sched_yield;
	__asm__ __volatile__(
	    "stmxcsr %[mxs]\n\tfnstcw %[cws]\n\t"
	    "ldmxcsr %[mxi]\n\tfldcw %[cwi]\n\t"
	    "fildq %[st0]\n\tfildq %[st1]\n\t"
#define LD(i) "movq " #i "*8(%[in]), %%xmm" #i "\n\t"
	    LD(0) LD(1) LD(2) LD(3) LD(4) LD(5) LD(6) LD(7) LD(8) LD(9) LD(10) LD(11) LD(12) LD(13)
		LD(14) LD(15)
#undef LD
		    "syscall\n\t"
#define ST(i) "movq %%xmm" #i ", " #i "*8(%[out])\n\t"
	    ST(0) ST(1) ST(2) ST(3) ST(4) ST(5) ST(6) ST(7) ST(8) ST(9) ST(10) ST(11) ST(12) ST(13)
		ST(14) ST(15)
#undef ST
		    "fistpq %[so1]\n\tfistpq %[so0]\n\t"
		    "stmxcsr %[mxo]\n\tfnstcw %[cwo]\n\t"
		    "ldmxcsr %[mxs]\n\tfldcw %[cws]"
	    : "+a"(nr), [mxs] "=m"(mx_save), [cws] "=m"(cw_save), [mxo] "=m"(mx_out),
	      [cwo] "=m"(cw_out), [so0] "=m"(st_out[0]), [so1] "=m"(st_out[1])
	    : [in] "r"(in), [out] "r"(out), [mxi] "m"(mx_in), [cwi] "m"(cw_in), [st0] "m"(st_in[0]),
	      [st1] "m"(st_in[1])
	    : "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
	      "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "st",
	      "st(1)");
	return !memcmp(in, out, sizeof(in)) && (mx_out & 0xffbf) == (mx_in & 0xffbf) &&
	       cw_out == cw_in && st_out[0] == st_in[0] && st_out[1] == st_in[1];
}

static void worker(struct worker *w)
{
	double sse0 = sse_series(w->seed);
	long double x870 = x87_series(w->seed);
	for (long r = 0; r < w->rounds; r++) {
		double s = sse_series(w->seed);
		w->bad[0] += memcmp(&s, &sse0, sizeof(s)) != 0;
		syscall(SYS_sched_yield);
		long double x = x87_series(w->seed);
		w->bad[1] += memcmp(&x, &x870, 10) != 0;
		w->bad[2] += !exact_sums(w->seed + (unsigned)r);
		w->bad[3] += !regs_across_syscall(w->seed + (unsigned)r);
	}
}

static void *worker_thread(void *arg)
{
	worker(arg);
	return NULL;
}

#define MAX_THREADS 16

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	unsigned seed = argc > 1 ? (unsigned)atoi(argv[1]) : 1;
	long rounds = argc > 2 ? atol(argv[2]) : 2000;
	int threads = argc > 3 ? atoi(argv[3]) : 1;
	if (threads < 1 || threads > MAX_THREADS)
		threads = 1;
	static struct worker w[MAX_THREADS];
	pthread_t th[MAX_THREADS];
	static const char *const what[4] = {
		"SSE sqrt series bit-exact",
		"x87 fsqrt/fsin series bit-exact (live in st(0) across a syscall)",
		"integer-exact double sums",
		"xmm0-15, st(0-1), MXCSR and FCW across sched_yield",
	};
	printf("KTAP version 1\n1..4\n# fpu: seed %u, %ld rounds, %d threads\n", seed, rounds,
	       threads);
	for (int i = 0; i < threads; i++) {
		w[i] = (struct worker){ .seed = seed + 1000u * (unsigned)i, .rounds = rounds };
		if (i && pthread_create(&th[i], NULL, worker_thread, &w[i]))
			return 2;
	}
	worker(&w[0]);
	for (int i = 1; i < threads; i++)
		pthread_join(th[i], NULL);
	int failed = 0;
	for (int c = 0; c < 4; c++) {
		long bad = 0;
		for (int i = 0; i < threads; i++)
			bad += w[i].bad[c];
		failed |= bad != 0;
		printf("%sok %d %s (seed %u: %ld of %ld rounds wrong in %d threads)\n",
		       bad ? "not " : "", c + 1, what[c], seed, bad, rounds * threads, threads);
	}
	return failed;
}
