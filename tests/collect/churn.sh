# churn.sh: 1200 threads, one at a time, a collection beside each start
# (tests/collect/churn.py says why), python3 with every object through
# malloc: no crash, the script's own output.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
mg_init
PYTHONMALLOC=malloc MG_OPTS=gc=0 mg_run_preloaded churn "$PYTHON3" "$MEMGC_SRCDIR/tests/collect/churn.py" 1200
if [ "$(cat "$MG_TMP/churn.pre.rc")" = 0 ] && [ "$(cat "$MG_TMP/churn.pre.out")" = "churn ok 1200" ]; then
	mg_pass "1200 threads started and joined, a collection beside each: no crash"
else
	mg_fail "thread churn with collections: status $(cat "$MG_TMP/churn.pre.rc")"
	grep -v '^memgc:   ' "$MG_TMP/churn.pre.err" | head -n 20
fi
mg_finish
