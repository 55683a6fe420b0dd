/* edges.c: the documented edge cases of every entry point, run under the
 * preload by edges.sh.
 *
 * Prints one line per check, "ok NAME" or "FAIL NAME: what was seen", and
 * exits 1 when any check failed (2 when memgc is not loaded at all).  The
 * argument is the path (with %p) for memgc_write_report(); edges.sh parses
 * the JSON.  The program does not link libmemgc.so: the memgc_* and
 * jemalloc functions are weak and come from the preload.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "memgc.h"

#pragma weak memgc_version
#pragma weak memgc_get_heap_stats
#pragma weak memgc_get_count
#pragma weak memgc_collect
#pragma weak memgc_get_threshold
#pragma weak memgc_set_threshold
#pragma weak memgc_is_live
#pragma weak memgc_find_object
#pragma weak memgc_object_size
#pragma weak memgc_write_report
#pragma weak memgc_trim

/* jemalloc's non-standard API, as <jemalloc/jemalloc.h> declares it. */
extern void *mallocx(size_t size, int flags) __attribute__((weak));
extern void *rallocx(void *ptr, size_t size, int flags) __attribute__((weak));
extern size_t xallocx(void *ptr, size_t size, size_t extra, int flags) __attribute__((weak));
extern size_t sallocx(const void *ptr, int flags) __attribute__((weak));
extern void dallocx(void *ptr, int flags) __attribute__((weak));
extern void sdallocx(void *ptr, size_t size, int flags) __attribute__((weak));
extern size_t nallocx(size_t size, int flags) __attribute__((weak));
extern int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
	__attribute__((weak));
#define MALLOCX_LG_ALIGN(la) ((int)(la))
#define MALLOCX_ALIGN(a) ((int)__builtin_ctzl((unsigned long)(a)))
#define MALLOCX_ZERO ((int)0x40)

static int failures;

/* One line per check; fmt describes what was seen when cond is false. */
static void check(const char *name, int cond, const char *fmt, ...)
{
	if (cond) {
		printf("ok %s\n", name);
	} else {
		va_list ap;
		va_start(ap, fmt);
		printf("FAIL %s: ", name);
		vprintf(fmt, ap);
		printf("\n");
		va_end(ap);
		failures++;
	}
	fflush(stdout);
}

/* Sizes hidden from the compiler, which would otherwise fold some calls. */
static volatile size_t v_max = SIZE_MAX;
static volatile size_t v_half = SIZE_MAX / 2 + 1;
static volatile size_t v_huge = (size_t)1 << 40;

static int global_word;

/* The compiler may drop a malloc whose result is freed unused, and warns
 * about pointers used after realloc or free (here on purpose: only their
 * values are looked at, or realloc failed and kept them): make a pointer
 * opaque. */
static inline void *hide(void *p)
{
	__asm__ volatile("" : "+r"(p) : : "memory");
	return p;
}

static int aligned(const void *p, size_t a)
{
	return ((uintptr_t)p & (a - 1)) == 0;
}

static int all_bytes(const void *p, size_t n, unsigned char c)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i] != c)
			return 0;
	return 1;
}

static struct memgc_heap_stats stats(void)
{
	struct memgc_heap_stats st;
	memset(&st, 0, sizeof st);
	if (memgc_get_heap_stats(&st))
		printf("memgc_get_heap_stats failed: %s\n", strerror(errno));
	return st;
}

/* ---- the C and POSIX interfaces ---- */

static void overflow(void)
{
	void *p;
	errno = 0;
	p = calloc(v_half, 4);
	check("calloc(SIZE_MAX/2+1, 4) overflow", !p && errno == ENOMEM, "%p errno %d", p, errno);
	errno = 0;
	p = calloc(v_huge >> 8, v_huge >> 8);
	check("calloc(2^32, 2^32) overflow", !p && errno == ENOMEM, "%p errno %d", p, errno);
	errno = 0;
	p = malloc(v_max);
	check("malloc(SIZE_MAX)", !p && errno == ENOMEM, "%p errno %d", p, errno);
	errno = 0;
	p = malloc(v_max - 8);
	check("malloc(SIZE_MAX - 8)", !p && errno == ENOMEM, "%p errno %d", p, errno);
	errno = 0;
	p = malloc(v_huge << 7);   /* 128 TiB: fits the header's size field, not the heap */
	check("malloc(128 TiB)", !p && errno == ENOMEM, "%p errno %d", p, errno);
	errno = 0;
	p = calloc(1, v_max);
	check("calloc(1, SIZE_MAX)", !p && errno == ENOMEM, "%p errno %d", p, errno);

	char *q = malloc(10);
	memcpy(q, "abcdefghi", 10);
	errno = 0;
	void *r = realloc(hide(q), v_max);
	check("realloc(p, SIZE_MAX) fails and keeps p",
	      !r && errno == ENOMEM && memgc_is_live(q) && !strcmp(q, "abcdefghi"),
	      "%p errno %d live %d", r, errno, memgc_is_live(q));
	free(q);
}

static void memalign_family(void)
{
	static const size_t bad[] = { 3, 0, 24 };
	for (size_t i = 0; i < 3; i++) {
		char name[64];
		void *p = (void *)&global_word;
		errno = EDOM;
		int r = posix_memalign(&p, bad[i], 16);
		snprintf(name, sizeof name, "posix_memalign alignment %zu", bad[i]);
		check(name, r == EINVAL && errno == EDOM && p == (void *)&global_word,
		      "returned %d, errno %d, out %p", r, errno, p);
	}
	void *p = (void *)&global_word;
	errno = EDOM;
	int r = posix_memalign(&p, 64, v_max);
	check("posix_memalign(64, SIZE_MAX)", r == ENOMEM && errno == EDOM && p == (void *)&global_word,
	      "returned %d, errno %d", r, errno);
	p = NULL;
	r = posix_memalign(&p, sizeof(void *), 40);
	check("posix_memalign alignment sizeof(void *)", r == 0 && p && aligned(p, 16), "%d %p", r, p);
	free(p);

	errno = 0;
	p = aligned_alloc(3, 16);
	check("aligned_alloc(3, 16)", !p && errno == EINVAL, "%p errno %d", p, errno);
	errno = 0;
	p = aligned_alloc(64, v_max);
	check("aligned_alloc(64, SIZE_MAX)", !p && errno == ENOMEM, "%p errno %d", p, errno);

	errno = 0;
	p = memalign(v_half + 1, 10);
	check("memalign(SIZE_MAX/2+2, 10)", !p && errno == EINVAL, "%p errno %d", p, errno);
	void *small1 = aligned_alloc(1, 10), *small8 = aligned_alloc(8, 10);
	check("aligned_alloc(1, 10) and (8, 10)", small1 && small8 && aligned(small1, 16) &&
	      aligned(small8, 16), "%p %p", small1, small8);
	free(small1);
	free(small8);

	p = memalign(24, 100);
	check("memalign(24, 100) rounds up to 32", p && aligned(p, 32) && memgc_object_size(p) == 100,
	      "%p size %zu", p, p ? memgc_object_size(p) : 0);
	free(p);
	p = memalign(0, 10);
	check("memalign(0, 10)", p && aligned(p, 16), "%p", p);
	free(p);

	/* every alignment from 16 to 1 MiB, each way, several sizes */
	static const char *const fn[] = { "posix_memalign", "aligned_alloc", "memalign" };
	char lost[160] = "";
	int found = 1;
	for (int f = 0; f < 3; f++) {
		char what[160] = "";
		int good = 1;
		for (size_t a = 16; a <= ((size_t)1 << 20) && good; a <<= 1) {
			size_t sizes[] = { 1, a / 2 + 1, a, 3 * a + 5, 100 };
			for (size_t k = 0; k < 5 && good; k++) {
				size_t n = sizes[k];
				void *q = NULL;
				if (f == 0 && posix_memalign(&q, a, n))
					q = NULL;
				if (f == 1)
					q = aligned_alloc(a, n);
				if (f == 2)
					q = memalign(a, n);
				if (!q || !aligned(q, a)) {
					snprintf(what, sizeof what, "alignment %zu size %zu gave %p", a, n, q);
					good = 0;
					break;
				}
				memset(q, 0xa5, n);
				if (malloc_usable_size(q) < n || memgc_object_size(q) != n ||
				    !all_bytes(q, n, 0xa5)) {
					snprintf(what, sizeof what, "alignment %zu size %zu: usable %zu, "
						 "object size %zu", a, n, malloc_usable_size(q),
						 memgc_object_size(q));
					good = 0;
				}
				void *in = memgc_find_object((char *)q + n - 1);
				if (found && (in != q || memgc_find_object((char *)q - 1) != NULL)) {
					snprintf(lost, sizeof lost, "%s(%zu, %zu) at %p: last byte in %p, "
						 "the byte before in %p", fn[f], a, n, q, in,
						 memgc_find_object((char *)q - 1));
					found = 0;
				}
				free(q);
			}
		}
		char name[96];
		snprintf(name, sizeof name, "%s alignments 16 to 1 MiB, writable", fn[f]);
		check(name, good, "%s", what);
	}
	check("memgc_find_object(last byte) of every aligned object", found, "%s", lost);

	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	p = valloc(100);
	check("valloc(100) page-aligned", p && aligned(p, page), "%p", p);
	if (p)
		memset(p, 1, 100);
	free(p);
	p = pvalloc(1);
	check("pvalloc(1) page-aligned, usable >= a page",
	      p && aligned(p, page) && malloc_usable_size(p) >= page, "%p usable %zu", p,
	      malloc_usable_size(p));
	if (p)
		memset(p, 1, page);
	free(p);
	p = pvalloc(page + 1);
	check("pvalloc(page + 1) usable >= 2 pages",
	      p && aligned(p, page) && malloc_usable_size(p) >= 2 * page, "%p usable %zu", p,
	      malloc_usable_size(p));
	free(p);
}

static void realloc_family(void)
{
	struct memgc_heap_stats s0 = stats();
	char *p = hide(realloc(NULL, 50));
	check("realloc(NULL, 50) is malloc", p && memgc_is_live(p) && memgc_object_size(p) == 50,
	      "%p size %zu", (void *)p, p ? memgc_object_size(p) : 0);
	struct memgc_heap_stats s1 = stats();
	check("realloc(NULL, 50) counts one allocation",
	      s1.allocations - s0.allocations == 1 && s1.live_objects - s0.live_objects == 1,
	      "allocations +%llu live +%lld", (unsigned long long)(s1.allocations - s0.allocations),
	      (long long)(s1.live_objects - s0.live_objects));
	uintptr_t addr = (uintptr_t)p;
	errno = EDOM;
	void *r = realloc(hide(p), 0);
	struct memgc_heap_stats s2 = stats();
	check("realloc(p, 0) frees and returns NULL",
	      r == NULL && !memgc_is_live((void *)addr) && s2.live_objects == s0.live_objects &&
	      s2.deallocations - s1.deallocations == 1,
	      "returned %p, live %d, live objects %lld", r, memgc_is_live((void *)addr),
	      (long long)(s2.live_objects - s0.live_objects));

	/* contents survive growth, shrinking and the move to the large arena */
	p = malloc(100);
	for (int i = 0; i < 100; i++)
		p[i] = (char)i;
	int good = 1;
	static const size_t steps[] = { 10000, 5, 3 << 20, 64, 200000, 17 };
	size_t have = 100;
	for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
		p = realloc(p, steps[k]);
		size_t keep = have < steps[k] ? have : steps[k];
		for (size_t i = 0; p && i < keep; i++)
			if (p[i] != (char)i)
				good = 0;
		if (!p || memgc_object_size(p) != steps[k])
			good = 0;
		if (!p)
			break;
		for (size_t i = keep; i < steps[k]; i++)
			p[i] = (char)i;
		have = steps[k];
	}
	check("realloc keeps contents through every size", good, "lost data or size");
	free(p);

	errno = 0;
	p = reallocarray(NULL, v_half, 3);
	check("reallocarray(NULL, SIZE_MAX/2+1, 3) overflow", !p && errno == ENOMEM, "%p errno %d",
	      (void *)p, errno);
	p = reallocarray(NULL, 10, 20);
	check("reallocarray(NULL, 10, 20)", p && memgc_object_size(p) == 200, "%p", (void *)p);
	memset(p, 7, 200);
	errno = 0;
	r = reallocarray(hide(p), v_huge, v_huge);
	check("reallocarray(p, 2^40, 2^40) fails and keeps p",
	      !r && errno == ENOMEM && memgc_is_live(p) && all_bytes(p, 200, 7), "%p errno %d", r, errno);
	r = reallocarray(p, 30, 20);
	check("reallocarray(p, 30, 20) grows", r && memgc_object_size(r) == 600 && all_bytes(r, 200, 7),
	      "%p", r);
	free(r);
}

static void sizes_and_free(void)
{
	check("malloc_usable_size(NULL) == 0", malloc_usable_size(NULL) == 0, "%zu",
	      malloc_usable_size(NULL));
	int good = 1;
	size_t bad_n = 0, bad_u = 0;
	for (size_t n = 1; n < 70000; n = n * 5 / 4 + 1) {
		void *p = malloc(n);
		size_t u = malloc_usable_size(p);
		if (!p || u < n) {
			good = 0;
			bad_n = n;
			bad_u = u;
		} else {
			memset(p, 0x5a, u);   /* all of the usable size is the program's */
		}
		free(p);
	}
	check("malloc_usable_size >= requested, and all of it writable", good, "size %zu usable %zu",
	      bad_n, bad_u);
	char *obj = hide(malloc(100));
	size_t u1 = malloc_usable_size(obj + 16), u2 = malloc_usable_size(&global_word);
	check("malloc_usable_size of an interior or foreign pointer is 0", u1 == 0 && u2 == 0,
	      "%zu %zu", u1, u2);
	free(obj);

	errno = EDOM;
	free(NULL);
	check("free(NULL) harmless, errno kept", errno == EDOM, "errno %d", errno);
	void *small = malloc(24), *large = malloc(4 << 20), *al = aligned_alloc(4096, 10000);
	memset(large, 1, 4 << 20);
	int e1, e2, e3;
	errno = EDOM;
	free(small);
	e1 = errno;
	errno = EDOM;
	free(large);
	e2 = errno;
	errno = EDOM;
	free(al);
	e3 = errno;
	check("free keeps errno (small, 4 MiB, aligned)", e1 == EDOM && e2 == EDOM && e3 == EDOM,
	      "errno %d %d %d", e1, e2, e3);

	/* calloc zeroes memory that was used before, small and large */
	static const size_t csz[] = { 24, 3000, 40000, 3 << 20 };
	int zeroed = 1;
	for (size_t k = 0; k < 4; k++) {
		char *dirty[8];
		for (int i = 0; i < 8; i++) {
			dirty[i] = malloc(csz[k]);
			memset(dirty[i], 0xcd, csz[k]);
		}
		for (int i = 0; i < 8; i++)
			free(dirty[i]);
		for (int i = 0; i < 8; i++) {
			dirty[i] = calloc(1, csz[k]);
			if (!dirty[i] || !all_bytes(dirty[i], csz[k], 0))
				zeroed = 0;
		}
		for (int i = 0; i < 8; i++)
			free(dirty[i]);
	}
	check("calloc zeroes reused memory (24 B to 3 MiB)", zeroed, "found a non-zero byte");

	void *a = hide(malloc(0)), *b = hide(malloc(0));
	check("malloc(0) gives unique non-NULL pointers",
	      a && b && a != b && memgc_is_live(a) && memgc_is_live(b), "%p %p", a, b);
	errno = 0;
	size_t z = memgc_object_size(a);
	check("memgc_object_size(malloc(0)) is 0, errno left alone", z == 0 && errno == 0,
	      "%zu errno %d", z, errno);
	free(a);
	free(b);
}

static void glibc_extras(void)
{
	int r = malloc_trim(0);
	check("malloc_trim(0) == 1", r == 1, "%d", r);
	r = mallopt(M_ARENA_MAX, 2);
	int r2 = mallopt(M_MMAP_THRESHOLD, 1 << 20);
	check("mallopt returns 1", r == 1 && r2 == 1, "%d %d", r, r2);

	size_t n = 8 << 20;
	char *p = malloc(n);
	memset(p, 3, n);
	size_t u = malloc_usable_size(p);
	struct mallinfo2 m1 = mallinfo2();
	free(p);
	struct mallinfo2 m2 = mallinfo2();
	check("mallinfo2: uordblks counts a live 8 MiB object",
	      m1.uordblks >= n && m1.uordblks - m2.uordblks == u, "uordblks %zu then %zu (usable %zu)",
	      m1.uordblks, m2.uordblks, u);
	check("mallinfo2: arena is the RSS, >= 8 MiB; fordblks = arena - uordblks",
	      m1.arena >= n && m1.fordblks == (m1.arena > m1.uordblks ? m1.arena - m1.uordblks : 0),
	      "arena %zu fordblks %zu uordblks %zu", m1.arena, m1.fordblks, m1.uordblks);
	check("mallinfo2: the other fields are 0",
	      !m1.ordblks && !m1.smblks && !m1.hblks && !m1.hblkhd && !m1.usmblks && !m1.fsmblks &&
	      !m1.keepcost, "%zu %zu %zu %zu %zu %zu %zu", m1.ordblks, m1.smblks, m1.hblks, m1.hblkhd,
	      m1.usmblks, m1.fsmblks, m1.keepcost);

	/* malloc_trim and memgc_trim give freed pages back at once */
	enum { N = 1 << 19 };   /* 64 MiB in 128-byte objects */
	static char *v[N];
	struct memgc_heap_stats t0 = stats();
	for (int i = 0; i < N; i++) {
		v[i] = malloc(112);
		if (v[i])
			memset(v[i], 9, 112);
	}
	struct memgc_heap_stats t1 = stats();
	for (int i = 0; i < N; i++)
		free(v[i]);
	errno = 0;
	r = memgc_trim();
	int e = errno;
	struct memgc_heap_stats t2 = stats();
	check("memgc_trim() after freeing 64 MiB: returns 0, RSS drops by 32 MiB or more",
	      r == 0 && e == 0 && t1.rss_bytes > t2.rss_bytes &&
	      t1.rss_bytes - t2.rss_bytes >= (32u << 20),
	      "returned %d errno %d, RSS %llu MiB before, %llu MiB with the objects, %llu MiB after",
	      r, e, (unsigned long long)(t0.rss_bytes >> 20), (unsigned long long)(t1.rss_bytes >> 20),
	      (unsigned long long)(t2.rss_bytes >> 20));
}

/* ---- jemalloc's API ---- */

static void jemalloc_api(void)
{
	if (!mallocx || !rallocx || !xallocx || !sallocx || !dallocx || !sdallocx || !nallocx ||
	    !mallctl) {
		check("the jemalloc API is exported", 0, "a function is missing");
		return;
	}
	struct memgc_heap_stats s0 = stats();

	char *p = mallocx(100, 0);
	check("mallocx(100, 0)", p && aligned(p, 16) && sallocx(p, 0) >= 100 &&
	      sallocx(p, 0) == malloc_usable_size(p) && memgc_object_size(p) == 100,
	      "%p sallocx %zu", (void *)p, p ? sallocx(p, 0) : 0);
	dallocx(p, 0);

	/* nallocx predicts what mallocx gives */
	static const size_t sizes[] = { 1, 8, 16, 17, 100, 1000, 4000, 4096, 20000, 100000,
					1 << 20, (3 << 20) + 1 };
	static const int aligns[] = { 0, 4, 6, 12 };   /* lg: none, 16, 64, 4096 */
	int good = 1;
	char what[160] = "";
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
		for (size_t j = 0; j < 4; j++) {
			int fl = aligns[j] ? MALLOCX_LG_ALIGN(aligns[j]) : 0;
			void *q = mallocx(sizes[i], fl);
			size_t want = nallocx(sizes[i], fl), got = q ? sallocx(q, 0) : 0;
			if (!q || got != want || got < sizes[i] ||
			    (aligns[j] && !aligned(q, (size_t)1 << aligns[j]))) {
				if (good)
					snprintf(what, sizeof what, "size %zu lg_align %d: nallocx %zu, "
						 "sallocx %zu, %p", sizes[i], aligns[j], want, got, q);
				good = 0;
			}
			dallocx(q, fl);
		}
	check("nallocx == sallocx(mallocx()) for sizes and alignments", good, "%s", what);

	errno = EDOM;
	p = mallocx(v_max, 0);
	int e1 = errno;
	char *keep = mallocx(40, 0);
	memset(keep, 4, 40);
	errno = EDOM;
	void *r2 = rallocx(hide(keep), v_max, 0);
	check("mallocx/rallocx fail with errno left alone; rallocx keeps the object",
	      !p && !r2 && e1 == EDOM && errno == EDOM && memgc_is_live(keep) && all_bytes(keep, 40, 4),
	      "%p %p errno %d %d", (void *)p, r2, e1, errno);
	dallocx(keep, 0);

	p = mallocx(1000, MALLOCX_ALIGN(4096));
	check("mallocx MALLOCX_ALIGN(4096)", p && aligned(p, 4096) && memgc_object_size(p) == 1000,
	      "%p", (void *)p);
	dallocx(p, MALLOCX_ALIGN(4096));

	/* MALLOCX_ZERO on memory known to be dirty */
	for (int i = 0; i < 4; i++) {
		char *d = malloc(300);
		memset(d, 0xff, malloc_usable_size(d));
		free(d);
	}
	p = mallocx(300, MALLOCX_ZERO);
	check("mallocx MALLOCX_ZERO", p && all_bytes(p, 300, 0), "not zeroed");
	memset(p, 0xee, 300);
	size_t old = sallocx(p, 0);
	memset(p, 0xee, old);
	p = rallocx(p, 5000, MALLOCX_ZERO);
	check("rallocx grows with MALLOCX_ZERO: old bytes kept, the rest zero",
	      p && all_bytes(p, old, 0xee) && all_bytes(p + old, sallocx(p, 0) - old, 0),
	      "%p", (void *)p);
	p = rallocx(p, 200, MALLOCX_ALIGN(256));
	check("rallocx to MALLOCX_ALIGN(256) keeps contents",
	      p && aligned(p, 256) && all_bytes(p, 200, 0xee) && memgc_object_size(p) == 200,
	      "%p", (void *)p);
	dallocx(p, 0);

	/* an object aligned to 256 by chance, not made so: rallocx with
	 * MALLOCX_ALIGN(256) must still give a 256-aligned result */
	char *chance = NULL, *pool[64];
	int np = 0;
	while (np < 64 && !chance) {
		char *c = malloc(32);
		if (((uintptr_t)c & 255) == 0)
			chance = c;
		else
			pool[np++] = c;
	}
	if (chance) {
		memset(chance, 0x42, 32);
		char *moved = rallocx(chance, 5000, MALLOCX_ALIGN(256));
		check("rallocx MALLOCX_ALIGN(256) of a malloc(32) that is 256-aligned by chance",
		      moved && aligned(moved, 256) && all_bytes(moved, 32, 0x42), "%p", (void *)moved);
		dallocx(moved, 0);
	} else {
		check("rallocx MALLOCX_ALIGN(256) of a malloc(32) that is 256-aligned by chance", 0,
		      "none of 64 objects of malloc(32) was 256-aligned");
	}
	while (np > 0)
		free(pool[--np]);

	p = mallocx(5000, 0);
	size_t x = xallocx(p, 100, 0, 0);
	check("xallocx shrink returns the real size", x >= 100 && x == sallocx(p, 0), "%zu vs %zu",
	      x, sallocx(p, 0));
	size_t before = sallocx(p, 0);
	x = xallocx(p, before + 1, 30000, 0);
	check("xallocx grow returns the real size", x >= before && x == sallocx(p, 0) &&
	      x == malloc_usable_size(p), "%zu vs %zu", x, sallocx(p, 0));
	sdallocx(p, 100, 0);

	/* the two APIs mix */
	p = mallocx(64, 0);
	free(p);
	p = malloc(64);
	dallocx(p, 0);
	p = malloc(80);
	sdallocx(p, 80, 0);
	p = mallocx(128, MALLOCX_ALIGN(64));
	p = realloc(p, 4000);
	free(p);
	p = calloc(10, 10);
	p = rallocx(p, 1000, 0);
	dallocx(p, 0);
	p = aligned_alloc(128, 128);
	p = rallocx(p, 256, MALLOCX_ALIGN(128));
	char *mixed_ok = p && aligned(p, 128) ? p : NULL;
	sdallocx(p, 256, MALLOCX_ALIGN(128));
	struct memgc_heap_stats s1 = stats();
	check("mallocx/dallocx mix with malloc/free; counts balance",
	      mixed_ok && s1.live_objects == s0.live_objects && s1.errors == s0.errors &&
	      s1.foreign_frees == s0.foreign_frees,
	      "live %lld errors %llu foreign %llu", (long long)(s1.live_objects - s0.live_objects),
	      (unsigned long long)(s1.errors - s0.errors),
	      (unsigned long long)(s1.foreign_frees - s0.foreign_frees));

	const char *v = NULL;
	size_t len = sizeof v;
	int r = mallctl("version", &v, &len, NULL, 0);
	check("mallctl(\"version\")", r == 0 && v && v[0] >= '0' && v[0] <= '9' && strchr(v, '.'),
	      "returned %d, \"%s\"", r, v ? v : "(null)");
	unsigned narenas = 0;
	len = sizeof narenas;
	r = mallctl("arenas.narenas", &narenas, &len, NULL, 0);
	check("mallctl(\"arenas.narenas\")", r == 0 && narenas >= 1, "returned %d, %u", r, narenas);
	r = mallctl("no.such.name", NULL, NULL, NULL, 0);
	check("mallctl of an unknown name is ENOENT", r == ENOENT, "returned %d", r);
}

/* ---- the memgc API ---- */

static void api_stats(void)
{
	errno = 0;
	int r = memgc_get_heap_stats(NULL);
	check("memgc_get_heap_stats(NULL)", r == -1 && errno == EINVAL, "%d errno %d", r, errno);

	struct memgc_heap_stats s0 = stats();
	char *a = hide(malloc(100)), *b = hide(malloc(200)), *c = hide(calloc(3, 100)),
	     *d = hide(malloc(1000));
	d = hide(realloc(d, 5000));
	free(b);
	char *e = hide(aligned_alloc(64, 70));
	struct memgc_heap_stats s1 = stats();
	uint64_t usable = malloc_usable_size(a) + malloc_usable_size(c) + malloc_usable_size(d) +
			  malloc_usable_size(e);
#define D(f) ((long long)(s1.f - s0.f))
	check("heap stats: exact deltas after 5 allocations, 1 realloc, 1 free",
	      D(allocations) == 5 && D(deallocations) == 1 && D(live_objects) == 4 &&
	      D(live_bytes) == 100 + 300 + 5000 + 70 &&
	      D(allocated_bytes) == 100 + 200 + 300 + 1000 + 5000 + 70 &&
	      (uint64_t)D(live_usable_bytes) == usable && D(errors) == 0 && D(foreign_frees) == 0,
	      "allocations %+lld deallocations %+lld live_objects %+lld live_bytes %+lld "
	      "allocated_bytes %+lld live_usable_bytes %+lld (want %llu) errors %+lld",
	      D(allocations), D(deallocations), D(live_objects), D(live_bytes), D(allocated_bytes),
	      D(live_usable_bytes), (unsigned long long)usable, D(errors));
	check("heap stats: peaks >= live, rss > 0",
	      s1.peak_live_objects >= s1.live_objects && s1.peak_live_bytes >= s1.live_bytes &&
	      s1.peak_usable_bytes >= s1.live_usable_bytes && s1.rss_bytes > 0 &&
	      s1.peak_rss_bytes >= s1.rss_bytes / 2 && s1.sites >= 1,
	      "peak %llu/%llu rss %llu sites %llu", (unsigned long long)s1.peak_live_objects,
	      (unsigned long long)s1.live_objects, (unsigned long long)s1.rss_bytes,
	      (unsigned long long)s1.sites);
	free(a);
	free(c);
	free(d);
	free(e);
	s1 = stats();
	check("heap stats: back to the start after the frees",
	      D(live_objects) == 0 && D(live_bytes) == 0 && D(live_usable_bytes) == 0 &&
	      D(allocations) == 5 && D(deallocations) == 5,
	      "live_objects %+lld live_bytes %+lld usable %+lld", D(live_objects), D(live_bytes),
	      D(live_usable_bytes));
#undef D
}

static void api_counts(void)
{
	long t[3] = { 0, 0, 0 }, c0[3], c1[3], c2[3];
	errno = 0;
	int r = memgc_get_count(NULL);
	check("memgc_get_count(NULL)", r == -1 && errno == EINVAL, "%d errno %d", r, errno);
	errno = 0;
	r = memgc_get_threshold(NULL);
	check("memgc_get_threshold(NULL)", r == -1 && errno == EINVAL, "%d errno %d", r, errno);
	r = memgc_get_threshold(t);
	check("memgc_get_threshold: (1000000, 10, 10) by default",
	      r == 0 && t[0] == 1000000 && t[1] == 10 && t[2] == 10, "%ld %ld %ld", t[0], t[1], t[2]);
	r = memgc_set_threshold(100000, 20, 30);
	memgc_get_threshold(t);
	check("memgc_set_threshold(100000, 20, 30)",
	      r == 0 && t[0] == 100000 && t[1] == 20 && t[2] == 30, "%d: %ld %ld %ld", r, t[0], t[1], t[2]);
	static const long neg[3][3] = { { -1, 10, 10 }, { 700, -1, 10 }, { 700, 10, -5 } };
	int good = 1;
	for (int i = 0; i < 3; i++) {
		errno = 0;
		r = memgc_set_threshold(neg[i][0], neg[i][1], neg[i][2]);
		memgc_get_threshold(t);
		if (r != -1 || errno != EINVAL || t[0] != 100000 || t[1] != 20 || t[2] != 30)
			good = 0;
	}
	check("memgc_set_threshold with a negative value: EINVAL, unchanged", good, "%d %ld %ld %ld",
	      r, t[0], t[1], t[2]);

	/* count[0]: allocations minus deallocations (no collection can run:
	 * the threshold is far away) */
	void *p[10];
	memgc_get_count(c0);
	for (int i = 0; i < 10; i++)
		p[i] = hide(malloc(32));
	memgc_get_count(c1);
	for (int i = 0; i < 10; i++)
		free(p[i]);
	memgc_get_count(c2);
	check("memgc_get_count: count[0] +10 after 10 mallocs, back after 10 frees",
	      c1[0] - c0[0] == 10 && c2[0] == c0[0] && c0[1] >= 0 && c0[2] >= 0,
	      "%ld -> %ld -> %ld", c0[0], c1[0], c2[0]);

	/* CPython's rule after a collection: every free lowers count[0],
	 * that of an object the collection saw too, and never below 0 */
	void *old[200], *young[80];
	for (int i = 0; i < 200; i++)
		old[i] = hide(malloc(32));
	memgc_collect(0);
	memgc_get_count(c0);
	for (int i = 0; i < 50; i++)
		young[i] = hide(malloc(32));
	memgc_get_count(c1);
	for (int i = 0; i < 200; i++)
		free(old[i]);
	memgc_get_count(c2);
	for (int i = 50; i < 80; i++)
		young[i] = hide(malloc(32));
	long c3[3];
	memgc_get_count(c3);
	check("memgc_get_count after a collection: 0, +50, 0 after 200 frees of survivors, +30",
	      c0[0] == 0 && c1[0] == 50 && c2[0] == 0 && c3[0] == 30,
	      "%ld -> %ld -> %ld -> %ld", c0[0], c1[0], c2[0], c3[0]);
	for (int i = 0; i < 80; i++)
		free(young[i]);
	memgc_set_threshold(1000000, 10, 10);
}

static void api_objects(void)
{
	char *p = malloc(64);
	int local = 0;
	const char *literal = "literal";
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *none = mmap(NULL, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *anon = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check("memgc_is_live(malloc(64))", memgc_is_live(p) == 1, "%d", memgc_is_live(p));
	/* no object starts at any of these, and only the first three are in one */
	const void *not_starts[] = { p + 1, p + 8, p + 63, p - 16, p - 1, NULL, (void *)1,
				     (void *)16, (void *)-1, (void *)-16,
				     (void *)(uintptr_t)0x7fffffff0000, &local, &global_word, literal,
				     none, anon, (char *)none + 16, (void *)&api_objects };
	int good = 1;
	size_t bad = 0;
	for (size_t i = 0; i < sizeof not_starts / sizeof not_starts[0]; i++) {
		void *want = i < 3 ? p : NULL;
		if (memgc_is_live(not_starts[i]) != 0 || memgc_find_object(not_starts[i]) != want) {
			good = 0;
			bad = i;
		}
	}
	check("memgc_is_live/find_object on interior, wild and foreign pointers", good,
	      "pointer %zu (%p): live %d, in %p", bad, not_starts[bad], memgc_is_live(not_starts[bad]),
	      memgc_find_object(not_starts[bad]));
	uintptr_t addr = (uintptr_t)p;
	free(hide(p));
	check("memgc_is_live after free", memgc_is_live((void *)addr) == 0, "still live");
	check("memgc_find_object after free", memgc_find_object((void *)addr) == NULL, "still found");
	munmap(none, page);
	munmap(anon, page);

	/* interior pointers: first byte, last byte, one past the end */
	static const size_t sizes[] = { 100, 112, 1, 16, 4000, 70000, 3 << 20 };
	char what[200] = "";
	good = 1;
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		size_t n = sizes[i];
		char *o = malloc(n), *next = malloc(n);   /* likely a neighbour right after it */
		void *f0 = memgc_find_object(o), *fm = memgc_find_object(o + n / 2),
		     *fl = memgc_find_object(o + n - 1), *fe = memgc_find_object(o + n);
		if (f0 != o || fm != o || fl != o || fe != NULL || memgc_find_object(next) != next) {
			snprintf(what, sizeof what, "size %zu at %p: first %p middle %p last %p past %p",
				 n, (void *)o, f0, fm, fl, fe);
			good = 0;
		}
		free(next);
		free(o);
	}
	check("memgc_find_object: first, middle and last byte; one past the end is NULL", good,
	      "%s", what);
	char *o = malloc(100), *next = malloc(100);
	void *fe = memgc_find_object(o + 100), *fe2 = memgc_find_object(o + 111);
	check("memgc_find_object(one past the end of malloc(100))", fe == NULL && fe2 == NULL,
	      "%p %p", fe, fe2);
	free(next);
	free(o);
	o = aligned_alloc(4096, 5000);
	check("memgc_find_object on an aligned object",
	      memgc_find_object(o + 4999) == o && memgc_find_object(o - 1) == NULL &&
	      memgc_find_object(o - 16) == NULL && memgc_find_object(o + 5000) == NULL,
	      "last %p before %p header %p past %p", memgc_find_object(o + 4999),
	      memgc_find_object(o - 1), memgc_find_object(o - 16), memgc_find_object(o + 5000));
	free(o);

	p = malloc(100);
	size_t s1 = memgc_object_size(p);
	p = realloc(p, 300);
	size_t s2 = memgc_object_size(p);
	char *c = calloc(7, 9);
	size_t s3 = memgc_object_size(c);
	errno = 0;
	size_t s4 = memgc_object_size(p + 1);
	int e4 = errno;
	check("memgc_object_size: 100, after realloc 300, calloc(7, 9) 63",
	      s1 == 100 && s2 == 300 && s3 == 63, "%zu %zu %zu", s1, s2, s3);
	check("memgc_object_size(interior) is 0, EINVAL", s4 == 0 && e4 == EINVAL, "%zu errno %d", s4, e4);
	free(p);
	free(c);
}

static void api_report(const char *path)
{
	errno = 0;
	int r = memgc_write_report(NULL);
	check("memgc_write_report(NULL)", r == -1 && errno == EINVAL, "%d errno %d", r, errno);
	errno = 0;
	r = memgc_write_report("");
	check("memgc_write_report(\"\")", r == -1 && errno == EINVAL, "%d errno %d", r, errno);
	errno = 0;
	r = memgc_write_report("/nonexistent-memgc-dir/r.json");
	check("memgc_write_report(no such directory)", r == -1 && errno == ENOENT, "%d errno %d", r,
	      errno);
	void *keep[5];
	for (int i = 0; i < 5; i++)
		keep[i] = hide(malloc(777));
	r = memgc_write_report(path);
	check("memgc_write_report(path)", r == 0, "%d errno %d", r, errno);
	for (int i = 0; i < 5; i++)
		free(keep[i]);
}

int main(int argc, char **argv)
{
	if (!memgc_version || !memgc_get_heap_stats) {
		printf("FAIL memgc is not loaded (run under LD_PRELOAD=libmemgc.so)\n");
		return 2;
	}
	char want[32];
	snprintf(want, sizeof want, "%d.%d.", MEMGC_VERSION_MAJOR, MEMGC_VERSION_MINOR);
	const char *v = memgc_version();
	check("memgc_version", v && !strncmp(v, want, strlen(want)), "\"%s\"", v ? v : "(null)");
	overflow();
	memalign_family();
	realloc_family();
	sizes_and_free();
	glibc_extras();
	jemalloc_api();
	api_stats();
	api_counts();
	api_objects();
	api_report(argc > 1 ? argv[1] : "edges.%p.json");
	printf("%d failed\n", failures);
	return failures != 0;
}
