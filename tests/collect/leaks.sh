# leaks.sh: leaks with known truth are reported exactly by the exit leak
# check (leaks.c: a plain leak, a leaked list, a 2-ring and a 10^4-ring; a
# C++ shared_ptr cycle), with nothing reachable or ignored among them; and
# exitcode=N makes them fail the process.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
mg_init
bin=$MEMGC_BUILDDIR/tests/collect
for mode in account reclaim; do
	# gc=0: no collection before the exit check, which sees every leak (in
	# mode=reclaim automatic collections would have freed them: see below)
	MG_OPTS="mode=$mode:gc=0:report=$MG_TMP/leaks-$mode.json" mg_run_preloaded "leaks-$mode" "$bin/leaks" 50
	MG_OPTS="mode=$mode:report=$MG_TMP/shared-$mode.json" mg_run_preloaded "shared-$mode" "$bin/shared_cycle"
	if "$PYTHON3" - "$MG_TMP/leaks-$mode.json" "$MG_TMP/shared-$mode.json" <<'PY'
import json, sys
problems = []
def frames(g):
    return [f["function"] for f in g["frames"]]
l = json.load(open(sys.argv[1]))["leaks"]
want = {"checked": True, "objects": 10054, "bytes": 1000 + 8 + 50 * 48 + 10002 * 48}
for k, v in want.items():
    if l[k] != v:
        problems.append("leaks.%s %r, want %r" % (k, l[k], v))
if l["direct"] != {"objects": 2, "bytes": 1008}:
    problems.append("direct %r" % l["direct"])
if l["indirect"] != {"objects": 50, "bytes": 2400}:
    problems.append("indirect %r" % l["indirect"])
if l["cycles"] != {"count": 2, "objects": 10002, "bytes": 480096}:
    problems.append("cycles %r" % l["cycles"])
got = sorted((g["kind"], g["objects"], g["bytes"], frames(g)[0]) for g in l["groups"])
want = sorted([("cycle", 10000, 480000, "ring_node"), ("cycle", 2, 96, "ring_node"),
               ("direct", 1, 1000, "leak_plain"), ("direct", 1, 8, "leak_list"),
               ("indirect", 50, 2400, "list_node")])
if got != want:
    problems.append("groups %r, want %r" % (got, want))
if [g.get("length") for g in l["groups"] if g["kind"] == "cycle"] != [10000, 2]:
    problems.append("cycle lengths")
s = json.load(open(sys.argv[2]))["leaks"]
if (s["objects"], s["cycles"]["count"], s["cycles"]["objects"], s["direct"]["objects"],
        s["indirect"]["objects"]) != (2, 1, 2, 0, 0):
    problems.append("shared_ptr cycle: %r" % {k: s[k] for k in ("objects", "direct", "indirect", "cycles")})
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
PY
	then
		mg_pass "leaks ($mode): 1000 B + 8 B direct, 50 indirect, rings of 2 and 10^4, a shared_ptr cycle"
	else
		mg_fail "leaks ($mode): the report differs"
	fi
done
# mode=reclaim with automatic collections: what they freed and what the
# exit check finds add up to the same leaks
MG_OPTS="mode=reclaim:threshold0=100:report=$MG_TMP/leaks-auto.json" mg_run_preloaded leaks-auto "$bin/leaks" 50
if "$PYTHON3" - "$MG_TMP/leaks-auto.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
gens = r["collector"]["generations"]
freed = sum(g["collected"] for g in gens)
freed_bytes = sum(g["collected_bytes"] for g in gens)
l = r["leaks"]
ok = freed > 0 and freed + l["objects"] == 10054 and freed_bytes + l["bytes"] == 483504
print("freed %d objects (%d bytes) during the run, %d left at exit" % (freed, freed_bytes, l["objects"]))
sys.exit(0 if ok else 1)
PY
then
	mg_pass "leaks (reclaim, automatic collections): freed during the run + found at exit = every leak"
else
	mg_fail "leaks (reclaim, automatic collections): the counts do not add up"
fi
# exitcode: leaks fail the process, with the report on stderr; none, no change
MG_OPTS="exitcode=23" mg_run_preloaded leaks-exit "$bin/leaks" 5
[ "$(cat "$MG_TMP/leaks-exit.pre.rc")" = 23 ] && grep -q 'direct leak of 1000 B in 1 objects' "$MG_TMP/leaks-exit.pre.err" &&
	grep -q 'leak_plain' "$MG_TMP/leaks-exit.pre.err" &&
	mg_pass "exitcode=23: status 23 and the leaks named on stderr" ||
	{ mg_fail "exitcode=23: status $(cat "$MG_TMP/leaks-exit.pre.rc")"; cat "$MG_TMP/leaks-exit.pre.err"; }
MG_OPTS="exitcode=23" mg_run_preloaded clean-exit "$bin/leaks" 0 clean
[ "$(cat "$MG_TMP/clean-exit.pre.rc")" = 0 ] && mg_pass "exitcode=23 with no leak: status 0" ||
	mg_fail "exitcode=23 with no leak: status $(cat "$MG_TMP/clean-exit.pre.rc")"
MG_OPTS="exitcode=23:leak_check=0" mg_run_preloaded leaks-nocheck "$bin/leaks" 5
[ "$(cat "$MG_TMP/leaks-nocheck.pre.rc")" = 0 ] && mg_pass "leak_check=0: no check, status 0" ||
	mg_fail "leak_check=0: status $(cat "$MG_TMP/leaks-nocheck.pre.rc")"
mg_finish
