"""Start processes ten at a time and then join them, batch after batch: how a new user
writes "run these in parallel" (`for p in ps: p.start()` then `for p in ps: p.join()`), the
cost a program pays per process when several children live at once.
Usage: proc_batch.py METHOD N [BATCH]"""
import multiprocessing as mp
import sys

from _timing import cpu_now, now, report


def work():
    pass


if __name__ == "__main__":
    method, count = sys.argv[1], int(sys.argv[2])
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    ctx = mp.get_context(method)
    warm = ctx.Process(target=work)
    warm.start()
    warm.join()
    cpu = cpu_now()
    began = now()
    for _ in range(count // batch):
        procs = [ctx.Process(target=work) for _ in range(batch)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
    seconds = now() - began
    extra = {}
    if method != "forkserver":
        extra["cpuSeconds"] = cpu_now() - cpu
    report("proc_batch", seconds, method=method, count=count, batch=batch, **extra)
