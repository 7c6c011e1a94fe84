/*
 * kernel/sys_info.h - the small system calls a static program makes at
 * start-up and for information: ids, uname, getrandom, sysinfo, rlimits,
 * the robust-futex list, rseq, prctl, sched_* queries and CPU affinity
 * (kernel/sys_info.c; Linux 6.1, errno for errno).
 */
#ifndef KERNEL_SYS_INFO_H
#define KERNEL_SYS_INFO_H

#include "kernel/compiler.h"
#include "kernel/sched.h"

/* Linux's struct rlimit64 (and struct rlimit on x86-64). */
struct rlimit64 {
	uint64_t rlim_cur, rlim_max;
};
#define RLIM_INFINITY (~0ull)
#define RLIMIT_CPU    0
#define RLIMIT_FSIZE  1
#define RLIMIT_DATA   2
#define RLIMIT_STACK  3
#define RLIMIT_CORE   4
#define RLIMIT_NOFILE 7
#define RLIM_NLIMITS  16

/* The user-visible thread id of t (Linux's tid): t->pid once the process
 * model gives one, else the kernel tid (what gettid returns today). */
static inline int thread_vtid(const struct thread *t)
{
	return t->pid ? t->pid : t->tid;
}

/*
 * The thread a pid argument names (sched_setaffinity, sched_getparam,
 * prlimit64, get_robust_list, the CPU-time clocks): 0 or the caller's own
 * id gives current; another id the live user thread with that id (a
 * process's id is its leader's thread id), looked up under tasklist_lock.
 * The thread comes with a reference (get_thread): it cannot be freed
 * before the caller's put_thread, even if it dies meanwhile. NULL: no
 * such thread (-ESRCH, or -EINVAL for a clock).
 */
struct thread *syscall_target_get(int pid);

/* The limit `resource` of t (defaults unless set): Linux's task_rlimit. */
struct rlimit64 thread_rlimit(struct thread *t, unsigned resource);

int64_t sys_getuid(void);
int64_t sys_geteuid(void);
int64_t sys_getgid(void);
int64_t sys_getegid(void);
int64_t sys_getresuid(uint64_t ruid, uint64_t euid, uint64_t suid);
int64_t sys_getresgid(uint64_t rgid, uint64_t egid, uint64_t sgid);
int64_t sys_setuid(uint64_t uid);
int64_t sys_setgid(uint64_t gid);
int64_t sys_setresuid(uint64_t ruid, uint64_t euid, uint64_t suid);
int64_t sys_setresgid(uint64_t rgid, uint64_t egid, uint64_t sgid);
int64_t sys_getgroups(int64_t size, uint64_t list);
int64_t sys_setgroups(int64_t size, uint64_t list);
int64_t sys_uname(uint64_t buf);
int64_t sys_getrandom(uint64_t buf, uint64_t len, uint64_t flags);
int64_t sys_sysinfo(uint64_t info);
int64_t sys_getrlimit(uint64_t resource, uint64_t rlim);
int64_t sys_setrlimit(uint64_t resource, uint64_t rlim);
int64_t sys_prlimit64(int64_t pid, uint64_t resource, uint64_t new_rlim, uint64_t old_rlim);
int64_t sys_set_robust_list(uint64_t head, uint64_t len);
int64_t sys_get_robust_list(int64_t pid, uint64_t head_ptr, uint64_t len_ptr);
int64_t sys_rseq(uint64_t rseq, uint64_t len, uint64_t flags, uint64_t sig);
int64_t sys_prctl(int64_t option, uint64_t arg2, uint64_t arg3, uint64_t arg4, uint64_t arg5);
int64_t sys_getcpu(uint64_t cpu, uint64_t node, uint64_t tcache);
int64_t sys_sched_setaffinity(int64_t pid, uint64_t len, uint64_t mask);
int64_t sys_sched_getaffinity(int64_t pid, uint64_t len, uint64_t mask);
int64_t sys_sched_getscheduler(int64_t pid);
int64_t sys_sched_getparam(int64_t pid, uint64_t param);
int64_t sys_sched_get_priority_max(int64_t policy);
int64_t sys_sched_get_priority_min(int64_t policy);

#endif
