#!/bin/sh
# report.sh: memgc report renders a process's own report and a run's:
# the text summary with exact figures and named sites, and folded stacks
# (flamegraph.pl's input) of live bytes, summed over processes, and of
# leaked bytes.
. "$MEMGC_SRCDIR/tests/cli/lib.sh"
cl_init

# a process's own report, written by the preload
mkdir "$T/own"
MEMGC_OPTIONS="report=$T/own/r.json:stack_depth=2" LD_PRELOAD="$MEMGC_LIB" "$FIG" keep=3,1000 live=50000
cl_run text 0 "$MEMGC" report "$T/own/r.json" &&
	cl_has text out "^pid [0-9]+ \($FIG\), parent [0-9]+: $FIG keep=3,1000 live=50000\$" &&
	cl_has text out '^  [0-9]+ allocations, 1 deallocations, [0-9.]+ KiB requested in all$' &&
	cl_has text out '^  live [0-9]+ objects, [0-9.]+ KiB \(usable [0-9.]+ KiB\); peak [0-9]+ objects, 51\.8 KiB' &&
	cl_has text out '^  2\.9 KiB in 3 objects at$' &&
	cl_has text out "^      keep_here\+0x[0-9a-f]+ \($FIG\+0x[0-9a-f]+\)\$" &&
	cl_has text out "^        called from run\+0x[0-9a-f]+ \($FIG\+0x[0-9a-f]+\)\$" &&
	mg_pass "text: the figures, and keep_here called from run"
cl_run text2 0 "$MEMGC" report --text "$T/own/r.json" && cmp -s "$T/text.out" "$T/text2.out" &&
	mg_pass "--text is the default"

cl_run folded 0 "$MEMGC" report --folded "$T/own/r.json" &&
	cl_has folded out '^figures;run;keep_here 3000$' && mg_pass "folded: figures;run;keep_here 3000"

# a run: the same stacks of several processes are summed
cl_run run 0 "$MEMGC" run -q --report "$T/run.json" -- "$FIG" fork=3 keep=2,1000
cl_run run-folded 0 "$MEMGC" report "$T/run.json" --folded &&
	cl_has run-folded out '^figures;keep_here 6000$' && mg_pass "folded: three processes' keep_here summed, 6000"
cl_run run-text 0 "$MEMGC" report "$T/run.json" &&
	cl_has run-text out "^run of $FIG fork=3 keep=2,1000: exit status 0, 4 processes\$" &&
	cl_has run-text out '^total over the processes: peak live [0-9.]+ KiB, peak RSS [0-9.]+ MiB \(sums of each one.s peak\)' &&
	test "$(grep -c '^pid ' "$T/run-text.out")" -eq 4 && mg_pass "text of a run: its command, status and four processes"

# folded leaked bytes, and the leak line
cl_run leak 0 "$MEMGC" run -q -o stack_depth=2 --report "$T/leak.json" -- "$FIG" leak=3,1000 keep=1,10
cl_run leak-folded 0 "$MEMGC" report --folded --leaked "$T/leak.json" &&
	cl_has leak-folded out '^figures;run;leak_here 3000$' && cl_lines leak-folded out 1 &&
	mg_pass "folded --leaked: figures;run;leak_here 3000"
cl_run leak-text 0 "$MEMGC" report "$T/leak.json" &&
	cl_has leak-text out '^  leaked 2\.9 KiB in 3 objects: direct 2\.9 KiB, indirect 0 B, 0 cycles of 0 B$' &&
	mg_pass "text: the leak line"
cl_run leak-off 0 "$MEMGC" run -q -o leak_check=0 --report "$T/noleak.json" -- "$FIG" leak=1,10
cl_run leak-none 65 "$MEMGC" report --folded --leaked "$T/noleak.json" &&
	cl_has leak-none err "^memgc report: $T/noleak.json has no leak figures \(leak_check=0, or a memgc without the collector\)\$" &&
	mg_pass "folded --leaked of a run under leak_check=0: 65"

# a cycle among the leaks, and figures the test chooses for the collector's
# line: its members, as libmemgc(3) gives them, set in a real report
"$PYTHON3" - "$T/own/r.json" "$T/leaks.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
fr = lambda fn, off: {"ip": "0x1", "function": fn, "function_offset": off,
                      "module": "/bin/app", "module_offset": "0x10"}
gen = lambda n, c, u, p: {"collections": n, "collected": c, "uncollectable": u,
                          "collected_bytes": 0, "uncollectable_bytes": 0, "pause_ns": p,
                          "max_pause_ns": p // 2, "total_ns": p, "scanned_bytes": 0}
r["collector"] = {"mode": "account", "enabled": True, "freeze_count": 0, "garbage": 0,
                  "generations": [gen(7, 0, 3, 2000000), gen(1, 0, 0, 1000000), gen(1, 0, 4, 500000)]}
r["leaks"] = {"checked": True, "objects": 7, "bytes": 70000,
              "direct": {"objects": 3, "bytes": 3000}, "indirect": {"objects": 0, "bytes": 0},
              "cycles": {"count": 1, "objects": 4, "bytes": 67000},
              "groups": [{"kind": "cycle", "objects": 4, "bytes": 67000, "length": 4, "site": 5,
                          "frames": [fr("make_ring", 16), fr("main", 40)]},
                         {"kind": "direct", "objects": 3, "bytes": 3000, "site": 3,
                          "frames": [fr("leak_here", 8), fr("main", 60)]}]}
json.dump(r, open(sys.argv[2], "w"))
PY
cl_run leaks-text 0 "$MEMGC" report "$T/leaks.json" &&
	cl_has leaks-text out '^  leaked 68\.4 KiB in 7 objects: direct 2\.9 KiB, indirect 0 B, 1 cycles of 65\.4 KiB$' &&
	cl_has leaks-text out '^  65\.4 KiB in 4 objects, cycle of length 4, at$' &&
	cl_has leaks-text out '^      make_ring\+0x10 \(/bin/app\+0x10\)$' &&
	cl_has leaks-text out '^        called from main\+0x28 \(/bin/app\+0x10\)$' &&
	cl_has leaks-text out '^  2\.9 KiB in 3 objects, direct, at$' &&
	cl_has leaks-text out '^  collector, mode account: collections 7 1 1; 7 unreachable objects found, 0 freed; paused 3\.500 ms in all, 1\.000 ms at most$' &&
	mg_pass "text: leaks by group and the collector's figures"
cl_run leaks-folded 0 "$MEMGC" report "$T/leaks.json" --folded --leaked &&
	cl_has leaks-folded out '^figures;main;make_ring 67000$' && cl_has leaks-folded out '^figures;main;leak_here 3000$' &&
	cl_lines leaks-folded out 2 && mg_pass "folded --leaked: a line per leak group"

# the SVG needs a timeline
cl_run svg-none 65 "$MEMGC" report "$T/own/r.json" --svg "$T/x.svg" &&
	cl_has svg-none err "^memgc report: $T/own/r.json has no timeline to chart: run with memgc run --timeline MS \(or -o timeline=MS\)\$" &&
	test ! -e "$T/x.svg" && mg_pass "--svg without a timeline: 65, no file"
mg_finish
