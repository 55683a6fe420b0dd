/* young.c: a seeded random mutator for watch=verify, which makes each young
 * collection twice in the same pause (through the write watch, and reading
 * all older memory) and compares the unreachable objects the two find.
 *
 *   young SEED COLLECTIONS [FORKS]
 * Between two collections it makes 1..200 random steps over a graph of
 * nodes held by roots of every kind the watch reads by its record: a
 * global array, a __thread array, an anonymous mapping it moves (mremap)
 * and purges pages of (madvise), old nodes' fields, written by the program
 * or by the kernel (read(2) from a pipe), and buffers it grows with
 * realloc, up to 16 KiB, the large ones holding few pointers; plus a stack array, short-lived threads, and FORKS forked
 * children that go on mutating and collecting.  Generation 0 in 85% of
 * the collections, 1 in 12%, 2 in 3%.
 * Every node comes from calloc and nothing is ever freed by the program, so
 * no word the program did not write points into the heap: the two ways must
 * then agree exactly (a stale word left in an old page can make the full
 * read keep an object the watch lets go; see lib/young.c).
 * Prints the collections made; the differences are memgc's to report (the
 * JSON report's collector.write_watch, and a "watch=verify:" line each).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "memgc.h"

#pragma weak memgc_collect
#pragma weak memgc_disable

#define PTRS 6
#define GLOBALS 512
#define TLS_SLOTS 16
#define STACK_SLOTS 32
#define PAGE 4096

struct node {
	struct node *p[PTRS];
	struct node **buf;              /* held by this field only */
	size_t nbuf;
};

static struct node *globals[GLOBALS];
static __thread struct node *tls_slots[TLS_SLOTS];
static struct node **anon;              /* an anonymous mapping of anon_pages pages */
static size_t anon_pages = 4;
static struct node **stack_slots;       /* main's */
static int pipefd[2];
static uint64_t rng;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static size_t below(size_t n)
{
	return (size_t)(next() % n);
}

static size_t anon_slots(void)
{
	return anon_pages * PAGE / sizeof(struct node *);
}

/* A root slot of some kind. */
static struct node **root_slot(void)
{
	switch (below(4)) {
	case 0: return &globals[below(GLOBALS)];
	case 1: return &tls_slots[below(TLS_SLOTS)];
	case 2: return &anon[below(anon_slots())];
	default: return &stack_slots[below(STACK_SLOTS)];
	}
}

/* A node reachable from the roots, a few steps in; NULL at times. */
static struct node *pick(void)
{
	struct node *n = *root_slot();
	for (size_t k = below(4); n && k; k--) {
		struct node *m = n->nbuf && below(3) == 0 ? n->buf[below(n->nbuf)] : n->p[below(PTRS)];
		if (!m)
			break;
		n = m;
	}
	return n;
}

/* A slot to store a node pointer in: a root, a node's field or buffer. */
static struct node **slot(void)
{
	struct node *n = below(2) ? pick() : NULL;
	if (!n)
		return root_slot();
	if (n->nbuf && below(3) == 0)
		return &n->buf[below(n->nbuf)];
	return &n->p[below(PTRS)];
}

static struct node *make(void)
{
	struct node *n = calloc(1, sizeof *n);
	for (int i = 0; i < PTRS; i++)
		if (below(3) == 0)
			n->p[i] = pick();
	return n;
}

/* The kernel writes the pointer: only a local and then the pipe hold it
 * (the local is on this stack, which is read in full). */
static void kernel_store(struct node **s, struct node *v)
{
	struct node *volatile val = v;
	if (write(pipefd[1], (const void *)&val, sizeof val) != sizeof val ||
	    read(pipefd[0], s, sizeof *s) != sizeof *s)
		abort();
	val = NULL;
}

static void grow_buffer(struct node *n)
{
	size_t m = n->nbuf ? n->nbuf * 2 : 4;
	if (m > 2048)
		m = 4;                  /* a fresh small one: the old one is dropped */
	size_t kept = m > n->nbuf ? n->nbuf : 0;
	struct node **b = kept ? realloc(n->buf, m * sizeof *b) : calloc(m, sizeof *b);
	if (!b)
		abort();
	n->buf = b;             /* before pick(), which may read it */
	n->nbuf = kept;
	for (size_t i = kept; i < m; i++) {
		/* sparse past 2 KiB: a large buffer's pages that hold no pointer
		 * stay unwritten (calloc's zeros), which a young collection
		 * through the watch does not read (lib/mark.c) */
		struct node *v = (m > 256 ? below(1024) == 0 : below(2)) ? pick() : NULL;
		if (v || kept)
			b[i] = v;
		n->nbuf = i + 1;
	}
}

/* Moves the anonymous root mapping, growing or shrinking it. */
static void move_anon(void)
{
	size_t pages = anon_pages < 64 && below(2) ? anon_pages + 1 : anon_pages > 2 ? anon_pages - 1 : anon_pages;
	void *to = mmap(NULL, pages * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *p = mremap(anon, anon_pages * PAGE, pages * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	if (to == MAP_FAILED || p == MAP_FAILED)
		abort();
	anon = p;
	anon_pages = pages;
}

static void *thread_main(void *arg)
{
	uint64_t seed = (uint64_t)(uintptr_t)arg;
	for (int i = 0; i < 8; i++) {
		struct node *n = calloc(1, sizeof *n);
		n->p[0] = globals[(seed + (uint64_t)i) % GLOBALS];
		tls_slots[i % TLS_SLOTS] = n;
		globals[(seed * 7 + (uint64_t)i) % GLOBALS] = n;
	}
	return NULL;
}

static void step(int forks_left)
{
	size_t op = below(100);
	if (op < 40) {
		*slot() = make();
	} else if (op < 60) {
		*slot() = pick();
	} else if (op < 70) {
		*slot() = NULL;
	} else if (op < 76) {
		struct node *n = pick();
		if (n)
			kernel_store(&n->p[below(PTRS)], below(2) ? make() : pick());
	} else if (op < 82) {
		struct node *n = pick();
		if (n)
			grow_buffer(n);
	} else if (op < 84) {
		move_anon();
	} else if (op < 86) {
		madvise((char *)anon + below(anon_pages) * PAGE, PAGE, MADV_DONTNEED);
	} else if (op < 87) {
		pthread_t t;
		if (pthread_create(&t, NULL, thread_main, (void *)(uintptr_t)next()) == 0)
			pthread_join(t, NULL);
	} else if (op < 88 && forks_left) {
		pid_t pid = fork();
		if (pid == 0) {
			for (int c = 0; c < 20; c++) {
				for (int k = 0; k < 50; k++)
					step(0);
				memgc_collect(c % 5 ? 0 : 1);
			}
			_exit(0);
		}
		int st;
		if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
			abort();
	} else {
		/* a node written in place: an old one, most likely */
		struct node *n = pick();
		if (n)
			n->p[below(PTRS)] = below(2) ? pick() : make();
	}
}

int main(int argc, char **argv)
{
	if (argc < 3 || !memgc_collect) {
		fprintf(stderr, "usage: young SEED COLLECTIONS [FORKS] (under libmemgc.so)\n");
		return 2;
	}
	rng = strtoull(argv[1], NULL, 0) * 0x9e3779b97f4a7c15ull | 1;
	long collections = atol(argv[2]), forks = argc > 3 ? atol(argv[3]) : 0;
	struct node *stack[STACK_SLOTS] = { 0 };
	stack_slots = stack;
	anon = mmap(NULL, anon_pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (anon == MAP_FAILED || pipe(pipefd))
		return 1;
	long made[3] = { 0 }, failed = 0;
	for (long c = 0; c < collections; c++) {
		for (size_t k = 1 + below(200); k; k--)
			step(forks && below(4) == 0 && c % (collections / forks + 1) == 0);
		size_t r = below(100);
		int gen = r < 85 ? 0 : r < 97 ? 1 : 2;
		if (memgc_collect(gen) < 0)
			failed++;
		else
			made[gen]++;
	}
	printf("%ld %ld %ld collections, %ld failed\n", made[0], made[1], made[2], failed);
	return failed != 0;
}
