# python_prog.py: a deterministic workout of CPython's allocator paths for
# python.sh: containers, strings, cycles, threads, a subprocess, json.
import gc
import hashlib
import json
import subprocess
import sys
import threading


def containers():
    d = {}
    for i in range(200000):
        d["k%d" % i] = [i, str(i), (i, i * 2)]
    for i in range(0, 200000, 3):
        del d["k%d" % i]
    total = sum(v[0] for v in d.values())
    lists = [[j for j in range(i % 50)] for i in range(20000)]
    s = set(range(0, 300000, 7)) ^ set(range(0, 300000, 11))
    fs = frozenset(str(x) for x in range(5000))
    print("dict", len(d), total)
    print("lists", len(lists), sum(map(len, lists)))
    print("set", len(s), sum(s) % 1000003)
    print("frozenset", len(fs), sorted(fs)[:3])


def strings_and_bytes():
    parts = []
    for i in range(50000):
        parts.append(("%08x" % (i * 2654435761 % 2**32)) * (i % 5 + 1))
    blob = "".join(parts).encode()
    ba = bytearray()
    for i in range(100000):
        ba += bytes([i % 256])
        if len(ba) > 60000:
            del ba[:30000]
    print("strings", len(blob), hashlib.sha256(blob).hexdigest()[:16])
    print("bytearray", len(ba), hashlib.sha256(ba).hexdigest()[:16])


class Node:
    def __init__(self, n):
        self.n = n
        self.other = None


def cycles():
    gc.collect()
    gc.disable()
    for i in range(2000):
        a, b = Node(i), Node(-i)
        a.other, b.other = b, a
    del a, b
    found = gc.collect()
    gc.enable()
    print("cycles collected", found)


def worker(k, out):
    acc = {}
    for i in range(30000 + 1000 * k):
        key = (k * 7919 + i) % 1000
        acc.setdefault(key, []).append(i)
        if len(acc[key]) > 20:
            acc[key] = acc[key][-5:]
    out[k] = sum(len(v) for v in acc.values()), sum(sum(v) for v in acc.values())


def threads():
    out = [None] * 4
    ts = [threading.Thread(target=worker, args=(k, out)) for k in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("threads", out)


CHILD = """
import json, sys
data = {str(i): list(range(i % 17)) for i in range(3000)}
text = json.dumps(data, sort_keys=True)
print(len(text), sum(len(v) for v in json.loads(text).values()))
sys.exit(3)
"""


def child():
    r = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True)
    print("child", r.returncode, r.stdout.strip(), repr(r.stderr))


def json_roundtrip():
    doc = {"n%d" % i: {"list": list(range(i % 30)), "s": "x" * (i % 100),
                       "f": i / 7, "nested": [{"a": j} for j in range(i % 4)]}
           for i in range(20000)}
    text = json.dumps(doc, sort_keys=True)
    back = json.loads(text)
    print("json", len(text), back == doc, hashlib.sha256(text.encode()).hexdigest()[:16])


containers()
strings_and_bytes()
cycles()
threads()
child()
json_roundtrip()
sys.exit(5)
