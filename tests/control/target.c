/* target.c: a program for the control tests to inspect from outside.
 *
 *   target DIR [closefds] [fork] [churn]
 *
 * Keeps 1000 objects of 1000 bytes (and, with churn, first allocates 64
 * MiB in small objects and frees all but every 64th: the freed pages stay
 * resident inside slabs that hold live objects, so that a trim has pages to
 * give back and nothing else does),
 * then writes what memgc's API says of its heap to DIR/<pid>.stats, one
 * line "pid P live_objects L live_bytes B allocations A deallocations D
 * count C0 C1 C2" written with write(2) from a stack buffer, and idles
 * without allocating until DIR/quit exists; then frees its objects and
 * exits with status 0 (exit(), so memgc's exit path runs).  With fork, a
 * child does the same after the parent's objects are kept (its own .stats
 * file).  With closefds it first closes every descriptor, as daemons do,
 * and opens DIR/<pid>.fd0, .fd1 and .fd2, which must be descriptors 0, 1
 * and 2 (exit status 10, 11, 12 when not).  While it idles the test may
 * ask memgc's control socket what it likes: nothing else allocates, so
 * the figures of a stats request are exactly those of the .stats file.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "memgc.h"

#define KEEP 1000

static char *keep[KEEP];
static char *churn_kept[(1 << 18) / 64];   /* what churn keeps, to the end */
static const char *dir;

static void stats_file(void)
{
	int (*heap)(struct memgc_heap_stats *) = (int (*)(struct memgc_heap_stats *))
		dlsym(RTLD_DEFAULT, "memgc_get_heap_stats");
	int (*count)(long *) = (int (*)(long *))dlsym(RTLD_DEFAULT, "memgc_get_count");
	struct memgc_heap_stats st;
	long c[3] = { 0, 0, 0 };
	char path[4200], line[512];
	memset(&st, 0, sizeof st);
	if (heap)
		heap(&st);
	if (count)
		count(c);
	int n = snprintf(line, sizeof line, "pid %d live_objects %llu live_bytes %llu allocations %llu "
			 "deallocations %llu count %ld %ld %ld\n", (int)getpid(),
			 (unsigned long long)st.live_objects, (unsigned long long)st.live_bytes,
			 (unsigned long long)st.allocations, (unsigned long long)st.deallocations,
			 c[0], c[1], c[2]);
	/* written whole under a temporary name, then renamed: the test never
	 * reads half a line */
	snprintf(path, sizeof path, "%s/%d.tmp-stats", dir, (int)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, line, (size_t)n) != n || close(fd))
		exit(3);
	char final[4200];
	snprintf(final, sizeof final, "%s/%d.stats", dir, (int)getpid());
	if (rename(path, final))
		exit(4);
}

static void idle(void)
{
	char quit[4200];
	struct timespec ts = { 0, 10 * 1000000L };
	snprintf(quit, sizeof quit, "%s/quit", dir);
	while (access(quit, F_OK))
		nanosleep(&ts, NULL);
}

static void close_everything(void)
{
	struct rlimit rl;
	int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 ? (int)rl.rlim_cur : 65536;
	for (int fd = 0; fd < max; fd++)
		close(fd);
	for (int i = 0; i < 3; i++) {
		char path[4200];
		snprintf(path, sizeof path, "%s/%d.fd%d", dir, (int)getpid(), i);
		if (open(path, O_RDWR | O_CREAT | O_TRUNC, 0644) != i)
			exit(10 + i);
	}
}

int main(int argc, char **argv)
{
	bool closefds = false, forks = false, churn = false;
	if (argc < 2)
		return 64;
	dir = argv[1];
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "closefds"))
			closefds = true;
		else if (!strcmp(argv[i], "fork"))
			forks = true;
		else if (!strcmp(argv[i], "churn"))
			churn = true;
		else
			return 64;
	}
	if (closefds)
		close_everything();
	if (churn) {
		/* 64 MiB of 240-byte objects (256 with memgc's header), every
		 * 64th kept: each slab keeps live objects, so neither jemalloc's
		 * decay nor an emptied arena gives its pages back; a trim drops
		 * the free pages between them, about 3/4 of the 64 MiB */
		enum { N = 1 << 18, SIZE = 240, EVERY = 64 };
		char **p = malloc(N * sizeof *p);
		for (int i = 0; i < N; i++) {
			p[i] = malloc(SIZE);
			memset(p[i], 1, SIZE);
		}
		for (int i = 0; i < N; i++) {
			if (i % EVERY == 0)
				churn_kept[i / EVERY] = p[i];
			else
				free(p[i]);
		}
		free(p);
	}
	for (int i = 0; i < KEEP; i++) {
		keep[i] = malloc(1000);
		memset(keep[i], i & 0xff, 1000);
	}
	pid_t child = forks ? fork() : 0;
	if (child < 0)
		return 5;
	stats_file();
	idle();
	for (int i = 0; i < KEEP; i++)
		free(keep[i]);
	if (child > 0) {
		int st;
		if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st))
			return 6;
	}
	return 0;
}
