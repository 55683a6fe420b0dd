# stress.sh: 4 threads build and drop random graphs with cycles while
# collections run back to back in mode=reclaim; every kept node keeps its
# checksum, every dropped one is freed, nothing hangs; then the same with
# forks in the middle.  GCSTRESS_COLLECTIONS sets the count (10^4 default).
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
mg_init
n=${GCSTRESS_COLLECTIONS:-10000}
for forks in 0 8; do
	MG_OPTS="mode=reclaim" mg_run_preloaded "stress-$forks" "$MEMGC_BUILDDIR/tests/collect/gcstress" "$n" "$forks"
	out=$MG_TMP/stress-$forks.pre
	if [ "$(cat "$out.rc")" = 0 ]; then
		mg_pass "gcstress $n collections, $forks forks: $(cat "$out.out")"
	else
		mg_fail "gcstress $n collections, $forks forks: status $(cat "$out.rc")"
		cat "$out.out" "$out.err"
	fi
done
mg_finish
