/* header.h: the 16 bytes in front of every object memgc hands out.
 *
 *   word 0 (info)
 *    63      56 55 54 53    48 47                                     0
 *   +----------+-----+--------+----------------------------------------+
 *   |  flags   | gen | lg_al  |        requested size (48 bits)        |
 *   +----------+-----+--------+----------------------------------------+
 *   word 1 (tag)
 *    63                      32 31                                     0
 *   +--------------------------+---------------------------------------+
 *   |   check (32 bits)        |          site id (32 bits)            |
 *   +--------------------------+---------------------------------------+
 *
 * lg_al is log2 of the alignment when it exceeds 16, else 0: the jemalloc
 * block then starts at user - max(16, 1 << lg_al).  check is a keyed hash of
 * the user address, the size, lg_al and the site (not of gen and flags,
 * which change in place), so a header that was overwritten or a pointer
 * that never was an object start fails mg_hdr_valid().
 *
 * flags bit 0 (MG_FLAG_LIVE) is the truth about liveness: set by alloc,
 * cleared by free in the same cache line free has to read anyway.  An
 * object is live  <=>  its header is valid and MG_FLAG_LIVE is set.  Both
 * words are written by one store (mg_hdr_write), so that a thread stopped
 * at any instruction leaves a header whole.
 * flags bit 1 (MG_FLAG_IGNORED): memgc_ignore()d, never reported or freed.
 * flags bit 2 (MG_FLAG_OWN): allocated by glibc for one of memgc's own
 * threads (its DTV): not counted as the program's, never reported or freed.
 *
 * gen is the object's generation (collect.c): 0 at birth, one up per
 * collection survived, up to 2; 3 (MG_GEN_FROZEN) is memgc_freeze()'s
 * permanent generation.  gen is written only while the world is stopped
 * (a running thread may be freeing the object, and free rewrites the word).
 */
#ifndef MG_HEADER_H
#define MG_HEADER_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

struct mg_hdr {
	uint64_t info;
	uint64_t tag;
};

#define MG_HDR_SIZE_BITS 48
#define MG_HDR_SIZE_MAX ((UINT64_C(1) << MG_HDR_SIZE_BITS) - 1)
#define MG_HDR_LGAL_SHIFT 48
#define MG_HDR_GEN_SHIFT 54
#define MG_HDR_FLAGS_SHIFT 56
#define MG_HDR_CHECKED_MASK ((UINT64_C(1) << MG_HDR_GEN_SHIFT) - 1)
#define MG_FLAG_LIVE 1u
#define MG_FLAG_IGNORED 2u
#define MG_FLAG_OWN 4u         /* memgc's own, made by glibc for a memgc thread */
#define MG_GEN_FROZEN 3u

extern uint64_t mg_hdr_secret __attribute__((visibility("hidden")));

static inline struct mg_hdr *mg_hdr_of(const void *user)
{
	return (struct mg_hdr *)((uintptr_t)user - sizeof(struct mg_hdr));
}

/* The checked bits of info (shifted past gen and flags), the address and
 * the secret are summed, the site is put in above bit 31, and one
 * multiply by an odd constant carries every bit of that into the upper
 * half, which is kept.  A multiply keeps the lowest bit in which two
 * inputs differ, so any change to the site, or to info above its bit 21,
 * changes the check; any other change leaves it alone with odds of 2^-32. */
static inline uint64_t mg_hdr_mix(const void *user, uint64_t info, uint32_t site)
{
	uint64_t x = ((uintptr_t)user ^ mg_hdr_secret) + (info << (64 - MG_HDR_GEN_SHIFT));
	x ^= (uint64_t)site << 32;
	return x * UINT64_C(0x9e3779b97f4a7c15);
}

static inline uint32_t mg_hdr_check(const void *user, uint64_t info, uint32_t site)
{
	return (uint32_t)(mg_hdr_mix(user, info, site) >> 32);
}

/* mg_hdr_valid for a header already loaded: the check is the upper half
 * of tag and of the mix, compared without taking either out. */
static inline bool mg_hdr_valid_words(const void *user, uint64_t info, uint64_t tag)
{
	return ((tag ^ mg_hdr_mix(user, info, (uint32_t)tag)) >> 32) == 0;
}

static inline void mg_hdr_write(void *user, uint64_t size, unsigned lg_al,
				unsigned gen, unsigned flags, uint32_t site)
{
	uint64_t info = size | (uint64_t)lg_al << MG_HDR_LGAL_SHIFT |
			(uint64_t)gen << MG_HDR_GEN_SHIFT |
			(uint64_t)flags << MG_HDR_FLAGS_SHIFT;
	struct mg_hdr *h = mg_hdr_of(user);
	uint64_t m = mg_hdr_mix(user, info, site);
	uint64_t tag = m ^ (uint32_t)(m ^ site);   /* check << 32 | site, without a mask */
#if defined(__SSE2__)
	/* One 16-byte store (h is 16-byte aligned): a thread that a signal
	 * stops (a stopped world) is never between the two words, so a header
	 * rewritten in place (realloc, xallocx) never reads as invalid, that
	 * is dead, to the page purge or the collector. */
	_mm_store_si128((__m128i *)h, _mm_set_epi64x((long long)tag, (long long)info));
#else
	h->info = info;
	h->tag = tag;
#endif
}

static inline bool mg_hdr_valid(const void *user)
{
	const struct mg_hdr *h = mg_hdr_of(user);
	return mg_hdr_valid_words(user, h->info, h->tag);
}

static inline bool mg_hdr_live(const void *user)
{
	return mg_hdr_valid(user) &&
	       ((mg_hdr_of(user)->info >> MG_HDR_FLAGS_SHIFT) & MG_FLAG_LIVE);
}

static inline void mg_hdr_set_flags(void *user, unsigned flags)
{
	struct mg_hdr *h = mg_hdr_of(user);
	h->info = (h->info & ~(UINT64_C(0xff) << MG_HDR_FLAGS_SHIFT)) |
		  (uint64_t)flags << MG_HDR_FLAGS_SHIFT;
}

/* Only while the world is stopped (see above). */
static inline void mg_hdr_set_gen(void *user, unsigned gen)
{
	struct mg_hdr *h = mg_hdr_of(user);
	h->info = (h->info & ~(UINT64_C(3) << MG_HDR_GEN_SHIFT)) | (uint64_t)gen << MG_HDR_GEN_SHIFT;
}

static inline uint64_t mg_hdr_size(const struct mg_hdr *h) { return h->info & MG_HDR_SIZE_MAX; }
static inline unsigned mg_hdr_lgal(const struct mg_hdr *h) { return (h->info >> MG_HDR_LGAL_SHIFT) & 63; }
static inline unsigned mg_hdr_gen(const struct mg_hdr *h) { return (h->info >> MG_HDR_GEN_SHIFT) & 3; }
static inline unsigned mg_hdr_flags(const struct mg_hdr *h) { return (unsigned)(h->info >> MG_HDR_FLAGS_SHIFT); }
static inline uint32_t mg_hdr_site(const struct mg_hdr *h) { return (uint32_t)h->tag; }

/* Bytes between the jemalloc block and the user pointer. */
static inline size_t mg_hdr_offset(unsigned lg_al)
{
	return lg_al ? (size_t)1 << lg_al : 16;
}

#endif /* MG_HEADER_H */
