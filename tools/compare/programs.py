"""tools/compare/programs.py - what `make compare` runs on both kernels.

PROGRAMS: the functional comparison, one entry per run: (name, argv). The
name is what TESTS= selects (a comma-separated list of names or of globs:
TESTS=files,fault-*); argv[0] is the path in both guests' /bin. A program
that prints KTAP lines ("ok N what" / "not ok N what") is compared check by
check (by its text); every entry is compared by its exit status (a shell's:
128+S when signal S killed it).

BENCHMARKS: the benchmark programs of tests/user/bench/ (built by
tests/compare.mk into build/user/bench/NAME, in both guests' /bin/bench/).
Adding one is adding tests/user/bench/NAME.c and one line here:
    ("NAME", ["/bin/bench/NAME", "args"]),
Each prints "bench: FIGURE: VALUE UNIT" lines, one per repetition (5 by
default, -r N), UNIT one of cycles (a cost), ops/s, MB/s (rates) or ipis,
and "# tsc_hz N" once (tests/user/bench/bench.h); the runner takes the
median and spread of each figure on each kernel.

SKIPPED: programs of tests/user/ that are not run, with the reason (shown
in the table).
"""

# Linux 6.1's signal for each exception (tests/test_user.c faults_musl).
FAULTS = ["de", "ud", "gp", "pf", "bp", "of", "ss", "np", "ac", "mf", "xm",
          "db", "io", "hlt", "cli", "none"]

PROGRAMS = [
    ("hello", ["/bin/hello"]),
    ("hello-glibc", ["/bin/hello-glibc"]),
    ("hello-glibc-pie", ["/bin/hello-glibc-pie"]),
    # No /lib/ld-musl-x86_64.so.1 in either guest: execve fails with
    # ENOENT on both (status 127).
    ("hello-dynamic", ["/bin/hello-dynamic"]),
    # argc, argv and the environment (HOME=/ TERM=linux: compare_init's).
    ("args", ["/bin/args", "argc=4", "arg=1=argc=4", "envc=2"]),
    ("args-glibc", ["/bin/args-glibc", "argc=4", "arg=1=argc=4", "envc=2"]),
    ("files", ["/bin/files"]),
    # issue 15's file calls, in the parts tests/test_files.c runs
    ("files-ops", ["/bin/files", "ops"]),
    ("files-ns", ["/bin/files", "ns", "/ft"]),
    ("files-ns-tmp", ["/bin/files", "ns", "/tmp/ft"]),
    ("files-ops-glibc", ["/bin/files-glibc", "ops"]),
    ("proc", ["/bin/proc"]),
    ("proc-glibc", ["/bin/proc-glibc"]),
    ("threads", ["/bin/threads"]),
    ("threads-glibc", ["/bin/threads-glibc"]),
    # The main thread exits with 5 while 3 threads spin (exit_group).
    ("threads-spin-exit", ["/bin/threads", "spin-exit", "3"]),
    ("futex", ["/bin/futex"]),
    ("mmap", ["/bin/mmap"]),
    ("misc", ["/bin/misc"]),
    ("time", ["/bin/time"]),
    ("time-glibc", ["/bin/time-glibc"]),
    ("signals", ["/bin/signals"]),
    ("signals-glibc", ["/bin/signals-glibc"]),
    ("signals-ipi", ["/bin/signals", "ipi"]),
    ("sigpairs", ["/bin/sigpairs"]),
    ("fpu", ["/bin/fpu", "5", "800", "4"]),
    # A system call at the top of user space: SIGSEGV on return (139).
    ("sysret", ["/bin/sysret"]),
    ("oom", ["/bin/oom"]),
    # issue 15: poll/ppoll/select/pselect6 and /dev (tests/test_tty.c)
    ("poll", ["/bin/poll"]),
    ("dev", ["/bin/dev"]),
] + [("fault-" + f, ["/bin/fault", f]) for f in FAULTS]

BENCHMARKS = [
    # Each about 10-20 s under TCG at SMP=4 (the header comment of each
    # tests/user/bench/NAME.c says what it measures and how long it takes).
    ("bench-page_fault", ["/bin/bench/page_fault"]),
    ("bench-tlb_flush", ["/bin/bench/tlb_flush"]),
    ("bench-munmap", ["/bin/bench/munmap"]),
    ("bench-fork", ["/bin/bench/fork"]),
    ("bench-io", ["/bin/bench/io"]),
    ("bench-sys", ["/bin/bench/sys"]),
]

SKIPPED = [
    ("tty", "needs input typed on the console while it reads (the in-kernel "
     "harness types it: tests/test_tty.c)"),
    ("signals-console", "needs a line typed on the console while it reads "
     "(the in-kernel harness types it: tests/test_user.c)"),
    ("signals-init", "must itself be pid 1; compare_init is the init of "
     "both boots"),
    ("sysfuzz", "random system calls, not a comparison (make fuzz-syscalls)"),
    ("soak", "random stress against a model, not a comparison (make soak)"),
    ("ubench", "figures, not checks: the benchmark part of make compare "
     "(later)"),
]
