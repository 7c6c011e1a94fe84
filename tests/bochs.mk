# tests/bochs.mk - the legacy-BIOS boot path and the Bochs run, included by
# the top-level Makefile (which defines BUILD, CC, LD, NASM, PYTHON, SMP,
# MEM, FILTER, TIMEOUT, CMDLINE).
#
#   make iso         $(BUILD)/boot.iso: GRUB 2 (BIOS) + the Multiboot2 stub
#                    (boot/mb2/) + kernel.elf + initrd.img, command line
#                    $(ISO_CMDLINE) (default: $(CMDLINE), the monitor)
#   make test-bochs  boot the same stub, kernel and initrd under Bochs
#                    (BOCHS_CPU on BOCHS_SMP CPUs), run BOCHS_FILTER, and
#                    give the verdict of tests/runner.py --parse
#   make test-iso    the ISO under QEMU with SeaBIOS (legacy BIOS, TCG):
#                    the same boot path, quicker than Bochs
#
# Knobs: ISO_CMDLINE; BOCHS_CPU (corei7_skylake_x: PCID, INVPCID, x2APIC,
# SMEP, SMAP), BOCHS_SMP (4), BOCHS_MEM (MiB, 512), BOCHS_FILTER (default:
# the whole suite), BOCHS_TIMEOUT (host seconds),
# BOCHS_IPS (emulated instructions per second of guest time).

.PHONY: iso test-bochs test-iso mb2stub iso-deps bochs-deps qemu-bios-deps

# Debian packages of each target, checked (and installed when root) the way
# tools/deps.sh checks the main ones.
ISO_PACKAGES := grub-pc-bin grub-common xorriso
BOCHS_PACKAGES := bochs bochsbios vgabios bochs-term
QEMU_BIOS_PACKAGES := qemu-system-x86 seabios
define need_packages
	@missing=; for p in $(1); do \
		dpkg-query -W -f='$${db:Status-Status}' $$p 2>/dev/null | grep -qx installed \
			|| missing="$$missing $$p"; \
	done; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" -eq 0 ]; then \
		echo "deps: installing missing packages:$$missing" >&2; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update >&2 && apt-get install -y --no-install-recommends $$missing >&2; \
	else \
		echo "deps: missing Debian packages:$$missing" >&2; \
		echo "deps: install them with:" >&2; \
		echo "    sudo apt-get install$$missing" >&2; \
		exit 1; \
	fi
endef
iso-deps:
	$(call need_packages,$(ISO_PACKAGES))
bochs-deps:
	$(call need_packages,$(BOCHS_PACKAGES))
qemu-bios-deps:
	$(call need_packages,$(QEMU_BIOS_PACKAGES))

MB2_STUB := $(BUILD)/mb2stub.elf
ISO := $(BUILD)/boot.iso
ISO_CMDLINE ?= $(CMDLINE)
BOCHS_CPU ?= corei7_skylake_x
BOCHS_SMP ?= 4
BOCHS_MEM ?= 512
# The whole suite: about 150 s of Bochs on this 2-core host (see the README).
BOCHS_FILTER ?=
BOCHS_TIMEOUT ?= 1500
BOCHS_IPS ?=
BOCHS_LOG = $(BUILD)/test-bochs-$(BOCHS_SMP)cpu.log
BOCHS_ISO := $(BUILD)/boot-test.iso
# The RAM disk as `make test` sizes it (RAMDISK_SIZE, tests/host.mk): the
# 4 MiB image alone is nearly full with the user programs in /bin.
BOCHS_CMDLINE = ktest.run=1$(if $(BOCHS_FILTER), ktest.filter=$(BOCHS_FILTER))$(if \
	$(RAMDISK_SIZE), $(RAMDISK_CMDLINE))$(if $(CMDLINE), $(CMDLINE))
ISO_QEMU_CMDLINE = ktest.run=1 qemu_exit=1$(if $(FILTER), ktest.filter=$(FILTER))$(if \
	$(RAMDISK_SIZE), $(RAMDISK_CMDLINE))$(if $(CMDLINE), $(CMDLINE))

# The stub runs in long mode, identity-mapped below 4 GiB, linked at 1 MiB:
# plain non-PIC code, no SSE, no red zone. boot/elf_check.c, boot/paging.c
# and boot/console.c (serial + formatter; no UEFI console) are shared with
# the UEFI loader, compiled again here without -fpic.
MB2_CFLAGS := -std=gnu11 -O2 -Wall -Wextra -Werror -ffreestanding -fno-pic -fno-pie \
	-mno-red-zone -mgeneral-regs-only -fno-stack-protector -fno-strict-aliasing \
	-fcf-protection=none -fno-asynchronous-unwind-tables -fshort-wchar \
	-DGNU_EFI_USE_MS_ABI -I/usr/include/efi -I/usr/include/efi/x86_64 -I. -MMD -MP
MB2_OBJ := $(BUILD)/mb2/entry.o $(BUILD)/mb2/stub.o $(BUILD)/mb2/elf_check.o \
	$(BUILD)/mb2/paging.o $(BUILD)/mb2/console.o

mb2stub: $(MB2_STUB)

$(BUILD)/mb2/entry.o: boot/mb2/entry.asm
	@mkdir -p $(dir $@)
	$(NASM) -f elf64 $< -o $@
$(BUILD)/mb2/stub.o: boot/mb2/stub.c
	@mkdir -p $(dir $@)
	$(CC) $(MB2_CFLAGS) -c $< -o $@
$(BUILD)/mb2/%.o: boot/%.c
	@mkdir -p $(dir $@)
	$(CC) $(MB2_CFLAGS) -c $< -o $@

$(MB2_STUB): $(MB2_OBJ) boot/mb2/stub.ld
	$(LD) -n -z max-page-size=4096 -z noexecstack --no-warn-rwx-segments -T boot/mb2/stub.ld -o $@ $(MB2_OBJ)

# The ISO is rebuilt when its inputs or its command line change.
$(BUILD)/iso.cmdline: FORCE
	@mkdir -p $(dir $@)
	@echo '$(ISO_CMDLINE)' | cmp -s - $@ || echo '$(ISO_CMDLINE)' > $@

$(ISO): $(MB2_STUB) $(BUILD)/kernel.elf $(wildcard $(INITRD)) $(BUILD)/iso.cmdline boot/mb2/mkiso.sh | iso-deps
	bash boot/mb2/mkiso.sh $@ $(MB2_STUB) $(BUILD)/kernel.elf '$(INITRD)' '$(ISO_CMDLINE)'

iso: $(ISO)

# make test-bochs: a test ISO with the suite's command line, then Bochs.
test-bochs: iso-deps bochs-deps $(MB2_STUB) all
	bash boot/mb2/mkiso.sh $(BOCHS_ISO) $(MB2_STUB) $(BUILD)/kernel.elf '$(INITRD)' '$(BOCHS_CMDLINE)'
	$(PYTHON) tests/bochs_runner.py --iso $(BOCHS_ISO) --cpu $(BOCHS_CPU) --smp $(BOCHS_SMP) \
		--mem $(BOCHS_MEM) --timeout $(BOCHS_TIMEOUT) --log $(BOCHS_LOG) \
		$(if $(BOCHS_IPS),--ips $(BOCHS_IPS))

# make test-iso: the same boot path under QEMU + SeaBIOS (isa-debug-exit works there).
ISO_QEMU_ISO := $(BUILD)/boot-qemu.iso
test-iso: iso-deps qemu-bios-deps $(MB2_STUB) all
	bash boot/mb2/mkiso.sh $(ISO_QEMU_ISO) $(MB2_STUB) $(BUILD)/kernel.elf '$(INITRD)' '$(ISO_QEMU_CMDLINE)'
	$(PYTHON) tests/bochs_runner.py --qemu --iso $(ISO_QEMU_ISO) --smp $(SMP) --mem $(MEM) \
		$(if $(TIMEOUT),--timeout $(TIMEOUT)) --log $(BUILD)/test-iso-$(SMP)cpu.log

.PHONY: FORCE
FORCE:

-include $(MB2_OBJ:.o=.d)
