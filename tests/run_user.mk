# tests/run_user.mk - run one user program as the first process, headless,
# included at the end of tests/host.mk (RUNNER, RUNNER_QEMU_ARGS, ...).
#
#   make run-user PROG=/bin/NAME [ARGS="a b"]
#         boot with `init=PROG qemu_exit=1 -- ARGS` (kernel/init.c): the
#         program runs as the first user process with stdin/stdout/stderr
#         on the console; its output is echoed, and the outcome is what a
#         shell reports: its exit status, 128+S when signal S killed it, 127
#         when it could not be started (not found, not a static x86-64
#         ELF), 125 when the boot failed. make succeeds iff it is 0; else
#         it fails with `Error N`, N the outcome (the runner's exit status:
#         tests/runner.py --init, which scripts can call directly).
#         The initrd's /bin holds the programs of tests/user.mk.
#   make run-user PROG_HOST=path/to/static-binary [PROG=/bin/NAME] [ARGS=...]
#         the same with any static x86-64 Linux binary of the host, added
#         to a copy of the initrd as /bin/$(notdir PROG_HOST) (PROG defaults
#         to that). A dynamically linked one fails with ENOENT (no
#         interpreter in the initrd), as on Linux.
#   make test-run-user
#         the check of the above: /bin/args with arguments after `--` must
#         exit 0, /bin/fault ud must end with 132 (128 + SIGILL). Two
#         boots, a few seconds each.
#
# Knobs: SMP, MEM, TIMEOUT, CMDLINE (more kernel options), QEMU_CPU,
# QEMU_ARGS, RAMDISK_SIZE as for make test. The console log is
# $(BUILD)/run-user.log.

.PHONY: run-user test-run-user

PROG_HOST ?=
PROG ?= $(if $(PROG_HOST),/bin/$(notdir $(PROG_HOST)))
ARGS ?=
RUN_USER_DIR := $(BUILD)/run-user
RUN_USER_INITRD = $(if $(PROG_HOST),$(RUN_USER_DIR)/initrd.img,$(INITRD))
RUN_USER_LOG = $(BUILD)/run-user.log
# run_user_boot PROG, ARGS: the runner's command for one boot.
run_user_boot = $(RUNNER) --init --kernel $(KERNEL_ELF) --loader $(LOADER_EFI) \
	--initrd $(RUN_USER_INITRD) $(RUNNER_QEMU_ARGS) $(RUNNER_TIMEOUT) --log $(RUN_USER_LOG) \
	--cmdline '$(strip init=$(1) qemu_exit=1 $(RAMDISK_CMDLINE) $(CMDLINE))$(if $(2), -- $(2))'

# The initrd of make test plus PROG_HOST, with room for it.
$(RUN_USER_DIR)/initrd.img: $(BUILD)/host/mkfs_sfs $(BUILD)/host/fsck_sfs $(BUILD)/initrd.img \
		$(PROG_HOST) tests/run_user.mk
	@mkdir -p $(dir $@)
	@readelf -lW $(PROG_HOST) 2>/dev/null | grep -q 'Requesting program interpreter' \
		&& echo "run-user: warning: $(PROG_HOST) is dynamically linked: execve will fail \
with ENOENT (only static binaries run)" || true
	$(Q)$(BUILD)/host/mkfs_sfs $@.tmp $$(( (12288 + $$(stat -c %s $(PROG_HOST)) / 1024 + 1024) / 4 * 4 )) \
		--max-size $(INITRD_MAX_SIZE) --mkdir /docs \
		$(INITRD_DIR)/hello.txt:/hello.txt $(INITRD_DIR)/pattern.bin:/pattern.bin \
		$(USER_INITRD_FILES) $(PROG_HOST):$(PROG) >/dev/null
	$(Q)$(BUILD)/host/fsck_sfs $@.tmp >/dev/null
	$(Q)mv $@.tmp $@

run-user: deps all $(if $(PROG_HOST),$(RUN_USER_DIR)/initrd.img)
	@$(if $(PROG),,echo "run-user: name the program: PROG=/bin/NAME or PROG_HOST=path"; exit 2)
	@$(call run_user_boot,$(PROG),$(ARGS))

test-run-user: deps all
	@rc=0; $(call run_user_boot,/bin/args,argc=4 arg=1=argc=4 envc=2) || rc=$$?; \
	if [ $$rc -eq 0 ]; then echo "ok   run-user: /bin/args with init arguments exited 0"; \
	else echo "FAIL run-user: /bin/args gave $$rc, expected 0"; exit 1; fi; \
	rc=0; $(call run_user_boot,/bin/fault,ud) || rc=$$?; \
	if [ $$rc -eq 132 ]; then echo "ok   run-user: /bin/fault ud gave 132 (SIGILL)"; \
	else echo "FAIL run-user: /bin/fault ud gave $$rc, expected 132"; exit 1; fi
