# tests/selftest.mk - does the harness tell the truth when a boot goes wrong?
# Included at the end of tests/host.mk (which defines RUNNER, KERNEL_ELF,
# LOADER_EFI, INITRD, ...).
#
#   make test-verdicts  boot the built kernel (tools/selftest.py) in ways
#                 that must fail, each with its one-line reason: a filter
#                 that selects nothing (whole or in part), a failing case
#                 (named, with its file:line), a case that hangs (timed out,
#                 with a backtrace; the next case and the leak check still
#                 pass), a RAM disk of random bytes and one of 100 bytes, a
#                 text file and a 32-bit ELF as kernel.elf, a command line
#                 over 4096 bytes; and one that must pass although a case
#                 inside it provokes an expectation failure on purpose. One
#                 QEMU at a time, 2 or 3 CPUs; one line per row (`ok   row:
#                 what was seen` or `FAIL row: expected ..., got ...`).
#                 Exit 0 iff every row behaved. About 2-3 min on 2 cores.
#
# Knobs: VERDICTS (only these rows, comma-separated; tools/selftest.py
# --list names them), MEM, QEMU_CPU, QEMU_ARGS. The runner's output and
# serial log of each row are kept in $(SELFTEST_DIR)/<row>.out and .log.

.PHONY: test-verdicts

VERDICTS ?=
SELFTEST_DIR := $(BUILD)/selftest


test-verdicts: all
	@$(PYTHON) tools/selftest.py --kernel $(KERNEL_ELF) --loader $(LOADER_EFI) \
		$(if $(INITRD),--initrd $(INITRD)) --dir $(SELFTEST_DIR) \
		$(if $(VERDICTS),--only '$(VERDICTS)') \
		-- --mem $(MEM) --cpu $(QEMU_CPU) $(foreach a,$(QEMU_ARGS),--qemu-arg=$(a))
