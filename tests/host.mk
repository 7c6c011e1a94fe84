# tests/host.mk - host-side targets, included by the top-level Makefile
# (which defines BUILD, PYTHON, SMP, MEM, FILTER, TIMEOUT, CMDLINE, QEMU_CPU).
#
#   make deps        check the Debian packages; install them when root
#   make run         QEMU (q35 + OVMF), serial console on this terminal: the
#                    busybox shell of /sbin/init (CMDLINE=init=monitor: the monitor)
#   make test        host tests, then boot headless and run the in-kernel suite
#   make image       $(BUILD)/disk.img: GPT disk with an ESP, for a USB stick
#   make test-image  boot $(BUILD)/disk.img in QEMU to the busybox shell and
#                    run a command in it (tests/image.script)
#   make debug       like run, but QEMU waits for gdb on :1234
#   make host-tests  the host-side tests ($(HOST_TESTS))
#   make flaky       make test many times at SMP=8 and 16 under load
#                    (tests/flaky.mk)
#
# Extra knobs (besides the Makefile's): INITRD (RAM-disk image put on the ESP
# as /initrd.img; default $(BUILD)/initrd.img if it exists), QEMU_DISPLAY
# (run/debug: auto, none, gtk, sdl, curses), QEMU_ARGS (extra QEMU arguments),
# IMAGE_CMDLINE (cmdline.txt of the disk image; default $(CMDLINE)),
# RAMDISK_SIZE (run, debug, test: the RAM disk's size, ramdisk.size= on the
# kernel command line: KiB, or with K, M or G, or max = as large as memory
# allows; the file system of the initrd grows to it at mount; default 64M;
# empty: the disk is the initrd itself).
#
# TIMEOUT: a value given on the command line (or in the environment) is the
# runner's global timeout. Otherwise (the Makefile's default) the runner
# picks it: 240 s up to 2 vCPUs per host core, in proportion above (e.g.
# SMP=16 on 2 cores: 960 s), and scales the kernel's per-case timeout
# (ktest.timeout, unless CMDLINE sets one) the same way.

.PHONY: test-image

KERNEL_ELF := $(BUILD)/kernel.elf
LOADER_EFI := $(BUILD)/BOOTX64.EFI
DISK_IMG := $(BUILD)/disk.img
INITRD ?= $(BUILD)/initrd.img
QEMU_DISPLAY ?=
QEMU_ARGS ?=
IMAGE_CMDLINE ?= $(CMDLINE)
RAMDISK_SIZE ?= 64M
# ramdisk.size= first: a ramdisk.size= in CMDLINE comes later and wins.
RAMDISK_CMDLINE = $(if $(RAMDISK_SIZE),ramdisk.size=$(RAMDISK_SIZE))
TEST_LOG = $(BUILD)/test-$(SMP)cpu.log

# --timeout only when the user chose one (see TIMEOUT above).
RUNNER_TIMEOUT = $(if $(and $(TIMEOUT),$(filter-out default file,$(origin TIMEOUT))),--timeout $(TIMEOUT))

# The kernel command line of `make test`.
TEST_CMDLINE = ktest.run=1 qemu_exit=1$(if $(FILTER), ktest.filter=$(FILTER))$(if \
	$(RAMDISK_SIZE), $(RAMDISK_CMDLINE))$(if $(CMDLINE), $(CMDLINE))

# The runner and the arguments every QEMU boot of the built kernel shares;
# reuse them for other runs (e.g. mutants: --log and --cmdline of their own).
RUNNER := $(PYTHON) tests/runner.py
RUNNER_QEMU_ARGS = --smp $(SMP) --mem $(MEM) --cpu $(QEMU_CPU) \
	$(foreach a,$(QEMU_ARGS),--qemu-arg=$(a))
RUNNER_ARGS = --kernel $(KERNEL_ELF) --loader $(LOADER_EFI) \
	$(if $(INITRD),--initrd $(INITRD)) $(RUNNER_QEMU_ARGS)

# Host-side test commands, each one ending in ';' (they run in one shell
# with `set -e`, in order). Extend with e.g.
#   HOST_TESTS += $(BUILD)/host/pcid_model_test ;
# and make host-tests depend on what they need built.
HOST_TESTS := PYTHONDONTWRITEBYTECODE=1 $(PYTHON) -m unittest tests/test_runner.py ;
HOST_TESTS += $(BUILD)/host/acpi_test ;
HOST_TESTS += $(BUILD)/host/asid_model_test ;
HOST_TESTS += $(BUILD)/host/radix_tree_test ;

HOST_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-fsanitize=address,undefined -fno-sanitize-recover=all -I.

# ACPI table parser against synthetic and corrupt tables (arch/x86_64/acpi.c).
$(BUILD)/host/acpi_test: arch/x86_64/acpi.c arch/x86_64/acpi.h tests/host/acpi_test.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -DACPI_HOST_TEST arch/x86_64/acpi.c tests/host/acpi_test.c -o $@

# PCID/ASID and TLB-generation decisions against a model TLB (arch/x86_64/asid.c).
$(BUILD)/host/asid_model_test: arch/x86_64/asid.c arch/x86_64/asid.h tests/host/asid_model_test.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) arch/x86_64/asid.c tests/host/asid_model_test.c -o $@

# The page cache's radix tree (kernel/radix_tree.c) against a model, with
# allocation failures.
$(BUILD)/host/radix_tree_test: kernel/radix_tree.c kernel/radix_tree.h tests/host/radix_tree_test.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -DRADIX_TREE_HOST kernel/radix_tree.c tests/host/radix_tree_test.c -o $@

# Goals that need the packages: check them while the Makefile is read, so
# nothing is built before they are there (also with make -j).
# (also the goals of the other tests/*.mk: one check, wherever the goal lives)
DEPS_GOALS := deps run test test-kernel test-image image debug mutants bench flaky \
	matrix test-verdicts mutants-user compare fuzz-syscalls soak run-user test-run-user
ifneq ($(filter $(DEPS_GOALS),$(MAKECMDGOALS)),)
ifneq ($(shell bash tools/deps.sh >&2; echo $$?),0)
$(error missing packages (see above))
endif
endif

deps:
	@bash tools/deps.sh

host-tests: $(BUILD)/host/acpi_test $(BUILD)/host/asid_model_test $(BUILD)/host/radix_tree_test
	@set -e; $(HOST_TESTS) true

RUNNER_DISPLAY = $(if $(QEMU_DISPLAY),--display $(QEMU_DISPLAY))

run: deps all
	$(RUNNER) $(RUNNER_ARGS) $(RUNNER_DISPLAY) --interactive \
		--cmdline '$(strip $(RAMDISK_CMDLINE) $(CMDLINE))'

debug: deps all
	$(RUNNER) $(RUNNER_ARGS) $(RUNNER_DISPLAY) --gdb \
		--cmdline '$(strip $(RAMDISK_CMDLINE) $(CMDLINE))'

test: deps host-tests all
	@$(RUNNER) $(RUNNER_ARGS) $(RUNNER_TIMEOUT) \
		--cmdline '$(TEST_CMDLINE)' --log $(TEST_LOG)

# The in-kernel suite alone (make flaky repeats it; the host tests are
# deterministic and run once there).
test-kernel: deps all
	@$(RUNNER) $(RUNNER_ARGS) $(RUNNER_TIMEOUT) \
		--cmdline '$(TEST_CMDLINE)' --log $(TEST_LOG)

image: deps all
	bash tools/mkimage.sh $(DISK_IMG) $(LOADER_EFI) $(KERNEL_ELF) \
		'$(IMAGE_CMDLINE)' $(INITRD)

test-image: deps image
	@$(RUNNER) --disk $(DISK_IMG) $(RUNNER_QEMU_ARGS) $(RUNNER_TIMEOUT) \
		--script tests/image.script --log $(BUILD)/test-image.log

-include tests/mutants.mk
-include tests/flaky.mk
-include tests/fs.mk
-include tests/selftest.mk
-include tests/run_user.mk
-include tests/long.mk
-include tests/compare.mk
