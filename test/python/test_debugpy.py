"""The runtime and debugpy in the same processes (debugging's Python side): a program launched
under debugpy's adapter with subProcess on, as VS Code launches it, with the runtime injected
too. A DAP client (dap.py) attaches to every child, a breakpoint stops a worker, and while it
is stopped the tree already shows that worker by name under its real parent; at the end the
tree is the one the same program gives without a debugger, and debugpy's own processes
(adapter, launcher) are nowhere in it.

Needs an interpreter with debugpy: Debian's /usr/bin/python3 with python3-debugpy (or
MPTREE_DEBUGPY_PYTHON); skipped, with that reason, where there is none, but failed under CI=true."""

import json
import os
import tempfile
import time
import unittest

from . import dap, support

PYTHON = dap.debugpy_python()
PROGRAM = support.fixture('debug_workers.py')
with open(PROGRAM, encoding='utf-8') as _f:
    BREAK_LINE = next(i for i, line in enumerate(_f, 1) if '# breakpoint:' in line)


def tree_shape(facts, main):
    """What the tree shows, pid-free: (name, kind, role, parent's name, exit codes, joined)."""
    names = {}
    for pid, p in facts.procs.items():
        names[pid] = (p['started'] or p['hello'] or {}).get('name')
    names[main] = 'MainProcess'
    shape = []
    for pid, p in facts.procs.items():
        info = p['started'] or p['hello']
        parent = None if pid == main else names.get(info.get('parentPid'))
        shape.append((names[pid], info.get('kind'), info.get('role'), parent,
                      tuple(p['exited']), tuple(p['reaped'])))
    return sorted(shape, key=repr)


@unittest.skipUnless(PYTHON or os.environ.get('CI') == 'true',
                     'no interpreter with debugpy here (apt-get install python3-debugpy, '
                     'or set MPTREE_DEBUGPY_PYTHON)')
class UnderDebugpy(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        # In CI (which installs python3-debugpy) a missing debugpy fails every test here
        # instead of skipping them all.
        if not PYTHON:
            self.fail('CI=true but no interpreter can import debugpy (apt-get install python3-debugpy)')

    def debug(self, method):
        c = support.Collector()
        self.addCleanup(c.close)
        fd, truth_path = tempfile.mkstemp(prefix='mptree-truth-', suffix='.json')
        os.close(fd)
        self.addCleanup(os.unlink, truth_path)
        env = c.env()
        env.update(MPTREE_FIXTURE_METHOD=method, MPTREE_FIXTURE_TRUTH=truth_path)
        run = dap.DebugRun(PYTHON, PROGRAM, env, os.path.dirname(PROGRAM),
                           breakpoints=[(PROGRAM, BREAK_LINE)])
        self.addCleanup(run.close)
        return c, run, truth_path

    def check(self, method):
        c, run, truth_path = self.debug(method)
        channel, pid, body = run.next_stop(90)
        self.assertEqual(body.get('reason'), 'breakpoint')
        frame = run.stack_top(channel, body['threadId'])
        self.assertEqual((frame['name'], frame['line'], frame['source']['path']),
                         ('work', BREAK_LINE, PROGRAM))
        # Stopped at the breakpoint, the worker is in the tree, by name, under its parent,
        # running: the session knows which worker the debugger stopped.
        c.wait_for(lambda ms: any(m.get('type') == 'process.started' and m.get('pid') == pid
                                  for m in ms), 10)
        facts = support.reduce_messages(c.snapshot())
        stopped = facts.procs[pid]
        self.assertIn(stopped['started']['name'], ('worker-1', 'worker-2'))
        self.assertEqual(stopped['exited'], [])
        main = stopped['started']['parentPid']
        self.assertEqual(facts.procs[main]['hello']['name'], 'MainProcess')

        # Go on through every stop (four tasks, two workers) to the end of the program.
        run.resume(channel, body['threadId'])
        stops = 1
        while not run.exited.is_set():
            try:
                channel, pid, body = run.next_stop(2)
            except Exception:
                continue
            stops += 1
            run.resume(channel, body['threadId'])
        self.assertEqual(run.attach_errors, [])
        self.assertEqual(stops, 4, 'one stop per task')
        c.wait_quiet(3.0)
        with open(truth_path, encoding='utf-8') as f:
            truth = json.load(f)
        facts = support.reduce_messages(c.snapshot())
        self.assertEqual(truth['main'], main)
        for t in truth['processes']:
            p = facts.procs[t['pid']]
            self.assertEqual((p['started']['name'], p['started']['parentPid'], p['exited'],
                              p['reaped']), (t['name'], main, [t['exitCode']], [True]))
        # Nothing of debugpy's: every process that spoke is the program's (or its
        # multiprocessing helpers'), and all of them descend from the program's main.
        # Command lines are the program's: debugpy's wrapper and its secrets taken out.
        for p in facts.procs.values():
            if p['hello']:
                line = ' '.join(p['hello'].get('argv') or [])
                for leak in ('debugpy', 'pydevd', 'access-token', 'access_token'):
                    self.assertNotIn(leak, line)
        self.assertEqual(facts.procs[main]['hello']['argv'][-1], PROGRAM)
        self.assertEqual(set(facts.procs) - {main}, {t['pid'] for t in truth['processes']} |
                         {pid for pid, p in facts.procs.items()
                          if (p['hello'] or {}).get('kind') == 'helper'})

        # The same tree as without a debugger.
        bare = support.run_script(PROGRAM, [method], cwd=os.path.dirname(PROGRAM))
        self.assertEqual(bare.rc, 0, bare.stderr)
        self.assertEqual(tree_shape(facts, main), tree_shape(bare.facts, bare.truth['main']))

    def test_fork(self):
        self.check('fork')

    def test_spawn(self):
        self.check('spawn')


class DebugpyCommandLines(unittest.TestCase):
    """What the tree shows as a command line when debugpy wrapped it (no debugpy needed)."""

    def test_debugpy_taken_out(self):
        import sys
        if support.RUNTIME not in sys.path:
            sys.path.insert(0, support.RUNTIME)
        from mptree_runtime.identity import without_debugpy
        self.assertEqual(without_debugpy(
            ['/usr/bin/python3', '-X', 'frozen_modules=off', '/usr/lib/python3/dist-packages/debugpy',
             '--connect', '127.0.0.1:4000', '--configure-qt', 'none', '--adapter-access-token',
             'SECRET', '/w/prog.py', '--verbose']),
            ['/usr/bin/python3', '-X', 'frozen_modules=off', '/w/prog.py', '--verbose'])
        self.assertEqual(without_debugpy(['python', '-m', 'debugpy', '--listen', '5678',
                                          '--wait-for-client', 'prog.py']), ['python', 'prog.py'])
        self.assertEqual(without_debugpy(
            ['python', '-c', "import sys; import pydevd; pydevd.settrace(host='127.0.0.1', "
             "access_token='SECRET', __setup_holder__={'ppid': 1}); from multiprocessing.spawn "
             "import spawn_main; spawn_main(tracker_fd=5)", '--multiprocessing-fork']),
            ['python', '-c', 'from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=5)',
             '--multiprocessing-fork'])
        # A program that merely has "debugpy" among its arguments keeps them.
        self.assertEqual(without_debugpy(['python', 'prog.py', 'debugpy', '--x']),
                         ['python', 'prog.py', 'debugpy', '--x'])


if __name__ == '__main__':
    unittest.main()
