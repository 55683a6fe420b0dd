/* fuzz_options.c: libFuzzer harness for mg_options_parse; checks its contract on every input, not only for crashes.
 *
 * Built two ways: with clang -fsanitize=fuzzer,address,undefined by
 * `make fuzz`, and with the normal compiler plus replay.c as a check-time
 * test that replays tests/fuzz/corpus.  Only lib/options.c and lib/log.c are
 * linked in; they need nothing else from memgc.
 *
 * For each input (a C string: the bytes up to the first NUL) it checks:
 *   1. the return value counts the bad entries: it equals the number of
 *      lines written on stderr, each a whole line of its own starting
 *      "memgc: MEMGC_OPTIONS: ", and is at most the number of entries;
 *   2. every option is inside its documented range afterwards, and the
 *      strings are terminated inside their buffers;
 *   3. parsing is deterministic: the same input from the defaults gives the
 *      same options, count and messages;
 *   4. the options it produced, written back as key=value text, parse
 *      without a complaint to the very same options (when no string value
 *      holds ':', which cannot be written back).
 * A broken check prints what broke on the real stderr and aborts.
 */
#include "config.h"
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Set by replay.c to the file being replayed, for the failure message. */
const char *mg_fuzz_input_name = "(fuzzer input)";

static int cap_fd = -1, real_fd = -1;

/* In the sanitizer runtime when built by `make fuzz`: sends its reports to
 * the real stderr even while fd 2 is captured. */
void __sanitizer_set_report_fd(void *fd) __attribute__((weak));

static void fail(const char *what, const char *input)
{
	char shown[1024], line[2048];
	size_t k = 0;
	for (const unsigned char *c = (const unsigned char *)input; *c && k < 800; c++)
		k += (size_t)(*c >= 0x20 && *c < 0x7f && *c != '\\'
			      ? snprintf(shown + k, sizeof shown - k, "%c", *c)
			      : snprintf(shown + k, sizeof shown - k, "\\x%02x", *c));
	shown[k] = '\0';
	int n = snprintf(line, sizeof line, "fuzz_options: %s: %s; input '%s'\n",
			 mg_fuzz_input_name, what, shown);
	if (n > 0 && write(real_fd >= 0 ? real_fd : STDERR_FILENO, line,
			   (size_t)n < sizeof line ? (size_t)n : sizeof line - 1) < 0)
		n = 0;
	abort();
}

struct captured {
	char *text;
	size_t len;
};

/* Runs mg_options_parse(s) from the defaults with fd 2 sent to a memfd. */
static int parse_captured(const char *s, struct captured *out)
{
	if (cap_fd < 0) {
		cap_fd = memfd_create("mg-fuzz-stderr", 0);
		real_fd = dup(STDERR_FILENO);
		if (cap_fd < 0 || real_fd < 0)
			abort();
		if (__sanitizer_set_report_fd)
			__sanitizer_set_report_fd((void *)(intptr_t)real_fd);
	}
	if (ftruncate(cap_fd, 0) || lseek(cap_fd, 0, SEEK_SET) != 0)
		abort();
	mg_options_defaults();
	if (dup2(cap_fd, STDERR_FILENO) < 0)
		abort();
	int bad = mg_options_parse(s);
	if (dup2(real_fd, STDERR_FILENO) < 0)
		abort();
	off_t len = lseek(cap_fd, 0, SEEK_CUR);
	out->len = len > 0 ? (size_t)len : 0;
	out->text = malloc(out->len + 1);
	if (!out->text || pread(cap_fd, out->text, out->len, 0) != (ssize_t)out->len)
		abort();
	out->text[out->len] = '\0';
	return bad;
}

static void check_lines(const struct captured *c, int bad, size_t entries, const char *s)
{
	static const char prefix[] = "memgc: MEMGC_OPTIONS: ";
	if (bad < 0 || (size_t)bad > entries)
		fail("the count of bad entries is out of range", s);
	size_t lines = 0;
	for (size_t at = 0; at < c->len; lines++) {
		if (strncmp(c->text + at, prefix, sizeof prefix - 1))
			fail("a line on stderr does not start with \"memgc: MEMGC_OPTIONS: \" "
			     "(a message split across lines?)", s);
		const char *nl = memchr(c->text + at, '\n', c->len - at);
		if (!nl)
			fail("the last message on stderr has no newline", s);
		if (memchr(c->text + at, '\0', (size_t)(nl - (c->text + at))))
			fail("a message holds a NUL byte", s);
		at = (size_t)(nl - c->text) + 1;
	}
	if (lines != (size_t)bad)
		fail("the return value is not the number of lines on stderr", s);
}

static void check_ranges(const char *s)
{
	const struct mg_options *o = &mg_opt;
	if (o->stack_depth < 1 || o->stack_depth > MG_MAX_DEPTH)
		fail("stack_depth out of range", s);
	if (o->max_sites < 16 || o->max_sites > 16777216)
		fail("max_sites out of range", s);
	for (int i = 0; i < 3; i++)
		if (o->threshold[i] < 0)
			fail("a threshold is negative", s);
	if (o->large_release < 4096 || o->large_release > (UINT64_C(1) << 40))
		fail("large_release out of range", s);
	if (o->heap_reserve < (UINT64_C(1) << 30) || o->heap_reserve > (UINT64_C(1) << 45))
		fail("heap_reserve out of range", s);
	if (o->arenas < 0 || o->arenas > 64)
		fail("arenas out of range", s);
	if (o->report_top < 0 || o->report_top > 64)
		fail("report_top out of range", s);
	if (o->stop_signal < 34 || o->stop_signal > 64)
		fail("stop_signal out of range", s);
	if (o->on_error != MG_ON_ERROR_ABORT && o->on_error != MG_ON_ERROR_WARN)
		fail("on_error is neither abort nor warn", s);
	if (o->watch != MG_WATCH_AUTO && o->watch != MG_WATCH_OFF)
		fail("watch is neither auto nor off", s);
	if (!memchr(o->report, '\0', sizeof o->report) || !memchr(o->summary, '\0', sizeof o->summary))
		fail("a string option is not terminated", s);
}

/* Field by field: padding, and bytes after a string's NUL, do not count. */
static bool same_options(const struct mg_options *a, const struct mg_options *b)
{
	return a->help == b->help && a->on_error == b->on_error &&
	       a->stack_depth == b->stack_depth && a->max_sites == b->max_sites &&
	       a->threshold[0] == b->threshold[0] && a->threshold[1] == b->threshold[1] &&
	       a->threshold[2] == b->threshold[2] && a->large_release == b->large_release &&
	       a->heap_reserve == b->heap_reserve && a->arenas == b->arenas &&
	       a->report_top == b->report_top && a->stop_signal == b->stop_signal &&
	       a->watch == b->watch &&
	       !strcmp(a->report, b->report) &&
	       !strcmp(a->summary, b->summary);
}

/* mg_opt as key=value text; 0, or -1 when a string holds ':'. */
static int write_back(const struct mg_options *o, char *buf, size_t n)
{
	if (strchr(o->report, ':') || strchr(o->summary, ':'))
		return -1;
	int k = snprintf(buf, n,
			 "help=%d:on_error=%s:stack_depth=%d:max_sites=%ld:"
			 "threshold0=%ld:threshold1=%ld:threshold2=%ld:large_release=%llu:"
			 "heap_reserve=%llu:arenas=%ld:report_top=%ld:stop_signal=%ld:watch=%s:"
			 "report=%s:summary=%s",
			 o->help, o->on_error == MG_ON_ERROR_WARN ? "warn" : "abort",
			 o->stack_depth, o->max_sites, o->threshold[0], o->threshold[1],
			 o->threshold[2], (unsigned long long)o->large_release,
			 (unsigned long long)o->heap_reserve, o->arenas, o->report_top,
			 o->stop_signal, o->watch == MG_WATCH_OFF ? "off" : "auto", o->report,
			 o->summary);
	return k > 0 && (size_t)k < n ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	size_t entries = 1;
	for (const char *p = s; *p; p++)
		entries += *p == ':';

	struct captured c1, c2, c3;
	int bad = parse_captured(s, &c1);
	struct mg_options first = mg_opt;
	check_lines(&c1, bad, entries, s);
	check_ranges(s);

	if (parse_captured(s, &c2) != bad || !same_options(&first, &mg_opt) ||
	    c2.len != c1.len || memcmp(c1.text, c2.text, c1.len))
		fail("the same input parsed twice gave different results", s);

	char back[1024];
	if (write_back(&first, back, sizeof back) == 0) {
		if (parse_captured(back, &c3) != 0)
			fail("the options it produced, written back, do not parse", back);
		if (!same_options(&first, &mg_opt))
			fail("the options it produced, written back, parse to other values", back);
		free(c3.text);
	}
	free(c1.text);
	free(c2.text);
	free(s);
	return 0;
}
