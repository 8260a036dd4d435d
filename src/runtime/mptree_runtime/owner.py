"""The owner's stop: when the session that owns the run is gone for good, the run ends
as Stop Run ends it (MPTREE_WHEN_VIEWER_GONE=stop, the default). Imported only by the
run's root at start-up and by a process whose reconnection gave up."""

import os
import sys

from .settings import OWNER_GONE_GRACE, RUN_ID, fail


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
        if not can_stop_run() or _stopper_running():
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


def _stopper_running():
    """Whether another process of the run has started the stopper already (it holds the
    run's abstract socket name): then there is no need for one more Python process. Every
    process with a supervisor sees the hang-up; most see it after the first one's stopper
    is up."""
    try:
        import _socket
        probe = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            probe.bind('\0mptree-stop-' + RUN_ID)
        except OSError:
            return True
        finally:
            probe.close()
    except Exception:
        pass
    return False


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

