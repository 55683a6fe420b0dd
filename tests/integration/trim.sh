# trim.sh: memgc_trim(), memgc_collect(2) and malloc_trim() bring RSS down
# to the baseline after everything was freed, and to the page floor when
# every 64th small object is kept, while no live byte is lost, threads
# churning meanwhile (trim.c says how each bound is computed); and python3's
# range case (below).
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

# Issue 4's range case at 2*10^7 (1.1 GB at the peak): python3 with
# PYTHONMALLOC=malloc builds list(range(N)), deletes it, and asks for the
# trim, or for a collection of generation 2 through ctypes: RSS after it
# within 1.05x the baseline.  The collection runs on memgc's thread and the
# trim after it on the caller's, whose arena it retires: when the trim ran
# on memgc's thread too, this case ended at 1.18x (1.83x at 5*10^7).
for how in memgc memgc-collect; do
	line=$(LD_PRELOAD="$MEMGC_LIB" PYTHONMALLOC=malloc "$PYTHON3" \
		"$MEMGC_SRCDIR/bench/rss.py" range "$how" 20000000 2>"$MG_TMP/range.err" | tail -n 1)
	base=$(echo "$line" | sed -n 's/.* baseline_kb=\([0-9]*\).*/\1/p')
	after=$(echo "$line" | sed -n 's/.* trim_kb=\([0-9]*\).*/\1/p')
	if test -n "$base" && test -n "$after" && test $((after * 100)) -le $((base * 105)); then
		mg_pass "range, $how: RSS $after kB after, baseline $base kB"
	else
		mg_fail "range, $how: RSS '$after' kB after, baseline '$base' kB (want <= 1.05x): $line"
		head -n 5 "$MG_TMP/range.err"
	fi
done
mg_finish
