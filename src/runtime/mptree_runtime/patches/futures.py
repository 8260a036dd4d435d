"""Patches of concurrent.futures.process: a ProcessPoolExecutor announces itself and
counts its futures submitted and done (a map's items one by one), and its shutdown."""

import functools
import os
import sys

from .. import connection, state
from ..settings import fail
from . import Internal, call_site, hide, wrap
from .pool import count_tasks, remember_queue, start_worker
from .. import tasks


def patch_futures_process(mod):
    Executor = mod.ProcessPoolExecutor

    def make_init(orig):
        def __init__(self, *args, **kwargs):
            with Internal():
                try:
                    orig(self, *args, **kwargs)
                except BaseException as e:
                    hide(e, sys._getframe())
                    raise
            try:
                pid = state.new_id('p')
                self.__dict__['_mptree_pool'] = pid
                self._call_queue.__dict__['_mptree_pool'] = pid
                remember_queue(self._call_queue, pid)
                connection.announce(pid, {'type': 'pool.created', 'id': pid,
                                    'kind': 'ProcessPoolExecutor', 'ownerPid': state.current().pid,
                                    'size': int(self._max_workers), 'site': call_site()})
            except Exception:
                fail('executor init')
        return __init__

    def make_submit(orig):
        def submit(*args, **kwargs):
            try:
                f = orig(*args, **kwargs)
            except BaseException as e:
                hide(e, sys._getframe())
                raise
            try:
                self = args[0]
                pid = self.__dict__.get('_mptree_pool')
                if pid is not None:
                    fn = args[1] if len(args) > 1 else kwargs.get('fn')
                    n = 1
                    # map() submits chunks: one task per item, as the protocol counts.
                    if isinstance(fn, functools.partial) and fn.func is mod._process_chunk:
                        n = len(args[2]) if len(args) > 2 else 1
                    count_tasks(pid, 0, n)
                    f.add_done_callback(_done_counter(pid, n))
            except Exception:
                fail('executor submit')
            return f
        return submit

    def make_shutdown(orig):
        def shutdown(self, *args, **kwargs):
            try:
                r = orig(self, *args, **kwargs)
            except BaseException as e:
                hide(e, sys._getframe())
                raise
            try:
                pid = self.__dict__.get('_mptree_pool')
                if pid is not None and not self.__dict__.get('_mptree_state'):
                    self.__dict__['_mptree_state'] = 'shutdown'
                    connection.announce(pid + ':state', {'type': 'pool.state', 'id': pid,
                                                   'state': 'shutdown'})
            except Exception:
                fail('executor shutdown')
            return r
        return shutdown

    def make_worker(orig):
        # In a worker process, before concurrent.futures' loop: our get/put on its call
        # and result queues (tasks).
        def _process_worker(*args, **kwargs):
            try:
                if len(args) >= 2:
                    start_worker(args[0], args[1], 'executor')
            except Exception:
                fail('executor worker')
            try:
                return orig(*args, **kwargs)
            except BaseException as e:
                hide(e, sys._getframe())
                raise
        return _process_worker

    tasks.EXECUTOR_CHUNK[0] = mod._process_chunk
    wrap(mod, '_process_worker', make_worker)
    wrap(Executor, '__init__', make_init)
    wrap(Executor, 'submit', make_submit)
    wrap(Executor, 'shutdown', make_shutdown)
    # shutdown(wait=True) waits for the workers (pool_waits.rewrap: around the wrapper above).
    from .futures_waits import patch_executor_waits
    patch_executor_waits(mod)


def _done_counter(pid, n):
    me = os.getpid()

    def done(_future):
        try:
            if os.getpid() == me:
                count_tasks(pid, 1, n)
        except Exception:
            fail('executor done')
    return done
