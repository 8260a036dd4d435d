"""Stacks on demand: a process answers `stacks.request` from the runtime's own thread while
every thread of the program is blocked in C (a Lock.acquire, a pipe's recv, time.sleep)."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

from . import support

# Each blocking call is on a line of its own, named by a marker comment the test looks up.
BLOCKED_PROG = r"""
import json, multiprocessing as mp, sys, threading, time

def wait_on_pipe(conn, q):
    q.put('ready')
    conn.recv()  # BLOCK:recv

def wait_on_lock(lock, q):
    q.put('ready')
    lock.acquire()  # BLOCK:child-lock

def napper():
    time.sleep(600)  # BLOCK:sleep

if __name__ == '__main__':
    method = sys.argv[1]
    ctx = mp.get_context(method)
    lock = ctx.Lock()
    lock.acquire()
    reader, writer = ctx.Pipe(duplex=False)
    q = ctx.Queue()
    piped = ctx.Process(target=wait_on_pipe, args=(reader, q), name='piped')
    locked = ctx.Process(target=wait_on_lock, args=(lock, q), name='locked')
    piped.start()
    locked.start()
    q.get()
    q.get()
    threading.Thread(target=napper, name='napper', daemon=True).start()
    print(json.dumps({'piped': piped.pid, 'locked': locked.pid}), flush=True)
    own = ctx.Lock()
    own.acquire()
    own.acquire()  # BLOCK:main-lock
"""


def marker_lines(text):
    lines = {}
    for number, line in enumerate(text.splitlines(), 1):
        if '# BLOCK:' in line:
            lines[line.split('# BLOCK:')[1].strip()] = number
    return lines


class StacksOfABlockedProgram(unittest.TestCase):
    def test_every_blocked_process_answers(self):
        for method in support.METHODS:
            with self.subTest(method=method):
                self._blocked(method)

    def _blocked(self, method):
        c = support.Collector()
        folder = tempfile.mkdtemp(prefix='mptree-stacks-')
        script = os.path.join(folder, 'blocked.py')
        with open(script, 'w') as f:
            f.write(BLOCKED_PROG)
        lines = marker_lines(BLOCKED_PROG)
        proc = subprocess.Popen([support.PYTHON, script, method], env=c.env(), cwd=folder,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            pids = json.loads(proc.stdout.readline().decode())
            main = proc.pid
            # Each process is connected (a fork child too: its put made it speak; one that
            # never speaks has no connection to be asked on).
            for pid in (main, pids['piped'], pids['locked']):
                self.assertTrue(c.wait_for(lambda msgs, pid=pid: pid in c.conns), 'pid %d never connected' % pid)
            # Past the moment every thread blocked: the main thread's second acquire.
            self.assertTrue(_wait_blocked(main, 'main-lock', lines, c), 'the main thread never blocked')
            # And each child at its blocking call (on a loaded machine a child may still be
            # on its way there when the parent has blocked).
            self.assertTrue(_wait_blocked(pids['piped'], 'recv', lines, c, innermost=False), 'the piped child never blocked')
            self.assertTrue(_wait_blocked(pids['locked'], 'child-lock', lines, c, innermost=False), 'the locked child never blocked')
            answers = {}
            for rid, pid in enumerate((main, pids['piped'], pids['locked']), 1):
                c.send(pid, {'type': 'stacks.request', 'id': rid})
                answers[pid] = _answer(c, rid)
                self.assertIsNotNone(answers[pid], 'pid %d did not answer (%s)' % (pid, method))
                self.assertEqual(answers[pid]['pid'], pid)

            def frames_at(pid, mark):
                for th in answers[pid]['threads']:
                    for fr in th['frames']:
                        if fr['file'] == script and fr['line'] == lines[mark]:
                            return th, fr
                return None, None

            th, fr = frames_at(main, 'main-lock')
            self.assertIsNotNone(th, answers[main])
            self.assertEqual((th['name'], th['runtime'], fr['function']), ('MainThread', False, '<module>'))
            # The main thread's stack ends (innermost) at its blocking line.
            self.assertEqual(th['frames'][-1]['line'], lines['main-lock'])
            th, fr = frames_at(main, 'sleep')
            self.assertEqual((th['name'], th['daemon'], fr['function']), ('napper', True, 'napper'))
            self.assertEqual(th['frames'][-1]['function'], 'napper')
            # The runtime's own thread is there, flagged, and listed last.
            self.assertTrue(answers[main]['threads'][-1]['runtime'], answers[main]['threads'])
            th, fr = frames_at(pids['piped'], 'recv')
            self.assertEqual(fr['function'], 'wait_on_pipe', answers[pids['piped']])
            self.assertTrue(th['frames'][-1]['file'].endswith(os.path.join('multiprocessing', 'connection.py')))
            th, fr = frames_at(pids['locked'], 'child-lock')
            self.assertEqual(fr['function'], 'wait_on_lock', answers[pids['locked']])
            # No frame of ours in the program's threads: the stack reads as it would bare.
            for answer in answers.values():
                for th in answer['threads']:
                    if not th['runtime']:
                        self.assertFalse([f for f in th['frames'] if 'mptree_runtime' in f['file']], th)
                for key in ('threadId', 'name', 'daemon', 'runtime', 'frames'):
                    self.assertIn(key, answer['threads'][0])
        finally:
            proc.kill()
            proc.wait()
            for pid in support.run_members(c.run_id):
                try:
                    os.kill(pid, 9)
                except OSError:
                    pass
            c.close()

    def test_a_process_with_nothing_to_watch_answers(self):
        # A spawn child without children or queues has a supervisor only for the session's
        # requests: it answers too.
        c = support.Collector()
        folder = tempfile.mkdtemp(prefix='mptree-stacks-')
        script = os.path.join(folder, 'idle.py')
        with open(script, 'w') as f:
            f.write("import multiprocessing as mp, sys, time\n"
                "def idle():\n    time.sleep(600)\n"
                "if __name__ == '__main__':\n"
                "    mp.set_start_method('spawn')\n"
                "    p = mp.Process(target=idle); p.start(); print(p.pid, flush=True); p.join()\n")
        proc = subprocess.Popen([support.PYTHON, script], env=c.env(), stdout=subprocess.PIPE)
        try:
            child = int(proc.stdout.readline())
            self.assertTrue(c.wait_for(lambda msgs: child in c.conns))
            c.send(child, {'type': 'stacks.request', 'id': 9})
            answer = _answer(c, 9)
            self.assertIsNotNone(answer)
            main = [th for th in answer['threads'] if th['name'] == 'MainThread'][0]
            self.assertEqual(main['frames'][-1]['function'], 'idle')
        finally:
            proc.kill()
            proc.wait()
            for pid in support.run_members(c.run_id):
                try:
                    os.kill(pid, 9)
                except OSError:
                    pass
            c.close()


def _answer(c, rid, timeout=5):
    def find(msgs):
        for m in msgs:
            if m.get('type') == 'stacks' and m.get('id') == rid:
                return m
    return c.wait_for(find, timeout)


_request_ids = iter(range(1000, 10 ** 9))


def _wait_blocked(pid, mark, lines, c, timeout=10, innermost=True):
    """True once `pid`'s main thread is on the marked line (asked until it is): as its
    innermost frame, or (innermost=False) anywhere on its stack, for a call that blocks
    inside multiprocessing's own code."""
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rid = next(_request_ids)
        c.send(pid, {'type': 'stacks.request', 'id': rid})
        answer = _answer(c, rid)
        if answer:
            for th in answer['threads']:
                frames = th['frames'][-1:] if innermost else th['frames']
                if th['name'] == 'MainThread' and any(fr['line'] == lines[mark] for fr in frames):
                    return True
        time.sleep(0.05)
    return False


if __name__ == '__main__':
    unittest.main()
