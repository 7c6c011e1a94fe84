# tests/long.mk - the long runs: the system-call fuzzer and the soak test
# (included by tests/host.mk). make test runs each for 3 s.
#
#   make fuzz-syscalls [FUZZ_SECONDS=60] [FUZZ_SEED=N] [SMP=8]
#         boots the kernel with only the `fuzz` suite (tests/test_fuzz.c):
#         /bin/sysfuzz (tests/user/sysfuzz.c) runs two workers per CPU for
#         FUZZ_SECONDS, then the case checks that every process, page, heap
#         byte and open file is back and that the file system checks clean.
#         The seed is printed (`seed N`); FUZZ_SEED=N replays it. make test
#         runs the same case for 3 s with a seed from the clock.
#         Add syscall.trace=1 (or =PID) to CMDLINE to log every call.

FUZZ_SECONDS ?= 60
FUZZ_SEED ?=
FUZZ_MS = $(shell echo $$(( $(FUZZ_SECONDS) * 1000 )))
FUZZ_CASE_TIMEOUT = $(shell echo $$(( $(FUZZ_SECONDS) + 300 )))

.PHONY: fuzz-syscalls
fuzz-syscalls: deps all
	@$(RUNNER) $(RUNNER_ARGS) --timeout $$(( $(FUZZ_SECONDS) + 600 )) \
		--cmdline 'ktest.run=1 qemu_exit=1 ktest.filter=fuzz.* $(strip \
		ktest.timeout=$(FUZZ_CASE_TIMEOUT) fuzz.ms=$(FUZZ_MS) \
		$(if $(FUZZ_SEED),fuzz.seed=$(FUZZ_SEED)) $(RAMDISK_CMDLINE) $(CMDLINE))' \
		--log $(BUILD)/fuzz-syscalls.log

#   make soak [SOAK_SECONDS=180] [SOAK_SEED=N] [SOAK_SMP=8]
#         boots SOAK_SMP CPUs with only the `soak` suite (tests/test_soak.c):
#         /bin/soak (tests/user/soak.c) runs a process per CPU, each with a
#         second thread, doing random memory and file operations (fork,
#         exec, mmap, munmap, mprotect, madvise, mremap, msync, O_DIRECT,
#         vmsplice, truncate) against a model of every page for
#         SOAK_SECONDS; then no write may be lost and everything must be back.

SOAK_SECONDS ?= 180
SOAK_SEED ?=
SOAK_SMP ?= 8
SOAK_MS = $(shell echo $$(( $(SOAK_SECONDS) * 1000 )))
SOAK_CASE_TIMEOUT = $(shell echo $$(( $(SOAK_SECONDS) + 300 )))

.PHONY: soak
soak: SMP = $(SOAK_SMP)
soak: deps all
	@$(RUNNER) $(RUNNER_ARGS) --timeout $$(( $(SOAK_SECONDS) + 900 )) \
		--cmdline 'ktest.run=1 qemu_exit=1 ktest.filter=soak.* $(strip \
		ktest.timeout=$(SOAK_CASE_TIMEOUT) soak.ms=$(SOAK_MS) \
		$(if $(SOAK_SEED),soak.seed=$(SOAK_SEED)) $(RAMDISK_CMDLINE) $(CMDLINE))' \
		--log $(BUILD)/soak.log
