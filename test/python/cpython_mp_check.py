"""Run CPython's own multiprocessing tests bare and under the mptree runtime (with a real
collector socket, so the runtime is really active) and compare pass/fail per test.

    python3 test/python/cpython_mp_check.py --quick                 # ~3 min, 3 methods
    python3 test/python/cpython_mp_check.py --methods fork          # full, one method
    python3 test/python/cpython_mp_check.py --classes WithProcessesTestQueue,...

Exits non-zero when any test passes bare but not instrumented (or the reverse). Tests
that fail bare too are listed but are not differences. A difference is re-run once in
both modes, so one-off timing flakes on a loaded machine are not counted.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
from test.python.support import Collector, HungProgram, RUNTIME, run_or_show_the_hang  # noqa: E402

# A representative subset: processes, queues, pools, managers, connections, lifecycle.
# (Not WithThreadsTestPool: its test_terminate can run for many minutes even bare, on a
# loaded machine — 10,000 one-second tasks a ThreadPool cannot stop. Thread pools are
# covered by test_runtime's test_thread_pools_run_as_bare and the full run.)
QUICK = [
    'WithProcessesTestProcess', 'WithProcessesTestQueue', 'WithProcessesTestPool',
    'WithProcessesTestPoolWorkerLifetime', 'WithProcessesTestLock',
    'WithProcessesTestConnection',
    'WithProcessesTestSubclassingProcess', 'WithProcessesTestPollEintr',
    'WithManagerTestQueue', 'WithManagerTestPool',
    'WithProcessesTestValue', 'WithProcessesTestEvent',
    'TestStartMethod', 'TestForkAwareThreadLock', 'MiscTestCase',
]

# The tests are installed into a real module file (as CPython's test_multiprocessing_*
# do), so spawn and forkserver children can import the test classes by name.
MODULE = """
import sys
import test._test_multiprocessing as base
base.install_tests_in_module_dict(globals(), sys.argv[1] if __name__ == '__main__' else
                                  __import__('os').environ['MP_CHECK_METHOD'])
"""

RUNNER = r'''
import json, os, sys, unittest
if __name__ == '__main__':
    os.environ['MP_CHECK_METHOD'] = sys.argv[1]
    import mp_under_check as mod
    ns = vars(mod)
    loader = unittest.TestLoader()
    names = [n for n in sys.argv[3].split(',') if n] if len(sys.argv) > 3 else []
    only = set(sys.argv[4].split(',')) if len(sys.argv) > 4 else None
    suite = unittest.TestSuite()
    for name, obj in sorted(ns.items()):
        if isinstance(obj, type) and issubclass(obj, unittest.TestCase) and obj.__module__ == 'mp_under_check' \
                and (not names or name in names):
            for t in loader.loadTestsFromTestCase(obj):
                if only is not None and t.id().split('.', 1)[1] not in only:
                    continue
                suite.addTest(t)

    class R(unittest.TextTestResult):
        outcomes = {}
        def _set(self, test, what):
            R.outcomes[test.id().split('.', 1)[1]] = what
        def addSuccess(self, t): super().addSuccess(t); self._set(t, 'pass')
        def addFailure(self, t, e): super().addFailure(t, e); self._set(t, 'fail')
        def addError(self, t, e): super().addError(t, e); self._set(t, 'error')
        def addSkip(self, t, r): super().addSkip(t, r); self._set(t, 'skip')
        def addExpectedFailure(self, t, e): super().addExpectedFailure(t, e); self._set(t, 'xfail')
        def addUnexpectedSuccess(self, t): super().addUnexpectedSuccess(t); self._set(t, 'xpass')

    ns['setUpModule']()
    try:
        unittest.TextTestRunner(stream=sys.stderr, resultclass=R, verbosity=0).run(suite)
    finally:
        ns['tearDownModule']()
    with open(sys.argv[2], 'w') as f:
        json.dump(R.outcomes, f)
'''


def run_once(method, classes, instrumented, only=None, timeout=3600):
    collector = Collector() if instrumented else None
    fd, out = tempfile.mkstemp(suffix='.json')
    os.close(fd)
    with tempfile.TemporaryDirectory() as d:
        runner = os.path.join(d, 'run_mp_check.py')
        with open(runner, 'w') as f:
            f.write(RUNNER)
        with open(os.path.join(d, 'mp_under_check.py'), 'w') as f:
            f.write(MODULE)
        if instrumented:
            env = collector.env()
        else:
            env = dict(os.environ)
            env.pop('PYTHONPATH', None)
        env['MP_CHECK_METHOD'] = method
        args = [sys.executable, runner, method, out, ','.join(classes)]
        if only:
            args.append(','.join(only))
        t0 = time.monotonic()
        try:
            p = run_or_show_the_hang(args, env, d, timeout)
            tail = p.stderr.decode('utf-8', 'replace')[-3000:]
        except HungProgram as hung:
            # Printed now: the outcomes of a hung run are lost, its stacks need not be.
            print('%s %s run hung:\n%s' % (method, 'instrumented' if instrumented else 'bare', hung), flush=True)
            tail = 'TIMEOUT'
        elapsed = time.monotonic() - t0
    try:
        with open(out) as f:
            outcomes = json.load(f)
    except (OSError, ValueError):
        outcomes = {}
    os.unlink(out)
    messages = 0
    if collector is not None:
        collector.wait_quiet(3)
        messages = len(collector.snapshot())
        collector.close()
    return outcomes, elapsed, tail, messages


def ok(outcome):
    return outcome in ('pass', 'skip', 'xfail')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--quick', action='store_true')
    ap.add_argument('--methods', default='fork,spawn,forkserver')
    ap.add_argument('--classes', default='')
    args = ap.parse_args()
    classes = [c for c in args.classes.split(',') if c] or (QUICK if args.quick else [])
    total_diff = 0
    summary = []
    for method in args.methods.split(','):
        # A quick run takes about a minute (two on a loaded machine): one still going after
        # 400 s is hung, and its stacks are printed before the CI job's own timeout.
        limit = 400 if args.quick else 3600
        bare, tb, tail_b, _ = run_once(method, classes, False, timeout=limit)
        inst, ti, tail_i, nmsg = run_once(method, classes, True, timeout=limit)
        if not bare or not inst:
            print('%s: a run produced no results\n--- bare:\n%s\n--- instrumented:\n%s'
                  % (method, tail_b, tail_i))
            total_diff += 1
            continue
        diffs = sorted(t for t in set(bare) | set(inst)
                       if ok(bare.get(t, 'missing')) != ok(inst.get(t, 'missing')))
        if diffs:
            # Re-run just those, both ways, to tell flakes from real differences.
            b2, _, _, _ = run_once(method, [], False, only=diffs)
            i2, _, _, _ = run_once(method, [], True, only=diffs)
            diffs = [t for t in diffs if ok(b2.get(t, 'missing')) != ok(i2.get(t, 'missing'))
                     and ok(bare.get(t, 'missing')) != ok(inst.get(t, 'missing'))]
        both_fail = sorted(t for t in bare if not ok(bare[t]) and not ok(inst.get(t, 'missing')))
        line = ('%-10s tests %4d  bare ok %4d (%.0fs)  instrumented ok %4d (%.0fs, %d messages)'
                '  differences %d  failing both ways %d'
                % (method, len(bare), sum(ok(v) for v in bare.values()), tb,
                   sum(ok(v) for v in inst.values()), ti, nmsg, len(diffs), len(both_fail)))
        summary.append(line)
        print(line, flush=True)
        for t in diffs:
            print('    DIFFERENT: %s  bare=%s instrumented=%s' % (t, bare.get(t), inst.get(t)))
        for t in both_fail:
            print('    fails bare too: %s' % t)
        total_diff += len(diffs)
    print('\n'.join(['', 'summary:'] + summary))
    print('RESULT:', 'no differences' if total_diff == 0 else '%d difference(s)' % total_diff)
    sys.exit(1 if total_diff else 0)


if __name__ == '__main__':
    main()
