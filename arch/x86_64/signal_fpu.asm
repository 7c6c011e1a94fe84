; arch/x86_64/signal_fpu.asm - restoring an FPU image that user code wrote
; (rt_sigreturn, arch/x86_64/signal.c).
;
; XRSTOR and FXRSTOR raise #GP on a bad image (reserved MXCSR bits, an
; XSTATE_BV bit outside XCR0, a compacted or non-zero reserved header). The
; image has been copied into a kernel buffer first, so no #PF can come; the
; #GP is listed in the exception table (.ex_table, as uaccess.asm) and the
; trap handler resumes at the fixup, which returns -EFAULT: the caller then
; loads a clean state (Linux's fpu__clear_user_states) and sends SIGSEGV.

bits 64
default rel

%macro EX_ENTRY 2
	section .ex_table
	dq %1, %2
	section .text
%endmacro

section .text

; int fpu_restore_checked(const void *area, int use_xsave)
global fpu_restore_checked
fpu_restore_checked:
	test esi, esi
	jz .fx
	mov eax, -1
	mov edx, -1
.xrstor:
	xrstor64 [rdi]
	xor eax, eax
	ret
.fx:
.fxrstor:
	fxrstor64 [rdi]
	xor eax, eax
	ret
	EX_ENTRY .xrstor, fpu_restore_fault
	EX_ENTRY .fxrstor, fpu_restore_fault

fpu_restore_fault:
	mov eax, -14
	ret
