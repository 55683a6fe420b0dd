#!/bin/sh
# json.sh: every key of the JSON report is documented, and nothing else.
#
# Writes reports (MEMGC_OPTIONS=report=...) under a small python3 run, walks
# every key with its path (heap.live_bytes, top_sites.frames.ip; arrays are
# transparent) and compares them with the nested ".It Li KEY" lists under
# ".Ss The JSON report" in man/libmemgc.3.  The members of "options" are
# the options, documented in man/memgc.7 (one ".It Cm NAME" each under
# .Sh OPTIONS).  Exit 0 when they agree, 1 with one line per difference.
set -u
: "${MEMGC_SRCDIR:?}" "${MEMGC_LIB:?}"
py=${PYTHON3:-python3}
"$py" -c pass 2>/dev/null || { echo "json.sh: no python3: skipped"; exit 77; }
[ -f "$MEMGC_LIB" ] || { echo "json.sh: $MEMGC_LIB is not built"; exit 99; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/memgc-json.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

# %p: a python3 that is a wrapper script runs more than one process.
PYTHONMALLOC=malloc MEMGC_OPTIONS="report=$tmp/r-%p.json" LD_PRELOAD="$MEMGC_LIB" \
	"$py" -c '
import ctypes
keep = [bytearray(1000 + i) for i in range(100)]
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
for i in range(3):          # 2-object rings, dropped: the leak check lists cycles
    a, b = libc.malloc(32), libc.malloc(32)
    ctypes.c_void_p.from_address(a).value = b
    ctypes.c_void_p.from_address(b).value = a
a = b = None' ||
	{ echo "json.sh: python3 failed under the preload"; exit 1; }

"$py" - "$MEMGC_SRCDIR/man/libmemgc.3" "$MEMGC_SRCDIR/man/memgc.7" "$tmp"/r-*.json <<'PY'
import json, re, sys

page3, page7, reports = sys.argv[1], sys.argv[2], sys.argv[3:]

written, options = set(), set()
def walk(v, path):
    if isinstance(v, dict):
        for k, x in v.items():
            p = path + (k,)
            written.add(".".join(p))
            if p == ("options",):
                options.update(x)
            else:
                walk(x, p)
    elif isinstance(v, list):
        for x in v:
            walk(x, path)

frames = 0
for r in reports:
    try:
        with open(r, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit("FAIL: %s is not a JSON report: %s" % (r, e))
    walk(doc, ())
    frames += sum(len(s.get("frames", [])) for s in doc.get("top_sites", []))
if frames == 0:
    sys.exit("FAIL: no report lists a site with frames, so their keys cannot be checked")

# libmemgc.3: nested lists under ".Ss The JSON report"; ".It Li KEY" at list
# depth d is the key below the item of depth d-1 that contains it.
documented = set()
inside, depth, stack = False, 0, []
for line in open(page3, encoding="utf-8"):
    if line.startswith(".Ss ") or line.startswith(".Sh "):
        inside = line.strip() == ".Ss The JSON report"
        continue
    if not inside:
        continue
    if line.startswith(".Bl"):
        depth += 1
    elif line.startswith(".El"):
        depth -= 1
        del stack[depth:]
    else:
        m = re.match(r"^\.It Li (\w+)\s*$", line)
        if m and depth > 0:
            del stack[depth - 1:]
            stack.append(m.group(1))
            documented.add(".".join(stack))
if not documented:
    sys.exit("FAIL: no '.It Li KEY' items under '.Ss The JSON report' in " + page3)

option_names = set()
section = None
for line in open(page7, encoding="utf-8"):
    if line.startswith(".Sh "):
        section = line[4:].strip()
    elif section == "OPTIONS":
        m = re.match(r"^\.It Cm (\w+) ", line)
        if m:
            option_names.add(m.group(1))

bad = 0
for k in sorted(written - documented):
    bad += 1
    print("FAIL: the report has the key %s, not documented in man/libmemgc.3" % k)
for k in sorted(documented - written):
    bad += 1
    print("FAIL: man/libmemgc.3 documents the key %s, which the report does not have" % k)
for k in sorted(options - option_names):
    bad += 1
    print("FAIL: the report has the key options.%s, not an option of man/memgc.7" % k)
for k in sorted(option_names - options):
    bad += 1
    print("FAIL: man/memgc.7 documents the option %s, missing from the report's options" % k)
print("json.sh: %d keys and %d options in %d report(s), %d problems"
      % (len(written), len(options), len(reports), bad))
sys.exit(1 if bad else 0)
PY
