## tests/unit/: Criterion tests of the core (lib/), linked without the
## preload; each test runs in its own process with a fresh core.
if HAVE_CRITERION
check_PROGRAMS += tests/unit/unit
tests_unit_unit_SOURCES = tests/unit/unit.h tests/unit/util.c \
	tests/unit/test_header.c tests/unit/test_sizeclass.c \
	tests/unit/test_index.c tests/unit/test_heap.c tests/unit/test_stats.c \
	tests/unit/test_options.c tests/unit/test_sites.c \
	tests/unit/test_mark.c
# -fvisibility=default and -export-dynamic: the sites tests need dladdr to
# name functions of this program.
tests_unit_unit_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) -fvisibility=default
tests_unit_unit_LDFLAGS = -export-dynamic
tests_unit_unit_LDADD = $(MG_CORE_LIBS) $(CRITERION_LIBS)
tests_unit_unit_DEPENDENCIES = libmgcore.la libmgje.a
TESTS += tests/unit/unit
endif
