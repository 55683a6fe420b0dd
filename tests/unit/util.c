/* util.c: the helpers of unit.h (core set-up per test, stderr capture). */
#include "config.h"
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "unit.h"

void mg_test_init_keep_options(void)
{
	cr_assert_eq(mg_heap_init(), 0, "mg_heap_init failed");
	cr_assert_eq(mg_sites_init(), 0, "mg_sites_init failed");
	mg_stats_init();
}

void mg_test_init(void)
{
	mg_options_defaults();
	mg_test_init_keep_options();
}

static int cap_fd = -1, saved_fd = -1;

void mg_test_stderr_begin(void)
{
	cap_fd = memfd_create("mg-stderr", 0);
	cr_assert_geq(cap_fd, 0, "memfd_create: %s", strerror(errno));
	saved_fd = dup(STDERR_FILENO);
	cr_assert_geq(saved_fd, 0);
	cr_assert_geq(dup2(cap_fd, STDERR_FILENO), 0);
}

size_t mg_test_stderr_end(char *buf, size_t n)
{
	dup2(saved_fd, STDERR_FILENO);
	close(saved_fd);
	ssize_t r = pread(cap_fd, buf, n - 1, 0);
	close(cap_fd);
	cap_fd = saved_fd = -1;
	size_t len = r > 0 ? (size_t)r : 0;
	buf[len] = '\0';
	return len;
}

size_t mg_test_lines(const char *s)
{
	size_t k = 0;
	for (; *s; s++)
		k += *s == '\n';
	return k;
}

struct memgc_heap_stats mg_test_stats(void)
{
	struct memgc_heap_stats st;
	mg_stats_read(&st);
	return st;
}

size_t mg_test_usable(size_t n)
{
	return mg_je_nallocx((n ? n : 1) + MG_HDR, 0) - MG_HDR;
}
