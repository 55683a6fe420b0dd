"""A small allocation-heavy Python program for memgc's quick start.

Run with PYTHONMALLOC=malloc so that every object goes through malloc (and
so through memgc): dicts of strings, lists of tuples, a JSON round trip,
and a few threads doing the same.  Prints what it built.
"""
import json
import threading

def work(n, seed):
    table = {f"key-{seed}-{i}": [i, str(i) * 3, (i, i + 1)] for i in range(n)}
    text = json.dumps(table)
    back = json.loads(text)
    return len(back), len(text)

results = [work(50_000, 0)]
threads = [threading.Thread(target=lambda s=s: results.append(work(20_000, s))) for s in range(1, 4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
keep = [bytearray(4096) for _ in range(2_000)]   # 8 MiB still live at exit
print("built", sum(r[0] for r in results), "entries,", sum(r[1] for r in results), "bytes of JSON;",
      len(keep), "buffers kept")
