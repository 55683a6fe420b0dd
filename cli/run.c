/* run.c: `memgc run`: PROG and every process it starts under memgc.
 *
 * Runs PROG through spawn.c, exits with PROG's status (128+N when a
 * signal N ended it), saves the processes' reports as one run document
 * when --report asks, and ends with one line per process on stderr
 * (children indented under their parent) unless --quiet.
 */
#include "config.h"
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
	"usage: memgc run [--report FILE] [--timeline MS] [-o OPT=VAL ...] [--python-malloc] [-q]\n"
	"                 -- PROG [ARGS]\n"
	"Runs PROG under memgc (LD_PRELOAD=libmemgc.so), and with it every process PROG\n"
	"starts; waits for the last of them and exits with PROG's status (128+N when\n"
	"signal N ended it).\n"
	"  --report FILE     save the reports of every process as one JSON document\n"
	"                    (memgc report FILE renders it)\n"
	"  --timeline MS     sample RSS and live bytes every MS milliseconds (1 to 60000)\n"
	"                    into the reports, for memgc report --svg\n"
	"  -o OPT=VAL        a memgc option for every process (memgc(7)); repeatable\n"
	"  --python-malloc   set PYTHONMALLOC=malloc, so that memgc sees every Python object\n"
	"  -q, --quiet       no summary lines on stderr at the end\n"
	"  -h, --help        this text\n"
	"Exit status: PROG's; 64 usage error, 70 internal error, 73 cannot write FILE,\n"
	"126 PROG cannot be executed, 127 PROG not found.\n";

#define SHOWN 20   /* processes listed at the end; the report has them all */

static void summary(const struct mg_procs *ps, const char *report)
{
	for (size_t i = 0; i < ps->n && i < SHOWN; i++) {
		const struct mg_proc *p = &ps->p[i];
		char a[32], b[32], c[32], leak[96] = "";
		if (p->leaks_checked)
			snprintf(leak, sizeof leak, ", leaked %s in %llu objects",
				 mg_units_human(p->leaked, c, sizeof c),
				 (unsigned long long)p->leaked_objects);
		fprintf(stderr, "memgc run: %*spid %d (%s): peak live %s, peak RSS %s%s\n",
			2 * (p->depth < 8 ? p->depth : 8), "", p->pid, p->name,
			mg_units_human(p->peak_live, a, sizeof a), mg_units_human(p->peak_rss, b, sizeof b),
			leak);
	}
	if (ps->n > SHOWN)
		fprintf(stderr, "memgc run: and %zu more processes%s\n", ps->n - SHOWN,
			report ? "" : " (--report FILE keeps them all)");
	if (report)
		fprintf(stderr, "memgc run: %zu process report%s in %s\n", ps->n, ps->n == 1 ? "" : "s",
			report);
}

int mg_cli_run(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "report", required_argument, NULL, 'r' },
		{ "timeline", required_argument, NULL, MG_FLAG_TIMELINE },
		{ "python-malloc", no_argument, NULL, MG_FLAG_PYTHON_MALLOC },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	struct mg_spawn s = { .verb = "run" };
	const char *report = NULL;
	bool quiet = false;
	int c, r;

	if (mg_cli_wants_help(argc, argv, usage))
		return MG_EXIT_OK;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:o:q", longs, NULL)) != -1) {
		switch (c) {
		case 'r':
			report = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case ':':
		case '?':
			return mg_cli_bad_flag("run", c, argv);
		default:
			if ((r = mg_spawn_flag(&s, c, optarg)))
				return r;
		}
	}
	if (optind >= argc)
		return mg_cli_fail("run", MG_EXIT_USAGE,
				   "no program to run: memgc run [FLAGS] -- PROG [ARGS]");
	s.argv = argv + optind;

	FILE *out = NULL;
	if (report && !(out = fopen(report, "we")))   /* before a long run, not after */
		return mg_cli_fail("run", MG_EXIT_CANTCREATE, "cannot write %s: %s", report,
				   strerror(errno));
	struct mg_procs ps;
	int status;
	if ((r = mg_spawn_run(&s, &ps, &status))) {
		if (out) {
			fclose(out);
			unlink(report);
		}
		return r;
	}
	if (ps.n == 0)
		mg_cli_fail("run", 0, "no process of the run wrote a report: %s is statically linked "
			    "or set-user-ID, or it ended by _exit, abort or a signal", s.argv[0]);
	if (out) {
		mg_procs_write(out, &ps, s.argv, status, "");
		if (fclose(out)) {
			mg_procs_free(&ps);
			return mg_cli_fail("run", MG_EXIT_CANTCREATE, "cannot write %s: %s", report,
					   strerror(errno));
		}
	}
	if (!quiet)
		summary(&ps, report);
	mg_procs_free(&ps);
	return status;
}
