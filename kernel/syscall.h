/*
 * kernel/syscall.h - the system-call dispatcher, and starting user
 * programs from the kernel (the process model is kernel/process.h).
 *
 * System calls are numbered as Linux x86-64 (arch/x86/entry/syscalls/
 * syscall_64.tbl); the table in kernel/syscall.c maps a number to its
 * sys_* function, and a number without one returns -ENOSYS. Adding a call
 * is one line there: SYSCALL(__NR_read, sys_read). A sys_* function takes
 * at most six integer or pointer arguments (rdi, rsi, rdx, r10, r8, r9) and
 * returns an int64_t (a negative errno on failure).
 */
#ifndef KERNEL_SYSCALL_H
#define KERNEL_SYSCALL_H

#include "kernel/compiler.h"

#define __NR_read	     0
#define __NR_write	     1
#define __NR_open	     2
#define __NR_close	     3
#define __NR_stat	     4
#define __NR_fstat	     5
#define __NR_lstat	     6
#define __NR_lseek	     8
#define __NR_mmap	     9
#define __NR_mprotect	     10
#define __NR_munmap	     11
#define __NR_brk	     12
#define __NR_rt_sigaction    13
#define __NR_rt_sigprocmask  14
#define __NR_rt_sigreturn    15
#define __NR_ioctl	     16
#define __NR_pread64	     17
#define __NR_pwrite64	     18
#define __NR_readv	     19
#define __NR_writev	     20
#define __NR_pipe	     22
#define __NR_sched_yield     24
#define __NR_madvise	     28
#define __NR_dup	     32
#define __NR_dup2	     33
#define __NR_pause	     34
#define __NR_getitimer	     36
#define __NR_alarm	     37
#define __NR_setitimer	     38
#define __NR_getpid	     39
#define __NR_clone	     56
#define __NR_fork	     57
#define __NR_vfork	     58
#define __NR_execve	     59
#define __NR_exit	     60
#define __NR_wait4	     61
#define __NR_kill	     62
#define __NR_fcntl	     72
#define __NR_fsync	     74
#define __NR_fdatasync	     75
#define __NR_ftruncate	     77
#define __NR_mkdir	     83
#define __NR_rmdir	     84
#define __NR_creat	     85
#define __NR_unlink	     87
#define __NR_getppid	     110
#define __NR_rt_sigpending   127
#define __NR_rt_sigtimedwait 128
#define __NR_rt_sigsuspend   130
#define __NR_sigaltstack     131
#define __NR_getpgrp	     111
#define __NR_getpgid	     121
#define __NR_getsid	     124
#define __NR_arch_prctl	     158
#define __NR_iopl	     172
#define __NR_ioperm	     173
#define __NR_gettid	     186
#define __NR_tkill	     200
#define __NR_futex	     202
#define __NR_getdents64	     217
#define __NR_set_tid_address 218
#define __NR_restart_syscall 219
#define __NR_fadvise64	     221
#define __NR_exit_group	     231
#define __NR_tgkill	     234
#define __NR_waitid	     247
#define __NR_openat	     257
#define __NR_mkdirat	     258
#define __NR_newfstatat	     262
#define __NR_unlinkat	     263
#define __NR_dup3	     292
#define __NR_pipe2	     293
#define __NR_clone3	     435
#define NR_SYSCALLS	     512 /* the table's size; Linux 6.1 has 451 */
#define __NR_ktest_hook	     511 /* a slot tests may fill (syscall_set_hook) */

/* kernel/sys_time.c and kernel/sys_info.c */
#define __NR_nanosleep		    35
#define __NR_uname		    63
#define __NR_gettimeofday	    96
#define __NR_getrlimit		    97
#define __NR_sysinfo		    99
#define __NR_getuid		    102
#define __NR_getgid		    104
#define __NR_setuid		    105
#define __NR_setgid		    106
#define __NR_geteuid		    107
#define __NR_getegid		    108
#define __NR_getgroups		    115
#define __NR_setgroups		    116
#define __NR_setresuid		    117
#define __NR_getresuid		    118
#define __NR_setresgid		    119
#define __NR_getresgid		    120
#define __NR_sched_getparam	    143
#define __NR_sched_getscheduler	    145
#define __NR_sched_get_priority_max 146
#define __NR_sched_get_priority_min 147
#define __NR_prctl		    157
#define __NR_setrlimit		    160
#define __NR_time		    201
#define __NR_sched_setaffinity	    203
#define __NR_sched_getaffinity	    204
#define __NR_clock_gettime	    228
#define __NR_clock_getres	    229
#define __NR_clock_nanosleep	    230
#define __NR_set_robust_list	    273
#define __NR_get_robust_list	    274
#define __NR_prlimit64		    302
#define __NR_getcpu		    309
#define __NR_getrandom		    318
#define __NR_rseq		    334

#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004

/* Linux signal numbers (x86-64) recorded when a user thread is killed. */
#define SIGILL	4
#define SIGTRAP 5
#define SIGBUS	7
#define SIGFPE	8
#define SIGKILL 9
#define SIGSEGV 11
#define SIGCHLD 17

typedef int64_t (*syscall_fn_t)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);

/* Run system call nr (the low 32 bits of rax, as Linux) with its arguments. */
int64_t syscall_dispatch(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
			 uint64_t a4, uint64_t a5);
/* Tests: put fn in table slot nr (NULL: empty again); returns the old one. */
syscall_fn_t syscall_set_hook(unsigned nr, syscall_fn_t fn);

/* SYSCALL returns that went by IRET because SYSRET was not safe. */
extern uint64_t syscall_iret_returns;

struct mm;
struct thread;
struct trap_frame;

/* A thread that runs in mm from rip with rsp in ring 3. notify(t, arg) is
 * called on the thread when its user life ends, with t->exit_status set
 * (Linux wait status: code << 8, or the signal number). NULL: no memory. */
struct files_struct;
/* user_thread_create with an fd table: the thread takes over the reference
 * to files (NULL: none) and drops it when it exits. */
struct thread *user_thread_create_files(const char *name, struct mm *mm, uint64_t rip, uint64_t rsp,
					struct files_struct *files, int cpu,
					void (*notify)(struct thread *t, void *arg), void *arg);
struct thread *user_thread_create(const char *name, struct mm *mm, uint64_t rip, uint64_t rsp,
				  int cpu, void (*notify)(struct thread *t, void *arg), void *arg);
/* End it because a fatal signal is pending (kill_thread): exit_group of
 * another thread, or a kill. */
void user_exit_killed(void) __noreturn;
/* End its process because of a fault (sig: SIGSEGV, ...); logs what and where. */
void user_exit_signal(int sig, const struct trap_frame *f, uint64_t cr2) __noreturn;

/* The system calls of the entry code. */
int64_t sys_sched_yield(void);
int64_t sys_arch_prctl(int code, uint64_t addr);
int64_t sys_iopl(unsigned level);
int64_t sys_ioperm(uint64_t from, uint64_t num, int turn_on);

#endif
