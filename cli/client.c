/* client.c: `memgc stats PID` and `memgc collect PID`, the client side of a
 * process's control socket (lib/control.c; the protocol is in memgc(1)).
 *
 * The socket is <dir>/<pid>.sock, dir chosen the way the process chose it:
 * option control_dir from its MEMGC_OPTIONS, else $XDG_RUNTIME_DIR/memgc,
 * else /tmp/memgc-<uid>, read from /proc/PID/environ; when that cannot be
 * read (another user's process), from our own environment and its uid.
 *
 * Every failure is one line on stderr and an exit status of memgc(1)'s
 * EXIT STATUS: 64 usage; 69 no such process, no control socket, a stale
 * socket, or a process that exited before it answered; 70 a bad reply or a
 * failed command; 77 permission refused.  A refused or dropped connection
 * to a process that is still alive is retried for RETRY_MS: a process that
 * closed every descriptor makes its socket anew within a second.
 */
#include "config.h"
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define PROTOCOL 1               /* MG_PROTOCOL of lib/internal.h */
#define RETRY_MS 3000
#define REPLY_TIMEOUT_MS 60000
#define PID_LIMIT 4194304        /* PID_MAX_LIMIT on 64-bit Linux */

struct target {
	const char *verb;
	int pid;
	unsigned uid;                /* the process's effective uid */
	int tgid;                    /* its thread group: pid, unless pid is a thread's */
	char name[64];               /* its comm, "?" when unknown */
	char dirs[3][512];           /* where its socket may be */
	int ndirs;
	char path[600];              /* the socket, once found */
};

/* ---- arguments ---- */

static int parse_pid(const char *verb, const char *s, int *pid)
{
	long v = 0;
	const char *c = s;
	for (; *c >= '0' && *c <= '9' && v <= PID_LIMIT; c++)
		v = v * 10 + (*c - '0');
	if (c == s || *c || v < 1 || v > PID_LIMIT)
		return mg_cli_fail(verb, MG_EXIT_USAGE, "'%s' is not a process id: expected a "
				   "positive integer (see memgc %s --help)", s, verb);
	*pid = (int)v;
	return 0;
}

/* ---- finding the socket ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* pid is running: it exists and is not a zombie (dead, not yet reaped). */
static bool alive(int pid)
{
	char path[64], stat[512];
	if (kill(pid, 0) && errno != EPERM)
		return false;
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	FILE *f = fopen(path, "re");
	size_t n = f ? fread(stat, 1, sizeof stat - 1, f) : 0;
	if (f)
		fclose(f);
	stat[n] = '\0';
	const char *end = strrchr(stat, ')');   /* "pid (comm) S ...": comm may hold ')' */
	return !end || (end[1] != ' ' || (end[2] != 'Z' && end[2] != 'X'));
}

/* The whole of a small file, NUL-terminated (malloc'd); NULL with errno. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0, k;
	char *buf = malloc(cap);
	while (buf && (k = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += k;
		if (n + 1 == cap) {
			char *bigger = realloc(buf, cap *= 2);
			if (!bigger)
				free(buf);
			buf = bigger;
		}
	}
	int e = ferror(f) ? errno : 0;
	fclose(f);
	if (!buf || e) {
		free(buf);
		errno = e ? e : ENOMEM;
		return NULL;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/* The process's name and effective uid from /proc/PID/status. */
static void read_status(struct target *t)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", t->pid);
	snprintf(t->name, sizeof t->name, "?");
	t->uid = (unsigned)geteuid();
	char *s = slurp(path, NULL);
	if (!s)
		return;
	char *name = strstr(s, "Name:\t"), *uid = strstr(s, "\nUid:\t"), *tgid = strstr(s, "\nTgid:\t");
	if (tgid)
		t->tgid = atoi(tgid + 7);
	if (name)
		snprintf(t->name, sizeof t->name, "%.*s", (int)strcspn(name + 6, "\n"), name + 6);
	unsigned real, eff;
	if (uid && sscanf(uid + 6, "%u %u", &real, &eff) == 2)
		t->uid = eff;
	free(s);
}

/* The value of control_dir in a MEMGC_OPTIONS string, the last one winning
 * as lib/options.c reads them; "" when there is none. */
static void control_dir_of(const char *opts, char *out, size_t n)
{
	out[0] = '\0';
	while (opts && *opts) {
		size_t len = strcspn(opts, ":");
		if (len > 12 && !strncmp(opts, "control_dir=", 12))
			snprintf(out, n, "%.*s", (int)(len - 12), opts + 12);
		else if (len == 12 && !strncmp(opts, "control_dir=", 12))
			out[0] = '\0';
		opts += len + (opts[len] == ':');
	}
}

static void add_dir(struct target *t, const char *fmt, const char *a, unsigned u)
{
	if (t->ndirs < 3)
		snprintf(t->dirs[t->ndirs++], sizeof t->dirs[0], fmt, a, u);
}

/* Where the process put its socket: computed from opts and xdg as
 * lib/control.c computes it. */
static void dirs_from(struct target *t, const char *opts, const char *xdg)
{
	char dir[512];
	control_dir_of(opts, dir, sizeof dir);
	t->ndirs = 0;
	if (dir[0]) {
		add_dir(t, "%s", dir, 0);
		return;
	}
	if (xdg && xdg[0] == '/')
		add_dir(t, "%s/memgc", xdg, 0);
	add_dir(t, "/tmp/memgc-%.0s%u", "", t->uid);
}

static void find_dirs(struct target *t)
{
	char path[64];
	size_t len;
	snprintf(path, sizeof path, "/proc/%d/environ", t->pid);
	char *env = slurp(path, &len);
	if (!env) {
		/* not ours to read: our own settings, and the process's uid */
		dirs_from(t, getenv("MEMGC_OPTIONS"),
			  t->uid == (unsigned)geteuid() ? getenv("XDG_RUNTIME_DIR") : NULL);
		return;
	}
	const char *opts = NULL, *xdg = NULL;
	for (size_t i = 0; i < len; i += strlen(env + i) + 1) {
		if (!strncmp(env + i, "MEMGC_OPTIONS=", 14))
			opts = env + i + 14;
		else if (!strncmp(env + i, "XDG_RUNTIME_DIR=", 16))
			xdg = env + i + 16;
	}
	dirs_from(t, opts, xdg);
	free(env);
}

static bool maps_have_memgc(int pid, bool *known)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/maps", pid);
	char *maps = slurp(path, NULL);
	*known = maps != NULL;
	bool yes = maps && strstr(maps, "libmemgc");
	free(maps);
	return yes;
}

static int sock_addr(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun->sun_path)
		return -1;
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return 0;
}

/* Connects to path: the socket, or -1 with errno. */
static int dial(const char *path)
{
	struct sockaddr_un sun;
	if (sock_addr(&sun, path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	if (connect(s, (struct sockaddr *)&sun, sizeof sun)) {
		int e = errno;
		close(s);
		errno = e;
		return -1;
	}
	return s;
}

/* Removes path when nobody listens on it; true when it did. */
static bool remove_stale(const char *path)
{
	int s = dial(path);
	if (s >= 0) {
		close(s);
		return false;
	}
	return errno == ECONNREFUSED && unlink(path) == 0;
}

/* For a pid that is not running: removes the socket it left (at path, or
 * searched for where our own settings put sockets), if any and if we may,
 * and says so. */
static int no_process(struct target *t, const char *path)
{
	char removed[700] = "", guess[600];
	if (!path) {
		t->uid = (unsigned)geteuid();
		dirs_from(t, getenv("MEMGC_OPTIONS"), getenv("XDG_RUNTIME_DIR"));
	}
	for (int i = 0; i < (path ? 1 : t->ndirs) && !removed[0]; i++) {
		if (!path)
			snprintf(guess, sizeof guess, "%s/%d.sock", t->dirs[i], t->pid);
		if (remove_stale(path ? path : guess))
			snprintf(removed, sizeof removed, " (removed the stale control socket %s it left)",
				 path ? path : guess);
	}
	return mg_cli_fail(t->verb, MG_EXIT_NOPROC, "no process %d is running%s", t->pid, removed);
}

static void dir_list(const struct target *t, char *buf, size_t n)
{
	size_t k = 0;
	buf[0] = '\0';
	for (int i = 0; i < t->ndirs && k < n; i++)
		k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? ", " : "", t->dirs[i]);
}

/* Finds the process's socket: 0 with t->path, or an exit status after one
 * line saying why not. */
static int locate(struct target *t)
{
	char list[1600];
	const char *denied = NULL;
	if (!alive(t->pid))
		return no_process(t, NULL);
	read_status(t);
	if (t->tgid > 0 && t->tgid != t->pid) {
		struct target p = { .pid = t->tgid };
		read_status(&p);
		return mg_cli_fail(t->verb, MG_EXIT_USAGE, "%d is a thread of process %d (%s): give "
				   "the process's id", t->pid, p.pid, p.name);
	}
	find_dirs(t);
	for (int i = 0; i < t->ndirs; i++) {
		struct stat st;
		snprintf(t->path, sizeof t->path, "%s/%d.sock", t->dirs[i], t->pid);
		if (lstat(t->path, &st) == 0 && S_ISSOCK(st.st_mode))
			return 0;
		if (errno == EACCES && !denied)
			denied = t->dirs[i];
	}
	if (!alive(t->pid))
		return no_process(t, NULL);
	if (denied)
		return mg_cli_fail(t->verb, MG_EXIT_NOPERM, "permission denied: cannot look into %s "
				   "for the control socket of process %d (%s), which belongs to uid %u; "
				   "run as that user or root", denied, t->pid, t->name, t->uid);
	dir_list(t, list, sizeof list);
	bool known, memgc = maps_have_memgc(t->pid, &known);
	if (known && !memgc)
		return mg_cli_fail(t->verb, MG_EXIT_NOPROC, "process %d (%s) does not run under memgc: "
				   "start it with memgc run -- PROG", t->pid, t->name);
	if (known)
		return mg_cli_fail(t->verb, MG_EXIT_NOPROC, "process %d (%s) runs memgc without a control "
				   "socket (none in %s): start it with memgc run, or with "
				   "MEMGC_OPTIONS=control=1", t->pid, t->name, list);
	return mg_cli_fail(t->verb, MG_EXIT_NOPROC, "process %d (%s) has no memgc control socket in %s",
			   t->pid, t->name, list);
}

/* ---- one request, one reply ---- */

enum { GOT_REPLY, GOT_EOF, GOT_TIMEOUT, GOT_ERROR };

/* Sends req and reads one reply line into *reply (malloc'd, newline cut). */
static int ask(int s, const char *req, char **reply)
{
	size_t n = strlen(req), cap = 4096, len = 0;
	for (size_t off = 0; off < n;) {
		ssize_t w = send(s, req + off, n - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EPIPE && errno != ECONNRESET)
			return GOT_ERROR;
		if (w < 0)
			break;   /* closed already: it may have answered first (a refusal) */
		off += (size_t)w;
	}
	char *buf = malloc(cap);
	uint64_t deadline = now_ms() + REPLY_TIMEOUT_MS;
	while (buf) {
		char *nl = memchr(buf, '\n', len);
		if (nl) {
			*nl = '\0';
			*reply = buf;
			return GOT_REPLY;
		}
		uint64_t now = now_ms();
		struct pollfd p = { s, POLLIN, 0 };
		int r = now >= deadline ? 0 : poll(&p, 1, (int)(deadline - now));
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			free(buf);
			return GOT_TIMEOUT;
		}
		if (len + 1 == cap) {
			char *bigger = cap < (64u << 20) ? realloc(buf, cap *= 2) : NULL;
			if (!bigger)
				break;
			buf = bigger;
		}
		ssize_t k = recv(s, buf + len, cap - len - 1, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			int e = k < 0 ? errno : 0;
			free(buf);
			return !e || e == ECONNRESET ? GOT_EOF : GOT_ERROR;
		}
		len += (size_t)k;
	}
	free(buf);
	errno = ENOMEM;
	return GOT_ERROR;
}

/* Waits up to ms for pid to be gone; true when it is. */
static bool gone_within(int pid, long ms)
{
	for (long waited = 0; alive(pid); waited += 20) {
		if (waited >= ms)
			return false;
		sleep_ms(20);
	}
	return true;
}

/* Sends req to the process and parses its reply: 0 with *doc (and the
 * reply's text in *text), or an exit status after one line. */
static int request(struct target *t, const char *req, struct mg_json **doc, char **text)
{
	int st = locate(t);
	if (st)
		return st;
	uint64_t deadline = now_ms() + RETRY_MS;
	for (;;) {
		int s = dial(t->path), got = GOT_ERROR, e = errno;
		char *reply = NULL;
		if (s >= 0) {
			got = ask(s, req, &reply);
			e = errno;
			close(s);
		} else if (e == EACCES || e == EPERM) {
			return mg_cli_fail(t->verb, MG_EXIT_NOPERM, "permission denied: cannot connect to "
					   "%s, the control socket of process %d (%s, uid %u): %s", t->path,
					   t->pid, t->name, t->uid, strerror(e));
		} else if (e == ECONNREFUSED || e == ENOENT) {
			got = GOT_EOF;
		}
		if (got == GOT_REPLY) {
			char err[512];
			*doc = mg_json_parse(reply, strlen(reply), err, sizeof err);
			if (!*doc) {
				mg_cli_fail(t->verb, MG_EXIT_SOFTWARE, "process %d sent a reply that is not "
					    "JSON: %s", t->pid, err);
				free(reply);
				return MG_EXIT_SOFTWARE;
			}
			*text = reply;
			return 0;
		}
		if (got == GOT_TIMEOUT)
			return mg_cli_fail(t->verb, MG_EXIT_SOFTWARE, "process %d (%s) did not answer in %d s "
					   "(is it stopped?)", t->pid, t->name, REPLY_TIMEOUT_MS / 1000);
		if (got == GOT_ERROR)
			return mg_cli_fail(t->verb, MG_EXIT_SOFTWARE, "talking to process %d on %s: %s",
					   t->pid, t->path, strerror(e));
		/* refused, or dropped before a reply: gone, or making its socket anew */
		bool connected = s >= 0;
		if (!connected && gone_within(t->pid, 0))
			return no_process(t, t->path);
		if (connected && gone_within(t->pid, 1000))
			return mg_cli_fail(t->verb, MG_EXIT_NOPROC, "process %d (%s) exited before it "
					   "answered%s", t->pid, t->name, remove_stale(t->path)
					   ? "; its stale control socket is removed" : "");
		if (now_ms() >= deadline) {
			if (connected)
				return mg_cli_fail(t->verb, MG_EXIT_SOFTWARE, "process %d (%s) closed the "
						   "connection without answering", t->pid, t->name);
			return mg_cli_fail(t->verb, MG_EXIT_NOPROC, "process %d (%s) does not answer on %s: "
					   "a stale socket, left by a process that exec'd or died (and pid %d "
					   "now names another)", t->pid, t->name, t->path, t->pid);
		}
		sleep_ms(100);
	}
}

/* The reply's verdict: 0 for "ok": true, else an exit status after one line. */
static int verdict(const struct target *t, const struct mg_json *r)
{
	const struct mg_json *ok = mg_json_get(r, "ok"), *refused = mg_json_get(r, "refused");
	const char *err = mg_json_str(r, "error", "(no message)");
	if (!r || r->kind != MG_JSON_OBJECT || mg_json_u64(r, "memgc", 0) != PROTOCOL ||
	    !ok || ok->kind != MG_JSON_BOOL)
		return mg_cli_fail(t->verb, MG_EXIT_SOFTWARE, "process %d answered in another protocol "
				   "than memgc %d's (a memgc of another version?)", t->pid, PROTOCOL);
	if (ok->b)
		return 0;
	if (refused && refused->kind == MG_JSON_BOOL && refused->b)
		return mg_cli_fail(t->verb, MG_EXIT_NOPERM, "process %d refused the connection: %s",
				   t->pid, err);
	return mg_cli_fail(t->verb, MG_EXIT_SOFTWARE, "process %d: %s", t->pid, err);
}

/* ---- printing ---- */

static unsigned long long u(const struct mg_json *r, const char *path)
{
	return (unsigned long long)mg_json_u64(r, path, 0);
}

static const char *size(const struct mg_json *r, const char *path, char *buf, size_t n)
{
	return mg_units_human(mg_json_u64(r, path, 0), buf, n);
}

/* Generation g's entry of the collector's figures, or NULL. */
static const struct mg_json *generation(const struct mg_json *r, int g)
{
	const struct mg_json *gens = mg_json_get(r, "collector.generations");
	return gens && gens->kind == MG_JSON_ARRAY && (size_t)g < gens->n ? &gens->kids[g] : NULL;
}

static uint64_t item(const struct mg_json *r, const char *path, int i)
{
	const struct mg_json *a = mg_json_get(r, path);
	if (!a || a->kind != MG_JSON_ARRAY || (size_t)i >= a->n || a->kids[i].kind != MG_JSON_NUMBER)
		return 0;
	return a->kids[i].u;
}

static void print_stats(const struct mg_json *r)
{
	char a[32], b[32], c[32];
	const struct mg_json *col = mg_json_get(r, "collector");
	printf("pid %llu (%s), memgc %s\n", u(r, "pid"), mg_json_str(r, "exe", "?"),
	       mg_json_str(r, "version", "?"));
	printf("  RSS            %s (%llu bytes), peak %s\n", size(r, "heap.rss_bytes", a, sizeof a),
	       u(r, "heap.rss_bytes"), size(r, "heap.peak_rss_bytes", b, sizeof b));
	printf("  live           %llu objects, %s (%llu bytes; usable %s)\n", u(r, "heap.live_objects"),
	       size(r, "heap.live_bytes", a, sizeof a), u(r, "heap.live_bytes"),
	       size(r, "heap.live_usable_bytes", b, sizeof b));
	printf("  peak live      %llu objects, %s (usable %s)\n", u(r, "heap.peak_live_objects"),
	       size(r, "heap.peak_live_bytes", a, sizeof a), size(r, "heap.peak_usable_bytes", b, sizeof b));
	printf("  fragmentation  %s (RSS minus live bytes)\n", size(r, "fragmentation_bytes", a, sizeof a));
	printf("  allocations    %llu, deallocations %llu, %s requested in all\n",
	       u(r, "heap.allocations"), u(r, "heap.deallocations"),
	       size(r, "heap.allocated_bytes", c, sizeof c));
	printf("  errors         %llu pointer errors, %llu frees of memory memgc did not hand out\n",
	       u(r, "heap.errors"), u(r, "heap.foreign_frees"));
	printf("  sites          %llu allocation sites\n", u(r, "heap.sites"));
	printf("  write watch    %s\n", mg_json_str(r, "write_watch", "?"));
	if (col && col->kind == MG_JSON_OBJECT) {
		const struct mg_json *en = mg_json_get(col, "enabled");
		printf("  collector      mode %s, automatic collections %s, %llu frozen objects, "
		       "%llu on the garbage list\n", mg_json_str(col, "mode", "?"),
		       en && en->kind == MG_JSON_BOOL && en->b ? "on" : "off",
		       u(col, "freeze_count"), u(col, "garbage"));
	} else {
		printf("  collector      none in this memgc: counts and thresholds only\n");
	}
	printf("  generation  count  threshold  collections  collected  uncollectable  "
	       "pause total  pause max\n");
	for (int g = 0; g < 3; g++) {
		const struct mg_json *gen = generation(r, g);
		printf("  %10d  %5llu  %9llu", g, (unsigned long long)item(r, "gc.count", g),
		       (unsigned long long)item(r, "gc.threshold", g));
		if (gen)
			printf("  %11llu  %9llu  %13llu  %8.3f ms  %6.3f ms\n", u(gen, "collections"),
			       u(gen, "collected"), u(gen, "uncollectable"),
			       (double)u(gen, "pause_ns") / 1e6, (double)u(gen, "max_pause_ns") / 1e6);
		else
			printf("  %11s  %9s  %13s  %11s  %9s\n", "-", "-", "-", "-", "-");
	}
}

/* The Prometheus metrics: name, type, help, and where the value is in the
 * reply (for per-generation ones: an array of gc, or a field of each of
 * collector.generations, scaled by 1/div: nanoseconds to seconds). */
struct metric {
	const char *name, *type, *help, *path;
	bool per_gen, of_collector;
	double div;
};

static const struct metric metrics[] = {
	{ "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
	  "heap.rss_bytes", false, false, 1 },
	{ "memgc_peak_resident_memory_bytes", "gauge", "Peak resident memory size in bytes.",
	  "heap.peak_rss_bytes", false, false, 1 },
	{ "memgc_live_objects", "gauge", "Objects allocated and not yet freed.",
	  "heap.live_objects", false, false, 1 },
	{ "memgc_live_bytes", "gauge", "Bytes requested by the live objects.",
	  "heap.live_bytes", false, false, 1 },
	{ "memgc_live_usable_bytes", "gauge", "Usable bytes of the live objects.",
	  "heap.live_usable_bytes", false, false, 1 },
	{ "memgc_peak_live_objects", "gauge", "Most live objects at any time.",
	  "heap.peak_live_objects", false, false, 1 },
	{ "memgc_peak_live_bytes", "gauge", "Most live bytes at any time.",
	  "heap.peak_live_bytes", false, false, 1 },
	{ "memgc_fragmentation_bytes", "gauge", "Resident bytes minus live bytes.",
	  "fragmentation_bytes", false, false, 1 },
	{ "memgc_allocations_total", "counter", "Allocations made.",
	  "heap.allocations", false, false, 1 },
	{ "memgc_deallocations_total", "counter", "Deallocations made.",
	  "heap.deallocations", false, false, 1 },
	{ "memgc_allocated_bytes_total", "counter", "Bytes requested by all allocations.",
	  "heap.allocated_bytes", false, false, 1 },
	{ "memgc_pointer_errors_total", "counter",
	  "Double frees, invalid frees and corrupted headers caught.", "heap.errors", false, false, 1 },
	{ "memgc_foreign_frees_total", "counter", "Frees of memory memgc did not hand out.",
	  "heap.foreign_frees", false, false, 1 },
	{ "memgc_sites", "gauge", "Distinct allocation sites seen.", "heap.sites", false, false, 1 },
	{ "memgc_gc_count", "gauge", "CPython-style count of each generation.",
	  "gc.count", true, false, 1 },
	{ "memgc_gc_threshold", "gauge", "Threshold of each generation.",
	  "gc.threshold", true, false, 1 },
	{ "memgc_collections_total", "counter", "Collections of each generation.",
	  "collections", true, true, 1 },
	{ "memgc_collected_objects_total", "counter", "Unreachable objects freed.",
	  "collected", true, true, 1 },
	{ "memgc_collected_bytes_total", "counter", "Bytes of unreachable objects freed.",
	  "collected_bytes", true, true, 1 },
	{ "memgc_uncollectable_objects_total", "counter", "Unreachable objects found and kept.",
	  "uncollectable", true, true, 1 },
	{ "memgc_uncollectable_bytes_total", "counter", "Bytes of unreachable objects found and kept.",
	  "uncollectable_bytes", true, true, 1 },
	{ "memgc_pause_seconds_total", "counter", "Time the world was stopped.",
	  "pause_ns", true, true, 1e9 },
	{ "memgc_pause_max_seconds", "gauge", "Longest single stop of the world.",
	  "max_pause_ns", true, true, 1e9 },
	{ "memgc_collection_seconds_total", "counter", "Time spent in collections, stops included.",
	  "total_ns", true, true, 1e9 },
};

static void print_prometheus(const struct mg_json *r)
{
	unsigned long long pid = u(r, "pid");
	for (size_t i = 0; i < sizeof metrics / sizeof metrics[0]; i++) {
		const struct metric *m = &metrics[i];
		if (m->of_collector && !generation(r, 0))
			continue;   /* no collector in this memgc: no such figures */
		printf("# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name, m->type);
		if (!m->per_gen) {
			printf("%s{pid=\"%llu\"} %llu\n", m->name, pid, u(r, m->path));
			continue;
		}
		for (int g = 0; g < 3; g++) {
			double v = m->of_collector ? (double)u(generation(r, g), m->path)
						   : (double)item(r, m->path, g);
			printf("%s{pid=\"%llu\",generation=\"%d\"} %.17g\n", m->name, pid, g, v / m->div);
		}
	}
	printf("# HELP memgc_write_watch Whether collections use the write watch (1) or not (0).\n"
	       "# TYPE memgc_write_watch gauge\nmemgc_write_watch{pid=\"%llu\"} %d\n", pid,
	       strncmp(mg_json_str(r, "write_watch", "off"), "on", 2) ? 0 : 1);
}

static void print_collect(const struct mg_json *r)
{
	char a[32], b[32], c[32], d[32];
	uint64_t before = mg_json_u64(r, "rss_before", 0), after = mg_json_u64(r, "rss_after", 0);
	const struct mg_json *col = mg_json_get(r, "collector");
	double ms = (double)u(r, "total_ns") / 1e6;
	if (col && col->kind == MG_JSON_BOOL && !col->b)
		printf("pid %llu: trimmed in %.3f ms; no collection: this memgc has no collector yet\n",
		       u(r, "pid"), ms);
	else
		printf("pid %llu: collected generations 0 to %llu and trimmed in %.3f ms (world stopped "
		       "%.3f ms)\n", u(r, "pid"), u(r, "generation"), ms, (double)u(r, "pause_ns") / 1e6);
	mg_units_human(before, a, sizeof a);
	mg_units_human(after, b, sizeof b);
	if (after <= before)
		printf("  RSS          %s -> %s (%s given back)\n", a, b,
		       mg_units_human(before - after, c, sizeof c));
	else
		printf("  RSS          %s -> %s (%s more)\n", a, b, mg_units_human(after - before, c, sizeof c));
	if (!col || col->kind != MG_JSON_BOOL)
		printf("  unreachable  %llu objects (%s) found, %llu objects (%s) freed\n",
		       u(r, "found_objects"), size(r, "found_bytes", a, sizeof a), u(r, "freed_objects"),
		       size(r, "freed_bytes", d, sizeof d));
}

/* ---- the verbs ---- */

static const char stats_usage[] =
	"usage: memgc stats PID [--json | --prometheus]\n"
	"Prints the memory figures of process PID, which runs under memgc with its\n"
	"control socket (memgc run, or MEMGC_OPTIONS=control=1): RSS, live objects and\n"
	"bytes, counts and thresholds per generation, collections and pause times,\n"
	"fragmentation (RSS minus live bytes), and whether the write watch is in use.\n"
	"  --json        the process's reply as it is: one JSON object (memgc(1))\n"
	"  --prometheus  Prometheus text format: process_resident_memory_bytes, memgc_*\n"
	"Exit status: 0; 64 usage; 69 no such process or no memgc control socket in it;\n"
	"70 a bad reply; 77 permission refused (memgc(1), EXIT STATUS).\n";

static const char collect_usage[] =
	"usage: memgc collect PID [-g N] [--json]\n"
	"Makes process PID, which runs under memgc with its control socket, collect\n"
	"generations 0 to N (default 2) and give its free pages back to the kernel,\n"
	"then prints RSS before and after, the objects and bytes found unreachable and\n"
	"freed, and the time it took.\n"
	"  -g, --generation N  0, 1 or 2 (default 2)\n"
	"  --json              the process's reply as it is: one JSON object (memgc(1))\n"
	"Exit status: 0; 64 usage; 69 no such process or no memgc control socket in it;\n"
	"70 a bad reply or a failed collection; 77 permission refused.\n";

enum format { TEXT, JSON, PROMETHEUS };

/* Reads PID and the flags common to both verbs; gen is NULL for stats. */
static int parse_args(int argc, char **argv, int *pid, enum format *fmt, int *gen)
{
	const char *verb = argv[0], *pid_arg = NULL;
	bool only_pids = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *g = NULL;
		if (!only_pids && !strcmp(a, "--")) {
			only_pids = true;
		} else if (!only_pids && (!strcmp(a, "--json") || (!gen && !strcmp(a, "--prometheus")))) {
			enum format f = a[2] == 'j' ? JSON : PROMETHEUS;
			if (*fmt != TEXT && *fmt != f)
				return mg_cli_fail(verb, MG_EXIT_USAGE, "--json and --prometheus exclude "
						   "each other");
			*fmt = f;
		} else if (!only_pids && gen && (!strcmp(a, "-g") || !strcmp(a, "--generation"))) {
			if (i + 1 == argc)
				return mg_cli_fail(verb, MG_EXIT_USAGE, "%s needs a generation: 0, 1 or 2", a);
			g = argv[++i];
		} else if (!only_pids && gen && !strncmp(a, "--generation=", 13)) {
			g = a + 13;
		} else if (!only_pids && gen && !strncmp(a, "-g", 2)) {
			g = a + 2;
		} else if (!only_pids && a[0] == '-' && a[1] && (a[1] < '0' || a[1] > '9')) {
			return mg_cli_fail(verb, MG_EXIT_USAGE, "unknown option '%s' (see memgc %s --help)",
					   a, verb);
		} else if (pid_arg) {
			return mg_cli_fail(verb, MG_EXIT_USAGE, "one PID only, not '%s' as well as '%s'",
					   a, pid_arg);
		} else {
			pid_arg = a;
		}
		if (g) {
			if (strlen(g) != 1 || g[0] < '0' || g[0] > '2')
				return mg_cli_fail(verb, MG_EXIT_USAGE, "bad generation '%s': expected 0, 1 "
						   "or 2", g);
			*gen = g[0] - '0';
		}
	}
	if (!pid_arg)
		return mg_cli_fail(verb, MG_EXIT_USAGE, "missing PID: usage: memgc %s PID%s",
				   verb, gen ? " [-g N] [--json]" : " [--json | --prometheus]");
	return parse_pid(verb, pid_arg, pid);
}

/* Asks the process, checks its answer and prints it. */
static int run(const char *verb, int pid, const char *req, enum format fmt,
	       void (*print)(const struct mg_json *r))
{
	struct target t = { .verb = verb, .pid = pid };
	struct mg_json *doc = NULL;
	char *text = NULL;
	int st = request(&t, req, &doc, &text);
	if (st == 0 && (st = verdict(&t, doc)) == 0) {
		if (fmt == JSON)
			printf("%s\n", text);
		else if (fmt == PROMETHEUS)
			print_prometheus(doc);
		else
			print(doc);
		if (fflush(stdout) || ferror(stdout))
			st = mg_cli_fail(verb, MG_EXIT_SOFTWARE, "cannot write the output: %s",
					 strerror(errno));
	}
	mg_json_free(doc);
	free(text);
	return st;
}

int mg_cli_stats(int argc, char **argv)
{
	int pid = 0;
	enum format fmt = TEXT;
	char req[64];
	if (mg_cli_wants_help(argc, argv, stats_usage))
		return MG_EXIT_OK;
	int st = parse_args(argc, argv, &pid, &fmt, NULL);
	if (st)
		return st;
	snprintf(req, sizeof req, "{\"memgc\": %d, \"cmd\": \"stats\"}\n", PROTOCOL);
	return run(argv[0], pid, req, fmt, print_stats);
}

int mg_cli_collect(int argc, char **argv)
{
	int pid = 0, gen = 2;
	enum format fmt = TEXT;
	char req[96];
	if (mg_cli_wants_help(argc, argv, collect_usage))
		return MG_EXIT_OK;
	int st = parse_args(argc, argv, &pid, &fmt, &gen);
	if (st)
		return st;
	snprintf(req, sizeof req, "{\"memgc\": %d, \"cmd\": \"collect\", \"generation\": %d}\n",
		 PROTOCOL, gen);
	return run(argv[0], pid, req, fmt, print_collect);
}
