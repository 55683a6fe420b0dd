/* test_sizeclass.c: mg_heap_usable_class agrees with jemalloc's nallocx, small to 64 MiB. */
#include "config.h"
#include <criterion/criterion.h>

#include "unit.h"

Test(sizeclass, every_size_to_70000)
{
	for (size_t n = 1; n <= 70000; n++) {
		size_t want = mg_je_nallocx(n, 0);
		size_t got = mg_heap_usable_class(n);
		if (got != want)
			cr_assert_fail("n=%zu: mg_heap_usable_class %zu, nallocx %zu", n, got, want);
	}
}

/* Around every class boundary from 64 KiB to 64 MiB, and a seeded sample. */
Test(sizeclass, large_sizes_to_64MiB)
{
	size_t checked = 0;
	for (size_t c = 65536; c <= ((size_t)64 << 20); c = mg_je_nallocx(c + 1, 0)) {
		for (size_t n = c - 2; n <= c + 2; n++) {
			cr_assert_eq(mg_heap_usable_class(n), mg_je_nallocx(n, 0), "n=%zu", n);
			checked++;
		}
	}
	uint64_t s = 0x9e3779b97f4a7c15;
	for (int i = 0; i < 20000; i++) {
		size_t n = 65536 + mg_test_rand(&s) % ((size_t)64 << 20);
		cr_assert_eq(mg_heap_usable_class(n), mg_je_nallocx(n, 0), "n=%zu", n);
	}
	cr_assert_eq(checked, 5 * 41, "class boundaries from 64 KiB to 64 MiB");
}

/* Exact values a reader can check against jemalloc's size class table. */
Test(sizeclass, known_classes)
{
	static const size_t v[][2] = {
		{ 1, 8 }, { 8, 8 }, { 9, 16 }, { 16, 16 }, { 17, 32 }, { 33, 48 },
		{ 65, 80 }, { 129, 160 }, { 257, 320 }, { 1025, 1280 }, { 14336, 14336 },
		{ 14337, 16384 }, { 16385, 20480 }, { 1048576, 1048576 },
		{ 1048577, 1310720 }, { (size_t)64 << 20, (size_t)64 << 20 },
		{ ((size_t)64 << 20) + 1, (size_t)80 << 20 },
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		cr_assert_eq(mg_heap_usable_class(v[i][0]), v[i][1], "n=%zu", v[i][0]);
}
