# promote.sh: a young collection writes the headers of the objects it
# promotes, with the world stopped, on pages the watch reads at the start
# of the collection.  Those pages are armed again only at its end, so the
# writes cost no write fault (a fault a page, about 1.2 us each, was most
# of a young collection's pause on a scattered heap).  promote.c's second
# collection: 20000 survivors of 208 bytes, about 1000 pages; it must take
# fewer faults than a tenth of that, with the watch on.  With watch=off no
# page is armed: the same program, the same bound, says the test measures
# the watch and not memgc's own first touches.
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
mg_finish
