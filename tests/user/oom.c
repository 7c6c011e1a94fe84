/*
 * tests/user/oom.c - running out of memory from ring 3 never panics the
 * kernel: a child touches anonymous memory until none is left and is killed
 * (SIGKILL, as Linux's OOM killer ends it; this kernel has no reclaim, so
 * the faulting process goes), its memory comes back, and the parent can
 * then use memory again. KTAP; exit 0 if every check passed.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktap.h"

#define CHUNK (64ul << 20)

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	printf("KTAP version 1\n1..3\n");
	pid_t c = fork();
	if (c == 0) {
		for (unsigned long total = 0; total < (64ul << 30); total += CHUNK) {
			char *p = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED)
				_exit(2); /* address space, not memory, ran out */
			for (unsigned long i = 0; i < CHUNK; i += 4096)
				p[i] = 1;
		}
		_exit(3);
	}
	int st = -1;
	check(waitpid(c, &st, 0) == c, "the child that ate all memory ended");
	check(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
	      "out of memory: SIGKILL, as the OOM killer");
	printf("# child status %#x\n", st);
	char *p =
	    mmap(NULL, 16ul << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int ok = p != MAP_FAILED;
	for (unsigned long i = 0; ok && i < (16ul << 20); i += 4096)
		p[i] = 1;
	check(ok, "its memory came back: 16 MiB touched after it");
	return failed ? 1 : 0;
}
