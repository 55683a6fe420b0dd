## tests/watch/: the kernel write watch (lib/watch.c) on its own, Criterion;
## each test runs in its own process with a fresh watch (some install a
## seccomp filter to play a kernel that refuses).
if HAVE_CRITERION
check_PROGRAMS += tests/watch/test_watch
tests_watch_test_watch_SOURCES = tests/watch/test_watch.c
tests_watch_test_watch_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_watch_test_watch_LDADD = $(MG_CORE_LIBS) $(CRITERION_LIBS)
tests_watch_test_watch_DEPENDENCIES = libmgcore.la libmgje.a
TESTS += tests/watch/test_watch
endif
