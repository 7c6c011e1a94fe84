/* kernel/string.h - the freestanding C library subset the kernel uses. */
#ifndef KERNEL_STRING_H
#define KERNEL_STRING_H

#include "kernel/compiler.h"

void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);
size_t strlcpy(char *d, const char *s, size_t size);
/* Parses an unsigned number (base 0: 0x prefix = hex); *end past the digits. */
unsigned long strtoul(const char *s, const char **end, int base);
/* Glob match: '*' any run, '?' one char. */
bool glob_match(const char *pat, const char *s);

#endif
