"""Wrappers around multiprocessing and concurrent.futures, applied after each module runs,
one module of patches per patched module (PATCHERS), imported with it; and what they share
(wrap, hide, call_site, Internal).

Every wrapper calls the original first-class: it passes arguments through untouched,
returns or raises exactly what the original does, and keeps its own work in try/except so
a failure of ours can only cost a report, never change the program.
"""

import functools
import os
import sys

from .. import state

MARK = '_mptree_patched'
_MP_DIR = None
_RUNTIME_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# patched module -> (our module of patches, its function). multiprocessing.util's exit
# function is the end of a process's own code: patched with the process's life.
PATCHERS = {
    'multiprocessing.util': ('process', 'patch_util'),
    'multiprocessing.process': ('process', 'patch_process'),
    'multiprocessing.popen_fork': ('popen', 'patch_popen_fork'),
    'multiprocessing.popen_forkserver': ('popen', 'patch_popen_forkserver'),
    'multiprocessing.popen_spawn_posix': None,   # inherits popen_fork's wrappers
    'multiprocessing.popen_spawn_win32': ('popen', 'patch_popen_spawn_win32'),
    'multiprocessing.queues': ('queues', 'patch_queues'),
    'multiprocessing.spawn': ('spawn', 'patch_spawn'),
    'multiprocessing.pool': ('pool', 'patch_pool'),
    'multiprocessing.managers': ('managers', 'patch_managers'),
    'concurrent.futures.process': ('futures', 'patch_futures_process'),
    'concurrent.futures._base': ('futures_waits', 'patch_futures_base'),
    'multiprocessing.synchronize': ('synchronize', 'patch_synchronize'),
    'multiprocessing.connection': ('pipes', 'patch_connection'),
}


def patcher(name):
    """The function that patches the module `name`, its module of patches imported now (by
    the import of `name` itself, in the program's thread); None for a module we leave."""
    where = PATCHERS.get(name)
    if where is None:
        return None
    module = __import__(__name__ + '.' + where[0], fromlist=[where[1]])
    return getattr(module, where[1])


def hide(exc, frame):
    """Drop our wrapper's frame from an exception passing through it, so the user's
    traceback reads exactly as without mptree. A bare `raise` afterwards adds no entry on
    Python 3.11+; on 3.8-3.10 the wrapper's line still shows (documented)."""
    try:
        tb = exc.__traceback__
        if tb is not None and tb.tb_frame is frame:
            exc.__traceback__ = tb.tb_next
    except Exception:
        pass


def _params(func):
    """The parameter names of a plain Python function whose parameters are all
    positional-or-keyword (no *args, **kwargs, keyword-only or positional-only), else None."""
    code = getattr(func, '__code__', None)
    if code is None or code.co_kwonlyargcount or getattr(code, 'co_posonlyargcount', 0) \
            or code.co_flags & 0x0C:
        return None
    return code.co_varnames[:code.co_argcount]


def wrap(owner, name, make, exact=None):
    """Replace owner.name by make(original), once (a marker attribute), keeping the original.

    `exact` maps parameter tuples to makers of wrappers with that very parameter list: a
    call through `def put(self, obj, block=True, timeout=None)` costs ~25 ns where
    `def put(self, *args, **kwargs)` costs ~220 ns (argument packing, and a call the
    interpreter cannot inline). The wrapper gets the original's own defaults, so every
    call, positional or by keyword, reaches the original exactly as written. Any other
    signature (another Python version) gets the generic wrapper."""
    orig = owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)
    if orig is None or getattr(orig, MARK, False):
        return
    is_static = isinstance(orig, staticmethod)
    func = orig.__func__ if is_static else orig
    fast = exact.get(_params(func)) if exact else None
    new = fast(func) if fast is not None else make(func)
    try:
        functools.update_wrapper(new, func)
        if fast is not None:
            new.__defaults__ = func.__defaults__
    except Exception:
        pass
    setattr(new, MARK, True)
    new._mptree_original = func
    setattr(owner, name, staticmethod(new) if is_static else new)


def _mp_dir():
    global _MP_DIR
    if _MP_DIR is None:
        mp = sys.modules.get('multiprocessing')
        _MP_DIR = os.path.dirname(os.path.abspath(mp.__file__)) if mp else ''
    return _MP_DIR


_SITE_FILES = {}   # co_filename -> its absolute path, or '' for multiprocessing's and ours


def site_file(fn):
    r = _SITE_FILES.get(fn)
    if r is None:
        skip = (_mp_dir(), _RUNTIME_DIR, os.path.join('concurrent', 'futures'))
        if any(s and s in fn for s in skip):
            r = ''
        else:
            r = os.path.abspath(fn) if not fn.startswith('<') else fn
        if len(_SITE_FILES) < 4096:
            _SITE_FILES[fn] = r
    return r


def call_site():
    """file:line of the first frame outside multiprocessing, concurrent.futures and us.
    Paths are worked out once per file: this runs in every start()."""
    try:
        f = sys._getframe(2)
        while f is not None:
            path = site_file(f.f_code.co_filename)
            if path:
                return '%s:%d' % (path, f.f_lineno)
            f = f.f_back
    except Exception:
        pass
    return None


def internal():
    state.current()
    return getattr(state.tls, 'internal', 0) > 0


class Internal(object):
    """Marks multiprocessing's own queue-making code (inside Pool, executors) on this thread."""

    def __enter__(self):
        state.current()   # a fork child's tls is the forking thread's until state exists
        state.tls.internal = getattr(state.tls, 'internal', 0) + 1

    def __exit__(self, *exc):
        state.tls.internal = getattr(state.tls, 'internal', 1) - 1

