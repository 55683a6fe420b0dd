## tests/world/: the stop-the-world module (lib/world.c) on its own, a plain
## program (Criterion's worker has threads of its own, these tests count
## threads); each case runs in a forked child with an alarm.
check_PROGRAMS += tests/world/test_world
tests_world_test_world_SOURCES = tests/world/test_world.c
tests_world_test_world_LDADD = $(MG_CORE_LIBS) -ldl
tests_world_test_world_DEPENDENCIES = libmgcore.la libmgje.a
TESTS += tests/world/test_world
