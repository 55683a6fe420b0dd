/* purge.c: giving the pages that hold nothing back to the kernel.
 *
 * mg_heap_trim (memgc_trim(), malloc_trim(), a generation-2 collection) has
 * jemalloc purge its free extents, then calls mg_purge_run for what
 * jemalloc never gives back:
 *   - the free pages of slabs that still hold a live object (a slab is one
 *     extent: jemalloc keeps it whole while one region is in use),
 *   - the index pages over freed objects (index.c), and the collector's
 *     mark stack and blank mark bitmap between collections (mark.c),
 *   - the pages of jemalloc's own metadata outside the region (the rtree
 *     leaves of the extents it had, the automatic arenas) that its
 *     deallocations left all zero.
 * With the world stopped (world.c), every page of [mg_heap_base,
 * mg_heap_bump) that no live object's block touches and no base block of
 * an object arena holds is dropped with MADV_DONTNEED, and so is every
 * all-zero page of the index and of jemalloc's mappings.
 *
 * Why that is safe (the contract with heap.c, stats.h and jemalloc):
 *   - jemalloc keeps nothing inside a free region or a free extent: slab
 *     bitmaps and extent descriptors are in base blocks, the thread caches'
 *     stacks in arena 0.  A dropped page reads as zeros, which jemalloc
 *     never assumes of a region it hands out (it zeroes small blocks
 *     itself, and a dropped page is zero anyway).
 *   - Every block that holds program data is a live object: alloc logs the
 *     object before its header says live (stats.h), realloc copies into a
 *     block that is already live and clears the old one's header last
 *     (heap.c), free clears the header before the block goes back.  A block
 *     in a thread cache, or one a stopped thread was about to fill, holds
 *     nothing yet: whatever it writes once running lands on a fresh page.
 *   - A live object's block is [user - offset, user + usable): the program
 *     may use all of malloc_usable_size().
 *   - Zero pages read as zero after the drop, so dropping them changes no
 *     value, provided nothing writes between the check and the drop: the
 *     world is stopped, and jemalloc's mappings take no kernel writes.
 * When the world cannot be stopped only jemalloc's purge has happened.
 */
#include "config.h"
#include <pthread.h>
#include <time.h>

#include "header.h"
#include "internal.h"
#include "world.h"

static struct mg_world world;            /* kept between runs: its mapping */
/* The bytes purges have dropped while the write watch was on: the gaps
 * may hold userfaultfd's markers there (see held()).  Reading the pagemap
 * to pass over them costs about half what a drop over a marker does, for
 * every page of the region (the C case of bench/rss.sh: 33 ms of a 275 ms
 * memgc_trim()), so it is read only once that much has been dropped: half
 * the region's span, counted as if nothing dropped had been used again.
 * Without it the sweep's headers are read on any page: none with a start
 * bit has been dropped, since jemalloc's purges clear the bits of what
 * they drop (heap.c's hook_purge) and a purge here drops only what its
 * sweep found dead.  Either way the same pages end up dropped. */
static uint64_t dropped_watched;
static pthread_mutex_t purge_lock = PTHREAD_MUTEX_INITIALIZER;

#define MAX_PINNED 512

struct walk {
	struct mg_range pinned[MAX_PINNED];
	struct mg_os_backed *backed;  /* which pages of a gap are held, or NULL: see held() */
	long npinned;
	long next;             /* first pinned range not wholly below done */
	uintptr_t done;        /* pages below are decided (page aligned) */
	uintptr_t live_end;    /* end of the last page a live block touches */
	size_t page;
	uint64_t live_pages;   /* pages that hold live objects */
	uint64_t ranges;       /* ranges dropped */
	uint64_t bytes;        /* bytes in them */
	struct mg_os_dropper drop;
};

/* Whether the page at a may need a drop: while there may be markers (see
 * dropped_watched below), only a page present in memory; else (w->backed
 * NULL) every page.
 * userfaultfd puts a marker in the page table entry of every page the
 * watch protects that has none (UFFD_FEATURE_WP_UNPOPULATED): a drop over
 * it costs a walk of the markers (and puts them back), and the pagemap
 * reports it as swapped out, so only present pages are taken (a page
 * really swapped out is then left in swap; it never counts in RSS).
 * Without the watch a page that is not present has an empty entry, which
 * a drop passes over for less than the pagemap's read costs. */
static bool held(struct walk *w, uintptr_t a)
{
	struct mg_os_backed *c = w->backed;
	if (!c)
		return true;
	if (!mg_os_backed(c, a))
		return false;
	uintptr_t pg = a / w->page;
	if (c->fd < 0 || pg < c->lo || pg >= c->hi)
		return true;
	return c->map[pg - c->lo] >> 63;
}

/* Drops the pages of [lo, hi) (page aligned) that are held (the C case of
 * bench/rss.sh: of its 2.2 GB of gaps, 1.4 GB dropped by an earlier purge,
 * the large frees or jemalloc, whose markers cost 40 ms to drop again).
 * Gaps come in address order and follow the sweep's queries closely: the
 * cursor they share reads each window of the pagemap about once. */
static void drop(struct walk *w, uintptr_t lo, uintptr_t hi)
{
	uintptr_t run = 0;             /* start of the current run of held pages */
	for (uintptr_t a = lo; a < hi; a += w->page) {
		bool b = held(w, a);
		if (b && !run) {
			run = a;
		} else if (!b && run) {
			mg_os_dropper_add(&w->drop, (void *)run, a - run);
			w->ranges++;
			w->bytes += a - run;
			run = 0;
		}
	}
	if (run) {
		mg_os_dropper_add(&w->drop, (void *)run, hi - run);
		w->ranges++;
		w->bytes += hi - run;
	}
}

/* Drops the whole pages of [lo, hi) but the pinned ones. */
static void drop_gap(struct walk *w, uintptr_t lo, uintptr_t hi)
{
	while (w->next < w->npinned && w->pinned[w->next].hi <= lo)
		w->next++;
	for (long i = w->next; i < w->npinned && lo < hi; i++) {
		const struct mg_range *r = &w->pinned[i];
		if (r->lo >= hi)
			break;
		if (r->lo > lo)
			drop(w, lo, r->lo);
		if (r->hi > lo)
			lo = r->hi;
	}
	drop(w, lo, hi);
}

/* Objects come in address order (mg_index_trim). */
static void walk_one(void *user, void *arg)
{
	struct walk *w = arg;
	uintptr_t lo, hi;
	mg_heap_block(user, &lo, &hi);
	lo &= ~(w->page - 1);
	hi = (hi + w->page - 1) & ~(w->page - 1);
	if (lo > w->done)
		drop_gap(w, w->done, lo);
	if (hi > w->live_end) {
		w->live_pages += (hi - (lo > w->live_end ? lo : w->live_end)) / w->page;
		w->live_end = hi;
	}
	if (hi > w->done)
		w->done = hi;
}

/* jemalloc's own mappings: its deallocations leave zeros, and in the rtree
 * leaves a word that reads the same (heap.c: mg_heap_rtree_cleared). */
static int drop_zero_one(uintptr_t start, size_t size, void *arg)
{
	*(uint64_t *)arg += mg_os_drop_zero((void *)start, size, mg_heap_rtree_cleared());
	return 0;
}

static int stopped(struct mg_world *wd, void *arg)
{
	(void)wd;
	struct mg_purge_stats *ps = arg;
	static struct walk w;                 /* too big for a stack; purge_lock held */
	static struct mg_os_backed backed;
	bool watched = mg_watch_on();
	uint64_t span = __atomic_load_n(&mg_heap_bump, __ATOMIC_ACQUIRE) - mg_heap_base;
	struct mg_os_backed *c = watched && dropped_watched >= span / 2 ? &backed : NULL;
	w = (struct walk){ .page = mg_os_page(), .done = mg_heap_base, .live_end = mg_heap_base,
			   .backed = c };
	w.npinned = mg_heap_pinned(w.pinned, MAX_PINNED);
	mg_stats_sync_index();
	if (c)
		mg_os_backed_open(c);
	/* What the program wrote since the last scan into the records first:
	 * the drops below write only pages that read as zeros (a page no live
	 * object touches, or one of zeros), which no collection need read, so
	 * they are re-armed unrecorded at the end (mg_watch_rearm_locked). */
	mg_watch_update_locked();
	mg_os_dropper_open(&w.drop);
	ps->dropped_meta += mg_index_trim(c, w.npinned >= 0 ? walk_one : NULL, &w);
	if (w.npinned >= 0) {
		drop_gap(&w, w.done, __atomic_load_n(&mg_heap_bump, __ATOMIC_ACQUIRE));
		ps->region_walked = 1;
	}
	mg_os_dropper_close(&w.drop);
	if (c)
		mg_os_backed_close(c);
	if (watched)
		dropped_watched += w.bytes;
	mg_os_je_foreach(drop_zero_one, &ps->dropped_meta);
	ps->dropped_meta += mg_mark_release();
	ps->live_page_bytes = w.live_pages * w.page;
	ps->madvise_calls = w.drop.calls;
	mg_watch_rearm_locked(NULL, (size_t)1 << 47);
	return 0;
}

/* A stop that fails (a thread blocks stop_signal: a sigwait() thread, a
 * debugger) costs its timeout: the purge gives up sooner than the
 * collector (300 ms: on a loaded machine a thread on its way out, every
 * signal blocked, waited past 100 ms for a CPU), and after a failure
 * leaves the world alone for a while
 * (BACKOFF_MIN_NS, doubling up to BACKOFF_MAX_NS on each failure).  Under
 * purge_lock. */
#define STOP_TIMEOUT_MS 300
#define BACKOFF_MIN_NS UINT64_C(1000000000)
#define BACKOFF_MAX_NS UINT64_C(64000000000)
static uint64_t backoff_ns, retry_at;

static long purge_here(void *arg)
{
	struct mg_purge_stats *ps = arg;
	struct mg_purge_stats st = { 0 };
	pthread_mutex_lock(&purge_lock);
	uint64_t t0 = mg_os_now_ns();
	if (t0 >= retry_at) {
		world.timeout_ms = STOP_TIMEOUT_MS;
		mg_watch_lock();           /* before the stop, as collect.c takes it */
		st.stopped = mg_world_run(&world, stopped, &st) == 0;
		mg_watch_unlock();
		if (st.stopped) {
			backoff_ns = 0;
		} else {
			backoff_ns = backoff_ns ? backoff_ns * 2 : BACKOFF_MIN_NS;
			if (backoff_ns > BACKOFF_MAX_NS)
				backoff_ns = BACKOFF_MAX_NS;
			retry_at = mg_os_now_ns() + backoff_ns;
		}
	}
	st.time_ns = mg_os_now_ns() - t0;
	pthread_mutex_unlock(&purge_lock);
	if (ps)
		*ps = st;
	return 0;
}

/* On the collector thread, in its descriptor table, with the watch's. */
void mg_purge_run(struct mg_purge_stats *ps)
{
	mg_os_collector(purge_here, ps);
}

/* The child has no thread that held the lock, and a stop that failed in
 * the parent says nothing of its own threads. */
void mg_purge_fork_child(void)
{
	pthread_mutex_init(&purge_lock, NULL);
	backoff_ns = retry_at = 0;
}
