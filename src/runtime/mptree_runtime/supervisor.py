"""The supervisor: one thread per process, started on first need (state.ensure_supervisor).
It waits in its waiter (waiters) on child sentinels, the session's socket and a wake-up;
reports exits the program has not collected yet, reads control and stacks requests, flushes the
counters and reads the queues' depths on its timer, and reports the fork journal."""

import time
import _socket
import _thread

from . import children, connection, counters, state
from .settings import (DEPTH_IDLE, DEPTH_INTERVAL, FLUSH_INTERVAL, GRACE, MAX_LINE, TICK,
                       WAIT_TICK, fail)
from .control import handle_control
from .stacks import answer as answer_stacks
from .waiters import WAITERS, waiter_kind

_monotonic = time.monotonic


class Supervisor(object):
    """One thread per process: waits on child sentinels, the socket (control requests) and
    a wake-up; flushes counters. Blocks in its waiter (epoll, selectors or process handles:
    waiter_kind), never polls busily.

    A child is watched only once it is GRACE old: most short children are joined by the
    program first (join reports exited+reaped itself), so this thread is not woken for
    them at all. While children keep being started it ticks every TICK to pick them up;
    with none pending it sleeps until something happens."""

    def __init__(self, p):
        self.p = p
        self.lock = _thread.allocate_lock()
        self.watch = {}          # fd -> ChildState
        self.pending = []        # ChildState not yet registered
        self.ticking = False
        self.retry = []          # [due, delay, ChildState]
        self.flush_due = None
        self.depth_due = None    # next read of the sampled queues' depths
        self.depth_every = DEPTH_INTERVAL
        self.task_due = None     # next look at a pool worker's current task (time.time())
        self.wait_due = None     # next look at the waits and holds (waits.tick)
        self.sock_fd = None
        self.rbuf = b''
        self.waiter = WAITERS[waiter_kind()](self.lock)
        self.watch_socket()
        state.start_thread(p, self._run, ())

    def wake(self):
        self.waiter.wake()

    def watch_waits(self):
        # A wait was recorded (or a user lock registered) while the wait tick was off.
        if self.wait_due is None:
            self.wait_due = _monotonic() + WAIT_TICK
            self.wake()

    def watch_socket(self):
        conn = self.p.conn
        if conn is None or self.sock_fd is not None:
            return
        try:
            fd = conn.fileno()
            with self.lock:
                self.waiter.watch_socket(fd, conn)
                self.sock_fd = fd
            self.wake()
        except Exception:
            fail('watch_socket')

    def forget_socket(self, conn):
        # Before the socket is closed: its fd number may be reused at once.
        with self.lock:
            if self.sock_fd is not None:
                self._unregister(self.sock_fd)
                self.sock_fd = None
            self.rbuf = b''

    def add(self, st, due=None):
        st.due = _monotonic() + GRACE if due is None else due
        with self.lock:
            self.pending.append(st)
            need_wake = self._tick_locked()
        if need_wake:
            self.wake()

    def expect_starts(self):
        # Deferred start reports are sent on the next tick at the latest.
        if not self.ticking:
            with self.lock:
                need_wake = self._tick_locked()
            if need_wake:
                self.wake()

    def _tick_locked(self):
        """Keep ticking every TICK; True if the thread must be woken to start."""
        need_wake = not self.ticking
        self.ticking = True
        return need_wake

    def _register_due(self):
        if state.JOURNAL:
            state.flush_journal(self.p)
        now = _monotonic()
        with self.lock:
            keep = []
            for st in self.pending:
                if st.reaped:
                    continue
                if st.due > now:
                    keep.append(st)
                    continue
                # Checked and registered under the lock: the user's collection path takes
                # it too before the sentinel can be closed, so we never register a closed
                # (or reused) fd number.
                fd = st.sentinel
                old = self.watch.pop(fd, None)
                if old is not None:
                    self._unregister(fd)
                try:
                    self.waiter.watch_sentinel(fd)
                except (OSError, ValueError, KeyError):
                    continue
                self.watch[fd] = st
                st.registered = True
            had = bool(self.pending)
            self.pending = keep
            if not keep and not had and not state.JOURNAL:
                self.ticking = False
            return self.ticking

    def _unregister(self, fd):
        try:
            self.waiter.unregister(fd)
        except (KeyError, ValueError, OSError):
            pass

    def unwatch(self, st):
        # Must run before the user can close the sentinel: it runs when the status is
        # collected, and Popen.close() is only allowed after that.
        with self.lock:
            fd = st.sentinel
            if self.watch.get(fd) is st:
                del self.watch[fd]
                self._unregister(fd)
            st.registered = False

    def _run(self):
        state.block_signals()
        while True:
            try:
                if self.p is not state.P:   # a fork copy of us: never runs, but be sure
                    return
                self._step()
            except Exception:
                fail('supervisor')
                time.sleep(0.05)

    def _timeout(self):
        t = None
        now = _monotonic()
        if state.DIRTY[0]:
            if self.flush_due is None:
                self.flush_due = now + FLUSH_INTERVAL
            t = max(0.0, self.flush_due - now)
        if self.ticking:
            t = TICK if t is None else min(t, TICK)
        if self.retry:
            d = max(0.0, min(r[0] for r in self.retry) - now)
            t = d if t is None else min(t, d)
        if state.TASK_WATCH[0]:
            d = 0.0 if self.task_due is None else max(0.0, self.task_due - time.time())
            t = d if t is None else min(t, d)
        if state.SAMPLED:
            if self.depth_due is None:
                self.depth_due = now + self.depth_every
            d = max(0.0, self.depth_due - now)
            t = d if t is None else min(t, d)
        if self.wait_due is not None:
            d = max(0.0, self.wait_due - now)
            t = d if t is None else min(t, d)
        return t

    def _step(self):
        for fd in self.waiter.wait(self._timeout()):
            if fd == self.sock_fd:
                self._read_socket()
            else:
                with self.lock:
                    st = self.watch.pop(fd, None)
                    if st is not None:
                        self._unregister(fd)
                        st.registered = False
                if st is not None:
                    self._child_ready(st, 0.001)
        if self.ticking:
            self._register_due()
        if self.retry:
            now = _monotonic()
            due = [r for r in self.retry if r[0] <= now]
            if due:
                self.retry = [r for r in self.retry if r[0] > now]
                for _, delay, st in due:
                    self._child_ready(st, min(delay * 2, 1.0))
        if state.DIRTY[0] and self.flush_due is not None and _monotonic() >= self.flush_due:
            self.flush_due = None
            counters.flush()
        elif not state.DIRTY[0]:
            self.flush_due = None
        if self.depth_due is not None and _monotonic() >= self.depth_due:
            self._sample_depths()
        if state.TASK_WATCH[0]:
            now = time.time()
            if self.task_due is None or now >= self.task_due:
                self.task_due = state.TASK_CHECK[0](self.p, now)
        elif self.task_due is not None:
            self.task_due = None
        if self.wait_due is not None and _monotonic() >= self.wait_due:
            self._look_at_waits()

    def _look_at_waits(self):
        from . import waits     # loaded: a wait of the program turned the tick on
        try:
            every = waits.tick(self.p)
        except Exception:
            fail('waits')
            every = WAIT_TICK
        if every is not None:
            self.wait_due = _monotonic() + every
            return
        # Off, in this order: a waiter writes its slot, then reads WATCHING, then (finding
        # it off) reads wait_due; so a slot recorded meanwhile is seen below, or its waiter
        # finds both off and turns the tick on again (watch_waits).
        self.wait_due = None
        waits.WATCHING[0] = False
        if waits.SLOTS or waits.LOCKS:
            waits.WATCHING[0] = True
            self.wait_due = _monotonic() + WAIT_TICK

    def _sample_depths(self):
        # Often while a depth moves or a queue holds items, rarely while every queue we read
        # rests empty: an idle program with empty queues wakes us twice a second, not twenty
        # times. A queue that holds items can be drained at any moment by a process that
        # does not read its depth (a consumer's get is not wrapped), and the tree must show
        # that within a tick; an empty one changes only by a put, which its putter reports.
        dirty = state.DIRTY[0]
        changed = False
        if dirty or not self.p.conn_dead:
            # Counts of ours that are waiting go with this reading (see flush).
            self.flush_due = None
            changed = counters.flush() or dirty
        if not changed and not self.p.conn_dead:
            changed = any(entry[1] > 0 for entry in list(state.SAMPLED.values()))
        self.depth_every = DEPTH_INTERVAL if changed else min(self.depth_every * 2, DEPTH_IDLE)
        self.depth_due = _monotonic() + self.depth_every if state.SAMPLED else None

    def _child_ready(self, st, next_delay):
        if st.reaped or st.exited:
            return
        if st.method == 'forkserver':
            # Not our OS child: the status arrives on the sentinel pipe. Let the popen read
            # it itself (it caches returncode), so the user's exitcode/join see the same.
            popen = st.popen()
            if popen is None:
                return
            if not st.lock.acquire(False):
                # The user's poll() is reading it right now and will report.
                self.retry.append([_monotonic() + next_delay, next_delay, st])
                return
            try:
                code = popen.returncode
                if code is None and not st.readers:
                    code = state.orig_fs_poll[0](popen)
            finally:
                st.lock.release()
            if code is None:
                self.retry.append([_monotonic() + next_delay, next_delay, st])
                return
            children.report_exit(st, code)
            return
        code = children.exit_status(st.pid, st.sentinel)
        if code is False:
            return    # the user's code reaped it meanwhile and reports
        if code is None:
            # The sentinel closes a moment before the child becomes waitable (or the
            # child closed it itself): look again soon, backing off.
            self.retry.append([_monotonic() + next_delay, next_delay, st])
            return
        children.report_exit(st, code)

    def _read_socket(self):
        conn = self.p.conn
        try:
            data = conn.recv(65536) if conn is not None else b''
        except (BlockingIOError, InterruptedError, _socket.timeout):
            return
        except OSError:
            data = b''
        if not data:
            # The session closed the connection (or went away): make a new one, which
            # re-announces what it may have lost; if nobody listens, go silent.
            p = self.p
            with p.lock:
                if conn is not None and p.conn is conn:
                    connection.lost_locked(p, conn)
                else:
                    self.forget_socket(conn)
            return
        self.rbuf += data
        if b'\n' not in self.rbuf:
            if len(self.rbuf) > MAX_LINE:
                self.rbuf = b''
            return
        json = state.import_module('json')
        while b'\n' in self.rbuf:
            line, self.rbuf = self.rbuf.split(b'\n', 1)
            if len(line) > MAX_LINE:
                continue
            try:
                msg = json.loads(line.decode('utf-8'))
            except ValueError:
                continue
            if not isinstance(msg, dict):
                continue
            kind = msg.get('type')
            if kind == 'control':
                try:
                    handle_control(msg)
                except Exception:
                    fail('control')
            elif kind == 'stacks.request':
                try:
                    answer_stacks(msg)
                except Exception:
                    fail('stacks')
            elif kind == 'queue.resample':
                try:
                    ids = msg.get('ids')
                    if isinstance(ids, list) and counters.resample_queues(ids):
                        # Read at once (this very step, see _step): the session waits for it.
                        self.depth_every = DEPTH_INTERVAL
                        self.depth_due = _monotonic()
                except Exception:
                    fail('queue.resample')

