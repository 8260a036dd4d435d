"""The supervisor's three waiters, one per kind of platform, chosen by what it has
(waiter_kind): epoll (Linux), selectors (other POSIX systems), process handles (Windows)."""

import os

from .settings import WAITER


def waiter_kind():
    """'epoll' (Linux), 'selectors' (other POSIX systems: child sentinels are pipe fds) or
    'handles' (Windows, where sentinels are process handles that no selector takes:
    multiprocessing.connection.wait, which waits on handles and sockets alike)."""
    if WAITER in WAITERS:
        return WAITER
    try:
        import select
        if hasattr(select, 'epoll'):
            return 'epoll'
    except ImportError:
        pass
    return 'selectors' if os.name == 'posix' else 'handles'


# The supervisor's waiters. Each takes the session's socket and child sentinels, is woken
# from any thread, and returns from wait() the keys (fds, or handles) that are ready, its
# own wake-up drained and left out. Registration happens under the supervisor's lock.

class _PipeWake(object):
    """A non-blocking pipe as wake-up, for the fd-based waiters."""

    def __init__(self):
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)

    def wake(self):
        try:
            os.write(self.wake_w, b'x')
        except OSError:
            pass    # full: a wake-up is pending anyway

    def _drained(self, ready):
        if self.wake_r not in ready:
            return ready
        try:
            while os.read(self.wake_r, 4096):
                pass
        except OSError:
            pass
        return [fd for fd in ready if fd != self.wake_r]


class _EpollWait(_PipeWake):
    kind = 'epoll'

    def __init__(self, lock):
        _PipeWake.__init__(self)
        import select
        self.ep = select.epoll()
        self._IN = select.EPOLLIN
        self._ONESHOT = select.EPOLLONESHOT
        self.ep.register(self.wake_r, self._IN)

    def watch_socket(self, fd, conn):
        self.ep.register(fd, self._IN)

    def watch_sentinel(self, fd):
        # One-shot: an fd can never report twice, so no registration can turn into a
        # busy loop.
        self.ep.register(fd, self._IN | self._ONESHOT)

    def unregister(self, fd):
        self.ep.unregister(fd)

    def wait(self, timeout):
        return self._drained([fd for fd, _ in self.ep.poll(-1 if timeout is None else timeout)])


class _SelectorWait(_PipeWake):
    kind = 'selectors'

    def __init__(self, lock):
        _PipeWake.__init__(self)
        import selectors
        self.sel = selectors.DefaultSelector()
        self._READ = selectors.EVENT_READ
        self.sel.register(self.wake_r, self._READ)

    def watch_socket(self, fd, conn):
        self.sel.register(fd, self._READ)

    def watch_sentinel(self, fd):
        self.sel.register(fd, self._READ)

    def unregister(self, fd):
        self.sel.unregister(fd)

    def wait(self, timeout):
        return self._drained([key.fd for key, _ in self.sel.select(timeout)])


class _HandleWait(object):
    """multiprocessing.connection.wait over a dict key -> waitable (a sentinel, the
    session's socket object, the wake-up connection). A snapshot is taken under the
    supervisor's lock; a key unregistered meanwhile is ignored by the supervisor."""

    kind = 'handles'
    WAKE = object()

    def __init__(self, lock):
        # Imported here, in the thread creating the supervisor (the program's, inside a
        # start() or a queue's creation), never in ours: see state.block_signals on imports.
        from multiprocessing import connection
        self._wait = connection.wait
        self.lock = lock
        self.wake_r, self.wake_w = connection.Pipe(duplex=False)
        self.objects = {self.WAKE: self.wake_r}
        self.wake_sent = [False]

    def watch_socket(self, fd, conn):
        # The socket object: on Windows a socket is no waitable handle, and
        # connection.wait treats an object with fileno() as one to read.
        self.objects[fd] = conn

    def watch_sentinel(self, fd):
        self.objects[fd] = fd

    def unregister(self, fd):
        del self.objects[fd]

    def wake(self):
        # At most one byte waits in the pipe: a writer can never block on a full one.
        if not self.wake_sent[0]:
            self.wake_sent[0] = True
            try:
                self.wake_w.send_bytes(b'x')
            except Exception:
                self.wake_sent[0] = False

    def wait(self, timeout):
        with self.lock:
            items = list(self.objects.items())
        ready = self._select(items, timeout)
        if self.WAKE not in ready:
            return ready
        self.wake_sent[0] = False
        try:
            while self.wake_r.poll():
                self.wake_r.recv_bytes()
        except Exception:
            pass
        return [key for key in ready if key is not self.WAKE]

    # WaitForMultipleObjects takes at most 64 handles, and connection.wait before Python 3.13
    # passes them in one call (ValueError past 63). Kept on every platform, so that the tests
    # on Linux go through the same sharing as Windows does.
    MAX_OBJECTS = 63
    SHARED_TICK = 0.05

    def _select(self, items, timeout):
        if len(items) <= self.MAX_OBJECTS:
            return self._ready(items, timeout)
        # More than one wait takes (a program with over 60 live children): the wake-up and
        # the socket are in the wait, with as many sentinels as fit; the others are looked at
        # without waiting, and the wait is cut to SHARED_TICK so that they are seen within it.
        fixed = [it for it in items if not isinstance(it[1], int)]
        sentinels = [it for it in items if isinstance(it[1], int)]
        room = self.MAX_OBJECTS - len(fixed)
        ready = []
        for i in range(room, len(sentinels), self.MAX_OBJECTS):
            ready.extend(self._ready(sentinels[i:i + self.MAX_OBJECTS], 0))
        if ready:
            return ready + self._ready(fixed, 0)
        tick = self.SHARED_TICK if timeout is None else min(timeout, self.SHARED_TICK)
        return self._ready(fixed + sentinels[:room], tick)

    def _ready(self, items, timeout):
        try:
            got = self._wait([o for _, o in items], timeout)
        except (OSError, ValueError):
            # A handle closed under us (the program's Process.close() of a child not yet
            # seen): each one that fails alone counts as ready, so the supervisor drops it
            # (its status then reads False: collected by the program).
            got = []
            for _, o in items:
                try:
                    got.extend(self._wait([o], 0))
                except (OSError, ValueError):
                    got.append(o)
        ready = set(id(o) for o in got)
        return [key for key, o in items if id(o) in ready]


WAITERS = {'epoll': _EpollWait, 'selectors': _SelectorWait, 'handles': _HandleWait}
