/* alloc.c: the allocation-heavy workload of bench/run.sh.
 *
 * Each thread keeps a working set of `live` objects (10^5 by default) and
 * replaces a random one per step: the old object's checksum word is read
 * and the object freed, a new one allocated and its first and last 8 bytes
 * written, as a real program touches what it allocates.  Sizes are uniform
 * in [16, 4096] bytes, with one object in `big_every` (1000) of 1 MiB.
 * With two or more threads, one free in `xfree_every` (64) goes through a
 * small single-producer/single-consumer ring to the next thread, which
 * frees it there (a cross-thread free, as a producer/consumer program does).
 *
 * The loop runs `frames` (32) calls deep, as a program's allocations do:
 * a tool that unwinds the stack at each allocation pays for it here as it
 * would there (the calls are made once, not per step).
 *
 * Only the replacement loop is timed (CLOCK_MONOTONIC, all threads started
 * together behind a barrier); the initial fill and the final teardown are
 * not.  One line on stdout, parsed by run.sh:
 *   alloc threads=T ops=N elapsed_s=S ns_per_op=X cpu_s=U proc_cpu_s=P
 *         maxrss_kb=K xfrees=F checksum=C
 * cpu_s is the workers' CPU time in the loop (CLOCK_THREAD_CPUTIME_ID,
 * summed): on a loaded machine it leaves out the time spent preempted.
 * proc_cpu_s is the whole process's CPU time over the same span
 * (CLOCK_PROCESS_CPUTIME_ID between the barriers): the workers' and that of
 * any thread the allocator or tool under test runs beside them.
 * maxrss_kb is the process's peak RSS (getrusage ru_maxrss).
 *
 * Usage: alloc [-t threads] [-n ops per thread] [-l live objects]
 *              [-b big_every] [-x xfree_every] [-d frames] [-s seed]
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define SMALL_MIN 16
#define SMALL_MAX 4096
#define BIG_SIZE ((size_t)1 << 20)
#define RING 256            /* a power of two */
#define MAX_THREADS 64

struct obj {
	char *p;
	size_t n;
};

/* One producer (thread i), one consumer (thread i+1 mod T). */
struct ring {
	_Alignas(64) unsigned head;     /* written by the consumer */
	_Alignas(64) unsigned tail;     /* written by the producer */
	_Alignas(64) struct obj slot[RING];
};

struct worker {
	pthread_t tid;
	int id;
	uint64_t rng;
	uint64_t sum;
	struct obj *set;
	struct ring *out;           /* to the next thread */
	struct ring *in;            /* from the previous thread */
	uint64_t xfrees;
	double cpu_s;               /* this thread's CPU time in the loop */
} __attribute__((aligned(64)));

static long frames = 32;
static long nthreads = 1, nops = 2000000, nlive = 100000, big_every = 1000, xfree_every = 64;
static uint64_t seed = 42;
static pthread_barrier_t start_bar, stop_bar;
static struct worker workers[MAX_THREADS];

static inline uint64_t rnd(uint64_t *s)      /* xorshift64* */
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * UINT64_C(0x2545f4914f6cdd1d);
}

static inline size_t pick_size(uint64_t *s)
{
	uint64_t r = rnd(s);
	if (big_every > 0 && (r >> 32) % (uint64_t)big_every == 0)
		return BIG_SIZE;
	return SMALL_MIN + (size_t)((r & 0xffffffffu) % (SMALL_MAX - SMALL_MIN + 1));
}

static inline struct obj make(uint64_t *s)
{
	struct obj o;
	o.n = pick_size(s);
	o.p = malloc(o.n);
	if (!o.p) {
		fprintf(stderr, "alloc: malloc(%zu) failed\n", o.n);
		exit(2);
	}
	uint64_t w = (uint64_t)(uintptr_t)o.p ^ o.n;
	memcpy(o.p, &w, 8);
	memcpy(o.p + o.n - 8, &w, 8);
	return o;
}

/* Reads the checksum word, then frees. */
static inline uint64_t drop(struct obj o)
{
	uint64_t w;
	memcpy(&w, o.p, 8);
	free(o.p);
	return w ^ o.n;
}

static void drain(struct worker *w)
{
	struct ring *r = w->in;
	unsigned h = r->head;
	unsigned t = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	for (; h != t; h++)
		w->sum += drop(r->slot[h & (RING - 1)]);
	__atomic_store_n(&r->head, h, __ATOMIC_RELEASE);
}

/* Hands o to the next thread; false when its ring is full. */
static bool pass(struct worker *w, struct obj o)
{
	struct ring *r = w->out;
	unsigned t = r->tail;
	if (t - __atomic_load_n(&r->head, __ATOMIC_ACQUIRE) == RING)
		return false;
	r->slot[t & (RING - 1)] = o;
	__atomic_store_n(&r->tail, t + 1, __ATOMIC_RELEASE);
	return true;
}

static __attribute__((noinline)) void loop(struct worker *w)
{
	w->set = malloc((size_t)nlive * sizeof *w->set);
	if (!w->set) {
		fprintf(stderr, "alloc: no memory for the working set\n");
		exit(2);
	}
	for (long i = 0; i < nlive; i++)
		w->set[i] = make(&w->rng);
	pthread_barrier_wait(&start_bar);
	struct timespec c0, c1;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	for (long k = 0; k < nops; k++) {
		uint64_t r = rnd(&w->rng);
		struct obj *o = &w->set[r % (uint64_t)nlive];
		if (w->out && (r >> 40) % (uint64_t)xfree_every == 0 && pass(w, *o)) {
			w->xfrees++;
		} else {
			w->sum += drop(*o);
		}
		*o = make(&w->rng);
		if (w->in && (k & 15) == 0)
			drain(w);
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
	w->cpu_s = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) * 1e-9;
	pthread_barrier_wait(&stop_bar);
	/* Untimed: everyone has stopped producing, take what is left. */
	if (w->in)
		drain(w);
}

/* Calls loop() d frames down; the empty asm after the call keeps it from
 * becoming a jump, so every frame stays on the stack. */
static __attribute__((noinline)) void deep(struct worker *w, long d)
{
	if (d > 0)
		deep(w, d - 1);
	else
		loop(w);
	__asm__ volatile("" ::: "memory");
}

static void *run(void *arg)
{
	deep(arg, frames);
	return NULL;
}

static long arg_long(const char *s, long lo, long hi, const char *what)
{
	char *end;
	long v = strtol(s, &end, 0);
	if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "alloc: bad %s '%s' (accepted: %ld..%ld)\n", what, s, lo, hi);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	int c;
	while ((c = getopt(argc, argv, "t:n:l:b:x:d:s:")) != -1) {
		switch (c) {
		case 't': nthreads = arg_long(optarg, 1, MAX_THREADS, "thread count"); break;
		case 'n': nops = arg_long(optarg, 1, 1L << 40, "op count"); break;
		case 'l': nlive = arg_long(optarg, 1, 1L << 30, "live object count"); break;
		case 'b': big_every = arg_long(optarg, 0, 1L << 30, "big_every"); break;
		case 'x': xfree_every = arg_long(optarg, 1, 1L << 30, "xfree_every"); break;
		case 'd': frames = arg_long(optarg, 0, 10000, "frames"); break;
		case 's': seed = (uint64_t)arg_long(optarg, 0, 1L << 62, "seed"); break;
		default:
			fprintf(stderr, "usage: alloc [-t threads] [-n ops] [-l live] [-b big_every] "
					"[-x xfree_every] [-d frames] [-s seed]\n");
			return 2;
		}
	}
	struct ring *rings = NULL;
	if (nthreads > 1) {
		rings = aligned_alloc(64, (size_t)nthreads * sizeof *rings);
		if (!rings)
			return 2;
		memset(rings, 0, (size_t)nthreads * sizeof *rings);
	}
	pthread_barrier_init(&start_bar, NULL, (unsigned)nthreads + 1);
	pthread_barrier_init(&stop_bar, NULL, (unsigned)nthreads + 1);
	for (long i = 0; i < nthreads; i++) {
		struct worker *w = &workers[i];
		w->id = (int)i;
		w->rng = seed * 0x9e3779b97f4a7c15u + (uint64_t)i + 1;
		if (rings) {
			w->out = &rings[i];
			w->in = &rings[(i + nthreads - 1) % nthreads];
		}
	}
	for (long i = 1; i < nthreads; i++)
		if (pthread_create(&workers[i].tid, NULL, run, &workers[i])) {
			fprintf(stderr, "alloc: pthread_create failed\n");
			return 2;
		}
	/* Thread 0 is the main thread; a helper thread waits on its behalf. */
	struct timespec t0, t1, p0, p1;
	pthread_t self_worker;
	if (pthread_create(&self_worker, NULL, run, &workers[0])) {
		fprintf(stderr, "alloc: pthread_create failed\n");
		return 2;
	}
	pthread_barrier_wait(&start_bar);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &p0);
	pthread_barrier_wait(&stop_bar);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &p1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	uint64_t sum = 0, xfrees = 0;
	double cpu = 0;
	pthread_join(self_worker, NULL);
	for (long i = 1; i < nthreads; i++)
		pthread_join(workers[i].tid, NULL);
	for (long i = 0; i < nthreads; i++) {
		sum += workers[i].sum;
		xfrees += workers[i].xfrees;
		cpu += workers[i].cpu_s;
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
	double pcpu = (double)(p1.tv_sec - p0.tv_sec) + (double)(p1.tv_nsec - p0.tv_nsec) * 1e-9;
	double total = (double)nops * (double)nthreads;
	printf("alloc threads=%ld ops=%.0f elapsed_s=%.6f ns_per_op=%.1f cpu_s=%.6f proc_cpu_s=%.6f "
	       "maxrss_kb=%ld xfrees=%" PRIu64 " checksum=%016" PRIx64 "\n",
	       nthreads, total, el, el * 1e9 / total, cpu, pcpu, ru.ru_maxrss, xfrees, sum);
	/* Teardown, untimed: a leak checker should see a clean exit. */
	for (long i = 0; i < nthreads; i++) {
		for (long j = 0; j < nlive; j++)
			free(workers[i].set[j].p);
		free(workers[i].set);
	}
	free(rings);
	return 0;
}
