"""Patches of the Popen classes: the call that first finds a child's exit status (poll()
on POSIX, wait() on Windows) reports the collection by the program's code; a forkserver
child's status, read from a pipe, is shared with the supervisor without a race."""

import os
import sys
import time

from .. import state
from ..settings import fail
from . import MARK, hide, wrap
from . import process as process_patches
from .process import J_BY, J_CLAIM, J_RC, J_T_RC

_time = time.time
_getframe = sys._getframe


def _in_join():
    """Called (through _collected) from Popen.poll: is that poll part of a Process.join?
    Asked only once a child is collected, so the frame walk is off the hot path."""
    code = process_patches.JOIN_CODE[0]
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


# Who collected a child, from the frames above the poll that did: multiprocessing's exit
# handler (its join of every non-daemon child, its active_children()), active_children()
# or a later start() (both through process._cleanup), a manager's shutdown() joining its
# server, the program's join(); else the program's is_alive() / exitcode ('poll'). Walked
# only once per child, when collected.
_COLLECTORS = {('util', '_exit_function'): 'exit', ('process', 'active_children'): 'active_children',
               ('process', '_cleanup'): 'start', ('managers', '_finalize_manager'): 'shutdown'}
# multiprocessing's own joins, never the program's: the nearest one names the collection.
OWN_JOINS = ('exit', 'shutdown')


def collector(f):
    found = None
    for _ in range(12):
        if f is None:
            break
        code = f.f_code
        if code is process_patches.JOIN_CODE[0]:
            found = found or 'join'
        else:
            name = code.co_name
            if name in ('_exit_function', 'active_children', '_cleanup', '_finalize_manager'):
                mod = os.path.splitext(os.path.basename(code.co_filename))[0]
                by = _COLLECTORS.get((mod, name))
                if by in OWN_JOINS:
                    return by   # the exit handler's or a manager's join is no join() of the program
                if by is not None and found in (None, 'start'):
                    found = by  # active_children() calls _cleanup(): the outer one names it
        f = f.f_back
    return found or 'poll'


def _collected(popen, rc):
    """The first poll() that found the child's exit status (join, is_alive, exitcode)."""
    st = getattr(popen, '_mptree_st', None)
    if type(st) is list:
        # Journaled, not reported yet: note it for the batch. Only if the batch took the
        # claim first (it is announcing the child right now) do we report it ourselves,
        # once it holds the child's ChildState (under p.lock, which the batch holds).
        st[J_RC] = rc
        st[J_T_RC] = _time()
        st[J_BY] = collector(sys._getframe(1))
        try:
            st[J_CLAIM].pop()
            return
        except IndexError:
            pass
        p = state.P
        if p is None:
            return
        with p.lock:
            st = getattr(popen, '_mptree_st', None)
        if type(st) is list:
            return
    if _in_join():
        return      # join reports it (the program's, or the exit handler's)
    if st is not None and not st.reaped:
        from .. import children     # loaded already: it made st
        children.report_collected(st, rc, False, 'pool' if st.pool_id is not None else collector(sys._getframe(1)))


def _zombie_first(popen, args, kwargs):
    """Linux, before a poll() that may reap: if the child was killed by a signal (it could
    not send its own figures), read its CPU time from its zombie, which the reaping erases.
    The wait is the one the poll would do anyway; WNOWAIT leaves the status to the poll."""
    flag = args[0] if args else kwargs.get('flag', os.WNOHANG)
    try:
        r = os.waitid(os.P_PID, popen.pid, os.WEXITED | os.WNOWAIT | (flag & os.WNOHANG))
    except OSError:
        return
    if r is not None and r.si_pid and r.si_code != os.CLD_EXITED:
        from ..zombies import note_zombie_cpu
        note_zombie_cpu(popen.pid)


def _collecting(orig, zombie_first=False):
    # poll() of a fork/spawn Popen on POSIX, wait() of Windows' Popen (whose poll() calls
    # wait(0)): the call that first finds the exit status reports the collection.
    def collect(self, *args, **kwargs):
        if self.returncode is not None:
            return orig(self, *args, **kwargs)    # collected already: nothing new
        if zombie_first:
            _zombie_first(self, args, kwargs)
        try:
            r = orig(self, *args, **kwargs)
        except BaseException as e:
            hide(e, _getframe())
            raise
        if r is not None:
            try:
                _collected(self, r)
            except Exception:
                fail('poll')
        return r
    return collect


def patch_popen_fork(mod):
    process_patches.FORK_POPEN[0] = mod.Popen
    # Only poll: wait() collects through poll() too.
    zombie_first = sys.platform.startswith('linux') and hasattr(os, 'waitid')
    wrap(mod.Popen, 'poll', lambda orig: _collecting(orig, zombie_first))


def patch_popen_spawn_win32(mod):
    # Windows: no fork, no zombies; the status is the process handle's exit code, read by
    # wait() (poll() is wait(0)). start() announces these children as it does spawn ones.
    wrap(mod.Popen, 'wait', _collecting)


def patch_popen_forkserver(mod):
    Popen = mod.Popen
    orig_poll = Popen.__dict__.get('poll')
    if orig_poll is not None and not getattr(orig_poll, MARK, False):
        state.orig_fs_poll[0] = orig_poll

    def make_poll(orig):
        def poll(self, *args, **kwargs):
            st = getattr(self, '_mptree_st', None)
            if st is None or st.lock is None or self.returncode is not None:
                try:
                    r = orig(self, *args, **kwargs)
                except BaseException as e:
                    hide(e, sys._getframe())
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
                    hide(e, sys._getframe())
                    raise
                finally:
                    st.readers.pop()
            if r is not None:
                try:
                    _collected(self, r)
                except Exception:
                    fail('poll')
            return r
        return poll

    wrap(Popen, 'poll', make_poll)
