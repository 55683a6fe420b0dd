#!/bin/sh
# demo.sh: memgc demo runs the seed case in seconds and prints, for each
# allocator, RSS at start, peak, after del and after collect: the Python
# list and cycle given back by all three after collect (three quarters of
# the growth at least); the C program's
# leaked cycle kept by glibc, jemalloc and memgc in account mode, and given
# back by memgc in reclaim mode; and that leak is what memgc says it is:
# one cycle of its nodes, their buffers indirect, nothing direct.
. "$MEMGC_SRCDIR/tests/cli/lib.sh"
cl_init

start=$(date +%s)
cl_run demo 0 "$MEMGC" demo && cl_lines demo err 0
took=$(( $(date +%s) - start ))
cl_py "demo: both tables, in $took s" - "$T/demo.out" "$took" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
took = int(sys.argv[2])
unit = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
size = r"([0-9.]+) (B|KiB|MiB|GiB)"
row = re.compile(r"^  (glibc|jemalloc|memgc reclaim|memgc) +%s +%s +%s +%s +(.*)$" % (size, size, size, size))
py_part, c_part = text.split("\nA C program")
def rows(part):
    out = {}
    for line in part.splitlines():
        m = row.match(line)
        if m:
            g = m.groups()
            out[g[0]] = [float(g[1 + 2 * i]) * unit[g[2 + 2 * i]] for i in range(4)] + [g[9]]
    return out
MiB = 1 << 20
bad = []
py, c = rows(py_part), rows(c_part)
how = {"glibc": "malloc_trim(0)", "jemalloc": "mallctl(arena.4096.purge)",
       "memgc": "memgc_collect(2)",
       "memgc reclaim": "memgc_collect(2)"}
if sorted(py) != ["glibc", "jemalloc", "memgc"]:
    bad.append("python rows %r" % sorted(py))
for name, (start, peak, after_del, after, h) in py.items():
    if h != how[name]:
        bad.append("python %s: collect is %r" % (name, h))
    # the RSS bar itself (1.05x the baseline) is the RSS tests' to hold:
    # here, that collect gave back most of what the program had grown by
    if peak < start + 64 * MiB or after - start > (peak - start) / 4:
        bad.append("python %s: start %d, peak %d, after collect %d" % (name, start, peak, after))
want_c = ["glibc", "jemalloc", "memgc", "memgc reclaim"]
if sorted(c) != sorted(want_c):
    bad.append("C rows %r, want %r" % (sorted(c), want_c))
for name, (start, peak, after_del, after, h) in c.items():
    if h != how[name] or peak < start + 64 * MiB:
        bad.append("C %s: %r" % (name, c[name]))
    kept = after >= start + 60 * MiB
    if kept != (name != "memgc reclaim"):
        bad.append("C %s: %s the leaked cycle (start %d, after collect %d)"
                   % (name, "kept" if kept else "gave back", start, after))
if took > 60:
    bad.append("took %d s" % took)
if bad: print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
# the C program alone under the preload: 4 nodes of 16 B in a ring, each
# holding 8 MiB (the leak check's classification, exactly)
cl_run cycle 0 env MEMGC_OPTIONS="report=$T/cycle.json:summary=none" LD_PRELOAD="$MEMGC_LIB" \
	"$MEMGC_BUILDDIR/cli/memgc-demo-cycle" 8 4 &&
cl_py "demo cycle: 1 cycle of 4 nodes, 4 buffers of 8 MiB indirect, nothing direct" - "$T/cycle.json" <<'PY'
import json, sys
l = json.load(open(sys.argv[1]))["leaks"]
got = (l["cycles"]["count"], l["cycles"]["objects"], l["cycles"]["bytes"],
       l["indirect"]["objects"], l["indirect"]["bytes"], l["direct"]["objects"])
want = (1, 4, 4 * 16, 4, 4 * 8 << 20, 0)
if got != want:
    print("leaks: cycles (count, objects, bytes), indirect (objects, bytes), direct objects: %r, want %r" % (got, want))
    sys.exit(1)
PY
mg_finish
