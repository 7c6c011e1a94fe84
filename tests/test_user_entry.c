/*
 * tests/test_user_entry.c - ring 3: entering user mode, system calls
 * (SYSCALL/SYSRET and the IRET fallback), faults from user code ending the
 * thread with Linux's signal while the kernel carries on, the per-thread
 * FS/GS bases, FPU/SSE state across preemption and migration, and TLB
 * shootdowns and refaults interrupting user code. The programs are the nasm
 * ones of tests/user_asm/user_progs.asm, copied into a fresh mm.
 */
#include "tests/ktest_mm.h"
#include "kernel/syscall.h"
#include "kernel/process.h"
#include "kernel/sched.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "arch/x86_64/uaccess.h"
#include "arch/x86_64/asm.h"
#include "arch/x86_64/trap.h"

#define CODE  0x400000ul
#define DATA  0x600000ul
#define STACK 0x800000ul /* 4 pages */

#define PROG(name)                                               \
	extern const uint8_t user_##name[], user_##name##_end[]; \
	static const struct prog prog_##name = { #name, user_##name, user_##name##_end }

struct prog {
	const char *name;
	const uint8_t *start, *end;
};
PROG(exit42);
PROG(pf_read);
PROG(ud2);
PROG(cli);
PROG(hlt);
PROG(int3);
PROG(div0);
PROG(int40);
PROG(kread);
PROG(singlestep);
PROG(flags);
PROG(calls);
PROG(spin);
PROG(pingwait);
PROG(regs);

struct copy {
	uint64_t addr;
	const void *src;
	uint64_t len;
	int ret;
};

static void do_copy(void *p)
{
	struct copy *c = p;
	c->ret = copy_to_user(c->addr, c->src, c->len);
}

static int poke_bytes(struct mm *mm, uint64_t addr, const void *src, uint64_t len)
{
	struct copy c = { addr, src, len, 0 };
	ktest_run_in_mm(mm, CPU_ANY, do_copy, &c);
	return c.ret;
}

/* A fresh mm with the program at CODE, a data page and a stack. */
static struct mm *prog_mm(struct ktest *t, const struct prog *p)
{
	struct mm *mm = mm_alloc();
	if (!mm)
		return NULL;
	int64_t a = vm_mmap(mm, CODE, PAGE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
	int64_t d = vm_mmap(mm, DATA, PAGE_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
	int64_t s = vm_mmap(mm, STACK, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
	KEXPECT_EQ(t, a, (int64_t)CODE);
	KEXPECT_EQ(t, d, (int64_t)DATA);
	KEXPECT_EQ(t, s, (int64_t)STACK);
	KEXPECT_EQ(t, poke_bytes(mm, CODE, p->start, (uint64_t)(p->end - p->start)), 0);
	return mm;
}

struct result {
	struct completion done;
	volatile int status;
	volatile int cpu; /* where it ended */
};

static void note_exit(struct thread *th, void *arg)
{
	struct result *r = arg;
	r->status = th->exit_status;
	r->cpu = cpu_id();
	complete(&r->done);
}

/* Run one user thread in mm from rip/rsp on cpu; its wait status, or -1. */
static int run_user(struct ktest *t, struct mm *mm, uint64_t rip, uint64_t rsp, int cpu)
{
	struct result r = { .status = -1 };
	init_completion(&r.done);
	int threads = sched_thread_count();
	struct thread *th = user_thread_create("user", mm, rip, rsp, cpu, note_exit, &r);
	if (!th) {
		ktest_fail(t, __FILE__, __LINE__, "user_thread_create failed");
		return -1;
	}
	if (!wait_for_completion_timeout(&r.done, 20000)) {
		ktest_fail(t, __FILE__, __LINE__, "user thread did not end");
		return -1;
	}
	ktest_wait_threads(threads);
	return r.status;
}

static int run_prog(struct ktest *t, const struct prog *p, int cpu)
{
	struct mm *mm = prog_mm(t, p);
	if (!mm) {
		ktest_fail(t, __FILE__, __LINE__, "mm_alloc failed");
		return -1;
	}
	int st = run_user(t, mm, CODE, STACK + 2 * PAGE_SIZE, cpu);
	mmput(mm);
	return st;
}

/* Every register zeroed at entry, then exit_group(42): status 42 << 8, on
 * every CPU (each has its own STAR/LSTAR/FMASK, TSS, GS bases). */
static void exit_status_every_cpu(struct ktest *t)
{
	for_each_online_cpu (c) {
		int st = run_prog(t, &prog_exit42, c);
		if (st != 42 << 8)
			ktest_fail(t, __FILE__, __LINE__, "CPU %d: status %#x, want %#x", c, st,
				   42 << 8);
	}
}

/* Each faulting program dies with its signal; the kernel carries on. */
static void faults_kill_with_signal(struct ktest *t)
{
	static const struct {
		const struct prog *p;
		int sig;
	} cases[] = {
		{ &prog_pf_read, SIGSEGV }, { &prog_ud2, SIGILL },    { &prog_cli, SIGSEGV },
		{ &prog_hlt, SIGSEGV },	    { &prog_int3, SIGTRAP },  { &prog_div0, SIGFPE },
		{ &prog_int40, SIGSEGV },   { &prog_kread, SIGSEGV }, { &prog_singlestep, SIGTRAP },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int cpu = ktest_other_cpu(cpu_id(), (int)i);
		int st = run_prog(t, cases[i].p, cpu);
		if (st != cases[i].sig)
			ktest_fail(t, __FILE__, __LINE__,
				   "%s on CPU %d: status %#x, want signal %d", cases[i].p->name,
				   cpu, st, cases[i].sig);
	}
}

/* -ENOSYS, the high half of rax ignored, iopl/ioperm refused, arch_prctl
 * errors, and the GS base set, used and read back. */
static void small_syscalls(struct ktest *t)
{
	struct mm *mm = prog_mm(t, &prog_calls);
	KASSERT_NOT_NULL(t, mm);
	uint64_t arg = DATA;
	KEXPECT_EQ(t, poke_bytes(mm, STACK + PAGE_SIZE, &arg, 8), 0);
	KEXPECT_EQ(t, run_user(t, mm, CODE, STACK + PAGE_SIZE, CPU_ANY), 0);
	mmput(mm);
}

/* A system call preserves every register but rax, rcx and r11. */
static void syscall_preserves_registers(struct ktest *t)
{
	for_each_online_cpu (c)
		KEXPECT_EQ(t, run_prog(t, &prog_regs, c), 0);
}

static int64_t report_rflags(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
			     uint64_t a5)
{
	(void)a0, (void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	return (int64_t)read_rflags();
}

/* User code sets AC and DF, then SYSCALL: the kernel runs with AC, DF, TF
 * and NT clear (FMASK), or SMAP would be off for the whole call. */
static void syscall_masks_flags(struct ktest *t)
{
	syscall_fn_t old = syscall_set_hook(__NR_ktest_hook, report_rflags);
	int st = run_prog(t, &prog_flags, CPU_ANY);
	syscall_set_hook(__NR_ktest_hook, old);
	KEXPECT_EQ(t, st, 0);
}

/* SYSCALL in the last two bytes below TASK_SIZE_MAX: the return address is
 * the first byte past user space; it must go back by IRET (never SYSRET) and
 * the fetch there kill the thread with SIGSEGV. */
static void syscall_at_user_limit(struct ktest *t)
{
	uint64_t page = USER_SPACE_END - 2 * PAGE_SIZE; /* the last page mmap gives */
	struct mm *mm = mm_alloc();
	KASSERT_NOT_NULL(t, mm);
	int64_t a = vm_mmap(mm, page, PAGE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
	KEXPECT_EQ(t, a, (int64_t)page);
	uint8_t *code = get_free_pages(0, 0);
	KASSERT_NOT_NULL(t, code);
	memset(code, 0x90, PAGE_SIZE);			      /* nops */
	static const uint8_t start[] = { 0xb8, 24, 0, 0, 0 }; /* mov eax, sched_yield */
	memcpy(code, start, sizeof(start));
	code[PAGE_SIZE - 2] = 0x0f; /* syscall */
	code[PAGE_SIZE - 1] = 0x05;
	KEXPECT_EQ(t, poke_bytes(mm, page, code, PAGE_SIZE), 0);
	free_pages(code, 0);
	uint64_t irets = __atomic_load_n(&syscall_iret_returns, __ATOMIC_RELAXED);
	KEXPECT_EQ(t, run_user(t, mm, page, page + PAGE_SIZE - 64, CPU_ANY), SIGSEGV);
	KEXPECT_GT(t, __atomic_load_n(&syscall_iret_returns, __ATOMIC_RELAXED), irets);
	mmput(mm);
}

/* Entering (by iretq) at a non-canonical RIP: the fault is the user's
 * (fixup_bad_iret where the CPU faults on the iretq itself), SIGSEGV. */
static void iret_to_noncanonical_rip(struct ktest *t)
{
	struct mm *mm = prog_mm(t, &prog_exit42);
	KASSERT_NOT_NULL(t, mm);
	uint64_t fixups = __atomic_load_n(&bad_iret_fixups, __ATOMIC_RELAXED);
	KEXPECT_EQ(t, run_user(t, mm, USER_SPACE_END, STACK + PAGE_SIZE, CPU_ANY), SIGSEGV);
	printk("    # bad iret fixups: %lu\n",
	       __atomic_load_n(&bad_iret_fixups, __ATOMIC_RELAXED) - fixups);
	mmput(mm);
}

struct bad_ss {
	struct mm *mm;
	struct result *r;
};

static void bad_ss_thread(void *arg)
{
	struct bad_ss *b = arg;
	if (process_attach_current(note_exit, b->r))
		return; /* no memory: the test sees no status */
	use_mm(b->mm);
	arch_enter_user_ss(CODE, STACK + PAGE_SIZE, 0x40 | 3); /* past the GDT */
}

/* The kernel's own iretq faults (#GP: an SS selector past the GDT limit)
 * with the user's GS base loaded: the entry must see it (Linux's
 * error_entry), swap GS back, and make the fault the user's: SIGSEGV. */
static void bad_iret_is_users_fault(struct ktest *t)
{
	struct mm *mm = prog_mm(t, &prog_exit42);
	KASSERT_NOT_NULL(t, mm);
	struct result r = { .status = -1 };
	init_completion(&r.done);
	struct bad_ss b = { mm, &r };
	int threads = sched_thread_count();
	uint64_t fixups = __atomic_load_n(&bad_iret_fixups, __ATOMIC_RELAXED);
	KASSERT_NOT_NULL(t, thread_create("bad-ss", bad_ss_thread, &b, CPU_ANY));
	KEXPECT_TRUE(t, wait_for_completion_timeout(&r.done, 20000));
	ktest_wait_threads(threads);
	KEXPECT_EQ(t, r.status, SIGSEGV);
	KEXPECT_GT(t, __atomic_load_n(&bad_iret_fixups, __ATOMIC_RELAXED), fixups);
	mmput(mm);
}

/* A thread spinning in user mode without system calls is preempted by the
 * timer (on its return to user mode) so a second one pinned to its CPU
 * runs and releases it; each CPU in turn. Meanwhile an NMI (a backtrace
 * request) interrupts the spinning user code. */
static void user_code_is_preempted(struct ktest *t)
{
	struct mm *mm = prog_mm(t, &prog_pingwait);
	KASSERT_NOT_NULL(t, mm);
	for_each_online_cpu (c) {
		uint64_t zero = 0, deadline = arch_cycles() + 5000 * tsc_khz;
		KEXPECT_EQ(t, poke_bytes(mm, DATA, &zero, 8), 0);
		KEXPECT_EQ(t, poke_bytes(mm, DATA + 8, &deadline, 8), 0);
		struct result r[2];
		int threads = sched_thread_count();
		for (int i = 0; i < 2; i++) {
			uint64_t args[3] = { DATA, DATA + 8, (uint64_t)i };
			KEXPECT_EQ(
			    t, poke_bytes(mm, STACK + 1024 * (uint64_t)i, args, sizeof(args)), 0);
			r[i].status = -1;
			init_completion(&r[i].done);
		}
		KASSERT_NOT_NULL(
		    t, user_thread_create("waiter", mm, CODE, STACK, c, note_exit, &r[0]));
		sleep_ms(20); /* the waiter is spinning by now */
		/* an NMI into its user code: paranoid entry, swapgs by GS base */
		if (c != cpu_id())
			arch_cpu_backtrace(c);
		KASSERT_NOT_NULL(
		    t, user_thread_create("setter", mm, CODE, STACK + 1024, c, note_exit, &r[1]));
		for (int i = 0; i < 2; i++) {
			KEXPECT_TRUE(t, wait_for_completion_timeout(&r[i].done, 20000));
			if (r[i].status != 0)
				ktest_fail(t, __FILE__, __LINE__, "CPU %d: %s status %#x", c,
					   i ? "setter" : "waiter", r[i].status);
		}
		ktest_wait_threads(threads);
	}
	mmput(mm);
}

static noinline uint64_t recurse(int depth)
{
	volatile uint8_t buf[512];
	buf[0] = (uint8_t)depth;
	buf[511] = (uint8_t)depth;
	if (depth == 0)
		return buf[0];
	return recurse(depth - 1) + buf[511];
}

static void overflow(void *arg)
{
	*(uint64_t *)arg = recurse(40); /* ~22 KiB: more than the 16 KiB stack */
}

/* Running off the bottom of a kernel stack hits the unmapped guard page
 * below it (#PF, then #DF on its IST stack) instead of writing over the
 * memory below. Interrupts are off meanwhile: an interrupt frame pushed
 * there would be a real double fault; the overwritten STACK_END_MAGIC is
 * put back before anything may schedule. */
static void kernel_stack_guard_page(struct ktest *t)
{
	struct fault_catch fc;
	uint64_t sum = 0;
	local_irq_disable();
	int v = ktest_catch_fault(VEC_BIT(EXC_DF) | VEC_BIT(EXC_PF), overflow, &sum, &fc);
	*(uint64_t *)current->stack = STACK_END_MAGIC;
	local_irq_enable();
	KEXPECT_TRUE(t, v == EXC_DF || v == EXC_PF);
	printk("    # vector %d at rip %#lx, stack %#lx\n", v, fc.rip, (uint64_t)current->stack);
}

#define MAX_SPIN 16

/* 2 threads per CPU (up to 16) in one mm, each with its own FS base, XMM
 * and x87 registers holding its id, preempted, yielding and migrating for
 * the stress budget while this thread zaps the page they all write
 * (MADV_DONTNEED: shootdown IPIs into user code, and user refaults) and
 * sends NMIs (backtrace requests) to the CPUs running them. Each
 * must end with every check passed: a missing rsp0 update, FS base or FPU
 * switch shows as one thread seeing another's state. */
static void spin_state_survives_preemption(struct ktest *t)
{
	int n = 2 * nr_cpus_online;
	if (n > MAX_SPIN)
		n = MAX_SPIN;
	struct mm *mm = prog_mm(t, &prog_spin);
	KASSERT_NOT_NULL(t, mm);
	uint64_t scratch = ktest_mmap(mm, PAGE_SIZE);
	KASSERT_NE(t, scratch, 0ul);
	uint64_t deadline = arch_cycles() + ktest_stress_budget_ms() * tsc_khz;
	KEXPECT_EQ(t, poke_bytes(mm, DATA, &deadline, 8), 0);
	struct result r[MAX_SPIN];
	int threads = sched_thread_count();
	for (int i = 0; i < n; i++) {
		uint64_t id = 0x1000 + (uint64_t)i, slot = DATA + 64 + 8 * (uint64_t)i;
		uint64_t rsp = STACK + 512 * (uint64_t)i;
		uint64_t args[4] = { id, slot, DATA, scratch + 8 * (uint64_t)i };
		KEXPECT_EQ(t, poke_bytes(mm, slot, &id, 8), 0);
		KEXPECT_EQ(t, poke_bytes(mm, rsp, args, sizeof(args)), 0);
		r[i].status = -1;
		init_completion(&r[i].done);
	}
	for (int i = 0; i < n; i++)
		KASSERT_NOT_NULL(t, user_thread_create("spin", mm, CODE, STACK + 512 * (uint64_t)i,
						       i % 2 ? CPU_ANY : i / 2 % nr_cpus_online,
						       note_exit, &r[i]));
	int zaps = 0, nmis = 0;
	for (int i = 0; i < n; i++) {
		while (!READ_ONCE(r[i].done.done)) {
			vm_madvise(mm, scratch, PAGE_SIZE, MADV_DONTNEED);
			/* NMIs into user code (paranoid entry: swapgs by the GS base) */
			if (zaps % 4 == 2 && nmis < 2 * (nr_cpus_online - 1)) {
				arch_cpu_backtrace(ktest_other_cpu(cpu_id(), nmis));
				nmis++;
			}
			zaps++;
			ktest_progress();
			sleep_ms(1);
		}
		if (r[i].status != 0)
			ktest_fail(
			    t, __FILE__, __LINE__,
			    "thread %d: status %#x (1: GPR/FS, 2: XMM, 3: x87, 4: arch_prctl)", i,
			    r[i].status);
	}
	ktest_wait_threads(threads);
	printk("    # %d threads, %d zaps, %d NMIs\n", n, zaps, nmis);
	mmput(mm);
}

KTEST_SUITE(user_entry, KTEST_CASE(exit_status_every_cpu), KTEST_CASE(faults_kill_with_signal),
	    KTEST_CASE(small_syscalls), KTEST_CASE(syscall_preserves_registers),
	    KTEST_CASE(syscall_masks_flags), KTEST_CASE(syscall_at_user_limit),
	    KTEST_CASE(iret_to_noncanonical_rip), KTEST_CASE(bad_iret_is_users_fault),
	    KTEST_CASE(user_code_is_preempted), KTEST_CASE(kernel_stack_guard_page),
	    KTEST_CASE(spin_state_survives_preemption));
