"""Patches of multiprocessing.synchronize: a user's Lock, RLock, Semaphore, BoundedSemaphore,
Condition, Event and Barrier (and the lock of a Value or Array) gets an id and is
announced (lock.created); the waits of Condition, Event and Barrier record a wait
(waits.py). An acquire records nothing at all: one that blocks is found on its thread's
stack by the supervisor (our `__enter__` and a user lock's `acquire` are the Python frames
it recognises, waits.match_lock), and holding a lock costs nothing either: the supervisor
reads each user lock's per-process count (waits.tick). Both only read a flag, so that a
fork child's first use starts its supervisor."""

import sys

from .. import connection, state, waits
from ..settings import fail
from . import hide, internal, wrap

_WATCHING = state.WATCHING

# Semaphore name of a user lock (or of a Condition's, Event's or Barrier's first semaphore)
# -> its id. Rides in the preparation data to spawn and forkserver children (patches.spawn),
# as the queues' names do; fork children inherit the id attribute.
LOCK_NAMES = {}
VALUE_LOCKS = set()    # ids of the locks of Values and Arrays (they keep the C acquire)

_KINDS = {}        # class -> (kind, call): filled by patch_synchronize


def _kind_of(obj):
    for cls, kc in _KINDS.items():
        if isinstance(obj, cls):
            return kc
    return None, None


def _creator(obj):
    """How the object being made was asked for, and the frame that asked: 'user', 'value'
    (the lock of a Value or Array), or None (multiprocessing's own: inside a Queue, a
    Condition, an Event...). Walks out of the object's own constructors (any `__init__`
    whose self is this object: multiprocessing's chain, a user's subclass) and the
    context's factory."""
    f = sys._getframe(2)
    while f is not None:
        code = f.f_code
        fn = code.co_filename
        if code.co_name == '__init__' and f.f_locals.get('self') is obj:
            f = f.f_back
            continue
        if 'multiprocessing' in fn and fn.endswith('context.py'):
            f = f.f_back
            continue
        if 'multiprocessing' in fn and fn.endswith('sharedctypes.py'):
            return 'value', f
        if waits._user_file(fn):
            return 'user', f
        return None, f
    return None, None


def _announce(obj, kind, site, label):
    lid = state.new_id('l')
    obj._mptree_lid = lid      # setattr: reading __dict__ would slow every attribute read of it (3.11+)
    name = _first_semname(obj)
    if name:
        LOCK_NAMES[name] = lid
    connection.announce(lid, {'type': 'lock.created', 'id': lid, 'kind': kind,
                        'ownerPid': state.current().pid, 'site': site, 'label': label})
    return lid


def _first_semname(obj):
    # A lock's own semaphore; for a Condition (and the Condition inside an Event or a
    # Barrier) its first semaphore of its own, which travels with it.
    try:
        sl = getattr(obj, '_semlock', None)
        if sl is None:
            inner = getattr(obj, '_cond', None)
            cond = inner if inner is not None else obj
            sl = cond._sleeping_count._semlock
        return sl.name
    except Exception:
        return None


def sync_id(obj):
    """The id of a user Condition, Event or Barrier (also one unpickled here), or None."""
    lid = obj._mptree_lid
    if lid is None and LOCK_NAMES:
        name = _first_semname(obj)
        lid = LOCK_NAMES.get(name) if name else None
        if lid is not None:
            obj._mptree_lid = lid      # setattr: reading __dict__ would slow every attribute read of it (3.11+)
    return lid


def _acquire(self, block=True, timeout=None):
    # A user lock's acquire (an instance attribute, as multiprocessing's own C method is):
    # a Python frame the supervisor recognises while it blocks (waits.match_lock).
    if not _WATCHING[0]:
        waits.touch()       # a fork child's first use: its supervisor must look
    return self._semlock.acquire(block, timeout)


def _user_lock(obj, lid, own_acquire=True):
    """Give a user lock our acquire and let the supervisor watch its holds."""
    if own_acquire:
        obj.acquire = _acquire.__get__(obj)
    cls = type(obj)
    if cls not in waits.LOCK_CALLS:
        waits.LOCK_CALLS[cls] = _kind_of(obj)[1]
    waits.register_lock(lid, obj)


def patch_synchronize(mod):
    SemLock = mod.SemLock
    for cls, kind in ((mod.BoundedSemaphore, 'BoundedSemaphore'), (mod.Semaphore, 'Semaphore'),
                      (mod.RLock, 'RLock'), (mod.Lock, 'Lock')):
        _KINDS[cls] = (kind, 'Semaphore.acquire' if 'Semaphore' in kind else kind + '.acquire')
    for cls in (SemLock, mod.Condition, mod.Event, mod.Barrier):
        if '_mptree_lid' not in cls.__dict__:
            cls._mptree_lid = None

    def make_semlock_init(orig):
        def __init__(self, *args, **kwargs):
            # Every lock gets the attribute first, so all share one layout of attributes
            # (3.11+ keeps such objects' attribute reads fast: `with lock:` reads one).
            self._mptree_lid = None
            try:
                orig(self, *args, **kwargs)
            except BaseException as e:
                hide(e, sys._getframe())
                raise
            try:
                if internal():
                    return
                who, f = _creator(self)
                if who is None:
                    return
                kind = _kind_of(self)[0]
                if kind is None:
                    return
                site = waits.user_site(f)
                label = waits._label(site['file'], site['line']) if site else None
                if who == 'value':
                    # The lock of a Value or Array: named by the Value it guards. It keeps
                    # the C acquire: `counter.value` calls it twice (sharedctypes' property
                    # takes self.acquire), and a Python frame there would cost every read.
                    kind = 'RLock' if kind == 'RLock' else 'Lock'
                    label = label + '.get_lock()' if label else None
                    lid = _announce(self, kind, site, label)
                    VALUE_LOCKS.add(lid)
                    _user_lock(self, lid, own_acquire=False)
                    return
                _user_lock(self, _announce(self, kind, site, label))
            except Exception:
                fail('lock created')
        return __init__

    def make_semlock_setstate(orig):
        def __setstate__(self, st):
            self._mptree_lid = None
            try:
                orig(self, st)
            except BaseException as e:
                hide(e, sys._getframe())
                raise
            try:
                name = self._semlock.name
                lid = LOCK_NAMES.get(name) if name else None
                if lid is not None:
                    self._mptree_lid = lid
                    _user_lock(self, lid, own_acquire=lid not in VALUE_LOCKS)
            except Exception:
                fail('lock setstate')
        return __setstate__

    def __enter__(self):
        # Every `with` of every multiprocessing lock comes here (bare, a Python method too,
        # the same frame the supervisor recognises while it blocks: waits.match_lock).
        if not _WATCHING[0]:
            waits.touch()   # a fork child's first use: its supervisor must look
        return self._semlock.__enter__()

    orig_enter = SemLock.__dict__.get('__enter__')
    if orig_enter is not None and not getattr(orig_enter, '_mptree_patched', False):
        __enter__.__qualname__ = orig_enter.__qualname__
        __enter__.__doc__ = orig_enter.__doc__
        __enter__._mptree_patched = True
        __enter__._mptree_original = orig_enter
        SemLock.__enter__ = __enter__

    waits.sampled(__enter__, waits.match_lock, own=True)
    waits.sampled(_acquire, waits.match_lock, own=True)
    wrap(SemLock, '__init__', make_semlock_init)
    wrap(SemLock, '__setstate__', make_semlock_setstate)

    def make_sync_init(kind):
        def make(orig):
            def __init__(self, *args, **kwargs):
                try:
                    orig(self, *args, **kwargs)
                except BaseException as e:
                    hide(e, sys._getframe())
                    raise
                try:
                    if internal():
                        return
                    who, f = _creator(self)
                    if who != 'user':
                        return
                    site = waits.user_site(f)
                    label = waits._label(site['file'], site['line']) if site else None
                    _announce(self, kind, site, label)
                except Exception:
                    fail('sync created')
            return __init__
        return make

    def make_sync_wait(call, orig_of):
        def make(orig):
            def wait(self, *args, **kwargs):
                try:
                    lid = sync_id(self)
                    timeout = args[0] if args else kwargs.get('timeout')
                    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool):
                        timeout = None
                except Exception:
                    lid, timeout = None, None
                try:
                    return waits.call_waiting(call, 'lock', lid, timeout, orig, self, *args, **kwargs)
                except BaseException as e:
                    hide(e, sys._getframe())
                    raise
            return wait
        return make

    for cls, kind in ((mod.Condition, 'Condition'), (mod.Event, 'Event'), (mod.Barrier, 'Barrier')):
        wrap(cls, '__init__', make_sync_init(kind))
    wrap(mod.Condition, 'wait', make_sync_wait('Condition.wait', None))
    wrap(mod.Event, 'wait', make_sync_wait('Event.wait', None))
    # Barrier.wait is threading.Barrier's, inherited: ours goes on multiprocessing's class.
    base_wait = getattr(mod.Barrier, 'wait', None)
    if base_wait is not None and 'wait' not in mod.Barrier.__dict__:
        mod.Barrier.wait = base_wait
        wrap(mod.Barrier, 'wait', make_sync_wait('Barrier.wait', None))
