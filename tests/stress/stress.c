/* stress.c: 8 threads, 10^7 operations, cross-thread frees, forks in the
 * middle, under the preload; checks contents, no hang, exact counts.
 *
 * Objects pass between threads through a shared table of slots: each
 * operation puts a fresh object in a random slot with an atomic exchange
 * and frees whatever was there, so most frees happen on another thread than
 * the allocation.  Every object carries a pattern derived from its address
 * and size, checked before it is freed.  One thread forks now and then; the
 * child runs allocations of its own while its copy of the table stays put,
 * checks its counts and exits.  At the end every slot is emptied and
 * memgc's live object count must be back where it started, exactly.
 * Usage: stress [seed] [operations] [threads]; re-executes itself under
 * $MEMGC_LIB when not yet preloaded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "memgc.h"

#define SLOTS 65536
#define FORKS 6

static void *_Atomic slots[SLOTS];
static long ops_per_thread;
static int nthreads;
static uint64_t seed;

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static size_t pick_size(uint64_t r)
{
	unsigned k = r % 1000;
	if (k < 700)
		return r >> 32 & 127;
	if (k < 990)
		return r >> 32 & 4095;
	if (k < 999)
		return 65536 + (r >> 32 & 0xfffff);
	return (2u << 20) + (r >> 40 & 0xffff);
}

/* The first word holds the size; the rest is a pattern of the address. */
static void *make(size_t n)
{
	size_t total = n + sizeof(size_t);
	unsigned char *p = malloc(total);
	if (!p) {
		fprintf(stderr, "stress: malloc(%zu) failed\n", total);
		abort();
	}
	memcpy(p, &n, sizeof n);
	unsigned char c = (unsigned char)((uintptr_t)p >> 4);
	size_t fill = n < 256 ? n : 256;
	memset(p + sizeof n, c, fill);
	if (n >= 256 + 16)
		memset(p + total - 16, c ^ 0x5a, 16);
	return p;
}

static void check_and_free(void *v)
{
	unsigned char *p = v;
	if (!p)
		return;
	size_t n;
	memcpy(&n, p, sizeof n);
	unsigned char c = (unsigned char)((uintptr_t)p >> 4);
	size_t fill = n < 256 ? n : 256;
	for (size_t i = 0; i < fill; i++)
		if (p[sizeof n + i] != c) {
			fprintf(stderr, "stress: object %p of %zu bytes corrupted at %zu\n", (void *)p, n, i);
			abort();
		}
	if (n >= 256 + 16)
		for (size_t i = n + sizeof n - 16; i < n + sizeof n; i++)
			if (p[i] != (c ^ 0x5a)) {
				fprintf(stderr, "stress: object %p of %zu bytes: tail corrupted\n", (void *)p, n);
				abort();
			}
	free(p);
}

static long live_objects(void)
{
	struct memgc_heap_stats st;
	if (memgc_get_heap_stats(&st)) {
		perror("memgc_get_heap_stats");
		exit(2);
	}
	return (long)st.live_objects;
}

/* In a forked child: allocate and free on two threads, check the counts. */
static void *child_worker(void *arg)
{
	uint64_t s = (uintptr_t)arg | 1;
	void *mine[512] = { 0 };
	for (int i = 0; i < 20000; i++) {
		uint64_t r = next(&s);
		unsigned k = r % 512;
		check_and_free(mine[k]);
		mine[k] = make(pick_size(r) % 8192);
	}
	for (int k = 0; k < 512; k++)
		check_and_free(mine[k]);
	return NULL;
}

static void *idle(void *arg)
{
	return arg;
}

/* glibc frees a thread's DTV only when its cached stack is reused or
 * trimmed, and the child inherits the parent's threads as cached stacks:
 * run n threads to completion first so that the measured section starts
 * with glibc's own allocations settled. */
static void settle_threads(int n)
{
	pthread_t t[64];
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, idle, NULL))
			_exit(3);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
}

static void child(uint64_t s)
{
	settle_threads(2);
	long before = live_objects();
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, child_worker, (void *)(uintptr_t)(s + (uint64_t)i)))
			_exit(3);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	long after = live_objects();
	if (after != before) {
		fprintf(stderr, "stress: child %d: live objects %ld before, %ld after\n", (int)getpid(),
			before, after);
		_exit(4);
	}
	_exit(0);
}

static void *worker(void *arg)
{
	long id = (long)arg;
	uint64_t s = seed * 0x9e3779b97f4a7c15ull + (uint64_t)id * 7919 + 1;
	long fork_every = ops_per_thread / (FORKS + 1);
	for (long i = 0; i < ops_per_thread; i++) {
		uint64_t r = next(&s);
		void *fresh = make(pick_size(r));
		void *old = __atomic_exchange_n(&slots[(r >> 16) % SLOTS], fresh, __ATOMIC_ACQ_REL);
		check_and_free(old);
		if (id == 0 && fork_every && i % fork_every == fork_every - 1) {
			pid_t pid = fork();
			if (pid < 0) {
				perror("stress: fork");
				exit(2);
			}
			if (pid == 0)
				child(r);
			int st;
			if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
				fprintf(stderr, "stress: child failed (status 0x%x)\n", st);
				exit(1);
			}
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *lib = getenv("MEMGC_LIB");
	if (lib && !getenv("MEMGC_STRESS_PRELOADED")) {
		setenv("LD_PRELOAD", lib, 1);
		setenv("MEMGC_STRESS_PRELOADED", "1", 1);
		execv("/proc/self/exe", argv);
		perror("stress: execv");
		return 2;
	}
	seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 20261125;
	long total = argc > 2 ? strtol(argv[2], NULL, 0) : 10000000;
	nthreads = argc > 3 ? atoi(argv[3]) : 8;
	ops_per_thread = total / nthreads;
	printf("stress: seed %llu, %ld operations on %d threads, %d forks\n",
	       (unsigned long long)seed, ops_per_thread * nthreads, nthreads, FORKS);
	fflush(stdout);
	settle_threads(nthreads);
	long before = live_objects();
	pthread_t t[64];
	for (long i = 0; i < nthreads; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)i)) {
			perror("pthread_create");
			return 2;
		}
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	for (int k = 0; k < SLOTS; k++)
		check_and_free(slots[k]);
	long after = live_objects();
	struct memgc_heap_stats st;
	memgc_get_heap_stats(&st);
	printf("stress: %llu allocations, %llu deallocations, live objects %ld before and %ld after\n",
	       (unsigned long long)st.allocations, (unsigned long long)st.deallocations, before, after);
	if (after != before) {
		fprintf(stderr, "stress: counts do not balance\n");
		return 1;
	}
	return 0;
}
