/* demo.c: `memgc demo`: the seed case, side by side.
 *
 * Two programs, each run once under every allocator, print the resident
 * set at start, at the peak, after the program lets go of its data, and
 * after it asks the allocator to collect (each allocator in its own way):
 *   - python3 with PYTHONMALLOC=malloc (demo.py, compiled into this binary
 *     as demo_py.h): list(range(N)) deleted, and a reference cycle of large
 *     buffers dropped, then gc.collect() and the allocator's collect;
 *   - memgc-demo-cycle (demo_cycle.c): a cycle of large buffers leaked in
 *     C, which only memgc in mode=reclaim can give back.
 * The allocators: glibc (collect is malloc_trim(0)), plain jemalloc
 * (LD_PRELOAD=libjemalloc.so.2; arena.4096.purge) and memgc
 * (memgc_collect(2), or memgc_trim() in a memgc without the collector).
 * Each run gets a clean environment: no LD_PRELOAD, MEMGC_OPTIONS or
 * PYTHONMALLOC of the caller's.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "where.h"
#include "demo_py.h"

static const char usage[] =
	"usage: memgc demo [--full]\n"
	"Shows what memgc is for: the resident set (RSS) of a Python program and of a\n"
	"C program at start, at their peak, after they let go of their data and after\n"
	"collect, under glibc, plain jemalloc and memgc side by side.  Takes seconds.\n"
	"  --full      the seed case's full size: list(range(10**8)), which takes about\n"
	"              6 GiB and a few minutes (default 10**6)\n"
	"  -h, --help  this text\n"
	"Exit status: 0 ok, 64 usage error, 70 a demo program failed.\n";

#define BUF_MIB 16
#define CYCLE_LEN 4

struct figures {
	unsigned long long v[4];   /* start, peak, after del, after collect */
	char how[64];
};

/* Runs argv with LD_PRELOAD=preload (NULL for none), PYTHONMALLOC=malloc
 * for python and MEMGC_OPTIONS=options (NULL for none), and reads its one
 * line of figures.  0 or -1 after a line on stderr. */
static int measure(char *const argv[], const char *preload, bool python, const char *options,
		   struct figures *out)
{
	int fd[2];
	if (pipe2(fd, O_CLOEXEC))
		return mg_cli_fail("demo", -1, "pipe: %s", strerror(errno));
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fd[1], STDOUT_FILENO);
		unsetenv("LD_PRELOAD");
		unsetenv("MEMGC_OPTIONS");
		unsetenv("PYTHONMALLOC");
		if (preload)
			setenv("LD_PRELOAD", preload, 1);
		if (python)
			setenv("PYTHONMALLOC", "malloc", 1);
		if (options)
			setenv("MEMGC_OPTIONS", options, 1);
		execv(argv[0], argv);
		fprintf(stderr, "memgc demo: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fd[1]);
	char line[512];
	size_t n = 0;
	ssize_t r;
	while (pid > 0 && n < sizeof line - 1 && (r = read(fd[0], line + n, sizeof line - 1 - n)) > 0)
		n += (size_t)r;
	line[n] = '\0';
	close(fd[0]);
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return mg_cli_fail("demo", -1, "cannot run %s: %s", argv[0], strerror(errno));
	if (!WIFEXITED(st) || WEXITSTATUS(st) ||
	    sscanf(line, "%llu %llu %llu %llu %63[^\n]", &out->v[0], &out->v[1], &out->v[2], &out->v[3],
		   out->how) != 5)
		return mg_cli_fail("demo", -1, "%s%s%s failed (status %d): %s", argv[0],
				   preload ? " under " : "", preload ? preload : "", st, line);
	return 0;
}

static void header(void)
{
	printf("  %-16s %10s %10s %10s %14s   %s\n", "allocator", "start", "peak", "after del",
	       "after collect", "collect is");
}

static void row(const char *name, const struct figures *f)
{
	char v[4][32];
	for (int i = 0; i < 4; i++)
		mg_units_human(f->v[i], v[i], sizeof v[i]);
	printf("  %-16s %10s %10s %10s %14s   %s\n", name, v[0], v[1], v[2], v[3], f->how);
	fflush(stdout);
}

/* The allocators in turn; rows of those that cannot run say why. */
static int table(char *const argv[], const char *lib, bool python, bool reclaim_row,
		 bool *have_collector)
{
	struct figures f;
	int bad = 0;
	header();
	if (measure(argv, NULL, python, NULL, &f) == 0)
		row("glibc", &f);
	else
		bad++;
	if (access(MG_JEMALLOC_SO, R_OK))
		printf("  %-16s (not installed: %s)\n", "jemalloc", MG_JEMALLOC_SO);
	else if (measure(argv, MG_JEMALLOC_SO, python, NULL, &f) == 0)
		row("jemalloc", &f);
	else
		bad++;
	if (measure(argv, lib, python, NULL, &f) == 0) {
		row("memgc", &f);
		*have_collector = !strcmp(f.how, "memgc_collect(2)");
	} else {
		bad++;
	}
	if (!reclaim_row)
		return bad;
	if (!*have_collector)
		printf("  %-16s (this memgc has no collector: nothing frees a leaked cycle)\n",
		       "memgc reclaim");
	else if (measure(argv, lib, python, "mode=reclaim", &f) == 0)
		row("memgc reclaim", &f);
	else
		bad++;
	return bad;
}

int mg_cli_demo(int argc, char **argv)
{
	bool full = false;
	if (mg_cli_wants_help(argc, argv, usage))
		return MG_EXIT_OK;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--full"))
			full = true;
		else
			return mg_cli_fail("demo", MG_EXIT_USAGE, "unknown argument '%s' (memgc demo --help)",
					   argv[i]);
	}
	char lib[4096], cycle[4096];
	if (mg_paths_library(lib, sizeof lib))
		return mg_cli_fail("demo", MG_EXIT_SOFTWARE,
				   "cannot find libmemgc.so (looked at %s); set MEMGC_LIB to its path", lib);
	char n[32], mib[16], len[16];
	snprintf(n, sizeof n, "%d", full ? 100000000 : 1000000);
	snprintf(mib, sizeof mib, "%d", BUF_MIB);
	snprintf(len, sizeof len, "%d", CYCLE_LEN);
	int bad = 0;
	bool have_collector = false;

	printf("memgc demo: python3 (PYTHONMALLOC=malloc) builds list(range(%s)) and a cycle of\n"
	       "%d objects holding %d MiB each, deletes the list, drops the cycle, then collects\n"
	       "(gc.collect() and the allocator's own call).  Resident set at each step:\n\n",
	       full ? "10**8" : "10**6", CYCLE_LEN, BUF_MIB);
	if (access(MG_PYTHON3, X_OK)) {
		printf("  (no python3 at %s: skipped)\n", MG_PYTHON3);
	} else {
		char *py[] = { (char *)MG_PYTHON3, (char *)"-c", (char *)demo_py, n, mib, len, NULL };
		bad += table(py, lib, true, false, &have_collector);
	}

	printf("\nA C program builds a cycle of %d blocks of %d MiB, drops the last pointer to it\n"
	       "(a leak no free() can give back), then collects:\n\n", CYCLE_LEN, BUF_MIB);
	if (mg_paths_libexec("memgc-demo-cycle", cycle, sizeof cycle)) {
		printf("  (memgc-demo-cycle is missing; looked at %s)\n", cycle);
		bad++;
	} else {
		char *c[] = { cycle, mib, len, NULL };
		bad += table(c, lib, false, true, &have_collector);
	}
	if (!have_collector)
		printf("\nThis memgc has no collector yet: its collect is memgc_trim(), which gives\n"
		       "free pages back but finds no unreachable objects.\n");
	printf("\nmemgc run -- PROG runs any program this way; memgc check holds it to budgets.\n");
	return bad ? MG_EXIT_SOFTWARE : MG_EXIT_OK;
}
