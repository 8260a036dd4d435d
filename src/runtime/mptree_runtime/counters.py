"""Counters (queue puts/gets/tasksDone and pool submitted/completed), flushed as deltas,
and the queue depths read from the queues' own semaphores. The registries they fill
(QC, PC, DIRTY, SAMPLED) are state's: a fork child starts them empty."""

import itertools
import _thread
import _weakref

from . import connection, state
from .jsonout import encode
from .settings import fail


class Counters(object):
    """Per-process counters. Single increments (a put, a get) take the lock-free path:
    next() on an itertools.count is atomic under the GIL, unlike `x += 1`; the flusher
    reads one by taking a value itself and remembering it, so the delta is
    (value - last - 1). Bulk additions (a map of many items) go through a lock."""
    __slots__ = ('c', 'last', 'bulk', 'lock')

    def __init__(self, n):
        self.c = [itertools.count() for _ in range(n)]
        self.last = [-1] * n
        self.bulk = [0] * n
        self.lock = _thread.allocate_lock()

    def add(self, index, n):
        with self.lock:
            self.bulk[index] += n

    def take(self):
        out = []
        with self.lock:
            bulk, self.bulk = self.bulk, [0] * len(self.bulk)
        for i, c in enumerate(self.c):
            v = next(c)
            out.append(v - self.last[i] - 1 + bulk[i])
            self.last[i] = v
        return out


def queue_counters(qid):
    """The counters of a queue in this process (the slow path of a first count)."""
    p = state.current()
    c = p.qcounts.get(qid)
    if c is None:
        c = p.qcounts.setdefault(qid, Counters(3))
        state.QC[qid] = c.c
    return c


def pool_counters(pid):
    p = state.current()
    c = p.pcounts.get(pid)
    if c is None:
        c = p.pcounts.setdefault(pid, Counters(2))
        state.PC[pid] = c.c
    return c


def mark_dirty():
    # Called after the increment, and flush() clears the flag before reading, so an
    # increment is either in the current flush or makes the next one happen.
    if state.DIRTY[0]:
        return
    state.DIRTY[0] = True
    try:
        state.ensure_supervisor().wake()
    except Exception:
        fail('mark_dirty')


def _take(counters, unsent, width):
    out = []
    for key, c in list(counters.items()):
        d = c.take()
        extra = unsent.pop(key, None)
        if extra is not None:
            d = [a + b for a, b in zip(d, extra)]
        if any(d):
            out.append([key] + d)
    for key, d in list(unsent.items()):     # a queue of a state we no longer hold
        if any(d):
            out.append([key] + d)
    unsent.clear()
    return out


def _unsend(unsent, rows):
    # Deltas that did not reach the session go back into the next flush.
    for row in rows:
        old = unsent.get(row[0])
        unsent[row[0]] = row[1:] if old is None else [a + b for a, b in zip(old, row[1:])]


def sample_queue(qid, q):
    """Read this queue's depth from now on in this process: done for a queue by the process
    that made it and by each process that puts into it.

    A multiprocessing.Queue counts its items in its own semaphore (what qsize() reads:
    acquired by put(), released by get()), shared by every process that holds the queue.
    Reading it costs one sem_getvalue() per queue per tick of our supervisor, where
    counting gets cost every get() a wrapper call: so gets are not counted at all, and the
    depth is the queue's own truth (a consumer killed before it reported loses nothing).
    The model derives gets as puts - depth."""
    if qid in state.SAMPLED:
        return
    sem = getattr(q, '_sem', None)
    if sem is None:
        return      # a SimpleQueue: no semaphore, its gets are counted
    try:
        # The semaphore itself is held too: a queue collected between two readings still
        # gets its last one (the next tick reads it, then lets it go).
        state.SAMPLED[qid] = [_weakref.ref(q), -1, sem._semlock, q._maxsize]
        state.ensure_supervisor().wake()
    except Exception:
        fail('sample_queue')


def take_depths():
    """[[id, depth], ...] of the sampled queues whose depth changed since last sent."""
    out = []
    for qid, entry in list(state.SAMPLED.items()):
        if entry[0]() is None:
            state.SAMPLED.pop(qid, None)  # collected: this is its last reading
        try:
            depth = entry[3] - entry[2]._get_value()
        except Exception:
            # A semaphore this platform cannot read (macOS has no sem_getvalue; there
            # gets are counted instead, see patches.queues.DEPTH_SAMPLED).
            state.SAMPLED.pop(qid, None)
            continue
        if depth != entry[1]:
            entry[1] = depth
            out.append([qid, depth])
    return out


def resample_queues(ids):
    """queue.resample from the session: another process reported a depth of these queues that
    differs from what the session had. Our readings are sent only when they change, so ours
    may be the truth still unsaid (we read 0, a producer then read 4, we drained it to 0
    again): send the next reading whatever it is. True if one of them is ours."""
    wanted = False
    for qid in ids:
        entry = state.SAMPLED.get(qid) if isinstance(qid, str) else None
        if entry is not None:
            entry[1] = -1
            wanted = True
    return wanted


def _depths_unsent(rows):
    # Not delivered: read and send these again on the next tick.
    for row in rows:
        entry = state.SAMPLED.get(row[0])
        if entry is not None:
            entry[1] = -1


def flush():
    """Sends the counts and the queue depths that changed; True if a depth had."""
    p = state.current()
    with p.flush_lock:
        state.DIRTY[0] = False
        # One write for the depths and the counts read together, depths first, so the
        # session takes them in one batch: the model derives gets as puts - depth, and
        # this process's puts must not arrive a moment apart from its own reading.
        depths = take_depths() if state.SAMPLED else None
        q = _take(p.qcounts, p.unsent_q, 3)
        pl = _take(p.pcounts, p.unsent_p, 2)
        wl = state.TASK_ROWS[0](p) if state.WORKER else None
        lines = []
        if depths:
            lines.append(encode({'type': 'queue.depth', 'depths': depths}))
        if q:
            lines.append(encode({'type': 'queue.counts', 'counts': q}))
        if pl:
            lines.append(encode({'type': 'pool.counts', 'counts': pl}))
        if wl:
            lines.append(encode({'type': 'worker.counts', 'counts': wl}))
        if not lines:
            return False
        with p.lock:
            if connection.send_raw_locked(p, b''.join(lines), keep=False):
                return bool(depths)
            if depths:
                _depths_unsent(depths)
            if p.reconnecting:
                _unsend(p.unsent_q, q)
                _unsend(p.unsent_p, pl)
                if wl:
                    state.TASK_ROWS[1](wl)
        return bool(depths)

