"""A child killed by a signal sends no figures of its own: on Linux its parent reads its CPU
time from the zombie it left (utime and stime stay until the reap; its memory is freed).
Loaded with the first killed child a process reports."""

import os
import sys

from . import state

_TICKS = []


def zombie_cpu_seconds(pid):
    """Linux: the CPU seconds (utime + stime) of our child `pid` from /proc while it is our
    zombie (its exit status read with WNOWAIT, not reaped); None anywhere else. Checked to be
    a zombie whose parent is us, so a pid reaped and reused meanwhile gives nothing."""
    if not sys.platform.startswith('linux'):
        return None
    try:
        with open('/proc/%d/stat' % pid, 'rb') as f:
            text = f.read()
        rest = text[text.rindex(b')') + 2:].split()
        if rest[0] != b'Z' or int(rest[1]) != os.getpid():
            return None
        if not _TICKS:
            _TICKS.append(os.sysconf('SC_CLK_TCK'))
        return round((int(rest[11]) + int(rest[12])) / float(_TICKS[0]), 6)
    except Exception:
        return None


def note_zombie_cpu(pid):
    """Keep the CPU time of our killed child `pid` while it is a zombie (before the reap)."""
    cpu = zombie_cpu_seconds(pid)
    if cpu is not None:
        readings = state.ZOMBIE_CPU
        readings[pid] = cpu
        if len(readings) > 1000:
            del readings[next(iter(readings))]

