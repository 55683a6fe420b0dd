## tests/: unit (Criterion, internals), integration (real programs under the
## preload), stress (seeded, threaded), fuzz (the options parser).
AM_TESTS_ENVIRONMENT = \
	MEMGC_LIB='$(abs_top_builddir)/.libs/libmemgc.so'; export MEMGC_LIB; \
	MEMGC_SRCDIR='$(abs_top_srcdir)'; export MEMGC_SRCDIR; \
	MEMGC_BUILDDIR='$(abs_top_builddir)'; export MEMGC_BUILDDIR; \
	PYTHON3='$(PYTHON3)'; export PYTHON3;
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)
EXTRA_DIST += examples/alloc_heavy.py scripts/setup.sh

include tests/unit/local.mk
include tests/integration/local.mk
include tests/stress/local.mk
include tests/fuzz/local.mk
include tests/docs/local.mk
include tests/world/local.mk
include tests/collect/local.mk
include tests/watch/local.mk

# The quick start's main job until the RSS demo exists: an allocation-heavy
# python3 under the preload, with memgc's exit report.
demo: all
	PYTHONMALLOC=malloc MEMGC_OPTIONS=summary=stderr:stack_depth=1 \
	LD_PRELOAD='$(abs_top_builddir)/.libs/libmemgc.so' \
	$(PYTHON3) $(srcdir)/examples/alloc_heavy.py
.PHONY: demo
