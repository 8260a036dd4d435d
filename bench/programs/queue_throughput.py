"""A producer process puts N small items into a Queue; the main process gets them all.
Usage: queue_throughput.py N"""
import multiprocessing as mp
import sys

from _timing import cpu_now, now, report


def produce(q, n):
    for i in range(n):
        q.put(i)
    q.put(None)


if __name__ == "__main__":
    count = int(sys.argv[1])
    ctx = mp.get_context("fork")
    q = ctx.Queue(maxsize=1000)
    producer = ctx.Process(target=produce, args=(q, count))
    cpu = cpu_now()
    began = now()
    producer.start()
    got = 0
    while q.get() is not None:
        got += 1
    producer.join()
    elapsed = now() - began
    cpu = cpu_now() - cpu
    assert got == count, got
    report("queue_throughput", elapsed, count=count, cpuSeconds=cpu)
