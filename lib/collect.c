/* collect.c: collections, the collector thread, and the state behind the
 * gc-module API (enabled, debug, callbacks, garbage, freeze).
 *
 * A collection of generation g (mg_collect):
 *   1. callbacks "start"; lock order: collect_lock, then roots' reg_lock,
 *      then (mg_world_run) the loader's lock and the world
 *   2. world stopped: bring the index up to date (allocation logs); mark
 *      from the older, frozen and ignored objects (roots of a young
 *      collection), the garbage list and roots.c's roots; drain; sweep the
 *      index: a condemned object that is marked survives (one generation
 *      up), one that is not is unreachable (it goes one generation up too,
 *      so that a young collection does not find it again and again)
 *   3. world running: classify when asked (debug flags, leak check), free
 *      the unreachable (mode=reclaim) or keep them (mode=account, or on the
 *      garbage list with MEMGC_DEBUG_SAVEALL), reset the counts, purge after
 *      a generation-2 collection, callbacks "stop"
 * Invariants:
 *   one collection at a time (collect_lock); headers' gen bits are written
 *     only in step 2, while every other thread is stopped
 *   stats[g].collected + stats[g].uncollectable == unreachable objects
 *     found by collections of generation g
 *   long_lived_total == objects of generation 2 after the last full
 *     collection; long_lived_pending == objects promoted into generation 2
 *     since (CPython's rule for full collections)
 * Automatic collections: mg_collect_wake() (called inside malloc when
 * count[0] passes threshold[0]) only posts a request; the collector thread
 * picks the generation as CPython's gc_collect_generations does and
 * collects.  It is started at start-up (and in a forked child) when gc=1:
 * creating a thread inside malloc deadlocks when glibc frees with its
 * stack-cache lock held (a forked child did, in tests/stress).
 * The collector thread works in a descriptor table of its own, and every
 * collection, freeze and purge runs on it: one asked for on another thread
 * is handed over (mg_os_aside) and waited for, with stop_signal open
 * (design.md, "Descriptors").  A second thread, the keeper, stays in the
 * program's table to call exit(0) there when only memgc's threads are
 * left (the program's buffered output still goes out).
 */
#include "config.h"
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "header.h"
#include "internal.h"
#include "stats.h"
#include "world.h"

#define MAX_CALLBACKS 16

static pthread_mutex_t collect_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mg_world world;
static struct memgc_gc_stats stats[3];
static int enabled;
static int debug_flags;
static MG_TLS int in_callback;
static uint64_t long_lived_total, long_lived_pending;
static long frozen_count;

static pthread_mutex_t cb_lock = PTHREAD_MUTEX_INITIALIZER;
static struct { memgc_callback fn; void *arg; } callbacks[MAX_CALLBACKS];
static int ncallbacks;

/* The unreachable objects of the collection in progress, in address order. */
static void **unr;
static size_t nunr, unr_cap;
/* gc.garbage: unreachable objects kept under MEMGC_DEBUG_SAVEALL; a root. */
static void **garbage;
static size_t ngarbage, garbage_cap;

static struct mg_leaks leaks;         /* the exit leak check's result */
static struct mg_leaks last;          /* the last classified collection's */

#define REQ_AUTO 1u                   /* request: count[0] passed threshold[0] */
#define REQ_ASIDE 2u                  /* request: aside.fn to run */
static uint32_t request;              /* futex word: REQ_* bits */
static int thread_state;              /* 0 none, 1 running */
static pthread_t collector;
static uint32_t keeper_go;            /* futex word: the keeper calls exit(0) */

/* One request at a time from other threads (aside_lock); aside_done is
 * the futex word its caller waits on. */
static pthread_mutex_t aside_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	long (*fn)(void *);
	void *arg;
	long ret;
	int err;
	pid_t tid;
	uintptr_t sp, tp;                 /* where the caller waits: mg_world_park */
	uintptr_t floor;
	int cpu;                          /* the caller's CPU, or -1 */
} aside;
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t aside_done;

/* ---- growable lists in memgc's own memory ---- */

static int push(void ***list, size_t *n, size_t *cap, void *p)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 4096;
		void **l = mg_os_map(c * sizeof *l);
		if (!l)
			return -1;
		if (*list) {
			memcpy(l, *list, *n * sizeof *l);
			mg_os_unmap(*list, *cap * sizeof *l);
		}
		*list = l;
		*cap = c;
	}
	(*list)[(*n)++] = p;
	return 0;
}

/* ---- step 2: the stopped world ---- */

struct pass {
	int gen;
	bool self_root;
	bool no_memory;             /* an unreachable object could not be listed */
	uint64_t found_bytes;
	uint64_t gen2_after, promoted2, frozen;   /* gen2_after, frozen: if full */
	bool full;                  /* every live object was visited */
	bool verify;                /* made both ways (watch=verify) */
};

static void old_root(void *user, void *arg)
{
	(void)arg;
	if (!mg_mark_condemned(user))
		mg_mark_object(user);
}

static void sweep_one(void *user, void *arg)
{
	struct pass *p = arg;
	const struct mg_hdr *h = mg_hdr_of(user);
	unsigned gen = mg_hdr_gen(h);
	if (gen == MG_GEN_FROZEN) {
		p->frozen++;
		return;
	}
	if (!mg_mark_condemned(user)) {
		p->gen2_after += gen == 2;
		return;
	}
	unsigned up = (unsigned)p->gen + 1 < 2 ? (unsigned)p->gen + 1 : 2;
	if (mg_mark_test(user)) {
		mg_mark_clear(user);
	} else if (push(&unr, &nunr, &unr_cap, user)) {
		p->no_memory = true;
		return;                 /* not listed: counted as reachable */
	} else {
		p->found_bytes += mg_hdr_size(h);
	}
	if (up != gen) {
		mg_hdr_set_gen(user, up);
		mg_young_rewrote(user);
		p->promoted2 += up == 2;
	}
	p->gen2_after += up == 2;
}

static void mark_garbage(void)
{
	for (size_t i = 0; i < ngarbage; i++)
		if (mg_heap_readable(garbage[i]) && mg_index_live(garbage[i]))
			mg_mark_word_interior((uintptr_t)garbage[i]);
}

/* Marks from all older memory: every object not condemned (older
 * generations, frozen, ignored, memgc's own) and every root mapping. */
static void mark_full(struct mg_world *w, struct pass *p)
{
	/* Drop the index's stale bits first (every lookup walks past them),
	 * and take the roots among the objects on the way. */
	mg_index_sweep_foreach(old_root, NULL);
	mark_garbage();
	mg_roots_scan(w, p->self_root, -1);
	mg_mark_drain();
}

/* Marks from what older memory was written since generation p->gen was
 * last collected (young.c), and the threads. */
static void mark_young(struct mg_world *w, struct pass *p)
{
	mg_young_mark_older(p->gen);
	mark_garbage();
	mg_roots_scan(w, p->self_root, p->gen);
	mg_mark_drain();
}

/* ---- watch=verify: each young collection made both ways, compared ---- */

static void **vlist;
static size_t nvlist, vlist_cap;
static bool vlist_short;
static uint64_t verified, mismatches;

/* A dry sweep of the watch's marking: unmarked condemned objects listed,
 * marks cleared, nothing promoted. */
static void verify_one(void *user, void *arg)
{
	(void)arg;
	if (mg_mark_test(user))
		mg_mark_clear(user);
	else if (push(&vlist, &nvlist, &vlist_cap, user))
		vlist_short = true;
}

static int clear_stray(void *user, void *arg)
{
	if (mg_mark_test(user)) {
		mg_mark_clear(user);
		if ((*(size_t *)arg)++ < 4)
			mg_log("watch=verify: %p was marked but not condemned through the watch", user);
	}
	return 0;
}

struct holder {
	uintptr_t lo, hi;
	void *found;
	uintptr_t at;
};

static int holds_word(void *user, void *arg)
{
	struct holder *h = arg;
	if (mg_mark_condemned(user))
		return 0;
	const uintptr_t *w = user;
	for (uint64_t i = 0; i < mg_hdr_size(mg_hdr_of(user)) / sizeof *w; i++)
		if (w[i] - h->lo < h->hi - h->lo) {
			h->found = user;
			h->at = (uintptr_t)&w[i];
			return 1;
		}
	return 0;
}

/* Logs a difference, with the first older word that points at the object
 * (an object the watch let go that the full read kept). */
static void diagnose(int gen, void *o, bool only_watch)
{
	uintptr_t lo = (uintptr_t)o, hi = mg_opt.interior ? lo + mg_hdr_size(mg_hdr_of(o)) : lo + 1;
	struct holder h = { .lo = lo, .hi = hi > lo ? hi : lo + 1 };
	char where[96] = "";
	if (only_watch) {
		uintptr_t r = mg_roots_find(h.lo, h.hi);
		if (r)
			snprintf(where, sizeof where, ", held at %#lx in a root mapping", (unsigned long)r);
		else if (mg_index_foreach(holds_word, &h))
			snprintf(where, sizeof where, ", held at %#lx in older object %p (generation %u)",
				 (unsigned long)h.at, h.found, mg_hdr_gen(mg_hdr_of(h.found)));
	}
	mg_log("watch=verify: generation %d: %p (generation %u, %llu bytes) found unreachable only %s%s",
	       gen, o, mg_hdr_gen(mg_hdr_of(o)), (unsigned long long)mg_hdr_size(mg_hdr_of(o)),
	       only_watch ? "through the watch" : "by the full scan", where);
}

/* After the full sweep: the unreachable objects it found (unr) against
 * those the watch's marking left (vlist); both in address order. */
static void verify_compare(int gen, size_t stray)
{
	if (vlist_short)
		return;
	size_t i = 0, j = 0, diff = stray;
	while (i < nvlist || j < nunr) {
		void *a = i < nvlist ? vlist[i] : NULL, *b = j < nunr ? unr[j] : NULL;
		if (a == b) {
			i++;
			j++;
			continue;
		}
		bool only_watch = b == NULL || (a != NULL && (uintptr_t)a < (uintptr_t)b);
		if (diff++ < 8)
			diagnose(gen, only_watch ? a : b, only_watch);
		if (only_watch)
			i++;
		else
			j++;
	}
	verified++;
	mismatches += diff != 0;
}

static int stopped(struct mg_world *w, void *arg)
{
	struct pass *p = arg;
	mg_stats_sync_index();
	if (mg_mark_begin(p->gen, mg_opt.interior))
		return 1;
	bool young = mg_young_begin_locked(p->gen);
	size_t stray = 0;
	if (young && mg_opt.watch == MG_WATCH_VERIFY) {
		mark_young(w, p);
		nvlist = 0;
		vlist_short = false;
		mg_young_foreach_condemned(p->gen, verify_one, NULL);
		mg_index_foreach(clear_stray, &stray);
		if (mg_mark_begin(p->gen, mg_opt.interior))
			return 1;
		young = false;
		p->verify = true;
	}
	if (young) {
		mark_young(w, p);
		nunr = 0;
		mg_young_foreach_condemned(p->gen, sweep_one, p);
	} else {
		mark_full(w, p);
		nunr = 0;
		mg_young_open_heap_locked();
		mg_index_sweep_foreach(sweep_one, p);
		p->full = true;
		if (p->verify)
			verify_compare(p->gen, stray);
	}
	mg_young_end_locked(p->gen);
	mg_stats_collected(p->gen);      /* the pending deltas hold still now */
	return 0;
}

/* ---- the rest of a collection, the world running ---- */

static void run_callbacks(const char *phase, const struct memgc_gc_info *info)
{
	struct { memgc_callback fn; void *arg; } cb[MAX_CALLBACKS];
	pthread_mutex_lock(&cb_lock);
	int n = ncallbacks;
	memcpy(cb, callbacks, (size_t)n * sizeof cb[0]);
	pthread_mutex_unlock(&cb_lock);
	in_callback = 1;
	for (int i = 0; i < n; i++)
		cb[i].fn(phase, info, cb[i].arg);
	in_callback = 0;
}

static void debug_objects(bool freed)
{
	for (size_t i = 0; i < nunr; i++) {
		char site[512];
		void *const *frames;
		uint32_t id = mg_hdr_site(mg_hdr_of(unr[i]));
		if (mg_sites_frames(id, &frames) > 0)
			mg_sites_symbolize(frames[0], site, sizeof site);
		else
			strcpy(site, "unknown site");
		mg_log("gc: %s %p, %llu bytes, allocated at %s", freed ? "collectable" : "uncollectable",
		       unr[i], (unsigned long long)mg_hdr_size(mg_hdr_of(unr[i])), site);
	}
}

#define COLLECT_SELF 1u       /* the caller's stack and registers are roots */
#define COLLECT_CLASSIFY 2u   /* classify into `last` */
#define COLLECT_KEEP 4u       /* free nothing (the exit leak check) */
#define COLLECT_NO_TRIM 8u    /* generation 2: the caller trims (collect) */

static int collect_here(int gen, unsigned how, struct mg_collect_result *r)
{
	if (in_callback) {
		errno = EDEADLK;
		return -1;
	}
	struct memgc_gc_info info = { .generation = gen };
	uint64_t t0 = mg_os_now_ns();
	/* callbacks run outside collect_lock: they may call the API */
	if (ncallbacks)
		run_callbacks("start", &info);
	pthread_mutex_lock(&collect_lock);
	/* opened by the first collection, so that a program that never
	 * collects never holds its descriptors; off, with its reason, where
	 * the kernel refuses.  Not for the exit leak check, which no
	 * collection follows: arming leaves a userfaultfd marker in every
	 * page of a root mapping never touched, which pagemap calls swapped,
	 * so the full read then faulted each in (/bin/true: 14.8 MB read
	 * instead of 0.44, 4.7 ms of a 7.7 ms check; the purge was 1.4 more). */
	if (!(how & COLLECT_KEEP))
		mg_watch_init();
	static bool roots_ready;
	if (!roots_ready && mg_roots_init()) {
		pthread_mutex_unlock(&collect_lock);
		mg_log("gc: no memory for the collector's tables");
		errno = ENOMEM;
		return -1;
	}
	roots_ready = true;
	struct pass p = { .gen = gen, .self_root = how & COLLECT_SELF };
	mg_roots_lock();
	mg_watch_lock();
	uint64_t s0 = mg_os_now_ns();
	int rc = mg_world_run(&world, stopped, &p);
	uint64_t pause = mg_os_now_ns() - s0;
	mg_watch_unlock();
	mg_roots_unlock();
	if (rc != 0) {
		pthread_mutex_unlock(&collect_lock);
		errno = EAGAIN;
		return -1;
	}
	uint64_t scanned = mg_mark_scanned();
	if (p.no_memory)
		mg_log("gc: out of memory listing unreachable objects; some kept as reachable");

	int dbg = debug_flags;
	bool keep = (how & COLLECT_KEEP) || mg_opt.mode != MG_MODE_RECLAIM;
	if ((how & COLLECT_CLASSIFY) || (dbg & (MEMGC_DEBUG_COLLECTABLE | MEMGC_DEBUG_UNCOLLECTABLE)))
		mg_cycles_classify(unr, nunr, &last);
	if ((dbg & MEMGC_DEBUG_SAVEALL) && !(how & COLLECT_KEEP)) {
		for (size_t i = 0; i < nunr; i++)
			if (push(&garbage, &ngarbage, &garbage_cap, unr[i]))
				break;
		keep = true;
	}
	if (dbg & (keep ? MEMGC_DEBUG_UNCOLLECTABLE : MEMGC_DEBUG_COLLECTABLE))
		debug_objects(!keep);
	uint64_t freed = 0, freed_bytes = 0;
	if (!keep) {
		for (size_t i = 0; i < nunr; i++) {
			uint64_t sz = mg_hdr_size(mg_hdr_of(unr[i]));
			if (mg_heap_free(unr[i], NULL) == 0) {
				freed++;
				freed_bytes += sz;
			}
		}
	}
	if (gen == 2) {
		long_lived_total = p.gen2_after;
		long_lived_pending = 0;
		/* not the exit leak check (the process ends); a program thread's
		 * collection trims on that thread after (collect) */
		if (!(how & (COLLECT_KEEP | COLLECT_NO_TRIM)))
			mg_heap_trim(NULL);
	} else {
		long_lived_pending += p.promoted2;
	}
	if (p.full)
		frozen_count = (long)p.frozen;

	struct memgc_gc_stats *s = &stats[gen];
	s->collections++;
	s->collected += freed;
	s->collected_bytes += freed_bytes;
	s->uncollectable += nunr - freed;
	s->uncollectable_bytes += p.found_bytes - freed_bytes;
	s->pause_ns += pause;
	if (pause > s->max_pause_ns)
		s->max_pause_ns = pause;
	s->scanned_bytes += scanned;
	uint64_t total = mg_os_now_ns() - t0;
	s->total_ns += total;
	if (dbg & MEMGC_DEBUG_STATS)
		mg_log("gc: generation %d: %zu unreachable (%llu bytes), %llu freed; pause %.3f ms, "
		       "total %.3f ms, %llu bytes scanned, %s%s%s%s", gen, nunr,
		       (unsigned long long)p.found_bytes, (unsigned long long)freed, pause / 1e6,
		       total / 1e6, (unsigned long long)scanned,
		       p.full ? "older memory read in full" : "older memory read through the watch",
		       p.full && gen < 2 ? " (watch " : "", p.full && gen < 2 ? mg_young_why() : "",
		       p.full && gen < 2 ? ")" : "");
	if (r) {
		r->gen = gen;
		r->found_objects = nunr;
		r->found_bytes = p.found_bytes;
		r->freed_objects = freed;
		r->freed_bytes = freed_bytes;
		r->pause_ns = pause;
		r->total_ns = total;
		r->scanned_bytes = scanned;
	}
	size_t found = nunr;
	pthread_mutex_unlock(&collect_lock);
	if (ncallbacks) {
		info.collected = (int64_t)freed;
		info.uncollectable = (int64_t)(found - freed);
		run_callbacks("stop", &info);
	}
	return 0;
}

struct collect_job {
	int gen;
	unsigned how;
	struct mg_collect_result *r;
};

static long collect_job(void *arg)
{
	struct collect_job *j = arg;
	return collect_here(j->gen, j->how, j->r);
}

/* On the collector thread, wherever it is asked for.  The trim after a
 * generation-2 collection asked for on another thread runs on that
 * thread: its cache goes back and its arena is retired if mostly free
 * (mg_heap_trim), which on the collector thread would be the collector's
 * (the range case of bench/rss.sh ended at 1.83x its baseline, not 1.01). */
static int collect(int gen, unsigned how, struct mg_collect_result *r)
{
	bool trim = gen == 2 && !(how & COLLECT_KEEP) && !mg_os_on_collector();
	struct mg_collect_result own;
	struct collect_job j = { gen, how | (trim ? COLLECT_NO_TRIM : 0), r ? r : &own };
	int rc = (int)mg_os_collector(collect_job, &j);
	if (rc == 0 && trim) {
		int e = errno;
		uint64_t t0 = mg_os_now_ns();
		mg_heap_trim(NULL);
		uint64_t t = mg_os_now_ns() - t0;
		j.r->total_ns += t;
		pthread_mutex_lock(&collect_lock);
		stats[gen].total_ns += t;
		pthread_mutex_unlock(&collect_lock);
		errno = e;
	}
	return rc;
}

static __attribute__((noinline)) long below_caller(long (*fn)(long), long arg)
{
	mg_roots_self_floor((uintptr_t)__builtin_frame_address(0));
	long r = fn(arg);
	mg_roots_self_floor(0);
	return r;
}

__attribute__((noinline)) long mg_collect_as_caller(long (*fn)(long arg), long arg)
{
	__builtin_unwind_init();
	volatile long r = below_caller(fn, arg);   /* not a tail call: this frame stays */
	return r;
}

int mg_collect(int gen, bool self_root, struct mg_collect_result *r)
{
	return collect(gen, self_root ? COLLECT_SELF : 0, r);
}

long mg_collect_found(int gen)
{
	struct mg_collect_result r;
	if (collect(gen, COLLECT_SELF, &r))
		return -1;
	return (long)r.found_objects;
}

const struct mg_leaks *mg_collect_leak_check(void)
{
	if (collect(2, COLLECT_SELF | COLLECT_CLASSIFY | COLLECT_KEEP, NULL))
		return NULL;
	pthread_mutex_lock(&collect_lock);
	struct mg_leak_group *g = leaks.groups;
	size_t cap = leaks.groups_cap;
	leaks = last;                   /* swap, so that each keeps its own groups */
	last.groups = g;
	last.groups_cap = cap;
	last.ngroups = 0;
	pthread_mutex_unlock(&collect_lock);
	return leaks.checked ? &leaks : NULL;
}

const struct mg_leaks *mg_collect_leaks(void)
{
	return leaks.checked ? &leaks : NULL;
}

void mg_collect_verified(uint64_t *n, uint64_t *differing)
{
	pthread_mutex_lock(&collect_lock);
	*n = verified;
	*differing = mismatches;
	pthread_mutex_unlock(&collect_lock);
}

void mg_collect_stats(struct memgc_gc_stats st[3])
{
	pthread_mutex_lock(&collect_lock);
	memcpy(st, stats, sizeof stats);
	pthread_mutex_unlock(&collect_lock);
}

/* ---- the collector thread ---- */

static void start_threads(bool any);

/* The request runs on the CPU its caller left for it (the caller sleeps
 * until it is done): what the caller just wrote, a young collection's new
 * objects and their logs, is in that CPU's caches.  On the other CPU a
 * young collection of 10^5 objects took 1.9-2.0 ms of CPU against 1.8
 * (bench/collect -y 10000).  The collector's own affinity after. */
static void serve_aside(void)
{
	cpu_set_t here, mine;
	bool moved = false;
	if (aside.cpu >= 0 && aside.cpu < CPU_SETSIZE &&
	    sched_getaffinity(0, sizeof mine, &mine) == 0) {
		CPU_ZERO(&here);
		CPU_SET(aside.cpu, &here);
		moved = sched_setaffinity(0, sizeof here, &here) == 0;
	}
	mg_world_park(aside.tid, aside.sp, aside.tp);
	mg_roots_requester(aside.floor);
	int e = errno;
	aside.ret = aside.fn(aside.arg);
	aside.err = errno;
	errno = e;
	mg_roots_requester(0);
	mg_world_park(0, 0, 0);
	if (moved)
		sched_setaffinity(0, sizeof mine, &mine);
	__atomic_fetch_and(&request, ~REQ_ASIDE, __ATOMIC_ACQ_REL);
	__atomic_store_n(&aside_done, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &aside_done, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* A thread of memgc's: not a root, named, only the stop signal comes in. */
static void begin(const char *name)
{
	mg_collect_own_thread();
	prctl(PR_SET_NAME, name, 0, 0, 0);
	sigset_t all;
	sigfillset(&all);
	sigdelset(&all, (int)mg_opt.stop_signal);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
}

static void *collector_main(void *arg)
{
	(void)arg;
	begin("memgc-collect");
	if (mg_os_own_table())
		mg_log("the collector thread shares the program's descriptors (unshare: %s)",
		       strerror(errno));
	mg_os_aside_home();
	unsigned failures = 0;
	for (;;) {
		/* every 250 ms idle: if the program's threads are all gone
		 * (the last one ended without exit(); glibc would then have
		 * called exit(0), but memgc's threads still count), the keeper
		 * calls exit(0) in the program's table */
		struct timespec tick = { 0, 250000000L };
		while (!__atomic_load_n(&request, __ATOMIC_ACQUIRE))
			if (syscall(SYS_futex, &request, FUTEX_WAIT_PRIVATE, 0, &tick, NULL, 0) &&
			    errno == ETIMEDOUT && mg_roots_only_own_left()) {
				__atomic_store_n(&keeper_go, 1, __ATOMIC_RELEASE);
				syscall(SYS_futex, &keeper_go, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
			}
		if (__atomic_load_n(&request, __ATOMIC_ACQUIRE) & REQ_ASIDE)
			serve_aside();
		if (!(__atomic_load_n(&request, __ATOMIC_ACQUIRE) & REQ_AUTO))
			continue;
		if (!__atomic_load_n(&enabled, __ATOMIC_RELAXED)) {
			__atomic_fetch_and(&request, ~REQ_AUTO, __ATOMIC_RELEASE);
			continue;
		}
		long c[3], t[3];
		mg_stats_counts(c);
		mg_stats_thresholds(t);
		int gen = -1;
		for (int i = 2; i >= 0 && gen < 0; i--) {
			if (c[i] <= t[i] || t[i] <= 0)
				continue;
			if (i == 2 && long_lived_pending < long_lived_total / 4)
				continue;
			gen = i;
		}
		if (gen >= 0 && mg_collect(gen, false, NULL)) {
			/* the world would not stop: back off, 10 ms doubling to 640 ms */
			failures++;
			struct timespec ts = { 0, 10000000L };
			for (unsigned k = 1; k < failures && ts.tv_nsec < 500000000L; k++)
				ts.tv_nsec *= 2;
			nanosleep(&ts, NULL);
		} else {
			failures = 0;
		}
		__atomic_fetch_and(&request, ~REQ_AUTO, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* Holds the program's descriptor table and waits: see the top. */
static void *keeper_main(void *arg)
{
	(void)arg;
	begin("memgc-keeper");
	while (!__atomic_load_n(&keeper_go, __ATOMIC_ACQUIRE))
		syscall(SYS_futex, &keeper_go, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	exit(0);
}

/* Runs fn(arg) on the collector thread for mg_os_aside, starting it if
 * asked; here when there is none.  The caller waits in here, parked for
 * the collector's stops (mg_world_park: no signal), its stack a root from
 * its floor (the API's entry) or else from here, where
 * __builtin_unwind_init has pushed the registers it may hold pointers in. */
static __attribute__((noinline)) long run_aside(long (*fn)(void *), void *arg, bool start)
{
	__builtin_unwind_init();
	if (start)
		start_threads(true);
	if (!__atomic_load_n(&thread_state, __ATOMIC_ACQUIRE))
		return fn(arg);
	int e = errno;
	mg_world_lock_stoppable(&aside_lock);
	aside.fn = fn;
	aside.arg = arg;
	aside.tid = mg_os_tid();
	aside.floor = mg_roots_self_floor_get();
	volatile char here = 0;
	aside.sp = aside.floor ? aside.floor : (uintptr_t)&here;
	aside.tp = (uintptr_t)pthread_self();
	aside.cpu = sched_getcpu();
	__atomic_store_n(&aside_done, 0, __ATOMIC_RELEASE);
	__atomic_fetch_or(&request, REQ_ASIDE, __ATOMIC_ACQ_REL);
	syscall(SYS_futex, &request, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	while (!__atomic_load_n(&aside_done, __ATOMIC_ACQUIRE))
		syscall(SYS_futex, &aside_done, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	(void)here;
	long r = aside.ret;
	int err = aside.err;
	pthread_mutex_unlock(&aside_lock);
	errno = r < 0 ? err : e;
	return r;
}

void mg_collect_own_thread(void)
{
	mg_roots_own_thread();
}

/* glibc calloc'd the new thread's DTV in pthread_create, through memgc's
 * malloc: it is memgc's, not the program's.  The TCB (at the pthread_t)
 * holds it in its second word, 16 bytes into the block; the creator
 * uncounts it before pthread_create's caller goes on, so the program never
 * sees it in its figures. */
void mg_collect_thread_created(pthread_t th)
{
#if defined(__x86_64__) && defined(__GLIBC__)
	uintptr_t dtv = ((const uintptr_t *)th)[1];
	mg_stats_sync_index();
	void *o = mg_index_find((void *)dtv);
	if (o)
		mg_heap_disown(o);
#endif
}

static bool spawn(pthread_t *th, void *(*main)(void *), size_t stack)
{
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, stack);
	int e = pthread_create(th, &a, main, NULL);
	pthread_attr_destroy(&a);
	if (e == 0)
		mg_collect_thread_created(*th);
	return e == 0;
}

/* Starts the collector thread and the keeper: at start-up and in a forked
 * child when gc=1, and when a collection is first asked for otherwise;
 * never inside malloc (glibc calls free with its stack-cache lock held,
 * and pthread_create takes that lock).  Failing, it says so once;
 * memgc_collect() works anyway, on the caller's thread. */
static void start_threads(bool any)
{
	if ((!any && !__atomic_load_n(&enabled, __ATOMIC_RELAXED)) ||
	    __atomic_load_n(&thread_state, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&start_lock);
	if (__atomic_load_n(&thread_state, __ATOMIC_ACQUIRE)) {
		pthread_mutex_unlock(&start_lock);
		return;
	}
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);   /* the threads start with all blocked */
	int e = errno;
	pthread_t keeper;
	if (spawn(&collector, collector_main, 256 * 1024)) {
		__atomic_store_n(&thread_state, 1, __ATOMIC_RELEASE);
		if (!spawn(&keeper, keeper_main, 64 * 1024))
			mg_log("cannot start the keeper thread: a program whose last thread "
			       "calls pthread_exit will not exit");
	} else {
		mg_log("cannot start the collector thread: no automatic collection "
		       "(memgc_collect() works)");
	}
	errno = e;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_mutex_unlock(&start_lock);
}

void mg_collect_start_thread(void)
{
	start_threads(false);
}

/* Inside malloc: posts a request, nothing more. */
void mg_collect_wake(void)
{
	if (!__atomic_load_n(&enabled, __ATOMIC_RELAXED) ||
	    !__atomic_load_n(&thread_state, __ATOMIC_RELAXED) ||
	    (__atomic_load_n(&request, __ATOMIC_RELAXED) & REQ_AUTO))
		return;
	if (!(__atomic_fetch_or(&request, REQ_AUTO, __ATOMIC_ACQ_REL) & REQ_AUTO))
		syscall(SYS_futex, &request, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* ---- the API's state ---- */

void mg_collect_init(void)
{
	enabled = mg_opt.gc;
	debug_flags = (int)mg_opt.gc_debug;
	mg_os_set_aside(run_aside);
}

bool mg_collect_enabled(void)
{
	return __atomic_load_n(&enabled, __ATOMIC_RELAXED);
}

/* memgc_enable/disable: from the program, never inside malloc, so the
 * thread a gc=0 start did not make can be started here. */
void mg_collect_enable(bool on)
{
	__atomic_store_n(&enabled, on, __ATOMIC_RELAXED);
	if (on)
		mg_collect_start_thread();
}

int mg_collect_debug(int set)
{
	if (set >= 0)
		__atomic_store_n(&debug_flags, set, __ATOMIC_RELAXED);
	return __atomic_load_n(&debug_flags, __ATOMIC_RELAXED);
}

int mg_collect_callback(memgc_callback fn, void *arg, bool add)
{
	int r = add ? ENOSPC : ENOENT;
	pthread_mutex_lock(&cb_lock);
	for (int i = 0; i < ncallbacks; i++)
		if (callbacks[i].fn == fn && callbacks[i].arg == arg) {
			if (add) {
				r = EEXIST;
			} else {
				callbacks[i] = callbacks[--ncallbacks];
				r = 0;
			}
			goto out;
		}
	if (add && ncallbacks < MAX_CALLBACKS) {
		callbacks[ncallbacks].fn = fn;
		callbacks[ncallbacks].arg = arg;
		ncallbacks++;
		r = 0;
	}
out:
	pthread_mutex_unlock(&cb_lock);
	return r;
}

long mg_collect_garbage(void **out, size_t n, bool clear)
{
	pthread_mutex_lock(&collect_lock);
	long total = (long)ngarbage;
	for (size_t i = 0; out && i < n && i < ngarbage; i++)
		out[i] = garbage[i];
	if (clear)
		ngarbage = 0;
	pthread_mutex_unlock(&collect_lock);
	return total;
}

long mg_collect_garbage_count(void)
{
	return (long)__atomic_load_n(&ngarbage, __ATOMIC_RELAXED);
}

/* freeze and unfreeze rewrite generations: with the world stopped. */
static void set_frozen(void *user, void *arg)
{
	unsigned gen = mg_hdr_gen(mg_hdr_of(user));
	long *n = arg;
	if (*n >= 0) {                  /* freeze */
		if (gen != MG_GEN_FROZEN)
			mg_hdr_set_gen(user, MG_GEN_FROZEN);
		(*n)++;
	} else if (gen == MG_GEN_FROZEN) {
		mg_hdr_set_gen(user, 2);
	}
}

static int freeze_stopped(struct mg_world *w, void *arg)
{
	(void)w;
	mg_stats_sync_index();
	mg_index_sweep_foreach(set_frozen, arg);
	return 0;
}

static long freeze_here(void *arg)
{
	bool freeze = *(bool *)arg;
	long n = freeze ? 0 : -1;
	pthread_mutex_lock(&collect_lock);
	int rc = mg_world_run(&world, freeze_stopped, &n);
	if (rc == 0)
		frozen_count = freeze ? n : 0;
	pthread_mutex_unlock(&collect_lock);
	if (rc) {
		errno = EAGAIN;
		return -1;
	}
	return 0;
}

int mg_collect_freeze(bool freeze)
{
	return (int)mg_os_collector(freeze_here, &freeze);
}

long mg_collect_freeze_count(void)
{
	return __atomic_load_n(&frozen_count, __ATOMIC_RELAXED);
}

/* ---- ignored objects: flagged in their header ---- */

static int nignored;

int mg_collect_ignore(void *user)
{
	struct mg_hdr *h = mg_hdr_of(user);
	__atomic_fetch_or(&h->info, (uint64_t)MG_FLAG_IGNORED << MG_HDR_FLAGS_SHIFT, __ATOMIC_RELAXED);
	__atomic_store_n(&nignored, 1, __ATOMIC_RELAXED);
	return 0;
}

bool mg_collect_has_ignored(void)
{
	return __atomic_load_n(&nignored, __ATOMIC_RELAXED);
}

/* ---- fork ---- */

void mg_collect_fork_prepare(void)
{
	mg_world_lock_stoppable(&collect_lock);
}

void mg_collect_fork_parent(void)
{
	pthread_mutex_unlock(&collect_lock);
}

/* The collector thread and the keeper are not in the child: the next
 * request starts them. */
void mg_collect_fork_child(void)
{
	pthread_mutex_init(&collect_lock, NULL);
	pthread_mutex_init(&cb_lock, NULL);
	pthread_mutex_init(&aside_lock, NULL);
	pthread_mutex_init(&start_lock, NULL);
	thread_state = 0;
	request = 0;
	aside_done = 0;
	keeper_go = 0;
	in_callback = 0;
}
