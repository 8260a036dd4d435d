"""Wrappers around multiprocessing and concurrent.futures, applied after each module runs.

Every wrapper calls the original first-class: it passes arguments through untouched,
returns or raises exactly what the original does, and keeps its own work in try/except so
a failure of ours can only cost a report, never change the program.
"""

import functools
import os
import sys

from . import core
from .core import (J_PROC, J_PID, J_INFO, J_T, J_RC, J_T_RC, J_JOINED, J_CLAIM,
                   J_DONE)

MARK = '_mptree_patched'
_MP_DIR = None
_RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__))

# Semaphore name of a user queue's read lock -> queue id. The name travels with the queue
# when it is pickled for a spawn/forkserver child, so the child can recognise user queues
# (and ignore multiprocessing's own ones) without changing the pickled data at all.
QUEUE_NAMES = {}


def _hide(exc, frame):
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


def _wrap(owner, name, make, exact=None):
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


def _site_file(fn):
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
            path = _site_file(f.f_code.co_filename)
            if path:
                return '%s:%d' % (path, f.f_lineno)
            f = f.f_back
    except Exception:
        pass
    return None


def _internal():
    core.state()
    return getattr(core.tls, 'internal', 0) > 0


class _Internal(object):
    """Marks multiprocessing's own queue-making code (inside Pool, executors) on this thread."""

    def __enter__(self):
        core.state()   # a fork child's tls is the forking thread's until state exists
        core.tls.internal = getattr(core.tls, 'internal', 0) + 1

    def __exit__(self, *exc):
        core.tls.internal = getattr(core.tls, 'internal', 1) - 1


# ---------------------------------------------------------------------------------------
# multiprocessing.process

_base_run = [None]    # BaseProcess.run, set when multiprocessing.process is patched
_UNSET = object()


def _target_name(proc, t):
    try:
        run = getattr(type(proc), 'run', None)
        if run is not None and run is not _base_run[0]:
            return '%s.run' % (type(proc).__qualname__,)
        if t is None:
            return None
        if isinstance(t, functools.partial):
            t = t.func
        return (getattr(t, '__qualname__', None) or getattr(t, '__name__', None)
                or type(t).__qualname__)
    except Exception:
        return None


def classify(proc, t=_UNSET, args=_UNSET):
    """(kind, role, poolId, target) of a multiprocessing Process object. start() deletes
    _target and _args: after it, pass what it had."""
    if t is _UNSET:
        t = proc.__dict__.get('_target')
        args = proc.__dict__.get('_args')
    args = args or ()
    if t is not None:
        pool_mod = sys.modules.get('multiprocessing.pool')
        cf = sys.modules.get('concurrent.futures.process')
        if (pool_mod is not None and t is getattr(pool_mod, 'worker', None)) or \
                (cf is not None and t is getattr(cf, '_process_worker', None)):
            pool_id = getattr(args[0], '_mptree_pool', None) if args else None
            return 'pool-worker', None, pool_id, _target_name(proc, t)
        mgr = sys.modules.get('multiprocessing.managers')
        if mgr is not None and getattr(t, '__func__', None) is not None:
            base = getattr(mgr, 'BaseManager', None)
            if base is not None and t.__func__ is base.__dict__['_run_server'].__func__:
                return 'helper', 'manager', None, _target_name(proc, t)
    return 'process', None, None, _target_name(proc, t)


def _popen_method(proc, popen):
    return getattr(popen, 'method', None) or getattr(proc, '_start_method', None)


def patch_process(mod):
    BaseProcess = mod.BaseProcess
    _base_run[0] = BaseProcess.__dict__.get('run')

    def make_start(orig):
        def start(self):
            # Before the fork, only references: what start() deletes (target, args) and
            # the caller's line, for the report made later (see core's fork journal).
            try:
                f = _getframe(1)
                raw = (self._target, self._args, f.f_code, f.f_lineno)
            except Exception:
                raw = None
            t = _time()
            try:
                orig(self)
            except BaseException as e:
                _hide(e, _getframe())
                raise
            try:
                popen = self._popen
                # Strings only from here on: start() deleted _target and _args so as not
                # to keep them alive, and so do we.
                info = _info(self, raw)
                raw = None
                if type(popen) is _FORK_POPEN[0]:
                    # Journaled, reported by the next batch. This runs beside the child,
                    # while the program would only wait for it.
                    entry = [_weakref_ref(self), popen.pid,
                             (info, self.name, bool(self.daemon), self._parent_pid),
                             t, None, None, False, [1], False]
                    popen._mptree_st = entry
                    _JOURNAL.append(entry)
                    p = core.P
                    if p is None or p.sup is None or not p.sup.ticking:
                        core.expect_forks()
                else:
                    p = core.state()
                    with p.lock:
                        _announce(p, [(self, popen, info, t * 1000.0)])
            except Exception:
                core.fail('start')
        return start

    def make_join(orig):
        # Before the wait only reads, of objects the fork made us write anyway: while the
        # child lives, every page written here is a copy-on-write fault.
        def join(self, *args, **kwargs):
            try:
                popen = self._popen
                waiting = popen is not None and popen.returncode is None
            except Exception:
                popen = None
            try:
                return orig(self, *args, **kwargs)
            except BaseException as e:
                _hide(e, _getframe())
                raise
            finally:
                try:
                    if popen is not None:
                        _after_join(popen, waiting)
                except Exception:
                    core.fail('join')
        _JOIN_CODE[0] = getattr(orig, '__code__', None)
        return join

    def make_bootstrap(orig):
        # Any signature; CPython 3.8+ gets the exact one below, with the quiet child's
        # short path (this one serves a quiet child too, at a few more page writes).
        def _bootstrap(self, *args, **kwargs):
            sentinel = _parent_sentinel(args, kwargs)
            child = False
            try:
                child = _child_begin(self)
            except Exception:
                core.fail('bootstrap')
            try:
                try:
                    code = orig(self, *args, **kwargs)
                except BaseException as e:
                    _hide(e, _getframe())
                    raise
            except BaseException:
                if child:
                    _child_end(self, None, sentinel)
                raise
            if child:
                _child_end(self, code, sentinel)
            return code
        return _bootstrap

    def bootstrap2(orig):
        # _bootstrap(self, parent_sentinel=None), 3.8+: every fork child runs this, so it
        # takes its arguments as they come (no packing into new objects).
        slow = make_bootstrap(orig)

        def _bootstrap(self, parent_sentinel=None):
            if core.P is not None or core.forked_by_forkserver[0]:
                try:
                    return slow(self, parent_sentinel)
                except BaseException as e:
                    _hide(e, _getframe())
                    raise
            # A quiet fork child, the usual case: its parent reports its start and its exit,
            # so nothing is done here beyond noting who it is. Every page a new fork child
            # writes is a copy, and this path runs in each one.
            core.me[0] = self
            try:
                code = orig(self, parent_sentinel)
            except BaseException as e:
                _hide(e, _getframe())
                _child_end(self, None, parent_sentinel)
                raise
            if core.P is not None or os.getppid() != self._parent_pid:
                # It said something (connected), or its parent is gone and nobody else
                # will report how it ended.
                _child_end(self, code, parent_sentinel)
            return code
        return _bootstrap

    _wrap(BaseProcess, 'start', make_start)
    _wrap(BaseProcess, 'join', make_join)
    _wrap(BaseProcess, '_bootstrap', make_bootstrap, exact={('self', 'parent_sentinel'): bootstrap2})


_STARTED = ('{"v":1,"type":"process.started","pid":%d,"parentPid":%d,"name":%s,'
            '"daemon":%s,"kind":%s,"role":%s,"startMethod":%s,"target":%s,"poolId":%s,'
            '"site":%s,"t":%r}\n')
_WORKERS = '{"v":1,"type":"pool.workers","id":%s,"pids":[%d],"t":%r}\n'


_FORK_POPEN = [None]   # multiprocessing.popen_fork.Popen, once imported
_JOURNAL = core.JOURNAL
_getframe = sys._getframe
_time = core._time
_weakref_ref = core._weakref.ref


# The last child's description, for the next one started by the same line with the same
# target (a loop): (weakref to the target, code, line, Process class, _info()). A weak
# reference: the target must die when the program lets go of it.
_last_info = [None]


def _info(proc, raw):
    """What the report says of a child, from the references start() kept: ((kind, role,
    poolId, target), site)."""
    if raw is None:
        return ('process', None, None, _target_name(proc, None)), None
    target, args, code, line = raw
    last = _last_info[0]
    if last is not None and last[1] is code and last[2] == line and last[3] is type(proc):
        ref = last[0]
        if (target is None and ref is None) or \
                (target is not None and ref is not None and ref() is target):
            return last[4]
    pre = classify(proc, target, args)
    # Where the user's code called start(): hints put their diagnostic there. Workers and
    # helpers are started by multiprocessing itself.
    site = None
    if pre[0] == 'process':
        path = _site_file(code.co_filename)
        site = '%s:%d' % (path, line) if path else None
        try:
            ref = _weakref_ref(target) if target is not None else None   # (a run() override)
            _last_info[0] = (ref, code, line, type(proc), (pre, site))
        except TypeError:
            _last_info[0] = None      # a target without weak references: not cached
    return pre, site


def _started_line(p, pid, name, daemon, method, info, t):
    (kind, role, pool_id, target), site = info
    j = core._j
    data = _STARTED % (pid, p.pid, j(name), j(daemon), j(kind), j(role), j(method),
                       j(target), j(pool_id), j(site), t)
    if pool_id is not None:
        data += _WORKERS % (j(pool_id), pid, t)
    return data.encode('ascii')


def _announce(p, started):
    """process.started for children that exist and are not collected yet, in one write;
    then each is watched. `started`: (Process, Popen, _info(), t in ms). Called with
    p.lock held."""
    ready = []
    data = []
    for proc, popen, info, t in started:
        line = _started_line(p, popen.pid, proc.name, bool(proc.daemon),
                             _popen_method(proc, popen), info, t)
        data.append(line)
        ready.append((proc, popen, info, line, t))
    if data:
        core.send_raw_locked(p, b''.join(data))
    for proc, popen, info, line, t in ready:
        sentinel = getattr(popen, 'sentinel', None)
        if type(sentinel) is not int:
            continue
        st = core.ChildState(popen.pid, _popen_method(proc, popen), info[0][2], proc, sentinel, line)
        popen._mptree_st = st
        # Watched from GRACE after start() on: most short children are collected first.
        core.watch_child(st, core._monotonic() + core.GRACE - (core._time() - t / 1000.0))


def _report_journal(p):
    """The supervisor's batch (also before a control request and at exit): every fork
    child journaled since the last one. A child collected meanwhile gets started, exited
    and reaped; a running one is announced and watched. One write. Called with p.lock."""
    n = len(_JOURNAL)
    if not n:
        return
    entries = _JOURNAL[:n]
    del _JOURNAL[:n]
    me = os.getpid()
    data = []
    running = []
    for e in entries:
        info, name, daemon, parent_pid = e[J_INFO]
        if parent_pid != me:
            continue    # inherited from our parent at the fork that made us
        t = e[J_T] * 1000.0
        try:
            e[J_CLAIM].pop()
        except IndexError:
            # Collected first (J_RC was set before the claim was taken): the whole story.
            e[J_DONE] = True       # before reading J_JOINED: see _after_join
            joined = e[J_JOINED] and info[0][2] is None   # a pool's clean-up is not a join
            pid, rc, tc = e[J_PID], e[J_RC], e[J_T_RC] * 1000.0
            data.append(_started_line(p, pid, name, daemon, 'fork', info, t) +
                        ((core._EXITED % (pid, rc, tc)) +
                         (core._REAPED % (pid, 'true' if joined else 'false', tc))).encode('ascii'))
            core._remember_collected(p, pid, rc)
            continue
        proc = e[J_PROC]()
        popen = proc.__dict__.get('_popen') if proc is not None else None
        if popen is not None:
            # (Running, so multiprocessing's _children still holds the Process.)
            running.append((proc, popen, info, t))
    if data:
        core.send_raw_locked(p, b''.join(data))
    if running:
        # A collection from now on finds the ChildState (it waits for p.lock, held here).
        _announce(p, running)


core.report_journal[0] = _report_journal


def _after_join(popen, waited):
    """After a join(): report the collection it made, as joined. `waited`: the child was
    not collected yet when join() began (a forkserver child's status may have been read by
    the supervisor meanwhile: its ChildState tells)."""
    rc = popen.returncode
    if rc is None:
        return      # timed out
    st = getattr(popen, '_mptree_st', None)
    if type(st) is list:
        if not waited:
            return  # collected before, by is_alive() or exitcode
        # Journaled: the batch reports it. Sequentially consistent under the GIL: the
        # batch sets J_DONE before reading J_JOINED, so either it sees the join or we
        # see that it reported without it and say it now.
        st[J_JOINED] = True
        if st[J_DONE] and st[J_INFO][0][0][2] is None:    # (not a pool worker)
            core.report_joined_late(popen.pid)
        return
    if st is None or st.reaped:
        return
    # The pool's own clean-up joins its workers: that is not the user joining them.
    core.report_collected(st, rc, st.pool_id is None)


def _describe(proc, p):
    kind, role, _pool_id, target = classify(proc)
    if p.identity.start_method == 'os.fork':
        method = 'forkserver' if p.forked_from_role == 'forkserver' else 'fork'
    else:
        method = p.identity.start_method or getattr(proc, '_start_method', None) or 'spawn'
    return core.Identity(name=proc.name, daemon=bool(proc.daemon), kind=kind, role=role,
                         start_method=method, target=target,
                         parent_pid=proc.__dict__.get('_parent_pid'))


core.describe[0] = _describe


def _parent_sentinel(args, kwargs):
    return args[0] if args else kwargs.get('parent_sentinel')


def _child_begin(proc):
    """In the new process, before run(). A fork child only remembers its Process object
    (its identity is worked out if it ever connects); a spawn child connects now.
    Returns False if this is not actually a child (_bootstrap called in-process)."""
    if proc.__dict__.get('_parent_pid') == os.getpid():
        return False
    core.me[0] = proc
    p = core.P
    if p is None:
        return True
    if p.identity.kind == 'python' and p.identity.start_method == 'os.fork':
        p.identity = _describe(proc, p)
    elif p.connect_eagerly:
        p.identity = _describe(proc, p)
        if p.conn is None:
            core.connection()
            return True
    core.resend_hello()
    return True


def _child_end(proc, code, parent_sentinel):
    try:
        if proc.__dict__.get('_parent_pid') == os.getpid():
            return      # _bootstrap called in-process: not a child
        p = core.P
        if p is not None and p.pid != os.getpid():
            return
        parent_pid = proc.__dict__.get('_parent_pid')
        if p is None:
            # A quiet fork child says nothing: its parent's started/exited/reaped describe
            # it fully. Only if the parent is gone does nobody else know how it ended.
            if code is None or not core.parent_is_gone(parent_pid, parent_sentinel):
                return
        else:
            core.final_flush(p)
            if code is None:
                return
            if p.conn is None and not p.conn_dead and not p.reconnecting and \
                    not core.parent_is_gone(parent_pid, parent_sentinel):
                return
        core.send({'type': 'process.exiting', 'pid': os.getpid(), 'exitCode': code})
    except Exception:
        core.fail('bootstrap end')


# ---------------------------------------------------------------------------------------
# Popen: exit status collected by the user's code

_JOIN_CODE = [None]   # the code of multiprocessing's own Process.join


def _in_join():
    """Called (through _collected) from Popen.poll: is that poll part of a Process.join?
    Asked only once a child is collected, so the frame walk is off the hot path."""
    code = _JOIN_CODE[0]
    if code is None:
        return False
    f = sys._getframe(3)
    for _ in range(4):
        if f is None:
            return False
        if f.f_code is code:
            return True
        f = f.f_back
    return False


def _collected(popen, rc):
    """The first poll() that found the child's exit status (join, is_alive, exitcode)."""
    st = getattr(popen, '_mptree_st', None)
    if type(st) is list:
        # Journaled, not reported yet: note it for the batch. Only if the batch took the
        # claim first (it is announcing the child right now) do we report it ourselves,
        # once it holds the child's ChildState (under p.lock, which the batch holds).
        st[J_RC] = rc
        st[J_T_RC] = _time()
        try:
            st[J_CLAIM].pop()
            return
        except IndexError:
            pass
        p = core.P
        if p is None:
            return
        with p.lock:
            st = getattr(popen, '_mptree_st', None)
        if type(st) is list:
            return
    if _in_join():
        return      # join reports it, as joined
    if st is not None and not st.reaped:
        core.report_collected(st, rc, False)


_ATEXIT = '{"v":1,"type":"process.atexit","pid":%d,"t":%r}\n'


def patch_util(mod):
    """process.atexit: the moment a process's own code is done. multiprocessing's exit
    function runs first thing at interpreter exit (main: an atexit handler registered when
    multiprocessing.util is imported; children: called by _bootstrap), before it terminates
    daemonic children and joins the rest — so a hang after this message is a child's doing."""
    orig = mod.__dict__.get('_exit_function')
    if orig is None or getattr(orig, MARK, False):
        return

    def _exit_function(*args, **kwargs):
        try:
            p = core.P
            # Only on an existing connection: a quiet fork child stays quiet.
            if p is not None and p.conn is not None and p.pid == os.getpid():
                data = (_ATEXIT % (p.pid, core._time() * 1000.0)).encode('ascii')
                with p.lock:
                    core.send_raw_locked(p, data)
        except Exception:
            core.fail('atexit')
        return orig(*args, **kwargs)

    setattr(_exit_function, MARK, True)
    _exit_function.__wrapped__ = orig
    mod._exit_function = _exit_function
    # The main process's atexit registry holds the original function object: swap it in
    # place. Nothing else is registered between util's import and this patch, so the order
    # of exit handlers stays as without us.
    try:
        import atexit
        atexit.unregister(orig)
        atexit.register(_exit_function)
    except Exception:
        core.fail('atexit')


def _collecting(orig):
    # poll() of a fork/spawn Popen on POSIX, wait() of Windows' Popen (whose poll() calls
    # wait(0)): the call that first finds the exit status reports the collection.
    def collect(self, *args, **kwargs):
        if self.returncode is not None:
            return orig(self, *args, **kwargs)    # collected already: nothing new
        try:
            r = orig(self, *args, **kwargs)
        except BaseException as e:
            _hide(e, _getframe())
            raise
        if r is not None:
            try:
                _collected(self, r)
            except Exception:
                core.fail('poll')
        return r
    return collect


def patch_popen_fork(mod):
    _FORK_POPEN[0] = mod.Popen
    # Only poll: wait() collects through poll() too.
    _wrap(mod.Popen, 'poll', _collecting)


def patch_popen_spawn_win32(mod):
    # Windows: no fork, no zombies; the status is the process handle's exit code, read by
    # wait() (poll() is wait(0)). start() announces these children as it does spawn ones.
    _wrap(mod.Popen, 'wait', _collecting)


def patch_popen_forkserver(mod):
    Popen = mod.Popen
    orig_poll = Popen.__dict__.get('poll')
    if orig_poll is not None and not getattr(orig_poll, MARK, False):
        core._orig_fs_poll[0] = orig_poll

    def make_poll(orig):
        def poll(self, *args, **kwargs):
            st = getattr(self, '_mptree_st', None)
            if st is None or st.lock is None or self.returncode is not None:
                try:
                    r = orig(self, *args, **kwargs)
                except BaseException as e:
                    _hide(e, sys._getframe())
                    raise
            else:
                # The supervisor may be reading the status bytes this very moment: wait
                # for it (it is quick) rather than race it for the same 8 bytes; while we
                # read, it keeps off.
                st.readers.append(1)
                try:
                    st.lock.acquire()
                    st.lock.release()
                    r = orig(self, *args, **kwargs)
                except BaseException as e:
                    _hide(e, sys._getframe())
                    raise
                finally:
                    st.readers.pop()
            if r is not None:
                try:
                    _collected(self, r)
                except Exception:
                    core.fail('poll')
            return r
        return poll

    _wrap(Popen, 'poll', make_poll)


# ---------------------------------------------------------------------------------------
# Queues

def _semname(q):
    try:
        return q._rlock._semlock.name
    except Exception:
        return None


def _new_queue(q, kind, maxsize):
    if _internal():
        return
    qid = core.new_id('q')
    q.__dict__['_mptree_id'] = qid
    name = _semname(q)
    if name:
        QUEUE_NAMES[name] = qid
    if not isinstance(maxsize, int) or maxsize <= 0:
        maxsize = 0
    core.announce(qid, {'type': 'queue.created', 'id': qid, 'kind': kind,
                        'ownerPid': core.state().pid, 'maxsize': maxsize, 'site': call_site()})
    if DEPTH_SAMPLED:
        core.sample_queue(qid, q)


# Depths of multiprocessing.Queue and JoinableQueue are read from the queue's semaphore
# (core.sample_queue), so their get() is not wrapped; macOS cannot read a semaphore's
# value (no sem_getvalue), so there gets are counted as for the other kinds.
DEPTH_SAMPLED = sys.platform != 'darwin'


def _count_slow(qid, index, q=None):
    # First count of this queue in this process (or the first after a fork).
    next(core.queue_counters(qid).c[index])
    core.mark_dirty()
    if index == 0 and DEPTH_SAMPLED and q is not None:
        # A producer reads the depth too: the queue's maker may have ended.
        core.sample_queue(qid, q)


def _count(qid, index, q=None):
    try:
        next(_QC[qid][index])
    except KeyError:
        return _count_slow(qid, index, q)
    if not _DIRTY[0]:
        core.mark_dirty()


_QC = core.QC          # the same dicts for the process's whole life (cleared after a fork)
_PC = core.PC
_DIRTY = core.DIRTY


def _queue_op(index):
    """Wrapper makers for a counted queue method: the generic one, and exact ones for the
    signatures multiprocessing has had (see _wrap).

    Each op costs a user queue one extra Python call, one attribute read, next() on an
    itertools.count (atomic under the GIL, unlike `x += 1`) and a flag test: no lock, no
    clock, no frame walk. The counting is written out in each wrapper rather than called,
    as a call costs as much again. multiprocessing's own queues (inside Pool, executors)
    have no id (the class default None) and pay the call and the attribute read only."""
    def generic(orig):
        def method(self, *args, **kwargs):
            try:
                r = orig(self, *args, **kwargs)
            except BaseException as e:
                _hide(e, sys._getframe())
                raise
            try:
                qid = self._mptree_id
                if qid is not None:
                    _count(qid, index, self)
            except Exception:
                core.fail('count')
            return r
        return method

    def put4(orig):    # Queue.put, JoinableQueue.put
        def put(self, obj, block=True, timeout=None):
            try:
                r = orig(self, obj, block, timeout)
            except BaseException as e:
                _hide(e, sys._getframe())
                raise
            qid = self._mptree_id
            if qid is not None:
                try:
                    next(_QC[qid][index])
                    if not _DIRTY[0]:
                        core.mark_dirty()
                except KeyError:
                    _count_slow(qid, index, self)
                except Exception:
                    core.fail('count')
            return r
        return put

    def get3(orig):    # Queue.get
        def get(self, block=True, timeout=None):
            try:
                r = orig(self, block, timeout)
            except BaseException as e:
                _hide(e, sys._getframe())
                raise
            qid = self._mptree_id
            if qid is not None:
                try:
                    next(_QC[qid][index])
                    if not _DIRTY[0]:
                        core.mark_dirty()
                except KeyError:
                    _count_slow(qid, index, self)
                except Exception:
                    core.fail('count')
            return r
        return get

    def put2(orig):    # SimpleQueue.put
        def put(self, obj):
            try:
                r = orig(self, obj)
            except BaseException as e:
                _hide(e, sys._getframe())
                raise
            qid = self._mptree_id
            if qid is not None:
                try:
                    next(_QC[qid][index])
                    if not _DIRTY[0]:
                        core.mark_dirty()
                except KeyError:
                    _count_slow(qid, index, self)
                except Exception:
                    core.fail('count')
            return r
        return put

    def self1(orig):   # SimpleQueue.get, JoinableQueue.task_done
        def method(self):
            try:
                r = orig(self)
            except BaseException as e:
                _hide(e, sys._getframe())
                raise
            qid = self._mptree_id
            if qid is not None:
                try:
                    next(_QC[qid][index])
                    if not _DIRTY[0]:
                        core.mark_dirty()
                except KeyError:
                    _count_slow(qid, index, self)
                except Exception:
                    core.fail('count')
            return r
        return method

    exact = {('self', 'obj', 'block', 'timeout'): put4, ('self', 'block', 'timeout'): get3,
             ('self', 'obj'): put2, ('self',): self1}
    return generic, exact


def patch_queues(mod):
    def make_init(kind_of):
        def make(orig):
            def __init__(self, *args, **kwargs):
                try:
                    orig(self, *args, **kwargs)
                except BaseException as e:
                    _hide(e, sys._getframe())
                    raise
                try:
                    kind, maxsize = kind_of(self, args, kwargs)
                    _new_queue(self, kind, maxsize)
                except Exception:
                    core.fail('queue init')
            return __init__
        return make

    def queue_kind(q, args, kwargs):
        maxsize = args[0] if args else kwargs.get('maxsize', 0)
        return ('JoinableQueue' if isinstance(q, mod.JoinableQueue) else 'Queue'), maxsize

    def simple_kind(q, args, kwargs):
        return 'SimpleQueue', 0

    def make_setstate(orig):
        def __setstate__(self, state):
            try:
                orig(self, state)
            except BaseException as e:
                _hide(e, sys._getframe())
                raise
            try:
                name = _semname(self)
                qid = QUEUE_NAMES.get(name) if name else None
                if qid is not None:
                    self.__dict__['_mptree_id'] = qid
            except Exception:
                core.fail('queue setstate')
        return __setstate__

    _wrap(mod.Queue, '__init__', make_init(queue_kind))
    _wrap(mod.Queue, '__setstate__', make_setstate)
    # The id lives in a user queue's instance dict; this class default lets the hot path
    # read it as a plain attribute (no __dict__ lookup, no AttributeError).
    for cls in (mod.Queue, mod.SimpleQueue):
        if '_mptree_id' not in cls.__dict__:
            cls._mptree_id = None
    put, get, done = _queue_op(0), _queue_op(1), _queue_op(2)
    _wrap(mod.Queue, 'put', *put)
    if not DEPTH_SAMPLED:
        _wrap(mod.Queue, 'get', *get)
    _wrap(mod.JoinableQueue, 'put', *put)
    _wrap(mod.JoinableQueue, 'task_done', *done)
    _wrap(mod.SimpleQueue, '__init__', make_init(simple_kind))
    _wrap(mod.SimpleQueue, '__setstate__', make_setstate)
    _wrap(mod.SimpleQueue, 'put', *put)
    _wrap(mod.SimpleQueue, 'get', *get)


def patch_spawn(mod):
    # The queue-name registry rides along in the preparation data, a dict whose unknown
    # keys spawn.prepare() ignores (so a child without the runtime is unaffected).
    def make_gpd(orig):
        def get_preparation_data(*args, **kwargs):
            d = orig(*args, **kwargs)
            try:
                if isinstance(d, dict):
                    if QUEUE_NAMES:
                        d['mptree_queues'] = dict(QUEUE_NAMES)
                    if core._btime[0] is not None:
                        # Saves the child reading /proc/stat (~100 us) for its hello.
                        d['mptree_btime'] = core._btime[0]
            except Exception:
                core.fail('prep data')
            return d
        return get_preparation_data

    def make_prepare(orig):
        def prepare(data, *args, **kwargs):
            try:
                q = data.get('mptree_queues') if isinstance(data, dict) else None
                if isinstance(q, dict):
                    QUEUE_NAMES.update(q)
                b = data.get('mptree_btime') if isinstance(data, dict) else None
                if type(b) is int and core._btime[0] is None:
                    core._btime[0] = b
            except Exception:
                core.fail('prepare')
            try:
                return orig(data, *args, **kwargs)
            except BaseException as e:
                _hide(e, sys._getframe())
                raise
        return prepare

    _wrap(mod, 'get_preparation_data', make_gpd)
    _wrap(mod, 'prepare', make_prepare)


# ---------------------------------------------------------------------------------------
# multiprocessing.pool

def _pool_count(pool_id, index, n):
    if pool_id is None or n <= 0:
        return
    c = _PC.get(pool_id)
    if n == 1 and c is not None:
        next(c[index])            # the hot path: one task submitted or done
    elif n == 1:
        next(core.pool_counters(pool_id).c[index])
    else:
        core.pool_counters(pool_id).add(index, n)   # a map's items: under a lock
    if not _DIRTY[0]:
        core.mark_dirty()


def _pool_state(obj, state):
    pid = obj.__dict__.get('_mptree_pool')
    if pid is None:
        return
    last = obj.__dict__.get('_mptree_state')
    if last == state or last == 'joined':
        return
    obj.__dict__['_mptree_state'] = state
    core.announce(pid + ':state', {'type': 'pool.state', 'id': pid, 'state': state})


def patch_pool(mod):
    Pool = mod.Pool
    ThreadPool = getattr(mod, 'ThreadPool', None)

    def make_init(orig):
        def __init__(self, *args, **kwargs):
            with _Internal():
                try:
                    return orig(self, *args, **kwargs)
                except BaseException as e:
                    _hide(e, sys._getframe())
                    raise
        return __init__

    def make_repopulate(orig):
        def _repopulate_pool(self, *args, **kwargs):
            try:
                if (ThreadPool is None or not isinstance(self, ThreadPool)) and \
                        '_mptree_pool' not in self.__dict__:
                    pid = core.new_id('p')
                    self.__dict__['_mptree_pool'] = pid
                    self._inqueue.__dict__['_mptree_pool'] = pid
                    core.announce(pid, {'type': 'pool.created', 'id': pid, 'kind': 'Pool',
                                        'ownerPid': core.state().pid,
                                        'size': int(self._processes), 'site': call_site()})
            except Exception:
                core.fail('pool created')
            try:
                return orig(self, *args, **kwargs)
            except BaseException as e:
                _hide(e, sys._getframe())
                raise
        return _repopulate_pool

    def make_state(state):
        def make(orig):
            def method(self, *args, **kwargs):
                try:
                    r = orig(self, *args, **kwargs)
                except BaseException as e:
                    _hide(e, sys._getframe())
                    raise
                try:
                    _pool_state(self, state)
                except Exception:
                    core.fail('pool state')
                return r
            return method
        return make

    def make_gtg(orig):
        # imap/imap_unordered: the number of tasks is known only as they are generated.
        def _guarded_task_generation(self, result_job, *args, **kwargs):
            try:
                gen = orig(self, result_job, *args, **kwargs)
            except BaseException as e:
                _hide(e, sys._getframe())
                raise
            try:
                pid = self.__dict__.get('_mptree_pool')
                res = self._cache.get(result_job) if pid is not None else None
            except Exception:
                res = None
            if res is None or not isinstance(res, mod.IMapIterator):
                return gen
            return _counted_tasks(gen, pid)
        return _guarded_task_generation

    def submitted(self, pool, weight_of):
        if type(self).__init__ is not mod.ApplyResult.__init__ and weight_of is _apply_weight:
            return  # MapResult runs ApplyResult.__init__ too: it counts itself
        pid = pool.__dict__.get('_mptree_pool') if pool is not None else None
        if pid is not None:
            self.__dict__['_mptree_pool'] = pid
            _pool_count(pid, 0, weight_of(self))

    def make_result_init(weight_of):
        def make(orig):
            def __init__(self, *args, **kwargs):
                try:
                    orig(self, *args, **kwargs)
                except BaseException as e:
                    _hide(e, sys._getframe())
                    raise
                try:
                    submitted(self, args[0] if args else kwargs.get('pool'), weight_of)
                except Exception:
                    core.fail('pool submit')
            return __init__
        return make

    def apply_init4(orig):    # ApplyResult.__init__: once per apply_async
        def __init__(self, pool, callback, error_callback):
            try:
                orig(self, pool, callback, error_callback)
            except BaseException as e:
                _hide(e, sys._getframe())
                raise
            try:
                submitted(self, pool, _apply_weight)
            except Exception:
                core.fail('pool submit')
        return __init__

    def make_set(weight_of_item):
        # weight_of_item None: every _set is one task (apply, imap chunks, map with
        # chunksize 1), the common hot path.
        def completed(self, i):
            pid = self._mptree_pool
            if pid is not None:
                if weight_of_item is None or self._chunksize == 1:
                    _pool_count(pid, 1, 1)
                else:
                    _pool_count(pid, 1, weight_of_item(self, i))

        def generic(orig):
            def _set(self, i, *args, **kwargs):
                try:
                    completed(self, i)
                except Exception:
                    core.fail('pool complete')
                try:
                    return orig(self, i, *args, **kwargs)
                except BaseException as e:
                    _hide(e, sys._getframe())
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
                            if weight_of_item is None or self._chunksize == 1:
                                next(_PC[pid][1])
                                if not _DIRTY[0]:
                                    core.mark_dirty()
                            else:
                                _pool_count(pid, 1, weight_of_item(self, i))
                        except KeyError:
                            _pool_count(pid, 1, 1)    # the first in this process
                except Exception:
                    core.fail('pool complete')
                try:
                    return orig(self, i, obj)
                except BaseException as e:
                    _hide(e, sys._getframe())
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

    # A class default None: results of pools we do not track (a ThreadPool) read it as a
    # plain attribute miss (see the same for queues). IMapIterator is not an ApplyResult.
    for cls in (mod.ApplyResult, mod.IMapIterator):
        if '_mptree_pool' not in cls.__dict__:
            cls._mptree_pool = None
    _wrap(Pool, '__init__', make_init)
    _wrap(Pool, '_repopulate_pool', make_repopulate)
    _wrap(Pool, 'close', make_state('closed'))
    _wrap(Pool, 'terminate', make_state('terminated'))
    _wrap(Pool, 'join', make_state('joined'))
    _wrap(Pool, '_guarded_task_generation', make_gtg)
    _wrap(mod.ApplyResult, '__init__', make_result_init(_apply_weight),
          {('self', 'pool', 'callback', 'error_callback'): apply_init4})
    _wrap(mod.ApplyResult, '_set', *make_set(None))
    _wrap(mod.MapResult, '__init__', make_result_init(map_weight))
    _wrap(mod.MapResult, '_set', *make_set(map_item_weight))
    _wrap(mod.IMapIterator, '__init__', make_result_init(lambda r: 0))
    _wrap(mod.IMapIterator, '_set', *make_set(None))
    _wrap(mod.IMapUnorderedIterator, '_set', *make_set(None))


def _apply_weight(res):
    return 1


def _counted_tasks(gen, pid):
    for task in gen:
        try:
            _pool_count(pid, 0, 1)
        except Exception:
            core.fail('pool imap')
        yield task


# ---------------------------------------------------------------------------------------
# multiprocessing.managers: Manager().Queue() lives in the server process; count there.

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
            _hide(e, sys._getframe())
            raise
        try:
            _count(qid, index)
        except Exception:
            core.fail('manager count')
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
                _hide(e, sys._getframe())
                raise
            try:
                if len(args) >= 3:
                    self, typeid = args[0], args[2]
                    if typeid in ('Queue', 'JoinableQueue'):
                        obj = self.id_to_obj[r[0]][0]
                        if isinstance(obj, _queue.Queue) and '_mptree_id' not in obj.__dict__:
                            qid = core.new_id('q')
                            obj.__dict__['_mptree_id'] = qid
                            _count_in_server(obj, qid)
                            maxsize = obj.maxsize if obj.maxsize > 0 else 0
                            core.announce(qid, {'type': 'queue.created', 'id': qid,
                                                'kind': 'Manager' + typeid,
                                                'ownerPid': core.state().pid,
                                                'maxsize': maxsize, 'site': None})
            except Exception:
                core.fail('manager create')
            return r
        return create

    _wrap(Server, 'create', make_create)


# ---------------------------------------------------------------------------------------
# concurrent.futures.ProcessPoolExecutor

def patch_futures_process(mod):
    Executor = mod.ProcessPoolExecutor

    def make_init(orig):
        def __init__(self, *args, **kwargs):
            with _Internal():
                try:
                    orig(self, *args, **kwargs)
                except BaseException as e:
                    _hide(e, sys._getframe())
                    raise
            try:
                pid = core.new_id('p')
                self.__dict__['_mptree_pool'] = pid
                self._call_queue.__dict__['_mptree_pool'] = pid
                core.announce(pid, {'type': 'pool.created', 'id': pid,
                                    'kind': 'ProcessPoolExecutor', 'ownerPid': core.state().pid,
                                    'size': int(self._max_workers), 'site': call_site()})
            except Exception:
                core.fail('executor init')
        return __init__

    def make_submit(orig):
        def submit(*args, **kwargs):
            try:
                f = orig(*args, **kwargs)
            except BaseException as e:
                _hide(e, sys._getframe())
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
                    _pool_count(pid, 0, n)
                    f.add_done_callback(_done_counter(pid, n))
            except Exception:
                core.fail('executor submit')
            return f
        return submit

    def make_shutdown(orig):
        def shutdown(self, *args, **kwargs):
            try:
                r = orig(self, *args, **kwargs)
            except BaseException as e:
                _hide(e, sys._getframe())
                raise
            try:
                pid = self.__dict__.get('_mptree_pool')
                if pid is not None and not self.__dict__.get('_mptree_state'):
                    self.__dict__['_mptree_state'] = 'shutdown'
                    core.announce(pid + ':state', {'type': 'pool.state', 'id': pid,
                                                   'state': 'shutdown'})
            except Exception:
                core.fail('executor shutdown')
            return r
        return shutdown

    _wrap(Executor, '__init__', make_init)
    _wrap(Executor, 'submit', make_submit)
    _wrap(Executor, 'shutdown', make_shutdown)


def _done_counter(pid, n):
    me = os.getpid()

    def done(_future):
        try:
            if os.getpid() == me:
                _pool_count(pid, 1, n)
        except Exception:
            core.fail('executor done')
    return done


PATCHERS = {
    'multiprocessing.util': patch_util,
    'multiprocessing.process': patch_process,
    'multiprocessing.popen_fork': patch_popen_fork,
    'multiprocessing.popen_forkserver': patch_popen_forkserver,
    'multiprocessing.popen_spawn_posix': lambda mod: None,   # inherits popen_fork's wrappers
    'multiprocessing.popen_spawn_win32': patch_popen_spawn_win32,
    'multiprocessing.queues': patch_queues,
    'multiprocessing.spawn': patch_spawn,
    'multiprocessing.pool': patch_pool,
    'multiprocessing.managers': patch_managers,
    'concurrent.futures.process': patch_futures_process,
}
