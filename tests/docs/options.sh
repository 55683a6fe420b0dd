#!/bin/sh
# options.sh: man/memgc.7 documents exactly the options of lib/options.c.
#
# Compares the options that `MEMGC_OPTIONS=help=1` prints (made from the one
# table in lib/options.c) with the items of the OPTIONS list of memgc.7,
# written ".It Cm NAME Ns = Ns Ar TYPE Pq default Ql DEFAULT": the same names,
# in the same order, each with the default that help prints, and each
# entry's text naming every number of help's "accepts" column (the range).
# Exit 0 when they agree, 1 with one line per difference, 77 to skip.
set -u
: "${MEMGC_SRCDIR:?}" "${MEMGC_LIB:?}"
py=${PYTHON3:-python3}
"$py" -c pass 2>/dev/null || { echo "options.sh: no python3: skipped"; exit 77; }
[ -f "$MEMGC_LIB" ] || { echo "options.sh: $MEMGC_LIB is not built"; exit 99; }

help=$(MEMGC_OPTIONS=help=1 LD_PRELOAD="$MEMGC_LIB" /bin/true 2>&1 >/dev/null)
[ -n "$help" ] || { echo "options.sh: MEMGC_OPTIONS=help=1 printed nothing"; exit 1; }

MG_HELP=$help exec "$py" - "$MEMGC_SRCDIR/man/memgc.7" <<'PY'
import os, re, sys

page = sys.argv[1]

# help=1: "  NAME  purpose" then "    default D; now V; accepts A".
helped = []          # (name, default, accepts), in table order
name = None
for line in os.environ["MG_HELP"].splitlines():
    m = re.match(r"^  ([a-z0-9_]+) ", line)
    if m:
        name = m.group(1)
        continue
    m = re.match(r"^ +default (.*); now .*; accepts (.*)$", line)
    if m and name:
        helped.append((name, m.group(1), m.group(2)))
        name = None
if not helped:
    sys.exit("options.sh: cannot read the output of MEMGC_OPTIONS=help=1")

# memgc.7: the items of the first list under ".Sh OPTIONS".
documented = []      # (name, default, body text), in page order
section = None
cur = None
for line in open(page, encoding="utf-8"):
    line = line.rstrip("\n")
    if line.startswith(".Sh "):
        section = line[4:].strip()
        continue
    if section != "OPTIONS":
        continue
    m = re.match(r"^\.It Cm ([a-z0-9_]+) Ns = Ns .*\bPq default Ql (.+?)\s*$", line)
    if m:
        cur = [m.group(1), m.group(2).replace(r"\(dq", '"'), ""]
        documented.append(cur)
    elif line.startswith(".It ") or line.startswith(".El"):
        cur = None
    elif cur is not None:
        cur[2] += " " + line
if not documented:
    sys.exit("options.sh: no option items (.It Cm NAME ... Pq default Ql X) "
             "under .Sh OPTIONS in " + page)

bad = 0
def fail(msg):
    global bad
    bad += 1
    print("FAIL: " + msg)

hnames = [h[0] for h in helped]
dnames = [d[0] for d in documented]
for n in hnames:
    if n not in dnames:
        fail("option '%s' is printed by help=1 but missing from man/memgc.7" % n)
for n in dnames:
    if n not in hnames:
        fail("option '%s' is in man/memgc.7 but help=1 (lib/options.c) has no such option" % n)
for n in set(dnames):
    if dnames.count(n) > 1:
        fail("option '%s' is documented %d times in man/memgc.7" % (n, dnames.count(n)))
common = [n for n in hnames if n in dnames]
if [n for n in dnames if n in hnames] != common:
    fail("man/memgc.7 lists the options in another order than lib/options.c: "
         + " ".join(common))

doc = {d[0]: d for d in documented}
for n, default, accepts in helped:
    if n not in doc:
        continue
    if doc[n][1] != default:
        fail("option '%s': man/memgc.7 says default %s, help=1 prints default %s"
             % (n, doc[n][1], default))
    words = set(re.findall(r"[0-9]+", doc[n][2]))
    for num in re.findall(r"[0-9]+", accepts):
        if num not in words:
            fail("option '%s': help=1 accepts '%s', but its entry in man/memgc.7 "
                 "does not mention %s" % (n, accepts, num))

print("options.sh: %d options printed by help=1, %d documented in man/memgc.7, %d problems"
      % (len(hnames), len(dnames), bad))
sys.exit(1 if bad else 0)
PY
