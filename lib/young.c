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
static char heap_why[96];               /* why the heap is not watched, "" */
static char why[240];                  /* "" before the first collection */
static uint64_t watched[2], full[2];    /* young collections of each kind */

/* Registers what the heap has grown by since the last collection, and arms
 * it at once (its first scan reports all of it: counted written now). */
static void register_heap(void)
{
	uintptr_t bump = __atomic_load_n(&mg_heap_bump, __ATOMIC_ACQUIRE);
	if (!heap_watched)
		heap_watched = mg_heap_base;
	if (heap_why[0] || bump <= heap_watched)
		return;
	size_t len = bump - heap_watched;
	if (mg_watch_add_locked((void *)heap_watched, len)) {
		snprintf(heap_why, sizeof heap_why, "the heap could not be registered (errno %d)",
			 errno);
		return;
	}
	mg_watch_scan_locked((void *)heap_watched, len, NULL, NULL);
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
	register_heap();
	/* Every watched page written since the last scan into the records,
	 * and armed again: what is written from now on is for the next. */
	if (mg_watch_update_locked() < 0)
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

void mg_young_end_locked(int gen)
{
	mg_watch_consume_locked(gen);
}

/* ---- the heap's written pages ---- */

struct walk {
	uintptr_t lo, hi;                /* the run */
	void (*condemned)(void *user, void *arg);
	void *arg;
	bool older;                      /* scan the older objects' words in the run */
};

static int visit(void *user, void *arg)
{
	struct walk *k = arg;
	uintptr_t u = (uintptr_t)user;
	if (mg_mark_condemned(user)) {
		/* its header's page is in the run: once per object */
		if (k->condemned && u - MG_HDR >= k->lo && u - MG_HDR < k->hi)
			k->condemned(user, k->arg);
	} else if (k->older) {
		uint64_t size = mg_hdr_size(mg_hdr_of(user));
		uintptr_t a = u > k->lo ? u : k->lo, b = u + size < k->hi ? u + size : k->hi;
		if (a < b)
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

/* The span of the condemned objects, header to end. */
struct bounds {
	uintptr_t lo, hi;
};

static void widen(void *user, void *arg)
{
	struct bounds *b = arg;
	uintptr_t u = (uintptr_t)user, e = u + mg_hdr_size(mg_hdr_of(user)) + 1;
	if (u < b->lo)
		b->lo = u;
	if (e > b->hi)
		b->hi = e;
}

void mg_young_mark_older(int gen)
{
	/* first where the condemned objects are: no word outside can
	 * designate one, and most words of older memory point at older
	 * objects (mg_mark_limit) */
	struct bounds b = { UINTPTR_MAX, 0 };
	mg_young_foreach_condemned(gen, widen, &b);
	mg_mark_limit(b.lo, b.hi);
	struct walk k = { .older = true };
	mg_watch_foreach_locked(gen, heap_run, &k);
}

void mg_young_foreach_condemned(int gen, void (*fn)(void *user, void *arg), void *arg)
{
	struct walk k = { .condemned = fn, .arg = arg };
	mg_watch_foreach_locked(gen, heap_run, &k);
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
