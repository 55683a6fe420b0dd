# roots.sh: one object held by one kind of root only is found reachable
# (and left alone in mode=reclaim), while a control object dropped the same
# way is found unreachable (and freed in mode=reclaim): roots.c, per kind.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
mg_init
lib=$MEMGC_BUILDDIR/tests/collect/.libs/rootlib.so
[ -f "$lib" ] || mg_fail "roots: $lib is not built"
ROOTLIB=$lib; export ROOTLIB
# Each kind with the write watch (watch=auto: young collections read older
# memory through it, which the debug line of each collection says) and
# without (watch=off: they read all of it).  (altstack makes full
# collections only.)
for watch in auto off; do
	for kind in global dlopen thread tls dlopen_tls mmap registered interior old kernel epoll altstack; do
		for mode in account reclaim; do
			if [ $mode = reclaim ]; then RECLAIM=1; export RECLAIM; else unset RECLAIM; fi
			name=roots-$kind-$mode-$watch
			MG_OPTS="mode=$mode:watch=$watch:gc_debug=1" mg_run_preloaded "$name" \
				"$MEMGC_BUILDDIR/tests/collect/roots" "$kind"
			out=$MG_TMP/$name.pre
			young=$(grep -c 'generation 0:.*older memory read through the watch' "$out.err")
			if [ "$(cat "$out.rc")" != 0 ] || grep -q '^FAIL' "$out.out" || ! grep -q '^ok' "$out.out"; then
				mg_fail "roots $kind ($mode, watch=$watch): status $(cat "$out.rc")"
				cat "$out.out" "$out.err"
			elif [ $watch = off ] && [ "$young" != 0 ]; then
				mg_fail "roots $kind ($mode, watch=off): $young young collections used the watch"
			elif [ $watch = auto ] && [ "$young" = 0 ] && grep -q 'generation 0:' "$out.err" &&
				! grep -q 'generation 0:.*(watch off: ' "$out.err"; then
				mg_fail "roots $kind ($mode, watch=auto): no young collection used the watch"
				cat "$out.err"
			else
				mg_pass "roots $kind ($mode, watch=$watch): $(grep -c '^ok' "$out.out") checks, $young young through the watch"
			fi
		done
	done
done
# interior pointers off: the object held by an interior pointer is unreachable
unset RECLAIM
MG_OPTS="interior=0" mg_run_preloaded roots-nointerior "$MEMGC_BUILDDIR/tests/collect/roots" interior
grep -q '^FAIL an object held by an interior pointer (found 2,' "$MG_TMP/roots-nointerior.pre.out" &&
	mg_pass "interior=0: an interior pointer does not hold its object" ||
	{ mg_fail "interior=0"; cat "$MG_TMP/roots-nointerior.pre.out"; }
mg_finish
