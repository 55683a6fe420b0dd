# forkmask.sh: a thread that forks with every signal blocked (git does)
# while another collects back to back: memgc's fork handler waits for the
# collection's lock with the stop signal open, so no collection fails.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
mg_init
mg_run_preloaded forkmask "$MEMGC_BUILDDIR/tests/collect/forkmask" 300
if [ "$(cat "$MG_TMP/forkmask.pre.rc")" = 0 ] && [ "$(cat "$MG_TMP/forkmask.pre.out")" = "forkmask ok 300" ] &&
   ! grep -q '^memgc: stop the world' "$MG_TMP/forkmask.pre.err"; then
	mg_pass "300 forks with every signal blocked while collecting: no collection failed"
else
	mg_fail "forks with every signal blocked while collecting: status $(cat "$MG_TMP/forkmask.pre.rc")"
	cat "$MG_TMP/forkmask.pre.out"
	grep -v '^memgc:   ' "$MG_TMP/forkmask.pre.err" | head -n 10
fi
mg_finish
