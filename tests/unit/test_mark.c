/* test_mark.c: marking (mark.c): what gets marked and scanned, the mark
 * stack's growth up to mark_stack entries, and the overflow rescans past it. */
#include "config.h"
#include <criterion/criterion.h>
#include <string.h>

#include "unit.h"

TestSuite(mark, .init = mg_test_init, .timeout = 120);

/* A fan: one root object holding FAN pointers to leaves (more than the
 * mark stack's first segment, 65536 entries, so the stack must grow or
 * overflow).  Leaf i points to leaf i + 1 (marked already, mostly) and to
 * its tail, an object of small integers; the first INNER leaves also point
 * 8 bytes into an object nothing else reaches (interior pointers).  LOST
 * objects point to leaves but nothing points to them. */
#define FAN 200000
#define INNER 100
#define LOST 1000
#define LEAF 32
#define TAIL 16
#define INNER_SIZE 48

struct fan {
	void **root;
	void **leaf[FAN];
	uint64_t *tail[FAN];
	char *inner[INNER];
	void **lost[LOST];
};

static struct fan f;

static void *alloc(size_t n)
{
	void *p = mg_heap_alloc(n, 16, true, MG_SITE_UNKNOWN);
	cr_assert_not_null(p, "mg_heap_alloc(%zu)", n);
	return p;
}

static void build(void)
{
	f.root = alloc(FAN * sizeof(void *));
	for (size_t i = 0; i < FAN; i++) {
		f.leaf[i] = alloc(LEAF);
		f.tail[i] = alloc(TAIL);
		f.tail[i][0] = i;
		f.tail[i][1] = 7;
		f.root[i] = f.leaf[i];
	}
	for (size_t i = 0; i < FAN; i++) {
		f.leaf[i][0] = f.leaf[(i + 1) % FAN];
		f.leaf[i][1] = f.tail[i];
	}
	for (size_t i = 0; i < INNER; i++) {
		f.inner[i] = alloc(INNER_SIZE);
		f.leaf[i][2] = f.inner[i] + 8;
	}
	for (size_t i = 0; i < LOST; i++) {
		f.lost[i] = alloc(LEAF);
		f.lost[i][0] = f.leaf[i * 7];
		f.lost[i][1] = f.lost[(i + 1) % LOST];
	}
	mg_stats_sync_index();
}

/* Marks from the root word alone; returns the overflows it took. */
static uint64_t mark_from_root(bool interior)
{
	uint64_t before = mg_mark_overflows();
	cr_assert_eq(mg_mark_begin(2, interior), 0);
	mg_mark_word((uintptr_t)f.root);
	mg_mark_drain();
	return mg_mark_overflows() - before;
}

/* Every object reachable from the root is marked, nothing else; the marks
 * are cleared after, as the sweep would. */
static void expect_marks(bool interior)
{
	cr_assert(mg_mark_test(f.root));
	size_t bad_leaf = 0, bad_tail = 0, bad_inner = 0, bad_lost = 0;
	for (size_t i = 0; i < FAN; i++) {
		bad_leaf += !mg_mark_test(f.leaf[i]);
		bad_tail += !mg_mark_test(f.tail[i]);
	}
	for (size_t i = 0; i < INNER; i++)
		bad_inner += mg_mark_test(f.inner[i]) != interior;
	for (size_t i = 0; i < LOST; i++)
		bad_lost += mg_mark_test(f.lost[i]);
	cr_assert_eq(bad_leaf, 0, "%zu leaves unmarked", bad_leaf);
	cr_assert_eq(bad_tail, 0, "%zu tails unmarked", bad_tail);
	cr_assert_eq(bad_inner, 0, "%zu inner objects %s", bad_inner,
		     interior ? "unmarked" : "marked without interior pointers");
	cr_assert_eq(bad_lost, 0, "%zu unreachable objects marked", bad_lost);

	mg_mark_clear(f.root);
	for (size_t i = 0; i < FAN; i++) {
		mg_mark_clear(f.leaf[i]);
		mg_mark_clear(f.tail[i]);
	}
	for (size_t i = 0; i < INNER; i++)
		mg_mark_clear(f.inner[i]);
	cr_assert_eq(mg_mark_check(), 0);
}

/* The bytes a marking without overflow scans: each reached object once. */
static uint64_t exact_scan(bool interior)
{
	return FAN * sizeof(void *) + (uint64_t)FAN * (LEAF + TAIL) + (interior ? INNER * INNER_SIZE : 0);
}

Test(mark, stack_grows_without_overflow)
{
	build();
	cr_assert_eq(mg_opt.mark_stack, 134217728, "the default");
	cr_assert_eq(mark_from_root(true), 0, "overflowed with mark_stack=%ld", mg_opt.mark_stack);
	cr_assert_eq(mg_mark_scanned(), exact_scan(true));
	expect_marks(true);
	/* The same again, on the segments the first marking mapped. */
	cr_assert_eq(mark_from_root(true), 0);
	cr_assert_eq(mg_mark_scanned(), exact_scan(true));
	expect_marks(true);
}

Test(mark, exact_pointers_only)
{
	build();
	cr_assert_eq(mark_from_root(false), 0);
	cr_assert_eq(mg_mark_scanned(), exact_scan(false));
	expect_marks(false);
}

/* mark_stack=16: no growth at all; the marking rescans until done. */
Test(mark, tiny_stack_overflows_and_rescans)
{
	build();
	mg_opt.mark_stack = 16;
	uint64_t o = mark_from_root(true);
	cr_assert_geq(o, 1, "no overflow with a 16-entry stack");
	cr_assert_gt(mg_mark_scanned(), exact_scan(true), "an overflow rescans");
	expect_marks(true);
}

/* A limit past the first segment: the stack grows to exactly 100000
 * entries, then overflows. */
Test(mark, limit_between_segments_overflows)
{
	build();
	mg_opt.mark_stack = 100000;
	cr_assert_geq(mark_from_root(true), 1);
	expect_marks(true);
	/* Raised again: the next marking maps anew and needs no rescan. */
	mg_opt.mark_stack = FAN + 16;
	cr_assert_eq(mark_from_root(true), 0);
	cr_assert_eq(mg_mark_scanned(), exact_scan(true));
	expect_marks(true);
}

/* Words into freed memory and far into a large object, as a program's
 * array of pointers to blocks it has mostly freed holds them (bench/rss.c):
 * with the page map a sweep builds (index.c) and without it, a word marks
 * the live object that holds it and nothing else: not the object just
 * below a freed block, not one whose end it points one past. */
#define BLOCKS 4096
#define KEEP 16
static void expect_dangling_marks(void **root, void *big, void **kept, size_t nkept, void *past)
{
	cr_assert_eq(mg_mark_begin(2, true), 0);
	mg_mark_word((uintptr_t)root);
	mg_mark_drain();
	cr_assert(mg_mark_test(root));
	cr_assert(mg_mark_test(big), "the large object, from words far into it");
	for (size_t i = 0; i < nkept; i++)
		cr_assert(mg_mark_test(kept[i]), "kept block %zu", i);
	cr_assert_not(mg_mark_test(past), "marked by a word one past its end");
	cr_assert_eq(mg_mark_check(), 2 + nkept, "marked objects");
	mg_mark_clear(root);
	mg_mark_clear(big);
	for (size_t i = 0; i < nkept; i++)
		mg_mark_clear(kept[i]);
	cr_assert_eq(mg_mark_check(), 0);
}

Test(mark, words_into_freed_blocks_and_far_interior)
{
	static void *block[BLOCKS], *kept[BLOCKS / KEEP];
	size_t nkept = 0, nw = 0;
	void **root = alloc((3 * BLOCKS + 512) * sizeof(void *));
	char *big = alloc(2 << 20);
	char *past = alloc(100);
	for (size_t i = 0; i < BLOCKS; i++)
		block[i] = alloc(128);
	for (size_t i = 0; i < BLOCKS; i++) {
		if (i % KEEP == 0) {
			kept[nkept++] = block[i];
			root[nw++] = (char *)block[i] + 100;      /* interior */
		} else {
			cr_assert_eq(mg_heap_free(block[i], NULL), 0);
			root[nw++] = block[i];                    /* dangling */
			root[nw++] = (char *)block[i] + 64;
			root[nw++] = (char *)block[i] - 8;        /* its header, or a gap */
		}
	}
	for (size_t k = 0; k < 500; k++)
		root[nw++] = big + 8 + k * 4093;
	root[nw++] = past + 112;   /* past's usable end: one past its 100 bytes and more */
	mg_stats_sync_index();
	mg_index_sweep();
	cr_assert(mg_index_pagemap_valid());
	expect_dangling_marks(root, big, kept, nkept, past);
	mg_index_pagemap_drop();
	expect_dangling_marks(root, big, kept, nkept, past);
}
