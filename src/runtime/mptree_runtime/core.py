"""Per-process state, the connection to the session, the supervisor thread, counters.

Everything here runs inside the user's program, so two rules hold throughout: nothing may
raise into user code (callers wrap us in try/except), and nothing from multiprocessing or
threading is used (our own objects must not show up in the user's view of the program,
and threading.Thread objects would appear in threading.enumerate()).
"""

import errno
import itertools
import json
import os
import socket
import sys
import time
import weakref
import _thread

VERSION = 1
SOCKET_PATH = os.environ.get('MPTREE_SOCKET') or ''
TOKEN = os.environ.get('MPTREE_TOKEN') or ''
RUN_ID = os.environ.get('MPTREE_RUN_ID') or ''
DEBUG = os.environ.get('MPTREE_DEBUG') == '1'

FLUSH_INTERVAL = 0.05
SEND_TIMEOUT = 10.0
MAX_LINE = 1 << 20

_NOSIGNAL = getattr(socket, 'MSG_NOSIGNAL', 0)
_debug_said = [False]


def fail(where):
    """An internal error: stay silent for the user, one line on stderr when debugging."""
    if DEBUG and not _debug_said[0]:
        _debug_said[0] = True
        try:
            exc = sys.exc_info()[1]
            os.write(2, ('mptree: internal error in %s: %r\n' % (where, exc)).encode('utf-8', 'replace'))
        except Exception:
            pass


def now_ms():
    return time.time() * 1000.0


# ---------------------------------------------------------------------------------------
# Process identity

_install_ms = now_ms()
_btime = [None]


def _proc_start_ms():
    # /proc start time matches what an OS scan of the same pid reports, so the session can
    # tell a reused pid from the same process.
    try:
        with open('/proc/self/stat', 'rb') as f:
            data = f.read()
        ticks = int(data[data.rindex(b')') + 2:].split()[19])
        if _btime[0] is None:
            with open('/proc/stat', 'rb') as f:
                for line in f:
                    if line.startswith(b'btime '):
                        _btime[0] = int(line.split()[1])
                        break
        return (_btime[0] + ticks / float(os.sysconf('SC_CLK_TCK'))) * 1000.0
    except Exception:
        return None


def argv_list():
    argv = getattr(sys, 'orig_argv', None) or getattr(sys, 'argv', None) or []
    out, total = [], 0
    for a in argv:
        a = str(a)
        total += len(a)
        if total > 65536:  # keep hello far below the 1 MiB line limit
            out.append('…')
            break
        out.append(a)
    return out


def cmdline_text():
    """The full command line, for recognising helpers (3.8/3.9 lack sys.orig_argv)."""
    argv = getattr(sys, 'orig_argv', None)
    if argv:
        return ' '.join(argv)
    try:
        with open('/proc/self/cmdline', 'rb') as f:
            return f.read().replace(b'\0', b' ').decode('utf-8', 'replace')
    except Exception:
        return ' '.join(getattr(sys, 'argv', []) or [])


class Identity(object):
    __slots__ = ('name', 'daemon', 'kind', 'role', 'start_method', 'target', 'parent_pid')

    def __init__(self, name='MainProcess', daemon=False, kind='python', role=None,
                 start_method=None, target=None, parent_pid=None):
        self.name = name
        self.daemon = daemon
        self.kind = kind
        self.role = role
        self.start_method = start_method
        self.target = target
        self.parent_pid = parent_pid


# ---------------------------------------------------------------------------------------
# Per-process state. A fork child gets a fresh one (see after_fork_child): everything the
# parent had (connection, children, unflushed counts, locks possibly held by a thread that
# does not exist in the child) belongs to the parent.

class ProcState(object):
    def __init__(self, identity, connect_eagerly):
        self.pid = os.getpid()
        self.identity = identity
        self.created = None
        self.lock = _thread.RLock()          # connection, sends, child bookkeeping
        self.flush_lock = _thread.allocate_lock()
        self.conn = None
        self.conn_dead = False
        self.hello_sent = False
        self.connect_eagerly = connect_eagerly
        self.sup = None                      # Supervisor, started lazily
        self.children = {}                   # pid -> ChildState, for control requests
        self.qcounts = {}                    # queue id -> Counters
        self.pcounts = {}                    # pool id -> Counters
        self.dirty = False
        self.seq = itertools.count(1)
        self.forked_from_role = None


class Counters(object):
    """Per-process counters. Single increments (a put, a get) take the lock-free path:
    next() on an itertools.count is atomic under the GIL, unlike `x += 1`; the flusher
    reads one by taking a value itself and remembering it, so the delta is
    (value - last - 1). Bulk additions (a map of many items) go through a lock."""
    __slots__ = ('c', 'last', 'bulk', 'lock')

    def __init__(self, n):
        self.c = [itertools.count() for _ in range(n)]
        self.last = [-1] * n
        self.bulk = [0] * n
        self.lock = _thread.allocate_lock()

    def add(self, index, n):
        with self.lock:
            self.bulk[index] += n

    def take(self):
        out = []
        with self.lock:
            bulk, self.bulk = self.bulk, [0] * len(self.bulk)
        for i, c in enumerate(self.c):
            v = next(c)
            out.append(v - self.last[i] - 1 + bulk[i])
            self.last[i] = v
        return out


P = None          # the current ProcState
tls = _thread._local()


def init(identity, connect_eagerly):
    global P
    P = ProcState(identity, connect_eagerly)


def new_id(prefix):
    return '%s%d-%d' % (prefix, P.pid, next(P.seq))


# ---------------------------------------------------------------------------------------
# Connection

class Conn(object):
    def __init__(self, sock):
        self.sock = sock
        self.broken_line = False


def _encode(msg):
    msg['v'] = VERSION
    if 't' not in msg:
        msg['t'] = now_ms()
    # ensure_ascii keeps the line valid UTF-8 even for names with lone surrogates.
    line = json.dumps(msg, separators=(',', ':'), ensure_ascii=True, default=str) + '\n'
    return line.encode('ascii')


def _hello():
    ident = P.identity
    if P.created is None:
        P.created = _proc_start_ms() or _install_ms
    ppid = os.getppid()
    return {
        'type': 'hello', 'token': TOKEN, 'runId': RUN_ID, 'pid': P.pid, 'ppid': ppid,
        'parentPid': ident.parent_pid if ident.parent_pid is not None else ppid,
        'name': ident.name, 'daemon': bool(ident.daemon), 'kind': ident.kind,
        'role': ident.role, 'startMethod': ident.start_method, 'target': ident.target,
        'argv': argv_list(), 'python': '%d.%d.%d' % sys.version_info[:3],
        'created': P.created,
    }


def _connect_locked():
    if P.conn is not None or P.conn_dead or not SOCKET_PATH:
        return P.conn
    sock = None
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(SEND_TIMEOUT)
        sock.connect(SOCKET_PATH)
        conn = Conn(sock)
        conn.sock.sendall(_encode(_hello()), _NOSIGNAL)
        P.conn = conn
        P.hello_sent = True
    except Exception:
        P.conn_dead = True
        if sock is not None:
            try:
                sock.close()
            except Exception:
                pass
        fail('connect')
        return None
    sup = P.sup
    if sup is not None:
        sup.watch_socket()
    return P.conn


def connection():
    c = P.conn
    if c is not None or P.conn_dead:
        return c
    with P.lock:
        return _connect_locked()


def send_locked(msg):
    """Send one message; the caller holds P.lock (so related messages keep their order)."""
    conn = P.conn
    if conn is None:
        if P.conn_dead:
            return False
        conn = _connect_locked()
        if conn is None:
            return False
    data = _encode(msg)
    if len(data) > MAX_LINE:
        return False
    if conn.broken_line:
        # A previous send was interrupted half-way: end that line so only it is lost.
        data = b'\n' + data
        conn.broken_line = False
    try:
        conn.sock.sendall(data, _NOSIGNAL)
        return True
    except OSError:
        P.conn_dead = True
        fail('send')
        return False
    except BaseException:
        conn.broken_line = True
        raise


def send(msg):
    with P.lock:
        return send_locked(msg)


def resend_hello():
    """A fork child learns who it is in _bootstrap; only worth saying if connected."""
    with P.lock:
        if P.conn is not None and not P.conn_dead:
            send_locked(_hello())


# ---------------------------------------------------------------------------------------
# Counters (queue puts/gets/tasksDone and pool submitted/completed), flushed as deltas.

def queue_counters(qid):
    c = P.qcounts.get(qid)
    if c is None:
        c = P.qcounts.setdefault(qid, Counters(3))
    return c


def pool_counters(pid):
    c = P.pcounts.get(pid)
    if c is None:
        c = P.pcounts.setdefault(pid, Counters(2))
    return c


def mark_dirty():
    # Called after the increment, and flush() clears the flag before reading, so an
    # increment is either in the current flush or makes the next one happen.
    if P.dirty:
        return
    P.dirty = True
    try:
        ensure_supervisor().wake()
    except Exception:
        fail('mark_dirty')


def flush():
    p = P
    with p.flush_lock:
        p.dirty = False
        q = []
        for qid, c in list(p.qcounts.items()):
            d = c.take()
            if d[0] or d[1] or d[2]:
                q.append([qid, d[0], d[1], d[2]])
        pl = []
        for pid, c in list(p.pcounts.items()):
            d = c.take()
            if d[0] or d[1]:
                pl.append([pid, d[0], d[1]])
        if q:
            send({'type': 'queue.counts', 'counts': q})
        if pl:
            send({'type': 'pool.counts', 'counts': pl})


# ---------------------------------------------------------------------------------------
# Children: started here, watched for exit without reaping, collected by the user's code.

class ChildState(object):
    __slots__ = ('pid', 'method', 'pool_id', 'proc_ref', 'popen_ref', 'sentinel', 'exited',
                 'reaped', 'exit_code', 'lock', '__weakref__')

    def __init__(self, pid, method, pool_id, proc, popen, sentinel):
        self.pid = pid
        self.method = method
        self.pool_id = pool_id
        self.proc_ref = weakref.ref(proc)
        self.popen_ref = weakref.ref(popen)
        self.sentinel = sentinel
        self.exited = False
        self.reaped = False
        self.exit_code = None
        # Serialises forkserver status reads between the supervisor and the user's poll().
        self.lock = _thread.allocate_lock()


def report_exit(st, code):
    with P.lock:
        if st.exited:
            return
        st.exited = True
        st.exit_code = code
        send_locked({'type': 'process.exited', 'pid': st.pid, 'exitCode': code})


def report_collected(st, code, joined):
    """The user's code collected the exit status (join, is_alive, exitcode, ...)."""
    with P.lock:
        if st.reaped:
            return
        st.reaped = True
        if not st.exited:
            st.exited = True
            st.exit_code = code
            send_locked({'type': 'process.exited', 'pid': st.pid, 'exitCode': code})
        send_locked({'type': 'process.reaped', 'pid': st.pid, 'joined': bool(joined)})
    sup = P.sup
    if sup is not None:
        sup.unwatch(st)


def exit_status(pid):
    """Exit code of a child without reaping it; None while it runs, False if already reaped."""
    try:
        r = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    except OSError:
        return False
    if r is None or r.si_pid == 0:
        return None
    if r.si_code == os.CLD_EXITED:
        return r.si_status
    return -r.si_status


class Supervisor(object):
    """One thread per process: waits on child sentinels, the socket (control requests) and
    a wake-up pipe; flushes counters. Blocks in epoll/select, never polls busily."""

    def __init__(self):
        self.p = P
        self.lock = _thread.allocate_lock()
        self.watch = {}          # fd -> ChildState
        self.retry = []          # [due, delay, ChildState]
        self.flush_due = None
        self.sock_fd = None
        self.rbuf = b''
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        self.ep = None
        self.sel = None
        try:
            import select
            self.ep = select.epoll()
            self._IN = select.EPOLLIN
            self._ONESHOT = select.EPOLLONESHOT
            self.ep.register(self.wake_r, select.EPOLLIN)
        except (ImportError, AttributeError):
            import selectors
            self.sel = selectors.DefaultSelector()
            self.sel.register(self.wake_r, selectors.EVENT_READ)
        self.watch_socket()
        _thread.start_new_thread(self._run, ())

    def close_inherited(self):
        """In a fork child: drop our fds without touching the parent's epoll set."""
        for fd in (self.wake_r, self.wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            if self.ep is not None:
                self.ep.close()
            else:
                self.sel.close()
        except Exception:
            pass

    def wake(self):
        try:
            os.write(self.wake_w, b'x')
        except OSError:
            pass

    def watch_socket(self):
        conn = self.p.conn
        if conn is None or self.sock_fd is not None:
            return
        try:
            fd = conn.sock.fileno()
            with self.lock:
                if self.ep is not None:
                    self.ep.register(fd, self._IN)
                else:
                    import selectors
                    self.sel.register(fd, selectors.EVENT_READ)
                self.sock_fd = fd
            self.wake()
        except Exception:
            fail('watch_socket')

    def add(self, st):
        with self.lock:
            fd = st.sentinel
            old = self.watch.pop(fd, None)
            if old is not None:
                self._unregister(fd)
            self.watch[fd] = st
            if self.ep is not None:
                # One-shot: an fd can never report twice, so a registration left behind by
                # an fd number the user closed cannot turn into a busy loop.
                self.ep.register(fd, self._IN | self._ONESHOT)
            else:
                import selectors
                self.sel.register(fd, selectors.EVENT_READ)
        if self.ep is None:
            self.wake()

    def _unregister(self, fd):
        try:
            if self.ep is not None:
                self.ep.unregister(fd)
            else:
                self.sel.unregister(fd)
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

    def _run(self):
        try:
            import signal
            # Signals are the main thread's business; a signal delivered to this thread
            # would not interrupt the main thread's blocking call as it should.
            signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
        except Exception:
            pass
        while True:
            try:
                if self.p is not P:   # we are a copy in a fork child: should not happen
                    return
                self._step()
            except Exception:
                fail('supervisor')
                time.sleep(0.05)

    def _timeout(self):
        t = None
        now = time.monotonic()
        if self.p.dirty:
            if self.flush_due is None:
                self.flush_due = now + FLUSH_INTERVAL
            t = max(0.0, self.flush_due - now)
        if self.retry:
            d = max(0.0, min(r[0] for r in self.retry) - now)
            t = d if t is None else min(t, d)
        return t

    def _step(self):
        timeout = self._timeout()
        if self.ep is not None:
            events = [fd for fd, _ in self.ep.poll(-1 if timeout is None else timeout)]
        else:
            events = [key.fd for key, _ in self.sel.select(timeout)]
        for fd in events:
            if fd == self.wake_r:
                try:
                    while os.read(self.wake_r, 4096):
                        pass
                except OSError:
                    pass
            elif fd == self.sock_fd:
                self._read_socket()
            else:
                with self.lock:
                    st = self.watch.pop(fd, None)
                    if st is not None:
                        self._unregister(fd)
                if st is not None:
                    self._child_ready(st, 0.001)
        if self.retry:
            now = time.monotonic()
            due = [r for r in self.retry if r[0] <= now]
            if due:
                self.retry = [r for r in self.retry if r[0] > now]
                for _, delay, st in due:
                    self._child_ready(st, min(delay * 2, 1.0))
        if self.p.dirty and self.flush_due is not None and time.monotonic() >= self.flush_due:
            self.flush_due = None
            flush()
        elif not self.p.dirty:
            self.flush_due = None

    def _child_ready(self, st, next_delay):
        if st.reaped or st.exited:
            return
        if st.method == 'forkserver':
            # Not our OS child: the status arrives on the sentinel pipe. Let the popen read
            # it itself (it caches returncode), so the user's exitcode/join see the same.
            popen = st.popen_ref()
            if popen is None:
                return
            if not st.lock.acquire(False):
                # The user's poll() is reading it right now and will report.
                self.retry.append([time.monotonic() + next_delay, next_delay, st])
                return
            try:
                code = popen.returncode
                if code is None and not popen.__dict__.get('_mptree_readers'):
                    code = _orig_fs_poll[0](popen)
            finally:
                st.lock.release()
            if code is None:
                self.retry.append([time.monotonic() + next_delay, next_delay, st])
                return
            report_exit(st, code)
            return
        code = exit_status(st.pid)
        if code is False:
            return    # the user's code reaped it meanwhile and reports
        if code is None:
            # The sentinel closes a moment before the child becomes waitable (or the
            # child closed it itself): look again soon, backing off.
            self.retry.append([time.monotonic() + next_delay, next_delay, st])
            return
        report_exit(st, code)

    def _read_socket(self):
        conn = self.p.conn
        try:
            data = conn.sock.recv(65536) if conn is not None else b''
        except (BlockingIOError, socket.timeout, InterruptedError):
            return
        except OSError:
            data = b''
        if not data:
            # The session went away: stop listening and stop sending.
            with self.lock:
                if self.sock_fd is not None:
                    self._unregister(self.sock_fd)
                    self.sock_fd = None
            self.p.conn_dead = True
            return
        self.rbuf += data
        while b'\n' in self.rbuf:
            line, self.rbuf = self.rbuf.split(b'\n', 1)
            if len(line) > MAX_LINE:
                continue
            try:
                msg = json.loads(line.decode('utf-8'))
            except ValueError:
                continue
            if isinstance(msg, dict) and msg.get('type') == 'control':
                try:
                    handle_control(msg)
                except Exception:
                    fail('control')
        if len(self.rbuf) > MAX_LINE:
            self.rbuf = b''


_orig_fs_poll = [None]   # set by the patches: the unwrapped forkserver Popen.poll


def ensure_supervisor():
    sup = P.sup
    if sup is None:
        with P.lock:
            sup = P.sup
            if sup is None:
                sup = P.sup = Supervisor()
    return sup


def watch_child(st):
    P.children[st.pid] = st
    ensure_supervisor().add(st)


# ---------------------------------------------------------------------------------------
# Control requests from the session (join / terminate / kill a child of this process)

def handle_control(msg):
    rid = msg.get('id')
    op = msg.get('op')
    pid = msg.get('pid')
    st = P.children.get(pid) if isinstance(pid, int) else None
    proc = st.proc_ref() if st is not None else None

    def answer(**kw):
        out = {'type': 'control.result', 'id': rid}
        out.update(kw)
        send(out)

    if st is None or proc is None:
        if st is not None and st.exited and op == 'join':
            return answer(ok=True, exitCode=st.exit_code)
        return answer(ok=False, error='not a child of %d' % P.pid)
    if op in ('terminate', 'kill'):
        try:
            getattr(proc, op)()
            answer(ok=True)
        except Exception as exc:
            answer(ok=False, error='%s failed: %s' % (op, exc))
        return
    if op == 'join':
        timeout = msg.get('timeout')
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout < 0:
            timeout = None

        def joiner():
            try:
                import signal
                signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
            except Exception:
                pass
            try:
                proc.join(timeout)
                code = proc.exitcode
                if code is None:
                    answer(ok=False, timedOut=True,
                           error='still running after %s s' % (_fmt_secs(timeout),))
                else:
                    answer(ok=True, exitCode=code)
            except Exception as exc:
                try:
                    answer(ok=False, error='join failed: %s' % (exc,))
                except Exception:
                    fail('control join')

        _thread.start_new_thread(joiner, ())
        return
    answer(ok=False, error='unknown op %r' % (op,))


def _fmt_secs(t):
    if t is None:
        return 'forever'
    return ('%g' % t)


# ---------------------------------------------------------------------------------------
# Fork handling

def after_fork_child():
    """os.register_at_fork(after_in_child=...): a fresh state for the child."""
    global P, tls
    try:
        old = P
        ident = Identity(name=old.identity.name, daemon=False, kind='python',
                         start_method='os.fork', parent_pid=old.pid)
        P = ProcState(ident, connect_eagerly=False)
        P.forked_from_role = old.identity.role
        # Thread-local flags (e.g. "inside Pool.__init__") were the forking thread's.
        tls = _thread._local()
        # Drop the inherited connection without shutting it down: the parent still uses it.
        if old.conn is not None:
            try:
                old.conn.sock.close()
            except Exception:
                pass
        if old.sup is not None:
            old.sup.close_inherited()
    except Exception:
        fail('after_fork_child')


def at_exit():
    """Interpreter exit (main program, spawn children, helpers): final counts."""
    try:
        if P is not None and P.pid == os.getpid():
            if P.dirty or P.qcounts or P.pcounts:
                flush()
    except Exception:
        fail('at_exit')


def parent_is_gone(parent_pid, parent_sentinel):
    try:
        if parent_sentinel is not None:
            import select
            r, _, _ = select.select([parent_sentinel], [], [], 0)
            return bool(r)
        return os.getppid() != parent_pid
    except Exception:
        return False


def is_eintr(exc):
    return getattr(exc, 'errno', None) == errno.EINTR
