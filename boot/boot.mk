# boot/boot.mk - the GNU-EFI loader, included by the top-level Makefile.
#
# Builds $(BUILD)/BOOTX64.EFI from boot/*.c: compile as position-independent
# code, link into a shared object with GNU-EFI's crt0 and linker script, then
# convert to a PE32+ EFI application. EFI calls use the ms_abi calling
# convention directly (GNU_EFI_USE_MS_ABI), so they are type-checked.

BOOT_EFI_INC := /usr/include/efi
BOOT_EFI_LIB := /usr/lib
BOOT_EFI_CRT0 := $(BOOT_EFI_LIB)/crt0-efi-x86_64.o
BOOT_EFI_LDS := $(BOOT_EFI_LIB)/elf_x86_64_efi.lds

BOOT_CFLAGS := -std=gnu11 -O2 -Wall -Wextra -Werror -ffreestanding -fpic \
	-fshort-wchar -mno-red-zone -fno-stack-protector -fno-strict-aliasing \
	-fcf-protection=none -DGNU_EFI_USE_MS_ABI \
	-I$(BOOT_EFI_INC) -I$(BOOT_EFI_INC)/x86_64 -I. -MMD -MP
BOOT_LDFLAGS := -nostdlib -znocombreloc -T $(BOOT_EFI_LDS) -shared -Bsymbolic \
	--no-undefined -L$(BOOT_EFI_LIB)
BOOT_SECTIONS := .text .sdata .data .dynamic .dynsym .rel .rela .reloc

BOOT_SRC := $(wildcard boot/*.c)
BOOT_OBJ := $(patsubst boot/%.c,$(BUILD)/boot/%.o,$(BOOT_SRC))

.PHONY: loader
loader: $(BUILD)/BOOTX64.EFI

$(BUILD)/boot/%.o: boot/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BOOT_CFLAGS) -c $< -o $@

$(BUILD)/boot/loader.so: $(BOOT_OBJ) $(BOOT_EFI_CRT0) $(BOOT_EFI_LDS)
	$(LD) $(BOOT_LDFLAGS) $(BOOT_EFI_CRT0) $(BOOT_OBJ) -o $@ -lefi -lgnuefi

$(BUILD)/BOOTX64.EFI: $(BUILD)/boot/loader.so
	objcopy $(addprefix -j ,$(BOOT_SECTIONS)) --target efi-app-x86_64 \
		--subsystem=10 $< $@

-include $(BOOT_OBJ:.o=.d)
