"""Per-process state, the connection to the session, the supervisor thread, counters.

Everything here runs inside the user's program, so:
- nothing may raise into user code (callers wrap us in try/except);
- nothing from multiprocessing or threading is used (our objects must not show up in the
  user's view, and threading.Thread objects would appear in threading.enumerate());
- after a fork, every memory page we write costs a copy-on-write fault in parent and
  child alike, so the per-child paths touch as few objects as they can: C modules
  (_socket, _json, _weakref) instead of their Python wrappers, string templates instead
  of json.dumps, and a fork child builds its state only when it has something to say.
"""

import itertools
import os
import sys
import time
import _socket
import _thread
import _weakref

try:
    from _json import encode_basestring_ascii as _estr
except ImportError:  # pragma: no cover - every CPython has _json
    from json.encoder import py_encode_basestring_ascii as _estr

VERSION = 1
# Where the session listens: a Unix socket's path, or 'tcp:127.0.0.1:PORT' for the loopback
# TCP transport (Windows, or MPTREE_TRANSPORT=tcp on the session's side). See docs/protocol.md.
SOCKET_PATH = os.environ.get('MPTREE_SOCKET') or ''
TOKEN = os.environ.get('MPTREE_TOKEN') or ''
RUN_ID = os.environ.get('MPTREE_RUN_ID') or ''
DEBUG = os.environ.get('MPTREE_DEBUG') == '1'
# How the supervisor waits (see Supervisor): chosen by what the platform has. Setting it
# runs another platform's choice here: 'selectors' (macOS and the BSDs: no epoll) and
# 'handles' (Windows: process handles, not fds) are tested on Linux that way.
WAITER = os.environ.get('MPTREE_WAITER') or ''

# A measurement aid only: stretches our timers by this factor, so that a run under valgrind
# (50x slower) wakes the supervisor as often per unit of work as a real run does.
_SCALE = float(os.environ.get('MPTREE_TIME_SCALE') or 1)
FLUSH_INTERVAL = 0.05 * _SCALE   # queue/pool counts: at most one message per this many seconds
SEND_TIMEOUT = 10.0     # a session that stops reading must not hang the program for long
GRACE = 0.03 * _SCALE   # children younger than this are not watched yet (see Supervisor)
# Queue depths read from the queues' own semaphores (see sample_queue): every this many
# seconds while a depth changes, backing off to DEPTH_IDLE while it does not.
DEPTH_INTERVAL = 0.05 * _SCALE
DEPTH_IDLE = 0.5 * _SCALE
MAX_LINE = 1 << 20
# A dropped connection is retried in the background after these pauses (2 s in all): a
# session that restarted on the same path is back by then. Lines said meanwhile wait in a
# bounded backlog. If none succeeds, the session that owns the run is gone for good, and
# what happens to the program is the owner's choice (MPTREE_WHEN_VIEWER_GONE, see owner_gone).
RECONNECT_DELAYS = (0.0, 0.05, 0.1, 0.2, 0.5, 0.65, 0.5)
# stop (the default): the whole run ends, as Stop Run ends it; keep: it runs on, unreported.
STOP_WHEN_GONE = os.environ.get('MPTREE_WHEN_VIEWER_GONE', 'stop') != 'keep'
# Between SIGTERM and SIGKILL when the run is stopped because its owner is gone.
OWNER_GONE_GRACE = 1.0
BACKLOG_MAX = 1 << 20
ANNOUNCED_MAX = 10000   # queues/pools remembered for a re-announcement

_NOSIGNAL = getattr(_socket, 'MSG_NOSIGNAL', 0)
_debug_said = [False]
_time = time.time
_monotonic = time.monotonic


def fail(where):
    """An internal error: stay silent for the user, one line on stderr when debugging."""
    if DEBUG and not _debug_said[0]:
        _debug_said[0] = True
        try:
            exc = sys.exc_info()[1]
            os.write(2, ('mptree: internal error in %s: %r\n' % (where, exc)).encode('utf-8', 'replace'))
        except Exception:
            pass


# ---------------------------------------------------------------------------------------
# JSON out. Messages are flat dicts of str/int/float/bool/None and lists of those;
# ensure_ascii-style escaping keeps every line valid UTF-8 even for lone surrogates.

def _j(v):
    if v is None:
        return 'null'
    if v is True:
        return 'true'
    if v is False:
        return 'false'
    t = type(v)
    if t is str:
        return _estr(v)
    if t is int:
        return '%d' % v
    if t is float:
        return repr(v) if v == v and v not in (float('inf'), float('-inf')) else 'null'
    if t is list or t is tuple:
        return '[' + ','.join([_j(x) for x in v]) + ']'
    if t is dict:
        return '{' + ','.join([_estr(str(k)) + ':' + _j(x) for k, x in v.items()]) + '}'
    if isinstance(v, bool):
        return 'true' if v else 'false'
    if isinstance(v, int):
        return '%d' % v
    if isinstance(v, float):
        return _j(float(v))
    return _estr(str(v))


def encode(msg):
    if 't' not in msg:
        msg['t'] = _time() * 1000.0
    return ('{"v":1,' + _j(msg)[1:] + '\n').encode('ascii')


# ---------------------------------------------------------------------------------------
# Process identity

_install_ms = _time() * 1000.0
_btime = [None]


def _read_proc(path):
    # os.open/os.read: no io objects for a 300-byte file (this runs in every process).
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 65536)
    finally:
        os.close(fd)


def boot_time():
    # /proc/stat is slow to produce (~100 us, per-CPU figures): read once per run; fork
    # children inherit it and spawn children get it with the preparation data.
    if _btime[0] is None:
        data = _read_proc('/proc/stat')
        i = data.index(b'\nbtime ')
        _btime[0] = int(data[i + 7:data.index(b'\n', i + 1)])
    return _btime[0]


def _proc_start_ms():
    # /proc start time matches what an OS scan of the same pid reports, so the session can
    # tell a reused pid from the same process.
    try:
        data = _read_proc('/proc/self/stat')
        ticks = int(data[data.rindex(b')') + 2:].split()[19])
        return (boot_time() + ticks / float(os.sysconf('SC_CLK_TCK'))) * 1000.0
    except Exception:
        return None


# debugpy runs a debugged program as `python [-X ...] .../debugpy --connect H:P
# --configure-qt none --adapter-access-token SECRET program args`. The tree shows the
# program's command line, and the adapter's token must not travel further (snapshots, logs).
_DEBUGPY_VALUE_OPTIONS = ('--connect', '--listen', '--adapter-access-token', '--log-to',
                          '--parent-session-pid', '--pid')
_DEBUGPY_FLAGS = ('--wait-for-client', '--log-to-stderr')


def without_debugpy(argv):
    """argv with debugpy's own part (its entry point and options) taken out."""
    for i, a in enumerate(argv[1:], 1):
        a = str(a)
        nxt = str(argv[i + 1]) if i + 1 < len(argv) else ''
        is_entry = ((a == 'debugpy' and argv[i - 1] == '-m')
                    or os.path.basename(os.path.normpath(a)) == 'debugpy') and (
            nxt in _DEBUGPY_VALUE_OPTIONS or nxt in _DEBUGPY_FLAGS or nxt.startswith('--configure-'))
        if not is_entry:
            continue
        start = i - 1 if a == 'debugpy' and argv[i - 1] == '-m' else i
        j = i + 1
        while j < len(argv):
            opt = str(argv[j])
            if opt in _DEBUGPY_FLAGS:
                j += 1
            elif (opt in _DEBUGPY_VALUE_OPTIONS or opt.startswith('--configure-')) and j + 1 < len(argv):
                j += 2
            else:
                break
        return list(argv[:start]) + list(argv[j:])
    # A subprocess under debugpy runs `-c "import sys; ...; pydevd.settrace(..., access_token=
    # SECRET, ...); <the original code>"`: keep the original code only.
    out = []
    for a in argv:
        a = str(a)
        at = a.find('pydevd.settrace(')
        end = a.find('); ', at) if at >= 0 else -1
        out.append(a[end + 3:] if end >= 0 else a)
    return out


def argv_list():
    argv = getattr(sys, 'orig_argv', None) or getattr(sys, 'argv', None) or []
    if any('debugpy' in str(a) or 'pydevd' in str(a) for a in argv[:8]):
        argv = without_debugpy(argv)
    out, total = [], 0
    for a in argv:
        a = str(a)
        total += len(a)
        if total > 65536:  # keep hello far below the 1 MiB line limit
            out.append('...')
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


# The Process object a child runs (set in _bootstrap), and how to describe it; patches
# installs the describer. A fork child computes its identity only if it ever connects.
me = [None]
describe = [None]


# ---------------------------------------------------------------------------------------
# Per-process state

class ProcState(object):
    def __init__(self, identity, connect_eagerly):
        self.pid = os.getpid()
        self.identity = identity
        self.forkserver = identity.role == 'forkserver'   # read by each child's fork hook
        self.created = None
        self.lock = _thread.RLock()          # connection, sends, child bookkeeping
        self.flush_lock = _thread.allocate_lock()
        self.conn = None
        self.conn_fd = -1                    # conn's fd: a fork child closes its copy
        self.conn_dead = False               # never again (no session, or gave up)
        self.ever_connected = False
        self.reconnecting = False            # lost; a background thread tries again
        self.backlog = []                    # lines said while reconnecting
        self.backlog_bytes = 0
        self.unsent_q = {}                   # count deltas whose flush could not be sent
        self.unsent_p = {}
        self.announced = {}                  # key -> line: queues/pools to re-announce
        self.broken_line = False
        self.connect_eagerly = connect_eagerly
        self.sup = None                      # Supervisor, started lazily
        self.children = {}                   # pid -> ChildState, for control requests
        self.collected = {}                  # pid -> exit code of recently collected ones
        self.qcounts = {}                    # queue id -> Counters
        self.pcounts = {}                    # pool id -> Counters
        self.seq = itertools.count(1)
        self.forked_from_role = None
        self.threads = 0                     # our threads alive in this process (see fork())


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


P = None                 # the current ProcState; None in a fork child until needed
tls = _thread._local()
# The hot paths (a put, a get, a task done) go straight to these: id -> list of
# itertools.count of this process. A fork child starts them empty (after_fork_child).
QC = {}
PC = {}
DIRTY = [False]          # some count changed since the last flush
# Queues whose depth this process reads (see sample_queue):
# id -> [weak ref to the queue, depth last sent, its semaphore, its maxsize].
SAMPLED = {}
# A fork child's ancestry: for each fork, the parent's state (kept so GC never closes its
# fds) or, if the parent had none, its pid. The last entry is this process's parent.
_stale = []
forked_by_forkserver = [False]


def init(identity, connect_eagerly):
    global P
    P = ProcState(identity, connect_eagerly)


def state():
    p = P
    if p is None:
        p = _child_state()
    return p


def _child_state():
    global P, tls
    parent_pid, parent_role = fork_parent()
    # Named for what it is: multiprocessing's current_process() in it is still its parent's
    # (an os.fork child of the main process would call itself "MainProcess"). A
    # multiprocessing fork child gets its own name later, from its Process (_identity_now).
    ident = Identity(name='os.fork of %s' % _parent_name(parent_pid), kind='python',
                     start_method='os.fork', parent_pid=parent_pid)
    p = ProcState(ident, connect_eagerly=False)
    p.forked_from_role = parent_role
    # The parent's queue readings are the parent's (cleared here, not in the fork hook:
    # every page that hook writes is a fault in each child, and this runs only in a fork
    # child that speaks, before anything can register or read a queue).
    SAMPLED.clear()
    # Thread-local flags (e.g. "inside Pool.__init__") were the forking thread's.
    tls = _thread._local()
    P = p
    return p


def _parent_name(parent_pid):
    last = _stale[-1] if _stale else None
    if last is not None and type(last) is not int:
        return last.identity.name
    mp = sys.modules.get('multiprocessing')
    try:
        if mp is not None:
            return mp.current_process().name
    except Exception:
        pass
    return 'pid %s' % parent_pid


def after_fork_child():
    """os.register_at_fork(after_in_child=...). Only what cannot wait: the parent's
    connection is closed so the session sees it end when the parent ends, and the parent's
    state is set aside (kept: its socket object must never close a reused fd number). Every
    page written here is a copy-on-write fault in each child (measured: about 12 of them
    for an earlier version that walked a list of fds and the parent's identity; the
    parent's epoll and wake-up pipe are left open: the child never uses them, and they are
    close-on-exec), so it reads plain attributes and writes only what changes."""
    global P
    try:
        old = P
        if old is not None:
            P = None
            _stale.append(old)
            fd = old.conn_fd
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
            # Read by every child's _bootstrap: a flag, written only when it changes.
            if old.forkserver:
                forked_by_forkserver[0] = True
            elif forked_by_forkserver[0]:
                forked_by_forkserver[0] = False
        else:
            _stale.append(os.getppid())
            if forked_by_forkserver[0]:
                forked_by_forkserver[0] = False
        # The counts inherited are the parent's to report.
        if QC:
            QC.clear()
        if PC:
            PC.clear()
        if DIRTY[0]:
            DIRTY[0] = False
    except Exception:
        fail('after_fork_child')


_real_os_exit = os._exit


def os_exit(status):
    """Stands in for os._exit, which skips atexit: a process that still holds reports (its
    fork journal, counts) sends them first. A quiet fork child has no state and goes
    straight through; every multiprocessing fork child ends here."""
    p = P
    if p is not None:
        try:
            if p.pid == os.getpid():
                final_flush(p)
                if p.identity.start_method == 'os.fork' and my_process() is None and \
                        p.conn is not None and type(status) is int:
                    # An os.fork child that spoke (it made a queue, say): nobody else can
                    # tell how it ended, its parent's os.waitpid() not being ours. (A
                    # multiprocessing child has reported from _bootstrap already.)
                    send({'type': 'process.exiting', 'pid': p.pid, 'exitCode': status & 0xFF})
        except Exception:
            fail('os._exit')
    _real_os_exit(status)


os_exit.__name__ = os_exit.__qualname__ = '_exit'
os_exit.__doc__ = _real_os_exit.__doc__
os_exit.__wrapped__ = _real_os_exit


def fork_parent():
    """In a fork child: (parent pid, parent's helper role); (None, None) otherwise."""
    if not _stale:
        return None, None
    last = _stale[-1]
    if type(last) is int:
        return last, None
    return last.pid, last.identity.role


def new_id(prefix):
    p = state()
    return '%s%d-%d' % (prefix, p.pid, next(p.seq))


# ---------------------------------------------------------------------------------------
# Connection

def my_process():
    """The Process object this multiprocessing child runs, or None. An os.fork child of
    such a child inherits it (multiprocessing's current_process() still returns it there)
    but is another process: told apart here, on the slow path, by the pid it was forked
    from, rather than by clearing it in the fork hook (a page write in every child)."""
    proc = me[0]
    if proc is None:
        return None
    try:
        pid, role = fork_parent()
        if role == 'forkserver' or pid is None or pid == proc.__dict__.get('_parent_pid'):
            return proc
    except Exception:
        fail('my_process')
    return None


def _identity_now(p):
    proc = my_process()
    if proc is not None and describe[0] is not None and p.identity.kind == 'python' \
            and p.identity.start_method == 'os.fork':
        # A multiprocessing fork child that never needed its identity until now.
        try:
            p.identity = describe[0](proc, p)
        except Exception:
            fail('identity')
    return p.identity


def _hello(p):
    ident = _identity_now(p)
    if p.created is None:
        p.created = _proc_start_ms() or _install_ms
    ppid = os.getppid()
    return {
        'type': 'hello', 'token': TOKEN, 'runId': RUN_ID, 'pid': p.pid, 'ppid': ppid,
        'parentPid': ident.parent_pid if ident.parent_pid is not None else ppid,
        'name': ident.name, 'daemon': bool(ident.daemon), 'kind': ident.kind,
        'role': ident.role, 'startMethod': ident.start_method, 'target': ident.target,
        'argv': argv_list(), 'python': '%d.%d.%d' % sys.version_info[:3],
        'created': p.created,
    }


def session_address(where):
    """(family, address) for MPTREE_SOCKET's value; None if it names nothing usable here
    (a Unix path on a platform without Unix sockets, a malformed TCP address)."""
    if where.startswith('tcp:'):
        host, _, port = where[4:].rpartition(':')
        try:
            return _socket.AF_INET, (host.strip('[]'), int(port))
        except ValueError:
            return None
    family = getattr(_socket, 'AF_UNIX', None)
    return (family, where) if family is not None and where else None


_ADDRESS = session_address(SOCKET_PATH)


def _open_socket(p):
    """A connected socket, or None. The caller sends the hello in the same write as
    anything it adds (a re-announcement), so nothing can come in between."""
    sock = None
    if _ADDRESS is None:
        return None
    try:
        sock = _socket.socket(_ADDRESS[0], _socket.SOCK_STREAM)
        sock.settimeout(SEND_TIMEOUT)
        if _ADDRESS[0] != getattr(_socket, 'AF_UNIX', None):
            # Our lines are small and each one is news: no Nagle delay behind an unacked one.
            sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        sock.connect(_ADDRESS[1])
        return sock
    except Exception:
        if sock is not None:
            try:
                sock.close()
            except Exception:
                pass
        return None


def _adopt_locked(p, sock):
    p.conn = sock
    p.conn_fd = sock.fileno()
    p.ever_connected = True
    if p.sup is not None:
        p.sup.watch_socket()


def _connect_locked(p):
    if p.conn is not None or p.conn_dead or p.reconnecting or not SOCKET_PATH:
        return p.conn
    sock = _open_socket(p)
    if sock is not None:
        try:
            sock.sendall(encode(_hello(p)), _NOSIGNAL)
        except Exception:
            sock.close()
            sock = None
    if sock is None:
        # Nobody listens (or a wrong path): a process that never got through stays silent.
        p.conn_dead = True
        fail('connect')
        return None
    _adopt_locked(p, sock)
    return p.conn


def connection():
    p = state()
    c = p.conn
    if c is not None or p.conn_dead:
        return c
    with p.lock:
        return _connect_locked(p)


def _keep_locked(p, data):
    # Said while the connection is being re-made: sent right after the re-announcement.
    if p.backlog_bytes + len(data) <= BACKLOG_MAX:
        p.backlog.append(data)
        p.backlog_bytes += len(data)


def lost_locked(p, conn):
    """The connection failed (a write error, or the session closed it): drop it and, if
    it had worked before, re-make it in the background."""
    if p.conn is not conn or conn is None:
        return
    p.conn = None
    p.conn_fd = -1
    p.broken_line = False
    sup = p.sup
    if sup is not None:
        sup.forget_socket(conn)
    try:
        conn.close()
    except Exception:
        pass
    if p.conn_dead or p.reconnecting:
        return
    p.reconnecting = True
    try:
        start_thread(p, _reconnector, (p,))
    except Exception:
        # No thread to be had: Python 3.12+ refuses new threads once the interpreter
        # exits, which is where a final flush often finds the connection gone. Stay
        # "reconnecting": the exit's settle_at_exit tries once, on this thread, and
        # meanwhile lines wait in the bounded backlog.
        pass


def _reconnector(p):
    _block_signals()
    for delay in RECONNECT_DELAYS:
        if delay:
            time.sleep(delay)
        if p is not P or not p.reconnecting:
            return      # a fork copy, or reconnected by someone else (at exit)
        try:
            if reconnect(p):
                return
        except Exception:
            fail('reconnect')
    with p.lock:
        gone = p.reconnecting and p.conn is None
        if gone:
            p.reconnecting = False
            p.conn_dead = True
            p.backlog = []
            p.backlog_bytes = 0
    if gone and STOP_WHEN_GONE:
        owner_gone()


# The stop of a run whose owner is gone, in a process of its own: outside the run (no
# MPTREE_ variables, so no runtime and not one of the processes it signals), detached
# (a new session, init's child), so that no signal to the run's processes or group stops it
# half-way. One per run: the first to bind the run's abstract socket name does the work,
# the others (every process that saw the hang-up) leave at once. Every process of the run,
# however it is related to the root now, still has the environment it was started with.
_STOPPER = r"""
import os, signal, socket, sys, time
run_id, grace = sys.argv[1], float(sys.argv[2])
if os.fork():
    os._exit(0)
lock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    lock.bind('\0mptree-stop-' + run_id)
except OSError:
    sys.exit(0)
needle = ('MPTREE_RUN_ID=' + run_id + '\0').encode()
me = os.getpid()

def members():
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open('/proc/' + entry + '/environ', 'rb') as f:
                env = f.read()
        except OSError:
            continue
        at = env.find(needle)
        if at == 0 or (at > 0 and env[at - 1] == 0):
            found.append(int(entry))
    return found

def signal_all(sig):
    pids = members()
    for pid in pids:
        try:
            os.kill(pid, sig)
        except OSError:
            pass
    return pids

signal_all(signal.SIGTERM)
deadline = time.monotonic() + grace
while members() and time.monotonic() < deadline:
    time.sleep(0.05)
end = time.monotonic() + 5
while signal_all(signal.SIGKILL) and time.monotonic() < end:
    time.sleep(0.05)
"""


def owner_gone():
    """The session that owns the run is gone for good (its socket hung up, no reconnection
    within 2 s: `mptree run` killed, the extension host gone): end the whole run as Stop Run
    does, SIGTERM to every process of it (pool workers, Manager server, forkserver, resource
    tracker, `subprocess` and `os.fork` descendants alike), a grace, then SIGKILL. Linux:
    the run's processes are found by MPTREE_RUN_ID in /proc/PID/environ; elsewhere nothing
    is done yet."""
    try:
        exe = sys.executable
        if not can_stop_run():
            return
        devnull = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_RDWR, 0) for fd in (0, 1, 2)]
        pid = os.posix_spawn(exe, [exe, '-I', '-S', '-c', _STOPPER, RUN_ID, repr(OWNER_GONE_GRACE)],
                             {}, file_actions=devnull, setsid=True)
        try:
            os.waitpid(pid, 0)      # it forks the stopper and leaves at once
        except ChildProcessError:
            pass                    # the program reaps children itself (waitpid(-1))
    except Exception:
        fail('owner gone')


def can_stop_run():
    """Whether owner_gone can find and end the run here: Linux (/proc, posix_spawn). On
    macOS and Windows it cannot yet (docs/runtime.md, "A run's lifetime")."""
    return bool(RUN_ID and sys.executable and hasattr(os, 'posix_spawn')
                and os.path.exists('/proc/self/environ'))


def is_run_root():
    """Whether this process was started by the run's owner (its parent is not a process of
    the run): the one process that must see the owner's hang-up even with nothing else to
    watch. Unknowable (no /proc, another user's parent): say yes."""
    try:
        with open('/proc/%d/environ' % os.getppid(), 'rb') as f:
            env = f.read()
    except OSError:
        return True
    needle = ('MPTREE_RUN_ID=%s\0' % RUN_ID).encode()
    at = env.find(needle)
    return not (at == 0 or (at > 0 and env[at - 1] == 0))


def reconnect(p):
    """One attempt: connect, then hello + re-announcement + backlog in one write, then the
    counts that could not be sent. True once connected (or nothing left to do)."""
    sock = _open_socket(p)
    if sock is None:
        return False
    with p.lock:
        if not p.reconnecting or p.conn is not None:
            sock.close()
            return True
        data = b''.join([encode(_hello(p))] + _resync_lines(p) + p.backlog)
        try:
            sock.sendall(data, _NOSIGNAL)
        except Exception:
            sock.close()
            return False
        p.reconnecting = False
        p.backlog = []
        p.backlog_bytes = 0
        _adopt_locked(p, sock)
    for entry in list(SAMPLED.values()):
        entry[1] = -1       # the session may have lost the readings: send them all again
    if has_counts(p):
        flush()
    return True


def _resync_lines(p):
    """What the session may have lost with the connection: the queues and pools this
    process made and the children it has not collected yet, each line with its original
    time (a process.started with a later `t` than the exit would read as a new process)."""
    lines = list(p.announced.values())
    for st in list(p.children.values()):
        if st.reaped or st.started is None:
            continue
        lines.append(st.started)
        if st.exited:
            lines.append((_EXITED % (st.pid, st.exit_code, st.exited_t)).encode('ascii'))
    return lines


def send_raw_locked(p, data, keep=True):
    """Send bytes (one or more lines); the caller holds p.lock so related lines keep
    their order. Never raises OSError: a failed write costs the line (kept for the
    reconnection when `keep`), not the program."""
    conn = p.conn
    if conn is None:
        if p.reconnecting:
            if keep:
                _keep_locked(p, data)
            return False
        if p.conn_dead:
            return False
        conn = _connect_locked(p)
        if conn is None:
            return False
    if len(data) > MAX_LINE:
        return False
    if p.broken_line:
        # A previous send was interrupted half-way: end that line so only it is lost.
        data = b'\n' + data
        p.broken_line = False
    try:
        conn.sendall(data, _NOSIGNAL)
        return True
    except OSError:
        fail('send')
        lost_locked(p, conn)
        if keep and p.reconnecting:
            _keep_locked(p, data.lstrip(b'\n'))
        return False
    except BaseException:
        p.broken_line = True
        raise


def send_locked(p, msg):
    return send_raw_locked(p, encode(msg))


def send(msg):
    p = state()
    with p.lock:
        return send_raw_locked(p, encode(msg))


def announce(key, msg):
    """Send a queue.created / pool.created / pool.state and remember it for a
    re-announcement after a reconnection."""
    p = state()
    data = encode(msg)
    with p.lock:
        ann = p.announced
        ann[key] = data
        if len(ann) > ANNOUNCED_MAX:
            del ann[next(iter(ann))]
        return send_raw_locked(p, data)


def resend_hello():
    """A child learns who it is in _bootstrap; worth saying only if already connected."""
    p = state()
    with p.lock:
        if p.conn is not None:
            send_locked(p, _hello(p))


def settle_at_exit(p):
    """At exit a reconnection cannot wait for its backoff: one attempt now."""
    if p.reconnecting and p.conn is None:
        try:
            reconnect(p)
        except Exception:
            fail('reconnect at exit')


def final_flush(p):
    """The last reports and counts of a process that is about to end."""
    settle_at_exit(p)
    # Our last reading of each queue goes out even if we sent the same value before: another
    # process may have reported a different depth since (see resample_queues), and the last
    # word on a queue should be the latest reading, not the latest change.
    for entry in list(SAMPLED.values()):
        entry[1] = -1
    flush_journal(p, ending=True)
    if has_counts(p):
        flush()
    if p.reconnecting:
        settle_at_exit(p)    # that flush found the connection gone: reconnect and resend


def start_thread(p, fn, args):
    """A thread of ours (never a threading.Thread: it must not show in the program's
    threading.enumerate()), counted in p.threads while it lives (see fork())."""
    def run():
        try:
            fn(*args)
        finally:
            with p.lock:
                p.threads -= 1
    with p.lock:
        p.threads += 1
    try:
        _thread.start_new_thread(run, ())
    except BaseException:
        with p.lock:
            p.threads -= 1
        raise


# None on Windows, which has no fork: install() then leaves os.fork alone.
_real_fork = getattr(os, 'fork', None)


def fork():
    """Stands in for os.fork on Python 3.12+, which warns (DeprecationWarning) that forking
    a process with several threads may deadlock the child. Our supervisor is such a thread,
    so without this every fork child of a run would warn where a bare run does not, and a
    program run with -W error (or under pytest's warning capture) would fail or differ.
    The warning is silenced only while every thread besides the main one is ours; with a
    thread of the program's own, it shows as without us (from this frame, though)."""
    p = P
    # _thread._count() may lag behind a thread just started (ours, not yet running), and
    # threading counts the program's threads from the moment they are started.
    if p is None or not p.threads or _thread._count() > p.threads or _program_threads():
        return _real_fork()
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)
        return _real_fork()


def _program_threads():
    threading = sys.modules.get('threading')
    return threading is not None and threading.active_count() > 1


fork.__name__ = fork.__qualname__ = 'fork'
fork.__doc__ = getattr(_real_fork, '__doc__', None)
fork.__wrapped__ = _real_fork


def _block_signals():
    # Signals are the main thread's business; one delivered to our threads would not
    # interrupt the main thread's blocking call as it should.
    # _signal, not signal: this runs first thing in our new thread, often while the main
    # thread is still importing the program's modules, and `signal` imports functools,
    # collections and enum. Two threads importing chains that share modules deadlock in
    # Python 3.8's importlib (seen: our `signal` -> functools -> collections against the
    # main thread's multiprocessing -> functools). _signal is built in and imports nothing.
    try:
        import _signal
        _signal.pthread_sigmask(_signal.SIG_BLOCK, _signal.valid_signals())
    except Exception:
        pass


# ---------------------------------------------------------------------------------------
# Counters (queue puts/gets/tasksDone and pool submitted/completed), flushed as deltas.

def queue_counters(qid):
    """The counters of a queue in this process (the slow path of a first count)."""
    p = state()
    c = p.qcounts.get(qid)
    if c is None:
        c = p.qcounts.setdefault(qid, Counters(3))
        QC[qid] = c.c
    return c


def pool_counters(pid):
    p = state()
    c = p.pcounts.get(pid)
    if c is None:
        c = p.pcounts.setdefault(pid, Counters(2))
        PC[pid] = c.c
    return c


def mark_dirty():
    # Called after the increment, and flush() clears the flag before reading, so an
    # increment is either in the current flush or makes the next one happen.
    if DIRTY[0]:
        return
    DIRTY[0] = True
    try:
        ensure_supervisor().wake()
    except Exception:
        fail('mark_dirty')


def _take(counters, unsent, width):
    out = []
    for key, c in list(counters.items()):
        d = c.take()
        extra = unsent.pop(key, None)
        if extra is not None:
            d = [a + b for a, b in zip(d, extra)]
        if any(d):
            out.append([key] + d)
    for key, d in list(unsent.items()):     # a queue of a state we no longer hold
        if any(d):
            out.append([key] + d)
    unsent.clear()
    return out


def _unsend(unsent, rows):
    # Deltas that did not reach the session go back into the next flush.
    for row in rows:
        old = unsent.get(row[0])
        unsent[row[0]] = row[1:] if old is None else [a + b for a, b in zip(old, row[1:])]


def sample_queue(qid, q):
    """Read this queue's depth from now on in this process: done for a queue by the process
    that made it and by each process that puts into it.

    A multiprocessing.Queue counts its items in its own semaphore (what qsize() reads:
    acquired by put(), released by get()), shared by every process that holds the queue.
    Reading it costs one sem_getvalue() per queue per tick of our supervisor, where
    counting gets cost every get() a wrapper call: so gets are not counted at all, and the
    depth is the queue's own truth (a consumer killed before it reported loses nothing).
    The model derives gets as puts - depth."""
    if qid in SAMPLED:
        return
    sem = getattr(q, '_sem', None)
    if sem is None:
        return      # a SimpleQueue: no semaphore, its gets are counted
    try:
        # The semaphore itself is held too: a queue collected between two readings still
        # gets its last one (the next tick reads it, then lets it go).
        SAMPLED[qid] = [_weakref.ref(q), -1, sem._semlock, q._maxsize]
        ensure_supervisor().wake()
    except Exception:
        fail('sample_queue')


def take_depths():
    """[[id, depth], ...] of the sampled queues whose depth changed since last sent."""
    out = []
    for qid, entry in list(SAMPLED.items()):
        if entry[0]() is None:
            SAMPLED.pop(qid, None)  # collected: this is its last reading
        try:
            depth = entry[3] - entry[2]._get_value()
        except Exception:
            # A semaphore this platform cannot read (macOS has no sem_getvalue; there
            # gets are counted instead, see patches.DEPTH_SAMPLED).
            SAMPLED.pop(qid, None)
            continue
        if depth != entry[1]:
            entry[1] = depth
            out.append([qid, depth])
    return out


def resample_queues(ids):
    """queue.resample from the session: another process reported a depth of these queues that
    differs from what the session had. Our readings are sent only when they change, so ours
    may be the truth still unsaid (we read 0, a producer then read 4, we drained it to 0
    again): send the next reading whatever it is. True if one of them is ours."""
    wanted = False
    for qid in ids:
        entry = SAMPLED.get(qid) if isinstance(qid, str) else None
        if entry is not None:
            entry[1] = -1
            wanted = True
    return wanted


def _depths_unsent(rows):
    # Not delivered: read and send these again on the next tick.
    for row in rows:
        entry = SAMPLED.get(row[0])
        if entry is not None:
            entry[1] = -1


def flush():
    """Sends the counts and the queue depths that changed; True if a depth had."""
    p = state()
    with p.flush_lock:
        DIRTY[0] = False
        # One write for the depths and the counts read together, depths first, so the
        # session takes them in one batch: the model derives gets as puts - depth, and
        # this process's puts must not arrive a moment apart from its own reading.
        depths = take_depths() if SAMPLED else None
        q = _take(p.qcounts, p.unsent_q, 3)
        pl = _take(p.pcounts, p.unsent_p, 2)
        lines = []
        if depths:
            lines.append(encode({'type': 'queue.depth', 'depths': depths}))
        if q:
            lines.append(encode({'type': 'queue.counts', 'counts': q}))
        if pl:
            lines.append(encode({'type': 'pool.counts', 'counts': pl}))
        if not lines:
            return False
        with p.lock:
            if send_raw_locked(p, b''.join(lines), keep=False):
                return bool(depths)
            if depths:
                _depths_unsent(depths)
            if p.reconnecting:
                _unsend(p.unsent_q, q)
                _unsend(p.unsent_p, pl)
        return bool(depths)


def has_counts(p):
    return DIRTY[0] or bool(SAMPLED) or bool(p.qcounts) or bool(p.pcounts) or bool(p.unsent_q) or bool(p.unsent_p)


# ---------------------------------------------------------------------------------------
# Children: started here, watched for exit without reaping, collected by the user's code.

_EXITED = '{"v":1,"type":"process.exited","pid":%d,"exitCode":%d,"t":%r}\n'
_REAPED = '{"v":1,"type":"process.reaped","pid":%d,"joined":%s,"t":%r}\n'


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
    p = state()
    with p.lock:
        if st.exited:
            return
        st.exited = True
        st.exit_code = code
        st.exited_t = _time() * 1000.0
        send_raw_locked(p, (_EXITED % (st.pid, code, st.exited_t)).encode('ascii'))


def report_collected(st, code, joined):
    """The user's code collected the exit status (join, is_alive, exitcode, ...)."""
    p = state()
    with p.lock:
        if st.reaped:
            return
        st.reaped = True
        now = _time() * 1000.0
        data = _REAPED % (st.pid, 'true' if joined else 'false', now)
        if not st.exited:
            st.exited = True
            st.exit_code = code
            st.exited_t = now
            data = (_EXITED % (st.pid, code, now)) + data
        send_raw_locked(p, data.encode('ascii'))
        if p.children.get(st.pid) is st:
            del p.children[st.pid]
            _remember_collected(p, st.pid, code)
    if st.registered:
        sup = p.sup
        if sup is not None:
            sup.unwatch(st)


def report_joined_late(pid):
    """A join() that collected a child whose batch report had just gone out without it
    (a rare interleaving of two threads): the model keeps joined once it is said."""
    p = state()
    with p.lock:
        send_raw_locked(p, (_REAPED % (pid, 'true', _time() * 1000.0)).encode('ascii'))


def _remember_collected(p, pid, code):
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
        # start() or a queue's creation), never in ours: see _block_signals on imports.
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


class Supervisor(object):
    """One thread per process: waits on child sentinels, the socket (control requests) and
    a wake-up; flushes counters. Blocks in its waiter (epoll, selectors or process handles:
    waiter_kind), never polls busily.

    A child is watched only once it is GRACE old: most short children are joined by the
    program first (join reports exited+reaped itself), so this thread is not woken for
    them at all. While children keep being started it ticks every GRACE to pick them up;
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
        self.sock_fd = None
        self.rbuf = b''
        self.waiter = WAITERS[waiter_kind()](self.lock)
        self.watch_socket()
        start_thread(p, self._run, ())

    def wake(self):
        self.waiter.wake()

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
        """Keep ticking every GRACE; True if the thread must be woken to start."""
        need_wake = not self.ticking
        self.ticking = True
        return need_wake

    def _register_due(self):
        if JOURNAL:
            flush_journal(self.p)
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
            if not keep and not had and not JOURNAL:
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
        _block_signals()
        while True:
            try:
                if self.p is not P:   # a fork copy of us: never runs, but be sure
                    return
                self._step()
            except Exception:
                fail('supervisor')
                time.sleep(0.05)

    def _timeout(self):
        t = None
        now = _monotonic()
        if DIRTY[0]:
            if self.flush_due is None:
                self.flush_due = now + FLUSH_INTERVAL
            t = max(0.0, self.flush_due - now)
        if self.ticking:
            t = GRACE if t is None else min(t, GRACE)
        if self.retry:
            d = max(0.0, min(r[0] for r in self.retry) - now)
            t = d if t is None else min(t, d)
        if SAMPLED:
            if self.depth_due is None:
                self.depth_due = now + self.depth_every
            d = max(0.0, self.depth_due - now)
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
        if DIRTY[0] and self.flush_due is not None and _monotonic() >= self.flush_due:
            self.flush_due = None
            flush()
        elif not DIRTY[0]:
            self.flush_due = None
        if self.depth_due is not None and _monotonic() >= self.depth_due:
            self._sample_depths()

    def _sample_depths(self):
        # Often while a depth moves or a queue holds items, rarely while every queue we read
        # rests empty: an idle program with empty queues wakes us twice a second, not twenty
        # times. A queue that holds items can be drained at any moment by a process that
        # does not read its depth (a consumer's get is not wrapped), and the tree must show
        # that within a tick; an empty one changes only by a put, which its putter reports.
        dirty = DIRTY[0]
        changed = False
        if dirty or not self.p.conn_dead:
            # Counts of ours that are waiting go with this reading (see flush).
            self.flush_due = None
            changed = flush() or dirty
        if not changed and not self.p.conn_dead:
            changed = any(entry[1] > 0 for entry in list(SAMPLED.values()))
        self.depth_every = DEPTH_INTERVAL if changed else min(self.depth_every * 2, DEPTH_IDLE)
        self.depth_due = _monotonic() + self.depth_every if SAMPLED else None

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
                    code = _orig_fs_poll[0](popen)
            finally:
                st.lock.release()
            if code is None:
                self.retry.append([_monotonic() + next_delay, next_delay, st])
                return
            report_exit(st, code)
            return
        code = exit_status(st.pid, st.sentinel)
        if code is False:
            return    # the user's code reaped it meanwhile and reports
        if code is None:
            # The sentinel closes a moment before the child becomes waitable (or the
            # child closed it itself): look again soon, backing off.
            self.retry.append([_monotonic() + next_delay, next_delay, st])
            return
        report_exit(st, code)

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
                    lost_locked(p, conn)
                else:
                    self.forget_socket(conn)
            return
        self.rbuf += data
        if b'\n' not in self.rbuf:
            if len(self.rbuf) > MAX_LINE:
                self.rbuf = b''
            return
        import json
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
            elif kind == 'queue.resample':
                try:
                    ids = msg.get('ids')
                    if isinstance(ids, list) and resample_queues(ids):
                        # Read at once (this very step, see _step): the session waits for it.
                        self.depth_every = DEPTH_INTERVAL
                        self.depth_due = _monotonic()
                except Exception:
                    fail('queue.resample')


_orig_fs_poll = [None]   # set by the patches: the unwrapped forkserver Popen.poll


def ensure_supervisor():
    p = state()
    sup = p.sup
    if sup is None:
        with p.lock:
            sup = p.sup
            if sup is None:
                sup = p.sup = Supervisor(p)
    return sup


def watch_child(st, due=None):
    p = state()
    p.children[st.pid] = st
    ensure_supervisor().add(st, due)


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
#   J_INFO    what the report says: (patches._info(), name, daemon, parent pid)
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
report_journal = [None]   # patches._report_journal(p), called with p.lock held


def expect_forks():
    """A fork child was journaled: make sure the supervisor is ticking."""
    ensure_supervisor().expect_starts()


def flush_journal(p=None, ending=False):
    """Report every journaled fork child now (one write), and watch the live ones.
    `ending`: the process is about to end; a batch the supervisor has taken out of the
    journal but not sent yet must be let finish (it holds p.lock), or it dies with us."""
    p = p or P
    if p is None or report_journal[0] is None or not (JOURNAL or ending):
        return
    with p.lock:
        report_journal[0](p)


# ---------------------------------------------------------------------------------------
# Control requests from the session (join / terminate / kill a child of this process)

def handle_control(msg):
    rid = msg.get('id')
    op = msg.get('op')
    pid = msg.get('pid')
    p = state()
    flush_journal(p)    # the session may know a child from its own hello already
    st = p.children.get(pid) if type(pid) is int else None
    proc = st.proc_ref() if st is not None else None

    def answer(**kw):
        out = {'type': 'control.result', 'id': rid}
        out.update(kw)
        send(out)

    if st is None or proc is None:
        if st is not None and st.exited and op == 'join':
            return answer(ok=True, exitCode=st.exit_code)
        if st is None and op == 'join' and pid in p.collected:
            return answer(ok=True, exitCode=p.collected[pid])
        if st is None and op in ('terminate', 'kill') and pid in p.collected:
            return answer(ok=True)
        return answer(ok=False, error='not a child of %d' % p.pid)
    if op in ('terminate', 'kill'):
        try:
            getattr(proc, op)()
            answer(ok=True)
        except Exception as exc:
            answer(ok=False, error='%s failed: %s' % (op, exc))
        return
    if op == 'join':
        timeout = msg.get('timeout')
        if type(timeout) not in (int, float) or timeout < 0:
            timeout = None

        def joiner():
            _block_signals()
            try:
                proc.join(timeout)
                code = proc.exitcode
                if code is None:
                    answer(ok=False, timedOut=True,
                           error='still running after %s s' % ('%g' % timeout if timeout is not None else 'forever',))
                else:
                    answer(ok=True, exitCode=code)
            except Exception as exc:
                try:
                    answer(ok=False, error='join failed: %s' % (exc,))
                except Exception:
                    fail('control join')

        start_thread(p, joiner, ())
        return
    answer(ok=False, error='unknown op %r' % (op,))


# ---------------------------------------------------------------------------------------
# Exit

def at_exit():
    """Interpreter exit (main program, spawn children, helpers): final counts."""
    try:
        p = P
        if p is not None and p.pid == os.getpid():
            final_flush(p)
    except Exception:
        fail('at_exit')


def parent_is_gone(parent_pid, parent_sentinel):
    try:
        fork_pid, fork_role = fork_parent()
        if fork_role != 'forkserver' and fork_pid is not None:
            # A fork child's OS parent is its logical parent: one cheap syscall.
            return os.getppid() != parent_pid
        if parent_sentinel is not None:
            import select
            r, _, _ = select.select([parent_sentinel], [], [], 0)
            return bool(r)
        return os.getppid() != parent_pid
    except Exception:
        return False
