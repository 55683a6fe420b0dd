# edges.sh: the edge cases of every allocation entry point and of the memgc
# API, checked one per line by the program edges under the preload; then
# the JSON report it wrote with memgc_write_report() parses and has the
# documented members.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
mg_init
mg_run_preloaded edges "$MG_BINDIR/edges" "$MG_TMP/edges.%p.json"
out=$MG_TMP/edges.pre
cat "$out.out"
if test "$(cat "$out.rc")" != 0; then
	mg_fail "edges: exit status $(cat "$out.rc") (failed checks above)"
fi
if grep -v '^ok ' "$out.out" | grep -v '^0 failed$' | grep -q .; then
	mg_fail "edges: $(grep -c '^FAIL' "$out.out") check(s) failed"
fi
if test -s "$out.err"; then
	mg_fail "edges: memgc or the program wrote on stderr:"
	head -n 20 "$out.err"
fi
n=$(grep -c '^ok ' "$out.out")
test "$n" -ge 70 || mg_fail "edges: only $n checks passed"

# The report: one file, named after the pid, that parses and holds every
# documented member.
if "$PYTHON3" - "$MG_TMP" <<'PY'
import glob, json, os, sys
files = glob.glob(os.path.join(sys.argv[1], "edges.*.json"))
if len(files) != 1:
    sys.exit("want one report, have %r" % files)
r = json.load(open(files[0]))
pid = int(files[0].rsplit(".", 2)[1])
heap_keys = ["allocations", "deallocations", "live_objects", "live_bytes",
             "live_usable_bytes", "peak_live_objects", "peak_live_bytes",
             "peak_usable_bytes", "allocated_bytes", "foreign_frees", "errors",
             "rss_bytes", "peak_rss_bytes", "sites", "live_page_bytes"]
top = ["memgc_report", "version", "pid", "ppid", "exe", "argv", "options", "heap",
       "gc", "collector", "leaks", "top_sites"]
problems = []
if list(r) != top:
    problems.append("members %r, want %r" % (list(r), top))
if r.get("pid") != pid:
    problems.append("pid %r, file named for %d" % (r.get("pid"), pid))
h = r.get("heap", {})
if list(h) != heap_keys or not all(isinstance(h[k], int) for k in h):
    problems.append("heap members %r" % list(h))
elif h["live_objects"] != h["allocations"] - h["deallocations"] or h["live_objects"] < 5:
    problems.append("heap figures %r" % h)
elif h["errors"] != 0:
    problems.append("errors %d" % h["errors"])
elif h["live_page_bytes"] % os.sysconf("SC_PAGE_SIZE") or \
        not os.sysconf("SC_PAGE_SIZE") <= h["live_page_bytes"] <= h["rss_bytes"]:
    problems.append("live_page_bytes %d: whole pages, at least one, at most RSS %d"
                    % (h["live_page_bytes"], h["rss_bytes"]))
if not r.get("exe", "").endswith("/edges") or r.get("argv", [None])[1:] != [sys.argv[1] + "/edges.%p.json"]:
    problems.append("exe %r argv %r" % (r.get("exe"), r.get("argv")))
g = r.get("gc", {})
if g.get("threshold") != [1000000, 10, 10] or len(g.get("count", [])) != 3:
    problems.append("gc %r" % g)
# the 5 objects of 777 bytes live while the report was written are one site
sites = [s for s in r.get("top_sites", []) if s["live_bytes"] == 5 * 777]
if len(sites) != 1 or sites[0]["live_objects"] != 5 or len(sites[0]["frames"]) != 1:
    problems.append("no site with the 5 objects of 777 bytes: %r" % r.get("top_sites"))
elif sites[0]["frames"][0]["module"] != r["exe"]:
    problems.append("the site's frame is in %r" % sites[0]["frames"][0]["module"])
for p in problems:
    print("report:", p)
print("report: %s, %d top sites, live_objects %d" % (os.path.basename(files[0]),
      len(r.get("top_sites", [])), h.get("live_objects", -1)))
sys.exit(1 if problems else 0)
PY
then
	mg_pass "edges: the report parses and has the documented members"
else
	mg_fail "edges: the report"
fi
mg_finish
