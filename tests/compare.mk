# tests/compare.mk - this kernel side by side with Debian's Linux 6.1
# (tools/compare/compare.py; issue 14), included at the end of tests/host.mk.
#
#   make compare [SMP=4] [MEM=512M] [TESTS=a,b*] [RD_SIZE=64] [THIS_CMDLINE=...]
#         fetch Debian's Linux 6.1 (apt-get download of the package
#         linux-image-amd64 depends on, unpacked with dpkg-deb -x into
#         $(BUILD)/linux/, not installed; cached), build its initramfs
#         (our own cpio writer) and a copy of our initrd, both with
#         /bin/compare_init (tests/user/compare_init.c) and the programs of
#         tests/user.mk; boot each kernel once in the same QEMU machine
#         (q35, -cpu $(COMPARE_CPU), -smp $(SMP), -m $(MEM), TCG, OVMF) running
#         every selected program; print one table (program, this kernel,
#         Linux, agree?) and every check that passes on one and not on the
#         other. Raw results: $(BUILD)/compare.json; console logs:
#         $(BUILD)/compare/{this,linux}.log. TESTS selects programs by
#         name or glob (make compare-list). Linux's programs run on ext2 on
#         a brd RAM disk of RD_SIZE MiB (this kernel: SFS on its RAM disk of
#         the same size).
#   make compare RUN='/bin/threads leader-exit ; /bin/fault np'
#         run these instead (or with TESTS=, as well): to look into a
#         difference (named run-1, run-2, ... in the table)
#   make compare-list   the program names, and those skipped with why
#
# Benchmarks: tests/user/bench/NAME.c is built here into
# $(BUILD)/user/bench/NAME (both guests' /bin/bench/NAME); list it in
# tools/compare/programs.py BENCHMARKS to run it.

.PHONY: compare compare-list

TESTS ?=
RUN ?=
RD_SIZE ?= 64
COMPARE_LIMIT ?= 300
# The CPU of both boots. la57=off: with QEMU's `max` CPU, Debian's kernel
# (CONFIG_X86_5LEVEL=y) turns on 5-level paging and its user space reaches
# 2^56 (MAP_FIXED at 0x7ffffffff000 succeeds there); this kernel has 4
# levels, user space below 2^47. Same address-space size, same walk depth.
COMPARE_CPU ?= $(QEMU_CPU),la57=off
BENCH_SRCS := $(wildcard tests/user/bench/*.c)
BENCH_BINS := $(patsubst tests/user/bench/%.c,$(BUILD)/user/bench/%,$(BENCH_SRCS))

$(BUILD)/user/compare_init: tests/user/compare_init.c tests/compare.mk
	@mkdir -p $(dir $@)
	$(call USER_CC_CHECK,$(USER_MUSL_CC),musl-tools)
	@$(if $(Q),echo "  MUSL    $@")
	$(Q)$(USER_MUSL_CC) -static $(USER_CFLAGS) $< -o $@

$(BUILD)/user/bench/%: tests/user/bench/%.c tests/user/bench/bench.h tests/user/ktap.h tests/compare.mk
	@mkdir -p $(dir $@)
	$(call USER_CC_CHECK,$(USER_MUSL_CC),musl-tools)
	@$(if $(Q),echo "  MUSL    $@")
	$(Q)$(USER_MUSL_CC) -static $(USER_CFLAGS) -Itests/user $< -o $@

compare: deps all $(BUILD)/user/compare_init $(BENCH_BINS)
	@$(PYTHON) tools/compare/compare.py --build $(BUILD) --smp $(SMP) --mem $(MEM) \
		--cpu '$(COMPARE_CPU)' --rd-size $(RD_SIZE) --limit $(COMPARE_LIMIT) \
		$(if $(TESTS),--tests '$(TESTS)') $(if $(RUN),--run '$(RUN)') $(foreach a,$(QEMU_ARGS),--qemu-arg=$(a))

compare-list:
	@$(PYTHON) tools/compare/compare.py --list

# The tools' own tests: cpio written and read back, the sparse ext2 image,
# the log parser and the comparison (tools/compare/test_compare.py).
HOST_TESTS += PYTHONDONTWRITEBYTECODE=1 $(PYTHON) tools/compare/test_compare.py ;
