/* test_header.c: the 16-byte object header (header.h): fields, lg_al offsets, the check. */
#include "config.h"
#include <criterion/criterion.h>
#include <string.h>

#include "unit.h"

/* Room for a few headers and objects, 16-byte aligned like the heap's. */
static _Alignas(16) unsigned char mem[256];
#define USER ((void *)(mem + 64))

static void fixed_secret(void)
{
	mg_hdr_secret = UINT64_C(0x5eed5eed12345678);
}

TestSuite(header, .init = fixed_secret);

Test(header, round_trip_every_field)
{
	static const struct { uint64_t size; unsigned lg, gen, flags; uint32_t site; } v[] = {
		{ 0, 0, 0, 0, 0 },
		{ 1, 0, 0, MG_FLAG_LIVE, 2 },
		{ 100, 5, 1, MG_FLAG_LIVE, 12345 },
		{ 4096, 12, 2, 0x81, 0x7fffffff },
		{ MG_HDR_SIZE_MAX, 63, 3, 0xff, UINT32_MAX },
		{ UINT64_C(0x123456789abc), 20, 3, 0x5a, 0xdeadbeef },
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		mg_hdr_write(USER, v[i].size, v[i].lg, v[i].gen, v[i].flags, v[i].site);
		const struct mg_hdr *h = mg_hdr_of(USER);
		cr_assert_eq((void *)h, (void *)(mem + 48));
		cr_assert_eq(mg_hdr_size(h), v[i].size, "case %zu", i);
		cr_assert_eq(mg_hdr_lgal(h), v[i].lg, "case %zu", i);
		cr_assert_eq(mg_hdr_gen(h), v[i].gen, "case %zu", i);
		cr_assert_eq(mg_hdr_flags(h), v[i].flags, "case %zu", i);
		cr_assert_eq(mg_hdr_site(h), v[i].site, "case %zu", i);
		cr_assert(mg_hdr_valid(USER), "case %zu", i);
		cr_assert_eq(mg_hdr_live(USER), (v[i].flags & MG_FLAG_LIVE) != 0, "case %zu", i);
	}
}

Test(header, layout_matches_the_drawing)
{
	mg_hdr_write(USER, 0x0000abcdef012345, 0x2a, 2, 0xc3, 0x01020304);
	const struct mg_hdr *h = mg_hdr_of(USER);
	cr_assert_eq(h->info, (uint64_t)0xc3 << 56 | (uint64_t)2 << 54 | (uint64_t)0x2a << 48 |
			      0x0000abcdef012345);
	cr_assert_eq((uint32_t)h->tag, 0x01020304u);
	cr_assert_eq((uint32_t)(h->tag >> 32), mg_hdr_check(USER, h->info, 0x01020304));
	cr_assert_eq(sizeof(struct mg_hdr), 16);
	cr_assert_eq(MG_HDR, 16);
}

Test(header, lg_al_offsets)
{
	cr_assert_eq(mg_hdr_offset(0), 16);
	cr_assert_eq(mg_hdr_offset(5), 32);
	cr_assert_eq(mg_hdr_offset(6), 64);
	cr_assert_eq(mg_hdr_offset(12), 4096);
	cr_assert_eq(mg_hdr_offset(16), 65536);
	cr_assert_eq(mg_hdr_offset(20), 1048576);
}

/* Every bit of the size, lg_al, site and check is covered by the check;
 * gen and flags are not (they change in place). */
Test(header, check_fails_on_any_checked_bit)
{
	mg_hdr_write(USER, 1000, 7, 1, MG_FLAG_LIVE, 4242);
	struct mg_hdr good = *mg_hdr_of(USER);
	struct mg_hdr *h = mg_hdr_of(USER);
	for (unsigned b = 0; b < 64; b++) {
		*h = good;
		h->info ^= UINT64_C(1) << b;
		bool checked = b < MG_HDR_GEN_SHIFT;
		cr_assert_eq(mg_hdr_valid(USER), !checked, "info bit %u", b);
		*h = good;
		h->tag ^= UINT64_C(1) << b;
		cr_assert_not(mg_hdr_valid(USER), "tag bit %u", b);
	}
	/* Each byte overwritten with each other value fails too. */
	for (unsigned byte = 0; byte < 16; byte++) {
		if (byte == 6 || byte == 7)
			continue;   /* byte 6 mixes lg_al with gen; 7 is flags */
		for (unsigned v = 0; v < 256; v++) {
			*h = good;
			unsigned char *p = (unsigned char *)h + byte;
			if (*p == v)
				continue;
			*p = (unsigned char)v;
			cr_assert_not(mg_hdr_valid(USER), "byte %u = %#x", byte, v);
		}
	}
	*h = good;
	cr_assert(mg_hdr_valid(USER));
}

Test(header, check_binds_the_address)
{
	mg_hdr_write(USER, 64, 0, 0, MG_FLAG_LIVE, 7);
	struct mg_hdr good = *mg_hdr_of(USER);
	/* The same 16 bytes in front of any other address are not a header. */
	for (int d = -3; d <= 4; d++) {
		if (d == 0)
			continue;
		unsigned char *other = (unsigned char *)USER + 16 * d;
		*mg_hdr_of(other) = good;
		cr_assert_not(mg_hdr_valid(other), "moved by %d granules", d);
		cr_assert_not(mg_hdr_live(other), "moved by %d granules", d);
	}
	/* ... and a different secret (another process) rejects it as well. */
	*mg_hdr_of(USER) = good;
	cr_assert(mg_hdr_valid(USER));
	mg_hdr_secret ^= 1;
	cr_assert_not(mg_hdr_valid(USER));
}

Test(header, live_flag_and_gen_change_in_place)
{
	mg_hdr_write(USER, 333, 0, 0, MG_FLAG_LIVE, 99);
	cr_assert(mg_hdr_live(USER));
	mg_hdr_set_flags(USER, 0);
	cr_assert(mg_hdr_valid(USER));
	cr_assert_not(mg_hdr_live(USER));
	cr_assert_eq(mg_hdr_size(mg_hdr_of(USER)), 333);
	cr_assert_eq(mg_hdr_site(mg_hdr_of(USER)), 99);
	mg_hdr_set_flags(USER, MG_FLAG_LIVE | 0x80);
	cr_assert(mg_hdr_live(USER));
	cr_assert_eq(mg_hdr_flags(mg_hdr_of(USER)), MG_FLAG_LIVE | 0x80);
	/* Promotion rewrites gen in place. */
	struct mg_hdr *h = mg_hdr_of(USER);
	h->info = (h->info & ~(UINT64_C(3) << MG_HDR_GEN_SHIFT)) | (UINT64_C(2) << MG_HDR_GEN_SHIFT);
	cr_assert(mg_hdr_live(USER));
	cr_assert_eq(mg_hdr_gen(h), 2);
	cr_assert_eq(mg_hdr_size(h), 333);
}

/* Real objects: the header is right in front, lg_al names the alignment,
 * and the jemalloc block starts mg_hdr_offset(lg_al) before the object. */
Test(header, heap_objects, .init = mg_test_init)
{
	for (unsigned lg = 4; lg <= 20; lg++) {
		size_t align = (size_t)1 << lg;
		void *p = mg_heap_alloc(77, align, false, 5);
		cr_assert_not_null(p);
		const struct mg_hdr *h = mg_hdr_of(p);
		unsigned want_lg = lg > 4 ? lg : 0;
		cr_assert_eq(mg_hdr_lgal(h), want_lg, "align %zu", align);
		cr_assert_eq(mg_hdr_size(h), 77);
		cr_assert_eq(mg_hdr_site(h), 5);
		cr_assert_eq(mg_hdr_gen(h), 0);
		cr_assert_eq(mg_hdr_flags(h), MG_FLAG_LIVE);
		cr_assert(mg_hdr_live(p));
		char *base = (char *)p - mg_hdr_offset(want_lg);
		cr_assert_eq((uintptr_t)base % align, 0, "align %zu", align);
		cr_assert_geq(mg_je_sallocx(base, 0), 77 + mg_hdr_offset(want_lg));
		cr_assert_eq(mg_heap_free(p, NULL), 0);
		cr_assert_not(mg_hdr_live(p));
	}
}
