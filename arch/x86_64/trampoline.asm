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
;   owner  the APIC id of the CPU this block is for
; Before it uses the block, the AP claims it: lock cmpxchg owner from its own
; APIC id (CPUID) to TRAMP_CLAIMED. A CPU that finds another id there (it
; woke up after the BSP gave up on it and moved on to the next CPU, or the
; BSP withdrew the block: TRAMP_ABANDONED) halts before touching any stack,
; so a late CPU can never run as another one, on another one's stack.
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
.owner:	dd 0        ; 0x38
	dd 0
TRAMP_CLAIMED equ 0xffffffff

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
	mov r8d, ebx          ; the base (cpuid clobbers rbx), zero-extended
	; esi = this CPU's APIC id: CPUID leaf 0xB (x2APIC id) when the CPU has
	; it and it is valid (EBX != 0 at level 0), else leaf 1 (initial id).
	xor eax, eax
	cpuid
	cmp eax, 0xb
	jb .leaf1
	mov eax, 0xb
	xor ecx, ecx
	cpuid
	test ebx, 0xffff
	jz .leaf1
	mov esi, edx
	jmp .claim
.leaf1:
	mov eax, 1
	cpuid
	shr ebx, 24
	mov esi, ebx
.claim:
	mov eax, esi
	mov edx, TRAMP_CLAIMED
	lock cmpxchg [r8 + tramp_data.owner], edx
	jne .not_mine
	mov rsp, [r8 + tramp_data.stack]
	mov rdi, [r8 + tramp_data.cpu]
	mov rsi, [r8 + tramp_data.kcr3]
	mov rax, [r8 + tramp_data.entry]
	jmp rax
.not_mine:
	cli
	hlt
	jmp .not_mine
