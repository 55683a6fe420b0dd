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

#ifdef __cplusplus
}
#endif
#endif /* MEMGC_H */
