/* interpose.c: every allocation entry point a program can reach.
 *
 * The malloc family, glibc's extras, jemalloc's non-standard API and every
 * C++ operator new/delete form.  Each is thin: validate the arguments the
 * way glibc does (errno and return values exactly as documented), take the
 * site from its own return address, and call lib/.  errno is left alone on
 * success and set only where the interface says so.  Pointers memgc did not
 * hand out (the loader's, the bootstrap buffer's) are recognised and passed
 * over, never dereferenced.
 */
#include "config.h"
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "header.h"
#include "je.h"
#include "preload.h"

#define RA() __builtin_return_address(0)

/* ---- the slow paths: start-up, bootstrap, passthrough, foreign ---- */

static void *alloc_slow(size_t n, size_t align, bool zero, void *ra)
{
	int s = mg_preload_init();
	if (s == MG_READY) {
		struct mg_thread *t = mg_stats_get();
		return mg_heap_alloc_inline(t, n, align, zero, mg_preload_site(t, ra));
	}
	if (s == MG_PASSTHROUGH)
		return mg_je_mallocx(n ? n : 1, (align > 16 ? MALLOCX_ALIGN(align) : 0) |
					     (zero ? MALLOCX_ZERO : 0));
	if (align > 16)
		return NULL;   /* nothing during start-up asks for more */
	return mg_heap_boot_alloc(n);   /* static, so already zero */
}

/* A thread has a block only once memgc is ready (mg_stats_attach runs on
 * the heap's paths alone), so a block at hand is the whole readiness test. */
static MG_ALWAYS_INLINE void *alloc(size_t n, size_t align, bool zero, void *ra)
{
	void *p;
	struct mg_thread *t = mg_stats_tls;
	if (MG_LIKELY(t != NULL))
		p = mg_heap_alloc_inline(t, n, align, zero, mg_preload_site(t, ra));
	else
		p = alloc_slow(n, align, zero, ra);
	if (MG_UNLIKELY(!p))
		errno = ENOMEM;
	return p;
}

static void free_foreign(void *p)
{
	if (mg_heap_boot_owns(p))
		return;
	if (__atomic_load_n(&mg_state, __ATOMIC_ACQUIRE) == MG_PASSTHROUGH) {
		mg_je_dallocx(p, 0);
		return;
	}
	mg_stats_foreign_free();
}

static void release_slow(void *p, void *ra)
{
	if (mg_heap_owns(p)) {
		int e = errno;
		mg_heap_free_general(mg_stats_tls, p, ra);
		errno = e;
	} else if (p) {
		free_foreign(p);
	}
}

/* errno is kept (mg_heap_free_small does not touch it, release_slow
 * saves it). */
static MG_ALWAYS_INLINE void release(void *p, void *ra)
{
	if (MG_UNLIKELY(!mg_heap_free_small(mg_stats_tls, p)))
		release_slow(p, ra);
}

static size_t usable(const void *p)
{
	if (mg_heap_owns(p))
		return mg_heap_usable(p);
	if (mg_heap_boot_owns(p))
		return mg_heap_boot_size(p);
	if (p && __atomic_load_n(&mg_state, __ATOMIC_ACQUIRE) == MG_PASSTHROUGH)
		return mg_je_sallocx(p, 0);
	return 0;
}

static void *resize(void *p, size_t n, void *ra)
{
	if (!p)
		return alloc(n, MG_HDR, false, ra);
	if (mg_heap_owns(p)) {
		void *q = mg_heap_realloc(p, n, mg_preload_site(mg_stats_get(), ra), ra);
		if (!q)
			errno = ENOMEM;
		return q;
	}
	if (mg_heap_boot_owns(p)) {
		void *q = alloc(n, MG_HDR, false, ra);
		size_t old = mg_heap_boot_size(p);
		if (q)
			memcpy(q, p, old < n ? old : n);
		return q;
	}
	if (__atomic_load_n(&mg_state, __ATOMIC_ACQUIRE) == MG_PASSTHROUGH) {
		void *q = mg_je_rallocx(p, n ? n : 1, 0);
		if (!q)
			errno = ENOMEM;
		return q;
	}
	mg_stats_error();
	mg_log("realloc(%p): not a pointer memgc handed out; returning NULL", p);
	errno = ENOMEM;
	return NULL;
}

static inline bool pow2(size_t a)
{
	return a && !(a & (a - 1));
}

static inline size_t min_align(size_t a)
{
	return a < MG_HDR ? MG_HDR : a;
}

/* ---- the C and POSIX interfaces ---- */

MG_EXPORT void *malloc(size_t n)
{
	return alloc(n, MG_HDR, false, RA());
}

MG_EXPORT void free(void *p)
{
	release(p, RA());
}

MG_EXPORT void *calloc(size_t nmemb, size_t size)
{
	size_t n;
	if (__builtin_mul_overflow(nmemb, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return alloc(n, MG_HDR, true, RA());
}

/* glibc: realloc(p, 0) frees p and returns NULL; realloc(NULL, n) is malloc. */
MG_EXPORT void *realloc(void *p, size_t n)
{
	if (p && n == 0) {
		release(p, RA());
		return NULL;
	}
	return resize(p, n, RA());
}

MG_EXPORT void *reallocarray(void *p, size_t nmemb, size_t size)
{
	size_t n;
	if (__builtin_mul_overflow(nmemb, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	if (p && n == 0) {
		release(p, RA());
		return NULL;
	}
	return resize(p, n, RA());
}

MG_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	if (!pow2(align) || align % sizeof(void *))
		return EINVAL;
	int e = errno;
	void *p = alloc(n, min_align(align), false, RA());
	errno = e;
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

MG_EXPORT void *aligned_alloc(size_t align, size_t n)
{
	if (!pow2(align)) {
		errno = EINVAL;
		return NULL;
	}
	return alloc(n, min_align(align), false, RA());
}

/* glibc: an alignment that is not a power of two is rounded up to one. */
MG_EXPORT void *memalign(size_t align, size_t n)
{
	if (align > SIZE_MAX / 2 + 1) {
		errno = EINVAL;
		return NULL;
	}
	size_t a = MG_HDR;
	while (a < align)
		a <<= 1;
	return alloc(n, a, false, RA());
}

MG_EXPORT void *valloc(size_t n)
{
	return alloc(n, mg_os_page(), false, RA());
}

MG_EXPORT void *pvalloc(size_t n)
{
	size_t page = mg_os_page();
	size_t r;
	if (__builtin_add_overflow(n, page - 1, &r)) {
		errno = ENOMEM;
		return NULL;
	}
	r &= ~(page - 1);
	return alloc(r ? r : page, page, false, RA());
}

MG_EXPORT size_t malloc_usable_size(void *p)
{
	return usable(p);
}

/* ---- glibc's extras ---- */

MG_EXPORT int malloc_trim(size_t pad)
{
	(void)pad;
	if (!mg_preload_ready())
		return 0;
	return mg_heap_trim(NULL) == 0;   /* 1: memory may have been released */
}

MG_EXPORT struct mallinfo2 mallinfo2(void)
{
	struct mallinfo2 mi;
	memset(&mi, 0, sizeof mi);
	if (!mg_preload_ready())
		return mi;
	struct memgc_heap_stats st;
	mg_stats_read(&st);
	mi.arena = st.rss_bytes;
	mi.uordblks = st.live_usable_bytes;
	mi.fordblks = st.rss_bytes > st.live_usable_bytes ? st.rss_bytes - st.live_usable_bytes : 0;
	mi.hblkhd = 0;
	return mi;
}

MG_EXPORT struct mallinfo mallinfo(void)
{
	struct mallinfo2 m2 = mallinfo2();
	struct mallinfo mi;
	memset(&mi, 0, sizeof mi);
	mi.arena = (int)m2.arena;
	mi.uordblks = (int)m2.uordblks;
	mi.fordblks = (int)m2.fordblks;
	return mi;
}

/* glibc's tunables do not apply to jemalloc: accepted and ignored, as a
 * program that sets them expects success. */
MG_EXPORT int mallopt(int param, int value)
{
	(void)param; (void)value;
	return 1;
}

/* ---- jemalloc's non-standard API, on memgc's heap ---- */

static size_t flag_align(int flags)
{
	int lg = flags & 0x3f;
	return lg ? min_align((size_t)1 << lg) : MG_HDR;
}

MG_EXPORT void *mallocx(size_t size, int flags)
{
	int e = errno;
	void *p = alloc(size, flag_align(flags), (flags & MALLOCX_ZERO) != 0, RA());
	errno = e;
	return p;
}

/* The alignment a live object of memgc's was made with (16 for anything
 * else): a resize in place or by jemalloc's rallocx keeps it. */
static size_t object_align(const void *p)
{
	if (!mg_heap_readable(p) || !mg_hdr_live(p))
		return MG_HDR;
	unsigned lg = mg_hdr_lgal(mg_hdr_of(p));
	return lg ? (size_t)1 << lg : MG_HDR;
}

MG_EXPORT void *rallocx(void *p, size_t size, int flags)
{
	int e = errno;
	size_t align = flag_align(flags);
	size_t old = usable(p);
	void *q;
	/* an address aligned by chance is not enough: the object must have
	 * been made with at least this alignment to keep it */
	if (align > MG_HDR && (((uintptr_t)p & (align - 1)) || object_align(p) < align)) {
		q = alloc(size, align, false, RA());
		if (q) {
			memcpy(q, p, old < size ? old : size);
			release(p, RA());
		}
	} else {
		q = resize(p, size, RA());
	}
	if (q && (flags & MALLOCX_ZERO)) {
		size_t now = usable(q);
		if (now > old)
			memset((char *)q + old, 0, now - old);
	}
	errno = e;
	return q;
}

MG_EXPORT size_t xallocx(void *p, size_t size, size_t extra, int flags)
{
	(void)flags;
	if (!mg_heap_owns(p))
		return usable(p);
	return mg_heap_xalloc(p, size, extra, RA());
}

MG_EXPORT size_t sallocx(const void *p, int flags)
{
	(void)flags;
	return usable(p);
}

MG_EXPORT void dallocx(void *p, int flags)
{
	(void)flags;
	release(p, RA());
}

MG_EXPORT void sdallocx(void *p, size_t size, int flags)
{
	(void)size; (void)flags;
	release(p, RA());
}

MG_EXPORT size_t nallocx(size_t size, int flags)
{
	size_t align = flag_align(flags);
	if (size > ((size_t)1 << 47) - align)
		return 0;
	if (align > MG_HDR)
		return mg_je_nallocx(size + align, MALLOCX_ALIGN(align)) - align;
	return mg_heap_usable_class((size ? size : 1) + MG_HDR) - MG_HDR;
}

MG_EXPORT int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
{
	mg_preload_ready();
	return mg_je_mallctl(name, oldp, oldlenp, newp, newlen);
}

MG_EXPORT int mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp)
{
	mg_preload_ready();
	return mg_je_mallctlnametomib(name, mibp, miblenp);
}

MG_EXPORT int mallctlbymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp,
			   void *newp, size_t newlen)
{
	mg_preload_ready();
	return mg_je_mallctlbymib(mib, miblen, oldp, oldlenp, newp, newlen);
}

MG_EXPORT void malloc_stats_print(void (*cb)(void *, const char *), void *arg, const char *opts)
{
	mg_preload_ready();
	mg_je_malloc_stats_print(cb, arg, opts);
}

/* ---- C++ operators new and delete, every form (mangled names) ----
 * Throwing forms loop on the new-handler as the standard says; the two
 * libstdc++ functions they need are weak, so a C program does not pull in
 * libstdc++ (it never calls these). */

typedef void (*new_handler_t)(void);
extern new_handler_t _ZSt15get_new_handlerv(void) __attribute__((weak));
extern void _ZSt17__throw_bad_allocv(void) __attribute__((weak, noreturn));

static void *new_throwing(size_t n, size_t align, void *ra)
{
	for (;;) {
		void *p = alloc(n, align, false, ra);
		if (MG_LIKELY(p))
			return p;
		new_handler_t h = _ZSt15get_new_handlerv ? _ZSt15get_new_handlerv() : NULL;
		if (!h) {
			if (_ZSt17__throw_bad_allocv)
				_ZSt17__throw_bad_allocv();
			mg_log("operator new(%zu): out of memory and no libstdc++ to throw bad_alloc", n);
			abort();
		}
		h();
	}
}

MG_EXPORT void *_Znwm(size_t n) { return new_throwing(n, MG_HDR, RA()); }
MG_EXPORT void *_Znam(size_t n) { return new_throwing(n, MG_HDR, RA()); }
MG_EXPORT void *_ZnwmSt11align_val_t(size_t n, size_t al) { return new_throwing(n, min_align(al), RA()); }
MG_EXPORT void *_ZnamSt11align_val_t(size_t n, size_t al) { return new_throwing(n, min_align(al), RA()); }
MG_EXPORT void *_ZnwmRKSt9nothrow_t(size_t n, const void *nt) { (void)nt; return alloc(n, MG_HDR, false, RA()); }
MG_EXPORT void *_ZnamRKSt9nothrow_t(size_t n, const void *nt) { (void)nt; return alloc(n, MG_HDR, false, RA()); }
MG_EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t al, const void *nt) { (void)nt; return alloc(n, min_align(al), false, RA()); }
MG_EXPORT void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t n, size_t al, const void *nt) { (void)nt; return alloc(n, min_align(al), false, RA()); }

MG_EXPORT void _ZdlPv(void *p) { release(p, RA()); }
MG_EXPORT void _ZdaPv(void *p) { release(p, RA()); }
MG_EXPORT void _ZdlPvm(void *p, size_t n) { (void)n; release(p, RA()); }
MG_EXPORT void _ZdaPvm(void *p, size_t n) { (void)n; release(p, RA()); }
MG_EXPORT void _ZdlPvRKSt9nothrow_t(void *p, const void *nt) { (void)nt; release(p, RA()); }
MG_EXPORT void _ZdaPvRKSt9nothrow_t(void *p, const void *nt) { (void)nt; release(p, RA()); }
MG_EXPORT void _ZdlPvSt11align_val_t(void *p, size_t al) { (void)al; release(p, RA()); }
MG_EXPORT void _ZdaPvSt11align_val_t(void *p, size_t al) { (void)al; release(p, RA()); }
MG_EXPORT void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t al) { (void)n; (void)al; release(p, RA()); }
MG_EXPORT void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t al) { (void)n; (void)al; release(p, RA()); }
MG_EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t al, const void *nt) { (void)al; (void)nt; release(p, RA()); }
MG_EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t al, const void *nt) { (void)al; (void)nt; release(p, RA()); }
