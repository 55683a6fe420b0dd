# python.sh: CPython running python_prog.py (containers, cycles, threads, a
# preloaded subprocess, json) is the same with and without memgc, with
# pymalloc (the default) and with PYTHONMALLOC=malloc, where every object
# goes through memgc.  Then the JSON reports of both processes (parent and
# child) show memgc really accounted for them.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
mg_init
export PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1
unset PYTHONMALLOC PYTHONPATH PYTHONSTARTUP
prog=$MG_TESTDIR/python_prog.py

mg_compare python-pymalloc "$PYTHON3" -s "$prog"
PYTHONMALLOC=malloc mg_compare python-malloc "$PYTHON3" -s "$prog"

# The same run with an exit report per process ("%p" is the pid).
mkdir "$MG_TMP/rep"
PYTHONMALLOC=malloc MG_OPTS="report=$MG_TMP/rep/%p.json" \
	mg_compare python-malloc-report "$PYTHON3" -s "$prog"
if "$PYTHON3" - "$MG_TMP/rep" <<'PY'
import glob, json, sys
reps = [json.load(open(f)) for f in sorted(glob.glob(sys.argv[1] + "/*.json"))]
ok = len(reps) == 2
print("reports:", len(reps), "(want 2: the script and its subprocess)")
pids = {r["pid"] for r in reps}
for r in reps:
    h = r["heap"]
    child = r["ppid"] in pids
    # the parent builds a 200000-entry dict of lists: millions of objects
    want = 50000 if child else 1000000
    good = (h["allocations"] >= want and h["deallocations"] <= h["allocations"]
            and h["live_objects"] == h["allocations"] - h["deallocations"]
            and h["errors"] == 0 and h["peak_live_objects"] >= h["live_objects"])
    print("child" if child else "parent", "allocations", h["allocations"],
          "errors", h["errors"], "ok" if good else "BAD")
    ok = ok and good
sys.exit(0 if ok else 1)
PY
then
	mg_pass "python-malloc-report: both processes accounted"
else
	mg_fail "python-malloc-report: the reports do not show the allocations"
fi
mg_finish
