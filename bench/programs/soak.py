"""mptree soak load: continuous process and queue churn for SECONDS (argv[1]).

Every round starts 4 fork workers fed through two fresh queues, joins them, and every tenth
round also runs a short Pool. Prints `MPTREE_SOAK {"rounds": …, "processes": …, "queues": …}`.
"""
import json
import multiprocessing as mp
import sys
import time


def double(q_in, q_out):
    for item in iter(q_in.get, None):
        q_out.put(item * 2)


def square(x):
    return x * x


if __name__ == "__main__":
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 180.0
    ctx = mp.get_context("fork")
    deadline = time.monotonic() + seconds
    rounds = processes = queues = 0
    while time.monotonic() < deadline:
        q_in, q_out = ctx.Queue(), ctx.Queue()
        queues += 2
        workers = [ctx.Process(target=double, args=(q_in, q_out), name="soak-%d-%d" % (rounds, i)) for i in range(4)]
        for w in workers:
            w.start()
        processes += len(workers)
        for i in range(200):
            q_in.put(i)
        for _ in workers:
            q_in.put(None)
        for _ in range(200):
            q_out.get()
        for w in workers:
            w.join()
        q_in.close()
        q_out.close()
        if rounds % 10 == 0:
            with ctx.Pool(2) as pool:
                pool.map(square, range(100))
            processes += 2
        rounds += 1
    print("MPTREE_SOAK " + json.dumps({"rounds": rounds, "processes": processes, "queues": queues}), flush=True)
