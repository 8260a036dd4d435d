"""Start and join N processes one after another under a start method: the cost a program
pays per process. Usage: proc_start.py METHOD N"""
import multiprocessing as mp
import sys

from _timing import cpu_now, now, report


def work():
    pass


if __name__ == "__main__":
    method, count = sys.argv[1], int(sys.argv[2])
    ctx = mp.get_context(method)
    # One warm-up process: the forkserver itself and the resource tracker start on first use.
    warm = ctx.Process(target=work)
    warm.start()
    warm.join()
    cpu = cpu_now()
    began = now()
    for _ in range(count):
        p = ctx.Process(target=work)
        p.start()
        p.join()
    seconds = now() - began
    extra = {}
    if method != "forkserver":
        # (forkserver children are the forkserver's, not ours: their CPU is not counted)
        extra["cpuSeconds"] = cpu_now() - cpu
    report("proc_start", seconds, method=method, count=count, **extra)
