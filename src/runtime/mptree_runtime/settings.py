"""What the session's environment says (MPTREE_*), our timings and limits, and how we
fail: silently for the user, one line on stderr when debugging.

Everything in this package runs inside the user's program, so:
- nothing may raise into user code (callers wrap us in try/except);
- nothing from multiprocessing or threading is used (our objects must not show up in the
  user's view, and threading.Thread objects would appear in threading.enumerate());
- after a fork, every memory page we write costs a copy-on-write fault in parent and
  child alike, so the per-child paths touch as few objects as they can: C modules
  (_socket, _json, _weakref) instead of their Python wrappers, string templates instead
  of json.dumps, and a fork child builds its state only when it has something to say;
- each module costs every process that imports it (~0.3M instructions, ~80 us here),
  so what a spawn child does not need (the supervisor, the owner's stop, the patches of
  modules it never imports) is imported only when first needed.
"""

import os
import sys

VERSION = 1
# Where the session listens: a Unix socket's path, or 'tcp:127.0.0.1:PORT' for the loopback
# TCP transport (Windows, or MPTREE_TRANSPORT=tcp on the session's side). See docs/protocol.md.
SOCKET_PATH = os.environ.get('MPTREE_SOCKET') or ''
TOKEN = os.environ.get('MPTREE_TOKEN') or ''
RUN_ID = os.environ.get('MPTREE_RUN_ID') or ''
DEBUG = os.environ.get('MPTREE_DEBUG') == '1'
# How the supervisor waits (see waiters): chosen by what the platform has. Setting it
# runs another platform's choice here: 'selectors' (macOS and the BSDs: no epoll) and
# 'handles' (Windows: process handles, not fds) are tested on Linux that way.
WAITER = os.environ.get('MPTREE_WAITER') or ''

# A measurement aid only: stretches our timers by this factor, so that a run under valgrind
# (50x slower) wakes the supervisor as often per unit of work as a real run does.
_SCALE = float(os.environ.get('MPTREE_TIME_SCALE') or 1)
FLUSH_INTERVAL = 0.05 * _SCALE   # queue/pool counts: at most one message per this many seconds
SEND_TIMEOUT = 10.0     # a session that stops reading must not hang the program for long
GRACE = 0.03 * _SCALE   # children younger than this are not watched yet (see Supervisor)
# While fork children are being journaled, the supervisor reports them this often: the
# bound on how late the session learns a fork child's start and (joined at once) its end.
TICK = 0.008 * _SCALE
# Queue depths read from the queues' own semaphores (see counters.sample_queue): every this
# many seconds while a depth changes, backing off to DEPTH_IDLE while it does not.
DEPTH_INTERVAL = 0.05 * _SCALE
DEPTH_IDLE = 0.5 * _SCALE
# A pool worker's task still running after this many seconds is reported (task.begin); a
# quicker one costs a note in the worker and nothing on the wire (see tasks).
TASK_THRESHOLD = 0.2 * _SCALE
MAX_LINE = 1 << 20
# A process that connected with nothing for a supervisor to watch starts one this long after,
# to read the session's requests (stacks on demand): brief children never pay for it.
LISTEN_AFTER = 0.3 * _SCALE
# A blocking call that lasts this long is reported as a wait (waits.py), and a lock held this
# long as held; the supervisor looks every WAIT_TICK while there is something to look at.
WAIT_THRESHOLD = 0.2 * _SCALE
WAIT_TICK = 0.1 * _SCALE
# A dropped connection is retried in the background after these pauses (2 s in all): a
# session that restarted on the same path is back by then. Lines said meanwhile wait in a
# bounded backlog. If none succeeds, the session that owns the run is gone for good, and
# what happens to the program is the owner's choice (MPTREE_WHEN_VIEWER_GONE, see
# owner.owner_gone).
RECONNECT_DELAYS = (0.0, 0.05, 0.1, 0.2, 0.5, 0.65, 0.5)
# stop (the default): the whole run ends, as Stop Run ends it; keep: it runs on, unreported.
STOP_WHEN_GONE = os.environ.get('MPTREE_WHEN_VIEWER_GONE', 'stop') != 'keep'
# Between SIGTERM and SIGKILL when the run is stopped because its owner is gone.
OWNER_GONE_GRACE = 1.0
BACKLOG_MAX = 1 << 20
ANNOUNCED_MAX = 10000   # queues/pools remembered for a re-announcement

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
