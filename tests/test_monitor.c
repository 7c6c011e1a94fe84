/*
 * tests/test_monitor.c - the serial monitor (kernel/monitor.c) and the error
 * names behind its messages (kernel/errname.c): the errno table is Linux's,
 * errors print as text, not numbers; the line editor refuses an over-long
 * line instead of running a cut one; `run` states its verdict; cat and ls
 * report missing files, directories and non-directories; the counters
 * table is aligned. Output is captured with monitor_exec_to().
 */
#include "tests/ktest.h"
#include "kernel/monitor.h"
#include "kernel/errname.h"
#include "kernel/string.h"
#include "kernel/printk.h"
#include "kernel/percpu.h"
#include "kernel/stats.h"
#include "kernel/fs/fs.h"
#include "mm/kmalloc.h"

/* s with line breaks and other control characters escaped, for a one-line
 * diagnostic (a KTAP diagnostic must not break the line). */
static const char *esc(char *dst, size_t n, const char *s)
{
	size_t j = 0;
	for (; *s && j + 8 < n; s++) {
		if (*s == '\n')
			dst[j++] = '\\', dst[j++] = 'n';
		else if ((unsigned char)*s < 32 || *s == 127)
			j += (size_t)snprintf(dst + j, n - j, "\\x%02x", (unsigned char)*s);
		else
			dst[j++] = *s;
	}
	if (*s)
		dst[j++] = '.', dst[j++] = '.';
	dst[j] = 0;
	return dst;
}

#define EXPECT_STR(t, got, want)                                                                \
	do {                                                                                    \
		const char *__g = (got), *__w = (want);                                         \
		char __eg[100], __ew[100];                                                      \
		if (strcmp(__g, __w))                                                           \
			ktest_fail(t, __FILE__, __LINE__, "%s: got \"%s\", want \"%s\"", #got,  \
				   esc(__eg, sizeof(__eg), __g), esc(__ew, sizeof(__ew), __w)); \
	} while (0)

static void errno_names(struct ktest *t)
{
	KEXPECT_GE(t, nr_errnos, 40);
	for (size_t i = 0; i < nr_errnos; i++) {
		const struct errno_entry *e = &errno_table[i];
		if (e->num <= 0 || e->num >= 4096 || e->name[0] != 'E' || !e->name[1] ||
		    !e->text[0] || e->text[0] < 'A' || e->text[0] > 'Z' ||
		    e->text[strlen(e->text) - 1] == '.')
			ktest_fail(t, __FILE__, __LINE__, "bad row %d %s \"%s\"", e->num, e->name,
				   e->text);
		for (size_t j = 0; j < i; j++)
			if (errno_table[j].num == e->num || !strcmp(errno_table[j].name, e->name))
				ktest_fail(t, __FILE__, __LINE__, "%s (%d) and %s (%d) collide",
					   errno_table[j].name, errno_table[j].num, e->name,
					   e->num);
	}
	/* Linux's numbers and glibc's texts, as `ls` and `cat` print them */
	KEXPECT_EQ(t, ENOENT, 2);
	KEXPECT_EQ(t, EIO, 5);
	KEXPECT_EQ(t, ENOMEM, 12);
	KEXPECT_EQ(t, ENOTDIR, 20);
	KEXPECT_EQ(t, EISDIR, 21);
	KEXPECT_EQ(t, EINVAL, 22);
	KEXPECT_EQ(t, ENOSPC, 28);
	KEXPECT_EQ(t, ENAMETOOLONG, 36);
	KEXPECT_EQ(t, ENOTEMPTY, 39);
	KEXPECT_EQ(t, ETIMEDOUT, 110);
	EXPECT_STR(t, errno_text(ENOENT), "No such file or directory");
	EXPECT_STR(t, errno_text(-ENOTDIR), "Not a directory");
	EXPECT_STR(t, errno_text(EISDIR), "Is a directory");
	EXPECT_STR(t, errno_text(-ENOMEM), "Cannot allocate memory");
	EXPECT_STR(t, errno_text(EIO), "Input/output error");
	EXPECT_STR(t, errno_name(-ENOTEMPTY), "ENOTEMPTY");
	EXPECT_STR(t, errno_name(ENAMETOOLONG), "ENAMETOOLONG");
	KEXPECT_EQ(t, errno_name(999), NULL);
	KEXPECT_EQ(t, errno_text(-999), NULL);
	KEXPECT_EQ(t, errno_name(0), NULL);

	char buf[ERRSTR_MAX];
	EXPECT_STR(t, strerror_r(-ENOTDIR, buf, sizeof(buf)), "Not a directory (ENOTDIR)");
	EXPECT_STR(t, strerror_r(ENOENT, buf, sizeof(buf)), "No such file or directory (ENOENT)");
	EXPECT_STR(t, strerror_r(-999, buf, sizeof(buf)), "Unknown error 999");
	EXPECT_STR(t, strerror_r(0, buf, sizeof(buf)), "Success");
	EXPECT_STR(t, strerror_r(-2147483647 - 1, buf, sizeof(buf)), "Unknown error 2147483648");
	for (size_t i = 0; i < nr_errnos; i++)
		KEXPECT_LT(t, strlen(strerror_r(errno_table[i].num, buf, sizeof(buf))),
			   sizeof(buf) - 1);
	char tiny[8];
	strerror_r(-EISDIR, tiny, sizeof(tiny));
	EXPECT_STR(t, tiny, "Is a di");
}

/* Feed a string to the line editor; the last key it returned. */
static enum monitor_key feed(struct monitor_line *l, const char *s, size_t n, struct mon_out *o)
{
	enum monitor_key k = MON_NONE;
	for (size_t i = 0; i < n; i++)
		k = monitor_line_feed(l, (unsigned char)s[i], o);
	return k;
}
#define FEED(l, s, o) feed(l, s, sizeof(s) - 1, o)

static void line_editor(struct ktest *t)
{
	struct monitor_line *l = kzalloc(sizeof(*l));
	char *echo = kmalloc(2048), *s = kmalloc(MONITOR_LINE_MAX + 2);
	struct mon_out o = { echo, 2048, 0 };
	if (!l || !echo || !s) {
		kfree(l), kfree(echo), kfree(s);
		KTEST_SKIP(t, "out of memory");
	}
	KEXPECT_EQ(t, FEED(l, "help", &o), MON_NONE);
	KEXPECT_EQ(t, FEED(l, "\r", &o), MON_LINE);
	EXPECT_STR(t, l->buf, "help");
	EXPECT_STR(t, echo, "help\n");
	/* "\r\n" ends one line, not two; "\n" alone ends one too */
	KEXPECT_EQ(t, FEED(l, "\n", &o), MON_NONE);
	KEXPECT_EQ(t, FEED(l, "ls\n", &o), MON_LINE);
	EXPECT_STR(t, l->buf, "ls");
	KEXPECT_EQ(t, FEED(l, "\n", &o), MON_LINE);
	EXPECT_STR(t, l->buf, "");
	/* backspace and DEL erase; arrow keys (ESC [ A, ESC O B) are ignored */
	o.len = 0;
	KEXPECT_EQ(t,
		   FEED(l,
			"cx\x7f"
			"a\x1b[At\x1bOB\x08\x08"
			"at /x\r",
			&o),
		   MON_LINE);
	EXPECT_STR(t, l->buf, "cat /x");
	/* Ctrl-C drops the line */
	KEXPECT_EQ(t, FEED(l, "reboot\x03", &o), MON_CANCEL);
	KEXPECT_EQ(t, FEED(l, "cpus\r", &o), MON_LINE);
	EXPECT_STR(t, l->buf, "cpus");

	/* exactly MONITOR_LINE_MAX characters: a line */
	memset(s, 'a', MONITOR_LINE_MAX + 1);
	KEXPECT_EQ(t, feed(l, s, MONITOR_LINE_MAX, &o), MON_NONE);
	KEXPECT_EQ(t, FEED(l, "\r", &o), MON_LINE);
	KEXPECT_EQ(t, strlen(l->buf), MONITOR_LINE_MAX);
	/* one more: refused whole, not run cut */
	feed(l, s, MONITOR_LINE_MAX + 1, &o);
	KEXPECT_EQ(t, FEED(l, "\r", &o), MON_TOO_LONG);
	KEXPECT_EQ(t, FEED(l, "mem\r", &o), MON_LINE); /* and the next line is fresh */
	EXPECT_STR(t, l->buf, "mem");
	/* erasing back under the limit makes it a line again */
	feed(l, s, MONITOR_LINE_MAX + 2, &o);
	KEXPECT_EQ(t, FEED(l, "\x7f\x7f\r", &o), MON_LINE);
	KEXPECT_EQ(t, strlen(l->buf), MONITOR_LINE_MAX);
	kfree(s);
	kfree(echo);
	kfree(l);
}

static void run_verdict(struct ktest *t)
{
	char buf[128];
	struct mon_out o = { buf, sizeof(buf), 0 };
	monitor_run_verdict(-1, "nosuchsuite.*", &o);
	EXPECT_STR(t, buf, "run: no test matches 'nosuchsuite.*'\n");
	o.len = 0;
	monitor_run_verdict(-1, "pmm.*,nosuch.*", &o);
	EXPECT_STR(t, buf, "run: not every glob of 'pmm.*,nosuch.*' matches a test; nothing ran\n");
	o.len = 0;
	monitor_run_verdict(0, "pmm.*", &o);
	EXPECT_STR(t, buf, "run: all passed\n");
	o.len = 0;
	monitor_run_verdict(3, "pmm.*", &o);
	EXPECT_STR(t, buf, "run: 3 failed\n");
}

/* Run a monitor command line; its output in *out (kfree it). */
static bool exec(const char *line, char **out, size_t size)
{
	char cmd[128];
	strlcpy(cmd, line, sizeof(cmd));
	*out = kzalloc(size);
	struct mon_out o = { *out, size, 0 };
	if (!*out)
		return false;
	return monitor_exec_to(cmd, &o);
}

#define EXPECT_OUTPUT(t, line, want)                                                          \
	do {                                                                                  \
		char *__out;                                                                  \
		exec(line, &__out, 1024);                                                     \
		if (!__out) {                                                                 \
			ktest_fail(t, __FILE__, __LINE__, "out of memory");                   \
		} else if (strcmp(__out, want)) {                                             \
			char __eo[100], __ew[100];                                            \
			ktest_fail(t, __FILE__, __LINE__, "'%s' printed \"%s\", want \"%s\"", \
				   line, esc(__eo, sizeof(__eo), __out),                      \
				   esc(__ew, sizeof(__ew), want));                            \
		}                                                                             \
		kfree(__out);                                                                 \
	} while (0)

static void files_and_errors(struct ktest *t)
{
	char *out;
	KEXPECT_FALSE(t, exec("frobnicate now", &out, 1024));
	KASSERT_NOT_NULL(t, out);
	KEXPECT_EQ(t, strncmp(out, "monitor: unknown command 'frobnicate'", 37), 0);
	kfree(out);
	EXPECT_OUTPUT(t, "cat", "usage: cat /path/to/file   (shows the first 16384 bytes)\n");
	if (!fs_mounted())
		KTEST_SKIP(t, "no file system on the RAM disk");
	EXPECT_OUTPUT(t, "cat /hello.txt", "hello from the RAM disk\n");
	EXPECT_OUTPUT(t, "  cat   /hello.txt  ", "hello from the RAM disk\n");
	EXPECT_OUTPUT(t, "cat /nosuch", "cat: /nosuch: No such file or directory (ENOENT)\n");
	EXPECT_OUTPUT(t, "cat /docs", "cat: /docs: Is a directory (EISDIR)\n");
	EXPECT_OUTPUT(t, "cat /hello.txt/x", "cat: /hello.txt/x: Not a directory (ENOTDIR)\n");
	EXPECT_OUTPUT(t, "ls /hello.txt", "ls: /hello.txt: Not a directory (ENOTDIR)\n");
	EXPECT_OUTPUT(t, "ls /nosuch", "ls: /nosuch: No such file or directory (ENOENT)\n");
	EXPECT_OUTPUT(t, "ls /docs", "");
	/* a file longer than cat shows says how much it left out */
	KEXPECT_TRUE(t, exec("cat /pattern.bin", &out, 20000));
	KASSERT_NOT_NULL(t, out);
	const char *note = "cat: /pattern.bin: showed the first 16384 of 65536 bytes\n";
	size_t len = strlen(out);
	KEXPECT_GT(t, len, strlen(note));
	if (len > strlen(note))
		EXPECT_STR(t, out + len - strlen(note), note);
	kfree(out);
}

/* Where each blank-separated column of a line ends. */
static int column_ends(const char *line, size_t len, int *ends, int max)
{
	int n = 0;
	for (size_t i = 0; i < len; i++)
		if (line[i] != ' ' && (i + 1 == len || line[i + 1] == ' ') && n < max)
			ends[n++] = (int)i;
	return n;
}

static void counters_aligned(struct ktest *t)
{
	size_t size = 32768;
	char *out;
	KEXPECT_TRUE(t, exec("counters", &out, size));
	KASSERT_NOT_NULL(t, out);
	KASSERT_TRUE(t, strlen(out) < size - 1);
	int ncpus = 0;
	for_each_online_cpu (i)
		ncpus++;
	int want_cols = 2 + ncpus, lines = 0, head_ends[2 + NR_CPUS], ends[2 + NR_CPUS];
	size_t width = 0;
	for (char *line = out, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl) {
			ktest_fail(t, __FILE__, __LINE__, "unterminated line \"%s\"", line);
			break;
		}
		size_t len = (size_t)(nl - line);
		if (lines == 0) {
			width = len;
			KEXPECT_EQ(t, column_ends(line, len, head_ends, 2 + NR_CPUS), want_cols);
			KEXPECT_EQ(t, strncmp(line, "  event ", 8), 0);
			/* the header names the total and every online CPU */
			int c = 0;
			char name[16];
			snprintf(name, sizeof(name), "total");
			KEXPECT_EQ(t, memcmp(line + head_ends[1] - 4, name, 5), 0);
			for_each_online_cpu (i) {
				int n = snprintf(name, sizeof(name), "cpu%d", i);
				KEXPECT_EQ(t, memcmp(line + head_ends[2 + c] - n + 1, name, n), 0);
				c++;
			}
		} else {
			/* every row as wide as the header, its numbers ending under the
			 * header's column names, its name starting in column 2 */
			KEXPECT_EQ(t, len, width);
			KEXPECT_EQ(t, column_ends(line, len, ends, 2 + NR_CPUS), want_cols);
			for (int c = 1; c < want_cols; c++)
				KEXPECT_EQ(t, ends[c], head_ends[c]);
			KEXPECT_TRUE(t, line[0] == ' ' && line[1] == ' ' && line[2] != ' ');
			if (lines <= NR_EVENTS)
				KEXPECT_EQ(t,
					   strncmp(line + 2, event_names[lines - 1],
						   strlen(event_names[lines - 1])),
					   0);
		}
		if (t->failures) {
			ktest_log(t, "line %d: \"%.*s\"", lines, (int)len, line);
			break;
		}
		lines++;
	}
	KEXPECT_EQ(t, lines, 1 + NR_EVENTS);
	kfree(out);
}

KTEST_SUITE(monitor, KTEST_CASE(errno_names), KTEST_CASE(line_editor), KTEST_CASE(run_verdict),
	    KTEST_CASE(files_and_errors), KTEST_CASE(counters_aligned));
