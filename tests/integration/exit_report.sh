# exit_report.sh: the exit report of a program that leaks 10 blocks of 1000
# bytes from leak_here(): the JSON has them as the top site, named, with
# the callers at a deeper stack_depth, and the text summary on stderr names
# leak_here.  The program's stdout and status do not change.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
mg_init
prog=$MG_BINDIR/misuse

check_report()
{
	# check_report NAME DEPTH: NAME's one report, frames wanted at DEPTH
	"$PYTHON3" - "$MG_TMP/$1" "$2" <<'PY'
import glob, json, sys
files = glob.glob(sys.argv[1] + ".*.json")
depth = int(sys.argv[2])
if len(files) != 1:
    sys.exit("want one report, have %r" % files)
r = json.load(open(files[0]))
h, top = r["heap"], r["top_sites"]
problems = []
if h["live_objects"] < 10 or h["live_bytes"] < 10000:
    problems.append("heap %r" % h)
if not top or top[0]["live_bytes"] != 10000 or top[0]["live_objects"] != 10:
    problems.append("top site %r" % (top[:1],))
else:
    fr = [f["function"] for f in top[0]["frames"]]
    want = ["leak_here", "leak_caller", "main"][:depth]
    if fr[:len(want)] != want or len(fr) > depth:
        problems.append("frames %r, want %r first (at most %d)" % (fr, want, depth))
    f0 = top[0]["frames"][0]
    if not f0["module"].endswith("/misuse") or not f0["ip"].startswith("0x") \
            or not 0 < f0["function_offset"] < 4096:
        problems.append("frame %r" % f0)
    if [s["live_bytes"] for s in top] != sorted((s["live_bytes"] for s in top), reverse=True):
        problems.append("top_sites not sorted by live bytes")
for p in problems:
    print("report:", p)
sys.exit(1 if problems else 0)
PY
}

MG_OPTS="summary=stderr:report=$MG_TMP/r1.%p.json" mg_compare report-leak "$prog" leak
if check_report r1 1; then
	mg_pass "report-leak: top site 10000 bytes in 10 objects at leak_here"
else
	mg_fail "report-leak: the JSON report"
fi
err=$MG_TMP/report-leak.pre.err
if grep -qE '^memgc:       leak_here\+0x[0-9a-f]+ \(' "$err" &&
   grep -qE '^memgc:   9\.8 KiB in 10 objects at$' "$err" &&
   grep -qE '^memgc: pid [0-9]+ \(.*/misuse\) at exit$' "$err"; then
	mg_pass "report-leak: the summary on stderr names leak_here"
else
	mg_fail "report-leak: the summary on stderr:"
	cat "$err"
fi

MG_OPTS="stack_depth=3:report=$MG_TMP/r3.%p.json" mg_compare report-depth3 "$prog" leak
if check_report r3 3; then
	mg_pass "report-depth3: leak_here called from leak_caller called from main"
else
	mg_fail "report-depth3: the JSON report"
fi

# the summary to a file, named after the pid
MG_OPTS="summary=$MG_TMP/s.%p.txt" mg_compare report-summary-file "$prog" leak
if grep -qE '^memgc:       leak_here\+' "$MG_TMP"/s.*.txt 2>/dev/null; then
	mg_pass "report-summary-file: the summary is in $(cd "$MG_TMP" && ls s.*.txt)"
else
	mg_fail "report-summary-file: no summary file naming leak_here"
fi
mg_finish
