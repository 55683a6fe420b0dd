/* stats.c: the per-thread counter blocks, their sums, and the CPython-style
 * counts and thresholds.
 *
 * Owns the list of blocks (see stats.h for the per-block invariants) and the
 * published globals:
 *   live_*   == sum over blocks of their flushed deltas
 *   peak_*   >= every value live_* has had at a flush (exact for one thread)
 *   count[0] == allocations minus deallocations since the last
 *              collection, as CPython counts them: every free lowers it,
 *              whatever the object's generation, and never below 0.  The
 *              blocks publish their net change every MG_FLUSH_OPS
 *              operations, and that is where the floor applies (publish:
 *              a net fall stops where the published value plus the other
 *              blocks' unpublished parts reaches 0; at 0 past
 *              FLOOR_WALK_MAX blocks), so the count can run ahead of
 *              CPython's by at most MG_FLUSH_OPS per thread.  Read as the
 *              published value plus the blocks' unpublished parts,
 *              clamped at 0 (mg_stats_counts).
 * Blocks are linked once and never unlinked, so readers walk the list
 * without a lock; threads_lock only guards taking and giving back a block.
 */
#include "config.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "heap.h"

MG_TLS struct mg_thread *mg_stats_tls;

static pthread_mutex_t threads_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mg_thread *threads;        /* every block ever made */
static unsigned blocks_in_use;           /* those with in_use set */

/* The most blocks publish() walks for count[0]'s floor: past that, a walk
 * at every net fall would cost each thread some cache misses per block
 * every MG_FLUSH_OPS operations, and the floor is 0 instead (frees another
 * thread published before the allocations they undo may be lost: count[0]
 * then runs ahead, by at most MG_FLUSH_OPS a thread). */
#define FLOOR_WALK_MAX 16
static pthread_key_t thread_key;
static bool have_key;

/* The block of a thread that is past its key destructor (its last frees,
 * glibc's own teardown): several threads may use it, so atomics only. */
static struct mg_thread shared_block = { .shared = 1, .in_use = 1,
					   .tcache_flags = MG_TCACHE_NONE };

static struct {
	int64_t live_objs, live_bytes, live_usable;
	int64_t peak_objs, peak_bytes, peak_usable;
	long count[3];
	long threshold[3];
	uint64_t foreign, errors;
} g;

static void atomic_max(int64_t *p, int64_t v)
{
	int64_t cur = __atomic_load_n(p, __ATOMIC_RELAXED);
	while (v > cur && !__atomic_compare_exchange_n(p, &cur, v, true, __ATOMIC_RELAXED,
						       __ATOMIC_RELAXED))
		;
}

/* count[0]'s part that block t has not published yet. */
static int64_t count_pending(const struct mg_thread *t)
{
	return mg_stats_live(t).objs - __atomic_load_n(&t->base_objs, __ATOMIC_RELAXED);
}

/* The unpublished parts of count[0] in every block but self. */
static int64_t count_pending_others(const struct mg_thread *self)
{
	int64_t pend = 0;
	for (const struct mg_thread *t = __atomic_load_n(&threads, __ATOMIC_ACQUIRE); t; t = t->next)
		if (t != self && __atomic_load_n(&t->in_use, __ATOMIC_RELAXED))
			pend += count_pending(t);
	return pend;
}

/* Adds a block's deltas to the globals; self is the block (its own
 * unpublished part is what this publishes). */
static void publish(const struct mg_thread *self, int64_t objs, int64_t bytes, int64_t usable,
		    int64_t max_objs, int64_t max_bytes, int64_t max_usable)
{
	int64_t o = __atomic_fetch_add(&g.live_objs, objs, __ATOMIC_RELAXED);
	int64_t b = __atomic_fetch_add(&g.live_bytes, bytes, __ATOMIC_RELAXED);
	int64_t u = __atomic_fetch_add(&g.live_usable, usable, __ATOMIC_RELAXED);
	atomic_max(&g.peak_objs, o + max_objs);
	atomic_max(&g.peak_bytes, b + max_bytes);
	atomic_max(&g.peak_usable, u + max_usable);
	if (objs) {
		/* count[0] moves with the objects.  A fall stops where the
		 * total (this value plus the other blocks' unpublished parts)
		 * would go below 0: frees published before the allocations
		 * they undo (another thread's, still pending) are not lost.
		 * The walk over the blocks is made only at the floor. */
		long cur = __atomic_load_n(&g.count[0], __ATOMIC_RELAXED), c, floor = 0;
		bool walk = objs < 0 &&
			    __atomic_load_n(&blocks_in_use, __ATOMIC_RELAXED) <= FLOOR_WALK_MAX;
		do {
			c = cur + (long)objs;
			if (walk && c < (cur < floor ? cur : floor)) {
				floor = -(long)count_pending_others(self);
				walk = false;
			}
			long lo = cur < floor ? cur : floor;   /* a free never raises it */
			if (objs < 0 && c < lo)
				c = lo;
		} while (!__atomic_compare_exchange_n(&g.count[0], &cur, c, true,
						      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
		long t = __atomic_load_n(&g.threshold[0], __ATOMIC_RELAXED);
		if (MG_UNLIKELY(c > t) && t > 0)
			mg_collect_wake();
	}
}

/* Publishes t's pending deltas and drains its log (stats.h: every reset of
 * flush_in drains, so the inline paths need not watch the log). */
static void publish_pending(struct mg_thread *t)
{
	if (t->shared)
		return;
	struct mg_stats_live l = mg_stats_live(t);
	publish(t, l.objs - t->base_objs, l.bytes - t->base_bytes, l.usable - t->base_usable,
		t->max_objs - t->base_objs, t->max_bytes - t->base_bytes,
		t->max_usable - t->base_usable);
	t->base_objs = t->max_objs = l.objs;
	t->base_bytes = t->max_bytes = l.bytes;
	t->base_usable = t->max_usable = l.usable;
	t->room_objs = t->room_bytes = t->room_usable = 0;
	t->flush_in = MG_FLUSH_OPS;
	mg_stats_log_drain(t);
}

void mg_stats_catch_up(struct mg_thread *t)
{
	if (t->flush_in == 0)
		mg_stats_flush(t);   /* drains too */
	else if (__atomic_load_n(&t->log_len, __ATOMIC_RELAXED) >= MG_LOG_CAP - MG_FLUSH_OPS)
		mg_stats_log_drain(t);
}

/* Every MG_FLUSH_OPS operations (stats.h): also the moment the thread
 * follows its slot to a new arena (heap.c).  The reader and the exiting
 * thread publish without that. */
void mg_stats_flush(struct mg_thread *t)
{
	publish_pending(t);
	if (!t->shared)
		mg_heap_thread_flushed(t);
}

void mg_stats_log_drain(struct mg_thread *t)
{
	uint32_t n = __atomic_load_n(&t->log_len, __ATOMIC_ACQUIRE);
	mg_index_set_many(t->log, n);
	__atomic_store_n(&t->log_len, 0, __ATOMIC_RELEASE);
}

/* Brings the index up to date with every thread's log, without taking
 * anything from their owners (see stats.h). */
void mg_stats_sync_index(void)
{
	for (struct mg_thread *t = __atomic_load_n(&threads, __ATOMIC_ACQUIRE); t; t = t->next) {
		uint32_t n = __atomic_load_n(&t->log_len, __ATOMIC_ACQUIRE);
		mg_index_set_many(t->log, n < MG_LOG_CAP ? n : MG_LOG_CAP);
	}
}

/* The shared block's counts change with atomics and go to the globals at
 * once; objs is +1 (allocation), -1 (free) or 0 (resize). */
void mg_stats_shared_update(struct mg_thread *t, int64_t objs, int64_t bytes,
			    int64_t usable, uint64_t in_bytes)
{
	if (objs > 0)
		__atomic_add_fetch(&t->allocs, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&t->bytes_in, in_bytes, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&t->room_objs, objs, __ATOMIC_RELAXED);     /* max_* stay 0 */
	__atomic_sub_fetch(&t->room_bytes, bytes, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&t->room_usable, usable, __ATOMIC_RELAXED);
	publish(t, objs, bytes, usable, objs > 0 ? objs : 0, bytes > 0 ? bytes : 0,
		usable > 0 ? usable : 0);
}

static void thread_exit(void *v)
{
	struct mg_thread *t = v;
	mg_roots_thread_exit();
	publish_pending(t);
	mg_stats_log_drain(t);
	mg_heap_thread_detach(t);
	mg_stats_tls = &shared_block;
	pthread_mutex_lock(&threads_lock);
	t->in_use = 0;
	__atomic_sub_fetch(&blocks_in_use, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&threads_lock);
}

void mg_stats_init(void)
{
	for (int i = 0; i < 3; i++)
		g.threshold[i] = mg_opt.threshold[i];
	shared_block.tcache_flags = MG_TCACHE_NONE;
	if (pthread_key_create(&thread_key, thread_exit) == 0)
		have_key = true;
}

struct mg_thread *mg_stats_attach(void)
{
	struct mg_thread *t;
	pthread_mutex_lock(&threads_lock);
	for (t = threads; t; t = t->next)
		if (!t->in_use)
			break;
	bool fresh = t == NULL;
	if (fresh) {
		t = mg_os_map(sizeof *t);
		if (!t) {
			pthread_mutex_unlock(&threads_lock);
			mg_stats_tls = &shared_block;
			return &shared_block;
		}
	}
	t->in_use = 1;
	__atomic_add_fetch(&blocks_in_use, 1, __ATOMIC_RELAXED);
	if (fresh) {
		t->flush_in = MG_FLUSH_OPS;
		t->next = threads;
		__atomic_store_n(&threads, t, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&threads_lock);
	mg_heap_thread_attach(t, fresh);
	memset(t->site_key, 0, sizeof t->site_key);  /* the site table may differ after a fork */
	mg_stats_tls = t;
	if (have_key)
		pthread_setspecific(thread_key, t);
	return t;
}

void mg_stats_read(struct memgc_heap_stats *st)
{
	struct mg_thread *self = mg_stats_tls;
	if (self)
		publish_pending(self);
	memset(st, 0, sizeof *st);
	int64_t live_objs = 0, live_bytes = 0, live_usable = 0;
	const struct mg_thread *t = &shared_block;
	for (int pass = 0; pass < 2; pass++) {
		for (; t; t = pass ? t->next : NULL) {
			st->allocations += __atomic_load_n(&t->allocs, __ATOMIC_RELAXED);
			st->allocated_bytes += __atomic_load_n(&t->bytes_in, __ATOMIC_RELAXED);
			struct mg_stats_live l = mg_stats_live(t);
			live_objs += l.objs;
			live_bytes += l.bytes;
			live_usable += l.usable;
		}
		t = __atomic_load_n(&threads, __ATOMIC_ACQUIRE);
	}
	st->live_objects = (uint64_t)live_objs;
	st->deallocations = st->allocations - st->live_objects;
	st->live_bytes = (uint64_t)live_bytes;
	st->live_usable_bytes = (uint64_t)live_usable;
	int64_t po = __atomic_load_n(&g.peak_objs, __ATOMIC_RELAXED);
	int64_t pb = __atomic_load_n(&g.peak_bytes, __ATOMIC_RELAXED);
	int64_t pu = __atomic_load_n(&g.peak_usable, __ATOMIC_RELAXED);
	st->peak_live_objects = (uint64_t)po > st->live_objects ? (uint64_t)po : st->live_objects;
	st->peak_live_bytes = (uint64_t)pb > st->live_bytes ? (uint64_t)pb : st->live_bytes;
	st->peak_usable_bytes = (uint64_t)pu > st->live_usable_bytes ? (uint64_t)pu : st->live_usable_bytes;
	st->foreign_frees = __atomic_load_n(&g.foreign, __ATOMIC_RELAXED);
	st->errors = __atomic_load_n(&g.errors, __ATOMIC_RELAXED);
	st->rss_bytes = mg_os_rss();
	st->peak_rss_bytes = mg_os_peak_rss();
	st->sites = mg_sites_count();
}

void mg_stats_counts(long counts[3])
{
	struct mg_thread *self = mg_stats_tls;
	if (self)
		publish_pending(self);
	int64_t c0 = __atomic_load_n(&g.count[0], __ATOMIC_RELAXED) + count_pending_others(NULL);
	counts[0] = c0 < 0 ? 0 : (long)c0;
	counts[1] = __atomic_load_n(&g.count[1], __ATOMIC_RELAXED);
	counts[2] = __atomic_load_n(&g.count[2], __ATOMIC_RELAXED);
}

void mg_stats_thresholds(long t[3])
{
	for (int i = 0; i < 3; i++)
		t[i] = __atomic_load_n(&g.threshold[i], __ATOMIC_RELAXED);
}

void mg_stats_set_thresholds(const long t[3])
{
	for (int i = 0; i < 3; i++)
		__atomic_store_n(&g.threshold[i], t[i], __ATOMIC_RELAXED);
}

/* CPython's counts after a collection of generation gen: the next one up
 * counts it, the ones collected start again.  count[0] is set against the
 * blocks' unpublished parts, so that it reads 0.  With the world stopped. */
void mg_stats_collected(int gen)
{
	if (gen < 2)
		__atomic_add_fetch(&g.count[gen + 1], 1, __ATOMIC_RELAXED);
	for (int i = 1; i <= gen; i++)
		__atomic_store_n(&g.count[i], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&g.count[0], (long)-count_pending_others(NULL), __ATOMIC_RELAXED);
}

/* The object of size bytes (usable) that this thread's block counted was
 * made for memgc, not the program: the sums forget it. */
void mg_stats_disown(size_t bytes, size_t usable)
{
	struct mg_thread *t = mg_stats_get();
	if (t->shared)
		return;         /* memgc's threads are new threads, with blocks of their own */
	t->allocs--;
	t->bytes_in -= bytes;
	t->room_objs++;
	t->room_bytes += (int64_t)bytes;
	t->room_usable += (int64_t)usable;
	publish_pending(t);
}

void mg_stats_error(void)
{
	__atomic_add_fetch(&g.errors, 1, __ATOMIC_RELAXED);
}

void mg_stats_foreign_free(void)
{
	__atomic_add_fetch(&g.foreign, 1, __ATOMIC_RELAXED);
}

void mg_stats_fork_prepare(void)
{
	pthread_mutex_lock(&threads_lock);
}

void mg_stats_fork_parent(void)
{
	pthread_mutex_unlock(&threads_lock);
}

/* Only the forking thread exists in the child.  The other blocks stay
 * taken for good: a thread may have been inside jemalloc with its explicit
 * tcache half updated when fork() copied it, and jemalloc's fork handlers
 * do not cover tcaches, so neither block nor tcache may be used again.
 * Their counts stay in the sums. */
void mg_stats_fork_child(void)
{
	pthread_mutex_unlock(&threads_lock);
}
