## lib/: the core, no symbol interposition.
noinst_LTLIBRARIES += libmgcore.la
libmgcore_la_SOURCES = lib/internal.h lib/header.h lib/heap.h lib/stats.h lib/je.h \
	lib/mark.c lib/roots.c lib/cycles.c lib/collect.c \
	lib/os.c lib/log.c lib/options.c lib/index.c lib/heap.c lib/stats.c \
	lib/sites.c lib/symtab.c lib/report.c lib/timeline.c lib/world.c lib/world.h \
	lib/watch.c lib/young.c lib/request.c lib/control.c lib/purge.c
