/*
 * testhelp.h - the C unit tests' harness: check(desc, cond) prints
 * "ok - desc" or "not ok - desc" in the runner's format, and
 * test_done() refuses to pass when no check ran.
 */
#ifndef DS_TESTHELP_H
#define DS_TESTHELP_H

#include <stdio.h>
#include <stdlib.h>

static int test_passed, test_failed;

#define check(desc, cond) do { \
	if (cond) { test_passed++; printf("ok - %s\n", (desc)); } \
	else { test_failed++; printf("not ok - %s (%s:%d: %s)\n", (desc), __FILE__, __LINE__, #cond); } \
	fflush(stdout); \
} while (0)

#define checkf(cond, ...) do { \
	char desc_[256]; snprintf(desc_, sizeof(desc_), __VA_ARGS__); check(desc_, cond); \
} while (0)

/* A file under tests/ ($DS_TESTS, set by the runner; "tests" otherwise).
 * The result lives until the next call. */
static inline const char *tests_path(const char *rel)
{
	static char path[4096];
	const char *dir = getenv("DS_TESTS");

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests", rel);
	return path;
}

static inline int test_done(void)
{
	if (test_passed + test_failed == 0) {
		printf("not ok - no checks ran\n");
		return 1;
	}
	return test_failed ? 1 : 0;
}

#endif
