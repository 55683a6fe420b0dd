/* rss.c: the C case of bench/rss.sh: how much of a fragmented heap goes
 * back to the kernel after free and the allocator's trim call.
 *
 * Allocates SMALL blocks of 128 bytes with BIG blocks of 8 MiB spread among
 * them, writes every byte, frees every big block and every small one but
 * each KEEP-th, then calls the trim of the allocator it runs under.  The
 * pointer array is mmap'd and written before the baseline is taken, so it
 * is part of the baseline and not of the heap.  The page floor is the
 * baseline plus the pages that the kept blocks touch, each block taken as
 * the allocator lays it out (memgc: its 16-byte header and the usable size
 * after it; glibc: the 16-byte chunk header and the usable size; jemalloc:
 * the usable size).  Prints one line that rss.sh parses:
 *   rss case=blocks trim=T baseline_kb=B peak_kb=P free_kb=F trim_kb=R
 *       floor_kb=L trim_s=S cpu_s=C kept=K
 * S is the call's wall time, C the process's CPU time in it (user and
 * system, every thread: memgc does its trim on its collector thread while
 * the caller waits, the others on the calling thread; the program does
 * nothing else meanwhile, so C is the work without the waits a busy
 * machine adds).
 *
 * Usage: rss TRIM [SMALL [BIG [KEEP]]]
 *   TRIM  glibc          malloc_trim(0)
 *         jemalloc       mallctl("arena.4096.purge") (plain jemalloc preloaded)
 *         memgc          memgc_trim()
 *         memgc-collect  memgc_collect(2), which purges as memgc_trim does
 *   defaults: SMALL 8388608 (8 Mi), BIG 100, KEEP 64
 * The trim is called once before the baseline too, so that every allocator
 * starts settled.  Exit 2 on bad arguments, 1 when TRIM is not available.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define SMALL_SIZE 128
#define BIG_SIZE ((size_t)8 << 20)

static long rss_kb(void)
{
	long pages = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f || fscanf(f, "%ld %ld", &pages, &res) != 2)
		res = -1;
	if (f)
		fclose(f);
	return res < 0 ? -1 : res * (sysconf(_SC_PAGESIZE) / 1024);
}

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum trim { T_GLIBC, T_JEMALLOC, T_MEMGC, T_COLLECT };

static int (*je_mallctl)(const char *, void *, size_t *, void *, size_t);
static int (*mg_trim)(void);
static long (*mg_collect)(int);

static int trim(enum trim t)
{
	switch (t) {
	case T_GLIBC: malloc_trim(0); return 0;
	case T_JEMALLOC: return je_mallctl("arena.4096.purge", NULL, NULL, NULL, 0);
	case T_MEMGC: return mg_trim();
	case T_COLLECT: return mg_collect(2) < 0 ? -1 : 0;
	}
	return -1;
}

static int cmp_page(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
	return x < y ? -1 : x > y;
}

static long parse(const char *s, const char *what)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*end || v <= 0) {
		fprintf(stderr, "rss: %s '%s': expected a positive integer\n", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "glibc", "jemalloc", "memgc", "memgc-collect" };
	if (argc < 2 || argc > 5) {
		fprintf(stderr, "usage: rss glibc|jemalloc|memgc|memgc-collect [SMALL [BIG [KEEP]]]\n");
		return 2;
	}
	int t = -1;
	for (int i = 0; i < 4; i++)
		if (strcmp(argv[1], names[i]) == 0)
			t = i;
	if (t < 0) {
		fprintf(stderr, "rss: unknown trim '%s': expected glibc, jemalloc, memgc or "
			"memgc-collect\n", argv[1]);
		return 2;
	}
	size_t nsmall = argc > 2 ? (size_t)parse(argv[2], "SMALL") : (size_t)8 << 20;
	size_t nbig = argc > 3 ? (size_t)parse(argv[3], "BIG") : 100;
	size_t keep = argc > 4 ? (size_t)parse(argv[4], "KEEP") : 64;
	je_mallctl = (int (*)(const char *, void *, size_t *, void *, size_t))dlsym(RTLD_DEFAULT, "mallctl");
	mg_trim = (int (*)(void))dlsym(RTLD_DEFAULT, "memgc_trim");
	mg_collect = (long (*)(int))dlsym(RTLD_DEFAULT, "memgc_collect");
	if ((t == T_JEMALLOC && !je_mallctl) || (t == T_MEMGC && !mg_trim) ||
	    (t == T_COLLECT && !mg_collect)) {
		fprintf(stderr, "rss: %s is not available in this process\n", names[t]);
		return 1;
	}

	size_t asize = (nsmall + nbig) * sizeof(void *);
	char **small = mmap(NULL, asize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (small == MAP_FAILED) {
		perror("rss: mmap");
		return 1;
	}
	char **big = (char **)small + nsmall;
	memset(small, 0, asize);
	trim((enum trim)t);
	long base = rss_kb();

	size_t every = nsmall / (nbig + 1) + 1;
	for (size_t i = 0, b = 0; i < nsmall; i++) {
		small[i] = malloc(SMALL_SIZE);
		if (!small[i]) {
			fprintf(stderr, "rss: out of memory\n");
			return 1;
		}
		memset(small[i], (int)(i & 0x7f) | 1, SMALL_SIZE);
		if (i % every == every - 1 && b < nbig) {
			big[b] = malloc(BIG_SIZE);
			if (!big[b]) {
				fprintf(stderr, "rss: out of memory\n");
				return 1;
			}
			memset(big[b], 0x5a, BIG_SIZE);
			b++;
		}
	}
	for (size_t b = 0; b < nbig; b++)
		if (!big[b]) {
			big[b] = malloc(BIG_SIZE);
			if (big[b])
				memset(big[b], 0x5a, BIG_SIZE);
		}
	long peak = rss_kb();

	for (size_t b = 0; b < nbig; b++)
		free(big[b]);
	for (size_t i = 0; i < nsmall; i++)
		if (i % keep)
			free(small[i]);
	long after_free = rss_kb();

	double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	int r = trim((enum trim)t);
	double el = clock_s(CLOCK_MONOTONIC) - t0, cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	long after_trim = rss_kb();
	if (r) {
		fprintf(stderr, "rss: the %s trim call failed (%d)\n", names[t], r);
		return 1;
	}

	/* The pages the kept blocks touch (a 128-byte block touches one or
	 * two), counted once each. */
	long pg = sysconf(_SC_PAGESIZE);
	size_t head = t == T_JEMALLOC ? 0 : 16, n = 0, nkept = (nsmall + keep - 1) / keep;
	uintptr_t *pages = mmap(NULL, 2 * nkept * sizeof *pages, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pages == MAP_FAILED) {
		perror("rss: mmap");
		return 1;
	}
	for (size_t i = 0; i < nsmall; i += keep) {
		uintptr_t lo = ((uintptr_t)small[i] - head) / (uintptr_t)pg;
		uintptr_t hi = ((uintptr_t)small[i] + malloc_usable_size(small[i]) - 1) / (uintptr_t)pg;
		pages[n++] = lo;
		if (hi != lo)
			pages[n++] = hi;
	}
	qsort(pages, n, sizeof *pages, cmp_page);
	size_t distinct = 0;
	for (size_t i = 0; i < n; i++)
		distinct += i == 0 || pages[i] != pages[i - 1];
	long floor_kb = base + (long)(distinct * (size_t)pg / 1024);

	printf("rss case=blocks trim=%s baseline_kb=%ld peak_kb=%ld free_kb=%ld trim_kb=%ld "
	       "floor_kb=%ld trim_s=%.6f cpu_s=%.6f kept=%zu\n", names[t], base, peak, after_free,
	       after_trim, floor_kb, el, cpu, nkept);
	return 0;
}
