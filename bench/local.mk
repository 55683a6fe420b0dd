## bench/: memgc's allocation overhead against glibc, plain jemalloc,
## LeakSanitizer and heaptrack, measured in one run (bench/run.sh says how).
## `make bench` builds the workload and runs it; nothing here is built or
## run by `make all` or `make check` (EXTRA_PROGRAMS are built on demand).
EXTRA_PROGRAMS = bench/alloc
bench_alloc_SOURCES = bench/alloc.c
# The workload is the program under test, not memgc: plain flags, optimised.
bench_alloc_CPPFLAGS =
bench_alloc_CFLAGS = -std=gnu11 -O2 -Wall -Wextra -pthread
bench_alloc_LDADD = -lpthread
EXTRA_DIST += bench/run.sh bench/alloc.py

# BENCH_RUNS, BENCH_ONLY, ... pass through the environment (see run.sh).
bench: all bench/alloc$(EXEEXT)
	MEMGC_LIB='$(abs_top_builddir)/.libs/libmemgc.so' \
	BENCH_ALLOC='$(abs_top_builddir)/bench/alloc$(EXEEXT)' \
	BENCH_PYTHON='$(PYTHON3)' \
	bash $(srcdir)/bench/run.sh
.PHONY: bench

# The kernel write watch (lib/watch.c): the write fault and the scan's cost.
EXTRA_PROGRAMS += bench/watch
bench_watch_SOURCES = bench/watch.c
bench_watch_CFLAGS = $(AM_CFLAGS) -O2
bench_watch_LDADD = $(MG_CORE_LIBS)
bench_watch_DEPENDENCIES = libmgcore.la libmgje.a

bench-watch: bench/watch$(EXEEXT)
	./bench/watch$(EXEEXT)
.PHONY: bench-watch
