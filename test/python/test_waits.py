"""Wait states and lock holders, read as the session reads them (raw lines over a real
socket) from real programs that block: what each process waits on, on which line, who
holds each lock, and nothing at all for calls that return at once."""

import json
import os
import signal
import sys
import unittest

from . import support
from .support import METHODS, start_program


def of_type(msgs, kind, **fields):
    return [m for m in msgs if m.get('type') == kind and
            all(m.get(k) == v for k, v in fields.items())]


def line_of(code, marker):
    """The 1-based line of the program that carries `# <marker>`."""
    for i, text in enumerate(code.splitlines(), 1):
        if text.rstrip().endswith('# ' + marker):
            return i
    raise AssertionError('no line marked %s' % marker)


class WaitsTest(unittest.TestCase):
    def start(self, code, *args):
        c, p = start_program(self, code, args)
        return c, p

    def wait_for(self, c, kind, timeout=20, **fields):
        found = c.wait_for(lambda ms: of_type(ms, kind, **fields), timeout)
        self.assertTrue(found, 'no %s %r in %r' % (kind, fields, c.snapshot()[-30:]))
        return found[0]

    def line(self, p):
        text = p.stdout.readline()
        self.assertTrue(text, p.stderr.read().decode('utf-8', 'replace') if p.poll() is not None else 'no line')
        return json.loads(text)

    def finish(self, c, p, say=b'go\n'):
        out, err = p.communicate(say, timeout=60)
        self.assertEqual(p.returncode, 0, err.decode('utf-8', 'replace'))
        c.wait_quiet(5)
        return out


CONSUMER = r"""
import json, multiprocessing as mp, sys

def consumer(q, ready):
    for _ in range(3):
        q.get()               # quick: the items are there
    ready.set()
    while True:
        item = q.get()        # blocks
        if item is None:
            return

if __name__ == '__main__':
    mp.set_start_method(sys.argv[1])
    q = mp.Queue()
    ready = mp.Event()
    for i in range(3):
        q.put(i)
    c = mp.Process(target=consumer, args=(q, ready), name='consumer')
    c.start()
    ready.wait()
    print(json.dumps({'consumer': c.pid, 'queue': q._mptree_id}), flush=True)
    sys.stdin.readline()
    q.put('fed')
    q.put(None)
    c.join()
"""


class QueueGet(WaitsTest):
    def test_blocked_get_reported_then_ended_quick_gets_silent(self):
        for method in METHODS:
            with self.subTest(method=method):
                c, p = self.start(CONSUMER, method)
                info = self.line(p)
                pid = info['consumer']
                begin = self.wait_for(c, 'wait.begin', pid=pid)
                self.assertEqual(begin['call'], 'Queue.get')
                self.assertEqual(begin['object'], {'kind': 'queue', 'id': info['queue']})
                self.assertEqual(begin['site']['line'], line_of(CONSUMER, 'blocks'))
                self.assertEqual(begin['site']['function'], 'consumer')
                self.assertTrue(begin['site']['file'].endswith('prog.py'))
                self.assertEqual((begin['thread'], begin['threads'], begin['timeout']), ('MainThread', 1, None))
                self.assertLessEqual(begin['since'], begin['t'] - 150)
                self.assertFalse(of_type(c.snapshot(), 'wait.end', pid=pid))
                self.finish(c, p)
                msgs = c.snapshot()
                ends = of_type(msgs, 'wait.end', pid=pid)
                self.assertEqual([(m['threadId']) for m in ends], [begin['threadId']])
                # The three quick gets, the final get (fed at once) and the quick waits of
                # the parent sent nothing.
                self.assertEqual(len(of_type(msgs, 'wait.begin', pid=pid)), 1)
                self.assertFalse([m for m in of_type(msgs, 'wait.begin') if m['pid'] != pid
                                  and m['call'] != 'Event.wait'])


DEADLOCK = r"""
import json, multiprocessing as mp, sys, time

def takes(first, second, ready, go):
    with first:               # holds
        ready.release()
        go.wait()
        with second:          # waits
            pass

if __name__ == '__main__':
    mp.set_start_method(sys.argv[1])
    lock_a = mp.Lock()        # makes a
    lock_b = mp.Lock()
    ready = mp.Semaphore(0)
    go = mp.Event()
    p1 = mp.Process(target=takes, args=(lock_a, lock_b, ready, go), name='takes-a-then-b')
    p2 = mp.Process(target=takes, args=(lock_b, lock_a, ready, go), name='takes-b-then-a')
    p1.start(); p2.start()
    ready.acquire(); ready.acquire()
    go.set()
    print(json.dumps({'a': lock_a._mptree_lid, 'b': lock_b._mptree_lid,
                      'p1': p1.pid, 'p2': p2.pid}), flush=True)
    sys.stdin.readline()
    p1.kill(); p2.kill()
    p1.join(); p2.join()
    print(json.dumps([p1.exitcode, p2.exitcode]), flush=True)
"""


class LockOrderDeadlock(WaitsTest):
    def test_both_waits_and_both_holders(self):
        for method in METHODS:
            with self.subTest(method=method):
                c, p = self.start(DEADLOCK, method)
                ids = self.line(p)
                created = {m['id']: m for m in of_type(c.snapshot(), 'lock.created')}
                self.assertEqual(created[ids['a']]['label'], 'lock_a')
                self.assertEqual(created[ids['b']]['label'], 'lock_b')
                self.assertEqual(created[ids['a']]['kind'], 'Lock')
                self.assertEqual(created[ids['a']]['site']['line'], line_of(DEADLOCK, 'makes a'))
                for me, mine, other in (('p1', 'a', 'b'), ('p2', 'b', 'a')):
                    pid = ids[me]
                    w = self.wait_for(c, 'wait.begin', pid=pid)
                    self.assertEqual((w['call'], w['object']), ('Lock.acquire', {'kind': 'lock', 'id': ids[other]}))
                    self.assertEqual(w['site']['line'], line_of(DEADLOCK, 'waits'))
                    h = self.wait_for(c, 'lock.held', pid=pid, id=ids[mine])
                    self.assertEqual(h['threadId'], w['threadId'])
                    self.assertEqual(h['thread'], 'MainThread')
                    # The line that took the lock (its `with`), not the one it waits in now.
                    self.assertEqual((h['site']['function'], h['site']['line']), ('takes', line_of(DEADLOCK, 'holds')))
                    self.assertFalse(of_type(c.snapshot(), 'lock.held', pid=pid, id=ids[other]))
                # Killed mid-wait and holding: neither says anything more (the session ends a
                # dead process's waits; its locks stay held, as multiprocessing's do).
                out = self.finish(c, p)
                self.assertEqual(json.loads(out.splitlines()[-1]), [-9, -9])
                msgs = c.snapshot()
                for pid in (ids['p1'], ids['p2']):
                    self.assertFalse(of_type(msgs, 'wait.end', pid=pid))
                    self.assertFalse(of_type(msgs, 'lock.released', pid=pid))


THREADS = r"""
import json, multiprocessing as mp, sys, threading

def getter(q):
    q.get()                    # getter waits

def waiter(ev):
    ev.wait()                  # waiter waits

if __name__ == '__main__':
    mp.set_start_method(sys.argv[1])
    q = mp.Queue()
    ev = mp.Event()
    t1 = threading.Thread(target=getter, args=(q,), name='getter')
    t2 = threading.Thread(target=waiter, args=(ev,), name='waiter')
    t1.start(); t2.start()
    print(json.dumps({'getter': t1.ident, 'waiter': t2.ident, 'queue': q._mptree_id,
                      'event': ev._mptree_lid}), flush=True)
    sys.stdin.readline()
    q.put(1)
    ev.set()
    t1.join(); t2.join()
"""


class Threads(WaitsTest):
    def test_waits_are_per_thread(self):
        c, p = self.start(THREADS, 'fork')
        info = self.line(p)
        g = self.wait_for(c, 'wait.begin', threadId=info['getter'])
        w = self.wait_for(c, 'wait.begin', threadId=info['waiter'])
        self.assertEqual((g['thread'], g['call'], g['object']),
                         ('getter', 'Queue.get', {'kind': 'queue', 'id': info['queue']}))
        self.assertEqual((w['thread'], w['call'], w['object']),
                         ('waiter', 'Event.wait', {'kind': 'lock', 'id': info['event']}))
        self.assertEqual(g['site']['line'], line_of(THREADS, 'getter waits'))
        self.assertEqual(w['site']['line'], line_of(THREADS, 'waiter waits'))
        # Main, getter and waiter: the queue's feeder and our own thread are not counted.
        self.assertEqual((g['threads'], w['threads']), (3, 3))
        self.finish(c, p)
        ends = of_type(c.snapshot(), 'wait.end', pid=p.pid)
        self.assertEqual(sorted(m['threadId'] for m in ends), sorted([info['getter'], info['waiter']]))


WRAPPED = r"""
import json, multiprocessing as mp, multiprocessing.synchronize as sync, sys, time

class CountingLock(sync.Lock):
    def __init__(self):
        super().__init__(ctx=mp.get_context())
        self.taken = 0

    def __enter__(self):
        self.taken += 1
        return super().__enter__()

class Wrapper(object):
    def __init__(self):
        self.inner = mp.Lock()
    def __enter__(self):
        self.inner.acquire()
        return self
    def __exit__(self, *exc):
        self.inner.release()

def add(counter, n):
    for _ in range(n):
        with counter.get_lock():
            counter.value += 1

def hold(counter, ready):
    with counter.get_lock():   # the holder takes it
        ready.set()
        time.sleep(2.0)        # long enough for a loaded machine's tick to report the hold

if __name__ == '__main__':
    mp.set_start_method(sys.argv[1])
    mine = CountingLock()
    with mine:
        assert not mine.acquire(False)
        assert not mine.acquire(True, 0.05)
    with mine:
        pass
    w = Wrapper()
    with w:
        assert not w.inner.acquire(timeout=0.01)
    counter = mp.Value('i', 0)
    kids = [mp.Process(target=add, args=(counter, 2000)) for _ in range(2)]
    for k in kids: k.start()
    for k in kids: k.join()
    ready = mp.Event()
    holder = mp.Process(target=hold, args=(counter, ready), name='holder')
    holder.start()
    ready.wait()
    with counter.get_lock():   # waits for the holder
        counter.value += 1
    holder.join()
    print(json.dumps({'taken': mine.taken, 'value': counter.value, 'mine': mine._mptree_lid,
                      'wrapped': w.inner._mptree_lid, 'value_lock': counter.get_lock()._mptree_lid,
                      'holder': holder.pid}), flush=True)
"""


class WrappedLocks(WaitsTest):
    def test_subclassed_wrapped_and_value_locks(self):
        for method in ('fork', 'spawn'):
            with self.subTest(method=method):
                c, p = self.start(WRAPPED, method)
                out = self.finish(c, p, b'')
                info = json.loads(out)
                self.assertEqual((info['taken'], info['value']), (2, 4001))
                created = {m['id']: m for m in of_type(c.snapshot(), 'lock.created')}
                self.assertEqual(created[info['mine']]['label'], 'mine')
                self.assertEqual(created[info['wrapped']]['label'], 'self.inner')
                self.assertEqual((created[info['value_lock']]['kind'], created[info['value_lock']]['label']),
                                 ('RLock', 'counter.get_lock()'))
                w = of_type(c.snapshot(), 'wait.begin', pid=p.pid, call='RLock.acquire')
                self.assertEqual([m['object'] for m in w], [{'kind': 'lock', 'id': info['value_lock']}])
                self.assertEqual(w[0]['site']['line'], line_of(WRAPPED, 'waits for the holder'))
                held = of_type(c.snapshot(), 'lock.held', pid=info['holder'], id=info['value_lock'])
                self.assertEqual(len(held), 1)
                self.assertEqual(held[0]['site']['line'], line_of(WRAPPED, 'the holder takes it'))
                self.assertEqual(len(of_type(c.snapshot(), 'lock.released', pid=info['holder'],
                                             id=info['value_lock'])), 1)
                # The quick acquires (and the 4000 additions) sent nothing.
                self.assertEqual(len(of_type(c.snapshot(), 'wait.begin', call='Lock.acquire')), 0)


HOLDER_LINES = r"""
import json, multiprocessing as mp, sys, time

class Account(object):
    def __init__(self):
        self.lock = mp.Lock()

def by_acquire(lock, ready):
    lock.acquire()             # takes by acquire
    ready.set()
    time.sleep(0.1)
    time.sleep(1.0)            # holds here
    lock.release()

def by_attribute(account, ready):
    with account.lock:         # takes by attribute
        ready.set()
        time.sleep(1.1)

def nested(outer, inner, ready):
    with outer:                # takes outer
        with inner:            # takes inner
            ready.set()
            time.sleep(1.1)

if __name__ == '__main__':
    mp.set_start_method(sys.argv[1])
    lock, account, outer, inner = mp.Lock(), Account(), mp.Lock(), mp.RLock()
    out = {'lock': lock._mptree_lid, 'account': account.lock._mptree_lid,
           'outer': outer._mptree_lid, 'inner': inner._mptree_lid}
    for name, target, args in (('acquire', by_acquire, (lock,)), ('attribute', by_attribute, (account,)),
                               ('nested', nested, (outer, inner))):
        ready = mp.Event()
        p = mp.Process(target=target, args=args + (ready,), name=name)
        p.start()
        ready.wait()
        p.join()
        out[name] = p.pid
    print(json.dumps(out), flush=True)
"""


class HolderLines(WaitsTest):
    def test_the_line_that_took_the_lock(self):
        for method in ('fork', 'spawn'):
            with self.subTest(method=method):
                c, p = self.start(HOLDER_LINES, method)
                info = json.loads(self.finish(c, p, b''))
                c.wait_quiet(3)
                for pid, lid, mark in ((info['acquire'], info['lock'], 'takes by acquire'),
                                       (info['attribute'], info['account'], 'takes by attribute'),
                                       (info['nested'], info['outer'], 'takes outer'),
                                       (info['nested'], info['inner'], 'takes inner')):
                    held = of_type(c.snapshot(), 'lock.held', pid=pid, id=lid)
                    self.assertEqual([h['site']['line'] for h in held], [line_of(HOLDER_LINES, mark)], mark)


JOIN_BEFORE_DRAIN = r"""
import json, multiprocessing as mp, sys

def child(q):
    q.put(b'x' * (1 << 20))    # more than the pipe holds

if __name__ == '__main__':
    mp.set_start_method(sys.argv[1])
    q = mp.Queue()
    p = mp.Process(target=child, args=(q,), name='putter')
    p.start()
    p.join(1.5)                # joins before draining
    data = q.get()
    p.join()
    print(json.dumps({'child': p.pid, 'queue': q._mptree_id, 'got': len(data)}), flush=True)
"""


class JoinBeforeDrain(WaitsTest):
    def test_child_waits_to_flush_while_parent_joins(self):
        for method in METHODS:
            with self.subTest(method=method):
                c, p = self.start(JOIN_BEFORE_DRAIN, method)
                out = self.finish(c, p, b'')
                info = json.loads(out)
                msgs = c.snapshot()
                flush = of_type(msgs, 'wait.begin', pid=info['child'])
                self.assertEqual([(m['call'], m['object']) for m in flush],
                                 [('Queue.flush', {'kind': 'queue', 'id': info['queue']})])
                join = of_type(msgs, 'wait.begin', pid=p.pid, call='Process.join')
                self.assertEqual([(m['object'], m['timeout']) for m in join],
                                 [({'kind': 'process', 'pid': info['child']}, 1.5)])
                self.assertEqual(join[0]['site']['line'], line_of(JOIN_BEFORE_DRAIN, 'joins before draining'))
                # Both ended: the parent's join timed out, then the drain let the child flush.
                self.assertEqual(len(of_type(msgs, 'wait.end', pid=info['child'])), 1)
                self.assertEqual(len(of_type(msgs, 'wait.end', pid=p.pid)), 1)


if __name__ == '__main__':
    unittest.main()


CYCLES = r"""
import gc, io, json, multiprocessing as mp, sys, threading, time, types

def reader(conn):
    while conn.recv() is not None:
        pass

if __name__ == '__main__':
    mp.set_start_method(sys.argv[1])
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)      # keep what a collection finds, to look at it
    a, b = mp.Pipe()
    t = threading.Thread(target=reader, args=(a,), daemon=True)
    t.start()
    lock = mp.Lock()
    with lock:
        time.sleep(0.5)                 # held past the threshold: the holds tick reads stacks
    for i in range(60):                 # messages read through BytesIO buffers, between ticks
        b.send(b'x' * 100)
        time.sleep(0.01)
    time.sleep(0.5)                     # the reader blocked in recv() past the threshold
    b.send(None)
    t.join()
    gc.collect()
    ours = sorted({'%s:%s' % (o.f_code.co_filename.rsplit('/', 1)[-1], o.f_code.co_name)
                   for o in gc.garbage if isinstance(o, types.FrameType)
                   and 'mptree_runtime' in o.f_code.co_filename})
    buffers = sum(1 for o in gc.garbage if type(o) in (memoryview, io.BytesIO))
    print(json.dumps({'runtimeFrames': ours, 'buffers': buffers}), flush=True)
"""


class NoReferenceCycles(WaitsTest):
    def test_looking_at_stacks_leaves_no_cycles(self):
        # Reading every thread's frames must not put them in a reference cycle: the frames
        # (and the BytesIO views their locals hold) would wait for the garbage collector,
        # and collecting a getbuffer() view in a cycle crashes Python 3.12.1.
        c, p = self.start(CYCLES, 'fork')
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        found = json.loads(out)
        # The ticks did run (a wait and a hold were reported), and left nothing behind.
        self.wait_for(c, 'wait.begin', call='Connection.recv')
        self.wait_for(c, 'lock.held')
        self.assertEqual(found, {'runtimeFrames': [], 'buffers': 0})
