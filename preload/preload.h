/* preload.h: what the interposed entry points share (init.c).
 *
 * Preload safety lives here and in init.c only: the start-up state, the
 * bootstrap answers while memgc initialises, and the re-entrancy guard.
 */
#ifndef MG_PRELOAD_H
#define MG_PRELOAD_H

#include "internal.h"
#include "heap.h"

#define MG_EXPORT __attribute__((visibility("default")))

enum mg_state { MG_UNINIT, MG_INITIALISING, MG_READY, MG_PASSTHROUGH };
extern MG_HIDDEN int mg_state;
extern MG_HIDDEN MG_TLS int mg_busy;   /* this thread is inside memgc (unwinding, reporting) */

/* Makes memgc ready if it can; returns the state the caller must follow.
 * MG_INITIALISING means this very thread is initialising memgc (a nested
 * allocation): answer it from the bootstrap allocator. */
int mg_preload_init(void);

static MG_ALWAYS_INLINE bool mg_preload_ready(void)
{
	return MG_LIKELY(__atomic_load_n(&mg_state, __ATOMIC_RELAXED) == MG_READY) ||
	       mg_preload_init() == MG_READY;
}

/* The site of an allocation whose entry point returns to ra; t is the
 * calling thread's block.  A hit in the thread's cache (stack_depth=1
 * only, see mg_stats_site_slot) needs no call; it is taken even while
 * busy, as it cannot recurse and names the real site.  A miss captures
 * the stack, unless this thread is already inside memgc. */
static MG_ALWAYS_INLINE uint32_t mg_preload_site(struct mg_thread *t, void *ra)
{
	unsigned slot = mg_stats_site_slot((uintptr_t)ra);
	if (MG_LIKELY(t->site_key[slot] == (uintptr_t)ra))
		return t->site_id[slot];
	if (MG_UNLIKELY(mg_busy))
		return MG_SITE_UNKNOWN;
	mg_busy = 1;
	uint32_t id = mg_sites_capture(t, ra);
	mg_busy = 0;
	return id;
}

#endif /* MG_PRELOAD_H */
