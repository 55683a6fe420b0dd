/* stats.h: the per-thread counter block, inline for the malloc fast path.
 *
 * Each thread owns one struct mg_thread and is its only writer; readers sum
 * all blocks (stats.c).  Blocks are never freed: a thread that exits gives
 * its block back for the next new thread, counts and all, so the sums stay
 * exact.  Invariants, per block and so for the sums:
 *   allocs - frees            == objects it allocated minus those it freed
 *   pend_objs                 == the part of that not yet added to the globals
 *   max_objs >= pend_objs, max_objs >= 0 (the running maximum since the flush)
 * and the same for bytes and usable bytes.  Every MG_FLUSH_OPS operations the
 * pending deltas go into global atomics (live, peak, count[0]) in one go, so
 * the fast path has no atomic instruction.
 */
#ifndef MG_STATS_H
#define MG_STATS_H

#include "internal.h"

struct mg_site_cache {
	uint64_t key;   /* stack hash (or return address at depth 1); 0 empty */
	uint32_t id;
};
#define MG_SITE_CACHE 128   /* direct-mapped, a power of two */
#define MG_LOG_CAP 1024     /* allocation log entries per thread */

struct mg_thread {
	uint64_t allocs, frees;
	uint64_t bytes_in, bytes_out;
	uint64_t usable_in, usable_out;
	int64_t pend_objs, pend_bytes, pend_usable;
	int64_t max_objs, max_bytes, max_usable;
	uint32_t pend_ops;
	int shared;            /* a block several threads may use: atomics only */
	unsigned arena;        /* this thread's object arena */
	unsigned slot;         /* its slot (heap.c), fixed for the block */
	int bound;             /* bound to arena by "thread.arena" */
	uint32_t epoch;        /* mg_heap_epoch when last bound */
	/* The burst detector (heap.c): allocs and frees at the start of the
	 * current window of flushes, and whether the last one was a burst. */
	uint64_t burst_allocs, burst_frees;
	int64_t flush_net;     /* allocs - frees at the last flush */
	uint32_t burst_flushes;
	int bursting;
	unsigned tcache_flags; /* MG_TCACHE_AUTO, MALLOCX_TCACHE(id) or MALLOCX_TCACHE_NONE */
	struct mg_thread *next;
	int in_use;
	struct mg_site_cache sites[MG_SITE_CACHE];
	/* The allocation log: objects born since the last drain into the index.
	 * The owner appends (entry, then log_len with release); anyone may
	 * read entries below log_len and set their index bits, which is
	 * idempotent, so a drain racing the owner's own drain is harmless. */
	uint32_t log_len;
	void *log[MG_LOG_CAP];
} __attribute__((aligned(64)));

extern MG_TLS struct mg_thread *mg_stats_tls;

/* The site cache slot of key: the return address at stack_depth=1 (never
 * 0), the stack hash deeper.  Inline so that a hit at depth 1 is a few
 * instructions in the caller (preload.h). */
static inline struct mg_site_cache *mg_stats_site_slot(struct mg_thread *t, uint64_t key)
{
	return &t->sites[(key ^ key >> 9) & (MG_SITE_CACHE - 1)];
}
struct mg_thread *mg_stats_attach(void);
void mg_stats_shared_update(struct mg_thread *t, int64_t objs, int64_t bytes,
			    int64_t usable, uint64_t in_bytes, uint64_t in_usable);

static inline struct mg_thread *mg_stats_get(void)
{
	struct mg_thread *t = mg_stats_tls;
	return MG_LIKELY(t != NULL) ? t : mg_stats_attach();
}

void mg_stats_log_drain(struct mg_thread *t);

/* Records a new object for the index.  Setting index bits right away would
 * be an atomic read-modify-write on a cold line at every malloc, which
 * stalls behind the header store; the log is a plain store to a hot one.
 *
 * Called BEFORE the header is written, and a full log is drained before
 * the append, never after: so from the moment an object's header says
 * live, the object is either in a log or in the index, whatever instant a
 * stopped world looks (purge.c drops the pages of every object it cannot
 * find).  An entry whose header is not yet live is passed over by readers
 * like any stale bit.  The shared block has no log: its index bit is set
 * before and after the header (see mg_stats_logged). */
static inline void mg_stats_log(struct mg_thread *t, void *user)
{
	if (MG_UNLIKELY(t->shared)) {
		mg_index_set(user);
		return;
	}
	uint32_t n = t->log_len;
	if (MG_UNLIKELY(n == MG_LOG_CAP)) {
		mg_stats_log_drain(t);
		n = 0;
	}
	t->log[n] = user;
	__atomic_store_n(&t->log_len, n + 1, __ATOMIC_RELEASE);
}

/* After the header: the shared block sets the bit again, in case a purge
 * swept it between mg_stats_log and the header (purge.c). */
static inline void mg_stats_logged(struct mg_thread *t, void *user)
{
	if (MG_UNLIKELY(t->shared))
		mg_index_set(user);
}

/* grow: the deltas may have gone up, so the running maxima are updated;
 * a free only lowers them and skips that. */
static inline void mg_stats_pend(struct mg_thread *t, int64_t objs, int64_t bytes, int64_t usable,
				 bool grow)
{
	t->pend_objs += objs;
	t->pend_bytes += bytes;
	t->pend_usable += usable;
	if (grow) {
		if (t->pend_objs > t->max_objs)
			t->max_objs = t->pend_objs;
		if (t->pend_bytes > t->max_bytes)
			t->max_bytes = t->pend_bytes;
		if (t->pend_usable > t->max_usable)
			t->max_usable = t->pend_usable;
	}
	if (MG_UNLIKELY(++t->pend_ops >= MG_FLUSH_OPS))
		mg_stats_flush(t);
}

static inline void mg_stats_alloc(struct mg_thread *t, size_t bytes, size_t usable)
{
	if (MG_UNLIKELY(t->shared)) {
		mg_stats_shared_update(t, 1, (int64_t)bytes, (int64_t)usable, bytes, usable);
		return;
	}
	t->allocs++;
	t->bytes_in += bytes;
	t->usable_in += usable;
	mg_stats_pend(t, 1, (int64_t)bytes, (int64_t)usable, true);
}

static inline void mg_stats_free(struct mg_thread *t, size_t bytes, size_t usable)
{
	if (MG_UNLIKELY(t->shared)) {
		mg_stats_shared_update(t, -1, -(int64_t)bytes, -(int64_t)usable, 0, 0);
		return;
	}
	t->frees++;
	t->bytes_out += bytes;
	t->usable_out += usable;
	mg_stats_pend(t, -1, -(int64_t)bytes, -(int64_t)usable, false);
}

/* A resize is a free of the old size and an allocation of the new one for
 * the byte counts; the object counts do not move. */
static inline void mg_stats_resize(struct mg_thread *t, size_t ob, size_t ou, size_t nb, size_t nu)
{
	if (MG_UNLIKELY(t->shared)) {
		mg_stats_shared_update(t, 0, (int64_t)nb - (int64_t)ob, (int64_t)nu - (int64_t)ou, 0, 0);
		__atomic_add_fetch(&t->bytes_in, nb, __ATOMIC_RELAXED);
		__atomic_add_fetch(&t->bytes_out, ob, __ATOMIC_RELAXED);
		__atomic_add_fetch(&t->usable_in, nu, __ATOMIC_RELAXED);
		__atomic_add_fetch(&t->usable_out, ou, __ATOMIC_RELAXED);
		return;
	}
	t->bytes_in += nb;
	t->bytes_out += ob;
	t->usable_in += nu;
	t->usable_out += ou;
	mg_stats_pend(t, 0, (int64_t)nb - (int64_t)ob, (int64_t)nu - (int64_t)ou, true);
}

#endif /* MG_STATS_H */
