## tests/cli/: the memgc command, every verb and exit status, on real
## programs (figures.c, whose memory figures the tests choose; sh; make).
MG_CLI_TESTS = \
	tests/cli/usage.sh \
	tests/cli/run.sh \
	tests/cli/check.sh \
	tests/cli/procs.sh \
	tests/cli/report.sh \
	tests/cli/svg.sh \
	tests/cli/demo.sh
TESTS += $(MG_CLI_TESTS)
EXTRA_DIST += $(MG_CLI_TESTS) tests/cli/lib.sh

check_PROGRAMS += tests/cli/figures
tests_cli_figures_SOURCES = tests/cli/figures.c
tests_cli_figures_CPPFLAGS =
tests_cli_figures_CFLAGS = -std=gnu11 -O1 -Wall -Wextra -fno-omit-frame-pointer \
	-fvisibility=default
tests_cli_figures_LDFLAGS = -export-dynamic
