## cli/: the memgc command.  An ordinary program (glibc malloc, stdio);
## lib/options.c and lib/log.c are linked in for sizes and option names.
bin_PROGRAMS += cli/memgc
cli_memgc_SOURCES = cli/cli.h cli/memgc.c cli/json.c cli/units.c cli/client.c \
	lib/options.c lib/log.c
cli_memgc_CFLAGS = $(AM_CFLAGS)
