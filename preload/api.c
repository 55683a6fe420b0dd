/* api.c: the public memgc_* functions of include/memgc.h, exported.
 *
 * Each checks its arguments (EINVAL and -1 or NULL, never a crash) and
 * makes sure memgc is initialised, then asks lib/.
 */
#include "config.h"
#include <errno.h>

#include "header.h"
#include "preload.h"

/* memgc runs in this process; else false with errno ENOSYS. */
static bool active(void)
{
	if (mg_preload_ready())
		return true;
	errno = ENOSYS;
	return false;
}

MG_EXPORT const char *memgc_version(void)
{
	return PACKAGE_VERSION;
}

MG_EXPORT int memgc_get_heap_stats(struct memgc_heap_stats *st)
{
	if (!st) {
		errno = EINVAL;
		return -1;
	}
	if (!active())
		return -1;
	mg_stats_read(st);
	return 0;
}

MG_EXPORT int memgc_get_count(long counts[3])
{
	if (!counts) {
		errno = EINVAL;
		return -1;
	}
	if (!active())
		return -1;
	mg_stats_counts(counts);
	return 0;
}

MG_EXPORT int memgc_get_threshold(long t[3])
{
	if (!t) {
		errno = EINVAL;
		return -1;
	}
	if (!active())
		return -1;
	mg_stats_thresholds(t);
	return 0;
}

MG_EXPORT int memgc_set_threshold(long t0, long t1, long t2)
{
	if (t0 < 0 || t1 < 0 || t2 < 0) {
		errno = EINVAL;
		return -1;
	}
	if (!active())
		return -1;
	const long t[3] = { t0, t1, t2 };
	mg_stats_set_thresholds(t);
	return 0;
}

MG_EXPORT int memgc_is_live(const void *p)
{
	return mg_preload_ready() && mg_heap_readable(p) && mg_hdr_live(p);
}

MG_EXPORT void *memgc_find_object(const void *a)
{
	if (!mg_preload_ready())
		return NULL;
	mg_stats_sync_index();
	return mg_index_find(a);
}

MG_EXPORT size_t memgc_object_size(const void *p)
{
	if (!memgc_is_live(p)) {
		errno = EINVAL;
		return 0;
	}
	return mg_hdr_size(mg_hdr_of(p));
}

MG_EXPORT int memgc_trim(void)
{
	if (!active())
		return -1;
	int e = mg_heap_trim(NULL);
	if (e) {
		errno = e;
		return -1;
	}
	return 0;
}

MG_EXPORT int memgc_write_report(const char *path)
{
	if (!path || !*path) {
		errno = EINVAL;
		return -1;
	}
	if (!active())
		return -1;
	mg_busy = 1;
	int r = mg_report_json_path(path);
	mg_busy = 0;
	return r;
}

/* ---- the collector (the gc module's API) ---- */

static long collect_found(long gen)
{
	return mg_collect_found((int)gen);
}

MG_EXPORT long memgc_collect(int generation)
{
	if (generation == -1)
		generation = 2;
	if (generation < 0 || generation > 2) {
		errno = EINVAL;
		return -1;
	}
	if (!active())
		return -1;
	return mg_collect_as_caller(collect_found, generation);
}

MG_EXPORT void memgc_enable(void)
{
	if (mg_preload_ready())
		mg_collect_enable(true);
}

MG_EXPORT void memgc_disable(void)
{
	if (mg_preload_ready())
		mg_collect_enable(false);
}

MG_EXPORT int memgc_isenabled(void)
{
	return mg_preload_ready() && mg_collect_enabled();
}

MG_EXPORT int memgc_get_stats(struct memgc_gc_stats st[3])
{
	if (!st) {
		errno = EINVAL;
		return -1;
	}
	if (!active())
		return -1;
	mg_collect_stats(st);
	return 0;
}

MG_EXPORT int memgc_set_debug(int flags)
{
	if (flags & ~(MEMGC_DEBUG_STATS | MEMGC_DEBUG_LEAK)) {
		errno = EINVAL;
		return -1;
	}
	if (!active())
		return -1;
	mg_collect_debug(flags);
	return 0;
}

MG_EXPORT int memgc_get_debug(void)
{
	return mg_preload_ready() ? mg_collect_debug(-1) : 0;
}

/* A live object memgc handed out, whatever p is.  The header is the truth
 * (the index learns of new objects only when their thread's log drains). */
static bool live_object(const void *p)
{
	return mg_heap_readable(p) && mg_hdr_live(p);
}

struct objects {
	int gen;
	void **out;
	size_t n, count;
};

static int list_object(void *user, void *arg)
{
	struct objects *o = arg;
	unsigned g = mg_hdr_gen(mg_hdr_of(user));
	if (o->gen >= 0 && g != (unsigned)o->gen)
		return 0;
	if (o->count < o->n)
		o->out[o->count] = user;
	o->count++;
	return 0;
}

MG_EXPORT long memgc_get_objects(int generation, void **out, size_t n)
{
	if (generation < -1 || generation > 2 || (n && !out)) {
		errno = EINVAL;
		return -1;
	}
	if (!active())
		return -1;
	struct objects o = { generation, out, n, 0 };
	mg_stats_sync_index();
	mg_index_foreach(list_object, &o);
	return (long)o.count;
}

struct refs {
	const void *obj;
	uintptr_t lo, hi;       /* obj's bytes */
	void **out;
	size_t n, count;
};

static void ref_add(struct refs *r, void *p)
{
	if (r->count < r->n)
		r->out[r->count] = p;
	r->count++;
}

/* Does the object at user hold a pointer to (into) r->obj? */
static int referrer(void *user, void *arg)
{
	struct refs *r = arg;
	const uintptr_t *w = user;
	size_t words = mg_hdr_size(mg_hdr_of(user)) / sizeof *w;
	for (size_t i = 0; i < words; i++)
		if (w[i] == r->lo || (mg_opt.interior && w[i] - r->lo < r->hi - r->lo)) {
			ref_add(r, user);
			break;
		}
	return 0;
}

static bool refs_args(const void *obj, void **out, size_t n, struct refs *r)
{
	if ((n && !out) || !mg_preload_ready() || !live_object(obj)) {
		errno = EINVAL;
		return false;
	}
	uint64_t size = mg_hdr_size(mg_hdr_of(obj));
	*r = (struct refs){ obj, (uintptr_t)obj, (uintptr_t)obj + (size ? size : 1), out, n, 0 };
	mg_stats_sync_index();
	return true;
}

MG_EXPORT long memgc_get_referrers(const void *obj, void **out, size_t n)
{
	struct refs r;
	if (!refs_args(obj, out, n, &r))
		return -1;
	mg_index_foreach(referrer, &r);
	return (long)r.count;
}

MG_EXPORT long memgc_get_referents(const void *obj, void **out, size_t n)
{
	struct refs r;
	if (!refs_args(obj, out, n, &r))
		return -1;
	const uintptr_t *w = obj;
	size_t words = mg_hdr_size(mg_hdr_of(obj)) / sizeof *w;
	void *seen_last = NULL;
	for (size_t i = 0; i < words; i++) {
		void *t = mg_opt.interior ? mg_index_find((void *)w[i])
					  : (live_object((void *)w[i]) ? (void *)w[i] : NULL);
		if (t && t != seen_last) {
			ref_add(&r, t);
			seen_last = t;
		}
	}
	return (long)r.count;
}

MG_EXPORT int memgc_is_tracked(const void *p)
{
	return mg_preload_ready() && live_object(p) &&
	       !(mg_hdr_flags(mg_hdr_of(p)) & MG_FLAG_IGNORED);
}

MG_EXPORT void memgc_freeze(void)
{
	if (mg_preload_ready())
		mg_collect_freeze(true);
}

MG_EXPORT void memgc_unfreeze(void)
{
	if (mg_preload_ready())
		mg_collect_freeze(false);
}

MG_EXPORT long memgc_get_freeze_count(void)
{
	return mg_preload_ready() ? mg_collect_freeze_count() : 0;
}

static int callback(memgc_callback fn, void *arg, bool add)
{
	if (!fn) {
		errno = EINVAL;
		return -1;
	}
	if (!active())
		return -1;
	int e = mg_collect_callback(fn, arg, add);
	if (e) {
		errno = e;
		return -1;
	}
	return 0;
}

MG_EXPORT int memgc_callback_add(memgc_callback fn, void *arg)
{
	return callback(fn, arg, true);
}

MG_EXPORT int memgc_callback_remove(memgc_callback fn, void *arg)
{
	return callback(fn, arg, false);
}

MG_EXPORT int memgc_register_root(const void *start, size_t size)
{
	if (!start || !size || (uintptr_t)start + size < (uintptr_t)start) {
		errno = EINVAL;
		return -1;
	}
	if (!active())
		return -1;
	int e = mg_roots_register(start, size);
	if (e) {
		errno = e;
		return -1;
	}
	return 0;
}

MG_EXPORT int memgc_unregister_root(const void *start)
{
	if (!active())
		return -1;
	int e = mg_roots_unregister(start);
	if (e) {
		errno = e;
		return -1;
	}
	return 0;
}

MG_EXPORT int memgc_ignore(const void *p)
{
	if (!mg_preload_ready() || !live_object(p)) {
		errno = EINVAL;
		return -1;
	}
	return mg_collect_ignore((void *)p);
}

MG_EXPORT long memgc_get_garbage(void **out, size_t n)
{
	if (n && !out) {
		errno = EINVAL;
		return -1;
	}
	return mg_preload_ready() ? mg_collect_garbage(out, n, false) : 0;
}

MG_EXPORT long memgc_clear_garbage(void)
{
	return mg_preload_ready() ? mg_collect_garbage(NULL, 0, true) : 0;
}
