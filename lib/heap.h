/* heap.h: the inline part of alloc and free (heap.c has the rest).
 *
 * mg_heap_alloc_inline and mg_heap_free_inline are mg_heap_alloc and
 * mg_heap_free themselves: heap.c defines those two by calling these, and
 * the preload calls these so that the common case runs in its own frame.
 * The common case is a small object (at most MG_HEAP_SMALL_MAX bytes, so
 * that its block is one of jemalloc's lookup classes) at the default
 * alignment, not zeroed, for a thread bound to its object arena (flags 0:
 * jemalloc's own fast paths).  Everything else (and every error) goes to
 * mg_heap_alloc_general / mg_heap_free_general in heap.c, which do the
 * same steps through the same helpers for any size, alignment and thread.
 *
 * The steps of an object's life, in order, each one helper here:
 *   born    logged for the index, header written (LIVE), counted: logged
 *           first, so that a stopped world never sees a live header it
 *           cannot find (stats.h)
 *   dies    LIVE cleared in the header (the truth about liveness), counted
 * so the inline path and the general one cannot drift apart.
 */
#ifndef MG_HEAP_H
#define MG_HEAP_H

#include "header.h"
#include "internal.h"
#include "je.h"
#include "stats.h"

/* The largest object the inline path takes: a 12-bit size, which free
 * tests together with LIVE and lg_al in one comparison.  Its block is one
 * of jemalloc's small classes (at most 5 KiB). */
#define MG_HEAP_SMALL_MAX 4095

/* mg_heap_small_usable[(req + 15) >> 4]: jemalloc's usable size for a
 * request req <= MG_HEAP_SMALL_MAX + MG_HDR, less the header; filled by
 * mg_heap_init from mg_heap_usable_class. */
#define MG_HEAP_SMALL_SLOTS ((MG_HEAP_SMALL_MAX + MG_HDR + 15) / 16 + 1)
extern MG_HIDDEN uint16_t mg_heap_small_usable[MG_HEAP_SMALL_SLOTS];

/* The jemalloc request for an object of n bytes placed off after its
 * block (a zero-byte object takes one byte, so it has an address of its
 * own). */
static MG_ALWAYS_INLINE size_t mg_heap_req(size_t n, size_t off)
{
	return (n ? n : 1) + off;
}

/* An object is born at user: header, allocation log, counters. */
static MG_ALWAYS_INLINE void mg_heap_born(struct mg_thread *t, void *user, size_t n, unsigned lg,
				size_t usable, uint32_t site)
{
	bool due = mg_stats_log(t, user);
	mg_hdr_write(user, n, lg, 0, MG_FLAG_LIVE, site);
	mg_stats_logged(t, user, due);
	mg_stats_alloc(t, n, usable);
}

/* The same for a small object in a block owned by t (not the shared
 * block): no atomics; true when t is due for mg_stats_catch_up, which is
 * only at a flush (the log is drained then: stats.h). */
static MG_ALWAYS_INLINE bool mg_heap_born_owned(struct mg_thread *t, void *user, size_t n,
						size_t usable, uint32_t site)
{
	(void)mg_stats_log_owned(t, user);
	mg_hdr_write(user, n, 0, 0, MG_FLAG_LIVE, site);
	return mg_stats_alloc_owned(t, n, usable);
}

/* Gives a small block back to jemalloc, with its plain free: that looks
 * the size class up in jemalloc's own map (which stays in the cache), not
 * in the header.  Passing the header's size (sdallocx) would make where
 * jemalloc stores the block, and so the block the next malloc returns,
 * wait for the header's line: a cache miss when the program frees an
 * object it has not touched lately, and then the program's next loads
 * wait behind it too (measured: bench/alloc 0.47 s with sdallocx, 0.32 s
 * with free, plain jemalloc 0.21 s). */
static MG_ALWAYS_INLINE void mg_heap_dalloc_small(char *base)
{
	mg_je_free(base);
}

/* The value of struct mg_thread.small_max for a block with these tcache
 * flags: 0 unless bound; below MG_HEAP_SMALL_MAX when large_release would
 * send the block of a smaller object to the large arena. */
uint32_t mg_heap_small_max(unsigned tcache_flags);
void *mg_heap_alloc_general(struct mg_thread *t, size_t n, size_t align, bool zero, uint32_t site);
int mg_heap_free_general(struct mg_thread *t, void *p, void *caller);
/* mg_stats_catch_up(t), then returns user; or then mg_heap_dalloc_small:
 * the rare ends of the inline paths, as calls they can end with. */
void *mg_heap_catch_up_alloc(struct mg_thread *t, void *user);
void mg_heap_catch_up_free(struct mg_thread *t, char *base);

/* mg_heap_alloc, with the thread's block already at hand (mg_stats_get). */
static MG_ALWAYS_INLINE void *mg_heap_alloc_inline(struct mg_thread *t, size_t n, size_t align, bool zero,
					 uint32_t site)
{
	/* n - 1: a zero-byte object (request 17, not 16) takes the general path */
	if (MG_LIKELY(align == MG_HDR && !zero && n - 1 < t->small_max)) {
		size_t req = n + MG_HDR;
		char *base = mg_je_malloc(req);
		if (MG_LIKELY(base != NULL)) {
			void *user = base + MG_HDR;
			if (MG_UNLIKELY(mg_heap_born_owned(t, user, n,
							   mg_heap_small_usable[(req + 15) >> 4], site)))
				return mg_heap_catch_up_alloc(t, user);
			return user;
		}
	}
	return mg_heap_alloc_general(t, n, align, zero, site);
}

/* The inline part of mg_heap_free: frees p and returns true if p is a
 * small live object with an intact header and t (the calling thread's
 * block, or NULL if it has none yet) is bound to its arena; returns false,
 * having touched nothing, for everything else.
 * errno is kept without a save: freeing into an object arena reaches the
 * kernel only through memgc's extent hooks, whose os.c calls keep errno,
 * and through glibc's lock wrappers, which never set it. */
static MG_ALWAYS_INLINE bool mg_heap_free_small(struct mg_thread *t, void *p)
{
	if (MG_UNLIKELY(t == NULL || !mg_heap_readable(p)))
		return false;
	struct mg_hdr *h = mg_hdr_of(p);
	uint64_t info = h->info, tag = h->tag;
	/* LIVE set, lg_al 0 and 1 <= size <= t->small_max, at once, whatever
	 * the generation */
	const uint64_t live = (uint64_t)MG_FLAG_LIVE << MG_HDR_FLAGS_SHIFT;
	uint64_t x = info & ((live | (live - 1)) & ~(UINT64_C(3) << MG_HDR_GEN_SHIFT));
	if (MG_UNLIKELY(x - live - 1 >= t->small_max || !mg_hdr_valid_words(p, info, tag)))
		return false;
	h->info = info & ~live;
	size_t n = info & MG_HEAP_SMALL_MAX;
	char *base = (char *)p - MG_HDR;
	if (MG_UNLIKELY(mg_stats_free_owned(t, n, mg_heap_small_usable[(n + MG_HDR + 15) >> 4])))
		mg_heap_catch_up_free(t, base);
	else
		mg_heap_dalloc_small(base);
	return true;
}

/* mg_heap_free, with the thread's block (or NULL) at hand. */
static MG_ALWAYS_INLINE int mg_heap_free_inline(struct mg_thread *t, void *p, void *caller)
{
	return MG_LIKELY(mg_heap_free_small(t, p)) ? 0 : mg_heap_free_general(t, p, caller);
}

#endif /* MG_HEAP_H */
