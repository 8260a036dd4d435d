"""N fork children, each connected to mptree (its put is reported) and then blocked on a lock
the parent holds, for the dump section of bench/run.mjs: how long `mptree dump` takes to
gather every process's stacks. Prints "ready" once all are blocked; ends on stdin's end."""
import multiprocessing as mp
import sys


def blocked(lock, q):
    q.put(1)
    lock.acquire()


if __name__ == "__main__":
    mp.set_start_method("fork")
    n = int(sys.argv[1])
    lock = mp.Lock()
    lock.acquire()
    q = mp.Queue()
    kids = [mp.Process(target=blocked, args=(lock, q), daemon=True) for _ in range(n)]
    for k in kids:
        k.start()
    for _ in kids:
        q.get()
    print("ready", flush=True)
    sys.stdin.read()
