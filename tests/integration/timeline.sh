# timeline.sh: option timeline=MS.  Under it a python3 that holds 8 MiB for
# 200 ms, collects three times and then lets go writes a report whose
# "timeline" has a sample every MS ms, with the 8 MiB in it and gone after
# and the collections counted, the last sample equal to the report's own
# figures; the sampling thread is named
# memgc-timeline and blocks every signal but stop_signal; a forked child
# has a timeline of its own; timeline=0 writes none.  The program's own
# output does not change.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
mg_init
export PYTHONMALLOC=malloc

prog='import ctypes, time
collect = getattr(ctypes.CDLL(None), "memgc_collect", lambda g: 0)
a = bytearray(8 << 20)
time.sleep(0.2)
for g in (0, 0, 1):
    collect(g)
    time.sleep(0.03)
del a
time.sleep(0.2)
print("done")'
mkdir "$MG_TMP/r"
MG_OPTS="timeline=10:report=$MG_TMP/r/%p.json" mg_compare timeline-10 "$PYTHON3" -c "$prog"
if "$PYTHON3" - "$MG_TMP"/r/*.json <<'PY'
import json, sys
if len(sys.argv) != 2:
    sys.exit("want one report, have %r" % sys.argv[1:])
r = json.load(open(sys.argv[1]))
t, bad = r.get("timeline"), []
if r["options"]["timeline"] != 10 or not t:
    sys.exit("options.timeline %r, timeline %r" % (r["options"]["timeline"], t))
ts = [s["t_ms"] for s in t]
gaps = sorted(b - a for a, b in zip(ts, ts[1:]))
if not ts[-1] / 20 <= len(t) <= ts[-1] / 10 + 3:
    bad.append("%d samples in %d ms at 10 ms" % (len(t), ts[-1]))
if ts != sorted(ts) or ts[0] > 50:
    bad.append("times %r" % ts)
if not 9 <= gaps[len(gaps) // 2] <= 15:
    bad.append("median gap %d ms" % gaps[len(gaps) // 2])
big = [i for i, s in enumerate(t) if s["live_bytes"] >= 8 << 20]
if not big or big[-1] == len(t) - 1 or t[-1]["live_bytes"] >= 8 << 20:
    bad.append("the 8 MiB held then freed: live %r" % [s["live_bytes"] for s in t])
if max(s["rss_bytes"] for s in t) < t[0]["rss_bytes"] + (8 << 20):
    bad.append("RSS never 8 MiB above the first sample")
if t[-1]["live_bytes"] != r["heap"]["live_bytes"]:
    bad.append("last sample live %d, heap.live_bytes %d" % (t[-1]["live_bytes"], r["heap"]["live_bytes"]))
# collections: never fewer than the sample before; the three memgc_collect
# calls (two of generation 0, one of 1) among them; the last sample's are
# the report's own (the exit leak check's full collection included)
cs = [s["collections"] for s in t]
if any(b[g] < a[g] for a, b in zip(cs, cs[1:]) for g in range(3)):
    bad.append("collections go down: %r" % cs)
if cs[-1] != [g["collections"] for g in r["collector"]["generations"]]:
    bad.append("last sample's collections %r, the report's %r"
               % (cs[-1], [g["collections"] for g in r["collector"]["generations"]]))
if cs[-1][0] - cs[0][0] < 2 or cs[-1][1] - cs[0][1] < 1:
    bad.append("the program's collections are not in the samples: %r to %r" % (cs[0], cs[-1]))
for b in bad:
    print("timeline:", b)
print("timeline: %d samples over %d ms, median gap %d ms" % (len(t), ts[-1], gaps[len(gaps) // 2]))
sys.exit(1 if bad else 0)
PY
then
	mg_pass "timeline-10: a sample every 10 ms, the 8 MiB in it, the last one the report's"
else
	mg_fail "timeline-10: the samples"
fi

mkdir "$MG_TMP/z"
MG_OPTS="report=$MG_TMP/z/%p.json" mg_compare timeline-0 "$PYTHON3" -c 'print(1)'
if grep -q '"timeline": \[' "$MG_TMP"/z/*.json; then
	mg_fail "timeline-0: a report with a timeline"
else
	mg_pass "timeline-0: no timeline in the report"
fi

# the thread: its name and its signal mask (SigBlk, bit N-1 for signal N)
MEMGC_OPTIONS=timeline=50 LD_PRELOAD="$MEMGC_LIB" "$PYTHON3" -c 'import time; time.sleep(2)' &
pid=$!
sleep 0.5
found=
for task in /proc/$pid/task/*; do
	test "$(cat "$task/comm" 2>/dev/null)" = memgc-timeline || continue
	found=$task
	blk=$(sed -n 's/^SigBlk:[[:space:]]*//p' "$task/status")
done
kill "$pid"
wait "$pid" 2>/dev/null
if test -z "$found"; then
	mg_fail "thread: no task named memgc-timeline"
elif "$PYTHON3" -c '
import sys
m = int(sys.argv[1], 16)
ok = all(m >> (s - 1) & 1 for s in (1, 2, 10, 12, 15, 17, 34, 40, 64)) and not m >> 38 & 1
sys.exit(0 if ok else 1)' "$blk"; then
	mg_pass "thread: memgc-timeline blocks every signal but 39 (SigBlk $blk)"
else
	mg_fail "thread: SigBlk $blk, want every signal but 39 (and the ones that cannot be blocked)"
fi

# a forked child has a timeline of its own, starting at its fork
mkdir "$MG_TMP/f"
fork='import os, sys, time
pid = os.fork()
time.sleep(0.1)
if pid:
    os.waitpid(pid, 0)
print("pid" if pid else "child")'
MG_OPTS="timeline=10:report=$MG_TMP/f/%p.json" mg_compare timeline-fork "$PYTHON3" -c "$fork"
if "$PYTHON3" - "$MG_TMP"/f/*.json <<'PY'
import json, sys
rs = [json.load(open(f)) for f in sys.argv[1:]]
pids = {r["pid"] for r in rs}
kids = [r for r in rs if r["ppid"] in pids]
if len(rs) != 2 or len(kids) != 1:
    sys.exit("want a parent and a child report, have %d" % len(rs))
t = kids[0]["timeline"]
p = [r for r in rs if r not in kids][0]["timeline"]
# counted from its fork, the child's clock is behind its parent's by the
# time python took to start and fork
ok = len(t) >= 3 and t[0]["t_ms"] < 200 and t[-1]["t_ms"] < p[-1]["t_ms"]
print("child: %d samples from %d ms to %d ms; parent %d ms to %d ms"
      % (len(t), t[0]["t_ms"], t[-1]["t_ms"], p[0]["t_ms"], p[-1]["t_ms"]))
sys.exit(0 if ok else 1)
PY
then
	mg_pass "timeline-fork: the child's own timeline, from its fork"
else
	mg_fail "timeline-fork: the child's timeline"
fi
mg_finish
