"""Starts N short-lived processes and records, for each, when start() returned in the parent
and when the child was about to exit, so bench/run.mjs can compare with when the model
learned each fact. Usage: latency.py METHOD N OUT.json [SECONDS each child lives]"""
import json
import multiprocessing as mp
import os
import sys
import time


def child(conn, hold):
    # The child reports the wall-clock time it is about to exit, then exits at once.
    if hold:
        time.sleep(hold)
    conn.send(time.time() * 1000.0)
    conn.close()


if __name__ == "__main__":
    method, count, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    hold = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    ctx = mp.get_context(method)
    records = []
    for _ in range(count):
        reader, writer = ctx.Pipe(duplex=False)
        p = ctx.Process(target=child, args=(writer, hold))
        p.start()
        started = time.time() * 1000.0
        writer.close()
        exiting = reader.recv()
        p.join()
        records.append({"pid": p.pid, "startReturned": started, "childExiting": exiting})
        time.sleep(0.01)  # spread them out: latency, not throughput
    with open(out, "w") as f:
        json.dump({"parent": os.getpid(), "records": records}, f)
