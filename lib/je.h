/* je.h: memgc's private copy of jemalloc.
 *
 * The build renames the public names of Debian's PIC jemalloc archive to
 * mg_je_* (lib/jemalloc.syms) and links it into libmemgc.so, hidden.  So
 * memgc reaches jemalloc with direct calls, and the names memgc interposes
 * (malloc, mallocx, ...) never lead back into memgc.  Only this header and
 * heap.c use jemalloc; jemalloc.h is included for its types and flag macros.
 */
#ifndef MG_JE_H
#define MG_JE_H

#include <jemalloc/jemalloc.h>

extern const char *mg_je_malloc_conf;   /* jemalloc's malloc_conf (heap.c) */
void *mg_je_malloc(size_t size);
void *mg_je_mallocx(size_t size, int flags);
void *mg_je_rallocx(void *ptr, size_t size, int flags);
size_t mg_je_xallocx(void *ptr, size_t size, size_t extra, int flags);
size_t mg_je_sallocx(const void *ptr, int flags);
void mg_je_free(void *ptr);
void mg_je_dallocx(void *ptr, int flags);
void mg_je_sdallocx(void *ptr, size_t size, int flags);
size_t mg_je_nallocx(size_t size, int flags);
int mg_je_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
int mg_je_mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp);
int mg_je_mallctlbymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp,
		       void *newp, size_t newlen);
void mg_je_malloc_stats_print(void (*write_cb)(void *, const char *), void *cbopaque,
			      const char *opts);

#endif /* MG_JE_H */
