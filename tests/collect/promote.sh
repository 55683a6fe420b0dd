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
#    measures the watch and not memgc's own first touches.  The next young
#    collection, nothing written in between, reads almost nothing of
#    them; but with an AIO ring mapped (the kernel may write the program's
#    memory during a pause) the pages re-armed at the end count as
#    written, and it reads the survivors again.
# 2. It reads a large young object only on the pages the program wrote
#    (lib/mark.c): bigyoung.c's 1 MiB buffer, two pages written, one of
#    them holding the only pointer to a small object.  The small object
#    must be found reachable (0 unreachable, then 2 once the buffer is
#    dropped), and the collection must take fewer than 64 faults, where
#    reading the 254 untouched pages took one each.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
mg_init
for run in on off on-aio; do
	watch=${run%-aio}
	arg=
	[ "$run" = on-aio ] && arg=aio
	name=promote-$run
	MG_OPTS="gc=0:watch=$watch" mg_run_preloaded "$name" "$MEMGC_BUILDDIR/tests/collect/promote" 20000 $arg
	out=$(cat "$MG_TMP/$name.pre.out")
	pages=$(echo "$out" | sed -n 's/.*pages=\([0-9]*\).*/\1/p')
	faults=$(echo "$out" | sed -n 's/.*faults=\([0-9]*\).*/\1/p')
	again=$(echo "$out" | sed -n 's/.*rescanned=\([0-9]*\).*/\1/p')
	ok=false
	if [ "$(cat "$MG_TMP/$name.pre.rc")" = 0 ] && [ -n "$pages" ] && [ -n "$again" ] &&
	   [ "$pages" -ge 900 ] && [ "$faults" -lt $((pages / 10)) ]; then
		case $run in
		on) [ "$again" -lt $((pages * 4096 / 8)) ] && ok=true ;;
		on-aio) [ "$again" -ge $((pages * 4096 / 2)) ] && ok=true ;;
		*) ok=true ;;
		esac
	fi
	if $ok; then
		mg_pass "$run: a young collection promoting $pages pages of survivors took $faults faults; the next read $again bytes"
	else
		mg_fail "$run: status $(cat "$MG_TMP/$name.pre.rc"), $out (bounds: faults under a tenth of the pages; the next collection reads under an eighth of them, or with an AIO ring at least half)"
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
