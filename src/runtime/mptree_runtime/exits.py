"""The end of a process: the last counts and reports before it goes, whether it leaves
through atexit (the main program, spawn children, helpers), os._exit (every
multiprocessing fork child; atexit is skipped there) or the end of _bootstrap."""

import os
import sys

from . import connection, state
from .settings import fail


def settle_at_exit(p):
    """At exit a reconnection cannot wait for its backoff: one attempt now."""
    if p.reconnecting and p.conn is None:
        try:
            connection.reconnect(p)
        except Exception:
            fail('reconnect at exit')


def final_flush(p):
    """The last reports and counts of a process that is about to end."""
    settle_at_exit(p)
    # Our last reading of each queue goes out even if we sent the same value before: another
    # process may have reported a different depth since (see resample_queues), and the last
    # word on a queue should be the latest reading, not the latest change.
    for entry in list(state.SAMPLED.values()):
        entry[1] = -1
    state.flush_journal(p, ending=True)
    if state.has_counts(p):
        from .counters import flush    # loaded already: it made the counts
        flush()
    if p.reconnecting:
        settle_at_exit(p)    # that flush found the connection gone: reconnect and resend


_real_os_exit = os._exit


def os_exit(status):
    """Stands in for os._exit, which skips atexit: a process that still holds reports (its
    fork journal, counts) sends them first. A quiet fork child has no state and goes
    straight through; every multiprocessing fork child ends here."""
    p = state.P
    if p is not None:
        try:
            if p.pid == os.getpid():
                final_flush(p)
                if p.identity.start_method == 'os.fork' and state.my_process() is None and \
                        p.conn is not None and type(status) is int:
                    # An os.fork child that spoke (it made a queue, say): nobody else can
                    # tell how it ended, its parent's os.waitpid() not being ours. (A
                    # multiprocessing child has reported from _bootstrap already.)
                    connection.send({'type': 'process.exiting', 'pid': p.pid, 'exitCode': status & 0xFF})
        except Exception:
            fail('os._exit')
    _real_os_exit(status)


os_exit.__name__ = os_exit.__qualname__ = '_exit'
os_exit.__doc__ = _real_os_exit.__doc__
os_exit.__wrapped__ = _real_os_exit


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


# Whether this process sent its own figures already (in its process.exiting).
USAGE_SENT = [False]


def at_exit():
    """Interpreter exit (main program, spawn children, helpers): final counts, and the
    process's own figures unless its process.exiting carried them already."""
    try:
        p = state.P
        if p is not None and p.pid == os.getpid():
            final_flush(p)
            if not USAGE_SENT[0] and p.conn is not None:
                USAGE_SENT[0] = True
                connection.send(usage_fields({'type': 'process.usage', 'pid': p.pid, 'source': 'self'}))
    except Exception:
        fail('at_exit')


def parent_is_gone(parent_pid, parent_sentinel):
    try:
        fork_pid, fork_role = state.fork_parent()
        if fork_role != 'forkserver' and fork_pid is not None:
            # A fork child's OS parent is its logical parent: one cheap syscall.
            return os.getppid() != parent_pid
        if parent_sentinel is not None:
            import select
            r, _, _ = select.select([parent_sentinel], [], [], 0)
            return bool(r)
        return os.getppid() != parent_pid
    except Exception:
        return False
