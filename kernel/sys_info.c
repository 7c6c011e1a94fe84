/*
 * kernel/sys_info.c - the small system calls a static program makes:
 * credentials, uname, getrandom, sysinfo, resource limits, the robust-futex
 * list, rseq, prctl(PR_SET_NAME/PR_GET_NAME), getcpu, the sched_* queries
 * and CPU affinity. Linux 6.1, errno for errno; where Linux checks things
 * in a given order (copy the argument in, find the pid, check the value),
 * so do we, since a program can tell -EFAULT from -ESRCH from -EINVAL.
 *
 * Who we are. Everything runs as root: uid, gid and their effective and
 * saved sets are 0, with no supplementary groups; the answers are Linux's
 * to root. Setting an id to 0 (or -1: unchanged) succeeds. Setting another
 * id would succeed on Linux and drop root, which is not modelled: we refuse
 * it with -EPERM, the safe answer (a program that drops privileges checks
 * the result and stops, instead of believing it dropped them). setgroups
 * likewise accepts only the empty list it already has.
 *
 * uname. sysname "Linux": what we implement is the Linux system-call ABI,
 * and libcs and programs look at sysname and release to decide which
 * system calls and structure layouts to use (glibc refuses to start with
 * "FATAL: kernel too old" below its minimum release). Linux-compatible
 * kernels answer the same way for the same reason (gVisor says "Linux"
 * 4.4.0, WSL 1 "Linux" 4.4.0-...-Microsoft, FreeBSD's linuxulator "Linux"
 * with a settable release). We report release 6.1.0, the Linux whose
 * behaviour we copy, and say who we really are in `version`.
 *
 * Limits are Linux's defaults for root (INIT_RLIMITS): STACK 8 MiB soft,
 * CORE 0 soft, NOFILE 1024/4096 (the fd table's rlimit, which a new soft
 * limit also updates), MEMLOCK 8 MiB, MSGQUEUE 819200, NICE and RTPRIO 0,
 * NPROC and SIGPENDING half of max_threads as Linux sizes it from RAM,
 * everything else RLIM_INFINITY. Until the process model they are
 * recorded per thread (thread->rlim, allocated at the first change) and
 * only NOFILE is enforced.
 *
 * Affinity: sched_setaffinity keeps the online CPUs of the mask
 * (set_cpus_allowed, kernel/sched.c) and moves the caller at once if its
 * CPU left the mask; sched_getaffinity answers the mask and the online
 * CPUs, 8 bytes (our cpumask_size()).
 *
 * A pid argument names a thread (syscall_target_get): -ESRCH if none.
 *
 * Locks: the fd table's lock to update its rlimit; the run-queue lock
 * inside set_cpus_allowed; nothing else.
 */
#include "kernel/sys_info.h"
#include "kernel/fs/procfs.h"
#include "kernel/process.h"
#include "kernel/sched.h"
#include "kernel/percpu.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "kernel/random.h"
#include "kernel/fdtable.h"
#include "kernel/sys_time.h"
#include "mm/kmalloc.h"
#include "mm/page.h"
#include "arch/arch.h"
#include "arch/x86_64/uaccess.h"

#define UTS_LEN	       65
#define UTS_RELEASE    "6.1.0"
#define UTS_VERSION    "#1 SMP small x86-64 teaching kernel (not Linux; Linux 6.1 ABI)"
#define NR_OPEN_MAX    (1024 * 1024) /* Linux's sysctl_nr_open */
#define INR_OPEN_MAX   4096
#define MLOCK_LIMIT    (8ull << 20)
#define MQ_BYTES_MAX   819200
#define STK_LIM	       (8ull << 20)
#define NGROUPS_MAX    65536
#define GRND_NONBLOCK  0x0001
#define GRND_RANDOM    0x0002
#define GRND_INSECURE  0x0004
#define MAX_RW_COUNT   (0x7fffffffull & ~(uint64_t)(PAGE_SIZE - 1))
#define PR_SET_NAME    15
#define PR_GET_NAME    16
#define TASK_COMM_LEN  16
#define ROBUST_HEAD_SZ 24 /* struct robust_list_head on x86-64 */
#define SCHED_OTHER    0
#define SCHED_FIFO     1
#define SCHED_RR       2
#define SCHED_BATCH    3
#define SCHED_IDLE     5
#define SCHED_DEADLINE 6
#define MAX_RT_PRIO    100

enum {
	RLIMIT_RSS = 5,
	RLIMIT_NPROC = 6,
	RLIMIT_MEMLOCK = 8,
	RLIMIT_SIGPENDING = 11,
	RLIMIT_MSGQUEUE = 12,
	RLIMIT_NICE = 13,
	RLIMIT_RTPRIO = 14,
};

struct thread *syscall_target_get(int pid)
{
	struct thread *t = current;
	if (pid != 0 && pid != thread_vtid(t)) {
		spin_lock(&tasklist_lock);
		t = pid > 0 ? find_thread(pid) : NULL;
		if (t)
			get_thread(t); /* alive: it is still in its group */
		spin_unlock(&tasklist_lock);
		return t;
	}
	get_thread(t);
	return t;
}

/* ---- credentials ------------------------------------------------------- */

int64_t sys_getuid(void)
{
	return 0;
}
int64_t sys_geteuid(void)
{
	return 0;
}
int64_t sys_getgid(void)
{
	return 0;
}
int64_t sys_getegid(void)
{
	return 0;
}

/* Three uid_t/gid_t stores of 0, stopping at the first fault (Linux). */
static int64_t put_three_ids(uint64_t a, uint64_t b, uint64_t c)
{
	uint32_t zero = 0;
	if (copy_to_user(a, &zero, 4) || copy_to_user(b, &zero, 4) || copy_to_user(c, &zero, 4))
		return -EFAULT;
	return 0;
}

int64_t sys_getresuid(uint64_t ruid, uint64_t euid, uint64_t suid)
{
	return put_three_ids(ruid, euid, suid);
}

int64_t sys_getresgid(uint64_t rgid, uint64_t egid, uint64_t sgid)
{
	return put_three_ids(rgid, egid, sgid);
}

/* setuid/setgid: -1 names no id (-EINVAL); 0 is who we are. */
static int64_t set_one_id(uint32_t id)
{
	if (id == (uint32_t)-1)
		return -EINVAL;
	return id == 0 ? 0 : -EPERM; /* dropping root is not modelled */
}

int64_t sys_setuid(uint64_t uid)
{
	return set_one_id((uint32_t)uid);
}

int64_t sys_setgid(uint64_t gid)
{
	return set_one_id((uint32_t)gid);
}

/* setresuid/setresgid: each id is -1 (unchanged) or must stay 0. */
static int64_t set_three_ids(uint32_t r, uint32_t e, uint32_t s)
{
	uint32_t keep = (uint32_t)-1;
	if ((r != keep && r) || (e != keep && e) || (s != keep && s))
		return -EPERM; /* dropping root is not modelled */
	return 0;
}

int64_t sys_setresuid(uint64_t ruid, uint64_t euid, uint64_t suid)
{
	return set_three_ids((uint32_t)ruid, (uint32_t)euid, (uint32_t)suid);
}

int64_t sys_setresgid(uint64_t rgid, uint64_t egid, uint64_t sgid)
{
	return set_three_ids((uint32_t)rgid, (uint32_t)egid, (uint32_t)sgid);
}

int64_t sys_getgroups(int64_t size, uint64_t list)
{
	(void)list;
	if ((int)size < 0)
		return -EINVAL;
	return 0; /* no supplementary groups: nothing copied */
}

int64_t sys_setgroups(int64_t size, uint64_t list)
{
	unsigned n = (unsigned)(int)size;
	if (n > NGROUPS_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) { /* Linux's groups_from_user */
		uint32_t gid;
		if (copy_from_user(&gid, list + 4ull * i, 4))
			return -EFAULT;
		if (gid == (uint32_t)-1)
			return -EINVAL;
	}
	return n ? -EPERM : 0; /* only the empty list we have */
}

/* ---- uname, sysinfo, getrandom ----------------------------------------- */

struct new_utsname {
	char sysname[UTS_LEN], nodename[UTS_LEN], release[UTS_LEN];
	char version[UTS_LEN], machine[UTS_LEN], domainname[UTS_LEN];
};

int64_t sys_uname(uint64_t buf)
{
	struct new_utsname u;
	memset(&u, 0, sizeof(u));
	strlcpy(u.sysname, "Linux", UTS_LEN);
	strlcpy(u.nodename, "(none)", UTS_LEN); /* Linux's default until sethostname */
	strlcpy(u.release, UTS_RELEASE, UTS_LEN);
	strlcpy(u.version, UTS_VERSION, UTS_LEN);
	strlcpy(u.machine, "x86_64", UTS_LEN);
	strlcpy(u.domainname, "(none)", UTS_LEN);
	return copy_to_user(buf, &u, sizeof(u)) ? -EFAULT : 0;
}

struct linux_sysinfo {
	int64_t uptime;
	uint64_t loads[3];
	uint64_t totalram, freeram, sharedram, bufferram, totalswap, freeswap;
	uint16_t procs, pad;
	uint64_t totalhigh, freehigh;
	uint32_t mem_unit;
};
_Static_assert(sizeof(struct linux_sysinfo) == 112, "struct sysinfo is 112 bytes on x86-64");

int64_t sys_sysinfo(uint64_t info)
{
	struct linux_sysinfo si;
	memset(&si, 0, sizeof(si)); /* padding included: nothing of the kernel leaks */
	uint64_t up = ktime_get_ns();
	si.uptime =
	    (int64_t)(up / NSEC_PER_SEC + (up % NSEC_PER_SEC ? 1 : 0)); /* Linux rounds up */
	/* the figures of /proc/meminfo (kernel/fs/procfs.c), as Linux's
	 * si_meminfo: sharedram is Shmem, bufferram Buffers (none here) */
	struct meminfo_counts mc;
	proc_meminfo_counts(&mc);
	si.totalram = mc.total * PAGE_SIZE;
	si.freeram = mc.free * PAGE_SIZE;
	si.sharedram = mc.shmem * PAGE_SIZE;
	/* avenrun (FSHIFT 11) scaled to SI_LOAD_SHIFT 16 */
	unsigned long loads[3];
	sched_loadavg(loads);
	for (int i = 0; i < 3; i++)
		si.loads[i] = loads[i] << (16 - LOAD_FSHIFT);
	si.procs = (uint16_t)MIN(sched_thread_count(), 0xffff);
	si.mem_unit = 1; /* byte counts fit in 64 bits: Linux then uses 1 */
	return copy_to_user(info, &si, sizeof(si)) ? -EFAULT : 0;
}

int64_t sys_getrandom(uint64_t buf, uint64_t len, uint64_t flags)
{
	flags = (unsigned)flags; /* Linux: unsigned int flags */
#ifndef MUTATION_GETRANDOM_ANY_FLAGS
	if (flags & ~(uint64_t)(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE))
		return -EINVAL;
#endif
	if ((flags & (GRND_INSECURE | GRND_RANDOM)) == (GRND_INSECURE | GRND_RANDOM))
		return -EINVAL; /* insecure and blocking together make no sense (Linux) */
	/* The generator is always ready: GRND_NONBLOCK never gives -EAGAIN. */
	len = MIN(len, MAX_RW_COUNT);
	if (!access_ok(buf, len))
		return -EFAULT;
	uint64_t done = 0;
	while (done < len) {
		uint8_t chunk[64];
		uint64_t n = MIN(len - done, sizeof(chunk));
		if (done && done % PAGE_SIZE == 0 && fatal_signal_pending(current))
			break;
		get_random_bytes(chunk, n);
		int err = copy_to_user(buf + done, chunk, n);
		memset(chunk, 0, sizeof(chunk));
		if (err)
			return done ? (int64_t)done : -EFAULT;
		done += n;
	}
	return (int64_t)done;
}

/* ---- resource limits --------------------------------------------------- */

/* Linux's max_threads / 2 (fork_init): RAM over 8 kernel stacks each. */
static uint64_t default_nproc(void)
{
	uint64_t max_threads = nr_total_pages() / (8 * (THREAD_STACK_SIZE / PAGE_SIZE));
	max_threads = MAX(MIN(max_threads, 0x3fffffffull), 20ull); /* FUTEX_TID_MASK */
	return max_threads / 2;
}

static struct rlimit64 default_rlimit(unsigned resource)
{
	switch (resource) {
	case RLIMIT_STACK:
		return (struct rlimit64){ STK_LIM, RLIM_INFINITY };
	case RLIMIT_CORE:
		return (struct rlimit64){ 0, RLIM_INFINITY };
	case RLIMIT_NOFILE:
		return (struct rlimit64){ NR_OPEN_DEFAULT, INR_OPEN_MAX };
	case RLIMIT_MEMLOCK:
		return (struct rlimit64){ MLOCK_LIMIT, MLOCK_LIMIT };
	case RLIMIT_MSGQUEUE:
		return (struct rlimit64){ MQ_BYTES_MAX, MQ_BYTES_MAX };
	case RLIMIT_NICE:
	case RLIMIT_RTPRIO:
		return (struct rlimit64){ 0, 0 };
	case RLIMIT_NPROC:
	case RLIMIT_SIGPENDING:
		return (struct rlimit64){ default_nproc(), default_nproc() };
	}
	return (struct rlimit64){ RLIM_INFINITY, RLIM_INFINITY };
}

struct rlimit64 thread_rlimit(struct thread *t, unsigned resource)
{
	if (resource >= RLIM_NLIMITS)
		return (struct rlimit64){ 0, 0 };
	return t->rlim ? t->rlim[resource] : default_rlimit(resource);
}

/* Record a new limit for t (the caller itself for now). */
static int set_rlimit(struct thread *t, unsigned resource, struct rlimit64 r)
{
	if (!t->rlim) {
		struct rlimit64 *all = kmalloc(RLIM_NLIMITS * sizeof(*all));
		if (!all)
			return -ENOMEM;
		for (unsigned i = 0; i < RLIM_NLIMITS; i++)
			all[i] = default_rlimit(i);
		t->rlim = all;
	}
	t->rlim[resource] = r;
	struct files_struct *files = t->files;
#ifdef MUTATION_RLIMIT_NOFILE_NOT_ENFORCED
	files = NULL; /* recorded, but the fd table keeps its old limit */
#endif
	if (resource == RLIMIT_NOFILE && files) {
		spin_lock(&files->lock);
		files->rlimit = (unsigned)MIN(r.rlim_cur, (uint64_t)NR_OPEN_MAX);
		spin_unlock(&files->lock);
	}
	return 0;
}

/* Linux's do_prlimit: read the old limit and/or set a new one. As root
 * (CAP_SYS_RESOURCE) the hard limit may be raised. */
static int do_prlimit(struct thread *t, unsigned resource, const struct rlimit64 *new_rlim,
		      struct rlimit64 *old_rlim)
{
	if (resource >= RLIM_NLIMITS)
		return -EINVAL;
	if (new_rlim) {
		if (new_rlim->rlim_cur > new_rlim->rlim_max)
			return -EINVAL;
		if (resource == RLIMIT_NOFILE && new_rlim->rlim_max > NR_OPEN_MAX)
			return -EPERM;
	}
	if (old_rlim)
		*old_rlim = thread_rlimit(t, resource);
	return new_rlim ? set_rlimit(t, resource, *new_rlim) : 0;
}

int64_t sys_getrlimit(uint64_t resource, uint64_t rlim)
{
	struct rlimit64 r;
	int err = do_prlimit(current, (unsigned)resource, NULL, &r);
	if (err)
		return err;
	return copy_to_user(rlim, &r, sizeof(r)) ? -EFAULT : 0;
}

int64_t sys_setrlimit(uint64_t resource, uint64_t rlim)
{
	struct rlimit64 r;
	if (copy_from_user(&r, rlim, sizeof(r)))
		return -EFAULT;
	return do_prlimit(current, (unsigned)resource, &r, NULL);
}

int64_t sys_prlimit64(int64_t pid, uint64_t resource, uint64_t new_rlim, uint64_t old_rlim)
{
	struct rlimit64 nr, old;
	if (new_rlim && copy_from_user(&nr, new_rlim, sizeof(nr)))
		return -EFAULT;
	struct thread *t = syscall_target_get((int)pid);
	if (!t)
		return -ESRCH;
	int err = do_prlimit(t, (unsigned)resource, new_rlim ? &nr : NULL, old_rlim ? &old : NULL);
	put_thread(t);
	if (!err && old_rlim && copy_to_user(old_rlim, &old, sizeof(old)))
		err = -EFAULT;
	return err;
}

/* ---- robust list, rseq, prctl, getcpu ---------------------------------- */

int64_t sys_set_robust_list(uint64_t head, uint64_t len)
{
	if (len != ROBUST_HEAD_SZ)
		return -EINVAL;
	current->robust_list = head; /* walked at exit by the futex code */
	current->robust_len = len;
	return 0;
}

int64_t sys_get_robust_list(int64_t pid, uint64_t head_ptr, uint64_t len_ptr)
{
	struct thread *t = syscall_target_get((int)pid);
	if (!t)
		return -ESRCH;
	uint64_t head = t->robust_list;
	put_thread(t);
	if (put_user_u64(len_ptr, ROBUST_HEAD_SZ))
		return -EFAULT;
	return put_user_u64(head_ptr, head) ? -EFAULT : 0;
}

/* Restartable sequences are not implemented: glibc registers one at start
 * and carries on without it on -ENOSYS (sched_getcpu then asks getcpu). */
int64_t sys_rseq(uint64_t rseq, uint64_t len, uint64_t flags, uint64_t sig)
{
	return -ENOSYS;
}

/* Linux's strncpy_from_user into a comm: up to TASK_COMM_LEN - 1 bytes. */
static int get_comm_from_user(char *comm, uint64_t src)
{
	memset(comm, 0, TASK_COMM_LEN);
	for (int i = 0; i < TASK_COMM_LEN - 1; i++) {
		if (copy_from_user(&comm[i], src + i, 1))
			return -EFAULT;
		if (!comm[i])
			break;
	}
	return 0;
}

int64_t sys_prctl(int64_t option, uint64_t arg2, uint64_t arg3, uint64_t arg4, uint64_t arg5)
{
	char comm[TASK_COMM_LEN];
	struct thread *t = current;
	switch ((int)option) {
	case PR_SET_NAME:
		if (get_comm_from_user(comm, arg2))
			return -EFAULT;
		strlcpy(t->name, comm, sizeof(t->name));
		return 0;
	case PR_GET_NAME:
		memset(comm, 0, sizeof(comm));
		strlcpy(comm, t->name, sizeof(comm));
		return copy_to_user(arg2, comm, sizeof(comm)) ? -EFAULT : 0;
	}
	return -EINVAL;
}

int64_t sys_getcpu(uint64_t cpu, uint64_t node, uint64_t tcache)
{
	uint32_t c = (uint32_t)cpu_id(), n = 0; /* one NUMA node */
	int err = 0;
	if (cpu)
		err |= copy_to_user(cpu, &c, 4);
	if (node)
		err |= copy_to_user(node, &n, 4);
	return err ? -EFAULT : 0;
}

/* ---- scheduling: affinity and policy ----------------------------------- */

int64_t sys_sched_setaffinity(int64_t pid, uint64_t len, uint64_t mask)
{
	cpumask_t m;
	cpumask_clear(&m);
	len = (unsigned)len;				   /* Linux: unsigned int len */
	if (copy_from_user(&m, mask, MIN(len, sizeof(m)))) /* a short mask: the rest 0 */
		return -EFAULT;
	struct thread *t = syscall_target_get((int)pid);
	if (!t)
		return -ESRCH;
	int err = set_cpus_allowed(t, &m); /* -EINVAL: no online CPU in it */
	put_thread(t);
	return err;
}

int64_t sys_sched_getaffinity(int64_t pid, uint64_t len, uint64_t mask)
{
	len = (unsigned)len;
	if (len * 8 < (uint64_t)nr_cpus || (len & 7))
		return -EINVAL;
	struct thread *t = syscall_target_get((int)pid);
	if (!t)
		return -ESRCH;
	cpumask_t m;
	cpumask_clear(&m);
	for_each_online_cpu (i)
		if (thread_cpu_allowed(t, i))
			m.bits[i / 64] |= 1ull << (i % 64);
	put_thread(t);
	uint64_t n = MIN(len, sizeof(m));
	return copy_to_user(mask, &m, n) ? -EFAULT : (int64_t)n;
}

/* 0: pid names a thread, else -ESRCH. */
static int thread_exists(int pid)
{
	struct thread *t = syscall_target_get(pid);
	if (t)
		put_thread(t);
	return t ? 0 : -ESRCH;
}

int64_t sys_sched_getscheduler(int64_t pid)
{
	if ((int)pid < 0)
		return -EINVAL;
	return thread_exists((int)pid) ?: SCHED_OTHER;
}

int64_t sys_sched_getparam(int64_t pid, uint64_t param)
{
	if (!param || (int)pid < 0)
		return -EINVAL;
	if (thread_exists((int)pid))
		return -ESRCH;
	int prio = 0; /* struct sched_param: SCHED_OTHER's priority */
	return copy_to_user(param, &prio, sizeof(prio)) ? -EFAULT : 0;
}

int64_t sys_sched_get_priority_max(int64_t policy)
{
	switch ((int)policy) {
	case SCHED_FIFO:
	case SCHED_RR:
		return MAX_RT_PRIO - 1;
	case SCHED_OTHER:
	case SCHED_BATCH:
	case SCHED_IDLE:
	case SCHED_DEADLINE:
		return 0;
	}
	return -EINVAL;
}

int64_t sys_sched_get_priority_min(int64_t policy)
{
	switch ((int)policy) {
	case SCHED_FIFO:
	case SCHED_RR:
		return 1;
	case SCHED_OTHER:
	case SCHED_BATCH:
	case SCHED_IDLE:
	case SCHED_DEADLINE:
		return 0;
	}
	return -EINVAL;
}
