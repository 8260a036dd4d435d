"""Shared by the benchmark programs: each times its own work (so interpreter and launcher
start-up are excluded) and prints one JSON line on stdout for bench/run.mjs to read."""
import json
import os
import resource
import sys
import time


def report(name, seconds, **extra):
    extra.update({"bench": name, "seconds": seconds})
    sys.stdout.write("MPTREE_BENCH " + json.dumps(extra) + "\n")
    sys.stdout.flush()


now = time.perf_counter


def _session_cpu():
    """CPU seconds used so far by the process that launched us, if that is `mptree run`
    (Node): the session's share of the work. 0 when run bare."""
    try:
        ppid = os.getppid()
        with open("/proc/%d/comm" % ppid) as f:
            if "node" not in f.read():
                return 0.0
        with open("/proc/%d/stat" % ppid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def cpu_now():
    """CPU seconds so far of this program, its collected children and the session. Less
    sensitive than wall time to a busy machine (steal time is not counted)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime + _session_cpu()
