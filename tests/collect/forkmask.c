/* forkmask.c: the main thread forks with every signal blocked, as git's
 * run-command does around fork(), while another thread collects back to
 * back.
 *
 *   forkmask N    N rounds of: block every signal, fork (the child exits
 *                 at once), restore the mask, wait for the child
 *
 * memgc's fork handler waits for the collection's lock.  With every signal
 * blocked, a collection holding that lock could not stop the waiting
 * thread and failed after its timeout (2 s, with a line on stderr).  Prints
 * "forkmask ok N" and the collections made, and exits 0, or says how many
 * collections failed and exits 1.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "memgc.h"

#pragma weak memgc_collect

static volatile int done;
static long collections, failed;

static void *churn(void *arg)
{
	while (!done) {
		if (memgc_collect(0) < 0 && errno == EAGAIN)
			failed++;
		collections++;
	}
	return arg;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100;
	pthread_t th;
	if (!memgc_collect || pthread_create(&th, NULL, churn, NULL))
		return 2;
	for (int i = 0; i < n; i++) {
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (pid < 0 || waitpid(pid, NULL, 0) != pid)
			return 2;
	}
	done = 1;
	pthread_join(th, NULL);
	if (failed) {
		printf("forkmask: %ld of %ld collections failed\n", failed, collections);
		return 1;
	}
	printf("forkmask ok %d\n", n);
	fprintf(stderr, "forkmask: %ld collections\n", collections);
	return 0;
}
