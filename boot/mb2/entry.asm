; boot/mb2/entry.asm - Multiboot2 header and 32-bit entry of the GRUB stub.
;
; GRUB 2 (`multiboot2 /boot/mb2stub.elf ...`) loads this ELF's segments at
; their physical addresses (the stub is linked at 1 MiB and runs where it is
; linked) and jumps to _start32 in 32-bit protected mode, paging off,
; interrupts off, EAX = 0x36d76289, EBX = physical address of the Multiboot2
; information structure (MBI); ESP and the GDT are undefined (Multiboot2
; spec, section 3.3 "I386 machine state").
;
; This file does the least needed to run C: a stack, a check that the CPU
; has long mode (else a message on COM1 and halt), page tables that identity
; map the first 4 GiB with 2 MiB pages (GRUB places the stub, the MBI and
; the modules below 4 GiB), PAE + EFER.LME + paging, a 64-bit GDT, and a
; far jump to 64-bit code that calls mb2_main(magic, mbi) (boot/mb2/stub.c).
; SSE is enabled (CR4.OSFXSR) in case the compiler emits it, although the
; C code is built with -mgeneral-regs-only.

bits 32

MB2_MAGIC    equ 0xe85250d6
MB2_ARCH_I386 equ 0
MB2_TAG_END  equ 0
MB2_TAG_MODULE_ALIGN equ 6

section .multiboot2 align=8
mb2_header:
	dd MB2_MAGIC
	dd MB2_ARCH_I386
	dd mb2_header_end - mb2_header
	dd -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
	; modules page aligned
	align 8
	dw MB2_TAG_MODULE_ALIGN, 0
	dd 8
	; end
	align 8
	dw MB2_TAG_END, 0
	dd 8
mb2_header_end:

COM1 equ 0x3f8
CR0_PE  equ 1 << 0
CR0_MP  equ 1 << 1
CR0_EM  equ 1 << 2
CR0_PG  equ 1 << 31
CR4_PAE equ 1 << 5
CR4_OSFXSR equ 1 << 9
CR4_OSXMMEXCPT equ 1 << 10
EFER_MSR equ 0xc0000080
EFER_LME equ 1 << 8
PTE_P  equ 1
PTE_W  equ 2
PTE_PS equ 0x80

section .text.entry progbits alloc exec
global _start32
_start32:
	cli
	cld
	mov esp, stack_top
	mov [mb2_magic], eax
	mov [mb2_info], ebx

	; Long mode? CPUID 0x80000001 EDX bit 29.
	mov eax, 0x80000000
	cpuid
	cmp eax, 0x80000001
	jb .no_long_mode
	mov eax, 0x80000001
	cpuid
	test edx, 1 << 29
	jz .no_long_mode

	; PML4[0] -> PDPT; PDPT[0..3] -> PD0..PD3; PDn: 512 x 2 MiB each.
	; The tables are in .bss; GRUB zeroes p_memsz - p_filesz, but do not
	; depend on it.
	mov edi, boot_pml4
	mov ecx, (6 * 4096) / 4
	xor eax, eax
	rep stosd
	mov dword [boot_pml4], boot_pdpt + PTE_P + PTE_W
	mov edi, boot_pdpt
	mov eax, boot_pd + PTE_P + PTE_W
	mov ecx, 4
.pdpt:	mov [edi], eax
	add eax, 4096
	add edi, 8
	loop .pdpt
	mov edi, boot_pd
	mov eax, PTE_P + PTE_W + PTE_PS
	xor edx, edx                  ; high dword of the 2 MiB page address
	mov ecx, 4 * 512
.pd:	mov [edi], eax
	mov [edi + 4], edx
	add eax, 0x200000
	adc edx, 0
	add edi, 8
	loop .pd

	mov eax, cr4
	or eax, CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT
	mov cr4, eax
	mov eax, boot_pml4
	mov cr3, eax
	mov ecx, EFER_MSR
	rdmsr
	or eax, EFER_LME
	wrmsr
	mov eax, cr0
	and eax, ~CR0_EM
	or eax, CR0_PE | CR0_MP | CR0_PG
	mov cr0, eax
	lgdt [gdt64_ptr]
	jmp 0x08:long_entry

.no_long_mode:
	mov esi, no_lm_msg
.putc:	lodsb
	test al, al
	jz .halt
	mov ah, al
	mov dx, COM1 + 5
.wait:	in al, dx
	test al, 0x20
	jz .wait
	mov dx, COM1
	mov al, ah
	out dx, al
	jmp .putc
.halt:	cli
	hlt
	jmp .halt

bits 64
extern mb2_main
long_entry:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	xor eax, eax
	mov fs, ax
	mov gs, ax
	mov rsp, stack_top
	xor ebp, ebp
	mov edi, [mb2_magic]
	mov esi, [mb2_info]
	call mb2_main
.hang:	cli
	hlt
	jmp .hang

section .rodata
no_lm_msg: db 13, 10, "loader: boot failed: the CPU has no long mode (x86-64)", 13, 10, 0

align 16
gdt64:
	dq 0
	dq 0x00af9a000000ffff   ; 0x08 code, 64-bit
	dq 0x00cf92000000ffff   ; 0x10 data
gdt64_end:
gdt64_ptr:
	dw gdt64_end - gdt64 - 1
	dd gdt64
	dd 0

section .data
mb2_magic: dd 0
mb2_info:  dd 0

section .bss
align 4096
boot_pml4: resb 4096
boot_pdpt: resb 4096
boot_pd:   resb 4 * 4096
stack:     resb 32768
stack_top:
