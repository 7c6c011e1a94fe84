# Top-level Makefile: build, run, test, image, debug, mutants, bench.
#
#   make run     boot in QEMU with the serial console on stdio (SMP=4 MEM=512M),
#                to the busybox shell of /sbin/init (CMDLINE=init=monitor: the
#                kernel monitor instead)
#   make test-shell  the scripted shell session of tests/shell.script, typed
#                into the serial console of a `make run` boot (tests/user.mk)
#   make test-fb the shell used through the framebuffer console and the PS/2
#                keyboard only (QEMU's sendkey, screendump; tests/fb_check.py)
#   make test    boot headless, run the in-kernel suite, exit 0 iff all passed
#   make image   GPT disk image with an ESP (write it to a USB stick)
#   make debug   QEMU waiting for gdb on :1234 (see README)
#   make mutants build and boot every mutation of tests/mutants.txt; exit 0
#                iff each one is killed by its tests (tests/mutants.mk)
#   make bench   boot headless with bench.run=1, print the `bench:` figures
#   make flaky   make test 20x at SMP=8 and 10x at SMP=16 under load (tests/flaky.mk)
#   make matrix  the suite on several CPU models and machines (tests/matrix.mk)
#   make test-bochs  the suite under Bochs (PCID, INVPCID, x2APIC; tests/bochs.mk)
#
# Knobs: SMP, MEM, FILTER (ktest.filter), CMDLINE (extra),
#        TIMEOUT (seconds; default: the runner's, 240 s up to 2 vCPUs per host
#        core and proportionally more above),
#        MUTATION (build a mutant kernel, see make mutants), QEMU_CPU,
#        MUTANTS (make mutants: only these names), BENCH (bench.filter).

SMP ?= 4
MEM ?= 512M
FILTER ?=
TIMEOUT ?=
CMDLINE ?=
QEMU_CPU ?= max
MUTATION ?=

BUILD := build
CC := gcc
LD := ld
NASM := nasm
PYTHON := python3

KCFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -ffreestanding -fno-builtin \
	-nostdlib -fno-pic -fno-pie -mcmodel=kernel -mno-red-zone -mgeneral-regs-only \
	-mno-mmx -mno-sse -mno-sse2 -fno-omit-frame-pointer -fno-stack-protector \
	-fno-asynchronous-unwind-tables -fno-strict-aliasing -fcf-protection=none \
	-Wno-unused-parameter -I. -MMD -MP
ifneq ($(MUTATION),)
KCFLAGS += -DMUTATION_$(MUTATION)=1
endif
NASMFLAGS := -f elf64 -g -F dwarf $(if $(MUTATION),-DMUTATION_$(MUTATION)=1)
KLDFLAGS := -n -z noexecstack -z max-page-size=4096

# Every .c and .asm under these directories is part of the kernel.
KDIRS := kernel kernel/fs arch/x86_64 mm drivers tests tests/user_asm
KSRC_C := $(foreach d,$(KDIRS),$(wildcard $(d)/*.c))
KSRC_ASM := $(filter-out arch/x86_64/trampoline.asm,$(foreach d,$(KDIRS),$(wildcard $(d)/*.asm)))
KOBJ := $(patsubst %.c,$(BUILD)/%.o,$(KSRC_C)) $(patsubst %.asm,$(BUILD)/%.o,$(KSRC_ASM))

.PHONY: all kernel loader esp run test image debug clean deps mutants bench host-tests format
all: $(BUILD)/kernel.elf $(BUILD)/BOOTX64.EFI

kernel: $(BUILD)/kernel.elf

# V=1 shows the commands.
Q := $(if $(V),,@)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(KCFLAGS) -c $< -o $@

$(BUILD)/%.o: %.asm
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  NASM    $<")
	$(Q)$(NASM) $(NASMFLAGS) -MD $(BUILD)/$*.d -I. $< -o $@

# The AP trampoline is flat binary code, embedded into the kernel.
$(BUILD)/arch/x86_64/trampoline.bin: arch/x86_64/trampoline.asm
	@mkdir -p $(dir $@)
	$(NASM) -f bin $< -o $@
$(BUILD)/arch/x86_64/trampoline_blob.o: $(BUILD)/arch/x86_64/trampoline.bin
	cd $(BUILD)/arch/x86_64 && $(LD) -r -b binary trampoline.bin -o trampoline_blob.o

# Two-pass link: the second pass embeds a symbol table for backtraces.
# The table lives in its own section after everything else, so .text does
# not move between the passes.
$(BUILD)/kernel.elf: $(KOBJ) $(BUILD)/arch/x86_64/trampoline_blob.o linker.ld tools/gensyms.sh
	$(Q)$(LD) $(KLDFLAGS) -T linker.ld -o $(BUILD)/kernel.pass1.elf $(KOBJ) $(BUILD)/arch/x86_64/trampoline_blob.o
	$(Q)sh tools/gensyms.sh $(BUILD)/kernel.pass1.elf > $(BUILD)/ksyms.S
	$(Q)$(CC) -c $(BUILD)/ksyms.S -o $(BUILD)/ksyms.o
	$(Q)$(LD) $(KLDFLAGS) -T linker.ld -o $@ $(KOBJ) $(BUILD)/arch/x86_64/trampoline_blob.o $(BUILD)/ksyms.o
	@cmp -s <(nm $(BUILD)/kernel.pass1.elf | grep ' [Tt] ' | sort) <(nm $@ | grep ' [Tt] ' | sort) \
		|| { echo "kernel text moved between link passes"; exit 1; }

SHELL := /bin/bash

-include boot/boot.mk
-include $(KOBJ:.o=.d)

# ---- host side ------------------------------------------------------------
-include tests/host.mk
-include tests/bochs.mk
-include tests/matrix.mk

clean:
	rm -rf $(BUILD)
