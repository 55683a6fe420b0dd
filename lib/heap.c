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
static pthread_mutex_t region_lock = PTHREAD_MUTEX_INITIALIZER;
#define MAX_ARENAS 64
static unsigned obj_arena[MAX_ARENAS], nobj, large_arena;
static size_t large_release;
uint16_t mg_heap_small_usable[MG_HEAP_SMALL_SLOTS];

/* ---- extent hooks: jemalloc's object arenas grow only inside the region ---- */

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
	}
	pthread_mutex_unlock(&region_lock);
	if (ret) {
		note_extent(size);
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

/* ---- set-up ---- */

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
 * benchmarks moved by under 1%. */
const char *mg_je_malloc_conf = "tcache_nslots_small_min:50,tcache_gc_incr_bytes:1048576";

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
	for (size_t i = 1; i < MG_HEAP_SMALL_SLOTS; i++)
		mg_heap_small_usable[i] = (uint16_t)(mg_heap_usable_class(i * 16) - MG_HDR);
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
	bool old = mg_hdr_gen(mg_hdr_of(p)) != 0;
	clear_live(p);
	struct block b = block_of(p);
	if (!t)
		t = mg_stats_get();
	mg_stats_free(t, b.n, b.usable, old);
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
	/* A new object, live and logged before the copy: a collection that
	 * stops this thread anywhere in between finds the pointers the object
	 * holds in the old copy or in the new one (jemalloc's rallocx would
	 * copy into a block that is neither). */
	int flags = flags_for(t, nreq) | align_flags(b.lg);
	char *nbase = MG_LIKELY(flags == 0) ? mg_je_malloc(nreq) : mg_je_mallocx(nreq, flags);
	if (!nbase)
		return NULL;
	void *user = nbase + b.off;
	mg_hdr_write(user, n, b.lg, gen, fl, site);
	mg_stats_log(t, user);
	size_t nu = usable_of(nbase, nreq, b.lg, b.off);
	memcpy(user, p, nu < b.usable ? nu : b.usable);   /* all a program may have written */
	clear_live(p);
	mg_je_sdallocx(b.base, b.req, flags_for(t, b.req) | align_flags(b.lg));
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

int mg_heap_trim(void)
{
	char name[64];
	snprintf(name, sizeof name, "arena.%u.purge", (unsigned)MALLCTL_ARENAS_ALL);
	return mg_je_mallctl(name, NULL, NULL, NULL, 0);
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
