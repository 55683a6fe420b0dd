## cli/: the memgc command (run, check, report, demo) and the helper program
## memgc demo runs.  The command is an ordinary program: glibc's malloc, no
## libmemgc.so; it links lib/options.c and lib/log.c to read sizes and
## check -o options exactly as the preload does.
bin_PROGRAMS += memgc
memgc_SOURCES = cli/cli.h cli/memgc.c cli/run.c cli/check.c cli/report.c cli/demo.c \
	cli/spawn.c cli/procs.c cli/json.c cli/svg.c cli/units.c cli/paths.c \
	lib/options.c lib/log.c
nodist_memgc_SOURCES = cli/demo_py.h
memgc_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_builddir)/cli \
	-DMG_LIBDIR='"$(libdir)"' -DMG_PKGLIBEXECDIR='"$(pkglibexecdir)"' \
	-DMG_PYTHON3='"$(PYTHON3)"' -DMG_JEMALLOC_SO='"$(JEMALLOC_SO)"'
memgc_CFLAGS = $(AM_CFLAGS)
memgc_LDADD = -lm
BUILT_SOURCES += cli/demo_py.h
CLEANFILES += cli/demo_py.h
EXTRA_DIST += cli/demo.py

# demo.py as a C string, so the binary carries it wherever it is installed.
cli/demo_py.h: cli/demo.py
	$(AM_V_GEN)$(MKDIR_P) cli && { \
		echo '/* generated from cli/demo.py by cli/local.mk: do not edit */'; \
		echo 'static const char demo_py[] ='; \
		sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $(srcdir)/cli/demo.py; \
		echo ';'; } >$@.tmp && mv $@.tmp $@

# The C half of memgc demo: built as an ordinary program, installed where
# the memgc binary looks for it ($(pkglibexecdir)).
pkglibexec_PROGRAMS = cli/memgc-demo-cycle
cli_memgc_demo_cycle_SOURCES = cli/demo_cycle.c
cli_memgc_demo_cycle_CPPFLAGS =
cli_memgc_demo_cycle_CFLAGS = -std=gnu11 -O2 -Wall -Wextra -fno-omit-frame-pointer
cli_memgc_demo_cycle_LDADD = -ldl
