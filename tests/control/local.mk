## tests/control/: the control socket (lib/control.c) and the memgc stats
## and memgc collect verbs (cli/client.c), from outside, against target.c
## run under the preload; and the request parser (lib/request.c) fuzzed:
## `make check` replays tests/control/corpus, `make fuzz-control` fuzzes.
MG_CONTROL_TESTS = \
	tests/control/stats.sh \
	tests/control/errors.sh \
	tests/control/protocol.sh \
	tests/control/fork.sh \
	tests/control/refused.sh
TESTS += $(MG_CONTROL_TESTS)
EXTRA_DIST += $(MG_CONTROL_TESTS) tests/control/ctl.sh tests/control/protocol.py

check_PROGRAMS += tests/control/target
tests_control_target_SOURCES = tests/control/target.c
tests_control_target_CFLAGS = $(AM_CFLAGS)
tests_control_target_LDADD = -ldl

check_PROGRAMS += tests/control/request-replay
tests_control_request_replay_SOURCES = tests/control/fuzz_request.c tests/fuzz/replay.c \
	lib/request.c
tests_control_request_replay_CPPFLAGS = $(AM_CPPFLAGS) -DMG_FUZZ_CORPUS='"tests/control/corpus"'
tests_control_request_replay_CFLAGS = $(AM_CFLAGS)
TESTS += tests/control/request-replay
EXTRA_DIST += tests/control/corpus

FUZZ_CONTROL_SRCS = $(srcdir)/tests/control/fuzz_request.c $(srcdir)/lib/request.c

tests/control/fuzz-request: $(FUZZ_CONTROL_SRCS) $(srcdir)/lib/internal.h config.h
	@$(MKDIR_P) tests/control
	$(AM_V_CCLD)$(FUZZ_CC) $(FUZZ_CFLAGS) -std=gnu11 $(AM_CPPFLAGS) -o $@ $(FUZZ_CONTROL_SRCS)

# As `make fuzz` for the options: new inputs to tests/control/corpus-new in
# the build tree, crashes to tests/control/crash-*; the seed corpus is only
# read.  FUZZ_SECONDS (60) as there.
fuzz-control: tests/control/fuzz-request
	@$(MKDIR_P) tests/control/corpus-new
	./tests/control/fuzz-request $(FUZZ_ARGS) -max_len=9000 -max_total_time=$(FUZZ_SECONDS) \
		-artifact_prefix=tests/control/ tests/control/corpus-new $(srcdir)/tests/control/corpus
.PHONY: fuzz-control
CLEANFILES += tests/control/fuzz-request

clean-local: clean-fuzz-control
clean-fuzz-control:
	-rm -rf tests/control/corpus-new tests/control/crash-* tests/control/leak-* \
		tests/control/timeout-*
.PHONY: clean-fuzz-control
