/* index.c: which addresses of the region start live objects.
 *
 * Three byte maps over the region, all mapped lazily (MAP_NORESERVE), so
 * only the parts over used memory take pages:
 *
 *   L0  one bit per 16-byte granule: set where an object was allocated
 *   L1  one byte per L0 word (64 granules, 1 KiB of region): may have a set bit
 *   L2  one byte per 64 L1 bytes (64 KiB of region): may have a set L1 byte
 *
 * The header's MG_FLAG_LIVE is the truth about liveness (header.h); the
 * maps only say where to look.  Allocation sets the L0 bit with one atomic
 * OR (bits, not bytes: at 1/128 of the heap the map stays in the cache,
 * where a byte map would double the lines a random-access program
 * touches); free leaves it, because that word is cold by then and the
 * header line is not.  Stale bits are skipped by every reader (their header
 * is no longer live) and dropped by mg_index_sweep().
 *
 * Invariants (mg_index_check() verifies the first):
 *   the object at u is live  =>  L0[granule(u)] == 1
 *   L0[g] == 1  =>  L1[g / 64] == 1 and L2[g / 4096] == 1
 * L1 and L2 are supersets too, so a search may meet a summary byte over
 * nothing and go on.
 *
 * A fourth map answers "the nearest start below this page" in one load,
 * for the collector's lookups of words that point between objects (most
 * often into freed ones): the page map, one 32-bit entry per 4 KiB page
 * of the region, built by the sweeps that run with the world stopped.
 * It was exact for the bits of its sweep's end:
 *   PM[k] == 0             no L0 bit was set below page k
 *   PM[k] == j + 1         page j < k had an L0 bit set, and no page
 *                          between j and k had one
 * and pm_valid says no bit has been set since (set_granule clears it
 * first; the next sweep_foreach builds the map again).  The bits set now
 * are then a subset of those: if page j still has one, its highest is the
 * nearest below page k; if not, the search falls back to L1 and L2.  A
 * page map dropped to zeros (mg_index_pagemap_drop) is invalid first.
 */
#include "config.h"
#include <string.h>

#include "header.h"
#include "internal.h"

static uintptr_t base;
static size_t ngranules;
static uint64_t *l0;
uintptr_t mg_index_l0_origin;   /* for mg_index_prefetch (internal.h) */
static uint8_t *l1, *l2;
static uint32_t *pm;            /* the page map, NULL when the region has too many pages */
static size_t npm;              /* its entries */
static bool pm_valid;

#define PM_SHIFT 12             /* bytes of region per page map entry: 4 KiB */
#define PM_WORDS ((1u << PM_SHIFT) / MG_HDR / 64)   /* L0 words per entry: 4 */

int mg_index_init(uintptr_t b, size_t size)
{
	base = b;
	ngranules = size / MG_HDR;
	l0 = (uint64_t *)mg_os_map(ngranules / 8 + 8);
	l1 = mg_os_map(ngranules / 64 + 1);
	l2 = mg_os_map(ngranules / 4096 + 1);
	mg_index_l0_origin = (uintptr_t)l0 - (b >> 10) * 8;
	if (!l0 || !l1 || !l2) {
		if (l0) mg_os_unmap(l0, ngranules / 8 + 8);
		if (l1) mg_os_unmap(l1, ngranules / 64 + 1);
		if (l2) mg_os_unmap(l2, ngranules / 4096 + 1);
		l0 = NULL;
		l1 = l2 = NULL;
		return -1;
	}
	/* Without it (no memory, or more pages than 32 bits count) the
	 * searches walk L1 and L2 as before. */
	npm = (size >> PM_SHIFT) + 1;
	pm = npm < UINT32_MAX ? mg_os_map(npm * sizeof *pm) : NULL;
	pm_valid = false;
	return 0;
}

static inline void pm_invalidate(void)
{
	if (__atomic_load_n(&pm_valid, __ATOMIC_RELAXED))
		__atomic_store_n(&pm_valid, false, __ATOMIC_RELAXED);
}

bool mg_index_pagemap_valid(void)
{
	return __atomic_load_n(&pm_valid, __ATOMIC_RELAXED);
}

static void used_extent(size_t *n1, size_t *n2);

void mg_index_pagemap_drop(void)
{
	size_t n1, n2;
	pm_invalidate();
	used_extent(&n1, &n2);
	if (pm)       /* the entries a sweep writes: those over [base, bump) */
		mg_os_purge(pm, ((n1 - 1) / PM_WORDS + 1) * sizeof *pm);
}

static inline size_t granule(const void *p)
{
	return ((uintptr_t)p - base) / MG_HDR;
}

/* The summaries first, then the bit: whoever finds the bit set can rely
 * on its summaries, so a bit found set needs nothing more.  Most bits are
 * found so (a stale bit from an earlier object at the same address), which
 * makes this a plain load instead of an atomic read-modify-write on a
 * cold line: a bit that goes stale is dropped only by mg_index_sweep,
 * with the world stopped, and never for a live object. */
static inline void set_granule(size_t g, uint64_t *m0, uint8_t *m1, uint8_t *m2)
{
	pm_invalidate();
	if (!m2[g >> 12])
		m2[g >> 12] = 1;
	if (!m1[g >> 6])
		m1[g >> 6] = 1;
	__atomic_fetch_or(&m0[g >> 6], UINT64_C(1) << (g & 63), __ATOMIC_RELEASE);
}

static inline void set_one(const void *user, uintptr_t b, uint64_t *m0, uint8_t *m1, uint8_t *m2)
{
	size_t g = ((uintptr_t)user - b) / MG_HDR;
	if (__atomic_load_n(&m0[g >> 6], __ATOMIC_RELAXED) & (UINT64_C(1) << (g & 63)))
		return;
	set_granule(g, m0, m1, m2);
}

void mg_index_set(const void *user)
{
	set_one(user, base, l0, l1, l2);
}

/* set_granule for a bit set_many found clear, out of its loop. */
static __attribute__((noinline, cold)) void set_new(size_t g, uint64_t *m0, uint8_t *m1,
						     uint8_t *m2)
{
	set_granule(g, m0, m1, m2);
}

/* The maps' addresses are read once: the stores to the summaries could
 * alias them as far as the compiler knows.  The common case, a bit found
 * set, is tested here with the word taken from the byte offset (>> 10)
 * and the bit from the granule (bt takes it modulo 64): twelve
 * instructions an entry, where set_one's general form takes fifteen. */
void mg_index_set_many(void *const *users, size_t n)
{
	uintptr_t b = base;
	uint64_t *m0 = l0;
	uint8_t *m1 = l1, *m2 = l2;
	for (void *const *e = users + n; users != e; users++) {
		uintptr_t off = (uintptr_t)__atomic_load_n(users, __ATOMIC_RELAXED) - b;
		uint64_t w = __atomic_load_n(&m0[off >> 10], __ATOMIC_RELAXED);
		if (MG_UNLIKELY(!((w >> ((off >> 4) & 63)) & 1)))
			set_new(off / MG_HDR, m0, m1, m2);
	}
}

void mg_index_clear(const void *lo, size_t size)
{
	if (!size || !mg_heap_readable(lo))
		return;
	size_t g0 = granule(lo), g1 = g0 + (size + MG_HDR - 1) / MG_HDR;   /* [g0, g1) */
	size_t w0 = g0 >> 6, w1 = (g1 - 1) >> 6;
	uint64_t first = ~UINT64_C(0) << (g0 & 63);
	uint64_t last = ~UINT64_C(0) >> (63 - ((g1 - 1) & 63));
	if (w0 == w1) {
		__atomic_fetch_and(&l0[w0], ~(first & last), __ATOMIC_RELAXED);
		return;
	}
	/* the end words may hold bits of neighbours, which other threads set */
	__atomic_fetch_and(&l0[w0], ~first, __ATOMIC_RELAXED);
	__atomic_fetch_and(&l0[w1], ~last, __ATOMIC_RELAXED);
	for (size_t w = w0 + 1; w < w1; w++)
		if (__atomic_load_n(&l0[w], __ATOMIC_RELAXED))
			__atomic_store_n(&l0[w], 0, __ATOMIC_RELAXED);
}

bool mg_index_test(const void *user)
{
	if (!mg_heap_readable(user))
		return false;
	size_t g = granule(user);
	return (__atomic_load_n(&l0[g >> 6], __ATOMIC_RELAXED) >> (g & 63)) & 1;
}

bool mg_index_live(const void *user)
{
	return mg_index_test(user) && mg_hdr_live(user);
}

/* Highest index i in [lo, hi) with map[i] != 0, or -1.  Reads 8 bytes at a
 * time where it can. */
static long last_set(const uint8_t *map, size_t lo, size_t hi)
{
	while (hi > lo && (hi & 7)) {
		hi--;
		if (map[hi])
			return (long)hi;
	}
	while (hi >= lo + 8) {
		uint64_t w;
		memcpy(&w, map + hi - 8, 8);
		if (w)
			return (long)(hi - 8) + (63 - __builtin_clzll(w)) / 8;
		hi -= 8;
	}
	while (hi > lo) {
		hi--;
		if (map[hi])
			return (long)hi;
	}
	return -1;
}

/* The highest set bit of L0 word w at or below bit b, as a granule, or -1. */
static inline long word_last(size_t w, unsigned b)
{
	uint64_t m = __atomic_load_n(&l0[w], __ATOMIC_RELAXED);
	if (b < 63)
		m &= (UINT64_C(2) << b) - 1;
	return m ? (long)(w * 64 + 63 - (unsigned)__builtin_clzll(m)) : -1;
}

/* The highest granule g' <= g with its L0 bit set, or -1; none below
 * granule floor is looked for (the L0 word holding floor may still give
 * one a little below it, which the caller rejects). */
static long prev_start(size_t g, size_t floor)
{
	long r = word_last(g >> 6, g & 63);
	if (r >= 0)
		return r;
	size_t f1 = floor >> 6, f2 = floor >> 12;
	size_t j1 = g >> 6;              /* search L1 entries in [lo1, j1) */
	size_t lo1 = j1 & ~(size_t)63;
	for (;;) {
		long k1;
		while ((k1 = last_set(l1, lo1 > f1 ? lo1 : f1, j1)) >= 0) {
			r = word_last((size_t)k1, 63);
			if (r >= 0)
				return r;
			j1 = (size_t)k1;   /* a stale summary byte: look lower */
		}
		if ((lo1 >> 6) <= f2)
			return -1;
		long k2 = last_set(l2, f2, lo1 >> 6);
		if (k2 < 0)
			return -1;
		lo1 = (size_t)k2 << 6;
		j1 = lo1 + 64;
	}
}

/* start, the live object nearest below a, if it holds a (a size-0
 * object holds its first byte); else NULL: objects are disjoint, so no
 * other one does. */
static inline void *holding(void *start, const void *a)
{
	uint64_t size = mg_hdr_size(mg_hdr_of(start));
	if (size == 0)
		size = 1;
	return (uintptr_t)a - (uintptr_t)start < size ? start : NULL;
}

/* The lowest granule a search from granule g looks at: no object is
 * larger than the largest extent, so none starts further down. */
static inline size_t search_floor(size_t g)
{
	size_t span = __atomic_load_n(&mg_heap_max_extent, __ATOMIC_RELAXED) / MG_HDR + 1;
	return g > span ? g - span : 0;
}

/* a lies in the mapped part of the region, past its first granule. */
static inline bool in_region(const void *a)
{
	return (uintptr_t)a >= base + MG_HDR &&
	       (uintptr_t)a < __atomic_load_n(&mg_heap_bump, __ATOMIC_ACQUIRE);
}

/* prev_start through the page map: the L0 words of g's page at or below
 * it, then the highest bit of the page PM names.  -1 when there is none;
 * -2 when the map cannot say (not valid now: then ask prev_start). */
static inline long pm_prev(size_t g)
{
	if (!__atomic_load_n(&pm_valid, __ATOMIC_RELAXED))
		return -2;
	size_t w = g >> 6, first = w & ~(size_t)(PM_WORDS - 1);
	long r = word_last(w, g & 63);
	if (r >= 0)
		return r;
	while (w > first)
		if ((r = word_last(--w, 63)) >= 0)
			return r;
	uint32_t j = pm[g >> (PM_SHIFT - 4)];
	if (!j)
		return -1;
	for (w = (size_t)j * PM_WORDS; w > (size_t)(j - 1) * PM_WORDS;)
		if ((r = word_last(--w, 63)) >= 0)
			return r;
	return -2;
}

/* prev_start, through the page map when it can say. */
static inline long prev_any(size_t g, size_t floor)
{
	long s = pm_prev(g);
	return s != -2 ? s : prev_start(g, floor);
}

/* The nearest live start at or below granule s (with its L0 bit set, or
 * -1), down to floor; holding() decides.  Stale starts are passed over. */
static void *find_from(long s, size_t floor, const void *a)
{
	for (; s >= (long)floor; s = s ? prev_any((size_t)s - 1, floor) : -1) {
		void *start = (void *)(base + (uintptr_t)s * MG_HDR);
		if (mg_hdr_live(start))
			return holding(start, a);
	}
	return NULL;
}

void *mg_index_prev(const void *a)
{
	if (!in_region(a))
		return NULL;
	size_t g = granule(a), floor = search_floor(g);
	long s = prev_any(g, floor);
	return s >= (long)floor ? (void *)(base + (uintptr_t)s * MG_HDR) : NULL;
}

void *mg_index_find_from(const void *a, void *start)
{
	if (!start)
		return NULL;
	return find_from((long)granule(start), search_floor(granule(a)), a);
}

void *mg_index_find(const void *a)
{
	/* any address, aligned or not, inside the mapped part of the region */
	if (!in_region(a))
		return NULL;
	/* Most addresses looked up (the collector's) are in the first granule
	 * of a live object: no search. */
	size_t g = granule(a);
	if ((__atomic_load_n(&l0[g >> 6], __ATOMIC_RELAXED) >> (g & 63)) & 1) {
		void *start = (void *)(base + (uintptr_t)g * MG_HDR);
		if (mg_hdr_live(start))
			return holding(start, a);
	}
	size_t floor = search_floor(g);
	return find_from(prev_any(g, floor), floor, a);
}

/* The L1 and L2 entries that cover the mapped part of the region. */
static void used_extent(size_t *n1, size_t *n2)
{
	size_t used = (__atomic_load_n(&mg_heap_bump, __ATOMIC_ACQUIRE) - base) / MG_HDR;
	*n1 = used / 64 + 1;
	*n2 = used / 4096 + 1;
	if (*n1 > ngranules / 64 + 1)
		*n1 = ngranules / 64 + 1;
	if (*n2 > ngranules / 4096 + 1)
		*n2 = ngranules / 4096 + 1;
}

/* Calls fn for the live objects of L0 word wd whose bits are in m. */
static inline int word_foreach(size_t wd, uint64_t m, int (*fn)(void *user, void *arg), void *arg)
{
	while (m) {
		unsigned b = (unsigned)__builtin_ctzll(m);
		m &= m - 1;
		void *u = (void *)(base + (wd * 64 + b) * MG_HDR);
		if (!mg_hdr_live(u))
			continue;
		int r = fn(u, arg);
		if (r)
			return r;
	}
	return 0;
}

int mg_index_foreach(int (*fn)(void *user, void *arg), void *arg)
{
	size_t n1, n2;
	used_extent(&n1, &n2);
	for (size_t k2 = 0; k2 < n2; k2++) {
		if (!l2[k2])
			continue;
		for (size_t k1 = k2 << 6; k1 < (k2 << 6) + 64 && k1 < n1; k1++) {
			if (!l1[k1])
				continue;
			int r = word_foreach(k1, __atomic_load_n(&l0[k1], __ATOMIC_RELAXED), fn, arg);
			if (r)
				return r;
		}
	}
	return 0;
}

/* Calls fn for every live object that starts in [lo, hi), in address
 * order, until fn returns non-zero (returned).  The cost is the L0 words
 * of the range, less the 64 KiB stretches L2 says are empty: for the
 * written pages a young collection reads (young.c). */
int mg_index_foreach_range(uintptr_t lo, uintptr_t hi, int (*fn)(void *user, void *arg), void *arg)
{
	uintptr_t top = __atomic_load_n(&mg_heap_bump, __ATOMIC_ACQUIRE);
	if (lo < base + MG_HDR)
		lo = base + MG_HDR;
	if (hi > top)
		hi = top;
	if (lo >= hi)
		return 0;
	size_t g0 = granule((void *)(lo + MG_HDR - 1)), g1 = granule((void *)(hi + MG_HDR - 1));
	for (size_t g = g0; g < g1;) {
		if (!l2[g >> 12]) {
			g = ((g >> 12) + 1) << 12;
			continue;
		}
		size_t wd = g >> 6;
		uint64_t m = __atomic_load_n(&l0[wd], __ATOMIC_RELAXED) & (~UINT64_C(0) << (g & 63));
		size_t next = (wd + 1) << 6;
		if (next > g1)
			m &= (UINT64_C(1) << (g1 & 63)) - 1;
		int r = word_foreach(wd, m, fn, arg);
		if (r)
			return r;
		g = next;
	}
	return 0;
}

/* Prefetches the headers of L0 word k's objects (a prefetch does not
 * fault, whether the page is present or not): a sweep reads them AHEAD
 * words later, in address order, and objects of a few hundred bytes lie
 * too far apart for the hardware's stream prefetch to run ahead of it. */
#define AHEAD 4
static inline void prefetch_headers(size_t k)
{
	uint64_t m = __atomic_load_n(&l0[k], __ATOMIC_RELAXED);
	uintptr_t hdr0 = base + k * 64 * MG_HDR - MG_HDR;
	while (m) {
		__builtin_prefetch((const void *)(hdr0 + (unsigned)__builtin_ctzll(m) * MG_HDR));
		m &= m - 1;
	}
}

/* The sweep of mg_index_sweep_foreach and mg_index_trim.  With c, a word
 * whose headers lie on pages neither present nor swapped is cleared
 * without a read (such a page holds zeros, so no live header, and reading
 * it would fault it in): the headers of a word's objects lie in
 * [start - 16, start + 1008), one page or the end of the one before. */
/* PM[*filled, k] = *last, when k >= *filled (the page map's entries up to
 * page k, which the sweep has passed). */
static inline void pm_fill(size_t *filled, size_t k, uint32_t last)
{
	for (size_t i = *filled; i <= k; i++)
		pm[i] = last;
	if (k + 1 > *filled)
		*filled = k + 1;
}

static size_t sweep(struct mg_os_backed *c, void (*fn)(void *user, void *arg), void *arg,
		    bool build)
{
	size_t cleared = 0, n1, n2, filled = 0;
	uint32_t last = 0;             /* PM's value for the pages past the last one with a bit */
	used_extent(&n1, &n2);
	build = build && pm;
	if (build)
		pm_invalidate();       /* fn may look things up: not from a half-built map */
	for (size_t k2 = 0; k2 < n2; k2++) {
		if (!l2[k2])
			continue;
		bool any = false;
		for (size_t k1 = k2 << 6; k1 < (k2 << 6) + 64 && k1 < n1; k1++) {
			if (!l1[k1])
				continue;
			uint64_t m = l0[k1], keep = m;
			uintptr_t start = base + k1 * 64 * MG_HDR;
			if (k1 + AHEAD < n1)
				prefetch_headers(k1 + AHEAD);
			if (c && m && !mg_os_backed(c, start - MG_HDR) &&
			    !mg_os_backed(c, start + 62 * MG_HDR)) {
				cleared += (size_t)__builtin_popcountll(m);
				keep = m = 0;
			}
			while (m) {
				unsigned b = (unsigned)__builtin_ctzll(m);
				m &= m - 1;
				void *u = (void *)(start + b * MG_HDR);
				if (!mg_hdr_live(u)) {
					keep &= ~(UINT64_C(1) << b);
					cleared++;
				} else if (fn) {
					fn(u, arg);
				}
			}
			if (keep != l0[k1])
				l0[k1] = keep;
			if (keep) {
				any = true;
				if (build && k1 / PM_WORDS >= filled) {
					pm_fill(&filled, k1 / PM_WORDS, last);
					last = (uint32_t)(k1 / PM_WORDS + 1);
				}
			} else {
				l1[k1] = 0;
			}
		}
		if (!any)
			l2[k2] = 0;
	}
	if (build) {
		pm_fill(&filled, (n1 - 1) / PM_WORDS, last);
		__atomic_store_n(&pm_valid, true, __ATOMIC_RELAXED);
	}
	return cleared;
}

/* Clears the L0 bits whose object is no longer live, and calls fn (when
 * not NULL) for each live object, in address order; then builds the page
 * map (lookups that fn makes do without it).  Only while no other thread
 * allocates (the world stopped, or a test): a concurrent allocation could
 * set a bit between the header read and the clear. */
size_t mg_index_sweep_foreach(void (*fn)(void *user, void *arg), void *arg)
{
	return sweep(NULL, fn, arg, true);
}

/* mg_index_sweep_foreach for the purge (purge.c), with the world stopped,
 * after mg_stats_sync_index: headers are read only on pages that are
 * present or swapped (c, when not NULL), and the index pages left all zero
 * are dropped,
 * the page map's too (the next full collection builds it again); returns
 * the bytes dropped.  A stopped thread's own mg_index_set either
 * has set its L0 bit (then its L1 and L2 bytes stay, the word is not zero)
 * or sets all three when it runs again; an object whose header is not
 * live yet is still in its thread's log (stats.h), which sets the bit
 * again.  fn may drop the region's pages below the object it is given. */
size_t mg_index_trim(struct mg_os_backed *c, void (*fn)(void *user, void *arg), void *arg)
{
	size_t n1, n2;
	sweep(c, fn, arg, false);
	mg_index_pagemap_drop();
	used_extent(&n1, &n2);
	return mg_os_drop_zero(l0, n1 * 8, 0) + mg_os_drop_zero(l1, n1, 0) + mg_os_drop_zero(l2, n2, 0);
}

size_t mg_index_sweep(void)
{
	return mg_index_sweep_foreach(NULL, NULL);
}

/* Every object memgc's counters call live must be found by the index:
 * returns the number of live objects the maps reach (compare it with
 * memgc_heap_stats.live_objects). */
static int count_one(void *user, void *arg)
{
	(void)user;
	(*(size_t *)arg)++;
	return 0;
}

size_t mg_index_check(void)
{
	size_t n = 0;
	mg_index_foreach(count_one, &n);
	return n;
}
