/* vforkexec.c: the main thread vforks children that exec while another
 * thread collects back to back in mode=reclaim (CPython's subprocess does
 * this: _posixsubprocess vforks, and the child calls execve).
 *
 *   vforkexec N    N rounds of: allocate an object that only the main
 *                  thread's stack holds, vfork, the child waits 1 to 16 ms
 *                  and execs /bin/true (through memgc's execve), the parent
 *                  waits for it and checks the object is still live
 *
 * The child shares the parent's memory, memgc's included: a child that
 * took memgc's world lock as its own (as a forked child may) would reset a
 * stop under way in the parent, which then scanned the world without the
 * vforking thread and freed what only its stack held.  Prints "vfork ok N"
 * and exits 0, or names the rounds whose object was freed and exits 1.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "memgc.h"

#pragma weak memgc_collect
#pragma weak memgc_is_live

#define MAGIC 0x76666f726bull     /* "vfork" */

extern char **environ;

static volatile int done;

static void *churn(void *arg)
{
	while (!done)
		memgc_collect(2);
	return arg;
}

/* noinline: the object's only reference is in this frame (or a register). */
static __attribute__((noinline)) int one_round(int i)
{
	uint64_t *p = malloc(48);
	if (!p)
		return -1;
	p[0] = MAGIC;
	p[1] = (uint64_t)i;
	pid_t pid = vfork();
	if (pid == 0) {
		struct timespec ts = { 0, (long)(1 + i % 16) * 1000000 };
		nanosleep(&ts, NULL);
		char *argv[] = { "true", NULL };
		execve("/bin/true", argv, environ);
		_exit(127);
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "vforkexec: round %d: child failed (status %#x)\n", i, st);
		return -1;
	}
	if (!memgc_is_live(p) || p[0] != MAGIC || p[1] != (uint64_t)i) {
		fprintf(stderr, "vforkexec: round %d: the object only the stack held was freed\n", i);
		return 1;   /* not freed again: it is memgc's now */
	}
	free(p);
	return 0;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 0;
	if (!memgc_collect || !memgc_is_live) {
		fprintf(stderr, "vforkexec: run it under libmemgc.so\n");
		return 2;
	}
	pthread_t t;
	if (pthread_create(&t, NULL, churn, NULL)) {
		fprintf(stderr, "vforkexec: cannot start the collecting thread\n");
		return 2;
	}
	int bad = 0;
	for (int i = 0; i < n; i++) {
		int r = one_round(i);
		if (r < 0)
			return 2;
		bad += r;
	}
	done = 1;
	pthread_join(t, NULL);
	if (bad) {
		fprintf(stderr, "vforkexec: %d of %d objects freed while reachable\n", bad, n);
		return 1;
	}
	printf("vfork ok %d\n", n);
	return 0;
}
