/*
 * tests/user/signals.c - signals from ring 3 (issue 12): handlers and the
 * frame the kernel builds, masks, nesting, SA_* flags, the altstack, fault
 * signals a handler can fix, interrupted and restarted calls, timers,
 * SIGCHLD and SIGPIPE, kill/tkill/tgkill errno, masks and handlers across
 * fork and execve, threads on every CPU, and hostile rt_sigreturn frames.
 * One KTAP line per check; exit 0 if all passed.
 *
 *   signals                 every check
 *   signals ipi             only the threads on other CPUs (tests/test_user.c
 *                           counts the signals their IPI brought in)
 *   signals no-threads      every check but those that need threads
 *                           (glibc's pthread_join needs futex)
 *   signals exec-child      execve'd by a check: exits 42 if the mask and
 *                           the handlers are what execve must leave
 *   signals init            run as pid 1: signals without a handler do
 *                           nothing, a handled one is delivered; exits 0
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif

static int n, failed;

static void check(int ok, const char *what)
{
	n++;
	if (!ok)
		failed++;
	printf("%sok %d %s\n", ok ? "" : "not ", n, what);
	fflush(stdout);
}

static long raw(long nr, long a, long b, long c, long d)
{
	long r = syscall(nr, a, b, c, d);
	return r < 0 ? -errno : r;
}

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static void tgkill_self(int sig)
{
	syscall(SYS_tgkill, getpid(), gettid_(), sig);
}

static int on(int sig, void (*fn)(int, siginfo_t *, void *), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | flags;
	return sigaction(sig, &sa, NULL);
}

static void dfl(int sig)
{
	signal(sig, SIG_DFL);
}

static sigset_t blocked_now(void)
{
	sigset_t s;
	sigprocmask(SIG_BLOCK, NULL, &s);
	return s;
}

static int wait_status(pid_t pid)
{
	int st = -1;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return st;
}

static int killed_by(int st, int sig)
{
	return WIFSIGNALED(st) && WTERMSIG(st) == sig && !WCOREDUMP(st);
}

/* ---- handlers and the frame --------------------------------------------- */

static volatile int hits, depth, max_depth, last_sig, last_code, last_pid;
volatile uintptr_t entry_rsp, entry_ret;
static volatile uintptr_t last_addr, frame_info, frame_uc;
static volatile int mask_has_self, mask_has_extra;

void record(int sig, siginfo_t *si, void *uc);
void record(int sig, siginfo_t *si, void *uc)
{
	hits++;
	last_sig = sig;
	last_code = si->si_code;
	last_pid = si->si_pid;
	last_addr = (uintptr_t)si->si_addr;
	frame_info = (uintptr_t)si;
	frame_uc = (uintptr_t)uc;
	sigset_t b = blocked_now();
	mask_has_self = sigismember(&b, sig);
	mask_has_extra = sigismember(&b, SIGUSR2);
}

/* The handler's first instruction records rsp (the frame alignment). */
void align_handler(int, siginfo_t *, void *);
__asm__(".text\n.globl align_handler\nalign_handler:\n"
	"\tmov %rsp, entry_rsp(%rip)\n\tmov (%rsp), %rax\n\tmov %rax, entry_ret(%rip)\n"
	"\tjmp record\n");

static void frame_and_info(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = align_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	sigaction(SIGUSR1, &sa, NULL);
	hits = 0;
	kill(getpid(), SIGUSR1);
	check(hits == 1 && last_sig == SIGUSR1 && last_code == SI_USER && last_pid == getpid(),
	      "kill to self: the handler runs once, si_code SI_USER, si_pid");
	check(((entry_rsp + 8) & 15) == 0, "the frame: (rsp + 8) % 16 == 0 at the handler's entry");
	struct {
		uintptr_t handler;
		unsigned long flags;
		uintptr_t restorer;
		uint64_t mask;
	} k;
	syscall(SYS_rt_sigaction, SIGUSR1, NULL, &k, 8);
	check(entry_ret == k.restorer && (k.flags & SA_RESTORER),
	      "the return address is sa_restorer");
	check(frame_uc == entry_rsp + 8 && frame_info == entry_rsp + 8 + 304,
	      "rdx = &uc, rsi = &info as in Linux's struct rt_sigframe");
	ucontext_t *uc = (ucontext_t *)frame_uc;
	check(uc->uc_mcontext.fpregs && ((uintptr_t)uc->uc_mcontext.fpregs & 63) == 0 &&
		  (uintptr_t)uc->uc_mcontext.fpregs > entry_rsp,
	      "the FPU image lies above the frame, 64-byte aligned");
	check(mask_has_self && mask_has_extra, "in the handler: the signal and sa_mask blocked");
	sigset_t b = blocked_now();
	check(!sigismember(&b, SIGUSR1) && !sigismember(&b, SIGUSR2),
	      "after the handler: the mask is back");
	check(k.handler == (uintptr_t)align_handler && (k.flags & SA_SIGINFO) &&
		  k.mask == 1ull << (SIGUSR2 - 1),
	      "rt_sigaction reads back handler, flags, mask");
	hits = 0;
	tgkill_self(SIGUSR1);
	check(hits == 1 && last_code == SI_TKILL && last_pid == getpid(),
	      "tgkill: si_code SI_TKILL");
	dfl(SIGUSR1);
}

static void nested_handler(int sig, siginfo_t *si, void *uc)
{
	depth++;
	if (depth > max_depth)
		max_depth = depth;
	record(sig, si, uc);
	if (hits == 1)
		tgkill_self(SIGUSR1);
	if (sig == SIGUSR2 && hits < 3)
		tgkill_self(SIGUSR1); /* a different, unblocked signal: nested */
	depth--;
}

static void nodefer_resethand(void)
{
	hits = depth = max_depth = 0;
	on(SIGUSR1, nested_handler, 0);
	tgkill_self(SIGUSR1);
	check(hits == 2 && max_depth == 1, "without SA_NODEFER: raised in its handler, after it");
	hits = depth = max_depth = 0;
	on(SIGUSR1, nested_handler, SA_NODEFER);
	tgkill_self(SIGUSR1);
	check(hits == 2 && max_depth == 2, "SA_NODEFER: the handler is re-entered at once");
	hits = depth = max_depth = 0;
	on(SIGUSR2, nested_handler, 0);
	on(SIGUSR1, nested_handler, SA_NODEFER);
	tgkill_self(SIGUSR2);
	check(max_depth >= 2, "nested: SIGUSR1 interrupts the SIGUSR2 handler");
	hits = 0;
	on(SIGUSR1, record, SA_RESETHAND);
	tgkill_self(SIGUSR1);
	struct sigaction old;
	sigaction(SIGUSR1, NULL, &old);
	check(hits == 1 && old.sa_handler == SIG_DFL, "SA_RESETHAND: SIG_DFL once taken");
	dfl(SIGUSR2);
}

/* ---- masks, pending, sigaction and kill errno ---------------------------- */

static void masks_and_errors(void)
{
	hits = 0;
	on(SIGUSR1, record, 0);
	sigset_t s, old, pend;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigprocmask(SIG_BLOCK, &s, &old);
	kill(getpid(), SIGUSR1);
	sigpending(&pend);
	check(hits == 0 && sigismember(&pend, SIGUSR1), "blocked: pending, not delivered");
	sigprocmask(SIG_SETMASK, &old, NULL);
	check(hits == 1, "unblocked: delivered before sigprocmask returns");
	sigfillset(&s);
	sigprocmask(SIG_SETMASK, &s, &old);
	sigset_t b = blocked_now();
	check(!sigismember(&b, SIGKILL) && !sigismember(&b, SIGSTOP) && sigismember(&b, SIGTERM),
	      "SIGKILL and SIGSTOP cannot be blocked");
	sigprocmask(SIG_SETMASK, &old, NULL);
	uint64_t m = 0;
	check(raw(SYS_rt_sigprocmask, SIG_BLOCK, (long)&m, 0, 4) == -EINVAL,
	      "rt_sigprocmask with sigsetsize 4: EINVAL");
	check(raw(SYS_rt_sigprocmask, 7, (long)&m, 0, 8) == -EINVAL,
	      "rt_sigprocmask bad how: EINVAL");
	check(raw(SYS_rt_sigprocmask, SIG_BLOCK, 0xffff800000000000l, 0, 8) == -EFAULT,
	      "rt_sigprocmask kernel pointer: EFAULT");
	uint64_t act[4] = { (uint64_t)(uintptr_t)SIG_IGN, 0, 0, 0 };
	check(raw(SYS_rt_sigaction, SIGKILL, (long)act, 0, 8) == -EINVAL &&
		  raw(SYS_rt_sigaction, SIGSTOP, (long)act, 0, 8) == -EINVAL,
	      "SIGKILL/SIGSTOP cannot be caught or ignored: EINVAL");
	check(raw(SYS_rt_sigaction, SIGKILL, 0, (long)act, 8) == 0, "reading SIGKILL's action: 0");
	check(raw(SYS_rt_sigaction, 0, (long)act, 0, 8) == -EINVAL &&
		  raw(SYS_rt_sigaction, 65, (long)act, 0, 8) == -EINVAL &&
		  raw(SYS_rt_sigaction, SIGUSR1, (long)act, 0, 16) == -EINVAL,
	      "rt_sigaction: signal 0, 65, sigsetsize 16: EINVAL");
	check(raw(SYS_kill, getpid(), 0, 0, 0) == 0 && raw(SYS_kill, 4000000, 0, 0, 0) == -ESRCH &&
		  raw(SYS_kill, getpid(), 65, 0, 0) == -EINVAL &&
		  raw(SYS_kill, INT_MIN, SIGUSR1, 0, 0) == -ESRCH,
	      "kill: 0 checks, ESRCH, EINVAL, INT_MIN");
	check(raw(SYS_tgkill, getpid(), gettid_(), 0, 0) == 0 &&
		  raw(SYS_tgkill, getpid() + 100000, gettid_(), 0, 0) == -ESRCH &&
		  raw(SYS_tgkill, 0, gettid_(), 0, 0) == -EINVAL &&
		  raw(SYS_tkill, -1, SIGUSR1, 0, 0) == -EINVAL &&
		  raw(SYS_tgkill, getpid(), gettid_(), 99, 0) == -EINVAL,
	      "tgkill/tkill: 0, ESRCH (wrong group), EINVAL");
	hits = 0;
	signal(SIGUSR1, SIG_IGN);
	kill(getpid(), SIGUSR1);
	on(SIGUSR1, record, 0);
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigprocmask(SIG_BLOCK, &s, NULL);
	kill(getpid(), SIGUSR1);
	signal(SIGUSR1, SIG_IGN); /* discards the pending one (POSIX) */
	on(SIGUSR1, record, 0);
	sigprocmask(SIG_UNBLOCK, &s, NULL);
	check(hits == 0, "SIG_IGN: not delivered; setting it discards a pending one");
	kill(getpid(), SIGCHLD);
	kill(getpid(), SIGURG);
	kill(getpid(), SIGWINCH);
	check(1, "SIGCHLD, SIGURG, SIGWINCH by default: ignored");
	dfl(SIGUSR1);
}

static void default_actions(void)
{
	static const int sigs[] = {
		SIGTERM, SIGQUIT, SIGUSR2, SIGALRM, 40 /* real-time */, SIGKILL
	};
	int ok = 1;
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		pid_t c = fork();
		if (c == 0) {
			kill(getpid(), sigs[i]);
			_exit(0);
		}
		ok &= killed_by(wait_status(c), sigs[i]);
	}
	check(ok, "default terminate and core signals: killed, signal in the status, no core bit");
	pid_t c = fork();
	if (c == 0) {
		for (;;)
			__asm__ __volatile__("" ::: "memory");
	}
	kill(c, SIGTERM);
	check(killed_by(wait_status(c), SIGTERM), "kill of a child spinning in user mode");
}

/* ---- fork and execve ---------------------------------------------------- */

static void across_fork_exec(const char *self)
{
	sigset_t s, old;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	sigprocmask(SIG_BLOCK, &s, &old);
	hits = 0;
	on(SIGUSR1, record, 0);
	/* The raw call: musl's fork() blocks every signal around it and sets
	 * the mask again in the child, which would hide what the kernel did. */
	pid_t c = (pid_t)syscall(SYS_fork);
	if (c == 0) {
		sigset_t b = blocked_now(), p;
		sigpending(&p);
		kill(getpid(), SIGUSR1);
		_exit(sigismember(&b, SIGUSR2) && !sigismember(&p, SIGUSR2) && hits == 1 ? 0 : 1);
	}
	int st = wait_status(c);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fork: the mask and the handlers are copied");
	signal(SIGINT, SIG_IGN);
	c = fork();
	if (c == 0) {
		execl(self, self, "exec-child", (char *)NULL);
		_exit(2);
	}
	st = wait_status(c);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 42,
	      "execve: mask kept, handlers reset to SIG_DFL, SIG_IGN kept");
	signal(SIGINT, SIG_DFL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	dfl(SIGUSR1);
}

static int exec_child(void)
{
	sigset_t b = blocked_now();
	struct sigaction a1, a2;
	sigaction(SIGUSR1, NULL, &a1);
	sigaction(SIGINT, NULL, &a2);
	stack_t ss;
	sigaltstack(NULL, &ss);
	return sigismember(&b, SIGUSR2) && a1.sa_handler == SIG_DFL && a2.sa_handler == SIG_IGN &&
		       (ss.ss_flags & SS_DISABLE)
		   ? 42
		   : 1;
}

/* ---- altstack ----------------------------------------------------------- */

static char altstack[65536] __attribute__((aligned(16)));
static volatile int alt_ok, alt_flags, alt_eperm;

static void alt_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	char here;
	alt_ok = (uintptr_t)&here > (uintptr_t)altstack &&
		 (uintptr_t)&here < (uintptr_t)altstack + sizeof(altstack);
	stack_t cur, ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	sigaltstack(NULL, &cur);
	alt_flags = cur.ss_flags;
	alt_eperm = sigaltstack(&ss, NULL) < 0 && errno == EPERM;
}

static void altstack_checks(void)
{
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) }, cur;
	check(sigaltstack(&ss, NULL) == 0, "sigaltstack: set");
	on(SIGUSR1, alt_handler, SA_ONSTACK);
	tgkill_self(SIGUSR1);
	check(alt_ok && alt_flags == SS_ONSTACK, "SA_ONSTACK: the handler runs on the altstack");
	check(alt_eperm, "changing the altstack while on it: EPERM");
	sigaltstack(NULL, &cur);
	check(cur.ss_sp == altstack && cur.ss_size == sizeof(altstack) && cur.ss_flags == 0,
	      "sigaltstack reads back, not on it now");
	on(SIGUSR1, alt_handler, 0);
	tgkill_self(SIGUSR1);
	check(!alt_ok, "without SA_ONSTACK: the normal stack");
	stack_t small = { .ss_sp = altstack, .ss_size = 1024 };
	stack_t bad = { .ss_sp = altstack, .ss_size = sizeof(altstack), .ss_flags = 7 };
	check(sigaltstack(&small, NULL) < 0 && errno == ENOMEM && sigaltstack(&bad, NULL) < 0 &&
		  errno == EINVAL,
	      "sigaltstack: too small ENOMEM, bad flags EINVAL");
	stack_t off = { .ss_flags = SS_DISABLE };
	sigaltstack(&off, NULL);
	dfl(SIGUSR1);
}

/* ---- faults ------------------------------------------------------------- */

static char *guard_page;
static volatile uintptr_t bad_ptr = 16;
static volatile int fixable = 1;
static volatile int segv_code;
static volatile uintptr_t segv_addr;
static sigjmp_buf jb;

static void fix_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	segv_code = si->si_code;
	segv_addr = (uintptr_t)si->si_addr;
	if (fixable && (char *)si->si_addr >= guard_page && (char *)si->si_addr < guard_page + 4096)
		mprotect(guard_page, 4096, PROT_READ | PROT_WRITE);
	else
		siglongjmp(jb, 1);
}

static volatile int trap_sig, trap_code;
static volatile uintptr_t trap_addr, trap_rip;

static void skip_insn(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	trap_sig = sig;
	trap_code = si->si_code;
	trap_addr = (uintptr_t)si->si_addr;
	trap_rip = uc->uc_mcontext.gregs[REG_RIP];
	if (sig == SIGILL)
		uc->uc_mcontext.gregs[REG_RIP] += 2; /* ud2 */
	if (sig == SIGFPE)
		uc->uc_mcontext.gregs[REG_RIP] += 3; /* div %rcx (48 f7 f1) */
}

void ud2_here(void);
void div_here(void);
static __attribute__((noinline)) void fault_checks(void)
{
	guard_page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	on(SIGSEGV, fix_segv, 0);
	((volatile char *)guard_page)[100] = 7;
	check(((volatile char *)guard_page)[100] == 7 && segv_code == SEGV_ACCERR &&
		  segv_addr == (uintptr_t)guard_page + 100,
	      "SIGSEGV handler fixes the fault with mprotect and returns: SEGV_ACCERR, si_addr");
	munmap(guard_page, 4096);
	segv_code = 0;
	fixable = 0;
	if (!sigsetjmp(jb, 1))
		*(volatile int *)guard_page = 1;
	check(segv_code == SEGV_MAPERR && segv_addr == (uintptr_t)guard_page,
	      "an unmapped address: SEGV_MAPERR");

	on(SIGILL, skip_insn, 0);
	__asm__ __volatile__(".globl ud2_here\nud2_here: ud2");
	check(trap_sig == SIGILL && trap_code == ILL_ILLOPN && trap_addr == (uintptr_t)ud2_here &&
		  trap_rip == (uintptr_t)ud2_here,
	      "ud2: SIGILL ILL_ILLOPN at the instruction; the handler moves rip past it");
	on(SIGFPE, skip_insn, 0);
	__asm__ __volatile__("xor %%edx, %%edx\n\txor %%ecx, %%ecx\n.globl div_here\ndiv_here: "
			     "div %%rcx" ::
				 : "rax", "rdx", "rcx");
	check(trap_sig == SIGFPE && trap_code == FPE_INTDIV && trap_addr == (uintptr_t)div_here,
	      "divide by zero: SIGFPE FPE_INTDIV");
	dfl(SIGSEGV);
	dfl(SIGILL);
	dfl(SIGFPE);
	pid_t c = fork();
	if (c == 0) {
		on(SIGSEGV, fix_segv, 0);
		sigset_t s;
		sigemptyset(&s);
		sigaddset(&s, SIGSEGV);
		sigprocmask(SIG_BLOCK, &s, NULL);
		*(volatile int *)bad_ptr = 1;
		_exit(0);
	}
	int st1 = wait_status(c);
	c = fork();
	if (c == 0) {
		signal(SIGSEGV, SIG_IGN);
		*(volatile int *)bad_ptr = 1;
		_exit(0);
	}
	check(killed_by(st1, SIGSEGV) && killed_by(wait_status(c), SIGSEGV),
	      "a fault while SIGSEGV is blocked or ignored kills");
}

/* ---- FPU across a handler ----------------------------------------------- */

static void sse_clobber(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	unsigned mx = 0, fresh;
	__asm__ __volatile__("stmxcsr %0" : "=m"(fresh));
	__asm__ __volatile__(
	    "pcmpeqd %%xmm0, %%xmm0\n\tmovdqa %%xmm0, %%xmm1\n\t"
	    "movdqa %%xmm0, %%xmm7\n\tmovdqa %%xmm0, %%xmm15\n\tldmxcsr %0" ::"m"(mx)
	    : "xmm0", "xmm1", "xmm7", "xmm15");
	hits += fresh == 0x1f80; /* the handler starts with a clean MXCSR */
}

/* Set xmm registers and MXCSR, take a signal whose handler clobbers them,
 * check them afterwards; 1 if intact. */
static int fpu_round_trip(void)
{
	uint64_t before = 0x0123456789abcdefull ^ (uint64_t)gettid_(), a, b, c2;
	unsigned mx = 0x3f80 | 0x6000, mx_after; /* round toward zero, all masked */
	int h0 = hits;
	__asm__ __volatile__("movq %[v], %%xmm1\n\tmovq %[v], %%xmm7\n\tmovq %[v], %%xmm15\n\t"
			     "ldmxcsr %[mx]\n\t"
			     "syscall\n\t"
			     "movq %%xmm1, %[a]\n\tmovq %%xmm7, %[b]\n\tmovq %%xmm15, %[c]\n\t"
			     "stmxcsr %[mxa]"
			     : [a] "=&r"(a), [b] "=&r"(b), [c] "=&r"(c2), [mxa] "=m"(mx_after)
			     : [v] "r"(before), [mx] "m"(mx), "a"(SYS_tgkill), "D"(getpid()),
			       "S"(gettid_()), "d"(SIGUSR2)
			     : "rcx", "r11", "memory", "xmm1", "xmm7", "xmm15");
	unsigned clean = 0x1f80;
	__asm__ __volatile__("ldmxcsr %0" ::"m"(clean));
	return a == before && b == before && c2 == before && mx_after == mx && hits == h0 + 1;
}

#define NSPIN 4
static volatile int spin_go[NSPIN], spin_seen[NSPIN], spin_tid[NSPIN], fpu_ok[NSPIN];
static volatile int stop_spin;

static void spin_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	for (int i = 0; i < NSPIN; i++)
		if (spin_tid[i] == gettid_())
			spin_seen[i]++;
}

static void *spinner(void *arg)
{
	int i = (int)(intptr_t)arg;
	spin_tid[i] = gettid_();
	while (!spin_go[i])
		__asm__ __volatile__("" ::: "memory");
	fpu_ok[i] = fpu_round_trip();
	spin_go[i] = 2;
	while (!stop_spin) /* user mode, no system calls: only an IPI gets in */
		__asm__ __volatile__("" ::: "memory");
	return NULL;
}

static void threads_checks(void)
{
	hits = 0;
	stop_spin = 0;
	for (int i = 0; i < NSPIN; i++)
		spin_go[i] = spin_seen[i] = spin_tid[i] = fpu_ok[i] = 0;
	on(SIGUSR2, sse_clobber, 0);
	check(fpu_round_trip(), "SSE registers and MXCSR survive a handler that clobbers them");
	on(SIGUSR1, spin_handler, 0);
	pthread_t th[NSPIN];
	for (int i = 0; i < NSPIN; i++)
		pthread_create(&th[i], NULL, spinner, (void *)(intptr_t)i);
	for (int i = 0; i < NSPIN; i++) {
		while (!spin_tid[i])
			__asm__ __volatile__("" ::: "memory");
		spin_go[i] = 1;
		while (spin_go[i] != 2)
			__asm__ __volatile__("" ::: "memory");
	}
	int ok = 1;
	for (int i = 0; i < NSPIN; i++)
		ok &= fpu_ok[i];
	check(ok, "FPU state across a handler in every thread (all CPUs)");
	for (int i = 0; i < NSPIN; i++)
		syscall(SYS_tgkill, getpid(), spin_tid[i], SIGUSR1);
	ok = 1;
	for (int i = 0; i < NSPIN; i++) {
		long spins = 0;
		while (!spin_seen[i] && spins++ < 2000000000l)
			__asm__ __volatile__("" ::: "memory");
		ok &= spin_seen[i] == 1;
	}
	check(ok, "tgkill to sibling threads spinning in user mode on other CPUs: each handles it");
	/* Process-directed: the main thread blocks it, so a spinner takes it. */
	sigset_t s, old;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigprocmask(SIG_BLOCK, &s, &old);
	int before = 0;
	for (int i = 0; i < NSPIN; i++)
		before += spin_seen[i];
	kill(getpid(), SIGUSR1);
	long spins = 0;
	int after = before;
	while (after == before && spins++ < 2000000000l) {
		after = 0;
		for (int i = 0; i < NSPIN; i++)
			after += spin_seen[i];
	}
	sigset_t pend;
	sigpending(&pend);
	check(after == before + 1 && !sigismember(&pend, SIGUSR1),
	      "kill to the process: a thread that does not block it takes it");
	sigprocmask(SIG_SETMASK, &old, NULL);
	stop_spin = 1;
	for (int i = 0; i < NSPIN; i++)
		pthread_join(th[i], NULL);
	dfl(SIGUSR1);
	dfl(SIGUSR2);
}

/* ---- interrupted calls, timers, SIGCHLD, SIGPIPE -------------------------- */

static int alarm_pipe[2];
static volatile int alarms;

static void on_alarm(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	alarms++;
	last_code = si->si_code;
	if (alarm_pipe[1] > 0)
		write(alarm_pipe[1], "x", 1); /* for the restarted read */
}

static void arm_ms(int ms)
{
	struct itimerval it = { { 0, 0 }, { ms / 1000, (ms % 1000) * 1000 } };
	setitimer(ITIMER_REAL, &it, NULL);
}

static void interrupted_calls(void)
{
	char c;
	pipe(alarm_pipe);
	int wr = alarm_pipe[1];
	alarm_pipe[1] = -1; /* the handler writes nothing: EINTR */
	alarms = 0;
	on(SIGALRM, on_alarm, 0);
	arm_ms(30);
	ssize_t r = read(alarm_pipe[0], &c, 1);
	check(r < 0 && errno == EINTR && alarms == 1 && last_code == SI_KERNEL,
	      "SIGALRM interrupts a blocking pipe read: EINTR (no SA_RESTART)");
	alarm_pipe[1] = wr;
	on(SIGALRM, on_alarm, SA_RESTART);
	arm_ms(30);
	r = read(alarm_pipe[0], &c, 1);
	check(r == 1 && c == 'x' && alarms == 2,
	      "SA_RESTART: the read restarts and gets what the handler wrote");
	arm_ms(30);
	check(pause() < 0 && errno == EINTR && alarms == 3, "pause: EINTR after the handler");
	struct itimerval it = { { 0, 20000 }, { 0, 20000 } }, cur;
	setitimer(ITIMER_REAL, &it, NULL);
	alarm_pipe[1] = -1;
	while (alarms < 6)
		pause();
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, &cur);
	check(cur.it_interval.tv_usec == 20000, "setitimer with an interval: repeated SIGALRM");
	alarm(100);
	unsigned left = alarm(0);
	check(left == 100 || left == 99, "alarm returns the seconds left");
	getitimer(ITIMER_REAL, &cur);
	check(cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0, "alarm(0) disarms");
	check(raw(SYS_setitimer, 5, (long)&it, 0, 0) == -EINVAL, "setitimer: bad which EINVAL");
	close(alarm_pipe[0]);
	close(wr);

	/* futex waits (Linux: -ERESTARTSYS without a timeout, restarted with
	 * SA_RESTART; -ERESTART_RESTARTBLOCK with one: EINTR with a handler) */
	static volatile int word;
	on(SIGALRM, on_alarm, 0);
	arm_ms(30);
	long fr = raw(SYS_futex, (long)&word, 0 /* FUTEX_WAIT */, 0, 0);
	check(fr == -EINTR && alarms == 7, "futex wait interrupted by a handler: EINTR");
	on(SIGALRM, on_alarm, SA_RESTART);
	struct timespec fts = { 5, 0 };
	arm_ms(30);
	fr = raw(SYS_futex, (long)&word, 0, 0, (long)&fts);
	check(fr == -EINTR && alarms == 8,
	      "timed futex wait, SA_RESTART handler: EINTR all the same");
	dfl(SIGALRM);

	/* sigsuspend and sigtimedwait */
	hits = 0;
	on(SIGUSR1, record, 0);
	sigset_t s, old, empty;
	sigemptyset(&s);
	sigemptyset(&empty);
	sigaddset(&s, SIGUSR1);
	sigprocmask(SIG_BLOCK, &s, &old);
	kill(getpid(), SIGUSR1);
	int rs = sigsuspend(&empty);
	sigset_t b = blocked_now();
	check(rs < 0 && errno == EINTR && hits == 1 && sigismember(&b, SIGUSR1),
	      "sigsuspend: the handler runs, EINTR, the old mask is back");
	sigaddset(&s, SIGUSR2);
	sigprocmask(SIG_BLOCK, &s, NULL);
	tgkill_self(SIGUSR2);
	siginfo_t si;
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	int got = sigtimedwait(&s, &si, &ts);
	/* glibc's sigtimedwait reports SI_TKILL as SI_USER */
	check(got == SIGUSR2 && si.si_signo == SIGUSR2 &&
		  (si.si_code == SI_TKILL || si.si_code == SI_USER) && hits == 1,
	      "sigtimedwait takes a pending blocked signal with its info");
	got = sigtimedwait(&s, &si, &ts);
	check(got < 0 && errno == EAGAIN, "sigtimedwait times out: EAGAIN");
	sigprocmask(SIG_SETMASK, &old, NULL);
	dfl(SIGUSR1);
}

static volatile int chld_hits, chld_pid, chld_status, chld_code;

static void on_chld(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	chld_hits++;
	chld_pid = si->si_pid;
	chld_status = si->si_status;
	chld_code = si->si_code;
}

static void chld_and_pipe(void)
{
	on(SIGCHLD, on_chld, SA_RESTART);
	pid_t c = fork();
	if (c == 0)
		_exit(3);
	int st = wait_status(c);
	check(chld_hits == 1 && chld_pid == c && chld_status == 3 && chld_code == CLD_EXITED &&
		  WEXITSTATUS(st) == 3,
	      "SIGCHLD at a child's exit: si_pid, si_status, CLD_EXITED");
	c = fork();
	if (c == 0) {
		kill(getpid(), SIGTERM);
		_exit(0);
	}
	wait_status(c);
	check(chld_hits == 2 && chld_status == SIGTERM && chld_code == CLD_KILLED,
	      "SIGCHLD of a killed child: CLD_KILLED");
	signal(SIGCHLD, SIG_IGN);
	c = fork();
	if (c == 0)
		_exit(0);
	int r = waitpid(c, &st, 0);
	check(r < 0 && errno == ECHILD, "SIGCHLD ignored: the child is reaped at once (ECHILD)");
	dfl(SIGCHLD);

	int p[2];
	pipe(p);
	close(p[0]);
	c = fork();
	if (c == 0) {
		write(p[1], "x", 1);
		_exit(0);
	}
	check(killed_by(wait_status(c), SIGPIPE), "a write to a pipe with no reader: SIGPIPE");
	signal(SIGPIPE, SIG_IGN);
	check(write(p[1], "x", 1) < 0 && errno == EPIPE, "SIGPIPE ignored: EPIPE");
	dfl(SIGPIPE);
	close(p[1]);

	hits = 0;
	on(SIGUSR1, record, 0);
	c = fork();
	if (c == 0) {
		while (hits == 0)
			__asm__ __volatile__("" ::: "memory");
		_exit(9);
	}
	check(kill(0, SIGUSR1) == 0 && hits == 1, "kill(0): the caller's process group");
	st = wait_status(c);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 9, "kill(0): the child in the group too");
	dfl(SIGUSR1);
}

/* ---- stop and continue ---------------------------------------------------- */

static void *stop_spinner(void *arg)
{
	(void)arg;
	for (;;)
		__asm__ __volatile__("" ::: "memory");
	return NULL;
}

static void stop_continue(int threads)
{
	chld_hits = 0;
	on(SIGCHLD, on_chld, SA_RESTART);
	pid_t c = fork();
	if (c == 0) {
		pthread_t th;
		if (threads)
			pthread_create(&th, NULL, stop_spinner, NULL);
		stop_spinner(NULL);
	}
	int st = 0;
	kill(c, SIGSTOP);
	int r = waitpid(c, &st, WUNTRACED);
	check(r == c && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP,
	      threads ? "SIGSTOP stops a child and its other thread: wait4 WUNTRACED"
		      : "SIGSTOP stops a child spinning in user mode: wait4 WUNTRACED reports it");
	check(waitpid(c, &st, WUNTRACED | WNOHANG) == 0, "a stop is reported once");
	check(chld_hits >= 1 && chld_code == CLD_STOPPED && chld_status == SIGSTOP,
	      "the parent gets SIGCHLD with CLD_STOPPED");
	kill(c, SIGCONT);
	r = waitpid(c, &st, WCONTINUED);
	check(r == c && WIFCONTINUED(st), "SIGCONT: wait4 WCONTINUED reports it");
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	kill(c, SIGSTOP);
	r = waitid(P_PID, c, &si, WSTOPPED);
	check(r == 0 && si.si_code == CLD_STOPPED && si.si_status == SIGSTOP && si.si_pid == c,
	      "waitid WSTOPPED: CLD_STOPPED");
	int ok = 1;
	for (int i = 0; i < 30 && ok; i++) { /* a new stop right after SIGCONT */
		kill(c, SIGCONT);
		if (i & 1)
			ok &= waitpid(c, &st, WCONTINUED) == c && WIFCONTINUED(st);
		kill(c, SIGSTOP);
		ok &= waitpid(c, &st, WUNTRACED) == c && WIFSTOPPED(st);
	}
	check(ok, "30 SIGCONT/SIGSTOP rounds: each stop completes and is reported");
	kill(c, SIGKILL);
	check(killed_by(wait_status(c), SIGKILL), "SIGKILL ends a stopped child");
	dfl(SIGCHLD);
}

/* ---- sleeps: EINTR with a handler, restarted after a stop without one ---- */

static long ms_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* In a child: a 300 ms sleep (kind 0 nanosleep, 1 clock_nanosleep
 * TIMER_ABSTIME, 2 timed futex wait) stopped and continued by the parent
 * must still end as if nothing happened (Linux restarts it: restart_syscall
 * for the relative ones, the same call for the absolute one). */
static int sleep_through_stop(int kind)
{
	struct timespec t0, d = { 0, 300 * 1000 * 1000 };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	long r;
	static volatile int word;
	if (kind == 0) {
		r = raw(SYS_nanosleep, (long)&d, 0, 0, 0);
	} else if (kind == 1) {
		struct timespec abs = t0;
		abs.tv_nsec += d.tv_nsec;
		if (abs.tv_nsec >= 1000000000) {
			abs.tv_sec++;
			abs.tv_nsec -= 1000000000;
		}
		r = raw(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, (long)&abs, 0);
	} else {
		r = raw(SYS_futex, (long)&word, 0, 0, (long)&d);
		r = r == -ETIMEDOUT ? 0 : r;
	}
	return r == 0 && ms_since(&t0) >= 300 ? 0 : 1;
}

static void sleeps(void)
{
	alarms = 0;
	alarm_pipe[1] = -1;
	on(SIGALRM, on_alarm, SA_RESTART);
	struct timespec d = { 1, 0 }, rem = { 0, 0 };
	arm_ms(30);
	int r = nanosleep(&d, &rem);
	check(r < 0 && errno == EINTR && alarms == 1 && rem.tv_sec == 0 && rem.tv_nsec > 500000000,
	      "nanosleep interrupted by a handler (even SA_RESTART): EINTR, rem = the time left");
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	now.tv_sec += 1;
	arm_ms(30);
	r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &now, NULL);
	check(r == EINTR && alarms == 2, "clock_nanosleep TIMER_ABSTIME interrupted: EINTR");
	dfl(SIGALRM);
	static const char *const what[] = {
		"nanosleep stopped and continued: restarted, sleeps its whole time, returns 0",
		"clock_nanosleep TIMER_ABSTIME stopped and continued: restarted to the same "
		"deadline",
		"timed futex wait stopped and continued: restarted, ETIMEDOUT after its whole time",
	};
	for (int kind = 0; kind < 3; kind++) {
		pid_t c = fork();
		if (c == 0)
			_exit(sleep_through_stop(kind));
		struct timespec p = { 0, 60 * 1000 * 1000 };
		nanosleep(&p, NULL);
		int st;
		kill(c, SIGSTOP);
		waitpid(c, &st, WUNTRACED);
		kill(c, SIGCONT);
		st = wait_status(c);
		check(WIFEXITED(st) && WEXITSTATUS(st) == 0, what[kind]);
	}
}

/* ---- hostile rt_sigreturn frames ------------------------------------------ */

enum forge {
	F_RIP_NONCANON,
	F_RIP_KERNEL,
	F_CS_SS_KERNEL,
	F_RFLAGS,
	F_FPU_GARBAGE,
	F_XSAVE_HEADER,
	F_XMM,
	F_FPSTATE_KERNEL,
	F_FRAME_KERNEL,
	F_FRAME_UNMAPPED,
	F_NO_RESTORER,
};
static volatile enum forge forge;

static void forger(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	(void)si;
	ucontext_t *uc = ucv;
	unsigned char *fp = (unsigned char *)uc->uc_mcontext.fpregs;
	switch (forge) {
	case F_RIP_NONCANON:
		uc->uc_mcontext.gregs[REG_RIP] = 0x0000800000000000ll;
		break;
	case F_RIP_KERNEL:
		uc->uc_mcontext.gregs[REG_RIP] = (long long)0xffffffff80100000ull;
		break;
	case F_CS_SS_KERNEL: /* cs, gs, fs, ss: 16 bits each */
		uc->uc_mcontext.gregs[REG_CSGSFS] = 0x0010000000000008ll;
		break;
	case F_RFLAGS:
		uc->uc_mcontext.gregs[REG_EFL] |= 0x3000 | 0x4000 | 0x20000 | 0x80000 | 0x100000;
		uc->uc_mcontext.gregs[REG_EFL] &= ~0x200ll;
		break;
	case F_FPU_GARBAGE:
		memset(fp, 0xff, 512);
		break;
	case F_XSAVE_HEADER:
		memset(fp + 512, 0xff, 64);
		break;
	case F_XMM:
		memset(fp + 160, 0x5a, 16); /* xmm0 in the FXSAVE image */
		if (uc->uc_flags & 1)	    /* UC_FP_XSTATE: SSE in XSTATE_BV */
			fp[512] |= 2;
		break;
	case F_FPSTATE_KERNEL:
		uc->uc_mcontext.fpregs = (void *)0xffff800000000000ull;
		break;
	default:
		break;
	}
}

static int xsave_enabled(void)
{
	unsigned a = 1, b, c, d;
	__asm__ __volatile__("cpuid" : "+a"(a), "=b"(b), "=c"(c), "=d"(d));
	return (c >> 27) & 1; /* OSXSAVE */
}

static void forged_child(enum forge f)
{
	forge = f;
	on(SIGUSR1, forger, 0);
	uint64_t x0 = 0;
	if (f == F_FRAME_KERNEL || f == F_FRAME_UNMAPPED) {
		uint64_t sp = f == F_FRAME_KERNEL ? 0xffff800000001000ull : 0x10000ull;
		__asm__ __volatile__("mov %0, %%rsp\n\tmov $15, %%eax\n\tsyscall" ::"r"(sp)
				     : "rax", "rcx", "r11", "memory");
		_exit(0);
	}
	if (f == F_NO_RESTORER) {
		uint64_t act[4] = { (uint64_t)(uintptr_t)forger, SA_SIGINFO, 0, 0 };
		syscall(SYS_rt_sigaction, SIGUSR1, act, NULL, 8);
	}
	__asm__ __volatile__("pxor %%xmm0, %%xmm0\n\tsyscall\n\tmovq %%xmm0, %0"
			     : "=r"(x0)
			     : "a"(SYS_tgkill), "D"(getpid()), "S"(gettid_()), "d"(SIGUSR1)
			     : "rcx", "r11", "memory", "xmm0");
	uint64_t fl, cs, ss;
	__asm__ __volatile__("pushfq\n\tpop %0\n\tmov %%cs, %1\n\tmov %%ss, %2"
			     : "=r"(fl), "=r"(cs), "=r"(ss));
	uint64_t clean = fl & ~0x40000ull; /* AC back off */
	__asm__ __volatile__("push %0\n\tpopfq" ::"r"(clean) : "cc");
	switch (f) {
	case F_CS_SS_KERNEL:
		_exit(cs == 0x33 || cs == 0x2b ? (ss == 0x2b || ss == 0x23 ? 0 : 3) : 4);
	case F_RFLAGS:
		_exit((fl & 0x3000) || (fl & 0x4000) || (fl & 0x20000) || !(fl & 0x200) ? 5 : 0);
	case F_XMM:
		_exit(x0 == 0x5a5a5a5a5a5a5a5aull ? 0 : 6);
	default:
		_exit(0);
	}
}

static int forged(enum forge f)
{
	pid_t c = fork();
	if (c == 0)
		forged_child(f);
	return wait_status(c);
}

static void hostile_frames(void)
{
	check(killed_by(forged(F_RIP_NONCANON), SIGSEGV),
	      "forged frame, non-canonical RIP: SIGSEGV");
	check(killed_by(forged(F_RIP_KERNEL), SIGSEGV), "forged frame, kernel RIP: SIGSEGV");
	int st = forged(F_CS_SS_KERNEL);
	check((WIFEXITED(st) && WEXITSTATUS(st) == 0) || killed_by(st, SIGSEGV),
	      "forged frame, kernel CS and SS: user selectors forced (here) or SIGSEGV (Linux)");
	st = forged(F_RFLAGS);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "forged frame, RFLAGS with IOPL 3, NT, VM, no IF: sanitized");
	check(killed_by(forged(F_FPU_GARBAGE), SIGSEGV),
	      "forged frame, garbage FPU image (reserved MXCSR bits): SIGSEGV, no kernel fault");
	st = forged(F_XSAVE_HEADER);
	check(xsave_enabled() ? killed_by(st, SIGSEGV) : WIFEXITED(st) && !WEXITSTATUS(st),
	      "forged frame, garbage XSAVE header: SIGSEGV (XSAVE) or ignored (FXSAVE)");
	st = forged(F_XMM);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "a handler's change to xmm0 in the frame is restored");
	check(killed_by(forged(F_FPSTATE_KERNEL), SIGSEGV),
	      "forged frame, fpstate in the kernel: SIGSEGV");
	check(killed_by(forged(F_FRAME_KERNEL), SIGSEGV),
	      "rt_sigreturn with rsp in the kernel: SIGSEGV");
	check(killed_by(forged(F_FRAME_UNMAPPED), SIGSEGV),
	      "rt_sigreturn with rsp unmapped: SIGSEGV");
	check(killed_by(forged(F_NO_RESTORER), SIGSEGV), "a handler without SA_RESTORER: SIGSEGV");
}

/* ---- a signal storm ------------------------------------------------------ */

#define STORM_PROCS   3
#define STORM_THREADS 3 /* per process, the main one included */

struct storm {
	volatile int pid[STORM_PROCS];
	volatile int tid[STORM_PROCS][STORM_THREADS];
	volatile long handled, sent, forks, lost_sigchld;
};
static struct storm *storm;
static volatile long storm_sigchld;
static int storm_pipe[2];
static volatile int storm_me;

static void storm_handler(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	if (sig == SIGCHLD)
		storm_sigchld++;
	else
		__atomic_add_fetch(&storm->handled, 1, __ATOMIC_RELAXED);
}

static unsigned storm_rand(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 16;
}

/* Send a few signals to threads and processes of the storm. */
static void storm_send(unsigned *seed)
{
	int p = (int)(storm_rand(seed) % STORM_PROCS), t = (int)(storm_rand(seed) % STORM_THREADS);
	if (storm->pid[p] && storm->tid[p][t]) {
		if (storm_rand(seed) & 1)
			syscall(SYS_tgkill, storm->pid[p], storm->tid[p][t], SIGUSR1);
		else
			kill(storm->pid[p], SIGUSR2);
		__atomic_add_fetch(&storm->sent, 1, __ATOMIC_RELAXED);
	}
}

static void *storm_thread(void *arg)
{
	int t = (int)(intptr_t)arg;
	unsigned seed = (unsigned)(storm_me * 31 + t);
	storm->tid[storm_me][t] = gettid_();
	for (long i = 0;; i++) {
		storm_send(&seed);
		char c = 'x';
		if (t == 1)
			read(storm_pipe[0], &c, 1); /* blocks; handlers interrupt it (SA_RESTART) */
		else
			write(storm_pipe[1], &c, 1);
		for (int k = 0; k < 2000; k++)
			__asm__ __volatile__("" ::: "memory");
	}
	return NULL;
}

/* A storm process: its main thread forks and reaps children, checking
 * that each exit brought a SIGCHLD; the others signal and block. */
static void storm_process(int me)
{
	storm_me = me;
	pipe(storm_pipe);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = storm_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL); /* the threads inherit it */
	pthread_t th;
	for (int t = 1; t < STORM_THREADS; t++)
		pthread_create(&th, NULL, storm_thread, (void *)(intptr_t)t);
	sigprocmask(SIG_UNBLOCK, &chld, NULL); /* only this thread takes SIGCHLD */
	storm->tid[me][0] = gettid_();
	unsigned seed = (unsigned)me;
	for (;;) {
		storm_send(&seed);
		long before = storm_sigchld;
		pid_t c = fork();
		if (c == 0)
			_exit(0);
		if (c > 0) {
			wait_status(c);
			__atomic_add_fetch(&storm->forks, 1, __ATOMIC_RELAXED);
			if (storm_sigchld == before)
				__atomic_add_fetch(&storm->lost_sigchld, 1, __ATOMIC_RELAXED);
		}
	}
}

static volatile int storm_over;

static void storm_alarm(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	storm_over = 1;
}

static void storm_run(int ms)
{
	storm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	memset((void *)storm, 0, sizeof(*storm));
	pid_t c[STORM_PROCS];
	for (int i = 0; i < STORM_PROCS; i++) {
		c[i] = fork();
		if (c[i] == 0)
			storm_process(i);
		storm->pid[i] = c[i];
	}
	on(SIGALRM, storm_alarm, 0);
	arm_ms(ms);
	while (!storm_over)
		pause();
	int ok = 1;
	for (int i = 0; i < STORM_PROCS; i++)
		kill(c[i], SIGKILL);
	for (int i = 0; i < STORM_PROCS; i++)
		ok &= killed_by(wait_status(c[i]), SIGKILL);
	printf("# storm: %ld signals sent, %ld handled, %ld forks, %ld without SIGCHLD\n",
	       storm->sent, storm->handled, storm->forks, storm->lost_sigchld);
	check(ok, "signal storm: every process killed by SIGKILL, whatever it was doing");
	check(storm->handled > 0 && storm->forks > 0 && storm->lost_sigchld == 0,
	      "signal storm: signals handled, no fork's SIGCHLD lost");
	dfl(SIGALRM);
}

/* ---- as init (pid 1) ------------------------------------------------------ */

static int as_init(void)
{
	if (getpid() != 1)
		return 2;
	kill(1, SIGTERM);
	kill(1, SIGKILL);
	tgkill_self(SIGUSR2);
	kill(-1, SIGTERM); /* everyone but init: nobody else here */
	check(1, "init survives SIGTERM, SIGKILL and SIGUSR2 it has no handler for");
	hits = 0;
	on(SIGUSR1, record, 0);
	kill(1, SIGUSR1);
	check(hits == 1, "init gets a signal it handles");
	pid_t c = fork();
	if (c == 0) {
		kill(1, SIGTERM); /* from a child: still dropped */
		_exit(0);
	}
	wait_status(c);
	check(1, "init survives SIGTERM from its child");
	printf("1..%d\n# every check ran\n", n);
	return failed ? 1 : 0;
}

/* Reads of the console (stdin) interrupted by SIGALRM. The test case
 * (tests/test_user.c signals_console_read) types "abc" before the program
 * starts and "def\n" once it prints "# waiting for def": the first read
 * takes "abc", waits for the end of the line and is interrupted; the line
 * so far must come back to the restarted read. */
static int console_checks(void)
{
	char buf[64];
	alarm_pipe[1] = -1;
	alarms = 0;
	on(SIGALRM, on_alarm, 0);
	arm_ms(100);
	ssize_t r = read(0, buf, sizeof(buf));
	check(r < 0 && errno == EINTR && alarms == 1,
	      "SIGALRM interrupts a blocking console read: EINTR (no SA_RESTART)");
	on(SIGALRM, on_alarm, SA_RESTART);
	struct itimerval it = { { 0, 50000 }, { 0, 50000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	printf("# waiting for def\n");
	r = read(0, buf, sizeof(buf) - 1);
	int seen = alarms;
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	buf[r > 0 ? r : 0] = 0;
	check(r == 7 && !memcmp(buf, "abcdef\n", 7) && seen >= 3,
	      "SA_RESTART: the console read restarts, keeping the line typed before the signal");
	printf("1..%d\n# every check ran\n", n);
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "exec-child"))
		return exec_child();
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("KTAP version 1\n");
	for (int i = 1; i < 32; i++) /* whatever the caller ignored (Linux shells) */
		if (i != SIGKILL && i != SIGSTOP)
			signal(i, SIG_DFL);
	if (argc > 1 && !strcmp(argv[1], "init"))
		return as_init();
	if (argc > 1 && !strcmp(argv[1], "console"))
		return console_checks();
	if (argc > 1 && !strcmp(argv[1], "ipi")) {
		/* alone: the only IPIs into user code are tgkill's; six rounds,
		 * as a signal may find its spinner off its CPU (more spinners than
		 * CPUs at SMP=2) and then needs no IPI */
		for (int round = 0; round < 6; round++)
			threads_checks();
		printf("1..%d\n# every check ran\n", n);
		return failed ? 1 : 0;
	}
	if (argc > 1 && !strcmp(argv[1], "stop")) {
		stop_continue(1); /* alone: user.stop_restop widens its window */
		printf("1..%d\n# every check ran\n", n);
		return failed ? 1 : 0;
	}
	if (argc > 1 && strcmp(argv[1], "no-threads"))
		return 2;
	frame_and_info();
	nodefer_resethand();
	masks_and_errors();
	default_actions();
	across_fork_exec(argv[0]);
	altstack_checks();
	fault_checks();
	if (argc == 1)
		threads_checks();
	interrupted_calls();
	chld_and_pipe();
	stop_continue(0);
	sleeps();
	if (argc == 1)
		stop_continue(1);
	hostile_frames();
	if (argc == 1)
		storm_run(2000);
	printf("1..%d\n# every check ran\n", n);
	return failed ? 1 : 0;
}
