/* kernel/string.c - freestanding string and memory functions. */
#include "kernel/string.h"

/* memcpy and memset move 8 bytes per iteration of a string instruction,
 * then the tail byte by byte. Modern CPUs run `rep movsb` as fast (ERMS),
 * but an emulator runs a string instruction one iteration at a time (QEMU's
 * TCG: a translated block per iteration), so the byte form is 8 times
 * slower there: page copies, page zeroing, the page cache and the RAM disk
 * all go through here. */
void *memcpy(void *d, const void *s, size_t n)
{
	void *ret = d;
	size_t q = n >> 3, b = n & 7;
	__asm__ __volatile__("rep movsq" : "+D"(d), "+S"(s), "+c"(q)::"memory");
	__asm__ __volatile__("rep movsb" : "+D"(d), "+S"(s), "+c"(b)::"memory");
	return ret;
}

void *memmove(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;
	if (dp <= sp || dp >= sp + n)
		return memcpy(d, s, n);
	while (n--)
		dp[n] = sp[n];
	return d;
}

void *memset(void *d, int c, size_t n)
{
	void *ret = d;
	size_t q = n >> 3, b = n & 7;
	uint64_t v = (uint8_t)c * 0x0101010101010101ull;
	__asm__ __volatile__("rep stosq" : "+D"(d), "+c"(q) : "a"(v) : "memory");
	__asm__ __volatile__("rep stosb" : "+D"(d), "+c"(b) : "a"(v) : "memory");
	return ret;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] - y[i];
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;
	while (n < max && s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			return 0;
	}
	return 0;
}

char *strrchr(const char *s, int c)
{
	const char *last = NULL;
	for (;; s++) {
		if (*s == (char)c)
			last = s;
		if (!*s)
			return (char *)last;
	}
}

char *strchr(const char *s, int c)
{
	for (; *s; s++)
		if (*s == (char)c)
			return (char *)s;
	return c == 0 ? (char *)s : NULL;
}

size_t strlcpy(char *d, const char *s, size_t size)
{
	size_t len = strlen(s);
	if (size) {
		size_t n = len < size - 1 ? len : size - 1;
		memcpy(d, s, n);
		d[n] = 0;
	}
	return len;
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

unsigned long strtoul(const char *s, const char **end, int base)
{
	unsigned long v = 0;
	if (base == 0) {
		base = 10;
		if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
			base = 16;
			s += 2;
		}
	} else if (base == 16 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
	}
	for (int d; (d = digit_value(*s)) < base; s++)
		v = v * base + d;
	if (end)
		*end = s;
	return v;
}

bool glob_match(const char *pat, const char *s)
{
	const char *star = NULL, *retry = NULL;
	while (*s) {
		if (*pat == '*') {
			star = ++pat;
			retry = s;
		} else if (*pat == '?' || *pat == *s) {
			pat++;
			s++;
		} else if (star) {
			pat = star;
			s = ++retry;
		} else {
			return false;
		}
	}
	while (*pat == '*')
		pat++;
	return *pat == 0;
}
