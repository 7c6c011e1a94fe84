# tests/flaky.mk - does `make test` pass every time on a busy host? Included
# at the end of tests/host.mk (which defines RUNNER, RUNNER_ARGS, ...).
#
#   make flaky    `make test` FLAKY_RUNS times at SMP=8 and half as many at
#                 SMP=16, one at a time, while another QEMU boots the suite
#                 at FLAKY_LOAD_SMP CPUs in a loop to load the host; prints
#                 one line per run, then `SMP=8: 20/20 passed` per SMP value.
#                 Exit 0 iff every run passed. The logs of failing runs are
#                 kept in $(FLAKY_DIR) (smp<N>-run<K>.log: serial, .out: what
#                 make test printed). About 40 min on a 2-core host.
#
# Knobs: FLAKY_SMP (SMP values, each N or N:RUNS; default `8 16`),
# FLAKY_RUNS (runs of an SMP value without :RUNS, up to 8 CPUs; half as many
# above; default 20), FLAKY_LOAD_SMP (CPUs of the load QEMU, default 2; 0 =
# no load), FLAKY_LOAD_CMDLINE (its kernel command line: the whole suite by
# default). FILTER, CMDLINE, TIMEOUT, MEM, QEMU_ARGS... reach every `make
# test`. E.g. a quick check: make flaky FLAKY_SMP=4:1 FILTER='pmm.*'

.PHONY: flaky

FLAKY_SMP ?= 8 16
FLAKY_RUNS ?= 20
FLAKY_LOAD_SMP ?= 2
FLAKY_LOAD_CMDLINE ?= ktest.run=1 qemu_exit=1
FLAKY_DIR := $(BUILD)/flaky
# Not $(MAKE) in the recipe: that would run it under `make -n` too.
FLAKY_MAKE = $(MAKE)
FLAKY_LOAD = $(if $(filter-out 0,$(FLAKY_LOAD_SMP)),$(RUNNER) $(RUNNER_ARGS) \
	--smp $(FLAKY_LOAD_SMP) --cmdline '$(FLAKY_LOAD_CMDLINE)' \
	--log $(FLAKY_DIR)/load.log)

# Built once here: every `make test` then finds the kernel up to date.
FLAKY_TARGET ?= test-kernel
flaky: all host-tests
	@mkdir -p $(FLAKY_DIR)
	@FLAKY_TARGET='$(FLAKY_TARGET)' MAKE='$(FLAKY_MAKE)' $(PYTHON) tools/flaky.py --plan '$(FLAKY_SMP)' \
		--runs $(FLAKY_RUNS) --log-dir $(FLAKY_DIR) \
		--load-log $(FLAKY_DIR)/load.log -- $(FLAKY_LOAD)
