"""The runtime when things go wrong: the session drops a connection mid-run (or restarts),
a child ignores SIGTERM, names and paths are not ASCII, the user has a sitecustomize of
their own, the interpreter runs isolated (-I) or without site (-S)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

from . import support
from .support import run_script

# Drives itself through stdin so that the test drops the connection at a known point:
# everything said before it has been read by the collector, so nothing is in flight and
# the totals must come out exact.
RECONNECT_PROG = r'''
import json, multiprocessing as mp, os, sys, time

def produce(q, n):
    for i in range(n):
        q.put(i)

def nap(seconds):
    time.sleep(seconds)

def step(word):
    print(word, flush=True)
    assert sys.stdin.readline().strip() == 'go'

if __name__ == '__main__':
    mp.set_start_method(sys.argv[1])
    q = mp.Queue()
    p = mp.Process(target=produce, args=(q, 40), name='before-drop')
    p.start()
    got = [q.get() for _ in range(25)]
    p.join()
    across = mp.Process(target=nap, args=(2.0,), name='lives-across')
    across.start()
    quick = mp.Process(target=nap, args=(0,), name='exits-unjoined')
    quick.start()
    mp.connection.wait([quick.sentinel])    # quick has exited (a zombie, not collected)
    step('ready')             # the test drops our connection once all this is reported
    q.put('after')            # counted on the new connection (or re-sent)
    got += [q.get() for _ in range(5)]
    p2 = mp.Process(target=produce, args=(q, 7), name='after-drop')
    p2.start()
    p2.join()
    quick.join()
    across.join()
    time.sleep(0.2)
    print(json.dumps({'main': os.getpid(), 'depth': q.qsize() if sys.platform != 'darwin' else None,
                      'puts': 40 + 1 + 7, 'gets': 30,
                      'children': {c.name: [c.pid, c.exitcode] for c in (p, across, quick, p2)}}),
          flush=True)
'''

# A process with no supervisor thread (no children, nothing counted yet) finds the
# connection gone on its next write (EPIPE).
QUIET_PROG = r'''
import json, multiprocessing as mp, os, sys
if __name__ == '__main__':
    q = mp.SimpleQueue()
    print('ready', flush=True)
    sys.stdin.readline()
    for i in range(9):
        q.put(i)
    for i in range(4):
        q.get()
    print(json.dumps({'main': os.getpid()}), flush=True)
'''


class Reconnect(unittest.TestCase):
    maxDiff = None

    def _run(self, code, args, between, early=True, reported=None):
        c, p = support.start_program(self, code, args)
        self.assertEqual(p.stdout.readline().strip(), b'ready')
        main = p.pid
        self.assertTrue(c.wait_for(lambda ms: main in c.conns, 10))
        if reported:
            # What the first connection must have carried before `between` acts on it.
            self.assertTrue(c.wait_for(reported, 30), 'the program never reported its state before the drop')
        before = len(c.snapshot())
        # Where to look for the new hello: after what was there before, unless `between`
        # cleared the messages (a restart) and says so. The reconnection may already have
        # arrived by the time it returns, so this index must not be read off the list now.
        since = between(c, main)
        if since is None:
            since = before

        def reconnected(ms):
            return [m for m in ms[since:] if m['type'] == 'hello' and m['pid'] == main]
        if early:
            # The supervisor sees the connection close and connects again at once.
            self.assertTrue(c.wait_for(reconnected, 10), 'no reconnection')
        out, err = p.communicate(b'go\n', timeout=60)
        self.assertTrue(c.wait_for(reconnected, 10), 'no reconnection')
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(err, b'')
        truth = json.loads(out.splitlines()[-1])
        c.wait_quiet(5)
        return c, truth, before

    def test_dropped_connection_reconnects_and_reannounces(self):
        for method in ('fork', 'spawn'):
            with self.subTest(method=method):
                self._dropped(method)

    def _dropped(self, method):
        def flushed(ms):
            # Nothing in flight at the drop: 40 puts and 25 gets (or the depth of 15 they
            # leave) reported, and the exit of the child left unjoined.
            f = support.reduce_messages(ms)
            queues = list(f.queues.values())
            quick = [pr for pr in f.procs.values()
                     if (pr['started'] or {}).get('name') == 'exits-unjoined']
            return (len(queues) == 1 and queues[0]['puts'] == 40
                    and (queues[0]['gets'] == 25 or queues[0].get('depth') == 15)
                    and quick and quick[0]['exited'])

        c, truth, before = self._run(RECONNECT_PROG, [method], lambda c, pid: c.drop(pid), reported=flushed)
        msgs = c.snapshot()
        main = truth['main']
        facts = support.reduce_messages(msgs)
        mains = [i for i, m in enumerate(msgs) if m['type'] == 'hello' and m['pid'] == main]
        self.assertEqual(len(mains), 2, 'one hello per connection')
        # Counts over both connections: exact (nothing was in flight at the drop).
        (qid, q), = facts.queues.items()
        self.assertEqual((q['puts'], q['gets']), (truth['puts'], truth['gets']))
        self.assertEqual(q['puts'] - q['gets'], truth['depth'])
        # The new connection re-announced the queue and the children not yet collected,
        # with their original times (a later `t` would read as a new process).
        second = [m for m, o in zip(msgs, c.origins) if o == c.origins[mains[1]]]
        self.assertEqual(second[0]['type'], 'hello')
        first_started = {m['pid']: m for m in msgs[:before] if m['type'] == 'process.started'}
        re_started = {m['pid']: m for m in second if m['type'] == 'process.started'}
        kids = truth['children']
        for name in ('lives-across', 'exits-unjoined'):
            pid = kids[name][0]
            self.assertIn(pid, re_started, name)
            self.assertEqual(re_started[pid]['t'], first_started[pid]['t'])
            self.assertEqual(re_started[pid]['name'], name)
        self.assertNotIn(kids['before-drop'][0], re_started, 'a reaped child is not re-announced')
        self.assertIn(qid, [m['id'] for m in second if m['type'] == 'queue.created'])
        # Every child's life is complete and consistent across the two connections
        # (exits-unjoined is collected by the next start(), as multiprocessing does, and the
        # program's quick.join() at the end is reported after that as its own join).
        for name, (pid, code) in kids.items():
            fp = facts.procs[pid]
            self.assertIsNotNone(fp['started'], name)
            self.assertEqual(set(fp['exited']), {code}, name)
            self.assertEqual(fp['reaped'], [False, True] if name == 'exits-unjoined' else [True], name)
        self.assertEqual(c.rejected, [])
        self.assertEqual(c.bad_lines, [])

    def test_write_to_a_dropped_connection(self):
        # Dropped while the program waits: it learns of it on its next write.
        c, truth, before = self._run(QUIET_PROG, [], lambda c, pid: c.drop(pid), early=False)
        facts = support.reduce_messages(c.snapshot())
        (qid, q), = facts.queues.items()
        self.assertEqual((q['puts'], q['gets']), (9, 4))
        self.assertEqual(q['created']['kind'], 'SimpleQueue')

    def test_restarted_session_gets_the_live_state(self):
        # A new session knows nothing: the hello and the re-announcement describe the
        # process, its queue and its live children (counts from then on are deltas).
        def restart(c, pid):
            with c.cond:
                del c.messages[:]
                del c.origins[:]
            c.restart()
            return 0
        c, truth, _ = self._run(RECONNECT_PROG, ['fork'], restart)
        facts = support.reduce_messages(c.snapshot())
        main = truth['main']
        self.assertEqual(facts.procs[main]['hello']['kind'], 'python')
        self.assertEqual(len(facts.queues), 1)
        # Depth readings are absolute: the new session has the queue's true depth.
        (qid, q), = facts.queues.items()
        self.assertEqual(facts.depth(qid), truth['depth'])
        kids = truth['children']
        for name in ('lives-across', 'exits-unjoined', 'after-drop'):
            fp = facts.procs[kids[name][0]]
            self.assertEqual(fp['started']['name'], name)
            self.assertEqual(set(fp['exited']), {kids[name][1]})

    def test_nobody_listens_after_a_drop(self):
        # The session is gone for good and its owner chose `keep`: the program runs on,
        # unaffected and unblocked (the default, `stop`, is test_owner's).
        c, p = support.start_program(self, RECONNECT_PROG, ['fork'],
                                     extra_env={'MPTREE_WHEN_VIEWER_GONE': 'keep'})
        self.assertEqual(p.stdout.readline().strip(), b'ready')
        c.wait_for(lambda ms: p.pid in c.conns, 10)
        c.vanish()
        out, err = p.communicate(b'go\n', timeout=60)
        self.assertEqual((p.returncode, err), (0, b''))
        self.assertEqual(json.loads(out.splitlines()[-1])['children']['after-drop'][1], 0)


STUBBORN = r'''
import json, multiprocessing as mp, os, signal, sys, time

def stubborn(ready):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    ready.set()
    while True:
        time.sleep(0.05)

if __name__ == '__main__':
    mp.set_start_method(sys.argv[1])
    ready = mp.Event()
    p = mp.Process(target=stubborn, args=(ready,), name='stubborn')
    p.start()
    ready.wait(30)
    p.terminate()
    p.join(0.5)
    alive = p.is_alive()
    p.kill()
    p.join()
    print(json.dumps({'pid': p.pid, 'aliveAfterTerm': alive, 'code': p.exitcode}))
'''

NAMES = r'''
import json, multiprocessing as mp, os, sys

def work(q, n):
    q.put(n)

if __name__ == '__main__':
    mp.set_start_method(sys.argv[1])
    q = mp.Queue()
    ps = [mp.Process(target=work, args=(q, i), name=name) for i, name in enumerate(['生产者', '工人-甲'])]
    for p in ps:
        p.start()
    print(sorted(q.get() for _ in ps))
    for p in ps:
        p.join()
    with open(os.environ['MPTREE_FIXTURE_TRUTH'], 'w', encoding='utf-8') as f:
        json.dump({'main': os.getpid(), 'pids': {p.name: p.pid for p in ps},
                   'file': os.path.abspath(__file__)}, f, ensure_ascii=False)
'''


class UnusualPrograms(unittest.TestCase):
    maxDiff = None

    def _prog(self, code, dirname='prog', filename='prog.py'):
        d = tempfile.mkdtemp(prefix='mptree-unusual-')
        self.addCleanup(shutil.rmtree, d, True)
        sub = os.path.join(d, dirname)
        os.makedirs(sub)
        path = os.path.join(sub, filename)
        with open(path, 'w', encoding='utf-8') as f:
            f.write(code)
        return d, path

    def test_child_ignoring_sigterm(self):
        for method in support.METHODS:
            with self.subTest(method=method):
                _, prog = self._prog(STUBBORN)
                bare = run_script(prog, [method], instrumented=False, truth=False)
                r = run_script(prog, [method], truth=False)
                self.assertEqual((r.rc, r.stderr), (0, b''))
                out = json.loads(r.stdout)
                self.assertEqual((out['aliveAfterTerm'], out['code']), (True, -signal.SIGKILL))
                self.assertEqual(json.loads(bare.stdout)['code'], -signal.SIGKILL)
                fp = r.facts.procs[out['pid']]
                self.assertEqual(fp['started']['name'], 'stubborn')
                self.assertEqual(fp['exited'], [-signal.SIGKILL])
                self.assertEqual(fp['reaped'], [True])

    def test_non_ascii_names_and_paths(self):
        # The program, its folder and the runtime's folder all have Chinese names.
        for method in support.METHODS:
            with self.subTest(method=method):
                d, prog = self._prog(NAMES, dirname='项目 目录', filename='程序.py')
                runtime = os.path.join(d, '运行时', 'runtime')
                shutil.copytree(support.RUNTIME, runtime,
                                ignore=shutil.ignore_patterns('__pycache__'))
                c = support.Collector()
                self.addCleanup(c.close)
                env = c.env()
                env['PYTHONPATH'] = runtime
                fd, truth_path = tempfile.mkstemp(prefix='mptree-truth-')
                os.close(fd)
                self.addCleanup(os.unlink, truth_path)
                env['MPTREE_FIXTURE_TRUTH'] = truth_path
                out = subprocess.run([sys.executable, prog, method], env=env, cwd=d,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
                self.assertEqual((out.returncode, out.stderr), (0, b''))
                self.assertEqual(out.stdout, b'[0, 1]\n')
                c.wait_quiet(5)
                with open(truth_path, encoding='utf-8') as f:
                    truth = json.load(f)
                facts = support.reduce_messages(c.snapshot())
                self.assertEqual(c.bad_lines, [])
                for name, pid in truth['pids'].items():
                    self.assertEqual(facts.procs[pid]['started']['name'], name)
                    self.assertEqual(facts.procs[pid]['exited'], [0])
                hello = facts.procs[truth['main']]['hello']
                self.assertIn(prog, hello['argv'])
                (q,) = facts.queues.values()
                self.assertTrue(q['created']['site'].startswith(prog + ':'), q['created'])
                self.assertEqual((q['puts'], q['gets']), (2, 2))
                if method == 'spawn':
                    names = {h['name'] for h in facts.hellos}
                    self.assertTrue({'生产者', '工人-甲'} <= names)

    def test_user_sitecustomize_and_pythonpath_in_spawn_children(self):
        d, prog = self._prog(
            'import multiprocessing as mp, sys, usermod\n'
            'def child():\n'
            '    import sitecustomize\n'
            '    print("child", getattr(sitecustomize, "MARK", None), usermod.VALUE, flush=True)\n'
            'if __name__ == "__main__":\n'
            '    mp.set_start_method("spawn")\n'
            '    p = mp.Process(target=child, name="spawned"); p.start(); p.join()\n'
            '    print("exit", p.exitcode)\n')
        user = os.path.join(d, 'user')
        os.makedirs(user)
        with open(os.path.join(user, 'sitecustomize.py'), 'w') as f:
            f.write('import os, sys\nsys.stderr.write("user site %d\\n" % 1)\nMARK = "mine"\n')
        with open(os.path.join(user, 'usermod.py'), 'w') as f:
            f.write('VALUE = "from-user-path"\n')
        bare = run_script(prog, instrumented=False, truth=False, extra_pythonpath=user)
        r = run_script(prog, truth=False, extra_pythonpath=user)
        self.assertEqual((r.rc, r.stdout, r.stderr), (bare.rc, bare.stdout, bare.stderr))
        self.assertEqual(r.stdout, b'child mine from-user-path\nexit 0\n')
        # main, the resource tracker and the child: each ran the user's sitecustomize
        self.assertEqual(r.stderr, b'user site 1\n' * 3)
        spawned = [h for h in r.facts.hellos if h['name'] == 'spawned']
        self.assertEqual(len(spawned), 1)

    def test_isolated_and_no_site_modes_run_without_the_runtime(self):
        # -I ignores PYTHONPATH and -S skips site: the runtime cannot load, the program
        # runs as bare, and nothing connects (the session falls back to the OS view).
        _, prog = self._prog(
            'import multiprocessing as mp, sys\n'
            'if __name__ == "__main__":\n'
            '    p = mp.Process(target=print, args=("child",)); p.start(); p.join()\n'
            '    print("modules", "mptree_runtime" in sys.modules, p.exitcode)\n')
        for flag in ('-I', '-S'):
            with self.subTest(flag=flag):
                c = support.Collector()
                self.addCleanup(c.close)
                out = subprocess.run([sys.executable, flag, prog], env=c.env(),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
                self.assertEqual((out.returncode, out.stdout, out.stderr),
                                 (0, b'child\nmodules False 0\n', b''))
                c.wait_quiet(1)
                self.assertEqual(c.snapshot(), [])


if __name__ == '__main__':
    unittest.main()
