/* test_stats.c: counters (stats.c): exact sums and peaks, CPython counts and thresholds, threads. */
#include "config.h"
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>

#include "unit.h"

TestSuite(stats, .init = mg_test_init, .timeout = 60);

static void *alloc(size_t n)
{
	void *p = mg_heap_alloc(n, 16, false, MG_SITE_UNKNOWN);
	cr_assert_not_null(p);
	return p;
}

Test(stats, starts_at_zero)
{
	struct memgc_heap_stats st = mg_test_stats();
	cr_assert_eq(st.allocations, 0);
	cr_assert_eq(st.deallocations, 0);
	cr_assert_eq(st.live_objects, 0);
	cr_assert_eq(st.live_bytes, 0);
	cr_assert_eq(st.peak_live_bytes, 0);
	cr_assert_eq(st.errors, 0);
	cr_assert_eq(st.foreign_frees, 0);
	cr_assert_eq(st.sites, 0);
	cr_assert_gt(st.rss_bytes, 0);
	cr_assert_geq(st.peak_rss_bytes, st.rss_bytes);
	long c[3];
	mg_stats_counts(c);
	cr_assert_eq(c[0], 0);
	cr_assert_eq(c[1], 0);
	cr_assert_eq(c[2], 0);
}

/* 100 objects of 1000 bytes, free 60, allocate 10 more. */
Test(stats, one_thread_exact)
{
	void *p[110];
	for (int i = 0; i < 100; i++)
		p[i] = alloc(1000);
	for (int i = 0; i < 60; i++)
		cr_assert_eq(mg_heap_free(p[i], NULL), 0);
	for (int i = 100; i < 110; i++)
		p[i] = alloc(1000);
	size_t u = mg_test_usable(1000);
	cr_assert_eq(u, 1008);   /* 1016 bytes take the 1024 class */
	struct memgc_heap_stats st = mg_test_stats();
	cr_assert_eq(st.allocations, 110);
	cr_assert_eq(st.deallocations, 60);
	cr_assert_eq(st.live_objects, 50);
	cr_assert_eq(st.live_bytes, 50000);
	cr_assert_eq(st.live_usable_bytes, 50 * u);
	cr_assert_eq(st.allocated_bytes, 110000);
	cr_assert_eq(st.peak_live_objects, 100);
	cr_assert_eq(st.peak_live_bytes, 100000);
	cr_assert_eq(st.peak_usable_bytes, 100 * u);
	long c[3];
	mg_stats_counts(c);
	cr_assert_eq(c[0], 50);
	for (int i = 60; i < 110; i++)
		cr_assert_eq(mg_heap_free(p[i], NULL), 0);
	st = mg_test_stats();
	cr_assert_eq(st.live_objects, 0);
	cr_assert_eq(st.live_bytes, 0);
	cr_assert_eq(st.live_usable_bytes, 0);
	cr_assert_eq(st.peak_live_bytes, 100000);
	mg_stats_counts(c);
	cr_assert_eq(c[0], 0);
}

/* A seeded random sequence of allocations, resizes and frees; the test
 * keeps its own books, and the peaks (exact for one thread) must match
 * them whatever the flush points. */
Test(stats, random_sequence_peaks_exact)
{
	enum { N = 5000 };
	void **p = calloc(N, sizeof *p);
	size_t *sz = calloc(N, sizeof *sz);
	uint64_t s = 7, allocs = 0, frees = 0, bytes = 0, usable = 0, objs = 0, in = 0;
	uint64_t peak_b = 0, peak_u = 0, peak_o = 0;
	for (int step = 0; step < 40000; step++) {
		uint64_t r = mg_test_rand(&s);
		int i = (int)(r % N);
		if (p[i] && (r >> 8) % 5 == 0) {
			/* a resize: bytes move, objects do not */
			size_t m = (r >> 24) % 3000;
			void *q = mg_heap_realloc(p[i], m, 0, NULL);
			cr_assert_not_null(q);
			p[i] = q;
			bytes += m - sz[i];
			usable += mg_test_usable(m) - mg_test_usable(sz[i]);
			in += m;
			sz[i] = m;
			if (bytes > peak_b) peak_b = bytes;
			if (usable > peak_u) peak_u = usable;
		} else if (p[i]) {
			cr_assert_eq(mg_heap_free(p[i], NULL), 0);
			frees++;
			objs--;
			bytes -= sz[i];
			usable -= mg_test_usable(sz[i]);
			p[i] = NULL;
		} else {
			sz[i] = (r >> 32) % 50 == 0 ? (r >> 16) % 300000 : (r >> 16) % 2000;
			p[i] = alloc(sz[i]);
			allocs++;
			objs++;
			bytes += sz[i];
			in += sz[i];
			usable += mg_test_usable(sz[i]);
			if (bytes > peak_b) peak_b = bytes;
			if (usable > peak_u) peak_u = usable;
			if (objs > peak_o) peak_o = objs;
		}
		if (step % 9999 == 0) {
			struct memgc_heap_stats st = mg_test_stats();
			cr_assert_eq(st.live_bytes, bytes, "step %d", step);
			cr_assert_eq(st.peak_live_bytes, peak_b, "step %d", step);
		}
	}
	struct memgc_heap_stats st = mg_test_stats();
	cr_assert_eq(st.allocations, allocs);
	cr_assert_eq(st.deallocations, frees);
	cr_assert_eq(st.live_objects, objs);
	cr_assert_eq(st.live_bytes, bytes);
	cr_assert_eq(st.live_usable_bytes, usable);
	cr_assert_eq(st.allocated_bytes, in);
	cr_assert_eq(st.peak_live_objects, peak_o);
	cr_assert_eq(st.peak_live_bytes, peak_b);
	cr_assert_eq(st.peak_usable_bytes, peak_u);
	long c[3];
	mg_stats_counts(c);
	cr_assert_eq(c[0], (long)objs);
	free(p);
	free(sz);
}

/* count[0] moves with every allocation and free, flushed or pending. */
Test(stats, count0_follows_allocations_minus_frees)
{
	void *p[200];
	long c[3];
	for (int i = 0; i < 200; i++) {
		p[i] = alloc(8);
		mg_stats_counts(c);
		cr_assert_eq(c[0], i + 1);
	}
	for (int i = 0; i < 150; i++) {
		cr_assert_eq(mg_heap_free(p[i], NULL), 0);
		mg_stats_counts(c);
		cr_assert_eq(c[0], 200 - (i + 1));
	}
	struct memgc_heap_stats st = mg_test_stats();   /* flushes */
	mg_stats_counts(c);
	cr_assert_eq(c[0], 50);
	cr_assert_eq(c[1], 0);
	cr_assert_eq(c[2], 0);
	cr_assert_eq(st.live_objects, 50);
	/* resizing does not count */
	p[199] = mg_heap_realloc(p[199], 5000, 0, NULL);
	mg_stats_counts(c);
	cr_assert_eq(c[0], 50);
}

Test(stats, thresholds_default_and_round_trip)
{
	long t[3];
	mg_stats_thresholds(t);
	cr_assert_eq(t[0], 1000000);
	cr_assert_eq(t[1], 10);
	cr_assert_eq(t[2], 10);
	const long n[3] = { 5, 0, 123456789 };
	mg_stats_set_thresholds(n);
	mg_stats_thresholds(t);
	cr_assert_eq(t[0], 5);
	cr_assert_eq(t[1], 0);
	cr_assert_eq(t[2], 123456789);
}

static void options_thresholds(void)
{
	mg_options_defaults();
	cr_assert_eq(mg_options_parse("threshold0=1000:threshold1=20:threshold2=0"), 0);
	mg_test_init_keep_options();
}

Test(stats, thresholds_from_options, .init = options_thresholds)
{
	long t[3];
	mg_stats_thresholds(t);
	cr_assert_eq(t[0], 1000);
	cr_assert_eq(t[1], 20);
	cr_assert_eq(t[2], 0);
}

/* ---- threads ---- */

enum { NTHREADS = 4, PER = 640 };   /* 640 allocations: a flush after the last */
static void *objs[NTHREADS][PER];
static pthread_barrier_t barrier;

static void *worker(void *arg)
{
	long id = (long)arg;
	for (int i = 0; i < PER; i++)
		objs[id][i] = mg_heap_alloc(100 + (size_t)id, 16, false, 0);
	pthread_barrier_wait(&barrier);
	/* Free two thirds of the next thread's objects: cross-thread frees. */
	long next = (id + 1) % NTHREADS;
	for (int i = 0; i < PER; i++)
		if (i % 3)
			mg_heap_free(objs[next][i], NULL);
	return NULL;
}

Test(stats, threads_cross_frees_exact_after_join)
{
	pthread_t th[NTHREADS];
	cr_assert_eq(pthread_barrier_init(&barrier, NULL, NTHREADS), 0);
	for (long i = 0; i < NTHREADS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, worker, (void *)i), 0);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	uint64_t live = 0, bytes = 0, usable = 0, in = 0;
	for (int t = 0; t < NTHREADS; t++) {
		for (int i = 0; i < PER; i++) {
			cr_assert_not_null(objs[t][i]);
			in += 100 + (uint64_t)t;
			if (i % 3 == 0) {
				live++;
				bytes += 100 + (uint64_t)t;
				usable += mg_test_usable(100 + (size_t)t);
				cr_assert(mg_hdr_live(objs[t][i]));
			} else {
				cr_assert_not(mg_hdr_live(objs[t][i]));
			}
		}
	}
	struct memgc_heap_stats st = mg_test_stats();
	cr_assert_eq(st.allocations, NTHREADS * PER);
	cr_assert_eq(st.deallocations, NTHREADS * PER - live);
	cr_assert_eq(st.live_objects, live);
	cr_assert_eq(st.live_bytes, bytes);
	cr_assert_eq(st.live_usable_bytes, usable);
	cr_assert_eq(st.allocated_bytes, in);
	cr_assert_eq(st.peak_live_objects, NTHREADS * PER);
	long c[3];
	mg_stats_counts(c);
	cr_assert_eq(c[0], (long)live);
	mg_stats_sync_index();
	cr_assert_eq(mg_index_check(), live);
}

/* Thread blocks are handed on: 20 short-lived threads one after another
 * leave sums as exact as one thread would. */
static void *short_lived(void *arg)
{
	void **keep = arg;
	for (int i = 0; i < 10; i++)
		keep[i] = mg_heap_alloc(50, 16, false, 0);
	for (int i = 0; i < 5; i++)
		mg_heap_free(keep[i], NULL);
	return NULL;
}

Test(stats, exited_threads_keep_their_counts)
{
	void *keep[20][10];
	for (int t = 0; t < 20; t++) {
		pthread_t th;
		cr_assert_eq(pthread_create(&th, NULL, short_lived, keep[t]), 0);
		pthread_join(th, NULL);
	}
	struct memgc_heap_stats st = mg_test_stats();
	cr_assert_eq(st.allocations, 200);
	cr_assert_eq(st.deallocations, 100);
	cr_assert_eq(st.live_bytes, 5000);
	long c[3];
	mg_stats_counts(c);
	cr_assert_eq(c[0], 100);
	/* frees of those objects from this thread */
	for (int t = 0; t < 20; t++)
		for (int i = 5; i < 10; i++)
			cr_assert_eq(mg_heap_free(keep[t][i], NULL), 0);
	st = mg_test_stats();
	cr_assert_eq(st.live_objects, 0);
	mg_stats_counts(c);
	cr_assert_eq(c[0], 0);
}

/* CPython's count[0] is allocations minus deallocations (never below 0):
 * objects this thread allocated (still pending in its block) and another
 * thread freed leave it at 0, whichever block publishes first. */
static void *free_all(void *arg)
{
	void **p = arg;
	for (int i = 0; i < 63; i++)
		mg_heap_free(p[i], NULL);
	return NULL;
}

Test(stats, count0_cross_thread_frees_of_pending_allocations)
{
	void *p[63];
	for (int i = 0; i < 63; i++)   /* fewer than MG_FLUSH_OPS: all pending */
		p[i] = alloc(32);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, free_all, p), 0);
	pthread_join(th, NULL);
	struct memgc_heap_stats st = mg_test_stats();
	cr_assert_eq(st.live_objects, 0);
	long c[3];
	mg_stats_counts(c);
	cr_assert_eq(c[0], 0, "count[0] is %ld with no object live", c[0]);
}
