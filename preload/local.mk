## preload/: the interposer, libmemgc.so.
lib_LTLIBRARIES += libmemgc.la
libmemgc_la_SOURCES = preload/preload.h preload/init.c preload/interpose.c preload/api.c
libmemgc_la_CFLAGS = $(AM_CFLAGS) -fexceptions -fno-tree-slp-vectorize
libmemgc_la_LIBADD = libmgcore.la libmgje.a $(LIBUNWIND_LIBS) -lpthread -ldl -lm
libmemgc_la_DEPENDENCIES = libmgcore.la libmgje.a
libmemgc_la_LDFLAGS = -avoid-version -Wl,--exclude-libs,ALL \
	-Wl,--version-script=$(srcdir)/preload/libmemgc.map -Wl,-z,nodelete
EXTRA_DIST += preload/libmemgc.map
