/* json.c: a small JSON reader for memgc's reports, and string writers.
 *
 * mg_json_parse() reads one value (RFC 8259) into a tree that owns copies
 * of its strings; every node records where its text lies in the input, so
 * a report can be copied into another document byte for byte.  Numbers
 * that are non-negative integers are kept exactly in u (byte counts go past
 * 2^53).  Nesting deeper than MAX_DEPTH is refused, as is anything after
 * the value but blanks, so a truncated or foreign file fails with a line
 * saying where.
 */
#include "config.h"
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_DEPTH 64

struct parser {
	const char *s;
	size_t len, i;
	char *err;
	size_t errn;
	bool failed;
};

static void fail(struct parser *p, const char *what)
{
	if (p->failed)
		return;
	p->failed = true;
	size_t line = 1, col = 1;
	for (size_t k = 0; k < p->i && k < p->len; k++) {
		if (p->s[k] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	if (p->i >= p->len)
		snprintf(p->err, p->errn, "the JSON text ends early (line %zu): %s", line, what);
	else
		snprintf(p->err, p->errn, "JSON syntax error at line %zu, column %zu: %s",
			 line, col, what);
}

static void blanks(struct parser *p)
{
	while (p->i < p->len && strchr(" \t\r\n", p->s[p->i]) && p->s[p->i])
		p->i++;
}

static bool eat(struct parser *p, const char *word)
{
	size_t k = strlen(word);
	if (p->len - p->i >= k && !memcmp(p->s + p->i, word, k)) {
		p->i += k;
		return true;
	}
	return false;
}

static void put_utf8(char *out, size_t *o, unsigned c)
{
	if (c < 0x80) {
		out[(*o)++] = (char)c;
	} else if (c < 0x800) {
		out[(*o)++] = (char)(0xc0 | c >> 6);
		out[(*o)++] = (char)(0x80 | (c & 0x3f));
	} else if (c < 0x10000) {
		out[(*o)++] = (char)(0xe0 | c >> 12);
		out[(*o)++] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[(*o)++] = (char)(0x80 | (c & 0x3f));
	} else {
		out[(*o)++] = (char)(0xf0 | c >> 18);
		out[(*o)++] = (char)(0x80 | ((c >> 12) & 0x3f));
		out[(*o)++] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[(*o)++] = (char)(0x80 | (c & 0x3f));
	}
}

static int hex4(struct parser *p, unsigned *out)
{
	unsigned v = 0;
	for (int k = 0; k < 4; k++, p->i++) {
		if (p->i >= p->len)
			return -1;
		char c = p->s[p->i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* A string at p->i (the opening quote); a malloc'd copy, or NULL. */
static char *string(struct parser *p)
{
	p->i++;
	size_t start = p->i;
	while (p->i < p->len && p->s[p->i] != '"') {
		if (p->s[p->i] == '\\')
			p->i++;
		p->i++;
	}
	if (p->i >= p->len) {
		fail(p, "a string is not closed");
		return NULL;
	}
	/* the escaped form is never shorter than the text it stands for */
	char *out = malloc(p->i - start + 1);
	if (!out) {
		fail(p, "out of memory");
		return NULL;
	}
	size_t end = p->i, o = 0;
	for (p->i = start; p->i < end; p->i++) {
		unsigned char c = (unsigned char)p->s[p->i];
		if (c < 0x20) {
			fail(p, "a control character inside a string");
			free(out);
			return NULL;
		}
		if (c != '\\') {
			out[o++] = (char)c;
			continue;
		}
		char e = p->s[++p->i];
		const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
		const char *k = strchr(from, e);
		if (e && k) {
			out[o++] = to[k - from];
			continue;
		}
		unsigned u, lo;
		p->i++;
		if (e != 'u' || hex4(p, &u)) {
			fail(p, "a bad escape in a string");
			free(out);
			return NULL;
		}
		if (u >= 0xd800 && u < 0xdc00 && p->i + 1 < end && p->s[p->i] == '\\' &&
		    p->s[p->i + 1] == 'u') {
			size_t save = p->i;
			p->i += 2;
			if (!hex4(p, &lo) && lo >= 0xdc00 && lo < 0xe000)
				u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
			else
				p->i = save;
		}
		put_utf8(out, &o, u);
		p->i--;
	}
	out[o] = '\0';
	p->i = end + 1;
	return out;
}

static void number(struct parser *p, struct mg_json *v)
{
	size_t start = p->i;
	if (p->s[p->i] == '-')
		p->i++;
	size_t digits = p->i;
	while (p->i < p->len && p->s[p->i] >= '0' && p->s[p->i] <= '9')
		p->i++;
	if (p->i == digits || (p->s[digits] == '0' && p->i - digits > 1)) {
		fail(p, "a malformed number");
		return;
	}
	bool integral = true;
	if (p->i < p->len && p->s[p->i] == '.') {
		integral = false;
		size_t f = ++p->i;
		while (p->i < p->len && p->s[p->i] >= '0' && p->s[p->i] <= '9')
			p->i++;
		if (p->i == f) {
			fail(p, "a malformed number");
			return;
		}
	}
	if (p->i < p->len && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
		integral = false;
		p->i++;
		if (p->i < p->len && (p->s[p->i] == '+' || p->s[p->i] == '-'))
			p->i++;
		size_t e = p->i;
		while (p->i < p->len && p->s[p->i] >= '0' && p->s[p->i] <= '9')
			p->i++;
		if (p->i == e) {
			fail(p, "a malformed number");
			return;
		}
	}
	char tmp[64];
	size_t k = p->i - start;
	if (k >= sizeof tmp) {
		fail(p, "a number too long");
		return;
	}
	memcpy(tmp, p->s + start, k);
	tmp[k] = '\0';
	v->kind = MG_JSON_NUMBER;
	v->num = strtod(tmp, NULL);
	if (integral && tmp[0] != '-') {
		errno = 0;
		unsigned long long u = strtoull(tmp, NULL, 10);
		if (!errno) {
			v->u = u;
			v->exact = true;
		}
	}
}

static void value(struct parser *p, struct mg_json *v, int depth);

/* Appends a zeroed member to v's kids; NULL when out of memory. */
static struct mg_json *grow(struct parser *p, struct mg_json *v, size_t *cap)
{
	if (v->n == *cap) {
		size_t c = *cap ? *cap * 2 : 4;
		struct mg_json *k = realloc(v->kids, c * sizeof *k);
		if (!k) {
			fail(p, "out of memory");
			return NULL;
		}
		v->kids = k;
		*cap = c;
	}
	struct mg_json *m = &v->kids[v->n++];
	memset(m, 0, sizeof *m);
	return m;
}

static void container(struct parser *p, struct mg_json *v, int depth, bool object)
{
	char close = object ? '}' : ']';
	size_t cap = 0;
	v->kind = object ? MG_JSON_OBJECT : MG_JSON_ARRAY;
	p->i++;
	blanks(p);
	if (p->i < p->len && p->s[p->i] == close) {
		p->i++;
		return;
	}
	for (;;) {
		struct mg_json *m = grow(p, v, &cap);
		if (!m)
			return;
		if (object) {
			blanks(p);
			if (p->i >= p->len || p->s[p->i] != '"') {
				fail(p, "expected a member name in quotes");
				return;
			}
			if (!(m->key = string(p)))
				return;
			blanks(p);
			if (p->i >= p->len || p->s[p->i] != ':') {
				fail(p, "expected ':' after a member name");
				return;
			}
			p->i++;
		}
		value(p, m, depth + 1);
		if (p->failed)
			return;
		blanks(p);
		if (p->i < p->len && p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->i < p->len && p->s[p->i] == close) {
			p->i++;
			return;
		}
		fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
		return;
	}
}

static void value(struct parser *p, struct mg_json *v, int depth)
{
	blanks(p);
	v->off = p->i;
	if (depth > MAX_DEPTH) {
		fail(p, "nested too deep");
		return;
	}
	if (p->i >= p->len) {
		fail(p, "expected a value");
		return;
	}
	char c = p->s[p->i];
	if (c == '{' || c == '[') {
		container(p, v, depth, c == '{');
	} else if (c == '"') {
		v->kind = MG_JSON_STRING;
		v->str = string(p);
	} else if (c == '-' || (c >= '0' && c <= '9')) {
		number(p, v);
	} else if (eat(p, "true") || eat(p, "false")) {
		v->kind = MG_JSON_BOOL;
		v->b = c == 't';
	} else if (eat(p, "null")) {
		v->kind = MG_JSON_NULL;
	} else {
		fail(p, "expected a value");
	}
	v->len = p->i - v->off;
}

static void release(struct mg_json *v)
{
	for (size_t i = 0; i < v->n; i++)
		release(&v->kids[i]);
	free(v->kids);
	free(v->str);
	free(v->key);
}

void mg_json_free(struct mg_json *v)
{
	if (v) {
		release(v);
		free(v);
	}
}

struct mg_json *mg_json_parse(const char *text, size_t len, char *err, size_t errn)
{
	struct parser p = { .s = text, .len = len, .err = err, .errn = errn };
	struct mg_json *v = calloc(1, sizeof *v);
	if (!v) {
		snprintf(err, errn, "out of memory");
		return NULL;
	}
	value(&p, v, 0);
	blanks(&p);
	if (!p.failed && p.i < p.len)
		fail(&p, "text after the end of the JSON value");
	if (p.failed) {
		mg_json_free(v);
		return NULL;
	}
	return v;
}

const struct mg_json *mg_json_get(const struct mg_json *v, const char *path)
{
	while (v && *path) {
		const char *dot = strchr(path, '.');
		size_t k = dot ? (size_t)(dot - path) : strlen(path);
		const struct mg_json *found = NULL;
		if (v->kind == MG_JSON_OBJECT)
			for (size_t i = 0; i < v->n && !found; i++)
				if (strlen(v->kids[i].key) == k && !memcmp(v->kids[i].key, path, k))
					found = &v->kids[i];
		v = found;
		path += k + (dot != NULL);
	}
	return v;
}

uint64_t mg_json_u64(const struct mg_json *v, const char *path, uint64_t dflt)
{
	v = mg_json_get(v, path);
	return v && v->kind == MG_JSON_NUMBER && v->exact ? v->u : dflt;
}

const char *mg_json_str(const struct mg_json *v, const char *path, const char *dflt)
{
	v = mg_json_get(v, path);
	return v && v->kind == MG_JSON_STRING ? v->str : dflt;
}

void mg_json_write_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if (*c < 0x20)
			fprintf(f, "\\u%04x", *c);
		else
			fputc(*c, f);
	}
	fputc('"', f);
}

void mg_json_write_xml(FILE *f, const char *s)
{
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		switch (*c) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default:
			/* XML 1.0 allows no control characters but tab and newlines */
			if (*c < 0x20 && *c != '\t' && *c != '\n' && *c != '\r')
				fputc('?', f);
			else
				fputc(*c, f);
		}
	}
}
