/* gcstress.c: collections back to back, in mode=reclaim, while 4 threads
 * build and drop random graphs (with cycles) and check what they keep.
 *
 *   gcstress COLLECTIONS [FORKS]
 * Each mutator owns SLOTS roots (a global array); a root holds a graph of
 * 1..20 nodes with random edges.  Every node carries a magic word and a
 * checksum of its payload: a node a collection freed by mistake fails the
 * check (or memgc_is_live), a node dropped and not freed is counted at the
 * end, when every root is cleared and one last full collection must leave
 * no node at all.  FORKS children are forked in the middle; each builds,
 * drops and collects a graph of its own and must find it.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "memgc.h"

#pragma weak memgc_collect
#pragma weak memgc_disable
#pragma weak memgc_is_live
#pragma weak memgc_get_objects
#pragma weak memgc_object_size

#define THREADS 4
#define SLOTS 64
#define MAGIC 0x6e6f6465u       /* "node" */

struct node {
	uint32_t magic, id;
	uint64_t sum;
	struct node *edge[4];
	uint64_t payload[3];
};                              /* 72 bytes: no other object here has that size */

static struct node *roots[THREADS][SLOTS];
static volatile int stop;
static volatile long epoch;     /* collections done: each mutator does OPS per one */
#define OPS 50
static volatile long bad;

static uint64_t mix(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x9e3779b97f4a7c15ull;
	return x ^ (x >> 29);
}

static uint64_t sum_of(const struct node *n)
{
	return mix(n->payload[0] ^ mix(n->payload[1] ^ mix(n->payload[2] ^ n->id)));
}

static struct node *graph(uint64_t *seed, uint32_t *next_id)
{
	struct node *v[20];
	int k = 1 + (int)(mix(++*seed) % 20);
	for (int i = 0; i < k; i++) {
		struct node *n = malloc(sizeof *n);
		n->magic = MAGIC;
		n->id = (*next_id)++;
		for (int j = 0; j < 3; j++)
			n->payload[j] = mix(++*seed);
		n->sum = sum_of(n);
		memset(n->edge, 0, sizeof n->edge);
		v[i] = n;
	}
	for (int i = 0; i < k; i++)          /* random edges: cycles galore */
		for (int j = 0; j < 4; j++)
			if (mix(++*seed) % 3)
				v[i]->edge[j] = v[mix(++*seed) % (uint64_t)k];
	for (int i = 1; i < k; i++)          /* and all of them reachable from v[0] */
		if (!v[i - 1]->edge[0])
			v[i - 1]->edge[0] = v[i];
	return v[0];
}

static int intact(const struct node *n)
{
	return memgc_is_live(n) && n->magic == MAGIC && n->sum == sum_of(n);
}

/* Checks the nodes along n's edge[0] chain (every node of the graph, at
 * most 20) and the targets of all their edges. */
static void verify(const struct node *n, int depth)
{
	for (; n && depth < 24; n = n->edge[0], depth++) {
		if (!intact(n)) {
			__atomic_add_fetch(&bad, 1, __ATOMIC_RELAXED);
			return;
		}
		for (int j = 1; j < 4; j++)
			if (n->edge[j] && !intact(n->edge[j]))
				__atomic_add_fetch(&bad, 1, __ATOMIC_RELAXED);
	}
}

static void *mutator(void *arg)
{
	int t = (int)(intptr_t)arg;
	uint64_t seed = (uint64_t)t * 1000003u;
	uint32_t next_id = (uint32_t)t << 28;
	long seen = -1;
	while (!stop) {
		long e = epoch;
		if (e == seen) {         /* this collection's share is done */
			sched_yield();
			continue;
		}
		seen = e;
		for (int op = 0; op < OPS; op++) {
			int s = (int)(mix(++seed) % SLOTS);
			if (mix(++seed) % 4)
				roots[t][s] = graph(&seed, &next_id);   /* drops the old graph */
			else
				verify(roots[t][s], 0);
		}
	}
	for (int s = 0; s < SLOTS; s++)
		verify(roots[t][s], 0);
	return NULL;
}

static long nodes_live(void)
{
	static void *objs[1 << 20];
	long n = memgc_get_objects(-1, objs, 1 << 20), k = 0;
	for (long i = 0; i < n && i < (1 << 20); i++)
		if (memgc_object_size(objs[i]) == sizeof(struct node) &&
		    ((struct node *)objs[i])->magic == MAGIC)
			k++;
	memset(objs, 0, sizeof objs);
	return k;
}

static int child(void)
{
	uint64_t seed = 77;
	uint32_t id = 0;
	struct node *g = graph(&seed, &id);
	verify(g, 0);
	g = NULL;
	long found = memgc_collect(2);
	return found >= 1 && !bad ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc < 2 || !memgc_collect) {
		fprintf(stderr, "usage: gcstress COLLECTIONS [FORKS] (under libmemgc.so, mode=reclaim)\n");
		return 2;
	}
	long collections = atol(argv[1]), forks = argc > 2 ? atol(argv[2]) : 0;
	memgc_disable();
	pthread_t th[THREADS];
	for (int t = 0; t < THREADS; t++)
		pthread_create(&th[t], NULL, mutator, (void *)(intptr_t)t);
	long found = 0, failed = 0, forked_bad = 0;
	for (long c = 0; c < collections; c++) {
		long r = memgc_collect((int)(c % 3));
		if (r < 0)
			failed++;
		else
			found += r;
		epoch = c + 1;
		if (forks && c % (collections / forks + 1) == collections / (2 * forks + 2)) {
			pid_t p = fork();
			if (p == 0)
				_exit(child());
			int st;
			waitpid(p, &st, 0);
			if (!WIFEXITED(st) || WEXITSTATUS(st))
				forked_bad++;
		}
	}
	stop = 1;
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	memset(roots, 0, sizeof roots);
	memgc_collect(2);
	long left = nodes_live();
	printf("%ld collections (%ld failed), %ld unreachable found, %ld bad nodes, %ld nodes left, "
	       "%ld bad children\n", collections, failed, found, bad, left, forked_bad);
	return failed || bad || left || forked_bad || found == 0;
}
