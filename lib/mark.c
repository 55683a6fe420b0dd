/* mark.c: conservative marking, with an explicit mark stack.
 *
 * Owns the mark bitmap (one bit per 16-byte granule of the region, like the
 * index's L0, mapped lazily), the mark stack and the lookup queue.  From
 * mg_mark_begin() to the end of mg_mark_drain(), with the world stopped:
 *   an object is *condemned* when it is live, its generation is at most the
 *     one collected, and it is not ignored (header.h);
 *   marked(o)  =>  o is condemned and some scanned word points at (or, with
 *     interior pointers, into) o;
 *   marked(o) and o neither on the stack nor in the scan ring  =>  o's
 *     words have been scanned, or overflowed is set (then mg_mark_drain()
 *     rescans every marked object);
 *   a scanned word that designates an object and is neither in the first
 *     stage nor in the queue has been looked up (its object marked, if
 *     condemned).
 * Only condemned objects are ever marked or pushed: an older or ignored
 * object is a root, scanned whole by the caller (collect.c).
 * The sweep (collect.c) clears the bit of every object it visits, so none
 * is set between collections (mg_mark_check() counts set ones).
 *
 * What a scanned word costs, cheapest first (most words stop at the first
 * or second test, which mg_mark_range makes without branches, CHUNK words
 * at a time):
 *   1. outside [base + 16, bump): one subtraction and one compare;
 *   1b. in a young collection, on a page where no condemned object lies
 *      (young.c's page bits, mg_mark_limit_pages): one bitmap load;
 *   2. in the first granule of a marked object (the bit of its granule is
 *      set): one bitmap load.  No other object can hold that word (objects
 *      are disjoint, each behind a 16-byte header), so skipping it is exact,
 *      interior pointers or not;
 *   3. otherwise the word waits PENDING words in a first stage while its
 *      index word is fetched; there the index's maps alone give the start
 *      of the one object that may hold it, or drop it (a pointer to freed
 *      memory, most often); then it waits in the queue, a FIFO of QUEUE
 *      words whose candidate headers are prefetched when they enter, and
 *      is looked up (index.c) when it leaves: neither cache miss stalls
 *      the scanning of the next words.
 * The objects to scan get the same treatment: a popped object waits in the
 * scan ring (AHEAD objects) while its lines are prefetched.  A stack entry
 * is the object's address with, in its 4 low bits (objects are 16-byte
 * aligned), the number of cache lines it spans past its header's, at most
 * 15: what to prefetch, known when it is marked, which reads the header.
 *
 * The mark stack is a chain of segments mapped with mg_os_map as marking
 * needs them (the world is stopped: no malloc), the first of SEG_FIRST
 * entries, each next one as large as all before it, up to mark_stack
 * entries in all (options.c).  Only when that many objects wait to be
 * scanned is a marked object left off the stack (overflowed): then, once
 * the stack is empty, every marked object is scanned again.  Segments are
 * never unmapped during a marking (roots.c lists the mappings once per
 * collection and excludes memgc's own); those past the first are purged
 * when marking ends.
 */
#include "config.h"
#include <string.h>

#include "header.h"
#include "internal.h"

#define SEG_FIRST 65536u        /* entries of the first segment (512 KiB) */
#define NSEG 32                 /* SEG_FIRST << 31 is past any mark_stack */
#define PENDING 8u              /* words waiting for their index word; a power of 2 */
#define QUEUE 32u               /* words waiting for their lookup; a power of 2 */
#define AHEAD 8u                /* popped objects waiting for their scan; a power of 2 */
#define CHUNK 32u               /* words mg_mark_range filters at a time */

static uint64_t *bits;          /* the mark bitmap */
static size_t bits_size;
/* The mark stack: seg[0..cur] hold entries, those below cur full, so
 * the stack holds below + depth; stack == seg[cur], stack_cap ==
 * seg_cap[cur].  seg[i] for i > cur may be mapped from an earlier
 * marking. */
static uintptr_t *seg[NSEG];
static size_t seg_cap[NSEG];
static unsigned cur;
static uintptr_t *stack;
static size_t stack_cap, depth, below, stack_max;
/* The queue: slot i holds a word to look up, or 0 (no candidate is 0),
 * and in queue_s[i] the start of the object that may hold it
 * (enqueue_start).  Before it, the first stage: words whose index word is
 * being fetched (enqueue). */
static uintptr_t queue[QUEUE], queue_s[QUEUE];
static uintptr_t pending[PENDING];
static unsigned pending_next;
static unsigned queue_next;     /* the oldest slot, and the next to fill */
static bool overflowed, interior;
static unsigned gen_max;
static uintptr_t hbase, lo_cand, span;
/* NULL, or one bit per page of the region: 0 where no condemned object
 * lies (mg_mark_limit_pages). */
static const uint64_t *page_ok;
static int record_gen;          /* mg_mark_record's, or -1 */
static uint64_t scanned, overflows;

static inline size_t granule(const void *p)
{
	return ((uintptr_t)p - hbase) / MG_HDR;
}

static void unmap_stack(void)
{
	for (unsigned i = 0; i < NSEG && seg[i]; i++) {
		mg_os_unmap(seg[i], seg_cap[i] * sizeof *seg[i]);
		seg[i] = NULL;
		seg_cap[i] = 0;
	}
}

int mg_mark_begin(int gen, bool interior_pointers)
{
	hbase = mg_heap_base;
	if (!bits) {
		bits_size = (mg_heap_end - mg_heap_base) / MG_HDR / 8 + 8;
		bits = mg_os_map(bits_size);
		if (!bits)
			return -1;
	}
	/* Before any root is read: the segments can be unmapped here. */
	size_t max = (size_t)mg_opt.mark_stack;
	if (stack_max != max)
		unmap_stack();
	stack_max = max;
	if (!seg[0]) {
		seg_cap[0] = max < SEG_FIRST ? max : SEG_FIRST;
		seg[0] = mg_os_map(seg_cap[0] * sizeof *seg[0]);
		if (!seg[0])
			return -1;
	}
	cur = 0;
	stack = seg[0];
	stack_cap = seg_cap[0];
	depth = below = 0;
	memset(queue, 0, sizeof queue);
	queue_next = 0;
	memset(pending, 0, sizeof pending);
	pending_next = 0;
	gen_max = (unsigned)gen;
	interior = interior_pointers;
	overflowed = false;
	scanned = 0;
	lo_cand = mg_heap_base + MG_HDR;
	span = __atomic_load_n(&mg_heap_bump, __ATOMIC_ACQUIRE) - lo_cand;
	page_ok = NULL;
	record_gen = -1;
	return 0;
}

/* Narrows the candidate words to [lo, hi) (a young collection that knows
 * where its condemned objects lie: no other word can designate one). */
void mg_mark_limit(uintptr_t lo, uintptr_t hi)
{
	uintptr_t a = lo > lo_cand ? lo : lo_cand, b = lo_cand + span;
	if (hi < b)
		b = hi;
	lo_cand = a;
	span = b > a ? b - a : 0;
}

void mg_mark_limit_pages(const uint64_t *pages)
{
	page_ok = pages;
}

/* v, a candidate word, may designate a condemned object. */
static inline bool on_page_ok(uintptr_t v)
{
	size_t pg = (v - hbase) >> 12;
	return !page_ok || ((page_ok[pg >> 6] >> (pg & 63)) & 1);
}

bool mg_mark_condemned(const void *user)
{
	const struct mg_hdr *h = mg_hdr_of(user);
	return mg_hdr_gen(h) <= gen_max && !(mg_hdr_flags(h) & (MG_FLAG_IGNORED | MG_FLAG_OWN));
}

bool mg_mark_test(const void *user)
{
	size_t g = granule(user);
	return (bits[g >> 6] >> (g & 63)) & 1;
}

void mg_mark_clear(const void *user)
{
	size_t g = granule(user);
	bits[g >> 6] &= ~(UINT64_C(1) << (g & 63));
}

/* The stack is full (depth == stack_cap): moves to the next segment,
 * mapping it if it is not yet, and pushes e there; sets overflowed instead
 * when mark_stack entries are in use or no memory is left. */
static void __attribute__((noinline)) push_next(uintptr_t e)
{
	unsigned n = cur + 1;
	size_t used = below + stack_cap;
	if (n < NSEG && !seg[n] && used < stack_max) {
		size_t want = used < stack_max - used ? used : stack_max - used;
		if ((seg[n] = mg_os_map(want * sizeof *seg[n])))
			seg_cap[n] = want;
	}
	if (n == NSEG || !seg[n]) {
		overflowed = true;
		return;
	}
	below = used;
	cur = n;
	stack = seg[n];
	stack_cap = seg_cap[n];
	stack[0] = e;
	depth = 1;
}

static inline void push(uintptr_t e)
{
	if (MG_LIKELY(depth < stack_cap))
		stack[depth++] = e;
	else
		push_next(e);
}

/* The top entry of the stack, popped, or 0 when it is empty. */
static inline uintptr_t pop(void)
{
	if (MG_UNLIKELY(!depth)) {
		if (!cur)
			return 0;
		cur--;
		stack = seg[cur];
		stack_cap = seg_cap[cur];
		below -= stack_cap;
		depth = stack_cap;
	}
	return stack[--depth];
}

static inline bool marked_granule(size_t g)
{
	return (bits[g >> 6] >> (g & 63)) & 1;
}

/* Marks the live condemned object o (an object start) and pushes it. */
static inline void mark(void *o)
{
	size_t g = granule(o);
	uint64_t bit = UINT64_C(1) << (g & 63);
	if (bits[g >> 6] & bit)
		return;
	const struct mg_hdr *h = mg_hdr_of(o);
	if (!mg_mark_condemned(o))
		return;
	bits[g >> 6] |= bit;
	/* the cache lines past the header's, at most 15, in the low bits */
	uint64_t size = mg_hdr_size(h);
	uintptr_t lines = size ? ((uintptr_t)o + size - 1) / 64 - (uintptr_t)h / 64 : 0;
	push((uintptr_t)o | (lines < MG_HDR - 1 ? lines : MG_HDR - 1));
}

/* The object a candidate word designates, or NULL. */
static inline void *target(uintptr_t v, bool any_interior)
{
	if (any_interior)
		return mg_index_find((void *)v);
	if ((v & (MG_HDR - 1)) || !mg_index_test((void *)v) || !mg_hdr_live((void *)v))
		return NULL;
	return (void *)v;
}

/* The lookup of a candidate word, its granule's bit tested again: an
 * earlier word in the queue may have marked its object since. */
static inline void look_up(uintptr_t v)
{
	if (marked_granule(granule((void *)v)))
		return;
	void *o = target(v, interior);
	if (o)
		mark(o);
}

/* The lookup of a queued word v whose nearest allocated start at or below
 * it is s: s's mark bit tested again, as in look_up. */
static inline void look_up_from(uintptr_t v, uintptr_t s)
{
	if (marked_granule(granule((void *)s)))
		return;
	void *o;
	if (interior)
		o = mg_index_find_from((void *)v, (void *)s);
	else
		o = mg_hdr_live((void *)s) ? (void *)s : NULL;
	if (o)
		mark(o);
}

/* Queues candidate v with the start s of the object that may hold it (the
 * nearest allocated start at or below it, from the index's maps alone),
 * prefetching s's header, and looks up the oldest word the queue held.  A
 * word no start can explain is dropped here without a read of the heap:
 * a pointer to freed memory, most often (bench/rss.c's array: 8 Mi of
 * them, whose headers the queue used to fetch for nothing).  Nor is a
 * word queued whose s is marked: s is then live (only live objects are
 * marked), so it is the one object that may hold v, and it is marked. */
static inline void enqueue_start(uintptr_t v)
{
	uintptr_t s;
	if (interior) {
		s = (uintptr_t)mg_index_prev((void *)v);
		if (!s)
			return;
	} else {
		if ((v & (MG_HDR - 1)) || !mg_index_test((void *)v))
			return;
		s = v;
	}
	if (marked_granule(granule((void *)s)))
		return;
	__builtin_prefetch((const void *)(s - MG_HDR));
	unsigned i = queue_next++ & (QUEUE - 1);
	uintptr_t old = queue[i], old_s = queue_s[i];
	queue[i] = v;
	queue_s[i] = s;
	if (old)
		look_up_from(old, old_s);
}

/* Holds candidate v in the first stage while the index word that says
 * where its object starts is fetched, and passes the oldest one held on
 * to the queue (enqueue_start), so that neither the index's nor the
 * header's cache miss stalls the scan. */
static inline void enqueue(uintptr_t v)
{
	mg_index_prefetch((const void *)v);
	unsigned i = pending_next++ & (PENDING - 1);
	uintptr_t old = pending[i];
	pending[i] = v;
	if (old)
		enqueue_start(old);
}

/* Passes every word of the first stage on, then looks up every word in
 * the queue, oldest first; both are empty after.  Returns the number of
 * words they held. */
static unsigned flush_queue(void)
{
	unsigned n = 0;
	for (unsigned k = 0; k < PENDING; k++) {
		unsigned i = (pending_next + k) & (PENDING - 1);
		uintptr_t v = pending[i];
		if (v) {
			pending[i] = 0;
			enqueue_start(v);
			n++;
		}
	}
	for (unsigned k = 0; k < QUEUE; k++) {
		unsigned i = (queue_next + k) & (QUEUE - 1);
		uintptr_t v = queue[i];
		if (v) {
			queue[i] = 0;
			look_up_from(v, queue_s[i]);
			n++;
		}
	}
	return n;
}

void mg_mark_word(uintptr_t v)
{
	if (v - lo_cand < span && on_page_ok(v))
		look_up(v);
}

void mg_mark_word_interior(uintptr_t v)
{
	if (v - lo_cand < span && on_page_ok(v) && !marked_granule(granule((void *)v))) {
		void *o = target(v, true);
		if (o)
			mark(o);
	}
}

void mg_mark_range(uintptr_t lo, uintptr_t hi)
{
	lo = (lo + 7) & ~(uintptr_t)7;
	if (hi <= lo)
		return;
	scanned += hi - lo;
	const uintptr_t *w = (const uintptr_t *)lo, *end = (const uintptr_t *)(hi & ~(uintptr_t)7);
	const uintptr_t base = lo_cand, n = span, hb = hbase;
	const uint64_t *const b = bits, *const pk = page_ok;
	uintptr_t cand[CHUNK];
	while (w < end) {
		const uintptr_t *stop = end - w > CHUNK ? w + CHUNK : end;
		size_t k = 0, j = 0;
		/* Tests 1 and 2 without branches: whether a word is a pointer
		 * is a coin toss to the branch predictor. */
		for (; w < stop; w++) {
			uintptr_t v = *w;
			cand[k] = v;
			k += v - base < n;
		}
		if (pk) {
			/* test 2 and the page of a condemned object, for a young
			 * collection: most candidates point at older objects */
			for (size_t i = 0; i < k; i++) {
				uintptr_t v = cand[i];
				size_t g = (v - hb) / MG_HDR, pg = (v - hb) >> 12;
				cand[j] = v;
				j += (~(b[g >> 6] >> (g & 63)) & (pk[pg >> 6] >> (pg & 63))) & 1;
			}
		} else {
			for (size_t i = 0; i < k; i++) {
				uintptr_t v = cand[i];
				size_t g = (v - hb) / MG_HDR;
				cand[j] = v;
				j += !((b[g >> 6] >> (g & 63)) & 1);
			}
		}
		for (size_t i = 0; i < j; i++)
			enqueue(cand[i]);
	}
}

void mg_mark_object(const void *user)
{
	uint64_t size = mg_hdr_size(mg_hdr_of(user));
	mg_mark_range((uintptr_t)user, (uintptr_t)user + size);
}

void mg_mark_record(int gen)
{
	record_gen = gen;
}

/* The words of a condemned object that is marked.  In a young collection
 * through the watch (mg_mark_record), every word the program stored in it
 * lies on a page of the record: it was born after the record began
 * (young.c), and a store, the kernel's read(2) and realloc's copy all
 * count.  So an object of RECORD_MIN bytes or more is read on those pages
 * only: the others hold zeros, which a read would fault in (a large
 * buffer filled in part), or a dead object's bytes. */
#define RECORD_MIN (2 * 4096)
static void mark_condemned_object(const void *user)
{
	uint64_t size = mg_hdr_size(mg_hdr_of(user));
	uintptr_t s = (uintptr_t)user, e = s + size;
	if (record_gen < 0 || size < RECORD_MIN) {
		mg_mark_range(s, e);
		return;
	}
	uintptr_t run = 0;          /* start of the recorded run, or 0 */
	for (uintptr_t p = s & ~(uintptr_t)4095; p < e; p += 4096) {
		if (mg_watch_recorded_locked(record_gen, (const void *)p)) {
			if (!run)
				run = p > s ? p : s;
		} else if (run) {
			mg_mark_range(run, p);
			run = 0;
		}
	}
	if (run)
		mg_mark_range(run, e);
}

static int rescan_one(void *user, void *arg)
{
	(void)arg;
	if (mg_mark_condemned(user) && mg_mark_test(user))
		mark_condemned_object(user);
	return 0;
}

/* Scans the objects on the stack, each AHEAD pops after its own: the
 * lines of an object are prefetched when it is popped and read when
 * AHEAD more have been (an object can wait on the stack long enough for
 * its lines to leave the cache).  Returns when the stack and the ring
 * are empty. */
static void scan_stack(void)
{
	void *ring[AHEAD] = { 0 };
	unsigned next = 0, held = 0;
	for (;;) {
		uintptr_t e = pop();
		if (MG_LIKELY(e)) {
			void *o = (void *)(e & ~(uintptr_t)(MG_HDR - 1));
			const char *h = (const char *)mg_hdr_of(o);
			for (unsigned k = 0; k <= (e & (MG_HDR - 1)); k++)
				__builtin_prefetch(h + 64 * k);
			unsigned i = next++ & (AHEAD - 1);
			void *old = ring[i];
			ring[i] = o;
			if (old)
				mark_condemned_object(old);
			else
				held++;
			continue;
		}
		if (!held)
			return;
		/* the stack is empty: scan the oldest one held, which may
		 * push more */
		for (unsigned k = 0;; k++) {
			unsigned i = (next + k) & (AHEAD - 1);
			if (ring[i]) {
				void *o = ring[i];
				ring[i] = NULL;
				held--;
				mark_condemned_object(o);
				break;
			}
		}
	}
}

void mg_mark_drain(void)
{
	for (;;) {
		do
			scan_stack();
		while (flush_queue());
		if (!overflowed)
			break;
		/* Some marked objects were never pushed: scan every marked one
		 * again; their referents are marked already or get pushed now. */
		overflowed = false;
		overflows++;
		mg_index_foreach(rescan_one, NULL);
	}
	/* The segments past the first hold nothing now: their pages go back
	 * (they stay mapped, for the next marking). */
	for (unsigned i = 1; i < NSEG && seg[i]; i++)
		mg_os_purge(seg[i], seg_cap[i] * sizeof *seg[i]);
}

uint64_t mg_mark_scanned(void)
{
	return scanned;
}

uint64_t mg_mark_overflows(void)
{
	return overflows;
}

static int count_set(void *user, void *arg)
{
	if (mg_mark_test(user))
		(*(size_t *)arg)++;
	return 0;
}

size_t mg_mark_check(void)
{
	size_t n = 0;
	if (bits)
		mg_index_foreach(count_set, &n);
	return n;
}

/* Gives back the pages of the mark stack and the blank pages of the mark
 * bitmap (the part over [base, bump)): between collections neither holds
 * anything, since the sweep clears every bit.  Only with the world stopped
 * and no collection marking (purge.c: collections mark inside a stopped
 * world of their own, and there is one at a time).  Returns the bytes of
 * bitmap dropped. */
size_t mg_mark_release(void)
{
	size_t n = 0;
	if (bits)
		n = mg_os_drop_zero(bits, (__atomic_load_n(&mg_heap_bump, __ATOMIC_ACQUIRE) -
					   mg_heap_base) / MG_HDR / 8 + 8, 0);
	for (unsigned i = 0; i < NSEG && seg[i]; i++)
		mg_os_purge(seg[i], seg_cap[i] * sizeof *seg[i]);
	return n;
}
