/* test_options.c: MEMGC_OPTIONS parsing (options.c): defaults, values, sizes, messages for bad entries. */
#include "config.h"
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "unit.h"

TestSuite(options, .init = mg_options_defaults);

#define KNOWN "help summary report report_top timeline stack_depth max_sites on_error threshold0 " \
	"threshold1 threshold2 large_release heap_reserve arenas arena_span stop_signal mode gc gc_debug " \
	"interior leak_check exitcode mark_stack watch control control_dir collect_signal"

static char err[16384];

/* Parses s and captures what it wrote on stderr in err. */
static int parse(const char *s)
{
	mg_test_stderr_begin();
	int r = mg_options_parse(s);
	mg_test_stderr_end(err, sizeof err);
	return r;
}

static void expect_defaults(void)
{
	cr_assert_eq(mg_opt.help, false);
	cr_assert_eq(mg_opt.on_error, MG_ON_ERROR_ABORT);
	cr_assert_eq(mg_opt.stack_depth, 1);
	cr_assert_eq(mg_opt.max_sites, 262144);
	cr_assert_eq(mg_opt.threshold[0], 1000000);
	cr_assert_eq(mg_opt.threshold[1], 10);
	cr_assert_eq(mg_opt.threshold[2], 10);
	cr_assert_eq(mg_opt.large_release, 1048576);
	cr_assert_eq(mg_opt.heap_reserve, UINT64_C(1099511627776));
	cr_assert_eq(mg_opt.arenas, 0);
	cr_assert_eq(mg_opt.arena_span, 16777216);
	cr_assert_eq(mg_opt.stop_signal, 39);
	cr_assert_eq(mg_opt.watch, MG_WATCH_AUTO);
	cr_assert_eq(mg_opt.report_top, 10);
	cr_assert_str_eq(mg_opt.report, "");
	cr_assert_str_eq(mg_opt.summary, "none");
	cr_assert_eq(mg_opt.control, false);
	cr_assert_str_eq(mg_opt.control_dir, "");
	cr_assert_eq(mg_opt.collect_signal, 0);
}

Test(options, defaults)
{
	expect_defaults();
	cr_assert_eq(parse(NULL), 0);
	cr_assert_eq(parse(""), 0);
	expect_defaults();
	cr_assert_str_eq(err, "");
}

Test(options, defaults_reset_everything)
{
	cr_assert_eq(parse("stack_depth=8:summary=stderr:help=1:on_error=warn:report=x"), 0);
	mg_options_defaults();
	expect_defaults();
}

Test(options, valid_values)
{
	cr_assert_eq(parse("help=yes:on_error=warn:stack_depth=64:max_sites=16:"
			   "threshold0=0:threshold1=9223372036854775807:threshold2=3:"
			   "large_release=4K:heap_reserve=32T:arenas=64:arena_span=0:report_top=64:stop_signal=64:"
			   "watch=off:report=/tmp/r-%p.json:summary=stderr:control=1:control_dir=/run/x:"
			   "collect_signal=64"), 0);
	cr_assert_str_eq(err, "");
	cr_assert_eq(mg_opt.help, true);
	cr_assert_eq(mg_opt.on_error, MG_ON_ERROR_WARN);
	cr_assert_eq(mg_opt.stack_depth, 64);
	cr_assert_eq(mg_opt.max_sites, 16);
	cr_assert_eq(mg_opt.threshold[0], 0);
	cr_assert_eq(mg_opt.threshold[1], LONG_MAX);
	cr_assert_eq(mg_opt.threshold[2], 3);
	cr_assert_eq(mg_opt.large_release, 4096);
	cr_assert_eq(mg_opt.heap_reserve, UINT64_C(1) << 45);
	cr_assert_eq(mg_opt.arenas, 64);
	cr_assert_eq(mg_opt.arena_span, 0);
	cr_assert_eq(mg_opt.stop_signal, 64);
	cr_assert_eq(mg_opt.watch, MG_WATCH_OFF);
	cr_assert_eq(mg_opt.report_top, 64);
	cr_assert_str_eq(mg_opt.report, "/tmp/r-%p.json");
	cr_assert_str_eq(mg_opt.summary, "stderr");
	cr_assert_eq(mg_opt.control, true);
	cr_assert_str_eq(mg_opt.control_dir, "/run/x");
	cr_assert_eq(mg_opt.collect_signal, 64);
}

Test(options, bool_spellings)
{
	static const char *const yes[] = { "help=1", "help=true", "help=yes" };
	static const char *const no[] = { "help=0", "help=false", "help=no" };
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(parse(yes[i]), 0);
		cr_assert_eq(mg_opt.help, true, "%s", yes[i]);
		cr_assert_eq(parse(no[i]), 0);
		cr_assert_eq(mg_opt.help, false, "%s", no[i]);
	}
}

Test(options, size_values)
{
	static const struct { const char *s; uint64_t v; } v[] = {
		{ "large_release=4096", 4096 }, { "large_release=8k", 8192 },
		{ "large_release=64K", 65536 }, { "large_release=64KiB", 65536 },
		{ "large_release=64KB", 65536 }, { "large_release=64Ki", 65536 },
		{ "large_release=2M", 2097152 }, { "large_release=2MiB", 2097152 },
		{ "large_release=2MB", 2097152 }, { "large_release=3G", UINT64_C(3) << 30 },
		{ "large_release=1T", UINT64_C(1) << 40 }, { "large_release=1t", UINT64_C(1) << 40 },
		{ "heap_reserve=1G", UINT64_C(1) << 30 }, { "heap_reserve=1024M", UINT64_C(1) << 30 },
		{ "heap_reserve=32T", UINT64_C(1) << 45 }, { "heap_reserve=3TiB", UINT64_C(3) << 40 },
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		mg_options_defaults();
		cr_assert_eq(parse(v[i].s), 0, "%s", v[i].s);
		uint64_t got = strncmp(v[i].s, "heap", 4) ? mg_opt.large_release : mg_opt.heap_reserve;
		cr_assert_eq(got, v[i].v, "%s gave %llu", v[i].s, (unsigned long long)got);
		cr_assert_str_eq(err, "");
	}
}

Test(options, later_entries_win_and_empty_entries_are_skipped)
{
	cr_assert_eq(parse("stack_depth=2:stack_depth=5"), 0);
	cr_assert_eq(mg_opt.stack_depth, 5);
	cr_assert_eq(parse("::threshold0=5:::threshold1=6:"), 0);
	cr_assert_str_eq(err, "");
	cr_assert_eq(mg_opt.threshold[0], 5);
	cr_assert_eq(mg_opt.threshold[1], 6);
	cr_assert_eq(parse(":"), 0);
	cr_assert_str_eq(err, "");
}

Test(options, strings_up_to_255_bytes)
{
	char s[300 + 16];
	memset(s, 0, sizeof s);
	strcpy(s, "summary=");
	memset(s + 8, 'a', 255);
	cr_assert_eq(parse(s), 0);
	cr_assert_eq(strlen(mg_opt.summary), 255);
	cr_assert_eq(mg_opt.summary[254], 'a');
	s[8 + 255] = 'a';   /* 256 bytes: refused, the default stays */
	cr_assert_eq(parse(s), 1);
	cr_assert_str_eq(mg_opt.summary, "none");
	cr_assert_eq(mg_test_lines(err), 1);
	cr_assert(strstr(err, "for summary: expected a string of at most 255 bytes; using none\n"), "%s", err);
	cr_assert_eq(parse("report="), 0);
	cr_assert_str_eq(mg_opt.report, "");
}

/* ---- bad entries: each counted, one line naming it and what is accepted ---- */

struct bad_case {
	const char *in;
	const char *line;   /* the exact line printed */
};

static const struct bad_case bad[] = {
	{ "nosuch=1", "memgc: MEMGC_OPTIONS: unknown option 'nosuch'; known: " KNOWN "\n" },
	{ "=1", "memgc: MEMGC_OPTIONS: unknown option ''; known: " KNOWN "\n" },
	{ "Stack_depth=2", "memgc: MEMGC_OPTIONS: unknown option 'Stack_depth'; known: " KNOWN "\n" },
	{ "stack_depth", "memgc: MEMGC_OPTIONS: 'stack_depth' has no '=': write key=value, entries "
	  "separated by ':'\n" },
	{ "stack_depth=abc", "memgc: MEMGC_OPTIONS: bad value 'abc' for stack_depth: expected an "
	  "integer from 1 to 64; using 1\n" },
	{ "stack_depth=", "memgc: MEMGC_OPTIONS: bad value '' for stack_depth: expected an "
	  "integer from 1 to 64; using 1\n" },
	{ "stack_depth=0", "memgc: MEMGC_OPTIONS: bad value '0' for stack_depth: expected an "
	  "integer from 1 to 64; using 1\n" },
	{ "stack_depth=65", "memgc: MEMGC_OPTIONS: bad value '65' for stack_depth: expected an "
	  "integer from 1 to 64; using 1\n" },
	{ "stack_depth=4x", "memgc: MEMGC_OPTIONS: bad value '4x' for stack_depth: expected an "
	  "integer from 1 to 64; using 1\n" },
	{ "max_sites=15", "memgc: MEMGC_OPTIONS: bad value '15' for max_sites: expected an "
	  "integer from 16 to 16777216; using 262144\n" },
	{ "max_sites=16777217", "memgc: MEMGC_OPTIONS: bad value '16777217' for max_sites: expected "
	  "an integer from 16 to 16777216; using 262144\n" },
	{ "threshold0=-1", "memgc: MEMGC_OPTIONS: bad value '-1' for threshold0: expected an "
	  "integer from 0 to 9223372036854775807; using 1000000\n" },
	{ "threshold1=9223372036854775808", "memgc: MEMGC_OPTIONS: bad value '9223372036854775808' "
	  "for threshold1: expected an integer from 0 to 9223372036854775807; using 10\n" },
	{ "on_error=ignore", "memgc: MEMGC_OPTIONS: bad value 'ignore' for on_error: expected abort "
	  "or warn; using abort\n" },
	{ "on_error=", "memgc: MEMGC_OPTIONS: bad value '' for on_error: expected abort or warn; "
	  "using abort\n" },
	{ "help=2", "memgc: MEMGC_OPTIONS: bad value '2' for help: expected 0 or 1; using 0\n" },
	{ "debug=1", "memgc: MEMGC_OPTIONS: unknown option 'debug'; known: " KNOWN "\n" },
	{ "help=on", "memgc: MEMGC_OPTIONS: bad value 'on' for help: expected 0 or 1; using 0\n" },
	{ "large_release=4095", "memgc: MEMGC_OPTIONS: bad value '4095' for large_release: expected "
	  "a size from 4096 to 1099511627776 bytes, K/M/G/T suffixes binary; using 1M\n" },
	{ "large_release=2T", "memgc: MEMGC_OPTIONS: bad value '2T' for large_release: expected "
	  "a size from 4096 to 1099511627776 bytes, K/M/G/T suffixes binary; using 1M\n" },
	{ "large_release=1X", "memgc: MEMGC_OPTIONS: bad value '1X' for large_release: expected "
	  "a size from 4096 to 1099511627776 bytes, K/M/G/T suffixes binary; using 1M\n" },
	{ "heap_reserve=1023M", "memgc: MEMGC_OPTIONS: bad value '1023M' for heap_reserve: expected "
	  "a size from 1073741824 to 35184372088832 bytes, K/M/G/T suffixes binary; using 1T\n" },
	{ "heap_reserve=99999999999999999999", "memgc: MEMGC_OPTIONS: bad value "
	  "'99999999999999999999' for heap_reserve: expected a size from 1073741824 to "
	  "35184372088832 bytes, K/M/G/T suffixes binary; using 1T\n" },
	{ "arenas=65", "memgc: MEMGC_OPTIONS: bad value '65' for arenas: expected an integer from "
	  "0 to 64; using 0\n" },
	{ "arena_span=2T", "memgc: MEMGC_OPTIONS: bad value '2T' for arena_span: expected "
	  "a size from 0 to 1099511627776 bytes, K/M/G/T suffixes binary; using 16M\n" },
	{ "stop_signal=33", "memgc: MEMGC_OPTIONS: bad value '33' for stop_signal: expected an "
	  "integer from 34 to 64; using 39\n" },
	{ "stop_signal=65", "memgc: MEMGC_OPTIONS: bad value '65' for stop_signal: expected an "
	  "integer from 34 to 64; using 39\n" },
	{ "report_top=65", "memgc: MEMGC_OPTIONS: bad value '65' for report_top: expected an "
	  "integer from 0 to 64; using 10\n" },
	{ "watch=on", "memgc: MEMGC_OPTIONS: bad value 'on' for watch: expected auto, off or verify; "
	  "using auto\n" },
	{ "control=2", "memgc: MEMGC_OPTIONS: bad value '2' for control: expected 0 or 1; "
	  "using 0\n" },
	{ "collect_signal=-1", "memgc: MEMGC_OPTIONS: bad value '-1' for collect_signal: expected "
	  "an integer from 0 to 64; using 0\n" },
	{ "collect_signal=65", "memgc: MEMGC_OPTIONS: bad value '65' for collect_signal: expected "
	  "an integer from 0 to 64; using 0\n" },
};
#define NBAD (sizeof bad / sizeof bad[0])

Test(options, each_bad_entry_one_exact_line)
{
	for (size_t i = 0; i < NBAD; i++) {
		mg_options_defaults();
		cr_assert_eq(parse(bad[i].in), 1, "'%s'", bad[i].in);
		cr_assert_str_eq(err, bad[i].line, "'%s'", bad[i].in);
		expect_defaults();
	}
}

/* All of them at once, between good entries: the count is exact, each has
 * its line in order, and the good entries are applied. */
Test(options, bad_entries_counted_among_good_ones)
{
	char s[4096] = "stack_depth=7";
	char want[16384] = "";
	for (size_t i = 0; i < NBAD; i++) {
		strcat(s, ":");
		strcat(s, bad[i].in);
		strcat(s, i % 3 ? "" : ":threshold2=33");
		strcat(want, bad[i].line);
	}
	cr_assert_eq(parse(s), (int)NBAD);
	cr_assert_str_eq(err, want);
	cr_assert_eq(mg_test_lines(err), NBAD);
	cr_assert_eq(mg_opt.threshold[2], 33);
	cr_assert_eq(mg_opt.stack_depth, 1, "stack_depth=abc (a later bad entry) restores the default");
}

/* A bad value sets the option back to its default, as the line says. */
Test(options, bad_value_restores_the_default)
{
	cr_assert_eq(parse("threshold0=5:threshold0=x"), 1);
	cr_assert_eq(mg_opt.threshold[0], 1000000);
	cr_assert_eq(parse("summary=stderr:on_error=warn:on_error=no"), 1);
	cr_assert_str_eq(mg_opt.summary, "stderr");
	cr_assert_eq(mg_opt.on_error, MG_ON_ERROR_ABORT);
}

/* Whatever bytes the key or value hold, one bad entry is one line (a
 * newline in MEMGC_OPTIONS must not split the message or forge a second
 * one). */
Test(options, message_stays_one_line)
{
	static const char *const in[] = {
		"stack_depth=1\n2", "no\nsuch=1", "no\rsuch=1", "stack_depth\n",
		"stack_depth=2\nmemgc; fake line", "on_error=\x1b[31mred",
	};
	for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
		int r = parse(in[i]);
		cr_assert_eq(r, 1, "entry %zu", i);
		cr_assert_eq(mg_test_lines(err), 1, "entry %zu printed: %s", i, err);
		cr_assert_null(strchr(err, '\r'), "entry %zu", i);
		cr_assert_null(strchr(err, '\x1b'), "entry %zu", i);
	}
}

Test(options, long_entries_stay_one_line)
{
	static char s[20000];
	memset(s, 'k', sizeof s - 3);
	strcpy(s + sizeof s - 3, "=1");
	cr_assert_eq(parse(s), 1);
	cr_assert_eq(mg_test_lines(err), 1);
	cr_assert(strncmp(err, "memgc: MEMGC_OPTIONS: unknown option 'kkkk", 42) == 0, "%.80s", err);
	memcpy(s, "stack_depth=", 12);
	cr_assert_eq(parse(s), 1);
	cr_assert_eq(mg_test_lines(err), 1);
	cr_assert(strncmp(err, "memgc: MEMGC_OPTIONS: bad value 'kkkk", 37) == 0, "%.80s", err);
	cr_assert_eq(mg_opt.stack_depth, 1);
}

/* ---- mg_options_size ---- */

Test(options, size_parser_values)
{
	static const struct { const char *s; uint64_t v; } ok[] = {
		{ "0", 0 }, { "1", 1 }, { "4096", 4096 }, { "4k", 4096 }, { "4K", 4096 },
		{ "4Ki", 4096 }, { "4KB", 4096 }, { "4KiB", 4096 }, { "5m", 5 << 20 },
		{ "5MiB", 5 << 20 }, { "7g", UINT64_C(7) << 30 }, { "7GB", UINT64_C(7) << 30 },
		{ "2t", UINT64_C(2) << 40 }, { "2TiB", UINT64_C(2) << 40 }, { "4B", 4 },
		{ "0K", 0 }, { "007", 7 },
		{ "18446744073709551615", UINT64_MAX },
		{ "16777215T", UINT64_C(16777215) << 40 },
		{ "17179869183G", UINT64_C(17179869183) << 30 },
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		uint64_t v = 12345;
		cr_assert_eq(mg_options_size(ok[i].s, &v), 0, "'%s'", ok[i].s);
		cr_assert_eq(v, ok[i].v, "'%s' gave %llu", ok[i].s, (unsigned long long)v);
	}
}

Test(options, size_parser_rejects)
{
	static const char *const bad[] = {
		"", "K", "KiB", "-1", "+1", "4X", "4KK", "4KiBB", "4 K", "4.5M", "4K ", "0x10",
		"18446744073709551616", "99999999999999999999999", "16777216T",
		"17179869184G", "17592186044416M", "18014398509481984K",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint64_t v = 777;
		cr_assert_eq(mg_options_size(bad[i], &v), -1, "'%s' accepted as %llu", bad[i],
			     (unsigned long long)v);
		cr_assert_eq(v, 777, "'%s' wrote the output", bad[i]);
	}
	uint64_t v = 777;
	cr_assert_eq(mg_options_size(NULL, &v), -1);
	cr_assert_eq(v, 777);
}

/* strtoull skips blanks and then takes a sign: " -1" must not come back
 * as 18446744073709551615. */
Test(options, size_parser_rejects_blanks_and_signs)
{
	static const char *const bad[] = { " -1", "\t-5K", " 1", " +1", "\n4" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint64_t v = 777;
		cr_assert_eq(mg_options_size(bad[i], &v), -1, "'%s' accepted as %llu", bad[i],
			     (unsigned long long)v);
	}
}

/* "i" and "iB" are the binary spelling of a K/M/G/T suffix, not units of
 * their own. */
Test(options, size_parser_rejects_a_bare_i)
{
	static const char *const bad[] = { "4i", "4iB", "1Bi", "4KBi" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint64_t v = 777;
		cr_assert_eq(mg_options_size(bad[i], &v), -1, "'%s' accepted as %llu", bad[i],
			     (unsigned long long)v);
	}
}

/* ---- the table's other outputs ---- */

Test(options, json_of_the_defaults)
{
	struct mg_out o;
	int fd = memfd_create("json", 0);
	cr_assert_geq(fd, 0);
	mg_out_init(&o, fd);
	mg_options_json(&o);
	cr_assert_eq(mg_out_flush(&o), 0);
	char buf[4096];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_assert_str_eq(buf, "{\"help\": 0, \"summary\": \"none\", \"report\": \"\", "
			 "\"report_top\": 10, \"timeline\": 0, \"stack_depth\": 1, \"max_sites\": 262144, "
			 "\"on_error\": \"abort\", \"threshold0\": 1000000, \"threshold1\": 10, "
			 "\"threshold2\": 10, \"large_release\": 1048576, "
			 "\"heap_reserve\": 1099511627776, \"arenas\": 0, \"arena_span\": 16777216, "
			 "\"stop_signal\": 39, "
			 "\"mode\": \"account\", \"gc\": 1, \"gc_debug\": 0, \"interior\": 1, "
			 "\"leak_check\": 1, \"exitcode\": 0, \"mark_stack\": 134217728, "
			 "\"watch\": \"auto\", \"control\": 0, \"control_dir\": \"\", \"collect_signal\": 0}");
	close(fd);
}

Test(options, help_lists_every_option)
{
	int fd = memfd_create("help", 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(parse("stack_depth=3"), 0);
	mg_options_help(fd);
	char buf[16384];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_assert_eq(mg_test_lines(buf), 1 + 2 * 27, "%s", buf);
	cr_assert(strstr(buf, "\n  stack_depth    frames kept per allocation site; 1 is the caller "
			 "only (no unwinding)\n                   default 1; now 3; accepts an "
			 "integer from 1 to 64\n"), "%s", buf);
	cr_assert(strstr(buf, "default 1T; now 1099511627776; accepts a size from 1073741824 to "
			 "35184372088832 bytes, K/M/G/T suffixes binary\n"), "%s", buf);
	cr_assert(strstr(buf, "default \"\"; now ; accepts a string of at most 255 bytes\n"), "%s", buf);
	close(fd);
}

/* mg_options_check: what the memgc command does with -o: the same
 * judgement and message as parse, and nothing set. */
Test(options, check_sets_nothing)
{
	char why[1024];
	cr_assert_eq(mg_options_check("stack_depth=3:report_top=2", why, sizeof why), 0);
	cr_assert_eq(mg_opt.stack_depth, 1);
	cr_assert_eq(mg_opt.report_top, 10);
	cr_assert_eq(mg_options_check("stack_depth=3:stack_depth=99", why, sizeof why), -1);
	cr_assert_str_eq(why, "bad value '99' for stack_depth: expected an integer from 1 to 64");
	cr_assert_eq(mg_opt.stack_depth, 1);
	cr_assert_eq(mg_options_check("nosuch=1", why, sizeof why), -1);
	static const char known[] = "unknown option 'nosuch'; known: help summary ";
	cr_assert(!strncmp(why, known, sizeof known - 1), "%s", why);
	cr_assert_eq(mg_options_check("summary", why, sizeof why), -1);
	cr_assert_str_eq(why, "'summary' has no '=': write key=value, entries separated by ':'");
	cr_assert_eq(mg_options_check("", why, sizeof why), 0);
	cr_assert_eq(mg_options_check("::", why, sizeof why), 0);
	cr_assert_str_eq(mg_opt.summary, "none");
}
