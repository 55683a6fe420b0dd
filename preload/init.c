/* init.c: memgc's start-up, fork handlers and exit report in a process.
 *
 * mg_state goes MG_UNINIT -> MG_INITIALISING -> MG_READY once, on the first
 * allocation or at load (the constructor), whichever comes first; if the
 * heap cannot be set up it ends in MG_PASSTHROUGH, where memgc serves
 * allocations from its private jemalloc without headers or accounting.
 * While one thread initialises, its own nested allocations get bootstrap
 * memory and other threads wait; initialisation never waits on them.
 */
#include "config.h"
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preload.h"
#include "world.h"

int mg_state = MG_UNINIT;
MG_TLS int mg_busy;
static MG_TLS int initialising;

/* Locks by rank (internal.h): no collection is in progress across fork. */
static void fork_prepare(void)
{
	mg_collect_fork_prepare();
	mg_stats_fork_prepare();
	mg_sites_fork_prepare();
	mg_heap_fork_prepare();
}

static void fork_parent(void)
{
	mg_heap_fork_parent();
	mg_sites_fork_parent();
	mg_stats_fork_parent();
	mg_collect_fork_parent();
}

static void fork_child(void)
{
	mg_world_home();
	mg_sites_fork_child();
	mg_stats_fork_child();
	mg_heap_fork_child();
	mg_roots_fork_child();
	mg_collect_fork_child();
	mg_collect_start_thread();
	mg_watch_fork_child();
	mg_control_fork_child();
	mg_timeline_fork_child();
}

int mg_preload_init(void)
{
	int s = __atomic_load_n(&mg_state, __ATOMIC_ACQUIRE);
	if (s == MG_READY || s == MG_PASSTHROUGH)
		return s;
	if (initialising)
		return MG_INITIALISING;
	int expect = MG_UNINIT;
	if (!__atomic_compare_exchange_n(&mg_state, &expect, MG_INITIALISING, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		while ((s = __atomic_load_n(&mg_state, __ATOMIC_ACQUIRE)) == MG_INITIALISING)
			sched_yield();
		return s;
	}
	int e = errno;
	initialising = 1;
	mg_options_defaults();
	mg_options_parse(getenv("MEMGC_OPTIONS"));
	s = MG_READY;
	if (mg_heap_init() || mg_sites_init()) {
		mg_log("running without accounting: allocations go straight to jemalloc");
		s = MG_PASSTHROUGH;
	} else {
		mg_world_home();
		mg_stats_init();
		mg_report_init();
		pthread_atfork(fork_prepare, fork_parent, fork_child);
		mg_collect_init();
	}
	initialising = 0;
	__atomic_store_n(&mg_state, s, __ATOMIC_RELEASE);
	if (mg_opt.help)
		mg_options_help(STDERR_FILENO);
	errno = e;
	return s;
}

__attribute__((constructor(101))) static void mg_preload_ctor(void)
{
	/* threads of memgc's own start here, never inside a first malloc */
	if (mg_preload_init() == MG_READY) {
		mg_collect_start_thread();
		mg_control_start();
		mg_timeline_start();
	}
}

static long leak_check(long unused)
{
	(void)unused;
	return (long)mg_collect_leak_check();
}

__attribute__((destructor(101))) static void mg_preload_dtor(void)
{
	if (__atomic_load_n(&mg_state, __ATOMIC_ACQUIRE) != MG_READY)
		return;
	mg_busy = 1;
	const struct mg_leaks *l = mg_opt.leak_check
		? (const struct mg_leaks *)mg_collect_as_caller(leak_check, 0) : NULL;
	mg_report_at_exit();
	mg_control_exit();
	mg_busy = 0;
	if (l && l->objects && mg_opt.exitcode) {
		/* failing a run for leaks that nobody was shown would help no one */
		if (!strcmp(mg_opt.summary, "none"))
			mg_report_text(STDERR_FILENO);
		fflush(NULL);      /* the program's buffered output still goes out */
		_exit((int)mg_opt.exitcode);
	}
}
