# tests/user.mk - the project's user programs (tests/user/*.c), built for
# the initrd's /bin, included by tests/fs.mk (which puts them there).
#
#   $(BUILD)/user/NAME          tests/user/NAME.c, static with musl
#                               (musl-gcc -static, Debian musl-tools)
#   $(BUILD)/user/NAME-glibc    static with glibc (gcc -static; libc6-dev),
#                               for the programs in USER_GLIBC_PROGS
#   $(BUILD)/user/hello-glibc-pie   static-PIE with glibc (ET_DYN, no PT_INTERP)
#   $(BUILD)/user/hello-dynamic     dynamically linked with musl (PT_INTERP
#                               /lib/ld-musl-x86_64.so.1, which the initrd
#                               lacks: execve must fail with ENOENT)
#
# They cannot run yet (ring 3 is being built); the exec suite loads each one
# into an address space and checks the layout. Stripped (-s) to keep the
# 4 MiB initrd roomy: the glibc ones are about 700 KiB each.

USER_CFLAGS := -O2 -g0 -s -Wall -Wextra -Werror -fno-stack-protector
USER_MUSL_CC ?= musl-gcc
USER_GLIBC_CC ?= gcc

USER_PROGS := hello args files proc threads ubench futex misc time
# mmap: file mappings by fd; fault: one CPU exception per run; sysret: syscall
# at the user limit; fpu: x87/SSE state across yields (tests/test_user.c)
USER_PROGS += mmap fault sysret fpu oom sigpairs
# signals: issue 12 (tests/test_user.c signals_*)
USER_PROGS += signals
# sysfuzz: the system-call fuzzer (tests/test_fuzz.c, make fuzz-syscalls)
USER_PROGS += sysfuzz
# soak: the soak test (tests/test_soak.c, make soak)
USER_PROGS += soak
# races: the memory rules' historic races as user programs (tests/test_races.c)
USER_PROGS += races
# splice, pvm: issue 13 (tests/test_splice.c)
USER_PROGS += splice pvm
# procfs: /proc (issue 13, tests/test_procfs.c)
USER_PROGS += procfs
# tty, poll, dev: issue 15's console tty, poll/select, /dev (tests/test_tty.c)
USER_PROGS += tty poll dev
USER_GLIBC_PROGS := hello args proc threads time signals
# memcalls, nadav: issue 13's memory system calls (tests/test_memcalls.c)
USER_PROGS += memcalls nadav
# rusage: getrusage, times, wait4 rusage, /proc/PID/stat times and faults (tests/test_rusage.c)
USER_PROGS += rusage
USER_GLIBC_PROGS += memcalls
# files: issue 15's file calls (tests/test_files.c user_calls_*)
USER_GLIBC_PROGS += files
# procfiles: the /proc files of issue 15 (tests/test_shell.c)
USER_PROGS += procfiles
USER_BINS := $(addprefix $(BUILD)/user/,$(USER_PROGS)) \
	$(addprefix $(BUILD)/user/,$(addsuffix -glibc,$(USER_GLIBC_PROGS))) \
	$(BUILD)/user/hello-glibc-pie $(BUILD)/user/hello-dynamic

# HOSTPATH:/bin/NAME arguments for mkfs_sfs.
USER_INITRD_FILES := $(foreach b,$(USER_BINS),$(b):/bin/$(notdir $(b)))

# A clear message instead of "musl-gcc: command not found".
USER_CC_CHECK = @command -v $(1) >/dev/null 2>&1 || { echo "user: $(1) not found: install \
the Debian package $(2) (make deps does, as root: sudo apt-get install $(2))"; exit 1; }

.PHONY: user
user: $(USER_BINS)

$(BUILD)/user/%: tests/user/%.c tests/user/ktap.h tests/user.mk
	@mkdir -p $(dir $@)
	$(call USER_CC_CHECK,$(USER_MUSL_CC),musl-tools)
	@$(if $(Q),echo "  MUSL    $@")
	$(Q)$(USER_MUSL_CC) -static $(USER_CFLAGS) $< -o $@

$(BUILD)/user/%-glibc: tests/user/%.c tests/user/ktap.h tests/user.mk
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GLIBC   $@")
	$(Q)$(USER_GLIBC_CC) -static $(USER_CFLAGS) $< -o $@

$(BUILD)/user/hello-glibc-pie: tests/user/hello.c tests/user.mk
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GLIBC   $@ (static-pie)")
	$(Q)$(USER_GLIBC_CC) -static-pie -fPIE $(USER_CFLAGS) $< -o $@

$(BUILD)/user/hello-dynamic: tests/user/hello.c tests/user.mk
	@mkdir -p $(dir $@)
	$(call USER_CC_CHECK,$(USER_MUSL_CC),musl-tools)
	@$(if $(Q),echo "  MUSL    $@ (dynamic)")
	$(Q)$(USER_MUSL_CC) $(USER_CFLAGS) $< -o $@

# kernel/elf.c's header checks on the host: the programs above accepted,
# and 300000 random header mutations either refused or safe
# (tests/host/elf_test.c).
$(BUILD)/host/elf_test: kernel/elf.c kernel/elf.h tests/host/elf_test.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -DELF_HOST kernel/elf.c tests/host/elf_test.c -o $@
HOST_TESTS += $(BUILD)/host/elf_test $(USER_BINS) ;
host-tests: $(BUILD)/host/elf_test $(USER_BINS)

# ---- /sbin/init and busybox (issue 15: make run ends at a busybox shell) ----
# init: tests/user/init.c as /sbin/init (kernel/init.c runs it when the
# command line names no init=). busybox: Debian's busybox-static, fetched
# by tools/busybox.sh into $(BUSYBOX_DIR) (apt-get download + dpkg-deb -x,
# never installed), with a symbolic link /bin/APPLET -> busybox for each
# applet below (busybox's own shell also runs its applets itself). Not
# listed: `time` and `tty` (/bin/time and /bin/tty are tests/user/time.c
# and tty.c) and `[`/`[[` (the shell's builtins). The file list is read when mkfs
# runs ($$(cat ...)): empty when busybox could not be fetched.
BUSYBOX_DIR := $(BUILD)/busybox
BUSYBOX_APPLETS := sh ash ls cat echo ps top free mount umount vi sync uptime df wc head \
	tail grep egrep fgrep sed awk sort uniq cp mv rm mkdir rmdir ln touch chmod stat date \
	sleep kill killall env pwd test true false clear more less find xargs tr cut tee dmesg \
	uname hostname id which printf expr seq od hexdump xxd yes basename dirname readlink \
	realpath du watch dd nproc stty reset pidof md5sum sha256sum cmp diff nohup \
	timeout usleep
$(BUSYBOX_DIR)/files: tools/busybox.sh tests/user.mk $(BUILD)/user/bbstub
	@mkdir -p $(dir $@)
	$(Q)bash tools/busybox.sh $(BUSYBOX_DIR) $(BUILD)/user/bbstub $(BUSYBOX_APPLETS)

# /etc/passwd and /etc/group: the names ps, ls -l and id show for uid 0.
$(BUSYBOX_DIR)/etc/passwd: tests/user.mk
	@mkdir -p $(dir $@)
	$(Q)printf 'root:x:0:0:root:/:/bin/sh\n' > $@
	$(Q)printf 'root:x:0:\n' > $(dir $@)group
USER_INITRD_FILES += $(BUILD)/user/init:/sbin/init $$(cat $(BUSYBOX_DIR)/files) \
	$(BUSYBOX_DIR)/etc/passwd:/etc/passwd $(BUSYBOX_DIR)/etc/group:/etc/group
$(BUILD)/initrd.img: $(BUILD)/user/init $(BUSYBOX_DIR)/files $(BUSYBOX_DIR)/etc/passwd
.PHONY: busybox
busybox: $(BUSYBOX_DIR)/files

# The scripted shell session (tests/shell.script): a `make run` boot, the
# runner types each command into the serial console and checks its output
# (tests/runner.py --script). Log: $(BUILD)/test-shell.log.
.PHONY: test-shell
test-shell: deps all
	@$(RUNNER) $(RUNNER_ARGS) $(RUNNER_TIMEOUT) --script tests/shell.script \
		--cmdline '$(strip $(RAMDISK_CMDLINE) $(CMDLINE))' --log $(BUILD)/test-shell.log

# The same boot used through the framebuffer console and the PS/2 keyboard
# only (tests/fb_check.py): keys sent with QEMU's monitor command sendkey,
# the screen read back from a screendump with the kernel's font.
# Log: $(BUILD)/test-fb.log. FB_PNG=FILE also writes the screen as a PNG
# (docs/fb-shell.png was made this way).
.PHONY: test-fb
test-fb: deps all
	@$(PYTHON) tests/fb_check.py $(RUNNER_ARGS) $(if $(FB_PNG),--png $(FB_PNG)) \
		--cmdline '$(strip $(RAMDISK_CMDLINE) $(CMDLINE))' --log $(BUILD)/test-fb.log
