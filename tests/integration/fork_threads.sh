# fork_threads.sh: fork_threads (four threads passing objects round a ring
# while the main thread forks 24 children that allocate on three threads)
# runs the same with and without memgc, with balanced counts in the parent
# and in every child; again with deep stacks (libunwind in forked
# children), and with a report from every process.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
mg_init
prog=$MG_BINDIR/fork_threads
for i in 1 2 3; do
	mg_compare fork-threads-$i "$prog"
done
grep -q '^parent: balanced$' "$MG_TMP/fork-threads-1.plain.out" ||
	mg_fail "fork-threads: the program did not run to its end"

MG_OPTS=stack_depth=8 mg_compare fork-threads-deep "$prog"
if grep -q '^memgc: ' "$MG_TMP/fork-threads-deep.pre.err"; then
	mg_fail "fork-threads-deep: memgc printed:"
	head "$MG_TMP/fork-threads-deep.pre.err"
fi

mkdir "$MG_TMP/rep"
MG_OPTS="report=$MG_TMP/rep/%p.json" mg_compare fork-threads-reports "$prog"
if "$PYTHON3" - "$MG_TMP/rep" <<'PY'
import glob, json, sys
reps = [json.load(open(f)) for f in glob.glob(sys.argv[1] + "/*.json")]
pids = {r["pid"] for r in reps}
parents = [r for r in reps if r["ppid"] not in pids]
children = [r for r in reps if r["ppid"] in pids]
ok = len(parents) == 1 and len(children) == 24
ok = ok and all(c["ppid"] == parents[0]["pid"] for c in children)
ok = ok and all(r["heap"]["errors"] == 0 and r["heap"]["foreign_frees"] == 0 for r in reps)
print("reports: %d parent(s), %d children, errors %s" % (len(parents), len(children),
      sorted({r["heap"]["errors"] for r in reps})))
sys.exit(0 if ok else 1)
PY
then
	mg_pass "fork-threads-reports: one report per process, no errors"
else
	mg_fail "fork-threads-reports"
fi
mg_finish
