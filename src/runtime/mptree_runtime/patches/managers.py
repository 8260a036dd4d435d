"""Patches of multiprocessing.managers: Manager().Queue() lives in the server process;
it is announced and counted there."""

import functools
import sys

from .. import connection, state, waits
from ..settings import fail
from . import hide, wrap
from .queues import count


def _count_in_server(obj, qid):
    # Instance attributes: the server looks methods up with getattr(obj, name), and the
    # object never leaves the server, so nobody else sees the difference.
    for name, index in (('put', 0), ('get', 1), ('task_done', 2)):
        orig = getattr(obj, name, None)
        if orig is not None:
            setattr(obj, name, _server_counting(orig, qid, index))


def _server_counting(orig, qid, index):
    def method(*args, **kwargs):
        try:
            r = orig(*args, **kwargs)
        except BaseException as e:
            hide(e, sys._getframe())
            raise
        try:
            count(qid, index)
        except Exception:
            fail('manager count')
        return r
    try:
        functools.update_wrapper(method, orig)
    except Exception:
        pass
    return method


def patch_managers(mod):
    import queue as _queue
    Server = mod.Server

    def make_create(orig):
        def create(*args, **kwargs):
            try:
                r = orig(*args, **kwargs)
            except BaseException as e:
                hide(e, sys._getframe())
                raise
            try:
                if len(args) >= 3:
                    self, typeid = args[0], args[2]
                    if typeid in ('Queue', 'JoinableQueue'):
                        obj = self.id_to_obj[r[0]][0]
                        if isinstance(obj, _queue.Queue) and '_mptree_id' not in obj.__dict__:
                            qid = state.new_id('q')
                            obj.__dict__['_mptree_id'] = qid
                            _count_in_server(obj, qid)
                            maxsize = obj.maxsize if obj.maxsize > 0 else 0
                            connection.announce(qid, {'type': 'queue.created', 'id': qid,
                                                'kind': 'Manager' + typeid,
                                                'ownerPid': state.current().pid,
                                                'maxsize': maxsize, 'site': None})
            except Exception:
                fail('manager create')
            return r
        return create

    wrap(Server, 'create', make_create)
    wrap(mod.BaseProxy, '_callmethod', _make_callmethod)


def _make_callmethod(orig):
    # Every call through a proxy is a round trip to the manager's server, which may wait
    # (a manager queue's get, a manager lock's acquire): a wait of the caller's.
    def _callmethod(self, *args, **kwargs):
        try:
            address = str(self._token.address)
        except Exception:
            address = None
        try:
            return waits.call_waiting('Manager.call', 'manager', address, None, orig, self, *args, **kwargs)
        except BaseException as e:
            hide(e, sys._getframe())
            raise
    return _callmethod
