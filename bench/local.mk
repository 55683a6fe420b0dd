## bench/: memgc's allocation overhead against glibc, plain jemalloc,
## LeakSanitizer and heaptrack (bench/run.sh), its collections against
## LeakSanitizer's leak check and the Boehm collector (bench/collect.c), and
## the memory each allocator gives back to the kernel (bench/rss.sh), each
## measured in one run.  `make bench` builds the workloads and runs all
## three, `make bench-collect` and `make bench-rss` one each; nothing here is
## built or run by `make all` or `make check` (EXTRA_PROGRAMS are built on
## demand).
EXTRA_PROGRAMS = bench/alloc bench/rss
bench_alloc_SOURCES = bench/alloc.c
# The workload is the program under test, not memgc: plain flags, optimised.
bench_alloc_CPPFLAGS =
bench_alloc_CFLAGS = -std=gnu11 -O2 -Wall -Wextra -pthread
bench_alloc_LDADD = -lpthread
EXTRA_DIST += bench/run.sh bench/alloc.py bench/rss.sh bench/rss.py bench/lib.sh
# Like alloc.c: a program under test, plain flags.
bench_rss_SOURCES = bench/rss.c
bench_rss_CPPFLAGS =
bench_rss_CFLAGS = -std=gnu11 -O2 -Wall -Wextra
bench_rss_LDADD = -ldl

# BENCH_RUNS, BENCH_ONLY, ... pass through the environment (see run.sh
# and rss.sh; BENCH_ONLY names parts of one script, so `make bench` with it
# set is for one of them: run that script's target).
bench: all bench/alloc$(EXEEXT) bench/collect$(EXEEXT) bench/rss$(EXEEXT)
	MEMGC_LIB='$(abs_top_builddir)/.libs/libmemgc.so' \
	BENCH_ALLOC='$(abs_top_builddir)/bench/alloc$(EXEEXT)' \
	BENCH_PYTHON='$(PYTHON3)' \
	bash $(srcdir)/bench/run.sh
	$(MAKE) $(AM_MAKEFLAGS) bench-collect
	$(MAKE) $(AM_MAKEFLAGS) bench-rss

bench-rss: all bench/rss$(EXEEXT)
	MEMGC_LIB='$(abs_top_builddir)/.libs/libmemgc.so' \
	BENCH_RSS='$(abs_top_builddir)/bench/rss$(EXEEXT)' \
	BENCH_PYTHON='$(PYTHON3)' \
	bash $(srcdir)/bench/rss.sh
.PHONY: bench bench-rss

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

# Issue 5's young collections against heap size, up to a 4 GiB heap (memgc
# alone: one worker at a time, about 4.5 GiB of RSS at the largest), with
# the write watch and without; BENCH_YOUNG_SIZES overrides the sizes.
BENCH_YOUNG_SIZES = 100000 1000000 10000000 4G
bench-young: all bench/collect$(EXEEXT)
	MEMGC_LIB='$(abs_top_builddir)/.libs/libmemgc.so' \
	./bench/collect$(EXEEXT) -t memgc -N '$(BENCH_YOUNG_SIZES)' $(BENCH_COLLECT_FLAGS)
	MEMGC_LIB='$(abs_top_builddir)/.libs/libmemgc.so' \
	./bench/collect$(EXEEXT) -t memgc -N '$(BENCH_YOUNG_SIZES)' -o watch=off $(BENCH_COLLECT_FLAGS)
.PHONY: bench-collect bench-young

# The kernel write watch (lib/watch.c): the write fault and the scan's cost.
EXTRA_PROGRAMS += bench/watch
bench_watch_SOURCES = bench/watch.c
bench_watch_CFLAGS = $(AM_CFLAGS) -O2
bench_watch_LDADD = $(MG_CORE_LIBS)
bench_watch_DEPENDENCIES = libmgcore.la libmgje.a

bench-watch: bench/watch$(EXEEXT)
	./bench/watch$(EXEEXT)
.PHONY: bench-watch
