"""Stacks on demand: the answer to the session's `stacks.request`, made on the supervisor's
thread. Every thread's frames are read with sys._current_frames(), which needs only the
GIL: a program blocked in C that released it (Lock.acquire, a pipe's recv, time.sleep) is
read as it is now. A thread holding the GIL in C never lets us run; the session says so."""

import os
import sys
import _thread

from . import connection, state
from .settings import MAX_LINE

# Our own package folder: frames of our wrappers in the program's threads are left out, so a
# stack reads as it would without us (the user's line, then multiprocessing's own frames).
_HERE = os.path.dirname(os.path.abspath(__file__)) + os.sep
# A deep recursion keeps its innermost frames (where it waits) and says how many it left out.
MAX_FRAMES = 200


def _frames(frame, ours):
    out = []
    while frame is not None:
        code = frame.f_code
        filename = code.co_filename
        if ours or not filename.startswith(_HERE):
            out.append({'file': filename, 'line': frame.f_lineno, 'function': code.co_name})
        frame = frame.f_back
    out.reverse()       # innermost last, like a traceback
    return out


def _named_threads():
    """ident -> (name, daemon) of the program's threading.Thread objects, if threading is
    loaded at all (never imported here: a program without threads pays nothing)."""
    threading = sys.modules.get('threading')
    named = {}
    if threading is None:
        return named
    try:
        for thread in threading.enumerate():
            if thread.ident is not None:
                named[thread.ident] = (thread.name, bool(thread.daemon))
    except Exception:
        pass
    return named


def collect(max_frames=MAX_FRAMES):
    """Every thread of this process with its Python stack, innermost frame last."""
    named = _named_threads()
    ours = state.OUR_THREADS
    me = _thread.get_ident()
    # Our own thread's frame is in this dict: cleared at the end, so that no reference cycle
    # keeps every thread's frames alive (see state.other_threads_frames).
    current = sys._current_frames()
    try:
        threads = _collect(current, named, ours, me, max_frames)
    finally:
        current.clear()
    # The main thread first, the runtime's own last: the order a reader wants.
    main = getattr(threading_main(), 'ident', None)
    threads.sort(key=lambda th: (th['runtime'], th['threadId'] != main))
    return threads


def _collect(current, named, ours, me, max_frames):
    threads = []
    for ident, frame in current.items():
        runtime = ident in ours or ident == me
        frames = _frames(frame, runtime)
        omitted = max(0, len(frames) - max_frames)
        if omitted:
            frames = frames[omitted:]
        name, daemon = named.get(ident, (None, True))
        if name is None:
            # Not a threading.Thread: ours, or one the program started with _thread or C.
            name = 'mptree runtime' if runtime else 'thread %d' % ident
        entry = {'threadId': ident, 'name': name, 'daemon': daemon, 'runtime': runtime,
                 'frames': frames}
        if omitted:
            entry['omitted'] = omitted
        threads.append(entry)
    return threads


def threading_main():
    threading = sys.modules.get('threading')
    try:
        return threading.main_thread() if threading is not None else None
    except Exception:
        return None


def answer(msg):
    """Sends the `stacks` line answering a `stacks.request`. A line must stay under the
    protocol's limit: a huge answer is cut to fewer frames per thread until it fits."""
    rid = msg.get('id')
    if type(rid) is not int:
        return
    from .jsonout import encode
    max_frames = MAX_FRAMES
    while True:
        out = {'type': 'stacks', 'id': rid, 'pid': os.getpid(), 'threads': collect(max_frames)}
        line = encode(out)
        if len(line) <= MAX_LINE or max_frames <= 1:
            break
        max_frames //= 4
    p = state.current()
    with p.lock:
        connection.send_raw_locked(p, line, keep=False)
