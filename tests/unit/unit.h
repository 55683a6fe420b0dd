/* unit.h: what the unit tests share: a fresh memgc core per test, stderr capture. */
#ifndef MG_UNIT_H
#define MG_UNIT_H

#include <stddef.h>
#include <stdint.h>

#include "header.h"
#include "internal.h"
#include "je.h"
#include "stats.h"

/* The start-up of preload/init.c without the preload: defaults, then heap,
 * sites and stats.  Criterion runs each test in its own process, so each
 * test that uses it (as .init) gets a fresh core.  Fails the test when the
 * heap cannot be set up. */
void mg_test_init(void);
/* The same after the caller changed mg_opt (max_sites, stack_depth, ...):
 * only heap, sites and stats init. */
void mg_test_init_keep_options(void);

/* Captures everything written to fd 2 between begin and end (mg_log writes
 * there with write(2)), into a memfd, so no pipe can fill up.  end returns
 * a NUL-terminated copy in buf (truncated to n - 1 bytes) and its length. */
void mg_test_stderr_begin(void);
size_t mg_test_stderr_end(char *buf, size_t n);

/* Number of '\n' in s. */
size_t mg_test_lines(const char *s);

/* The live stats now (mg_stats_read). */
struct memgc_heap_stats mg_test_stats(void);

/* jemalloc's usable size for a request of n user bytes with memgc's header
 * (the independent oracle for mg_heap_usable). */
size_t mg_test_usable(size_t n);

/* A small seeded generator (xorshift64*), so runs are reproducible. */
static inline uint64_t mg_test_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

#endif /* MG_UNIT_H */
