#!/bin/sh
# check.sh: memgc check, the CI gate, on a program whose figures the test
# chooses (figures.c): each budget held and broken at its exact edge, the
# line that names the figure, the budget and the sites, PROG's own failure,
# the exit status bits (1 broken, 2 PROG failed, 4 unchecked), --json,
# --junit and --baseline.
. "$MEMGC_SRCDIR/tests/cli/lib.sh"
cl_init

# peak live: one block of exactly 100000 bytes, nothing else live at its peak
cl_run live-held 0 "$MEMGC" check --max-peak-live 100000 -- "$FIG" live=100000 &&
	cl_lines live-held err 1 &&
	cl_has live-held err '^memgc check: passed: 0 of 1 budgets broken, 0 unchecked, over 1 process$' &&
	mg_pass "peak live 100000 within --max-peak-live 100000: 0"
cl_run live-broken 1 "$MEMGC" check --max-peak-live 99999 -- "$FIG" live=100000 &&
	cl_has live-broken err '^memgc check: peak live 97\.7 KiB \(100000 B\) of pid [0-9]+ \(figures\) breaks --max-peak-live 97\.7 KiB \(99999 B\)$' &&
	cl_has live-broken err '^memgc check: FAILED: 1 of 1 budgets broken, 0 unchecked, over 1 process$' &&
	mg_pass "peak live 100000 over --max-peak-live 99999: 1, and the line"
# sizes with binary suffixes: 98K is 100352, 97K is 99328
cl_run live-k 0 "$MEMGC" check --max-peak-live 98K -- "$FIG" live=100000 && mg_pass "98K holds 100000"
cl_run live-k2 1 "$MEMGC" check --max-peak-live=97KiB -- "$FIG" live=100000 && mg_pass "97KiB breaks at 100000"

# the sites: what is live at exit, named (stack_depth=2: keep_here < run)
cl_run sites 1 "$MEMGC" check -o stack_depth=2 --max-peak-live 4000 -- "$FIG" keep=5,1000 &&
	cl_has sites err '^memgc check: peak live [0-9.]+ KiB \([0-9]+ B\) of pid [0-9]+ \(figures\) breaks --max-peak-live 3\.9 KiB \(4000 B\); largest live at exit: 4\.9 KiB in 5 objects at keep_here < run' &&
	mg_pass "the broken budget's line names keep_here < run"

# peak RSS: 64 MiB touched
cl_run rss-broken 1 "$MEMGC" check --max-peak-rss 32M -- "$FIG" rss=64 &&
	cl_has rss-broken err '^memgc check: peak RSS [0-9.]+ MiB \([0-9]+ B\) of pid [0-9]+ \(figures\) breaks --max-peak-rss 32\.0 MiB \(33554432 B\)' &&
	mg_pass "64 MiB touched breaks --max-peak-rss 32M"
cl_run rss-held 0 "$MEMGC" check --max-peak-rss 256M -- "$FIG" rss=64 && mg_pass "and holds 256M"

# PROG's own failure: 2, and with a broken budget 3
cl_run prog-failed 2 "$MEMGC" check --max-peak-live 1M -- "$FIG" live=1000 exit=3 &&
	cl_has prog-failed err "^memgc check: $FIG failed: exit status 3\$" && mg_pass "PROG exits 3: 2"
cl_run prog-killed 6 "$MEMGC" check --max-peak-live 1M -- "$FIG" live=1000 sleep=10 kill=9 &&
	cl_has prog-killed err "^memgc check: $FIG failed: killed by signal 9 \(Killed\)\$" &&
	cl_has prog-killed err '^memgc check: no process of the run wrote a report' &&
	mg_pass "PROG killed before writing its report: 2 and 4"
cl_run both 3 "$MEMGC" check --max-peak-live 10 -- "$FIG" live=1000 exit=1 && mg_pass "budget broken and PROG failed: 3"

# leaks: 3 blocks of 1000 bytes lost from leak_here are leaked bytes 3000
cl_run leak-broken 1 "$MEMGC" check --max-leaked 2999 -- "$FIG" leak=3,1000 &&
	cl_has leak-broken err '^memgc check: leaked 2\.9 KiB \(3000 B\) of pid [0-9]+ \(figures\) breaks --max-leaked 2\.9 KiB \(2999 B\); leaked at: 2\.9 KiB in 3 direct objects at leak_here' &&
	mg_pass "leaked 3000 over --max-leaked 2999: 1, naming leak_here"
cl_run leak-held 0 "$MEMGC" check --max-leaked 3000 -- "$FIG" leak=3,1000 &&
	mg_pass "leaked 3000 within --max-leaked 3000"
cl_run leak-none 0 "$MEMGC" check --max-leaked 0 -- "$FIG" keep=3,1000 live=5000 &&
	mg_pass "nothing leaked (kept and freed blocks): --max-leaked 0 holds"
cl_run leak-off 4 "$MEMGC" check -o leak_check=0 --max-leaked 0 -- "$FIG" leak=3,1000 &&
	cl_has leak-off err '^memgc check: max-leaked: leaked of pid [0-9]+ \(figures\) cannot be checked: no leak figures in its report' &&
	mg_pass "leak_check=0: --max-leaked cannot be checked: 4"

# --json: the reports and the verdicts
cl_run json 1 "$MEMGC" check --max-peak-live 100000 --max-peak-rss 1G --max-total-peak-live 99999 \
	--json "$T/c.json" -- "$FIG" live=100000
cl_py "--json: the run, its report and the exact verdicts" - "$T/c.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
c, p = d["check"], d["processes"]
pid = p[0]["pid"]
want = [("max-peak-live", "peak_live_bytes", pid, 100000, 100000, True),
        ("max-peak-rss", "peak_rss_bytes", pid, p[0]["heap"]["peak_rss_bytes"], 1 << 30, True),
        ("max-total-peak-live", "peak_live_bytes", None, 100000, 99999, False)]
have = [(v["name"], v["figure"], v["pid"], v["value"], v["limit"], v["held"]) for v in c["verdicts"]]
bad = []
if have != want:
    bad.append("verdicts %r, want %r" % (have, want))
if (c["passed"], c["exit_code"], d["memgc_run"], d["status"], len(p)) != (False, 1, 1, 0, 1):
    bad.append("check %r" % c)
if bad: print("\n".join(bad))
sys.exit(1 if bad else 0)
PY

# --junit: one testcase per budget and process, and one for PROG's status
cl_run junit 1 "$MEMGC" check --max-peak-live 50000 --max-total-peak-live 1M --junit "$T/j.xml" \
	-- "$FIG" fork=2 live=60000
if command -v xmllint >/dev/null 2>&1; then
	xmllint --noout "$T/j.xml" && mg_pass "--junit: well-formed XML (xmllint)" || mg_fail "--junit: xmllint"
fi
cl_py "--junit: test cases, failures and their messages" - "$T/j.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
bad = []
suites = root.findall("testsuite")
if root.tag != "testsuites" or len(suites) != 1:
    sys.exit("root %s with %d suites" % (root.tag, len(suites)))
s = suites[0]
cases = s.findall("testcase")
names = sorted((c.get("name"), c.get("classname").split(".pid")[0]) for c in cases)
want = sorted([("exit status", "memgc.figures")] + [("max-peak-live", "memgc.figures")] * 3
              + [("max-total-peak-live", "memgc.total")])
if names != want:
    bad.append("cases %r, want %r" % (names, want))
fails = [c for c in cases if c.find("failure") is not None]
msgs = sorted(c.find("failure").get("message") for c in fails)
if len(fails) != 2 or not all(m.startswith("peak live 58.6 KiB (60000 B) of pid ") and
                              m.endswith("over the limit 48.8 KiB (50000 B)") for m in msgs):
    bad.append("failures %r" % msgs)
for el in (root, s):
    if (el.get("tests"), el.get("failures"), el.get("errors")) != ("5", "2", "0"):
        bad.append("%s counts %r" % (el.tag, el.attrib))
# what Jenkins' JUnit reader takes (its junit-10 schema): these elements,
# these attributes, the required ones present
allowed = {"testsuites": ({"name", "time", "tests", "failures", "errors"}, set(), {"testsuite"}),
           "testsuite": ({"name", "tests", "failures", "errors", "skipped", "time", "timestamp",
                          "hostname", "id", "package", "file", "group", "log", "url"},
                         {"name", "tests", "failures", "errors"}, {"testcase", "properties"}),
           "testcase": ({"name", "classname", "time", "group"}, {"name"}, {"failure", "error"}),
           "failure": ({"type", "message"}, set(), set()),
           "error": ({"type", "message"}, set(), set())}
for el in root.iter():
    if el.tag not in allowed:
        bad.append("element %s" % el.tag)
        continue
    ok, need, kids = allowed[el.tag]
    if not need <= set(el.attrib) <= ok or not {k.tag for k in el} <= kids:
        bad.append("%s with %r and %r" % (el.tag, sorted(el.attrib), [k.tag for k in el]))
if bad: print("\n".join(bad))
sys.exit(1 if bad else 0)
PY

# --baseline: a previous --json, a memgc run --report, a process's own report
cl_run base 0 "$MEMGC" check --max-peak-live 1M --json "$T/base.json" -- "$FIG" live=100000
cl_run base-ok 0 "$MEMGC" check --baseline "$T/base.json" -- "$FIG" live=105000 &&
	cl_has base-ok out '^memgc check: against the baseline .*/base\.json \(1 process\), tolerance 10%$' &&
	cl_has base-ok out '^  pid [0-9]+ \(figures\) +peak live +97\.7 KiB +102\.5 KiB +\+5\.0% +107\.4 KiB +ok$' &&
	mg_pass "baseline: +5% within the default 10%: 0, and the table row"
cl_run base-over 1 "$MEMGC" check --baseline "$T/base.json" --tolerance 2.5 -- "$FIG" live=105000 &&
	cl_has base-over out '^  pid [0-9]+ \(figures\) +peak live +97\.7 KiB +102\.5 KiB +\+5\.0% +100\.1 KiB +OVER$' &&
	cl_has base-over err "^memgc check: peak live 102\.5 KiB \(105000 B\) of pid [0-9]+ \(figures\) is over the baseline's 97\.7 KiB \+ 2\.5% = 100\.1 KiB \(102500 B\)\$" &&
	mg_pass "baseline: +5% over --tolerance 2.5: 1, the table and the line"
cl_run base-run 0 "$MEMGC" run -q --report "$T/run.json" -- "$FIG" live=100000
cl_run base-from-run 1 "$MEMGC" check --baseline "$T/run.json" --tolerance 0 -- "$FIG" live=100001 &&
	cl_has base-from-run out 'peak live .* \+0\.0% .* OVER$' && mg_pass "baseline from memgc run --report: one byte more is over at 0%"
mkdir "$T/own"
MEMGC_OPTIONS="report=$T/own/r.json" LD_PRELOAD="$MEMGC_LIB" "$FIG" live=200000
cl_run base-from-own 0 "$MEMGC" check --baseline "$T/own/r.json" -- "$FIG" live=200000 &&
	mg_pass "baseline from a process's own report"
cl_run base-bad 65 "$MEMGC" check --baseline /etc/passwd -- "$FIG" &&
	cl_lines base-bad err 1 && mg_pass "a baseline that is no report: 65 before PROG runs"
mg_finish
