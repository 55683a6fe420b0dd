"""alloc.py: the python3 workload of bench/run.sh.

Run under /usr/bin/python3 with PYTHONMALLOC=malloc, so that every object
goes through malloc: dicts of strings, lists of tuples and JSON round
trips, built and dropped in rounds over a working set that stays alive.
Times itself (time.monotonic around the rounds, the imports excluded; and
time.process_time, the process's CPU time, over the same span) and prints
one line that run.sh parses:
  python rounds=R elapsed_s=S proc_cpu_s=P maxrss_kb=K minflt=F checksum=C
(F: the minor page faults over the same span)
Usage: alloc.py [rounds]
"""
import json
import resource
import sys
import time


def one_round(r, keep):
    table = {f"key-{r}-{i}": f"value-{i * 7}-{r}" * (1 + i % 5) for i in range(20_000)}
    rows = [(i, str(i), f"{i:x}", (i, r)) for i in range(20_000)]
    text = json.dumps({"table": table, "rows": rows})
    back = json.loads(text)
    words = " ".join(back["table"].values()).split("-")
    keep[r % len(keep)] = (table, rows[::4])      # replaces an older round's data
    return len(back["rows"]) + len(words) + len(text)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    keep = [None] * 8
    check = 0
    t0 = time.monotonic()
    c0 = time.process_time()
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for r in range(rounds):
        check += one_round(r, keep)
    cpu = time.process_time() - c0
    el = time.monotonic() - t0
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(f"python rounds={rounds} elapsed_s={el:.6f} proc_cpu_s={cpu:.6f} maxrss_kb={ru.ru_maxrss} "
          f"minflt={ru.ru_minflt - f0} checksum={check}")


main()
