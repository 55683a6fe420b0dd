/* fuzz_request.c: libFuzzer harness for mg_request_parse (lib/request.c),
 * the parser of the control socket's requests; checks its contract on every
 * input, not only for crashes.
 *
 * Built two ways: with clang -fsanitize=fuzzer,address,undefined by `make
 * fuzz-control`, and with the normal compiler plus tests/fuzz/replay.c as a
 * check-time test that replays tests/control/corpus.  Only lib/request.c
 * is linked in.
 *
 * For each input (every byte of it, NULs included: the server hands the
 * parser a line as bytes) it checks:
 *   1. the result is 0 or -1; on -1 the message is one line of printable
 *      ASCII, terminated inside the buffer, and the request is all zero;
 *      on 0 the message is "" and the request is in range: a command,
 *      generation 0..2 (2 unless collect), a path only for report, absolute,
 *      terminated, valid UTF-8 without NUL;
 *   2. the same with an error buffer of 1 to 16 bytes (no overflow: ASan),
 *      and with no buffer at all;
 *   3. parsing is deterministic;
 *   4. an accepted request, written back as JSON, parses to the very same
 *      request.
 * A broken check prints what broke and aborts.
 */
#include "config.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Set by replay.c to the file being replayed, for the failure message. */
const char *mg_fuzz_input_name = "(fuzzer input)";

static void fail(const char *what, const uint8_t *in, size_t n)
{
	char line[1400];
	int k = snprintf(line, sizeof line, "fuzz_request: %s: %s; input '", mg_fuzz_input_name, what);
	for (size_t i = 0; i < n && k < 1300; i++)
		k += snprintf(line + k, sizeof line - (size_t)k,
			      in[i] >= 0x20 && in[i] < 0x7f && in[i] != '\\' ? "%c" : "\\x%02x", in[i]);
	k += snprintf(line + k, sizeof line - (size_t)k, "'\n");
	if (write(STDERR_FILENO, line, (size_t)k) < 0)
		k = 0;
	abort();
}

static bool valid_utf8(const unsigned char *s)
{
	while (*s) {
		unsigned c = *s, n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2
				     : c >= 0xf0 && c <= 0xf4 ? 3 : 9;
		if (n == 9)
			return false;
		unsigned cp = n ? c & (0x3f >> n) : c;
		for (unsigned i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		s += n + 1;
	}
	return true;
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		if (c[i])
			return false;
	return true;
}

static void check_result(int rc, const struct mg_request *r, const char *err, size_t errn,
			 const uint8_t *in, size_t n)
{
	if (rc != 0 && rc != -1)
		fail("the result is neither 0 nor -1", in, n);
	if (errn && !memchr(err, '\0', errn))
		fail("the message is not terminated inside its buffer", in, n);
	if (rc == -1) {
		if (errn > 1 && !err[0])
			fail("a refusal without a message", in, n);
		for (const char *c = err; errn && *c; c++)
			if (*c < 0x20 || *c > 0x7e)
				fail("the message holds a byte that is not printable ASCII", in, n);
		if (!all_zero(r, sizeof *r))
			fail("a refused request is not all zero", in, n);
		return;
	}
	if (errn && err[0])
		fail("an accepted request with a message", in, n);
	if (r->cmd < MG_REQ_STATS || r->cmd > MG_REQ_REPORT)
		fail("an accepted request without a command", in, n);
	if (r->generation < 0 || r->generation > 2 || (r->cmd != MG_REQ_COLLECT && r->generation != 2))
		fail("generation out of range, or set for a command other than collect", in, n);
	if (!memchr(r->path, '\0', sizeof r->path))
		fail("the path is not terminated", in, n);
	if (r->cmd == MG_REQ_REPORT ? r->path[0] != '/' : r->path[0] != '\0')
		fail("report without an absolute path, or a path for another command", in, n);
	if (!valid_utf8((const unsigned char *)r->path))
		fail("the path is not valid UTF-8", in, n);
}

/* r as a request line (the path escaped as JSON would); its length. */
static size_t write_back(const struct mg_request *r, char *buf, size_t n)
{
	size_t k = (size_t)snprintf(buf, n, "{\"memgc\": %d, \"cmd\": \"%s\"", MG_PROTOCOL,
				    mg_request_cmd_name(r->cmd));
	if (r->cmd == MG_REQ_COLLECT)
		k += (size_t)snprintf(buf + k, n - k, ", \"generation\": %d", r->generation);
	if (r->cmd == MG_REQ_REPORT) {
		k += (size_t)snprintf(buf + k, n - k, ", \"path\": \"");
		for (const unsigned char *c = (const unsigned char *)r->path; *c; c++)
			k += (size_t)snprintf(buf + k, n - k, *c == '"' || *c == '\\' ? "\\%c"
					      : *c < 0x20 ? "\\u%04x" : "%c", *c);
		k += (size_t)snprintf(buf + k, n - k, "\"");
	}
	k += (size_t)snprintf(buf + k, n - k, "}");
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of exactly size bytes: reading past it is an ASan error */
	char *in = malloc(size ? size : 1);
	static struct mg_request r1, r2;
	char e1[256], e2[256];
	if (!in)
		return 0;
	memcpy(in, data, size);

	int rc = mg_request_parse(in, size, &r1, e1, sizeof e1);
	check_result(rc, &r1, e1, sizeof e1, data, size);

	if (mg_request_parse(in, size, &r2, e2, sizeof e2) != rc || memcmp(&r1, &r2, sizeof r1) ||
	    strcmp(e1, e2))
		fail("the same input parsed twice gave different results", data, size);

	for (size_t errn = 0; errn <= 16; errn++) {
		char *small = malloc(errn ? errn : 1);
		if (!small)
			break;
		if (mg_request_parse(in, size, &r2, errn ? small : NULL, errn) != rc)
			fail("the result depends on the size of the message buffer", data, size);
		check_result(rc, &r2, small, errn, data, size);
		if (errn && strncmp(small, e1, errn - 1))
			fail("a short message buffer holds another message than a long one", data, size);
		free(small);
	}

	if (rc == 0) {
		static char back[6 * sizeof r1.path + 128];
		size_t n = write_back(&r1, back, sizeof back);
		if (mg_request_parse(back, n, &r2, e2, sizeof e2) || memcmp(&r1, &r2, sizeof r1))
			fail("an accepted request, written back, parses to another request", data, size);
	}
	free(in);
	return 0;
}
