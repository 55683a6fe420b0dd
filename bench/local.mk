## bench/: memgc's allocation overhead against glibc, plain jemalloc,
## LeakSanitizer and heaptrack, measured in one run (bench/run.sh says how),
## and its collections against LeakSanitizer's leak check and the Boehm
## collector (bench/collect.c).  `make bench` builds the workloads and runs
## both; nothing here is built or run by `make all` or `make check`
## (EXTRA_PROGRAMS are built on demand).
EXTRA_PROGRAMS = bench/alloc
bench_alloc_SOURCES = bench/alloc.c
# The workload is the program under test, not memgc: plain flags, optimised.
bench_alloc_CPPFLAGS =
bench_alloc_CFLAGS = -std=gnu11 -O2 -Wall -Wextra -pthread
bench_alloc_LDADD = -lpthread
EXTRA_DIST += bench/run.sh bench/alloc.py

# BENCH_RUNS, BENCH_ONLY, ... pass through the environment (see run.sh).
bench: all bench/alloc$(EXEEXT) bench/collect$(EXEEXT)
	MEMGC_LIB='$(abs_top_builddir)/.libs/libmemgc.so' \
	BENCH_ALLOC='$(abs_top_builddir)/bench/alloc$(EXEEXT)' \
	BENCH_PYTHON='$(PYTHON3)' \
	bash $(srcdir)/bench/run.sh
	$(MAKE) $(AM_MAKEFLAGS) bench-collect
.PHONY: bench

# Collection pause and mark throughput (bench/collect.c says what and how):
# one program, run under the memgc preload, under LeakSanitizer's and with
# the Boehm collector dlopen'd.  BENCH_SIZES, BENCH_RUNS and BENCH_STRICT
# pass through the environment; BENCH_COLLECT_FLAGS holds its options.
EXTRA_PROGRAMS += bench/collect
bench_collect_SOURCES = bench/collect.c
bench_collect_CPPFLAGS = -I$(top_srcdir)/include
bench_collect_CFLAGS = -std=gnu11 -O2 -Wall -Wextra
bench_collect_LDADD = -ldl

bench-collect: all bench/collect$(EXEEXT)
	MEMGC_LIB='$(abs_top_builddir)/.libs/libmemgc.so' \
	./bench/collect$(EXEEXT) $(BENCH_COLLECT_FLAGS)
.PHONY: bench-collect

# The kernel write watch (lib/watch.c): the write fault and the scan's cost.
EXTRA_PROGRAMS += bench/watch
bench_watch_SOURCES = bench/watch.c
bench_watch_CFLAGS = $(AM_CFLAGS) -O2
bench_watch_LDADD = $(MG_CORE_LIBS)
bench_watch_DEPENDENCIES = libmgcore.la libmgje.a

bench-watch: bench/watch$(EXEEXT)
	./bench/watch$(EXEEXT)
.PHONY: bench-watch
