/* heap.c: the region, the jemalloc arenas that carve it, and the object
 * operations (alloc, free, realloc) with their headers.
 *
 * Owns:
 *   the region   [mg_heap_base, mg_heap_end), reserved PROT_NONE at start;
 *                [mg_heap_base, mg_heap_bump) has been handed to jemalloc and is
 *                readable and writable for the rest of the process
 *   the arenas   obj_arena[0..nobj) for objects below large_release, each
 *                thread bound to one with an explicit tcache; large_arena
 *                (decay 0) for the rest, so their pages go back at free
 *   the boot     a static buffer for the allocations made while memgc
 *                itself starts (jemalloc's and glibc's set-up)
 * Invariants:
 *   an object's jemalloc block is [user - off, user + max(size, 1)) with
 *   off = mg_hdr_offset(lg_al), and lies inside [mg_heap_base, mg_heap_bump)
 *   L0 index byte set  <=>  the object is live (mg_index_check())
 *   a block that holds program data is a live object's: realloc fills a
 *   live block before the old one dies, alloc logs an object before its
 *   header says live (stats.h), so that a stopped world never sees data
 *   in a block that is nobody's
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

#include "header.h"
#include "internal.h"
#include "je.h"
#include "stats.h"

uintptr_t mg_heap_base, mg_heap_end;
uint64_t mg_hdr_secret;

uintptr_t mg_heap_bump;                    /* written under region_lock */
static pthread_mutex_t region_lock = PTHREAD_MUTEX_INITIALIZER;
#define MAX_ARENAS 64
static unsigned obj_arena[MAX_ARENAS], nobj, large_arena;
static size_t large_release;

/* ---- extent hooks: jemalloc's object arenas grow only inside the region ----
 *
 * The hooks serve two kinds of request, which they cannot tell apart for
 * sure: extents (slabs and large blocks: program objects) and blocks of
 * an arena's base allocator (jemalloc's metadata: the arena itself, its
 * bins, an edata_t per extent).  Base blocks are asked for with no address
 * and a 2 MiB alignment (HUGEPAGE, jemalloc's base.c), which an extent
 * request only has for a 2 MiB-aligned object: such ranges are noted as
 * pinned, and the purge never drops their pages (purge.c); an extent noted
 * by mistake is only purged less.  pinned[0..npinned) is sorted (appended
 * at the bump pointer) and written under region_lock.
 */

#define BASE_ALIGN ((size_t)2 << 20)
#define PINNED_MAX 512
static struct mg_range pinned[PINNED_MAX];
static unsigned npinned;
static bool pinned_lost;                     /* a base block went unnoted */

static void *hook_alloc(extent_hooks_t *h, void *new_addr, size_t size, size_t alignment,
			bool *zero, bool *commit, unsigned ind)
{
	(void)h; (void)ind;
	void *ret = NULL;
	if (alignment < mg_os_page())
		alignment = mg_os_page();
	pthread_mutex_lock(&region_lock);
	uintptr_t bump = mg_heap_bump;
	uintptr_t a = new_addr ? (uintptr_t)new_addr : (bump + alignment - 1) & ~(alignment - 1);
	/* Growth only at the end: a requested address elsewhere is refused. */
	if ((!new_addr || a == bump) && a >= bump && a + size > a && a + size <= mg_heap_end &&
	    mg_os_commit((void *)a, size) == 0) {
		__atomic_store_n(&mg_heap_bump, a + size, __ATOMIC_RELEASE);
		ret = (void *)a;
		if (!new_addr && alignment >= BASE_ALIGN) {
			if (npinned < PINNED_MAX)
				pinned[npinned] = (struct mg_range){ a, a + size };
			else
				pinned_lost = true;
			__atomic_store_n(&npinned, npinned + (npinned < PINNED_MAX), __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&region_lock);
	if (ret) {
		*zero = true;   /* never handed out before: fresh zero pages */
		*commit = true;
	}
	return ret;
}

/* Opt out of unmapping: jemalloc keeps the range as retained and reuses it. */
static bool hook_dalloc(extent_hooks_t *h, void *addr, size_t size, bool committed, unsigned ind)
{
	(void)h; (void)addr; (void)size; (void)committed; (void)ind;
	return true;
}

static void hook_destroy(extent_hooks_t *h, void *addr, size_t size, bool committed, unsigned ind)
{
	(void)h; (void)committed; (void)ind;
	mg_os_purge(addr, size);
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

static bool hook_purge(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len,
		       unsigned ind)
{
	(void)h; (void)size; (void)ind;
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
	(void)h; (void)a; (void)sa; (void)b; (void)sb; (void)committed; (void)ind;
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
 * the block to jemalloc yet, so nothing is in it. */
long mg_heap_pinned(struct mg_range *out, size_t cap)
{
	unsigned n = __atomic_load_n(&npinned, __ATOMIC_ACQUIRE);
	if (pinned_lost || n > cap)
		return -1;
	for (unsigned i = 0; i < n; i++)
		out[i] = pinned[i];
	return n;
}

/* ---- set-up ---- */

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
	mg_heap_end = (uintptr_t)r + size;

	nobj = mg_opt.arenas ? (unsigned)mg_opt.arenas : mg_os_ncpu();
	if (nobj > 8 && !mg_opt.arenas)
		nobj = 8;
	for (unsigned i = 0; i < nobj; i++)
		if (create_arena(&obj_arena[i], false)) {
			mg_log("cannot create jemalloc arenas");
			return -1;
		}
	if (create_arena(&large_arena, true)) {
		mg_log("cannot create jemalloc arenas");
		return -1;
	}
	large_release = (size_t)mg_opt.large_release;
	rtree_cleared_init();
	return 0;
}

/* Gives a new block its object arena (fresh) and binds the calling thread
 * to the block's arena with "thread.arena".  A bound thread (tcache_flags
 * MG_TCACHE_AUTO) allocates with flags 0, so its small objects take
 * jemalloc's malloc and sdallocx fast paths and its automatic tcache; any
 * flag (an arena, an explicit tcache) sends jemalloc down its general path,
 * some 150 more instructions per malloc/free pair.  If binding fails the
 * block gets an explicit tcache, which a block reused from an exited
 * thread keeps. */
void mg_heap_thread_attach(unsigned *arena, unsigned *tcache_flags, bool fresh)
{
	static unsigned next;
	if (fresh) {
		*arena = obj_arena[__atomic_fetch_add(&next, 1, __ATOMIC_RELAXED) % nobj];
		*tcache_flags = MG_TCACHE_AUTO;
	}
	if (*tcache_flags != MG_TCACHE_AUTO)
		return;
	unsigned a = *arena, tc;
	size_t sz = sizeof tc;
	if (mg_je_mallctl("thread.arena", NULL, NULL, &a, sizeof a) == 0)
		return;
	*tcache_flags = mg_je_mallctl("tcache.create", &tc, &sz, NULL, 0) == 0
			? (unsigned)MALLOCX_TCACHE(tc) : MG_TCACHE_NONE;
}

/* The block goes to the next new thread: flush its tcache (the thread's
 * own, or the block's explicit one) so that an exited thread keeps no
 * memory cached. */
void mg_heap_thread_detach(unsigned tcache_flags)
{
	if (tcache_flags == MG_TCACHE_NONE)
		return;
	if (tcache_flags == MG_TCACHE_AUTO) {
		mg_je_mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
		return;
	}
	unsigned tc = (tcache_flags >> 8) - 2;
	mg_je_mallctl("tcache.flush", NULL, NULL, &tc, sizeof tc);
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

/* 0 for a bound thread's small objects: its own arena, by "thread.arena".
 * The shared block (threads past their key destructor) has no arena of
 * its own and uses the first object arena without a tcache. */
static inline int flags_for(const struct mg_thread *t, size_t req)
{
	if (req >= large_release)
		return MALLOCX_ARENA(large_arena) | MALLOCX_TCACHE_NONE;
	if (MG_LIKELY(t->tcache_flags == MG_TCACHE_AUTO))
		return 0;
	return MALLOCX_ARENA(t->shared ? obj_arena[0] : t->arena) | (int)t->tcache_flags;
}

static inline size_t usable_of(void *base, size_t req, unsigned lg_al, size_t off)
{
	return (lg_al ? mg_je_sallocx(base, 0) : mg_heap_usable_class(req)) - off;
}

/* ---- objects ---- */

/* The jemalloc request for an object of n bytes placed off after its block. */
static inline size_t req_of(size_t n, size_t off)
{
	return (n ? n : 1) + off;
}

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
	size_t req = req_of(mg_hdr_size(h), off);
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


void *mg_heap_alloc(size_t n, size_t align, bool zero, uint32_t site)
{
	struct mg_thread *t = mg_stats_get();
	unsigned lg = align > MG_HDR ? (unsigned)__builtin_ctzll(align) : 0;
	size_t off = mg_hdr_offset(lg);
	if (MG_UNLIKELY(n > MG_HDR_SIZE_MAX - off))
		return NULL;
	size_t req = req_of(n, off);
	int flags = flags_for(t, req) | align_flags(lg) | (zero ? MALLOCX_ZERO : 0);
	char *base = MG_LIKELY(flags == 0) ? mg_je_malloc(req) : mg_je_mallocx(req, flags);
	if (MG_UNLIKELY(!base))
		return NULL;
	void *user = base + off;
	mg_stats_log(t, user);   /* before the header: see stats.h */
	mg_hdr_write(user, n, lg, 0, MG_FLAG_LIVE, site);
	mg_stats_logged(t, user);
	mg_stats_alloc(t, n, usable_of(base, req, lg, off));
	return user;
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
	b.req = req_of(b.n, b.off);
	b.base = (char *)p - b.off;
	b.usable = usable_of(b.base, b.req, b.lg, b.off);
	return b;
}

static inline void clear_live(void *p)
{
	mg_hdr_of(p)->info &= ~((uint64_t)MG_FLAG_LIVE << MG_HDR_FLAGS_SHIFT);
}

int mg_heap_free(void *p, void *caller)
{
	if (MG_UNLIKELY(!live(p))) {
		bad_pointer("free", p, caller);
		return -1;
	}
	clear_live(p);
	struct block b = block_of(p);
	struct mg_thread *t = mg_stats_get();
	mg_stats_free(t, b.n, b.usable);
	mg_je_sdallocx(b.base, b.req, flags_for(t, b.req) | align_flags(b.lg));
	return 0;
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
	size_t nreq = req_of(n, b.off);
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
	char *nbase = mg_je_mallocx(nreq, flags_for(t, nreq) | af);
	if (!nbase)
		return NULL;
	void *user = nbase + b.off;
	size_t nu = usable_of(nbase, nreq, b.lg, b.off);
	mg_stats_log(t, user);
	mg_hdr_write(user, n, b.lg, gen, fl, site);
	mg_stats_logged(t, user);
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
	if ((b.req >= large_release) != (req_of(want, b.off) >= large_release))
		nu = b.usable;   /* would change arena: not in place */
	else
		nu = mg_je_xallocx(b.base, req_of(n, b.off), extra, align_flags(b.lg)) - b.off;
	size_t nn = nu < n ? b.n : (want < nu ? want : nu);
	/* The size must keep naming the block's size class (free hands it to
	 * sdallocx, usable_of computes from it): when jemalloc kept the block
	 * (a shrink to a smaller class, or across large_release) so does the
	 * header. */
	if (mg_je_nallocx(req_of(nn, b.off), align_flags(b.lg)) != nu + b.off)
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

/* The caller's tcache goes back to the arenas first, so that its cached
 * blocks do not keep their slabs; other threads keep theirs (the page
 * purge drops the pages under them all the same).  Then jemalloc gives
 * back every free extent, and purge.c the free pages inside the rest. */
int mg_heap_trim(struct mg_purge_stats *ps)
{
	char name[64];
	struct mg_thread *t = mg_stats_get();
	if (!t->shared)
		mg_heap_thread_detach(t->tcache_flags);
	snprintf(name, sizeof name, "arena.%u.purge", (unsigned)MALLCTL_ARENAS_ALL);
	int r = mg_je_mallctl(name, NULL, NULL, NULL, 0);
	mg_purge_run(ps);
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

/* region_lock is not taken before fork: the extent hook takes it while
 * jemalloc holds its own locks, so taking it first would invert the order.
 * No thread can be inside the hook at fork time anyway, because jemalloc's
 * fork handlers hold every lock under which it calls the hook; the child
 * starts it afresh all the same. */
void mg_heap_fork_child(void)
{
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

size_t mg_heap_boot_size(const void *p)
{
	size_t n;
	memcpy(&n, (const char *)p - 16, sizeof n);
	return n;
}
