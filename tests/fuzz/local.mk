## tests/fuzz/: the options parser under libFuzzer.  `make check` replays
## the seed corpus through the same harness (normal compiler, no libFuzzer);
## `make fuzz` builds it with clang and fuzzes for FUZZ_SECONDS.
check_PROGRAMS += tests/fuzz/options-replay
tests_fuzz_options_replay_SOURCES = tests/fuzz/fuzz_options.c tests/fuzz/replay.c \
	lib/options.c lib/log.c
tests_fuzz_options_replay_CFLAGS = $(AM_CFLAGS)
TESTS += tests/fuzz/options-replay
EXTRA_DIST += tests/fuzz/corpus

FUZZ_CC = clang
FUZZ_SECONDS = 60
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_ARGS = -max_len=4096 -print_final_stats=1
FUZZ_SRCS = $(srcdir)/tests/fuzz/fuzz_options.c $(srcdir)/lib/options.c $(srcdir)/lib/log.c

tests/fuzz/fuzz-options: $(FUZZ_SRCS) $(srcdir)/lib/internal.h config.h
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CCLD)$(FUZZ_CC) $(FUZZ_CFLAGS) -std=gnu11 $(AM_CPPFLAGS) -o $@ $(FUZZ_SRCS)

# New inputs go to tests/fuzz/corpus-new in the build tree, crashes to
# tests/fuzz/crash-*; the seed corpus in the source tree is only read.
fuzz: tests/fuzz/fuzz-options
	@$(MKDIR_P) tests/fuzz/corpus-new
	./tests/fuzz/fuzz-options $(FUZZ_ARGS) -max_total_time=$(FUZZ_SECONDS) \
		-artifact_prefix=tests/fuzz/ tests/fuzz/corpus-new $(srcdir)/tests/fuzz/corpus
.PHONY: fuzz
CLEANFILES += tests/fuzz/fuzz-options

clean-local: clean-fuzz
clean-fuzz:
	-rm -rf tests/fuzz/corpus-new tests/fuzz/crash-* tests/fuzz/leak-* tests/fuzz/timeout-*
.PHONY: clean-fuzz
