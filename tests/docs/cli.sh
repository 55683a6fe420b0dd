#!/bin/sh
# cli.sh: man/memgc.1 documents every verb, flag and exit status of the
# memgc command, as the command's own help lists them.
#
# `memgc --help` lists the verbs ("  memgc VERB ..."); each must have an
# ".Ss memgc VERB" block under DESCRIPTION and a ".Cm VERB" in SYNOPSIS.
# Every flag that `memgc VERB --help` names (--long or -x) must be a ".Fl"
# of that verb's block (-h and --help may be in DESCRIPTION instead), and
# --help and --version of `memgc --help` must be in the page.  Every exit
# status a help text gives (the numbers of its "exit status" paragraph)
# must be an ".It N" of the page.  Exit 0 when they agree, 1 with one line
# per difference.
set -u
: "${MEMGC_SRCDIR:?}" "${MEMGC_BUILDDIR:?}"
py=${PYTHON3:-python3}
"$py" -c pass 2>/dev/null || { echo "cli.sh: no python3: skipped"; exit 77; }
memgc=$MEMGC_BUILDDIR/memgc
[ -x "$memgc" ] || { echo "cli.sh: $memgc is not built"; exit 99; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/memgc-clidoc.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
"$memgc" --help >"$tmp/memgc" || { echo "FAIL: memgc --help exits $?"; exit 1; }
for v in $(sed -n 's/^  memgc \([a-z]*\).*/\1/p' "$tmp/memgc"); do
	"$memgc" "$v" --help >"$tmp/$v" || { echo "FAIL: memgc $v --help exits $?"; exit 1; }
done

"$py" - "$MEMGC_SRCDIR/man/memgc.1" "$tmp" <<'PY'
import os, re, sys

page, tmp = sys.argv[1], sys.argv[2]
main = open(os.path.join(tmp, "memgc")).read()
verbs = re.findall(r"^  memgc (\w+)", main, re.M)
helps = {v: open(os.path.join(tmp, v)).read() for v in verbs}

synopsis, blocks, description, items, anywhere = set(), {}, "", set(), ""
section, block = None, None
for line in open(page, encoding="utf-8"):
    anywhere += line
    if line.startswith(".Sh "):
        section, block = line[4:].strip(), None
        continue
    if section == "DESCRIPTION" and line.startswith(".Ss "):
        m = re.match(r"^\.Ss memgc (\w+)", line)
        block = m.group(1) if m else None
        if block:
            blocks[block] = ""
        continue
    if section == "SYNOPSIS":
        synopsis.update(re.findall(r"^\.Cm (\w+)", line))
    if section == "DESCRIPTION":
        if block:
            blocks[block] += line
        else:
            description += line
    m = re.match(r"^\.It (\d+)\s*$", line)
    if m:
        items.add(m.group(1))

def fl(flag):
    # --report is ".Fl -report", -o is ".Fl o"
    return re.compile(r"\bFl %s(?![\w-])" % re.escape(flag[1:]))

def flags(text):
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w-])", text))

def statuses(text):
    m = re.search(r"exit status:?(.*)", text, re.S | re.I)
    return set(re.findall(r"(?<![+\d])\b(\d+)\b(?!\+)", m.group(1))) if m else set()

bad = 0
def fail(msg):
    global bad
    bad += 1
    print("FAIL: " + msg)

if not verbs:
    fail("memgc --help lists no verb")
for v in verbs:
    if v not in synopsis:
        fail("verb %s is not a .Cm of SYNOPSIS in man/memgc.1" % v)
    if v not in blocks:
        fail("verb %s has no '.Ss memgc %s' block under DESCRIPTION" % (v, v))
        continue
    for f in sorted(flags(helps[v])):
        where = blocks[v] + (description if f in ("-h", "--help") else "")
        if not fl(f).search(where):
            fail("memgc %s --help names %s, not a .Fl of '.Ss memgc %s'" % (v, f, v))
for f in sorted(flags(main)):
    if not fl(f).search(anywhere):
        fail("memgc --help names %s, not in man/memgc.1" % f)
for name, text in [("memgc", main)] + sorted(helps.items()):
    for n in sorted(statuses(text), key=int):
        if n not in items:
            fail("%s --help gives exit status %s, not an '.It %s' of man/memgc.1" % (name, n, n))
print("cli.sh: %d verbs, %d flags, %d exit statuses checked, %d problems"
      % (len(verbs), len(set().union(*(flags(h) for h in helps.values()))) if helps else 0,
         len(set().union(statuses(main), *(statuses(h) for h in helps.values()))), bad))
sys.exit(1 if bad else 0)
PY
