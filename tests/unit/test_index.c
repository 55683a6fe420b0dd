/* test_index.c: the object index (index.c): find, foreach, check, sweep, concurrent find. */
#include "config.h"
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

TestSuite(index, .init = mg_test_init, .timeout = 60);

static void *alloc(size_t n, size_t align)
{
	void *p = mg_heap_alloc(n, align, false, MG_SITE_UNKNOWN);
	cr_assert_not_null(p, "mg_heap_alloc(%zu, %zu)", n, align);
	return p;
}

/* find answers the object's start for its first and last byte and for
 * every granule in between, and NULL one past its end. */
static void expect_found(void *p, size_t n)
{
	char *c = p;
	size_t last = n ? n - 1 : 0;
	cr_assert_eq(mg_index_find(c), p, "size %zu: first byte", n);
	cr_assert_eq(mg_index_find(c + last), p, "size %zu: last byte (+%zu)", n, last);
	if (n > 1)
		cr_assert_eq(mg_index_find(c + 1), p, "size %zu: second byte", n);
	if (n > 2)
		cr_assert_eq(mg_index_find(c + n / 2), p, "size %zu: middle byte", n);
	for (size_t off = 16; off < n; off += n > 4096 ? 4093 : 16)
		cr_assert_eq(mg_index_find(c + off), p, "size %zu: byte %zu", n, off);
	cr_assert_null(mg_index_find(c + (n ? n : 1)), "size %zu: one past the end", n);
}

static const size_t sizes[] = { 0, 1, 16, 100, 4096, 65536, 2 << 20, 16 << 20 };
#define NSIZES (sizeof sizes / sizeof sizes[0])

Test(index, find_first_last_and_past_end)
{
	void *p[NSIZES];
	for (size_t i = 0; i < NSIZES; i++)
		p[i] = alloc(sizes[i], 16);
	mg_stats_sync_index();
	for (size_t i = 0; i < NSIZES; i++)
		expect_found(p[i], sizes[i]);
	/* Before the first object's header and outside the region: nothing. */
	cr_assert_null(mg_index_find((char *)p[0] - 1));
	cr_assert_null(mg_index_find((char *)p[0] - 16));
	cr_assert_null(mg_index_find(NULL));
	cr_assert_null(mg_index_find((void *)mg_heap_base));
	cr_assert_null(mg_index_find((void *)(mg_heap_end - 16)));
	cr_assert_null(mg_index_find(&p));
}

/* The index is exact for an object's bytes even when they are not 16-byte
 * aligned (a char * into a string is an interior pointer too). */
Test(index, find_unaligned_interior)
{
	char *p = alloc(100, 16);
	mg_stats_sync_index();
	for (size_t off = 0; off < 100; off++)
		cr_assert_eq(mg_index_find(p + off), p, "byte %zu of 100", off);
	cr_assert_null(mg_index_find(p + 100));
}

Test(index, find_aligned_objects)
{
	void *p[17 * 3];
	size_t n[17 * 3], k = 0;
	for (unsigned lg = 4; lg <= 20; lg++)
		for (size_t j = 0; j < 3; j++) {
			static const size_t sz[] = { 1, 48, 5000 };
			n[k] = sz[j] + lg;
			p[k] = alloc(n[k], (size_t)1 << lg);
			cr_assert_eq((uintptr_t)p[k] & (((uintptr_t)1 << lg) - 1), 0);
			k++;
		}
	mg_stats_sync_index();
	for (size_t i = 0; i < k; i++) {
		expect_found(p[i], n[i]);
		/* The padding in front of an aligned object is no object. */
		cr_assert_null(mg_index_find((char *)p[i] - 17), "align object %zu", i);
	}
}

Test(index, freed_objects_are_not_found)
{
	void *p[NSIZES];
	for (size_t i = 0; i < NSIZES; i++)
		p[i] = alloc(sizes[i], 16);
	mg_stats_sync_index();
	for (size_t i = 0; i < NSIZES; i += 2)
		cr_assert_eq(mg_heap_free(p[i], NULL), 0);
	for (size_t i = 0; i < NSIZES; i++) {
		if (i % 2 == 0) {
			cr_assert_null(mg_index_find(p[i]), "freed size %zu", sizes[i]);
			cr_assert_not(mg_index_live(p[i]));
		} else {
			expect_found(p[i], sizes[i]);
			cr_assert(mg_index_live(p[i]));
		}
	}
	cr_assert_eq(mg_index_check(), NSIZES / 2);
}

/* mg_index_clear drops the bits of its range and no other, whatever the
 * range's ends are in the L0 words (bits set by hand inside one block
 * stand for the objects of a purged extent). */
Test(index, clear_drops_its_range_only)
{
	enum { N = 300, LO = 37, HI = 137 };    /* clears granules [LO, HI) */
	char *p = alloc(N * 16 + 16, 16);
	mg_stats_sync_index();
	for (int k = 1; k <= N; k++)
		mg_index_set(p + 16 * k);
	mg_index_clear(p + 16 * LO, 16 * (HI - LO));
	for (int k = 1; k <= N; k++)
		cr_assert_eq(mg_index_test(p + 16 * k), k < LO || k >= HI, "granule %d", k);
	cr_assert(mg_index_test(p), "the block's own object");
	mg_index_clear(p + 16 * 5, 8);          /* part of one granule: that one */
	cr_assert_not(mg_index_test(p + 16 * 5));
	cr_assert(mg_index_test(p + 16 * 4) && mg_index_test(p + 16 * 6));
	mg_index_clear(p + 16, 16 * N);
	cr_assert(mg_index_test(p));
	cr_assert_eq(mg_index_find(p + 16 * 200), p);
	cr_assert_eq(mg_heap_free(p, NULL), 0);
}

/* ---- foreach, check and sweep against a list the test keeps ---- */

struct set {
	void **v;
	size_t n, cap;
};

static void set_add(struct set *s, void *p)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1024;
		s->v = realloc(s->v, s->cap * sizeof *s->v);
		cr_assert_not_null(s->v);
	}
	s->v[s->n++] = p;
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
	return x < y ? -1 : x > y;
}

static void set_sort_unique(struct set *s)
{
	qsort(s->v, s->n, sizeof *s->v, cmp_ptr);
	size_t k = 0;
	for (size_t i = 0; i < s->n; i++)
		if (!k || s->v[k - 1] != s->v[i])
			s->v[k++] = s->v[i];
	s->n = k;
}

static int collect(void *user, void *arg)
{
	set_add(arg, user);
	return 0;
}

static void expect_foreach_is(const struct set *live)
{
	struct set seen = { 0 };
	cr_assert_eq(mg_index_foreach(collect, &seen), 0);
	for (size_t i = 1; i < seen.n; i++)
		cr_assert_lt((uintptr_t)seen.v[i - 1], (uintptr_t)seen.v[i],
			     "foreach is not in address order at %zu", i);
	cr_assert_eq(seen.n, live->n, "foreach gave %zu objects, %zu are live", seen.n, live->n);
	for (size_t i = 0; i < seen.n; i++)
		cr_assert_eq(seen.v[i], live->v[i], "object %zu", i);
	free(seen.v);
}

/* A seeded mix of sizes (small, page, large) and alignments; frees about
 * half, some in between, so freed memory is reused. */
static void churn(struct set *live, struct set *ever, size_t **sizes_out)
{
	uint64_t s = 42;
	void *p[6000];
	size_t sz[6000];
	bool alive[6000];
	for (int i = 0; i < 6000; i++) {
		uint64_t r = mg_test_rand(&s);
		size_t n = r % 100 < 80 ? r % 600 : r % 100 < 98 ? r % 40000 : r % (3 << 20);
		size_t align = r % 7 == 0 ? (size_t)16 << (r >> 40) % 9 : 16;
		p[i] = alloc(n, align);
		sz[i] = n;
		alive[i] = true;
		set_add(ever, p[i]);
		if (i % 3 == 2) {
			int j = (int)(mg_test_rand(&s) % (uint64_t)i);
			if (alive[j]) {
				cr_assert_eq(mg_heap_free(p[j], NULL), 0);
				alive[j] = false;
			}
		}
	}
	for (int i = 0; i < 6000; i += 4)
		if (alive[i]) {
			cr_assert_eq(mg_heap_free(p[i], NULL), 0);
			alive[i] = false;
		}
	size_t *out = calloc(6000, sizeof *out);
	for (int i = 0; i < 6000; i++)
		if (alive[i]) {
			out[live->n] = sz[i];
			set_add(live, p[i]);
		}
	*sizes_out = out;
}

Test(index, foreach_check_sweep_are_exact)
{
	struct set live = { 0 }, ever = { 0 };
	size_t *sz;
	churn(&live, &ever, &sz);
	mg_stats_sync_index();
	/* Every live object is found from its first and last byte. */
	for (size_t i = 0; i < live.n; i++) {
		cr_assert_eq(mg_index_find(live.v[i]), live.v[i]);
		if (sz[i] > 1)
			cr_assert_eq(mg_index_find((char *)live.v[i] + sz[i] - 1), live.v[i],
				     "size %zu: last byte", sz[i]);
	}
	void **orig = malloc(live.n * sizeof *orig);
	memcpy(orig, live.v, live.n * sizeof *orig);
	size_t norig = live.n;
	set_sort_unique(&live);
	set_sort_unique(&ever);
	cr_assert_eq(live.n, norig);
	struct memgc_heap_stats st = mg_test_stats();
	cr_assert_eq(st.live_objects, live.n);
	expect_foreach_is(&live);
	cr_assert_eq(mg_index_check(), live.n);

	/* Sweep drops the start bits of addresses no live object holds now
	 * (those on pages jemalloc purged went already: heap.c's hook_purge);
	 * find, foreach and check answer the same after it. */
	size_t swept = mg_index_sweep();
	cr_assert_leq(swept, ever.n - live.n);
	cr_assert_gt(swept, 0);
	cr_assert_eq(mg_index_sweep(), 0);
	expect_foreach_is(&live);
	cr_assert_eq(mg_index_check(), live.n);
	for (size_t i = 0; i < live.n; i++) {
		cr_assert_eq(mg_index_find(live.v[i]), live.v[i]);
		cr_assert(mg_index_test(live.v[i]));
	}
	/* Last bytes too: the searches now pass over summary bytes whose
	 * L0 bits the sweep cleared. */
	for (size_t i = 0; i < norig; i++)
		if (sz[i] > 1)
			cr_assert_eq(mg_index_find((char *)orig[i] + sz[i] - 1), orig[i],
				     "after sweep, size %zu: last byte", sz[i]);
	for (size_t i = 0, j = 0; i < ever.n; i++) {
		while (j < live.n && live.v[j] < ever.v[i])
			j++;
		if (j < live.n && live.v[j] == ever.v[i])
			continue;
		cr_assert_not(mg_index_test(ever.v[i]), "stale bit kept at %p", ever.v[i]);
		void *f = mg_index_find(ever.v[i]);
		cr_assert(f == NULL || (uintptr_t)f < (uintptr_t)ever.v[i],
			  "freed %p found as %p", ever.v[i], f);
	}
	free(orig);
	free(live.v);
	free(ever.v);
	free(sz);
}

static int stop_at_third(void *user, void *arg)
{
	int *k = arg;
	return ++*k == 3 ? 77 : 0;
}

Test(index, foreach_stops_early)
{
	for (int i = 0; i < 10; i++)
		alloc(32, 16);
	mg_stats_sync_index();
	int k = 0;
	cr_assert_eq(mg_index_foreach(stop_at_third, &k), 77);
	cr_assert_eq(k, 3);
}

/* The allocation log: objects are not in the index until a sync (or the
 * log fills), and a sync puts all of them there. */
Test(index, sync_publishes_the_log)
{
	void *p = alloc(64, 16);
	cr_assert_null(mg_index_find(p), "found before mg_stats_sync_index");
	cr_assert_eq(mg_index_check(), 0);
	mg_stats_sync_index();
	cr_assert_eq(mg_index_find(p), p);
	cr_assert_eq(mg_index_check(), 1);
	/* With p, MG_LOG_CAP - 1 more fill the log, which then drains itself,
	 * once the last one's header is written (stats.h). */
	for (int i = 0; i < MG_LOG_CAP - 1; i++)
		alloc(16, 16);
	cr_assert_eq(mg_index_check(), MG_LOG_CAP);
	void *q = alloc(16, 16);
	cr_assert_eq(mg_index_check(), MG_LOG_CAP);
	cr_assert_null(mg_index_find(q));
	mg_stats_sync_index();
	cr_assert_eq(mg_index_check(), MG_LOG_CAP + 1);
	cr_assert_eq(mg_index_find(q), q);
}

/* ---- concurrent use ---- */

#define CHURNERS 4
static int stop;
static unsigned long churn_errors;   /* asserted on the main thread */

static void *churner(void *arg)
{
	uint64_t s = (uintptr_t)arg * 7919 + 1;
	void *slot[256] = { 0 };
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		uint64_t r = mg_test_rand(&s);
		unsigned i = r % 256;
		if (slot[i] && mg_heap_free(slot[i], NULL) != 0)
			__atomic_add_fetch(&churn_errors, 1, __ATOMIC_RELAXED);
		size_t n = r % 10 == 0 ? (r >> 20) % 200000 : (r >> 20) % 1000;
		slot[i] = mg_heap_alloc(n, r % 13 == 0 ? 4096 : 16, false, 0);
		if (!slot[i])
			__atomic_add_fetch(&churn_errors, 1, __ATOMIC_RELAXED);
		if (r % 64 == 0)
			mg_stats_sync_index();
	}
	for (int i = 0; i < 256; i++)
		if (slot[i])
			mg_heap_free(slot[i], NULL);
	return NULL;
}

Test(index, concurrent_find_of_live_objects)
{
	enum { MINE = 64 };
	void *mine[MINE];
	size_t n[MINE];
	for (int i = 0; i < MINE; i++) {
		n[i] = i % 8 == 7 ? 100000 + (size_t)i : 16 + (size_t)i * 37;
		mine[i] = alloc(n[i], i % 5 == 0 ? 64 : 16);
	}
	mg_stats_sync_index();
	pthread_t th[CHURNERS];
	for (long i = 0; i < CHURNERS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, churner, (void *)i), 0);
	unsigned long misses = 0, lookups = 0;
	for (int round = 0; round < 3000; round++)
		for (int i = 0; i < MINE; i++) {
			char *c = mine[i];
			/* granule-aligned addresses: find_unaligned_interior
			 * covers the others */
			misses += mg_index_find(c) != c;
			misses += mg_index_find(c + ((n[i] - 1) & ~(size_t)15)) != c;
			misses += mg_index_find(c + ((n[i] / 2) & ~(size_t)15)) != c;
			lookups += 3;
		}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < CHURNERS; i++)
		pthread_join(th[i], NULL);
	cr_assert_eq(misses, 0, "%lu of %lu lookups of live objects failed", misses, lookups);
	cr_assert_eq(churn_errors, 0, "alloc or free failed in the churning threads");
	mg_stats_sync_index();
	cr_assert_eq(mg_index_check(), MINE);
	cr_assert_eq(mg_test_stats().live_objects, MINE);
}

/* ---- the page map and the two-step search (mg_index_prev, _find_from) ---- */

/* The nearest live start at or below a in the sorted set, or NULL: after a
 * sweep the L0 bits are exactly the live objects' starts. */
static void *ref_prev(const struct set *live, uintptr_t a)
{
	size_t lo = 0, hi = live->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if ((uintptr_t)live->v[mid] <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	void *s = live->v[lo - 1];
	return a - (uintptr_t)s <= mg_heap_max_extent ? s : NULL;
}

static void *ref_find(const struct set *live, uintptr_t a)
{
	void *s = ref_prev(live, a);
	if (!s)
		return NULL;
	uint64_t n = mg_hdr_size(mg_hdr_of(s));
	return a - (uintptr_t)s < (n ? n : 1) ? s : NULL;
}

/* prev, find_from(prev) and find against the references at a. */
static void expect_at(const struct set *live, uintptr_t a, const char *when)
{
	void *p = mg_index_prev((void *)a);
	cr_assert_eq(p, ref_prev(live, a), "%s: prev(%#lx) is %p", when, (unsigned long)a, p);
	void *f = ref_find(live, a);
	cr_assert_eq(mg_index_find_from((void *)a, p), f, "%s: find_from(%#lx)", when,
		     (unsigned long)a);
	cr_assert_eq(mg_index_find((void *)a), f, "%s: find(%#lx)", when, (unsigned long)a);
}

/* Addresses around every live object (first, second and last byte, one
 * past the end, the pages after it, just below it) and a stride of 4093
 * bytes (every page offset in turn) over the whole used region. */
static void expect_all(const struct set *live, const char *when)
{
	for (size_t i = 0; i < live->n; i++) {
		uintptr_t u = (uintptr_t)live->v[i];
		uint64_t n = mg_hdr_size(mg_hdr_of(live->v[i]));
		uintptr_t at[] = { u, u + 1, u + (n ? n - 1 : 0), u + (n ? n : 1), u + n + 4096,
				   u + n + 40000, u - 1, u - 17 };
		for (size_t k = 0; k < sizeof at / sizeof at[0]; k++)
			if (at[k] - mg_heap_base < mg_heap_bump - mg_heap_base)
				expect_at(live, at[k], when);
	}
	for (uintptr_t a = mg_heap_base; a < mg_heap_bump; a += 4093)
		expect_at(live, a, when);
}

/* Live objects of every kind (small ones in slabs, page-sized, large
 * extents of several MiB, aligned ones) with the freed ones between them:
 * after a sweep the page map is in use, and the two-step search and find
 * answer exactly what the sorted list of live objects says, anywhere in
 * the region; with the map dropped, the summaries give the same answers. */
Test(index, pagemap_answers_are_exact)
{
	struct set live = { 0 }, ever = { 0 };
	size_t *sz;
	churn(&live, &ever, &sz);
	void *big[3] = { alloc(16 << 20, 16), alloc(5 << 20, 2 << 20), alloc(9000, 4096) };
	for (int i = 0; i < 3; i++)
		set_add(&live, big[i]);
	mg_stats_sync_index();
	mg_index_sweep();
	cr_assert(mg_index_pagemap_valid(), "no page map after a sweep");
	set_sort_unique(&live);
	expect_all(&live, "page map");
	/* far into a large extent: every page of it answers its start */
	for (size_t off = 0; off < (16 << 20); off += 4096 + 16) {
		cr_assert_eq(mg_index_prev((char *)big[0] + off), big[0], "+%zu", off);
		cr_assert_eq(mg_index_find((char *)big[0] + off), big[0], "+%zu", off);
	}
	/* foreign addresses */
	cr_assert_null(mg_index_prev(NULL));
	cr_assert_null(mg_index_prev(&live));
	cr_assert_null(mg_index_prev((void *)mg_heap_base));
	cr_assert_null(mg_index_prev((void *)mg_heap_bump));
	cr_assert_null(mg_index_prev((void *)(mg_heap_end - 16)));
	cr_assert_null(mg_index_find_from(&live, NULL));
	mg_index_pagemap_drop();
	cr_assert_not(mg_index_pagemap_valid());
	expect_all(&live, "summaries");
	free(live.v);
	free(ever.v);
	free(sz);
}

/* A bit set after the sweep (a new object) makes the map invalid, and the
 * new object is found at once. */
Test(index, pagemap_invalid_after_a_new_object)
{
	void *a = alloc(100, 16);
	mg_stats_sync_index();
	mg_index_sweep();
	cr_assert(mg_index_pagemap_valid());
	char *b = alloc(300000, 16);        /* a page of its own, above a */
	mg_stats_sync_index();
	cr_assert_not(mg_index_pagemap_valid());
	cr_assert_eq(mg_index_prev(b + 200000), b);
	cr_assert_eq(mg_index_find(b + 299999), b);
	cr_assert_eq(mg_index_find(a), a);
	mg_index_sweep();
	cr_assert(mg_index_pagemap_valid());
	cr_assert_eq(mg_index_prev(b + 200000), b);
	cr_assert_eq(mg_index_find(b + 299999), b);
}

/* Bits cleared after the sweep (an extent purged, an arena destroyed:
 * heap.c's hooks call mg_index_clear) leave the map in use, and its answers
 * exact: the page it names has lost its bits, so the search looks lower.
 * A purge (mg_index_trim) drops the map; the answers stay the same. */
Test(index, pagemap_after_clear_and_trim)
{
	char *x = alloc(64, 16);
	char *l = alloc(200000, 16);        /* 49 pages, the only start on them */
	char *y = alloc(64, 16);
	mg_stats_sync_index();
	mg_index_sweep();
	cr_assert(mg_index_pagemap_valid());
	cr_assert_eq(mg_index_prev(l + 150000), l);
	cr_assert_eq(mg_index_find(l + 150000), l);
	mg_index_clear(l, 200000);          /* as hook_purge does for freed memory */
	cr_assert(mg_index_pagemap_valid(), "a clear needs no new map");
	cr_assert_not(mg_index_test(l));
	void *p = mg_index_prev(l + 150000);
	cr_assert((uintptr_t)p < (uintptr_t)l, "prev %p is at or above the cleared start %p",
		  p, (void *)l);
	cr_assert_null(mg_index_find(l + 150000));
	cr_assert_eq(mg_index_find(x + 10), x);
	cr_assert_eq(mg_index_find(y + 10), y);
	mg_index_set(l);                    /* back, for the trim's sweep to see it live */
	mg_index_sweep();
	cr_assert(mg_index_pagemap_valid());
	/* the purge's sweep (purge.c calls it with the world stopped, which
	 * Criterion's threads do not allow: this thread is alone in the heap) */
	static struct mg_os_backed c;
	mg_os_backed_open(&c);
	mg_index_trim(&c, NULL, NULL);
	mg_os_backed_close(&c);
	cr_assert_not(mg_index_pagemap_valid(), "the purge keeps no page map");
	cr_assert_eq(mg_index_prev(l + 150000), l);
	cr_assert_eq(mg_index_find(l + 150000), l);
	cr_assert_eq(mg_index_find(y + 63), y);
	cr_assert_null(mg_index_find(y + 64 + 4096 * 3));
}
