"""The connection to the session: the hello, one socket per process (made on first need),
sends that never raise into the program, and, when the session drops the connection, a
background reconnection that re-announces what the session may have lost; and a process's
last words, whether it leaves through atexit (the main program, spawn children, helpers),
os._exit (every multiprocessing fork child; atexit is skipped there) or the end of
_bootstrap."""

import os
import sys
import time
import _socket

from . import identity, state
from .jsonout import encode
from .settings import (ANNOUNCED_MAX, BACKLOG_MAX, LISTEN_AFTER, MAX_LINE, RECONNECT_DELAYS, RUN_ID,
                       SEND_TIMEOUT, SOCKET_PATH, STOP_WHEN_GONE, TOKEN, fail)

_NOSIGNAL = getattr(_socket, 'MSG_NOSIGNAL', 0)
_WAITS = __name__.rpartition('.')[0] + '.waits'     # waits, once a patch loaded it


def hello(p):
    ident = state.identity_now(p)
    if p.created is None:
        p.created = identity.proc_start_ms() or identity.install_ms
    ppid = os.getppid()
    return {
        'type': 'hello', 'token': TOKEN, 'runId': RUN_ID, 'pid': p.pid, 'ppid': ppid,
        'parentPid': ident.parent_pid if ident.parent_pid is not None else ppid,
        'name': ident.name, 'daemon': bool(ident.daemon), 'kind': ident.kind,
        'role': ident.role, 'startMethod': ident.start_method, 'target': ident.target,
        'argv': identity.argv_list(), 'python': '%d.%d.%d' % sys.version_info[:3],
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
            sock.sendall(encode(hello(p)), _NOSIGNAL)
        except Exception:
            sock.close()
            sock = None
    if sock is None:
        # Nobody listens (or a wrong path): a process that never got through stays silent.
        p.conn_dead = True
        fail('connect')
        return None
    _adopt_locked(p, sock)
    if p.sup is None and not state.EXITING[0]:
        _start_listening(p)
    return p.conn


def _start_listening(p):
    """A process that connects while it runs gets its supervisor, which reads the session's
    requests (stacks on demand) even when nothing else needs it; a connection made for the
    last words only does not. Where the supervisor's modules are loaded already (a fork
    child's parent had one) it starts now; elsewhere (a spawn child, a helper) a short-lived
    thread of ours starts it LISTEN_AFTER later, so that the many brief children a program
    may start never pay for its imports (~1.3 ms, as much as 8 % of a spawn child's life),
    and a process that lives on, hung or not, can be asked from then on."""
    if 'mptree_runtime.supervisor' in sys.modules:
        try:
            state.ensure_supervisor()
        except Exception:
            fail('supervisor at connect')   # no thread to be had: it just cannot answer
        return
    try:
        state.start_thread(p, _listen_later, (p,))
    except Exception:
        fail('listen later')


def _listen_later(p):
    state.block_signals()
    time.sleep(LISTEN_AFTER)
    if p is not state.P or p.sup is not None or p.conn is None or state.EXITING[0]:
        return
    try:
        # Imported in this thread of ours, safely: supervisor, children, counters, control,
        # waiters and stacks import only modules loaded already (and `select`, a C module
        # that imports nothing), so no import lock of the program's can be waited on; and
        # under the fork guard, so no fork child is born with the supervisor half-imported.
        state.import_module('.supervisor')
        state.ensure_supervisor()
    except Exception:
        fail('supervisor later')


def connection():
    p = state.current()
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
        state.start_thread(p, _reconnector, (p,))
    except Exception:
        # No thread to be had: Python 3.12+ refuses new threads once the interpreter
        # exits, which is where a final flush often finds the connection gone. Stay
        # "reconnecting": the exit's settle_at_exit tries once, on this thread, and
        # meanwhile lines wait in the bounded backlog.
        pass


def _reconnector(p):
    state.block_signals()
    for delay in RECONNECT_DELAYS:
        if delay:
            time.sleep(delay)
        if p is not state.P or not p.reconnecting:
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
        # Imported in this thread of ours, safely: it imports only modules loaded already.
        state.import_module('.owner').owner_gone()


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
        data = b''.join([encode(hello(p))] + _resync_lines(p) + p.backlog)
        try:
            sock.sendall(data, _NOSIGNAL)
        except Exception:
            sock.close()
            return False
        p.reconnecting = False
        p.backlog = []
        p.backlog_bytes = 0
        _adopt_locked(p, sock)
    for entry in list(state.SAMPLED.values()):
        entry[1] = -1       # the session may have lost the readings: send them all again
    if state.has_counts(p):
        from .counters import flush
        flush()
    return True


def _resync_lines(p):
    """What the session may have lost with the connection: the queues and pools this
    process made and the children it has not collected yet, each line with its original
    time (a process.started with a later `t` than the exit would read as a new process)."""
    lines = list(p.announced.values())
    waits = sys.modules.get(_WAITS)
    if waits is not None:
        lines.extend(waits.resync_lines(p))
    if not p.children:
        return lines
    from .children import EXITED    # loaded already: it made these ChildStates
    for st in list(p.children.values()):
        if st.reaped or st.started is None:
            continue
        lines.append(st.started)
        if st.exited:
            lines.append((EXITED % (st.pid, st.exit_code, st.exited_t)).encode('ascii'))
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
    p = state.current()
    with p.lock:
        return send_raw_locked(p, encode(msg))


def announce(key, msg):
    """Send a queue.created / pool.created / pool.state and remember it for a
    re-announcement after a reconnection."""
    p = state.current()
    data = encode(msg)
    with p.lock:
        ann = p.announced
        ann[key] = data
        if len(ann) > ANNOUNCED_MAX:
            del ann[next(iter(ann))]
        return send_raw_locked(p, data)


def resend_hello():
    """A child learns who it is in _bootstrap; worth saying only if already connected."""
    p = state.current()
    with p.lock:
        if p.conn is not None:
            send_locked(p, hello(p))


# ---------------------------------------------------------------------------------------
# The last words of a process

def settle_at_exit(p):
    """At exit a reconnection cannot wait for its backoff: one attempt now."""
    if p.reconnecting and p.conn is None:
        try:
            reconnect(p)
        except Exception:
            fail('reconnect at exit')


def final_flush(p):
    """The last reports and counts of a process that is about to end."""
    state.EXITING[0] = True
    settle_at_exit(p)
    # Our last reading of each queue goes out even if we sent the same value before: another
    # process may have reported a different depth since (see resample_queues), and the last
    # word on a queue should be the latest reading, not the latest change.
    for entry in list(state.SAMPLED.values()):
        entry[1] = -1
    state.flush_journal(p, ending=True)
    waits = sys.modules.get(_WAITS)
    if waits is not None:
        # A sampled wait over, or a lock reported held and released, since the last tick:
        # say so now, or the session would keep a wait, or take the lock for held by a dead
        # process. One still held stays so (it is).
        waits.ended_at_exit(p)
        if state.HELD:
            waits.released_at_exit(p)
    if state.has_counts(p):
        from .counters import flush    # loaded already: it made the counts
        flush()
    if p.reconnecting:
        settle_at_exit(p)    # that flush found the connection gone: reconnect and resend


_real_os_exit = os._exit


def os_exit(status):
    """Stands in for os._exit, which skips atexit: a process that still holds reports (its
    fork journal, counts) sends them first. A quiet fork child has no state and goes
    straight through; every multiprocessing fork child ends here."""
    p = state.P
    if p is not None:
        try:
            if p.pid == os.getpid():
                final_flush(p)
                if p.identity.start_method == 'os.fork' and state.my_process() is None and \
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


def own_usage():
    """(user + system CPU seconds, peak resident bytes) of this process so far, or None
    where the platform tells neither (Windows)."""
    linux = _linux_own_usage()
    if linux is not None:
        return linux
    try:
        import resource
        r = resource.getrusage(resource.RUSAGE_SELF)
    except Exception:
        return None
    # ru_maxrss is in KiB on Linux and the BSDs, in bytes on macOS.
    peak = r.ru_maxrss if sys.platform == 'darwin' else r.ru_maxrss * 1024
    return round(r.ru_utime + r.ru_stime, 6), int(peak)


def _linux_own_usage():
    # Without `resource`: loading that extension module cost every process ~2.7M
    # instructions at its end. The process's CPU clock is getrusage's user + system time
    # (all threads, to the nanosecond); VmHWM is the peak resident memory of this process
    # itself (ru_maxrss would also carry the peak of what ran before an exec: the forking
    # parent's pages, Node's for the run's root).
    if not sys.platform.startswith('linux'):
        return None
    try:
        fd = os.open('/proc/self/status', os.O_RDONLY)
        try:
            status = os.read(fd, 8192)
        finally:
            os.close(fd)
        at = status.index(b'VmHWM:')
        peak_kib = int(status[at + 6:status.index(b'\n', at)].split()[0])
        return round(time.process_time(), 6), peak_kib * 1024
    except Exception:
        return None


def usage_fields(msg):
    """msg with this process's own figures added (unchanged where there are none)."""
    usage = own_usage()
    if usage is not None:
        msg['cpuSeconds'], msg['peakRssBytes'] = usage
    return msg


# Whether this process sent its own figures already (in its process.exiting).
USAGE_SENT = [False]


def at_exit():
    """Interpreter exit (main program, spawn children, helpers): final counts, and the
    process's own figures unless its process.exiting carried them already."""
    state.EXITING[0] = True
    try:
        p = state.P
        if p is not None and p.pid == os.getpid():
            final_flush(p)
            if not USAGE_SENT[0] and p.conn is not None:
                USAGE_SENT[0] = True
                send(usage_fields({'type': 'process.usage', 'pid': p.pid, 'source': 'self'}))
    except Exception:
        fail('at_exit')


def parent_is_gone(parent_pid, parent_sentinel):
    try:
        fork_pid, fork_role = state.fork_parent()
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
