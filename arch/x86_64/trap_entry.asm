; arch/x86_64/trap_entry.asm - interrupt and exception entry stubs.
;
; One stub per vector (all 256) pushes a dummy error code when the CPU does
; not push one, then the vector number, and jumps to trap_common, which saves
; every general-purpose register into a struct trap_frame (arch/x86_64/trap.h)
; and calls trap_dispatch(frame). The kernel runs in ring 0 only for now, so
; GS base is always the kernel's per-CPU pointer and no swapgs is needed;
; ring 3 entry will add it here.

bits 64
default rel

extern trap_dispatch
extern uaccess_smap

%macro STUB 1
align 16
stub_%1:
%if %1 = 8 || (%1 >= 10 && %1 <= 14) || %1 = 17 || %1 = 21 || %1 = 29 || %1 = 30
%else
	push 0
%endif
	push %1
	jmp trap_common
%endmacro

section .text
%assign i 0
%rep 256
STUB i
%assign i i+1
%endrep

trap_common:
	push rax
	push rbx
	push rcx
	push rdx
	push rsi
	push rdi
	push rbp
	push r8
	push r9
	push r10
	push r11
	push r12
	push r13
	push r14
	push r15
	cld
	cmp byte [rel uaccess_smap], 0   ; a trap inside a uaccess window: the
	je .ac_clear                      ; handler runs with SMAP enforced again
	clac                              ; (iretq restores the interrupted AC)
.ac_clear:
	mov rdi, rsp
	call trap_dispatch
	pop r15
	pop r14
	pop r13
	pop r12
	pop r11
	pop r10
	pop r9
	pop r8
	pop rbp
	pop rdi
	pop rsi
	pop rdx
	pop rcx
	pop rbx
	pop rax
	add rsp, 16
	iretq

section .rodata
global trap_stubs
align 8
trap_stubs:
%assign i 0
%rep 256
	dq stub_ %+ i
%assign i i+1
%endrep
