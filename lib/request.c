/* request.c: the control protocol's requests (control.c), parsed without
 * malloc.
 *
 * A request is one line of JSON text, a flat object:
 *     {"memgc": 1, "cmd": "collect", "generation": 1}
 * "memgc" (the protocol version, MG_PROTOCOL) and "cmd" are required; the
 * other keys belong to one command each: "generation" (an integer 0..2,
 * default 2) to collect, "path" (an absolute path, required) to report.
 * Strings take every escape of RFC 8259 (\u0000 is refused: a path cannot
 * hold it).  Anything else (an unknown or repeated key, a value of another
 * type, a number that is not an integer, bytes after the object, invalid
 * UTF-8) is refused with a message that names it.
 *
 * The contract mg_request_parse keeps, checked on every input by
 * tests/control/fuzz_request.c: it returns 0 with r filled in and err "", or
 * -1 with err one line of printable ASCII (no newline, at most errn - 1
 * bytes) and r all zero (command MG_REQ_NONE).  It reads only the n bytes
 * given, never writes past r or err, never recurses, and takes time linear
 * in n.
 */
#include "config.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const char *const cmd_names[] = {
	[MG_REQ_STATS] = "stats", [MG_REQ_COLLECT] = "collect",
	[MG_REQ_TRIM] = "trim", [MG_REQ_REPORT] = "report",
};

const char *mg_request_cmd_name(int cmd)
{
	return cmd > MG_REQ_NONE && cmd <= MG_REQ_REPORT ? cmd_names[cmd] : "";
}

struct parser {
	const unsigned char *s, *end;
	char *err;
	size_t errn;
};

static int fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->err, p->errn, fmt, ap);
	va_end(ap);
	return -1;
}

/* The len bytes at s for an error message: printable ASCII as it is, other
 * bytes as \xNN, at most 40 bytes of it and then "...". */
static const char *shown(const void *s, size_t len, char *buf, size_t n)
{
	const unsigned char *c = s;
	size_t k = 0;
	for (size_t i = 0; i < len && k + 8 < n; i++) {
		if (i == 40) {
			k += (size_t)snprintf(buf + k, n - k, "...");
			break;
		}
		if (c[i] >= 0x20 && c[i] < 0x7f && c[i] != '\\')
			buf[k++] = (char)c[i];
		else
			k += (size_t)snprintf(buf + k, n - k, "\\x%02x", c[i]);
	}
	buf[k] = '\0';
	return buf;
}

static void skip_blank(struct parser *p)
{
	while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\r' || *p->s == '\n'))
		p->s++;
}

/* The length of the UTF-8 sequence at s (1..4), or 0 when it is not one
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static size_t utf8_len(const unsigned char *s, const unsigned char *end)
{
	unsigned c = s[0];
	size_t n;
	unsigned min;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, min = 0x10000;
	else
		return 0;
	if ((size_t)(end - s) < n)
		return 0;
	unsigned cp = c & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static int hex4(const unsigned char *s, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		unsigned c = s[i], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			d = (c | 0x20) - 'a' + 10;
		else
			return -1;
		*v = *v << 4 | d;
	}
	return 0;
}

/* Decodes the string at p->s (its opening quote) into out, NUL-terminated;
 * its decoded length in *len.  A string longer than n - 1 bytes is refused
 * with what (the key, or "a key"). */
static int string(struct parser *p, char *out, size_t n, size_t *len, const char *what)
{
	size_t k = 0;
	p->s++;
	for (;;) {
		if (p->s >= p->end)
			return fail(p, "unterminated string");
		unsigned char c = *p->s;
		char enc[4];
		size_t m;
		if (c == '"') {
			p->s++;
			break;
		}
		if (c < 0x20)
			return fail(p, "control character 0x%02x inside a string: write it as \\u%04x",
				    c, c);
		if (c == '\\') {
			if (p->end - p->s < 2)
				return fail(p, "unterminated string");
			unsigned char e = p->s[1];
			const char *simple = strchr("\"\\/bfnrt", e);
			if (e && simple) {
				enc[0] = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
				m = 1;
				p->s += 2;
			} else if (e == 'u') {
				unsigned cp, lo;
				if (p->end - p->s < 6 || hex4(p->s + 2, &cp))
					return fail(p, "bad \\u escape: write \\u and four hex digits");
				p->s += 6;
				if (cp >= 0xdc00 && cp <= 0xdfff)
					return fail(p, "bad \\u escape: a low surrogate with no high one");
				if (cp >= 0xd800 && cp <= 0xdbff) {
					if (p->end - p->s < 6 || p->s[0] != '\\' || p->s[1] != 'u' ||
					    hex4(p->s + 2, &lo) || lo < 0xdc00 || lo > 0xdfff)
						return fail(p, "bad \\u escape: a high surrogate with no low one");
					p->s += 6;
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				}
				if (cp == 0)
					return fail(p, "\\u0000 inside a string is not accepted");
				if (cp < 0x80) {
					enc[0] = (char)cp;
					m = 1;
				} else if (cp < 0x800) {
					enc[0] = (char)(0xc0 | cp >> 6);
					enc[1] = (char)(0x80 | (cp & 0x3f));
					m = 2;
				} else if (cp < 0x10000) {
					enc[0] = (char)(0xe0 | cp >> 12);
					enc[1] = (char)(0x80 | (cp >> 6 & 0x3f));
					enc[2] = (char)(0x80 | (cp & 0x3f));
					m = 3;
				} else {
					enc[0] = (char)(0xf0 | cp >> 18);
					enc[1] = (char)(0x80 | (cp >> 12 & 0x3f));
					enc[2] = (char)(0x80 | (cp >> 6 & 0x3f));
					enc[3] = (char)(0x80 | (cp & 0x3f));
					m = 4;
				}
			} else {
				char b[16];
				return fail(p, "bad escape '\\%s' in a string", shown(&e, 1, b, sizeof b));
			}
		} else {
			m = utf8_len(p->s, p->end);
			if (!m)
				return fail(p, "invalid UTF-8 inside a string");
			memcpy(enc, p->s, m);
			p->s += m;
		}
		if (k + m >= n)
			return fail(p, "%s: string longer than %zu bytes", what, n - 1);
		memcpy(out + k, enc, m);
		k += m;
	}
	out[k] = '\0';
	*len = k;
	return 0;
}

enum vtype { V_STRING, V_INT, V_NUMBER, V_TRUE, V_FALSE, V_NULL, V_NESTED };
static const char *const vtype_name[] = {
	"a string", "an integer", "a number", "true", "false", "null", "an object or array"
};

/* The kind of the value at p->s, without consuming it; -1 when there is no
 * valid value start. */
static int peek(struct parser *p)
{
	if (p->s >= p->end)
		return fail(p, "the request ends where a value should be");
	unsigned char c = *p->s;
	size_t left = (size_t)(p->end - p->s);
	if (c == '"')
		return V_STRING;
	if (c == '-' || (c >= '0' && c <= '9'))
		return V_INT;   /* number() tells integers from other numbers */
	if (c == '{' || c == '[')
		return V_NESTED;
	if (left >= 4 && !memcmp(p->s, "true", 4))
		return V_TRUE;
	if (left >= 5 && !memcmp(p->s, "false", 5))
		return V_FALSE;
	if (left >= 4 && !memcmp(p->s, "null", 4))
		return V_NULL;
	char b[64];
	return fail(p, "'%s' is not a JSON value", shown(p->s, left < 12 ? left : 12, b, sizeof b));
}

/* A JSON number at p->s; V_INT with *v set when it is an integer that fits
 * in a long long (digits only), V_NUMBER for any other valid number. */
static int number(struct parser *p, long long *v)
{
	const unsigned char *s = p->s;
	bool neg = false, integer = true, big = false;
	unsigned long long x = 0;
	if (s < p->end && *s == '-') {
		neg = true;
		s++;
	}
	if (s >= p->end || *s < '0' || *s > '9')
		return fail(p, "bad number: a digit must follow '-'");
	if (*s == '0' && s + 1 < p->end && s[1] >= '0' && s[1] <= '9')
		return fail(p, "bad number: leading zeros are not JSON");
	for (; s < p->end && *s >= '0' && *s <= '9'; s++) {
		if (x > (9223372036854775807ULL - (unsigned)(*s - '0')) / 10)
			big = true;
		else
			x = x * 10 + (unsigned)(*s - '0');
	}
	if (s < p->end && *s == '.') {
		integer = false;
		if (++s >= p->end || *s < '0' || *s > '9')
			return fail(p, "bad number: a digit must follow '.'");
		while (s < p->end && *s >= '0' && *s <= '9')
			s++;
	}
	if (s < p->end && (*s == 'e' || *s == 'E')) {
		integer = false;
		if (++s < p->end && (*s == '+' || *s == '-'))
			s++;
		if (s >= p->end || *s < '0' || *s > '9')
			return fail(p, "bad number: a digit must follow the exponent");
		while (s < p->end && *s >= '0' && *s <= '9')
			s++;
	}
	p->s = s;
	if (!integer || big)
		return V_NUMBER;
	*v = neg ? -(long long)x : (long long)x;
	return V_INT;
}

enum key { K_MEMGC, K_CMD, K_GENERATION, K_PATH, NKEYS };
static const char *const key_names[NKEYS] = { "memgc", "cmd", "generation", "path" };

static int parse(struct parser p, struct mg_request *r)
{
	bool seen[NKEYS] = { false };
	long long version = 0, generation = 2;
	char cmd[64] = "";
	char b[64];
	size_t len;

	skip_blank(&p);
	if (p.s >= p.end)
		return fail(&p, "empty request: send one JSON object per line, "
			    "such as {\"memgc\": 1, \"cmd\": \"stats\"}");
	if (*p.s != '{')
		return fail(&p, "a request is a JSON object, such as {\"memgc\": 1, \"cmd\": \"stats\"}");
	p.s++;
	skip_blank(&p);
	if (p.s < p.end && *p.s == '}')
		p.s++;
	else
		for (;;) {
			char key[64];
			skip_blank(&p);
			if (p.s >= p.end || *p.s != '"')
				return fail(&p, "expected a key in double quotes");
			if (string(&p, key, sizeof key, &len, "a key"))
				return -1;
			int k = 0;
			while (k < NKEYS && strcmp(key, key_names[k]))
				k++;
			if (k == NKEYS)
				return fail(&p, "unknown key '%s'; accepted: memgc, cmd, generation, path",
					    shown(key, len, b, sizeof b));
			if (seen[k])
				return fail(&p, "key '%s' given twice", key);
			seen[k] = true;
			skip_blank(&p);
			if (p.s >= p.end || *p.s != ':')
				return fail(&p, "expected ':' after key '%s'", key);
			p.s++;
			skip_blank(&p);
			int t = peek(&p);
			long long v = 0;
			if (t < 0)
				return -1;
			if (t == V_INT && (t = number(&p, &v)) < 0)
				return -1;
			bool want_string = k == K_CMD || k == K_PATH;
			if (want_string ? t != V_STRING : t != V_INT)
				return fail(&p, "'%s' must be %s, not %s", key,
					    want_string ? "a string" : "an integer", vtype_name[t]);
			if (k == K_CMD && string(&p, cmd, sizeof cmd, &len, "cmd") < 0)
				return -1;
			if (k == K_PATH && string(&p, r->path, sizeof r->path, &len, "path") < 0)
				return -1;
			if (k == K_MEMGC)
				version = v;
			if (k == K_GENERATION)
				generation = v;
			skip_blank(&p);
			if (p.s < p.end && *p.s == ',') {
				p.s++;
				continue;
			}
			if (p.s < p.end && *p.s == '}') {
				p.s++;
				break;
			}
			return fail(&p, "expected ',' or '}' after the value of '%s'", key);
		}
	skip_blank(&p);
	if (p.s < p.end)
		return fail(&p, "bytes after the request object: '%s'",
			    shown(p.s, (size_t)(p.end - p.s), b, sizeof b));
	if (!seen[K_MEMGC])
		return fail(&p, "missing \"memgc\": %d, the protocol version", MG_PROTOCOL);
	if (version != MG_PROTOCOL)
		return fail(&p, "protocol version %lld is not supported; this memgc speaks %d",
			    version, MG_PROTOCOL);
	if (!seen[K_CMD])
		return fail(&p, "missing \"cmd\"; accepted: stats, collect, trim, report");
	int c = MG_REQ_STATS;
	while (c <= MG_REQ_REPORT && strcmp(cmd, cmd_names[c]))
		c++;
	if (c > MG_REQ_REPORT)
		return fail(&p, "unknown cmd '%s'; accepted: stats, collect, trim, report",
			    shown(cmd, strlen(cmd), b, sizeof b));
	if (seen[K_GENERATION] && c != MG_REQ_COLLECT)
		return fail(&p, "'generation' belongs to cmd collect only");
	if (generation < 0 || generation > 2)
		return fail(&p, "generation %lld is out of range: 0, 1 or 2", generation);
	if (seen[K_PATH] && c != MG_REQ_REPORT)
		return fail(&p, "'path' belongs to cmd report only");
	if (c == MG_REQ_REPORT && !seen[K_PATH])
		return fail(&p, "report needs \"path\": an absolute path (%%p is the pid)");
	if (c == MG_REQ_REPORT && r->path[0] != '/')
		return fail(&p, "path must be absolute: the process's working directory is not yours");
	r->cmd = c;
	r->generation = (int)generation;
	return 0;
}

int mg_request_parse(const char *text, size_t n, struct mg_request *r, char *err, size_t errn)
{
	struct parser p = { (const unsigned char *)text, (const unsigned char *)text + n, err, errn };
	memset(r, 0, sizeof *r);
	if (errn)
		err[0] = '\0';
	if (parse(p, r) == 0)
		return 0;
	memset(r, 0, sizeof *r);
	return -1;
}
