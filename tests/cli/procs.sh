#!/bin/sh
# procs.sh: every process of the run.  Children inherit the preload and
# write their own reports; memgc run and check gather them (linked by
# ppid), wait for orphans, hold each process and the total to the budgets,
# and a child that breaks one fails the check: with sh -c, fork and make.
. "$MEMGC_SRCDIR/tests/cli/lib.sh"
cl_init

# fork: a parent and four children, each child's figures exact
cl_run fork 0 "$MEMGC" run -q --report "$T/fork.json" -- "$FIG" fork=4 live=100000 keep=2,500
cl_py "fork: five reports, the children under the parent, exact figures" - "$T/fork.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ps = d["processes"]
bad = []
top = ps[0]
kids = ps[1:]
if len(ps) != 5 or any(k["ppid"] != top["pid"] for k in kids):
    bad.append("processes %r" % [(p["pid"], p["ppid"]) for p in ps])
if [k["pid"] for k in kids] != sorted(k["pid"] for k in kids):
    bad.append("children not in pid order")
for k in kids:
    h, s = k["heap"], k["top_sites"][0]
    if (s["live_bytes"], s["live_objects"], s["frames"][0]["function"]) != (1000, 2, "keep_here"):
        bad.append("child %d top site %r" % (k["pid"], s))
    if not 100000 <= h["peak_live_bytes"] <= 100000 + h["live_bytes"]:
        bad.append("child %d peak live %d" % (k["pid"], h["peak_live_bytes"]))
if top["heap"]["peak_live_bytes"] >= 100000:
    bad.append("the parent did not run the children's steps")
if bad: print("\n".join(bad))
sys.exit(1 if bad else 0)
PY

# a child breaks the budget: the check fails and its line names the child
cl_run child-breaks 1 "$MEMGC" check --max-peak-live 150000 \
	-- sh -c "'$FIG' live=1000; '$FIG' live=200000 & '$FIG' live=100000; wait"
cl_has child-breaks err '^memgc check: peak live 195\.3 KiB \(200000 B\) of pid [0-9]+ \(figures\) breaks --max-peak-live 146\.5 KiB \(150000 B\)$' &&
	cl_has child-breaks err '^memgc check: FAILED: 1 of 3 budgets broken, 0 unchecked, over 3 processes$' &&
	mg_pass "sh -c: the one child over the budget fails the check, named"
cl_run children-hold 0 "$MEMGC" check --max-peak-live 250000 --max-total-peak-live 301000 \
	-- sh -c "'$FIG' live=1000; '$FIG' live=200000 & '$FIG' live=100000; wait" &&
	mg_pass "sh -c: per process and total budgets held (total 301000)"
cl_run total-breaks 1 "$MEMGC" check --max-peak-live 250000 --max-total-peak-live 300999 \
	-- sh -c "'$FIG' live=1000; '$FIG' live=200000 & '$FIG' live=100000; wait" &&
	cl_has total-breaks err '^memgc check: peak live 293\.9 KiB \(301000 B\) of the total of 3 processes breaks --max-total-peak-live 293\.9 KiB \(300999 B\); largest: pid [0-9]+ \(figures\) 195\.3 KiB, pid [0-9]+ \(figures\) 97\.7 KiB, pid [0-9]+ \(figures\) 1000 B$' &&
	mg_pass "sh -c: the total one byte over, with the processes that made it"

# a leak in a child fails the check
cl_run child-leak 1 "$MEMGC" check --max-leaked 0 -- sh -c "'$FIG' keep=1,10; '$FIG' leak=3,1000" &&
	cl_has child-leak err '^memgc check: leaked 2\.9 KiB \(3000 B\) of pid [0-9]+ \(figures\) breaks --max-leaked 0 B; leaked at: .*leak_here' &&
	mg_pass "a leak in a child fails the check"

# orphans: sh exits at once, its background child is waited for
start=$(date +%s%N)
cl_run orphan 0 "$MEMGC" run -q --report "$T/orphan.json" -- sh -c "'$FIG' sleep=400 keep=1,4242 & exit 0"
took=$(( ($(date +%s%N) - start) / 1000000 ))
cl_py "orphan: memgc waited $took ms for it and has its report" - "$T/orphan.json" "$took" <<'PY'
import json, sys
ps = json.load(open(sys.argv[1]))["processes"]
ok = int(sys.argv[2]) >= 400 and any(p["top_sites"] and p["top_sites"][0]["live_bytes"] == 4242
                                     for p in ps)
sys.exit(0 if ok else "processes %r" % [(p["pid"], p["argv"]) for p in ps])
PY

# make: a real multi-process build, run under memgc check
cat >"$T/Makefile" <<MK
all: a b c
a b c:
	@'$FIG' live=\$(SIZE_\$@)
SIZE_a = 1000
SIZE_b = 2000
SIZE_c = 300000
MK
cl_run make 1 "$MEMGC" check --max-peak-live 200000 --json "$T/make.json" -- make -s -j2 -f "$T/Makefile"
cl_has make err '^memgc check: peak live 293\.0 KiB \(300000 B\) of pid [0-9]+ \(figures\) breaks --max-peak-live 195\.3 KiB \(200000 B\)$'
cl_py "make: make and its three recipes, one over the budget" - "$T/make.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ps = d["processes"]
names = sorted(p["exe"].rsplit("/", 1)[1] for p in ps)
figs = sorted(p["heap"]["peak_live_bytes"] for p in ps if p["exe"].endswith("/figures"))
top = ps[0]
bad = []
if names.count("figures") != 3 or "make" not in names:
    bad.append("processes %r" % names)
if not top["exe"].endswith("/make"):
    bad.append("first process %s" % top["exe"])
if figs != [1000, 2000, 300000]:
    bad.append("peaks %r" % figs)
held = [(v["name"], v["held"]) for v in d["check"]["verdicts"]]
if len(held) != len(ps) or sum(not h for _, h in held) != 1:
    bad.append("verdicts %r" % held)
if bad: print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
mg_finish
