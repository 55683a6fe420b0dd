/* trim.c: what a user of memgc_trim() relies on, run under the preload by
 * trim.sh: after freeing, the trim brings RSS down to the pages that still
 * hold live objects, and no live byte is lost on the way, whatever the
 * other threads are doing.
 *
 * Usage: trim [SECONDS] (see main).  Prints one line per check, "ok NAME:
 * figures" or "FAIL NAME: figures", and exits 1 when a check failed, 2 when
 * memgc is not loaded.  RSS comes from /proc/self/statm.  Each RSS bound is
 * the page floor (the baseline, taken after a trim, plus the pages the kept
 * objects' blocks touch: a block is the 16-byte header and the usable size
 * after it) plus a slack computed from the run, for what memgc and jemalloc
 * keep by design:
 *   all freed    1/256 of the growth at the peak, at least 1 MiB: jemalloc's
 *                statistics for each arena it had (18 KB each), the edata_t
 *                of the few arenas still in use, rtree pages over extents it
 *                kept (measured: 1/1500 of the growth)
 *   fragmented   1/64 of the span of addresses the objects used, at least
 *                1 MiB: memgc's index (1/128 of the span, one bit per 16
 *                bytes, and 1/1024 of summaries), jemalloc's rtree (1/512)
 *                and edata_t (128 bytes per slab, at most 1/128 here), all
 *                still needed for the slabs that hold the kept objects
 *                (measured: 1/100 of the span)
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "memgc.h"

#pragma weak memgc_trim
#pragma weak memgc_collect
#pragma weak memgc_write_report

static int failures;

static void check(const char *name, int cond, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("%s %s: ", cond ? "ok" : "FAIL", name);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
	if (!cond)
		failures++;
}

static long page;

static long rss_kb(void)
{
	long size = 0, res = -1;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &size, &res) != 2)
			res = -1;
		fclose(f);
	}
	return res * (page / 1024);
}

static uint64_t rng = 88172645463325252u;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Memory for the test's own bookkeeping: mmap, not the heap under test. */
static void *table(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("trim: mmap");
		exit(1);
	}
	memset(p, 0, bytes);
	return p;
}

static unsigned char pattern(uintptr_t id, size_t i)
{
	return (unsigned char)(id * 31 + i * 7 + 1);
}

static void fill(unsigned char *p, size_t n, uintptr_t id)
{
	for (size_t i = 0; i < n; i++)
		p[i] = pattern(id, i);
}

static int intact(const unsigned char *p, size_t n, uintptr_t id)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != pattern(id, i))
			return 0;
	return 1;
}

static int cmp_page(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
	return x < y ? -1 : x > y;
}

/* The pages that the blocks of objs[0..n) touch, each counted once. */
static size_t pages_of(void **objs, size_t n)
{
	uintptr_t *pg = table(2 * n * sizeof *pg + 1);
	size_t k = 0, distinct = 0;
	for (size_t i = 0; i < n; i++) {
		uintptr_t lo = ((uintptr_t)objs[i] - 16) / (uintptr_t)page;
		uintptr_t hi = ((uintptr_t)objs[i] + malloc_usable_size(objs[i]) - 1) / (uintptr_t)page;
		for (uintptr_t p = lo; p <= hi; p++)
			pg[k++] = p;   /* at most 2 pages: the objects here are below a page */
	}
	qsort(pg, k, sizeof *pg, cmp_page);
	for (size_t i = 0; i < k; i++)
		distinct += i == 0 || pg[i] != pg[i - 1];
	munmap(pg, 2 * n * sizeof *pg + 1);
	return distinct;
}

/* Small objects like a Python program's (24 to 200 bytes: ints, short
 * strings, small lists) and some large buffers among them, all freed. */
static int collect2(void)
{
	return memgc_collect(2) < 0 ? -1 : 0;
}

/* how: memgc_trim(), or memgc_collect(2), whose generation-2 collection
 * ends with the same trim, the calling thread's cache and arena included
 * (the collection itself runs on memgc's thread). */
static void all_freed(const char *how, int (*trim)(void))
{
	const size_t n = 3u << 20, nbig = 24;
	void **objs = table(n * sizeof *objs);
	void *big[24];
	memgc_trim();
	long base = rss_kb();
	for (size_t i = 0, b = 0; i < n; i++) {
		size_t sz = 24 + next() % 177;
		objs[i] = malloc(sz);
		if (!objs[i]) {
			check(how, 0, "malloc(%zu) failed", sz);
			return;
		}
		memset(objs[i], 0x5a, sz);
		if (i % (n / nbig) == 0 && b < nbig) {
			size_t bs = (size_t)(2 + b % 5) << 20;
			big[b] = malloc(bs);
			memset(big[b], 0xa5, bs);
			b++;
		}
	}
	long peak = rss_kb();
	for (size_t i = 0; i < n; i++)
		free(objs[i]);
	for (size_t b = 0; b < nbig; b++)
		free(big[b]);
	long freed = rss_kb();
	int r = trim();
	long after = rss_kb();
	long slack = (peak - base) / 256 > 1024 ? (peak - base) / 256 : 1024;
	check("all freed: succeeds", r == 0, "%s: %d", how, r);
	check("all freed: RSS back to the baseline", after <= base + slack,
	      "%s: baseline %ld kB, peak %ld kB, after free %ld kB, after trim %ld kB, bound %ld kB "
	      "(baseline + slack %ld kB)", how, base, peak, freed, after, base + slack, slack);
	munmap(objs, n * sizeof *objs);
}

/* Every 64th of 4 Mi small objects kept: each slab keeps some, so only the
 * page purge gives the free pages between them back. */
static void fragmented(void)
{
	const size_t n = 4u << 20, keep = 64;
	void **objs = table(n * sizeof *objs);
	void **kept = table((n / keep + 1) * sizeof *kept);
	uint8_t *size = table(n);
	memgc_trim();
	long base = rss_kb();
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	for (size_t i = 0; i < n; i++) {
		size_t sz = 96 + (size[i] = (uint8_t)(next() % 64));
		objs[i] = malloc(sz);
		if (!objs[i]) {
			check("fragmented", 0, "malloc(%zu) failed", sz);
			return;
		}
		fill(objs[i], sz, i);
		if ((uintptr_t)objs[i] < lo)
			lo = (uintptr_t)objs[i];
		if ((uintptr_t)objs[i] > hi)
			hi = (uintptr_t)objs[i];
	}
	long peak = rss_kb();
	size_t nk = 0;
	for (size_t i = 0; i < n; i++)
		if (i % keep)
			free(objs[i]);
		else
			kept[nk++] = objs[i];
	long freed = rss_kb();
	int r = memgc_trim();
	long after = rss_kb();
	long floor = base + (long)(pages_of(kept, nk) * (size_t)page / 1024);
	long span = (long)((hi - lo) / 1024);
	long slack = span / 64 > 1024 ? span / 64 : 1024;
	check("fragmented: memgc_trim() returns 0", r == 0, "%d", r);
	check("fragmented: RSS at the page floor", after <= floor + slack,
	      "baseline %ld kB, peak %ld kB, after free %ld kB, after trim %ld kB, floor %ld kB, "
	      "bound %ld kB (floor + slack %ld kB, 1/64 of a span of %ld kB)", base, peak, freed,
	      after, floor, floor + slack, slack, span);
	check("fragmented: the trim gave back the free pages between them",
	      freed - after > (freed - floor) / 2, "after free %ld kB, after trim %ld kB, floor %ld kB",
	      freed, after, floor);
	size_t bad = 0;
	for (size_t i = 0; i < nk; i++)
		bad += !intact(kept[i], 96 + size[i * keep], i * keep);
	check("fragmented: every kept object intact", bad == 0, "%zu of %zu changed", bad, nk);
	/* the dropped pages come back as zeros for new objects */
	size_t nz = 0;
	for (size_t i = 0; i < 100000; i++) {
		unsigned char *c = calloc(1, 100);
		for (int j = 0; j < 100; j++)
			nz += c[j] != 0;
		objs[i] = c;
	}
	check("fragmented: calloc after the trim gives zeros", nz == 0, "%zu bytes not zero", nz);
	for (size_t i = 0; i < 100000; i++)
		free(objs[i]);
	for (size_t i = 0; i < nk; i++)
		free(kept[i]);
	munmap(objs, n * sizeof *objs);
	munmap(kept, (n / keep + 1) * sizeof *kept);
	munmap(size, n);
}

/* Threads that allocate, fill, check, resize and free while the main
 * thread trims over and over: a page the purge drops must never be one
 * holding data (an object being born, copied by realloc, or cached). */
#define NTHREADS 4
#define SLOTS 2048
static volatile int stop;

struct churn {
	pthread_t tid;
	unsigned long ops, bad;
	uint64_t seed;
};

static void *churner(void *arg)
{
	struct churn *c = arg;
	unsigned char **obj = table(SLOTS * sizeof *obj);
	size_t *len = table(SLOTS * sizeof *len);
	uintptr_t *id = table(SLOTS * sizeof *id);
	uint64_t s = c->seed;
	uintptr_t ids = (uintptr_t)c->seed << 32;
	while (!stop) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		unsigned k = (unsigned)(s % SLOTS);
		/* mostly small, some large extents, a few from the large arena */
		size_t sz = (s >> 16) % 4096 == 0 ? ((size_t)1 << 20) + (s >> 24) % (2u << 20)
			    : (s >> 16) % 8 == 0 ? 1 + (s >> 24) % 40000 : 1 + (s >> 24) % 600;
		if (obj[k] && !intact(obj[k], len[k], id[k]))
			c->bad++;
		switch ((s >> 20) % 4) {
		case 0:
		case 1:
			free(obj[k]);
			obj[k] = malloc(sz);
			id[k] = ++ids;
			fill(obj[k], sz, id[k]);
			len[k] = sz;
			break;
		case 2:
			if (obj[k]) {
				unsigned char *p = realloc(obj[k], sz);
				size_t keep = sz < len[k] ? sz : len[k];
				if (!intact(p, keep, id[k]))
					c->bad++;
				obj[k] = p;
				fill(p, sz, id[k]);
				len[k] = sz;
			}
			break;
		default:
			free(obj[k]);
			obj[k] = calloc(1, sz);
			for (size_t i = 0; i < sz; i++)
				c->bad += obj[k][i] != 0;
			id[k] = ++ids;
			fill(obj[k], sz, id[k]);
			len[k] = sz;
		}
		c->ops++;
	}
	for (unsigned k = 0; k < SLOTS; k++) {
		if (obj[k] && !intact(obj[k], len[k], id[k]))
			c->bad++;
		free(obj[k]);
	}
	return NULL;
}

static long churn_ms = 3000;

static void threads(void)
{
	struct churn c[NTHREADS];
	for (int i = 0; i < NTHREADS; i++) {
		c[i] = (struct churn){ .seed = 1000003u * (uint64_t)(i + 1) };
		pthread_create(&c[i].tid, NULL, churner, &c[i]);
	}
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int trims = 0, errs = 0;
	do {
		errs += memgc_trim() != 0;
		trims++;
		nanosleep(&(struct timespec){ .tv_nsec = 2000000 }, NULL);   /* let them run */
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < churn_ms);
	stop = 1;
	unsigned long ops = 0, bad = 0;
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(c[i].tid, NULL);
		ops += c[i].ops;
		bad += c[i].bad;
	}
	check("threads: no byte lost while trimming", bad == 0 && errs == 0 && ops > 0,
	      "%d trims, %lu operations by %d threads, %lu bytes or objects wrong, %d trims failed",
	      trims, ops, NTHREADS, bad, errs);
}

/* The interposed malloc_trim() does the same, and says memory may have
 * been released (1); a forked child trims its own heap. */
static void others(void)
{
	void **objs = table((1u << 20) * sizeof *objs);
	malloc_trim(0);
	long base = rss_kb();
	for (size_t i = 0; i < 1u << 20; i++)
		memset(objs[i] = malloc(64), 1, 64);
	long peak = rss_kb();
	for (size_t i = 0; i < 1u << 20; i++)
		free(objs[i]);
	int r = malloc_trim(0);
	long after = rss_kb();
	long slack = (peak - base) / 256 > 1024 ? (peak - base) / 256 : 1024;
	check("malloc_trim(0) returns 1 and gives memory back", r == 1 && after <= base + slack,
	      "returned %d; RSS baseline %ld kB, peak %ld kB, after %ld kB, bound %ld kB", r, base,
	      peak, after, base + slack);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		long base = rss_kb();
		for (size_t i = 0; i < 1u << 20; i++)
			memset(objs[i] = malloc(64), 2, 64);
		for (size_t i = 0; i < 1u << 20; i++)
			free(objs[i]);
		int cr = memgc_trim();
		long cafter = rss_kb();
		_exit(cr == 0 && cafter < base + 4096 ? 0 : 1);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	check("a forked child trims its own heap", WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "status %d", st);
	munmap(objs, (1u << 20) * sizeof *objs);
}

/* trim [SECONDS]: the threads phase churns for SECONDS (3 by default); with
 * an argument only that phase runs, as a stress test. */
int main(int argc, char **argv)
{
	if (!memgc_trim) {
		fprintf(stderr, "trim: memgc is not loaded\n");
		return 2;
	}
	page = sysconf(_SC_PAGESIZE);
	if (argc > 1) {
		churn_ms = atol(argv[1]) * 1000;
		threads();
		return failures ? 1 : 0;
	}
	all_freed("memgc_trim()", memgc_trim);
	all_freed("memgc_collect(2)", collect2);
	fragmented();
	threads();
	others();
	return failures ? 1 : 0;
}
