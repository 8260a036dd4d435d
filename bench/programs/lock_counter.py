"""Two processes each add 1 to a shared Value N times, each addition under a Lock (the
textbook `with lock: counter.value += 1`). Usage: lock_counter.py N"""
import multiprocessing as mp
import sys

from _timing import cpu_now, now, report


def add(lock, counter, n):
    for _ in range(n):
        with lock:
            counter.value += 1


if __name__ == "__main__":
    count = int(sys.argv[1])
    ctx = mp.get_context("fork")
    lock = ctx.Lock()
    counter = ctx.Value("i", 0)
    workers = [ctx.Process(target=add, args=(lock, counter, count)) for _ in range(2)]
    cpu = cpu_now()
    began = now()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = now() - began
    cpu = cpu_now() - cpu
    assert counter.value == 2 * count, counter.value
    report("lock_counter", elapsed, count=count, cpuSeconds=cpu)
