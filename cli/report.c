/* report.c: `memgc report FILE`: a saved report, rendered.
 *
 * FILE is a process's own report (MEMGC_OPTIONS=report=...), a
 * `memgc run --report` file or a `memgc check --json` file (procs.c reads
 * them all).  Renders:
 *   --text     (the default) each process's figures, leaks, collections,
 *              top sites and timeline, in the words of the exit summary;
 *   --folded   one "frame;frame;...;frame BYTES" line per stack, outermost
 *              frame first under the process's name, of the live bytes of
 *              the report's top sites, or with --leaked of its leak groups:
 *              the input of flamegraph.pl and speedscope;
 *   --svg OUT  a chart of RSS and live bytes over time (svg.c).
 * Identical stacks (the same program run several times) are summed.
 */
#include "config.h"
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"usage: memgc report FILE [--text | --folded [--leaked] | --svg OUT]\n"
	"Renders a saved report: a process's own (MEMGC_OPTIONS=report=PATH), or the\n"
	"file of memgc run --report or memgc check --json.\n"
	"  --text      a text summary of every process (the default)\n"
	"  --folded    folded stacks of the live bytes of the top sites, one\n"
	"              \"frame;frame;frame BYTES\" line per stack, for flamegraph.pl\n"
	"  --leaked    with --folded: the leaked bytes instead, by leak group\n"
	"  --svg OUT   write an SVG chart of RSS and live bytes over time with each\n"
	"              collection marked (needs memgc run --timeline MS)\n"
	"  -h, --help  this text\n"
	"Exit status: 0 ok, 64 usage error, 65 FILE is not a memgc report (or has no\n"
	"timeline for --svg, no leak figures for --leaked), 66 FILE cannot be read,\n"
	"73 OUT cannot be written.\n";

static void stack_lines(FILE *f, const struct mg_json *frames, const char *lead)
{
	if (!frames || frames->kind != MG_JSON_ARRAY || frames->n == 0) {
		fprintf(f, "%s(unknown site: memgc start-up, a nested allocation, or beyond max_sites)\n", lead);
		return;
	}
	for (size_t i = 0; i < frames->n; i++) {
		char buf[1024];
		mg_procs_frame(&frames->kids[i], false, buf, sizeof buf);
		fprintf(f, "%s%s%s\n", lead, i ? "  called from " : "", buf);
	}
}

static void text_leaks(FILE *f, const struct mg_proc *p)
{
	const struct mg_json *r = p->r, *l = mg_json_get(r, "leaks");
	char a[32], b[32], c[32], d[32];
	if (!l) {
		return;    /* a memgc without the collector */
	}
	if (!p->leaks_checked) {
		fprintf(f, "  leaks not checked (leak_check=0)\n");
		return;
	}
	fprintf(f, "  leaked %s in %llu objects: direct %s, indirect %s, %llu cycles of %s\n",
		mg_units_human(p->leaked, a, sizeof a), (unsigned long long)p->leaked_objects,
		mg_units_human(mg_json_u64(l, "direct.bytes", 0), b, sizeof b),
		mg_units_human(mg_json_u64(l, "indirect.bytes", 0), c, sizeof c),
		(unsigned long long)mg_json_u64(l, "cycles.count", 0),
		mg_units_human(mg_json_u64(l, "cycles.bytes", 0), d, sizeof d));
	const struct mg_json *g = mg_json_get(l, "groups");
	for (size_t i = 0; g && g->kind == MG_JSON_ARRAY && i < g->n; i++) {
		const struct mg_json *x = &g->kids[i];
		const char *kind = mg_json_str(x, "kind", "?");
		char len[48] = "";
		if (!strcmp(kind, "cycle"))
			snprintf(len, sizeof len, " of length %llu",
				 (unsigned long long)mg_json_u64(x, "length", 0));
		fprintf(f, "  %s in %llu objects, %s%s, at\n",
			mg_units_human(mg_json_u64(x, "bytes", 0), a, sizeof a),
			(unsigned long long)mg_json_u64(x, "objects", 0), kind, len);
		stack_lines(f, mg_json_get(x, "frames"), "      ");
	}
}

static void text_collector(FILE *f, const struct mg_json *r)
{
	const struct mg_json *col = mg_json_get(r, "collector");
	const struct mg_json *gens = mg_json_get(col, "generations");
	if (!gens || gens->kind != MG_JSON_ARRAY)
		return;
	uint64_t found = 0, freed = 0, pause = 0, maxp = 0;
	fprintf(f, "  collector, mode %s: collections", mg_json_str(col, "mode", "?"));
	for (size_t i = 0; i < gens->n; i++) {
		const struct mg_json *g = &gens->kids[i];
		fprintf(f, " %llu", (unsigned long long)mg_json_u64(g, "collections", 0));
		freed += mg_json_u64(g, "collected", 0);
		found += mg_json_u64(g, "collected", 0) + mg_json_u64(g, "uncollectable", 0);
		pause += mg_json_u64(g, "pause_ns", 0);
		uint64_t m = mg_json_u64(g, "max_pause_ns", 0);
		maxp = m > maxp ? m : maxp;
	}
	fprintf(f, "; %llu unreachable objects found, %llu freed; paused %.3f ms in all, %.3f ms at most\n",
		(unsigned long long)found, (unsigned long long)freed, (double)pause / 1e6,
		(double)maxp / 1e6);
}

static void text_timeline(FILE *f, const struct mg_json *r)
{
	const struct mg_json *t = mg_json_get(r, "timeline");
	if (!t || t->kind != MG_JSON_ARRAY || t->n == 0)
		return;
	uint64_t rlo = UINT64_MAX, rhi = 0, llo = UINT64_MAX, lhi = 0;
	for (size_t i = 0; i < t->n; i++) {
		uint64_t rs = mg_json_u64(&t->kids[i], "rss_bytes", 0);
		uint64_t lv = mg_json_u64(&t->kids[i], "live_bytes", 0);
		rlo = rs < rlo ? rs : rlo;
		rhi = rs > rhi ? rs : rhi;
		llo = lv < llo ? lv : llo;
		lhi = lv > lhi ? lv : lhi;
	}
	char a[32], b[32], c[32], d[32];
	fprintf(f, "  timeline: %zu samples from %.3f s to %.3f s; RSS %s to %s, live %s to %s\n", t->n,
		(double)mg_json_u64(&t->kids[0], "t_ms", 0) / 1000,
		(double)mg_json_u64(&t->kids[t->n - 1], "t_ms", 0) / 1000, mg_units_human(rlo, a, sizeof a),
		mg_units_human(rhi, b, sizeof b), mg_units_human(llo, c, sizeof c),
		mg_units_human(lhi, d, sizeof d));
}

static void text_proc(FILE *f, const struct mg_proc *p)
{
	const struct mg_json *r = p->r;
	char a[32], b[32], c[32], d[32];
	fprintf(f, "pid %d (%s), parent %d: %s\n", p->pid, p->exe, p->ppid, p->cmd);
	fprintf(f, "  %llu allocations, %llu deallocations, %s requested in all\n",
		(unsigned long long)mg_json_u64(r, "heap.allocations", 0),
		(unsigned long long)mg_json_u64(r, "heap.deallocations", 0),
		mg_units_human(mg_json_u64(r, "heap.allocated_bytes", 0), a, sizeof a));
	fprintf(f, "  live %llu objects, %s (usable %s); peak %llu objects, %s (usable %s)\n",
		(unsigned long long)mg_json_u64(r, "heap.live_objects", 0),
		mg_units_human(p->live, a, sizeof a),
		mg_units_human(mg_json_u64(r, "heap.live_usable_bytes", 0), b, sizeof b),
		(unsigned long long)mg_json_u64(r, "heap.peak_live_objects", 0),
		mg_units_human(p->peak_live, c, sizeof c),
		mg_units_human(mg_json_u64(r, "heap.peak_usable_bytes", 0), d, sizeof d));
	fprintf(f, "  RSS %s at exit, peak %s\n",
		mg_units_human(mg_json_u64(r, "heap.rss_bytes", 0), a, sizeof a),
		mg_units_human(p->peak_rss, b, sizeof b));
	uint64_t errors = mg_json_u64(r, "heap.errors", 0), foreign = mg_json_u64(r, "heap.foreign_frees", 0);
	if (errors || foreign)
		fprintf(f, "  %llu pointer errors, %llu frees of memory memgc did not hand out\n",
			(unsigned long long)errors, (unsigned long long)foreign);
	text_leaks(f, p);
	text_collector(f, r);
	const struct mg_json *top = mg_json_get(r, "top_sites");
	if (top && top->kind == MG_JSON_ARRAY && top->n) {
		fprintf(f, "  top %zu of %llu sites by live bytes:\n", top->n,
			(unsigned long long)mg_json_u64(r, "heap.sites", 0));
		for (size_t i = 0; i < top->n; i++) {
			const struct mg_json *s = &top->kids[i];
			fprintf(f, "  %s in %llu objects at\n",
				mg_units_human(mg_json_u64(s, "live_bytes", 0), a, sizeof a),
				(unsigned long long)mg_json_u64(s, "live_objects", 0));
			stack_lines(f, mg_json_get(s, "frames"), "      ");
		}
	}
	text_timeline(f, r);
}

static void text(FILE *f, const struct mg_procs *ps)
{
	if (ps->command) {
		fprintf(f, "run of");
		for (size_t i = 0; ps->command->kind == MG_JSON_ARRAY && i < ps->command->n; i++)
			fprintf(f, " %s", ps->command->kids[i].str ? ps->command->kids[i].str : "?");
		fprintf(f, ": exit status %d, %zu process%s\n", ps->status, ps->n,
			ps->n == 1 ? "" : "es");
	}
	if (ps->n > 1) {
		uint64_t live = 0, rss = 0, leaked = 0;
		bool checked = true;
		for (size_t i = 0; i < ps->n; i++) {
			live += ps->p[i].peak_live;
			rss += ps->p[i].peak_rss;
			leaked += ps->p[i].leaked;
			checked &= ps->p[i].leaks_checked;
		}
		char a[32], b[32], c[32];
		fprintf(f, "total over the processes: peak live %s, peak RSS %s (sums of each one's peak)",
			mg_units_human(live, a, sizeof a), mg_units_human(rss, b, sizeof b));
		if (checked)
			fprintf(f, ", leaked %s", mg_units_human(leaked, c, sizeof c));
		fprintf(f, "\n");
	}
	for (size_t i = 0; i < ps->n; i++) {
		if (ps->command || ps->n > 1)
			fprintf(f, "\n");
		text_proc(f, &ps->p[i]);
	}
}

/* A frame's name for a folded stack: no ';' (the separator), no blanks at
 * the end, no newline. */
static void folded_name(const struct mg_json *fr, char *buf, size_t n)
{
	mg_procs_frame(fr, true, buf, n);
	for (char *c = buf; *c; c++)
		if (*c == ';' || *c == '\n' || *c == '\r')
			*c = *c == ';' ? ':' : ' ';
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int folded(FILE *f, const struct mg_procs *ps, bool leaked, const char *path)
{
	char **lines = NULL;
	size_t n = 0;
	bool any_checked = false;
	for (size_t i = 0; i < ps->n; i++) {
		const struct mg_proc *p = &ps->p[i];
		any_checked |= p->leaks_checked;
		const struct mg_json *list = mg_json_get(p->r, leaked ? "leaks.groups" : "top_sites");
		for (size_t k = 0; list && list->kind == MG_JSON_ARRAY && k < list->n; k++) {
			const struct mg_json *g = &list->kids[k], *fr = mg_json_get(g, "frames");
			char *line = NULL;
			size_t len = 0;
			FILE *m = open_memstream(&line, &len);
			if (!m)
				return mg_cli_fail("report", MG_EXIT_SOFTWARE, "out of memory");
			fputs(p->name, m);
			if (!fr || fr->kind != MG_JSON_ARRAY || fr->n == 0)
				fputs(";[unknown site]", m);
			for (size_t j = fr && fr->kind == MG_JSON_ARRAY ? fr->n : 0; j-- > 0;) {
				char name[512];
				folded_name(&fr->kids[j], name, sizeof name);
				fprintf(m, ";%s", name);
			}
			fprintf(m, " %llu", (unsigned long long)mg_json_u64(g, leaked ? "bytes" : "live_bytes", 0));
			char **grown = fclose(m) ? NULL : realloc(lines, (n + 1) * sizeof *lines);
			if (!grown) {
				free(line);
				return mg_cli_fail("report", MG_EXIT_SOFTWARE, "out of memory");
			}
			lines = grown;
			lines[n++] = line;
		}
	}
	if (leaked && !any_checked) {
		free(lines);
		return mg_cli_fail("report", MG_EXIT_DATA,
				   "%s has no leak figures (leak_check=0, or a memgc without the collector)", path);
	}
	qsort(lines, n, sizeof *lines, cmp_line);
	/* sum the lines whose stacks are equal: they are next to each other now */
	for (size_t i = 0; i < n;) {
		char *sp = strrchr(lines[i], ' ');
		size_t k = (size_t)(sp - lines[i]);
		uint64_t sum = 0;
		size_t j = i;
		for (; j < n && !strncmp(lines[j], lines[i], k + 1); j++)
			sum += strtoull(strrchr(lines[j], ' ') + 1, NULL, 10);
		fprintf(f, "%.*s %llu\n", (int)k, lines[i], (unsigned long long)sum);
		i = j;
	}
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	return 0;
}

int mg_cli_report(int argc, char **argv)
{
	enum { TEXT = 0x100, FOLDED, LEAKED, SVG };
	static const struct option longs[] = {
		{ "text", no_argument, NULL, TEXT },
		{ "folded", no_argument, NULL, FOLDED },
		{ "leaked", no_argument, NULL, LEAKED },
		{ "svg", required_argument, NULL, SVG },
		{ NULL, 0, NULL, 0 },
	};
	bool want_text = false, want_folded = false, leaked = false;
	const char *svg = NULL, *path = NULL;
	int o, r;
	if (mg_cli_wants_help(argc, argv, usage))
		return MG_EXIT_OK;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":", longs, NULL)) != -1) {
		switch (o) {
		case TEXT: want_text = true; break;
		case FOLDED: want_folded = true; break;
		case LEAKED: leaked = true; break;
		case SVG: svg = optarg; break;
		default:
			return mg_cli_bad_flag("report", o, argv);
		}
	}
	if (optind != argc - 1)
		return mg_cli_fail("report", MG_EXIT_USAGE, optind >= argc
				   ? "no report file: memgc report FILE [--text | --folded [--leaked] | --svg OUT]"
				   : "one report file at a time: memgc report FILE [--text | --folded [--leaked] | --svg OUT]");
	if (want_text && want_folded)
		return mg_cli_fail("report", MG_EXIT_USAGE, "--text and --folded: choose one");
	if (leaked && !want_folded)
		return mg_cli_fail("report", MG_EXIT_USAGE, "--leaked goes with --folded");
	path = argv[optind];
	struct mg_procs ps;
	if ((r = mg_procs_load(&ps, path, "report")))
		return r;
	if (svg && (r = mg_svg_write_file(svg, &ps, path))) {
		mg_procs_free(&ps);
		return r;
	}
	if (want_folded)
		r = folded(stdout, &ps, leaked, path);
	else if (want_text || !svg)
		text(stdout, &ps);
	mg_procs_free(&ps);
	if (!r && (fflush(stdout) || ferror(stdout)))
		r = mg_cli_fail("report", MG_EXIT_CANTCREATE, "cannot write the output: %s", strerror(errno));
	return r;
}
