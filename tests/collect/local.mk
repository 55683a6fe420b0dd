## tests/collect/: the collector on real programs under the preload: one
## test per kind of root (account and reclaim), leaks with known truth, and
## a reclaim stress test.  The programs are built without libmemgc.so and
## reach it through weak symbols.
MG_COLLECT_TESTS = tests/collect/roots.sh tests/collect/leaks.sh tests/collect/stress.sh \
	tests/collect/programs.sh tests/collect/exec.sh tests/collect/vfork.sh \
	tests/collect/churn.sh tests/collect/young.sh tests/collect/forkmask.sh tests/collect/fdholes.sh \
	tests/collect/promote.sh
TESTS += $(MG_COLLECT_TESTS)
EXTRA_DIST += $(MG_COLLECT_TESTS) tests/collect/lastthread.py tests/collect/churn.py

check_PROGRAMS += tests/collect/roots tests/collect/leaks tests/collect/shared_cycle \
	tests/collect/gcstress tests/collect/execchain tests/collect/vforkexec \
	tests/collect/young tests/collect/forkmask tests/collect/fdholes tests/collect/promote \
	tests/collect/bigyoung
check_LTLIBRARIES += tests/collect/rootlib.la
tests_collect_rootlib_la_SOURCES = tests/collect/rootlib.c
tests_collect_rootlib_la_LDFLAGS = -module -avoid-version -rpath /nowhere
tests_collect_rootlib_la_CFLAGS = $(AM_CFLAGS) -fvisibility=default

tests_collect_roots_SOURCES = tests/collect/roots.c
tests_collect_roots_CFLAGS = $(MG_INTEG_C_FLAGS)
tests_collect_roots_LDFLAGS = $(MG_INTEG_LD_FLAGS)
tests_collect_roots_LDADD = $(MG_INTEG_LIBS) -ldl
# -O1 at most, and noipa in the source: the leaks must really be made
tests_collect_leaks_SOURCES = tests/collect/leaks.c
tests_collect_leaks_CFLAGS = $(MG_INTEG_C_FLAGS)
tests_collect_leaks_LDFLAGS = $(MG_INTEG_LD_FLAGS)
tests_collect_shared_cycle_SOURCES = tests/collect/shared_cycle.cc
tests_collect_shared_cycle_CXXFLAGS = -std=gnu++17 -Wall -Wextra
tests_collect_shared_cycle_LDFLAGS = $(MG_INTEG_LD_FLAGS)
tests_collect_gcstress_SOURCES = tests/collect/gcstress.c
tests_collect_gcstress_CFLAGS = $(MG_INTEG_C_FLAGS)
tests_collect_gcstress_LDFLAGS = $(MG_INTEG_LD_FLAGS)
tests_collect_gcstress_LDADD = $(MG_INTEG_LIBS)
tests_collect_young_SOURCES = tests/collect/young.c
tests_collect_young_CFLAGS = $(MG_INTEG_C_FLAGS)
tests_collect_young_LDFLAGS = $(MG_INTEG_LD_FLAGS)
tests_collect_young_LDADD = $(MG_INTEG_LIBS)
tests_collect_execchain_SOURCES = tests/collect/execchain.c
tests_collect_execchain_CFLAGS = $(MG_INTEG_C_FLAGS)
tests_collect_execchain_LDADD = $(MG_INTEG_LIBS)
tests_collect_vforkexec_SOURCES = tests/collect/vforkexec.c
tests_collect_vforkexec_CFLAGS = $(MG_INTEG_C_FLAGS)
tests_collect_vforkexec_LDADD = $(MG_INTEG_LIBS)
tests_collect_forkmask_SOURCES = tests/collect/forkmask.c
tests_collect_forkmask_CFLAGS = $(MG_INTEG_C_FLAGS)
tests_collect_forkmask_LDADD = $(MG_INTEG_LIBS)
tests_collect_fdholes_SOURCES = tests/collect/fdholes.c
tests_collect_fdholes_CFLAGS = $(MG_INTEG_C_FLAGS)
tests_collect_fdholes_LDADD = $(MG_INTEG_LIBS)
tests_collect_promote_SOURCES = tests/collect/promote.c
tests_collect_promote_CFLAGS = $(MG_INTEG_C_FLAGS)
tests_collect_promote_LDADD = $(MG_INTEG_LIBS)
tests_collect_bigyoung_SOURCES = tests/collect/bigyoung.c
tests_collect_bigyoung_CFLAGS = $(MG_INTEG_C_FLAGS)
tests_collect_bigyoung_LDADD = $(MG_INTEG_LIBS)
