# tests/mutants.mk - mutation testing and benchmarks, included at the end of
# tests/host.mk (which defines RUNNER, RUNNER_ARGS, RUNNER_QEMU_ARGS, ...).
#
#   make mutants   build every mutation of tests/mutants.txt in
#                  $(BUILD)/mutant-NAME, boot each with its tests
#                  (ktest.filter), and check that each one is KILLED;
#                  exit non-zero if one SURVIVED, is unknown or fails to build.
#                  Rows with FILTER host:TEST build that host test (e.g. the
#                  PCID model, tests/host/asid_model_test.c) with the
#                  mutation, using $(CC) $(HOST_CFLAGS), and run it instead
#   make mutants-user  the same for tests/mutants-user.txt: mutations of
#                  tests/mutants.txt (R1-R5 and R6) killed again by user
#                  programs (suite races, tests/user/races.c); every NAME
#                  must be a row of tests/mutants.txt, every FILTER a races.*
#                  or user.* case. MUTANTS= works the same.
#   make bench     boot with bench.run=1, print the kernel's `bench:` lines
#
# Knobs: MUTANTS (run only these names, comma-separated), MUTANTS_JOBS
# (mutants booted at once, default 2), BENCH (bench.filter glob list), and
# the Makefile's SMP, MEM, TIMEOUT (per boot; by default the runner scales
# it, counting the host cores shared by MUTANTS_JOBS boots), QEMU_CPU,
# QEMU_ARGS, CMDLINE (bench only).

.PHONY: mutants mutants-user bench

MUTANTS ?=
MUTANTS_JOBS ?= 2
MUTANTS_TABLE := tests/mutants.txt
MUTANTS_USER_TABLE := tests/mutants-user.txt
# Not $(MAKE) in the recipe: that would run it under `make -n` too.
MUTANTS_MAKE = $(MAKE)
BENCH ?=
BENCH_LOG = $(BUILD)/bench-$(SMP)cpu.log
BENCH_CMDLINE = bench.run=1 qemu_exit=1$(if $(BENCH), bench.filter=$(BENCH))$(if $(CMDLINE), $(CMDLINE))

# The packages are checked by host.mk (mutants and bench are in DEPS_GOALS).
# The normal kernel and loader first: the mutants reuse the loader, and the
# normal kernel runs the same tests first (a baseline that must pass).
mutants: all
	@MAKE='$(MUTANTS_MAKE)' $(PYTHON) tools/mutants.py --table $(MUTANTS_TABLE) \
		--build $(BUILD) --kernel $(KERNEL_ELF) $(RUNNER_TIMEOUT) \
		--jobs $(MUTANTS_JOBS) $(if $(MUTANTS),--only '$(MUTANTS)') \
		--cmdline '$(RAMDISK_CMDLINE)' --host-cc '$(CC)' --host-cflags '$(HOST_CFLAGS)' \
		-- --loader $(LOADER_EFI) $(if $(INITRD),--initrd $(INITRD)) \
		$(RUNNER_QEMU_ARGS)

mutants-user: all
	@MAKE='$(MUTANTS_MAKE)' $(PYTHON) tools/mutants.py --table $(MUTANTS_USER_TABLE) \
		--names-from $(MUTANTS_TABLE) --filter-prefixes races.,user.,splice.,memcalls. \
		--build $(BUILD) --kernel $(KERNEL_ELF) $(RUNNER_TIMEOUT) \
		--jobs $(MUTANTS_JOBS) $(if $(MUTANTS),--only '$(MUTANTS)') \
		--cmdline '$(RAMDISK_CMDLINE)' --host-cc '$(CC)' --host-cflags '$(HOST_CFLAGS)' \
		-- --loader $(LOADER_EFI) $(if $(INITRD),--initrd $(INITRD)) \
		$(RUNNER_QEMU_ARGS)

bench: all
	@$(RUNNER) $(RUNNER_ARGS) --bench $(RUNNER_TIMEOUT) \
		--cmdline '$(BENCH_CMDLINE)' --log $(BENCH_LOG)
