/* internal.h: the map from shared internal name to the file that owns it.
 *
 * Names: public memgc_* (include/memgc.h), shared mg_<file>_<verb> listed
 * here under the file that defines them, file-local static.  Everything here
 * is hidden from the program (-fvisibility=hidden).
 *
 * Glossary
 *   region   the one span of address space memgc reserves for program
 *            objects; jemalloc's object arenas get their extents from it
 *   object   what the program asked for: user pointer, 16-byte header before
 *   header   16 bytes in front of every object (see header.h)
 *   index    one bit per 16 bytes of the region: set at each live object's
 *            user pointer (index.c)
 *   site     an interned allocation stack, its id kept in the header
 *   thread   a per-thread block of counters (stats.c), summed on read
 *
 * Lock ranks, taken only in this order (never the reverse):
 *   1. mg_stats threads lock   2. mg_sites insert lock
 *   3. heap.c's rotate_lock (the arenas' slots)   4. jemalloc's own
 *   5. heap.c's region_lock (taken in jemalloc's extent hooks)
 *   6. the loader's (dl_iterate_phdr)   7. the world lock (world.c)
 * purge.c's purge_lock is taken alone, around a stop of the world.
 */
#ifndef MG_INTERNAL_H
#define MG_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "memgc.h"

struct mg_thread;   /* stats.h: a thread's counters and jemalloc state */

#define MG_HIDDEN __attribute__((visibility("hidden")))
#define MG_LIKELY(x) __builtin_expect(!!(x), 1)
#define MG_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* Initial-exec TLS: a new thread's first allocation must not reach the
 * dynamic loader through __tls_get_addr. */
#define MG_TLS __thread __attribute__((tls_model("initial-exec")))

#define MG_HDR 16u          /* header size, and the object alignment */
#define MG_MAX_DEPTH 64     /* deepest stack a site keeps */
#define MG_FLUSH_OPS 64     /* thread counters are published every N ops */

/* ---- os.c: the Linux primitives, nothing else calls mmap or /proc ---- */
void *mg_os_map(size_t size);              /* RW, zeroed, lazily backed; NULL on failure */
void *mg_os_reserve(size_t size);          /* PROT_NONE; NULL on failure */
int mg_os_commit(void *p, size_t size);    /* make RW; 0 or -1 */
void mg_os_unmap(void *p, size_t size);
int mg_os_purge(void *p, size_t size);     /* drop the pages; 0 or -1 */
uint64_t mg_os_rss(void);                  /* resident bytes now */
uint64_t mg_os_peak_rss(void);             /* VmHWM */
size_t mg_os_page(void);
/* Reads up to n-1 bytes of a small file, NUL-terminated; length or -1. */
ssize_t mg_os_read_file(const char *path, char *buf, size_t n);
unsigned mg_os_ncpu(void);

/* Drops the resident pages of a range whose words are all 0 or pattern
 * (which then read as 0); only where nothing writes meanwhile (the world
 * stopped).  Returns the bytes dropped. */
size_t mg_os_drop_zero(void *p, size_t size, uint64_t pattern);
/* Which pages may hold data: present or swapped out (the others read as
 * zeros).  Open, query in rising address order, close; without the
 * pagemap every page may. */
#define MG_OS_BACKED_WINDOW 4096
struct mg_os_backed {
	int fd;
	uintptr_t lo, hi;                   /* pages whose entries map holds */
	uint64_t map[MG_OS_BACKED_WINDOW];
};
void mg_os_backed_open(struct mg_os_backed *c);
bool mg_os_backed(struct mg_os_backed *c, uintptr_t addr);
void mg_os_backed_close(struct mg_os_backed *c);
/* Drops many ranges of pages (MADV_DONTNEED) in batches: one
 * process_madvise(2) per batch where the kernel allows it, else madvise(2)
 * per range.  Open, add, close (which drops what is left).  calls counts
 * the system calls made. */
#define MG_OS_DROP_BATCH 512
struct mg_os_dropper {
	int pidfd;
	unsigned n;
	uint64_t calls;
	struct iovec iov[MG_OS_DROP_BATCH];
};
void mg_os_dropper_open(struct mg_os_dropper *d);
void mg_os_dropper_add(struct mg_os_dropper *d, void *p, size_t len);
void mg_os_dropper_close(struct mg_os_dropper *d);
/* Calls fn for each mapping jemalloc made for itself (its mmap calls come
 * to os.c); stops at and returns fn's first non-zero value. */
int mg_os_je_foreach(int (*fn)(uintptr_t start, size_t size, void *arg), void *arg);

/* ---- log.c: messages on stderr, formatted without malloc ---- */
void mg_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A small buffered writer on a file descriptor that never allocates. */
struct mg_out {
	int fd;
	int failed;
	size_t len;
	char buf[4096];
};
void mg_out_init(struct mg_out *o, int fd);
void mg_out_printf(struct mg_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mg_out_json_str(struct mg_out *o, const char *s);  /* quoted, escaped */
int mg_out_flush(struct mg_out *o);                      /* 0, or -1 after any write error */

/* ---- options.c: the one table of options ---- */
enum mg_summary { MG_SUMMARY_NONE, MG_SUMMARY_STDERR, MG_SUMMARY_FILE };
enum mg_on_error { MG_ON_ERROR_ABORT, MG_ON_ERROR_WARN };
struct mg_options {
	bool help;
	int on_error;             /* enum mg_on_error */
	int stack_depth;
	long max_sites;
	long threshold[3];
	uint64_t large_release;
	uint64_t heap_reserve;
	uint64_t arena_span;
	long arenas;
	long report_top;
	long stop_signal;         /* the signal that stops the world (world.c) */
	char report[256];         /* JSON report path, "" for none */
	char summary[256];        /* "stderr", "none" or a path */
};
extern struct mg_options mg_opt;
/* Parses "key=value:key=value" into mg_opt over the defaults; each bad key
 * or value gets one line on stderr and leaves the default.  Returns the
 * number of bad entries.  Never allocates. */
int mg_options_parse(const char *s);
void mg_options_defaults(void);
void mg_options_help(int fd);
void mg_options_json(struct mg_out *o);
/* Parses a size with an optional binary K/M/G/T suffix; 0 or -1. */
int mg_options_size(const char *s, uint64_t *out);

/* ---- index.c: which addresses start live objects ---- */
int mg_index_init(uintptr_t base, size_t size);   /* 0 or -1 */
void mg_index_set(const void *user);
bool mg_index_test(const void *user);     /* an object was allocated at user */
bool mg_index_live(const void *user);     /* ... and is live */
/* The start of the live object whose [start, start+size) holds a, or NULL. */
void *mg_index_find(const void *a);
/* Calls fn for every live object start, in address order; stops early and
 * returns fn's value when fn returns non-zero. */
int mg_index_foreach(int (*fn)(void *user, void *arg), void *arg);
/* The number of live objects the maps reach (equal to the counters' live
 * objects when the threads are quiet). */
size_t mg_index_check(void);
/* Drops stale L0 bytes; only while no other thread allocates. */
size_t mg_index_sweep(void);
/* Sweeps stale bits (calling fn, if not NULL, for each live object in
 * address order), clears empty summaries and drops the index pages left
 * all zero; returns the bytes dropped.  Only with the world stopped. */
size_t mg_index_trim(struct mg_os_backed *c, int (*fn)(void *user, void *arg), void *arg);

/* ---- heap.c: the region, the object arenas, alloc and free ---- */
extern uintptr_t mg_heap_base, mg_heap_end;   /* reserved region */
extern uintptr_t mg_heap_bump;                /* [base, bump) is mapped */
static inline bool mg_heap_owns(const void *p)
{
	return (uintptr_t)p - mg_heap_base < mg_heap_end - mg_heap_base;
}
/* p could start an object: aligned, and its header is mapped memory. */
static inline bool mg_heap_readable(const void *p)
{
	return ((uintptr_t)p & (MG_HDR - 1)) == 0 && (uintptr_t)p >= mg_heap_base + MG_HDR &&
	       (uintptr_t)p < __atomic_load_n(&mg_heap_bump, __ATOMIC_ACQUIRE);
}
int mg_heap_init(void);               /* 0, or -1 with a message */
/* Allocates n bytes aligned to align (a power of two, at least 16), zeroed
 * on request; the header records site.  NULL on failure (errno untouched). */
void *mg_heap_alloc(size_t n, size_t align, bool zero, uint32_t site);
/* Frees an object that mg_heap_owns(); returns 0, or -1 after reporting a
 * double free, an invalid pointer or a corrupted header (then nothing is
 * freed). */
int mg_heap_free(void *p, void *caller);
/* Resizes; the object then counts as allocated at site.  NULL (object
 * untouched) on failure or after a reported error. */
void *mg_heap_realloc(void *p, size_t n, uint32_t site, void *caller);
/* Resizes in place if it can; returns the resulting usable size. */
size_t mg_heap_xalloc(void *p, size_t n, size_t extra, void *caller);
size_t mg_heap_usable(const void *p);         /* 0 when p is not live */
/* The bytes [*lo, *hi) that the live object at user's jemalloc block spans
 * (at least its usable size), from its header alone. */
void mg_heap_block(const void *user, uintptr_t *lo, uintptr_t *hi);
/* A range of addresses [lo, hi). */
struct mg_range {
	uintptr_t lo, hi;
};
/* What one purge did (purge.c). */
struct mg_purge_stats {
	uint64_t time_ns;          /* the page purge, world stop included */
	uint64_t live_page_bytes;  /* bytes of the region's pages holding live objects */
	uint64_t dropped_meta;     /* bytes of zero metadata pages dropped (index, jemalloc) */
	uint64_t madvise_calls;    /* region ranges dropped */
	uint64_t arenas_destroyed; /* empty retired arenas destroyed first (heap.c) */
	int stopped;               /* 1: the world was stopped and the pages purged */
	int region_walked;         /* 1: the region's free pages were dropped */
};
/* Purges every arena, then the free pages inside them (mg_purge_run);
 * fills *ps when not NULL.  0 or jemalloc's errno value. */
int mg_heap_trim(struct mg_purge_stats *ps);
/* The word jemalloc leaves in an rtree leaf entry of a page that is no
 * longer in an extent (same as 0 to its readers), or 0 if unknown. */
uint64_t mg_heap_rtree_cleared(void);
/* The base blocks of the object arenas (see heap.c); with the world stopped. */
long mg_heap_pinned(struct mg_range *out, size_t cap);
size_t mg_heap_usable_class(size_t n);         /* jemalloc's usable size for n */
/* Memory for memgc itself: never from the object arenas, never scanned. */
void *mg_heap_meta_alloc(size_t n);
void mg_heap_meta_free(void *p);
/* Per-thread jemalloc state: the slot and arena of t's thread (fresh: a
 * new block), and the move to the slot's new arena (heap.c). */
void mg_heap_thread_attach(struct mg_thread *t, bool fresh);
extern uint32_t mg_heap_epoch;     /* changes when some slot's arena does */
void mg_heap_thread_flushed(struct mg_thread *t);   /* at each mg_stats_flush */
void mg_heap_thread_refresh(struct mg_thread *t);
void mg_heap_thread_detach(struct mg_thread *t);
void mg_heap_fork_prepare(void);
void mg_heap_fork_parent(void);
void mg_heap_fork_child(void);
/* The bootstrap allocator answers the allocations made while memgc itself
 * initialises; its pointers are recognised and never freed. */
void *mg_heap_boot_alloc(size_t n);
bool mg_heap_boot_owns(const void *p);
size_t mg_heap_boot_size(const void *p);

/* ---- purge.c: the pages that hold nothing, back to the kernel ---- */
/* Stops the world and drops the free pages of the region, the index and
 * jemalloc's metadata (after jemalloc's own purge: mg_heap_trim).  Fills
 * *ps when not NULL.  Can't fail: without a stopped world nothing is
 * dropped and ps->stopped is 0. */
void mg_purge_run(struct mg_purge_stats *ps);
void mg_purge_fork_child(void);

/* ---- stats.c: per-thread counters and the CPython-style counts ----
 * The fast-path updaters are inline in stats.h. */
#define MG_TCACHE_NONE (1 << 8)   /* jemalloc's MALLOCX_TCACHE_NONE */
#define MG_TCACHE_AUTO 0          /* bound by thread.arena: flags 0, automatic tcache */
void mg_stats_init(void);
void mg_stats_flush(struct mg_thread *t);
/* Sets the index bits of every object still in a thread's allocation log:
 * call before reading the index. */
void mg_stats_sync_index(void);
void mg_stats_read(struct memgc_heap_stats *st);
void mg_stats_counts(long counts[3]);
void mg_stats_thresholds(long t[3]);
void mg_stats_set_thresholds(const long t[3]);
void mg_stats_error(void);
void mg_stats_foreign_free(void);
void mg_stats_fork_prepare(void);
void mg_stats_fork_parent(void);
void mg_stats_fork_child(void);

/* ---- sites.c: allocation stacks, interned ---- */
#define MG_SITE_UNKNOWN 0u     /* re-entrant and bootstrap allocations */
#define MG_SITE_OVERFLOW 1u    /* the site table is full */
int mg_sites_init(void);
/* The site of the allocation whose interposed entry point returns to ra. */
uint32_t mg_sites_capture(struct mg_thread *t, void *ra);
uint32_t mg_sites_count(void);
/* The frames of site id (innermost first); returns the depth. */
int mg_sites_frames(uint32_t id, void *const **frames);
/* "function+0xoff (module+0xoff)", or "module+0xoff" without a symbol. */
void mg_sites_symbolize(const void *ip, char *buf, size_t n);
/* The same parts, separately; function is "" when unknown. */
void mg_sites_resolve(const void *ip, const char **function, uintptr_t *fn_off,
		      const char **module, uintptr_t *mod_off);
void mg_sites_fork_prepare(void);
void mg_sites_fork_parent(void);
void mg_sites_fork_child(void);

/* ---- symtab.c: names from a module's .symtab, where dladdr has none ---- */
/* The function of module path (loaded at base) that contains ip. */
bool mg_symtab_lookup(const char *path, uintptr_t ip, uintptr_t base, const char **name,
		      uintptr_t *off);

/* ---- world.c: stopping the world; its interface is lib/world.h ---- */

/* ---- report.c: the exit report, text and JSON ---- */
void mg_report_init(void);      /* at start-up: remembers what stderr is */
/* The reports due at exit; the text summary goes to stderr only if fd 2 is
 * still the file it was at start-up. */
void mg_report_at_exit(void);
int mg_report_json_path(const char *path);
void mg_report_text(int fd);
/* Expands "%p" to the pid into out; returns 0 or -1 when it does not fit. */
int mg_report_path(const char *pattern, char *out, size_t n);

#endif /* MG_INTERNAL_H */
