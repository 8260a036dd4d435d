"""The runtime against real programs: every seed pattern under fork, spawn and forkserver,
compared with the ground truth each program recorded about itself."""

import concurrent.futures
import json
import os
import subprocess
import sys
import signal
import tempfile
import time
import unittest

from . import support
from .support import METHODS, fixture, run_script

PATTERNS = ['process_basics.py', 'exit_codes.py', 'daemon.py', 'pipe_lock_value.py',
            'pool_patterns.py', 'pool_maxtasks.py', 'queue_patterns.py',
            'manager_patterns.py', 'nested.py', 'executor.py', 'fork_and_subprocess.py',
            'collected_by.py']
# Programs whose output does not depend on scheduling: bare and instrumented must print
# the very same bytes.
DETERMINISTIC = ['process_basics.py', 'exit_codes.py', 'pipe_lock_value.py',
                 'queue_patterns.py', 'nested.py', 'pool_patterns.py']
KNOWN_TYPES = {'hello', 'process.started', 'process.exited', 'process.exiting', 'process.atexit',
               'process.usage', 'process.reaped', 'queue.created', 'queue.counts', 'queue.depth', 'pool.created',
               'pool.workers', 'pool.counts', 'pool.state', 'control.result',
               'task.begin', 'task.end', 'worker.counts',
               'lock.created', 'lock.held', 'lock.released', 'wait.begin', 'wait.end'}

RESULTS = {}
# No start method set, the default being forkserver (Python 3.14 on Linux; emulated before
# it by the fixtures' _truth.method()): the tree must read as under forkserver.
DEFAULT_FORKSERVER = 'default-forkserver'
RUN_METHODS = METHODS + (DEFAULT_FORKSERVER,)


def setUpModule():
    # Each case is a separate program with its own collector, so they run side by side.
    jobs = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
        for name in PATTERNS:
            for m in RUN_METHODS:
                jobs[(name, m, True)] = ex.submit(run_script, fixture(name), [m])
        jobs[('demo.py', None, True)] = ex.submit(run_script, fixture('demo.py'), truth=False)
        for name in DETERMINISTIC:
            for m in METHODS:
                jobs[(name, m, False)] = ex.submit(run_script, fixture(name), [m],
                                                   instrumented=False)
        for key, fut in jobs.items():
            try:
                RESULTS[key] = fut.result()
            except Exception as exc:   # reported by the test that needs it
                RESULTS[key] = exc


def _get(tc, name, method, instrumented=True):
    r = RESULTS.get((name, method, instrumented))
    if isinstance(r, Exception):
        raise r
    tc.assertIsNotNone(r)
    return r


def _queue_key(d, owner_key='ownerPid'):
    return (d['kind'], d['maxsize'], d[owner_key], d['puts'], d['gets'], d['tasksDone'])


class PatternTests(unittest.TestCase):
    maxDiff = None

    def check(self, name, run_method):
        r = _get(self, name, run_method)
        method = 'forkserver' if run_method == DEFAULT_FORKSERVER else run_method
        err = r.stderr.decode('utf-8', 'replace')
        self.assertEqual(r.rc, 0, err)
        # Nothing of ours in what the program printed; the fixtures' own paths may hold the
        # word (a clone in a folder named mptree), so they are taken out first.
        self.assertNotIn('mptree', err.replace(support.FIXTURES, '<fixtures>'))
        self.assertIsNotNone(r.truth, 'the fixture did not record its truth')
        f, truth = r.facts, r.truth
        main = truth['main']

        for m in r.messages:
            self.assertEqual(m.get('v'), 1, m)
            self.assertIsInstance(m.get('t'), float, m)
            self.assertIn(m.get('type'), KNOWN_TYPES, m)
        self.assertEqual(r.collector.rejected, [])
        self.assertEqual(r.collector.bad_lines, [])

        hello = f.procs[main]['hello']
        self.assertIsNotNone(hello, 'main program said no hello')
        self.assertEqual((hello['kind'], hello['startMethod'], hello['name']),
                         ('python', None, 'MainProcess'))
        self.assertEqual(hello['runId'], r.collector.run_id)
        if run_method == DEFAULT_FORKSERVER:
            # No start method was set: multiprocessing itself says the default it took was
            # forkserver (so the rest of this check is the forkserver tree), and its server
            # is reported as a helper named for what it is.
            self.assertEqual(truth['startMethod'], 'forkserver')
            helpers = [h for h in f.hellos if h['kind'] == 'helper' and h['role'] == 'forkserver']
            self.assertTrue(helpers, 'no forkserver helper reported')
            self.assertEqual({h['name'] for h in helpers}, {'forkserver'})

        # Every process multiprocessing started is reported, and nothing else is.
        expected = {p['pid']: p for p in truth['processes']}
        pool_workers = set()
        for pl in truth['pools']:
            pool_workers.update(pl['workers'])
        started = {pid for pid, p in f.procs.items() if p['started']}
        self.assertEqual(started, set(expected) | pool_workers)

        for pid, tp in expected.items():
            fp = f.procs[pid]
            st = fp['started']
            self.assertEqual(st['parentPid'], tp['parentPid'], tp)
            if tp['name'] is not None:
                self.assertEqual(st['name'], tp['name'])
            self.assertEqual(st['daemon'], tp['daemon'], tp)
            self.assertEqual(st['kind'], tp['kind'], tp)
            if tp.get('role'):
                self.assertEqual(st['role'], tp['role'])
            self.assertEqual(st['startMethod'], method)
            if tp.get('target'):
                self.assertEqual(st['target'], tp['target'])
            self.assertEqual(fp['exited'], [tp['exitCode']], tp)
            # Collected once; a second report is only the program's later join() of a
            # child multiprocessing had collected already.
            self.assertIn(fp['reaped'], ([True], [False], [False, True]), tp)
            if tp['joined'] is not None:
                self.assertEqual(fp['reaped'][-1], tp['joined'], tp)
            if tp.get('collectedBy'):
                self.assertEqual(fp['reapedBy'][0], tp['collectedBy'], tp)
            self.assertFalse(fp['exitedAfterReaped'], tp)
            if fp['hello'] is not None:
                # A child that connected (it had something to say) knows who it is.
                h = fp['hello']
                self.assertEqual(h['parentPid'], tp['parentPid'])
                self.assertEqual(h['startMethod'], method)
                if tp['name'] is not None:
                    self.assertEqual(h['name'], tp['name'])

        # Queues: exact counts, nothing lost, nothing invented.
        got = sorted(_queue_key({'kind': q['created']['kind'],
                                 'maxsize': q['created']['maxsize'],
                                 'ownerPid': q['created']['ownerPid'], 'puts': q['puts'],
                                 'gets': q['gets'], 'tasksDone': q['done']})
                     for q in f.queues.values() if 'created' in q)
        self.assertEqual(got, sorted(_queue_key(q) for q in truth['queues']))
        self.assertTrue(all('created' in q for q in f.queues.values()),
                        'counts for a queue that was never created')

        # Pools and executors.
        got = sorted((p['created']['kind'], p['created']['size'], sorted(p['workers']),
                      p['submitted'], p['completed']) for p in f.pools.values())
        want = sorted((p['kind'], p['size'], p['workers'], p['submitted'], p['completed'])
                      for p in truth['pools'])
        self.assertEqual(got, want)
        for pl_id, pl in f.pools.items():
            self.assertEqual(pl['created']['ownerPid'], main)
            for w in pl['workers']:
                st = f.procs[w]['started']
                self.assertEqual((st['kind'], st['poolId']), ('pool-worker', pl_id))
        for tp in truth['pools']:
            if tp['states']:
                match = [p for p in f.pools.values() if sorted(p['workers']) == tp['workers']]
                self.assertEqual(match[0]['states'], tp['states'])
        # Tasks done per worker, as each worker counted them, add up to what the pool
        # completed, and only the pool's own workers count for it.
        done = {}
        for m in r.messages:
            if m['type'] == 'worker.counts':
                for pool_id, worker, n, cpu in m['counts']:
                    self.assertIn(worker, f.pools[pool_id]['workers'])
                    self.assertTrue(cpu is None or cpu >= 0, m)
                    done[pool_id] = done.get(pool_id, 0) + n
        for pl_id, pl in f.pools.items():
            self.assertEqual(done.get(pl_id, 0), pl['completed'], pl_id)
        return r


def _make_pattern_test(name, method):
    def test(self):
        self.check(name, method)
    test.__name__ = 'test_%s_%s' % (name[:-3], method.replace('-', '_'))
    return test


for _name in PATTERNS:
    for _m in RUN_METHODS:
        _t = _make_pattern_test(_name, _m)
        setattr(PatternTests, _t.__name__, _t)


class SpecificFacts(unittest.TestCase):
    def test_exit_code_stderr_traceback_in_child(self):
        for m in METHODS:
            r = _get(self, 'exit_codes.py', m)
            self.assertIn(b'RuntimeError', r.stderr)

    def test_fork_child_quiet_does_not_connect(self):
        # Children with nothing to say stay silent: only the main program says hello.
        r = _get(self, 'process_basics.py', 'fork')
        self.assertEqual([h['pid'] for h in r.facts.hellos], [r.truth['main']])

    def test_spawn_children_say_hello_with_their_identity(self):
        r = _get(self, 'process_basics.py', 'spawn')
        names = {h['name'] for h in r.facts.hellos if h['kind'] == 'process'}
        self.assertIn('进程-露西', names)
        self.assertIn('小明', names)
        for h in r.facts.hellos:
            if h['kind'] == 'process':
                self.assertEqual(h['startMethod'], 'spawn')
                self.assertEqual(r.facts.procs[h['pid']]['exiting'], 0)

    def test_helpers_recognised(self):
        r = _get(self, 'process_basics.py', 'forkserver')
        roles = {h['role'] for h in r.facts.hellos if h['kind'] == 'helper'}
        self.assertEqual(roles, {'forkserver', 'resource-tracker'})
        r = _get(self, 'manager_patterns.py', 'fork')
        mgr = [p for p in r.facts.procs.values()
               if p['started'] and p['started']['role'] == 'manager']
        self.assertEqual(len(mgr), 1)
        self.assertEqual(mgr[0]['started']['kind'], 'helper')

    def test_os_fork_and_subprocess_children(self):
        for m in METHODS:
            r = _get(self, 'fork_and_subprocess.py', m)
            extra = r.truth['extra']
            sub = r.facts.procs[extra['subprocess']]['hello']
            self.assertEqual((sub['kind'], sub['parentPid'], sub['startMethod']),
                             ('python', r.truth['main'], None))
            forked = r.facts.procs[extra['osfork']]['hello']
            self.assertEqual((forked['kind'], forked['startMethod'], forked['parentPid']),
                             ('python', 'os.fork', r.truth['main']))
            # Named for what it is, not "MainProcess" (its current_process() is the main's).
            self.assertEqual(forked['name'], 'os.fork of MainProcess')
            self.assertIsNone(r.facts.procs[extra['osfork']]['started'])

    def test_queue_depth_left_behind(self):
        for m in METHODS:
            r = _get(self, 'queue_patterns.py', m)
            depths = sorted((q['created']['kind'], q['created']['maxsize'],
                             q['puts'] - q['gets']) for q in r.facts.queues.values())
            self.assertEqual(depths, [('JoinableQueue', 0, 0), ('Queue', 2, 1), ('Queue', 5, 2),
                                      ('SimpleQueue', 0, 0), ('SimpleQueue', 0, 1)])

    def test_queue_sites_point_at_the_program(self):
        r = _get(self, 'queue_patterns.py', 'fork')
        for q in r.facts.queues.values():
            self.assertTrue(q['created']['site'].startswith(fixture('queue_patterns.py') + ':'),
                            q['created'])


DEPTH_PROG = r"""
import gc, json, multiprocessing as mp, multiprocessing.queues, os, signal, sys, time
import mptree_runtime.state as state


def consume_and_die(q, n):
    for _ in range(n):
        q.get()
    os.kill(os.getpid(), signal.SIGKILL)     # no chance to report anything


def consume_slowly(q, n):
    for _ in range(n):
        q.get()
        time.sleep(0.03)


if __name__ == '__main__':
    ctx = mp.get_context(sys.argv[1])
    killed = ctx.Queue()
    for i in range(10):
        killed.put(i)
    c = ctx.Process(target=consume_and_die, args=(killed, 4))
    c.start()
    c.join()
    slow = ctx.JoinableQueue()
    for i in range(20):
        slow.put(i)
    c2 = ctx.Process(target=consume_slowly, args=(slow, 20))
    c2.start()
    c2.join()
    out = {'killedQsize': killed.qsize(), 'slowQsize': slow.qsize(), 'code': c.exitcode,
           'getWrapped': 'mptree' in multiprocessing.queues.Queue.get.__code__.co_filename,
           'putWrapped': 'mptree' in multiprocessing.queues.Queue.put.__code__.co_filename,
           'sampledBefore': len(state.SAMPLED)}
    del slow
    gc.collect()
    # The supervisor forgets the collected queue on an idle tick (0.5 s): wait for that,
    # with a deadline only against a hang (sampledAfter stays 2 then, and the test fails).
    deadline = time.monotonic() + 30
    while len(state.SAMPLED) > 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    out['sampledAfter'] = len(state.SAMPLED)
    print(json.dumps(out), flush=True)
"""


GRANDCHILD_PROG = r"""
import json, multiprocessing as mp, os, sys, time


def child(out):
    pid = os.fork()
    if pid == 0:
        q = mp.Queue()          # makes this os.fork child connect and speak
        q.put(1)
        os._exit(3)
    os.waitpid(pid, 0)
    out.put(pid)


if __name__ == '__main__':
    ctx = mp.get_context(sys.argv[1])
    out = ctx.SimpleQueue()
    p = ctx.Process(target=child, args=(out,), name='the-child')
    p.start()
    grandchild = out.get()
    p.join()
    print(json.dumps({'child': p.pid, 'grandchild': grandchild}), flush=True)
"""


class OsForkInsideAChild(unittest.TestCase):
    """An os.fork child of a multiprocessing child is its own process: not the child
    (multiprocessing's current_process() still names the child there)."""

    def test_grandchild_describes_itself(self):
        for method in ('fork', 'spawn'):
            with self.subTest(method=method):
                c, p = support.start_program(self, GRANDCHILD_PROG, [method])
                out, err = p.communicate(timeout=60)
                self.assertEqual(p.returncode, 0, err)
                truth = json.loads(out.splitlines()[-1])
                c.wait_quiet(5)
                facts = support.reduce_messages(c.snapshot())
                hello = facts.procs[truth['grandchild']]['hello']
                self.assertEqual((hello['kind'], hello['startMethod'], hello['parentPid']),
                                 ('python', 'os.fork', truth['child']))
                self.assertEqual(hello['name'], 'os.fork of the-child')
                # Its exit code, which only its own os._exit knew.
                self.assertEqual(facts.procs[truth['grandchild']]['exiting'], 3)


FORK_DURING_OUR_IMPORT = r"""
import os, sys, tempfile, time, _thread
state = sys.modules['mptree_runtime.state']
d = tempfile.mkdtemp()
with open(os.path.join(d, 'slow_module.py'), 'w') as f:
    f.write('import time\ntime.sleep(0.6)\ndone = True\n')
sys.path.insert(0, d)
began = []
def ours():          # as the runtime's own threads import (connection._listen_later)
    began.append(time.time())
    state.import_module('slow_module')
_thread.start_new_thread(ours, ())
while not began:
    time.sleep(0.001)
time.sleep(0.2)      # that import is under way
pid = os.fork()
if pid == 0:
    import slow_module     # born with it half-imported, this would wait for ever
    os._exit(7 if slow_module.done else 1)
waited = time.time() - began[0]
for _ in range(1000):
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        print(os.WEXITSTATUS(status), round(waited, 2), flush=True)
        break
    time.sleep(0.01)
else:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    print('hung', flush=True)
"""


class ForkDuringOurImport(unittest.TestCase):
    """A fork in the program's thread while a thread of ours imports a module waits for
    that import to end: the child is not born with the module half-executed and its import
    lock held by a thread it does not have (it would hang importing it: a forkserver's
    pool worker did)."""

    def test_child_imports_what_we_were_importing(self):
        c, p = support.start_program(self, FORK_DURING_OUR_IMPORT)
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        code, waited = out.split()
        self.assertEqual(code, b'7', err)
        self.assertGreaterEqual(float(waited), 0.6)   # the fork waited for the import


class QueueDepthRead(unittest.TestCase):
    """A multiprocessing.Queue's depth is read from the queue's own semaphore, by the
    process that made it and by those that put into it; get() is not counted (it is
    wrapped only to record a wait, see test_waits)."""

    def test_depth_is_the_queues_own(self):
        for method in METHODS:
            with self.subTest(method=method):
                c, p = support.start_program(self, DEPTH_PROG, [method])
                out, err = p.communicate(timeout=60)
                self.assertEqual(p.returncode, 0, err)
                truth = json.loads(out.splitlines()[-1])
                c.wait_quiet(5)
                msgs = c.snapshot()
                facts = support.reduce_messages(msgs)
                by_kind = {q['created']['kind']: (qid, q) for qid, q in facts.queues.items()}
                # A consumer killed before it could report: the depth is still exact.
                self.assertEqual(truth['code'], -signal.SIGKILL)
                _, killed = by_kind['Queue']
                self.assertEqual(truth['killedQsize'], 6)
                self.assertEqual((killed['depth'], killed['puts'], killed['gets']), (6, 10, 4))
                self.assertEqual(killed['counted_gets'], 0, 'gets are not counted')
                # Drained by a child alone, the owner's readings follow it down.
                slow_id, slow = by_kind['JoinableQueue']
                self.assertEqual((slow['depth'], slow['puts'], slow['gets']), (0, 20, 20))
                seen = [d for m in msgs if m['type'] == 'queue.depth'
                        for qid, d in m['depths'] if qid == slow_id]
                self.assertGreaterEqual(len(set(seen) - {0, 20}), 3, seen)
                self.assertEqual((truth['getWrapped'], truth['putWrapped']), (True, True),
                                 'Queue.get records waits (and counts nothing)')
                self.assertEqual((truth['sampledBefore'], truth['sampledAfter']), (2, 1))
                self.assertEqual(c.rejected, [])

    def test_queue_resample(self):
        # A reading is sent when it changes; queue.resample (the session saw another process
        # contradict it) makes the reader send its next one even unchanged, at once.
        c, p = support.start_program(self, (
            'import multiprocessing as mp, sys\n'
            'q = mp.Queue()\n'
            'q.put(1); q.put(2)\n'
            'print(q._mptree_id, flush=True)\n'
            'sys.stdin.readline()\n'))
        qid = p.stdout.readline().decode().strip()
        main = p.pid

        def readings(ms):
            return [m for m in ms if m.get('type') == 'queue.depth'
                    and any(d[0] == qid for d in m['depths'])]
        self.assertTrue(c.wait_for(lambda ms: main in c.conns and readings(ms)
                                   and readings(ms)[-1]['depths'] == [[qid, 2]], 10))
        time.sleep(0.3)     # six ticks that read 2 again and send nothing
        first = len(readings(c.snapshot()))
        # Garbage and ids not ours are ignored; the connection carries on.
        c.send(main, {'type': 'queue.resample', 'ids': 'q-not-a-list'})
        c.send(main, {'type': 'queue.resample', 'ids': ['q1-999', 7, None]})
        c.send(main, {'type': 'queue.resample', 'ids': [qid]})
        again = c.wait_for(lambda ms: len(readings(ms)) > first and readings(ms), 5)
        self.assertTrue(again, 'no reading after queue.resample')
        self.assertEqual([d for d in again[-1]['depths'] if d[0] == qid], [[qid, 2]])
        out, err = p.communicate(b'\n', timeout=30)
        self.assertEqual(p.returncode, 0, err)
        self.assertNotIn(b'mptree', err)

class TalksToAProgram(object):
    """For tests that wait on what a running program reports."""

    def _result(self, c, rid, timeout=10):
        def find(msgs):
            for m in msgs:
                if m.get('type') == 'control.result' and m.get('id') == rid:
                    return m
        m = c.wait_for(find, timeout)
        self.assertIsNotNone(m, 'no control.result %r' % rid)
        return m

    def _exited(self, c, pid, timeout=10):
        def find(msgs):
            for m in msgs:
                if m.get('type') == 'process.exited' and m.get('pid') == pid:
                    return m
        return c.wait_for(find, timeout)


# The supervisor of each waiter kind (waiters.waiter_kind; MPTREE_WAITER forces one) must see a
# child's exit before the program collects it, take a control request from the socket and
# read a queue's depth on its timer. 'selectors' is what macOS runs, 'handles' what Windows
# runs (multiprocessing.connection.wait over sentinels and the socket object).
WAITER_PROG = r"""
import json, multiprocessing as mp, sys, time
from mptree_runtime import state

def leave(code):
    time.sleep(0.2)
    sys.exit(code)

if __name__ == '__main__':
    mp.set_start_method(sys.argv[1])
    q = mp.Queue()
    q.put(1); q.put(2)
    kids = [mp.Process(target=leave, args=(3,)), mp.Process(target=time.sleep, args=(60,))]
    for k in kids:
        k.start()
    sup = state.P.sup
    used = sup.waiter.kind
    print(json.dumps({'waiter': used, 'pids': [k.pid for k in kids], 'queue': q._mptree_id}),
          flush=True)
    sys.stdin.readline()
    for k in kids:
        k.join()
    print(json.dumps([k.exitcode for k in kids]), flush=True)
"""


# More children than one WaitForMultipleObjects call takes (63): the 'handles' waiter shares
# its wait (see waiters._HandleWait._select), the others take them all at once. The first 70
# children (watched first) stay alive, so only the last ten's exits can show that every
# sentinel is looked at.
MANY_PROG = r"""
import json, multiprocessing as mp, sys, time

def leave(code):
    time.sleep(0.5)
    sys.exit(code)

if __name__ == '__main__':
    mp.set_start_method('fork')
    stay = [mp.Process(target=time.sleep, args=(60,)) for _ in range(70)]
    quit = [mp.Process(target=leave, args=(10 + i,)) for i in range(10)]
    for k in stay + quit:
        k.start()
    print(json.dumps({str(k.pid): 10 + i for i, k in enumerate(quit)}), flush=True)
    sys.stdin.readline()
    for k in stay:
        k.terminate()
    for k in stay + quit:
        k.join()
"""


class Waiters(TalksToAProgram, unittest.TestCase):
    def test_more_children_than_one_wait_takes(self):
        for kind in ('epoll', 'handles'):
            with self.subTest(waiter=kind):
                c, p = support.start_program(self, MANY_PROG, extra_env={'MPTREE_WAITER': kind})
                want = {int(pid): code for pid, code in json.loads(p.stdout.readline()).items()}

                def codes(ms):
                    got = {m['pid']: m['exitCode'] for m in ms
                           if m.get('type') == 'process.exited' and m.get('pid') in want}
                    return got if len(got) == len(want) else None
                got = c.wait_for(codes, 20)
                self.assertEqual(got, want, 'exits seen before the program joined')
                out, err = p.communicate(b'go\n', timeout=30)
                self.assertEqual(p.returncode, 0, err)

    def test_every_waiter_sees_exits_controls_and_depths(self):
        for kind in ('epoll', 'selectors', 'handles'):
            for method in ('fork', 'spawn'):
                with self.subTest(waiter=kind, method=method):
                    self._check(kind, method)

    def _check(self, kind, method):
        c, p = support.start_program(self, WAITER_PROG, [method],
                                     extra_env={'MPTREE_WAITER': kind})
        line = p.stdout.readline()
        self.assertTrue(line, p.stderr.read() if p.poll() is not None else 'no output')
        info = json.loads(line)
        self.assertEqual(info['waiter'], kind)
        quits, sleeper = info['pids']
        # Exit seen by the waiter while the program has not joined anything yet.
        first = self._exited(c, quits)
        self.assertIsNotNone(first, 'exit of a child the program has not joined: not seen')
        self.assertEqual(first['exitCode'], 3)
        self.assertTrue(c.wait_for(lambda ms: [m for m in ms if m.get('type') == 'queue.depth'
                                               and [info['queue'], 2] in m['depths']], 10),
                        'no depth reading')
        c.send_control(p.pid, {'id': 1, 'op': 'terminate', 'pid': sleeper})
        result = self._result(c, 1)
        self.assertTrue(result['ok'], result)
        second = self._exited(c, sleeper)
        self.assertIsNotNone(second, 'terminated child: no exit')
        self.assertEqual(second['exitCode'], -15)
        out, err = p.communicate(b'go\n', timeout=30)
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(json.loads(out), [3, -15])
        self.assertNotIn(b'mptree', err)


class SiteAndAtexit(unittest.TestCase):
    """process.started carries the user's start() line; process.atexit marks the moment the
    main code is done, before multiprocessing's exit handler joins the lingering child."""

    def test_site_and_atexit(self):
        path = fixture('site_and_atexit.py')
        with open(path, encoding='utf-8') as f:
            start_line = next(i for i, line in enumerate(f, 1) if 'START_LINE' in line)
        for method in METHODS:
            with self.subTest(method=method):
                r = run_script(path, [method])
                self.assertEqual(r.rc, 0, r.stderr)
                extra = r.truth['extra']
                started = {m['pid']: m for m in r.messages if m['type'] == 'process.started'}
                self.assertEqual(started[extra['child']]['site'], '%s:%d' % (path, start_line))
                workers = [m for m in started.values() if m['kind'] == 'pool-worker']
                self.assertEqual(len(workers), 2)
                self.assertTrue(all(m['site'] is None for m in workers), workers)
                main = r.truth['main']
                atexit = [m for m in r.messages if m['type'] == 'process.atexit' and m['pid'] == main]
                self.assertEqual(len(atexit), 1, 'one process.atexit from the main process')
                # After the main code's last line, and before the child it then waits for exits.
                exited = [m for m in r.messages if m['type'] == 'process.exited'
                          and m['pid'] == extra['child']]
                self.assertEqual(len(exited), 1)
                self.assertGreaterEqual(atexit[0]['t'], extra['codeDone'])
                self.assertLess(atexit[0]['t'], exited[0]['t'])


class Demo(unittest.TestCase):
    def test_demo_runs_and_reports(self):
        r = _get(self, 'demo.py', None)
        self.assertEqual(r.rc, 0, r.stderr)
        started = {p['started']['name']: p for p in r.facts.procs.values() if p['started']}
        self.assertIn('问候进程', started)
        self.assertEqual(started['exits-with-3']['exited'], [3])
        self.assertEqual(started['heartbeat']['exited'], [-15])
        self.assertEqual(started['heartbeat']['started']['daemon'], True)
        (pool,) = r.facts.pools.values()
        self.assertEqual((pool['created']['size'], pool['submitted'], pool['completed']), (2, 10, 10))
        (q,) = r.facts.queues.values()
        self.assertEqual((q['created']['maxsize'], q['puts'], q['gets']), (3, 13, 13))


class Transparency(unittest.TestCase):
    maxDiff = None

    def test_same_output_bare_and_instrumented(self):
        for name in DETERMINISTIC:
            for m in METHODS:
                with self.subTest(program=name, method=m):
                    bare = _get(self, name, m, instrumented=False)
                    inst = _get(self, name, m)
                    self.assertEqual(inst.rc, bare.rc)
                    self.assertEqual(inst.stdout.decode('utf-8', 'replace'),
                                     bare.stdout.decode('utf-8', 'replace'))
                    self.assertEqual(inst.stderr.decode('utf-8', 'replace'),
                                     bare.stderr.decode('utf-8', 'replace'))

    def _both(self, code, args=(), extra_env=None):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, 'prog.py')
            with open(path, 'w', encoding='utf-8') as f:
                f.write(code)
            bare = run_script(path, args, instrumented=False, truth=False, extra_env=extra_env)
            inst = run_script(path, args, truth=False, extra_env=extra_env)
        return bare, inst

    @unittest.skipUnless(sys.version_info >= (3, 12), 'the multi-threaded fork warning is 3.12+')
    def test_our_thread_adds_no_fork_warning(self):
        # Python 3.12+ warns when a process with several threads forks. Our supervisor is
        # a thread: a program run with its DeprecationWarnings shown must print what it
        # prints bare, and one whose own thread makes the warning appear must still see it.
        code = '''
import multiprocessing as mp, sys, threading, time, warnings
def quick():
    pass
if __name__ == '__main__':
    mp.set_start_method('fork')
    for i in range(5):
        p = mp.Process(target=quick)
        p.start()
        p.join()
        print(i, p.exitcode, flush=True)
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter('always')
        p = mp.Process(target=quick)
        p.start()
        p.join()
    stop.set()
    t.join()
    print('with a thread of its own:', [str(w.message).split(')', 1)[1][:30] for w in seen], flush=True)
'''
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, 'prog.py')
            with open(path, 'w', encoding='utf-8') as f:
                f.write(code)
            bare = run_script(path, instrumented=False, truth=False,
                              extra_env={'PYTHONWARNINGS': 'always::DeprecationWarning'})
            inst = run_script(path, truth=False,
                              extra_env={'PYTHONWARNINGS': 'always::DeprecationWarning'})
        self.assertEqual(bare.rc, 0, bare.stderr)
        self.assertEqual((inst.rc, inst.stdout, inst.stderr), (bare.rc, bare.stdout, bare.stderr))
        self.assertIn(b'multi-threaded', bare.stdout)

    def test_thread_pools_run_as_bare(self):
        # A ThreadPool is not tracked, but its results go through the same wrapped
        # ApplyResult/MapResult/IMapIterator classes: nothing of ours may fail on them (an
        # exception on the result-handler thread would hang every caller).
        code = '''
import multiprocessing as mp, multiprocessing.dummy, multiprocessing.pool
def sqr(x):
    return x * x
if __name__ == '__main__':
    for make in (multiprocessing.dummy.Pool, multiprocessing.pool.ThreadPool):
        with make(3) as pool:
            print(list(pool.imap(sqr, range(10))), flush=True)
            print(sorted(pool.imap_unordered(sqr, range(10), chunksize=3)), flush=True)
            print(pool.map(sqr, range(10), chunksize=4), flush=True)
            print(pool.apply_async(sqr, (7,)).get(timeout=10), flush=True)
            print(pool.map_async(sqr, range(5)).get(timeout=10), flush=True)
'''
        bare, inst = self._both(code)
        self.assertEqual(bare.rc, 0, bare.stderr)
        self.assertEqual((inst.rc, inst.stdout, inst.stderr), (bare.rc, bare.stdout, bare.stderr))

    def test_tracebacks_through_patched_calls_are_unchanged(self):
        # Exceptions raised inside wrapped functions (start() of an unpicklable target,
        # Queue.put timing out, joining a running Pool) must read exactly as without us.
        code = '''
import multiprocessing as mp, queue, sys
if __name__ == '__main__':
    mp.set_start_method('spawn')
    q = mp.Queue(1)
    q.put(1)
    try:
        q.put(2, timeout=0.01)
    except queue.Full:
        import traceback; traceback.print_exc()
    pool = mp.Pool(1)
    try:
        pool.join()
    except ValueError:
        import traceback; traceback.print_exc()
    pool.terminate()
    p = mp.Process(target=print)
    p.start(); p.join()
    sys.exit(7)
'''
        bare, inst = self._both(code)
        self.assertEqual(inst.rc, 7)
        self.assertEqual(inst.rc, bare.rc)
        self.assertEqual(inst.stdout, bare.stdout)
        if sys.version_info >= (3, 11):
            self.assertEqual(inst.stderr.decode(), bare.stderr.decode())
        self.assertIn(b'queue.Full', inst.stderr)

    def test_uncaught_error_exit_code(self):
        code = 'import multiprocessing\nraise SystemExit("bye")\n'
        bare, inst = self._both(code)
        self.assertEqual((inst.rc, inst.stdout, inst.stderr), (bare.rc, bare.stdout, bare.stderr))

    def test_no_op_without_environment(self):
        code = ('import sys, os\n'
                'print("mptree_runtime" in sys.modules, any("runtime" in p for p in sys.path))\n'
                'import multiprocessing.process as pr\n'
                'print(hasattr(pr.BaseProcess.start, "_mptree_patched"))\n')
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, 'prog.py')
            with open(path, 'w') as f:
                f.write(code)
            env = dict(os.environ, PYTHONPATH=support.RUNTIME)
            for k in ('MPTREE_SOCKET', 'MPTREE_TOKEN'):
                env.pop(k, None)
            out = subprocess.run([sys.executable, path], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(out.stdout.decode().split(), ['False', 'False', 'False'])
        self.assertEqual(out.stderr, b'')

    def test_runtime_active_and_invisible_on_sys_path(self):
        code = ('import sys\nimport multiprocessing.process as pr\n'
                'print(hasattr(pr.BaseProcess.start, "_mptree_patched"), '
                'any("src/runtime" in p for p in sys.path))\n'
                'print(pr.__loader__.__class__.__name__, pr.__spec__.loader.__class__.__name__)\n')
        bare, inst = self._both(code)
        self.assertEqual(inst.stdout.decode().split(),
                         ['True', 'False', 'SourceFileLoader', 'SourceFileLoader'])

    def test_user_sitecustomize_and_pythonpath_kept(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, 'sitecustomize.py'), 'w') as f:
                f.write('import sys\nsys.stderr.write("user sitecustomize ran\\n")\n'
                        'USER_MARK = 42\n')
            with open(os.path.join(d, 'usermod.py'), 'w') as f:
                f.write('VALUE = "from user PYTHONPATH"\n')
            prog = os.path.join(d, 'prog.py')
            with open(prog, 'w') as f:
                f.write('import sitecustomize, usermod, multiprocessing.process as pr\n'
                        'print(getattr(sitecustomize, "USER_MARK", None), usermod.VALUE,\n'
                        '      hasattr(pr.BaseProcess.start, "_mptree_patched"))\n')
            bare = run_script(prog, instrumented=False, truth=False, extra_pythonpath=d)
            inst = run_script(prog, truth=False, extra_pythonpath=d)
        self.assertEqual(bare.stdout.decode().split(), ['42', 'from', 'user', 'PYTHONPATH', 'False'])
        self.assertEqual(inst.stdout.decode().split(), ['42', 'from', 'user', 'PYTHONPATH', 'True'])
        self.assertEqual(inst.stderr, bare.stderr)
        self.assertEqual(inst.stderr, b'user sitecustomize ran\n')
        self.assertTrue(inst.facts.hellos)

    def test_failing_user_sitecustomize_reported_as_by_site(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, 'sitecustomize.py'), 'w') as f:
                f.write('raise ValueError("broken user sitecustomize")\n')
            prog = os.path.join(d, 'prog.py')
            with open(prog, 'w') as f:
                f.write('print("program ran")\n')
            bare = run_script(prog, instrumented=False, truth=False, extra_pythonpath=d)
            inst = run_script(prog, truth=False, extra_pythonpath=d)
        self.assertIn(b'Error in sitecustomize', bare.stderr)
        self.assertEqual((inst.rc, inst.stdout, inst.stderr), (bare.rc, bare.stdout, bare.stderr))
        self.assertTrue(inst.facts.hellos)

    def test_wrong_socket_goes_silent(self):
        code = ('import multiprocessing as mp\n'
                'if __name__ == "__main__":\n'
                '    p = mp.Process(target=print, args=("child",)); p.start(); p.join()\n'
                '    print(p.exitcode)\n')
        with tempfile.TemporaryDirectory() as d:
            prog = os.path.join(d, 'prog.py')
            with open(prog, 'w') as f:
                f.write(code)
            # Nobody listens there, a malformed TCP address, a port nobody listens on.
            for where in (os.path.join(d, 'nobody-listens.sock'), 'tcp:127.0.0.1:not-a-port',
                          'tcp:' + support.unused_tcp_address()):
                env = dict(os.environ, PYTHONPATH=support.RUNTIME, MPTREE_TOKEN='x' * 32,
                           MPTREE_SOCKET=where)
                out = subprocess.run([sys.executable, prog], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, timeout=30)
                self.assertEqual((out.returncode, out.stdout, out.stderr), (0, b'child\n0\n', b''), where)


class LiveTests(TalksToAProgram, unittest.TestCase):
    """Control requests and zombies: the test talks to a running program."""

    def _start(self, name, method):
        c = support.Collector()
        env = c.env()
        p = subprocess.Popen([sys.executable, fixture(name), method], env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, cwd=support.REPO)
        self.addCleanup(c.close)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        return c, p


    def test_control(self):
        for method in ('fork', 'forkserver'):
            with self.subTest(method=method):
                self._control(method)

    def _control(self, method):
        c, p = self._start('control_target.py', method)
        pids = json.loads(p.stdout.readline())
        main = p.pid
        c.wait_for(lambda ms: main in c.conns, 10)
        c.send_control(main, {'id': 1, 'op': 'terminate', 'pid': pids['terminate']})
        c.send_control(main, {'id': 2, 'op': 'kill', 'pid': pids['kill']})
        c.send_control(main, {'id': 3, 'op': 'join', 'pid': pids['join'], 'timeout': 10})
        c.send_control(main, {'id': 4, 'op': 'join', 'pid': pids['slow'], 'timeout': 0.2})
        c.send_control(main, {'id': 5, 'op': 'kill', 'pid': 1})
        self.assertEqual(self._result(c, 1)['ok'], True)
        self.assertEqual(self._result(c, 2)['ok'], True)
        self.assertEqual(self._exited(c, pids['terminate'])['exitCode'], -15)
        self.assertEqual(self._exited(c, pids['kill'])['exitCode'], -9)
        r3 = self._result(c, 3)
        self.assertEqual((r3['ok'], r3['exitCode']), (True, 4))
        r4 = self._result(c, 4)
        self.assertEqual((r4['ok'], r4.get('timedOut')), (False, True))
        self.assertIn('still running', r4['error'])
        r5 = self._result(c, 5)
        self.assertEqual((r5['ok'], r5['error']), (False, 'not a child of %d' % main))
        reaped = c.wait_for(lambda ms: [m for m in ms if m['type'] == 'process.reaped'
                                        and m['pid'] == pids['join']], 5)
        self.assertEqual(reaped[0]['joined'], True)
        out, err = p.communicate(b'go\n', timeout=30)
        codes = json.loads(out)
        self.assertEqual(codes, {'terminate': -15, 'kill': -9, 'join': 4, 'slow': -15}, err)

    def test_zombie_then_joined(self):
        for method in METHODS:
            with self.subTest(method=method):
                c, p = self._start('zombie.py', method)
                pid = int(p.stdout.readline())
                ex = self._exited(c, pid)
                self.assertIsNotNone(ex)
                self.assertEqual(ex['exitCode'], 5)
                time.sleep(0.3)
                self.assertFalse([m for m in c.snapshot() if m['type'] == 'process.reaped'],
                                 'reaped before the parent joined')
                if method != 'forkserver':
                    # Really still a zombie: the runtime did not reap it.
                    with open('/proc/%d/stat' % pid) as f:
                        self.assertEqual(f.read().rsplit(')', 1)[1].split()[0], 'Z')
                out, _ = p.communicate(b'join\n', timeout=30)
                self.assertEqual(out.strip(), b'5')
                c.wait_quiet(5)
                reaped = [m for m in c.snapshot() if m['type'] == 'process.reaped']
                self.assertEqual([(m['pid'], m['joined']) for m in reaped], [(pid, True)])



# A fork child is journaled and reported by the supervisor's next batch (see state.JOURNAL):
# with its exit when the parent collected it first, else as running. Each program prints
# what it did on stdout; the test reads the collector.
DEFERRED_PROG = r"""
import json, multiprocessing as mp, os, signal, sys, time

def nap(seconds, code=0):
    time.sleep(seconds)
    sys.exit(code)

def quick():
    pass

if __name__ == '__main__':
    mp.set_start_method('fork')
    case = sys.argv[1]
    if case == 'live':
        p = mp.Process(target=nap, args=(60,), name='long-lived')
        p.start()
        print(json.dumps({'pid': p.pid}), flush=True)
        sys.stdin.readline()
        p.terminate()
        p.join()
    elif case == 'polled':
        p = mp.Process(target=nap, args=(0,), name='polled')
        p.start()
        while p.is_alive():
            time.sleep(0.001)
        p.join()
        print(json.dumps({'pid': p.pid, 'code': p.exitcode}), flush=True)
    elif case == 'joined':
        kids = []
        # Enough children that the supervisor's ticks (every 30 ms) fall on some joins.
        for i in range(60):
            p = mp.Process(target=nap, args=(0, i % 3), name='quick-%d' % i)
            p.start()
            p.join()
            kids.append([p.pid, p.exitcode])
        print(json.dumps({'kids': kids}), flush=True)
    elif case == 'os-exit':
        # Ends with os._exit (no atexit) right after its children: the batch must not be lost.
        kids = []
        for i in range(5):
            p = mp.Process(target=nap, args=(0, 7), name='before-os-exit-%d' % i)
            p.start()
            p.join()
            kids.append(p.pid)
        print(json.dumps({'kids': kids}), flush=True)
        os._exit(0)
    elif case == 'exit-mid-batch':
        # os._exit while a batch, taken out of the journal by another thread, is still
        # being sent (made slow here): the exit waits for it.
        import threading
        from mptree_runtime import connection, state
        with state.current().lock:     # no batch before the child is collected
            p = mp.Process(target=nap, args=(0, 5), name='mid-batch')
            p.start()
            p.join()
            send = connection.send_raw_locked
            def slow_send(state, data, keep=True):
                time.sleep(0.3)
                return send(state, data, keep)
            connection.send_raw_locked = slow_send
            threading.Thread(target=state.flush_journal).start()
        # Until the batch has been taken (by that thread or the supervisor); its send then
        # still sleeps 0.3 s. A deadline only against a hang: 'left' says if it was missed.
        deadline = time.monotonic() + 30
        while state.JOURNAL and time.monotonic() < deadline:
            time.sleep(0.001)
        print(json.dumps({'pid': p.pid, 'left': len(state.JOURNAL)}), flush=True)
        os._exit(0)
    elif case == 'then-idle':
        # One child joined at once, then nothing more for a while: the supervisor's tick,
        # not the program's exit, reports it.
        p = mp.Process(target=nap, args=(0,), name='then-idle')
        p.start()
        p.join()
        print(json.dumps({'pid': p.pid}), flush=True)
        sys.stdin.readline()
    elif case == 'late-join':
        # The batch runs between the collection inside join() and join()'s own end (on
        # another thread this is a rare interleaving; here it is forced): the join must
        # still be reported.
        from mptree_runtime import state
        p = mp.Process(target=nap, args=(0, 4), name='late-join')
        with state.current().lock:     # keeps the supervisor's own batch out meanwhile
            p.start()
            wait = p._popen.wait
            def wait_then_batch(timeout=None):
                r = wait(timeout)
                state.flush_journal()
                return r
            p._popen.wait = wait_then_batch
            p.join()
        print(json.dumps({'pid': p.pid}), flush=True)
    elif case == 'fds':
        # Journal entries must not keep a child's Popen (and its fds) alive past the batch
        # through a reference cycle: with the cyclic GC off, the fds close as without us.
        import gc
        gc.disable()
        def nfds():
            return len(os.listdir('/proc/self/fd'))
        mp.Process(target=nap, args=(0,)).start()     # multiprocessing's own set-up
        time.sleep(0.2)
        before = nfds()
        for i in range(40):
            p = mp.Process(target=nap, args=(0,))
            p.start()
            p.join()
        del p
        # The supervisor's ticks send the batches; wait until the fds are back to where they
        # were, or a deadline (then 'after' shows the leak).
        deadline = time.monotonic() + 30
        while nfds() > before and time.monotonic() < deadline:
            time.sleep(0.02)
        print(json.dumps({'before': before, 'after': nfds()}), flush=True)
    elif case == 'same-line':
        # One start() line, several targets and a run() override: each described as itself.
        class Napper(mp.Process):
            def run(self):
                pass
        kids = []
        for make in (lambda: mp.Process(target=nap, args=(0,)), lambda: mp.Process(target=quick),
                     lambda: Napper(), lambda: mp.Process(target=nap, args=(0,)), lambda: Napper()):
            p = make()
            p.start()
            p.join()
            kids.append(p.pid)
        print(json.dumps({'kids': kids}), flush=True)
    elif case == 'lifetimes':
        # As CPython's own test_close and test_lose_target_ref check: once the program lets
        # go of a Process (and start() of its target), nothing of ours keeps them alive,
        # even before the batch has run (held off here).
        import gc, weakref
        from mptree_runtime import state

        class Target(object):
            def __call__(self):
                pass

        with state.current().lock:
            c = Target()
            target_ref = weakref.ref(c)
            p = mp.Process(target=c)
            del c
            p.start()
            p.join()
            gc.collect()
            target_gone = target_ref() is None
            process_ref = weakref.ref(p)
            p.close()
            del p
            gc.collect()
            process_gone = process_ref() is None
        print(json.dumps({'target': target_gone, 'process': process_gone}), flush=True)
    elif case == 'parent-killed':
        p = mp.Process(target=nap, args=(0.5, 3), name='outlives-parent')
        p.start()
        print(json.dumps({'pid': p.pid}), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
"""


COSTS_PROG = r"""
import json, multiprocessing as mp, os, sys, time

def burn(seconds):
    began = time.process_time()
    while time.process_time() - began < seconds:
        pass

def hold():
    block = bytearray(64 * 2 ** 20)
    for i in range(0, len(block), 4096):
        block[i] = 1
    time.sleep(0.6)

def spin():
    while True:
        pass

if __name__ == '__main__':
    ctx = mp.get_context(sys.argv[1])
    brief = ctx.Process(target=burn, args=(0,), name='brief')
    brief.start()
    brief.join()
    burner = ctx.Process(target=burn, args=(0.6,), name='burner')
    holder = ctx.Process(target=hold, name='holder')
    victim = ctx.Process(target=spin, name='victim')
    for p in (burner, holder, victim):
        p.start()
    time.sleep(0.8)
    victim.kill()
    for p in (burner, holder, victim):
        p.join()
    print(json.dumps({n: p.pid for n, p in
                      (('brief', brief), ('burner', burner), ('holder', holder), ('victim', victim))}),
          flush=True)
"""


class Costs(unittest.TestCase):
    """Each process's own getrusage at its end, its parent's reading of its zombie."""

    def _run(self, method):
        c, p = support.start_program(self, COSTS_PROG, [method])
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        c.wait_quiet(5)
        return json.loads(out), c.snapshot(), p.pid

    def test_figures_at_each_end(self):
        for method in METHODS:
            with self.subTest(method=method):
                pids, msgs, main = self._run(method)
                of = lambda pid, kind: [m for m in msgs if m.get('pid') == pid and m['type'] == kind]
                for name in ('burner', 'holder'):
                    exiting = of(pids[name], 'process.exiting')
                    self.assertEqual(len(exiting), 1, (name, msgs))
                    self.assertGreaterEqual(exiting[0]['cpuSeconds'], 0)
                    self.assertGreater(exiting[0]['peakRssBytes'], 0)
                self.assertGreaterEqual(of(pids['burner'], 'process.exiting')[0]['cpuSeconds'], 0.6)
                self.assertGreaterEqual(of(pids['holder'], 'process.exiting')[0]['peakRssBytes'], 64 * 2 ** 20)
                # The main program sends its own at interpreter exit.
                own = of(main, 'process.usage')
                self.assertEqual([m['source'] for m in own], ['self'])
                self.assertGreater(own[0]['peakRssBytes'], 0)
                # Killed by a signal it says nothing; on Linux its parent read its zombie
                # (a forkserver child is the forkserver's, reaped there at once).
                self.assertFalse(of(pids['victim'], 'process.exiting'))
                parent = [m for m in of(pids['victim'], 'process.usage') if m['source'] == 'parent']
                if sys.platform.startswith('linux') and method != 'forkserver':
                    self.assertEqual(len(parent), 1, msgs)
                    self.assertGreater(parent[0]['cpuSeconds'], 0)
                    self.assertLess(parent[0]['cpuSeconds'], 5)
                    self.assertNotIn('peakRssBytes', parent[0])
                else:
                    self.assertFalse(parent)
                if method == 'fork':
                    # A brief quiet fork child still never connects: its figures are not
                    # worth a connection, and, not killed, it gets no zombie reading either.
                    hellos = [m['pid'] for m in msgs if m['type'] == 'hello']
                    self.assertNotIn(pids['brief'], hellos)
                    self.assertNotIn(pids['brief'], [m['pid'] for m in msgs if m['type'] == 'process.exiting'])
                    self.assertFalse(of(pids['brief'], 'process.usage'))
                    # A fork child that lived a while connects at its end for its figures.
                    self.assertIn(pids['holder'], hellos)


class DeferredStartReports(unittest.TestCase):
    # The line of the joined case's start() call.
    START_LINE = DEFERRED_PROG[:DEFERRED_PROG.index('p.start()\n            p.join()')].count('\n') + 1

    def _run(self, case):
        return support.start_program(self, DEFERRED_PROG, [case])

    def _run_to_end(self, case, timeout=30):
        """Run a case to its end: what it printed (one JSON line) and every message."""
        c, p = self._run(case)
        out, err = p.communicate(timeout=timeout)
        self.assertEqual(p.returncode, 0, err)
        c.wait_quiet(5)
        return json.loads(out), c.snapshot()

    @staticmethod
    def _kinds(msgs, pid):
        return [m['type'] for m in msgs if m.get('pid') == pid]

    @staticmethod
    def _of(msgs, pid, kind):
        return [m for m in msgs if m.get('pid') == pid and m['type'] == kind]

    def test_live_child_reported_by_the_next_tick(self):
        c, p = self._run('live')
        pid = json.loads(p.stdout.readline())['pid']
        started = c.wait_for(lambda ms: self._of(ms, pid, 'process.started'), 5)
        self.assertTrue(started, 'never reported while it ran')
        os.kill(pid, 0)     # still running: reported live, not at its end
        self.assertEqual((started[0]['name'], started[0]['parentPid']), ('long-lived', p.pid))
        self.assertFalse(self._of(c.snapshot(), pid, 'process.exited'))
        p.communicate(b'go\n', timeout=30)
        c.wait_quiet(5)
        msgs = c.snapshot()
        self.assertEqual([m['exitCode'] for m in self._of(msgs, pid, 'process.exited')], [-15])
        self.assertEqual([m['joined'] for m in self._of(msgs, pid, 'process.reaped')], [True])

    def test_child_collected_by_is_alive_before_its_report(self):
        truth, msgs = self._run_to_end('polled')
        pid = truth['pid']
        self.assertEqual([(m['type'], m['exitCode']) for m in self._of(msgs, pid, 'process.exited')],
                         [('process.exited', 0)])
        # Collected by is_alive() first; the program's join() after it, which returns at once,
        # is still the program's join and is reported as such. Two interleavings, one story:
        # the child was announced before the join (a reap by poll, then the join's), or the
        # start report went out after both (one reap: joined, first collected by poll). Which
        # one depends on the supervisor's tick (the handles waiter ticks later than epoll).
        reaped = [(m['joined'], m.get('by')) for m in self._of(msgs, pid, 'process.reaped')]
        self.assertIn(reaped, ([(False, 'poll'), (True, 'join')], [(True, 'poll')]))
        kinds = self._kinds(msgs, pid)
        self.assertEqual(kinds[:2], ['process.started', 'process.exited'])
        self.assertEqual(kinds[2:], ['process.reaped'] * len(reaped))
        started = self._of(msgs, pid, 'process.started')[0]
        self.assertLessEqual(started['t'], self._of(msgs, pid, 'process.exited')[0]['t'])

    def test_children_joined_at_once_reported_whole_and_in_order(self):
        truth, msgs = self._run_to_end('joined', timeout=60)
        for i, (pid, code) in enumerate(truth['kids']):
            self.assertEqual(self._kinds(msgs, pid), ['process.started', 'process.exited', 'process.reaped'], pid)
            started = self._of(msgs, pid, 'process.started')[0]
            self.assertEqual(started['name'], 'quick-%d' % i)
            self.assertTrue(started['site'].endswith('prog.py:%d' % self.START_LINE), started['site'])
            self.assertEqual(self._of(msgs, pid, 'process.exited')[0]['exitCode'], code)
            self.assertEqual(self._of(msgs, pid, 'process.reaped')[0]['joined'], True)

    def test_children_reported_before_os_exit(self):
        truth, msgs = self._run_to_end('os-exit', timeout=60)
        for pid in truth['kids']:
            self.assertEqual(self._kinds(msgs, pid), ['process.started', 'process.exited', 'process.reaped'], pid)
            self.assertEqual(self._of(msgs, pid, 'process.exited')[0]['exitCode'], 7)
            self.assertEqual(self._of(msgs, pid, 'process.reaped')[0]['joined'], True)

    def test_exit_waits_for_a_batch_being_sent(self):
        truth, msgs = self._run_to_end('exit-mid-batch')
        self.assertEqual(truth['left'], 0, 'the batch was not under way at exit')
        self.assertEqual(self._kinds(msgs, truth['pid']), ['process.started', 'process.exited', 'process.reaped'])

    def test_joined_child_reported_while_the_program_idles(self):
        c, p = self._run('then-idle')
        pid = json.loads(p.stdout.readline())['pid']
        reaped = c.wait_for(lambda ms: self._of(ms, pid, 'process.reaped'), 5)
        self.assertEqual([m['joined'] for m in reaped], [True])
        self.assertIsNone(p.poll(), 'reported only at exit')
        p.communicate(b'go\n', timeout=30)

    def test_join_that_meets_the_batch_is_still_a_join(self):
        truth, msgs = self._run_to_end('late-join')
        pid = truth['pid']
        self.assertEqual([m['exitCode'] for m in self._of(msgs, pid, 'process.exited')], [4])
        # The batch said "not joined" (the join had not ended); the join then says it was:
        # the model keeps joined once it is said.
        self.assertEqual([m['joined'] for m in self._of(msgs, pid, 'process.reaped')], [False, True])

    def test_journal_keeps_no_fds_open(self):
        fds, _ = self._run_to_end('fds', timeout=60)
        self.assertLessEqual(fds['after'], fds['before'], fds)

    def test_each_child_of_one_start_line_described_as_itself(self):
        truth, msgs = self._run_to_end('same-line')
        targets = [self._of(msgs, pid, 'process.started')[0]['target'] for pid in truth['kids']]
        self.assertEqual(targets, ['nap', 'quick', 'Napper.run', 'nap', 'Napper.run'])

    def test_journal_keeps_no_process_or_target_alive(self):
        truth, _ = self._run_to_end('lifetimes')
        self.assertEqual(truth, {'target': True, 'process': True})

    def test_child_of_a_killed_parent_reports_itself(self):
        # The parent dies before its report could go out: the child, finding its parent
        # gone at its end, says who it is and how it ended.
        c, p = self._run('parent-killed')
        pid = json.loads(p.stdout.readline())['pid']
        p.communicate(timeout=30)
        self.assertEqual(p.returncode, -9)
        exiting = c.wait_for(lambda ms: self._of(ms, pid, 'process.exiting'), 10)
        self.assertTrue(exiting, 'the orphan said nothing')
        self.assertEqual(exiting[0]['exitCode'], 3)
        hello = self._of(c.snapshot(), pid, 'hello')[0]
        self.assertEqual((hello['name'], hello['parentPid'], hello['startMethod']),
                         ('outlives-parent', p.pid, 'fork'))


if __name__ == '__main__':
    unittest.main()
