"""A pool worker's current task and the tasks it has done (Pool and ProcessPoolExecutor
workers alike). The worker's own loop is multiprocessing's: we only put our `get` on its
task queue and our `put` on its result queue, in the worker process, as instance
attributes (the worker looks them up on the queue objects it was given). `get` notes the
task it returns and when; `put` of the task's result ends it and counts it. The supervisor
thread looks at that note on its timer: a task still running THRESHOLD after it began is
reported (`task.begin`), and its `put` then sends `task.end`; a quicker one sends nothing.
Counts go out with the other counters' flush (`worker.counts`)."""

import functools
import os
import time

from . import connection, state
from .counters import Counters, mark_dirty
from .settings import TASK_THRESHOLD, fail

_time = time.time

# (task, since) of the task this worker runs now, None while it waits for one; and the
# pair whose task.begin was sent (its task.end is still owed). A pair, not the task: the
# same task object may come twice (a test's constant), each run its own.
CURRENT = state.CURRENT_TASK
REPORTED = [None]
# The supervisor's previous look found the worker between tasks.
IDLE_LOOK = [False]

# How many items a task is, as the pool counts its tasks (patches.pool): each item of a
# map chunk; and the user's call inside a chunk. Filled by the patches that know the
# wrappers (multiprocessing.pool's mapstar/starmapstar, concurrent.futures' chunk).
POOL_CHUNKS = {}       # mapstar -> False, starmapstar -> True (items are argument tuples)
EXECUTOR_CHUNK = [None]

CALL_CHARS = 60


def start_worker(pool_id, kind, tasks_in, results_out):
    """In a pool worker, before multiprocessing's loop starts: our get/put on its queues,
    the counters, and the supervisor that reports long tasks."""
    p = state.current()
    counts = Counters(1)
    state.WORKER[:] = [pool_id, os.getpid(), counts, 0]
    state.TASK_CHECK[0] = check
    state.TASK_ROWS[:] = [worker_rows, unsend_rows]
    sup = state.ensure_supervisor()
    get = tasks_in.get
    put = results_out.put
    if kind == 'pool':
        tasks_in.get = _pool_get(get, sup)
        results_out.put = _pool_put(put, counts, p)
    else:
        tasks_in.get = _executor_get(get, sup)
        results_out.put = _executor_put(put, counts, p)


def _noted(sup):
    # The supervisor stopped looking (it found the worker waiting): wake it for this task.
    state.TASK_WATCH[0] = True
    sup.wake()


def _pool_get(orig, sup):
    current = CURRENT
    watch = state.TASK_WATCH

    def get():
        task = orig()
        if task is not None:
            current[0] = (task, _time())
            if not watch[0]:
                _noted(sup)
        return task
    return get


def _executor_get(orig, sup):
    current = CURRENT
    watch = state.TASK_WATCH

    def get(block=True, timeout=None):
        item = orig(block, timeout)
        if item is not None:
            current[0] = (item, _time())
            if not watch[0]:
                _noted(sup)
        return item
    return get


def _pool_put(orig, counts, p):
    """The result queue's put in a Pool worker: ends the current task and counts it (a
    map's chunk as its items). Written out, not shared with the executor's: it runs once
    per task, and every call and lookup saved here is the pool's throughput."""
    current = CURRENT
    reported = REPORTED
    count = counts.c[0]
    dirty = state.DIRTY
    chunked = tuple(POOL_CHUNKS)     # mapstar, starmapstar
    unput = [None]     # a result whose put failed: the worker puts an error in its place

    def put(obj):
        cur = current[0]
        current[0] = None       # the call is over (before the put: a big result takes a while)
        if cur is None:
            cur, unput[0] = unput[0], None
        elif reported[0] is not None:
            _end(p, cur)
        try:
            orig(obj)
        except BaseException:
            unput[0] = cur
            raise
        if cur is not None:
            try:
                task = cur[0]
                if task[2] in chunked and len(task[3][0][1]) != 1:
                    counts.add(0, len(task[3][0][1]))
                else:
                    next(count)
                if not dirty[0]:
                    mark_dirty()
            except Exception:
                fail('task done')
    return put


def _executor_put(orig, counts, p):
    """The result queue's put in a ProcessPoolExecutor worker (also given the worker's pid
    when it leaves: no task then)."""
    current = CURRENT
    reported = REPORTED
    count = counts.c[0]
    dirty = state.DIRTY
    chunk = EXECUTOR_CHUNK[0]
    unput = [None]

    def put(obj):
        cur = current[0]
        current[0] = None
        if cur is None:
            cur, unput[0] = unput[0], None
        elif reported[0] is not None:
            _end(p, cur)
        try:
            orig(obj)
        except BaseException:
            unput[0] = cur
            raise
        if cur is not None:
            try:
                fn = cur[0].fn
                if type(fn) is functools.partial and fn.func is chunk and cur[0].args:
                    counts.add(0, len(cur[0].args[0]))
                else:
                    next(count)
                if not dirty[0]:
                    mark_dirty()
            except Exception:
                fail('task done')
    return put


def _end(p, cur):
    with p.lock:
        if REPORTED[0] is not cur:
            return
        REPORTED[0] = None
        pool_id, pid = state.WORKER[0], state.WORKER[1]
        connection.send_locked(p, {'type': 'task.end', 'pid': pid, 'poolId': pool_id})


def check(p, now):
    """The supervisor's look at the current task: report one running past THRESHOLD.
    Returns when to look again (time.time()), or None while the worker waits for a task
    (its next get wakes the supervisor)."""
    if not state.WORKER or state.WORKER[1] != os.getpid():
        return None
    cur = CURRENT[0]
    if cur is None:
        if not IDLE_LOOK[0]:
            # Between two quick tasks, most likely: look once more before letting the next
            # get wake us (woken at once and stopping again, we would be woken per task).
            IDLE_LOOK[0] = True
            return now + TASK_THRESHOLD
        state.TASK_WATCH[0] = False
        cur = CURRENT[0]         # a get that read the flag before we cleared it
        if cur is None:
            return None
        state.TASK_WATCH[0] = True
    IDLE_LOOK[0] = False
    if REPORTED[0] is cur:
        return now + TASK_THRESHOLD
    since = cur[1]
    if now < since + TASK_THRESHOLD:
        return since + TASK_THRESHOLD
    # The user's __repr__ runs here, in our thread, without our lock held.
    text = describe(cur[0], state.WORKER[0])
    pool_id, pid = state.WORKER[0], state.WORKER[1]
    with p.lock:
        if CURRENT[0] is not cur:
            return now
        REPORTED[0] = cur
        connection.send_locked(p, {'type': 'task.begin', 'pid': pid, 'poolId': pool_id,
                                   'call': text, 'since': since * 1000.0})
    if CURRENT[0] is not cur:
        # It ended while we sent: its put may have looked before REPORTED was set.
        _end(p, cur)
    return now + TASK_THRESHOLD


def describe(task, pool_id=None):
    """`crunch(7)`: the user's function and arguments, cut to about CALL_CHARS; a chunk of a
    map as its function and first item, and how many items follow: `square(3) …+9`."""
    try:
        if isinstance(task, tuple):       # a Pool task: (job, i, func, args, kwds)
            func, args, kwds = task[2], task[3], task[4]
            star = POOL_CHUNKS.get(func)
            if star is not None and args:
                return _chunk_call(args[0][0], args[0][1], star)
        else:                             # an executor's _CallItem
            func, args, kwds = task.fn, task.args, task.kwargs
            if type(func) is functools.partial and func.func is EXECUTOR_CHUNK[0]:
                fn = func.args[0] if func.args else func.keywords.get('fn')
                return _chunk_call(fn, args[0] if args else (), True)
        return _call(func, args, kwds)
    except Exception:
        fail('describe task')
        return '?'


def _chunk_call(func, chunk, star):
    if not chunk:
        return _call(func, (), None)
    first = tuple(chunk[0]) if star else (chunk[0],)
    text = _call(func, first, None)
    return text + (' …+%d' % (len(chunk) - 1) if len(chunk) > 1 else '')


_repr = [None]


def _short(value):
    r = _repr[0]
    if r is None:
        r = state.import_module('reprlib').Repr()
        r.maxstring = r.maxother = 40
        r.maxlist = r.maxtuple = r.maxdict = r.maxset = 4
        r.maxlevel = 2
        _repr[0] = r
    return r.repr(value)


def _name(func):
    if type(func) is functools.partial:
        func = func.func
    return (getattr(func, '__qualname__', None) or getattr(func, '__name__', None)
            or type(func).__qualname__)


def _call(func, args, kwds):
    parts = [_short(a) for a in args or ()]
    parts.extend('%s=%s' % (k, _short(v)) for k, v in (kwds or {}).items())
    text = '%s(%s)' % (_name(func), ', '.join(parts))
    if len(text) > CALL_CHARS:
        text = text[:CALL_CHARS - 1] + '…'
    return text


def worker_rows(p):
    """worker.counts rows of this process, [poolId, pid, done since the last, CPU seconds]."""
    w = state.WORKER
    if not w or w[1] != os.getpid():
        return None
    done = w[2].take()[0] + w[3]
    w[3] = 0
    if done <= 0:
        return None
    return [[w[0], w[1], done, round(time.process_time(), 3)]]


def unsend_rows(rows):
    # Not delivered (reconnecting): these go with the next flush.
    w = state.WORKER
    if w and rows:
        w[3] += rows[0][2]


def known_pool(queue, names):
    """The pool id of a worker's task queue: the attribute a fork child inherited, else the
    queue's semaphore name (a spawn/forkserver child unpickled it) in `names`."""
    pid = queue.__dict__.get('_mptree_pool')
    if pid is None:
        try:
            pid = names.get(queue._rlock._semlock.name)
        except Exception:
            pid = None
    return pid

