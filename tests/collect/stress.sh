# stress.sh: 4 threads build and drop random graphs with cycles while
# collections run back to back in mode=reclaim; every kept node keeps its
# checksum, every dropped one is freed, nothing hangs; then the same with
# forks in the middle.  GCSTRESS_COLLECTIONS sets the count per run with
# the write watch (10^4, issue 3's figure, by default), half as many
# without it; four runs: 0 and 8 forks, with the watch and without.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
mg_init
# With the write watch (watch=auto) and without (watch=off).
for watch in auto off; do
	n=${GCSTRESS_COLLECTIONS:-10000}
	test "$watch" = auto || n=$((n / 2))
	for forks in 0 8; do
		name=stress-$forks-$watch
		MG_OPTS="mode=reclaim:watch=$watch" mg_run_preloaded "$name" \
			"$MEMGC_BUILDDIR/tests/collect/gcstress" "$n" "$forks"
		out=$MG_TMP/$name.pre
		if [ "$(cat "$out.rc")" = 0 ]; then
			mg_pass "gcstress $n collections, $forks forks, watch=$watch: $(cat "$out.out")"
		else
			mg_fail "gcstress $n collections, $forks forks, watch=$watch: status $(cat "$out.rc")"
			cat "$out.out" "$out.err"
		fi
	done
done
mg_finish
