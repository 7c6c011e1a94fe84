/*
 * kernel/exec.h - execve's loading half: build a new address space holding
 * a static ELF program and its initial stack (kernel/exec.c).
 *
 * How the system call uses it (the ring-3 side enters user mode):
 *
 *	struct exec_result r;
 *	int err = execve_prepare_user(kpath, uargv, uenvp, &r);  // or kernel_execve_prepare
 *	if (err)
 *		return err;            // the old program carries on, nothing changed
 *	// point of no return: end the other threads (de_thread), then
 *	// switch current->mm to r.mm (r's reference becomes the thread's),
 *	// mmput the old mm, reset the FPU state, and return to user mode with
 *	// RIP = r.entry, RSP = r.sp, every other register 0 (glibc's _start
 *	// passes %rdx to atexit: it must be 0), RFLAGS = 0x202.
 *
 * A caller that gives up before the switch calls exec_result_release(&r).
 * prepare never touches the calling thread's own mm except to read the
 * argument strings from it (execve_prepare_user).
 */
#ifndef KERNEL_EXEC_H
#define KERNEL_EXEC_H

#include "kernel/compiler.h"

struct mm;

/* The stack: a fixed 8 MiB VMA (Linux's default RLIMIT_STACK) ending at
 * EXEC_STACK_TOP, read-write (and executable if PT_GNU_STACK says PF_X).
 * It does not grow: Linux's grows down on demand up to the rlimit, with
 * the same effect for a program that stays within 8 MiB. The top is 256
 * MiB below the end of the user half (Linux without randomization puts it
 * right at 0x7ffffffff000; with it, up to 16 GiB lower), which leaves the
 * last pages under the limit free for tests of that boundary. */
#define EXEC_STACK_SIZE	  (8ull << 20)
#define EXEC_STACK_TOP	  0x00007fffeffff000ull
#define EXEC_STACK_RLIMIT EXEC_STACK_SIZE
/* Linux's argument limits: one string (with its NUL) at most 32 pages; all
 * strings and pointers at most a quarter of the stack rlimit (and at most
 * 3/4 of _STK_LIM, at least ARG_MAX: 2 MiB here); at most 0x7fffffff of each. */
#define MAX_ARG_STRLEN	(32 * 4096ull)
#define MAX_ARG_STRINGS 0x7fffffff

struct exec_result {
	struct mm *mm;	 /* the new address space; one mm_users reference, the caller's */
	uint64_t entry;	 /* initial RIP */
	uint64_t sp;	 /* initial RSP: 16-byte aligned, pointing at argc */
	uint64_t bias;	 /* load bias: 0 for ET_EXEC, base - first page for ET_DYN */
	uint64_t phdr;	 /* AT_PHDR */
	uint64_t brk;	 /* initial break: page-aligned end of the highest segment */
	uint64_t random; /* AT_RANDOM: 16 random bytes on the stack */
	uint64_t execfn; /* AT_EXECFN: the path string on the stack */
	uint64_t argc, envc;
	bool exec_stack; /* PT_GNU_STACK asked for an executable stack */
};

/*
 * Load the static ELF program at path into a new mm with argv and envp
 * (kernel strings, NULL-terminated arrays; argv or envp NULL means none).
 * 0 and *out filled, or: -ENOENT (no file, or a PT_INTERP whose interpreter
 * is absent: dynamic linking is not supported, and the kernel log says
 * so), -EACCES (not a regular file), -ENOEXEC (not an ELF64 x86-64
 * executable, or any header field out of bounds; the log names the rule),
 * -E2BIG (arguments over the limits above), -ENOMEM, -EIO. On error
 * nothing is left allocated.
 */
int kernel_execve_prepare(const char *path, char *const argv[], char *const envp[],
			  struct exec_result *out);
/* The same with argv and envp user pointers in the calling thread's mm (as
 * execve(2) receives them; 0 = none); -EFAULT for a bad pointer. path is a
 * kernel string (the system call copies it in first). */
int execve_prepare_user(const char *path, uint64_t uargv, uint64_t uenvp, struct exec_result *out);
/* Drop an unused result's mm. */
void exec_result_release(struct exec_result *r);

#endif
