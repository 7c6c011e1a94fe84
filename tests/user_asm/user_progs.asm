; tests/user_asm/user_progs.asm - tiny ring-3 programs for tests/test_user_entry.c.
;
; Each program lies between user_<name> and user_<name>_end, is position
; independent, and is copied by the test into an executable user page of a
; fresh mm. Arguments come on the user stack: the test writes them at [rsp].
; Exit status 0 means every check passed; a non-zero status names the check.

bits 64
default rel
section .rodata

%macro PROG 1
global user_%1
global user_%1_end
%endmacro

%define SYS_sched_yield 24
%define SYS_exit 60
%define SYS_arch_prctl 158
%define SYS_iopl 172
%define SYS_ioperm 173
%define SYS_exit_group 231

; Entry state: every register but rsp is 0 (glibc's _start passes rdx to
; atexit), RFLAGS is just IF; then exit_group(42).
PROG exit42
user_exit42:
	mov rax, rbx
	or rax, rcx
	or rax, rdx
	or rax, rsi
	or rax, rdi
	or rax, rbp
	or rax, r8
	or rax, r9
	or rax, r10
	or rax, r11
	or rax, r12
	or rax, r13
	or rax, r14
	or rax, r15
	jnz .bad
	pushfq
	pop rax
	and eax, ~0x8d7                 ; bit 1 (always 1) and the arithmetic flags
	cmp rax, 0x200
	jne .bad2
	; after a syscall: rcx = the return address, r11 = rflags
	mov eax, SYS_sched_yield
	syscall
.after:
	lea rdx, [.after]
	cmp rcx, rdx
	jne .bad3
	and r11d, ~0x8d5
	cmp r11, 0x202
	jne .bad4
	mov edi, 42
	mov eax, SYS_exit_group
	syscall
	ud2
.bad:
	mov edi, 1
	jmp .out
.bad2:
	mov edi, 2
	jmp .out
.bad3:
	mov edi, 3
	jmp .out
.bad4:
	mov edi, 4
.out:
	mov eax, SYS_exit
	syscall
	ud2
user_exit42_end:

; The faulting programs: each must die with its signal.
PROG pf_read
user_pf_read:
	mov rax, [abs 0x10]
	jmp exit_zero_pf
exit_zero_pf:
	xor edi, edi
	mov eax, SYS_exit
	syscall
user_pf_read_end:

PROG ud2
user_ud2:
	ud2
user_ud2_end:

PROG cli
user_cli:
	cli
	xor edi, edi
	mov eax, SYS_exit
	syscall
user_cli_end:

PROG hlt
user_hlt:
	hlt
	xor edi, edi
	mov eax, SYS_exit
	syscall
user_hlt_end:

PROG int3
user_int3:
	int3
	xor edi, edi
	mov eax, SYS_exit
	syscall
user_int3_end:

PROG div0
user_div0:
	xor ecx, ecx
	mov eax, 1
	xor edx, edx
	div ecx
	xor edi, edi
	mov eax, SYS_exit
	syscall
user_div0_end:

; int $0x40 (the timer vector: a DPL-0 gate) from ring 3 is a #GP.
PROG int40
user_int40:
	int 0x40
	xor edi, edi
	mov eax, SYS_exit
	syscall
user_int40_end:

; A kernel address read: #PF with the protection bit, SIGSEGV.
PROG kread
user_kread:
	mov rax, 0xffff800000000000
	mov rax, [rax]
	xor edi, edi
	mov eax, SYS_exit
	syscall
user_kread_end:

; TF set by popf: the single-step #DB after the next instruction, SIGTRAP.
PROG singlestep
user_singlestep:
	pushfq
	or qword [rsp], 0x100
	popfq
	nop
	nop
	xor edi, edi
	mov eax, SYS_exit
	syscall
user_singlestep_end:

; AC set, then a system call that reports the kernel's RFLAGS (the test's
; hook, slot 511): FMASK must have cleared AC, TF, DF, NT (and IF until the
; kernel enables it).
PROG flags
user_flags:
	pushfq
	or qword [rsp], 0x40400         ; AC, DF
	popfq
	mov eax, 511
	syscall
	cld
	xor edi, edi                    ; status bits: AC 1, DF 2, NT 4, TF 8
	bt rax, 18
	adc edi, 0
	bt rax, 10
	setc cl
	shl cl, 1
	or dil, cl
	bt rax, 14
	setc cl
	shl cl, 2
	or dil, cl
	bt rax, 8
	setc cl
	shl cl, 3
	or dil, cl
	mov eax, SYS_exit
	syscall
user_flags_end:

; Checks of the small system calls. [rsp] = a buffer address.
PROG calls
user_calls:
	mov rbx, [rsp]
	mov eax, 400                    ; no such call
	syscall
	cmp rax, -38
	jne .f1
	mov rax, 0x7fffffff00000000 | SYS_sched_yield ; high bits ignored
	syscall
	test rax, rax
	jnz .f2
	mov eax, SYS_iopl
	mov edi, 3
	syscall
	cmp rax, -1
	jne .f3
	mov eax, SYS_iopl
	mov edi, 4
	syscall
	cmp rax, -22
	jne .f3
	mov eax, SYS_ioperm
	mov edi, 0x80
	mov esi, 1
	mov edx, 1
	syscall
	cmp rax, -1
	jne .f4
	mov eax, SYS_arch_prctl         ; SET_FS to a kernel address: -EPERM
	mov edi, 0x1002
	mov rsi, 0xffff800000000000
	syscall
	cmp rax, -1
	jne .f5
	mov eax, SYS_arch_prctl         ; GET_FS to a kernel address: -EFAULT
	mov edi, 0x1003
	mov rsi, 0xffff800000000000
	syscall
	cmp rax, -14
	jne .f5
	mov eax, SYS_arch_prctl         ; bad code: -EINVAL
	mov edi, 0x1999
	syscall
	cmp rax, -22
	jne .f5
	mov eax, SYS_arch_prctl         ; GS base: set, read back, and %gs works
	mov edi, 0x1001
	mov rsi, rbx
	syscall
	test rax, rax
	jnz .f6
	mov qword [rbx + 8], 0x5a5a
	mov eax, SYS_sched_yield
	syscall
	cmp qword [gs:8], 0x5a5a
	jne .f6
	mov eax, SYS_arch_prctl
	mov edi, 0x1004
	lea rsi, [rbx + 16]
	syscall
	test rax, rax
	jnz .f6
	cmp [rbx + 16], rbx
	jne .f6
	xor edi, edi
	jmp .out
.f1:	mov edi, 1
	jmp .out
.f2:	mov edi, 2
	jmp .out
.f3:	mov edi, 3
	jmp .out
.f4:	mov edi, 4
	jmp .out
.f5:	mov edi, 5
	jmp .out
.f6:	mov edi, 6
.out:
	mov eax, SYS_exit
	syscall
user_calls_end:

; The stress program: [rsp] = id, [rsp+8] = FS base (a slot holding id),
; [rsp+16] = address of the TSC deadline, [rsp+24] = a scratch word the
; test keeps zapping. Until the deadline, checks that a GPR, the FS base,
; an XMM register and the x87 stack all still hold id, while preempted,
; migrated, interrupted by TLB shootdowns and refaulting.
PROG spin
user_spin:
	mov r12, [rsp]
	mov rsi, [rsp + 8]
	mov edi, 0x1002                 ; ARCH_SET_FS
	mov eax, SYS_arch_prctl
	syscall
	test rax, rax
	jnz .f4
	mov edi, 0x1003                 ; ARCH_GET_FS
	lea rsi, [rsp + 32]
	mov eax, SYS_arch_prctl
	syscall
	test rax, rax
	jnz .f4
	mov rax, [rsp + 32]
	cmp rax, [rsp + 8]
	jne .f4
	movq xmm0, r12
	movq xmm7, r12
	fild qword [rsp]
	mov r13, [rsp + 16]
	mov r14, [rsp + 24]
	xor r15, r15
.loop:
	cmp r12, [fs:0]
	jne .f1
	movq rax, xmm0
	cmp rax, r12
	jne .f2
	movq rax, xmm7
	cmp rax, r12
	jne .f2
	fld st0
	fistp qword [rsp + 40]
	cmp r12, [rsp + 40]
	jne .f3
	inc r15
	mov [r14], r15
	test r15d, 0xff
	jnz .noyield
	mov eax, SYS_sched_yield
	syscall
.noyield:
	rdtsc
	shl rdx, 32
	or rax, rdx
	cmp rax, [r13]
	jb .loop
	xor edi, edi
	jmp .out
.f1:	mov edi, 1
	jmp .out
.f2:	mov edi, 2
	jmp .out
.f3:	mov edi, 3
	jmp .out
.f4:	mov edi, 4
.out:
	mov eax, SYS_exit
	syscall
user_spin_end:

; Two threads on one CPU: [rsp] = flag address, [rsp+8] = deadline address,
; [rsp+16] = role. Role 0 spins (no system call) until the flag is set,
; status 1 if the deadline comes first; role 1 sets the flag. Only
; preemption of user code lets role 1 run on the waiter's CPU.
PROG pingwait
user_pingwait:
	mov rbx, [rsp]
	mov r13, [rsp + 8]
	cmp qword [rsp + 16], 0
	jne .setter
.wait:
	cmp qword [rbx], 1
	je .ok
	rdtsc
	shl rdx, 32
	or rax, rdx
	cmp rax, [r13]
	jb .wait
	mov edi, 1
	jmp .out
.setter:
	mov qword [rbx], 1
.ok:
	xor edi, edi
.out:
	mov eax, SYS_exit
	syscall
user_pingwait_end:

; A system call preserves every register but rax (the result), rcx and r11
; (the return address and RFLAGS): as Linux, whatever path the return takes.
PROG regs
user_regs:
	mov rbx, 0x1111111111111111
	mov rdx, 0x2222222222222222
	mov rsi, 0x3333333333333333
	mov rdi, 0x4444444444444444
	mov rbp, 0x5555555555555555
	mov r8, 0x6666666666666666
	mov r9, 0x7777777777777777
	mov r10, 0x8888888888888888
	mov r12, 0x9999999999999999
	mov r13, 0xaaaaaaaaaaaaaaaa
	mov r14, 0xbbbbbbbbbbbbbbbb
	mov r15, 0xcccccccccccccccc
	push rsp
	pop rax
	mov [rax - 8], rax              ; rsp, to compare after
	mov eax, SYS_sched_yield
	syscall
	mov eax, 400                    ; -ENOSYS path too
	syscall
	cmp rax, -38
	jne .bad
	lea rax, [rsp - 8]
	cmp [rax], rsp
	jne .bad
	mov rax, 0x1111111111111111
	cmp rbx, rax
	jne .bad
	mov rax, 0x2222222222222222
	cmp rdx, rax
	jne .bad
	mov rax, 0x3333333333333333
	cmp rsi, rax
	jne .bad
	mov rax, 0x4444444444444444
	cmp rdi, rax
	jne .bad
	mov rax, 0x5555555555555555
	cmp rbp, rax
	jne .bad
	mov rax, 0x6666666666666666
	cmp r8, rax
	jne .bad
	mov rax, 0x7777777777777777
	cmp r9, rax
	jne .bad
	mov rax, 0x8888888888888888
	cmp r10, rax
	jne .bad
	mov rax, 0x9999999999999999
	cmp r12, rax
	jne .bad
	mov rax, 0xaaaaaaaaaaaaaaaa
	cmp r13, rax
	jne .bad
	mov rax, 0xbbbbbbbbbbbbbbbb
	cmp r14, rax
	jne .bad
	mov rax, 0xcccccccccccccccc
	cmp r15, rax
	jne .bad
	xor edi, edi
	jmp .out
.bad:
	mov edi, 1
.out:
	mov eax, SYS_exit
	syscall
user_regs_end:
