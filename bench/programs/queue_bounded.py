"""The main process puts N small items into a bounded Queue(1000) that a consumer process
drains (the producer waits for room whenever the consumer falls behind).
Usage: queue_bounded.py N"""
import multiprocessing as mp
import sys

from _timing import cpu_now, now, report


def consume(q, done):
    got = 0
    while q.get() is not None:
        got += 1
    done.put(got)


if __name__ == "__main__":
    count = int(sys.argv[1])
    ctx = mp.get_context("fork")
    q = ctx.Queue(1000)
    done = ctx.SimpleQueue()
    consumer = ctx.Process(target=consume, args=(q, done))
    cpu = cpu_now()
    began = now()
    consumer.start()
    for i in range(count):
        q.put(i)
    q.put(None)
    got = done.get()
    consumer.join()
    elapsed = now() - began
    cpu = cpu_now() - cpu
    assert got == count, got
    report("queue_bounded", elapsed, count=count, cpuSeconds=cpu)
