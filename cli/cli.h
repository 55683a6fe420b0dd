/* cli.h: what the files of the memgc command share.
 *
 * The command is an ordinary program (glibc malloc, stdio); nothing here
 * runs inside a preloaded process.  Each verb is one function
 * int mg_cli_VERB(int argc, char **argv) with argv[0] the verb's name; it
 * returns the command's exit status.  Names: mg_cli_<verb> for verbs,
 * mg_<file>_<verb> for the helpers below, static otherwise.
 */
#ifndef MG_CLI_H
#define MG_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses shared by every verb (sysexits.h values).  `memgc run`
 * exits with PROG's own status instead once PROG has started, 126 when
 * PROG cannot be executed and 127 when it is not found; `memgc check` has
 * its own codes (check.c). */
enum {
	MG_EXIT_OK = 0,
	MG_EXIT_USAGE = 64,      /* bad verb, flag or argument */
	MG_EXIT_DATA = 65,       /* a file that is not a memgc report */
	MG_EXIT_NOINPUT = 66,    /* a file that cannot be read */
	MG_EXIT_NOPROC = 69,     /* no such process, or no memgc in it */
	MG_EXIT_SOFTWARE = 70,   /* internal error (temporary files, fork, ...) */
	MG_EXIT_CANTCREATE = 73, /* an output file that cannot be written */
	MG_EXIT_NOPERM = 77,     /* permission refused */
	MG_EXIT_NOEXEC = 126,    /* PROG exists but cannot be executed */
	MG_EXIT_NOTFOUND = 127,  /* PROG not found */
};

/* ---- the verbs ---- */
/* client.c: `memgc stats PID` and `memgc collect PID`, through the
 * process's control socket (lib/control.c, protocol in memgc(1)). */
int mg_cli_stats(int argc, char **argv);
int mg_cli_collect(int argc, char **argv);

/* ---- memgc.c: the command's front ---- */
extern const char *mg_cli_self;     /* "memgc", for messages */
/* One line on stderr, "memgc VERB: " and the message; returns code. */
int mg_cli_fail(const char *verb, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* For --help: true (and the verb's usage printed on stdout) when argv
 * holds --help or -h before any "--". */
bool mg_cli_wants_help(int argc, char **argv, const char *usage);

/* ---- units.c: sizes for people, and sizes from people ---- */
/* "12.3 MiB", "3000 B": binary units, as memgc's text summary writes them. */
const char *mg_units_human(uint64_t bytes, char *buf, size_t n);
/* A size as MEMGC_OPTIONS takes one ("64M", "1GiB", "3000"): 0 or -1. */
int mg_units_parse(const char *s, uint64_t *out);

/* ---- json.c: a small JSON reader ---- */
enum mg_json_kind { MG_JSON_NULL, MG_JSON_BOOL, MG_JSON_NUMBER, MG_JSON_STRING,
		    MG_JSON_ARRAY, MG_JSON_OBJECT };
struct mg_json {
	enum mg_json_kind kind;
	bool b;                  /* BOOL */
	bool exact;              /* NUMBER: a non-negative integer, held in u */
	double num;              /* NUMBER */
	uint64_t u;
	char *str;               /* STRING, unescaped and NUL-terminated */
	char *key;               /* the member's name, in an OBJECT */
	size_t n;                /* ARRAY and OBJECT: the members */
	struct mg_json *kids;
	size_t off, len;         /* the value's bytes in the parsed text */
};
/* Parses text[0..len) as one JSON value; NULL with err set (a line saying
 * where and what) on a syntax error.  The tree owns copies of its strings. */
struct mg_json *mg_json_parse(const char *text, size_t len, char *err, size_t errn);
void mg_json_free(struct mg_json *v);
/* The member key of object v (a dotted path: "heap.peak_live_bytes"), or
 * NULL when v is not an object or has no such member. */
const struct mg_json *mg_json_get(const struct mg_json *v, const char *path);
/* The member's value as an integer when it is an exact one (else dflt),
 * and as a string when it is one (else dflt). */
uint64_t mg_json_u64(const struct mg_json *v, const char *path, uint64_t dflt);
const char *mg_json_str(const struct mg_json *v, const char *path, const char *dflt);
/* s as a JSON string (quoted, escaped) on f, and the same for XML text. */
void mg_json_write_str(FILE *f, const char *s);
void mg_json_write_xml(FILE *f, const char *s);

#endif /* MG_CLI_H */
