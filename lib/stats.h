/* stats.h: the per-thread counter block, inline for the malloc fast path.
 *
 * Each thread owns one struct mg_thread and is its only writer; readers sum
 * all blocks (stats.c).  Blocks are never freed: a thread that exits gives
 * its block back for the next new thread, counts and all, so the sums stay
 * exact.  A block keeps, for objects, bytes and usable bytes, the most live
 * since its last flush (max_*) and the room below it (room_* == max_* -
 * live, never negative): an allocation takes from the room and, only when
 * that goes below 0, raises max_* to the new live count; a free gives back
 * to the room.  So each quantity is one subtraction and a sign test per
 * allocation and one addition per free, and the peaks stay exact.
 * Invariants, per block and so for the sums (live == max - room,
 * mg_stats_live):
 *   live_objs             == objects it allocated minus those it freed (below
 *                            0 after frees of other threads' objects)
 *   allocs - live_objs    == objects it freed
 *   live_objs - base_objs == the part not yet added to the globals
 *   room_objs >= 0, max_objs >= base_objs (the running maximum since the
 *                            last flush)
 *                            (and count[0]'s unpublished part: every
 *                            allocation raises count[0], every free lowers
 *                            it, whatever the object's generation)
 * and the same for bytes (bytes_in, room_bytes, ...) and usable bytes (no
 * total of usable bytes allocated is kept: nothing reports one).  The
 * shared block keeps max_* at 0 (room_* == -live).  Every MG_FLUSH_OPS
 * operations the pending deltas go into global atomics (live, peak,
 * count[0]) in one go, so the fast path has no atomic instruction; the
 * allocation log is drained then too (mg_stats_log_owned).
 */
#ifndef MG_STATS_H
#define MG_STATS_H

#include "internal.h"

#define MG_SITE_CACHE 128   /* direct-mapped, a power of two */
#define MG_LOG_CAP 1024     /* allocation log entries per thread */

struct mg_thread {
	/* What the inline paths (heap.h) touch, in the block's first cache
	 * line: the counters, flush_in, small_max and log_len. */
	uint64_t allocs, bytes_in;
	int64_t room_objs, room_bytes, room_usable;
	uint32_t flush_in;     /* operations left until the next flush (1..MG_FLUSH_OPS) */
	/* The largest object heap.h's inline paths serve for this block
	 * (mg_heap_small_max): 0 unless it is owned and bound (tcache_flags
	 * is MG_TCACHE_AUTO), so one comparison asks both that and whether a
	 * size is small */
	uint32_t small_max;
	uint32_t log_len;      /* entries in log[] (below) */
	int64_t max_objs, max_bytes, max_usable;
	int64_t base_objs, base_bytes, base_usable;
	int shared;            /* a block several threads may use: atomics only */
	unsigned arena;        /* this thread's object arena */
	unsigned slot;         /* its slot (heap.c), fixed for the block */
	int bound;             /* bound to arena by "thread.arena" */
	uint32_t epoch;        /* mg_heap_epoch when last bound */
	/* The burst detector (heap.c): allocs and frees (allocs - live_objs)
	 * at the start of the current window of flushes, and whether the last
	 * window was a burst; live_objs at the last flush. */
	uint64_t burst_allocs, burst_frees;
	int64_t flush_live;
	uint32_t burst_flushes;
	int bursting;
	/* MG_TCACHE_AUTO, MALLOCX_TCACHE(id) or MALLOCX_TCACHE_NONE; never
	 * MG_TCACHE_AUTO in the shared block, so AUTO implies owned */
	unsigned tcache_flags;
	struct mg_thread *next;
	int in_use;
	/* The site cache, direct-mapped (mg_stats_site_slot): the key is the
	 * stack hash (or the return address at depth 1), 0 when empty; two
	 * arrays, so that a slot is one scaled index into either. */
	uint64_t site_key[MG_SITE_CACHE];
	uint32_t site_id[MG_SITE_CACHE];
	/* The allocation log: objects born since the last drain into the index.
	 * The owner appends (entry, then log_len with release); anyone may
	 * read entries below log_len and set their index bits, which is
	 * idempotent, so a drain racing the owner's own drain is harmless. */
	void *log[MG_LOG_CAP];
} __attribute__((aligned(64)));

extern MG_HIDDEN MG_TLS struct mg_thread *mg_stats_tls;

/* The site cache slot of key: the return address at stack_depth=1 (never
 * 0), the stack hash with bit 63 set deeper (MG_SITE_KEY_DEEP), which no
 * user-space return address has: so looking a return address up finds
 * nothing unless stack_depth is 1, and the caller need not ask.  Inline so
 * that a hit at depth 1 is a few instructions in the caller (preload.h).
 * The low bits alone: the return addresses of neighbouring call sites
 * differ in them (a call is 2 to 7 bytes), and the slot is two
 * instructions fewer per malloc than with bits 9 and up folded in. */
#define MG_SITE_KEY_DEEP (UINT64_C(1) << 63)
static MG_ALWAYS_INLINE unsigned mg_stats_site_slot(uint64_t key)
{
	return (unsigned)key & (MG_SITE_CACHE - 1);
}
struct mg_thread *mg_stats_attach(void);
void mg_stats_shared_update(struct mg_thread *t, int64_t objs, int64_t bytes,
			    int64_t usable, uint64_t in_bytes);

static MG_ALWAYS_INLINE struct mg_thread *mg_stats_get(void)
{
	struct mg_thread *t = mg_stats_tls;
	return MG_LIKELY(t != NULL) ? t : mg_stats_attach();
}

void mg_stats_log_drain(struct mg_thread *t);

/* The _owned variants are for a block the caller knows is not the shared
 * one (see heap.h).  They count and return true when the block is due for
 * a drain of its log or a flush of its counts; the caller then calls
 * mg_stats_catch_up(t), after its own work, so that the common path makes
 * no call. */
void mg_stats_catch_up(struct mg_thread *t);

/* Records a new object for the index.  Setting index bits right away would
 * be an atomic read-modify-write on a cold line at every malloc, which
 * stalls behind the header store; the log is a plain store to a hot one.
 *
 * An object is logged BEFORE its header is written, and the log is drained
 * only after (mg_stats_catch_up, once the caller's work is done): so from
 * the moment an object's header says live, the object is in a log or in
 * the index, whatever instant a stopped world looks (purge.c drops the
 * pages of every object it cannot find, the collector would not scan it).
 * An entry whose header is not live yet is passed over by readers like any
 * stale bit.
 *
 * Every flush drains the log (publish_pending), and an inline allocation
 * ticks once per entry, so the inline paths need not look at how full the
 * log is: at most MG_FLUSH_OPS - 1 of their entries wait for a flush.  The
 * general path asks (the return value: true when the log is within
 * MG_FLUSH_OPS entries of full), so the log never overflows. */
static MG_ALWAYS_INLINE bool mg_stats_log_owned(struct mg_thread *t, void *user)
{
	uint32_t n = t->log_len;
	t->log[n] = user;
	__atomic_store_n(&t->log_len, n + 1, __ATOMIC_RELEASE);
	return n + 1 >= MG_LOG_CAP - MG_FLUSH_OPS;
}

/* The same for any block, before the header: returns true when t is due
 * for mg_stats_logged's catch-up.  The shared block has no log: its index
 * bit is set before the header and again after it (mg_stats_logged), in
 * case a purge swept it in between. */
static MG_ALWAYS_INLINE bool mg_stats_log(struct mg_thread *t, void *user)
{
	if (MG_UNLIKELY(t->shared)) {
		mg_index_set(user);
		return false;
	}
	return mg_stats_log_owned(t, user);
}

/* After the header; due is what mg_stats_log returned. */
static MG_ALWAYS_INLINE void mg_stats_logged(struct mg_thread *t, void *user, bool due)
{
	if (MG_UNLIKELY(t->shared))
		mg_index_set(user);
	else if (MG_UNLIKELY(due))
		mg_stats_catch_up(t);
}

static MG_ALWAYS_INLINE bool mg_stats_tick(struct mg_thread *t)
{
	return --t->flush_in == 0;
}

/* The live counts of block t (any block; exact once its owner is quiet). */
struct mg_stats_live {
	int64_t objs, bytes, usable;
};
static inline struct mg_stats_live mg_stats_live(const struct mg_thread *t)
{
	return (struct mg_stats_live){
		__atomic_load_n(&t->max_objs, __ATOMIC_RELAXED) -
			__atomic_load_n(&t->room_objs, __ATOMIC_RELAXED),
		__atomic_load_n(&t->max_bytes, __ATOMIC_RELAXED) -
			__atomic_load_n(&t->room_bytes, __ATOMIC_RELAXED),
		__atomic_load_n(&t->max_usable, __ATOMIC_RELAXED) -
			__atomic_load_n(&t->room_usable, __ATOMIC_RELAXED),
	};
}

/* live grows by d (>= 0) in an owned block: taken from the room, and a new
 * maximum where the room runs out.  On x86-64 the subtraction is made in
 * memory and its sign tested at once (GCC 12 loads, subtracts and stores
 * instead: two instructions more, three times on every malloc). */
static MG_ALWAYS_INLINE void mg_stats_grow(int64_t *room, int64_t *max, int64_t d)
{
#if defined(__x86_64__) && defined(__GNUC__)
	asm goto("subq %1, %0\n\tjs %l[out]" : "+m"(*room) : "er"(d) : "cc" : out);
	return;
out:
#else
	*room -= d;
	if (MG_LIKELY(*room >= 0))
		return;
#endif
	/* read back from memory: an asm goto's outputs are not promised on
	 * its jump */
	*max -= *(volatile int64_t *)room;
	*room = 0;
}

static MG_ALWAYS_INLINE bool mg_stats_alloc_owned(struct mg_thread *t, size_t bytes, size_t usable)
{
	t->allocs++;
	t->bytes_in += bytes;
	mg_stats_grow(&t->room_objs, &t->max_objs, 1);
	mg_stats_grow(&t->room_bytes, &t->max_bytes, (int64_t)bytes);
	mg_stats_grow(&t->room_usable, &t->max_usable, (int64_t)usable);
	return mg_stats_tick(t);
}

static MG_ALWAYS_INLINE void mg_stats_alloc(struct mg_thread *t, size_t bytes, size_t usable)
{
	if (MG_UNLIKELY(t->shared))
		mg_stats_shared_update(t, 1, (int64_t)bytes, (int64_t)usable, bytes);
	else if (MG_UNLIKELY(mg_stats_alloc_owned(t, bytes, usable)))
		mg_stats_catch_up(t);
}

static MG_ALWAYS_INLINE bool mg_stats_free_owned(struct mg_thread *t, size_t bytes, size_t usable)
{
	t->room_objs++;
	t->room_bytes += (int64_t)bytes;
	t->room_usable += (int64_t)usable;
	return mg_stats_tick(t);
}

static MG_ALWAYS_INLINE void mg_stats_free(struct mg_thread *t, size_t bytes, size_t usable)
{
	if (MG_UNLIKELY(t->shared))
		mg_stats_shared_update(t, -1, -(int64_t)bytes, -(int64_t)usable, 0);
	else if (MG_UNLIKELY(mg_stats_free_owned(t, bytes, usable)))
		mg_stats_catch_up(t);
}

/* A resize is a free of the old size and an allocation of the new one for
 * the byte counts; the object counts do not move. */
static MG_ALWAYS_INLINE void mg_stats_resize(struct mg_thread *t, size_t ob, size_t ou, size_t nb, size_t nu)
{
	if (MG_UNLIKELY(t->shared)) {
		mg_stats_shared_update(t, 0, (int64_t)nb - (int64_t)ob, (int64_t)nu - (int64_t)ou, nb);
		return;
	}
	t->bytes_in += nb;
	t->room_bytes += (int64_t)ob;
	t->room_usable += (int64_t)ou;
	mg_stats_grow(&t->room_bytes, &t->max_bytes, (int64_t)nb);
	mg_stats_grow(&t->room_usable, &t->max_usable, (int64_t)nu);
	if (MG_UNLIKELY(mg_stats_tick(t)))
		mg_stats_catch_up(t);
}

#endif /* MG_STATS_H */
