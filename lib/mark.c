/* mark.c: conservative marking, with an explicit mark stack.
 *
 * Owns the mark bitmap (one bit per 16-byte granule of the region, like the
 * index's L0, mapped lazily) and the mark stack.  Between mg_mark_begin()
 * and mg_mark_end(), with the world stopped:
 *   an object is *condemned* when it is live, its generation is at most the
 *     one collected, and it is not ignored (header.h);
 *   marked(o)  =>  o is condemned and some scanned word points at (or, with
 *     interior pointers, into) o;
 *   marked(o) and o not on the stack  =>  o's words have been scanned, or
 *     overflowed is set (then mg_mark_drain() rescans every marked object).
 * Only condemned objects are ever marked or pushed: an older or ignored
 * object is a root, scanned whole by the caller (collect.c).
 * The sweep (collect.c) clears the bit of every object it visits, so none
 * is set between collections (mg_mark_check() counts set ones).
 *
 * A word is a candidate when it falls in [base + 16, bump): one subtraction
 * and one compare reject everything else, which is most words.
 */
#include "config.h"
#include <string.h>

#include "header.h"
#include "internal.h"

static uint64_t *bits;          /* the mark bitmap */
static size_t bits_size;
static void **stack;            /* the mark stack: objects to scan */
static size_t stack_cap, depth;
static bool overflowed, interior;
static unsigned gen_max;
static uintptr_t lo_cand, span;
static uint64_t scanned, overflows;

static inline size_t granule(const void *p)
{
	return ((uintptr_t)p - mg_heap_base) / MG_HDR;
}

int mg_mark_begin(int gen, bool interior_pointers)
{
	if (!bits) {
		bits_size = (mg_heap_end - mg_heap_base) / MG_HDR / 8 + 8;
		bits = mg_os_map(bits_size);
		if (!bits)
			return -1;
	}
	size_t cap = (size_t)mg_opt.mark_stack;
	if (stack && stack_cap != cap) {
		mg_os_unmap(stack, stack_cap * sizeof *stack);
		stack = NULL;
	}
	if (!stack) {
		stack = mg_os_map(cap * sizeof *stack);
		if (!stack)
			return -1;
		stack_cap = cap;
	}
	gen_max = (unsigned)gen;
	interior = interior_pointers;
	depth = 0;
	overflowed = false;
	scanned = 0;
	lo_cand = mg_heap_base + MG_HDR;
	span = __atomic_load_n(&mg_heap_bump, __ATOMIC_ACQUIRE) - lo_cand;
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

/* Marks the live condemned object o (an object start) and pushes it. */
static inline void mark(void *o)
{
	size_t g = granule(o);
	uint64_t bit = UINT64_C(1) << (g & 63);
	if (bits[g >> 6] & bit)
		return;
	if (!mg_mark_condemned(o))
		return;
	bits[g >> 6] |= bit;
	if (MG_LIKELY(depth < stack_cap))
		stack[depth++] = o;
	else
		overflowed = true;
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

void mg_mark_word(uintptr_t v)
{
	if (v - lo_cand < span) {
		void *o = target(v, interior);
		if (o)
			mark(o);
	}
}

void mg_mark_word_interior(uintptr_t v)
{
	if (v - lo_cand < span) {
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
	const uintptr_t base = lo_cand, n = span;
	const bool inter = interior;
	for (; w < end; w++) {
		uintptr_t v = *w;
		if (MG_LIKELY(v - base >= n))
			continue;
		void *o = target(v, inter);
		if (o)
			mark(o);
	}
}

void mg_mark_object(const void *user)
{
	uint64_t size = mg_hdr_size(mg_hdr_of(user));
	mg_mark_range((uintptr_t)user, (uintptr_t)user + size);
}

static int rescan_one(void *user, void *arg)
{
	(void)arg;
	if (mg_mark_condemned(user) && mg_mark_test(user))
		mg_mark_object(user);
	return 0;
}

void mg_mark_drain(void)
{
	for (;;) {
		while (depth)
			mg_mark_object(stack[--depth]);
		if (!overflowed)
			return;
		/* Some marked objects were never pushed: scan every marked one
		 * again; their referents are marked already or get pushed now. */
		overflowed = false;
		overflows++;
		mg_index_foreach(rescan_one, NULL);
	}
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
