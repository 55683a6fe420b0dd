/* collect.c: collection pause and mark throughput on heaps of 10^5 to 10^7
 * objects, against LeakSanitizer's leak check and the Boehm collector.
 *
 * The heap (the same for every tool: same seed, same sizes, same graph):
 * N objects of 16-256 bytes (uniform, multiples of 8), allocated in a row.
 * Word 0 of object i points to object i + 256 (256 chains, whose heads are
 * a global array: everything is reachable); every other word is, with
 * probability P% (-p, 50), a pointer to the start of an object at most W
 * objects away in allocation order (-g, 64: lists and trees built as they
 * are allocated; -g 0: anywhere, a random graph), else a non-pointer (a
 * small integer or 64 random bits).  Besides them, L (-L, 1000) leaked
 * objects in lists of 10 (one direct leak and nine indirect ones each),
 * whose other words point into the heap, and 1024 "anchor" objects of 256
 * bytes in a global array, empty, where the young phase stores old-to-young
 * pointers.  The array of object addresses used to build the graph is
 * unmapped before any collection, so only the graph keeps the heap alive.
 *
 * A worker (`collect -w TOOL`) builds the heap and times REPS full
 * collections: memgc_collect(2) under the memgc preload (gc=0: no automatic
 * collection while it builds), __lsan_do_recoverable_leak_check() under
 * LeakSanitizer's (liblsan.so.0 as LD_PRELOAD: the same program, a malloc'd
 * heap), GC_gcollect() on a GC_MALLOC'd heap of the same shape (libgc.so.1,
 * dlopen'd; GC_MARKERS=1, one core like the others).  Each call is timed in
 * wall time and in CPU time (getrusage of the process and of its waited-for
 * children: LeakSanitizer scans in a cloned tracer task that is not a
 * thread of the process).  Under memgc also: the pause, total time and bytes
 * scanned of each collection (memgc_get_stats), then REPS rounds of Y (-y,
 * 10^4) new objects (half held by anchors, half by a global chain) and 100
 * leaked young ones, each round followed by a timed memgc_collect(0).  One
 * line of key=value pairs on stdout, the medians of the worker's REPS.
 *
 * The driver (`collect` without -w) runs the workers for each heap size,
 * RUNS times (-R, 3), the tools in an order rotated each round, and prints
 * per size the medians over the runs: times, mark throughput (bytes scanned
 * per second of CPU time, and per second of pause), memgc's exit leak check
 * (a full collection that also classifies; its time is read from the JSON
 * report) and the ratios of memgc's times to LeakSanitizer's and Boehm's;
 * then issue 3's bar as PASS/FAIL lines.  The ratios and the bar use CPU
 * time: on a shared machine the wall time of a run mostly measures the other
 * programs.  It checks that memgc and LeakSanitizer each find exactly the L
 * leaked objects.  REPS (-r) is 3 below 10^7 objects and 1 from 10^7 up,
 * which keeps `make bench-collect` near 5 minutes on a 2-core machine.  The
 * young rounds are at least 3 whatever REPS is (their median is issue 5's
 * figure).  Then issue 5's bar: the young collection's CPU time at the
 * largest heap of 10^7 objects or fewer against 10^5 objects (at most 2x),
 * and at a heap of 4 GiB or more (under 5 ms).
 *
 * A heap size is an object count, or bytes with a K, M or G suffix (powers
 * of 1024): "4G" is the number of objects whose memgc blocks fill 4 GiB
 * (MEAN_BLOCK bytes each on average: the request, the 16-byte header, and
 * jemalloc's size class), 26.3 million, so that memgc's populated heap is
 * 4 GiB; the peers' heaps hold the same objects.  -t picks the tools
 * (memgc alone at 4 GiB keeps a run near 3 minutes); -o watch=off gives
 * the young collections without the write watch.
 *
 * Usage: collect [-N sizes] [-R runs] [-r reps] [-p pointer_percent]
 *                [-g window] [-L leaked] [-y young] [-t tools] [-o memgc_options]
 * Environment: MEMGC_LIB (required), BENCH_LSAN, BENCH_LIBGC (the peers;
 * a missing one gets n/a), BENCH_SIZES, BENCH_RUNS and BENCH_TOOLS (the
 * defaults of -N, -R and -t), BENCH_STRICT=1 (exit 1 when a bar line says
 * FAIL).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "memgc.h"

/* Present when the memgc or LeakSanitizer preload is. */
#pragma weak memgc_collect
#pragma weak memgc_get_stats
extern int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

#define CHAINS 256
#define ANCHORS 1024
#define ANCHOR_WORDS 32
#define YOUNG_LEAKED 100
#define LIST 10                 /* leaked objects per leaked list */
#define MAXREPS 15
#define MAXRUNS 15
#define MAXSIZES 8
#define YOUNG_REPS 3            /* young rounds at least */
/* The mean memgc block of pick_size()'s sizes: 16-256 bytes in steps of
 * 8, plus the header, rounded up to jemalloc's size classes (32, 48, ...,
 * 128, 160, 192, 224, 256, 320): 5056 bytes over the 31 sizes. */
#define MEAN_BLOCK (5056.0 / 31)

enum tool { MEMGC, LSAN, BOEHM, NTOOLS };
static const char *const tool_name[NTOOLS] = { "memgc", "lsan", "boehm" };

/* ---- the worker ---- */

/* The chains' heads; volatile, for the stores are never read back here. */
static void *volatile roots[CHAINS];
static void *anchor[ANCHORS];           /* old objects that receive young pointers */
static void *young_head;                /* the young objects' chain */

static enum tool tool;
static long nobj = 1000000, nleaked = 1000, nyoung = 10000, pct = 50, window = 64;
static int reps;                        /* 0: 3 below 10^7 objects, 1 from there */
static uint64_t rng = 0x9e3779b97f4a7c15u;

static void *(*gc_malloc)(size_t);       /* the Boehm collector's, dlopen'd */
static void (*gc_gcollect)(void), (*gc_enable)(void);

static inline uint64_t rnd(void)        /* xorshift64* */
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1du;
}

static void *obj_alloc(size_t n)
{
	void *p = tool == BOEHM ? gc_malloc(n) : malloc(n);
	if (!p) {
		fprintf(stderr, "collect: out of memory (%zu bytes)\n", n);
		exit(2);
	}
	return p;
}

static size_t pick_size(void)
{
	return 16 + 8 * (size_t)(rnd() % 31);
}

/* A word that is not a pointer: a small integer or 64 random bits. */
static inline uintptr_t data_word(uint64_t r)
{
	return r & 1 ? (uintptr_t)(r >> 48) : (uintptr_t)rnd();
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds of the process and of the children it has waited for. */
static double cpu_s(void)
{
	struct rusage a, b;
	getrusage(RUSAGE_SELF, &a);
	getrusage(RUSAGE_CHILDREN, &b);
	return (double)(a.ru_utime.tv_sec + a.ru_stime.tv_sec + b.ru_utime.tv_sec + b.ru_stime.tv_sec) +
	       (double)(a.ru_utime.tv_usec + a.ru_stime.tv_usec + b.ru_utime.tv_usec +
			b.ru_stime.tv_usec) * 1e-6;
}

static void *map(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("collect: mmap");
		exit(2);
	}
	return p;
}

/* Fills the words of w (n bytes) from word `from` on: with probability
 * pct% a pointer to one of objs[0..m), at most `window` places from
 * objs[self] (anywhere when window is 0), else data.  Anywhere: pend[]
 * holds the next targets, prefetched, so that the random reads of objs[]
 * overlap. */
#define PEND 16
static uint64_t pend[PEND];
static unsigned pend_at;

static void pend_init(long m)
{
	for (int i = 0; i < PEND; i++)
		pend[i] = rnd() % (uint64_t)m;
}

static inline void fill(uintptr_t *w, size_t n, size_t from, void *const *objs, long m, long self)
{
	for (size_t j = from; j < n / 8; j++) {
		uint64_t r = rnd();
		if (r % 100 < (uint64_t)pct && window) {
			long k = self + (long)(rnd() % (uint64_t)(2 * window + 1)) - window;
			w[j] = (uintptr_t)objs[k < 0 ? 0 : k >= m ? m - 1 : k];
		} else if (r % 100 < (uint64_t)pct) {
			uint64_t k = pend[pend_at];
			pend[pend_at] = rnd() % (uint64_t)m;
			__builtin_prefetch(&objs[pend[pend_at]]);
			pend_at = (pend_at + 1) % PEND;
			w[j] = (uintptr_t)objs[k];
		} else {
			w[j] = data_word(r);
		}
	}
}

/* The leaked lists, built in a frame of their own: once it returns, no
 * live frame holds their addresses. */
static __attribute__((noinline)) void leak(void *const *objs, long m, long count)
{
	void *prev = NULL;
	for (long i = 0; i < count; i++) {
		size_t n = pick_size();
		uintptr_t *o = obj_alloc(n);
		fill(o, n, 1, objs, m, (long)(rnd() % (uint64_t)m));
		o[0] = (uintptr_t)((i % LIST) ? prev : NULL);   /* the list's head is the direct leak */
		prev = o;
	}
	__asm__ volatile("" ::: "memory");
}

/* Clears the stack below the caller, where the builders' frames were. */
static __attribute__((noinline)) void scrub(void)
{
	volatile char buf[256 * 1024];
	memset((char *)buf, 0, sizeof buf);
	__asm__ volatile("" ::"r"(buf) : "memory");
}

static __attribute__((noinline)) size_t build(void)
{
	void **objs = map((size_t)nobj * sizeof *objs);
	uint16_t *sizes = map((size_t)nobj * sizeof *sizes);
	size_t bytes = 0;
	for (long i = 0; i < nobj; i++) {
		sizes[i] = (uint16_t)pick_size();
		objs[i] = obj_alloc(sizes[i]);
		bytes += sizes[i];
	}
	pend_init(nobj);
	for (long i = 0; i < nobj; i++) {
		uintptr_t *w = objs[i];
		w[0] = i + CHAINS < nobj ? (uintptr_t)objs[i + CHAINS] : 0;
		fill(w, sizes[i], 1, objs, nobj, i);
	}
	for (long i = 0; i < CHAINS && i < nobj; i++)
		roots[i] = objs[i];
	for (int i = 0; i < ANCHORS; i++) {
		anchor[i] = obj_alloc(ANCHOR_WORDS * 8);
		memset(anchor[i], 0, ANCHOR_WORDS * 8);
	}
	leak(objs, nobj, nleaked);
	munmap(objs, (size_t)nobj * sizeof *objs);
	munmap(sizes, (size_t)nobj * sizeof *sizes);
	return bytes + (size_t)ANCHORS * ANCHOR_WORDS * 8;
}

/* One round of young objects: nyoung reachable (even ones from anchors,
 * odd ones on the young chain), then YOUNG_LEAKED unreachable ones. */
static __attribute__((noinline)) void young_round(int round)
{
	void **objs = map((size_t)nyoung * sizeof *objs);
	void *head = young_head;
	pend_init(1);
	for (long i = 0; i < nyoung; i++) {
		size_t n = pick_size();
		uintptr_t *o = obj_alloc(n);
		objs[i] = o;
		o[0] = 0;
		if (i > 0)
			fill(o, n, 1, objs, i, i - 1);
		else
			memset(o + 1, 0, n - 8);
		if (i & 1) {
			o[0] = (uintptr_t)head;
			head = o;
		} else {
			long s = (i / 2 + (long)round * (nyoung / 2 + 1)) % (ANCHORS * (ANCHOR_WORDS - 1));
			((void **)anchor[s % ANCHORS])[1 + s / ANCHORS] = o;
		}
	}
	young_head = head;
	leak(objs, nyoung, YOUNG_LEAKED);
	munmap(objs, (size_t)nyoung * sizeof *objs);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	if (n <= 0)
		return -1;
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* What one timed collection gives. */
struct sample {
	double wall_ms, cpu_ms, pause_ms, total_ms, scanned_mb;
	long found;
};

/* Collects generation gen (memgc), or the peer's whole heap, timed. */
static struct sample timed(int gen)
{
	struct sample s = { .pause_ms = -1, .total_ms = -1, .scanned_mb = -1, .found = -1 };
	struct memgc_gc_stats a[3], b[3];
	if (tool == MEMGC)
		memgc_get_stats(a);
	double c0 = cpu_s(), t0 = now_s();
	switch (tool) {
	case MEMGC:
		s.found = memgc_collect(gen);
		break;
	case LSAN:
		__lsan_do_recoverable_leak_check();
		break;
	case BOEHM:
		gc_gcollect();
		break;
	case NTOOLS:
		break;
	}
	double t1 = now_s(), c1 = cpu_s();
	s.wall_ms = (t1 - t0) * 1e3;
	s.cpu_ms = (c1 - c0) * 1e3;
	if (tool == MEMGC) {
		memgc_get_stats(b);
		s.pause_ms = (double)(b[gen].pause_ns - a[gen].pause_ns) * 1e-6;
		s.total_ms = (double)(b[gen].total_ns - a[gen].total_ns) * 1e-6;
		s.scanned_mb = (double)(b[gen].scanned_bytes - a[gen].scanned_bytes) * 1e-6;
	}
	return s;
}

/* Prints the medians of n samples as PREFIX_wall_ms=... */
static void print_samples(const char *prefix, struct sample *s, int n)
{
	double v[MAXREPS];
	static const struct { const char *key; size_t off; } f[] = {
		{ "wall_ms", offsetof(struct sample, wall_ms) },
		{ "cpu_ms", offsetof(struct sample, cpu_ms) },
		{ "pause_ms", offsetof(struct sample, pause_ms) },
		{ "total_ms", offsetof(struct sample, total_ms) },
		{ "scanned_mb", offsetof(struct sample, scanned_mb) },
	};
	for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
		for (int i = 0; i < n; i++)
			v[i] = *(const double *)((const char *)&s[i] + f[k].off);
		printf(" %s_%s=%.3f", prefix, f[k].key, median(v, n));
	}
	long found = s[0].found;
	for (int i = 1; i < n; i++)
		if (s[i].found != found)
			found = -2;     /* they differ: the driver says so */
	printf(" %s_found=%ld", prefix, found);
}

static int worker(void)
{
	switch (tool) {
	case MEMGC:
		if (!memgc_collect || !memgc_get_stats) {
			fprintf(stderr, "collect: memgc is not preloaded\n");
			return 2;
		}
		break;
	case LSAN:
		if (!__lsan_do_recoverable_leak_check) {
			fprintf(stderr, "collect: liblsan is not preloaded\n");
			return 2;
		}
		break;
	case BOEHM: {
		const char *lib = getenv("BENCH_LIBGC");
		void *h = dlopen(lib && *lib ? lib : "libgc.so.1", RTLD_NOW);
		void (*init)(void) = h ? (void (*)(void))dlsym(h, "GC_init") : NULL;
		void (*disable)(void) = h ? (void (*)(void))dlsym(h, "GC_disable") : NULL;
		gc_malloc = h ? (void *(*)(size_t))dlsym(h, "GC_malloc") : NULL;
		gc_gcollect = h ? (void (*)(void))dlsym(h, "GC_gcollect") : NULL;
		gc_enable = h ? (void (*)(void))dlsym(h, "GC_enable") : NULL;
		if (!init || !disable || !gc_malloc || !gc_gcollect || !gc_enable) {
			fprintf(stderr, "collect: cannot load the Boehm collector: %s\n", dlerror());
			return 2;
		}
		init();
		disable();      /* no collection while the graph is only in objs[] */
		break;
	}
	case NTOOLS:
		return 2;
	}
	double t0 = now_s();
	size_t bytes = build();
	double build_s = now_s() - t0;
	scrub();
	if (tool == BOEHM)
		gc_enable();

	struct sample full[MAXREPS], young[MAXREPS];
	if (reps == 0)
		reps = nobj >= 10000000 ? 1 : 3;
	int yreps = reps > YOUNG_REPS ? reps : YOUNG_REPS;
	for (int i = 0; i < reps; i++)
		full[i] = timed(2);
	printf("collect tool=%s n=%ld heap_mb=%.1f build_s=%.3f", tool_name[tool], nobj,
	       (double)bytes * 1e-6, build_s);
	print_samples("full", full, reps);
	if (tool == MEMGC) {
		for (int i = 0; i < yreps; i++) {
			young_round(i);
			scrub();
			young[i] = timed(0);
		}
		print_samples("young", young, yreps);
		struct memgc_gc_stats st[3];
		memgc_get_stats(st);
		printf(" g2_total_ns=%" PRIu64, st[2].total_ns);
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf(" maxrss_mb=%.1f\n", (double)ru.ru_maxrss / 1024);
	fflush(stdout);
	return 0;
}

/* ---- the driver ---- */

/* One worker run's figures, parsed from its line. */
struct result {
	bool ok;
	double heap_mb, build_s, maxrss_mb;
	struct sample full, young;
	double leak_ms;          /* memgc's exit leak check (total, from the report) */
	long lsan_found;         /* LeakSanitizer's SUMMARY allocation count */
};

static struct result res[MAXSIZES][NTOOLS][MAXRUNS];
static const char *peer_path[NTOOLS];
static const char *memgc_extra = "";
static char tmpdir[] = "/tmp/memgc-bench-collect.XXXXXX";

static bool field(const char *line, const char *key, double *out)
{
	char pat[64];
	snprintf(pat, sizeof pat, " %s=", key);
	const char *p = strstr(line, pat);
	if (!p)
		return false;
	*out = strtod(p + strlen(pat), NULL);
	return true;
}

static void parse_sample(const char *line, const char *prefix, struct sample *s)
{
	char k[64];
	double f = -1;
	snprintf(k, sizeof k, "%s_wall_ms", prefix);
	field(line, k, &s->wall_ms);
	snprintf(k, sizeof k, "%s_cpu_ms", prefix);
	field(line, k, &s->cpu_ms);
	snprintf(k, sizeof k, "%s_pause_ms", prefix);
	field(line, k, &s->pause_ms);
	snprintf(k, sizeof k, "%s_total_ms", prefix);
	field(line, k, &s->total_ms);
	snprintf(k, sizeof k, "%s_scanned_mb", prefix);
	field(line, k, &s->scanned_mb);
	snprintf(k, sizeof k, "%s_found", prefix);
	if (field(line, k, &f))
		s->found = (long)f;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap);
	size_t k;
	while (b && (k = fread(b + n, 1, cap - n - 1, f)) > 0) {
		n += k;
		if (n + 1 == cap) {
			char *nb = realloc(b, cap *= 2);
			if (!nb) {
				free(b);
				b = NULL;
			}
			b = nb;
		}
	}
	fclose(f);
	if (b)
		b[n] = 0;
	return b;
}

/* generation 2's total_ns in memgc's JSON report: the third "total_ns"
 * of "collector"'s "generations". */
static double report_g2_total_ns(const char *path)
{
	char *j = slurp(path);
	double v = -1;
	const char *p = j ? strstr(j, "\"generations\"") : NULL;
	for (int i = 0; p && i < 3; i++)
		if ((p = strstr(p + 1, "\"total_ns\":")))
			v = strtod(p + strlen("\"total_ns\":"), NULL);
	free(j);
	return p ? v : -1;
}

/* The allocation count of LeakSanitizer's last SUMMARY line, or -1. */
static long lsan_summary(const char *path)
{
	char *e = slurp(path);
	long n = -1;
	for (const char *p = e; p && (p = strstr(p, "SUMMARY: LeakSanitizer:")); p++) {
		const char *q = strstr(p, " leaked in ");
		if (q)
			n = strtol(q + strlen(" leaked in "), NULL, 10);
	}
	free(e);
	return n;
}

static void run_worker(enum tool t, long n, const char *self, struct result *r)
{
	char out[512], err[512], rep[512], args[8][32];
	snprintf(out, sizeof out, "%s/out", tmpdir);
	snprintf(err, sizeof err, "%s/err", tmpdir);
	snprintf(rep, sizeof rep, "%s/report.json", tmpdir);
	unlink(rep);
	memset(r, 0, sizeof *r);
	r->leak_ms = -1;
	r->lsan_found = -1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("collect: fork");
		exit(2);
	}
	if (pid == 0) {
		if (!freopen(out, "w", stdout) || !freopen(err, "w", stderr) ||
		    !freopen("/dev/null", "r", stdin))
			_exit(127);
		char opts[1024];
		switch (t) {
		case MEMGC:
			/* no automatic collection while the heap is built; the
			 * exit leak check writes its time to the report */
			snprintf(opts, sizeof opts, "gc=0:leak_check=1:report=%s%s%s", rep,
				 *memgc_extra ? ":" : "", memgc_extra);
			setenv("MEMGC_OPTIONS", opts, 1);
			setenv("LD_PRELOAD", peer_path[t], 1);
			break;
		case LSAN:
			setenv("LSAN_OPTIONS", "detect_leaks=1:leak_check_at_exit=0:symbolize=0:"
			       "malloc_context_size=2:exitcode=0", 1);
			setenv("LD_PRELOAD", peer_path[t], 1);
			break;
		case BOEHM:
			setenv("GC_MARKERS", "1", 1);
			setenv("BENCH_LIBGC", peer_path[t], 1);
			unsetenv("LD_PRELOAD");
			break;
		case NTOOLS:
			_exit(127);
		}
		snprintf(args[0], sizeof args[0], "%s", tool_name[t]);
		snprintf(args[1], sizeof args[1], "%ld", n);
		snprintf(args[2], sizeof args[2], "%ld", nleaked);
		snprintf(args[3], sizeof args[3], "%ld", nyoung);
		snprintf(args[4], sizeof args[4], "%ld", pct);
		snprintf(args[5], sizeof args[5], "%d", reps ? reps : n >= 10000000 ? 1 : 3);
		snprintf(args[6], sizeof args[6], "%ld", window);
		execl(self, self, "-w", args[0], "-n", args[1], "-L", args[2], "-y", args[3],
		      "-p", args[4], "-r", args[5], "-g", args[6], (char *)NULL);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	char *o = slurp(out);
	const char *line = o ? strstr(o, "collect tool=") : NULL;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !line) {
		char *e = slurp(err);
		fprintf(stderr, "collect: %s on %ld objects failed (%s %d); its stderr ends:\n%s\n",
			tool_name[t], n, WIFEXITED(st) ? "exit" : "signal",
			WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
			e ? e + (strlen(e) > 800 ? strlen(e) - 800 : 0) : "");
		free(e);
		free(o);
		return;
	}
	r->ok = true;
	field(line, "heap_mb", &r->heap_mb);
	field(line, "build_s", &r->build_s);
	field(line, "maxrss_mb", &r->maxrss_mb);
	r->full.found = r->young.found = -1;
	parse_sample(line, "full", &r->full);
	parse_sample(line, "young", &r->young);
	double before;
	if (t == MEMGC && field(line, "g2_total_ns", &before)) {
		double after = report_g2_total_ns(rep);
		if (after >= before)
			r->leak_ms = (after - before) * 1e-6;
	}
	if (t == LSAN)
		r->lsan_found = lsan_summary(err);
	free(o);
}

/* The median over the runs of one figure; -1 when none has it. */
static double med(int si, enum tool t, int runs, size_t off)
{
	double v[MAXRUNS];
	int n = 0;
	for (int r = 0; r < runs; r++) {
		const struct result *x = &res[si][t][r];
		double d = *(const double *)((const char *)x + off);
		if (x->ok && d >= 0)
			v[n++] = d;
	}
	return median(v, n);
}

#define MED(si, t, runs, member) med(si, t, runs, offsetof(struct result, member))

/* One column of the table: v, or n/a when it was not measured. */
static void cell(double v, int width, int prec)
{
	if (v < 0)
		printf(" %*s", width, "n/a");
	else
		printf(" %*.*f", width, prec, v);
}

static void ratio(const char *what, double a, double b)
{
	if (a < 0 || b <= 0)
		printf("  %-44s %8s\n", what, "n/a");
	else
		printf("  %-44s %7.2fx\n", what, a / b);
}

static const char *pow10_name(long n, char *buf, size_t sz)
{
	int e = 0;
	long m = n;
	while (m >= 10 && m % 10 == 0) {
		m /= 10;
		e++;
	}
	if (m == 1)
		snprintf(buf, sz, "10^%d", e);
	else
		snprintf(buf, sz, "%ld", n);
	return buf;
}

static int failed;

static void bar(const char *what, double v, double limit, bool at_least, const char *unit)
{
	if (v < 0) {
		printf("  SKIP  %-58s (not measured)\n", what);
		return;
	}
	bool ok = at_least ? v >= limit : v < limit;
	printf("  %s  %-58s %7.2f%s %s %.2f%s\n", ok ? "PASS" : "FAIL", what, v, unit,
	       ok ? (at_least ? ">=" : "<") : (at_least ? "<" : ">="), limit, unit);
	if (!ok)
		failed = 1;
}

static long arg_long(const char *s, long lo, long hi, const char *what)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 0);
	if (!*s || *end || errno || v < lo || v > hi) {
		fprintf(stderr, "collect: bad %s '%s' (accepted: %ld..%ld)\n", what, s, lo, hi);
		exit(2);
	}
	return v;
}

/* A heap size: an object count, or bytes with a K, M or G suffix (the
 * objects whose memgc blocks fill that many); label gets its name. */
static long heap_size(const char *s, char *label, size_t n)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	int shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : -1;
	if (shift < 0 || end[1] || errno || v <= 0) {
		long k = arg_long(s, CHAINS, 100000000, "heap size (objects, or bytes with K, M or G)");
		pow10_name(k, label, n);
		return k;
	}
	double objs = v * (double)(1L << shift) / MEAN_BLOCK;
	if (objs < CHAINS || objs > 100000000) {
		fprintf(stderr, "collect: bad heap size '%s' (accepted: %d..100000000 objects, "
			"or bytes with K, M or G for %.0f..%.0f MiB)\n", s, CHAINS,
			CHAINS * MEAN_BLOCK / 1048576, 1e8 * MEAN_BLOCK / 1048576);
		exit(2);
	}
	snprintf(label, n, "%g %ciB", v, *end);
	return (long)objs;
}

static void usage(void)
{
	fprintf(stderr, "usage: collect [-N sizes] [-R runs] [-r reps] [-p pointer_percent] "
			"[-L leaked] [-y young] [-t tools] [-o memgc_options]\n"
			"       (sizes: object counts, or bytes with K, M or G; tools: memgc,lsan,boehm)\n"
			"       (MEMGC_LIB=path/libmemgc.so; BENCH_LSAN, BENCH_LIBGC, BENCH_SIZES, "
			"BENCH_RUNS, BENCH_TOOLS, BENCH_STRICT)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *wtool = NULL;
	const char *sizes_arg = getenv("BENCH_SIZES");
	const char *runs_env = getenv("BENCH_RUNS");
	const char *tools_arg = getenv("BENCH_TOOLS");
	char label[32];
	int runs = runs_env && *runs_env ? (int)arg_long(runs_env, 1, MAXRUNS, "BENCH_RUNS") : 3;
	int c;
	while ((c = getopt(argc, argv, "w:n:N:R:r:p:g:L:y:t:o:")) != -1) {
		switch (c) {
		case 'w': wtool = optarg; break;
		case 'n': nobj = heap_size(optarg, label, sizeof label); break;
		case 'N': sizes_arg = optarg; break;
		case 'R': runs = (int)arg_long(optarg, 1, MAXRUNS, "run count"); break;
		case 'r': reps = (int)arg_long(optarg, 1, MAXREPS, "collections per run"); break;
		case 'p': pct = arg_long(optarg, 0, 100, "pointer percent"); break;
		case 'g': window = arg_long(optarg, 0, 1L << 30, "pointer window"); break;
		case 'L': nleaked = arg_long(optarg, 0, 1L << 24, "leaked object count"); break;
		case 'y': nyoung = arg_long(optarg, 1, 1L << 24, "young object count"); break;
		case 't': tools_arg = optarg; break;
		case 'o': memgc_extra = optarg; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (wtool) {
		for (int t = 0; t < NTOOLS; t++)
			if (!strcmp(wtool, tool_name[t]))
				tool = (enum tool)t;
		if (strcmp(wtool, tool_name[tool])) {
			fprintf(stderr, "collect: bad tool '%s' (accepted: memgc, lsan, boehm)\n", wtool);
			return 2;
		}
		return worker();
	}

	/* the driver */
	long sizes[MAXSIZES];
	char names[MAXSIZES][32];
	int nsizes = 0;
	char *list = strdup(sizes_arg && *sizes_arg ? sizes_arg : "100000 1000000 10000000");
	for (char *s = strtok(list, " ,"); s; s = strtok(NULL, " ,")) {
		if (nsizes == MAXSIZES) {
			fprintf(stderr, "collect: at most %d sizes\n", MAXSIZES);
			return 2;
		}
		sizes[nsizes] = heap_size(s, names[nsizes], sizeof names[0]);
		nsizes++;
	}
	free(list);
	peer_path[MEMGC] = getenv("MEMGC_LIB");
	peer_path[LSAN] = getenv("BENCH_LSAN");
	peer_path[BOEHM] = getenv("BENCH_LIBGC");
	if (!peer_path[LSAN] || !*peer_path[LSAN])
		peer_path[LSAN] = "/usr/lib/x86_64-linux-gnu/liblsan.so.0";
	if (!peer_path[BOEHM] || !*peer_path[BOEHM])
		peer_path[BOEHM] = "/usr/lib/x86_64-linux-gnu/libgc.so.1";
	if (!peer_path[MEMGC] || access(peer_path[MEMGC], R_OK)) {
		fprintf(stderr, "collect: set MEMGC_LIB to the built libmemgc.so (make bench-collect does)\n");
		return 2;
	}
	bool have[NTOOLS], want[NTOOLS] = { true, true, true };
	if (tools_arg && *tools_arg) {
		char *tl = strdup(tools_arg);
		memset(want, 0, sizeof want);
		for (char *s = strtok(tl, " ,"); s; s = strtok(NULL, " ,")) {
			int t = 0;
			while (t < NTOOLS && strcmp(s, tool_name[t]))
				t++;
			if (t == NTOOLS) {
				fprintf(stderr, "collect: bad tool '%s' in -t (accepted: memgc, lsan, boehm)\n", s);
				return 2;
			}
			want[t] = true;
		}
		free(tl);
		if (!want[MEMGC]) {
			fprintf(stderr, "collect: -t must name memgc (the others are measured against it)\n");
			return 2;
		}
	}
	for (int t = 0; t < NTOOLS; t++) {
		have[t] = want[t] && access(peer_path[t], R_OK) == 0;
		if (!want[t])
			continue;
		if (!have[t])
			fprintf(stderr, "collect: %s (%s) not found, its column is n/a\n", tool_name[t],
				peer_path[t]);
	}
	if (!mkdtemp(tmpdir)) {
		perror("collect: mkdtemp");
		return 2;
	}
	char self[4096];
	ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
	if (k <= 0) {
		perror("collect: /proc/self/exe");
		return 2;
	}
	self[k] = 0;

	struct utsname u;
	uname(&u);
	char reps_text[32] = "3 (1 from 10^7 objects)";
	if (reps)
		snprintf(reps_text, sizeof reps_text, "%d", reps);
	printf("memgc collection pause and mark throughput: %s\n", peer_path[MEMGC]);
	printf("%s %s %s, %ld CPUs; %d runs per tool and size, the tools interleaved.\n"
	       "Heap: objects of 16-256 B, %ld%% of their words pointers to objects %s%.0ld%s,\n"
	       "%ld leaked in lists of %d.  Per run: %s full collections (median), then as many\n"
	       "young rounds of %ld new objects + %d leaked, each with memgc_collect(0).\n"
	       "memgc: memgc_collect(2), MEMGC_OPTIONS=gc=0%s%s; LeakSanitizer: "
	       "__lsan_do_recoverable_leak_check()\nas a preload; Boehm: GC_gcollect(), GC_MARKERS=1.  "
	       "CPU: the process's and its waited-for\nchildren's (LeakSanitizer's tracer task); pause: "
	       "the world stopped; GB/s: bytes scanned per\nsecond of CPU and of pause.  Ratios and the "
	       "bar use CPU time.\n",
	       u.sysname, u.release, u.machine, sysconf(_SC_NPROCESSORS_ONLN), runs, pct,
	       window ? "at most " : "anywhere", window, window ? " objects away" : "", nleaked, LIST,
	       reps_text, nyoung, YOUNG_LEAKED,
	       *memgc_extra ? ":" : "", memgc_extra);
	fflush(stdout);

	for (int si = 0; si < nsizes; si++) {
		for (int r = 0; r < runs; r++)
			for (int i = 0; i < NTOOLS; i++) {
				enum tool t = (enum tool)((i + r) % NTOOLS);
				if (!have[t])
					continue;
				if (isatty(2))
					fprintf(stderr, "\r  %ld objects, run %d/%d: %-8s", sizes[si], r + 1,
						runs, tool_name[t]);
				run_worker(t, sizes[si], self, &res[si][t][r]);
			}
		if (isatty(2))
			fprintf(stderr, "\r%60s\r", "");
		if (strchr(names[si], 'B'))
			printf("\n== %s, %ld objects, %.0f MB requested (median of %d runs) ==\n",
			       names[si], sizes[si], MED(si, MEMGC, runs, heap_mb), runs);
		else
			printf("\n== %s objects, %.0f MB (median of %d runs) ==\n", names[si],
			       MED(si, MEMGC, runs, heap_mb), runs);
		printf("%-8s %8s %9s %9s %9s %9s %10s %8s %8s %7s\n", "tool", "build s", "wall ms",
		       "CPU ms", "pause ms", "total ms", "scanned MB", "GB/s CPU", "GB/s pau", "RSS MB");
		for (int t = 0; t <= NTOOLS; t++) {
			/* the last row: memgc's young collections */
			bool y = t == NTOOLS;
			enum tool tt = y ? MEMGC : (enum tool)t;
			size_t off = y ? offsetof(struct result, young) : offsetof(struct result, full);
#define F(member) med(si, tt, runs, off + offsetof(struct sample, member))
			double c = F(cpu_ms), p = F(pause_ms), sc = F(scanned_mb);
			printf("%-8s", y ? "young" : tool_name[t]);
			if (y)
				printf(" %8s", "-");
			else
				cell(MED(si, tt, runs, build_s), 8, 2);
			cell(F(wall_ms), 9, 1);
			cell(c, 9, 1);
			cell(p, 9, 1);
			cell(F(total_ms), 9, 1);
			cell(sc, 10, 1);
			cell(c > 0 && sc >= 0 ? sc / c : -1, 8, 2);
			cell(p > 0 && sc >= 0 ? sc / p : -1, 8, 2);
			if (y)
				printf("  (memgc_collect(0) after %ld new objects)", nyoung);
			else
				cell(MED(si, tt, runs, maxrss_mb), 7, 0);
			printf("\n");
#undef F
		}
		double leak = MED(si, MEMGC, runs, leak_ms);
		printf("%-8s %8s %9s %9s %9s", "leakchk", "-", "-", "-", "-");
		cell(leak, 9, 1);
		printf("  (memgc's exit leak check: a full collection that classifies; total, wall)\n");

		/* what each found, every run */
		for (int r = 0; r < runs; r++) {
			const struct result *m = &res[si][MEMGC][r], *l = &res[si][LSAN][r];
			if (m->ok && m->full.found != nleaked)
				printf("  CHECK memgc run %d: full collection found %ld, leaked %ld\n", r + 1,
				       m->full.found, nleaked);
			if (m->ok && m->young.found != YOUNG_LEAKED)
				printf("  CHECK memgc run %d: young collection found %ld, leaked %d\n", r + 1,
				       m->young.found, YOUNG_LEAKED);
			if (l->ok && l->lsan_found != nleaked)
				printf("  CHECK lsan run %d: leak check found %ld, leaked %ld\n", r + 1,
				       l->lsan_found, nleaked);
		}
		double mc = MED(si, MEMGC, runs, full.cpu_ms), mw = MED(si, MEMGC, runs, full.wall_ms);
		double heap = MED(si, MEMGC, runs, heap_mb), sc = MED(si, MEMGC, runs, full.scanned_mb);
		if (heap > 0 && sc > 1.5 * heap && mc > 0)
			printf("  NOTE  memgc scanned %.1fx the heap: its mark stack overflowed and marking "
			       "rescanned\n        (GB/s counts every pass; the heap once per CPU second: "
			       "%.2f GB/s)\n", sc / heap, heap / mc);
		printf("ratios:\n");
		ratio("memgc full / LSan check, CPU", mc, MED(si, LSAN, runs, full.cpu_ms));
		ratio("memgc full / Boehm GC_gcollect, CPU", mc, MED(si, BOEHM, runs, full.cpu_ms));
		ratio("memgc full / LSan check, wall", mw, MED(si, LSAN, runs, full.wall_ms));
		ratio("memgc full / Boehm GC_gcollect, wall", mw, MED(si, BOEHM, runs, full.wall_ms));
		ratio("memgc exit leak check / LSan check, wall", leak, MED(si, LSAN, runs, full.wall_ms));
		ratio("memgc young / memgc full, CPU", MED(si, MEMGC, runs, young.cpu_ms), mc);
		fflush(stdout);
	}

	printf("\nThe bar (issue 3; this run):\n");
	for (int si = 0; si < nsizes; si++) {
		char what[128];
		double c = MED(si, MEMGC, runs, full.cpu_ms), s = MED(si, MEMGC, runs, full.scanned_mb);
		snprintf(what, sizeof what, "full collection marks, %s%s (per CPU second)", names[si],
			 strchr(names[si], 'B') ? "" : " objects");
		bar(what, c > 0 && s >= 0 ? s / c : -1, 1.0, true, " GB/s");
	}
	for (int si = 0; si < nsizes; si++) {
		if (sizes[si] != 10000000)
			continue;
		double l = MED(si, LSAN, runs, full.cpu_ms), m = MED(si, MEMGC, runs, full.cpu_ms);
		bar("full collection / LSan check, 10^7 objects, CPU", m >= 0 && l > 0 ? m / l : -1, 1.0,
		    false, "x");
		l = MED(si, LSAN, runs, full.wall_ms);
		m = MED(si, MEMGC, runs, leak_ms);
		bar("exit leak check / LSan check, 10^7 objects, wall", m >= 0 && l > 0 ? m / l : -1, 1.0,
		    false, "x");
	}
	/* issue 5: young collections flat as the heap grows, and cheap at 4 GiB */
	printf("\nThe bar (issue 5; this run, young collections%s%s):\n", *memgc_extra ? ", " : "",
	       memgc_extra);
	int small = -1, big = -1;
	for (int si = 0; si < nsizes; si++) {
		if (sizes[si] == 100000)
			small = si;
		if (sizes[si] <= 10000000 && sizes[si] > 100000 && (big < 0 || sizes[si] > sizes[big]))
			big = si;
	}
	if (small >= 0 && big >= 0) {
		char what[128];
		double a = MED(small, MEMGC, runs, young.cpu_ms), b = MED(big, MEMGC, runs, young.cpu_ms);
		snprintf(what, sizeof what, "young collection, %s / 10^5 objects, CPU", names[big]);
		bar(what, a > 0 && b >= 0 ? b / a : -1, 2.0, false, "x");
	}
	for (int si = 0; si < nsizes; si++) {
		if ((double)sizes[si] * MEAN_BLOCK < 4.0 * (1L << 30) * 0.999)
			continue;
		char what[128];
		snprintf(what, sizeof what, "young collection, %s heap, CPU", names[si]);
		bar(what, MED(si, MEMGC, runs, young.cpu_ms), 5.0, false, " ms");
	}
	char path[600];
	snprintf(path, sizeof path, "%s/out", tmpdir);
	unlink(path);
	snprintf(path, sizeof path, "%s/err", tmpdir);
	unlink(path);
	snprintf(path, sizeof path, "%s/report.json", tmpdir);
	unlink(path);
	rmdir(tmpdir);
	const char *strict = getenv("BENCH_STRICT");
	return strict && !strcmp(strict, "1") && failed ? 1 : 0;
}
