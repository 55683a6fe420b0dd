/* timeline.c: the process's RSS and live bytes over time, for charts.
 *
 * With option timeline=MS (MS > 0) a memgc thread, "memgc-timeline", takes
 * a sample every MS milliseconds: the time since start-up, the resident set,
 * the live bytes and the collections of each generation so far.  The report writes the samples as "timeline"; the
 * chart of `memgc report --svg` is drawn from them.
 *
 * Invariants:
 *   ring      CAP samples in memory from mg_os_map (never the object arenas,
 *             never malloc: the thread allocates nothing after it starts);
 *   written   samples ever stored; ring[i % CAP] holds sample i, so the ring
 *             holds samples max(0, written - CAP) .. written - 1, oldest
 *             dropped first;
 *   state     IDLE, or SAMPLING while the thread stores one sample, or
 *             FROZEN while a reader copies the ring out.  Each side takes
 *             the ring only from IDLE (compare-and-swap): the thread skips a
 *             sample rather than wait, a reader waits at most one sample.
 * The thread blocks every signal but stop_signal, so no handler of the
 * program ever runs on it and a stopped world still stops it; it is one of
 * memgc's own (mg_collect_own_thread): its stack is never a root.  A forked
 * child starts an empty timeline with a thread of its own.
 */
#include "config.h"
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define CAP 16384u

enum { IDLE, SAMPLING, FROZEN };

struct sample {
	uint64_t t_ms, rss, live;
	uint64_t collections[3];
};

static struct sample *ring;
static uint64_t written;
static int state;
static struct timespec t0;
static bool running;

static uint64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	int64_t ms = (int64_t)(t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
	return ms > 0 ? (uint64_t)ms : 0;
}

/* Stores one sample; the caller holds the ring (SAMPLING or FROZEN). */
static void store_locked(void)
{
	struct memgc_heap_stats st;
	mg_stats_read(&st);
	uint64_t n = __atomic_load_n(&written, __ATOMIC_RELAXED);
	struct sample *s = &ring[n % CAP];
	s->t_ms = now_ms();
	s->rss = st.rss_bytes;
	s->live = st.live_bytes;
	struct memgc_gc_stats gs[3];
	mg_collect_stats(gs);
	for (int g = 0; g < 3; g++)
		s->collections[g] = gs[g].collections;
	__atomic_store_n(&written, n + 1, __ATOMIC_RELEASE);
}

static void *sampler(void *arg)
{
	mg_collect_own_thread();
	mg_os_own_table();             /* its /proc reads take no number of the program's */
	struct timespec next;
	long ms = mg_opt.timeline;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		int idle = IDLE;
		if (__atomic_compare_exchange_n(&state, &idle, SAMPLING, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED)) {
			store_locked();
			__atomic_store_n(&state, IDLE, __ATOMIC_RELEASE);
		}
		next.tv_sec += ms / 1000;
		next.tv_nsec += (ms % 1000) * 1000000;
		if (next.tv_nsec >= 1000000000) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000;
		}
		/* absolute time: a stop signal (EINTR) costs no drift */
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
	}
	return NULL;
}

/* Starts the thread with every signal but stop_signal blocked from birth. */
static void start_thread(void)
{
	sigset_t all, old;
	pthread_t th;
	pthread_attr_t attr;
	sigfillset(&all);
	sigdelset(&all, (int)mg_opt.stop_signal);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	int e = pthread_create(&th, &attr, sampler, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e) {
		mg_log("timeline: cannot start the sampling thread: %s; no timeline", strerror(e));
		return;
	}
	pthread_setname_np(th, "memgc-timeline");
	running = true;
}

void mg_timeline_start(void)
{
	if (mg_opt.timeline <= 0 || running)
		return;
	if (!ring && !(ring = mg_os_map(CAP * sizeof *ring))) {
		mg_log("timeline: cannot map %zu bytes for the samples; no timeline",
		       (size_t)CAP * sizeof *ring);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	start_thread();
}

void mg_timeline_fork_child(void)
{
	if (!running)
		return;
	running = false;
	written = 0;
	state = IDLE;    /* the parent's thread may have held it: it is gone */
	mg_timeline_start();
}

void mg_timeline_json(struct mg_out *o)
{
	if (!running)
		return;
	int idle = IDLE;
	while (!__atomic_compare_exchange_n(&state, &idle, FROZEN, false, __ATOMIC_ACQUIRE,
					    __ATOMIC_RELAXED)) {
		idle = IDLE;
		sched_yield();
	}
	store_locked();    /* the timeline ends when the report is written */
	uint64_t n = __atomic_load_n(&written, __ATOMIC_ACQUIRE);
	uint64_t first = n > CAP ? n - CAP : 0;
	mg_out_printf(o, ",\n \"timeline\": [");
	for (uint64_t i = first; i < n; i++) {
		const struct sample *s = &ring[i % CAP];
		mg_out_printf(o, "%s{\"t_ms\": %llu, \"rss_bytes\": %llu, \"live_bytes\": %llu, "
			      "\"collections\": [%llu, %llu, %llu]}",
			      i == first ? "" : (i - first) % 2 ? ", " : ",\n  ",
			      (unsigned long long)s->t_ms, (unsigned long long)s->rss,
			      (unsigned long long)s->live, (unsigned long long)s->collections[0],
			      (unsigned long long)s->collections[1], (unsigned long long)s->collections[2]);
	}
	mg_out_printf(o, "]");
	__atomic_store_n(&state, IDLE, __ATOMIC_RELEASE);
}
