/* young.c: what a young collection reads of the heap, through the write
 * watch (watch.c), and which objects it condemns.
 *
 * Owns the heap's registration with the watch ([mg_heap_base,
 * heap_watched) is registered; what jemalloc was given beyond it since is
 * registered at the next collection, and so counted written in full) and
 * the choice, at each collection, between the watch and the full scan.
 *
 * Why the written pages are enough.  Let record g be the pages written
 * since the last collection of a generation >= g (watch.c).  Every object
 * of generation <= g had its header written since then: at birth (header
 * and allocation log; generation 0 after any collection means born after
 * it), or by realloc, which moves an object with its generation and writes
 * the new header.  So the condemned objects of a generation-g collection
 * are exactly the live objects of generation <= g whose header lies on a
 * page of record g: the index finds them there, without the allocation
 * logs' help and without a walk of the whole index.  And a pointer from
 * older memory to such an object was stored after it was born, so it lies
 * on a page of record g too: an older object is scanned where it meets the
 * record's pages, and nowhere else.  Roots other than the threads' stacks
 * and registers are read the same way (roots.c).
 * A promotion rewrites the header's generation, with the world stopped:
 * that write stores no pointer, and the page is re-armed unrecorded at the
 * end of the collection (mg_young_rewrote), or every survivor's page
 * would be read again by the next young collection.  The condemned objects
 * met on the walk are listed (memgc's memory), and the sweep reads the
 * list instead of walking the runs a second time.
 * A page the kernel writes (read(2)), a page purged and re-faulted, a
 * mapping or extent that appeared since the last scan: all are in the
 * record (watch.c says how).  Where the record cannot be trusted (the
 * watch off, the heap not registered, a record incomplete) the collection
 * reads all older memory as before, and says why (mg_young_why).
 *
 * All of it runs with the watch lock held (taken by collect.c before the
 * world stops) and the world stopped.  Nothing here calls malloc.
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "header.h"
#include "internal.h"

static uintptr_t heap_watched;          /* [mg_heap_base, heap_watched) registered */
/* The heap's written pages were read without being re-armed, since the
 * last mg_young_end_locked (which arms them). */
static bool deferred;
static char heap_why[96];               /* why the heap is not watched, "" */
static char why[240];                  /* "" before the first collection */
static uint64_t watched[2], full[2];    /* young collections of each kind */

/* Registers what the heap has grown by since the last collection: its pages
 * that hold data (written since jemalloc took them) are counted written,
 * not its holes, which hold zeros.  Counting it all written instead made
 * a young collection read every page of a large new buffer the program
 * had filled in part (tests/collect/bigyoung.c). */
static void register_heap(void)
{
	uintptr_t bump = __atomic_load_n(&mg_heap_bump, __ATOMIC_ACQUIRE);
	if (!heap_watched)
		heap_watched = mg_heap_base;
	if (heap_why[0] || bump <= heap_watched)
		return;
	size_t len = bump - heap_watched;
	if (mg_watch_add_fresh_locked((void *)heap_watched, len)) {
		snprintf(heap_why, sizeof heap_why, "the heap could not be registered (errno %d)",
			 errno);
		return;
	}
	mg_watch_dense_locked((void *)mg_heap_base, bump - mg_heap_base);
	heap_watched = bump;
}

static int any_run(uintptr_t s, uintptr_t e, void *arg)
{
	(void)s; (void)e; (void)arg;
	return 1;
}

/* Why the watch cannot serve generation gen now, or NULL when it can. */
static const char *refused(int gen)
{
	if (!mg_watch_on())
		return mg_watch_why();
	/* Every watched page written since the last scan into the records,
	 * and armed again: what is written from now on is for the next.  The
	 * heap's are armed at the end instead (deferred, below). */
	mg_watch_defer_dense_locked(true);
	deferred = true;
	register_heap();
	long r = mg_watch_update_locked();
	mg_watch_defer_dense_locked(false);
	if (r < 0)
		return mg_watch_why();
	if (heap_why[0])
		return heap_why;
	if (gen < 2 && mg_watch_foreach_locked(gen, any_run, NULL) < 0)
		return "a record was incomplete (no memory): one full scan";
	return NULL;
}

bool mg_young_begin_locked(int gen)
{
	const char *no = refused(gen);
	if (no)
		snprintf(why, sizeof why, "%s%s", strncmp(no, "off", 3) ? "off: " : "", no);
	else
		snprintf(why, sizeof why, mg_opt.watch == MG_WATCH_VERIFY ? "on (verify)" : "on");
	if (gen >= 2)
		return false;
	(no ? full : watched)[gen]++;
	return !no;
}

/* ---- the heap's written pages ----
 * One walk over the record's runs does both halves of what a young
 * collection reads: the condemned objects (header in a run) are listed,
 * in address order, for the sweep; the older objects' words inside the
 * runs are scanned.  The list lives in memgc's memory and holds for the
 * collection in progress only; where it could not grow, the sweep walks
 * the runs again instead. */

/* Entries of the lists kept resident between collections; beyond, their
 * pages go back at the end of each (10^6 condemned objects list 8 MB). */
#define KEEP_ENTRIES 16384u

static void **list;                     /* the condemned objects, address order */
static size_t nlist, list_cap;
static int list_gen = -1;               /* the generation it is for; -1: none */
/* The older objects' parts in the runs, [lo, hi) each: scanned once the
 * walk has found every condemned object (the page filter is whole). */
static struct mg_range *olds;
static size_t nolds, olds_cap;
/* One bit per page of the region: a condemned object lies there (the
 * marking's page filter, mg_mark_limit_pages); zero between collections
 * but over [pages_lo, pages_hi). */
static uint64_t *pages;
static uintptr_t pages_lo, pages_hi;

/* Appends x (size bytes) to the array at *a (n used of cap, doubling from
 * first); false without memory. */
static bool grow_push(void *a, size_t *n, size_t *cap, size_t first, const void *x, size_t size)
{
	char **arr = a;
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : first;
		char *l = mg_os_map(c * size);
		if (!l)
			return false;
		if (*arr) {
			memcpy(l, *arr, *n * size);
			mg_os_unmap(*arr, *cap * size);
		}
		*arr = l;
		*cap = c;
	}
	memcpy(*arr + *n * size, x, size);
	(*n)++;
	return true;
}

static bool list_push(void *user)
{
	return grow_push(&list, &nlist, &list_cap, KEEP_ENTRIES, &user, sizeof user);
}

/* The pages of the condemned object at user, header to end, in pages. */
static void pages_set(uintptr_t user)
{
	size_t p0 = (user - MG_HDR - mg_heap_base) >> 12;
	size_t p1 = (user + mg_hdr_size(mg_hdr_of((void *)user)) - mg_heap_base) >> 12;
	for (size_t p = p0; p <= p1; p++) {
		if (!(p & 63) && p + 64 <= p1 + 1) {
			pages[p >> 6] = ~UINT64_C(0);
			p += 63;
		} else {
			pages[p >> 6] |= UINT64_C(1) << (p & 63);
		}
	}
}

/* Zeroes the page bits set by the last walk. */
static void pages_clear(void)
{
	if (pages && pages_hi > pages_lo) {
		size_t w0 = ((pages_lo - mg_heap_base) >> 12) >> 6;
		size_t w1 = ((pages_hi - 1 - mg_heap_base) >> 12) >> 6;
		memset(&pages[w0], 0, (w1 - w0 + 1) * sizeof *pages);
	}
	pages_lo = pages_hi = 0;
}

struct walk {
	uintptr_t lo, hi;                /* the run */
	void (*condemned)(void *user, void *arg);   /* NULL: list them */
	void *arg;
	bool older;                      /* scan the older objects' words in the run */
	bool short_list;                 /* an object could not be listed */
	bool filter;                     /* pages is being set: queue the older parts */
};

static int visit(void *user, void *arg)
{
	struct walk *k = arg;
	uintptr_t u = (uintptr_t)user;
	if (mg_mark_condemned(user)) {
		/* its header's page is in the run: once per object */
		if (u - MG_HDR >= k->lo && u - MG_HDR < k->hi) {
			if (k->condemned)
				k->condemned(user, k->arg);
			else if (!k->short_list && !list_push(user))
				k->short_list = true;
			if (k->filter)
				pages_set(u);
		}
	} else if (k->older) {
		uint64_t size = mg_hdr_size(mg_hdr_of(user));
		uintptr_t a = u > k->lo ? u : k->lo, b = u + size < k->hi ? u + size : k->hi;
		struct mg_range r = { a, b };
		/* without room to queue it, scanned now: no page filter has
		 * been given to the marking yet */
		if (a < b && !(k->filter && grow_push(&olds, &nolds, &olds_cap, KEEP_ENTRIES, &r, sizeof r)))
			mg_mark_range(a, b);
	}
	return 0;
}

static int heap_run(uintptr_t s, uintptr_t e, void *arg)
{
	struct walk *k = arg;
	uintptr_t top = heap_watched;
	if (e <= mg_heap_base || s >= top)
		return 0;
	k->lo = s > mg_heap_base ? s : mg_heap_base;
	k->hi = e < top ? e : top;
	/* the object the run starts inside of, then those starting in it (or
	 * whose header is its last granule) */
	void *first = mg_index_find((void *)k->lo);
	if (first && (uintptr_t)first < k->lo)
		visit(first, k);
	mg_index_foreach_range(k->lo, k->hi + MG_HDR, visit, k);
	return 0;
}

/* The span of the record's runs on the heap, [lo, hi): every condemned
 * object's header lies in a run. */
struct bounds {
	uintptr_t lo, hi;
};

static int span_run(uintptr_t s, uintptr_t e, void *arg)
{
	struct bounds *b = arg;
	uintptr_t top = heap_watched;
	if (e <= mg_heap_base || s >= top)
		return 0;
	if (b->lo == UINTPTR_MAX)
		b->lo = s > mg_heap_base ? s : mg_heap_base;
	b->hi = e < top ? e : top;
	return 0;
}

void mg_young_mark_older(int gen)
{
	/* First where the condemned objects can be: no word outside can
	 * designate one, and most words of older memory point at older
	 * objects (mg_mark_limit).  A condemned object's header lies in a
	 * run, so its user pointer is at most the last run's end e, and the
	 * object that reaches furthest past e is the one that holds e. */
	struct bounds b = { UINTPTR_MAX, 0 };
	mg_watch_foreach_locked(gen, span_run, &b);
	if (b.lo == UINTPTR_MAX) {
		b.lo = b.hi = 0;
	} else {
		void *o = mg_index_find((void *)b.hi);
		uintptr_t end = o ? (uintptr_t)o + mg_hdr_size(mg_hdr_of(o)) : b.hi;
		b.hi = (end > b.hi ? end : b.hi) + 1;
	}
	mg_mark_limit(b.lo, b.hi);
	mg_mark_record(gen);
	/* Then on which pages: most words of older memory that point into
	 * [lo, hi) point at older objects among the condemned ones. */
	if (!pages && b.hi > b.lo)
		pages = mg_os_map((mg_heap_end - mg_heap_base) / 4096 / 8 + 8);
	pages_lo = b.lo;
	pages_hi = b.hi;
	nlist = nolds = 0;
	struct walk k = { .older = true, .filter = pages != NULL };
	mg_watch_foreach_locked(gen, heap_run, &k);
	list_gen = k.short_list ? -1 : gen;
	if (k.filter)
		mg_mark_limit_pages(pages);
	for (size_t i = 0; i < nolds; i++)
		mg_mark_range(olds[i].lo, olds[i].hi);
}

void mg_young_foreach_condemned(int gen, void (*fn)(void *user, void *arg), void *arg)
{
	if (list_gen == gen) {
		for (size_t i = 0; i < nlist; i++)
			fn(list[i], arg);
		return;
	}
	struct walk k = { .condemned = fn, .arg = arg };
	mg_watch_foreach_locked(gen, heap_run, &k);
}

/* ---- re-arming the heap ----
 * A young collection's sweep promotes its survivors: it writes their
 * headers' generation, with the world stopped.  Those writes store no
 * pointer, and must not be recorded, or every survivor's page would be
 * read again by the next young collection.  So the heap's written pages
 * are read at the begin without being re-armed (mg_watch_defer_dense_locked)
 * and re-armed here at the end, after the sweep: a header write on a page
 * of this collection's record costs no write fault (about 1.2 us a page,
 * one for every page of survivors: bench/alloc at threshold0=700 took
 * 105k of its 310k faults in the sweep).  Only the survivors that lie on
 * pages outside record 0 (a generation-1 collection's older record) still
 * fault; their pages are re-armed too (mg_young_rewrote).  A full
 * collection's sweep promotes nearly every survivor: it lifts the heap's
 * protection in one call first (mg_young_open_heap_locked) and the end
 * re-arms the heap whole.
 * A writer the stop does not stop (an io_uring worker, AIO) could write
 * such a page during the pause, and the re-arm would hide it: where an
 * io_uring or AIO ring is mapped (mg_roots_async_writers), the end
 * records what it re-arms instead, and the next young collection reads
 * those pages again.  DMA into pinned pages is not seen in any case
 * (watch.c).
 * Runs of pages, nearby ones merged: a PAGEMAP_SCAN walks about a page a
 * nanosecond and costs a system call, so a gap of up to REARM_GAP pages
 * is cheaper walked than split.  Where the list is full, the whole heap
 * is re-armed, one walk. */

#define REARM_GAP 512u                  /* pages */
#define REARM_RUNS 1024u

static struct mg_range rearm[REARM_RUNS];
static size_t nrearm;
static bool rearm_all;
/* The heap's protection lifted for a sweep that rewrites many headers
 * (mg_young_open_heap_locked): re-armed whole at the end. */
static bool heap_open;

void mg_young_open_heap_locked(void)
{
	if (heap_watched > mg_heap_base &&
	    mg_watch_open_locked((void *)mg_heap_base, heap_watched - mg_heap_base) == 0)
		heap_open = true;
}

/* [lo, hi), page-aligned, to re-arm at the end: merged into the last run
 * when it starts within REARM_GAP pages of it (runs come in address order
 * from each source; a run out of order only merges less). */
static void rearm_add(uintptr_t lo, uintptr_t hi)
{
	if (nrearm && lo >= rearm[nrearm - 1].lo &&
	    lo <= rearm[nrearm - 1].hi + (uintptr_t)REARM_GAP * 4096) {
		if (hi > rearm[nrearm - 1].hi)
			rearm[nrearm - 1].hi = hi;
		return;
	}
	if (nrearm == REARM_RUNS) {
		rearm_all = true;
		return;
	}
	rearm[nrearm++] = (struct mg_range){ lo, hi };
}

void mg_young_rewrote(const void *user)
{
	if (heap_open)
		return;
	uintptr_t p = ((uintptr_t)user - MG_HDR) & ~(uintptr_t)4095;
	rearm_add(p, p + 4096);
}

/* mg_watch_rearm_locked's recording twin: [addr, addr + len) scanned,
 * its written pages re-armed and recorded. */
static void rescan(const void *addr, size_t len)
{
	mg_watch_scan_locked(addr, len, NULL, NULL);
}

/* A run of record 0, the pages the begin read: its heap part re-armed. */
static int rearm_run(uintptr_t s, uintptr_t e, void *arg)
{
	(void)arg;
	if (s < mg_heap_base)
		s = mg_heap_base;
	if (e > heap_watched)
		e = heap_watched;
	if (s < e)
		rearm_add(s, e);
	return 0;
}

/* Records 0..gen emptied; the heap's pages the begin read and those the
 * sweep rewrote re-armed. */
void mg_young_end_locked(int gen)
{
	list_gen = -1;
	pages_clear();
	if (list_cap > KEEP_ENTRIES)
		mg_os_purge(list, list_cap * sizeof *list);
	if (olds_cap > KEEP_ENTRIES)
		mg_os_purge(olds, olds_cap * sizeof *olds);
	if (deferred && !heap_open && mg_watch_foreach_locked(0, rearm_run, NULL) < 0)
		rearm_all = true;       /* record 0 is not whole: the whole heap */
	deferred = false;
	mg_watch_consume_locked(gen);
	/* Where the kernel may have written during the pause (an io_uring
	 * worker, AIO), what the begin left unarmed is counted written for
	 * the next collection instead, so that no such write goes unseen (a
	 * full collection's opened heap is re-armed unrecorded, as before
	 * the begin deferred anything). */
	void (*arm)(const void *, size_t) =
		mg_roots_async_writers() && !heap_open ? rescan : mg_watch_rearm_locked;
	if (heap_open || rearm_all)
		arm((void *)mg_heap_base, heap_watched - mg_heap_base);
	else
		for (size_t i = 0; i < nrearm; i++)
			arm((void *)rearm[i].lo, rearm[i].hi - rearm[i].lo);
	nrearm = 0;
	heap_open = rearm_all = false;
}

/* ---- what it says ---- */

const char *mg_young_why(void)
{
	if (why[0])
		return why;
	if (mg_opt.watch == MG_WATCH_OFF)
		return "off: watch=off";
	return "off: not opened yet (the first collection opens it)";
}

void mg_young_counts(uint64_t w[2], uint64_t f[2])
{
	mg_watch_lock();
	memcpy(w, watched, sizeof watched);
	memcpy(f, full, sizeof full);
	mg_watch_unlock();
}
