/* fdholes.c: the main thread empties a descriptor number and fills it
 * again, as the shell does for `>file` (close(1), then dup2(3, 1)) and a
 * daemon for its standard streams (close(0), then open(), which must give
 * 0), while another thread collects and trims back to back.
 *
 *   fdholes N    N rounds of each pattern on the lowest free number
 *
 * A descriptor memgc made in the program's table in between took the
 * number: open() then gave another one, or memgc's close() later closed
 * the program's file (dash's child seq wrote "Bad file descriptor").
 * Prints "fdholes ok N" and exits 0, or names the first round that went
 * wrong and exits 1.  It also checks that none of memgc's descriptors
 * (a userfaultfd, /proc files) is left in the program's table.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "memgc.h"

#pragma weak memgc_collect
#pragma weak memgc_trim

static volatile int done;

static void *churn(void *arg)
{
	while (!done) {
		memgc_collect(0);
		memgc_collect(2);
		memgc_trim();
	}
	return arg;
}

static int same_file(int a, int b)
{
	struct stat x, y;
	return fstat(a, &x) == 0 && fstat(b, &y) == 0 && x.st_dev == y.st_dev &&
	       x.st_ino == y.st_ino;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000;
	char path[] = "/tmp/memgc-fdholes.XXXXXX";
	int g = mkstemp(path);
	if (g < 0 || !memgc_collect) {
		fprintf(stderr, "fdholes: %s\n", g < 0 ? strerror(errno) : "not under memgc");
		return 2;
	}
	unlink(path);
	static char before[1024];   /* what was open at the start */
	for (int fd = 0; fd < 1024; fd++)
		before[fd] = fcntl(fd, F_GETFD) >= 0;
	int hole = dup(g);          /* the lowest free number, and ours */
	pthread_t t;
	pthread_create(&t, NULL, churn, NULL);
	const char *bad = NULL;
	long i;
	for (i = 0; i < n && !bad; i++) {
		close(hole);                            /* the shell's `>file` */
		for (volatile int k = 0; k < 2000; k++)
			;
		if (dup2(g, hole) != hole)
			bad = "dup2";
		else if (write(hole, "x", 1) != 1)
			bad = "write after dup2";
		if (bad)
			break;
		close(hole);                            /* a daemon's close, open */
		for (volatile int k = 0; k < 2000; k++)
			;
		int fd = open("/dev/null", O_RDONLY);
		if (fd != hole)
			bad = "open gave another number";
		else if (close(fd) || dup2(g, hole) != hole || !same_file(hole, g))
			bad = "close, dup2";
	}
	done = 1;
	pthread_join(t, NULL);
	if (bad) {
		printf("fdholes: round %ld: %s (%s)\n", i, bad, strerror(errno));
		return 1;
	}
	/* nothing of memgc's in the program's table: what is open now was
	 * open at the start */
	char link[256], name[64];
	for (int fd = 0; fd < 1024; fd++) {
		snprintf(name, sizeof name, "/proc/self/fd/%d", fd);
		ssize_t k = readlink(name, link, sizeof link - 1);
		if (k < 0)
			continue;
		link[k] = '\0';
		if (!before[fd] && fd != hole) {
			printf("fdholes: descriptor %d (%s) is not the program's\n", fd, link);
			return 1;
		}
	}
	printf("fdholes ok %ld\n", n);
	return 0;
}
