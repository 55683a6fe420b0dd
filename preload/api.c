/* api.c: the public memgc_* functions of include/memgc.h, exported.
 *
 * Each checks its arguments (EINVAL and -1 or NULL, never a crash) and
 * makes sure memgc is initialised, then asks lib/.
 */
#include "config.h"
#include <errno.h>

#include "header.h"
#include "preload.h"

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
	if (!mg_preload_ready()) {
		errno = ENOSYS;
		return -1;
	}
	mg_stats_read(st);
	return 0;
}

MG_EXPORT int memgc_get_count(long counts[3])
{
	if (!counts) {
		errno = EINVAL;
		return -1;
	}
	if (!mg_preload_ready()) {
		errno = ENOSYS;
		return -1;
	}
	mg_stats_counts(counts);
	return 0;
}

MG_EXPORT int memgc_get_threshold(long t[3])
{
	if (!t) {
		errno = EINVAL;
		return -1;
	}
	if (!mg_preload_ready()) {
		errno = ENOSYS;
		return -1;
	}
	mg_stats_thresholds(t);
	return 0;
}

MG_EXPORT int memgc_set_threshold(long t0, long t1, long t2)
{
	if (t0 < 0 || t1 < 0 || t2 < 0) {
		errno = EINVAL;
		return -1;
	}
	if (!mg_preload_ready()) {
		errno = ENOSYS;
		return -1;
	}
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
	if (!mg_preload_ready()) {
		errno = ENOSYS;
		return -1;
	}
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
	if (!mg_preload_ready()) {
		errno = ENOSYS;
		return -1;
	}
	mg_busy = 1;
	int r = mg_report_json_path(path);
	mg_busy = 0;
	return r;
}
