/* procs.c: the processes of a run, read from their JSON reports.
 *
 * Every process under the preload writes its own report (libmemgc(3));
 * `memgc run` and `memgc check` point them all into one directory and
 * gather them here, and save them together as one run document:
 *
 *   {"memgc_run": 1, "version": ..., "command": [...], "status": N,
 *    "processes": [REPORT, REPORT, ...], ...}
 *
 * where each REPORT is a process's report exactly as it wrote it.  Any
 * verb that reads a file takes a single report or a run document alike.
 * Invariants of a loaded struct mg_procs: every p[i].r points into docs,
 * which live as long as it; p is in tree order (a root, then its
 * descendants depth first, children by pid), the run's first process first;
 * each p[i] was checked to be a report of format 1 with its heap figures.
 */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

#define FORMAT 1   /* the memgc_report and memgc_run formats read here */

/* The whole file, NUL-terminated; NULL with errno set. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		n += fread(buf + n, 1, cap - n - 1, f);
		if (ferror(f) || feof(f))
			break;
		char *b = realloc(buf, cap * 2);
		if (!b) {
			free(buf);
			buf = NULL;
			errno = ENOMEM;
			break;
		}
		buf = b;
		cap *= 2;
	}
	if (buf && ferror(f)) {
		int e = errno;
		free(buf);
		buf = NULL;
		errno = e ? e : EIO;
	}
	fclose(f);
	if (buf) {
		buf[n] = '\0';
		*len = n;
	}
	return buf;
}

/* Why r is not a report of the format read here, or NULL when it is. */
static const char *not_a_report(const struct mg_json *r, char *why, size_t n)
{
	const struct mg_json *f = mg_json_get(r, "memgc_report");
	if (!f)
		return "it has no \"memgc_report\" member";
	if (f->kind != MG_JSON_NUMBER) {
		snprintf(why, n, "its \"memgc_report\" is not a number");
		return why;
	}
	if (!f->exact || f->u != FORMAT) {
		snprintf(why, n, "it is of format %g, and this memgc reads format %d", f->num, FORMAT);
		return why;
	}
	static const char *const need[] = { "pid", "ppid", "heap.peak_live_bytes",
					    "heap.peak_rss_bytes", "heap.live_bytes" };
	for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
		const struct mg_json *v = mg_json_get(r, need[i]);
		if (!v || v->kind != MG_JSON_NUMBER || !v->exact) {
			snprintf(why, n, "it has no number \"%s\"", need[i]);
			return why;
		}
	}
	return NULL;
}

static int add_proc(struct mg_procs *ps, const struct mg_json *r, size_t doc)
{
	struct mg_proc *p = realloc(ps->p, (ps->n + 1) * sizeof *p);
	if (!p)
		return -1;
	ps->p = p;
	p = &ps->p[ps->n++];
	memset(p, 0, sizeof *p);
	p->r = r;
	p->doc = doc;
	p->pid = (int)mg_json_u64(r, "pid", 0);
	p->ppid = (int)mg_json_u64(r, "ppid", 0);
	p->exe = mg_json_str(r, "exe", "?");
	const struct mg_json *argv = mg_json_get(r, "argv");
	const char *base = strrchr(p->exe, '/');
	snprintf(p->name, sizeof p->name, "%s", base ? base + 1 : p->exe);
	size_t len = 0;
	for (size_t i = 0; argv && argv->kind == MG_JSON_ARRAY && i < argv->n; i++)
		if (argv->kids[i].kind == MG_JSON_STRING && len < sizeof p->cmd)
			len += (size_t)snprintf(p->cmd + len, sizeof p->cmd - len, "%s%s",
						i ? " " : "", argv->kids[i].str);
	if (!len)
		snprintf(p->cmd, sizeof p->cmd, "%s", p->exe);
	p->peak_live = mg_json_u64(r, "heap.peak_live_bytes", 0);
	p->peak_rss = mg_json_u64(r, "heap.peak_rss_bytes", 0);
	p->live = mg_json_u64(r, "heap.live_bytes", 0);
	const struct mg_json *checked = mg_json_get(r, "leaks.checked");
	p->leaks_checked = checked && checked->kind == MG_JSON_BOOL && checked->b &&
			   mg_json_get(r, "leaks.bytes");
	p->leaked = mg_json_u64(r, "leaks.bytes", 0);
	p->leaked_objects = mg_json_u64(r, "leaks.objects", 0);
	return 0;
}

/* Takes text (malloc'd) of path into ps: 0, or MG_EXIT_DATA with why. */
static int add_doc(struct mg_procs *ps, char *text, size_t len, char *why, size_t n)
{
	char err[256];
	struct mg_json *doc = mg_json_parse(text, len, err, sizeof err);
	if (!doc) {
		snprintf(why, n, "not a memgc report: %s", err);
		free(text);
		return MG_EXIT_DATA;
	}
	struct mg_json **d = realloc(ps->docs, (ps->ndocs + 1) * sizeof *d);
	char **t = d ? realloc(ps->texts, (ps->ndocs + 1) * sizeof *t) : NULL;
	if (d)
		ps->docs = d;
	if (!t) {
		mg_json_free(doc);
		free(text);
		snprintf(why, n, "out of memory");
		return MG_EXIT_SOFTWARE;
	}
	ps->texts = t;
	ps->docs[ps->ndocs] = doc;
	ps->texts[ps->ndocs++] = text;

	char buf[256];
	const char *bad;
	if (mg_json_get(doc, "memgc_run")) {
		const struct mg_json *procs = mg_json_get(doc, "processes");
		if (mg_json_u64(doc, "memgc_run", 0) != FORMAT || !procs ||
		    procs->kind != MG_JSON_ARRAY) {
			snprintf(why, n, "not a memgc run of format %d (no \"processes\" array)",
				 FORMAT);
			return MG_EXIT_DATA;
		}
		for (size_t i = 0; i < procs->n; i++) {
			if ((bad = not_a_report(&procs->kids[i], buf, sizeof buf))) {
				snprintf(why, n, "process %zu of the run is not a memgc report: %s",
					 i + 1, bad);
				return MG_EXIT_DATA;
			}
			if (add_proc(ps, &procs->kids[i], ps->ndocs - 1))
				return MG_EXIT_SOFTWARE;
		}
		ps->command = mg_json_get(doc, "command");
		const struct mg_json *st = mg_json_get(doc, "status");
		ps->status = st && st->exact ? (int)st->u : -1;
		return 0;
	}
	if ((bad = not_a_report(doc, buf, sizeof buf))) {
		snprintf(why, n, "not a memgc report: %s", bad);
		return MG_EXIT_DATA;
	}
	return add_proc(ps, doc, ps->ndocs - 1) ? MG_EXIT_SOFTWARE : 0;
}

static int by_pid(const void *a, const void *b)
{
	const struct mg_proc *x = a, *y = b;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Appends p[i] and its descendants (children by pid) to out. */
static void visit(const struct mg_procs *ps, size_t i, int depth, struct mg_proc *out,
		  size_t *k, bool *done)
{
	done[i] = true;
	out[*k] = ps->p[i];
	out[(*k)++].depth = depth;
	for (size_t c = 0; c < ps->n; c++)
		if (!done[c] && ps->p[c].ppid == ps->p[i].pid)
			visit(ps, c, depth + 1, out, k, done);
}

/* Puts ps->p in tree order, the process top (when present) first. */
static void order(struct mg_procs *ps, int top)
{
	if (ps->n < 2)
		return;
	qsort(ps->p, ps->n, sizeof *ps->p, by_pid);
	struct mg_proc *out = calloc(ps->n, sizeof *out);
	bool *done = calloc(ps->n, sizeof *done);
	if (!out || !done) {
		free(out);
		free(done);
		return;   /* the pid order will do */
	}
	size_t k = 0;
	for (size_t i = 0; i < ps->n; i++)
		if (ps->p[i].pid == top)
			visit(ps, i, 0, out, &k, done);
	for (size_t i = 0; i < ps->n; i++) {
		bool root = true;
		for (size_t j = 0; j < ps->n && root; j++)
			root = ps->p[j].pid != ps->p[i].ppid || j == i;
		if (!done[i] && root)
			visit(ps, i, 0, out, &k, done);
	}
	for (size_t i = 0; i < ps->n; i++)   /* cycles of reused pids */
		if (!done[i])
			visit(ps, i, 0, out, &k, done);
	free(ps->p);
	ps->p = out;
	free(done);
}

int mg_procs_load(struct mg_procs *ps, const char *path, const char *verb)
{
	memset(ps, 0, sizeof *ps);
	ps->status = -1;
	size_t len;
	char *text = slurp(path, &len);
	if (!text)
		return mg_cli_fail(verb, MG_EXIT_NOINPUT, "cannot read %s: %s", path, strerror(errno));
	char why[512];
	int r = add_doc(ps, text, len, why, sizeof why);
	if (r)
		return mg_cli_fail(verb, r, "%s: %s", path, why);
	if (ps->n == 0)
		return mg_cli_fail(verb, MG_EXIT_DATA, "%s: a memgc run with no process report in it",
				   path);
	ps->top = ps->p[0].pid;
	order(ps, ps->top);
	return 0;
}

static bool is_report_name(const char *name)
{
	size_t k = strlen(name);
	return !strncmp(name, "memgc-", 6) && k > 11 && !strcmp(name + k - 5, ".json");
}

int mg_procs_gather(struct mg_procs *ps, const char *dir, int top, const char *verb)
{
	memset(ps, 0, sizeof *ps);
	ps->status = -1;
	DIR *d = opendir(dir);
	if (!d)
		return mg_cli_fail(verb, MG_EXIT_SOFTWARE, "cannot read the reports in %s: %s", dir,
				   strerror(errno));
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!is_report_name(e->d_name))
			continue;
		char path[4096], why[512];
		size_t len;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		char *text = slurp(path, &len);
		int r = text ? add_doc(ps, text, len, why, sizeof why) : MG_EXIT_NOINPUT;
		if (!text)
			snprintf(why, sizeof why, "%s", strerror(errno));
		if (r == MG_EXIT_SOFTWARE) {
			closedir(d);
			return mg_cli_fail(verb, r, "%s: %s", path, why);
		}
		if (r)
			mg_cli_fail(verb, 0, "left out the report %s (its process was killed while writing it?): %s",
				    e->d_name, why);
	}
	closedir(d);
	ps->top = top;
	order(ps, top);
	return 0;
}

void mg_procs_free(struct mg_procs *ps)
{
	for (size_t i = 0; i < ps->ndocs; i++) {
		mg_json_free(ps->docs[i]);
		free(ps->texts[i]);
	}
	free(ps->docs);
	free(ps->texts);
	free(ps->p);
	memset(ps, 0, sizeof *ps);
}

void mg_procs_write(FILE *f, const struct mg_procs *ps, char *const *command, int status,
		    const char *extra)
{
	fprintf(f, "{\"memgc_run\": %d, \"version\": \"%s\", \"command\": [", FORMAT,
		PACKAGE_VERSION);
	for (int i = 0; command && command[i]; i++) {
		fputs(i ? ", " : "", f);
		mg_json_write_str(f, command[i]);
	}
	fprintf(f, "], \"status\": %d,\n \"processes\": [", status);
	for (size_t i = 0; i < ps->n; i++) {
		fputs(i ? ",\n" : "\n", f);
		const struct mg_proc *p = &ps->p[i];
		fwrite(ps->texts[p->doc] + p->r->off, 1, p->r->len, f);
	}
	fprintf(f, "]%s%s}\n", extra && *extra ? ",\n " : "", extra ? extra : "");
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

void mg_procs_frame(const struct mg_json *fr, bool brief, char *buf, size_t n)
{
	const char *fn = mg_json_str(fr, "function", "");
	const char *mod = mg_json_str(fr, "module", "?");
	const char *moff = mg_json_str(fr, "module_offset", "0x0");
	uint64_t foff = mg_json_u64(fr, "function_offset", 0);
	if (brief && fn[0])
		snprintf(buf, n, "%s", fn);
	else if (brief)
		snprintf(buf, n, "%s+%s", base_name(mod), moff);
	else if (fn[0])
		snprintf(buf, n, "%s+0x%llx (%s+%s)", fn, (unsigned long long)foff, mod, moff);
	else
		snprintf(buf, n, "%s+%s", mod, moff);
}

void mg_procs_stack(const struct mg_json *frames, int max, char *buf, size_t n)
{
	size_t len = 0;
	buf[0] = '\0';
	if (!frames || frames->kind != MG_JSON_ARRAY || frames->n == 0) {
		snprintf(buf, n, "(unknown site)");
		return;
	}
	for (size_t i = 0; i < frames->n && (int)i < max && len < n; i++) {
		char one[256];
		mg_procs_frame(&frames->kids[i], true, one, sizeof one);
		len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? " < " : "", one);
	}
}
