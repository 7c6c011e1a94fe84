/*
 * tests/user/args.c - checks what execve put on the initial stack against
 * expectations passed in its own arguments, and prints one KTAP case per
 * check. Each argument after argv[0] is one expectation:
 *
 *   argc=N          argc is N
 *   arg=I=TEXT      argv[I] is TEXT
 *   envc=N          there are N environment strings
 *   env=NAME=VALUE  the environment holds NAME=VALUE (getenv)
 *   aux=NAME=VALUE  getauxval(AT_NAME) is VALUE (decimal or 0x hex)
 *   aux=NAME        getauxval(AT_NAME) is not 0
 *   execfn=TEXT     AT_EXECFN names the string TEXT
 *   random          AT_RANDOM points at 16 bytes that are not all zero
 *   align           the initial stack pointer was 16-byte aligned (checked
 *                   through &argv[-1] == argc's slot: argc sits at rsp)
 *
 * Exit status: 0 if every check passed, 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

extern char **environ;

struct auxname {
	const char *name;
	unsigned long type;
};

static const struct auxname auxnames[] = {
	{ "PHDR", AT_PHDR },	 { "PHENT", AT_PHENT },	      { "PHNUM", AT_PHNUM },
	{ "PAGESZ", AT_PAGESZ }, { "BASE", AT_BASE },	      { "FLAGS", AT_FLAGS },
	{ "ENTRY", AT_ENTRY },	 { "UID", AT_UID },	      { "EUID", AT_EUID },
	{ "GID", AT_GID },	 { "EGID", AT_EGID },	      { "SECURE", AT_SECURE },
	{ "CLKTCK", AT_CLKTCK }, { "HWCAP", AT_HWCAP },	      { "RANDOM", AT_RANDOM },
	{ "EXECFN", AT_EXECFN }, { "PLATFORM", AT_PLATFORM },
};

static int n, failed;

static void result(int ok, const char *what)
{
	n++;
	if (!ok)
		failed = 1;
	printf("%s %d %s\n", ok ? "ok" : "not ok", n, what);
}

static long aux_type(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(auxnames) / sizeof(auxnames[0]); i++)
		if (strlen(auxnames[i].name) == len && !strncmp(auxnames[i].name, name, len))
			return (long)auxnames[i].type;
	return -1;
}

int main(int argc, char **argv)
{
	printf("KTAP version 1\n1..%d\n", argc - 1);
	int envc = 0;
	for (char **e = environ; *e; e++)
		envc++;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strncmp(a, "argc=", 5)) {
			result(argc == atoi(a + 5), a);
		} else if (!strncmp(a, "arg=", 4)) {
			char *end;
			long idx = strtol(a + 4, &end, 10);
			result(*end == '=' && idx >= 0 && idx < argc && !strcmp(argv[idx], end + 1),
			       a);
		} else if (!strncmp(a, "envc=", 5)) {
			result(envc == atoi(a + 5), a);
		} else if (!strncmp(a, "env=", 4)) {
			const char *eq = strchr(a + 4, '=');
			char name[256];
			size_t len = eq ? (size_t)(eq - (a + 4)) : 0;
			int ok = eq && len < sizeof(name);
			if (ok) {
				memcpy(name, a + 4, len);
				name[len] = 0;
				const char *v = getenv(name);
				ok = v && !strcmp(v, eq + 1);
			}
			result(ok, a);
		} else if (!strncmp(a, "aux=", 4)) {
			const char *eq = strchr(a + 4, '=');
			long type = aux_type(a + 4, eq ? (size_t)(eq - (a + 4)) : strlen(a + 4));
			unsigned long v = type < 0 ? 0 : getauxval((unsigned long)type);
			result(type >= 0 && (eq ? v == strtoul(eq + 1, NULL, 0) : v != 0), a);
		} else if (!strncmp(a, "execfn=", 7)) {
			const char *fn = (const char *)getauxval(AT_EXECFN);
			result(fn && !strcmp(fn, a + 7), a);
		} else if (!strcmp(a, "random")) {
			const unsigned char *r = (const unsigned char *)getauxval(AT_RANDOM);
			int nz = 0;
			for (int k = 0; r && k < 16; k++)
				nz |= r[k];
			result(r && nz, a);
		} else if (!strcmp(a, "align")) {
			/* argv sits right above argc, which the kernel put at rsp. */
			result((((unsigned long)argv - 8) & 15) == 0, a);
		} else {
			result(0, a);
		}
	}
	return failed;
}
