/* memgc.c: the memgc command's front: picks the verb.
 *
 * A minimal front for the verbs of client.c (stats, collect); the `cli`
 * branch's memgc.c, with every verb, replaces it at merge.
 */
#include "config.h"
#include <stdarg.h>
#include <stdio.h>
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
	{ "stats", mg_cli_stats, "stats PID [--json | --prometheus]",
	  "print a running process's memory figures" },
	{ "collect", mg_cli_collect, "collect PID [-g N] [--json]",
	  "make a running process collect and give memory back" },
};
#define NVERBS (sizeof verbs / sizeof verbs[0])

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

static int usage(FILE *f)
{
	fprintf(f, "usage: memgc VERB ...\n");
	for (size_t i = 0; i < NVERBS; i++)
		fprintf(f, "  memgc %-40s %s\n", verbs[i].synopsis, verbs[i].purpose);
	fprintf(f, "memgc VERB --help describes a verb; memgc(1) has the details.\n");
	return f == stdout ? MG_EXIT_OK : MG_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr);
	const char *v = argv[1];
	if (!strcmp(v, "--help") || !strcmp(v, "-h"))
		return usage(stdout);
	for (size_t i = 0; i < NVERBS; i++)
		if (!strcmp(v, verbs[i].name))
			return verbs[i].fn(argc - 1, argv + 1);
	return mg_cli_fail(NULL, MG_EXIT_USAGE, "unknown verb '%s': expected stats or collect "
			   "(memgc --help)", v);
}
