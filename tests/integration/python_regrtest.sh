# python_regrtest.sh: CPython's own regression tests for lists, dicts, sets,
# the gc, threading and json pass under memgc, with pymalloc and with
# PYTHONMALLOC=malloc, and give the same result lines as without it; the
# second run with automatic collections every 100 allocations (mode=account;
# tests/collect/programs.sh runs them in mode=reclaim).
# Their output has timings and load averages, so only the exit status and
# the result lines are compared.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
mg_init
if ! "$PYTHON3" -c 'import test.regrtest' 2>/dev/null; then
	echo "SKIP: $PYTHON3 has no test suite (Debian: libpython3.11-testsuite)"
	exit 77
fi
unset PYTHONMALLOC PYTHONPATH PYTHONSTARTUP
export PYTHONDONTWRITEBYTECODE=1
tests="test_list test_dict test_set test_gc test_threading test_json"

cd "$MG_TMP" || exit 99   # the tests make scratch files in the cwd
mg_run_plain regrtest "$PYTHON3" -m test $tests
mg_run_preloaded regrtest "$PYTHON3" -m test $tests
PYTHONMALLOC=malloc MG_OPTS=threshold0=100 mg_run_preloaded regrtest-malloc "$PYTHON3" -m test $tests

result()
{
	grep -E '^(Tests result: |All [0-9]+ tests OK)' "$1"
}
result regrtest.plain.out >expect
if test "$(cat regrtest.plain.rc)" != 0 || ! grep -qx 'Tests result: SUCCESS' expect; then
	echo "the tests fail without memgc too: nothing to compare"
	tail -n 30 regrtest.plain.out
	exit 99
fi
for run in regrtest.pre regrtest-malloc.pre; do
	result $run.out >got
	if test "$(cat $run.rc)" = 0 && cmp -s expect got; then
		mg_pass "$run: exit status 0, $(tr '\n' ' ' <got)"
	else
		mg_fail "$run: exit status $(cat $run.rc), result lines:"
		diff -u expect got
		tail -n 30 $run.out
		tail -n 30 $run.err
	fi
done
mg_finish
