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
USER_GLIBC_PROGS += memcalls
# files: issue 15's file calls (tests/test_files.c user_calls_*)
USER_GLIBC_PROGS += files
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
