/*
 * tests/user/sysret.c - a system call from the last bytes below the user
 * address limit (the SYSRET to non-canonical RIP class of bug, CVE-2012-0217
 * on Intel CPUs). Maps the last page user space may have (the one ending at
 * TASK_SIZE_MAX, 0x7ffffffff000: the page above it, right below 1 << 47,
 * cannot be mapped, which is checked too), puts `syscall` (getpid) in its
 * last two bytes and jumps there. The return address is 0x7ffffffff000,
 * the first byte past user space: the kernel must return there safely
 * (Linux goes by IRET, or SYSRET only to a canonical RIP) and the
 * instruction fetch must fault in user mode, killing the process with
 * SIGSEGV, never the kernel. Exit status 1 (with a `not ok` line) if the
 * program gets back control.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PG	       4096ul
#define TASK_SIZE_MAX  0x7ffffffff000ul
#define LAST_USER_PAGE (TASK_SIZE_MAX - PG)

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	printf("KTAP version 1\n1..3\n");
	long above = syscall(SYS_mmap, TASK_SIZE_MAX, PG, PROT_READ | PROT_WRITE | PROT_EXEC,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	printf("%sok 1 the page at TASK_SIZE_MAX cannot be mapped (ENOMEM)\n",
	       above == -1 && errno == ENOMEM ? "" : "not ");
	uint8_t *p = mmap((void *)LAST_USER_PAGE, PG, PROT_READ | PROT_WRITE | PROT_EXEC,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (p != (uint8_t *)LAST_USER_PAGE) {
		printf("not ok 2 map the last user page: %s\n", strerror(errno));
		return 1;
	}
	printf("ok 2 map the last user page %#lx\n", LAST_USER_PAGE);
	memset(p, 0xcc, PG); /* int3 everywhere else */
	p[PG - 2] = 0x0f;    /* syscall */
	p[PG - 1] = 0x05;
	printf("# jumping to syscall at %#lx: the return to %#lx must fault (SIGSEGV)\n",
	       LAST_USER_PAGE + PG - 2, TASK_SIZE_MAX);
	__asm__ __volatile__("jmp *%1" ::"a"((long)SYS_getpid), "r"(p + PG - 2) : "memory");
	printf("not ok 3 came back\n");
	return 1;
}
