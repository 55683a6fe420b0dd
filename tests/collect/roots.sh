# roots.sh: one object held by one kind of root only is found reachable
# (and left alone in mode=reclaim), while a control object dropped the same
# way is found unreachable (and freed in mode=reclaim): roots.c, per kind.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
mg_init
lib=$MEMGC_BUILDDIR/tests/collect/.libs/rootlib.so
[ -f "$lib" ] || mg_fail "roots: $lib is not built"
ROOTLIB=$lib; export ROOTLIB
for kind in global dlopen thread tls dlopen_tls mmap registered interior old epoll altstack; do
	for mode in account reclaim; do
		if [ $mode = reclaim ]; then RECLAIM=1; export RECLAIM; else unset RECLAIM; fi
		MG_OPTS="mode=$mode" mg_run_preloaded "roots-$kind-$mode" "$MEMGC_BUILDDIR/tests/collect/roots" "$kind"
		out=$MG_TMP/roots-$kind-$mode.pre
		if [ "$(cat "$out.rc")" != 0 ] || grep -q '^FAIL' "$out.out" || ! grep -q '^ok' "$out.out"; then
			mg_fail "roots $kind ($mode): status $(cat "$out.rc")"
			cat "$out.out" "$out.err"
		else
			mg_pass "roots $kind ($mode): $(grep -c '^ok' "$out.out") checks"
		fi
	done
done
# interior pointers off: the object held by an interior pointer is unreachable
unset RECLAIM
MG_OPTS="interior=0" mg_run_preloaded roots-nointerior "$MEMGC_BUILDDIR/tests/collect/roots" interior
grep -q '^FAIL an object held by an interior pointer (found 2,' "$MG_TMP/roots-nointerior.pre.out" &&
	mg_pass "interior=0: an interior pointer does not hold its object" ||
	{ mg_fail "interior=0"; cat "$MG_TMP/roots-nointerior.pre.out"; }
mg_finish
