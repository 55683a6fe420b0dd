## tests/stress/: seeded, multi-threaded, forking; run under the preload.
check_PROGRAMS += tests/stress/stress
tests_stress_stress_SOURCES = tests/stress/stress.c
tests_stress_stress_LDADD = libmemgc.la -lpthread
TESTS += tests/stress/stress
