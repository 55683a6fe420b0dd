/* fork_threads.c: fork while other threads allocate, for fork_threads.sh.
 *
 * Four threads pass objects round a ring (each frees what the previous one
 * allocated) until the main thread has forked all its children, one after
 * the other, while they run; each child allocates and
 * frees, on its own thread and on two new ones, and exits.  Under memgc the
 * counts must balance: live_objects back to its starting value in the
 * parent once the threads are done, and in each child relative to the
 * child's own start.  Prints the same lines with and without memgc (the
 * balance lines say "balanced" when memgc is absent); a child that finds
 * its counts wrong exits 1.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "memgc.h"

#pragma weak memgc_get_heap_stats

#define NTHREADS 4
#define NCHILDREN 24
#define RING 256

static int64_t live_objects(void)
{
	struct memgc_heap_stats st;
	if (!memgc_get_heap_stats || memgc_get_heap_stats(&st))
		return 0;
	return (int64_t)st.live_objects;
}

struct mailbox {
	pthread_mutex_t lock;
	void *slot[RING];
	unsigned head, tail;   /* tail - head items, from slot[head % RING] on */
} box[NTHREADS];

/* Puts p in b; 0, or -1 when b is full. */
static int put(struct mailbox *b, void *p)
{
	int r = -1;
	pthread_mutex_lock(&b->lock);
	if (b->tail - b->head < RING) {
		b->slot[b->tail++ % RING] = p;
		r = 0;
	}
	pthread_mutex_unlock(&b->lock);
	return r;
}

/* An item, or NULL when the box is empty. */
static void *take(struct mailbox *b)
{
	void *p = NULL;
	pthread_mutex_lock(&b->lock);
	if (b->tail != b->head)
		p = b->slot[b->head++ % RING];
	pthread_mutex_unlock(&b->lock);
	return p;
}

struct item {
	uint32_t from, seq, size;
	unsigned char bytes[];
};

static uint64_t freed[NTHREADS], bad[NTHREADS];
static int done, stop;

/* Frees what thread k has received (allocated by thread k - 1). */
static void drain(int k)
{
	struct item *got;
	while ((got = take(&box[k])) != NULL) {
		if (got->from != (uint32_t)(k + NTHREADS - 1) % NTHREADS ||
		    (got->size && got->bytes[got->size - 1] != (got->seq & 0xff)))
			bad[k]++;
		if (got->seq % 3 == 0)
			got = realloc(got, sizeof *got + got->size / 2);
		free(got);
		freed[k]++;
	}
}

static void *ring_worker(void *arg)
{
	int k = (int)(intptr_t)arg;
	uint32_t x = 0x9e3779b9u * (uint32_t)(k + 1);
	struct mailbox *next = &box[(k + 1) % NTHREADS];
	for (uint32_t i = 0; !__atomic_load_n(&stop, __ATOMIC_RELAXED); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		uint32_t size = x % 4 == 0 ? x % 20000 : x % 300;
		struct item *it = x % 16 == 0 ? calloc(1, sizeof *it + size) : malloc(sizeof *it + size);
		it->from = (uint32_t)k;
		it->seq = i;
		it->size = size;
		memset(it->bytes, (int)(i & 0xff), size);
		while (put(next, it))
			drain(k);   /* never wait on a full box: the ring could lock up */
		drain(k);
	}
	/* the others may still be sending: keep taking until all are done */
	__atomic_add_fetch(&done, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&done, __ATOMIC_SEQ_CST) < NTHREADS) {
		drain(k);
		sched_yield();
	}
	drain(k);
	return NULL;
}

/* what a child does on each thread: its own objects, all freed */
static void *child_work(void *arg)
{
	uintptr_t seed = (uintptr_t)arg;
	void *keep[64] = { 0 };
	for (unsigned i = 0; i < 20000; i++) {
		unsigned j = (unsigned)((i * 2654435761u + seed) % 64);
		size_t n = i % 500 + 1;
		free(keep[j]);
		keep[j] = (i & 7) ? malloc(n) : aligned_alloc(64, n);
		if (keep[j])
			memset(keep[j], 1, n);
	}
	for (unsigned j = 0; j < 64; j++)
		free(keep[j]);
	return NULL;
}

static int child(int n)
{
	int64_t start = live_objects();
	child_work((void *)(uintptr_t)n);
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, child_work, (void *)(uintptr_t)(n * 10 + i)))
			return 2;
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	/* a thread's stack (and glibc's record of its TLS) can stay cached
	 * after a join: a second round reuses them, and must not add any */
	int64_t mid = live_objects();
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, child_work, (void *)(uintptr_t)(n * 10 + i)))
			return 2;
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	int64_t end = live_objects();
	if (end != mid || mid - start > 2) {
		fprintf(stderr, "child %d: live objects %lld at start, %lld after the first threads, "
			"%lld at the end\n", n, (long long)start, (long long)mid, (long long)end);
		return 1;
	}
	return 0;
}

static void *noop(void *arg)
{
	return arg;
}

int main(void)
{
	/* warm up: stdout's buffer, and thread stacks that glibc keeps */
	printf("fork_threads: %d threads, %d children\n", NTHREADS, NCHILDREN);
	fflush(stdout);
	pthread_t t[NTHREADS];
	for (int k = 0; k < NTHREADS; k++)
		pthread_create(&t[k], NULL, noop, NULL);
	for (int k = 0; k < NTHREADS; k++)
		pthread_join(t[k], NULL);
	for (int k = 0; k < NTHREADS; k++)
		pthread_mutex_init(&box[k].lock, NULL);

	int64_t start = live_objects();
	for (int k = 0; k < NTHREADS; k++)
		if (pthread_create(&t[k], NULL, ring_worker, (void *)(intptr_t)k)) {
			printf("pthread_create failed\n");
			return 2;
		}
	int ok = 0, failed = 0;
	for (int n = 0; n < NCHILDREN; n++) {
		pid_t pid = fork();
		if (pid == 0)
			exit(child(n));
		if (pid < 0) {
			printf("fork failed\n");
			return 2;
		}
		int st;
		if (waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			ok++;
		else
			failed++;
		usleep(2000);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int k = 0; k < NTHREADS; k++)
		pthread_join(t[k], NULL);
	/* what is still in the boxes */
	uint64_t total = 0, wrong = 0;
	for (int k = 0; k < NTHREADS; k++) {
		void *p;
		while ((p = take(&box[k])) != NULL) {
			free(p);
			freed[k]++;
		}
		total += freed[k];
		wrong += bad[k];
	}
	int64_t end = live_objects();
	printf("children: %d exited 0, %d failed\n", ok, failed);
	printf("ring: %s objects passed and freed, %llu damaged\n", total >= 1000 ? "1000 or more" : "too few",
	       (unsigned long long)wrong);
	if (end == start)
		printf("parent: balanced\n");
	else
		printf("parent: live objects %lld at start, %lld at the end\n", (long long)start,
		       (long long)end);
	return failed || wrong || end != start;
}
