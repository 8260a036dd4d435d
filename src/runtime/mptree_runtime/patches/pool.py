"""Patches of multiprocessing.pool: a Pool announces itself when it makes its workers,
counts the tasks submitted and completed (a map's items one by one), and reports its
state (closed, terminated, joined)."""

import sys

from .. import connection, counters, state, tasks
from ..settings import fail
from . import Internal, call_site, hide, wrap

# Semaphore name of a pool's task queue -> pool id, for its spawn and forkserver workers
# (they unpickle the queue, without our attribute): rides in the preparation data
# (patches.spawn), as the user queues' names do.
POOL_QUEUES = {}

_PC = state.PC           # the same dicts for the process's whole life (cleared after a fork)
_DIRTY = state.DIRTY
CHUNKS = tasks.POOL_CHUNKS     # mapstar, starmapstar: a task that is a chunk of items


def count_tasks(pool_id, index, n):
    if pool_id is None or n <= 0:
        return
    c = _PC.get(pool_id)
    if n == 1 and c is not None:
        next(c[index])            # the hot path: one task submitted or done
    elif n == 1:
        next(counters.pool_counters(pool_id).c[index])
    else:
        counters.pool_counters(pool_id).add(index, n)   # a map's items: under a lock
    if not _DIRTY[0]:
        counters.mark_dirty()


def _pool_state(obj, state):
    pid = obj.__dict__.get('_mptree_pool')
    if pid is None:
        return
    last = obj.__dict__.get('_mptree_state')
    if last == state or last == 'joined':
        return
    obj.__dict__['_mptree_state'] = state
    connection.announce(pid + ':state', {'type': 'pool.state', 'id': pid, 'state': state})


def patch_pool(mod):
    Pool = mod.Pool
    ThreadPool = getattr(mod, 'ThreadPool', None)

    def make_init(orig):
        def __init__(self, *args, **kwargs):
            with Internal():
                try:
                    return orig(self, *args, **kwargs)
                except BaseException as e:
                    hide(e, sys._getframe())
                    raise
        return __init__

    def make_repopulate(orig):
        def _repopulate_pool(self, *args, **kwargs):
            try:
                if (ThreadPool is None or not isinstance(self, ThreadPool)) and \
                        '_mptree_pool' not in self.__dict__:
                    pid = state.new_id('p')
                    self.__dict__['_mptree_pool'] = pid
                    self._inqueue.__dict__['_mptree_pool'] = pid
                    remember_queue(self._inqueue, pid)
                    connection.announce(pid, {'type': 'pool.created', 'id': pid, 'kind': 'Pool',
                                        'ownerPid': state.current().pid,
                                        'size': int(self._processes), 'site': call_site()})
            except Exception:
                fail('pool created')
            try:
                return orig(self, *args, **kwargs)
            except BaseException as e:
                hide(e, sys._getframe())
                raise
        return _repopulate_pool

    def make_state(state):
        def make(orig):
            def method(self, *args, **kwargs):
                try:
                    r = orig(self, *args, **kwargs)
                except BaseException as e:
                    hide(e, sys._getframe())
                    raise
                try:
                    _pool_state(self, state)
                except Exception:
                    fail('pool state')
                return r
            return method
        return make

    def make_gtg(orig):
        # imap/imap_unordered: the number of tasks is known only as they are generated.
        def _guarded_task_generation(self, result_job, *args, **kwargs):
            try:
                gen = orig(self, result_job, *args, **kwargs)
            except BaseException as e:
                hide(e, sys._getframe())
                raise
            try:
                pid = self.__dict__.get('_mptree_pool')
                res = self._cache.get(result_job) if pid is not None else None
            except Exception:
                res = None
            if res is None or not isinstance(res, mod.IMapIterator):
                return gen
            return _counted_tasks(gen, pid, res)
        return _guarded_task_generation

    def submitted(self, pool, weight_of):
        if type(self).__init__ is not mod.ApplyResult.__init__ and weight_of is _apply_weight:
            return  # MapResult runs ApplyResult.__init__ too: it counts itself
        pid = pool.__dict__.get('_mptree_pool') if pool is not None else None
        if pid is not None:
            self.__dict__['_mptree_pool'] = pid
            count_tasks(pid, 0, weight_of(self))

    def make_result_init(weight_of):
        def make(orig):
            def __init__(self, *args, **kwargs):
                try:
                    orig(self, *args, **kwargs)
                except BaseException as e:
                    hide(e, sys._getframe())
                    raise
                try:
                    submitted(self, args[0] if args else kwargs.get('pool'), weight_of)
                except Exception:
                    fail('pool submit')
            return __init__
        return make

    def apply_init4(orig):    # ApplyResult.__init__: once per apply_async
        def __init__(self, pool, callback, error_callback):
            try:
                orig(self, pool, callback, error_callback)
            except BaseException as e:
                hide(e, sys._getframe())
                raise
            try:
                submitted(self, pool, _apply_weight)
            except Exception:
                fail('pool submit')
        return __init__

    def make_set(weight_of_item):
        sized = weight_of_item is map_item_weight   # a MapResult: its _chunksize says
        # weight_of_item None: every _set is one task (apply), as is a map's with chunksize
        # 1, the common hot path; an imap chunk's weight was noted when it was generated.
        def completed(self, i):
            pid = self._mptree_pool
            if pid is not None:
                if weight_of_item is None or (sized and self._chunksize == 1):
                    count_tasks(pid, 1, 1)
                else:
                    count_tasks(pid, 1, weight_of_item(self, i))

        def generic(orig):
            def _set(self, i, *args, **kwargs):
                try:
                    completed(self, i)
                except Exception:
                    fail('pool complete')
                try:
                    return orig(self, i, *args, **kwargs)
                except BaseException as e:
                    hide(e, sys._getframe())
                    raise
            return _set

        def set3(orig):   # (self, i, obj) / (self, i, success_result): once per task
            def _set(self, i, obj):
                # Runs on the pool's result-handler thread: an exception of ours here
                # would end that thread and hang every caller waiting for a result.
                try:
                    pid = self._mptree_pool
                    if pid is not None:
                        try:
                            if weight_of_item is None or (sized and self._chunksize == 1):
                                next(_PC[pid][1])
                                if not _DIRTY[0]:
                                    counters.mark_dirty()
                            else:
                                count_tasks(pid, 1, weight_of_item(self, i))
                        except KeyError:
                            count_tasks(pid, 1, 1)    # the first in this process
                except Exception:
                    fail('pool complete')
                try:
                    return orig(self, i, obj)
                except BaseException as e:
                    hide(e, sys._getframe())
                    raise
            return _set
        return generic, {('self', 'i', 'obj'): set3, ('self', 'i', 'success_result'): set3}

    def map_weight(res):
        # One task per item; a MapResult with no items (chunksize 0) submits nothing.
        if res._chunksize <= 0:
            return 0
        n = len(res._value)
        res.__dict__['_mptree_len'] = n
        return n

    def map_item_weight(res, i):
        n = res.__dict__.get('_mptree_len', 0)
        cs = res._chunksize
        return max(0, min(cs, n - i * cs))

    def make_worker(orig):
        # In a worker process, before multiprocessing's loop: our get/put on its queues
        # (tasks). A ThreadPool runs this too, on queue.SimpleQueue (no _writer): left alone.
        def worker(*args, **kwargs):
            try:
                if len(args) >= 2 and hasattr(args[0], '_writer'):
                    start_worker(args[0], args[1], 'pool')
            except Exception:
                fail('pool worker')
            try:
                return orig(*args, **kwargs)
            except BaseException as e:
                hide(e, sys._getframe())
                raise
        return worker

    # A class default None: results of pools we do not track (a ThreadPool) read it as a
    # plain attribute miss (see the same for queues). IMapIterator is not an ApplyResult.
    for cls in (mod.ApplyResult, mod.IMapIterator):
        if '_mptree_pool' not in cls.__dict__:
            cls._mptree_pool = None
    wrap(Pool, '__init__', make_init)
    wrap(Pool, '_repopulate_pool', make_repopulate)
    wrap(Pool, 'close', make_state('closed'))
    wrap(Pool, 'terminate', make_state('terminated'))
    wrap(Pool, 'join', make_state('joined'))
    wrap(Pool, '_guarded_task_generation', make_gtg)
    wrap(mod.ApplyResult, '__init__', make_result_init(_apply_weight),
          {('self', 'pool', 'callback', 'error_callback'): apply_init4})
    wrap(mod.ApplyResult, '_set', *make_set(None))
    wrap(mod.MapResult, '__init__', make_result_init(map_weight))
    wrap(mod.MapResult, '_set', *make_set(map_item_weight))
    wrap(mod.IMapIterator, '__init__', make_result_init(lambda r: 0))
    wrap(mod.IMapIterator, '_set', *make_set(imap_item_weight))
    wrap(mod.IMapUnorderedIterator, '_set', *make_set(imap_item_weight))
    CHUNKS[mod.mapstar] = False
    CHUNKS[mod.starmapstar] = True
    wrap(mod, 'worker', make_worker)
    # The parent's waits on the pool (map, apply, results, join).
    from .pool_waits import patch_pool_waits
    patch_pool_waits(mod)


def _apply_weight(res):
    return 1


def _counted_tasks(gen, pid, res):
    # A chunk of imap(chunksize=n) is its n items, as a map's is; _set learns the weight
    # of each chunk here (its items are gone by then when the chunk failed).
    for task in gen:
        try:
            n = 1
            if task[2] in CHUNKS:
                n = len(task[3][0][1])
                if n != 1:
                    res.__dict__.setdefault('_mptree_w', {})[task[1]] = n
            count_tasks(pid, 0, n)
        except Exception:
            fail('pool imap')
        yield task


def imap_item_weight(res, i):
    w = res.__dict__.get('_mptree_w')
    return w.pop(i, 1) if w else 1


def remember_queue(q, pool_id):
    """A pool's (or executor's) task queue, known by its semaphore's name in spawn and
    forkserver workers."""
    try:
        name = q._rlock._semlock.name
    except Exception:
        name = None
    if name:
        POOL_QUEUES[name] = pool_id


def start_worker(tasks_in, results_out, kind):
    pool_id = tasks.known_pool(tasks_in, POOL_QUEUES)
    if pool_id is not None:
        tasks.start_worker(pool_id, kind, tasks_in, results_out)
