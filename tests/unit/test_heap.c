/* test_heap.c: objects (heap.c): alloc, realloc, xalloc, usable sizes, zeroing, alignment, bad frees. */
#include "config.h"
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

TestSuite(heap, .init = mg_test_init, .timeout = 60);

static void fill(void *p, size_t n, unsigned seed)
{
	unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		c[i] = (unsigned char)(seed + i * 131 + (i >> 8));
}

static void expect_filled(const void *p, size_t n, unsigned seed)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		if (c[i] != (unsigned char)(seed + i * 131 + (i >> 8)))
			cr_assert_fail("byte %zu of %zu changed", i, n);
}

static void *alloc(size_t n)
{
	void *p = mg_heap_alloc(n, 16, false, MG_SITE_UNKNOWN);
	cr_assert_not_null(p, "mg_heap_alloc(%zu)", n);
	return p;
}

Test(heap, alloc_free_keep_contents)
{
	static const size_t sz[] = { 0, 1, 15, 16, 17, 100, 4096, 14336, 16385, 100000,
				     1048576, 3 << 20 };
	void *p[sizeof sz / sizeof sz[0]];
	for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++) {
		p[i] = alloc(sz[i]);
		cr_assert_eq((uintptr_t)p[i] % 16, 0);
		cr_assert(mg_heap_owns(p[i]));
		fill(p[i], sz[i], (unsigned)i);
	}
	for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++) {
		expect_filled(p[i], sz[i], (unsigned)i);
		cr_assert_eq(mg_hdr_size(mg_hdr_of(p[i])), sz[i]);
		cr_assert_eq(mg_heap_free(p[i], NULL), 0);
	}
}

Test(heap, realloc_keeps_contents_growing_and_shrinking)
{
	size_t n = 10;
	char *p = alloc(n);
	fill(p, n, 7);
	static const size_t steps[] = { 100, 5000, 70000, 2 << 20, 5 << 20, 300000, 900, 33, 0, 1 };
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		size_t m = steps[i];
		char *q = mg_heap_realloc(p, m, 3, NULL);
		cr_assert_not_null(q, "realloc to %zu", m);
		expect_filled(q, m < n ? m : n, 7);
		cr_assert_eq(mg_hdr_size(mg_hdr_of(q)), m);
		cr_assert_eq(mg_hdr_site(mg_hdr_of(q)), 3);
		cr_assert(mg_hdr_live(q));
		cr_assert_eq(mg_heap_usable(q), mg_test_usable(m), "realloc to %zu", m);
		if (q != p)
			cr_assert_not(mg_heap_readable(p) && mg_hdr_live(p), "old block still live");
		fill(q, m, 7);
		p = q;
		n = m;
	}
	struct memgc_heap_stats st = mg_test_stats();
	cr_assert_eq(st.allocations, 1);
	cr_assert_eq(st.deallocations, 0);
	cr_assert_eq(st.live_bytes, 1);
	cr_assert_eq(st.live_usable_bytes, mg_test_usable(1));
	cr_assert_eq(mg_heap_free(p, NULL), 0);
	st = mg_test_stats();
	cr_assert_eq(st.live_bytes, 0);
	cr_assert_eq(st.live_usable_bytes, 0);
}

/* 100 bytes take jemalloc's 128-byte class (112 usable): any size up to
 * 112 stays in place, 113 moves. */
Test(heap, realloc_in_place_and_moving)
{
	char *p = alloc(100);
	fill(p, 100, 1);
	cr_assert_eq(mg_heap_usable(p), 112);
	cr_assert_eq(mg_heap_realloc(p, 112, 9, NULL), p);
	cr_assert_eq(mg_hdr_size(mg_hdr_of(p)), 112);
	cr_assert_eq(mg_hdr_site(mg_hdr_of(p)), 9);
	cr_assert_eq(mg_heap_realloc(p, 97, 9, NULL), p);
	cr_assert_eq(mg_hdr_size(mg_hdr_of(p)), 97);
	expect_filled(p, 97, 1);
	struct memgc_heap_stats st = mg_test_stats();
	cr_assert_eq(st.live_bytes, 97);
	cr_assert_eq(st.live_usable_bytes, 112);
	cr_assert_eq(st.allocated_bytes, 100 + 112 + 97);

	char *q = mg_heap_realloc(p, 113, 9, NULL);
	cr_assert_not_null(q);
	cr_assert_neq(q, p, "113 bytes cannot stay in the 128-byte class");
	expect_filled(q, 97, 1);
	cr_assert_not(mg_hdr_live(p));
	cr_assert_eq(mg_heap_usable(p), 0);
	cr_assert_eq(mg_heap_usable(q), 144);
	st = mg_test_stats();
	cr_assert_eq(st.allocations, 1);
	cr_assert_eq(st.live_objects, 1);
	cr_assert_eq(st.live_bytes, 113);
	cr_assert_eq(st.live_usable_bytes, 144);
	cr_assert_eq(mg_heap_free(q, NULL), 0);
}

Test(heap, realloc_failure_leaves_the_object)
{
	char *p = alloc(64);
	fill(p, 64, 5);
	errno = 1234;
	cr_assert_null(mg_heap_realloc(p, MG_HDR_SIZE_MAX, 0, NULL));
	cr_assert_null(mg_heap_realloc(p, (size_t)1 << 44, 0, NULL));   /* beyond the region */
	cr_assert_eq(errno, 1234);
	cr_assert(mg_hdr_live(p));
	expect_filled(p, 64, 5);
	cr_assert_eq(mg_hdr_size(mg_hdr_of(p)), 64);
	struct memgc_heap_stats st = mg_test_stats();
	cr_assert_eq(st.live_bytes, 64);
	cr_assert_eq(st.errors, 0);
	cr_assert_eq(mg_heap_free(p, NULL), 0);
}

Test(heap, alloc_failure_counts_nothing)
{
	errno = 4321;
	cr_assert_null(mg_heap_alloc(SIZE_MAX, 16, false, 0));
	cr_assert_null(mg_heap_alloc(MG_HDR_SIZE_MAX, 16, false, 0));
	cr_assert_null(mg_heap_alloc((size_t)1 << 44, 16, false, 0));
	cr_assert_eq(errno, 4321);
	struct memgc_heap_stats st = mg_test_stats();
	cr_assert_eq(st.allocations, 0);
	cr_assert_eq(st.live_bytes, 0);
}

/* xallocx: grows within the size class, never moves, and the object's
 * size and usable size stay those of its jemalloc block. */
Test(heap, xalloc_grows_in_place_within_the_class)
{
	char *p = alloc(100);
	fill(p, 100, 3);
	cr_assert_eq(mg_heap_xalloc(p, 110, 0, NULL), 112);
	cr_assert_eq(mg_hdr_size(mg_hdr_of(p)), 110);
	cr_assert_eq(mg_heap_xalloc(p, 100, 50, NULL), 112);
	cr_assert_eq(mg_hdr_size(mg_hdr_of(p)), 112);
	/* Beyond the class: refused, nothing changes. */
	cr_assert_eq(mg_heap_xalloc(p, 1000, 0, NULL), 112);
	cr_assert_eq(mg_hdr_size(mg_hdr_of(p)), 112);
	expect_filled(p, 100, 3);
	struct memgc_heap_stats st = mg_test_stats();
	cr_assert_eq(st.live_bytes, 112);
	cr_assert_eq(st.live_usable_bytes, 112);
	cr_assert_eq(mg_heap_free(p, NULL), 0);
	st = mg_test_stats();
	cr_assert_eq(st.live_bytes, 0);
	cr_assert_eq(st.live_usable_bytes, 0);
}

/* A shrink jemalloc cannot do in place (a smaller size class, or from
 * above large_release to below it) leaves the block as it is: the size in
 * the header must still name the block's class, since free hands it to
 * sdallocx and the usable size is computed from it. */
Test(heap, xalloc_refused_shrink_keeps_the_class)
{
	static const size_t from[] = { 100, 5000, 100000, 2 << 20 };
	for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
		char *p = alloc(from[i]);
		size_t u = mg_heap_usable(p);
		cr_assert_eq(u, mg_test_usable(from[i]));
		size_t r = mg_heap_xalloc(p, 10, 0, NULL);
		cr_assert_eq(r, u, "xallocx(%zu -> 10) returned %zu, block has %zu", from[i], r, u);
		cr_assert_eq(mg_heap_usable(p), u, "usable size after xallocx(%zu -> 10)", from[i]);
		cr_assert_eq(mg_je_sallocx(p - 16, 0) - 16, u);
		struct memgc_heap_stats st = mg_test_stats();
		cr_assert_eq(st.live_usable_bytes, u, "from %zu", from[i]);
		cr_assert_eq(mg_heap_free(p, NULL), 0);
		st = mg_test_stats();
		cr_assert_eq(st.live_usable_bytes, 0, "from %zu", from[i]);
		cr_assert_eq(st.live_bytes, 0, "from %zu", from[i]);
	}
}

/* A large object may grow or shrink in place; whatever xallocx returns is
 * the object's usable size from then on, and the header agrees. */
Test(heap, xalloc_large_is_consistent)
{
	char *p = alloc(4 << 20);
	fill(p, 4 << 20, 9);
	size_t r = mg_heap_xalloc(p, 2 << 20, 0, NULL);
	cr_assert_eq(r, mg_heap_usable(p));
	cr_assert_eq(mg_je_sallocx(p - 16, 0) - 16, r);
	size_t sz = mg_hdr_size(mg_hdr_of(p));
	cr_assert(sz == (2 << 20) || sz == (4 << 20), "size %zu", sz);
	cr_assert_eq(mg_test_usable(sz), r);
	expect_filled(p, 2 << 20, 9);
	size_t g = mg_heap_xalloc(p, 6 << 20, 0, NULL);
	cr_assert_eq(g, mg_heap_usable(p));
	cr_assert_eq(mg_je_sallocx(p - 16, 0) - 16, g);
	sz = mg_hdr_size(mg_hdr_of(p));
	cr_assert(g >= (6 << 20) ? sz == (6 << 20) : sz <= g, "size %zu usable %zu", sz, g);
	struct memgc_heap_stats st = mg_test_stats();
	cr_assert_eq(st.live_bytes, sz);
	cr_assert_eq(st.live_usable_bytes, g);
	cr_assert_eq(mg_heap_free(p, NULL), 0);
	cr_assert_eq(mg_test_stats().live_usable_bytes, 0);
}

Test(heap, usable_sizes_match_jemalloc)
{
	for (size_t n = 0; n <= 20000; n += n < 2000 ? 1 : 7) {
		char *p = alloc(n);
		size_t u = mg_heap_usable(p);
		cr_assert_eq(u, mg_test_usable(n), "n=%zu", n);
		cr_assert_eq(u, mg_je_sallocx(p - 16, 0) - 16, "n=%zu", n);
		cr_assert_geq(u, n);
		cr_assert_eq(mg_heap_free(p, NULL), 0);
	}
	static const size_t big[] = { 65536, 1048560, 1048561, 1048576, 3 << 20, 16 << 20, 64 << 20 };
	for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
		char *p = alloc(big[i]);
		cr_assert_eq(mg_heap_usable(p), mg_test_usable(big[i]), "n=%zu", big[i]);
		cr_assert_eq(mg_heap_usable(p), mg_je_sallocx(p - 16, 0) - 16, "n=%zu", big[i]);
		cr_assert_eq(mg_heap_free(p, NULL), 0);
	}
	cr_assert_eq(mg_test_usable(100), 112);
	cr_assert_eq(mg_test_usable(0), 16);
}

Test(heap, zeroed_allocations_are_zero)
{
	static const size_t sz[] = { 1, 24, 100, 4000, 20000, 300000, 2 << 20 };
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++) {
			/* Dirty blocks of the same class first, so reuse is likely. */
			unsigned char *d[8];
			for (int k = 0; k < 8; k++) {
				d[k] = alloc(sz[i]);
				memset(d[k], 0xa5, sz[i]);
			}
			for (int k = 0; k < 8; k++)
				cr_assert_eq(mg_heap_free(d[k], NULL), 0);
			size_t align = round == 2 ? 256 : 16;
			unsigned char *p = mg_heap_alloc(sz[i], align, true, 0);
			cr_assert_not_null(p);
			for (size_t j = 0; j < sz[i]; j++)
				if (p[j])
					cr_assert_fail("byte %zu of zeroed %zu is %#x", j, sz[i], p[j]);
			cr_assert_eq(mg_hdr_size(mg_hdr_of(p)), sz[i]);
			cr_assert(mg_hdr_live(p));
			cr_assert_eq(mg_heap_free(p, NULL), 0);
		}
}

Test(heap, alignment_16_to_1MiB)
{
	static const size_t sz[] = { 0, 1, 17, 4096, 70000 };
	for (unsigned lg = 4; lg <= 20; lg++)
		for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++) {
			size_t a = (size_t)1 << lg;
			unsigned char *p = mg_heap_alloc(sz[i], a, false, 0);
			cr_assert_not_null(p, "align %zu size %zu", a, sz[i]);
			cr_assert_eq((uintptr_t)p & (a - 1), 0, "align %zu size %zu", a, sz[i]);
			fill(p, sz[i], lg);
			size_t off = mg_hdr_offset(mg_hdr_lgal(mg_hdr_of(p)));
			cr_assert_eq(off, a > 16 ? a : 16);
			size_t u = mg_heap_usable(p);
			cr_assert_geq(u, sz[i]);
			cr_assert_eq(u, mg_je_sallocx(p - off, 0) - off, "align %zu size %zu", a, sz[i]);
			expect_filled(p, sz[i], lg);
			/* realloc keeps the alignment */
			unsigned char *q = mg_heap_realloc(p, sz[i] + 5000, 0, NULL);
			cr_assert_not_null(q);
			cr_assert_eq((uintptr_t)q & (a - 1), 0, "realloc lost align %zu", a);
			expect_filled(q, sz[i], lg);
			cr_assert_eq(mg_heap_free(q, NULL), 0);
		}
	struct memgc_heap_stats st = mg_test_stats();
	cr_assert_eq(st.live_objects, 0);
	cr_assert_eq(st.live_bytes, 0);
	cr_assert_eq(st.live_usable_bytes, 0);
	cr_assert_eq(st.allocations, 17 * 5);
	cr_assert_eq(st.deallocations, 17 * 5);
}

Test(heap, freed_pointer_is_not_live)
{
	char *p = alloc(40);
	cr_assert(mg_hdr_live(p));
	cr_assert_eq(mg_heap_usable(p), 48);   /* 40 + 16 header take the 64-byte class */
	cr_assert_eq(mg_heap_free(p, NULL), 0);
	cr_assert_not(mg_hdr_live(p));
	cr_assert_eq(mg_heap_usable(p), 0);
	mg_stats_sync_index();
	cr_assert_not(mg_index_live(p));
	cr_assert_null(mg_index_find(p));
	char *big = alloc(2 << 20);
	cr_assert_eq(mg_heap_free(big, NULL), 0);
	cr_assert_eq(mg_heap_usable(big), 0);
}

/* ---- the errors free reports ---- */

static void __attribute__((noinline)) *here(void)
{
	return __builtin_return_address(0);
}

Test(heap, double_free_warns_and_returns_minus_1)
{
	mg_opt.on_error = MG_ON_ERROR_WARN;
	void *ra = here();
	uint32_t site = mg_sites_capture(mg_stats_get(), ra);
	cr_assert_geq(site, 2);
	char *p = mg_heap_alloc(48, 16, false, site);
	cr_assert_eq(mg_heap_free(p, ra), 0);
	char out[4096];
	mg_test_stderr_begin();
	int r = mg_heap_free(p, ra);
	mg_test_stderr_end(out, sizeof out);
	cr_assert_eq(r, -1);
	char at[512], want[2048];
	mg_sites_symbolize(ra, at, sizeof at);
	snprintf(want, sizeof want,
		 "memgc: free(%p): double free: the object was allocated at %s and is already freed; "
		 "called from %s\n", (void *)p, at, at);
	cr_assert_str_eq(out, want);
	struct memgc_heap_stats st = mg_test_stats();
	cr_assert_eq(st.errors, 1);
	cr_assert_eq(st.allocations, 1);
	cr_assert_eq(st.deallocations, 1);
	cr_assert_eq(st.live_bytes, 0);
	/* realloc and xallocx of the freed pointer are refused the same way */
	mg_test_stderr_begin();
	cr_assert_null(mg_heap_realloc(p, 10, 0, ra));
	cr_assert_eq(mg_heap_xalloc(p, 10, 0, ra), 0);
	mg_test_stderr_end(out, sizeof out);
	cr_assert_eq(mg_test_lines(out), 2, "%s", out);
	cr_assert_eq(mg_test_stats().errors, 3);
}

Test(heap, double_free_aborts_by_default, .signal = SIGABRT)
{
	char *p = alloc(48);
	cr_assert_eq(mg_opt.on_error, MG_ON_ERROR_ABORT);
	cr_assert_eq(mg_heap_free(p, NULL), 0);
	mg_test_stderr_begin();   /* the report goes nowhere: the process aborts */
	mg_heap_free(p, NULL);
	cr_assert_fail("the second free returned");
}

Test(heap, interior_pointer_free_is_refused)
{
	mg_opt.on_error = MG_ON_ERROR_WARN;
	char *p = alloc(100);
	fill(p, 100, 2);
	static const size_t off[] = { 32, 8, 99 };
	char out[4096], want[1024];
	for (size_t i = 0; i < sizeof off / sizeof off[0]; i++) {
		mg_test_stderr_begin();
		int r = mg_heap_free(p + off[i], NULL);
		mg_test_stderr_end(out, sizeof out);
		cr_assert_eq(r, -1, "free(p + %zu)", off[i]);
		snprintf(want, sizeof want,
			 "memgc: free(%p): invalid pointer: %zu bytes into the object at %p allocated "
			 "at (unknown site); called from ?+0x0\n", (void *)(p + off[i]), off[i], (void *)p);
		cr_assert_str_eq(out, want, "free(p + %zu)", off[i]);
		cr_assert(mg_hdr_live(p), "the object was freed by free(p + %zu)", off[i]);
	}
	expect_filled(p, 100, 2);
	struct memgc_heap_stats st = mg_test_stats();
	cr_assert_eq(st.errors, 3);
	cr_assert_eq(st.deallocations, 0);
	cr_assert_eq(st.live_bytes, 100);
	cr_assert_eq(mg_heap_free(p, NULL), 0);
}

Test(heap, free_of_a_pointer_never_handed_out)
{
	mg_opt.on_error = MG_ON_ERROR_WARN;
	alloc(100);
	void *q = (void *)(mg_heap_end - 4096);
	char out[4096], want[1024];
	mg_test_stderr_begin();
	int r = mg_heap_free(q, NULL);
	mg_test_stderr_end(out, sizeof out);
	cr_assert_eq(r, -1);
	snprintf(want, sizeof want, "memgc: free(%p): invalid pointer: not an object memgc "
		 "handed out; called from ?+0x0\n", q);
	cr_assert_str_eq(out, want);
	cr_assert_eq(mg_test_stats().errors, 1);
}

/* A header overwritten by the program (a buffer underflow) is named as
 * such, also for an object still in its thread's allocation log. */
Test(heap, overwritten_header_is_reported)
{
	mg_opt.on_error = MG_ON_ERROR_WARN;
	char *p = alloc(64);
	struct mg_hdr saved = *mg_hdr_of(p);
	mg_hdr_of(p)->info ^= 0xff;   /* the low byte of the size */
	char out[4096], want[1024];
	mg_test_stderr_begin();
	int r = mg_heap_free(p, NULL);
	mg_test_stderr_end(out, sizeof out);
	cr_assert_eq(r, -1);
	snprintf(want, sizeof want, "memgc: free(%p): the header before the object is overwritten "
		 "(a buffer underflow, or a use after free); called from ?+0x0\n", (void *)p);
	cr_assert_str_eq(out, want);
	*mg_hdr_of(p) = saved;
	cr_assert_eq(mg_heap_free(p, NULL), 0);
	struct memgc_heap_stats st = mg_test_stats();
	cr_assert_eq(st.errors, 1);
	cr_assert_eq(st.live_objects, 0);
}

Test(heap, meta_memory_is_outside_the_region)
{
	void *m = mg_heap_meta_alloc(1000);
	cr_assert_not_null(m);
	cr_assert_not(mg_heap_owns(m));
	memset(m, 1, 1000);
	mg_heap_meta_free(m);
	cr_assert_eq(mg_heap_trim(NULL), 0);
	cr_assert_eq(mg_test_stats().allocations, 0);
}

/* The arena jemalloc took a block from (arenas.lookup). */
static unsigned arena_of(void *user)
{
	void *base = (char *)user - MG_HDR;
	unsigned a;
	size_t sz = sizeof a;
	cr_assert_eq(mg_je_mallctl("arenas.lookup", &a, &sz, &base, sizeof base), 0);
	return a;
}

static void lowest_large_release(void)
{
	mg_options_defaults();
	cr_assert_eq(mg_options_parse("large_release=4096"), 0);
	mg_test_init_keep_options();
}

/* A request at or above large_release goes to the large arena, even one
 * small enough for the inline path (4080 bytes + the header = 4096); the
 * byte below stays in the thread's object arena. */
Test(heap, large_release_bounds_the_inline_path, .init = lowest_large_release)
{
	char *big = alloc(1 << 20), *edge = alloc(4080), *below = alloc(4079);
	cr_assert_eq(arena_of(edge), arena_of(big));
	cr_assert_neq(arena_of(below), arena_of(big));
	cr_assert_eq(mg_heap_free(edge, NULL), 0);
	cr_assert_eq(mg_heap_free(below, NULL), 0);
	cr_assert_eq(mg_heap_free(big, NULL), 0);
	struct memgc_heap_stats st = mg_test_stats();
	cr_assert_eq(st.allocations, 3);
	cr_assert_eq(st.live_objects, 0);
	cr_assert_eq(st.live_bytes, 0);
	cr_assert_eq(st.live_usable_bytes, 0);
}
