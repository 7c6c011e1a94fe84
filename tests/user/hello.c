/*
 * tests/user/hello.c - the first user program: prints a KTAP report of one
 * case to stdout and exits 0. Built static with musl (/bin/hello), static
 * with glibc (/bin/hello-glibc), static-PIE with glibc (/bin/hello-glibc-pie)
 * and dynamically linked with musl (/bin/hello-dynamic: has a PT_INTERP,
 * which execve refuses with ENOENT since the initrd has no interpreter).
 */
#include <stdio.h>

int main(int argc, char **argv)
{
	printf("KTAP version 1\n1..1\n");
	printf("ok 1 %s\n", argc > 0 && argv[0] ? argv[0] : "hello");
	return 0;
}
