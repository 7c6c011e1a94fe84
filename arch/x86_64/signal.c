/*
 * arch/x86_64/signal.c - the x86-64 signal frame, system-call restart and
 * rt_sigreturn, as Linux 6.1's arch/x86/kernel/signal.c and fpu/signal.c.
 *
 * The frame (x64_setup_rt_frame), from the user's rsp down:
 *   the 128-byte red zone is skipped; with SA_ONSTACK and an altstack not
 *   in use, the top of the altstack is used instead;
 *   the FPU image (XSAVE standard format of fpu_size bytes + the 4-byte
 *   FP_XSTATE_MAGIC2, with struct _fpx_sw_bytes in the legacy area's
 *   software-reserved bytes 464..511; or the 512-byte FXSAVE image without
 *   XSAVE), 64-byte aligned;
 *   struct rt_sigframe { pretcode; struct ucontext uc; siginfo info; },
 *   placed so that ((rsp + 8) & 15) == 0 at the handler's first
 *   instruction, as after a call.
 * The handler runs with rdi = sig, rsi = &info, rdx = &uc, rax = 0, its
 * return address = sa_restorer (x86-64 requires SA_RESTORER: without it
 * the frame is refused and the thread gets SIGSEGV, as Linux), DF, TF and
 * RF cleared, and a clean FPU state.
 *
 * rt_sigreturn trusts nothing in the frame: CS and SS are forced to the
 * user selectors, only the FIX_EFLAGS bits of RFLAGS are taken (never IF,
 * IOPL, NT, VM), orig_ax becomes -1 (no restart of whatever rax holds); a
 * non-canonical or kernel RIP is left to the IRET (syscall64.c never
 * SYSRETs there), whose fault becomes the user's SIGSEGV (fixup_bad_iret).
 * The FPU image is copied into a kernel page and loaded by an instruction
 * with an exception-table fixup (signal_fpu.asm): an image XRSTOR/FXRSTOR
 * refuses gives a clean FPU state and SIGSEGV, never a kernel fault. A
 * frame that cannot be read gives SIGSEGV.
 *
 * Restart (arch_do_signal_or_restart, handle_signal): a system call that
 * returned -ERESTARTSYS/-ERESTARTNOINTR/-ERESTARTNOHAND/
 * -ERESTART_RESTARTBLOCK is, with a handler to run, -EINTR, except
 * -ERESTARTNOINTR and -ERESTARTSYS with SA_RESTART, which are re-executed
 * (rax = orig_ax, rip -= 2: the syscall instruction again); with no
 * handler, all are re-executed (-ERESTART_RESTARTBLOCK as restart_syscall).
 *
 * Runs with interrupts on, called from exit_to_user_mode (trap.c); takes
 * the locks of kernel/signal.c.
 */
#include "arch/x86_64/trap.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/asm.h"
#include "arch/x86_64/uaccess.h"
#include "arch/arch.h"
#include "kernel/signal.h"
#include "kernel/process.h"
#include "kernel/sched.h"
#include "kernel/string.h"
#include "kernel/errno.h"
#include "kernel/syscall.h"
#include "mm/page.h"

#define UC_FP_XSTATE	     0x1
#define UC_SIGCONTEXT_SS     0x2
#define UC_STRICT_RESTORE_SS 0x4
#define FP_XSTATE_MAGIC1     0x46505853u
#define FP_XSTATE_MAGIC2     0x46505845u
#define FPX_SW_OFFSET	     464 /* struct _fpx_sw_bytes in the FXSAVE image */

#define RFLAGS_CF (1ul << 0)
#define RFLAGS_PF (1ul << 2)
#define RFLAGS_AF (1ul << 4)
#define RFLAGS_ZF (1ul << 6)
#define RFLAGS_SF (1ul << 7)
#define RFLAGS_OF (1ul << 11)
/* Linux's FIX_EFLAGS: what a signal frame may change. */
#ifdef MUTATION_SIGRETURN_ANY_RFLAGS
#define FIX_EFLAGS (~0ul)
#else
#define FIX_EFLAGS                                                                           \
	(RFLAGS_AC | RFLAGS_OF | RFLAGS_DF | RFLAGS_TF | RFLAGS_SF | RFLAGS_ZF | RFLAGS_AF | \
	 RFLAGS_PF | RFLAGS_CF | RFLAGS_RF)
#endif

struct sigcontext_64 {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2;
	uint64_t fpstate; /* user pointer to the FPU image */
	uint64_t reserved1[8];
};

struct kstack_t {
	uint64_t ss_sp;
	int32_t ss_flags, pad;
	uint64_t ss_size;
};

struct kucontext {
	uint64_t uc_flags, uc_link;
	struct kstack_t uc_stack;
	struct sigcontext_64 uc_mcontext;
	sigset_t uc_sigmask;
};

struct rt_sigframe {
	uint64_t pretcode;
	struct kucontext uc;
	uint8_t info[128];
};

struct fpx_sw_bytes {
	uint32_t magic1, extended_size;
	uint64_t xfeatures;
	uint32_t xstate_size, padding[7];
};

_Static_assert(sizeof(struct sigcontext_64) == 256, "sigcontext");
_Static_assert(sizeof(struct kucontext) == 304, "ucontext");
_Static_assert(sizeof(struct rt_sigframe) == 440, "rt_sigframe");
_Static_assert(sizeof(struct fpx_sw_bytes) == 48, "_fpx_sw_bytes");

static bool use_xsave(void)
{
	return boot_cpu_features.xsave;
}

/* Bytes of the FPU image in a frame (Linux's xstate_sigframe_size). */
static uint64_t fpu_frame_size(void)
{
	return use_xsave() ? boot_cpu_features.fpu_size + 4 : 512;
}

/* ---- building the frame ------------------------------------------------- */

/* The live FPU registers to the user image at buf (Linux's
 * copy_fpstate_to_sigframe); then a clean state for the handler. */
static int save_fpu_to_user(uint64_t buf)
{
	struct thread *t = current;
	unsigned long fl = local_irq_save();
	fpu_save(t->fpu);
	local_irq_restore(fl);
	/* A switch meanwhile saves the same registers again: t->fpu holds. */
	uint32_t size = use_xsave() ? boot_cpu_features.fpu_size : 512;
	if (copy_to_user(buf, t->fpu, size))
		return -EFAULT;
	struct fpx_sw_bytes sw = { 0 };
	if (use_xsave()) {
		sw.magic1 = FP_XSTATE_MAGIC1;
		sw.extended_size = size + 4;
		sw.xfeatures = boot_cpu_features.xcr0;
		sw.xstate_size = size;
		uint32_t magic2 = FP_XSTATE_MAGIC2;
		if (copy_to_user(buf + size, &magic2, 4))
			return -EFAULT;
	}
	return copy_to_user(buf + FPX_SW_OFFSET, &sw, sizeof(sw));
}

static void fpu_clear_user_state(void)
{
	struct thread *t = current;
	unsigned long fl = local_irq_save();
	fpu_init_state(t->fpu);
	fpu_restore(t->fpu);
	local_irq_restore(fl);
}

/* Where the frame goes (Linux's get_sigframe); 0: it cannot (SIGSEGV). */
static uint64_t get_sigframe(const struct ksignal *ksig, const struct trap_frame *regs,
			     uint64_t *fpbuf)
{
	struct thread *t = current;
	uint64_t sp = regs->rsp;
	bool nested_altstack = on_sig_stack(sp), entering_altstack = false;
	sp -= 128; /* the red zone */
#ifdef MUTATION_ONSTACK_IGNORED
	if (false) {
#else
	if ((ksig->ka.flags & SA_ONSTACK) && sas_ss_flags(sp) == 0) {
#endif
		sp = t->sig.sas_ss_sp + t->sig.sas_ss_size;
		entering_altstack = true;
	}
	sp = (sp - fpu_frame_size()) & ~63ull;
	*fpbuf = sp;
	sp -= sizeof(struct rt_sigframe);
#ifndef MUTATION_SIGFRAME_MISALIGNED
	sp = (sp & ~15ull) - 8;
#else
	sp = sp & ~15ull;
#endif
	/* Running off the altstack: an always-bad frame, as Linux. */
	if ((nested_altstack || entering_altstack) &&
	    !(sp > t->sig.sas_ss_sp && sp - t->sig.sas_ss_sp <= t->sig.sas_ss_size))
		return 0;
	return sp;
}

static void fill_sigcontext(struct sigcontext_64 *sc, const struct trap_frame *r, sigset_t mask,
			    uint64_t fpbuf)
{
	struct thread *t = current;
	*sc = (struct sigcontext_64){
		.r8 = r->r8,
		.r9 = r->r9,
		.r10 = r->r10,
		.r11 = r->r11,
		.r12 = r->r12,
		.r13 = r->r13,
		.r14 = r->r14,
		.r15 = r->r15,
		.rdi = r->rdi,
		.rsi = r->rsi,
		.rbp = r->rbp,
		.rbx = r->rbx,
		.rdx = r->rdx,
		.rax = r->rax,
		.rcx = r->rcx,
		.rsp = r->rsp,
		.rip = r->rip,
		.eflags = r->rflags,
	};
	sc->cs = (uint16_t)r->cs;
	sc->ss = (uint16_t)r->ss;
	sc->err = t->sig.fault_error_code;
	sc->trapno = (uint64_t)t->sig.fault_trapno;
	sc->oldmask = mask;
	sc->cr2 = t->sig.fault_addr;
	sc->fpstate = fpbuf;
}

/* Linux's x64_setup_rt_frame: 0, or -EFAULT (the caller sends SIGSEGV). */
static int setup_rt_frame(struct ksignal *ksig, struct trap_frame *regs)
{
	struct thread *t = current;
	if (!(ksig->ka.flags & SA_RESTORER))
		return -EFAULT; /* x86-64 always uses SA_RESTORER */
	uint64_t fpbuf, sp = get_sigframe(ksig, regs, &fpbuf);
	if (!sp || save_fpu_to_user(fpbuf))
		return -EFAULT;
	static struct rt_sigframe zero_frame;
	struct rt_sigframe f = zero_frame;
	f.pretcode = ksig->ka.restorer;
	f.uc.uc_flags = (use_xsave() ? UC_FP_XSTATE : 0) | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
	f.uc.uc_stack.ss_sp = t->sig.sas_ss_sp;
	f.uc.uc_stack.ss_flags = sas_ss_flags(regs->rsp) | (int32_t)t->sig.sas_ss_flags;
	f.uc.uc_stack.ss_size = t->sig.sas_ss_size;
	sigset_t mask = sigmask_to_save();
	fill_sigcontext(&f.uc.uc_mcontext, regs, mask, fpbuf);
	f.uc.uc_sigmask = mask;
	ksiginfo_to_user(&ksig->info, f.info);
	if (copy_to_user(sp, &f, sizeof(f)))
		return -EFAULT;
	regs->rdi = (uint64_t)ksig->sig;
	regs->rax = 0;
	regs->rsi = sp + __builtin_offsetof(struct rt_sigframe, info);
	regs->rdx = sp + __builtin_offsetof(struct rt_sigframe, uc);
	regs->rip = ksig->ka.handler;
	regs->rsp = sp;
	regs->cs = GDT_USER_CS;
	regs->ss = GDT_USER_DS;
	if (t->sig.sas_ss_flags & SS_AUTODISARM)
		t->sig.sas_ss_sp = t->sig.sas_ss_size = 0; /* Linux's sas_ss_reset */
	return 0;
}

static bool in_syscall(const struct trap_frame *regs)
{
	return regs->vector == VEC_SYSCALL_FRAME && (int64_t)regs->error_code >= 0;
}

static void handle_signal(struct ksignal *ksig, struct trap_frame *regs)
{
	if (in_syscall(regs)) {
		switch ((int64_t)regs->rax) {
		case -ERESTART_RESTARTBLOCK:
		case -ERESTARTNOHAND:
			regs->rax = (uint64_t)-EINTR;
			break;
		case -ERESTARTSYS:
#ifndef MUTATION_IGNORE_SA_RESTART
			if (!(ksig->ka.flags & SA_RESTART)) {
				regs->rax = (uint64_t)-EINTR;
				break;
			}
#endif
			/* fall through */
		case -ERESTARTNOINTR:
			regs->rax = regs->error_code;
			regs->rip -= 2;
			break;
		}
	}
	bool failed = setup_rt_frame(ksig, regs) != 0;
	if (!failed) {
		regs->rflags &= ~(RFLAGS_DF | RFLAGS_RF | RFLAGS_TF);
		fpu_clear_user_state();
	}
	signal_setup_done(failed, ksig);
}

/* exit_to_user_mode, t->sigpending set, interrupts on. */
void arch_do_signal_or_restart(struct trap_frame *regs)
{
	struct ksignal ksig;
	if (get_signal(&ksig)) {
		handle_signal(&ksig, regs);
		return;
	}
	if (in_syscall(regs)) {
		switch ((int64_t)regs->rax) {
		case -ERESTARTNOHAND:
		case -ERESTARTSYS:
		case -ERESTARTNOINTR:
			regs->rax = regs->error_code;
			regs->rip -= 2;
			break;
		case -ERESTART_RESTARTBLOCK:
			regs->rax = __NR_restart_syscall;
			regs->rip -= 2;
			break;
		}
	}
	restore_saved_sigmask();
}

/* ---- rt_sigreturn ------------------------------------------------------- */

/* What XRSTOR/FXRSTOR would refuse with #GP, checked first: not every CPU
 * model faults (QEMU's TCG loads reserved MXCSR bits), and the result must
 * be the same everywhere: SIGSEGV, as on hardware. */
static bool fpu_image_valid(const uint8_t *k)
{
	uint32_t mxcsr = *(const uint32_t *)(k + 24);
	uint32_t mask =
	    *(const uint32_t *)((const uint8_t *)current->fpu + 28); /* MXCSR_MASK, saved */
	if (mxcsr & ~(mask ? mask : 0xffbf))
		return false;
	if (!use_xsave())
		return true;
	const uint64_t *hdr = (const uint64_t *)(k + 512);
	if (hdr[0] & ~boot_cpu_features.xcr0) /* XSTATE_BV */
		return false;
	for (int i = 1; i < 8; i++) /* XCOMP_BV (no compaction) and reserved */
		if (hdr[i])
			return false;
	return true;
}

/* The FPU image at the user's buf (fx_only: just the legacy 512 bytes) into
 * the registers; a refused image gives a clean state and -EFAULT. */
static int restore_fpu_from_user(uint64_t buf, uint64_t uc_flags)
{
	if (!buf) {
		fpu_clear_user_state(); /* Linux: no image, a clean state */
		return 0;
	}
	uint32_t size = use_xsave() ? boot_cpu_features.fpu_size : 512;
	uint8_t *k = get_free_pages(__GFP_ZERO, 0);
	if (!k)
		return -EFAULT;
	int err = copy_from_user(k, buf, 512);
	bool fx_only = true;
	if (!err && use_xsave() && (uc_flags & UC_FP_XSTATE)) {
		struct fpx_sw_bytes sw;
		uint32_t magic2 = 0;
		memcpy(&sw, k + FPX_SW_OFFSET, sizeof(sw));
		if (sw.magic1 == FP_XSTATE_MAGIC1 && sw.xstate_size == size &&
		    sw.extended_size == size + 4 && !copy_from_user(&magic2, buf + size, 4) &&
		    magic2 == FP_XSTATE_MAGIC2)
			fx_only = false;
	}
	if (!err && !fx_only)
		err = copy_from_user(k + 512, buf + 512, size - 512);
	else if (!err && use_xsave())
		*(uint64_t *)(k + 512) = 3; /* XSTATE_BV: x87 and SSE; the rest init */
	if (!err) {
		unsigned long fl = local_irq_save();
#ifdef MUTATION_FPU_RESTORE_UNCHECKED
		(void)fpu_image_valid;
		fpu_restore(k); /* no validation, no exception fixup */
#else
		err = fpu_image_valid(k) ? fpu_restore_checked(k, use_xsave()) : -EFAULT;
#endif
		local_irq_restore(fl);
	}
	free_pages(k, 0);
	if (err)
		fpu_clear_user_state();
	return err;
}

static int restore_sigcontext(struct trap_frame *regs, const struct sigcontext_64 *sc,
			      uint64_t uc_flags)
{
	regs->r8 = sc->r8;
	regs->r9 = sc->r9;
	regs->r10 = sc->r10;
	regs->r11 = sc->r11;
	regs->r12 = sc->r12;
	regs->r13 = sc->r13;
	regs->r14 = sc->r14;
	regs->r15 = sc->r15;
	regs->rdi = sc->rdi;
	regs->rsi = sc->rsi;
	regs->rbp = sc->rbp;
	regs->rbx = sc->rbx;
	regs->rdx = sc->rdx;
	regs->rax = sc->rax;
	regs->rcx = sc->rcx;
	regs->rsp = sc->rsp;
	regs->rip = sc->rip;
	regs->rflags = (regs->rflags & ~FIX_EFLAGS) | (sc->eflags & FIX_EFLAGS);
#ifdef MUTATION_SIGRETURN_TRUSTS_CS
	regs->cs = sc->cs;
	regs->ss = sc->ss;
#else
	regs->cs = GDT_USER_CS; /* never another selector, never ring 0 */
	regs->ss = GDT_USER_DS;
#endif
	regs->error_code = (uint64_t)-1; /* orig_ax: no system call to restart */
	return restore_fpu_from_user(sc->fpstate, uc_flags);
}

int64_t sys_rt_sigreturn(void)
{
	struct trap_frame *regs = current_user_regs();
	uint64_t frame = regs->rsp - 8; /* the handler's ret popped pretcode */
	struct rt_sigframe f;
	if (copy_from_user(&f, frame, sizeof(f)))
		goto badframe;
	current->sig.restart.fn = NULL; /* Linux: no restart past a handler */
	set_current_blocked(f.uc.uc_sigmask);
	if (restore_sigcontext(regs, &f.uc.uc_mcontext, f.uc.uc_flags))
		goto badframe;
	restore_altstack(f.uc.uc_stack.ss_sp, f.uc.uc_stack.ss_flags, f.uc.uc_stack.ss_size,
			 regs->rsp);
	return (int64_t)regs->rax;
badframe:
	force_sig(SIGSEGV); /* Linux's signal_fault */
	return 0;
}
