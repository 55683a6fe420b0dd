# young.sh: the write watch against the full read, exactly.  With
# watch=verify every young collection is made both ways in the same pause
# and the unreachable objects compared; seeded random mutators (young.c)
# make thousands of them, in both modes, with automatic collections at
# CPython's threshold on top in one run and forked children in another.
# The report's collector.write_watch must show every young collection
# compared (its generation's record whole) and none differing, and no
# "watch=verify:" line may appear (forked children log theirs there).
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
mg_init
n=${YOUNG_COLLECTIONS:-1200}
run()   # NAME SEED FORKS OPTIONS
{
	name=young-$1
	MG_OPTS="watch=verify:report=$MG_TMP/$name.json:$4" mg_run_preloaded "$name" \
		"$MEMGC_BUILDDIR/tests/collect/young" "$2" "$n" "$3"
	out=$MG_TMP/$name.pre
	why=$("$PYTHON3" - "$MG_TMP/$name.json" "$out.out" <<'PY'
import json, sys
w = json.load(open(sys.argv[1]))["collector"]["write_watch"]
made = [int(x) for x in open(sys.argv[2]).read().split()[:3]]
bad = []
if w["state"] != "on (verify)":
    bad.append("state %r" % w["state"])
if w["young_full"] != [0, 0]:
    bad.append("young collections read in full: %s" % w["young_full"])
if sum(w["young_watched"]) < made[0] + made[1] or w["verified"] != sum(w["young_watched"]):
    bad.append("%d verified, %s through the watch, %d young made" % (w["verified"], w["young_watched"], made[0] + made[1]))
if w["differing"]:
    bad.append("%d differing" % w["differing"])
print("; ".join(bad) if bad else "%d young collections compared, none differing" % w["verified"])
sys.exit(1 if bad else 0)
PY
)
	st=$?
	if [ "$(cat "$out.rc")" != 0 ] || [ $st != 0 ] || grep -q 'watch=verify:' "$out.err"; then
		mg_fail "young $1: status $(cat "$out.rc"): $why"
		cat "$out.out"
		grep 'watch=verify:' "$out.err" | head -20
	else
		mg_pass "young $1 (seed $2): $(cat "$out.out"); $why"
	fi
}
run account 1 0 "mode=account:gc=0"
run reclaim 2 0 "mode=reclaim:gc=0"
run auto 3 0 "mode=reclaim:threshold0=700"
run forks 4 6 "mode=reclaim:gc=0"
mg_finish
