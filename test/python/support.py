"""Test support: a real session-side collector, a runner for scripts under the runtime,
and a small reducer that turns the message stream into per-pid facts and queue depths."""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNTIME = os.path.join(REPO, 'src', 'runtime')
FIXTURES = os.path.join(REPO, 'test', 'fixtures')
PYTHON = sys.executable
METHODS = ('fork', 'spawn', 'forkserver')


# MPTREE_TRANSPORT=tcp (as the session reads it) runs every test over loopback TCP instead.
TRANSPORT = 'tcp' if os.environ.get('MPTREE_TRANSPORT') == 'tcp' else 'unix'


def unused_tcp_address():
    """'127.0.0.1:PORT' of a port that was free a moment ago (nobody listens there)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(('127.0.0.1', 0))
        return '127.0.0.1:%d' % s.getsockname()[1]
    finally:
        s.close()


class Collector(object):
    """What the TypeScript session does, minus the model: a Unix socket in a 0700 temp
    dir (or a 127.0.0.1 port), one thread per connection, token check on the first line,
    messages recorded."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix='mptree-test-')   # mkdtemp makes it 0700
        self.path = os.path.join(self.dir, 'mptree.sock')
        self.port = 0   # TCP: the kernel's pick on the first bind, kept for a restart
        self.token = secrets.token_hex(16)
        self.run_id = 'run-' + secrets.token_hex(4)
        self.messages = []          # dicts, in arrival order (per connection order kept)
        self.rejected = []          # first lines of connections we refused
        self.bad_lines = []
        self.conns = {}             # pid -> socket of its latest hello
        self.origins = []           # connection serial of each message, parallel to messages
        self.serial = 0
        self.open_conns = 0
        self.cond = threading.Condition()
        self.closed = False
        self._listen()

    @property
    def address(self):
        """MPTREE_SOCKET's value, as the session writes it."""
        return 'tcp:127.0.0.1:%d' % self.port if TRANSPORT == 'tcp' else self.path

    def _listen(self):
        if TRANSPORT == 'tcp':
            self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.server.bind(('127.0.0.1', self.port))
            self.port = self.server.getsockname()[1]
        else:
            self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.server.bind(self.path)
        self.server.listen(256)
        t = threading.Thread(target=self._accept, args=(self.server,), daemon=True)
        t.start()

    def drop(self, pid):
        """Close the connection of `pid` from our side, as a session may (or a restarted
        one did); the process is expected to connect again."""
        with self.cond:
            conn = self.conns.pop(pid)
        try:
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        conn.close()

    def vanish(self):
        """Like a session that died (`mptree run` killed, the extension host gone): the
        listening socket closed and removed, every connection closed, nobody to reconnect to."""
        self._stop_listening(self.server)
        if TRANSPORT == 'unix':
            try:
                os.unlink(self.path)
            except OSError:
                pass
        for pid in list(self.conns):
            self.drop(pid)

    def restart(self):
        """Like a session restarted on the same path: every connection and the listening
        socket closed, a new listening socket bound."""
        self._stop_listening(self.server)
        if TRANSPORT == 'unix':
            os.unlink(self.path)
        for pid in list(self.conns):
            self.drop(pid)
        self._listen()

    @staticmethod
    def _stop_listening(server):
        # close() alone leaves a socket that another thread blocks on in accept() listening
        # (the kernel keeps it while the call is in progress): a TCP port would still take
        # connections, and could not be bound again. shutdown() wakes that accept() first.
        try:
            server.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            server.close()
        except OSError:
            pass

    def env(self, base=None, extra_pythonpath=None):
        env = dict(os.environ if base is None else base)
        for k in ('MPTREE_SOCKET', 'MPTREE_TOKEN', 'MPTREE_RUN_ID', 'MPTREE_DEBUG'):
            env.pop(k, None)
        env['MPTREE_SOCKET'] = self.address
        env['MPTREE_TOKEN'] = self.token
        env['MPTREE_RUN_ID'] = self.run_id
        env['PYTHONPATH'] = os.pathsep.join([RUNTIME] + ([extra_pythonpath] if extra_pythonpath else []))
        return env

    def _accept(self, server):
        while not self.closed:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with self.cond:
                self.open_conns += 1
                self.serial += 1
                serial = self.serial
            threading.Thread(target=self._serve, args=(conn, serial), daemon=True).start()

    def _serve(self, conn, serial=0):
        buf = b''
        first = True
        try:
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    break
                if not data:
                    break
                buf += data
                while b'\n' in buf:
                    line, buf = buf.split(b'\n', 1)
                    try:
                        msg = json.loads(line.decode('utf-8'))
                    except ValueError:
                        with self.cond:
                            self.bad_lines.append(line)
                        continue
                    if first:
                        first = False
                        if not (isinstance(msg, dict) and msg.get('type') == 'hello'
                                and msg.get('token') == self.token):
                            with self.cond:
                                self.rejected.append(msg)
                            return
                    with self.cond:
                        if msg.get('type') == 'hello':
                            self.conns[msg.get('pid')] = conn
                        self.messages.append(msg)
                        self.origins.append(serial)
                        self.cond.notify_all()
        finally:
            # The peer is gone (or was refused): nothing more can be sent on it.
            try:
                conn.close()
            except OSError:
                pass
            with self.cond:
                self.open_conns -= 1
                self.cond.notify_all()

    def wait_for(self, pred, timeout=10.0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                r = pred(self.messages)
                if r:
                    return r
                left = deadline - time.monotonic()
                if left <= 0:
                    return r
                self.cond.wait(left)

    def wait_quiet(self, timeout=5.0):
        """Wait until every connection is closed (all processes of the run are gone) and
        stays so: a process that connected just before it ended (a fork child reporting
        its children from os._exit) may still wait in the listen backlog, unaccepted and
        uncounted, when the last open connection closes, so "none open" must hold with no
        connection pending and none accepted for a moment."""
        import select
        deadline = time.monotonic() + timeout
        while True:
            with self.cond:
                while self.open_conns > 0 and time.monotonic() < deadline:
                    self.cond.wait(0.05)
                seen = self.serial
            try:
                pending = bool(select.select([self.server], [], [], 0.1)[0])
            except (OSError, ValueError):
                pending = False
            with self.cond:
                settled = not pending and self.open_conns == 0 and self.serial == seen
            if settled or time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        time.sleep(0.02)

    def send_control(self, parent_pid, msg):
        self.send(parent_pid, dict(msg, type='control'))

    def send(self, pid, msg):
        """One line, as the session sends it, on the connection of `pid`."""
        with self.cond:
            conn = self.conns[pid]
        conn.sendall((json.dumps(dict(msg, v=1)) + '\n').encode('utf-8'))

    def snapshot(self):
        with self.cond:
            return list(self.messages)

    def close(self):
        self.closed = True
        self._stop_listening(self.server)
        shutil.rmtree(self.dir, ignore_errors=True)


def run_members(run_id):
    """Pids of the live processes started with MPTREE_RUN_ID=run_id, as /proc shows them (a
    zombie's environ reads empty: the dead are not listed)."""
    return processes_with_env('MPTREE_RUN_ID', run_id)


def processes_with_env(name, value):
    """Pids of the live processes whose environment has name=value (inherited by every
    descendant, even one whose parent died), as /proc shows them."""
    needle = ('%s=%s\0' % (name, value)).encode()
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/environ' % entry, 'rb') as f:
                env = f.read()
        except OSError:
            continue
        at = env.find(needle)
        if at == 0 or (at > 0 and env[at - 1] == 0):
            found.append(int(entry))
    return found


def start_program(test, code, args=(), collector=None, extra_env=None):
    """Write `code` to prog.py in a temporary folder and start it there under the runtime
    (a new Collector unless one is given), with stdin, stdout and stderr piped. The test
    case cleans up the folder, the collector and a process left running."""
    c = collector or Collector()
    test.addCleanup(c.close)
    d = tempfile.mkdtemp(prefix='mptree-prog-')
    test.addCleanup(shutil.rmtree, d, True)
    prog = os.path.join(d, 'prog.py')
    with open(prog, 'w', encoding='utf-8') as f:
        f.write(code)
    env = c.env()
    env.update(extra_env or {})
    p = subprocess.Popen([sys.executable, prog] + list(args), env=env, cwd=d,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    test.addCleanup(lambda: p.poll() is None and p.kill())
    return c, p


class Result(object):
    def __init__(self, rc, stdout, stderr, messages, truth, collector):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.messages = messages
        self.truth = truth
        self.collector = collector
        self.facts = reduce_messages(messages) if messages is not None else None


class HungProgram(AssertionError):
    """A program that outlived its timeout: the message holds its processes and their stacks."""


def run_or_show_the_hang(argv, env, cwd, timeout):
    """subprocess.run(argv) with stdout and stderr captured; a program still running after
    `timeout` raises HungProgram with its process tree (state, kernel wait) and every thread's
    Python stack of each of its processes (faulthandler, on in every process of the run,
    writes them on the SIGABRT sent to each), so a hang seen once in CI can be read."""
    env = dict(env)
    env['PYTHONFAULTHANDLER'] = '1'
    mark = secrets.token_hex(8)
    env['MPTREE_TEST_PROGRAM'] = mark     # finds all its processes, orphans included
    p = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        procs = sorted(processes_with_env('MPTREE_TEST_PROGRAM', mark))
        tree = subprocess.run(['ps', '-o', 'pid,ppid,stat,wchan:24,args', '-p', ','.join(map(str, procs or [p.pid]))],
                              stdout=subprocess.PIPE, universal_newlines=True).stdout
        for pid in reversed(procs):     # newest first, one at a time, or their stacks interleave
            try:
                os.kill(pid, signal.SIGABRT)
            except OSError:
                pass
            time.sleep(0.3)
        for pid in processes_with_env('MPTREE_TEST_PROGRAM', mark):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        out, err = p.communicate()
        raise HungProgram('%s still running after %s s\n%s\n--- stderr (stacks from SIGABRT):\n%s\n--- stdout:\n%s'
                          % (' '.join(argv), timeout, tree, err.decode('utf-8', 'replace')[-20000:],
                             out.decode('utf-8', 'replace')[-2000:]))
    return subprocess.CompletedProcess(argv, p.returncode, out, err)


def run_script(script, args=(), instrumented=True, timeout=90, extra_env=None,
               extra_pythonpath=None, truth=True, cwd=None):
    """Run a Python script (bare or under the runtime) and collect everything."""
    collector = Collector() if instrumented else None
    truth_path = None
    try:
        if instrumented:
            env = collector.env(extra_pythonpath=extra_pythonpath)
        else:
            env = dict(os.environ)
            for k in ('MPTREE_SOCKET', 'MPTREE_TOKEN', 'MPTREE_RUN_ID'):
                env.pop(k, None)
            if extra_pythonpath:
                env['PYTHONPATH'] = extra_pythonpath
            else:
                env.pop('PYTHONPATH', None)
        if extra_env:
            env.update(extra_env)
        argv = [PYTHON, script] + list(args)
        if truth:
            fd, truth_path = tempfile.mkstemp(prefix='mptree-truth-', suffix='.json')
            os.close(fd)
            env['MPTREE_FIXTURE_TRUTH'] = truth_path
        p = run_or_show_the_hang(argv, env, cwd or REPO, timeout)
        messages = None
        if instrumented:
            collector.wait_quiet(5.0)
            messages = collector.snapshot()
        data = None
        if truth_path and os.path.getsize(truth_path) > 0:
            with open(truth_path, encoding='utf-8') as f:
                data = json.load(f)
        return Result(p.returncode, p.stdout, p.stderr, messages, data, collector)
    finally:
        if truth_path:
            try:
                os.unlink(truth_path)
            except OSError:
                pass
        if collector is not None:
            collector.close()


def fixture(name):
    return os.path.join(FIXTURES, name)


# ---------------------------------------------------------------------------------------
# Reducer: the facts a session would derive. Deliberately independent of the runtime code.

class Facts(object):
    def __init__(self):
        self.procs = {}     # pid -> dict
        self.queues = {}    # id -> dict
        self.pools = {}     # id -> dict
        self.hellos = []
        self.controls = []
        self.unknown = []

    def proc(self, pid):
        return self.procs.setdefault(pid, {'pid': pid, 'started': None, 'hello': None,
                                           'exited': [], 'exiting': None, 'reaped': [],
                                           'reapedBy': [],
                                           'exitedAfterReaped': False})

    def depth(self, qid):
        q = self.queues[qid]
        return q['depth'] if 'depth' in q else q['puts'] - q['gets']


def reduce_messages(messages):
    f = Facts()
    for m in messages:
        t = m.get('type')
        if t == 'hello':
            f.hellos.append(m)
            f.proc(m['pid'])['hello'] = m
        elif t == 'process.started':
            f.proc(m['pid'])['started'] = m
        elif t == 'process.exited':
            p = f.proc(m['pid'])
            p['exited'].append(m['exitCode'])
            if p['reaped']:
                p['exitedAfterReaped'] = True
        elif t == 'process.exiting':
            f.proc(m['pid'])['exiting'] = m['exitCode']
        elif t == 'process.reaped':
            f.proc(m['pid'])['reaped'].append(m['joined'])
            f.proc(m['pid'])['reapedBy'].append(m.get('by'))
        elif t == 'queue.created':
            q = f.queues.setdefault(m['id'], {'puts': 0, 'gets': 0, 'done': 0})
            q['created'] = m
        elif t == 'queue.counts':
            for qid, puts, gets, done in m['counts']:
                q = f.queues.setdefault(qid, {'puts': 0, 'gets': 0, 'done': 0})
                q['puts'] += puts
                q['gets'] += gets
                q['done'] += done
        elif t == 'queue.depth':
            # Read from the queue itself (a Queue's semaphore); the latest reading stands.
            for qid, depth in m['depths']:
                q = f.queues.setdefault(qid, {'puts': 0, 'gets': 0, 'done': 0})
                if m['t'] >= q.get('depth_t', float('-inf')):
                    q['depth'], q['depth_t'] = depth, m['t']
                q['samples'] = q.get('samples', 0) + 1
        elif t == 'pool.created':
            pl = f.pools.setdefault(m['id'], {'workers': [], 'submitted': 0, 'completed': 0,
                                              'states': []})
            pl['created'] = m
        elif t == 'pool.workers':
            f.pools.setdefault(m['id'], {'workers': [], 'submitted': 0, 'completed': 0,
                                         'states': []})['workers'].extend(m['pids'])
        elif t == 'pool.counts':
            for pid, sub, done in m['counts']:
                pl = f.pools.setdefault(pid, {'workers': [], 'submitted': 0, 'completed': 0,
                                              'states': []})
                pl['submitted'] += sub
                pl['completed'] += done
        elif t == 'pool.state':
            f.pools[m['id']]['states'].append(m['state'])
        elif t == 'control.result':
            f.controls.append(m)
        else:
            f.unknown.append(m)
    for q in f.queues.values():
        if 'depth' in q:
            # As the model does: gets of a queue whose depth is read are not counted.
            q['counted_gets'] = q['gets']
            q['gets'] = max(0, q['puts'] - q['depth'])
    return f
