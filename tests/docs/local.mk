## tests/docs/: the manual pages checked against the code: the options
## (help=1), the exported API, the keys of the JSON report, the memgc
## command's verbs, flags and exit statuses (memgc.1), mandoc -Tlint.
DOCS_TESTS = tests/docs/options.sh tests/docs/api.sh tests/docs/json.sh tests/docs/cli.sh \
	tests/docs/lint.sh
TESTS += $(DOCS_TESTS)
EXTRA_DIST += $(DOCS_TESTS)
