#!/bin/sh
# api.sh: the public API is the same in the library, the header and the page.
#
# Every memgc_* symbol that the built libmemgc.so exports (nm -D
# --defined-only) must be declared as a function in include/memgc.h and
# documented in man/libmemgc.3: an .Nm in NAME, an .Fn (or .Fo) in SYNOPSIS
# and an ".It Fn" entry that describes it.  Every memgc_* function that the
# header declares or the page names with .Fn, .Fo or .Nm must be exported.
# Exit 0 when all three agree, 1 with one line per difference.
set -u
: "${MEMGC_SRCDIR:?}" "${MEMGC_LIB:?}"
py=${PYTHON3:-python3}
"$py" -c pass 2>/dev/null || { echo "api.sh: no python3: skipped"; exit 77; }
command -v nm >/dev/null 2>&1 || { echo "api.sh: no nm: skipped"; exit 77; }
[ -f "$MEMGC_LIB" ] || { echo "api.sh: $MEMGC_LIB is not built"; exit 99; }

syms=$(nm -D --defined-only "$MEMGC_LIB") || { echo "api.sh: nm failed"; exit 99; }

MG_SYMS=$syms exec "$py" - "$MEMGC_SRCDIR/include/memgc.h" "$MEMGC_SRCDIR/man/libmemgc.3" <<'PY'
import os, re, sys

header, page = sys.argv[1], sys.argv[2]

exported = set()
for line in os.environ["MG_SYMS"].splitlines():
    f = line.split()
    if f and f[-1].startswith("memgc_"):
        exported.add(f[-1].split("@")[0])

text = open(header, encoding="utf-8").read()
text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
text = re.sub(r"//[^\n]*", " ", text)
declared = set(re.findall(r"\b(memgc_\w+)\s*\(", text))

named = set()                       # anywhere in the page
in_name, in_synopsis, described = set(), set(), set()
section = None
for line in open(page, encoding="utf-8"):
    if line.startswith(".Sh "):
        section = line[4:].strip()
        continue
    m = re.match(r"^\.(Fn|Fo|Nm|It Fn)\s+\"?(memgc_\w+)", line)
    if not m:
        continue
    macro, name = m.groups()
    named.add(name)
    if section == "NAME" and macro == "Nm":
        in_name.add(name)
    elif section == "SYNOPSIS" and macro in ("Fn", "Fo"):
        in_synopsis.add(name)
    elif macro == "It Fn":
        described.add(name)

bad = 0
def check(have, have_what, want, want_what):
    global bad
    for n in sorted(have - want):
        bad += 1
        print("FAIL: %s is %s but not %s" % (n, have_what, want_what))

check(exported, "exported by libmemgc.so", declared, "declared in include/memgc.h")
check(exported, "exported by libmemgc.so", in_name, "in NAME of man/libmemgc.3 (.Nm)")
check(exported, "exported by libmemgc.so", in_synopsis, "in SYNOPSIS of man/libmemgc.3 (.Fn)")
check(exported, "exported by libmemgc.so", described, "described in man/libmemgc.3 (.It Fn)")
check(declared, "declared in include/memgc.h", exported, "exported by libmemgc.so")
check(named, "documented in man/libmemgc.3", exported, "exported by libmemgc.so")
if not exported:
    bad += 1
    print("FAIL: libmemgc.so exports no memgc_* symbol")
print("api.sh: %d exported, %d declared, %d documented, %d problems"
      % (len(exported), len(declared), len(named), bad))
sys.exit(1 if bad else 0)
PY
