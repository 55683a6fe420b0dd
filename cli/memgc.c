/* memgc.c: the memgc command's front: the table of verbs, --help and
 * --version, and the one-line failure message every verb uses.
 *
 * `memgc VERB ARGS...` calls the verb's function with argv[0] = VERB; the
 * verb parses its own flags and returns the exit status (cli.h).  Every
 * verb and flag listed by `memgc --help` and `memgc VERB --help` is in
 * memgc(1): tests/docs/cli.sh holds the two together.
 */
#include "config.h"
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *mg_cli_self = "memgc";

struct verb {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *synopsis;
	const char *purpose;
};

static const struct verb verbs[] = {
	{ "run", mg_cli_run,
	  "run [--report FILE] [--timeline MS] [-o OPT=VAL ...] [--python-malloc] [-q] -- PROG [ARGS]",
	  "run PROG and every process it starts under memgc; exit with PROG's status" },
	{ "check", mg_cli_check,
	  "check [--max-leaked BYTES] [--max-peak-live BYTES] [--max-peak-rss BYTES]\n"
	  "            [--max-total-leaked BYTES] [--max-total-peak-live BYTES] [--max-total-peak-rss BYTES]\n"
	  "            [--baseline FILE [--tolerance PCT]] [--json FILE] [--junit FILE]\n"
	  "            [-o OPT=VAL ...] [--python-malloc] -- PROG [ARGS]",
	  "run PROG like run and check memory budgets: the CI gate" },
	{ "report", mg_cli_report,
	  "report FILE [--text | --folded [--leaked] | --svg OUT]",
	  "render a saved report: text summary, folded stacks, SVG chart" },
	{ "demo", mg_cli_demo,
	  "demo [--full]",
	  "RSS before and after collect under glibc, jemalloc and memgc" },
	{ "stats", mg_cli_stats,
	  "stats PID [--json | --prometheus]",
	  "the memory figures of a running process, through its control socket" },
	{ "collect", mg_cli_collect,
	  "collect PID [-g N] [--json]",
	  "collect and purge in a running process; RSS before and after" },
};
#define NVERBS (sizeof verbs / sizeof verbs[0])

static void usage(FILE *f)
{
	fprintf(f, "usage: memgc VERB [ARGS]   (memgc VERB --help describes one)\n"
		   "       memgc --help | --version\n\nverbs:\n");
	for (size_t i = 0; i < NVERBS; i++)
		fprintf(f, "  memgc %s\n      %s\n", verbs[i].synopsis, verbs[i].purpose);
	fprintf(f, "\nexit status: 0 ok, 64 usage error, 65 not a memgc report, 66 cannot read\n"
		   "a file, 69 no such process or no memgc in it, 70 internal error, 73 cannot\n"
		   "write a file, 77 permission refused; run exits with PROG's\n"
		   "status (126 PROG not executable, 127 not found); check has its own (memgc\n"
		   "check --help).  See memgc(1).\n");
}

int mg_cli_fail(const char *verb, int code, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (verb)
		fprintf(stderr, "%s %s: %s\n", mg_cli_self, verb, msg);
	else
		fprintf(stderr, "%s: %s\n", mg_cli_self, msg);
	return code;
}

bool mg_cli_wants_help(int argc, char **argv, const char *text)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(text, stdout);
			return true;
		}
	return false;
}

int mg_cli_bad_flag(const char *verb, int c, char **argv)
{
	const char *arg = argv[optind - 1];
	char flag[128];
	if (!strncmp(arg, "--", 2))
		snprintf(flag, sizeof flag, "%.*s", (int)strcspn(arg, "="), arg);
	else
		snprintf(flag, sizeof flag, "-%c", optopt);
	if (c == ':')
		return mg_cli_fail(verb, MG_EXIT_USAGE, "%s needs a value (memgc %s --help)", flag, verb);
	return mg_cli_fail(verb, MG_EXIT_USAGE, "unknown flag '%s' (memgc %s --help)", flag, verb);
}

static int version(void)
{
	char lib[4096];
	printf("memgc %s\n", PACKAGE_VERSION);
	if (mg_paths_library(lib, sizeof lib) == 0)
		printf("library %s\n", lib);
	else
		printf("library not found (looked at %s)\n", lib);
	return MG_EXIT_OK;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return MG_EXIT_USAGE;
	}
	const char *v = argv[1];
	if (!strcmp(v, "--help") || !strcmp(v, "-h")) {
		usage(stdout);
		return MG_EXIT_OK;
	}
	if (!strcmp(v, "--version"))
		return version();
	for (size_t i = 0; i < NVERBS; i++)
		if (!strcmp(v, verbs[i].name))
			return verbs[i].fn(argc - 1, argv + 1);
	char names[256];
	size_t len = 0;
	for (size_t i = 0; i < NVERBS; i++)
		len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "",
					verbs[i].name);
	return mg_cli_fail(NULL, MG_EXIT_USAGE, "unknown verb '%s': expected one of %s (memgc --help)",
			   v, names);
}
