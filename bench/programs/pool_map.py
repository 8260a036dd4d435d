"""Pool(2).map of N tiny tasks with chunksize=1: the per-task cost of a pool.
Usage: pool_map.py N"""
import multiprocessing as mp
import sys

from _timing import now, report


def square(x):
    return x * x


if __name__ == "__main__":
    count = int(sys.argv[1])
    ctx = mp.get_context("fork")
    with ctx.Pool(2) as pool:
        pool.map(square, range(10))  # warm the workers
        began = now()
        result = pool.map(square, range(count), chunksize=1)
        elapsed = now() - began
    assert result[-1] == (count - 1) ** 2
    report("pool_map", elapsed, count=count)
