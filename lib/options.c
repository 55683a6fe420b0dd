/* options.c: every memgc option, in one table.
 *
 * MEMGC_OPTIONS="key=value:key=value" is parsed against the table below;
 * the same table prints `MEMGC_OPTIONS=help=1`, writes the "options" object
 * of the JSON report, and is checked against man/memgc.7 by a test.  A bad
 * key or value gets one line naming it and what is accepted, and that
 * option keeps its default: the program runs on.  Nothing here allocates
 * (options are read inside the first malloc).
 */
#include "config.h"
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

struct mg_options mg_opt;

enum opt_type { OPT_BOOL, OPT_LONG, OPT_SIZE, OPT_ENUM, OPT_STRING };

struct opt {
	const char *name;
	enum opt_type type;
	size_t offset;          /* into struct mg_options */
	const char *def;        /* default, as it would be written */
	long long min, max;     /* OPT_LONG and OPT_SIZE */
	const char *const *choices;  /* OPT_ENUM, NULL-terminated */
	const char *help;
};

static const char *const on_error_choices[] = { "abort", "warn", NULL };
static const char *const mode_choices[] = { "account", "reclaim", NULL };
static const char *const watch_choices[] = { "auto", "off", "verify", NULL };

#define OFF(f) offsetof(struct mg_options, f)
static const struct opt table[] = {
	{ "help", OPT_BOOL, OFF(help), "0", 0, 1, NULL,
	  "print this table on stderr at start-up" },
	{ "summary", OPT_STRING, OFF(summary), "none", 0, 0, NULL,
	  "text summary at exit: none, stderr, or a file path (%p is the pid)" },
	{ "report", OPT_STRING, OFF(report), "", 0, 0, NULL,
	  "JSON report at exit to this path (%p is the pid); empty for none" },
	{ "report_top", OPT_LONG, OFF(report_top), "10", 0, 64, NULL,
	  "allocation sites listed in the reports, by live bytes" },
	{ "timeline", OPT_LONG, OFF(timeline), "0", 0, 60000, NULL,
	  "sample RSS, live bytes and collections every this many ms into the report; 0 for none" },
	{ "stack_depth", OPT_LONG, OFF(stack_depth), "1", 1, MG_MAX_DEPTH, NULL,
	  "frames kept per allocation site; 1 is the caller only (no unwinding)" },
	{ "max_sites", OPT_LONG, OFF(max_sites), "262144", 16, 16777216, NULL,
	  "distinct allocation sites kept; later ones are counted as one" },
	{ "on_error", OPT_ENUM, OFF(on_error), "abort", 0, 0, on_error_choices,
	  "on a double free, invalid free or corrupted header: abort or warn" },
	{ "threshold0", OPT_LONG, OFF(threshold[0]), "1000000", 0, LONG_MAX, NULL,
	  "generation-0 threshold (allocations minus deallocations)" },
	{ "threshold1", OPT_LONG, OFF(threshold[1]), "10", 0, LONG_MAX, NULL,
	  "generation-1 threshold (generation-0 collections)" },
	{ "threshold2", OPT_LONG, OFF(threshold[2]), "10", 0, LONG_MAX, NULL,
	  "generation-2 threshold (generation-1 collections)" },
	{ "large_release", OPT_SIZE, OFF(large_release), "1M", 4096, 1LL << 40, NULL,
	  "objects at least this large come from an arena that returns pages at once" },
	{ "heap_reserve", OPT_SIZE, OFF(heap_reserve), "1T", 1LL << 30, 1LL << 45, NULL,
	  "address space reserved for program objects (halved until it fits)" },
	{ "arenas", OPT_LONG, OFF(arenas), "0", 0, 64, NULL,
	  "object arenas in use at once; 0 is one per CPU, at most 8" },
	{ "arena_span", OPT_SIZE, OFF(arena_span), "16M", 0, 1LL << 40, NULL,
	  "region bytes an object arena takes before a fresh one replaces it; 0: never" },
	{ "stop_signal", OPT_LONG, OFF(stop_signal), "39", 34, 64, NULL,
	  "real-time signal that stops the threads for a scan; 39 is SIGRTMIN+5" },
	{ "mode", OPT_ENUM, OFF(mode), "account", 0, 0, mode_choices,
	  "what collections do with unreachable objects: account (report) or reclaim (free)" },
	{ "gc", OPT_BOOL, OFF(gc), "1", 0, 1, NULL,
	  "automatic collections on a memgc thread when count[0] passes threshold0" },
	{ "gc_debug", OPT_LONG, OFF(gc_debug), "0", 0, 63, NULL,
	  "MEMGC_DEBUG_* flags at start: 1 stats, 2 collectable, 4 uncollectable, 32 saveall" },
	{ "interior", OPT_BOOL, OFF(interior), "1", 0, 1, NULL,
	  "pointers into the middle of an object keep it reachable" },
	{ "leak_check", OPT_BOOL, OFF(leak_check), "1", 0, 1, NULL,
	  "a full collection at exit, its unreachable objects reported as leaks" },
	{ "exitcode", OPT_LONG, OFF(exitcode), "0", 0, 255, NULL,
	  "exit status when the exit leak check finds leaks; 0 leaves it alone" },
	{ "mark_stack", OPT_LONG, OFF(mark_stack), "134217728", 16, 1L << 30, NULL,
	  "most mark stack entries (it grows to them as needed); past them marking rescans (slower, never wrong)" },
	{ "watch", OPT_ENUM, OFF(watch), "auto", 0, 0, watch_choices,
	  "kernel write watch for young collections: auto (where the kernel allows), off, or verify (auto, each young collection also made the full way and compared)" },
	{ "control", OPT_BOOL, OFF(control), "0", 0, 1, NULL,
	  "serve the control socket (memgc stats/collect PID); memgc run sets it" },
	{ "control_dir", OPT_STRING, OFF(control_dir), "", 0, 0, NULL,
	  "directory of the control sockets; empty is $XDG_RUNTIME_DIR/memgc, else /tmp/memgc-UID" },
	{ "collect_signal", OPT_LONG, OFF(collect_signal), "0", 0, 64, NULL,
	  "signal that makes memgc collect and trim, as memgc collect PID does; 0 is none" },
};
#define NOPTS (sizeof table / sizeof table[0])

int mg_options_size(const char *s, uint64_t *out)
{
	if (!s || *s < '0' || *s > '9')   /* strtoull would take blanks and a sign */
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	unsigned shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: break;
	}
	if (shift && *end == 'i')        /* "Mi", "MB", "MiB" read as binary */
		end++;
	if (*end == 'B')                 /* and "B" alone as bytes */
		end++;
	if (*end || (shift && v > (ULLONG_MAX >> shift)))
		return -1;
	*out = v << shift;
	return 0;
}

static void describe(const struct opt *o, char *buf, size_t n)
{
	switch (o->type) {
	case OPT_BOOL: snprintf(buf, n, "0 or 1"); break;
	case OPT_LONG: snprintf(buf, n, "an integer from %lld to %lld", o->min, o->max); break;
	case OPT_SIZE: snprintf(buf, n, "a size from %lld to %lld bytes, K/M/G/T suffixes binary", o->min, o->max); break;
	case OPT_STRING: snprintf(buf, n, "a string of at most 255 bytes"); break;
	case OPT_ENUM: {
		size_t len = 0;
		buf[0] = '\0';
		for (const char *const *c = o->choices; *c && len < n; c++)
			len += (size_t)snprintf(buf + len, n - len, "%s%s",
						c == o->choices ? "" : c[1] ? ", " : " or ", *c);
		break;
	}
	}
}

/* Sets option o from v (v is len bytes, not terminated); 0 or -1. */
static int set(const struct opt *o, const char *v, size_t len)
{
	char tmp[256];
	if (len >= sizeof tmp)
		return -1;
	memcpy(tmp, v, len);
	tmp[len] = '\0';
	char *field = (char *)&mg_opt + o->offset;
	switch (o->type) {
	case OPT_BOOL:
		if (!strcmp(tmp, "1") || !strcmp(tmp, "true") || !strcmp(tmp, "yes"))
			*(bool *)field = true;
		else if (!strcmp(tmp, "0") || !strcmp(tmp, "false") || !strcmp(tmp, "no"))
			*(bool *)field = false;
		else
			return -1;
		return 0;
	case OPT_LONG: {
		char *end;
		errno = 0;
		long long x = strtoll(tmp, &end, 10);
		if (errno || end == tmp || *end || x < o->min || x > o->max)
			return -1;
		if (o->offset == OFF(stack_depth))
			*(int *)field = (int)x;
		else
			*(long *)field = (long)x;
		return 0;
	}
	case OPT_SIZE: {
		uint64_t x;
		if (mg_options_size(tmp, &x) || x < (uint64_t)o->min || x > (uint64_t)o->max)
			return -1;
		*(uint64_t *)field = x;
		return 0;
	}
	case OPT_ENUM:
		for (int i = 0; o->choices[i]; i++)
			if (!strcmp(tmp, o->choices[i])) {
				*(int *)field = i;
				return 0;
			}
		return -1;
	case OPT_STRING:
		memcpy(field, tmp, len + 1);
		return 0;
	}
	return -1;
}

void mg_options_defaults(void)
{
	memset(&mg_opt, 0, sizeof mg_opt);
	for (size_t i = 0; i < NOPTS; i++)
		set(&table[i], table[i].def, strlen(table[i].def));
}

/* The len bytes at s for a message: bytes outside printable ASCII as \xNN,
 * cut to fit n, so that a newline or an escape sequence in MEMGC_OPTIONS
 * can neither split the one line of a bad entry nor forge another. */
static const char *shown(const char *s, size_t len, char *buf, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < len && k + 5 < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f)
			buf[k++] = (char)c;
		else
			k += (size_t)snprintf(buf + k, n - k, "\\x%02x", c);
	}
	buf[k] = '\0';
	return buf;
}

static const struct opt *lookup(const char *k, size_t len)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (strlen(table[i].name) == len && !memcmp(table[i].name, k, len))
			return &table[i];
	return NULL;
}

/* Sets the one entry s[0..len) (not empty) when apply, or only checks it.
 * 0, or -1 with why (no "MEMGC_OPTIONS: " in front) and *bad the option
 * whose value was bad (NULL for a bad key or a missing '='). */
static int entry(const char *s, size_t len, bool apply, char *why, size_t n,
		 const struct opt **bad)
{
	char text[512];
	const char *eq = memchr(s, '=', len);
	*bad = NULL;
	if (!eq) {
		snprintf(why, n, "'%s' has no '=': write key=value, entries separated by ':'",
			 shown(s, len, text, sizeof text));
		return -1;
	}
	const struct opt *o = lookup(s, (size_t)(eq - s));
	const char *v = eq + 1;
	size_t vlen = len - (size_t)(v - s);
	if (!o) {
		char names[768];
		size_t k = 0;
		for (size_t i = 0; i < NOPTS && k < sizeof names; i++)
			k += (size_t)snprintf(names + k, sizeof names - k, "%s%s", i ? " " : "",
					      table[i].name);
		snprintf(why, n, "unknown option '%s'; known: %s",
			 shown(s, (size_t)(eq - s), text, sizeof text), names);
		return -1;
	}
	struct mg_options keep = mg_opt;
	int r = set(o, v, vlen);
	if (!apply)
		mg_opt = keep;
	else if (r)   /* a bad value sets the default back, as the message says */
		set(o, o->def, strlen(o->def));
	if (r) {
		char what[256];
		describe(o, what, sizeof what);
		snprintf(why, n, "bad value '%s' for %s: expected %s",
			 shown(v, vlen, text, sizeof text), o->name, what);
		*bad = o;
	}
	return r;
}

int mg_options_parse(const char *s)
{
	int bad = 0;
	if (!s)
		return 0;
	while (*s) {
		const char *end = strchr(s, ':');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		char why[1024];
		const struct opt *o;
		/* an empty entry ("a=1::b=2") sets nothing */
		if (len && entry(s, len, true, why, sizeof why, &o)) {
			if (o)
				mg_log("MEMGC_OPTIONS: %s; using %s", why, o->def[0] ? o->def : "\"\"");
			else
				mg_log("MEMGC_OPTIONS: %s", why);
			bad++;
		}
		if (!end)
			break;
		s = end + 1;
	}
	return bad;
}

int mg_options_check(const char *s, char *why, size_t n)
{
	while (s && *s) {
		const char *end = strchr(s, ':');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		const struct opt *o;
		if (len && entry(s, len, false, why, n, &o))
			return -1;
		if (!end)
			break;
		s = end + 1;
	}
	return 0;
}

static void value_text(const struct opt *o, char *buf, size_t n)
{
	const char *field = (const char *)&mg_opt + o->offset;
	switch (o->type) {
	case OPT_BOOL: snprintf(buf, n, "%d", *(const bool *)field); break;
	case OPT_LONG:
		if (o->offset == OFF(stack_depth))
			snprintf(buf, n, "%d", *(const int *)field);
		else
			snprintf(buf, n, "%ld", *(const long *)field);
		break;
	case OPT_SIZE: snprintf(buf, n, "%llu", (unsigned long long)*(const uint64_t *)field); break;
	case OPT_ENUM: snprintf(buf, n, "%s", o->choices[*(const int *)field]); break;
	case OPT_STRING: snprintf(buf, n, "%s", field); break;
	}
}

void mg_options_help(int fd)
{
	struct mg_out o;
	mg_out_init(&o, fd);
	mg_out_printf(&o, "memgc options (MEMGC_OPTIONS=\"key=value:key=value\"):\n");
	for (size_t i = 0; i < NOPTS; i++) {
		char what[256], now[256];
		describe(&table[i], what, sizeof what);
		value_text(&table[i], now, sizeof now);
		mg_out_printf(&o, "  %-14s %s\n  %-14s   default %s; now %s; accepts %s\n",
			      table[i].name, table[i].help, "",
			      table[i].def[0] ? table[i].def : "\"\"", now, what);
	}
	mg_out_flush(&o);
}

void mg_options_json(struct mg_out *o)
{
	mg_out_printf(o, "{");
	for (size_t i = 0; i < NOPTS; i++) {
		char now[256];
		value_text(&table[i], now, sizeof now);
		mg_out_printf(o, "%s", i ? ", " : "");
		mg_out_json_str(o, table[i].name);
		mg_out_printf(o, ": ");
		if (table[i].type == OPT_STRING || table[i].type == OPT_ENUM)
			mg_out_json_str(o, now);
		else
			mg_out_printf(o, "%s", now);
	}
	mg_out_printf(o, "}");
}
