# stats.sh: memgc stats and memgc collect against a running process, in
# each output format, with exact figures: while target idles nothing in it
# allocates, so the figures the control socket gives must be exactly those
# the process's own API gave (its .stats file).  Also the socket's
# directory (mode 0700, ours) and its removal at exit.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
. "$MEMGC_SRCDIR/tests/control/ctl.sh"
mg_init
ctl_init

# gc=0: no automatic collection may reset the counts between the target's
# own reading and the socket's; watch=off: the write watch's state is known
# on any kernel
CTL_OPTS=gc=0:watch=off ctl_start t churn
pid=$CTL_PID
live=$(ctl_field t "$pid" live_objects)
bytes=$(ctl_field t "$pid" live_bytes)
allocs=$(ctl_field t "$pid" allocations)
deallocs=$(ctl_field t "$pid" deallocations)
count=$(ctl_field t "$pid" count)
version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"/\1/p' "$MEMGC_BUILDDIR/config.h")

# the directory: made by memgc, 0700, ours; the socket in it
if test "$(stat -c '%a %u %F' "$CTL_DIR")" = "700 $(id -u) directory" &&
   test -S "$CTL_DIR/$pid.sock"; then
	mg_pass "dir: $CTL_DIR is a directory of mode 700 owned by uid $(id -u), with $pid.sock"
else
	mg_fail "dir: $(stat -c '%a %u %F' "$CTL_DIR"); $(ls -l "$CTL_DIR")"
fi

# --json: the reply as it is, with the process's own figures
if expect json 0 "$MEMGC" stats "$pid" --json; then
	got=$(json_get json '" ".join(str(x) for x in (r["memgc"], r["ok"], r["cmd"], r["pid"],
		r["version"], r["exe"].endswith("/target"), r["heap"]["live_objects"],
		r["heap"]["live_bytes"], r["heap"]["allocations"], r["heap"]["deallocations"],
		*r["gc"]["count"], *r["gc"]["threshold"], r["write_watch"],
		r["fragmentation_bytes"] == r["heap"]["rss_bytes"] - r["heap"]["live_bytes"]))')
	want="1 True stats $pid $version True $live $bytes $allocs $deallocs $count 1000000 10 10 off: watch=off True"
	if test "$got" = "$want"; then
		mg_pass "json: $want"
	else
		mg_fail "json: got '$got', want '$want'"
	fi
	rss=$(json_get json 'r["heap"]["rss_bytes"]')
	statm=$(($(cut -d' ' -f2 "/proc/$pid/statm") * $(getconf PAGESIZE)))
	if test $((rss * 10)) -ge $((statm * 9)) && test $((rss * 10)) -le $((statm * 11)); then
		mg_pass "json: rss_bytes $rss is within 10% of /proc/$pid/statm's $statm"
	else
		mg_fail "json: rss_bytes $rss, /proc/$pid/statm says $statm"
	fi
	test "$(wc -l <"$MG_TMP/json.out")" = 1 || mg_fail "json: the reply is not one line"
fi

# text: the lines that do not move with RSS, exactly
if expect text 0 "$MEMGC" stats "$pid"; then
	"$PYTHON3" - "$MG_TMP/text.out" "$MG_TMP/json.out" "$TARGET" <<'PY' || mg_fail "text: see above"
import json, sys
text = open(sys.argv[1]).read().splitlines()
r = json.load(open(sys.argv[2]))
h = r["heap"]
def human(b):
    units = ["B", "KiB", "MiB", "GiB", "TiB"]
    v, u = float(b), 0
    while v >= 1024 and u < 4:
        v /= 1024
        u += 1
    return "%d B" % b if u == 0 else "%.1f %s" % (v, units[u])
want = {
    0: "pid %d (%s), memgc %s" % (r["pid"], sys.argv[3], r["version"]),
    2: "  live           %d objects, %s (%d bytes; usable %s)" % (h["live_objects"],
        human(h["live_bytes"]), h["live_bytes"], human(h["live_usable_bytes"])),
    3: "  peak live      %d objects, %s (usable %s)" % (h["peak_live_objects"],
        human(h["peak_live_bytes"]), human(h["peak_usable_bytes"])),
    5: "  allocations    %d, deallocations %d, %s requested in all" % (h["allocations"],
        h["deallocations"], human(h["allocated_bytes"])),
    6: "  errors         0 pointer errors, 0 frees of memory memgc did not hand out",
    7: "  sites          %d allocation sites" % h["sites"],
    8: "  write watch    off: watch=off",
    10: "  generation  count  threshold  collections  collected  uncollectable  pause total  pause max",
}
for g in range(3):
    if "collector" in r:
        gen = r["collector"]["generations"][g]
        want[11 + g] = "  %10d  %5d  %9d  %11d  %9d  %13d  %8.3f ms  %6.3f ms" % (g,
            r["gc"]["count"][g], r["gc"]["threshold"][g], gen["collections"], gen["collected"],
            gen["uncollectable"], gen["pause_ns"] / 1e6, gen["max_pause_ns"] / 1e6)
    else:
        want[11 + g] = "  %10d  %5d  %9d            -          -              -            -          -" % (
            g, r["gc"]["count"][g], r["gc"]["threshold"][g])
bad = 0
if len(text) != 14:
    print("FAIL: text: %d lines, want 14" % len(text))
    bad = 1
for i, line in sorted(want.items()):
    if i >= len(text) or text[i] != line:
        print("FAIL: text line %d is %r, want %r" % (i + 1, text[i] if i < len(text) else None, line))
        bad = 1
for i, start in ((1, "  RSS            "), (4, "  fragmentation  "), (9, "  collector      ")):
    if i >= len(text) or not text[i].startswith(start):
        print("FAIL: text line %d does not start with %r" % (i + 1, start))
        bad = 1
if not bad:
    print("PASS: text: every line as the reply's figures say")
sys.exit(bad)
PY
fi

# --prometheus: the exposition format, every metric with HELP and TYPE
if expect prom 0 "$MEMGC" stats "$pid" --prometheus; then
	"$PYTHON3" - "$MG_TMP/prom.out" "$pid" "$live" "$bytes" "$allocs" <<'PY' || mg_fail "prometheus: see above"
import re, sys
text = open(sys.argv[1]).read()
pid, live, nbytes, allocs = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
bad = []
helped, typed, samples = set(), {}, {}
name_re = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
for line in text.splitlines():
    m = re.fullmatch(r"# HELP (%s) (.+)" % name_re, line)
    if m:
        helped.add(m.group(1))
        continue
    m = re.fullmatch(r"# TYPE (%s) (gauge|counter)" % name_re, line)
    if m:
        typed[m.group(1)] = m.group(2)
        continue
    m = re.fullmatch(r'(%s)\{pid="(\d+)"(?:,generation="([012])")?\} ([0-9.e+-]+)' % name_re, line)
    if not m:
        bad.append("not a sample, HELP or TYPE line: %r" % line)
        continue
    name, p, gen, value = m.groups()
    if name not in helped or name not in typed:
        bad.append("%s: a sample before its HELP and TYPE" % name)
    if typed.get(name) == "counter" and not name.endswith("_total"):
        bad.append("%s: a counter whose name does not end in _total" % name)
    if p != pid:
        bad.append("%s: pid label %s, want %s" % (name, p, pid))
    samples[(name, gen)] = float(value)
want = {("memgc_live_objects", None): live, ("memgc_live_bytes", None): nbytes,
        ("memgc_allocations_total", None): allocs, ("memgc_gc_threshold", "0"): 1000000,
        ("memgc_gc_threshold", "1"): 10, ("memgc_gc_threshold", "2"): 10,
        ("memgc_write_watch", None): 0}
for k, v in want.items():
    if samples.get(k) != v:
        bad.append("%s%s is %s, want %s" % (k[0], "" if k[1] is None else "{generation=%s}" % k[1],
                                            samples.get(k), v))
if not samples.get(("process_resident_memory_bytes", None), 0) > 0:
    bad.append("process_resident_memory_bytes is missing or 0")
try:
    from prometheus_client.parser import text_string_to_metric_families
    n = sum(len(f.samples) for f in text_string_to_metric_families(text))
    if n != len(samples):
        bad.append("prometheus_client reads %d samples, want %d" % (n, len(samples)))
    how = "and by prometheus_client's parser"
except ImportError:
    how = "(prometheus_client is not installed)"
for b in bad:
    print("FAIL: prometheus: " + b)
if not bad:
    print("PASS: prometheus: %d samples, each after its HELP and TYPE, read by a strict "
          "check %s" % (len(samples), how))
sys.exit(1 if bad else 0)
PY
fi

# collect: RSS before and after, and the figures are the process's
if expect collect_json 0 "$MEMGC" collect "$pid" --json; then
	got=$(json_get collect_json '"%s %s %s %s" % (r["ok"], r["cmd"], r["pid"], r["generation"])')
	test "$got" = "True collect $pid 2" && mg_pass "collect --json: $got" ||
		mg_fail "collect --json: '$got', want 'True collect $pid 2'"
	before=$(json_get collect_json 'r["rss_before"]')
	after=$(json_get collect_json 'r["rss_after"]')
	# the churn freed 63 of every 64 small objects; the pages between the
	# ones it kept stay resident in their slabs until the trim drops
	# them
	if test "$after" -gt 0 && test $((before - after)) -ge $((32 << 20)) &&
	   test $((after * 2)) -lt "$before"; then
		mg_pass "collect: RSS $before -> $after bytes, more than 32 MiB and half given back"
	else
		mg_fail "collect: RSS $before -> $after bytes"
	fi
fi
for g in 0 1; do
	expect "collect_g$g" 0 "$MEMGC" collect "$pid" -g "$g" --json &&
		test "$(json_get "collect_g$g" 'r["generation"]')" = "$g" &&
		mg_pass "collect -g $g: generation $g" || mg_fail "collect -g $g"
done
if expect collect_text 0 "$MEMGC" collect "$pid" --generation=1; then
	if grep -Eq "^pid $pid: (trimmed in [0-9]+\.[0-9]{3} ms; no collection: this memgc has no collector yet|collected generations 0 to 1 and trimmed in [0-9]+\.[0-9]{3} ms \(world stopped [0-9]+\.[0-9]{3} ms\))$" "$MG_TMP/collect_text.out" &&
	   grep -Eq '^  RSS          [0-9.]+ [KMG]?i?B -> [0-9.]+ [KMG]?i?B \([0-9.]+ [KMG]?i?B (given back|more)\)$' "$MG_TMP/collect_text.out"; then
		mg_pass "collect text: $(head -n 1 "$MG_TMP/collect_text.out")"
	else
		mg_fail "collect text: $(cat "$MG_TMP/collect_text.out")"
	fi
fi
# collecting changed no figure of the program's objects
if expect json2 0 "$MEMGC" stats "$pid" --json; then
	got=$(json_get json2 '"%d %d %d %d" % (r["heap"]["live_objects"], r["heap"]["live_bytes"],
		r["heap"]["allocations"], r["heap"]["deallocations"])')
	test "$got" = "$live $bytes $allocs $deallocs" && mg_pass "after collect: the same live figures" ||
		mg_fail "after collect: '$got', want '$live $bytes $allocs $deallocs'"
fi

# --help
for verb in stats collect; do
	if expect "help_$verb" 0 "$MEMGC" "$verb" --help && test ! -s "$MG_TMP/help_$verb.err" &&
	   grep -q "^usage: memgc $verb PID" "$MG_TMP/help_$verb.out" &&
	   grep -q "^Exit status: 0; 64 usage; 69" "$MG_TMP/help_$verb.out"; then
		mg_pass "$verb --help: $(head -n 1 "$MG_TMP/help_$verb.out")"
	else
		mg_fail "$verb --help: $(head -n 2 "$MG_TMP/help_$verb.out")"
	fi
done

# exit: the socket goes with the process; nothing on its stderr
ctl_stop t
test ! -e "$CTL_DIR/$pid.sock" && mg_pass "exit: $pid.sock removed" ||
	mg_fail "exit: $pid.sock is still there"
test ! -s "$MG_TMP/t.err" && mg_pass "the target's stderr is empty" ||
	mg_fail "the target's stderr: $(head -n 3 "$MG_TMP/t.err")"
mg_finish
