/*
 * tests/user/ktap.h - the KTAP lines of the project's user programs (the
 * same source runs on this kernel and on Linux): check() prints one
 * "ok N what" or "not ok N what" line and counts the failures; a program
 * prints "KTAP version 1" and its plan first and exits with `failed ? 1 : 0`.
 */
#ifndef TESTS_USER_KTAP_H
#define TESTS_USER_KTAP_H

#include <stdio.h>

static int n, failed;

static void check(int ok, const char *what)
{
	n++;
	if (!ok)
		failed++;
	printf("%sok %d %s\n", ok ? "" : "not ", n, what);
}

#endif
