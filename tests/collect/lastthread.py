# lastthread.py: the process's last thread is not its main thread (a fork
# child whose forking thread ends with the thread, not with exit): glibc
# then ends the process with exit(0) itself.  memgc's own threads must not
# keep it alive (it hung under memgc with a collector thread).
import os, sys, threading

main_thread = threading.current_thread()


def joining(mainthread):
    mainthread.join()
    print("end of thread")
    sys.stdout.flush()


def worker():
    child = os.fork()
    if child != 0:
        _, status = os.waitpid(child, 0)
        print("child status", status)
        sys.stdout.flush()
        os._exit(0)
    t = threading.Thread(target=joining, args=(main_thread,))
    print("end of main")
    sys.stdout.flush()
    t.start()
    t.join()


threading.Thread(target=worker).start()
