/* memgc.h: the public API of libmemgc.so, the memory accountant that
 * `LD_PRELOAD=libmemgc.so prog` (or `memgc run -- prog`) puts under a program.
 *
 * Every function here is safe to call from any thread, from a program that
 * runs under the preload, and through ctypes (all arguments and results are
 * plain integers, pointers and structs of 64-bit fields).  Documented in
 * libmemgc(3); the options that change their behaviour are in memgc(7).
 *
 * A program may call these functions without depending on memgc: declare them
 * weak and test for NULL, or look them up with dlsym(RTLD_DEFAULT, ...).
 */
#ifndef MEMGC_H
#define MEMGC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MEMGC_VERSION_MAJOR 0
#define MEMGC_VERSION_MINOR 1

/* The version of the loaded library, as "MAJOR.MINOR.PATCH". */
const char *memgc_version(void);

/* Heap figures, summed over every thread.  Exact when no other thread is
 * allocating; the peaks are exact for a program that allocates from one
 * thread at a time and otherwise within 64 allocations per thread. */
struct memgc_heap_stats {
	uint64_t allocations;       /* objects handed out since start */
	uint64_t deallocations;     /* objects given back since start */
	uint64_t live_objects;      /* allocations - deallocations */
	uint64_t live_bytes;        /* bytes requested by the live objects */
	uint64_t live_usable_bytes; /* bytes usable in the live objects */
	uint64_t peak_live_objects;
	uint64_t peak_live_bytes;
	uint64_t peak_usable_bytes;
	uint64_t allocated_bytes;   /* bytes requested since start */
	uint64_t foreign_frees;     /* pointers memgc did not hand out, passed over */
	uint64_t errors;            /* double frees, invalid frees, bad headers */
	uint64_t rss_bytes;         /* resident set size now */
	uint64_t peak_rss_bytes;    /* high-water mark of the resident set */
	uint64_t sites;             /* distinct allocation sites seen */
};

/* Fills *st; returns 0, or -1 with errno EINVAL when st is NULL. */
int memgc_get_heap_stats(struct memgc_heap_stats *st);

/* CPython's gc.get_count(): counts[0] is allocations minus deallocations
 * since the last generation-0 collection (never below 0), counts[1] and
 * counts[2] the collections of the generation below since the last one of
 * this generation.  Returns 0, or -1 with errno EINVAL when counts is NULL. */
int memgc_get_count(long counts[3]);

/* CPython's gc.get_threshold()/set_threshold(): (700, 10, 10) by default.
 * set returns 0, or -1 with errno EINVAL for a negative threshold. */
int memgc_get_threshold(long thresholds[3]);
int memgc_set_threshold(long t0, long t1, long t2);

/* Is p the start of an object memgc handed out and that is still live?
 * Returns 1 or 0; never crashes, whatever p is. */
int memgc_is_live(const void *p);

/* The start of the live object that contains address a (interior pointers
 * included), or NULL when a is inside no live object memgc handed out. */
void *memgc_find_object(const void *a);

/* The requested size of the live object starting at p, or 0 (errno EINVAL)
 * when p is not one. */
size_t memgc_object_size(const void *p);

/* Gives the free pages of every arena back to the kernel now (what a
 * generation-2 collection does after it frees).  Returns 0, or -1 with
 * errno ENOSYS when memgc is not active, or the error jemalloc gave. */
int memgc_trim(void);

/* Writes the JSON report (the same as the exit report) to path, "%p" in it
 * replaced by the process id.  Returns 0, or -1 with errno set by open(2)
 * or EINVAL when path is NULL or empty. */
int memgc_write_report(const char *path);

/* ---- The collector: CPython's gc module, for C (libmemgc(3)) ----
 *
 * A collection of generation g stops every thread, scans the roots
 * conservatively (registers, stacks, TLS, writable module segments, other
 * writable anonymous mappings, registered roots and, for g < 2, every object
 * of an older generation), and finds the objects of generations 0..g that
 * nothing reaches.  mode=account (the default) reports them and keeps them;
 * mode=reclaim frees them; MEMGC_DEBUG_SAVEALL keeps them on the garbage list
 * instead.  Survivors move up one generation. */

/* The flags of memgc_set_debug(), with CPython's values. */
#define MEMGC_DEBUG_STATS 1           /* one line on stderr per collection */
#define MEMGC_DEBUG_COLLECTABLE 2     /* one line per unreachable object freed */
#define MEMGC_DEBUG_UNCOLLECTABLE 4   /* one line per unreachable object kept */
#define MEMGC_DEBUG_SAVEALL 32        /* keep unreachable objects on the garbage list */
#define MEMGC_DEBUG_LEAK (MEMGC_DEBUG_COLLECTABLE | MEMGC_DEBUG_UNCOLLECTABLE | MEMGC_DEBUG_SAVEALL)

/* CPython's gc.collect(generation): collects generations 0..generation (0, 1
 * or 2; -1 means 2) on the calling thread, whose own stack and registers are
 * roots.  Returns the number of unreachable objects found (freed in reclaim
 * mode), or -1 with errno EINVAL (bad generation), ENOSYS (memgc not active),
 * EAGAIN (the world could not be stopped; the message says why) or EDEADLK
 * (called from a collection callback).  Works while collection is disabled. */
long memgc_collect(int generation);

/* CPython's gc.enable()/disable()/isenabled(): automatic collections (on
 * the collector thread, when count[0] passes threshold[0]). */
void memgc_enable(void);
void memgc_disable(void);
int memgc_isenabled(void);

/* CPython's gc.get_stats(), one entry per generation, plus pause times. */
struct memgc_gc_stats {
	uint64_t collections;     /* collections of this generation */
	uint64_t collected;       /* unreachable objects freed (reclaim mode) */
	uint64_t uncollectable;   /* unreachable objects found and kept */
	uint64_t collected_bytes; /* their bytes, freed */
	uint64_t uncollectable_bytes;
	uint64_t pause_ns;        /* total time the world was stopped */
	uint64_t max_pause_ns;    /* longest single stop */
	uint64_t total_ns;        /* total time of the collections, stop included */
	uint64_t scanned_bytes;   /* bytes of roots and objects scanned */
};
/* Fills st[0..2]; returns 0, or -1 with errno EINVAL when st is NULL. */
int memgc_get_stats(struct memgc_gc_stats st[3]);

/* CPython's gc.set_debug()/get_debug(): the MEMGC_DEBUG_* flags.  set
 * returns 0, or -1 with errno EINVAL for an unknown flag. */
int memgc_set_debug(int flags);
int memgc_get_debug(void);

/* CPython's gc.get_objects(generation): the live objects of generation 0, 1
 * or 2 (-1: all, frozen ones included), at most n of them stored in out
 * (which may be NULL when n is 0).  Returns how many there are, which may be
 * more than n, or -1 with errno EINVAL. */
long memgc_get_objects(int generation, void **out, size_t n);

/* CPython's gc.get_referrers()/get_referents(): the live objects holding a
 * pointer to (into, when interior pointers count) the object obj, and the
 * live objects obj holds pointers to.  At most n stored in out; returns how
 * many there are, or -1 with errno EINVAL when obj is not a live object. */
long memgc_get_referrers(const void *obj, void **out, size_t n);
long memgc_get_referents(const void *obj, void **out, size_t n);

/* CPython's gc.is_tracked(): 1 when p is a live object that collections
 * consider (not passed to memgc_ignore), else 0. */
int memgc_is_tracked(const void *p);

/* CPython's gc.freeze()/unfreeze()/get_freeze_count(): freeze moves every
 * live object to the permanent generation, which collections scan as roots
 * and never report or free; unfreeze moves them back to generation 2. */
void memgc_freeze(void);
void memgc_unfreeze(void);
long memgc_get_freeze_count(void);

/* CPython's gc.callbacks: fn(phase, info, arg) runs on the collecting thread
 * before ("start") and after ("stop") each collection, with the world
 * running; collected and uncollectable are 0 at "start".  Up to 16
 * callbacks; add returns 0, or -1 with errno EINVAL (fn NULL), EEXIST
 * (already added with this arg) or ENOSPC.  remove returns 0, or -1 with
 * errno ENOENT. */
struct memgc_gc_info {
	int64_t generation;
	int64_t collected;
	int64_t uncollectable;
};
typedef void (*memgc_callback)(const char *phase, const struct memgc_gc_info *info, void *arg);
int memgc_callback_add(memgc_callback fn, void *arg);
int memgc_callback_remove(memgc_callback fn, void *arg);

/* Extra roots: [start, start + size) is scanned at every collection until
 * unregistered (LeakSanitizer's __lsan_register_root_region).  register
 * returns 0, or -1 with errno EINVAL (NULL or size 0), EEXIST (start
 * already registered) or ENOSPC (4096 ranges); unregister returns 0, or -1
 * with errno ENOENT. */
int memgc_register_root(const void *start, size_t size);
int memgc_unregister_root(const void *start);

/* The live object p is never reported nor freed, and what it points to is
 * reachable (LeakSanitizer's __lsan_ignore_object).  Returns 0, or -1 with
 * errno EINVAL when p is not a live object. */
int memgc_ignore(const void *p);

/* gc.garbage: the unreachable objects kept under MEMGC_DEBUG_SAVEALL, oldest
 * first, at most n stored in out.  Returns how many there are.  clear
 * empties the list (the objects become unreachable again) and returns how
 * many it held. */
long memgc_get_garbage(void **out, size_t n);
long memgc_clear_garbage(void);

#ifdef __cplusplus
}
#endif
#endif /* MEMGC_H */
