; arch/x86_64/trampoline.asm - AP start-up: real mode -> long mode.
;
; Assembled as a flat binary (org 0) and copied by smpboot.c to the page
; below 1 MiB that the loader reserved; the STARTUP IPI starts the AP at
; CS = page >> 4, IP = 0. The code is position independent: it computes
; its linear base from CS and patches its own GDT pointer and far jumps.
; smpboot.c fills the data block at offset 0x10 before each start:
;   cr3    temporary PML4 below 4 GiB: identity map of the first 2 MiB
;          (this code) plus the kernel's upper half
;   efer   EFER value to load (LME, and NXE when the CPU has NX)
;   stack  top of the AP's idle stack (higher half)
;   entry  ap_entry64 (higher half), called with rdi = cpu, rsi = kernel CR3
; The AP jumps to the higher half and loads the kernel's CR3 at once, so
; the identity map is used only by these few instructions.

bits 16
org 0

tramp_start:
	jmp short real_start

align 16
tramp_data:
.cr3:	dd 0        ; 0x10
.efer:	dd 0        ; 0x14
.stack:	dq 0        ; 0x18
.entry:	dq 0        ; 0x20
.cpu:	dq 0        ; 0x28
.kcr3:	dq 0        ; 0x30

align 16
gdt:
	dq 0
	dq 0x00cf9a000000ffff ; 0x08: 32-bit code, flat
	dq 0x00cf92000000ffff ; 0x10: data, flat
	dq 0x00af9a000000ffff ; 0x18: 64-bit code
gdt_end:
gdt_ptr:
	dw gdt_end - gdt - 1
	dd 0                  ; patched: linear address of gdt
pm_far:
	dd 0                  ; patched: linear address of pm32
	dw 0x08
lm_far:
	dd 0                  ; patched: linear address of lm64
	dw 0x18

real_start:
	cli
	cld
	mov ax, cs
	mov ds, ax
	xor ebx, ebx
	mov bx, ax
	shl ebx, 4            ; ebx = linear base of this page
	lea eax, [ebx + gdt]
	mov [gdt_ptr + 2], eax
	lea eax, [ebx + pm32]
	mov [pm_far], eax
	lea eax, [ebx + lm64]
	mov [lm_far], eax
	lgdt [gdt_ptr]
	mov eax, cr0
	or eax, 1             ; PE
	mov cr0, eax
	jmp dword far [pm_far]

bits 32
pm32:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov eax, cr4
	or eax, (1 << 5)      ; PAE
	mov cr4, eax
	mov eax, [ebx + tramp_data.cr3]
	mov cr3, eax
	mov ecx, 0xc0000080   ; EFER
	mov eax, [ebx + tramp_data.efer]
	xor edx, edx
	wrmsr
	mov eax, cr0
	and eax, 0x9fffffff   ; clear CD and NW: caches on
	or eax, 0x80010001    ; PG | WP | PE
	mov cr0, eax
	jmp far [ebx + lm_far]

bits 64
lm64:
	mov ebx, ebx          ; zero-extend the base
	mov rsp, [rbx + tramp_data.stack]
	mov rdi, [rbx + tramp_data.cpu]
	mov rsi, [rbx + tramp_data.kcr3]
	mov rax, [rbx + tramp_data.entry]
	jmp rax
