"""Patches of multiprocessing.process: a child's start (journaled for fork children,
announced at once for the others), its join, and its _bootstrap in the new process, which
learns who it is and reports how it ended; and multiprocessing.util's exit function, the
moment a process's own code is done (process.atexit)."""

import functools
import os
import sys
import time
import _weakref

from .. import connection, identity, jsonout, state
from ..settings import GRACE, fail
from . import MARK, hide, site_file, wrap

_monotonic = time.monotonic
_time = time.time


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


_waits_mod = []


def _waits():
    # waits (and the supervisor it needs) only with the first join that may wait.
    if not _waits_mod:
        from .. import waits
        _waits_mod.append(waits)
    return _waits_mod[0]


def _popen_method(proc, popen):
    return getattr(popen, 'method', None) or getattr(proc, '_start_method', None)


def patch_process(mod):
    BaseProcess = mod.BaseProcess
    _base_run[0] = BaseProcess.__dict__.get('run')

    def make_start(orig):
        def start(self):
            # Before the fork, only references: what start() deletes (target, args) and
            # the caller's line, for the report made later (see the fork journal below).
            try:
                f = _getframe(1)
                raw = (self._target, self._args, f.f_code, f.f_lineno)
            except Exception:
                raw = None
            t = _time()
            try:
                orig(self)
            except BaseException as e:
                hide(e, _getframe())
                raise
            try:
                popen = self._popen
                # Strings only from here on: start() deleted _target and _args so as not
                # to keep them alive, and so do we.
                info = _info(self, raw)
                raw = None
                if type(popen) is FORK_POPEN[0]:
                    # Journaled, reported by the next batch. This runs beside the child,
                    # while the program would only wait for it.
                    entry = [_weakref_ref(self), popen.pid,
                             (info, self.name, bool(self.daemon), self._parent_pid),
                             t, None, None, False, [1], False, None]
                    popen._mptree_st = entry
                    _JOURNAL.append(entry)
                    p = state.P
                    if p is None or p.sup is None or not p.sup.ticking:
                        state.expect_forks()
                else:
                    p = state.current()
                    with p.lock:
                        _announce(p, [(self, popen, info, t * 1000.0)])
            except Exception:
                fail('start')
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
                waiting = False
            try:
                if waiting:
                    # A child not collected yet: the join may wait (see waits).
                    timeout = args[0] if args else kwargs.get('timeout')
                    return _waits().call_waiting('Process.join', 'process', popen.pid,
                                                 timeout, orig, self, *args, **kwargs)
                return orig(self, *args, **kwargs)
            except BaseException as e:
                hide(e, _getframe())
                raise
            finally:
                try:
                    if popen is not None:
                        _after_join(popen, waiting)
                except Exception:
                    fail('join')
        JOIN_CODE[0] = getattr(orig, '__code__', None)
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
                fail('bootstrap')
            try:
                try:
                    code = orig(self, *args, **kwargs)
                except BaseException as e:
                    hide(e, _getframe())
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
            if state.P is not None or state.forked_by_forkserver[0]:
                try:
                    return slow(self, parent_sentinel)
                except BaseException as e:
                    hide(e, _getframe())
                    raise
            # A quiet fork child, the usual case: its parent reports its start and its exit,
            # so nothing is done here beyond noting who it is. Every page a new fork child
            # writes is a copy, and this path runs in each one.
            state.me[0] = self
            state.me[1] = _monotonic()
            try:
                code = orig(self, parent_sentinel)
            except BaseException as e:
                hide(e, _getframe())
                _child_end(self, None, parent_sentinel)
                raise
            if state.P is not None or os.getppid() != self._parent_pid or _lived_long():
                # It said something (connected), or its parent is gone and nobody else
                # will report how it ended, or it lived long enough for its own figures
                # (peak memory only it knows) to be worth a connection.
                _child_end(self, code, parent_sentinel)
            return code
        return _bootstrap

    wrap(BaseProcess, 'start', make_start)
    wrap(BaseProcess, 'join', make_join)
    wrap(BaseProcess, '_bootstrap', make_bootstrap, exact={('self', 'parent_sentinel'): bootstrap2})


# ---------------------------------------------------------------------------------------
# The fork journal: fork children are reported in batches
#
# After fork() every page a process writes costs a copy-on-write fault, in the parent and
# in the child (~4 us on the benchmark machine while the child lives, ~1 us after). For a
# short child, whose whole life is ~1.3 ms and ~390 faults, what the runtime added was
# mostly such faults: reporting each child from start(), join() and poll() ran enough of
# our Python (classifying, formatting, sending, bookkeeping) to touch some 85 pages of the
# parent per child, on the program's critical path. So a fork child's start() and its
# collection only note references in a journal entry (on pages the program writes anyway),
# and the supervisor turns the journal into reports in one pass every TICK while children
# are being started (at most TICK after start(); also before a control request and at
# exit). Our code's pages are then written once per batch, not once per child, and the
# session wakes once per batch too. Spawn and forkserver children, which share no pages
# with us, are reported as soon as start() has them.
#
# An entry is a list (one allocation, indexed below), made by start() after the fork,
# while the child runs beside it. It holds no strong reference to the Process (a weak
# one), its target or its Popen: the program must see them freed exactly when it would
# without us (CPython's own tests check the Process and the target).

J_PROC, J_PID, J_INFO, J_T, J_RC, J_T_RC, J_JOINED, J_CLAIM, J_DONE, J_BY = range(10)
#   J_BY      who collected it, when that came first (see popen._collector)
#   J_PROC    weakref to the Process (to watch it if it is still running at the batch)
#   J_INFO    what the report says: (_info(), name, daemon, parent pid)
#   J_T       time.time() of start(); J_RC, J_T_RC: exit code and time, once collected
#   J_JOINED  collected by a join(); J_DONE: the batch has reported the collection
#   J_CLAIM   [1]: whoever pops it first decides how the child is reported. The user's
#             collection pops it after setting J_RC (then the batch reports started,
#             exited and reaped together); the batch pops it to report a running child
#             (then it becomes a ChildState and is collected the usual way).
#
# A fork child inherits its parent's journal; entries whose parent pid is not ours are
# skipped when (and only if) the child ever reports children of its own.


_STARTED = ('{"v":1,"type":"process.started","pid":%d,"parentPid":%d,"name":%s,'
            '"daemon":%s,"kind":%s,"role":%s,"startMethod":%s,"target":%s,"poolId":%s,'
            '"site":%s,"t":%r}\n')
_WORKERS = '{"v":1,"type":"pool.workers","id":%s,"pids":[%d],"t":%r}\n'


FORK_POPEN = [None]   # multiprocessing.popen_fork.Popen, once imported (patches.popen)
JOIN_CODE = [None]    # the code of multiprocessing's own Process.join (read by patches.popen)
_JOURNAL = state.JOURNAL
_getframe = sys._getframe
_weakref_ref = _weakref.ref


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
        path = site_file(code.co_filename)
        site = '%s:%d' % (path, line) if path else None
        try:
            ref = _weakref_ref(target) if target is not None else None   # (a run() override)
            _last_info[0] = (ref, code, line, type(proc), (pre, site))
        except TypeError:
            _last_info[0] = None      # a target without weak references: not cached
    return pre, site


def _started_line(p, pid, name, daemon, method, info, t):
    (kind, role, pool_id, target), site = info
    j = jsonout.json_value
    data = _STARTED % (pid, p.pid, j(name), j(daemon), j(kind), j(role), j(method),
                       j(target), j(pool_id), j(site), t)
    if pool_id is not None:
        data += _WORKERS % (j(pool_id), pid, t)
    return data.encode('ascii')


def _announce(p, started):
    """process.started for children that exist and are not collected yet, in one write;
    then each is watched. `started`: (Process, Popen, _info(), t in ms). Called with
    p.lock held."""
    from .. import children     # with the first child announced: a spawn child may have none
    ready = []
    data = []
    for proc, popen, info, t in started:
        line = _started_line(p, popen.pid, proc.name, bool(proc.daemon),
                             _popen_method(proc, popen), info, t)
        data.append(line)
        ready.append((proc, popen, info, line, t))
    if data:
        connection.send_raw_locked(p, b''.join(data))
    for proc, popen, info, line, t in ready:
        sentinel = getattr(popen, 'sentinel', None)
        if type(sentinel) is not int:
            continue
        st = children.ChildState(popen.pid, _popen_method(proc, popen), info[0][2], proc, sentinel, line)
        popen._mptree_st = st
        # Watched from GRACE after start() on: most short children are collected first.
        children.watch_child(st, _monotonic() + GRACE - (_time() - t / 1000.0))


def _report_journal(p):
    """The supervisor's batch (also before a control request and at exit): every fork
    child journaled since the last one. A child collected meanwhile gets started, exited
    and reaped; a running one is announced and watched. One write. Called with p.lock."""
    n = len(_JOURNAL)
    if not n:
        return
    from .. import children     # loaded already: a journaled child started the supervisor
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
            by = 'pool' if info[0][2] is not None else e[J_BY] or 'poll'
            data.append(_started_line(p, pid, name, daemon, 'fork', info, t) +
                        ((children.EXITED % (pid, rc, tc)) + children.zombie_cpu_line(pid, tc) +
                         (children.REAPED % (pid, 'true' if joined else 'false', by, tc))).encode('ascii'))
            children.remember_collected(p, pid, rc)
            continue
        proc = e[J_PROC]()
        popen = proc.__dict__.get('_popen') if proc is not None else None
        if popen is not None:
            # (Running, so multiprocessing's _children still holds the Process.)
            running.append((proc, popen, info, t))
    if data:
        connection.send_raw_locked(p, b''.join(data))
    if running:
        # A collection from now on finds the ChildState (it waits for p.lock, held here).
        _announce(p, running)


state.report_journal[0] = _report_journal


def _after_join(popen, waited):
    """After a join(): report the collection it made, as joined. `waited`: the child was
    not collected yet when join() began (a forkserver child's status may have been read by
    the supervisor meanwhile: its ChildState tells)."""
    rc = popen.returncode
    if rc is None:
        return      # timed out
    from .popen import OWN_JOINS, collector
    # Called by our join wrapper: its caller is the program, the exit handler, or a
    # manager's shutdown() joining its server process.
    by = collector(sys._getframe(2))
    if by not in OWN_JOINS:
        by = 'join'
    st = getattr(popen, '_mptree_st', None)
    if type(st) is list:
        if by != 'join' or st[J_INFO][0][0][2] is not None or st[J_JOINED]:
            return  # multiprocessing's own join (the exit handler, a pool), or said already
        # Journaled: the batch reports it. Sequentially consistent under the GIL: the
        # batch sets J_DONE before reading J_JOINED, so either it sees the join or we
        # see that it reported without it and say it now. A child collected before this
        # join() (by a later start()'s clean-up, is_alive()) is joined all the same.
        st[J_JOINED] = True
        if st[J_DONE]:
            from .. import children
            children.report_joined_late(popen.pid)
        return
    if st is None:
        return
    from .. import children     # loaded already: it made st
    if st.pool_id is not None:
        # The pool's own clean-up joins its workers: that is not the user joining them.
        children.report_collected(st, rc, False, 'pool')
        return
    if not st.reaped:
        children.report_collected(st, rc, by == 'join', by)
        st.joined = by == 'join'
    elif by == 'join' and not st.joined:
        # Collected before by multiprocessing itself; the program's join() still counts.
        st.joined = True
        children.report_joined_late(popen.pid)


def _describe(proc, p):
    kind, role, _pool_id, target = classify(proc)
    if p.identity.start_method == 'os.fork':
        method = 'forkserver' if p.forked_from_role == 'forkserver' else 'fork'
    else:
        method = p.identity.start_method or getattr(proc, '_start_method', None) or 'spawn'
    return identity.Identity(name=proc.name, daemon=bool(proc.daemon), kind=kind, role=role,
                         start_method=method, target=target,
                         parent_pid=proc.__dict__.get('_parent_pid'))


state.describe[0] = _describe


def _parent_sentinel(args, kwargs):
    return args[0] if args else kwargs.get('parent_sentinel')


def _child_begin(proc):
    """In the new process, before run(). A fork child only remembers its Process object
    (its identity is worked out if it ever connects); a spawn child connects now.
    Returns False if this is not actually a child (_bootstrap called in-process)."""
    if proc.__dict__.get('_parent_pid') == os.getpid():
        return False
    state.me[0] = proc
    state.me[1] = _monotonic()
    p = state.P
    if p is None:
        return True
    if p.identity.kind == 'python' and p.identity.start_method == 'os.fork':
        p.identity = _describe(proc, p)
    elif p.connect_eagerly:
        p.identity = _describe(proc, p)
        if p.conn is None:
            connection.connection()
            return True
    connection.resend_hello()
    return True


# A quiet fork child that lived this long (seconds) connects at its end to send its figures:
# for the thousands of brief children a program may fork, a connection each would cost more
# than the child did.
QUIET_CHILD_REPORTS_AFTER = 0.5


def _lived_long():
    """Whether this child's _bootstrap began QUIET_CHILD_REPORTS_AFTER ago (True if unknown)."""
    began = state.me[1]
    return not began or _monotonic() - began >= QUIET_CHILD_REPORTS_AFTER


def _child_end(proc, code, parent_sentinel):
    try:
        if proc.__dict__.get('_parent_pid') == os.getpid():
            return      # _bootstrap called in-process: not a child
        state.EXITING[0] = True
        p = state.P
        if p is not None and p.pid != os.getpid():
            return
        parent_pid = proc.__dict__.get('_parent_pid')
        if p is None:
            # A quiet fork child says nothing: its parent's started/exited/reaped describe
            # it fully, but for its own figures (peak memory only it knows), worth a
            # connection for a child that lived a while. If its parent is gone nobody
            # else knows how it ended.
            if code is None or (not _lived_long() and not connection.parent_is_gone(parent_pid, parent_sentinel)):
                return
        else:
            connection.final_flush(p)
            if code is None:
                return
            if p.conn is None and not p.conn_dead and not p.reconnecting and not _lived_long() and \
                    not connection.parent_is_gone(parent_pid, parent_sentinel):
                return
        connection.USAGE_SENT[0] = True
        connection.send(connection.usage_fields({'type': 'process.exiting', 'pid': os.getpid(), 'exitCode': code}))
    except Exception:
        fail('bootstrap end')


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
            p = state.P
            # Only on an existing connection: a quiet fork child stays quiet.
            if p is not None and p.conn is not None and p.pid == os.getpid():
                data = (_ATEXIT % (p.pid, _time() * 1000.0)).encode('ascii')
                with p.lock:
                    connection.send_raw_locked(p, data)
        except Exception:
            fail('atexit')
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
        fail('atexit')
