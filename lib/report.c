/* report.c: the exit report, as a text summary and as JSON.
 *
 * Both are made from one snapshot: the summed counters (stats.c) and the
 * live objects per site, counted by walking the object index, so keeping
 * per-site figures costs the allocation path nothing.  Output goes through
 * mg_out (no malloc); the per-site arrays come from mmap and are unmapped
 * after.  Safe to call while other threads run: their allocations in the
 * meantime make the figures approximate, never invalid.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "header.h"
#include "internal.h"

struct snapshot {
	struct memgc_heap_stats st;
	long count[3], threshold[3];
	uint32_t nsites;          /* ids 0 .. nsites-1 */
	uint64_t *objs, *bytes;   /* per site id */
	uint32_t top[64];
	int ntop;
	uint64_t live_pages;      /* pages that live objects' blocks touch */
	uintptr_t page_end;       /* end of the last such page (address order) */
};

static int count_object(void *user, void *arg)
{
	struct snapshot *s = arg;
	const struct mg_hdr *h = mg_hdr_of(user);
	uint32_t id = mg_hdr_site(h);
	if (id < s->nsites && !(mg_hdr_flags(h) & MG_FLAG_OWN)) {
		s->objs[id]++;
		s->bytes[id] += mg_hdr_size(h);
	}
	uintptr_t lo, hi, page = mg_os_page();
	mg_heap_block(user, &lo, &hi);
	lo &= ~(page - 1);
	hi = (hi + page - 1) & ~(page - 1);
	if (hi > s->page_end) {
		s->live_pages += (hi - (lo > s->page_end ? lo : s->page_end)) / page;
		s->page_end = hi;
	}
	return 0;
}

static void take(struct snapshot *s)
{
	memset(s, 0, sizeof *s);
	mg_stats_read(&s->st);
	mg_stats_counts(s->count);
	mg_stats_thresholds(s->threshold);
	s->nsites = mg_sites_count() + 2;
	s->objs = mg_os_map(s->nsites * sizeof *s->objs);
	s->bytes = mg_os_map(s->nsites * sizeof *s->bytes);
	if (!s->objs || !s->bytes)
		return;
	mg_stats_sync_index();
	mg_index_foreach(count_object, s);
	/* the top sites by live bytes, by insertion into a short sorted list */
	int want = mg_opt.report_top < 64 ? (int)mg_opt.report_top : 64;
	for (uint32_t id = 0; id < s->nsites; id++) {
		if (!s->objs[id] || want <= 0)
			continue;
		if (s->ntop == want && s->bytes[s->top[want - 1]] >= s->bytes[id])
			continue;
		int i = s->ntop < want ? s->ntop++ : want - 1;
		while (i > 0 && s->bytes[s->top[i - 1]] < s->bytes[id]) {
			s->top[i] = s->top[i - 1];
			i--;
		}
		s->top[i] = id;
	}
}

static void drop(struct snapshot *s)
{
	if (s->objs)
		mg_os_unmap(s->objs, s->nsites * sizeof *s->objs);
	if (s->bytes)
		mg_os_unmap(s->bytes, s->nsites * sizeof *s->bytes);
}

static void site_line(struct mg_out *o, const char *lead, uint32_t id)
{
	void *const *frames;
	int depth = mg_sites_frames(id, &frames);
	if (depth == 0) {
		mg_out_printf(o, "%s%s\n", lead, id == MG_SITE_OVERFLOW
			      ? "(sites beyond max_sites)" : "(unknown site: memgc start-up or a nested allocation)");
		return;
	}
	for (int i = 0; i < depth; i++) {
		char buf[1024];
		mg_sites_symbolize(frames[i], buf, sizeof buf);
		mg_out_printf(o, "%s%s%s\n", lead, i ? "  called from " : "", buf);
	}
}

static void text(struct mg_out *o, const struct snapshot *s)
{
	char a[32], b[32], c[32], d[32];
	char exe[512];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[n > 0 ? n : 0] = '\0';
	const struct memgc_heap_stats *st = &s->st;
	mg_out_printf(o, "memgc: pid %d (%s) at exit\n", (int)getpid(), exe);
	mg_out_printf(o, "memgc:   %llu allocations, %llu deallocations, %s requested in all\n",
		      (unsigned long long)st->allocations, (unsigned long long)st->deallocations,
		      mg_log_size(st->allocated_bytes, a, sizeof a));
	mg_out_printf(o, "memgc:   live %llu objects, %s (usable %s); peak %llu objects, %s (usable %s)\n",
		      (unsigned long long)st->live_objects, mg_log_size(st->live_bytes, a, sizeof a),
		      mg_log_size(st->live_usable_bytes, b, sizeof b),
		      (unsigned long long)st->peak_live_objects, mg_log_size(st->peak_live_bytes, c, sizeof c),
		      mg_log_size(st->peak_usable_bytes, d, sizeof d));
	mg_out_printf(o, "memgc:   RSS %s at exit, peak %s; gc counts %ld %ld %ld, thresholds %ld %ld %ld\n",
		      mg_log_size(st->rss_bytes, a, sizeof a), mg_log_size(st->peak_rss_bytes, b, sizeof b),
		      s->count[0], s->count[1], s->count[2],
		      s->threshold[0], s->threshold[1], s->threshold[2]);
	if (st->errors || st->foreign_frees)
		mg_out_printf(o, "memgc:   %llu pointer errors, %llu frees of memory memgc did not hand out\n",
			      (unsigned long long)st->errors, (unsigned long long)st->foreign_frees);
	if (s->ntop)
		mg_out_printf(o, "memgc:   top %d of %llu sites by live bytes:\n", s->ntop,
			      (unsigned long long)st->sites);
	for (int i = 0; i < s->ntop; i++) {
		uint32_t id = s->top[i];
		mg_out_printf(o, "memgc:   %s in %llu objects at\n", mg_log_size(s->bytes[id], a, sizeof a),
			      (unsigned long long)s->objs[id]);
		site_line(o, "memgc:       ", id);
	}
}

static const char *const kind_name[] = { "direct", "indirect", "cycle" };

static void text_collector(struct mg_out *o)
{
	struct memgc_gc_stats st[3];
	char a[32];
	mg_collect_stats(st);
	mg_out_printf(o, "memgc:   collections %llu %llu %llu (mode %s%s), unreachable found %llu, freed %llu, "
		      "longest pause %.3f ms\n",
		      (unsigned long long)st[0].collections, (unsigned long long)st[1].collections,
		      (unsigned long long)st[2].collections,
		      mg_opt.mode == MG_MODE_RECLAIM ? "reclaim" : "account",
		      mg_collect_enabled() ? "" : ", automatic off",
		      (unsigned long long)(st[0].collected + st[0].uncollectable + st[1].collected +
					   st[1].uncollectable + st[2].collected + st[2].uncollectable),
		      (unsigned long long)(st[0].collected + st[1].collected + st[2].collected),
		      (double)(st[0].max_pause_ns > st[1].max_pause_ns
			       ? (st[0].max_pause_ns > st[2].max_pause_ns ? st[0].max_pause_ns : st[2].max_pause_ns)
			       : (st[1].max_pause_ns > st[2].max_pause_ns ? st[1].max_pause_ns : st[2].max_pause_ns)) / 1e6);
	uint64_t watched[2], full[2];
	mg_young_counts(watched, full);
	mg_out_printf(o, "memgc:   write watch %s; young collections through it %llu, reading all "
		      "older memory %llu\n", mg_young_why(),
		      (unsigned long long)(watched[0] + watched[1]), (unsigned long long)(full[0] + full[1]));
	const struct mg_leaks *l = mg_collect_leaks();
	if (!l)
		return;
	if (!l->objects) {
		mg_out_printf(o, "memgc:   leak check: no leaks\n");
		return;
	}
	mg_out_printf(o, "memgc:   leak check: %s in %llu objects: direct %llu (%llu B), indirect %llu (%llu B), "
		      "%llu cycles of %llu objects (%llu B)\n", mg_log_size(l->bytes, a, sizeof a),
		      (unsigned long long)l->objects, (unsigned long long)l->direct_objects,
		      (unsigned long long)l->direct_bytes, (unsigned long long)l->indirect_objects,
		      (unsigned long long)l->indirect_bytes, (unsigned long long)l->cycles,
		      (unsigned long long)l->cycle_objects, (unsigned long long)l->cycle_bytes);
	size_t top = l->ngroups < (size_t)mg_opt.report_top ? l->ngroups : (size_t)mg_opt.report_top;
	for (size_t i = 0; i < top; i++) {
		const struct mg_leak_group *g = &l->groups[i];
		if (g->kind == MG_LEAK_CYCLE)
			mg_out_printf(o, "memgc:   cycle of %llu objects, %s, allocated at\n",
				      (unsigned long long)g->objects, mg_log_size(g->bytes, a, sizeof a));
		else
			mg_out_printf(o, "memgc:   %s leak of %s in %llu objects, allocated at\n",
				      kind_name[g->kind], mg_log_size(g->bytes, a, sizeof a),
				      (unsigned long long)g->objects);
		site_line(o, "memgc:       ", g->site);
	}
	if (top < l->ngroups)
		mg_out_printf(o, "memgc:   ... %zu more groups (report_top=%ld)\n", l->ngroups - top,
			      mg_opt.report_top);
}

void mg_report_text(int fd)
{
	struct snapshot s;
	struct mg_out o;
	take(&s);
	mg_out_init(&o, fd);
	text(&o, &s);
	text_collector(&o);
	mg_out_flush(&o);
	drop(&s);
}

static void json_frames(struct mg_out *o, uint32_t id)
{
	void *const *frames;
	int depth = mg_sites_frames(id, &frames);
	mg_out_printf(o, "[");
	for (int i = 0; i < depth; i++) {
		const char *fn, *mod;
		uintptr_t fo, mo;
		mg_sites_resolve(frames[i], &fn, &fo, &mod, &mo);
		mg_out_printf(o, "%s{\"ip\": \"%p\", \"function\": ", i ? ", " : "", frames[i]);
		mg_out_json_str(o, fn);
		mg_out_printf(o, ", \"function_offset\": %zu, \"module\": ", (size_t)fo);
		mg_out_json_str(o, mod);
		mg_out_printf(o, ", \"module_offset\": \"0x%zx\"}", (size_t)mo);
	}
	mg_out_printf(o, "]");
}

static void json_gen(struct mg_out *o, const struct memgc_gc_stats *g)
{
	mg_out_printf(o, "{\"collections\": %llu, \"collected\": %llu, \"uncollectable\": %llu, "
		      "\"collected_bytes\": %llu, \"uncollectable_bytes\": %llu, \"pause_ns\": %llu, "
		      "\"max_pause_ns\": %llu, \"total_ns\": %llu, \"scanned_bytes\": %llu}",
		      (unsigned long long)g->collections, (unsigned long long)g->collected,
		      (unsigned long long)g->uncollectable, (unsigned long long)g->collected_bytes,
		      (unsigned long long)g->uncollectable_bytes, (unsigned long long)g->pause_ns,
		      (unsigned long long)g->max_pause_ns, (unsigned long long)g->total_ns,
		      (unsigned long long)g->scanned_bytes);
}

void mg_report_collector_json(struct mg_out *o)
{
	struct memgc_gc_stats st[3];
	mg_collect_stats(st);
	mg_out_printf(o, "\"collector\": {\"mode\": \"%s\", \"enabled\": %s, \"generations\": [",
		      mg_opt.mode == MG_MODE_RECLAIM ? "reclaim" : "account",
		      mg_collect_enabled() ? "true" : "false");
	for (int i = 0; i < 3; i++) {
		mg_out_printf(o, "%s", i ? ", " : "");
		json_gen(o, &st[i]);
	}
	uint64_t watched[2], full[2], verified, differing;
	mg_young_counts(watched, full);
	mg_collect_verified(&verified, &differing);
	mg_out_printf(o, "], \"freeze_count\": %ld, \"garbage\": %ld, \"write_watch\": {\"state\": ",
		      mg_collect_freeze_count(), mg_collect_garbage_count());
	mg_out_json_str(o, mg_young_why());
	mg_out_printf(o, ", \"young_watched\": [%llu, %llu], \"young_full\": [%llu, %llu], "
		      "\"verified\": %llu, \"differing\": %llu}}",
		      (unsigned long long)watched[0], (unsigned long long)watched[1],
		      (unsigned long long)full[0], (unsigned long long)full[1],
		      (unsigned long long)verified, (unsigned long long)differing);
}

static void json_collector(struct mg_out *o)
{
	mg_out_printf(o, " ");
	mg_report_collector_json(o);
	mg_out_printf(o, ",\n");
	const struct mg_leaks *l = mg_collect_leaks();
	if (!l) {
		mg_out_printf(o, " \"leaks\": {\"checked\": false},\n");
		return;
	}
	mg_out_printf(o, " \"leaks\": {\"checked\": true, \"objects\": %llu, \"bytes\": %llu,\n"
		      "  \"direct\": {\"objects\": %llu, \"bytes\": %llu}, "
		      "\"indirect\": {\"objects\": %llu, \"bytes\": %llu},\n"
		      "  \"cycles\": {\"count\": %llu, \"objects\": %llu, \"bytes\": %llu},\n  \"groups\": [",
		      (unsigned long long)l->objects, (unsigned long long)l->bytes,
		      (unsigned long long)l->direct_objects, (unsigned long long)l->direct_bytes,
		      (unsigned long long)l->indirect_objects, (unsigned long long)l->indirect_bytes,
		      (unsigned long long)l->cycles, (unsigned long long)l->cycle_objects,
		      (unsigned long long)l->cycle_bytes);
	size_t top = l->ngroups < (size_t)mg_opt.report_top ? l->ngroups : (size_t)mg_opt.report_top;
	for (size_t i = 0; i < top; i++) {
		const struct mg_leak_group *g = &l->groups[i];
		mg_out_printf(o, "%s\n   {\"kind\": \"%s\", \"objects\": %llu, \"bytes\": %llu, ",
			      i ? "," : "", kind_name[g->kind], (unsigned long long)g->objects,
			      (unsigned long long)g->bytes);
		if (g->kind == MG_LEAK_CYCLE) {
			mg_out_printf(o, "\"length\": %llu, \"sites\": [", (unsigned long long)g->objects);
			for (uint32_t k = 0; k < g->nsites; k++)
				mg_out_printf(o, "%s%u", k ? ", " : "", g->sites[k]);
			mg_out_printf(o, "], ");
		}
		mg_out_printf(o, "\"site\": %u, \"frames\": ", g->site);
		json_frames(o, g->site);
		mg_out_printf(o, "}");
	}
	mg_out_printf(o, "]},\n");
}

void mg_report_heap_json(struct mg_out *o, const struct memgc_heap_stats *st, int64_t live_page_bytes,
			 const long count[3], const long threshold[3], const char *sep)
{
	mg_out_printf(o, "\"heap\": {\"allocations\": %llu, \"deallocations\": %llu, "
		      "\"live_objects\": %llu, \"live_bytes\": %llu, \"live_usable_bytes\": %llu, "
		      "\"peak_live_objects\": %llu, \"peak_live_bytes\": %llu, \"peak_usable_bytes\": %llu, "
		      "\"allocated_bytes\": %llu, \"foreign_frees\": %llu, \"errors\": %llu, "
		      "\"rss_bytes\": %llu, \"peak_rss_bytes\": %llu, \"sites\": %llu",
		      (unsigned long long)st->allocations, (unsigned long long)st->deallocations,
		      (unsigned long long)st->live_objects, (unsigned long long)st->live_bytes,
		      (unsigned long long)st->live_usable_bytes, (unsigned long long)st->peak_live_objects,
		      (unsigned long long)st->peak_live_bytes, (unsigned long long)st->peak_usable_bytes,
		      (unsigned long long)st->allocated_bytes, (unsigned long long)st->foreign_frees,
		      (unsigned long long)st->errors, (unsigned long long)st->rss_bytes,
		      (unsigned long long)st->peak_rss_bytes, (unsigned long long)st->sites);
	if (live_page_bytes >= 0)
		mg_out_printf(o, ", \"live_page_bytes\": %lld", (long long)live_page_bytes);
	mg_out_printf(o, "}%s", sep);
	mg_out_printf(o, "\"gc\": {\"count\": [%ld, %ld, %ld], \"threshold\": [%ld, %ld, %ld]}",
		      count[0], count[1], count[2], threshold[0], threshold[1], threshold[2]);
}

static void json(struct mg_out *o, const struct snapshot *s)
{
	const struct memgc_heap_stats *st = &s->st;
	char exe[1024], cmd[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[n > 0 ? n : 0] = '\0';
	ssize_t cl = mg_os_read_file("/proc/self/cmdline", cmd, sizeof cmd);
	mg_out_printf(o, "{\"memgc_report\": 1, \"version\": \"%s\", \"pid\": %d, \"ppid\": %d, \"exe\": ",
		      PACKAGE_VERSION, (int)getpid(), (int)getppid());
	mg_out_json_str(o, exe);
	mg_out_printf(o, ",\n \"argv\": [");
	for (ssize_t i = 0, k = 0; cl > 0 && i < cl; i += (ssize_t)strlen(cmd + i) + 1, k++) {
		mg_out_printf(o, "%s", k ? ", " : "");
		mg_out_json_str(o, cmd + i);
	}
	mg_out_printf(o, "],\n \"options\": ");
	mg_options_json(o);
	mg_out_printf(o, ",\n ");
	mg_report_heap_json(o, st, (int64_t)(s->live_pages * mg_os_page()), s->count, s->threshold,
			    ",\n ");
	mg_out_printf(o, ",\n");
	json_collector(o);
	mg_out_printf(o, " \"top_sites\": [");
	for (int i = 0; i < s->ntop; i++) {
		uint32_t id = s->top[i];
		mg_out_printf(o, "%s\n  {\"site\": %u, \"live_objects\": %llu, \"live_bytes\": %llu, \"frames\": ",
			      i ? "," : "", id, (unsigned long long)s->objs[id],
			      (unsigned long long)s->bytes[id]);
		json_frames(o, id);
		mg_out_printf(o, "}");
	}
	mg_out_printf(o, "]");
	mg_timeline_json(o);
	mg_out_printf(o, "}\n");
}

int mg_report_path(const char *pattern, char *out, size_t n)
{
	size_t len = 0;
	for (const char *p = pattern; *p; p++) {
		char num[24];
		const char *add = p;
		size_t k = 1;
		if (p[0] == '%' && p[1] == 'p') {
			k = (size_t)snprintf(num, sizeof num, "%d", (int)getpid());
			add = num;
			p++;
		}
		if (len + k >= n)
			return -1;
		memcpy(out + len, add, k);
		len += k;
	}
	out[len] = '\0';
	return 0;
}

static int open_out(const char *pattern)
{
	char path[4096];
	if (mg_report_path(pattern, path, sizeof path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

/* Report files are opened, written and closed on the collector thread
 * (mg_os_aside): a descriptor made on a program thread could take a number
 * another thread of the program has just closed and is about to fill
 * (design.md, "Descriptors").  The figures are taken here first: the
 * calling thread's own counts are only current on it. */
struct file_job {
	const char *pattern;
	struct snapshot *s;
	bool json;
};

static long write_file(void *arg)
{
	struct file_job *j = arg;
	int fd = open_out(j->pattern);
	if (fd < 0)
		return -1;
	struct mg_out o;
	mg_out_init(&o, fd);
	if (j->json) {
		json(&o, j->s);
	} else {
		text(&o, j->s);
		text_collector(&o);
	}
	int r = mg_out_flush(&o);
	if (close(fd) && !r)
		r = -1;
	return r;
}

static int report_file(const char *pattern, bool as_json)
{
	struct snapshot s;
	take(&s);
	struct file_job j = { pattern, &s, as_json };
	int r = (int)mg_os_aside(write_file, &j, true);
	int e = errno;
	drop(&s);
	errno = e;
	return r;
}

int mg_report_json_path(const char *pattern)
{
	return report_file(pattern, true);
}

/* What descriptor 2 was when memgc started.  A program that closes every
 * descriptor and opens its own files may have fd 2 on a data file by the
 * time it exits: the summary must not land in it. */
static dev_t stderr_dev;
static ino_t stderr_ino;
static bool stderr_known;

void mg_report_init(void)
{
	struct stat st;
	if (fstat(STDERR_FILENO, &st) == 0) {
		stderr_dev = st.st_dev;
		stderr_ino = st.st_ino;
		stderr_known = true;
	}
}

static bool stderr_unchanged(void)
{
	struct stat st;
	return stderr_known && fstat(STDERR_FILENO, &st) == 0 && st.st_dev == stderr_dev &&
	       st.st_ino == stderr_ino;
}

void mg_report_at_exit(void)
{
	int e = errno;
	if (!strcmp(mg_opt.summary, "stderr")) {
		if (stderr_unchanged())
			mg_report_text(STDERR_FILENO);
	} else if (strcmp(mg_opt.summary, "none") && mg_opt.summary[0] &&
		   report_file(mg_opt.summary, false)) {
		mg_log("cannot write the summary to %s: %s", mg_opt.summary, strerror(errno));
	}
	if (mg_opt.report[0] && mg_report_json_path(mg_opt.report))
		mg_log("cannot write the report to %s: %s", mg_opt.report, strerror(errno));
	errno = e;
}
