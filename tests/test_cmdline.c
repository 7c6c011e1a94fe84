/*
 * tests/test_cmdline.c - the command-line parser (kernel/cmdline.c): words,
 * values, the last one wins, blanks of every kind, more words than the old
 * fixed table held, and the limit: a line of CMDLINE_MAX bytes is kept
 * whole, a longer one is cut before its first word that does not fit and
 * says so. The boot command line itself must not have been cut. The words
 * after "--" are init's arguments, not the kernel's options.
 */
#include "tests/ktest.h"
#include "kernel/cmdline.h"
#include "kernel/string.h"
#include "kernel/printk.h"
#include "mm/kmalloc.h"

#define EXPECT_VALUE(t, c, key, want)                                                           \
	do {                                                                                    \
		const char *__v = cmdline_lookup(c, key);                                       \
		if (!__v || strcmp(__v, want))                                                  \
			ktest_fail(t, __FILE__, __LINE__, "%s: got %s%s%s, want \"%s\"", key,   \
				   __v ? "\"" : "", __v ? __v : "NULL", __v ? "\"" : "", want); \
	} while (0)
#define EXPECT_ABSENT(t, c, key)                                                                  \
	do {                                                                                      \
		const char *__v = cmdline_lookup(c, key);                                         \
		if (__v)                                                                          \
			ktest_fail(t, __FILE__, __LINE__, "%s: got \"%s\", want NULL", key, __v); \
	} while (0)

static struct cmdline *parse(const char *s, size_t len)
{
	struct cmdline *c = kmalloc(sizeof(*c));
	if (c)
		cmdline_parse(c, s, len);
	return c;
}

static void keys_and_values(struct ktest *t)
{
	const char *s = "ktest.run=1 nofb ktest.filter=pmm.*,smp.ipi_* eq=a=b empty= =novalue";
	struct cmdline *c = parse(s, strlen(s));
	KASSERT_NOT_NULL(t, c);
	EXPECT_VALUE(t, c, "ktest.run", "1");
	EXPECT_VALUE(t, c, "nofb", "");
	EXPECT_VALUE(t, c, "ktest.filter", "pmm.*,smp.ipi_*");
	EXPECT_VALUE(t, c, "eq", "a=b"); /* only the first '=' splits */
	EXPECT_VALUE(t, c, "empty", "");
	EXPECT_ABSENT(t, c, "ktest");	   /* a prefix of a key is not the key */
	EXPECT_ABSENT(t, c, "ktest.ru");   /* nor is a prefix of a word */
	EXPECT_ABSENT(t, c, "ktest.runx"); /* nor a longer one */
	EXPECT_ABSENT(t, c, "missing");
	KEXPECT_FALSE(t, c->truncated);
	KEXPECT_EQ(t, c->len, strlen(s));
	KEXPECT_EQ(t, strcmp(c->raw, s), 0);
	kfree(c);
}

static void last_one_wins(struct ktest *t)
{
	const char *s = "k=1 x=7 k=2 k=3";
	struct cmdline *c = parse(s, strlen(s));
	KASSERT_NOT_NULL(t, c);
	EXPECT_VALUE(t, c, "k", "3");
	cmdline_parse(c, "k=1 k", 5);
	EXPECT_VALUE(t, c, "k", "");
	cmdline_parse(c, "k k=0", 5);
	EXPECT_VALUE(t, c, "k", "0");
	kfree(c);
}

/* Tabs, line breaks, NULs and other control bytes separate words and show
 * as spaces in the raw line; a NUL does not end the line (len does). */
static void blanks(struct ktest *t)
{
	const char s[] = "\t a=1\r\nb=2\0c=3\x01"
			 "d  \x7f e=5 \n";
	struct cmdline *c = parse(s, sizeof(s) - 1);
	KASSERT_NOT_NULL(t, c);
	EXPECT_VALUE(t, c, "a", "1");
	EXPECT_VALUE(t, c, "b", "2");
	EXPECT_VALUE(t, c, "c", "3");
	EXPECT_VALUE(t, c, "d", "");
	EXPECT_VALUE(t, c, "e", "5");
	KEXPECT_EQ(t, c->len, sizeof(s) - 1);
	KEXPECT_EQ(t, strlen(c->raw), sizeof(s) - 1);
	KEXPECT_EQ(t, strcmp(c->raw, "  a=1  b=2 c=3 d    e=5  "), 0);

	cmdline_parse(c, "", 0);
	EXPECT_ABSENT(t, c, "a");
	KEXPECT_EQ(t, c->len, 0);
	KEXPECT_EQ(t, c->raw[0], 0);
	cmdline_parse(c, "   ", 3);
	EXPECT_ABSENT(t, c, "");
	kfree(c);
}

/* Far more words than the 32 the old parser kept (it dropped the rest). */
static void many_words(struct ktest *t)
{
	char *s = kmalloc(CMDLINE_MAX + 1);
	KASSERT_NOT_NULL(t, s);
	size_t len = 0;
	int n = 0;
	while (len + 16 < CMDLINE_MAX)
		len += (size_t)snprintf(s + len, CMDLINE_MAX + 1 - len, "w%d=%d ", n, n * 3), n++;
	struct cmdline *c = parse(s, len);
	if (!c)
		kfree(s);
	KASSERT_NOT_NULL(t, c);
	KEXPECT_GT(t, n, 400);
	KEXPECT_FALSE(t, c->truncated);
	for (int i = 0; i < n; i++) {
		char key[16], want[16];
		snprintf(key, sizeof(key), "w%d", i);
		snprintf(want, sizeof(want), "%d", i * 3);
		EXPECT_VALUE(t, c, key, want);
	}
	kfree(c);
	kfree(s);
}

/* A line of exactly CMDLINE_MAX bytes is kept whole; one byte more cuts
 * before the first word that does not fit whole, and says so. */
static void limit(struct ktest *t)
{
	char *s = kmalloc(CMDLINE_MAX + 64);
	struct cmdline *c = kmalloc(sizeof(*c));
	if (!s || !c) {
		kfree(s);
		kfree(c);
	}
	KASSERT_NOT_NULL(t, s);
	KASSERT_NOT_NULL(t, c);
	/* "pad=xxx...x last=1": exactly CMDLINE_MAX bytes */
	const char *tail = " last=1";
	size_t tl = strlen(tail);
	memcpy(s, "pad=", 4);
	memset(s + 4, 'x', CMDLINE_MAX - 4 - tl);
	memcpy(s + CMDLINE_MAX - tl, tail, tl);
	cmdline_parse(c, s, CMDLINE_MAX);
	KEXPECT_FALSE(t, c->truncated);
	KEXPECT_EQ(t, c->len, CMDLINE_MAX);
	KEXPECT_EQ(t, c->given, CMDLINE_MAX);
	EXPECT_VALUE(t, c, "last", "1");
	KEXPECT_EQ(t, strlen(c->raw), CMDLINE_MAX);

	/* One more byte: "last=12" crosses the limit and goes whole, it is not
	 * kept as "last=1". */
	s[CMDLINE_MAX] = '2';
	cmdline_parse(c, s, CMDLINE_MAX + 1);
	KEXPECT_TRUE(t, c->truncated);
	KEXPECT_EQ(t, c->given, CMDLINE_MAX + 1);
	KEXPECT_EQ(t, c->len, CMDLINE_MAX - tl + 1); /* up to and with the blank */
	EXPECT_ABSENT(t, c, "last");
	KEXPECT_EQ(t, strlen(c->words), CMDLINE_MAX - tl); /* "pad=x..x" kept whole */

	/* The cut falls on a blank: every word before it is whole and kept. */
	memcpy(s + CMDLINE_MAX, " more=2", 7);
	cmdline_parse(c, s, CMDLINE_MAX + 7);
	KEXPECT_TRUE(t, c->truncated);
	KEXPECT_EQ(t, c->len, CMDLINE_MAX);
	EXPECT_VALUE(t, c, "last", "1");
	EXPECT_ABSENT(t, c, "more");

	/* One word longer than the limit: nothing of it is kept. */
	memset(s, 'y', CMDLINE_MAX + 10);
	cmdline_parse(c, s, CMDLINE_MAX + 10);
	KEXPECT_TRUE(t, c->truncated);
	KEXPECT_EQ(t, c->len, 0);
	KEXPECT_EQ(t, c->raw[0], 0);
	kfree(c);
	kfree(s);
}

/* The line this kernel booted with lost nothing (the loader refuses a
 * longer cmdline.txt, so this fails only if the two disagree). */
static void boot_line_whole(struct ktest *t)
{
	KEXPECT_FALSE(t, cmdline_truncated());
	KEXPECT_LE(t, strlen(cmdline_raw()), CMDLINE_MAX);
}

/* "--" ends the kernel's options: what follows is init's argv[1..] and is
 * never looked up (init=/bin/x -- qemu_exit=1 must not set qemu_exit). */
static void init_args_after_dashes(struct ktest *t)
{
	const char *s = "init=/bin/args a=1 -- qemu_exit=1 b  --  c";
	struct cmdline *c = parse(s, strlen(s));
	KASSERT_NOT_NULL(t, c);
	EXPECT_VALUE(t, c, "init", "/bin/args");
	EXPECT_VALUE(t, c, "a", "1");
	EXPECT_ABSENT(t, c, "qemu_exit");
	EXPECT_ABSENT(t, c, "b");
	const char *args[8];
	int n = cmdline_args_after_dashes(c, args, 8);
	KEXPECT_EQ(t, n, 4);
	if (n == 4) {
		KEXPECT_EQ(t, strcmp(args[0], "qemu_exit=1"), 0);
		KEXPECT_EQ(t, strcmp(args[1], "b"), 0);
		KEXPECT_EQ(t, strcmp(args[2], "--"), 0); /* a second one is an argument */
		KEXPECT_EQ(t, strcmp(args[3], "c"), 0);
	}
	KEXPECT_EQ(t, cmdline_args_after_dashes(c, args, 2), 2); /* at most max */
	cmdline_parse(c, "init=/bin/x --", 14);
	KEXPECT_EQ(t, cmdline_args_after_dashes(c, args, 8), 0);
	cmdline_parse(c, "init=/bin/x --y", 15);
	KEXPECT_EQ(t, cmdline_args_after_dashes(c, args, 8), 0); /* "--y" is a word */
	EXPECT_VALUE(t, c, "--y", "");
	kfree(c);
}

KTEST_SUITE(cmdline, KTEST_CASE(keys_and_values), KTEST_CASE(last_one_wins), KTEST_CASE(blanks),
	    KTEST_CASE(many_words), KTEST_CASE(limit), KTEST_CASE(boot_line_whole),
	    KTEST_CASE(init_args_after_dashes));
