#!/bin/sh
# run.sh: memgc run runs PROG under the preload and exits with its status,
# saves the report of the run, passes -o, MEMGC_OPTIONS and LD_PRELOAD on,
# tells a Python user about pymalloc, and hands SIGTERM on to PROG.
. "$MEMGC_SRCDIR/tests/cli/lib.sh"
cl_init

# PROG's exit status, its signal as 128+N, 126 and 127
for s in 0 3 255; do
	cl_run "exit-$s" "$s" "$MEMGC" run -q -- "$FIG" "exit=$s" && mg_pass "exit status $s"
done
cl_run kill-9 137 "$MEMGC" run -q -- "$FIG" kill=9 && mg_pass "SIGKILL: 137"
cl_run kill-15 143 "$MEMGC" run -q -- "$FIG" kill=15 && mg_pass "SIGTERM: 143"
cl_run notfound 127 "$MEMGC" run -- "$T/nosuch" && cl_lines notfound err 1 &&
	cl_has notfound err "^memgc run: cannot run $T/nosuch: No such file or directory\$" &&
	mg_pass "PROG not found: 127"
printf 'data\n' >"$T/noexec"
cl_run noexec 126 "$MEMGC" run -- "$T/noexec" &&
	cl_has noexec err "^memgc run: cannot run $T/noexec: Permission denied\$" &&
	mg_pass "PROG not executable: 126"

# PROG's standard streams are its own
printf 'abc\n' | "$MEMGC" run -q -- sh -c 'cat; echo err >&2' >"$T/io.out" 2>"$T/io.err"
if test "$(cat "$T/io.out")" = abc && test "$(cat "$T/io.err")" = err; then
	mg_pass "stdin, stdout and stderr pass through; -q prints nothing"
else
	mg_fail "streams: out '$(cat "$T/io.out")' err '$(cat "$T/io.err")'"
fi

# the run's report, and the summary line
cl_run report 0 "$MEMGC" run --report "$T/r.json" -o stack_depth=2 -- "$FIG" live=100000 keep=3,1000 &&
	cl_has report err '^memgc run: pid [0-9]+ \(figures\): peak live 97\.7 KiB, peak RSS [0-9.]+ MiB, leaked 0 B in 0 objects$' &&
	cl_has report err "^memgc run: 1 process report in $T/r.json\$" && cl_lines report err 2 &&
	mg_pass "report: the summary line and where the report is"
cl_py "report: a run document with the process's exact figures" - "$T/r.json" "$FIG" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
bad = []
want = {"memgc_run": 1, "command": [sys.argv[2], "live=100000", "keep=3,1000"], "status": 0}
for k, v in want.items():
    if d.get(k) != v:
        bad.append("%s is %r, want %r" % (k, d.get(k), v))
ps = d["processes"]
if len(ps) != 1:
    bad.append("%d processes" % len(ps))
p = ps[0]
if p["memgc_report"] != 1 or not p["exe"].endswith("/figures"):
    bad.append("report %r %r" % (p["memgc_report"], p["exe"]))
if p["options"]["stack_depth"] != 2:
    bad.append("-o stack_depth=2 not applied: %r" % p["options"]["stack_depth"])
# live=100000: the one block of 100000 bytes is the peak above what is
# live at exit, keep=3,1000 included (the program allocates nothing else)
top = p["top_sites"][0]
if (top["live_bytes"], top["live_objects"]) != (3000, 3) or \
        [f["function"] for f in top["frames"]][:1] != ["keep_here"]:
    bad.append("top site %r" % top)
if p["heap"]["peak_live_bytes"] < 100000 or p["heap"]["peak_live_bytes"] > 100000 + p["heap"]["live_bytes"]:
    bad.append("peak live %d, live %d" % (p["heap"]["peak_live_bytes"], p["heap"]["live_bytes"]))
if bad: print("\n".join(bad))
sys.exit(1 if bad else 0)
PY

# a relative TMPDIR: the reports of processes that change directory are found
mkdir "$T/tmp"
(cd "$T" && TMPDIR=tmp "$MEMGC" run --report r2.json -q -- sh -c "cd / && '$FIG' keep=2,77") &&
	"$PYTHON3" -c 'import json, sys; sys.exit(len(json.load(open(sys.argv[1]))["processes"]) != 1)' \
		"$T/r2.json" && mg_pass "TMPDIR relative, PROG changes directory: its report is gathered" ||
	mg_fail "TMPDIR relative: the report of a process that changed directory is lost"

cl_run leak-line 0 "$MEMGC" run -- "$FIG" leak=3,1000 &&
	cl_has leak-line err '^memgc run: pid [0-9]+ \(figures\): peak live [0-9.]+ KiB, peak RSS [0-9.]+ MiB, leaked 2\.9 KiB in 3 objects$' &&
	mg_pass "the summary line gives the leaked bytes"

# MEMGC_OPTIONS of the environment is kept, the -o entries come after it
MEMGC_OPTIONS=report_top=5:stack_depth=4 cl_run env-opts 0 "$MEMGC" run -q --report "$T/e.json" \
	-o stack_depth=3 -- "$FIG" keep=1,10
cl_py "MEMGC_OPTIONS kept, -o after it" - "$T/e.json" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))["processes"][0]["options"]
sys.exit(0 if (o["report_top"], o["stack_depth"]) == (5, 3) else "options %r" % o)
PY

# LD_PRELOAD: memgc's library after what is there, once
cl_run preload 0 env LD_PRELOAD=libm.so.6 "$MEMGC" run -q -- sh -c 'echo "$LD_PRELOAD"' &&
	cl_has preload out "^libm\.so\.6 $MEMGC_LIB\$" && mg_pass "LD_PRELOAD appended: $(cat "$T/preload.out")"
cl_run preload-once 0 env LD_PRELOAD="$MEMGC_LIB" "$MEMGC" run -q -- sh -c 'echo "$LD_PRELOAD"' &&
	cl_has preload-once out "^$MEMGC_LIB\$" && mg_pass "LD_PRELOAD holding memgc already: unchanged"

# Python: one line about pymalloc unless PYTHONMALLOC is set; --python-malloc sets it
py=/usr/bin/python3
if test -x "$py"; then
	cl_run py-note 0 "$MEMGC" run -q -- "$py" -c 'import os; print(os.environ.get("PYTHONMALLOC"))' &&
		cl_lines py-note err 1 && cl_has py-note out '^None$' &&
		cl_has py-note err '^memgc run: python allocates its small objects from its own arenas \(pymalloc\), not malloc, so memgc does not see them; PYTHONMALLOC=malloc shows them \(--python-malloc sets it\)$' &&
		mg_pass "python3: the pymalloc line"
	cl_run py-malloc 0 "$MEMGC" run -q --python-malloc -- "$py" -c 'import os; print(os.environ.get("PYTHONMALLOC"))' &&
		cl_lines py-malloc err 0 && cl_has py-malloc out '^malloc$' && mg_pass "--python-malloc sets PYTHONMALLOC=malloc"
	cl_run py-set 0 env PYTHONMALLOC=malloc "$MEMGC" run -q -- "$py" -c pass &&
		cl_lines py-set err 0 && mg_pass "PYTHONMALLOC already set: no line"
	printf '#!/usr/bin/env python3\nprint("script")\n' >"$T/app"
	chmod +x "$T/app"
	# (PATH: env finds Debian's python3, not a shim that runs more programs)
	cl_run py-script 0 env PATH=/usr/bin:/bin "$MEMGC" run -q -- "$T/app" && cl_lines py-script err 1 &&
		cl_has py-script err 'pymalloc' && mg_pass "a python script (#! line): the pymalloc line"
	cl_run not-py 0 "$MEMGC" run -q -- "$FIG" && cl_lines not-py err 0 && mg_pass "no line for other programs"
fi

# SIGTERM to memgc reaches PROG; SIGINT to memgc alone does not
"$MEMGC" run -q -- "$FIG" sleep=10000 >/dev/null 2>&1 &
pid=$!
sleep 0.3
kill -INT "$pid"
sleep 0.3
if kill -0 "$pid" 2>/dev/null; then
	mg_pass "SIGINT to memgc alone: PROG runs on"
else
	mg_fail "SIGINT to memgc ended the run"
fi
kill -TERM "$pid"
wait "$pid"
rc=$?
test "$rc" -eq 143 && mg_pass "SIGTERM passed on to PROG: 143" || mg_fail "SIGTERM: status $rc, want 143"

# once PROG has exited, SIGTERM reaches the orphans memgc waits for
"$MEMGC" run -q -- sh -c "'$FIG' sleep=20000 & exit 5" >/dev/null 2>&1 &
pid=$!
sleep 0.5
start=$(date +%s)
kill -TERM "$pid"
wait "$pid"
rc=$?
took=$(( $(date +%s) - start ))
if test "$rc" -eq 5 && test "$took" -lt 10; then
	mg_pass "SIGTERM passed on to an orphan; the run ends with PROG's status 5"
else
	mg_fail "SIGTERM to a run whose orphan sleeps: status $rc (want 5) after $took s"
fi
mg_finish
