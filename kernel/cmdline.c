/* kernel/cmdline.c - parse the command line once into key/value pairs. */
#include "kernel/cmdline.h"
#include "kernel/string.h"
#include "kernel/printk.h"

#define CMDLINE_MAX 1024
#define MAX_ARGS    32

static char raw[CMDLINE_MAX];
static char buf[CMDLINE_MAX];
static const char *keys[MAX_ARGS], *values[MAX_ARGS];
static int nargs;

void cmdline_init(const char *s, size_t len)
{
	if (len >= CMDLINE_MAX) {
		printk("cmdline: %lu bytes, truncated to %d\n", len, CMDLINE_MAX - 1);
		len = CMDLINE_MAX - 1;
	}
	memcpy(raw, s, len);
	raw[len] = 0;
	memcpy(buf, raw, len + 1);
	char *p = buf;
	while (*p && nargs < MAX_ARGS) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			*p++ = 0;
		if (!*p)
			break;
		keys[nargs] = p;
		values[nargs] = "";
		bool seen_eq = false;
		for (; *p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r'; p++) {
			if (*p == '=' && !seen_eq) {
				*p = 0;
				values[nargs] = p + 1;
				seen_eq = true;
			}
		}
		nargs++;
	}
}

const char *cmdline_get(const char *key)
{
	for (int i = nargs - 1; i >= 0; i--) /* last one wins */
		if (!strcmp(keys[i], key))
			return values[i];
	return NULL;
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
	return raw;
}
