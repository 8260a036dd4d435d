"""Wait states and lock holders, reported by the supervisor on its wait tick; a call that
returns before WAIT_THRESHOLD sends nothing. The hot blocking calls (a queue's get and
put, a lock's acquire, a pipe's recv) record nothing: the supervisor finds them on the
waiting thread's stack (_sample). The others record a slot (call, object, since) for
their thread on entry and drop it on exit (call_waiting). The tick also reads how many
times this process holds each user lock (`SemLock._count()`, kept per process by
_multiprocessing itself), so holding a lock costs the program nothing: a hold seen for
longer than the threshold is `lock.held`, its end `lock.released`. Fork children start
with the parent's slots and lock registry: slots of threads that do not exist here are
dropped, and the locks' counts were reset by multiprocessing's own after-fork hook."""

import os
import sys
import time
import _thread
import _weakref

from . import connection, state
from .jsonout import json_value
from .settings import WAIT_THRESHOLD, WAIT_TICK, fail

_time = time.time
get_ident = _thread.get_ident

# thread ident -> (call, object kind, object ref, since (time.time()), timeout): the wait
# this thread is in. Written by the waiting thread only (a dict set and a del, atomic
# under the GIL); read by the supervisor.
SLOTS = state.SLOTS
# thread ident -> (slot, pid, wait.begin line): slots whose wait.begin was sent. The supervisor adds an entry
# (under p.lock, while it sends), whoever sees the slot gone first removes it and sends
# wait.end (see ended()). The pid tells a fork child's inherited entries apart.
REPORTED = state.REPORTED
# [watching]: the supervisor's wait tick runs. A waiter that finds it off turns it on (one
# wake-up of the supervisor); the supervisor turns it off when there is nothing to look at.
WATCHING = state.WATCHING
# User locks of this process: lock id -> weak reference to the lock object (SemLock
# subclasses, Condition, Event, Barrier: the last three have no holders).
LOCKS = {}
# lock id -> [first seen held (time.time()), reported?, thread ident]: user locks this
# process holds (by their per-process count). A fork child's copy is the parent's holds:
# tick() finds them released (the child's counts were reset) and, reported, they are not
# the child's to end (each entry's pid).
HELD = state.HELD

_WAIT_BEGIN = ('{"v":1,"type":"wait.begin","pid":%d,"threadId":%d,"thread":%s,"call":%s,'
               '"object":%s,"timeout":%s,"site":%s,"since":%r,"threads":%d,"t":%r}\n')
_WAIT_END = '{"v":1,"type":"wait.end","pid":%d,"threadId":%d,"t":%r}\n'
_LOCK_HELD = ('{"v":1,"type":"lock.held","id":%s,"pid":%d,"threadId":%s,"thread":%s,'
              '"site":%s,"since":%r,"t":%r}\n')
_LOCK_RELEASED = '{"v":1,"type":"lock.released","id":%s,"pid":%d,"threadId":%s,"t":%r}\n'


def watch():
    """A slot was recorded and the supervisor is not looking: make it look (once). In a
    fork child this may build the process's state, which drops the parent's slots: this
    thread's own is put back."""
    try:
        tid = get_ident()
        mine = SLOTS.get(tid)
        state.current()
        if mine is not None and tid not in SLOTS:
            SLOTS[tid] = mine
        WATCHING[0] = True
        state.ensure_supervisor().watch_waits()
    except Exception:
        fail('watch waits')


def ended(tid, slot):
    """The waiting thread left a wait that may have been reported (REPORTED is not empty):
    send its wait.end if the supervisor reported it and has not ended it itself."""
    r = REPORTED.get(tid)
    if r is None or r[0] is not slot:
        return
    p = state.P
    if p is None:
        return
    try:
        with p.lock:
            r = REPORTED.get(tid)
            if r is not None and r[0] is slot:
                del REPORTED[tid]
                connection.send_raw_locked(p, (_WAIT_END % (p.pid, tid, _time() * 1000.0)).encode('ascii'))
    except Exception:
        fail('wait end')


def leave(tid, slot):
    """The end of a recorded wait, for the wrappers that do not write it out."""
    if SLOTS.get(tid) is slot:
        del SLOTS[tid]
    if REPORTED:
        ended(tid, slot)


def call_waiting(call, kind, ref, timeout, fn, /, *args, **kwargs):
    """fn(*args, **kwargs) as a wait of this thread (the wrappers off the hot paths)."""
    tid = get_ident()
    slot = (call, kind, ref, _time(), timeout)
    if SLOTS.setdefault(tid, slot) is not slot:
        return fn(*args, **kwargs)   # inside another wait of ours (Pool.map's AsyncResult.get)
    if not WATCHING[0]:
        watch()
    try:
        return fn(*args, **kwargs)
    except BaseException as e:
        # Our frame out of the user's traceback (patches.hide does the same for wrappers).
        try:
            tb = e.__traceback__
            if tb is not None and tb.tb_frame is sys._getframe():
                e.__traceback__ = tb.tb_next
        except Exception:
            pass
        raise
    finally:
        del SLOTS[tid]
        if REPORTED:
            ended(tid, slot)


def register_lock(lid, obj):
    """A user lock this process can hold (made here, unpickled here): the supervisor reads
    its count on its tick."""
    try:
        LOCKS[lid] = _weakref.ref(obj)
        if not WATCHING[0]:
            watch()
    except Exception:
        fail('register lock')


# ---------------------------------------------------------------------------------------
# The user's line of a thread's stack: its innermost frame outside the standard library
# and outside us.

_RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__))
_STDLIB = os.path.dirname(os.path.abspath(os.__file__))
_USER_FILES = {}     # co_filename -> absolute path, or '' for the standard library's and ours


def _user_file(fn):
    r = _USER_FILES.get(fn)
    if r is None:
        if fn.startswith('<'):
            r = '' if fn.startswith('<frozen') else fn
        else:
            path = os.path.abspath(fn)
            if path.startswith(_RUNTIME_DIR) or (path.startswith(_STDLIB) and
                                                 'site-packages' not in path and
                                                 'dist-packages' not in path):
                r = ''
            else:
                r = path
        if len(_USER_FILES) < 4096:
            _USER_FILES[fn] = r
    return r


def user_site(f):
    """{file, line, function} of the innermost user frame from `f` outwards, or None."""
    while f is not None:
        code = f.f_code
        path = _user_file(code.co_filename)
        if path:
            return {'file': path, 'line': f.f_lineno, 'function': code.co_name}
        f = f.f_back
    return None


# ---------------------------------------------------------------------------------------
# Where a holder took its lock. Recording the line at each acquire would cost every
# `with lock:`; instead, once a hold has lasted past the threshold, the holder's stack is
# read: the lock was taken by a `with X:` whose block holds the frame's current line, or by
# the last `X.acquire(...)` above it in the same function, where X names this very lock in
# that frame (a name, an attribute of one, or `v.get_lock()` of a Value/Array). X is looked
# up, never evaluated: a property, or a call other than get_lock(), is not run.

_STATEMENTS = {}     # path -> [(kind, line, first body line, last line, expr)] of its withs and acquires


def _statements(path):
    found = _STATEMENTS.get(path)
    if found is not None:
        return found
    found = []
    try:
        ast = state.import_module('ast')
        linecache = state.import_module('linecache')
        tree = ast.parse(''.join(linecache.getlines(path)))
        for node in ast.walk(tree):
            if isinstance(node, (ast.With, ast.AsyncWith)) and node.body:
                for item in node.items:
                    found.append(('with', node.lineno, node.body[0].lineno,
                                  getattr(node, 'end_lineno', None), item.context_expr))
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and node.func.attr == 'acquire'):
                found.append(('acquire', node.lineno, None, None, node.func.value))
    except Exception:
        found = []
    if len(_STATEMENTS) < 256:
        _STATEMENTS[path] = found
    return found


_MISSING = object()


def _names(expr, f):
    """The object `expr` names in frame f (a name, attributes of one, x.get_lock()), or _MISSING."""
    ast = state.import_module('ast')
    if isinstance(expr, ast.Name):
        for scope in (f.f_locals, f.f_globals):
            if expr.id in scope:
                return scope[expr.id]
        return _MISSING
    if isinstance(expr, ast.Attribute):
        base = _names(expr.value, f)
        if base is _MISSING:
            return _MISSING
        d = getattr(base, '__dict__', None)
        if type(d) is dict and expr.attr in d:
            return d[expr.attr]
        return _MISSING
    if (isinstance(expr, ast.Call) and not expr.args and not expr.keywords
            and isinstance(expr.func, ast.Attribute) and expr.func.attr == 'get_lock'):
        base = _names(expr.func.value, f)
        d = getattr(base, '__dict__', None) if base is not _MISSING else None
        if type(d) is dict and '_lock' in d:
            return d['_lock']   # multiprocessing.sharedctypes: get_lock() returns _lock
    return _MISSING


def acquire_site(f, lock):
    """{file, line, function} of the statement that took `lock` in the stack from f
    outwards (user frames only), or None when it cannot be told."""
    depth = 0
    while f is not None and depth < 12:
        code = f.f_code
        path = _user_file(code.co_filename)
        if path:
            depth += 1
            line = f.f_lineno
            first = code.co_firstlineno
            best = None
            for kind, start, body, end, expr in _statements(path):
                if start < first or start > line:
                    continue
                if kind == 'with':
                    inside = body <= line and (end is None or line <= end)
                    if not inside or (best is not None and best >= start):
                        continue
                elif start == line or (best is not None and best >= start):
                    continue    # acquiring now is not holding; the last acquire above wins
                try:
                    if _names(expr, f) is lock:
                        best = start
                except Exception:
                    pass
            if best is not None:
                return {'file': path, 'line': best, 'function': code.co_name}
        f = f.f_back
    return None


def creation_site(depth):
    """(site, label) of the user's line that is making an object now (`depth` frames up):
    label is the name it is assigned to on that line (`lock_a = mp.Lock()`), when the line
    says so plainly."""
    try:
        f = sys._getframe(depth + 1)
    except ValueError:
        return None, None
    site = user_site(f)
    if site is None:
        return None, None
    return site, _label(site['file'], site['line'])


def _label(path, line):
    try:
        linecache = state.import_module('linecache')
        text = linecache.getline(path, line).strip()
    except Exception:
        return None
    name, eq, rest = text.partition('=')
    name = name.strip()
    if not eq or rest.startswith('=') or not name:
        return None
    # `self.lock = ...` or `lock_a = ...`; not `a, b = ...`, `x[i] = ...`, `x += ...`.
    if name.endswith(('+', '-', '*', '/', '%', '&', '|', '^', '<', '>', '!', ':')):
        return None
    if not all(part.isidentifier() for part in name.split('.')):
        return None
    return name


# ---------------------------------------------------------------------------------------
# Threads

_HELPER_MODULES = ('multiprocessing.', 'concurrent.futures.')


def _is_helper(t):
    """A thread multiprocessing runs for itself (a queue's feeder, a pool's handlers, an
    executor's manager, a manager's server threads)."""
    target = getattr(t, '_target', None)
    mod = getattr(target, '__module__', None) if target is not None else type(t).__module__
    return isinstance(mod, str) and mod.startswith(_HELPER_MODULES)


def program_threads():
    """{ident: name} of the program's live threads here (not ours, not multiprocessing's)."""
    threading = sys.modules.get('threading')
    out = {}
    if threading is None:
        return out
    try:
        for t in list(threading._active.values()):
            if not _is_helper(t):
                out[t.ident] = t.name
    except Exception:
        fail('threads')
    return out


def _thread_name(tid):
    threading = sys.modules.get('threading')
    t = threading._active.get(tid) if threading is not None else None
    return t.name if t is not None else None


# ---------------------------------------------------------------------------------------
# The supervisor's tick

def tick(p):
    """Report waits and holds past the threshold, end the ones that cleared. Returns the
    seconds until the next tick."""
    now = _time()
    frames = state.other_threads_frames()
    pid = p.pid
    for tid, r in list(REPORTED.items()):
        if r[1] != pid:
            REPORTED.pop(tid, None)     # inherited from the parent at a fork
    for tid, slot in list(SLOTS.items()):
        r = REPORTED.get(tid)
        if (r is not None and r[0] is slot) or now - slot[3] < WAIT_THRESHOLD:
            continue
        f = frames.get(tid)
        if f is None:
            # A thread of the parent's (this is a fork child): it does not exist here.
            if SLOTS.get(tid) is slot:
                SLOTS.pop(tid, None)
            continue
        try:
            _report_wait(p, tid, slot, f, now)
        except Exception:
            fail('wait begin')
    busy = False
    try:
        busy = _sample(p, now, frames)
    except Exception:
        fail('sampled waits')
    if LOCKS:
        try:
            _holds(p, now, frames)
        except Exception:
            fail('lock holds')
    if busy or SLOTS or REPORTED or HELD:
        return WAIT_TICK
    # Nothing waits now; a wait can begin at any moment (a sampled one records nothing).
    return WAIT_THRESHOLD


# ---------------------------------------------------------------------------------------
# Sampled waits: the hot blocking calls (a queue's get and put, a lock's acquire, a pipe's
# recv) record nothing at all. The supervisor finds them on the waiting thread's stack: a
# frame of one of these functions (code object -> matcher: frame -> (call, object kind,
# ref, timeout), or None when it is not a wait of the program's, such as a queue's own lock)
# that is the very same frame object on two looks WAIT_THRESHOLD apart is one call that
# has lasted that long (the frame we keep from the first look cannot be reused by another
# call). Its `since` is when it was first seen: at most one tick after it began.

SAMPLED_CODES = {}
# thread ident -> [frame, (call, kind, ref, timeout), first seen, wait.begin line or None, pid]
SEEN = {}
_SAMPLE_DEPTH = 12


def sampled(func, matcher, own=False):
    """Recognise a wait in `func`: the original of a wrapper of ours, or (`own`) the very
    function (one of ours the blocking call is made from, such as SemLock.__enter__)."""
    if not own:
        func = getattr(func, '_mptree_original', func)
    code = getattr(func, '__code__', None)
    if code is not None:
        SAMPLED_CODES[code] = matcher


def _match(f):
    """(frame, what) of the innermost sampled wait on a stack, searched outwards from the
    top up to the first frame of the user's code."""
    for _ in range(_SAMPLE_DEPTH):
        if f is None:
            return None, None
        code = f.f_code
        m = SAMPLED_CODES.get(code)
        if m is not None:
            try:
                what = m(f)
            except Exception:
                what = None
            if what is not None:
                return f, what
        elif _user_file(code.co_filename):
            return None, None
        f = f.f_back
    return None, None


def _sample(p, now, frames):
    busy = False
    threads = None
    me = get_ident()
    for tid, top in frames.items():
        if tid in SLOTS or tid == me:
            continue            # a recorded wait is the outer one; this thread is ours
        f, what = _match(top)
        seen = SEEN.get(tid)
        if seen is not None and (f is None or seen[0] is not f):
            SEEN.pop(tid, None)
            if seen[3] is not None and seen[4] == p.pid:
                _sampled_end(p, tid)
            seen = None
        if f is None:
            continue
        busy = True
        if seen is None:
            SEEN[tid] = [f, what, now, None, p.pid]
            continue
        if seen[3] is not None or now - seen[2] < WAIT_THRESHOLD:
            continue
        if threads is None:
            threads = program_threads()
        if tid not in threads:
            continue            # a helper thread of multiprocessing's
        call, kind, ref, timeout = what
        line = (_WAIT_BEGIN % (p.pid, tid, json_value(threads.get(tid)), json_value(call),
                               _object(kind, ref), json_value(timeout), json_value(user_site(f)),
                               seen[2] * 1000.0, len(threads) or 1, now * 1000.0)).encode('ascii')
        seen[3] = line
        with p.lock:
            connection.send_raw_locked(p, line)
    for tid in [t for t in SEEN if t not in frames]:
        seen = SEEN.pop(tid)            # the thread is gone (or a fork child's copy)
        if seen[3] is not None and seen[4] == p.pid:
            _sampled_end(p, tid)
    return busy


def _sampled_end(p, tid):
    with p.lock:
        connection.send_raw_locked(p, (_WAIT_END % (p.pid, tid, _time() * 1000.0)).encode('ascii'))


def _locals(f):
    return f.f_locals


def match_queue(call):
    def match(f):
        loc = _locals(f)
        if not loc.get('block', True):
            return None
        q = loc.get('self')
        qid = q.__dict__.get('_mptree_id') if q is not None else None
        if qid is None:
            return None
        timeout = loc.get('timeout')
        return call, 'queue', qid, timeout if isinstance(timeout, (int, float)) else None
    return match


def match_lock(f):
    loc = _locals(f)
    lock = loc.get('self')
    lid = getattr(lock, '_mptree_lid', None)
    if lid is None or not loc.get('block', True):
        return None
    timeout = loc.get('timeout')
    return (LOCK_CALLS.get(type(lock)) or 'Lock.acquire', 'lock', lid,
            timeout if isinstance(timeout, (int, float)) else None)


LOCK_CALLS = {}     # lock class -> its call name (patches.synchronize fills it)


def match_connection(call):
    def match(f):
        back = f.f_back
        while back is not None and back.f_code.co_filename.startswith(_RUNTIME_DIR):
            back = back.f_back      # our wrapper
        # Only a read of the program's own (a queue's get, a pool, a manager read theirs).
        if back is None or not _user_file(back.f_code.co_filename):
            return None
        timeout = None
        if call == 'Connection.poll':
            timeout = _locals(f).get('timeout')
            if timeout == 0:
                return None
        return call, 'connection', None, timeout
    return match


def touch():
    """The hooks of the sampled calls: make sure this process's supervisor looks."""
    if not WATCHING[0]:
        watch()


def _object(kind, ref):
    if kind == 'process':
        return '{"kind":"process","pid":%s}' % json_value(ref)
    if kind == 'manager':
        return '{"kind":"manager","address":%s}' % json_value(ref)
    if kind == 'other':
        return '{"kind":"other"}'
    return '{"kind":%s,"id":%s}' % (json_value(kind), json_value(ref))


def _report_wait(p, tid, slot, f, now):
    call, kind, ref, since, timeout = slot
    threads = program_threads()
    line = (_WAIT_BEGIN % (p.pid, tid, json_value(threads.get(tid) or _thread_name(tid)),
                           json_value(call), _object(kind, ref), json_value(timeout),
                           json_value(user_site(f)), since * 1000.0, len(threads) or 1,
                           now * 1000.0)).encode('ascii')
    with p.lock:
        if SLOTS.get(tid) is not slot:
            return      # over meanwhile: nothing to say
        mine = (slot, p.pid, line)
        REPORTED[tid] = mine
        connection.send_raw_locked(p, line)
        if SLOTS.get(tid) is not slot and REPORTED.get(tid) is mine:
            # It ended while we sent, and the thread did not see it reported: end it here.
            del REPORTED[tid]
            connection.send_raw_locked(p, (_WAIT_END % (p.pid, tid, _time() * 1000.0)).encode('ascii'))


def _holds(p, now, frames):
    threads = None
    for lid, ref in list(LOCKS.items()):
        obj = ref()
        sl = getattr(obj, '_semlock', None) if obj is not None else None
        if obj is None:
            LOCKS.pop(lid, None)
        if sl is None:
            if obj is None:
                _released(p, lid)
            continue
        try:
            held = _held(sl)
        except Exception:
            held = False
        h = HELD.get(lid)
        if not held:
            if h is not None:
                _released(p, lid)
            continue
        if h is None or h[3] != p.pid:
            HELD[lid] = [now, False, None, p.pid, None]
            continue
        if h[1] or now - h[0] < WAIT_THRESHOLD:
            continue
        if threads is None:
            threads = program_threads()
            if frames is None:
                frames = state.other_threads_frames()
        tid = _holder_thread(sl, threads)
        top = frames.get(tid) if tid is not None else None
        site = acquire_site(top, obj) or user_site(top)
        line = (_LOCK_HELD % (json_value(lid), p.pid, json_value(tid),
                              json_value(threads.get(tid) if tid is not None else None),
                              json_value(site), h[0] * 1000.0, now * 1000.0)).encode('ascii')
        with p.lock:
            if HELD.get(lid) is not h:
                # Released and popped at the process's end while we looked: neither
                # lock.held nor lock.released goes out (the session never saw it held).
                continue
            h[1] = True
            h[2] = tid
            h[4] = line
            connection.send_raw_locked(p, line)


def _held(sl):
    """Whether this process holds the lock now, and kept holding it while we looked a few
    times over about 4 ms (letting the program run in between): a count read once cannot
    tell a hold from a lock taken and given back a thousand times a second, and nothing
    cheaper than this is kept per acquire (that would cost every `with lock:`).
    A Semaphore's count here is acquires minus releases of this process: one used as a
    signal (acquired here, released elsewhere) counts up for good. Its holders matter only
    while it has no room left."""
    for i in range(HOLD_SAMPLES):
        if sl._count() <= 0 or (sl.maxvalue != 1 and not sl._is_zero()):
            return False
        if i < HOLD_SAMPLES - 1:
            time.sleep(0.0005)
    return True


HOLD_SAMPLES = 8


def resync_lines(p):
    """After a reconnection: the waits and holds the session was told of and that still
    last (their lines as first sent, with their own `since`). Called with p.lock held."""
    lines = [r[2] for r in list(REPORTED.values()) if r[1] == p.pid]
    lines.extend(s[3] for s in list(SEEN.values()) if s[3] is not None and s[4] == p.pid)
    lines.extend(h[4] for h in list(HELD.values()) if h[1] and h[3] == p.pid and h[4])
    return lines


def ended_at_exit(p):
    """At the process's end: the sampled waits reported and over since the last look get
    their wait.end (a consumer that got its item and ends, before the next tick)."""
    try:
        for tid, seen in list(SEEN.items()):
            if seen[3] is None or seen[4] != p.pid:
                continue
            f, _ = _match(sys._current_frames().get(tid))   # a temporary: no cycle kept
            if f is not seen[0]:
                SEEN.pop(tid, None)
                _sampled_end(p, tid)
    except Exception:
        fail('ended at exit')


def released_at_exit(p):
    """At the process's end: the reported holds that are over get their lock.released."""
    try:
        for lid, h in list(HELD.items()):
            ref = LOCKS.get(lid)
            obj = ref() if ref is not None else None
            sl = getattr(obj, '_semlock', None) if obj is not None else None
            if sl is None or sl._count() <= 0:
                _released(p, lid)
    except Exception:
        fail('released at exit')


def _released(p, lid):
    # Under p.lock, as _holds marks and sends a hold: an end at the process's exit that
    # races the tick's first report of the hold sees either both or neither.
    with p.lock:
        h = HELD.pop(lid, None)
        if h is None or not h[1] or h[3] != p.pid:
            return
        connection.send_raw_locked(p, (_LOCK_RELEASED % (json_value(lid), p.pid, json_value(h[2]),
                                                         _time() * 1000.0)).encode('ascii'))


def _holder_thread(sl, threads):
    """Which thread holds the lock: the only thread of the program here, else the one
    _multiprocessing recorded as its last acquirer (see _last_tid)."""
    if len(threads) == 1:
        return next(iter(threads))
    tid = _last_tid(sl)
    if tid in threads:
        return tid
    return None


_TID_OFFSET = [None]    # byte offset of SemLockObject.last_tid, once found (0: not found)


def _last_tid(sl):
    """SemLockObject.last_tid (the thread that last acquired it in this process), read from
    the object's memory: _multiprocessing keeps it but offers no way to read it from
    another thread. Its place is found, not assumed: it is the word after the `handle`
    member (the struct is {PyObject_HEAD; handle; last_tid; count; ...}), whose value the
    object exposes, and the int after it must equal _count(). Only asked for a lock held
    past the threshold in a process with several threads."""
    try:
        ctypes = state.import_module('ctypes')
        off = _TID_OFFSET[0]
        base = id(sl)
        if off is None:
            off = 0
            handle = sl.handle
            word = ctypes.sizeof(ctypes.c_void_p)
            for i in range(1, 8):
                if ctypes.c_size_t.from_address(base + i * word).value == handle:
                    cand = base + (i + 2) * word
                    if ctypes.c_int.from_address(cand).value == sl._count():
                        off = (i + 1) * word
                    break
            _TID_OFFSET[0] = off
        if not off:
            return None
        return ctypes.c_ulong.from_address(base + off).value
    except Exception:
        fail('last tid')
        return None
