# demo.py: the Python half of `memgc demo`, which runs it (embedded in the
# memgc binary) as python3 -c SCRIPT N BUF_MIB CYCLE_LEN with
# PYTHONMALLOC=malloc under glibc, plain jemalloc and memgc in turn.
#
# Builds list(range(N)), and a reference cycle of CYCLE_LEN objects each
# holding a BUF_MIB MiB buffer; deletes the list and drops the cycle; then
# collects: Python's gc.collect() frees the cycle, and the allocator is
# asked to give its free pages back, each in its own way.  Prints one line:
#   START PEAK AFTER_DEL AFTER_COLLECT HOW
# (resident bytes at each point, and how the allocator was asked).
import ctypes
import gc
import os
import sys


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def collect(libc):
    gc.collect()
    if hasattr(libc, "memgc_collect"):
        libc.memgc_collect(2)
        return "memgc_collect(2)"
    if hasattr(libc, "memgc_trim"):
        libc.memgc_trim()
        return "memgc_trim()"
    if hasattr(libc, "mallctl"):
        libc.mallctl(b"arena.4096.purge", None, None, None, ctypes.c_size_t(0))
        return "mallctl(arena.4096.purge)"
    libc.malloc_trim(0)
    return "malloc_trim(0)"


class Node:
    pass


def main():
    n, buf_mib, cycle_len = (int(a) for a in sys.argv[1:4])
    gc.disable()              # the cycle stays until collect() below
    libc = ctypes.CDLL(None)
    start = rss()
    data = list(range(n))
    ring = [Node() for _ in range(cycle_len)]
    for i, node in enumerate(ring):
        node.buf = bytearray(buf_mib << 20)
        node.next = ring[(i + 1) % cycle_len]
    peak = rss()
    del data, ring, node
    after_del = rss()
    how = collect(libc)
    print(start, peak, after_del, rss(), how)


main()
