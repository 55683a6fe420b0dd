/* check.c: `memgc check`: the CI gate.
 *
 * Runs PROG as `memgc run` does (every process of it), then holds each
 * process's figures to the budgets given, the sums over all processes to
 * the --max-total-* ones, and, with --baseline, each figure to the same
 * process's figure in a previous run plus the tolerance.  The figures:
 *   leaked     leaks.bytes of the report (the collector's exit check)
 *   peak live  heap.peak_live_bytes
 *   peak RSS   heap.peak_rss_bytes
 * A broken budget gets one line naming the figure, the process, the budget
 * and the allocation sites responsible.  The exit status is a bit mask
 * (documented in usage[] and memgc(1)):
 *   1  a budget or the baseline is broken
 *   2  PROG failed: a non-zero exit status, or a signal
 *   4  a budget could not be checked: no process of the run wrote a
 *      report, or a report has no leak figures for --max-leaked
 * and 0 when every budget holds and PROG succeeded; 64 and up as for
 * every verb, before PROG runs.
 */
#include "config.h"
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"usage: memgc check [--max-leaked BYTES] [--max-peak-live BYTES] [--max-peak-rss BYTES]\n"
	"                   [--max-total-leaked BYTES] [--max-total-peak-live BYTES]\n"
	"                   [--max-total-peak-rss BYTES] [--baseline FILE [--tolerance PCT]]\n"
	"                   [--json FILE] [--junit FILE] [-o OPT=VAL ...] [--python-malloc]\n"
	"                   -- PROG [ARGS]\n"
	"Runs PROG and every process it starts under memgc, as memgc run does, and holds\n"
	"their figures to budgets: the CI gate.  BYTES takes K, M, G or T (powers of 1024).\n"
	"  --max-leaked BYTES            bytes leaked (unreachable at exit), per process\n"
	"  --max-peak-live BYTES         peak live bytes, per process\n"
	"  --max-peak-rss BYTES          peak resident set, per process\n"
	"  --max-total-leaked BYTES      the same, summed over every process of the run\n"
	"  --max-total-peak-live BYTES\n"
	"  --max-total-peak-rss BYTES\n"
	"  --baseline FILE               a report of an earlier run (memgc run --report or\n"
	"                                memgc check --json): no figure may grow past it\n"
	"  --tolerance PCT               how much a figure may grow past the baseline\n"
	"                                (default 10)\n"
	"  --json FILE                   save the reports and the verdicts as JSON\n"
	"  --junit FILE                  save the verdicts as JUnit XML, one test case per\n"
	"                                budget and process\n"
	"  -o OPT=VAL                    a memgc option for every process (memgc(7))\n"
	"  --python-malloc               set PYTHONMALLOC=malloc\n"
	"  -h, --help                    this text\n"
	"Exit status: 0 every budget holds and PROG succeeded; otherwise the sum of\n"
	"1 a budget or the baseline is broken, 2 PROG failed (non-zero status or a signal),\n"
	"4 a budget could not be checked (no process wrote a report, or no leak figures);\n"
	"64 usage error, 70 internal error, 73 cannot write a file, 65 or 66 a bad\n"
	"baseline, 126 PROG cannot be executed, 127 PROG not found.\n";

enum { LEAKED, PEAK_LIVE, PEAK_RSS, NFIG };
static const char *const fig_name[NFIG] = { "leaked", "peak live", "peak RSS" };
static const char *const fig_key[NFIG] = { "leaked_bytes", "peak_live_bytes", "peak_rss_bytes" };
static const char *const fig_flag[NFIG] = { "leaked", "peak-live", "peak-rss" };

enum { CHECK_BROKEN = 1, CHECK_PROG_FAILED = 2, CHECK_UNKNOWN = 4 };

#define TOTAL ((size_t)-1)
#define DEFAULT_TOLERANCE 10.0

/* One verdict: a figure of one process (or the total) against a limit. */
struct verdict {
	char name[48];         /* "max-leaked", "max-total-peak-rss", "baseline-peak-live" */
	int fig;
	size_t proc;           /* index into the run's processes, or TOTAL */
	bool known;            /* the figure was measured */
	uint64_t value, limit;
	bool held;
	bool baseline;
	uint64_t base;         /* the baseline's figure, for baseline verdicts */
};

struct check {
	struct mg_spawn s;
	bool have[2][NFIG];    /* [0] per process, [1] total */
	uint64_t limit[2][NFIG];
	const char *baseline, *json, *junit;
	double tolerance;
	bool tolerance_given;
	struct mg_procs ps, base;
	int status;
	size_t *pair;          /* baseline process of each process, or TOTAL */
	struct verdict *v;
	size_t nv;
};

/* The figure of process i (or the sum, for TOTAL); false when unmeasured. */
static bool figure(const struct mg_procs *ps, size_t i, int fig, uint64_t *out)
{
	if (i == TOTAL) {
		uint64_t sum = 0, x;
		bool known = ps->n > 0;
		for (size_t k = 0; k < ps->n; k++)
			if (figure(ps, k, fig, &x))
				sum += x;
			else
				known = false;
		*out = sum;
		return known;
	}
	const struct mg_proc *p = &ps->p[i];
	switch (fig) {
	case LEAKED: *out = p->leaked; return p->leaks_checked;
	case PEAK_LIVE: *out = p->peak_live; return true;
	default: *out = p->peak_rss; return true;
	}
}

static struct verdict *add(struct check *c)
{
	struct verdict *v = realloc(c->v, (c->nv + 1) * sizeof *v);
	if (!v) {
		mg_cli_fail("check", 0, "out of memory");
		exit(MG_EXIT_SOFTWARE);
	}
	c->v = v;
	v = &c->v[c->nv++];
	memset(v, 0, sizeof *v);
	return v;
}

/* "3000 B", or "9.8 KiB (10000 B)": exact, and readable. */
static const char *both(uint64_t b, char *buf, size_t n)
{
	char h[32];
	mg_units_human(b, h, sizeof h);
	if (b < 1024)
		snprintf(buf, n, "%s", h);
	else
		snprintf(buf, n, "%s (%llu B)", h, (unsigned long long)b);
	return buf;
}

static const char *who(const struct check *c, size_t i, char *buf, size_t n)
{
	if (i == TOTAL)
		snprintf(buf, n, "the total of %zu process%s", c->ps.n, c->ps.n == 1 ? "" : "es");
	else
		snprintf(buf, n, "pid %d (%s)", c->ps.p[i].pid, c->ps.p[i].name);
	return buf;
}

/* The allocation sites behind figure fig of process i, on one line. */
static void sites(const struct check *c, size_t i, int fig, char *buf, size_t n)
{
	size_t len = 0;
	buf[0] = '\0';
	if (i == TOTAL) {   /* the three processes with the most, largest first */
		size_t top[3] = { TOTAL, TOTAL, TOTAL };
		len += (size_t)snprintf(buf, n, "; largest:");
		for (int k = 0; k < 3 && len < n; k++) {
			size_t best = TOTAL;
			uint64_t bx = 0, x;
			for (size_t j = 0; j < c->ps.n; j++)
				if (j != top[0] && j != top[1] && figure(&c->ps, j, fig, &x) &&
				    (best == TOTAL || x > bx)) {
					best = j;
					bx = x;
				}
			if (best == TOTAL)
				break;
			top[k] = best;
			char h[32], w[96];
			len += (size_t)snprintf(buf + len, n - len, "%s %s %s", k ? "," : "",
						who(c, best, w, sizeof w), mg_units_human(bx, h, sizeof h));
		}
		return;
	}
	const struct mg_json *r = c->ps.p[i].r;
	const struct mg_json *list = mg_json_get(r, fig == LEAKED ? "leaks.groups" : "top_sites");
	const char *bytes = fig == LEAKED ? "bytes" : "live_bytes";
	const char *objs = fig == LEAKED ? "objects" : "live_objects";
	if (!list || list->kind != MG_JSON_ARRAY || list->n == 0)
		return;
	len += (size_t)snprintf(buf, n, fig == LEAKED ? "; leaked at:" : "; largest live at exit:");
	for (size_t k = 0; k < list->n && k < 3 && len < n; k++) {
		const struct mg_json *g = &list->kids[k];
		char h[32], st[512], what[64];
		const char *kind = fig == LEAKED ? mg_json_str(g, "kind", "?") : "";
		unsigned long long nobj = (unsigned long long)mg_json_u64(g, objs, 0);
		if (!strcmp(kind, "cycle"))
			snprintf(what, sizeof what, "a cycle of %llu objects", nobj);
		else
			snprintf(what, sizeof what, "%llu%s%s objects", nobj, *kind ? " " : "", kind);
		mg_procs_stack(mg_json_get(g, "frames"), 4, st, sizeof st);
		len += (size_t)snprintf(buf + len, n - len, "%s %s in %s at %s", k ? "," : "",
					mg_units_human(mg_json_u64(g, bytes, 0), h, sizeof h), what, st);
	}
}

static void budget_verdicts(struct check *c)
{
	for (int t = 0; t < 2; t++)
		for (int f = 0; f < NFIG; f++) {
			if (!c->have[t][f])
				continue;
			size_t end = t ? 1 : c->ps.n;
			for (size_t i = 0; i < end; i++) {
				struct verdict *v = add(c);
				snprintf(v->name, sizeof v->name, "max-%s%s", t ? "total-" : "", fig_flag[f]);
				v->fig = f;
				v->proc = t ? TOTAL : i;
				v->limit = c->limit[t][f];
				v->known = figure(&c->ps, v->proc, f, &v->value);
				v->held = v->known && v->value <= v->limit;
			}
		}
}

/* Pairs each process of the run with one of the baseline (c->pair[i], or
 * TOTAL for none): the first processes of the two runs with each other;
 * then the same command line, in order; then the same executable, in
 * order.  So a rerun with other arguments still compares. */
static int pair_up(struct check *c)
{
	bool *used = calloc(c->base.n + 1, sizeof *used);
	c->pair = malloc((c->ps.n + 1) * sizeof *c->pair);
	if (!used || !c->pair) {
		free(used);
		return mg_cli_fail("check", MG_EXIT_SOFTWARE, "out of memory");
	}
	for (size_t i = 0; i < c->ps.n; i++)
		c->pair[i] = TOTAL;
	if (c->ps.n && c->base.n) {
		c->pair[0] = 0;
		used[0] = true;
	}
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < c->ps.n; i++)
			for (size_t k = 0; k < c->base.n && c->pair[i] == TOTAL; k++)
				if (!used[k] && !strcmp(pass ? c->base.p[k].exe : c->base.p[k].cmd,
							pass ? c->ps.p[i].exe : c->ps.p[i].cmd)) {
					c->pair[i] = k;
					used[k] = true;
				}
	free(used);
	return 0;
}

/* The most a figure may be: base plus pct percent of it, rounded down,
 * in integers (pct to a millionth of a percent), so 2.5% of 100000 is 2500. */
static uint64_t allowed(uint64_t base, double pct)
{
	unsigned __int128 micro = (unsigned __int128)llround(pct * 1e6);
	unsigned __int128 lim = base + (unsigned __int128)base * micro / 100000000u;
	return lim > UINT64_MAX ? UINT64_MAX : (uint64_t)lim;
}

static void baseline_verdicts(struct check *c)
{
	size_t rows = c->ps.n + (c->ps.n > 1 || c->base.n > 1);
	for (size_t r = 0; r < rows; r++) {
		size_t i = r < c->ps.n ? r : TOTAL;
		size_t b = i == TOTAL ? TOTAL : c->pair[i];
		if (i != TOTAL && b == TOTAL)
			continue;   /* a process the baseline does not have */
		for (int f = 0; f < NFIG; f++) {
			uint64_t now, base;
			bool known = figure(&c->ps, i, f, &now);
			if (!figure(&c->base, b, f, &base))
				continue;     /* nothing to compare with */
			struct verdict *v = add(c);
			snprintf(v->name, sizeof v->name, "baseline-%s%s", i == TOTAL ? "total-" : "",
				 fig_flag[f]);
			v->fig = f;
			v->proc = i;
			v->baseline = true;
			v->base = base;
			v->known = known;
			v->value = now;
			v->limit = allowed(base, c->tolerance);
			v->held = known && now <= v->limit;
		}
	}
}

static void print_table(const struct check *c)
{
	printf("memgc check: against the baseline %s (%zu process%s), tolerance %g%%\n",
	       c->baseline, c->base.n, c->base.n == 1 ? "" : "es", c->tolerance);
	printf("  %-28s %-10s %12s %12s %10s %12s  %s\n", "process", "figure", "baseline", "now",
	       "change", "limit", "verdict");
	for (size_t k = 0; k < c->nv; k++) {
		const struct verdict *v = &c->v[k];
		if (!v->baseline)
			continue;
		char w[96], a[32], b[32], l[32], ch[32];
		if (!v->known)
			snprintf(ch, sizeof ch, "?");
		else if (v->base == 0)
			snprintf(ch, sizeof ch, "%s%llu B", v->value ? "+" : "",
				 (unsigned long long)v->value);
		else
			snprintf(ch, sizeof ch, "%+.1f%%",
				 ((double)v->value - (double)v->base) * 100.0 / (double)v->base);
		printf("  %-28.28s %-10s %12s %12s %10s %12s  %s\n", who(c, v->proc, w, sizeof w),
		       fig_name[v->fig], mg_units_human(v->base, a, sizeof a),
		       v->known ? mg_units_human(v->value, b, sizeof b) : "?", ch,
		       mg_units_human(v->limit, l, sizeof l),
		       !v->known ? "unknown" : v->held ? "ok" : "OVER");
	}
	for (size_t i = 0; i < c->ps.n; i++)
		if (c->pair[i] == TOTAL)
			printf("  %-28.28s not in the baseline: %s\n", who(c, i, (char[96]){ 0 }, 96),
			       c->ps.p[i].cmd);
}

/* One line on stderr per broken or unknown verdict. */
static void print_broken(const struct check *c)
{
	for (size_t k = 0; k < c->nv; k++) {
		const struct verdict *v = &c->v[k];
		char w[96], a[64], b[64], st[2048];
		if (v->held)
			continue;
		who(c, v->proc, w, sizeof w);
		if (!v->known) {
			mg_cli_fail("check", 0, "%s: %s of %s cannot be checked: %s", v->name,
				    fig_name[v->fig], w,
				    v->fig == LEAKED ? "no leak figures in its report (leak_check=0, or no collector in this memgc)"
						     : "no report");
			continue;
		}
		sites(c, v->proc, v->fig, st, sizeof st);
		if (v->baseline)
			mg_cli_fail("check", 0, "%s %s of %s is over the baseline's %s + %g%% = %s%s",
				    fig_name[v->fig], both(v->value, a, sizeof a), w,
				    mg_units_human(v->base, (char[32]){ 0 }, 32), c->tolerance,
				    both(v->limit, b, sizeof b), st);
		else
			mg_cli_fail("check", 0, "%s %s of %s breaks --%s %s%s", fig_name[v->fig],
				    both(v->value, a, sizeof a), w, v->name, both(v->limit, b, sizeof b), st);
	}
}

static const char *prog_failure(int status, char *buf, size_t n)
{
	if (status > 128 && status < 128 + NSIG)
		snprintf(buf, n, "killed by signal %d (%s)", status - 128, strsignal(status - 128));
	else
		snprintf(buf, n, "exit status %d", status);
	return buf;
}

static int write_json(const struct check *c, int code)
{
	char *extra = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&extra, &n);
	if (!m)
		return mg_cli_fail("check", MG_EXIT_SOFTWARE, "out of memory");
	fprintf(m, "\"check\": {\"passed\": %s, \"exit_code\": %d, \"tolerance\": %g, \"baseline\": ",
		code ? "false" : "true", code, c->tolerance);
	if (c->baseline)
		mg_json_write_str(m, c->baseline);
	else
		fputs("null", m);
	fputs(",\n  \"verdicts\": [", m);
	for (size_t k = 0; k < c->nv; k++) {
		const struct verdict *v = &c->v[k];
		fprintf(m, "%s\n   {\"name\": \"%s\", \"figure\": \"%s\", \"pid\": ", k ? "," : "",
			v->name, fig_key[v->fig]);
		if (v->proc == TOTAL)
			fputs("null", m);
		else
			fprintf(m, "%d", c->ps.p[v->proc].pid);
		if (v->known)
			fprintf(m, ", \"value\": %llu", (unsigned long long)v->value);
		else
			fputs(", \"value\": null", m);
		fprintf(m, ", \"limit\": %llu", (unsigned long long)v->limit);
		if (v->baseline)
			fprintf(m, ", \"baseline_value\": %llu", (unsigned long long)v->base);
		fprintf(m, ", \"held\": %s}", v->held ? "true" : "false");
	}
	fputs("]}", m);
	if (fclose(m))
		return mg_cli_fail("check", MG_EXIT_SOFTWARE, "out of memory");
	FILE *f = fopen(c->json, "we");
	if (!f) {
		free(extra);
		return mg_cli_fail("check", MG_EXIT_CANTCREATE, "cannot write %s: %s", c->json,
				   strerror(errno));
	}
	mg_procs_write(f, &c->ps, c->s.argv, c->status, extra);
	free(extra);
	if (fclose(f))
		return mg_cli_fail("check", MG_EXIT_CANTCREATE, "cannot write %s: %s", c->json,
				   strerror(errno));
	return 0;
}

/* JUnit XML as Jenkins, GitLab and GitHub's reporters read it: one
 * testsuite for the run; one testcase per verdict (classname the
 * process), <failure> when broken, <error> when it could not be checked;
 * and one testcase for PROG's own exit status. */
static int write_junit(const struct check *c)
{
	FILE *f = fopen(c->junit, "we");
	if (!f)
		return mg_cli_fail("check", MG_EXIT_CANTCREATE, "cannot write %s: %s", c->junit,
				   strerror(errno));
	size_t failures = 0, errors = 0;
	for (size_t k = 0; k < c->nv; k++) {
		failures += c->v[k].known && !c->v[k].held;
		errors += !c->v[k].known;
	}
	failures += c->status != 0;
	char cmd[1024] = "";
	size_t len = 0;
	for (int i = 0; c->s.argv[i] && len < sizeof cmd; i++)
		len += (size_t)snprintf(cmd + len, sizeof cmd - len, "%s%s", i ? " " : "", c->s.argv[i]);
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<testsuites name=\"memgc check\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\">\n"
		   "  <testsuite name=\"memgc check ", c->nv + 1, failures, errors);
	mg_json_write_xml(f, cmd);
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"0\">\n", c->nv + 1,
		failures, errors);
	const char *base = strrchr(c->s.argv[0], '/');
	fprintf(f, "    <testcase classname=\"memgc.");
	mg_json_write_xml(f, base ? base + 1 : c->s.argv[0]);
	fprintf(f, "\" name=\"exit status\"");
	if (c->status) {
		char why[64];
		fprintf(f, ">\n      <failure message=\"%s\" type=\"exit status\"/>\n    </testcase>\n",
			prog_failure(c->status, why, sizeof why));
	} else {
		fprintf(f, "/>\n");
	}
	for (size_t k = 0; k < c->nv; k++) {
		const struct verdict *v = &c->v[k];
		char w[96], a[64], b[64], st[2048], msg[512];
		fprintf(f, "    <testcase classname=\"memgc.");
		if (v->proc == TOTAL) {
			fprintf(f, "total");
		} else {
			mg_json_write_xml(f, c->ps.p[v->proc].name);
			fprintf(f, ".pid%d", c->ps.p[v->proc].pid);
		}
		fprintf(f, "\" name=\"%s\"", v->name);
		if (v->held) {
			fprintf(f, "/>\n");
			continue;
		}
		who(c, v->proc, w, sizeof w);
		if (!v->known) {
			fprintf(f, ">\n      <error message=\"%s of %s cannot be checked\" type=\"no figure\"/>\n"
				   "    </testcase>\n", fig_name[v->fig], w);
			continue;
		}
		sites(c, v->proc, v->fig, st, sizeof st);
		snprintf(msg, sizeof msg, "%s %s of %s over the limit %s", fig_name[v->fig],
			 both(v->value, a, sizeof a), w, both(v->limit, b, sizeof b));
		fprintf(f, ">\n      <failure message=\"");
		mg_json_write_xml(f, msg);
		fprintf(f, "\" type=\"%s\">", v->baseline ? "baseline" : "budget");
		mg_json_write_xml(f, msg);
		mg_json_write_xml(f, st);
		fprintf(f, "</failure>\n    </testcase>\n");
	}
	fprintf(f, "  </testsuite>\n</testsuites>\n");
	if (fclose(f))
		return mg_cli_fail("check", MG_EXIT_CANTCREATE, "cannot write %s: %s", c->junit,
				   strerror(errno));
	return 0;
}

static int parse(struct check *c, int argc, char **argv)
{
	enum { BUDGET = 0x200, BASELINE = 0x300, TOLERANCE, JSON, JUNIT };
	static const struct option longs[] = {
		{ "max-leaked", required_argument, NULL, BUDGET + LEAKED },
		{ "max-peak-live", required_argument, NULL, BUDGET + PEAK_LIVE },
		{ "max-peak-rss", required_argument, NULL, BUDGET + PEAK_RSS },
		{ "max-total-leaked", required_argument, NULL, BUDGET + NFIG + LEAKED },
		{ "max-total-peak-live", required_argument, NULL, BUDGET + NFIG + PEAK_LIVE },
		{ "max-total-peak-rss", required_argument, NULL, BUDGET + NFIG + PEAK_RSS },
		{ "baseline", required_argument, NULL, BASELINE },
		{ "tolerance", required_argument, NULL, TOLERANCE },
		{ "json", required_argument, NULL, JSON },
		{ "junit", required_argument, NULL, JUNIT },
		{ "python-malloc", no_argument, NULL, MG_FLAG_PYTHON_MALLOC },
		{ NULL, 0, NULL, 0 },
	};
	int o, r;
	char *end;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "+:o:", longs, NULL)) != -1) {
		if (o >= BUDGET && o < BUDGET + 2 * NFIG) {
			int t = (o - BUDGET) / NFIG, f = (o - BUDGET) % NFIG;
			if (mg_units_parse(optarg, &c->limit[t][f]))
				return mg_cli_fail("check", MG_EXIT_USAGE,
						   "--max-%s%s '%s': not a size: expected bytes, with an optional K, M, G or T (powers of 1024), such as 3000 or 64M",
						   t ? "total-" : "", fig_flag[f], optarg);
			c->have[t][f] = true;
			continue;
		}
		switch (o) {
		case BASELINE: c->baseline = optarg; break;
		case JSON: c->json = optarg; break;
		case JUNIT: c->junit = optarg; break;
		case TOLERANCE:
			errno = 0;
			c->tolerance = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(c->tolerance >= 0 && c->tolerance <= 10000))
				return mg_cli_fail("check", MG_EXIT_USAGE,
						   "--tolerance '%s': expected a percentage from 0 to 10000, such as 5 or 2.5",
						   optarg);
			c->tolerance_given = true;
			break;
		case ':':
		case '?':
			return mg_cli_bad_flag("check", o, argv);
		default:
			if ((r = mg_spawn_flag(&c->s, o, optarg)))
				return r;
		}
	}
	if (c->tolerance_given && !c->baseline)
		return mg_cli_fail("check", MG_EXIT_USAGE, "--tolerance needs --baseline FILE");
	bool any = c->baseline != NULL;
	for (int t = 0; t < 2; t++)
		for (int f = 0; f < NFIG; f++)
			any |= c->have[t][f];
	if (!any)
		return mg_cli_fail("check", MG_EXIT_USAGE,
				   "no budget to check: give --max-leaked, --max-peak-live, --max-peak-rss, a --max-total-* or --baseline");
	if (optind >= argc)
		return mg_cli_fail("check", MG_EXIT_USAGE,
				   "no program to run: memgc check BUDGETS -- PROG [ARGS]");
	c->s.argv = argv + optind;
	return 0;
}

int mg_cli_check(int argc, char **argv)
{
	struct check c = { .s = { .verb = "check" }, .tolerance = DEFAULT_TOLERANCE };
	int r;
	if (mg_cli_wants_help(argc, argv, usage))
		return MG_EXIT_OK;
	if ((r = parse(&c, argc, argv)))
		return r;
	/* the baseline is read first: a bad one fails before a long run */
	if (c.baseline && (r = mg_procs_load(&c.base, c.baseline, "check")))
		return r;
	if ((r = mg_spawn_run(&c.s, &c.ps, &c.status))) {
		mg_procs_free(&c.base);
		return r;
	}
	int code = 0;
	if (c.ps.n == 0) {
		mg_cli_fail("check", 0, "no process of the run wrote a report: %s is statically linked "
			    "or set-user-ID, or it ended by _exit, abort or a signal", c.s.argv[0]);
		code |= CHECK_UNKNOWN;
	} else if (c.ps.p[0].pid != c.ps.top) {
		mg_cli_fail("check", 0, "note: %s (pid %d) wrote no report (it ended by _exit, as dash "
			    "does, abort or a signal): only the %zu processes that did are checked",
			    c.s.argv[0], c.ps.top, c.ps.n);
	}
	budget_verdicts(&c);
	if (c.baseline && (r = pair_up(&c)))
		return r;
	if (c.baseline)
		baseline_verdicts(&c);
	size_t broken = 0, unknown = 0;
	for (size_t k = 0; k < c.nv; k++) {
		broken += c.v[k].known && !c.v[k].held;
		unknown += !c.v[k].known;
	}
	code |= (broken ? CHECK_BROKEN : 0) | (unknown ? CHECK_UNKNOWN : 0) |
		(c.status ? CHECK_PROG_FAILED : 0);
	if (c.baseline)
		print_table(&c);
	fflush(stdout);
	print_broken(&c);
	char why[64];
	if (c.status)
		mg_cli_fail("check", 0, "%s failed: %s", c.s.argv[0], prog_failure(c.status, why, sizeof why));
	mg_cli_fail("check", 0, "%s: %zu of %zu budgets broken, %zu unchecked, over %zu process%s",
		    code ? "FAILED" : "passed", broken, c.nv, unknown, c.ps.n, c.ps.n == 1 ? "" : "es");
	if (c.json && (r = write_json(&c, code)))
		code = r;
	if (c.junit && (r = write_junit(&c)))
		code = r;
	free(c.v);
	free(c.pair);
	mg_procs_free(&c.ps);
	mg_procs_free(&c.base);
	return code;
}
