/*
 * tests/user/fault.c - raise one CPU exception from ring 3, named by the
 * argument, and let it kill the process: the caller (tests/test_user.c)
 * checks that the wait status carries Linux 6.1's signal for it
 * (arch/x86/kernel/traps.c) and that the kernel carries on.
 *
 *   de   idiv by zero (#DE)                         SIGFPE
 *   ud   ud2 (#UD)                                  SIGILL
 *   gp   load through a non-canonical address (#GP) SIGSEGV
 *   pf   write to address 0 (#PF)                   SIGSEGV
 *   bp   int3 (#BP)                                 SIGTRAP
 *   of   int $4 (the #OF gate, DPL 3; `into` is invalid in 64-bit mode)
 *                                                   SIGSEGV
 *   ss   load through a non-canonical address with rbp as base: a stack
 *        segment reference (#SS on a CPU; QEMU's TCG raises #GP, for
 *        which Linux gives SIGSEGV)                 SIGBUS
 *   np   load DS with a not-present LDT segment (#NP): needs modify_ldt;
 *        where it is refused, prints a SKIP and exits 77
 *                                                   SIGBUS
 *   ac   RFLAGS.AC set (popf), then a misaligned load (#AC; the kernel
 *        must set CR0.AM, as Linux does): exits 77 if no fault came (an
 *        emulator that does not check alignment)  SIGBUS
 *   mf   x87 divide by zero unmasked in the control word, then fwait (#MF)
 *                                                   SIGFPE
 *   xm   SSE divide by zero unmasked in MXCSR (#XM): exits 77 if the
 *        division only set the flag (an emulator: QEMU's TCG)  SIGFPE
 *   db   RFLAGS.TF set by popf: single step (#DB)   SIGTRAP
 *   io   inb from port 0x80 with IOPL 0 (#GP)       SIGSEGV
 *   hlt  hlt at CPL 3 (#GP)                          SIGSEGV
 *   cli  cli at CPL 3 with IOPL 0 (#GP)              SIGSEGV
 *   none no fault: exit 0
 *
 * Prints KTAP (one case, the one that never completes); if the exception
 * does not come, "not ok" and exit status 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NONCANONICAL 0x8000000000000000ull

static void fault_de(void)
{
	__asm__ __volatile__("xor %%ecx, %%ecx\n\tmov $1, %%eax\n\tcltd\n\tidiv %%ecx" ::
				 : "rax", "rcx", "rdx");
}

static void fault_ud(void)
{
	__asm__ __volatile__("ud2");
}

static void fault_gp(void)
{
	uint64_t v;
	__asm__ __volatile__("mov (%1), %0" : "=r"(v) : "r"(NONCANONICAL));
}

static void fault_pf(void)
{
	__asm__ __volatile__("movq $1, 0" ::: "memory");
}

static void fault_bp(void)
{
	__asm__ __volatile__("int3");
}

static void fault_of(void)
{
	__asm__ __volatile__("int $4");
}

static void fault_ss(void)
{
	__asm__ __volatile__(
	    "push %%rbp\n\tmov %0, %%rbp\n\tmov (%%rbp), %%rax\n\tpop %%rbp" ::"r"(NONCANONICAL)
	    : "rax", "memory");
}

/* struct user_desc of modify_ldt(2) */
struct user_desc {
	unsigned entry_number, base_addr, limit;
	unsigned seg_32bit : 1, contents : 2, read_exec_only : 1, limit_in_pages : 1,
	    seg_not_present : 1, useable : 1, lm : 1;
};

static int fault_np(void)
{
	struct user_desc d = { .entry_number = 0,
			       .limit = 0xfffff,
			       .seg_32bit = 1,
			       .limit_in_pages = 1,
			       .seg_not_present = 1,
			       .useable = 1 };
	long r = syscall(SYS_modify_ldt, 1, &d, sizeof(d));
	if (r) {
		printf("ok 1 np # SKIP modify_ldt refused (%ld): no LDT to hold a not-present "
		       "segment\n",
		       r);
		return 77;
	}
	__asm__ __volatile__("mov %0, %%ds" ::"r"(0x7) : "memory"); /* LDT entry 0, RPL 3 */
	return 1;
}

static int fault_ac(void)
{
	static uint64_t buf[2];
	uint32_t v;
	__asm__ __volatile__("pushf\n\torl $0x40000, (%%rsp)\n\tpopf\n\t"
			     "movl (%1), %0\n\t"
			     "pushf\n\tandl $~0x40000, (%%rsp)\n\tpopf"
			     : "=r"(v)
			     : "r"((char *)buf + 1)
			     : "memory", "cc");
	printf("ok 1 ac # SKIP no #AC for a misaligned load with RFLAGS.AC set (an emulator "
	       "without alignment checks)\n");
	return 77;
}

static void fault_mf(void)
{
	uint16_t cw;
	__asm__ __volatile__("fninit\n\tfnstcw %0" : "=m"(cw));
	cw &= ~(uint16_t)0x4; /* unmask ZM */
	__asm__ __volatile__("fldcw %0\n\tfld1\n\tfldz\n\tfdivrp\n\tfwait\n\tfstp %%st(0)" ::"m"(cw)
			     : "memory");
}

static int fault_xm(void)
{
	uint32_t mxcsr, after;
	__asm__ __volatile__("stmxcsr %0" : "=m"(mxcsr));
	mxcsr &= ~(uint32_t)0x200; /* unmask ZM */
	double one = 1.0, zero = 0.0;
	__asm__ __volatile__("ldmxcsr %2\n\tdivsd %3, %0\n\tstmxcsr %1"
			     : "+x"(one), "=m"(after)
			     : "m"(mxcsr), "x"(zero));
	if (after & 0x4) { /* ZE set, no trap: the CPU does not raise #XM */
		printf("ok 1 xm # SKIP divide by zero flagged in MXCSR (%#x) but no #XM (an "
		       "emulator without unmasked SIMD exceptions)\n",
		       after);
		return 77;
	}
	printf("not ok 1 xm: neither #XM nor the ZE flag (MXCSR %#x)\n", after);
	return 1;
}

static void fault_db(void)
{
	__asm__ __volatile__("pushf\n\torl $0x100, (%%rsp)\n\tpopf\n\tnop\n\tnop" ::
				 : "memory", "cc");
}

static void fault_io(void)
{
	uint8_t v;
	__asm__ __volatile__("inb $0x80, %0" : "=a"(v));
}

static void fault_hlt(void)
{
	__asm__ __volatile__("hlt");
}

static void fault_cli(void)
{
	__asm__ __volatile__("cli");
}

static const struct {
	const char *name;
	void (*fn)(void);
} faults[] = {
	{ "de", fault_de }, { "ud", fault_ud }, { "gp", fault_gp },   { "pf", fault_pf },
	{ "bp", fault_bp }, { "of", fault_of }, { "ss", fault_ss },   { "mf", fault_mf },
	{ "db", fault_db }, { "io", fault_io }, { "hlt", fault_hlt }, { "cli", fault_cli },
};

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	const char *what = argc > 1 ? argv[1] : "none";
	printf("KTAP version 1\n1..1\n# fault: raising %s\n", what);
	if (!strcmp(what, "none")) {
		printf("ok 1 none\n");
		return 0;
	}
	if (!strcmp(what, "np"))
		return fault_np();
	if (!strcmp(what, "ac"))
		return fault_ac();
	if (!strcmp(what, "xm"))
		return fault_xm();
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		if (!strcmp(what, faults[i].name)) {
			faults[i].fn();
			printf("not ok 1 %s: the exception did not come\n", what);
			return 1;
		}
	printf("not ok 1 %s: no such fault (de ud gp pf bp of ss np ac mf xm db io hlt cli "
	       "none)\n",
	       what);
	return 2;
}
