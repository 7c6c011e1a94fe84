; arch/x86_64/uaccess.asm - the only kernel code that touches user memory.
;
; Each user access is a single instruction listed in the exception table
; (.ex_table: pairs of <instruction, fixup>). A page fault there is first
; resolved like a user fault (demand paging, COW); if that fails, or the
; address is not canonical (#GP), the trap handler resumes at the fixup,
; which returns -EFAULT. With SMAP the accesses are bracketed by stac/clac.
; Callers (uaccess.h) check that the range lies in the user half.

bits 64
default rel

extern uaccess_smap

%macro STAC 0
	cmp byte [uaccess_smap], 0
	je %%skip
	stac
%%skip:
%endmacro
%macro CLAC 0
	cmp byte [uaccess_smap], 0
	je %%skip
	clac
%%skip:
%endmacro
%macro EX_ENTRY 2
	section .ex_table
	dq %1, %2
	section .text
%endmacro

section .text

; int __get_user_8(uint64_t uaddr, uint64_t *out)
global __get_user_8
__get_user_8:
	STAC
.access:
	mov rax, [rdi]
	CLAC
	mov [rsi], rax
	xor eax, eax
	ret
	EX_ENTRY .access, uaccess_fault

; int __put_user_8(uint64_t uaddr, uint64_t val)
global __put_user_8
__put_user_8:
	STAC
.access:
	mov [rdi], rsi
	CLAC
	xor eax, eax
	ret
	EX_ENTRY .access, uaccess_fault

; int __copy_user(void *dst, const void *src, uint64_t n)
; 8 bytes per iteration, then the tail (see memcpy in kernel/string.c: an
; emulator runs string instructions an iteration at a time). A fault in
; either part resumes at the fixup: -EFAULT, as for any access here.
global __copy_user
__copy_user:
	mov rcx, rdx
	shr rcx, 3
	STAC
.access_q:
	rep movsq
	mov rcx, rdx
	and rcx, 7
.access_b:
	rep movsb
	CLAC
	xor eax, eax
	ret
	EX_ENTRY .access_q, uaccess_fault
	EX_ENTRY .access_b, uaccess_fault

uaccess_fault:
	CLAC
	mov eax, -14
	ret
