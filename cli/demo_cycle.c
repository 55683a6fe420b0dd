/* demo_cycle.c: memgc-demo-cycle, the C half of `memgc demo`.
 *
 * Builds a cycle of CYCLE_LEN nodes, each holding a BUF_MIB MiB buffer,
 * and drops the last pointer to it: a leak that no free() will ever give
 * back.  Then asks the allocator it runs under to collect, found with
 * dlsym so that the one binary runs under glibc, plain jemalloc and memgc:
 * memgc_collect(2) (in mode=reclaim the only one that frees the cycle),
 * jemalloc's arena.4096.purge, glibc's malloc_trim(0).  Prints one line:
 *   START PEAK AFTER_DROP AFTER_COLLECT HOW
 * Usage: memgc-demo-cycle BUF_MIB CYCLE_LEN
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct node {
	struct node *next;
	char *buf;
};

static unsigned long long rss(void)
{
	unsigned long long size = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%llu %llu", &size, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * (unsigned long long)sysconf(_SC_PAGESIZE);
}

/* Where build() publishes the ring for an instant: the compiler may not
 * then drop the stores into the nodes as dead (the ring escapes), and a
 * conservative scan after build() finds the slot empty again. */
static void *volatile sink;

/* After it returns, only the nodes point to the nodes. */
static __attribute__((noinline)) void build(size_t bytes, int len)
{
	struct node *first = NULL, *last = NULL;
	for (int i = 0; i < len; i++) {
		struct node *n = malloc(sizeof *n);
		if (!n || !(n->buf = malloc(bytes))) {
			perror("memgc-demo-cycle");
			exit(1);
		}
		memset(n->buf, 1, bytes);
		n->next = NULL;
		if (last)
			last->next = n;
		else
			first = n;
		last = n;
	}
	last->next = first;
	sink = first;
	sink = NULL;
}

/* Overwrites the dead stack below the caller, where build() left copies
 * of the pointers that a conservative scan would take for live ones. */
static __attribute__((noinline)) void scrub(void)
{
	volatile char pad[64 * 1024];
	memset((char *)pad, 0, sizeof pad);
}

static const char *collect(void)
{
	long (*gc)(int) = (long (*)(int))dlsym(RTLD_DEFAULT, "memgc_collect");
	int (*trim)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "memgc_trim");
	int (*ctl)(const char *, void *, size_t *, void *, size_t) =
		(int (*)(const char *, void *, size_t *, void *, size_t))dlsym(RTLD_DEFAULT, "mallctl");
	int (*mtrim)(size_t) = (int (*)(size_t))dlsym(RTLD_DEFAULT, "malloc_trim");
	if (gc) {
		gc(2);
		return "memgc_collect(2)";
	}
	if (trim) {
		trim();
		return "memgc_trim()";
	}
	if (ctl) {
		ctl("arena.4096.purge", NULL, NULL, NULL, 0);
		return "mallctl(arena.4096.purge)";
	}
	if (mtrim)
		mtrim(0);
	return "malloc_trim(0)";
}

int main(int argc, char **argv)
{
	if (argc != 3 || atoi(argv[1]) <= 0 || atoi(argv[2]) <= 0) {
		fprintf(stderr, "usage: memgc-demo-cycle BUF_MIB CYCLE_LEN (run by memgc demo)\n");
		return 64;
	}
	unsigned long long start = rss();
	build((size_t)atoi(argv[1]) << 20, atoi(argv[2]));
	unsigned long long peak = rss();
	scrub();
	unsigned long long dropped = rss();
	const char *how = collect();
	printf("%llu %llu %llu %llu %s\n", start, peak, dropped, rss(), how);
	return 0;
}
