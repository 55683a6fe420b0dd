# cxx_threads.sh: the C++ program cxx_threads (containers from four threads,
# shared_ptr across threads, over-aligned, nothrow and sized new/delete,
# bad_alloc and the new-handler) prints the same with and without memgc;
# under memgc it also checks that its objects were accounted and all freed.
# It runs a few more times under memgc, as its threads interleave
# differently each time.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
mg_init
prog=$MG_BINDIR/cxx_threads
mg_compare cxx-threads "$prog"
grep -q '^every object freed$' "$MG_TMP/cxx-threads.plain.out" ||
	mg_fail "cxx-threads: the program did not finish"
for i in 1 2 3 4 5; do
	mg_run_preloaded cxx-again "$prog"
	if ! cmp -s "$MG_TMP/cxx-threads.plain.out" "$MG_TMP/cxx-again.pre.out" ||
	   test "$(cat "$MG_TMP/cxx-again.pre.rc")" != 3; then
		mg_fail "cxx-threads: run $i under memgc differs (status $(cat "$MG_TMP/cxx-again.pre.rc"))"
		mg_diff "$MG_TMP/cxx-threads.plain.out" "$MG_TMP/cxx-again.pre.out" stdout
		cat "$MG_TMP/cxx-again.pre.err"
	fi
done
mg_finish
