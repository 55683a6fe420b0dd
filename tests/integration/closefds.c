/* closefds.c: a program that closes every file descriptor at start, as
 * daemons do, for closefds.sh.
 *
 *   closefds DIR
 *
 * closes 0 to the highest descriptor, so that its own files then take
 * descriptors 0, 1 and 2: DIR/out0, DIR/out1 and DIR/out2.  Anything memgc
 * wrote on "standard error" would land in out2.  It allocates on two
 * threads and in a child, writes its results to the three files, and
 * exits with status 3.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static void *work(void *arg)
{
	unsigned long seed = (unsigned long)arg, sum = 0;
	char *keep[128] = { 0 };
	for (unsigned i = 0; i < 200000; i++) {
		unsigned j = (unsigned)((i * 2654435761u + seed) % 128);
		size_t n = (i * 7 + seed) % 3000 + 1;
		free(keep[j]);
		keep[j] = malloc(n);
		memset(keep[j], (int)(i & 0xff), n);
		sum += (unsigned char)keep[j][n - 1];
	}
	for (unsigned j = 0; j < 128; j++)
		free(keep[j]);
	return (void *)sum;
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 64;
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", argv[1]);
	struct rlimit rl;
	int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 ? (int)rl.rlim_cur : 65536;
	for (int fd = 0; fd < max; fd++)
		close(fd);

	FILE *out[3];
	for (int i = 0; i < 3; i++) {
		char path[4200];
		snprintf(path, sizeof path, "%s/out%d", dir, i);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd != i)
			return 10 + i;   /* the descriptors were not all closed */
		out[i] = fdopen(fd, "w");
		if (!out[i])
			return 20 + i;
	}
	pthread_t t[2];
	for (int k = 0; k < 2; k++)
		pthread_create(&t[k], NULL, work, (void *)(unsigned long)(k + 1));
	void *r[2];
	for (int k = 0; k < 2; k++)
		pthread_join(t[k], &r[k]);
	fprintf(out[0], "thread sums %lu %lu\n", (unsigned long)r[0], (unsigned long)r[1]);
	fflush(NULL);

	pid_t pid = fork();
	if (pid == 0) {
		void *s = work((void *)7);
		fprintf(out[1], "child sum %lu\n", (unsigned long)s);
		exit(5);   /* exit(), not _exit(): memgc's exit path runs in the child too */
	}
	int st = 0;
	waitpid(pid, &st, 0);
	fprintf(out[2], "child status %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	char *big = malloc(8 << 20);
	memset(big, 1, 8 << 20);
	fprintf(out[2], "big %d\n", big[12345]);
	free(big);
	return 3;
}
