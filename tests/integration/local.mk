## tests/integration/: real programs run with and without the preload;
## lib.sh compares their stdout, stderr (less memgc's own lines) and exit
## status.  Each test is a shell script; the C and C++ programs some of
## them run are built here, without libmemgc.so: they reach memgc through
## weak symbols or dlsym, as any program may.
MG_INTEG_TESTS = \
	tests/integration/python.sh \
	tests/integration/python_regrtest.sh \
	tests/integration/perl.sh \
	tests/integration/sort.sh \
	tests/integration/gcc.sh \
	tests/integration/git.sh \
	tests/integration/sqlite.sh \
	tests/integration/cxx_threads.sh \
	tests/integration/edges.sh \
	tests/integration/double_free.sh \
	tests/integration/exit_report.sh \
	tests/integration/options.sh \
	tests/integration/fork_threads.sh \
	tests/integration/closefds.sh \
	tests/integration/signals.sh \
	tests/integration/timeline.sh \
	tests/integration/trim.sh
TESTS += $(MG_INTEG_TESTS)
EXTRA_DIST += $(MG_INTEG_TESTS) tests/integration/lib.sh \
	tests/integration/python_prog.py tests/integration/perl_prog.pl \
	tests/integration/gcc_prog.c tests/integration/sqlite.sql

check_PROGRAMS += tests/integration/edges tests/integration/misuse \
	tests/integration/fork_threads tests/integration/closefds \
	tests/integration/signals tests/integration/cxx_threads \
	tests/integration/trim

# -fvisibility=default and -export-dynamic: memgc names these programs'
# functions in its messages and reports (misuse.c's leak_here, ...).
MG_INTEG_C_FLAGS = $(AM_CFLAGS) -fvisibility=default -pthread
MG_INTEG_LD_FLAGS = -export-dynamic
MG_INTEG_LIBS = -lpthread

tests_integration_edges_SOURCES = tests/integration/edges.c
tests_integration_edges_CFLAGS = $(MG_INTEG_C_FLAGS)
tests_integration_edges_LDFLAGS = $(MG_INTEG_LD_FLAGS)
tests_integration_misuse_SOURCES = tests/integration/misuse.c
tests_integration_misuse_CFLAGS = $(MG_INTEG_C_FLAGS)
tests_integration_misuse_LDFLAGS = $(MG_INTEG_LD_FLAGS)
tests_integration_fork_threads_SOURCES = tests/integration/fork_threads.c
tests_integration_fork_threads_CFLAGS = $(MG_INTEG_C_FLAGS)
tests_integration_fork_threads_LDFLAGS = $(MG_INTEG_LD_FLAGS)
tests_integration_fork_threads_LDADD = $(MG_INTEG_LIBS)
tests_integration_closefds_SOURCES = tests/integration/closefds.c
tests_integration_closefds_CFLAGS = $(MG_INTEG_C_FLAGS)
tests_integration_closefds_LDFLAGS = $(MG_INTEG_LD_FLAGS)
tests_integration_closefds_LDADD = $(MG_INTEG_LIBS)
tests_integration_signals_SOURCES = tests/integration/signals.c
tests_integration_signals_CFLAGS = $(MG_INTEG_C_FLAGS)
tests_integration_signals_LDFLAGS = $(MG_INTEG_LD_FLAGS)
tests_integration_signals_LDADD = $(MG_INTEG_LIBS)
tests_integration_trim_SOURCES = tests/integration/trim.c
tests_integration_trim_CFLAGS = $(MG_INTEG_C_FLAGS)
tests_integration_trim_LDFLAGS = $(MG_INTEG_LD_FLAGS)
tests_integration_trim_LDADD = $(MG_INTEG_LIBS)
tests_integration_cxx_threads_SOURCES = tests/integration/cxx_threads.cc
tests_integration_cxx_threads_CXXFLAGS = -std=gnu++17 -Wall -Wextra -pthread \
	-fno-omit-frame-pointer
tests_integration_cxx_threads_LDFLAGS = $(MG_INTEG_LD_FLAGS)
tests_integration_cxx_threads_LDADD = $(MG_INTEG_LIBS) -ldl
