"""Children: started here, watched for exit without reaping, collected by the user's code;
and the fork journal, which reports fork children in batches."""

import os
import time
import _thread
import _weakref

from . import connection, state

_time = time.time

EXITED = '{"v":1,"type":"process.exited","pid":%d,"exitCode":%d,"t":%r}\n'
REAPED = '{"v":1,"type":"process.reaped","pid":%d,"joined":%s,"t":%r}\n'



class ChildState(object):
    __slots__ = ('pid', 'method', 'pool_id', 'proc_ref', 'sentinel', 'exited', 'reaped',
                 'exit_code', 'exited_t', 'registered', 'due', 'lock', 'readers', 'started',
                 '__weakref__')

    def __init__(self, pid, method, pool_id, proc, sentinel, started=None):
        self.pid = pid
        self.started = started      # the process.started line(s), for a re-announcement
        self.method = method
        self.pool_id = pool_id
        self.proc_ref = _weakref.ref(proc)
        self.sentinel = sentinel
        self.exited = False
        self.reaped = False
        self.exit_code = None
        self.exited_t = None
        self.registered = False
        self.due = 0.0
        if method == 'forkserver':
            # Serialises status reads between the supervisor and the user's poll().
            self.lock = _thread.allocate_lock()
            self.readers = []
        else:
            self.lock = None
            self.readers = None

    def popen(self):
        proc = self.proc_ref()
        return proc.__dict__.get('_popen') if proc is not None else None


def report_exit(st, code):
    p = state.current()
    with p.lock:
        if st.exited:
            return
        st.exited = True
        st.exit_code = code
        st.exited_t = _time() * 1000.0
        connection.send_raw_locked(p, (EXITED % (st.pid, code, st.exited_t)).encode('ascii'))


def report_collected(st, code, joined):
    """The user's code collected the exit status (join, is_alive, exitcode, ...)."""
    p = state.current()
    with p.lock:
        if st.reaped:
            return
        st.reaped = True
        now = _time() * 1000.0
        data = REAPED % (st.pid, 'true' if joined else 'false', now)
        if not st.exited:
            st.exited = True
            st.exit_code = code
            st.exited_t = now
            data = (EXITED % (st.pid, code, now)) + data
        connection.send_raw_locked(p, data.encode('ascii'))
        if p.children.get(st.pid) is st:
            del p.children[st.pid]
            remember_collected(p, st.pid, code)
    if st.registered:
        sup = p.sup
        if sup is not None:
            sup.unwatch(st)


def report_joined_late(pid):
    """A join() that collected a child whose batch report had just gone out without it
    (a rare interleaving of two threads): the model keeps joined once it is said."""
    p = state.current()
    with p.lock:
        connection.send_raw_locked(p, (REAPED % (pid, 'true', _time() * 1000.0)).encode('ascii'))


def remember_collected(p, pid, code):
    # Forget collected children (a program may start millions), but remember the last exit
    # codes a while for a late control `join`.
    p.collected[pid] = code
    if len(p.collected) > 1000:
        del p.collected[next(iter(p.collected))]


def exit_status(pid, sentinel=None):
    """Exit code of a child without reaping it; None while it runs, False if already reaped
    (or, on Windows, its handle closed)."""
    if not hasattr(os, 'waitid'):
        return _handle_exit_status(sentinel)
    try:
        r = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except OSError:
        return False
    if r is None or r.si_pid == 0:
        return None
    if r.si_code == os.CLD_EXITED:
        return r.si_status
    return -r.si_status


# Windows: a process handle is signalled when the process ends; GetExitCodeProcess then
# gives its code, and TerminateProcess's code (what Process.terminate() uses) is reported
# as -SIGTERM, as multiprocessing.popen_spawn_win32 itself reports it. Nothing is reaped
# there: the handle stays valid until the program's Popen closes it.
_WIN_WAIT_OBJECT_0 = 0
_WIN_TERMINATE = 0x10000


def _handle_exit_status(handle):
    if handle is None:
        return False
    try:
        import _winapi
        if _winapi.WaitForSingleObject(handle, 0) != _WIN_WAIT_OBJECT_0:
            return None
        code = _winapi.GetExitCodeProcess(handle)
    except Exception:
        return False
    return -15 if code == _WIN_TERMINATE else code


def watch_child(st, due=None):
    p = state.current()
    p.children[st.pid] = st
    state.ensure_supervisor().add(st, due)


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
# and the supervisor turns the journal into reports in one pass every GRACE while children
# are being started (at most GRACE after start(); also before a control request and at
# exit). Our code's pages are then written once per batch, not once per child, and the
# session wakes once per batch too. Spawn and forkserver children, which share no pages
# with us, are reported as soon as start() has them.
#
# An entry is a list (one allocation, indexed below), made by start() after the fork,
# while the child runs beside it. It holds no strong reference to the Process (a weak
# one), its target or its Popen: the program must see them freed exactly when it would
# without us (CPython's own tests check the Process and the target).

J_PROC, J_PID, J_INFO, J_T, J_RC, J_T_RC, J_JOINED, J_CLAIM, J_DONE = range(9)
#   J_PROC    weakref to the Process (to watch it if it is still running at the batch)
#   J_INFO    what the report says: (patches.process._info(), name, daemon, parent pid)
#   J_T       time.time() of start(); J_RC, J_T_RC: exit code and time, once collected
#   J_JOINED  collected by a join(); J_DONE: the batch has reported the collection
#   J_CLAIM   [1]: whoever pops it first decides how the child is reported. The user's
#             collection pops it after setting J_RC (then the batch reports started,
#             exited and reaped together); the batch pops it to report a running child
#             (then it becomes a ChildState and is collected the usual way).
#
# A fork child inherits its parent's journal; entries whose parent pid is not ours are
# skipped when (and only if) the child ever reports children of its own.

JOURNAL = []


def expect_forks():
    """A fork child was journaled: make sure the supervisor is ticking."""
    state.ensure_supervisor().expect_starts()


def flush_journal(p=None, ending=False):
    """Report every journaled fork child now (one write), and watch the live ones.
    `ending`: the process is about to end; a batch the supervisor has taken out of the
    journal but not sent yet must be let finish (it holds p.lock), or it dies with us."""
    p = p or state.P
    if p is None or state.report_journal[0] is None or not (JOURNAL or ending):
        return
    with p.lock:
        state.report_journal[0](p)
