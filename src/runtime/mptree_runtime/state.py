"""Per-process state: the one ProcState of this process (P) and every other module-level
value that changes while the program runs (the counters' registries, the fork ancestry,
the Process object a child runs), the fork hook that sets them aside in a fork child, and
the threads of ours. Every module reads them here, as attributes of this module (`state.P`,
never `from .state import P`): P and tls are rebound in a fork child, and a copy imported
by name would silently stay the parent's."""

import itertools
import os
import sys
import _thread

from .settings import fail
from .identity import Identity

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



P = None                 # the current ProcState; None in a fork child until needed
tls = _thread._local()
# The hot paths (a put, a get, a task done) go straight to these: id -> list of
# itertools.count of this process. A fork child starts them empty (after_fork_child).
QC = {}
PC = {}
DIRTY = [False]          # some count changed since the last flush
# Queues whose depth this process reads (see counters.sample_queue):
# id -> [weak ref to the queue, depth last sent, its semaphore, its maxsize].
SAMPLED = {}
# Waits (see waits.py): thread ident -> the wait it is in; thread ident -> (slot, pid) of
# those reported; [the supervisor looks at them]. A fork child clears the first two when it
# builds its state (their threads are not its own), and the fork hook turns the flag off.
SLOTS = {}
REPORTED = {}
WATCHING = [False]
# lock id -> [first seen held, reported?, thread ident]: the user locks this process holds
# (waits.tick). Inherited by a fork child with the locks' counts reset (see waits).
HELD = {}
# A fork child's ancestry: for each fork, the parent's state (kept so GC never closes its
# fds) or, if the parent had none, its pid. The last entry is this process's parent.
_stale = []
forked_by_forkserver = [False]
# The Process object a child runs (set in _bootstrap), and how to describe it; the patches
# install the describer. A fork child computes its identity only if it ever connects.
me = [None, 0.0]     # the Process object, and when its _bootstrap began (monotonic)
describe = [None]
# pid -> CPU seconds of a killed child read from its zombie (zombies.note_zombie_cpu), until
# its exit is reported (children.zombie_cpu_line).
ZOMBIE_CPU = {}
# In a pool worker (tasks.start_worker): [pool id, worker pid, Counters of items done,
# items whose report could not be sent]; empty elsewhere. The supervisor's look at the
# current task (tasks.check) and whether it is looking (a worker's get wakes it if not).
WORKER = []
TASK_CHECK = [None]
TASK_ROWS = [None, None]     # tasks.worker_rows, tasks.unsend_rows (read by counters.flush)
TASK_WATCH = [False]
# (task, since) of the task a pool worker runs now, None between tasks (see tasks).
CURRENT_TASK = [None]
# Fork children started and not reported yet: entries made by patches.process (whose
# comment tells why and how), reported in batches by the supervisor.
JOURNAL = []
# The patches' batch report of journaled fork children (patches.process._report_journal),
# called with p.lock held; and the unwrapped forkserver Popen.poll (patches.popen).
report_journal = [None]
orig_fs_poll = [None]
# Idents of our threads alive in this process (start_thread): a stacks answer marks them as
# the runtime's own. A fork child's copy names threads that do not exist there: harmless.
OUR_THREADS = set()
# The process has begun to end (its last flush, atexit, the end of _bootstrap): a connection
# made now is for the last words only and starts no supervisor.
EXITING = [False]


def init(identity, connect_eagerly):
    global P
    P = ProcState(identity, connect_eagerly)


def current():
    """This process's state, made on first use in a fork child."""
    p = P
    if p is None:
        p = _child_state()
    return p


def _child_state():
    global P, tls
    parent_pid, parent_role = fork_parent()
    # Named for what it is: multiprocessing's current_process() in it is still its parent's
    # (an os.fork child of the main process would call itself "MainProcess"). A
    # multiprocessing fork child gets its own name later, from its Process (identity_now).
    ident = Identity(name='os.fork of %s' % _parent_name(parent_pid), kind='python',
                     start_method='os.fork', parent_pid=parent_pid)
    p = ProcState(ident, connect_eagerly=False)
    p.forked_from_role = parent_role
    # The parent's queue readings are the parent's (cleared here, not in the fork hook:
    # every page that hook writes is a fault in each child, and this runs only in a fork
    # child that speaks, before anything can register or read a queue).
    SAMPLED.clear()
    # The parent's threads of ours do not exist here (a new thread may get one's ident).
    OUR_THREADS.clear()
    # The parent's waits: only the forking thread came along, and it was in none.
    REPORTED.clear()
    if SLOTS:
        live = set(sys._current_frames())     # the idents only: see other_threads_frames
        for tid in [t for t in SLOTS if t not in live]:
            SLOTS.pop(tid, None)
    # Thread-local flags (e.g. "inside Pool.__init__") were the forking thread's.
    tls = _thread._local()
    P = p
    return p


def other_threads_frames():
    """sys._current_frames() without the calling thread's own entry. With it, the caller's
    frame is in the dict its own local holds: a reference cycle that keeps every thread's
    frames, and all their locals, alive until the garbage collector runs. A frame of
    Connection.recv holds a BytesIO and its getbuffer() view; collecting those in a cycle
    crashes Python 3.12.1 (\"deallocated BytesIO object has exported buffers\", then a
    segfault: CPython gh-111049's kin)."""
    frames = sys._current_frames()
    frames.pop(_thread.get_ident(), None)
    return frames


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


# Held by a thread of ours while it imports a module (import_module), and by every fork
# from just before it to just after it (before_fork, after_fork_parent, after_fork_child).
# A child forked while another thread is halfway through an import is born with that
# module half-executed and its import lock held by a thread it does not have: it hangs for
# good the moment it imports the module (seen: a forkserver's pool worker, forked while
# the forkserver's _listen_later thread imported the supervisor, hung in ensure_supervisor).
# The program's own threads are its business (a bare run races the same way); ours must not
# add such a window to every fork of the run. A fork waits at most for one import (~1 ms).
FORK_GUARD = _thread.allocate_lock()
_PACKAGE = __name__.rpartition('.')[0]


def import_module(name):
    """The module `name` (absolute, or '.name' for one of ours), imported under FORK_GUARD.
    Every import made in a thread of ours goes through here (a module loaded already costs
    a lock and a dict lookup)."""
    if name.startswith('.'):
        name = _PACKAGE + name
    with FORK_GUARD:
        __import__(name)
        return sys.modules[name]


def before_fork():
    FORK_GUARD.acquire()


def after_fork_parent():
    FORK_GUARD.release()


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
        FORK_GUARD.release()    # taken by before_fork: the child's copy is held
    except Exception:
        pass    # a fork that did not run the before hooks
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
        # The parent's supervisor watched its waits; this child has no supervisor yet.
        if WATCHING[0]:
            WATCHING[0] = False
    except Exception:
        fail('after_fork_child')


def fork_parent():
    """In a fork child: (parent pid, parent's helper role); (None, None) otherwise."""
    if not _stale:
        return None, None
    last = _stale[-1]
    if type(last) is int:
        return last, None
    return last.pid, last.identity.role


def new_id(prefix):
    p = current()
    return '%s%d-%d' % (prefix, p.pid, next(p.seq))


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


def identity_now(p):
    proc = my_process()
    if proc is not None and describe[0] is not None and p.identity.kind == 'python' \
            and p.identity.start_method == 'os.fork':
        # A multiprocessing fork child that never needed its identity until now.
        try:
            p.identity = describe[0](proc, p)
        except Exception:
            fail('identity')
    return p.identity


def has_counts(p):
    """Whether a flush has anything to send (counters.flush)."""
    return DIRTY[0] or bool(SAMPLED) or bool(WORKER) or bool(p.qcounts) or bool(p.pcounts) or bool(p.unsent_q) or bool(p.unsent_p)


def ensure_supervisor():
    """This process's supervisor thread, started on first need. Its module is imported
    here, in the caller's thread (the program's, inside a start() or a queue's creation),
    never in one of ours: see block_signals on imports."""
    p = current()
    sup = p.sup
    if sup is None:
        from .supervisor import Supervisor
        with p.lock:
            sup = p.sup
            if sup is None:
                sup = p.sup = Supervisor(p)
    return sup


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


def start_thread(p, fn, args):
    """A thread of ours (never a threading.Thread: it must not show in the program's
    threading.enumerate()), counted in p.threads while it lives (see fork())."""
    def run():
        ident = _thread.get_ident()
        OUR_THREADS.add(ident)
        try:
            fn(*args)
        finally:
            OUR_THREADS.discard(ident)
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


def block_signals():
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
