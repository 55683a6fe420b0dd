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

/* ---- the verbs (run.c, check.c, report.c, demo.c) ---- */
int mg_cli_run(int argc, char **argv);
int mg_cli_check(int argc, char **argv);
int mg_cli_report(int argc, char **argv);
int mg_cli_demo(int argc, char **argv);
/* (client.c: through the process's control socket) */
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
/* getopt_long returned c, ':' (a flag without its value) or '?' (an
 * unknown flag): one line naming the flag; returns MG_EXIT_USAGE. */
int mg_cli_bad_flag(const char *verb, int c, char **argv);

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

/* ---- procs.c: the processes of a run, from their reports ---- */
struct mg_proc {
	const struct mg_json *r;   /* the process's report (memgc_report) */
	size_t doc;                /* the index of the document that holds it */
	int pid, ppid;
	int depth;                 /* in the process tree, 0 at a root */
	const char *exe;
	char name[64];             /* the executable's base name */
	char cmd[256];             /* argv, joined by spaces, cut to fit */
	uint64_t peak_live, peak_rss, live;
	bool leaks_checked;        /* the report has leaks.checked true */
	uint64_t leaked, leaked_objects;
};
struct mg_procs {
	struct mg_json **docs;     /* the parsed files, owned */
	char **texts;              /* their text, owned */
	size_t ndocs;
	struct mg_proc *p;         /* in tree order: each root, then its children */
	size_t n;
	const struct mg_json *command;  /* from a run document, else NULL */
	int status;                /* the run's exit status, -1 when unknown */
	int top;                   /* the pid of the run's first process, 0 if unknown */
};
/* Reads FILE: a process's report, a `memgc run --report` file or a
 * `memgc check --json` file.  0, or MG_EXIT_NOINPUT / MG_EXIT_DATA after
 * one line on stderr (prefixed "memgc VERB: "). */
int mg_procs_load(struct mg_procs *ps, const char *path, const char *verb);
/* Reads every memgc-*.json of dir (the reports of one run); top is the
 * pid of the run's first process, put first.  A file that is not a
 * complete report (a process killed while writing) gets one line on
 * stderr and is left out.  0, or MG_EXIT_SOFTWARE. */
int mg_procs_gather(struct mg_procs *ps, const char *dir, int top, const char *verb);
void mg_procs_free(struct mg_procs *ps);
/* Writes the run document: memgc_run, version, command, status, the
 * processes' reports as they were written, then extra (members already
 * rendered as JSON, "" for none). */
void mg_procs_write(FILE *f, const struct mg_procs *ps, char *const *command, int status,
		    const char *extra);
/* "leak_here+0x1a (misuse+0x11fc)": a frame of a report, for people;
 * "leak_here" or "misuse+0x11fc" when brief. */
void mg_procs_frame(const struct mg_json *frame, bool brief, char *buf, size_t n);
/* "f < g < main": a stack of brief frames, innermost first, up to max. */
void mg_procs_stack(const struct mg_json *frames, int max, char *buf, size_t n);

/* ---- svg.c: the chart of memgc report --svg ---- */
/* Writes the chart of the processes' timelines to out; 0, or
 * MG_EXIT_DATA when none has a timeline (src names the report in the
 * message), MG_EXIT_CANTCREATE when out cannot be written. */
int mg_svg_write_file(const char *out, const struct mg_procs *ps, const char *src);

/* ---- paths.c: where memgc finds its parts ---- */
/* libmemgc.so: $MEMGC_LIB, else the build tree next to this binary, else
 * the installed $(libdir).  0 with the path, or -1 with every place
 * looked at in buf for the message. */
int mg_paths_library(char *buf, size_t n);
/* A helper program or file of memgc's ($(pkglibexecdir)/NAME, or the
 * build tree); 0 or -1 as above. */
int mg_paths_libexec(const char *name, char *buf, size_t n);

/* ---- spawn.c: running PROG under the preload, every process of it ---- */
struct mg_spawn {
	const char *verb;          /* for messages */
	char **argv;               /* PROG and its arguments */
	const char *opts[64];      /* -o entries, in order */
	int nopts;
	long timeline;             /* --timeline MS, 0 for none */
	bool python_malloc;        /* set PYTHONMALLOC=malloc */
};
/* The flags run and check share, as getopt_long returns them: 'o' (-o
 * OPT=VAL, checked against the option table), MG_FLAG_PYTHON_MALLOC and
 * MG_FLAG_TIMELINE (--timeline MS).  0, or MG_EXIT_USAGE after one line
 * naming what is wrong and what is accepted. */
enum { MG_FLAG_PYTHON_MALLOC = 0x100, MG_FLAG_TIMELINE };
int mg_spawn_flag(struct mg_spawn *s, int flag, const char *arg);
/* Runs PROG with the preload and waits for it and for every process it
 * started, however far they were orphaned; gathers their reports.  Returns
 * 0 with *status PROG's status (128+N after signal N), or a memgc exit
 * status (MG_EXIT_NOTFOUND, MG_EXIT_NOEXEC, MG_EXIT_SOFTWARE, ...) after
 * one line. */
int mg_spawn_run(const struct mg_spawn *s, struct mg_procs *ps, int *status);

#endif /* MG_CLI_H */
