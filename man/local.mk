## man/: the manual pages (mdoc(7)), clean under mandoc -Tlint -W warning.
dist_man_MANS += man/memgc.1 man/libmemgc.3 man/memgc.7

# `make lint-man` lints the pages on their own; tests/docs/lint.sh does the
# same under `make check`.
lint-man:
if HAVE_MANDOC
	$(AM_V_GEN)for f in $(dist_man_MANS); do \
		$(MANDOC) -Tlint -W warning $(srcdir)/$$f || exit 1; \
	done
else
	@echo "lint-man: mandoc is not installed (Debian: apt-get install mandoc)"; exit 1
endif
.PHONY: lint-man
