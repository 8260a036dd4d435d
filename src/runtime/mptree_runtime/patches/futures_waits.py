"""The waits of concurrent.futures: Future.result, wait, as_completed (concurrent.futures.
_base, patched when concurrent.futures is first imported, so the package's own names are
ours) and ProcessPoolExecutor.shutdown(wait=True) record a wait (waits.py)."""

import sys

from .. import waits
from . import hide, wrap
from .pool_waits import rewrap


def patch_futures_base(mod):
    finished = getattr(mod, 'FINISHED', 'FINISHED')

    def make_result(orig):
        def result(self, timeout=None):
            if self._state == finished:
                return orig(self, timeout)
            try:
                return waits.call_waiting('Future.result', 'future', None, timeout, orig, self, timeout)
            except BaseException as e:
                hide(e, sys._getframe())
                raise
        return result

    def make_wait(orig):
        def wait(fs, timeout=None, *args, **kwargs):
            try:
                return waits.call_waiting('futures.wait', 'future', None, timeout, orig, fs, timeout,
                                          *args, **kwargs)
            except BaseException as e:
                hide(e, sys._getframe())
                raise
        return wait

    def make_as_completed(orig):
        def as_completed(fs, timeout=None):
            return _waiting_iter(orig(fs, timeout), timeout)
        return as_completed

    wrap(mod.Future, 'result', make_result)
    wrap(mod, 'wait', make_wait)
    wrap(mod, 'as_completed', make_as_completed)


def _waiting_iter(gen, timeout):
    # Each step of as_completed blocks until a future is done: one wait per step.
    try:
        while True:
            try:
                item = waits.call_waiting('futures.as_completed', 'future', None, timeout, next, gen)
            except StopIteration:
                return
            yield item
    finally:
        gen.close()


def patch_executor_waits(mod):
    def make_shutdown(orig):
        def shutdown(self, wait=True, *args, **kwargs):
            pid = self.__dict__.get('_mptree_pool')
            if pid is None or not wait:
                return orig(self, wait, *args, **kwargs)
            try:
                return waits.call_waiting('Executor.shutdown', 'pool', pid, None, orig, self, wait,
                                          *args, **kwargs)
            except BaseException as e:
                hide(e, sys._getframe())
                raise
        return shutdown

    rewrap(mod.ProcessPoolExecutor, 'shutdown', make_shutdown)
