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
 *   6. the watch lock (watch.c)   7. the loader's (dl_iterate_phdr)
 *   8. the world lock (world.c)
 * purge.c's purge_lock is taken around a stop of the world, after
 * collect.c's lock when a collection purges, and before the watch lock,
 * which the purge holds across its stop as a collection does.
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

/* Everything declared from here on is hidden, so that the compiler
 * reaches it directly (no GOT load before each global's use). */
#pragma GCC visibility push(hidden)
struct mg_thread;   /* stats.h: a thread's counters and jemalloc state */


#define MG_HIDDEN __attribute__((visibility("hidden")))
#define MG_LIKELY(x) __builtin_expect(!!(x), 1)
#define MG_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* For the malloc and free fast paths, which GCC would otherwise leave as
 * calls once they pass its size limit for inlining. */
#define MG_ALWAYS_INLINE inline __attribute__((always_inline))
/* Initial-exec TLS: a new thread's first allocation must not reach the
 * dynamic loader through __tls_get_addr. */
#define MG_TLS __thread __attribute__((tls_model("initial-exec")))

#define MG_HDR 16u          /* header size, and the object alignment */
#define MG_MAX_DEPTH 64     /* deepest stack a site keeps */
#define MG_FLUSH_OPS 64     /* thread counters are published every N ops */

/* ---- os.c: the Linux primitives, nothing else calls mmap or /proc ---- */
void *mg_os_map(size_t size);              /* RW, zeroed, lazily backed; NULL on failure */
uint64_t mg_os_now_ns(void);               /* CLOCK_MONOTONIC, in ns */
pid_t mg_os_tid(void);                     /* the calling thread's id (gettid) */
void *mg_os_reserve(size_t size);          /* PROT_NONE; NULL on failure */
int mg_os_commit(void *p, size_t size);    /* make RW; 0 or -1 */
void mg_os_unmap(void *p, size_t size);
int mg_os_purge(void *p, size_t size);     /* drop the pages; 0 or -1 */
uint64_t mg_os_rss(void);                  /* resident bytes now */
uint64_t mg_os_peak_rss(void);             /* VmHWM */
size_t mg_os_page(void);
/* Reads up to n-1 bytes of a small file, NUL-terminated; length or -1. */
ssize_t mg_os_read_file(const char *path, char *buf, size_t n);
/* Descriptors (design.md, "Descriptors"): memgc's threads call
 * mg_os_own_table() first (a table of their own, the program's
 * descriptors closed in it; 0, or -1 and errno where unshare is refused);
 * mg_os_aside(fn, arg, start) runs fn here when this thread's table is
 * memgc's, else on the collector thread (start: may start that thread;
 * never inside malloc), else here.  mg_log_stderr() gives a descriptor
 * for the program's standard error, -1 if none; mg_log_stderr_done()
 * after (log.c). */
int mg_os_own_table(void);
bool mg_os_table_own(void);
long mg_os_aside(long (*fn)(void *), void *arg, bool start);
/* mg_os_collector(fn, arg): fn on the collector thread itself, started if
 * need be (collections, freeze, purge: the watch's descriptors are in its
 * table), here only where it cannot run; mg_os_on_collector(): the caller
 * is that thread, which says so with mg_os_aside_home(). */
long mg_os_collector(long (*fn)(void *), void *arg);
bool mg_os_on_collector(void);
void mg_os_aside_home(void);
void mg_os_set_aside(long (*runner)(long (*fn)(void *), void *arg, bool start));
void mg_log_own_table(void);
int mg_log_stderr(void);
void mg_log_stderr_done(int fd);
unsigned mg_os_ncpu(void);
/* memgc's own mappings (every mg_os_map one): fn is called for each until
 * it returns non-zero, which is returned.  Lock-free. */
int mg_os_own_foreach(int (*fn)(uintptr_t start, size_t size, void *arg), void *arg);
unsigned mg_os_own_lost(void);   /* own mappings the list had no room for */
/* Reads the file at path through buf (size bytes; longer lines are cut)
 * and calls fn per line (NUL-terminated, no newline) until it returns
 * non-zero, which is returned; -1 when the file cannot be opened.  No
 * malloc. */
int mg_os_lines(const char *path, char *buf, size_t size, int (*fn)(char *line, void *arg),
		void *arg);
/* One mapping of /proc/self/maps. */
struct mg_os_vma {
	uintptr_t start, end;
	char perms[5];          /* "rw-p" */
	const char *path;       /* "" for anonymous, "[stack]", a file, ... */
};
/* Reads /proc/self/maps through buf (size bytes; longer lines are cut) and
 * calls fn per mapping until it returns non-zero; returns that, or -1 when
 * the file cannot be opened.  No malloc. */
/* /proc/self/pagemap, or -1 */
int mg_os_pagemap_open(void);
/* Calls fn for the runs of [lo, hi) (anonymous memory) whose pages are
 * present or swapped: the rest was never written and reads as zeros. */
void mg_os_touched_runs(int fd, uintptr_t lo, uintptr_t hi,
			void (*fn)(uintptr_t lo, uintptr_t hi));
int mg_os_maps_foreach(char *buf, size_t size, int (*fn)(const struct mg_os_vma *v, void *arg),
		       void *arg);

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
	bool sock;                /* fd is a socket: send(MSG_NOSIGNAL), never SIGPIPE */
	size_t len;
	char buf[4096];
};
void mg_out_init(struct mg_out *o, int fd);
void mg_out_init_socket(struct mg_out *o, int fd);
void mg_out_printf(struct mg_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mg_out_json_str(struct mg_out *o, const char *s);  /* quoted, escaped */
int mg_out_flush(struct mg_out *o);                      /* 0, or -1 after any write error */
/* "12.3 MiB", "3000 B": a size for people, in powers of 1024; returns buf. */
const char *mg_log_size(uint64_t bytes, char *buf, size_t n);

/* ---- options.c: the one table of options ---- */
enum mg_summary { MG_SUMMARY_NONE, MG_SUMMARY_STDERR, MG_SUMMARY_FILE };
enum mg_on_error { MG_ON_ERROR_ABORT, MG_ON_ERROR_WARN };
enum mg_mode { MG_MODE_ACCOUNT, MG_MODE_RECLAIM };
enum mg_watch_mode { MG_WATCH_AUTO, MG_WATCH_OFF, MG_WATCH_VERIFY };
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
	long timeline;            /* ms between timeline samples, 0 for none */
	long stop_signal;         /* the signal that stops the world (world.c) */
	int mode;                 /* enum mg_mode */
	bool gc;                  /* automatic collections */
	long gc_debug;            /* MEMGC_DEBUG_* at start */
	bool interior;            /* interior pointers keep objects reachable */
	bool leak_check;          /* a full collection at exit */
	long exitcode;            /* exit status when it finds leaks; 0: unchanged */
	long mark_stack;          /* most mark stack entries (it grows as needed) */
	int watch;                /* enum mg_watch_mode (watch.c) */
	bool control;             /* serve the control socket (control.c) */
	long collect_signal;      /* 0, or the signal that asks for a collection */
	char report[256];         /* JSON report path, "" for none */
	char summary[256];        /* "stderr", "none" or a path */
	char control_dir[256];    /* "" for the default (control.c) */
};
extern struct mg_options mg_opt;
/* Parses "key=value:key=value" into mg_opt over the defaults; each bad key
 * or value gets one line on stderr and leaves the default.  Returns the
 * number of bad entries.  Never allocates. */
int mg_options_parse(const char *s);
/* Checks s as mg_options_parse would read it, setting nothing: 0, or -1
 * with the first bad entry's message (as parse logs it, without
 * "MEMGC_OPTIONS: " and the default used) in why. */
int mg_options_check(const char *s, char *why, size_t n);
void mg_options_defaults(void);
void mg_options_help(int fd);
void mg_options_json(struct mg_out *o);
/* Parses a size with an optional binary K/M/G/T suffix; 0 or -1. */
int mg_options_size(const char *s, uint64_t *out);

/* ---- index.c: which addresses start live objects ---- */
int mg_index_init(uintptr_t base, size_t size);   /* 0 or -1 */
void mg_index_set(const void *user);
/* mg_index_set for each of users[0..n), none of them NULL. */
void mg_index_set_many(void *const *users, size_t n);
/* Clears the L0 bits of [lo, lo + size), a range of the region that holds
 * no live object (an extent of a destroyed arena): the sweeps and lookups
 * that follow need not read the headers of the objects it had.  Safe with
 * other threads setting bits around it. */
void mg_index_clear(const void *lo, size_t size);
bool mg_index_test(const void *user);     /* an object was allocated at user */
bool mg_index_live(const void *user);     /* ... and is live */
/* The start of the live object whose [start, start+size) holds a, or NULL. */
void *mg_index_find(const void *a);
/* mg_index_find in two steps, so that a caller can fetch the header of
 * the first candidate before it is read: _prev reads only the maps and
 * gives the nearest allocated start at or below a (live or stale), or NULL
 * when none can hold a; _find_from(a, mg_index_prev(a)) is then
 * mg_index_find(a).  NULL start gives NULL. */
void *mg_index_prev(const void *a);
void *mg_index_find_from(const void *a, void *start);
/* Fetches the L0 word of a's granule ahead of a lookup (meant for a in
 * the region's mapped part; a prefetch elsewhere is harmless, never a
 * fault).  mg_index_l0_origin: L0's address less that of the word of
 * address 0 (the region is page aligned). */
extern uintptr_t mg_index_l0_origin;
static inline void mg_index_prefetch(const void *a)
{
	__builtin_prefetch((const void *)(mg_index_l0_origin + ((uintptr_t)a >> 10) * 8));
}
/* The page map (index.c) that answers a search below a page in one load:
 * built by every mg_index_sweep_foreach, invalid from the next bit set.
 * _valid: in use now; _drop: invalid, its pages given back. */
bool mg_index_pagemap_valid(void);
void mg_index_pagemap_drop(void);
/* Calls fn for every live object start, in address order; stops early and
 * returns fn's value when fn returns non-zero. */
int mg_index_foreach(int (*fn)(void *user, void *arg), void *arg);
/* The same for the live objects that start in [lo, hi) only. */
int mg_index_foreach_range(uintptr_t lo, uintptr_t hi, int (*fn)(void *user, void *arg), void *arg);
/* The number of live objects the maps reach (equal to the counters' live
 * objects when the threads are quiet). */
size_t mg_index_check(void);
/* Drops stale L0 bits (and summary bytes over nothing) and builds the
 * page map; only while no other thread allocates.  Returns the bits
 * dropped. */
size_t mg_index_sweep(void);
/* The same, calling fn for every live object on the way. */
size_t mg_index_sweep_foreach(void (*fn)(void *user, void *arg), void *arg);
/* Sweeps stale bits (calling fn, if not NULL, for each live object in
 * address order), clears empty summaries and drops the index pages left
 * all zero; returns the bytes dropped.  Only with the world stopped. */
size_t mg_index_trim(struct mg_os_backed *c, void (*fn)(void *user, void *arg), void *arg);

/* ---- heap.c: the region, the object arenas, alloc and free ---- */
extern uintptr_t mg_heap_base, mg_heap_end;   /* reserved region */
extern uintptr_t mg_heap_bump;                /* [base, bump) is mapped */
extern size_t mg_heap_max_extent;             /* no object is larger */
static inline bool mg_heap_owns(const void *p)
{
	return (uintptr_t)p - mg_heap_base < mg_heap_end - mg_heap_base;
}
/* mg_heap_base + MG_HDR, and the granules from there to mg_heap_bump (0
 * before the region has any): written with mg_heap_bump, for
 * mg_heap_readable. */
extern uintptr_t mg_heap_first, mg_heap_granules;
/* p could start an object: aligned, and its header is mapped memory.  One
 * comparison: rotating the offset from mg_heap_first right by 4 puts a
 * misaligned one's low bits on top, and one below it wraps, so both read
 * as too large (every free asks this first). */
static inline bool mg_heap_readable(const void *p)
{
	uintptr_t off = (uintptr_t)p - mg_heap_first;
	return (off >> 4 | off << 60) < __atomic_load_n(&mg_heap_granules, __ATOMIC_ACQUIRE);
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
void mg_heap_disown(void *p);      /* a live object made for memgc by glibc */
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
void mg_heap_boot_range(uintptr_t *lo, uintptr_t *hi);    /* what it has handed out */

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
void mg_stats_collected(int gen);   /* resets the counts after a collection */
void mg_stats_disown(size_t bytes, size_t usable);   /* an allocation that was memgc's */
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

/* ---- mark.c: conservative marking (see mark.c for the invariants) ---- */
struct mg_world;
/* Prepares a marking of generations 0..gen; 0, or -1 without memory. */
int mg_mark_begin(int gen, bool interior_pointers);
/* After mg_mark_begin: every condemned object lies in [lo, hi). */
void mg_mark_limit(uintptr_t lo, uintptr_t hi);
/* After mg_mark_begin: every condemned object lies on pages whose bit is
 * set in pages (one bit per 4 KiB page from mg_heap_base), so that a word
 * pointing elsewhere is passed over without a lookup; NULL for none.  The
 * caller keeps pages unchanged until the marking ends. */
void mg_mark_limit_pages(const uint64_t *pages);
/* After mg_mark_begin, in a young collection that reads through the watch
 * with record gen whole (the watch lock held): a large condemned object is
 * scanned only on the pages of record gen (mark.c says why). */
void mg_mark_record(int gen);
bool mg_mark_condemned(const void *user);   /* live object a collection may find unreachable */
bool mg_mark_test(const void *user);
void mg_mark_clear(const void *user);
void mg_mark_word(uintptr_t v);             /* one root word */
void mg_mark_word_interior(uintptr_t v);    /* one root word, interior pointers or not */
void mg_mark_range(uintptr_t lo, uintptr_t hi);   /* the aligned words of [lo, hi) */
void mg_mark_object(const void *user);      /* the words of a live object */
void mg_mark_drain(void);                   /* scans until the mark stack is empty */
uint64_t mg_mark_scanned(void);             /* bytes scanned since mg_mark_begin */
uint64_t mg_mark_overflows(void);           /* mark stack overflows since start */
size_t mg_mark_check(void);                 /* set mark bits: 0 between collections */
size_t mg_mark_release(void);               /* drops its blank pages; with the world stopped */

/* ---- roots.c: the roots of a collection ---- */
int mg_roots_init(void);
/* Marks from every root of the stopped world w (the caller's own stack and
 * registers only if self_root); returns the bytes scanned.  gen >= 0: of
 * the root mappings the watch covers, only the pages of record gen (the
 * caller holds the watch lock and young.c found the record whole); -1: all
 * of them.  Either way the root mappings are registered with the watch
 * when it is on. */
uint64_t mg_roots_scan(const struct mg_world *w, bool self_root, int gen);
/* The last mg_roots_scan met an io_uring or AIO ring mapping: the kernel
 * may write the program's buffers while the world is stopped. */
bool mg_roots_async_writers(void);
/* watch=verify's diagnosis: where a root mapping of the last scan holds a
 * word in [lo, hi), or 0.  Slow: reads every root mapping. */
uintptr_t mg_roots_find(uintptr_t lo, uintptr_t hi);
/* 0, or EEXIST / ENOSPC / EFAULT (not readable memory). */
int mg_roots_register(const void *start, size_t size);
int mg_roots_unregister(const void *start);   /* 0 or ENOENT */
/* For the calling thread's collections: its stack is a root from floor up
 * (0: from where the world was stopped).  See MG_SELF_ROOT_CALL. */
void mg_roots_self_floor(uintptr_t floor);
uintptr_t mg_roots_self_floor_get(void);
/* The floor of the program thread whose request the collector thread is
 * serving (parked: MG_WORLD_PARKED), 0 for none: its stack is scanned as
 * the collecting thread's would be. */
void mg_roots_requester(uintptr_t floor);
void mg_roots_lock(void);      /* held by the collector across the stop */
void mg_roots_unlock(void);
void mg_roots_own_thread(void);        /* the calling thread is memgc's: not a root */
void mg_roots_own_thread_exit(void);
bool mg_roots_is_own(pid_t tid);
bool mg_roots_only_own_left(void);    /* the caller is the program's last thread */
void mg_roots_thread_exit(void);       /* the calling thread is exiting: its stack dies */
void mg_roots_fork_child(void);

/* ---- young.c: a young collection's reading of the heap, through the watch ---- */
/* With the watch lock held and the world stopped, at every collection:
 * registers the heap's growth, reads the written pages into the records
 * (the heap's left unarmed until the end); true when a collection of gen
 * (0 or 1) can read the older memory through record gen, false for a full
 * read (always for gen 2). */
bool mg_young_begin_locked(int gen);
/* Records 0..gen emptied; the heap's pages the begin read, and those
 * written since by the sweep, re-armed unrecorded. */
void mg_young_end_locked(int gen);
/* Scans the older objects' words on the heap's pages of record gen, and
 * lists the objects condemned (for mg_young_foreach_condemned). */
void mg_young_mark_older(int gen);
/* Calls fn for every object condemned by a collection of gen (each once,
 * in address order): those whose header lies on a page of record gen. */
void mg_young_foreach_condemned(int gen, void (*fn)(void *user, void *arg), void *arg);
/* The sweep rewrote user's header (its generation), the world stopped:
 * mg_young_end_locked re-arms the page, so that the next collection does
 * not read it as written (where the begin had read it, it was not armed
 * yet: no write fault).  In address order. */
void mg_young_rewrote(const void *user);
/* Before a sweep that rewrites most survivors' headers (a full one): lifts
 * the protection of the whole watched heap in one call, and
 * mg_young_end_locked re-arms all of it (mg_young_rewrote records nothing
 * meanwhile).  Nothing happens where the watch is off or refuses. */
void mg_young_open_heap_locked(void);
/* "on", "on (verify)", or "off: <why>", as of the last collection. */
const char *mg_young_why(void);
/* Young collections of generation 0 and 1 made through the watch, and in
 * full while it was on or off. */
void mg_young_counts(uint64_t watched[2], uint64_t full[2]);

/* ---- cycles.c: the unreachable, classified ---- */
enum mg_leak_kind { MG_LEAK_DIRECT, MG_LEAK_INDIRECT, MG_LEAK_CYCLE };
#define MG_CYCLE_SITES 8
struct mg_leak_group {
	int kind;               /* enum mg_leak_kind */
	uint32_t site;          /* direct, indirect: the site; cycle: its largest member's */
	uint64_t objects, bytes;
	uint32_t nsites;        /* cycle: distinct member sites kept in sites[] */
	uint32_t sites[MG_CYCLE_SITES];
};
struct mg_leaks {
	bool checked;
	uint64_t objects, bytes;
	uint64_t direct_objects, direct_bytes;
	uint64_t indirect_objects, indirect_bytes;
	uint64_t cycles, cycle_objects, cycle_bytes;
	struct mg_leak_group *groups;    /* largest first; mg_os_map'd */
	size_t ngroups, groups_cap;
};
/* Classifies the unreachable objects objs[0..n) (sorted by address, none
 * freed while this runs) into out, replacing what it held.  0, or -1
 * without memory (then out->checked is false). */
int mg_cycles_classify(void *const *objs, size_t n, struct mg_leaks *out);

/* ---- collect.c: collections, the collector thread, the gc API state ---- */
/* Calls fn(arg) so that a collection it makes on this thread takes the
 * caller's stack from the caller's frame up: __builtin_unwind_init() spills
 * the caller's callee-saved registers into this frame, and the floor is
 * the frame of a function called from here.  Defined in collect.c. */
long mg_collect_as_caller(long (*fn)(long arg), long arg);
struct mg_collect_result {
	int gen;
	uint64_t found_objects, found_bytes;   /* unreachable objects found */
	uint64_t freed_objects, freed_bytes;   /* of those, freed (mode=reclaim) */
	uint64_t pause_ns, total_ns, scanned_bytes;
};
void mg_collect_init(void);
/* Collects generations 0..gen now, on the calling thread; after a
 * generation-2 collection every arena is purged.  self_root: the calling
 * thread's own stack and registers are roots (memgc_collect); false for
 * memgc's own threads.  0, or -1 with errno EAGAIN (the world could not be
 * stopped) or EDEADLK (inside a collection callback). */
int mg_collect(int gen, bool self_root, struct mg_collect_result *r);
void mg_collect_stats(struct memgc_gc_stats st[3]);
/* watch=verify: young collections made both ways, and those whose two
 * sets of unreachable objects differed. */
void mg_collect_verified(uint64_t *n, uint64_t *differing);
/* Called first by every thread memgc starts (collector, control server,
 * timeline): its stack and registers are never roots, and it must not hold
 * pointers to program objects across a stop. */
void mg_collect_own_thread(void);
/* Its creator calls this right after pthread_create of a memgc thread. */
void mg_collect_thread_created(pthread_t th);
/* count[0] passed threshold[0]: wakes the collector thread.  Called inside
 * malloc: never collects there. */
void mg_collect_wake(void);
void mg_collect_start_thread(void);   /* at start-up and in a fork child: not in malloc */
/* The exit leak check: a full collection that frees nothing, classified. */
const struct mg_leaks *mg_collect_leak_check(void);
const struct mg_leaks *mg_collect_leaks(void);    /* its result, or NULL */
bool mg_collect_enabled(void);
void mg_collect_enable(bool on);
/* memgc_collect(): the unreachable objects found, or -1 (errno set). */
long mg_collect_found(int gen);
int mg_collect_debug(int set);          /* sets when set >= 0; returns the flags */
/* Adds or removes a callback: 0, or EEXIST / ENOSPC / ENOENT. */
int mg_collect_callback(memgc_callback fn, void *arg, bool add);
/* The garbage list: copies up to n into out, empties it if clear; returns
 * how many it held. */
long mg_collect_garbage(void **out, size_t n, bool clear);
int mg_collect_freeze(bool freeze);     /* 0, or -1 with errno EAGAIN */
int mg_collect_ignore(void *user);      /* user: a live object */
bool mg_collect_has_ignored(void);
long mg_collect_garbage_count(void);
long mg_collect_freeze_count(void);
void mg_collect_fork_prepare(void);
void mg_collect_fork_parent(void);
void mg_collect_fork_child(void);
/* ---- watch.c: the kernel write watch (userfaultfd, PAGEMAP_SCAN) ----
 * Which pages of the watched ranges were written since the last scan, and
 * per generation g, since the last collection of a generation >= g (the
 * record g: what a generation-g collection reads of older memory).  Every
 * scan re-arms what it reports and adds it to the three records.  A page
 * is reported by the first scan after any write to it: by a thread, by the
 * kernel (read(2) into it), or by a parent's copy-on-write; watch.c's
 * opening lists what is not seen (writes through another mapping, DMA).
 * Reported pages were written while mapped, or are counted written: the
 * caller reads only what is mapped readable now (the heap's [mg_heap_base,
 * mg_heap_bump) always is).  Register what is mapped and in use: the first
 * scan of a range reports all of it and arming fills in its page tables (8
 * bytes per page), so never a PROT_NONE reserve.
 * Locking: add, remove, move, note_written, stats and init take the watch
 * lock; the _locked calls expect the caller to hold it (mg_watch_lock),
 * taken before the world is stopped.  Nothing here calls malloc. */
#define MG_WATCH_GENS 3
/* A run of pages [start, end); non-zero stops the calls. */
typedef int (*mg_watch_fn)(uintptr_t start, uintptr_t end, void *arg);
struct mg_watch_stats {
	uint64_t ranges, bytes;      /* watched now */
	uint64_t updates;            /* mg_watch_scan_locked calls */
	uint64_t scans;              /* PAGEMAP_SCAN calls that read written pages */
	uint64_t scan_ns;            /* time in mg_watch_scan_locked */
	uint64_t reported;           /* pages the kernel reported written */
	uint64_t noted;              /* pages counted written by add, move, note_written */
	uint64_t late;               /* mappings found unregistered in a range, registered */
	uint64_t unwatched;          /* pages counted written as they could not be armed */
	uint64_t lost;               /* pages no record could take (no memory) */
	uint64_t rearmed;            /* pages re-armed unrecorded (mg_watch_rearm_locked) */
	uint64_t record_pages[MG_WATCH_GENS];   /* pages in each record now */
};
/* Opens the watch unless watch=off: 0 when on; -1 when off, and
 * mg_watch_why() says why.  Idempotent.  Call after the options. */
int mg_watch_init(void);
bool mg_watch_on(void);
/* "on", or "off: <reason>" (watch=off, ENOSYS, EPERM, a feature missing). */
const char *mg_watch_why(void);
/* Registers [addr, addr + len) (rounded out to pages) and counts it all
 * written.  0, or -1 with errno: EOPNOTSUPP (watch off), EINVAL (nothing
 * mapped there, or a mapping userfaultfd refuses), EBUSY (another
 * userfaultfd has it), ENOMEM.  On -1 the range is not watched: scan it in
 * full every time. */
int mg_watch_add(const void *addr, size_t len);
/* Stops watching [addr, addr + len) and drops its pages from the records
 * (call it before unmapping).  0, or -1 (EOPNOTSUPP, EINVAL, ENOMEM). */
int mg_watch_remove(const void *addr, size_t len);
/* After mremap(old, old_len, new_len, ..., new): the old range forgotten,
 * the new one watched and counted written.  0, or -1 as mg_watch_add. */
int mg_watch_move(const void *old, size_t old_len, const void *new, size_t new_len);
/* mg_watch_add and mg_watch_remove for a caller that holds the lock. */
int mg_watch_add_locked(const void *addr, size_t len);
/* mg_watch_add_locked for private anonymous memory (the heap's growth):
 * only its pages that hold data are counted written (recorded, left
 * unarmed, as by a deferred scan), its holes armed; a hole holds zeros,
 * and a write there later is reported as any. */
int mg_watch_add_fresh_locked(const void *addr, size_t len);
/* [addr, addr + len) is dense (the heap): its scans arm holes too, on the
 * kernel's fast path; elsewhere arming passes over holes (watch.c). */
void mg_watch_dense_locked(const void *addr, size_t len);
/* While on, the scans read the dense range's written pages (recorded as
 * ever) without re-arming them: the caller re-arms them later with
 * mg_watch_rearm_locked (young.c: after the sweep's header writes). */
void mg_watch_defer_dense_locked(bool on);
int mg_watch_remove_locked(const void *addr, size_t len);
/* [addr, addr + len) (rounded out to pages) lies inside one watched range;
 * _meets: some of it is watched.  False when the watch is off. */
bool mg_watch_covers_locked(const void *addr, size_t len);
bool mg_watch_meets_locked(const void *addr, size_t len);
/* Counts [addr, addr + len) written in every record (pages whose content
 * changed in a way the kernel does not report). */
void mg_watch_note_written(const void *addr, size_t len);
/* Reads and re-arms the written pages of the watched part of [addr,
 * addr + len), adds them to the three records and calls fn (may be NULL)
 * on each run; a mapping found unregistered inside a watched range is
 * registered and counted written.  Returns the pages counted, -1 when the
 * watch is off (then scan everything). */
long mg_watch_scan_locked(const void *addr, size_t len, mg_watch_fn fn, void *arg);
long mg_watch_update_locked(void);     /* mg_watch_scan_locked of every range */
/* Calls fn on the runs of record gen, in address order; fn's first
 * non-zero value (keep it positive), or 0; -1 when the watch is off or the
 * record is incomplete (then scan everything older). */
int mg_watch_foreach_locked(int gen, mg_watch_fn fn, void *arg);
/* The page of addr is in record gen; true also where the record cannot
 * say (the watch off, the record incomplete), false where it is not. */
bool mg_watch_recorded_locked(int gen, const void *addr);
/* After a collection of generation gen: records 0..gen emptied. */
void mg_watch_consume_locked(int gen);
/* Re-arms the watched pages of [addr, addr + len) that were written since
 * the last scan, without recording them: only for pages that nothing but
 * memgc itself wrote since (the world stopped after a scan). */
void mg_watch_rearm_locked(const void *addr, size_t len);
/* Lifts the write protection of the watched pages of [addr, addr + len)
 * in one call, for memgc's own writes to many of them with the world
 * stopped after a scan (a fault each otherwise); the caller re-arms them
 * with mg_watch_rearm_locked before the world runs.  Returns 0, or -1 when
 * nothing was lifted (the watch off, or the kernel refused). */
int mg_watch_open_locked(const void *addr, size_t len);
void mg_watch_lock(void);
void mg_watch_unlock(void);
void mg_watch_stats(struct mg_watch_stats *st);
/* Checks watch.c's invariants; the number of violations, each logged. */
int mg_watch_check(void);
/* In a forked child: a new lock, the child's own descriptors, its ranges
 * registered again and counted written; or the watch off when another
 * thread held the lock at fork.  (A child that skips it reopens at its
 * first scan.)  No prepare step: see watch.c. */
void mg_watch_fork_child(void);

/* ---- timeline.c: RSS and live bytes sampled by a memgc thread ---- */
/* Starts the sampling thread when option timeline is set; call once memgc
 * is ready, outside any allocation.  Logs and does nothing on failure. */
void mg_timeline_start(void);
/* In a forked child: an empty timeline and a thread of the child's own. */
void mg_timeline_fork_child(void);
/* Appends ',\n "timeline": [...]' to a JSON report, after one last sample;
 * writes nothing when no timeline runs.  Waits at most one sample. */
void mg_timeline_json(struct mg_out *o);

/* ---- report.c: the exit report, text and JSON ---- */
void mg_report_init(void);      /* at start-up: remembers what stderr is */
/* The reports due at exit; the text summary goes to stderr only if fd 2 is
 * still the file it was at start-up. */
void mg_report_at_exit(void);
int mg_report_json_path(const char *path);
void mg_report_text(int fd);
/* Expands "%p" to the pid into out; returns 0 or -1 when it does not fit. */
int mg_report_path(const char *pattern, char *out, size_t n);
/* The report's "heap" and "gc" members (also the control socket's stats
 * reply), sep between them; no newline of its own. */
/* The "collector" member of the report and of the control socket's stats. */
void mg_report_collector_json(struct mg_out *o);
/* live_page_bytes: the pages live objects hold, from a walk of the index;
 * -1 leaves the field out (the control socket's stats do not walk). */
void mg_report_heap_json(struct mg_out *o, const struct memgc_heap_stats *st, int64_t live_page_bytes,
			 const long count[3], const long threshold[3], const char *sep);

/* ---- request.c: the control protocol's requests, parsed without malloc ---- */
#define MG_PROTOCOL 1             /* "memgc" in every request and reply */
#define MG_REQUEST_MAX 8192       /* bytes of one request line, its newline excluded */
enum mg_request_cmd { MG_REQ_NONE, MG_REQ_STATS, MG_REQ_COLLECT, MG_REQ_TRIM, MG_REQ_REPORT };
struct mg_request {
	int cmd;                  /* enum mg_request_cmd */
	int generation;           /* collect: 0, 1 or 2 (the default) */
	char path[4096];          /* report: absolute, %p is the pid; else "" */
};
/* Parses the n bytes at s (one request line, without its newline) into r.
 * 0, or -1 with a one-line reason in err (printable ASCII) and r zeroed. */
int mg_request_parse(const char *s, size_t n, struct mg_request *r, char *err, size_t errn);
const char *mg_request_cmd_name(int cmd);   /* "stats", ...; "" for none */

/* ---- control.c: the control socket and collect_signal, served by memgc's
 * control thread ---- */
/* At start-up, once memgc is ready (the constructor): starts the control
 * thread when option control or collect_signal asks for it.  Never fails
 * the program: a problem gets one line on stderr and no control. */
void mg_control_start(void);
/* In a forked child (after the heap's fork handler): the child's own
 * socket and thread. */
void mg_control_fork_child(void);
/* At exit: removes this process's socket. */
void mg_control_exit(void);

#pragma GCC visibility pop

#endif /* MG_INTERNAL_H */
