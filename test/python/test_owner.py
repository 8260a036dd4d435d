"""A run never outlives its owner: when the session that owns it goes for good (its socket
closed, nobody to reconnect to), the runtime ends the whole program tree, daemon or not,
helpers and `subprocess` / `os.fork` descendants included; with MPTREE_WHEN_VIEWER_GONE=keep
the program runs on, unchanged. Checked through /proc, by the run's id."""

import json
import os
import sys
import time
import unittest

from . import support

METHODS = ('fork', 'spawn', 'forkserver')

# Everything a run can hold: a Manager (its server), a Pool busy with tasks, a daemon and a
# plain child, a child that ignores SIGTERM, a `subprocess` sleep, an os.fork child, and
# (spawn/forkserver) the resource tracker and the forkserver; the CLI's tests run it too.
# Arguments: the start method and how many seconds the program is busy.
with open(support.fixture(os.path.join('cli', 'owner_family.py')), encoding='utf-8') as _f:
    FAMILY = _f.read()


def wait_gone(run_id, seconds):
    deadline = time.monotonic() + seconds
    left = support.run_members(run_id)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = support.run_members(run_id)
    return left


@unittest.skipUnless(sys.platform.startswith('linux'), 'processes found by /proc/PID/environ')
class OwnerGone(unittest.TestCase):

    def _start(self, method, secs, extra_env=None):
        c, p = support.start_program(self, FAMILY, [method, str(secs)], extra_env=extra_env)
        self.assertEqual(p.stdout.readline().strip(), b'ready', p.stderr.read1(4096) if p.poll() is not None else b'')
        self.assertTrue(c.wait_for(lambda ms: p.pid in c.conns, 10))
        return c, p

    def test_stop_when_the_session_is_gone(self):
        for method in METHODS:
            with self.subTest(method=method):
                c, p = self._start(method, 60)
                members = support.run_members(c.run_id)
                # main, manager, 2 workers, 3 children, sleep, fork child (+ helpers)
                self.assertGreaterEqual(len(members), 9, members)
                gone_at = time.monotonic()
                c.vanish()
                # The README's promise: the run ends within about 3 s (2 s of reconnection
                # attempts, 1 s of grace for the child that ignores SIGTERM). Measured from
                # vanish(): 3.04-3.17 s at a load average of 6 on 2 cores with a second
                # copy of this test running; 4.5 s is the promise with that load's margin.
                left = wait_gone(c.run_id, 15)
                took = time.monotonic() - gone_at
                self.assertEqual(left, [], 'processes of the run left behind')
                self.assertLessEqual(took, 4.5, 'the run took %.2f s to end after its owner went' % took)
                p.communicate(timeout=5)
                self.assertEqual(p.returncode, -15, 'the main process was sent SIGTERM')

    def test_keep_runs_on(self):
        for method in ('fork', 'spawn'):
            with self.subTest(method=method):
                c, p = self._start(method, 10, {'MPTREE_WHEN_VIEWER_GONE': 'keep'})
                members = sorted(support.run_members(c.run_id))
                c.vanish()
                # The absence of a stop can only be seen after the time a stop takes: past
                # the 4.5 s bound test_stop_when_the_session_is_gone holds it to, while the
                # program (busy 10 s) still has 5 s to go.
                time.sleep(5)
                self.assertEqual(sorted(support.run_members(c.run_id)), members, 'all still running')
                out, err = p.communicate(timeout=60)
                self.assertEqual(p.returncode, 0, err)
                self.assertEqual(json.loads(out.splitlines()[-1]), {'done': True, 'codes': [0, 0, 0]})
                self.assertEqual(err, b'')

    def test_a_restarted_session_is_not_a_death(self):
        # Reconnected within the 2 s: the program runs on and ends normally.
        c, p = self._start('fork', 3)
        c.restart()
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        self.assertTrue(json.loads(out.splitlines()[-1])['done'])


if __name__ == '__main__':
    unittest.main()
