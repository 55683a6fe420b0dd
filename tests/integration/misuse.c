/* misuse.c: programs with known faults, for double_free.sh, report.sh and
 * options.sh.  Linked with -export-dynamic, so that memgc names the
 * functions below in its messages and reports.
 *
 *   misuse double-free    frees an object of alloc_here() twice
 *   misuse invalid-free   frees pointers into an object, and foreign ones
 *   misuse leak           leaks 10 blocks of 1000 bytes from leak_here()
 *                         (called by leak_caller(), called by main())
 *
 * What is printed on stdout does not depend on memgc; under it, each mode
 * also checks memgc's counts and says "counts ok" or what is wrong.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memgc.h"

#pragma weak memgc_get_heap_stats

static void *volatile sink;

static inline void *hide(void *p)
{
	__asm__ volatile("" : "+r"(p) : : "memory");
	return p;
}

__attribute__((noinline)) void *alloc_here(size_t n)
{
	void *p = malloc(n);
	sink = p;      /* no tail call: the return address stays in this function */
	return p;
}

static uint64_t errors_now(void)
{
	struct memgc_heap_stats st;
	if (!memgc_get_heap_stats || memgc_get_heap_stats(&st))
		return 0;
	return st.errors;
}

static uint64_t foreign_now(void)
{
	struct memgc_heap_stats st;
	if (!memgc_get_heap_stats || memgc_get_heap_stats(&st))
		return 0;
	return st.foreign_frees;
}

__attribute__((noinline)) int double_free(void)
{
	uint64_t e0 = errors_now();
	char *p = alloc_here(40);
	memset(p, 1, 40);
	printf("freeing twice\n");
	fflush(stdout);
	free(hide(p));
	free(hide(p));
	/* on_error=warn: the second free must not have freed anything, or the
	 * next two allocations of that size would get the same block */
	char *a = malloc(40), *b = malloc(40);
	int distinct = a != b;
	free(a);
	free(b);
	uint64_t e = errors_now() - e0;
	printf("after the double free: %s\n", distinct ? "distinct blocks" : "THE SAME BLOCK TWICE");
	printf("counts %s\n", !memgc_get_heap_stats || e == 1 ? "ok" : "WRONG");
	return 0;
}

static char not_from_malloc[256] __attribute__((aligned(16)));

__attribute__((noinline)) int invalid_free(void)
{
	uint64_t e0 = errors_now(), f0 = foreign_now();
	char *p = alloc_here(100);
	printf("freeing inside an object\n");
	fflush(stdout);
	free(hide(p + 32));
	free(hide(p + 3));
	free(p);
	/* memory memgc did not hand out: free passes it over (and counts it);
	 * realloc says so and fails */
	free(hide(not_from_malloc + 16));
	errno = 0;
	void *r = realloc(hide(not_from_malloc + 32), 10);
	int e = errno;
	uint64_t errs = errors_now() - e0, foreign = foreign_now() - f0;
	printf("realloc of foreign memory: %s\n", !r && e == ENOMEM ? "NULL, ENOMEM" : "WRONG");
	printf("counts %s\n", !memgc_get_heap_stats || (errs == 3 && foreign == 1) ? "ok" : "WRONG");
	return 0;
}

void *leaked[10];

__attribute__((noinline)) void *leak_here(size_t n)
{
	void *p = malloc(n);
	memset(p, 0x33, n);
	sink = p;
	return p;
}

__attribute__((noinline)) void leak_caller(void)
{
	for (int i = 0; i < 10; i++)
		leaked[i] = leak_here(1000);
	sink = leaked;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (!strcmp(mode, "double-free"))
		return double_free();
	if (!strcmp(mode, "invalid-free"))
		return invalid_free();
	if (!strcmp(mode, "leak")) {
		leak_caller();
		printf("leaked 10 blocks of 1000 bytes\n");
		return 0;
	}
	fprintf(stderr, "usage: misuse double-free|invalid-free|leak\n");
	return 64;
}
