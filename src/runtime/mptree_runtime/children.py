"""Children: started here, watched for exit without reaping, collected by the user's code.
Imported with the first child that is announced (patches.process) or the supervisor: a
spawn child that starts none never loads it."""

import os
import time
import _thread
import _weakref

from . import connection, state

_time = time.time

EXITED = '{"v":1,"type":"process.exited","pid":%d,"exitCode":%d,"t":%r}\n'
REAPED = '{"v":1,"type":"process.reaped","pid":%d,"joined":%s,"by":"%s","t":%r}\n'
# A killed child's CPU time as its parent read it from its zombie (see zombies.py).
USAGE_CPU = '{"v":1,"type":"process.usage","pid":%d,"cpuSeconds":%r,"source":"parent","t":%r}\n'


def zombie_cpu_line(pid, t):
    """The process.usage line for a child's exit report, if its zombie was read."""
    cpu = state.ZOMBIE_CPU.pop(pid, None) if state.ZOMBIE_CPU else None
    return '' if cpu is None else USAGE_CPU % (pid, cpu, t)


class ChildState(object):
    __slots__ = ('pid', 'method', 'pool_id', 'proc_ref', 'sentinel', 'exited', 'reaped',
                 'exit_code', 'exited_t', 'registered', 'due', 'lock', 'readers', 'started',
                 'joined',
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
        self.joined = False     # the program's join() said so (see patches.process._after_join)
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
    if code < 0:
        state.import_module('.zombies').note_zombie_cpu(st.pid)     # killed: it could not send its own figures
    with p.lock:
        if st.exited:
            return
        st.exited = True
        st.exit_code = code
        st.exited_t = _time() * 1000.0
        data = EXITED % (st.pid, code, st.exited_t) + zombie_cpu_line(st.pid, st.exited_t)
        connection.send_raw_locked(p, data.encode('ascii'))


def report_collected(st, code, joined, by):
    """The exit status was collected: by the program's join() (joined), or by
    multiprocessing itself (`by`: start, active_children, exit, poll, pool)."""
    p = state.current()
    with p.lock:
        if st.reaped:
            return
        st.reaped = True
        now = _time() * 1000.0
        data = REAPED % (st.pid, 'true' if joined else 'false', by, now)
        if not st.exited:
            st.exited = True
            st.exit_code = code
            st.exited_t = now
            data = (EXITED % (st.pid, code, now)) + zombie_cpu_line(st.pid, now) + data
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
        connection.send_raw_locked(p, (REAPED % (pid, 'true', 'join', _time() * 1000.0)).encode('ascii'))


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
