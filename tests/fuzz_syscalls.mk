# tests/fuzz_syscalls.mk - the system-call fuzzer, at length (included by
# tests/host.mk).
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
