/* watch.c: what the kernel write watch (lib/watch.c) costs.
 *
 *  1. The write fault: the first write to a page after a scan re-armed it,
 *     against a plain write to a present page and against the first touch
 *     of a fresh anonymous page (a minor fault), per page.
 *  2. A scan (mg_watch_update_locked: PAGEMAP_SCAN, re-arm, records) against
 *     the pages watched (10^3 to 10^6) and the pages written since the last
 *     scan (0 to 10^4, spread evenly), then reading record 0 and emptying it;
 *     against the fallback, reading every watched page, at the read speed
 *     measured here.
 * Medians of BENCH_RUNS rounds (default 7), the variants interleaved in each
 * round.  `make bench-watch` builds and runs it; nothing in `make check`.
 * Untouched watched pages hold the kernel's uffd-wp markers after the first
 * scan, so a scan walks their page tables as it would a populated heap's,
 * without the RSS (10^6 pages are 4 GiB); BENCH_POPULATE=1 writes every
 * watched page first, to compare (and takes that much memory).
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define P 4096ul
#define MAXRUNS 31

static int runs = 7;
static bool populate;                         /* BENCH_POPULATE=1 */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static char *map(size_t pages)
{
	char *m = mmap(NULL, pages * P, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	madvise(m, pages * P, MADV_NOHUGEPAGE);
	return m;
}

/* One byte written in each page of [m, m + pages), stride pages apart;
 * ns per page written. */
static double touch(char *m, size_t pages, size_t stride)
{
	double t = now();
	for (size_t i = 0; i < pages; i += stride)
		((volatile char *)m)[i * P + (i & 63) * 8] += 1;
	return (now() - t) / (double)((pages + stride - 1) / stride);
}

static long update(void)
{
	mg_watch_lock();
	long r = mg_watch_update_locked();
	mg_watch_unlock();
	return r;
}

static int count_run(uintptr_t s, uintptr_t e, void *arg)
{
	*(size_t *)arg += (e - s) / P;
	return 0;
}

/* ---- 1. the write fault ---- */

static void faults(void)
{
	const size_t n = 16384;                       /* 64 MiB */
	char *plain = map(n), *watched = map(n);
	touch(plain, n, 1);
	touch(watched, n, 1);
	if (mg_watch_add(watched, n * P)) {
		perror("mg_watch_add");
		exit(1);
	}
	double tp[MAXRUNS], tf[MAXRUNS], tw[MAXRUNS], tw2[MAXRUNS];
	for (int r = 0; r < runs; r++) {
		tp[r] = touch(plain, n, 1);
		char *fresh = map(n);
		tf[r] = touch(fresh, n, 1);
		munmap(fresh, n * P);
		if (update() < 0)
			exit(1);
		tw[r] = touch(watched, n, 1);           /* each page faults once */
		tw2[r] = touch(watched, n, 1);          /* and then no more */
	}
	double p = median(tp, runs), f = median(tf, runs), w = median(tw, runs),
	       w2 = median(tw2, runs);
	printf("write to a page, ns per page (median of %d rounds, %zu pages each)\n", runs, n);
	printf("  plain write to a present page          %8.1f\n", p);
	printf("  first touch of a fresh page (fault)    %8.1f   %6.1fx plain\n", f, f / p);
	printf("  first write after a re-arm (watched)   %8.1f   %6.1fx plain  %5.2fx fresh\n", w, w / p, w / f);
	printf("  second write to that page              %8.1f   %6.1fx plain\n\n", w2, w2 / p);
	mg_watch_remove(watched, n * P);
	munmap(plain, n * P);
	munmap(watched, n * P);
}

/* ---- 2. the scan ---- */

/* Bytes per ns reading populated memory: the fallback's speed. */
static double read_speed(void)
{
	const size_t n = 16384;
	char *m = map(n);
	memset(m, 1, n * P);
	double v[MAXRUNS];
	uint64_t sum = 0;
	for (int r = 0; r < runs; r++) {
		double t = now();
		for (const uint64_t *q = (const uint64_t *)m; q < (const uint64_t *)(m + n * P); q++)
			sum += *(const volatile uint64_t *)q;
		v[r] = (double)(n * P) / (now() - t);
	}
	munmap(m, n * P);
	return median(v, runs) + (double)(sum & 0);
}

static void scans(void)
{
	static const size_t watched[] = { 1000, 10000, 100000, 1000000 };
	static const size_t written[] = { 0, 100, 1000, 10000 };
	double speed = read_speed();
	printf("scan: mg_watch_update_locked (PAGEMAP_SCAN, re-arm, the three records), then\n"
	       "reading record 0 and emptying it; microseconds, median of %d rounds; the\n"
	       "fallback reads every watched page at %.1f GB/s (measured here)\n", runs, speed);
	printf("%9s %8s %10s %10s %12s %12s %10s\n", "watched", "written", "scan us",
	       "record us", "ns/watched", "ns/written", "fallback/x");
	for (size_t i = 0; i < sizeof watched / sizeof *watched; i++) {
		size_t n = watched[i];
		char *m = map(n);
		if (mg_watch_add(m, n * P)) {
			perror("mg_watch_add");
			exit(1);
		}
		if (populate)
			touch(m, n, 1);
		update();                               /* arms every page */
		mg_watch_lock();
		mg_watch_consume_locked(2);
		mg_watch_unlock();
		double base = 0;
		for (size_t j = 0; j < sizeof written / sizeof *written; j++) {
			size_t k = written[j];
			if (k > n / 2)
				continue;
			double ts[MAXRUNS], tr[MAXRUNS];
			for (int r = 0; r < runs; r++) {
				if (k)
					touch(m, n, n / k);
				double t = now();
				long got = update();
				ts[r] = now() - t;
				size_t seen = 0;
				t = now();
				mg_watch_lock();
				mg_watch_foreach_locked(0, count_run, &seen);
				mg_watch_consume_locked(2);
				mg_watch_unlock();
				tr[r] = now() - t;
				if ((size_t)got != (k ? (n + n / k - 1) / (n / k) : 0) || seen != (size_t)got) {
					fprintf(stderr, "bench-watch: %zu pages written, %ld reported, %zu recorded\n",
						k, got, seen);
					exit(1);
				}
			}
			double s = median(ts, runs), rec = median(tr, runs);
			if (!k)
				base = s;
			double fallback = (double)(n * P) / speed;
			char col[32] = "-";
			if (k)
				snprintf(col, sizeof col, "%.0f", (s - base) / (double)k);
			printf("%9zu %8zu %10.1f %10.1f %12.2f %12s %10.1f\n", n, k, s / 1e3, rec / 1e3,
			       s / (double)n, col, fallback / (s + rec));
		}
		mg_watch_remove(m, n * P);
		munmap(m, n * P);
	}
	printf("(fallback/x: how many times longer reading every watched page takes)\n");
}

int main(void)
{
	const char *e = getenv("BENCH_RUNS");
	if (e && atoi(e) > 0)
		runs = atoi(e) < MAXRUNS ? atoi(e) : MAXRUNS;
	populate = getenv("BENCH_POPULATE") && atoi(getenv("BENCH_POPULATE"));
	mg_options_defaults();
	if (mg_watch_init()) {
		printf("bench-watch: the watch is %s\n", mg_watch_why());
		return 77;
	}
	faults();
	scans();
	return 0;
}
