"""Pool(2).map of N tiny tasks with chunksize=1: the per-task cost of a pool.
Usage: pool_map.py N"""
import multiprocessing as mp
import sys

from _timing import cpu_now, now, report


def square(x):
    return x * x


if __name__ == "__main__":
    count = int(sys.argv[1])
    ctx = mp.get_context("fork")
    cpu = cpu_now()
    with ctx.Pool(2) as pool:
        pool.map(square, range(10))  # warm the workers
        began = now()
        result = pool.map(square, range(count), chunksize=1)
        elapsed = now() - began
    # CPU of the whole pool's life (workers are counted once the pool has reaped them).
    cpu = cpu_now() - cpu
    assert result[-1] == (count - 1) ** 2
    report("pool_map", elapsed, count=count, cpuSeconds=cpu)
