/*
 * kernel/cmdline.c - the kernel command line: kept whole up to CMDLINE_MAX
 * bytes, looked up by scanning its words (no limit on their number).
 *
 * As Linux's parse_args, the word "--" ends the kernel's options: the words
 * after it are not looked up (an `init=/bin/x -- qemu_exit=1` does not set
 * qemu_exit) and become the arguments of init (cmdline_init_args).
 */
#include "kernel/cmdline.h"
#include "kernel/string.h"
#include "kernel/printk.h"

static struct cmdline boot;

static bool blank(char ch)
{
	return (unsigned char)ch <= ' ' || ch == 127;
}

void cmdline_parse(struct cmdline *c, const char *s, size_t len)
{
	size_t keep = len;
	c->given = len;
	c->truncated = len > CMDLINE_MAX;
	if (c->truncated) {
		/* Keep whole words only: a cut "ktest.filter=pmm.*" would be
		 * another filter, a cut "qemu_exit=1" another value. */
		keep = CMDLINE_MAX;
		if (!blank(s[keep]))
			while (keep && !blank(s[keep - 1]))
				keep--;
	}
	for (size_t i = 0; i < keep; i++) {
		c->raw[i] = blank(s[i]) ? ' ' : s[i];
		c->words[i] = blank(s[i]) ? 0 : s[i];
	}
	c->raw[keep] = c->words[keep] = 0;
	c->len = keep;
}

const char *cmdline_lookup(const struct cmdline *c, const char *key)
{
	const char *value = NULL, *end = c->words + c->len;
	size_t klen = strlen(key);
	for (const char *w = c->words; w < end; w++) {
		if (!*w)
			continue;
		size_t wlen = strlen(w);
#ifndef MUTATION_CMDLINE_PAST_DASHES
		if (!strcmp(w, "--"))
			break; /* the rest is init's */
#endif
		if (!strncmp(w, key, klen) && (w[klen] == 0 || w[klen] == '='))
			value = w[klen] ? w + klen + 1 : w + klen; /* the last one wins */
		w += wlen;
	}
	return value;
}

int cmdline_args_after_dashes(const struct cmdline *c, const char **out, int max)
{
	const char *end = c->words + c->len;
	bool after = false;
	int n = 0;
	for (const char *w = c->words; w < end; w++) {
		if (!*w)
			continue;
		if (after && n < max)
			out[n++] = w;
		else if (!after && !strcmp(w, "--"))
			after = true;
		w += strlen(w);
	}
	return n;
}

int cmdline_init_args(const char **out, int max)
{
	return cmdline_args_after_dashes(&boot, out, max);
}

void cmdline_init(const char *s, size_t len)
{
	cmdline_parse(&boot, s, len);
	if (boot.truncated)
		printk("cmdline: error: command line of %lu bytes truncated to %lu (the kernel "
		       "accepts %d; the words past that are ignored)\n",
		       boot.given, boot.len, CMDLINE_MAX);
}

const char *cmdline_get(const char *key)
{
	return cmdline_lookup(&boot, key);
}

bool cmdline_flag(const char *key)
{
	const char *v = cmdline_get(key);
	return v && strcmp(v, "0") != 0;
}

unsigned long cmdline_ulong(const char *key, unsigned long def)
{
	const char *v = cmdline_get(key), *end;
	if (!v || !*v)
		return def;
	unsigned long n = strtoul(v, &end, 0);
	return *end ? def : n;
}

const char *cmdline_raw(void)
{
	return boot.raw;
}

void cmdline_print(void)
{
	enum { CHUNK = 256 };
	printk("cmdline: %.*s", CHUNK, boot.raw);
	for (size_t i = CHUNK; i < boot.len; i += CHUNK)
		printk("%.*s", CHUNK, boot.raw + i);
	printk("\n");
}

bool cmdline_truncated(void)
{
	return boot.truncated;
}
