/* heap.c: the region, the jemalloc arenas that carve it, and the object
 * operations (alloc, free, realloc) with their headers.
 *
 * Owns:
 *   the region   [mg_heap_base, mg_heap_end), reserved PROT_NONE at start;
 *                [mg_heap_base, mg_heap_bump) has been handed to jemalloc and is
 *                readable and writable for the rest of the process
 *   the arenas   each thread's slot and the slot's current arena (rotated,
 *                and destroyed once empty: see "the object arenas" below),
 *                misc_arena for unbound threads, large_arena (decay 0) for
 *                objects of large_release and up, so their pages go back at
 *                free
 *   the boot     a static buffer for the allocations made while memgc
 *                itself starts (jemalloc's and glibc's set-up)
 * Invariants:
 *   an object's jemalloc block is [user - off, user + max(size, 1)) with
 *   off = mg_hdr_offset(lg_al), and lies inside [mg_heap_base, mg_heap_bump)
 *   L0 index byte set  <=>  the object is live (mg_index_check())
 *   a block that holds program data is a live object's (purge.c relies on
 *   it: see mg_heap_realloc and stats.h's mg_stats_log)
 * memgc's own memory comes from jemalloc's automatic arenas (outside the
 * region) or from mmap, never from the object arenas.
 */
#include "config.h"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "heap.h"

uintptr_t mg_heap_base, mg_heap_end;
uint64_t mg_hdr_secret;

uintptr_t mg_heap_bump;                    /* written under region_lock */
uintptr_t mg_heap_first, mg_heap_granules; /* the same (internal.h) */
static pthread_mutex_t region_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t large_release;
uint16_t mg_heap_small_usable[MG_HEAP_SMALL_SLOTS];

/* ---- the region: where the object arenas' extent hooks take memory ----
 *
 * The hooks serve two kinds of request, which they cannot tell apart for
 * sure: extents (slabs and large blocks: program objects) and blocks of
 * an arena's base allocator (jemalloc's metadata: the arena itself, its
 * bins, an edata_t per extent).  Base blocks are asked for with no address
 * and a 2 MiB alignment (HUGEPAGE, jemalloc's base.c), which an extent
 * request only has for a 2 MiB-aligned object: such ranges are noted as
 * pinned, and the purge never drops their pages (purge.c); an extent noted
 * by mistake is only purged less.
 *
 * The region is handed out at the bump pointer, or from the free list:
 * the ranges a destroyed arena gave back (its base blocks through dalloc,
 * its retained extents through destroy), purged.  Other extents are never
 * unmapped: jemalloc keeps them as retained (dalloc and decommit refuse).
 * Under region_lock:
 *   pinned[0..npinned) and freed[0..nfreed) are sorted, disjoint, inside
 *   [mg_heap_base, mg_heap_bump), and no pinned range meets a free one;
 *   pinned_busy is 1 while pinned[] is being changed (a stopped world may
 *   see it half done: mg_heap_pinned then says so).
 */

#define BASE_ALIGN ((size_t)2 << 20)
#define PINNED_MAX 512
#define FREED_MAX 1024
static struct mg_range pinned[PINNED_MAX];
static unsigned npinned;
static int pinned_busy;
static bool pinned_lost;                     /* a base block went unnoted */
static struct mg_range freed[FREED_MAX];
static unsigned nfreed;

static void pinned_add(uintptr_t lo, uintptr_t hi)
{
	if (npinned == PINNED_MAX) {
		pinned_lost = true;
		return;
	}
	__atomic_store_n(&pinned_busy, 1, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	unsigned i = npinned;
	while (i > 0 && pinned[i - 1].lo > lo) {
		pinned[i] = pinned[i - 1];
		i--;
	}
	pinned[i] = (struct mg_range){ lo, hi };
	npinned++;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&pinned_busy, 0, __ATOMIC_RELAXED);
}

/* Removes the pinned range [lo, hi) if there is one; true if so. */
static bool pinned_remove(uintptr_t lo, uintptr_t hi)
{
	for (unsigned i = 0; i < npinned; i++) {
		if (pinned[i].lo != lo || pinned[i].hi != hi)
			continue;
		__atomic_store_n(&pinned_busy, 1, __ATOMIC_RELAXED);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		for (; i + 1 < npinned; i++)
			pinned[i] = pinned[i + 1];
		npinned--;
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		__atomic_store_n(&pinned_busy, 0, __ATOMIC_RELAXED);
		return true;
	}
	return false;
}

/* Adds a purged range to the free list, merged with its neighbours; when
 * the list is full the range stays unused (mapped, purged). */
static void freed_add(uintptr_t lo, uintptr_t hi)
{
	unsigned i = 0;
	while (i < nfreed && freed[i].lo < lo)
		i++;
	bool left = i > 0 && freed[i - 1].hi == lo, right = i < nfreed && freed[i].lo == hi;
	if (left && right) {
		freed[i - 1].hi = freed[i].hi;
		memmove(&freed[i], &freed[i + 1], (nfreed - i - 1) * sizeof freed[0]);
		nfreed--;
	} else if (left) {
		freed[i - 1].hi = hi;
	} else if (right) {
		freed[i].lo = lo;
	} else if (nfreed < FREED_MAX) {
		memmove(&freed[i + 1], &freed[i], (nfreed - i) * sizeof freed[0]);
		freed[i] = (struct mg_range){ lo, hi };
		nfreed++;
	}
}

/* First fit in the free list: the address, or 0. */
static uintptr_t freed_take(size_t size, size_t alignment)
{
	for (unsigned i = 0; i < nfreed; i++) {
		uintptr_t a = (freed[i].lo + alignment - 1) & ~(alignment - 1);
		if (a < freed[i].lo || a + size > freed[i].hi || a + size < a)
			continue;
		struct mg_range r = freed[i];
		memmove(&freed[i], &freed[i + 1], (nfreed - i - 1) * sizeof freed[0]);
		nfreed--;
		if (r.lo < a)
			freed_add(r.lo, a);
		if (a + size < r.hi)
			freed_add(a + size, r.hi);
		return a;
	}
	return 0;
}

static void arena_grew(unsigned ind, size_t size);

/* The largest extent jemalloc has had from the hooks, or made by merging:
 * no object is larger, so no object starts further below an address it
 * holds (mg_index_find's bound). */
size_t mg_heap_max_extent;

static void note_extent(size_t size)
{
	size_t cur = __atomic_load_n(&mg_heap_max_extent, __ATOMIC_RELAXED);
	while (size > cur && !__atomic_compare_exchange_n(&mg_heap_max_extent, &cur, size, true,
							  __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

static void *hook_alloc(extent_hooks_t *h, void *new_addr, size_t size, size_t alignment,
			bool *zero, bool *commit, unsigned ind)
{
	(void)h;
	uintptr_t a = 0;
	if (alignment < mg_os_page())
		alignment = mg_os_page();
	pthread_mutex_lock(&region_lock);
	if (!new_addr)
		a = freed_take(size, alignment);
	if (!a) {
		/* Growth only at the end: a requested address elsewhere is refused. */
		uintptr_t bump = mg_heap_bump;
		uintptr_t b = new_addr ? (uintptr_t)new_addr : (bump + alignment - 1) & ~(alignment - 1);
		if ((!new_addr || b == bump) && b >= bump && b + size > b && b + size <= mg_heap_end &&
		    mg_os_commit((void *)b, size) == 0) {
			__atomic_store_n(&mg_heap_bump, b + size, __ATOMIC_RELEASE);
			__atomic_store_n(&mg_heap_granules, (b + size - mg_heap_first) / MG_HDR,
					 __ATOMIC_RELEASE);
			a = b;
		}
	}
	if (a && !new_addr && alignment >= BASE_ALIGN)
		pinned_add(a, a + size);
	if (a)
		arena_grew(ind, size);
	pthread_mutex_unlock(&region_lock);
	if (a) {
		note_extent(size);
		*zero = true;   /* fresh or purged: zero pages */
		*commit = true;
	}
	return (void *)a;
}

/* A base block of a destroyed arena comes back (base_unmap tries dalloc
 * first): purged and reused.  An extent is refused, so that jemalloc keeps
 * it as retained and reuses it itself. */
static bool hook_dalloc(extent_hooks_t *h, void *addr, size_t size, bool committed, unsigned ind)
{
	(void)h; (void)committed; (void)ind;
	uintptr_t a = (uintptr_t)addr;
	pthread_mutex_lock(&region_lock);
	bool taken = pinned_remove(a, a + size);
	if (taken) {
		mg_os_purge(addr, size);
		freed_add(a, a + size);
	}
	pthread_mutex_unlock(&region_lock);
	return !taken;
}

/* A retained extent of a destroyed arena: purged and reused.  Its objects
 * are all dead: their index bits go now, or the next collection's sweep
 * would read every one of their headers, on purged pages, to find so
 * (python3's list(range(5*10**7)) deleted: 0.4 s of page faults). */
static void hook_destroy(extent_hooks_t *h, void *addr, size_t size, bool committed, unsigned ind)
{
	(void)h; (void)committed; (void)ind;
	mg_index_clear(addr, size);
	mg_os_purge(addr, size);
	pthread_mutex_lock(&region_lock);
	pinned_remove((uintptr_t)addr, (uintptr_t)addr + size);
	freed_add((uintptr_t)addr, (uintptr_t)addr + size);
	pthread_mutex_unlock(&region_lock);
}

static bool hook_commit(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len,
			unsigned ind)
{
	(void)h; (void)addr; (void)size; (void)off; (void)len; (void)ind;
	return false;   /* always committed */
}

static bool hook_decommit(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len,
			  unsigned ind)
{
	(void)h; (void)addr; (void)size; (void)off; (void)len; (void)ind;
	return true;    /* refused: jemalloc purges instead */
}

/* jemalloc purges only memory no allocation holds: the objects that started
 * there are dead, and their index bits go (hook_destroy says why). */
static bool hook_purge(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len,
		       unsigned ind)
{
	(void)h; (void)size; (void)ind;
	mg_index_clear((char *)addr + off, len);
	return mg_os_purge((char *)addr + off, len) != 0;
}

static bool hook_split(extent_hooks_t *h, void *addr, size_t size, size_t a, size_t b,
		       bool committed, unsigned ind)
{
	(void)h; (void)addr; (void)size; (void)a; (void)b; (void)committed; (void)ind;
	return false;
}

static bool hook_merge(extent_hooks_t *h, void *a, size_t sa, void *b, size_t sb,
		       bool committed, unsigned ind)
{
	(void)h; (void)a; (void)b; (void)committed; (void)ind;
	note_extent(sa + sb);
	return false;
}

static extent_hooks_t hooks = {
	.alloc = hook_alloc, .dalloc = hook_dalloc, .destroy = hook_destroy,
	.commit = hook_commit, .decommit = hook_decommit,
	.purge_lazy = NULL,   /* MADV_FREE would keep RSS up until pressure */
	.purge_forced = hook_purge, .split = hook_split, .merge = hook_merge,
};

/* The pinned ranges (base blocks), in address order; returns how many were
 * stored in out (at most cap), or -1 when some base block is not known
 * (then nothing in the region may be dropped page by page).  Only with the
 * world stopped, and without region_lock (a stopped thread may hold it):
 * a thread stopped in hook_alloc before noting its block has not handed
 * the block to jemalloc yet, so nothing is in it; one stopped while
 * changing the list has pinned_busy set. */
long mg_heap_pinned(struct mg_range *out, size_t cap)
{
	unsigned n = npinned;
	if (pinned_lost || pinned_busy || n > cap)
		return -1;
	for (unsigned i = 0; i < n; i++)
		out[i] = pinned[i];
	return n;
}

/* ---- the object arenas: slots, rotation, destruction ----
 *
 * jemalloc gives an arena's metadata (its base blocks: an edata_t of 128
 * bytes for every extent the arena had at once, 0.5% of a peak heap of
 * small objects with the slabs below, 1 to 3% with jemalloc's own) back to
 * nobody but by destroying the arena, and an arena may be destroyed only
 * with nothing allocated from it (thread caches included) and no thread
 * bound to it.  So a burst of allocations gets arenas of its own:
 *   - each thread belongs to a slot (nslots of them: one per CPU, at most 8
 *     by default) and is bound ("thread.arena") to its slot's current arena;
 *   - a thread is in a burst when, over its last BURST_OPS operations, it
 *     freed less than 1/16 of what it allocated (building a large list or
 *     dict, reading a file into objects); once a slot's arena has taken
 *     span() bytes of the region during one burst, it is retired: the next
 *     thread of the slot to publish its counters (every MG_FLUSH_OPS
 *     operations) makes another current (a retired one with room, or a new
 *     one), and each thread of the slot moves there at its next
 *     publication;
 *   - an arena made for a burst is retired as soon as its thread frees
 *     again (1 operation in 8), so that what comes after the burst goes
 *     elsewhere, and any current arena that has lost 7/8 of what it took
 *     (the burst was freed) at a thread's next publication or at a trim;
 *   - at each rotation and each trim, the retired arenas with no active
 *     page and no bound thread are destroyed, their region ranges reused.
 * A program whose objects come and go never rotates: an arena left behind
 * would keep the holes of its partly used slabs, resident and unused
 * (python3 churning dicts: peak RSS 1.25x with a new arena at each span).
 * span() grows with the heap (half of what the rotating arenas hold, at
 * least arena_span), so a heap of any size has a few dozen arenas at most:
 * jemalloc keeps some 18 KB of statistics per arena index it has ever had.
 * An arena's active pages are read live through
 * experimental.arenas.<i>.pactivep (a statistics epoch taken at its
 * creation makes the index known to mallctl), and the bound threads are
 * counted here (jemalloc checks again when destroying).  No active page
 * means nothing allocated: a slab with no region in use is freed, and a
 * region in a thread cache keeps its slab active.
 * The shared block and threads that could not be bound use misc_arena,
 * never retired, by an explicit MALLOCX_ARENA: an arena that such a flag
 * may name must never be destroyed.  Large objects use large_arena.
 * Under rotate_lock (rank: before jemalloc's locks, region_lock after):
 *   cur[s] is slot s's current arena; slot_of[a] == s + 1 for it, else 0
 *   retired[0..nretired) are arenas no slot has, not destroyed
 *   nbound[a] counts the threads bound to a, which is a current arena
 *   active[a] points at arena a's live count of active pages, for every
 *   current or retired arena
 * mg_heap_epoch changes whenever a slot wants a new arena or gets one.
 */

#define MAX_SLOTS 64
#define MAX_ARENA_IND 4096       /* jemalloc's MALLOCX_ARENA_LIMIT is below */
#define RETIRED_MAX 1024
#define BURST_OPS (MG_FLUSH_OPS * 1024)
static pthread_mutex_t rotate_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned cur[MAX_SLOTS], nslots, misc_arena, large_arena;
static uint8_t slot_of[MAX_ARENA_IND];       /* read by hook_alloc */
static uint64_t grown[MAX_ARENA_IND];        /* region bytes since current; region_lock */
static uint64_t owned[MAX_ARENA_IND];        /* region bytes in all; region_lock */
static uint64_t owned_all;                   /* owned[] of the rotating arenas; region_lock */
static bool rotating[MAX_ARENA_IND];         /* a current or retired arena; region_lock */
/* Why a slot wants a new arena; region_lock to set, rotate_lock to clear. */
enum { WANT_NONE, WANT_GROWN, WANT_FREED };
static uint8_t want[MAX_SLOTS];
static uint64_t burst_grown[MAX_SLOTS];      /* region bytes taken in the current burst */
static bool burst_arena[MAX_SLOTS];          /* the current arena was made for a burst */
static unsigned nbound[MAX_ARENA_IND];
static const size_t *active[MAX_ARENA_IND];
static unsigned retired[RETIRED_MAX], nretired;
static size_t room_seen[MAX_ARENA_IND];      /* room_of() when retired */
static size_t arena_span;
uint32_t mg_heap_epoch;

/* The bytes a current arena may take in a burst before it is retired:
 * half of what the rotating arenas hold, from arena_span up to SPAN_GROWTH
 * times that.  Larger arenas mean fewer of them (jemalloc's 18 KB of
 * statistics per index), smaller ones less metadata kept when a few
 * objects of a burst outlive it (0.5% of the arena they are in): a burst
 * of 2.8 GB makes some 20 arenas.  Under region_lock. */
#define SPAN_GROWTH 16
static uint64_t span(void)
{
	uint64_t s = owned_all / 2 > arena_span ? owned_all / 2 : arena_span;
	return s > SPAN_GROWTH * (uint64_t)arena_span ? SPAN_GROWTH * (uint64_t)arena_span : s;
}

/* Under region_lock, from hook_alloc, on the thread that made jemalloc
 * grow the arena. */
static void arena_grew(unsigned ind, size_t size)
{
	if (ind >= MAX_ARENA_IND)
		return;
	grown[ind] += size;
	owned[ind] += size;
	if (rotating[ind])
		owned_all += size;
	unsigned s = __atomic_load_n(&slot_of[ind], __ATOMIC_RELAXED);
	const struct mg_thread *t = mg_stats_tls;
	if (!s)
		return;
	if (t && t->bursting)
		burst_grown[s - 1] += size;
	else
		burst_grown[s - 1] = 0;
	if (arena_span && !want[s - 1] && burst_grown[s - 1] >= span()) {
		__atomic_store_n(&want[s - 1], WANT_GROWN, __ATOMIC_RELAXED);
		__atomic_add_fetch(&mg_heap_epoch, 1, __ATOMIC_RELEASE);
	}
}

/* memgc's private jemalloc reads this before MALLOC_CONF (which overrides
 * it key by key).  Thread caches: every small class holds at least 50
 * freed blocks (jemalloc: 20, so a class with one or two blocks a slab
 * fills and flushes every few dozen calls), and the cache's incremental
 * garbage collection runs every 1 MiB a thread allocates (jemalloc:
 * 64 KiB).  Measured on bench/alloc, 1 thread: jemalloc's instructions per
 * malloc/free pair 166 -> 111 (callgrind), CPU time 1.66x -> 1.36x plain
 * jemalloc (interleaved, loaded machine); 2 threads 1.42x -> 1.18x.  The
 * price: a thread may keep up to about 4 MiB more freed blocks cached
 * (50 blocks of each class up to 14 KiB instead of 20); peak RSS of the
 * benchmarks moved by under 1%. *
 * Slabs: every slab of the small classes up to 4 KiB as large as jemalloc
 * allows (512 regions, slab_sizes): jemalloc keeps an edata_t of 128 bytes
 * per slab in use, so a 48-byte class (a 28-byte int with its header) in
 * 6-page slabs costs 0.5% of the heap instead of 1% in 3-page ones, and a
 * 32-byte class 0.8% instead of 3%.  A larger slab is no larger in RSS:
 * its free pages are never touched or are purged (purge.c).  Measured: a
 * dict of 2*10**6 short strings and lists, every 100th entry kept, ends at
 * 1.064x its page floor after the trim instead of 1.085x. */
const char *mg_je_malloc_conf = "slab_sizes:1-4096:64,tcache_nslots_small_min:50,"
				"tcache_gc_incr_bytes:1048576";

/* Dirty decay of the object arenas.  The 16-byte header moves common small
 * requests into size classes whose slabs span several pages (a 28-byte int
 * becomes 48: 3-page slabs; short strings 80: 5-page slabs).  Freed slab
 * runs then pile up in the dirty cache until decay runs (jemalloc seems not
 * to coalesce dirty extents below 16 KiB before that: inferred from its
 * source, not traced), and with the default 10 s the arena keeps growing
 * (python bench: 280 MB peak against 95 MB for plain jemalloc).  Measured:
 * 100 ms gives ~105 MB for ~7% more time; 0 costs up to 2x in time.  This
 * overrides MALLOC_CONF's dirty_decay_ms for the object arenas. */
#define OBJ_DIRTY_DECAY_MS 100

static int create_arena(unsigned *ind, bool release_at_once)
{
	extent_hooks_t *hp = &hooks;
	size_t sz = sizeof *ind;
	if (mg_je_mallctl("arenas.create", ind, &sz, &hp, sizeof hp))
		return -1;
	char name[64];
	ssize_t zero = 0, dirty = release_at_once ? 0 : OBJ_DIRTY_DECAY_MS;
	snprintf(name, sizeof name, "arena.%u.dirty_decay_ms", *ind);
	mg_je_mallctl(name, NULL, NULL, &dirty, sizeof dirty);
	if (release_at_once) {
		snprintf(name, sizeof name, "arena.%u.muzzy_decay_ms", *ind);
		mg_je_mallctl(name, NULL, NULL, &zero, sizeof zero);
	}
	return 0;
}

/* Brings jemalloc's statistics up to date ("epoch"): writes those of every
 * arena, some 18 KB each. */
static void stats_refresh(void)
{
	uint64_t e = 1;
	size_t sz = sizeof e;
	mg_je_mallctl("epoch", &e, &sz, &e, sizeof e);
}

/* A new arena that may be rotated, which needs its count of active pages:
 * 0, 1 when it has none (usable, but never to be retired), -1 when no
 * arena could be made. */
static int create_rotating(unsigned *ind)
{
	if (create_arena(ind, false))
		return -1;
	/* jemalloc's mallctl knows an arena by index only after a statistics
	 * epoch (ctl.c: ctl_arenas_i_verify) */
	stats_refresh();
	char name[64];
	const size_t *p = NULL;
	size_t sz = sizeof p;
	snprintf(name, sizeof name, "experimental.arenas.%u.pactivep", *ind);
	if (*ind >= MAX_ARENA_IND || mg_je_mallctl(name, &p, &sz, NULL, 0) || !p)
		return 1;
	active[*ind] = p;
	pthread_mutex_lock(&region_lock);
	rotating[*ind] = true;
	owned_all += owned[*ind];   /* its base block */
	grown[*ind] = 0;
	pthread_mutex_unlock(&region_lock);
	return 0;
}

static size_t active_bytes(unsigned a)
{
	return __atomic_load_n(active[a], __ATOMIC_RELAXED) * mg_os_page();
}

/* Destroys the retired arenas with no active page and no bound thread;
 * returns how many. */
static unsigned reap_locked(void)
{
	unsigned done = 0;
	char name[64];
	for (unsigned i = 0; i < nretired;) {
		unsigned a = retired[i];
		snprintf(name, sizeof name, "arena.%u.destroy", a);
		if (nbound[a] == 0 && active_bytes(a) == 0 &&
		    mg_je_mallctl(name, NULL, NULL, NULL, 0) == 0) {
			retired[i] = retired[--nretired];
			active[a] = NULL;
			pthread_mutex_lock(&region_lock);
			rotating[a] = false;
			owned_all -= owned[a];
			owned[a] = grown[a] = 0;
			pthread_mutex_unlock(&region_lock);
			done++;
			continue;
		}
		i++;
	}
	return done;
}

/* The bytes of arena a's active pages that no allocation holds: free
 * regions in its slabs.  Only after a statistics epoch (stats_refresh). */
static size_t room_of(unsigned a)
{
	char name[64];
	size_t v, sz = sizeof v, used = 0;
	snprintf(name, sizeof name, "stats.arenas.%u.small.allocated", a);
	if (mg_je_mallctl(name, &v, &sz, NULL, 0) == 0)
		used += v;
	snprintf(name, sizeof name, "stats.arenas.%u.large.allocated", a);
	if (mg_je_mallctl(name, &v, &sz, NULL, 0) == 0)
		used += v;
	size_t act = active_bytes(a);
	return act > used ? act - used : 0;
}


/* The next current arena: the retired one with the most free room in its
 * slabs, if that is a tenth of its active pages and ROOM_MIN more than it
 * had when it was retired (its objects have died since, leaving holes that
 * only this arena can fill; the holes it already had were of size classes
 * that did not need them), else a new one: 1 for a retired one, 0 for a
 * new one, -1 when there is none.  Takes a statistics epoch, which writes
 * jemalloc's statistics of every arena: some 18 KB each, a few dozen
 * arenas at most. */
#define ROOM_MIN ((size_t)1 << 20)
static int next_arena_locked(unsigned *out)
{
	reap_locked();
	long best = -1;
	size_t best_room = 0;
	if (nretired)
		stats_refresh();
	for (unsigned i = 0; i < nretired; i++) {
		unsigned a = retired[i];
		size_t room = room_of(a);
		if (room >= room_seen[a] + ROOM_MIN && room >= active_bytes(a) / 10 &&
		    room > best_room) {
			best = i;
			best_room = room;
		}
	}
	if (best >= 0) {
		*out = retired[best];
		retired[best] = retired[--nretired];
		return 1;
	}
	if (nretired == RETIRED_MAX)
		return -1;
	return create_rotating(out) == 0 ? 0 : -1;   /* one without counts: left unused */
}

/* Makes a new current arena for slot s, a retired one with room or a new
 * one, and retires the old one; with no other arena to go to, the slot
 * stays and asks again after another span.  Under rotate_lock. */
static void rotate_locked(unsigned s)
{
	unsigned next, old = cur[s], w = want[s];
	int r = next_arena_locked(&next);
	size_t room = 0;
	if (r >= 0) {
		stats_refresh();
		room = room_of(old);
	}
	pthread_mutex_lock(&region_lock);
	want[s] = WANT_NONE;
	if (r >= 0) {
		__atomic_store_n(&slot_of[old], 0, __ATOMIC_RELAXED);
		__atomic_store_n(&slot_of[next], s + 1, __ATOMIC_RELAXED);
		grown[next] = burst_grown[s] = 0;
		__atomic_store_n(&burst_arena[s], w == WANT_GROWN, __ATOMIC_RELAXED);
		__atomic_store_n(&cur[s], next, __ATOMIC_RELAXED);
		retired[nretired++] = old;
		room_seen[old] = room;
	} else {
		grown[old] = burst_grown[s] = 0;
	}
	pthread_mutex_unlock(&region_lock);
	__atomic_add_fetch(&mg_heap_epoch, 1, __ATOMIC_RELEASE);
}

/* Binds the calling thread to its slot's current arena; under rotate_lock.
 * If binding fails the thread gets an explicit tcache and misc_arena, which
 * a block reused from an exited thread keeps.  Sets small_max to match
 * (heap.h's inline paths are for bound threads only). */
static void bind_locked(struct mg_thread *t)
{
	unsigned a = cur[t->slot], tc;
	size_t sz = sizeof tc;
	if (t->tcache_flags == MG_TCACHE_AUTO && !(t->bound && t->arena == a)) {
		if (t->bound)
			nbound[t->arena]--;
		t->bound = 0;
		if (mg_je_mallctl("thread.arena", NULL, NULL, &a, sizeof a) == 0) {
			t->arena = a;
			t->bound = 1;
			nbound[a]++;
		} else {
			t->arena = misc_arena;
			t->tcache_flags = mg_je_mallctl("tcache.create", &tc, &sz, NULL, 0) == 0
					  ? (unsigned)MALLOCX_TCACHE(tc) : MG_TCACHE_NONE;
		}
	}
	t->small_max = mg_heap_small_max(t->tcache_flags);
}

/* jemalloc's rtree maps each page of an extent to its edata_t; a page left
 * by its extent keeps an entry that says "no extent" in a word which is
 * not 0 but SC_NSIZES << LG_VADDR (an invalid size class and a NULL edata:
 * emap.c's deregistration in jemalloc 5.3, with the compact leaf encoding
 * of x86-64, LG_VADDR 48).  Every reader checks the edata first, so such a
 * word reads the same as the 0 of a page never mapped: the purge drops
 * leaf pages made only of the two (purge.c).  Another encoding gives
 * another word, which then never matches: nothing is dropped. */
static uint64_t rtree_cleared;

static void rtree_cleared_init(void)
{
	unsigned nbins = 0, nlextents = 0;
	size_t sz = sizeof nbins;
	if (mg_je_mallctl("arenas.nbins", &nbins, &sz, NULL, 0) == 0 &&
	    mg_je_mallctl("arenas.nlextents", &nlextents, &sz, NULL, 0) == 0 &&
	    nbins && nlextents)
		rtree_cleared = (uint64_t)(nbins + nlextents) << 48;
}

uint64_t mg_heap_rtree_cleared(void)
{
	return rtree_cleared;
}

int mg_heap_init(void)
{
	const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);
	if (rnd)
		memcpy(&mg_hdr_secret, rnd + 8, sizeof mg_hdr_secret);
	mg_hdr_secret ^= (uintptr_t)&mg_hdr_secret * UINT64_C(0x9e3779b97f4a7c15);

	size_t size = (size_t)mg_opt.heap_reserve;
	void *r = NULL;
	for (; size >= ((size_t)1 << 30); size /= 2) {
		r = mg_os_reserve(size);
		if (!r)
			continue;
		if (mg_index_init((uintptr_t)r, size) == 0)
			break;
		mg_os_unmap(r, size);
		r = NULL;
	}
	if (!r) {
		mg_log("cannot reserve address space for the heap (heap_reserve=%llu); "
		       "is RLIMIT_AS too low?", (unsigned long long)mg_opt.heap_reserve);
		return -1;
	}
	if (size != mg_opt.heap_reserve)
		mg_log("heap_reserve lowered to %zu bytes: the address space is limited", size);
	mg_heap_base = mg_heap_bump = (uintptr_t)r;
	mg_heap_first = mg_heap_base + MG_HDR;   /* mg_heap_granules stays 0 */
	mg_heap_end = (uintptr_t)r + size;

	nslots = mg_opt.arenas ? (unsigned)mg_opt.arenas : mg_os_ncpu();
	if (nslots > 8 && !mg_opt.arenas)
		nslots = 8;
	arena_span = (size_t)mg_opt.arena_span;
	for (unsigned i = 0; i < nslots; i++) {
		int r = create_rotating(&cur[i]);
		if (r < 0) {
			mg_log("cannot create jemalloc arenas");
			return -1;
		}
		if (r > 0)
			arena_span = 0;   /* no live page counts: no rotation */
		else
			slot_of[cur[i]] = (uint8_t)(i + 1);
	}
	if (create_arena(&misc_arena, false) || create_arena(&large_arena, true)) {
		mg_log("cannot create jemalloc arenas");
		return -1;
	}
	large_release = (size_t)mg_opt.large_release;
	for (size_t i = 1; i < MG_HEAP_SMALL_SLOTS; i++)
		mg_heap_small_usable[i] = (uint16_t)(mg_heap_usable_class(i * 16) - MG_HDR);
	rtree_cleared_init();
	return 0;
}

/* Gives a new block its slot (fresh) and binds the calling thread to the
 * slot's current arena with "thread.arena".  A bound thread (tcache_flags
 * MG_TCACHE_AUTO) allocates with flags 0, so its small objects take
 * jemalloc's malloc and sdallocx fast paths and its automatic tcache; any
 * flag (an arena, an explicit tcache) sends jemalloc down its general path,
 * some 150 more instructions per malloc/free pair. */
void mg_heap_thread_attach(struct mg_thread *t, bool fresh)
{
	static unsigned next;
	if (fresh) {
		t->slot = __atomic_fetch_add(&next, 1, __ATOMIC_RELAXED) % nslots;
		t->tcache_flags = MG_TCACHE_AUTO;
	}
	pthread_mutex_lock(&rotate_lock);
	t->epoch = __atomic_load_n(&mg_heap_epoch, __ATOMIC_ACQUIRE);
	bind_locked(t);
	pthread_mutex_unlock(&rotate_lock);
}

/* At every MG_FLUSH_OPS-th operation of t's thread (mg_stats_flush:
 * outside jemalloc, never with the world stopped, never at thread exit).  Moves t to its slot's new arena when
 * there is one, and asks for a new one when the slot's arena has lost most
 * of what it took since it became current (less than 1/8 of it active): a
 * burst has been freed, and the arena, retired before anything else comes
 * to it, can then be destroyed whole.  t's arena cannot be destroyed while
 * t is bound to it, so its count of active pages is there to read. */
void mg_heap_thread_flushed(struct mg_thread *t)
{
	if (t->shared)
		return;
	int64_t live = mg_stats_live(t).objs;
	uint64_t frees = t->allocs - (uint64_t)live;   /* stats.h */
	if (++t->burst_flushes == BURST_OPS / MG_FLUSH_OPS) {
		uint64_t al = t->allocs - t->burst_allocs, fr = frees - t->burst_frees;
		t->bursting = fr * 16 < al;
		if (!t->bursting && __atomic_load_n(&burst_grown[t->slot], __ATOMIC_RELAXED)) {
			pthread_mutex_lock(&region_lock);
			burst_grown[t->slot] = 0;   /* the burst ended */
			pthread_mutex_unlock(&region_lock);
		}
		t->burst_allocs = t->allocs;
		t->burst_frees = frees;
		t->burst_flushes = 0;
	}
	/* frees among the last MG_FLUSH_OPS operations: ops = allocs + frees */
	int64_t dnet = live - t->flush_live;
	t->flush_live = live;
	bool freeing = dnet < MG_FLUSH_OPS - MG_FLUSH_OPS / 4;   /* 1 op in 8 a free */
	if (t->epoch == __atomic_load_n(&mg_heap_epoch, __ATOMIC_ACQUIRE)) {
		unsigned a = t->arena;
		if (!t->bound || !arena_span || !active[a] ||
		    __atomic_load_n(&cur[t->slot], __ATOMIC_RELAXED) != a ||
		    __atomic_load_n(&want[t->slot], __ATOMIC_RELAXED))
			return;
		uint64_t g = __atomic_load_n(&grown[a], __ATOMIC_RELAXED);
		bool ended = freeing && __atomic_load_n(&burst_arena[t->slot], __ATOMIC_RELAXED);
		if (!ended && (g < arena_span || active_bytes(a) >= g / 8))
			return;
		pthread_mutex_lock(&region_lock);
		want[t->slot] = WANT_FREED;
		pthread_mutex_unlock(&region_lock);
	}
	mg_heap_thread_refresh(t);
}

/* The slot wants a new arena, or has one. */
void mg_heap_thread_refresh(struct mg_thread *t)
{
	if (t->shared)
		return;
	pthread_mutex_lock(&rotate_lock);
	t->epoch = __atomic_load_n(&mg_heap_epoch, __ATOMIC_ACQUIRE);
	if (__atomic_load_n(&want[t->slot], __ATOMIC_RELAXED))
		rotate_locked(t->slot);
	bind_locked(t);
	pthread_mutex_unlock(&rotate_lock);
}

/* The blocks in t's tcache (the thread's own, or the block's explicit one)
 * go back to their arenas. */
static void flush_tcache(const struct mg_thread *t)
{
	if (t->tcache_flags == MG_TCACHE_NONE)
		return;
	if (t->tcache_flags == MG_TCACHE_AUTO) {
		mg_je_mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
		return;
	}
	unsigned tc = (t->tcache_flags >> 8) - 2;
	mg_je_mallctl("tcache.flush", NULL, NULL, &tc, sizeof tc);
}

/* The block goes to the next new thread: flush its tcache so that an
 * exited thread keeps no memory cached, and count it unbound (jemalloc
 * unbinds it at its own thread exit). */
void mg_heap_thread_detach(struct mg_thread *t)
{
	if (t->bound) {
		pthread_mutex_lock(&rotate_lock);
		nbound[t->arena]--;
		t->bound = 0;
		pthread_mutex_unlock(&rotate_lock);
	}
	flush_tcache(t);
}

/* ---- jemalloc's size classes (LG_QUANTUM 4, four classes per doubling) ---- */

size_t mg_heap_usable_class(size_t n)
{
	if (n <= 8)
		return 8;
	unsigned x = 63 - (unsigned)__builtin_clzll((n << 1) - 1);   /* ceil(log2 n) */
	unsigned lg_delta = x < 2 + 4 + 1 ? 4 : x - 2 - 1;
	size_t delta = (size_t)1 << lg_delta;
	return (n + delta - 1) & ~(delta - 1);
}

uint32_t mg_heap_small_max(unsigned tcache_flags)
{
	if (tcache_flags != MG_TCACHE_AUTO)
		return 0;
	/* the inline paths serve n <= small_max, whose request n + MG_HDR
	 * must stay below large_release (at least 4096) */
	size_t below = large_release - MG_HDR - 1;
	return below < MG_HEAP_SMALL_MAX ? (uint32_t)below : MG_HEAP_SMALL_MAX;
}

/* 0 for a bound thread's small objects: its own arena, by "thread.arena".
 * The shared block (threads past their key destructor) has no arena of
 * its own and uses misc_arena without a tcache. */
static inline int flags_for(const struct mg_thread *t, size_t req)
{
	if (req >= large_release)
		return MALLOCX_ARENA(large_arena) | MALLOCX_TCACHE_NONE;
	if (MG_LIKELY(t->tcache_flags == MG_TCACHE_AUTO))
		return 0;
	return MALLOCX_ARENA(t->shared ? misc_arena : t->arena) | (int)t->tcache_flags;
}

static inline size_t usable_of(void *base, size_t req, unsigned lg_al, size_t off)
{
	return (lg_al ? mg_je_sallocx(base, 0) : mg_heap_usable_class(req)) - off;
}

/* ---- objects ---- */

/* The bytes a live object's jemalloc block spans, [*lo, *hi): from the
 * header alone (no jemalloc call: purge.c runs with the world stopped).
 * The block is jemalloc's size class for the request, all of which the
 * program may use (malloc_usable_size); for an aligned object, whose class
 * jemalloc picks with the alignment, the class of the request plus the
 * alignment, which is at least as large. */
void mg_heap_block(const void *user, uintptr_t *lo, uintptr_t *hi)
{
	const struct mg_hdr *h = mg_hdr_of(user);
	unsigned lg = mg_hdr_lgal(h);
	size_t off = mg_hdr_offset(lg);
	size_t req = mg_heap_req(mg_hdr_size(h), off);
	*lo = (uintptr_t)user - off;
	*hi = *lo + mg_heap_usable_class(lg ? req + ((size_t)1 << lg) : req);
}

/* jemalloc's largest small size class (SC_SMALL_MAXCLASS, 4 KiB pages):
 * above it a block is a large extent of its own. */
#define MG_SMALL_MAX 14336

static inline int align_flags(unsigned lg)
{
	return lg ? MALLOCX_LG_ALIGN(lg) : 0;
}


void *mg_heap_alloc_general(struct mg_thread *t, size_t n, size_t align, bool zero, uint32_t site)
{
	unsigned lg = align > MG_HDR ? (unsigned)__builtin_ctzll(align) : 0;
	size_t off = mg_hdr_offset(lg);
	if (MG_UNLIKELY(n > MG_HDR_SIZE_MAX - off))
		return NULL;
	size_t req = mg_heap_req(n, off);
	int flags = flags_for(t, req) | align_flags(lg) | (zero ? MALLOCX_ZERO : 0);
	char *base = flags == 0 ? mg_je_malloc(req) : mg_je_mallocx(req, flags);
	if (MG_UNLIKELY(!base))
		return NULL;
	void *user = base + off;
	mg_heap_born(t, user, n, lg, usable_of(base, req, lg, off), site);
	return user;
}

void *mg_heap_alloc(size_t n, size_t align, bool zero, uint32_t site)
{
	return mg_heap_alloc_inline(mg_stats_get(), n, align, zero, site);
}

static void site_text(uint32_t site, char *buf, size_t n)
{
	void *const *frames;
	if (site > MG_SITE_OVERFLOW && mg_sites_frames(site, &frames) > 0)
		mg_sites_symbolize(frames[0], buf, n);
	else
		snprintf(buf, n, "%s", site == MG_SITE_OVERFLOW ? "(site table full)" : "(unknown site)");
}

/* A pointer in the region that is not a live object start: one line naming
 * it and what it is, then abort or carry on as on_error says. */
static void bad_pointer(const char *op, void *p, void *caller)
{
	char at[512], by[512];
	mg_stats_error();
	mg_sites_symbolize(caller, by, sizeof by);
	mg_stats_sync_index();   /* objects still in an allocation log too */
	if (mg_heap_readable(p) && mg_hdr_valid(p)) {
		site_text(mg_hdr_site(mg_hdr_of(p)), at, sizeof at);
		mg_log("%s(%p): double free: the object was allocated at %s and is already freed; "
		       "called from %s", op, p, at, by);
	} else if (mg_index_test(p)) {
		mg_log("%s(%p): the header before the object is overwritten (a buffer underflow, "
		       "or a use after free); called from %s", op, p, by);
	} else {
		void *start = mg_index_find(p);
		if (start) {
			site_text(mg_hdr_site(mg_hdr_of(start)), at, sizeof at);
			mg_log("%s(%p): invalid pointer: %zu bytes into the object at %p allocated at %s; "
			       "called from %s", op, p, (size_t)((char *)p - (char *)start), start, at, by);
		} else {
			mg_log("%s(%p): invalid pointer: not an object memgc handed out; called from %s",
			       op, p, by);
		}
	}
	if (mg_opt.on_error == MG_ON_ERROR_ABORT) {
		mg_log("aborting (MEMGC_OPTIONS=on_error=warn reports and carries on)");
		abort();
	}
}

/* Is p a live object?  Reads the header only where it is mapped. */
static inline bool live(const void *p)
{
	return mg_heap_readable(p) && mg_hdr_live(p);
}

/* A live object's jemalloc block, decoded from its header once. */
struct block {
	char *base;
	size_t n, off, req, usable;
	unsigned lg;
};

static inline struct block block_of(void *p)
{
	const struct mg_hdr *h = mg_hdr_of(p);
	struct block b;
	b.n = mg_hdr_size(h);
	b.lg = mg_hdr_lgal(h);
	b.off = mg_hdr_offset(b.lg);
	b.req = mg_heap_req(b.n, b.off);
	b.base = (char *)p - b.off;
	b.usable = usable_of(b.base, b.req, b.lg, b.off);
	return b;
}

static inline void clear_live(void *p)
{
	mg_hdr_of(p)->info &= ~((uint64_t)MG_FLAG_LIVE << MG_HDR_FLAGS_SHIFT);
}

int mg_heap_free_general(struct mg_thread *t, void *p, void *caller)
{
	if (MG_UNLIKELY(!live(p))) {
		bad_pointer("free", p, caller);
		return -1;
	}
	clear_live(p);
	struct block b = block_of(p);
	if (!t)
		t = mg_stats_get();
	mg_stats_free(t, b.n, b.usable);
	mg_je_sdallocx(b.base, b.req, flags_for(t, b.req) | align_flags(b.lg));
	return 0;
}

void *mg_heap_catch_up_alloc(struct mg_thread *t, void *user)
{
	mg_stats_catch_up(t);
	return user;
}

void mg_heap_catch_up_free(struct mg_thread *t, char *base)
{
	mg_stats_catch_up(t);
	mg_heap_dalloc_small(base);
}

int mg_heap_free(void *p, void *caller)
{
	return mg_heap_free_inline(mg_stats_tls, p, caller);
}

void *mg_heap_realloc(void *p, size_t n, uint32_t site, void *caller)
{
	if (!live(p)) {
		bad_pointer("realloc", p, caller);
		return NULL;
	}
	struct block b = block_of(p);
	if (n > MG_HDR_SIZE_MAX - b.off)
		return NULL;
	size_t nreq = mg_heap_req(n, b.off);
	struct mg_thread *t = mg_stats_get();
	const struct mg_hdr *h = mg_hdr_of(p);
	unsigned gen = mg_hdr_gen(h), fl = mg_hdr_flags(h);
	if (!b.lg && mg_heap_usable_class(nreq) == b.usable + b.off &&
	    (b.req >= large_release) == (nreq >= large_release)) {
		mg_hdr_write(p, n, 0, gen, fl, site);
		mg_stats_resize(t, b.n, b.usable, n, b.usable);
		return p;
	}
	/* In place: jemalloc resizes a large block where it lies when it can
	 * (what rallocx tries first), and the header must then name the new
	 * size class exactly (see mg_heap_xalloc). */
	int af = align_flags(b.lg);
	if ((b.req >= large_release) == (nreq >= large_release) && b.req > MG_SMALL_MAX &&
	    nreq > MG_SMALL_MAX) {
		size_t want = mg_je_nallocx(nreq, af);
		if (want && mg_je_xallocx(b.base, nreq, 0, af) == want) {
			mg_hdr_write(p, n, b.lg, gen, fl, site);
			mg_stats_resize(t, b.n, b.usable, n, want - b.off);
			return p;
		}
	}
	/* Moved.  The new block is born (logged, live) and filled before the
	 * old one dies, so that at every instant each block holding the data is
	 * a live object: a stopped world (purge.c, the collector) may look
	 * between any two steps.  jemalloc's rallocx would copy into a block
	 * that is nobody's yet. */
	int flags = flags_for(t, nreq) | af;
	char *nbase = MG_LIKELY(flags == 0) ? mg_je_malloc(nreq) : mg_je_mallocx(nreq, flags);
	if (!nbase)
		return NULL;
	void *user = nbase + b.off;
	size_t nu = usable_of(nbase, nreq, b.lg, b.off);
	bool due = mg_stats_log(t, user);
	mg_hdr_write(user, n, b.lg, gen, fl, site);
	mg_stats_logged(t, user, due);
	/* all the program may have written: the usable size, as rallocx does */
	memcpy(user, p, nu < b.usable ? nu : b.usable);
	/* Not live from here: once freed, another thread may be handed it. */
	clear_live(p);
	mg_je_sdallocx(b.base, b.req, flags_for(t, b.req) | af);
	mg_stats_resize(t, b.n, b.usable, n, nu);
	return user;
}

size_t mg_heap_xalloc(void *p, size_t n, size_t extra, void *caller)
{
	if (!live(p)) {
		bad_pointer("xallocx", p, caller);
		return 0;
	}
	struct block b = block_of(p);
	if (n > MG_HDR_SIZE_MAX - b.off || extra > MG_HDR_SIZE_MAX - b.off - n)
		return b.usable;
	size_t want = n + extra;
	size_t nu;
	if ((b.req >= large_release) != (mg_heap_req(want, b.off) >= large_release))
		nu = b.usable;   /* would change arena: not in place */
	else
		nu = mg_je_xallocx(b.base, mg_heap_req(n, b.off), extra, align_flags(b.lg)) - b.off;
	size_t nn = nu < n ? b.n : (want < nu ? want : nu);
	/* The size must keep naming the block's size class (free hands it to
	 * sdallocx, usable_of computes from it): when jemalloc kept the block
	 * (a shrink to a smaller class, or across large_release) so does the
	 * header. */
	if (mg_je_nallocx(mg_heap_req(nn, b.off), align_flags(b.lg)) != nu + b.off)
		nn = b.n;
	if (nn != b.n || nu != b.usable) {
		const struct mg_hdr *h = mg_hdr_of(p);
		mg_hdr_write(p, nn, b.lg, mg_hdr_gen(h), mg_hdr_flags(h), mg_hdr_site(h));
		mg_stats_resize(mg_stats_get(), b.n, b.usable, nn, nu);
	}
	return nu;
}

size_t mg_heap_usable(const void *p)
{
	return live(p) ? block_of((void *)p).usable : 0;
}

/* The live object p was made for memgc itself: flag it, uncount it. */
void mg_heap_disown(void *p)
{
	if (!live(p) || (mg_hdr_flags(mg_hdr_of(p)) & MG_FLAG_OWN))
		return;
	struct block b = block_of(p);
	__atomic_fetch_or(&mg_hdr_of(p)->info, (uint64_t)MG_FLAG_OWN << MG_HDR_FLAGS_SHIFT,
			  __ATOMIC_RELAXED);
	mg_stats_disown(b.n, b.usable);
}

/* The caller's tcache goes back to the arenas first, so that its cached
 * blocks do not keep their slabs; other threads keep theirs (the page
 * purge drops the pages under them all the same).  The caller's current
 * arena is retired if it is mostly free (less than 1/8 of what it took is
 * active), so that it can be destroyed with the empty retired ones.  Then
 * jemalloc gives back every free extent, and purge.c the free pages inside
 * the rest. */
int mg_heap_trim(struct mg_purge_stats *ps)
{
	char name[64];
	struct mg_thread *t = mg_stats_tls;   /* a thread without a block has no cache either */
	unsigned destroyed = 0;
	if (t && !t->shared) {
		flush_tcache(t);
		pthread_mutex_lock(&rotate_lock);
		unsigned c = cur[t->slot];
		pthread_mutex_lock(&region_lock);
		uint64_t g = grown[c];
		pthread_mutex_unlock(&region_lock);
		if (t->bound && t->arena == c && arena_span && active[c] && g >= arena_span &&
		    active_bytes(c) < g / 8) {
			rotate_locked(t->slot);
			bind_locked(t);
		}
		destroyed = reap_locked();
		pthread_mutex_unlock(&rotate_lock);
	}
	snprintf(name, sizeof name, "arena.%u.purge", (unsigned)MALLCTL_ARENAS_ALL);
	int r = mg_je_mallctl(name, NULL, NULL, NULL, 0);
	mg_purge_run(ps);
	if (ps)
		ps->arenas_destroyed = destroyed;
	return r;
}

/* Arena 0 by name: a bound thread's automatic choice is its object arena. */
void *mg_heap_meta_alloc(size_t n)
{
	return mg_je_mallocx(n ? n : 1, MALLOCX_ARENA(0) | MALLOCX_TCACHE_NONE);
}

void mg_heap_meta_free(void *p)
{
	if (p)
		mg_je_dallocx(p, MALLOCX_TCACHE_NONE);
}

/* rotate_lock is taken before fork (its rank is above jemalloc's locks,
 * which jemalloc's own handlers take after memgc's), so the arena tables
 * are whole in the child.  region_lock is not: the extent hooks take it
 * while jemalloc holds its own locks, so taking it first would invert the
 * order.  No thread can be inside a hook at fork time anyway, because
 * jemalloc's fork handlers hold every lock under which it calls them, and
 * the other holders (rotations, the flush that asks for one) are under
 * rotate_lock or change one flag; the child starts it afresh all the same. */
void mg_heap_fork_prepare(void)
{
	pthread_mutex_lock(&rotate_lock);
}

void mg_heap_fork_parent(void)
{
	pthread_mutex_unlock(&rotate_lock);
}

void mg_heap_fork_child(void)
{
	pthread_mutex_init(&rotate_lock, NULL);
	pthread_mutex_init(&region_lock, NULL);
	mg_purge_fork_child();
}

/* ---- the bootstrap allocator ---- */

static char boot[1 << 20] __attribute__((aligned(16)));
static size_t boot_used;

void *mg_heap_boot_alloc(size_t n)
{
	if (n > sizeof boot)
		return NULL;
	size_t need = ((n + 15) & ~(size_t)15) + 16;
	size_t at = __atomic_fetch_add(&boot_used, need, __ATOMIC_RELAXED);
	if (at + need > sizeof boot)
		return NULL;
	memcpy(boot + at, &n, sizeof n);
	return boot + at + 16;
}

bool mg_heap_boot_owns(const void *p)
{
	return (uintptr_t)p - (uintptr_t)boot < sizeof boot;
}

void mg_heap_boot_range(uintptr_t *lo, uintptr_t *hi)
{
	size_t used = __atomic_load_n(&boot_used, __ATOMIC_RELAXED);
	*lo = (uintptr_t)boot;
	*hi = (uintptr_t)boot + (used < sizeof boot ? used : sizeof boot);
}

size_t mg_heap_boot_size(const void *p)
{
	size_t n;
	memcpy(&n, (const char *)p - 16, sizeof n);
	return n;
}
