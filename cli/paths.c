/* paths.c: where the memgc command finds libmemgc.so and its helpers.
 *
 * In order: for the library only, $MEMGC_LIB (then the only place looked
 * at); then the build tree when this binary is the one `make` built
 * (at the top of the tree or in cli/: the library in the top's .libs/,
 * helpers in cli/), then
 * the installed place configure chose ($(libdir), $(pkglibexecdir)).  So a
 * built but not installed memgc runs with its own library, and an
 * installed one never picks up a stray build.
 */
#include "config.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "where.h"

/* The directory of this binary, with a trailing '/', or "" if unknown. */
static void self_dir(char *buf, size_t n)
{
	ssize_t k = readlink("/proc/self/exe", buf, n - 1);
	buf[k > 0 ? k : 0] = '\0';
	char *slash = strrchr(buf, '/');
	if (slash)
		slash[1] = '\0';
	else
		buf[0] = '\0';
}

/* Tries each candidate in turn; on failure buf lists them for a message. */
static int first_of(const char *const *cand, int ncand, char *buf, size_t n)
{
	for (int i = 0; i < ncand; i++)
		if (cand[i] && cand[i][0] && access(cand[i], R_OK) == 0) {
			snprintf(buf, n, "%s", cand[i]);
			return 0;
		}
	size_t len = 0;
	buf[0] = '\0';
	for (int i = 0; i < ncand && len < n; i++)
		if (cand[i] && cand[i][0])
			len += (size_t)snprintf(buf + len, n - len, "%s%s", len ? ", " : "", cand[i]);
	return -1;
}

/* The build tree: this binary at its top or in cli/. */
int mg_paths_library(char *buf, size_t n)
{
	char dir[PATH_MAX], top[PATH_MAX + 32], sub[PATH_MAX + 32];
	self_dir(dir, sizeof dir);
	snprintf(top, sizeof top, "%s.libs/libmemgc.so", dir);
	snprintf(sub, sizeof sub, "%s../.libs/libmemgc.so", dir);
	const char *cand[] = { getenv("MEMGC_LIB"), dir[0] ? top : NULL, dir[0] ? sub : NULL,
			       MG_LIBDIR "/libmemgc.so" };
	/* MEMGC_LIB, when set, is the only place looked at */
	return first_of(cand, getenv("MEMGC_LIB") ? 1 : 4, buf, n);
}

int mg_paths_libexec(const char *name, char *buf, size_t n)
{
	char dir[PATH_MAX], top[PATH_MAX + 64], sub[PATH_MAX + 64], inst[PATH_MAX];
	self_dir(dir, sizeof dir);
	snprintf(top, sizeof top, "%scli/%s", dir, name);
	snprintf(sub, sizeof sub, "%s%s", dir, name);
	snprintf(inst, sizeof inst, "%s/%s", MG_PKGLIBEXECDIR, name);
	const char *cand[] = { dir[0] ? top : NULL, dir[0] ? sub : NULL, inst };
	return first_of(cand, 3, buf, n);
}
