"""Patches of multiprocessing.spawn: what a spawn or forkserver child needs from us
rides along in the preparation data (the user queues' names, the boot time)."""

import sys

from .. import identity
from ..settings import fail
from . import hide, wrap

_QUEUES = __name__.rpartition('.')[0] + '.queues'   # patches.queues, once imported
_POOL = __name__.rpartition('.')[0] + '.pool'       # patches.pool, once imported
_LOCKS = __name__.rpartition('.')[0] + '.synchronize'   # patches.synchronize, likewise


def patch_spawn(mod):
    # The queue-name registry rides along in the preparation data, a dict whose unknown
    # keys spawn.prepare() ignores (so a child without the runtime is unaffected).
    def make_gpd(orig):
        def get_preparation_data(*args, **kwargs):
            d = orig(*args, **kwargs)
            try:
                if isinstance(d, dict):
                    # No queue patches loaded: no user queue was made here.
                    queues = sys.modules.get(_QUEUES)
                    if queues is not None and queues.QUEUE_NAMES:
                        d['mptree_queues'] = dict(queues.QUEUE_NAMES)
                    pool = sys.modules.get(_POOL)
                    if pool is not None and pool.POOL_QUEUES:
                        d['mptree_pools'] = dict(pool.POOL_QUEUES)
                    locks = sys.modules.get(_LOCKS)
                    if locks is not None and locks.LOCK_NAMES:
                        d['mptree_locks'] = dict(locks.LOCK_NAMES)
                        d['mptree_value_locks'] = sorted(locks.VALUE_LOCKS)
                    if identity.boot_seconds[0] is not None:
                        # Saves the child reading /proc/stat (~100 us) for its hello.
                        d['mptree_btime'] = identity.boot_seconds[0]
            except Exception:
                fail('prep data')
            return d
        return get_preparation_data

    def make_prepare(orig):
        def prepare(data, *args, **kwargs):
            try:
                q = data.get('mptree_queues') if isinstance(data, dict) else None
                if isinstance(q, dict) and q:
                    # This child will unpickle user queues: their patches come now.
                    from .queues import QUEUE_NAMES
                    QUEUE_NAMES.update(q)
                q = data.get('mptree_pools') if isinstance(data, dict) else None
                if isinstance(q, dict) and q:
                    # A pool's worker: the task queue it unpickles is known by this.
                    from .pool import POOL_QUEUES
                    POOL_QUEUES.update(q)
                k = data.get('mptree_locks') if isinstance(data, dict) else None
                if isinstance(k, dict) and k:
                    from .synchronize import LOCK_NAMES, VALUE_LOCKS
                    LOCK_NAMES.update(k)
                    v = data.get('mptree_value_locks')
                    if isinstance(v, list):
                        VALUE_LOCKS.update(x for x in v if isinstance(x, str))
                b = data.get('mptree_btime') if isinstance(data, dict) else None
                if type(b) is int and identity.boot_seconds[0] is None:
                    identity.boot_seconds[0] = b
            except Exception:
                fail('prepare')
            try:
                return orig(data, *args, **kwargs)
            except BaseException as e:
                hide(e, sys._getframe())
                raise
        return prepare

    wrap(mod, 'get_preparation_data', make_gpd)
    wrap(mod, 'prepare', make_prepare)
