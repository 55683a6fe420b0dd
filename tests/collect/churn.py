# churn.py: threads started and joined one after another (glibc hands the
# same cached stack to each) while the main thread collects after every
# one: each collection leaves the frames of every dead thread's stack out
# of its roots, one exclusion per thread memgc saw exit.  With more than
# fit in the exclusion table's mapping, the scan wrote past it (roots.c's
# EXCL_MAX, an unparenthesised macro): this crashed in 3 runs of 3.
import ctypes, sys, threading

me = ctypes.CDLL(None)
collect = me.memgc_collect
collect.argtypes = [ctypes.c_int]
rounds = int(sys.argv[1])
keep = []
for r in range(rounds):
    t = threading.Thread(target=lambda: None)
    t.start()
    found = collect(0)
    t.join()
    if found < 0:
        sys.exit("memgc_collect(0) failed at round %d" % r)
    for i in range(300):
        keep.append({str(j): [j] for j in range(3)})
        if len(keep) > 50000:
            del keep[:25000]
print("churn ok %d" % rounds)
