import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RunModel, exitCodeOf, signalName } from '../../src/core/model';
import type { Liveness, OsProcess } from '../../src/core/osScan';
import type { RuntimeMessage } from '../../src/core/protocol';
import type { ModelChange, RunInfo } from '../../src/core/types';

// Message builders with the protocol's defaults, so each test states only what matters.
const hello = (pid: number, fields: Partial<Extract<RuntimeMessage, { type: 'hello' }>> = {}): RuntimeMessage => ({
  v: 1,
  type: 'hello',
  token: 't',
  runId: 'r',
  pid,
  ppid: null,
  parentPid: null,
  name: `P${pid}`,
  daemon: false,
  kind: 'python',
  role: null,
  startMethod: null,
  target: null,
  argv: null,
  python: '3.11',
  created: null,
  t: 1000,
  ...fields,
});
const started = (pid: number, parentPid: number, fields: Partial<Extract<RuntimeMessage, { type: 'process.started' }>> = {}): RuntimeMessage => ({
  v: 1,
  type: 'process.started',
  pid,
  parentPid,
  name: `Process-${pid}`,
  daemon: false,
  kind: 'process',
  role: null,
  startMethod: 'fork',
  target: 'work',
  poolId: null,
  t: 1000,
  ...fields,
});
const exited = (pid: number, exitCode: number, t = 2000): RuntimeMessage => ({ v: 1, type: 'process.exited', pid, exitCode, t });
const exiting = (pid: number, exitCode: number, t = 2000): RuntimeMessage => ({ v: 1, type: 'process.exiting', pid, exitCode, t });
const reaped = (pid: number, joined = true, t = 2001): RuntimeMessage => ({ v: 1, type: 'process.reaped', pid, joined, t });
const os = (pid: number, ppid: number, command = 'sleep', zombie = false): OsProcess => ({ pid, ppid, command, stat: zombie ? 'Z' : 'S', zombie });
const allAlive = (): Liveness => 'alive';

function newModel(maxExited?: number) {
  const model = new RunModel('r', { maxExited });
  const changes: ModelChange[] = [];
  model.onDidChange((c) => changes.push(c));
  return { model, changes };
}

describe('RunModel', () => {
  it('keeps where start() was called and when a process\'s own code finished', () => {
    const { model, changes } = newModel();
    model.setRootPid(100);
    model.apply([hello(100), started(101, 100, { site: '/w/prog.py:12' }), started(102, 100)]);
    const child = model.processByPid(101)!;
    assert.equal(child.site, '/w/prog.py:12');
    assert.equal(model.processByPid(102)!.site, null, 'no site reported: null, not invented');
    assert.equal(model.processByPid(100)!.codeDoneAt, null);
    changes.length = 0;
    model.apply([{ v: 1, type: 'process.atexit', pid: 100, t: 5000 }]);
    assert.equal(model.processByPid(100)!.codeDoneAt, 5000);
    assert.deepEqual(changes.flatMap((c) => c.processes), [model.processByPid(100)!.key]);
    // The first report stands; a pid outside the run is dropped.
    model.apply([{ v: 1, type: 'process.atexit', pid: 100, t: 6000 }, { v: 1, type: 'process.atexit', pid: 999, t: 6000 }]);
    assert.equal(model.processByPid(100)!.codeDoneAt, 5000);
    assert.equal(model.processByPid(999), undefined);
  });

  it('builds the tree from hello and process.started, one change per batch', () => {
    const { model, changes } = newModel();
    model.setRootPid(100, { name: 'prog.py' });
    model.apply([hello(100, { ppid: 1, name: 'MainProcess' }), started(101, 100), started(102, 100, { daemon: true })]);
    assert.equal(changes.length, 2, 'setRootPid and one batch');
    assert.ok(changes[1].structural);
    const [main] = model.children(null);
    assert.equal(main.kind, 'main');
    assert.equal(main.name, 'MainProcess');
    assert.equal(main.parentPid, null);
    assert.ok(main.instrumented);
    assert.deepEqual(model.children(main.key).map((p) => [p.pid, p.kind, p.daemon]), [
      [101, 'process', false],
      [102, 'process', true],
    ]);
    assert.equal(changes[1].processes.length, 3);
  });

  it('uses the first python process without a known parent as main when the root is unknown', () => {
    const { model } = newModel();
    model.apply([hello(100, { ppid: 50 }), hello(300, { ppid: 100, parentPid: 100 })]);
    assert.equal(model.processByPid(100)?.kind, 'main');
    assert.equal(model.processByPid(300)?.kind, 'process', 'a python child of main is a process');
  });

  it('does not let an early fork-child hello overwrite what the parent reported', () => {
    const { model } = newModel();
    model.setRootPid(100);
    model.apply([hello(100), started(101, 100, { name: 'Worker-1', startMethod: 'fork' })]);
    // A fork child first says hello with the inherited name before Process._bootstrap.
    model.apply([hello(101, { ppid: 100, parentPid: 100, name: 'MainProcess', startMethod: 'os.fork', created: 990 })]);
    const child = model.processByPid(101)!;
    assert.equal(child.name, 'Worker-1');
    assert.equal(child.startMethod, 'fork');
    assert.equal(child.createdAt, 990);
    model.apply([hello(101, { ppid: 100, parentPid: 100, name: 'Worker-1b', kind: 'process', startMethod: 'fork' })]);
    assert.equal(model.processByPid(101)!.name, 'Worker-1b', 'the later, richer hello is merged');
  });

  it('a fork child heard from before its parent’s deferred process.started: one node, the parent’s account merged', () => {
    const { model } = newModel();
    model.setRootPid(100);
    model.apply([hello(100)]);
    // The child made a queue (so it connected) before the parent's report went out.
    model.apply([hello(101, { kind: 'process', parentPid: 100, ppid: 100, name: 'Process-1', startMethod: 'fork', t: 1010, created: 1000 })]);
    model.apply([started(101, 100, { name: 'Process-1', startMethod: 'fork', site: '/w/prog.py:9', t: 1000 })]);
    assert.equal(model.processes().filter((p) => p.pid === 101).length, 1);
    const child = model.processByPid(101)!;
    assert.equal(child.site, '/w/prog.py:9');
    assert.equal(child.state, 'running');
    assert.equal(child.parentKey, model.processByPid(100)!.key);
    // Deferred until it was collected: started, exited and reaped in one batch.
    model.apply([started(102, 100, { t: 2000 }), exited(102, 0, 2400), reaped(102, true, 2400)]);
    assert.equal(model.processes().filter((p) => p.pid === 102).length, 1);
    assert.deepEqual([model.processByPid(102)!.state, model.processByPid(102)!.joined], ['exited', true]);
  });

  it('places a child that arrives before its parent under the parent once it appears', () => {
    const { model } = newModel();
    model.setRootPid(100);
    model.apply([hello(100), hello(201, { kind: 'process', parentPid: 200, ppid: 200 })]);
    assert.equal(model.processByPid(201)!.parentKey, null);
    model.apply([started(200, 100)]);
    assert.equal(model.processByPid(201)!.parentKey, model.processByPid(200)!.key);
    assert.deepEqual(model.children(model.processByPid(200)!.key).map((p) => p.pid), [201]);
    assert.deepEqual(model.children(null).map((p) => p.pid), [100]);
  });

  it('zombie until reaped, then exited; signals named from negative codes', () => {
    const { model } = newModel();
    model.setRootPid(100);
    model.apply([hello(100), started(101, 100), started(102, 100)]);
    model.apply([exited(101, 3), exited(102, -15)]);
    assert.equal(model.processByPid(101)!.state, 'zombie');
    assert.equal(model.processByPid(101)!.exitCode, 3);
    assert.equal(model.processByPid(101)!.signal, null);
    assert.equal(model.processByPid(102)!.signal, 'SIGTERM');
    assert.equal(model.liveCount, 3, 'zombies still count as live');
    model.apply([reaped(101, true), reaped(102, false)]);
    assert.equal(model.processByPid(101)!.state, 'exited');
    assert.equal(model.processByPid(101)!.joined, true);
    assert.equal(model.processByPid(102)!.joined, false);
    assert.equal(model.processByPid(102)!.reaped, true);
    assert.equal(model.liveCount, 1);
  });

  it('the parent’s exit code wins over the child’s own process.exiting', () => {
    const { model } = newModel();
    model.setRootPid(100);
    model.apply([hello(100), started(101, 100), exiting(101, 0), exited(101, -9)]);
    assert.equal(model.processByPid(101)!.exitCode, -9);
    assert.equal(model.processByPid(101)!.signal, 'SIGKILL');
    // exiting after the fact does not override the parent either.
    model.apply([exiting(101, 5)]);
    assert.equal(model.processByPid(101)!.exitCode, -9);
  });

  it('uses a self-reported exit code when only the OS saw the death', () => {
    const { model } = newModel();
    model.setRootPid(100);
    model.apply([hello(100), hello(150, { ppid: 100, parentPid: 100, t: 500 }), exiting(150, 7)]);
    assert.equal(model.processByPid(150)!.state, 'running', 'exiting alone does not end a process');
    model.applyOsScan({ processes: [], takenAt: 3000, liveness: () => 'gone' });
    assert.equal(model.processByPid(150)!.state, 'exited');
    assert.equal(model.processByPid(150)!.exitCode, 7);
  });

  it('pid reuse: a hello for a pid whose node exited makes a new node', () => {
    const { model } = newModel();
    model.setRootPid(100);
    model.apply([hello(100), started(101, 100, { t: 1000 }), exited(101, 0, 2000), reaped(101, true, 2001)]);
    const old = model.processByPid(101)!;
    model.apply([started(101, 100, { name: 'Second', t: 5000 })]);
    const fresh = model.processByPid(101)!;
    assert.notEqual(fresh.key, old.key);
    assert.equal(fresh.state, 'running');
    assert.equal(model.get(old.key)!.state, 'exited', 'the old incarnation stays in history');
    const children = model.children(model.processByPid(100)!.key);
    assert.deepEqual(children.map((p) => [p.pid, p.name, p.state]), [
      [101, 'Process-101', 'exited'],
      [101, 'Second', 'running'],
    ]);
  });

  it('a late hello of an exited process does not revive it or duplicate it', () => {
    const { model } = newModel();
    model.setRootPid(100);
    model.apply([hello(100), started(101, 100, { t: 1000 }), exited(101, 0, 2000)]);
    // The child's hello was sent at 1500 but its connection delivered it after the exit.
    model.apply([hello(101, { kind: 'process', parentPid: 100, t: 1500 })]);
    assert.equal(model.processes().filter((p) => p.pid === 101).length, 1);
    assert.equal(model.processByPid(101)!.state, 'zombie');
  });

  it('orphans: children alive when their logical parent exits', () => {
    const { model } = newModel();
    model.setRootPid(100);
    model.apply([hello(100), started(101, 100), hello(101, { kind: 'process', parentPid: 100, ppid: 100 }), started(102, 101), started(103, 101)]);
    // 104: an os.fork child of 101 that said it is exiting; its connection is not closed yet.
    model.apply([hello(104, { kind: 'python', startMethod: 'os.fork', parentPid: 101, ppid: 101 }), exiting(104, 3)]);
    model.apply([exited(103, 0), exited(101, -9)]);
    const [p102, p103, p104] = [model.processByPid(102)!, model.processByPid(103)!, model.processByPid(104)!];
    assert.equal(p102.orphaned, true);
    assert.equal(p102.parentKey, model.processByPid(101)!.key, 'stays under its logical parent');
    assert.equal(p103.orphaned, false, 'already dead: not an orphan');
    assert.equal(p104.orphaned, false, 'said it was exiting: not an orphan');
    assert.equal(model.processByPid(101)!.orphaned, false);
  });

  it('drops messages about pids that are not part of the run', () => {
    const logged: string[] = [];
    const model = new RunModel('r', { log: (kind) => logged.push(kind) });
    let changes = 0;
    model.setRootPid(100);
    model.apply([hello(100)]);
    model.onDidChange(() => changes++);
    model.apply([
      exited(999, 0),
      reaped(999),
      exiting(999, 1),
      { v: 1, type: 'queue.created', id: 'qx', kind: 'Queue', ownerPid: 999, maxsize: 0, site: null, t: 1 },
      { v: 1, type: 'pool.created', id: 'px', kind: 'Pool', ownerPid: 999, size: 2, site: null, t: 1 },
    ]);
    assert.equal(changes, 0);
    assert.equal(model.processByPid(999), undefined);
    assert.equal(model.queues().length, 0);
    assert.equal(model.pools().length, 0);
    assert.deepEqual(logged, ['foreign:process.exited', 'foreign:process.reaped', 'foreign:process.exiting', 'foreign:queue.created', 'foreign:pool.created']);
  });

  it('queue depth sums deltas over processes and never goes below 0', () => {
    const { model } = newModel();
    model.setRootPid(100);
    model.apply([
      hello(100),
      started(101, 100),
      // counts before the creator's queue.created (another connection was faster)
      { v: 1, type: 'queue.counts', counts: [['q1', 0, 2, 0]], t: 1 },
      { v: 1, type: 'queue.created', id: 'q1', kind: 'JoinableQueue', ownerPid: 100, maxsize: 10, site: 'prog.py:3', t: 1 },
    ]);
    const q = () => model.queues()[0];
    assert.equal(q().depth, 0, 'gets before puts: clamped at 0');
    model.apply([{ v: 1, type: 'queue.counts', counts: [['q1', 5, 0, 0]], t: 2 }]);
    model.apply([{ v: 1, type: 'queue.counts', counts: [['q1', 3, 1, 4]], t: 3 }]);
    assert.equal(q().puts, 8);
    assert.equal(q().gets, 3);
    assert.equal(q().depth, 5);
    assert.equal(q().unfinished, 4);
    assert.deepEqual(model.queuesOf(model.processByPid(100)!.key).map((x) => x.id), ['q1']);
    assert.deepEqual(model.queuesOf(model.processByPid(101)!.key), []);
    model.apply([{ v: 1, type: 'queue.created', id: 'q2', kind: 'Queue', ownerPid: 101, maxsize: 0, site: null, t: 1 }]);
    assert.equal(model.queues().find((x) => x.id === 'q2')!.unfinished, null);
  });

  it('a reading that moves a depth asks the queue\'s other readers for theirs, once', () => {
    const { model } = newModel();
    model.setRootPid(100);
    const depth = (d: number, t: number) => ({ v: 1 as const, type: 'queue.depth' as const, depths: [['q1', d]] as [string, number][], t });
    model.apply(
      [hello(100), started(101, 100), started(102, 100), { v: 1, type: 'queue.created', id: 'q1', kind: 'Queue', ownerPid: 100, maxsize: 0, site: null, t: 1 }, depth(0, 2)],
      [100, 100, 100, 100, 100],
    );
    assert.deepEqual([...model.takeResampleRequests()], [], 'one reader, nobody to ask');
    // A producer (101) reads 4: the maker (100) last said 0 and may have drained it since.
    model.apply([depth(4, 3)], [101]);
    assert.deepEqual([...model.takeResampleRequests()], [[100, ['q1']]]);
    assert.deepEqual([...model.takeResampleRequests()], [], 'taken once');
    // The maker answers 0: that moves the depth, so the producer is asked in turn.
    model.apply([depth(0, 4)], [100]);
    assert.deepEqual([...model.takeResampleRequests()], [[101, ['q1']]]);
    // The producer agrees: nothing moved, nobody is asked, it settles.
    model.apply([depth(0, 5)], [101]);
    assert.deepEqual([...model.takeResampleRequests()], []);
    assert.equal(model.queues()[0].depth, 0);
    // A third reader (102) that moves it asks both others; an older reading asks nobody.
    model.apply([depth(2, 6), depth(7, 1)], [102, 101]);
    assert.deepEqual([...model.takeResampleRequests()].sort(), [[100, ['q1']], [101, ['q1']]]);
    assert.equal(model.queues()[0].depth, 2);
  });

  it('queues whose depth is read from the queue: the latest reading stands, gets are puts − depth', () => {
    const { model } = newModel();
    model.setRootPid(100);
    model.apply([
      hello(100),
      started(101, 100),
      // a producer's reading before the creator's queue.created (another connection was faster)
      { v: 1, type: 'queue.depth', depths: [['q1', 3]], t: 5 },
      { v: 1, type: 'queue.created', id: 'q1', kind: 'Queue', ownerPid: 100, maxsize: 10, site: null, t: 1 },
    ]);
    const q = () => model.queues()[0];
    assert.equal(q().depth, 3, 'an early reading is kept for its queue');
    model.apply([{ v: 1, type: 'queue.counts', counts: [['q1', 7, 0, 0]], t: 6 }]);
    assert.deepEqual([q().puts, q().gets, q().depth], [7, 4, 3], 'counted puts do not move a read depth');
    // Two processes read the same queue; the older reading arrives last and is ignored.
    model.apply([{ v: 1, type: 'queue.depth', depths: [['q1', 1]], t: 9 }, { v: 1, type: 'queue.depth', depths: [['q1', 6]], t: 8 }]);
    assert.deepEqual([q().puts, q().gets, q().depth], [7, 6, 1]);
    model.apply([{ v: 1, type: 'queue.depth', depths: [['q1', 0]], t: 9 }]);
    assert.deepEqual([q().gets, q().depth], [7, 0], 'a reading at the same time counts');
    // A reading above the puts known so far (puts still in flight): gets clamp at 0.
    model.apply([{ v: 1, type: 'queue.depth', depths: [['q1', 9]], t: 10 }]);
    assert.deepEqual([q().gets, q().depth], [0, 9]);
    // A queue without readings keeps counting gets.
    model.apply([
      { v: 1, type: 'queue.created', id: 'q2', kind: 'SimpleQueue', ownerPid: 100, maxsize: 0, site: null, t: 1 },
      { v: 1, type: 'queue.counts', counts: [['q2', 5, 2, 0]], t: 11 },
    ]);
    const q2 = model.queues().find((x) => x.id === 'q2')!;
    assert.deepEqual([q2.puts, q2.gets, q2.depth], [5, 2, 3]);
  });

  it('queues: the senders of counts with puts are its putters (not for manager queues; none past the cap)', () => {
    const { model } = newModel();
    model.setRootPid(100);
    model.apply([
      hello(100),
      started(101, 100),
      started(102, 100),
      { v: 1, type: 'queue.created', id: 'q1', kind: 'Queue', ownerPid: 100, maxsize: 0, site: null, t: 1 },
      { v: 1, type: 'queue.created', id: 'm1', kind: 'ManagerQueue', ownerPid: 100, maxsize: 0, site: null, t: 1 },
    ]);
    const counts = (id: string, puts: number, gets = 0): RuntimeMessage => ({ v: 1, type: 'queue.counts', counts: [[id, puts, gets, 0]], t: 2 });
    model.apply([counts('q1', 3), counts('q1', 0, 2), counts('q1', 1), counts('m1', 4)], [101, 100, 102, 100]);
    model.apply([counts('q1', 2)], [101]);
    const byId = (id: string) => model.queues().find((q) => q.id === id)!;
    assert.deepEqual(byId('q1').putters, [101, 102], 'a getter (100) is no putter; each putter once');
    assert.equal(byId('m1').putters, undefined, "a manager queue's puts are all counted in its server");
    model.apply([counts('q1', 1)]);
    assert.deepEqual(byId('q1').putters, [101, 102], 'no sender known: nothing added');
    for (let pid = 200; pid < 300; pid++) model.apply([started(pid, 100), counts('q1', 1)], [100, pid]);
    assert.equal(byId('q1').putters, undefined, 'too many producers to list: none listed');
    assert.equal(byId('q1').puts, 107);
  });

  it('pools: workers ever, replacements, pending, state', () => {
    const { model } = newModel();
    model.setRootPid(100);
    model.apply([
      hello(100),
      { v: 1, type: 'pool.created', id: 'p1', kind: 'Pool', ownerPid: 100, size: 2, site: null, t: 1 },
      started(110, 100, { kind: 'pool-worker', poolId: 'p1' }),
      started(111, 100, { kind: 'pool-worker', poolId: 'p1' }),
      { v: 1, type: 'pool.workers', id: 'p1', pids: [110, 111], t: 1 },
      { v: 1, type: 'pool.counts', counts: [['p1', 10, 4]], t: 2 },
    ]);
    model.apply([exited(110, 0), reaped(110, false), started(112, 100, { kind: 'pool-worker', poolId: 'p1' }), { v: 1, type: 'pool.workers', id: 'p1', pids: [112], t: 3 }]);
    model.apply([{ v: 1, type: 'pool.counts', counts: [['p1', 0, 5]], t: 4 }, { v: 1, type: 'pool.state', id: 'p1', state: 'closed', t: 5 }]);
    const [pool] = model.poolsOf(model.processByPid(100)!.key);
    assert.deepEqual(pool.workers, [110, 111, 112]);
    assert.equal(pool.submitted, 10);
    assert.equal(pool.completed, 9);
    assert.equal(pool.pending, 1);
    assert.equal(pool.state, 'closed');
    assert.equal(model.processByPid(112)!.poolId, 'p1');
    assert.equal(model.processByPid(112)!.kind, 'pool-worker');
  });

  it('OS scan: adds unreported descendants as os under their OS parent, notices deaths', () => {
    const { model } = newModel();
    model.setRootPid(100, { t: 0 });
    model.apply([hello(100, { t: 0 }), started(101, 100, { t: 0 })]);
    // ps order is by pid: 105's parent 130 comes after it (pid wrap-around).
    model.applyOsScan({ processes: [os(101, 100, 'python3'), os(105, 130, 'sleep 5'), os(130, 101, 'sh -c sleep')], takenAt: 10, liveness: allAlive });
    const p130 = model.processByPid(130)!;
    assert.equal(p130.kind, 'os');
    assert.equal(p130.instrumented, false);
    assert.equal(p130.parentKey, model.processByPid(101)!.key);
    assert.equal(model.processByPid(105)!.parentKey, p130.key);
    assert.equal(model.processByPid(105)!.name, 'sleep');
    assert.equal(model.processByPid(101)!.kind, 'process', 'runtime-known stays as reported');
    // Next scan: 105 is a zombie, 130 vanished and is gone.
    model.applyOsScan({ processes: [os(101, 100), os(105, 1, 'sleep', true)], takenAt: 20, liveness: (pid) => (pid === 130 ? 'gone' : 'alive') });
    assert.equal(model.processByPid(105)!.state, 'zombie');
    assert.equal(model.processByPid(130)!.state, 'exited');
    assert.equal(model.processByPid(130)!.exitCode, null);
    assert.equal(model.processByPid(105)!.state, 'zombie');
  });

  it('OS scan: an orphan that left the root’s subtree stays alive if the OS still has it', () => {
    const { model } = newModel();
    model.setRootPid(100, { t: 0 });
    model.apply([hello(100, { t: 0 }), started(101, 100, { t: 0 })]);
    model.applyOsScan({ processes: [], takenAt: 10, liveness: allAlive });
    assert.equal(model.processByPid(101)!.state, 'running');
    model.applyOsScan({ processes: [], takenAt: 20, liveness: () => 'gone' });
    assert.equal(model.processByPid(101)!.state, 'exited');
  });

  it('OS scan: ignores processes born after the listing began', () => {
    const { model } = newModel();
    model.setRootPid(100, { t: 0 });
    model.apply([hello(100, { t: 0 }), started(101, 100, { t: 50 })]);
    model.applyOsScan({ processes: [], takenAt: 40, liveness: () => 'gone' });
    assert.equal(model.processByPid(101)!.state, 'running');
  });

  it('the root’s zombie children are reaped by init when the root dies', () => {
    const { model } = newModel();
    model.setRootPid(100);
    model.apply([hello(100), started(101, 100), hello(101, { kind: 'process', parentPid: 100, ppid: 100 }), exited(101, 2)]);
    assert.equal(model.processByPid(101)!.state, 'zombie');
    model.markExited(100, -9);
    assert.equal(model.processByPid(100)!.signal, 'SIGKILL');
    assert.equal(model.processByPid(101)!.state, 'exited');
    assert.equal(model.processByPid(101)!.exitCode, 2);
    assert.equal(model.liveCount, 0);
  });

  it('children() of 1,000 nodes is fast and ordered', () => {
    const { model } = newModel();
    model.setRootPid(100);
    const batch: RuntimeMessage[] = [hello(100)];
    for (let i = 0; i < 1000; i++) batch.push(started(1000 + i, 100));
    // Plus many nodes elsewhere, so a scan of all nodes would show in the timing.
    for (let i = 0; i < 20; i++) {
      batch.push(started(5000 + i, 100));
      for (let j = 0; j < 500; j++) batch.push(started(10000 + i * 500 + j, 5000 + i));
    }
    model.apply(batch);
    const key = model.processByPid(100)!.key;
    assert.equal(model.children(key).length, 1020);
    let best = Infinity;
    for (let round = 0; round < 20; round++) {
      const start = process.hrtime.bigint();
      const list = model.children(key);
      best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e6);
      assert.equal(list[0].pid, 1000);
    }
    assert.ok(best < 5, `children() took ${best.toFixed(3)} ms`);
  });

  it('caps exited history, evicting the oldest exited leaves', () => {
    const { model } = newModel(100);
    model.setRootPid(100);
    model.apply([hello(100)]);
    for (let i = 0; i < 300; i++) {
      const pid = 1000 + i;
      model.apply([started(pid, 100, { t: 1000 + i * 10 }), exited(pid, 0, 1001 + i * 10), reaped(pid, true, 1002 + i * 10)]);
    }
    const exitedNodes = model.processes().filter((p) => p.state === 'exited');
    assert.ok(exitedNodes.length <= 100, `${exitedNodes.length} exited kept`);
    assert.ok(exitedNodes.length >= 90);
    assert.equal(model.processByPid(1299)?.state, 'exited', 'the newest stay');
    assert.equal(model.processByPid(1000), undefined, 'the oldest go');
    assert.equal(model.processByPid(100)!.state, 'running');
    assert.equal(model.children(model.processByPid(100)!.key).length, exitedNodes.length);
  });

  it('clearExited keeps live processes and the exited parents above them', () => {
    const { model, changes } = newModel();
    model.setRootPid(100);
    model.apply([hello(100), started(101, 100), started(102, 101), started(103, 100)]);
    model.apply([exited(101, 0), reaped(101), exited(103, 0), reaped(103)]);
    changes.length = 0;
    model.clearExited();
    assert.equal(changes.length, 1);
    assert.deepEqual(model.walk().map((p) => p.pid), [100, 101, 102]);
    model.apply([exited(102, 0), reaped(102)]);
    model.clearExited();
    assert.deepEqual(model.walk().map((p) => p.pid), [100]);
  });

  it('never throws on surprising input', () => {
    const { model } = newModel();
    model.setRootPid(100);
    assert.doesNotThrow(() =>
      model.apply([
        hello(100, { parentPid: 100, ppid: 100 }),
        started(100, 100),
        started(101, 101),
        reaped(101),
        reaped(101),
        exited(101, 0),
        { v: 1, type: 'pool.workers', id: 'nope', pids: [1] },
        { v: 1, type: 'pool.state', id: 'nope', state: 'closed', t: 1 },
        { v: 1, type: 'control.result', id: 1, ok: true, exitCode: 0, error: null, timedOut: false, t: 1 },
      ] as RuntimeMessage[]),
    );
    // No cycles: every node is reachable from the top.
    assert.equal(model.walk().length, model.processes().length);
  });

  it('snapshot has processes in tree order, queues and pools', () => {
    const { model } = newModel();
    model.setRootPid(100);
    model.apply([hello(100, { name: 'MainProcess' }), started(101, 100), exited(101, -9), { v: 1, type: 'queue.created', id: 'q', kind: 'Queue', ownerPid: 100, maxsize: 3, site: null, t: 1 }]);
    const run: RunInfo = { runId: 'r', script: 'x.py', args: ['a'], python: 'py', cwd: '/', state: 'finished', rootPid: 100, exitCode: 0, signal: null, startedAt: 1, endedAt: 2, error: null, notice: null };
    const snap = model.toSnapshot(run);
    assert.equal(snap.version, 1);
    assert.deepEqual(snap.run, { script: 'x.py', args: ['a'], python: 'py', exitCode: 0, signal: null, startedAt: 1, endedAt: 2 });
    assert.deepEqual(snap.processes.map((p) => [p.pid, p.kind, p.state, p.signal]), [
      [100, 'main', 'running', null],
      [101, 'process', 'zombie', 'SIGKILL'],
    ]);
    assert.deepEqual(snap.queues, [{ id: 'q', kind: 'Queue', ownerPid: 100, maxsize: 3, depth: 0, puts: 0, gets: 0, unfinished: null }]);
  });
});

describe('signals', () => {
  it('names negative exit codes and converts node exits', () => {
    assert.equal(signalName(-9), 'SIGKILL');
    assert.equal(signalName(-15), 'SIGTERM');
    assert.equal(signalName(-6), 'SIGABRT');
    assert.equal(signalName(0), null);
    assert.equal(signalName(3), null);
    assert.equal(signalName(null), null);
    assert.equal(exitCodeOf(null, 'SIGKILL'), -9);
    assert.equal(exitCodeOf(3, null), 3);
  });
});
