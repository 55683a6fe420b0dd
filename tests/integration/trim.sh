# trim.sh: memgc_trim() and malloc_trim() bring RSS down to the baseline
# after everything was freed, and to the page floor when every 64th small
# object is kept, while no live byte is lost, threads churning meanwhile
# (trim.c says how each bound is computed).
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
mg_init
mg_run_preloaded trim "$MG_BINDIR/trim"
cat "$MG_TMP/trim.pre.out"
rc=$(cat "$MG_TMP/trim.pre.rc")
if test "$rc" = 0 && ! grep -q '^FAIL' "$MG_TMP/trim.pre.out" && test -s "$MG_TMP/trim.pre.out"; then
	mg_pass "trim: every check"
else
	mg_fail "trim: exit status $rc; its stderr:"
	head -n 20 "$MG_TMP/trim.pre.err"
fi
if grep -q '^memgc: ' "$MG_TMP/trim.pre.err"; then
	mg_fail "trim: memgc wrote to stderr:"
	grep '^memgc: ' "$MG_TMP/trim.pre.err" | head -n 5
fi
mg_finish
