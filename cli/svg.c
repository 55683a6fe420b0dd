/* svg.c: the chart of `memgc report --svg`: RSS and live bytes over time.
 *
 * One panel per process whose report has a timeline of two samples or
 * more (option timeline=MS, `memgc run --timeline MS`), stacked in tree
 * order.  In each: time on x from 0 to the last sample, bytes on y from 0
 * to a round figure above the highest sample, the RSS and the live bytes
 * as two lines, and a vertical mark at each sample whose collection counts
 * grew since the one before (the collector's; orange when a generation-2
 * collection, which purges every arena, was among them), each with a
 * tooltip.  Plain SVG 1.1, no script, no external resource.
 */
#include "config.h"
#include <errno.h>
#include <math.h>
#include <string.h>

#include "cli.h"

#define WIDTH 960
#define PANEL 340        /* height of one panel */
#define LEFT 86
#define RIGHT 24
#define TOP 52
#define BOTTOM 40
#define RSS_COLOUR "#1f77b4"
#define LIVE_COLOUR "#d62728"
#define MARK_COLOUR "#9a9a9a"
#define FULL_COLOUR "#ff7f0e"

struct sample {
	double t, rss, live;
	uint64_t coll[3];
	bool has_coll;
};

/* A round step (1, 2 or 5 times a power of ten) for about n ticks. */
static double step_for(double range, int n)
{
	double raw = range / n, p = pow(10, floor(log10(raw))), m = raw / p;
	return p * (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10);
}

static void bytes_label(double b, char *buf, size_t n)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;
	while (b >= 1024 && u < 4) {
		b /= 1024;
		u++;
	}
	snprintf(buf, n, "%g %s", round(b * 100) / 100, unit[u]);
}

/* Reads the timeline of r into s (at most cap samples); the count. */
static size_t samples(const struct mg_json *r, struct sample *s, size_t cap)
{
	const struct mg_json *t = mg_json_get(r, "timeline");
	size_t n = 0;
	for (size_t i = 0; t && t->kind == MG_JSON_ARRAY && i < t->n && n < cap; i++) {
		const struct mg_json *x = &t->kids[i], *c = mg_json_get(x, "collections");
		s[n].t = (double)mg_json_u64(x, "t_ms", 0);
		s[n].rss = (double)mg_json_u64(x, "rss_bytes", 0);
		s[n].live = (double)mg_json_u64(x, "live_bytes", 0);
		s[n].has_coll = c && c->kind == MG_JSON_ARRAY && c->n == 3;
		for (int g = 0; g < 3; g++)
			s[n].coll[g] = s[n].has_coll && c->kids[g].exact ? c->kids[g].u : 0;
		n++;
	}
	return n;
}

static void polyline(FILE *f, const struct sample *s, size_t n, bool rss, double x0, double y0,
		     double xs, double ys, const char *colour)
{
	fprintf(f, "  <polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-linejoin=\"round\" points=\"",
		colour);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%.1f,%.1f", i ? " " : "", x0 + s[i].t * xs,
			y0 - (rss ? s[i].rss : s[i].live) * ys);
	fprintf(f, "\"/>\n");
}

static void panel(FILE *f, const struct mg_proc *p, const struct sample *s, size_t n, double top)
{
	double tmax = s[n - 1].t > 0 ? s[n - 1].t : 1, ymax = 1;
	for (size_t i = 0; i < n; i++) {
		ymax = s[i].rss > ymax ? s[i].rss : ymax;
		ymax = s[i].live > ymax ? s[i].live : ymax;
	}
	/* y ticks in the binary unit of the largest value */
	double unit = 1;
	while (ymax / unit >= 1024 && unit < 1099511627776.0)
		unit *= 1024;
	double ystep = step_for(ymax / unit, 5) * unit;
	ymax = ceil(ymax / ystep) * ystep;
	double tstep = step_for(tmax, 8);
	double x0 = LEFT, y0 = top + PANEL - BOTTOM;
	double xs = (WIDTH - LEFT - RIGHT) / tmax, ys = (PANEL - TOP - BOTTOM) / ymax;
	char a[32], b[32];

	char title[320];   /* pid, parent and cmd (255) fit; cut to 100 below */
	if (p->depth)
		snprintf(title, sizeof title, "pid %d, child of %d: %s", p->pid, p->ppid, p->cmd);
	else
		snprintf(title, sizeof title, "pid %d: %s", p->pid, p->cmd);
	if (strlen(title) > 100) {
		size_t k = 97;
		while (k > 0 && (title[k] & 0xc0) == 0x80)   /* not inside a UTF-8 character */
			k--;
		strcpy(title + k, "...");
	}
	fprintf(f, "<g>\n  <text x=\"%d\" y=\"%.0f\" font-size=\"15\" font-weight=\"bold\">",
		LEFT, top + 20);
	mg_json_write_xml(f, title);
	mg_units_human(p->peak_rss, a, sizeof a);
	mg_units_human(p->peak_live, b, sizeof b);
	fprintf(f, "</text>\n  <text x=\"%d\" y=\"%.0f\" font-size=\"12\" fill=\"#444\">peak RSS %s, peak live %s, %zu samples</text>\n",
		LEFT, top + 38, a, b, n);
	for (double y = 0; y <= ymax + ystep / 2; y += ystep) {
		char lab[32];
		bytes_label(y, lab, sizeof lab);
		fprintf(f, "  <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n"
			   "  <text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%s</text>\n",
			x0, y0 - y * ys, WIDTH - RIGHT, y0 - y * ys, x0 - 6, y0 - y * ys + 4, lab);
	}
	for (double t = 0; t <= tmax + tstep / 100; t += tstep) {
		char lab[32];
		if (tstep >= 1000)
			snprintf(lab, sizeof lab, "%g s", t / 1000);
		else
			snprintf(lab, sizeof lab, "%g ms", t);
		fprintf(f, "  <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>\n"
			   "  <text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">%s</text>\n",
			x0 + t * xs, y0, x0 + t * xs, y0 + 5, x0 + t * xs, y0 + 18, lab);
	}
	fprintf(f, "  <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#888\"/>\n"
		   "  <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>\n",
		x0, y0, WIDTH - RIGHT, y0, x0, y0, x0, y0 - ymax * ys);
	for (size_t i = 1; i < n; i++) {
		if (!s[i].has_coll || !s[i - 1].has_coll)
			continue;
		uint64_t grew = 0;
		for (int g = 0; g < 3; g++)
			grew += s[i].coll[g] > s[i - 1].coll[g] ? s[i].coll[g] - s[i - 1].coll[g] : 0;
		if (!grew)
			continue;
		bool full = s[i].coll[2] > s[i - 1].coll[2];
		double x = x0 + s[i].t * xs;
		fprintf(f, "  <line class=\"collection\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"%s\" stroke-dasharray=\"4 3\"><title>%llu collection%s by %.3f s%s</title></line>\n",
			x, y0, x, y0 - ymax * ys, full ? FULL_COLOUR : MARK_COLOUR, full ? "1.5" : "1",
			(unsigned long long)grew, grew == 1 ? "" : "s", s[i].t / 1000,
			full ? ", generation 2 among them" : "");
	}
	polyline(f, s, n, true, x0, y0, xs, ys, RSS_COLOUR);
	polyline(f, s, n, false, x0, y0, xs, ys, LIVE_COLOUR);
	/* the legend, top right */
	static const struct { const char *colour, *label; } legend[] = {
		{ RSS_COLOUR, "RSS" }, { LIVE_COLOUR, "live bytes" },
		{ MARK_COLOUR, "collection" }, { FULL_COLOUR, "full collection" },
	};
	double lx = WIDTH - RIGHT - 4 * 110;
	for (int k = 0; k < 4; k++)
		fprintf(f, "  <rect x=\"%.0f\" y=\"%.0f\" width=\"14\" height=\"4\" fill=\"%s\"/>"
			   "<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\">%s</text>\n",
			lx + k * 110, top + 33, legend[k].colour, lx + k * 110 + 18, top + 38, legend[k].label);
	fprintf(f, "</g>\n");
}

int mg_svg_write_file(const char *out, const struct mg_procs *ps, const char *src)
{
	enum { CAP = 1 << 16 };
	static struct sample s[CAP];
	size_t panels = 0;
	for (size_t i = 0; i < ps->n; i++)
		panels += samples(ps->p[i].r, s, CAP) >= 2;
	if (!panels)
		return mg_cli_fail("report", MG_EXIT_DATA,
				   "%s has no timeline to chart: run with memgc run --timeline MS (or -o timeline=MS)",
				   src);
	FILE *f = fopen(out, "we");
	if (!f)
		return mg_cli_fail("report", MG_EXIT_CANTCREATE, "cannot write %s: %s", out, strerror(errno));
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%zu\" "
		   "viewBox=\"0 0 %d %zu\" font-family=\"sans-serif\">\n"
		   "<title>memgc: RSS and live bytes over time</title>\n"
		   "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
		WIDTH, panels * PANEL, WIDTH, panels * PANEL);
	size_t k = 0;
	for (size_t i = 0; i < ps->n; i++) {
		size_t n = samples(ps->p[i].r, s, CAP);
		if (n >= 2)
			panel(f, &ps->p[i], s, n, (double)(k++ * PANEL));
	}
	fprintf(f, "</svg>\n");
	if (fclose(f))
		return mg_cli_fail("report", MG_EXIT_CANTCREATE, "cannot write %s: %s", out, strerror(errno));
	return 0;
}
