; arch/x86_64/head.asm - kernel entry from the loader, context switch,
; ksetjmp/klongjmp, segment reload.
;
; Entry contract (boot/boot_info.h): long mode, interrupts off, the loader's
; page tables (identity + direct map + kernel), rdi = physical address of
; struct boot_info. We move to our own boot stack in .bss and call
; kernel_main(boot_info_phys); the kernel then builds its own page tables.

bits 64
default rel

section .text.entry
global _start
extern kernel_main
_start:
	cli
	cld
	lea rsp, [boot_stack_top]
	xor ebp, ebp
	call kernel_main
.hang:	cli
	hlt
	jmp .hang

section .text

; void arch_switch_to(struct thread *prev, struct thread *next)
; Saves the callee-saved registers on prev's stack, stores rsp in
; prev->arch.sp (offset 0 of struct thread), loads next's rsp and returns
; into next. A new thread's stack is prepared by arch_thread_init so the
; return lands in thread_entry_stub.
global arch_switch_to
arch_switch_to:
	push rbp
	push rbx
	push r12
	push r13
	push r14
	push r15
	mov [rdi], rsp
	mov rsp, [rsi]
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbx
	pop rbp
	ret

; First code a new thread runs: r12 = the C entry point set up by
; arch_thread_init. The C entry never returns.
global thread_entry_stub
thread_entry_stub:
	xor ebp, ebp
	call r12
	ud2

; int ksetjmp(struct kjmp_buf *jb)   /* rbx rbp r12 r13 r14 r15 rsp rip rflags */
global ksetjmp
ksetjmp:
	mov [rdi + 0], rbx
	mov [rdi + 8], rbp
	mov [rdi + 16], r12
	mov [rdi + 24], r13
	mov [rdi + 32], r14
	mov [rdi + 40], r15
	lea rax, [rsp + 8]
	mov [rdi + 48], rax
	mov rax, [rsp]
	mov [rdi + 56], rax
	pushfq
	pop qword [rdi + 64]
	xor eax, eax
	ret

; void klongjmp(struct kjmp_buf *jb, int val)
global klongjmp
klongjmp:
	mov eax, esi
	test eax, eax
	jnz .nz
	inc eax
.nz:	mov rbx, [rdi + 0]
	mov rbp, [rdi + 8]
	mov r12, [rdi + 16]
	mov r13, [rdi + 24]
	mov r14, [rdi + 32]
	mov r15, [rdi + 40]
	mov rsp, [rdi + 48]
	push qword [rdi + 64]
	popfq
	jmp [rdi + 56]

; void gdt_load(const struct gdt_ptr *p, uint16_t code_sel, uint16_t data_sel)
global gdt_load
gdt_load:
	lgdt [rdi]
	mov ax, dx
	mov ds, ax
	mov es, ax
	mov ss, ax
	; fs and gs are left alone: loading a selector would clear GS base,
	; which already points at this CPU's struct cpu.
	push rsi
	lea rax, [.reload]
	push rax
	retfq
.reload:
	ret

section .bss
align 16
boot_stack:
	resb 16384
global boot_stack_top
boot_stack_top:

section .text
; AP entry from the trampoline: rdi = cpu, rsi = kernel CR3, rsp = idle stack.
global ap_entry64
extern ap_main
ap_entry64:
	mov cr3, rsi
	xor ebp, ebp
	call ap_main
.hang:	cli
	hlt
	jmp .hang
