"""Start and join N processes one after another under a start method: the cost a program
pays per process. Usage: proc_start.py METHOD N"""
import multiprocessing as mp
import sys

from _timing import now, report


def work():
    pass


if __name__ == "__main__":
    method, count = sys.argv[1], int(sys.argv[2])
    ctx = mp.get_context(method)
    # One warm-up process: the forkserver itself and the resource tracker start on first use.
    warm = ctx.Process(target=work)
    warm.start()
    warm.join()
    began = now()
    for _ in range(count):
        p = ctx.Process(target=work)
        p.start()
        p.join()
    report("proc_start", now() - began, method=method, count=count)
