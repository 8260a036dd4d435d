"""What a process cost: its own getrusage at its end, or (Linux) its parent's reading of
the zombie a child killed by a signal left, which still holds its CPU time (not its memory:
that is freed). Loaded at a process's end, or with the first killed child it reports."""

import os
import sys

from . import state

_TICKS = []


def own_usage():
    """(user + system CPU seconds, peak resident bytes) of this process so far, or None
    where the platform has no getrusage (Windows)."""
    try:
        import resource
        r = resource.getrusage(resource.RUSAGE_SELF)
    except Exception:
        return None
    # ru_maxrss is in KiB on Linux and the BSDs, in bytes on macOS.
    peak = r.ru_maxrss if sys.platform == 'darwin' else r.ru_maxrss * 1024
    return round(r.ru_utime + r.ru_stime, 6), int(peak)


def usage_fields(msg):
    """msg with this process's own figures added (unchanged where there are none)."""
    usage = own_usage()
    if usage is not None:
        msg['cpuSeconds'], msg['peakRssBytes'] = usage
    return msg


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

