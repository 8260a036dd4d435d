"""Patches of multiprocessing.connection: a recv, recv_bytes or poll(timeout) that blocks
on a Connection the program itself reads (a Pipe's end) is found on its thread's stack by
the supervisor (waits.match_connection: the caller is the program's code, which tells a
queue's, a pool's or a manager's own reads apart, in a spawn child too). The wrappers only
make sure this process's supervisor looks."""

import sys

from .. import state, waits
from . import hide, wrap

_WATCHING = state.WATCHING


def _make_recv(orig):
    def recv(self):
        if not _WATCHING[0]:
            waits.touch()
        try:
            return orig(self)
        except BaseException as e:
            hide(e, sys._getframe())
            raise
    return recv


def _make_recv_bytes(orig):
    def recv_bytes(self, maxlength=None):
        if not _WATCHING[0]:
            waits.touch()
        try:
            return orig(self, maxlength)
        except BaseException as e:
            hide(e, sys._getframe())
            raise
    return recv_bytes


def _make_poll(orig):
    def poll(self, timeout=0.0):
        if not _WATCHING[0]:
            waits.touch()
        try:
            return orig(self, timeout)
        except BaseException as e:
            hide(e, sys._getframe())
            raise
    return poll


def _generic(orig):
    def method(*args, **kwargs):
        if not _WATCHING[0]:
            waits.touch()
        try:
            return orig(*args, **kwargs)
        except BaseException as e:
            hide(e, sys._getframe())
            raise
    return method


def patch_connection(mod):
    base = getattr(mod, '_ConnectionBase', None)
    if base is None:
        return
    wrap(base, 'recv', _generic, {('self',): _make_recv})
    wrap(base, 'recv_bytes', _generic, {('self', 'maxlength'): _make_recv_bytes})
    wrap(base, 'poll', _generic, {('self', 'timeout'): _make_poll})
    waits.sampled(base.recv, waits.match_connection('Connection.recv'))
    waits.sampled(base.recv_bytes, waits.match_connection('Connection.recv_bytes'))
    waits.sampled(base.poll, waits.match_connection('Connection.poll'))
