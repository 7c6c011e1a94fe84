; arch/x86_64/trap_entry.asm - interrupt, exception and system-call entry.
;
; One stub per vector (all 256) pushes a dummy error code when the CPU does
; not push one, then the vector number, and jumps to trap_common, which saves
; every general-purpose register into a struct trap_frame (arch/x86_64/trap.h)
; and calls trap_dispatch(frame).
;
; GS base: in the kernel it is this CPU's struct cpu; in user mode it is the
; user's, with the kernel's in MSR_KERNEL_GS_BASE. Rules (as Linux):
;   - an entry from CPL 3 (saved CS & 3) does swapgs first, and the return to
;     CPL 3 (ret_to_user) does swapgs right before iretq / sysretq;
;   - NMI, #DF and #MC can arrive anywhere, also between an entry and its
;     swapgs: they decide by the GS base MSR itself (paranoid_entry: a kernel
;     GS base is negative), and swap back on exit only if they swapped;
;   - a #GP/#SS/#NP raised by the kernel's own iretq to a bad user frame
;     arrives with CS = kernel but the user's GS: trap_common sees the iretq's
;     address, swaps, and trap.c turns the frame into the user's
;     (fixup_bad_iret), so the fault is the user's.
; Every return to CPL 3 goes through exit_to_user_mode() with interrupts off
; (pending rescheduling), then chooses SYSRET only when syscall.c says it is
; safe (Linux's conditions), else IRET.

bits 64
default rel

extern trap_dispatch
extern uaccess_smap
extern exit_to_user_mode
extern do_syscall
extern fixup_bad_iret

%define CPU_ENTRY_SCRATCH 8     ; struct cpu (kernel/percpu.h): entry_scratch
%define CPU_ENTRY_STACK   16    ; struct cpu: entry_stack_top (TSS rsp0 too)
%define USER_CS 0x2b
%define USER_DS 0x23
%define VEC_SYSCALL_FRAME 0x100 ; trap_frame.vector of a system call
%define FRAME_CS  (17 * 8 + 8)  ; offset of cs in struct trap_frame
%define FRAME_RIP (17 * 8)
%define FRAME_SIZE (22 * 8)     ; sizeof(struct trap_frame)

%macro PUSH_REGS 0
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
%endmacro

%macro POP_REGS 0
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
%endmacro

; a trap inside a uaccess window, or user code with AC set: the handler
; runs with SMAP enforced again (iretq restores the interrupted AC)
%macro CLAC_IF_SMAP 0
	cmp byte [rel uaccess_smap], 0
	je %%ac_clear
	clac
%%ac_clear:
%endmacro

%macro STUB 1
align 16
stub_%1:
%if %1 = 8 || (%1 >= 10 && %1 <= 14) || %1 = 17 || %1 = 21 || %1 = 29 || %1 = 30
%else
	push 0
%endif
	push %1
%if %1 = 2 || %1 = 8 || %1 = 18
	jmp paranoid_common
%else
	jmp trap_common
%endif
%endmacro

section .text
%assign i 0
%rep 256
STUB i
%assign i i+1
%endrep

trap_common:
	test byte [rsp + 24], 3         ; saved CS (vector, error code, rip, cs)
	jz .from_kernel
%ifndef MUTATION_NO_SWAPGS_ON_ENTRY
	swapgs
%endif
	jmp .save
.from_kernel:
%ifdef MUTATION_NO_BAD_IRET_FIXUP
	jmp .save
%endif
	push rax                        ; the iretq of ret_to_user faulted: the
	lea rax, [rel iret_to_user]     ; GS base is the user's (Linux's
	cmp [rsp + 24], rax             ; error_entry, .Lerror_bad_iret)
	pop rax
	jne .save
	swapgs
	PUSH_REGS
	cld
	CLAC_IF_SMAP
	mov rdi, rsp
	call fixup_bad_iret             ; the frame becomes the user's
	jmp .dispatch
.save:
	PUSH_REGS
	cld
	CLAC_IF_SMAP
.dispatch:
	mov rdi, rsp
	call trap_dispatch
	test byte [rsp + FRAME_CS], 3
	jnz ret_to_user
	POP_REGS
	add rsp, 16
	iretq

; NMI, #DF, #MC (IST stacks): swapgs decided by the GS base, not CS.
paranoid_common:
	PUSH_REGS
	cld
	xor ebx, ebx
	mov ecx, 0xc0000101             ; MSR_GS_BASE
	rdmsr
	test edx, edx
	js .kernel_gs                   ; a kernel address: no swapgs
%ifndef MUTATION_PARANOID_NO_SWAPGS
	swapgs
%endif
	mov ebx, 1
.kernel_gs:
	CLAC_IF_SMAP
	mov rdi, rsp
	call trap_dispatch
	test ebx, ebx
	jz .no_swap
	swapgs
.no_swap:
	POP_REGS
	add rsp, 16
	iretq

; Return to CPL 3 by iretq from the trap_frame at rsp.
global ret_to_user
ret_to_user:
	cli
	mov rdi, rsp
	call exit_to_user_mode          ; pending work, with interrupts off
	POP_REGS
	add rsp, 16
%ifndef MUTATION_NO_SWAPGS_ON_EXIT
	swapgs
%endif
global iret_to_user
iret_to_user:
	iretq

; void arch_enter_user_frame(const struct trap_frame *f, uint64_t top):
; copy f to the top of the current thread's kernel stack (copied downwards:
; f may overlap it), move there and return to user mode through it.
global arch_enter_user_frame
arch_enter_user_frame:
	cli
	lea rdx, [rsi - FRAME_SIZE]     ; the frame's place
	lea rsi, [rdi + FRAME_SIZE - 8]
	lea rdi, [rdx + FRAME_SIZE - 8]
	mov ecx, FRAME_SIZE / 8
	std
	rep movsq
	cld
	mov rsp, rdx
	jmp ret_to_user

; SYSCALL: RCX = user RIP, R11 = user RFLAGS, IF/TF/DF/AC/NT cleared by
; FMASK, RSP still the user's. Builds a trap_frame as Linux builds pt_regs
; (ss, rsp, rflags, cs, rip; then error_code = orig_ax, vector 0x100).
global entry_syscall_64
entry_syscall_64:
	swapgs
	mov [gs:CPU_ENTRY_SCRATCH], rsp
	mov rsp, [gs:CPU_ENTRY_STACK]
	push USER_DS
	push qword [gs:CPU_ENTRY_SCRATCH]
	push r11
	push USER_CS
	push rcx
	push rax                        ; orig_ax in error_code
	push VEC_SYSCALL_FRAME
	PUSH_REGS
	mov rdi, rsp
	call do_syscall                 ; returns with interrupts off, after
	test al, al                     ; exit_to_user_mode; al: SYSRET is safe
	jz ret_to_user_noexit
	POP_REGS                        ; rcx = rip, r11 = rflags (checked)
	mov rsp, [rsp + 16 + 24]        ; the user's rsp
	swapgs
	o64 sysret

; iretq return when exit_to_user_mode already ran (interrupts still off).
ret_to_user_noexit:
	POP_REGS
	add rsp, 16
	swapgs
	jmp iret_to_user

section .rodata
global trap_stubs
align 8
trap_stubs:
%assign i 0
%rep 256
	dq stub_ %+ i
%assign i i+1
%endrep
