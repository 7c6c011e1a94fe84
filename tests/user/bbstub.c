/*
 * tests/user/bbstub.c - an applet link of busybox, as a program: the
 * initrd's file system (SFS, tools/mkfs_sfs.c) has no links, so each applet
 * name in /bin (ls, cat, ps, ...) is a copy of this, which runs
 * /bin/busybox with the same arguments. busybox picks the applet by the
 * base name of argv[0], which is the name the shell ran ("ls", "/bin/ls").
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	(void)argc;
	execv("/bin/busybox", argv);
	static const char msg[] = "bbstub: cannot run /bin/busybox\n";
	write(2, msg, strlen(msg));
	return 127;
}
