"""The waits of a Pool's user (the parent): map, starmap, apply, iterating imap's results,
AsyncResult.get/wait and Pool.join record a wait on the pool (waits.py). A pool's workers
and its handler threads are not the program's waits: only pools we track (not a
ThreadPool) and only these calls of the program's."""

import functools
import sys

from .. import waits
from . import MARK, hide

_WAITS_MARK = '_mptree_waits'


def rewrap(owner, name, make):
    """Like patches.wrap, for a method that may be wrapped already (Pool.join reports the
    pool's state): ours goes around it, once (its own marker)."""
    orig = owner.__dict__.get(name)
    if orig is None or getattr(orig, _WAITS_MARK, False):
        return
    new = make(orig)
    try:
        functools.update_wrapper(new, getattr(orig, '_mptree_original', orig))
    except Exception:
        pass
    setattr(new, MARK, True)
    setattr(new, _WAITS_MARK, True)
    new._mptree_original = getattr(orig, '_mptree_original', orig)
    setattr(owner, name, new)


def _pool_call(call):
    def make(orig):
        def method(self, *args, **kwargs):
            pid = self.__dict__.get('_mptree_pool')
            if pid is None:
                return orig(self, *args, **kwargs)
            try:
                return waits.call_waiting(call, 'pool', pid, None, orig, self, *args, **kwargs)
            except BaseException as e:
                hide(e, sys._getframe())
                raise
        return method
    return make


def _result_call(call):
    # AsyncResult.get/wait: nothing recorded once the result is there.
    def make(orig):
        def method(self, timeout=None):
            pid = self._mptree_pool
            if pid is None or self._event.is_set():
                return orig(self, timeout)
            try:
                return waits.call_waiting(call, 'pool', pid, timeout, orig, self, timeout)
            except BaseException as e:
                hide(e, sys._getframe())
                raise
        return method
    return make


def _make_next(orig):
    # Iterating imap/imap_unordered: a wait only while the next result is not there yet.
    def next(self, timeout=None):
        pid = self._mptree_pool
        if pid is None or self._items:
            return orig(self, timeout)
        try:
            return waits.call_waiting('Pool.imap', 'pool', pid, timeout, orig, self, timeout)
        except BaseException as e:
            hide(e, sys._getframe())
            raise
    return next


def patch_pool_waits(mod):
    for name, call in (('map', 'Pool.map'), ('starmap', 'Pool.starmap'), ('apply', 'Pool.apply'),
                       ('join', 'Pool.join')):
        rewrap(mod.Pool, name, _pool_call(call))
    rewrap(mod.ApplyResult, 'get', _result_call('AsyncResult.get'))
    rewrap(mod.ApplyResult, 'wait', _result_call('AsyncResult.wait'))
    rewrap(mod.IMapIterator, 'next', _make_next)
    mod.IMapIterator.__next__ = mod.IMapIterator.next
