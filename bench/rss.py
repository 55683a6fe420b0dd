"""rss.py: the python3 cases of bench/rss.sh: how much memory goes back to
the kernel after the objects are freed and the allocator's trim is called.

Run under /usr/bin/python3 with PYTHONMALLOC=malloc (every object through
malloc), under the allocator named by TRIM:
  range  list(range(N)) deleted (N = 5 * 10**7 unless given)
  dict   a dict of N entries (2 * 10**6 unless given), each a short string
         key and a list of two short strings, of which every 100th entry
         is kept in a new dict and the old one dropped
TRIM is how the allocator is asked to give memory back:
  glibc          malloc_trim(0)
  jemalloc       mallctl("arena.4096.purge") (plain jemalloc preloaded)
  memgc          memgc_trim()
  memgc-collect  memgc_collect(2), which purges as memgc_trim does
The trim is called once before the baseline too.  Under memgc the page
floor is the baseline plus the pages that live objects hold beyond those
they held at the baseline: counted from memgc_get_objects when the library
has it, else read from the heap.live_page_bytes of a report written after
each trim.  Elsewhere the floor is not known ("-1").  Prints one line that
rss.sh parses:
  rss case=C trim=T baseline_kb=B peak_kb=P free_kb=F trim_kb=R floor_kb=L
      trim_s=S cpu_s=C
S is the call's wall time, C the process's CPU time in it (memgc runs its
collection and purge on its collector thread while the caller waits, the
others trim on the calling thread; nothing else runs meanwhile).
Usage: rss.py range|dict glibc|jemalloc|memgc|memgc-collect [N]
"""
import ctypes
import json
import os
import sys
import tempfile
import time

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_kb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE // 1024


def trimmer(name):
    me = ctypes.CDLL(None)
    if name == "glibc":
        libc = ctypes.CDLL("libc.so.6")
        return lambda: libc.malloc_trim(ctypes.c_size_t(0)) * 0
    if name == "jemalloc":
        if not hasattr(me, "mallctl"):
            sys.exit("rss.py: no mallctl in this process: preload jemalloc")
        return lambda: me.mallctl(b"arena.4096.purge", None, None, None, ctypes.c_size_t(0))
    if name == "memgc":
        if not hasattr(me, "memgc_trim"):
            sys.exit("rss.py: memgc_trim is not here: preload libmemgc.so")
        return me.memgc_trim
    if name == "memgc-collect":
        if not hasattr(me, "memgc_collect"):
            sys.exit("rss.py: memgc_collect is not here: this libmemgc.so has no collector")
        me.memgc_collect.restype = ctypes.c_long
        return lambda: 0 if me.memgc_collect(2) >= 0 else -1
    sys.exit("rss.py: unknown trim %r: expected glibc, jemalloc, memgc or memgc-collect" % name)


def live_pages():
    """The pages that memgc's live objects' blocks touch, as a set of page
    numbers (memgc_get_objects), or as a count from a report; None when
    this is not memgc."""
    me = ctypes.CDLL(None)
    if hasattr(me, "memgc_get_objects"):
        me.memgc_get_objects.restype = ctypes.c_long
        me.memgc_get_objects.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
        me.malloc_usable_size.restype = ctypes.c_size_t
        me.malloc_usable_size.argtypes = [ctypes.c_void_p]
        n = me.memgc_get_objects(-1, None, 0)
        arr = (ctypes.c_void_p * (n + 1024))()
        n = me.memgc_get_objects(-1, arr, len(arr))
        pages = set()
        for p in arr[:min(n, len(arr))]:
            if p:
                # the 16-byte header, then the usable size (an aligned
                # object's larger offset is left out: python has none)
                lo, hi = (p - 16) // PAGE, (p + me.malloc_usable_size(p) - 1) // PAGE
                pages.update(range(lo, hi + 1))
        return pages
    if hasattr(me, "memgc_write_report"):
        fd, path = tempfile.mkstemp(prefix="memgc-rss-", suffix=".json")
        os.close(fd)
        try:
            if me.memgc_write_report(path.encode()) != 0:
                sys.exit("rss.py: memgc_write_report failed")
            with open(path) as f:
                return json.load(f)["heap"]["live_page_bytes"] // PAGE
        finally:
            os.unlink(path)
    return None


def grown(before, after):
    """Pages holding live objects now that did not at the baseline."""
    if before is None or after is None:
        return None
    if isinstance(after, set):
        return len(after - before)
    return max(0, after - before)


def main():
    if len(sys.argv) not in (3, 4) or sys.argv[1] not in ("range", "dict"):
        sys.exit("usage: rss.py range|dict glibc|jemalloc|memgc|memgc-collect [N]")
    case, name = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) == 4 else (5 * 10**7 if case == "range" else 2 * 10**6)
    trim = trimmer(name)
    trim()
    pages0 = live_pages()
    base = rss_kb()
    if case == "range":
        x = list(range(n))
        peak = rss_kb()
        del x
    else:
        d = {"k%d" % i: ["v%d" % i, "w%d" % (i * 7)] for i in range(n)}
        peak = rss_kb()
        d = {k: v for i, (k, v) in enumerate(d.items()) if i % 100 == 0}
    free = rss_kb()
    t0, c0 = time.perf_counter(), time.process_time()
    r = trim()
    el, cpu = time.perf_counter() - t0, time.process_time() - c0
    after = rss_kb()
    if r != 0:
        sys.exit("rss.py: the %s trim call failed (%d)" % (name, r))
    g = grown(pages0, live_pages())
    floor = -1 if g is None else base + g * PAGE // 1024
    print("rss case=%s trim=%s baseline_kb=%d peak_kb=%d free_kb=%d trim_kb=%d floor_kb=%d "
          "trim_s=%.6f cpu_s=%.6f" % (case, name, base, peak, free, after, floor, el, cpu))


main()
