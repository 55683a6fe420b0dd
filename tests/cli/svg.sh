#!/bin/sh
# svg.sh: memgc report --svg draws a run's timeline, and a browser renders
# it.  A program holds 8 MB live (never touched, so that the two lines stay
# apart whether or not the allocator touches them) and touches 30 MiB more
# for a moment, sampled every 5 ms; the chart has an RSS and a live-bytes
# line through every sample, and headless Chromium, given the file, parses
# it as SVG (its DOM has both lines and no parser error) and paints both
# lines across the plot (counted in its screenshot by colour).  Skipped
# (77) only when Chromium is missing or cannot start here.
. "$MEMGC_SRCDIR/tests/cli/lib.sh"
cl_init

cl_run run 0 "$MEMGC" run -q --timeline 5 --report "$T/r.json" -- \
	"$FIG" sleep=60 keep=1,8000000 sleep=100 rss=30 sleep=100
cl_run svg 0 "$MEMGC" report "$T/r.json" --svg "$T/c.svg" && cl_lines svg out 0 &&
	mg_pass "--svg writes the chart and nothing else"
cl_py "the SVG: two lines through every sample" - "$T/c.svg" "$T/r.json" <<'PY'
import json, sys, xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
lines = root.findall(".//%spolyline" % ns)
bad = []
if root.tag != ns + "svg" or len(lines) != 2:
    bad.append("root %s, %d polylines" % (root.tag, len(lines)))
# x of sample i: the plot's 850 pixels from x=86 span 0 to the last t_ms
t = [x["t_ms"] for x in json.load(open(sys.argv[2]))["processes"][0]["timeline"]]
want = ["%.1f" % (86 + ti * (850 / t[-1])) for ti in t]
for l in lines:
    xs = [p.split(",")[0] for p in l.get("points").split()]
    if xs != want:
        bad.append("%s: x %r, want %r" % (l.get("stroke"), xs[:3], want[:3]))
if [l.get("stroke") for l in lines] != ["#1f77b4", "#d62728"]:
    bad.append("colours %r" % [l.get("stroke") for l in lines])
if bad: print("\n".join(bad))
sys.exit(1 if bad else 0)
PY

# collections marked: the collector's counts in the samples (libmemgc(3)),
# added to the real timeline: one generation-0 collection at the 10th
# sample, a generation-2 one at the 20th
"$PYTHON3" - "$T/r.json" "$T/rc.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for i, x in enumerate(d["processes"][0]["timeline"]):
    x["collections"] = [1 if i >= 10 else 0, 0, 1 if i >= 20 else 0]
json.dump(d, open(sys.argv[2], "w"))
PY
cl_run svg-marks 0 "$MEMGC" report "$T/rc.json" --svg "$T/marks.svg"
cl_py "the SVG marks each collection, generation 2 in orange" - "$T/marks.svg" "$T/rc.json" <<'PY'
import json, sys, xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
t = json.load(open(sys.argv[2]))["processes"][0]["timeline"]
marks = [l for l in ET.parse(sys.argv[1]).getroot().iter(ns + "line") if l.get("class") == "collection"]
x = lambda i: 86 + t[i]["t_ms"] * (850 / t[-1]["t_ms"])   # as svg.c computes it
have = [(round(float(m.get("x1")), 1), m.get("stroke"), m.find(ns + "title").text) for m in marks]
want = [(round(x(10), 1), "#9a9a9a", "1 collection by %.3f s" % (t[10]["t_ms"] / 1000)),
        (round(x(20), 1), "#ff7f0e", "1 collection by %.3f s, generation 2 among them" % (t[20]["t_ms"] / 1000))]
sys.exit(0 if have == want else "marks %r, want %r" % (have, want))
PY

# real collections: python3 allocating enough to pass threshold0 (CPython's
# 700, not the default) many times, and the exit leak check, a generation-2
# collection, at the end
cl_run py 0 "$MEMGC" run -q -o threshold0=700 --python-malloc --timeline 5 --report "$T/py.json" -- \
	"$PYTHON3" -c 'import time
for i in range(30):
    x = [str(j) for j in range(20000)]
    time.sleep(0.005)'
cl_run py-svg 0 "$MEMGC" report "$T/py.json" --svg "$T/py.svg"
cl_py "the marks of a python3's own collections" - "$T/py.svg" "$T/py.json" <<'PY'
import json, sys, xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
p = json.load(open(sys.argv[2]))["processes"][0]
marks = [l for l in ET.parse(sys.argv[1]).getroot().iter(ns + "line") if l.get("class") == "collection"]
full = [m for m in marks if m.get("stroke") == "#ff7f0e"]
cs = [s["collections"] for s in p["timeline"]]
grew = sum(any(b[g] > a[g] for g in range(3)) for a, b in zip(cs, cs[1:]))
print("%d collections in the report, %d samples where they grew, %d marks, %d full"
      % (sum(g["collections"] for g in p["collector"]["generations"]), grew, len(marks), len(full)))
sys.exit(0 if len(marks) == grew >= 2 and full else 1)
PY

chrome=
for c in chromium chromium-browser google-chrome; do
	command -v "$c" >/dev/null 2>&1 && chrome=$c && break
done
if test -z "$chrome"; then
	echo "SKIP: no chromium to render the SVG with (apt-get install chromium)"
	exit 77
fi
run_chrome()
{
	timeout -k 5 90 "$chrome" --headless --no-sandbox --disable-gpu --hide-scrollbars \
		--user-data-dir="$T/profile" --no-first-run --disable-extensions "$@" 2>>"$T/chrome.err"
}
if ! run_chrome --dump-dom about:blank >"$T/blank.html" || ! grep -q '<body' "$T/blank.html"; then
	echo "SKIP: $chrome cannot start here:"
	tail -n 5 "$T/chrome.err"
	exit 77
fi

run_chrome --dump-dom "file://$T/c.svg" >"$T/dom.xml"
if test "$(grep -o '<polyline' "$T/dom.xml" | wc -l)" -eq 2 && ! grep -q parsererror "$T/dom.xml"; then
	mg_pass "$chrome parses the chart: two polylines, no parser error"
else
	mg_fail "$chrome's DOM of the chart:"
	head -c 600 "$T/dom.xml"
fi
height=$(sed -n 's/.*<svg [^>]* height="\([0-9]*\)".*/\1/p' "$T/c.svg")
run_chrome --window-size=960,"$height" --screenshot="$T/shot.png" "file://$T/c.svg" >/dev/null
cl_py "$chrome paints both lines across the plot" - "$T/shot.png" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n":
    sys.exit("not a PNG")
pos, idat, w = 8, b"", 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, colour = struct.unpack(">IIBB", body[:10])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
if depth != 8 or colour not in (2, 6):
    sys.exit("PNG of depth %d, colour type %d" % (depth, colour))
bpp = 3 if colour == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
rows, prev = [], bytearray(stride)
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line)
    prev = line
def columns(rgb):
    xs = set()
    for line in rows[45:305]:      # the first panel's plot, below its legend
        for x in range(w):
            px = line[x * bpp:x * bpp + 3]
            if sum(abs(px[k] - rgb[k]) for k in range(3)) < 40:
                xs.add(x)
    return xs
bad = []
for name, rgb in (("RSS", (0x1f, 0x77, 0xb4)), ("live bytes", (0xd6, 0x27, 0x28))):
    xs = columns(rgb)
    plot = [x for x in xs if 86 <= x <= 936]
    if len(plot) < 600:
        bad.append("%s: painted in %d columns of the plot" % (name, len(plot)))
    print("%s: painted in %d of the plot's 851 columns" % (name, len(plot)))
if bad: print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
mg_finish
