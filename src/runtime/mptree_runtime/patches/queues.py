"""Patches of multiprocessing.queues: a user queue gets an id when made (and again when
unpickled in another process), its puts (and, where its depth cannot be read, its gets)
are counted, and its depth is read from its semaphore (counters.sample_queue). A get or
put that blocks is found on its thread's stack by the supervisor (waits._sample); a
JoinableQueue's join and the flush of a feeder thread at exit record their wait."""

import sys

from .. import connection, counters, state, waits
from ..settings import fail
from . import call_site, hide, internal, wrap

_WATCHING = state.WATCHING

# Semaphore name of a user queue's read lock -> queue id. The name travels with the queue
# when it is pickled for a spawn/forkserver child, so the child can recognise user queues
# (and ignore multiprocessing's own ones) without changing the pickled data at all. The
# registry itself travels in the preparation data (patches.spawn).
QUEUE_NAMES = {}


def _semname(q):
    try:
        return q._rlock._semlock.name
    except Exception:
        return None


def _new_queue(q, kind, maxsize):
    if internal():
        return
    qid = state.new_id('q')
    q.__dict__['_mptree_id'] = qid
    name = _semname(q)
    if name:
        QUEUE_NAMES[name] = qid
    if not isinstance(maxsize, int) or maxsize <= 0:
        maxsize = 0
    connection.announce(qid, {'type': 'queue.created', 'id': qid, 'kind': kind,
                        'ownerPid': state.current().pid, 'maxsize': maxsize, 'site': call_site()})
    if DEPTH_SAMPLED:
        counters.sample_queue(qid, q)


# Depths of multiprocessing.Queue and JoinableQueue are read from the queue's semaphore
# (counters.sample_queue), so their get() is not wrapped; macOS cannot read a semaphore's
# value (no sem_getvalue), so there gets are counted as for the other kinds.
DEPTH_SAMPLED = sys.platform != 'darwin'


def _count_slow(qid, index, q=None):
    # First count of this queue in this process (or the first after a fork).
    next(counters.queue_counters(qid).c[index])
    counters.mark_dirty()
    if index == 0 and DEPTH_SAMPLED and q is not None:
        # A producer reads the depth too: the queue's maker may have ended.
        counters.sample_queue(qid, q)


def count(qid, index, q=None):
    try:
        next(_QC[qid][index])
    except KeyError:
        return _count_slow(qid, index, q)
    if not _DIRTY[0]:
        counters.mark_dirty()


_QC = state.QC          # the same dicts for the process's whole life (cleared after a fork)
_DIRTY = state.DIRTY


def _queue_op(index):
    """Wrapper makers for a counted queue method: the generic one, and exact ones for the
    signatures multiprocessing has had (see _wrap).

    Each op costs a user queue one extra Python call, one attribute read, next() on an
    itertools.count (atomic under the GIL, unlike `x += 1`) and a flag test: no lock, no
    clock, no frame walk. The counting is written out in each wrapper rather than called,
    as a call costs as much again. multiprocessing's own queues (inside Pool, executors)
    have no id (the class default None) and pay the call and the attribute read only."""
    def generic(orig):
        def method(self, *args, **kwargs):
            try:
                r = orig(self, *args, **kwargs)
            except BaseException as e:
                hide(e, sys._getframe())
                raise
            try:
                qid = self._mptree_id
                if qid is not None:
                    count(qid, index, self)
            except Exception:
                fail('count')
            return r
        return method

    def put4(orig):    # Queue.put, JoinableQueue.put
        def put(self, obj, block=True, timeout=None):
            if not _WATCHING[0]:
                waits.touch()       # a put may wait: the supervisor looks (waits._sample)
            try:
                r = orig(self, obj, block, timeout)
            except BaseException as e:
                hide(e, sys._getframe())
                raise
            qid = self._mptree_id
            if qid is not None:
                try:
                    next(_QC[qid][index])
                    if not _DIRTY[0]:
                        counters.mark_dirty()
                except KeyError:
                    _count_slow(qid, index, self)
                except Exception:
                    fail('count')
            return r
        return put

    def get3(orig):    # Queue.get: may wait; counted where no depth can be read
        def get(self, block=True, timeout=None):
            if not _WATCHING[0]:
                waits.touch()
            try:
                r = orig(self, block, timeout)
            except BaseException as e:
                hide(e, sys._getframe())
                raise
            if not DEPTH_SAMPLED:
                qid = self._mptree_id
                if qid is not None:
                    try:
                        next(_QC[qid][index])
                        if not _DIRTY[0]:
                            counters.mark_dirty()
                    except KeyError:
                        _count_slow(qid, index, self)
                    except Exception:
                        fail('count')
            return r
        return get

    def put2(orig):    # SimpleQueue.put
        def put(self, obj):
            try:
                r = orig(self, obj)
            except BaseException as e:
                hide(e, sys._getframe())
                raise
            qid = self._mptree_id
            if qid is not None:
                try:
                    next(_QC[qid][index])
                    if not _DIRTY[0]:
                        counters.mark_dirty()
                except KeyError:
                    _count_slow(qid, index, self)
                except Exception:
                    fail('count')
            return r
        return put

    def self1(orig):   # SimpleQueue.get (may wait), JoinableQueue.task_done
        def method(self):
            if not _WATCHING[0]:
                waits.touch()
            try:
                r = orig(self)
            except BaseException as e:
                hide(e, sys._getframe())
                raise
            qid = self._mptree_id
            if qid is not None:
                try:
                    next(_QC[qid][index])
                    if not _DIRTY[0]:
                        counters.mark_dirty()
                except KeyError:
                    _count_slow(qid, index, self)
                except Exception:
                    fail('count')
            return r
        return method

    exact = {('self', 'obj', 'block', 'timeout'): put4, ('self', 'block', 'timeout'): get3,
             ('self', 'obj'): put2, ('self',): self1}
    return generic, exact


def patch_queues(mod):
    def make_init(kind_of):
        def make(orig):
            def __init__(self, *args, **kwargs):
                try:
                    orig(self, *args, **kwargs)
                except BaseException as e:
                    hide(e, sys._getframe())
                    raise
                try:
                    kind, maxsize = kind_of(self, args, kwargs)
                    _new_queue(self, kind, maxsize)
                except Exception:
                    fail('queue init')
            return __init__
        return make

    def queue_kind(q, args, kwargs):
        maxsize = args[0] if args else kwargs.get('maxsize', 0)
        return ('JoinableQueue' if isinstance(q, mod.JoinableQueue) else 'Queue'), maxsize

    def simple_kind(q, args, kwargs):
        return 'SimpleQueue', 0

    def make_setstate(orig):
        def __setstate__(self, state):
            try:
                orig(self, state)
            except BaseException as e:
                hide(e, sys._getframe())
                raise
            try:
                name = _semname(self)
                qid = QUEUE_NAMES.get(name) if name else None
                if qid is not None:
                    self.__dict__['_mptree_id'] = qid
            except Exception:
                fail('queue setstate')
        return __setstate__

    wrap(mod.Queue, '__init__', make_init(queue_kind))
    wrap(mod.Queue, '__setstate__', make_setstate)
    # The id lives in a user queue's instance dict; this class default lets the hot path
    # read it as a plain attribute (no __dict__ lookup, no AttributeError).
    for cls in (mod.Queue, mod.SimpleQueue):
        if '_mptree_id' not in cls.__dict__:
            cls._mptree_id = None
    put, get, done = _queue_op(0), _queue_op(1), _queue_op(2)
    wrap(mod.Queue, 'put', *put)
    # Counted only where no depth can be read (DEPTH_SAMPLED), a wait everywhere.
    wrap(mod.Queue, 'get', *get)
    wrap(mod.JoinableQueue, 'put', *put)
    wrap(mod.JoinableQueue, 'task_done', *done)
    wrap(mod.SimpleQueue, '__init__', make_init(simple_kind))
    wrap(mod.SimpleQueue, '__setstate__', make_setstate)
    wrap(mod.SimpleQueue, 'put', *put)
    wrap(mod.SimpleQueue, 'get', *get)
    wrap(mod.JoinableQueue, 'join', _make_join)
    # Found on the waiting thread's stack by the supervisor (waits._sample): nothing recorded.
    waits.sampled(mod.Queue.get, waits.match_queue('Queue.get'))
    waits.sampled(mod.Queue.put, waits.match_queue('Queue.put'))
    waits.sampled(mod.JoinableQueue.put, waits.match_queue('Queue.put'))
    waits.sampled(mod.SimpleQueue.get, waits.match_queue('SimpleQueue.get'))
    wrap(mod.Queue, '_start_thread', _make_start_thread)
    wrap(mod.Queue, '_finalize_join', _make_finalize_join)


def _make_join(orig):
    def join(self):
        qid = self._mptree_id
        if qid is None:
            return orig(self)
        try:
            return waits.call_waiting('JoinableQueue.join', 'queue', qid, None, orig, self)
        except BaseException as e:
            hide(e, sys._getframe())
            raise
    return join


def _make_start_thread(orig):
    # The feeder thread of a user queue knows its queue, for the flush at exit below.
    def _start_thread(self, *args, **kwargs):
        r = orig(self, *args, **kwargs)
        try:
            qid = self._mptree_id
            if qid is not None and self._thread is not None:
                self._thread._mptree_q = qid
        except Exception:
            fail('feeder')
        return r
    return _start_thread


def _make_finalize_join(orig):
    # At exit a process joins the feeder thread of each queue it put into: the thread
    # cannot end before the pipe took every item, so a process whose reader stopped reading
    # waits here for ever (the "joining processes that use queues" pitfall).
    def _finalize_join(twr, *args, **kwargs):
        try:
            thread = twr()
            qid = getattr(thread, '_mptree_q', None) if thread is not None else None
        except Exception:
            qid = None
        if qid is None:
            return orig(twr, *args, **kwargs)
        return waits.call_waiting('Queue.flush', 'queue', qid, None, orig, twr, *args, **kwargs)
    return _finalize_join
