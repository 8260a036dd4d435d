"""Shared by the benchmark programs: each times its own work (so interpreter and launcher
start-up are excluded) and prints one JSON line on stdout for bench/run.mjs to read."""
import json
import sys
import time


def report(name, seconds, **extra):
    extra.update({"bench": name, "seconds": seconds})
    sys.stdout.write("MPTREE_BENCH " + json.dumps(extra) + "\n")
    sys.stdout.flush()


now = time.perf_counter
