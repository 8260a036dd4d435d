"""Pool workers' current task (task.begin / task.end) and tasks done per worker
(worker.counts), read as raw messages over a real socket from a real program, and compared
with what the program itself knows (each task returns the pid of the worker that ran it)."""

import collections
import json
import unittest

from . import support
from .support import METHODS

PROG = r"""
import concurrent.futures as cf, json, multiprocessing as mp, os, sys, time

def sleeper(seconds):
    time.sleep(seconds)
    return os.getpid()

def whoami(x):
    return os.getpid()

def pair(a, b):
    return os.getpid()

def boom(x):
    time.sleep(0.5)
    raise ValueError(os.getpid())

if __name__ == '__main__':
    ctx = mp.get_context(sys.argv[1])
    out = {}
    # close() and join(), not `with` (which terminates the workers: what a worker had not
    # sent by then is lost, see docs/runtime.md).
    pool = ctx.Pool(2)
    if True:
        began = time.time()
        out['sleeper'] = pool.apply(sleeper, (1,))
        out['sleeperSpan'] = [began * 1000, time.time() * 1000]
        # Quick tasks: many, in chunks, and through imap and starmap as well.
        done = pool.map(whoami, range(40), chunksize=5)
        done += list(pool.imap(whoami, range(12), chunksize=4))
        done += pool.starmap(pair, [(i, i) for i in range(6)])
        try:
            pool.apply(boom, (3,))
        except ValueError as e:
            out['boom'] = e.args[0]     # a failed task is done too
        # A chunk that runs long: shown as its function, first item and the items after.
        done += pool.map(sleeper, [0.15, 0.15, 0.15], chunksize=3)
        out['slowChunk'] = done[-1]
        out['pool'] = collections_counter = {}
        for pid in done + [out['sleeper'], out['boom']]:
            collections_counter[pid] = collections_counter.get(pid, 0) + 1
    pool.close()
    pool.join()
    # Workers replaced after two tasks each.
    pool = ctx.Pool(1, maxtasksperchild=2)
    done = pool.map(whoami, range(6), chunksize=1)
    out['maxtasks'] = {}
    for pid in done:
        out['maxtasks'][pid] = out['maxtasks'].get(pid, 0) + 1
    pool.close()
    pool.join()
    with cf.ProcessPoolExecutor(2, mp_context=ctx) as ex:
        first = ex.submit(sleeper, 0.6).result()
        done = list(ex.map(whoami, range(9), chunksize=3)) + [first]
        out['executorSleeper'] = first
        out['executor'] = {}
        for pid in done:
            out['executor'][pid] = out['executor'].get(pid, 0) + 1
    print(json.dumps(out), flush=True)
"""


class PoolTasks(unittest.TestCase):
    def _run(self, method):
        c, p = support.start_program(self, PROG, [method])
        out, err = p.communicate(timeout=120)
        self.assertEqual(p.returncode, 0, err)
        self.assertNotIn(b'mptree', err)
        c.wait_quiet(5)
        return json.loads(out), c.snapshot()

    def test_tasks_per_start_method(self):
        for method in METHODS:
            with self.subTest(method=method):
                self._check(method, *self._run(method))

    def _check(self, method, truth, msgs):
        pools = [m for m in msgs if m['type'] == 'pool.created']
        self.assertEqual([m['kind'] for m in pools], ['Pool', 'Pool', 'ProcessPoolExecutor'])
        ids = [m['id'] for m in pools]
        begins = [m for m in msgs if m['type'] == 'task.begin']
        ends = [m for m in msgs if m['type'] == 'task.end']
        # Only the tasks past the threshold: the sleeper, the failing task, the slow chunk,
        # the executor's sleeper; none of the 70-odd quick ones.
        calls = sorted((m['call'], m['poolId']) for m in begins)
        self.assertEqual(calls, sorted([('sleeper(1)', ids[0]), ('boom(3)', ids[0]),
                                        ('sleeper(0.15) …+2', ids[0]), ('sleeper(0.6)', ids[2])]),
                         begins)
        by_call = {m['call']: m for m in begins}
        # Each reported by the worker that ran it.
        self.assertEqual(by_call['sleeper(1)']['pid'], truth['sleeper'])
        self.assertEqual(by_call['sleeper(0.15) …+2']['pid'], truth['slowChunk'])
        self.assertEqual(by_call['sleeper(0.6)']['pid'], truth['executorSleeper'])
        self.assertEqual(by_call['boom(3)']['pid'], truth['boom'])
        # Every begin is ended, by the same worker, after it; since is when the call began.
        for b in begins:
            end = [e for e in ends if e['pid'] == b['pid'] and e['t'] >= b['t']]
            self.assertTrue(end, ('no task.end', b))
            self.assertEqual(end[0]['poolId'], b['poolId'])
            self.assertGreaterEqual(b['t'] - b['since'], 150, b)
        self.assertEqual(len(ends), len(begins))
        sleeper = [b for b in begins if b['call'] == 'sleeper(1)'][0]
        lo, hi = truth['sleeperSpan']
        self.assertTrue(lo <= sleeper['since'] <= hi, (sleeper, truth['sleeperSpan']))
        end = [e for e in ends if e['pid'] == sleeper['pid'] and e['t'] >= sleeper['t']][0]
        self.assertGreaterEqual(end['t'] - sleeper['since'], 950)
        self.assertLessEqual(end['t'], hi + 50)
        # Tasks done per worker: exactly what the program saw each worker do.
        done = collections.defaultdict(collections.Counter)
        for m in msgs:
            if m['type'] == 'worker.counts':
                for pool_id, worker, n, cpu in m['counts']:
                    self.assertIsInstance(cpu, float)
                    done[pool_id][worker] += n
        as_ints = lambda d: {int(k): v for k, v in d.items()}
        self.assertEqual(dict(done[ids[0]]), as_ints(truth['pool']), msgs)
        self.assertEqual(dict(done[ids[1]]), as_ints(truth['maxtasks']))
        self.assertEqual(len(truth['maxtasks']), 3)       # two replacements
        self.assertEqual(dict(done[ids[2]]), as_ints(truth['executor']))
        # ...and they add up to what each pool counted as completed.
        completed = collections.Counter()
        for m in msgs:
            if m['type'] == 'pool.counts':
                for pool_id, _submitted, n in m['counts']:
                    completed[pool_id] += n
        for pool_id in ids:
            self.assertEqual(sum(done[pool_id].values()), completed[pool_id], pool_id)


class CallText(unittest.TestCase):
    """How a task's call reads: cut to about 60 characters, chunks unwrapped."""

    def test_calls(self):
        import functools
        import multiprocessing.pool as mpool
        import concurrent.futures.process as cfp
        import sys
        sys.path.insert(0, support.RUNTIME)
        try:
            from mptree_runtime import tasks
        finally:
            sys.path.remove(support.RUNTIME)
        # What the pool and executor patches register (not applied here: this is the test
        # runner's own multiprocessing).
        tasks.POOL_CHUNKS.update({mpool.mapstar: False, mpool.starmapstar: True})
        tasks.EXECUTOR_CHUNK[0] = cfp._process_chunk

        def crunch(*a, **k):
            pass
        crunch.__qualname__ = 'crunch'
        d = tasks.describe
        self.assertEqual(d((1, 0, crunch, (7,), {})), 'crunch(7)')
        self.assertEqual(d((1, 0, crunch, (1, 'a'), {'k': None})), "crunch(1, 'a', k=None)")
        self.assertEqual(d((1, 0, mpool.mapstar, ((crunch, (3, 4, 5)),), {})), 'crunch(3) …+2')
        self.assertEqual(d((1, 0, mpool.mapstar, ((crunch, (3,)),), {})), 'crunch(3)')
        self.assertEqual(d((1, 0, mpool.starmapstar, ((crunch, ((1, 2), (3, 4))),), {})),
                         'crunch(1, 2) …+1')
        long = d((1, 0, crunch, ('x' * 500, list(range(1000))), {}))
        self.assertLessEqual(len(long), 60)
        self.assertTrue(long.startswith("crunch('xxx") and long.endswith('…'), long)
        item = cfp._CallItem(1, functools.partial(cfp._process_chunk, crunch), ([(9,), (10,)],), {})
        self.assertEqual(d(item), 'crunch(9) …+1')
        self.assertEqual(d(cfp._CallItem(2, crunch, (5,), {'x': 1})), 'crunch(5, x=1)')

        class Bad(object):
            def __repr__(self):
                raise RuntimeError('no repr')
        self.assertIsInstance(d((1, 0, crunch, (Bad(),), {})), str)


if __name__ == '__main__':
    unittest.main()
