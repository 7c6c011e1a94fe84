/* tests/bench.h - in-kernel benchmarks (make bench): figures, not verdicts. */
#ifndef TESTS_BENCH_H
#define TESTS_BENCH_H

/* Runs the benchmarks whose names match filter (NULL: all), printing
 * "bench: <name>: <value> <unit> ..." lines and then "# bench: done". */
void bench_run_all(const char *filter);

#endif
