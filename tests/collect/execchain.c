/* execchain.c: a program that collects back to back on one thread while
 * another execs; the exec must never die of the stop signal (status 167).
 *
 *   execchain N    starts the collecting thread, then execs itself with
 *                  N-1, until 0 prints "exec ok"
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "memgc.h"

#pragma weak memgc_collect

static void *churn(void *arg)
{
	for (;;)
		memgc_collect(0);
	return arg;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 0;
	if (!memgc_collect) {
		fprintf(stderr, "execchain: run it under libmemgc.so\n");
		return 2;
	}
	if (n == 0) {
		puts("exec ok");
		return 0;
	}
	pthread_t t;
	pthread_create(&t, NULL, churn, NULL);
	usleep(2000);
	char next[16];
	snprintf(next, sizeof next, "%d", n - 1);
	execl(argv[0], argv[0], next, (char *)NULL);
	perror("execl");
	return 1;
}
