/* figures.c: a program whose memory figures the tests of tests/cli choose.
 *
 * Steps run in order, each one argument:
 *   live=N     mallocs one block of N bytes from live_here(), touches it and
 *              frees it: the peak live bytes are then N exactly (this
 *              program allocates nothing else: no stdio)
 *   rss=N      mmaps N MiB, touches every page and unmaps them: the peak
 *              RSS is then N MiB above the baseline, live bytes unchanged
 *   leak=N,S   leaks N blocks of S bytes from leak_here(), lost: only the
 *              block's own pointers were ever held, and they are gone
 *   keep=N,S   N blocks of S bytes from keep_here(), kept reachable from a
 *              global until exit
 *   fork=K     forks K children that run the remaining steps, waits for
 *              them, and skips those steps itself
 *   exit=N     exit(N) now;  _exit=N  _exit(N) now;  kill=SIG  raise(SIG)
 *   sleep=MS   sleeps MS milliseconds
 * Linked with -export-dynamic, so that memgc names the functions.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void *volatile sink;
static void **kept;

__attribute__((noinline)) void live_here(size_t n)
{
	char *p = malloc(n);
	if (!p)
		_exit(90);
	memset(p, 1, n);
	sink = p;
	free(p);
	sink = NULL;
}

__attribute__((noinline)) void leak_here(size_t s)
{
	char *p = malloc(s);
	if (!p)
		_exit(90);
	memset(p, 2, s);
	sink = p;   /* no tail call: the return address stays in leak_here */
}

__attribute__((noinline)) void *keep_here(size_t s)
{
	void *p = malloc(s);
	sink = p;
	return p;
}

/* Overwrites the dead stack below the caller, where the steps left
 * copies of pointers that a conservative scan would take for live. */
static __attribute__((noinline)) void scrub(void)
{
	volatile char pad[32 * 1024];
	memset((char *)pad, 0, sizeof pad);
	sink = NULL;
}

static void touch_rss(size_t mib)
{
	size_t n = mib << 20;
	char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		_exit(91);
	for (size_t i = 0; i < n; i += 4096)
		p[i] = 1;
	munmap(p, n);
}

static int is(const char *a, size_t k, const char *name)
{
	return k == strlen(name) && !strncmp(a, name, k);
}

static __attribute__((noinline)) int run(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		char *a = argv[i], *eq = strchr(a, '=');
		if (!eq)
			return 64;
		unsigned long x = strtoul(eq + 1, NULL, 10), y = 0;
		char *comma = strchr(eq, ',');
		if (comma)
			y = strtoul(comma + 1, NULL, 10);
		size_t k = (size_t)(eq - a);
		if (is(a, k, "live")) {
			live_here(x);
		} else if (is(a, k, "rss")) {
			touch_rss(x);
		} else if (is(a, k, "leak")) {
			for (unsigned long j = 0; j < x; j++)
				leak_here(y);
			scrub();
		} else if (is(a, k, "keep")) {
			kept = calloc(x + 1, sizeof *kept);
			for (unsigned long j = 0; j < x && kept; j++)
				kept[j] = keep_here(y);
		} else if (is(a, k, "fork")) {
			for (unsigned long j = 0; j < x; j++) {
				pid_t pid = fork();
				if (pid == 0)
					return run(argc - i, argv + i);
			}
			int st;
			while (wait(&st) > 0)
				;
			return 0;
		} else if (is(a, k, "exit")) {
			exit((int)x);
		} else if (is(a, k, "_exit")) {
			_exit((int)x);
		} else if (is(a, k, "kill")) {
			signal((int)x, SIG_DFL);
			raise((int)x);
		} else if (is(a, k, "sleep")) {
			struct timespec t = { (time_t)(x / 1000), (long)(x % 1000) * 1000000 };
			nanosleep(&t, NULL);
		} else {
			return 64;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	return run(argc, argv);
}
