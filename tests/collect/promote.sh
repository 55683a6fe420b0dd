# promote.sh: what a young collection costs in page faults, through the
# write watch.
# 1. It writes the headers of the objects it promotes, with the world
#    stopped, on pages the watch reads at the start of the collection.
#    Those pages are armed again only at its end, so the writes cost no
#    write fault (a fault a page, about 1.2 us each, was most of a young
#    collection's pause on a scattered heap).  promote.c's second
#    collection: 20000 survivors of 208 bytes, about 1200 pages; it must
#    take fewer faults than a tenth of that, with the watch on.  With
#    watch=off no page is armed: the same bound there says the test
#    measures the watch and not memgc's own first touches.
# 2. It reads a large young object only on the pages the program wrote
#    (lib/mark.c): bigyoung.c's 1 MiB buffer, two pages written, one of
#    them holding the only pointer to a small object.  The small object
#    must be found reachable (0 unreachable, then 2 once the buffer is
#    dropped), and the collection must take fewer than 64 faults, where
#    reading the 254 untouched pages took one each.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
mg_init
for watch in on off; do
	name=promote-$watch
	MG_OPTS="gc=0:watch=$watch" mg_run_preloaded "$name" "$MEMGC_BUILDDIR/tests/collect/promote" 20000
	out=$(cat "$MG_TMP/$name.pre.out")
	pages=$(echo "$out" | sed -n 's/.*pages=\([0-9]*\).*/\1/p')
	faults=$(echo "$out" | sed -n 's/.*faults=\([0-9]*\).*/\1/p')
	if [ "$(cat "$MG_TMP/$name.pre.rc")" = 0 ] && [ -n "$pages" ] && [ "$pages" -ge 900 ] &&
	   [ "$faults" -lt $((pages / 10)) ]; then
		mg_pass "watch=$watch: a young collection promoting $pages pages of survivors took $faults faults"
	else
		mg_fail "watch=$watch: status $(cat "$MG_TMP/$name.pre.rc"), $out (bound: a tenth of the pages)"
		head -n 5 "$MG_TMP/$name.pre.err"
	fi
done

for watch in on off; do
	name=bigyoung-$watch
	MG_OPTS="gc=0:watch=$watch" mg_run_preloaded "$name" "$MEMGC_BUILDDIR/tests/collect/bigyoung"
	out=$(cat "$MG_TMP/$name.pre.out")
	faults=$(echo "$out" | sed -n 's/.*faults=\([0-9]*\).*/\1/p')
	ok=false
	case $out in "bigyoung kept=0 faults=$faults dropped=2") ok=true ;; esac
	if [ "$watch" = on ] && [ "${faults:-64}" -ge 64 ]; then
		ok=false
	fi
	if [ "$(cat "$MG_TMP/$name.pre.rc")" = 0 ] && $ok; then
		mg_pass "watch=$watch: a 1 MiB young buffer written on 2 pages: its pointer found, $faults faults"
	else
		mg_fail "watch=$watch: status $(cat "$MG_TMP/$name.pre.rc"), $out (want kept=0, dropped=2, with the watch under 64 faults)"
		head -n 5 "$MG_TMP/$name.pre.err"
	fi
done
mg_finish
