/* test_sites.c: allocation sites (sites.c): interning, frames, overflow, symbols. */
#include "config.h"
#include <criterion/criterion.h>
#include <link.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

TestSuite(sites, .init = mg_test_init);

static uint32_t capture(void *ra)
{
	return mg_sites_capture(mg_stats_get(), ra);
}

Test(sites, depth1_one_id_per_return_address)
{
	cr_assert_eq(mg_sites_count(), 0);
	uint32_t a = capture((void *)0x401000);
	uint32_t b = capture((void *)0x401008);
	uint32_t c = capture((void *)0x7f0000123456);
	cr_assert_geq(a, 2);
	cr_assert_geq(b, 2);
	cr_assert_geq(c, 2);
	cr_assert_neq(a, b);
	cr_assert_neq(a, c);
	cr_assert_neq(b, c);
	cr_assert_eq(capture((void *)0x401000), a);
	cr_assert_eq(capture((void *)0x401008), b);
	cr_assert_eq(capture((void *)0x7f0000123456), c);
	cr_assert_eq(mg_sites_count(), 3);
	void *const *f;
	cr_assert_eq(mg_sites_frames(a, &f), 1);
	cr_assert_eq(f[0], (void *)0x401000);
	cr_assert_eq(mg_sites_frames(c, &f), 1);
	cr_assert_eq(f[0], (void *)0x7f0000123456);
	cr_assert_eq(mg_sites_frames(MG_SITE_UNKNOWN, &f), 0);
	cr_assert_eq(mg_sites_frames(MG_SITE_OVERFLOW, &f), 0);
	cr_assert_eq(mg_sites_frames(c + 1000, &f), 0);
	cr_assert_eq(mg_test_stats().sites, 3);
}

/* Many sites: every id is distinct and stable, past the per-thread cache
 * (MG_SITE_CACHE entries) and across threads' caches. */
static void *recapture(void *arg)
{
	uint32_t *ids = arg;
	for (uintptr_t i = 0; i < 5000; i++)
		if (capture((void *)(0x10000 + i * 16)) != ids[i])
			return (void *)1;
	return NULL;
}

Test(sites, many_sites_stable_ids)
{
	static uint32_t ids[5000];
	for (uintptr_t i = 0; i < 5000; i++) {
		ids[i] = capture((void *)(0x10000 + i * 16));
		cr_assert_eq(ids[i], 2 + i, "ids are handed out in order");
	}
	for (uintptr_t i = 0; i < 5000; i++)
		cr_assert_eq(capture((void *)(0x10000 + i * 16)), ids[i]);
	pthread_t th;
	void *r;
	cr_assert_eq(pthread_create(&th, NULL, recapture, ids), 0);
	pthread_join(th, &r);
	cr_assert_null(r, "another thread saw other ids");
	cr_assert_eq(mg_sites_count(), 5000);
}

static void stack8(void)
{
	mg_options_defaults();
	mg_opt.stack_depth = 8;
	mg_test_init_keep_options();
}

static __attribute__((noinline)) uint32_t capture_here(void **ra)
{
	*ra = __builtin_return_address(0);
	uint32_t id = capture(*ra);
	__asm__ volatile("" ::: "memory");   /* not a tail call */
	return id;
}

static __attribute__((noinline)) uint32_t outer(void **ra, void **ra_outer)
{
	*ra_outer = __builtin_return_address(0);
	uint32_t id = capture_here(ra);
	__asm__ volatile("" ::: "memory");
	return id;
}

Test(sites, deeper_stacks_start_at_the_return_address, .init = stack8)
{
	void *ra, *ra_outer;
	uint32_t id = outer(&ra, &ra_outer);
	cr_assert_geq(id, 2);
	void *const *f;
	int depth = mg_sites_frames(id, &f);
	cr_assert_geq(depth, 2, "depth %d", depth);
	cr_assert_leq(depth, 8);
	cr_assert_eq(f[0], ra, "the first frame is the given return address");
	cr_assert_eq(f[1], ra_outer, "then its caller's");
	/* The same stack again: the same id; another call path: another id. */
	uint32_t again[2];
	void *ras[2], *ras_outer[2];
	static volatile int reps = 2;   /* not unrolled: one call site */
	for (int k = 0; k < reps; k++)
		again[k] = outer(&ras[k], &ras_outer[k]);
	cr_assert_eq(ras[0], ras[1]);
	cr_assert_eq(ras_outer[0], ras_outer[1]);
	cr_assert_eq(again[0], again[1]);
	cr_assert_neq(again[0], id, "called from another line: another stack");
	void *ra2;
	uint32_t other = capture_here(&ra2);
	cr_assert_neq(other, id);
	cr_assert_neq(other, again[0]);
	cr_assert_geq(mg_sites_frames(other, &f), 2);
	cr_assert_eq(f[0], ra2);
	/* A return address not on the stack: a site of that frame alone. */
	uint32_t lone = capture((void *)0x1234560);
	cr_assert_eq(mg_sites_frames(lone, &f), 1);
	cr_assert_eq(f[0], (void *)0x1234560);
}

static void small_table(void)
{
	mg_options_defaults();
	mg_opt.max_sites = 16;
	mg_test_init_keep_options();
}

/* max_sites=16 keeps 16 distinct sites; the 17th and later are all
 * MG_SITE_OVERFLOW, and the kept ones keep their ids. */
Test(sites, overflow_beyond_max_sites, .init = small_table)
{
	uint32_t ids[16];
	for (uintptr_t i = 0; i < 16; i++) {
		ids[i] = capture((void *)(0x5000 + i * 8));
		cr_assert_geq(ids[i], 2, "site %zu of max_sites=16 was refused", (size_t)i);
	}
	cr_assert_eq(mg_sites_count(), 16);
	for (uintptr_t i = 16; i < 40; i++)
		cr_assert_eq(capture((void *)(0x5000 + i * 8)), MG_SITE_OVERFLOW, "site %zu", (size_t)i);
	cr_assert_eq(capture((void *)(0x5000 + 20 * 8)), MG_SITE_OVERFLOW, "again");
	for (uintptr_t i = 0; i < 16; i++)
		cr_assert_eq(capture((void *)(0x5000 + i * 8)), ids[i]);
	cr_assert_eq(mg_sites_count(), 16);
	void *const *f;
	cr_assert_eq(mg_sites_frames(MG_SITE_OVERFLOW, &f), 0);
}

/* Once full, the overflow id is never cached, so it is cheap to re-ask but
 * a kept site is still found first: mixed order. */
Test(sites, overflow_counts_only_kept_sites, .init = small_table)
{
	for (uintptr_t i = 0; i < 100; i++)
		capture((void *)(0x9000 + i * 8));
	cr_assert_eq(mg_test_stats().sites, 16);
}

/* ---- symbols ---- */

/* Exported (the test program links with -export-dynamic), so dladdr
 * names it. */
__attribute__((noinline, visibility("default"))) int mg_test_named_function(int x)
{
	__asm__ volatile("" ::: "memory");
	return x * 3 + 1;
}

/* Static: not a dynamic symbol, named from the program's .symtab. */
static __attribute__((noinline)) int static_function(int x)
{
	__asm__ volatile("" ::: "memory");
	return x * 5 + 2;
}

/* Data: inside the program, but in no function. */
static const char no_function_here[64] = "data";

static uintptr_t exe_base;
static int first_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size; (void)arg;
	exe_base = info->dlpi_addr;   /* the program itself comes first */
	return 1;
}

static void exe_path(char *buf, size_t n)
{
	ssize_t k = readlink("/proc/self/exe", buf, n - 1);
	cr_assert_gt(k, 0);
	buf[k] = '\0';
}

Test(sites, symbolize_names_a_function_of_the_program)
{
	cr_assert_eq(mg_test_named_function(1), 4);
	dl_iterate_phdr(first_module, NULL);
	char exe[4096], buf[8192], want[8192];
	exe_path(exe, sizeof exe);
	const char *ip = (const char *)(uintptr_t)mg_test_named_function + 5;
	mg_sites_symbolize(ip, buf, sizeof buf);
	snprintf(want, sizeof want, "mg_test_named_function+0x5 (%s+0x%zx)", exe,
		 (size_t)((uintptr_t)ip - exe_base));
	cr_assert_str_eq(buf, want);

	const char *fn, *mod;
	uintptr_t fo, mo;
	mg_sites_resolve(ip, &fn, &fo, &mod, &mo);
	cr_assert_str_eq(fn, "mg_test_named_function");
	cr_assert_eq(fo, 5);
	cr_assert_str_eq(mod, exe);
	cr_assert_eq(mo, (uintptr_t)ip - exe_base);
}

Test(sites, symbolize_names_a_static_function)
{
	cr_assert_eq(static_function(1), 7);
	dl_iterate_phdr(first_module, NULL);
	char exe[4096], buf[8192], want[8192];
	exe_path(exe, sizeof exe);
	const char *ip = (const char *)(uintptr_t)static_function + 3;
	mg_sites_symbolize(ip, buf, sizeof buf);
	snprintf(want, sizeof want, "static_function+0x3 (%s+0x%zx)", exe,
		 (size_t)((uintptr_t)ip - exe_base));
	cr_assert_str_eq(buf, want);
}

Test(sites, symbolize_without_a_symbol_is_module_plus_offset)
{
	dl_iterate_phdr(first_module, NULL);
	char exe[4096], buf[8192], want[8192];
	exe_path(exe, sizeof exe);
	const char *ip = no_function_here + 8;
	mg_sites_symbolize(ip, buf, sizeof buf);
	snprintf(want, sizeof want, "%s+0x%zx", exe, (size_t)((uintptr_t)ip - exe_base));
	cr_assert_str_eq(buf, want);
	/* Outside every module: "?+0x<address>". */
	mg_sites_symbolize((void *)0x10, buf, sizeof buf);
	cr_assert_str_eq(buf, "?+0x10");
	mg_sites_symbolize(NULL, buf, sizeof buf);
	cr_assert_str_eq(buf, "?+0x0");
}

Test(sites, symbolize_a_library_function)
{
	char buf[8192];
	const char *ip = (const char *)(uintptr_t)qsort + 1;
	mg_sites_symbolize(ip, buf, sizeof buf);
	cr_assert(strstr(buf, "+0x1 (") != NULL, "%s", buf);
	cr_assert(strstr(buf, "libc.so.6+0x") != NULL, "%s", buf);
	/* a small buffer is cut, never overrun */
	char small[8];
	memset(small, 'x', sizeof small);
	mg_sites_symbolize(ip, small, 6);
	cr_assert_eq(strlen(small), 5);
	cr_assert_eq(small[7], 'x');
}
