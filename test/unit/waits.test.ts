// Waits, lock holders, pool workers' tasks and the deadlocks named from them, through a real
// RunSession: each test connects to the session's own socket as the runtime of a few processes
// (hello with the run's token, then the lines of docs/protocol.md) and reads what the session's
// model, snapshot, text tree and hints make of them. Every deadlock rule has its negatives: a
// wrong deadlock is worse than none.
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { computeHints, snapshotHints } from '../../src/core/hints';
import { renderTree } from '../../src/core/renderTree';
import { connectOptions } from '../../src/core/server';
import { RunSession } from '../../src/core/session';
import type { LogEntry } from '../../src/core/types';

const root = path.resolve(__dirname, '..', '..', '..');
const script = path.join(root, 'test', 'fixtures', 'cli', 'family.py');
const APP = '/w/app.py';

const sessions: RunSession[] = [];
const sockets: net.Socket[] = [];

afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of sessions.splice(0)) s.dispose();
});

async function until<T>(what: string, check: () => T | undefined | false | null, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A session nobody launched: its processes are the fake runtimes below (no OS scan runs before attach). */
async function newSession(): Promise<{ session: RunSession; logs: LogEntry[] }> {
  const logs: LogEntry[] = [];
  const session = await RunSession.create({ target: { script, args: [] }, cwd: root, logger: { log: (level, message) => logs.push({ level, message }) } });
  sessions.push(session);
  return { session, logs };
}

/** One process's runtime: its own connection, its hello, then whatever it says. */
class FakeProcess {
  private constructor(
    readonly pid: number,
    private readonly socket: net.Socket,
  ) {}

  static async connect(session: RunSession, pid: number, hello: Record<string, unknown>): Promise<FakeProcess> {
    const server = session['server'];
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.createConnection(connectOptions(server.address), () => resolve(s));
      s.once('error', reject);
    });
    sockets.push(socket);
    const p = new FakeProcess(pid, socket);
    await p.send({ type: 'hello', token: server.token, runId: session.runId, pid, kind: 'python', daemon: false, ...hello });
    await until(`the hello of ${pid}`, () => session.model.processByPid(pid)?.instrumented);
    return p;
  }

  send(...messages: Array<Record<string, unknown>>): Promise<void> {
    const text = messages.map((m) => JSON.stringify({ v: 1, t: Date.now(), ...m }) + '\n').join('');
    return new Promise((resolve) => this.socket.write(text, () => resolve()));
  }

  raw(text: string): Promise<void> {
    return new Promise((resolve) => this.socket.write(text, () => resolve()));
  }
}

const site = (line: number, fn = '<module>') => ({ file: APP, line, function: fn });

/** A family: main (100) and its children, each with its own connection. */
async function family(session: RunSession, ...children: Array<[number, string]>): Promise<Map<number, FakeProcess>> {
  const procs = new Map<number, FakeProcess>();
  procs.set(100, await FakeProcess.connect(session, 100, { ppid: 1, parentPid: null, name: 'MainProcess' }));
  for (const [pid, name] of children) {
    await procs.get(100)!.send({ type: 'process.started', pid, parentPid: 100, name, kind: 'process', startMethod: 'fork', target: name });
    procs.set(pid, await FakeProcess.connect(session, pid, { ppid: 100, parentPid: 100, name, kind: 'process', startMethod: 'fork' }));
  }
  return procs;
}

function wait(pid: number, call: string, object: Record<string, unknown>, line: number, extra: Record<string, unknown> = {}) {
  return { type: 'wait.begin', pid, threadId: 1, thread: 'MainThread', call, object, timeout: null, site: site(line), since: Date.now() - 3000, threads: 1, ...extra };
}

/** Past the settling time of every rule, without sleeping through it. */
const later = () => Date.now() + 2000;

describe('waits and holders in the model', () => {
  it('a wait per thread, shown on the process; its end is its last wait; a process that ends drops its waits', async () => {
    const { session } = await newSession();
    const procs = await family(session, [101, 'consumer']);
    const consumer = procs.get(101)!;
    await procs.get(100)!.send({ type: 'queue.created', id: 'q100-1', kind: 'Queue', ownerPid: 100, maxsize: 0, site: '/w/app.py:4' });
    await consumer.send(
      wait(101, 'Queue.get', { kind: 'queue', id: 'q100-1' }, 12, { threads: 2 }),
      { ...wait(101, 'Event.wait', { kind: 'lock', id: 'l100-9' }, 20), threadId: 2, thread: 'watcher', threads: 2 },
    );
    const node = await until('both waits', () => {
      const p = session.model.processByPid(101);
      return p && p.waitingThreads === 2 ? p : undefined;
    });
    assert.equal(node.threads, 2);
    assert.equal(node.wait?.call, 'Queue.get', 'the main thread is the one shown');
    assert.deepEqual(node.wait?.object, { kind: 'queue', id: 'q100-1', pid: null, address: null });
    assert.deepEqual(node.wait?.site, site(12));
    assert.deepEqual(session.model.waitsOf(node.key).map((w) => w.thread).sort(), ['MainThread', 'watcher']);
    assert.deepEqual(session.model.gettersOf('q100-1'), [101]);

    await consumer.send({ type: 'wait.end', pid: 101, threadId: 1 });
    await until('the get ended', () => session.model.processByPid(101)?.waitingThreads === 1);
    assert.equal(node.wait?.call, 'Event.wait', 'the other thread still waits');
    assert.equal(node.lastWait?.call, 'Queue.get');
    assert.ok(node.lastWait?.endedAt);
    // An end for a wait never begun (or a second end) changes nothing.
    await consumer.send({ type: 'wait.end', pid: 101, threadId: 77 });

    // Killed mid-wait: its parent reports the exit; the session drops the wait itself.
    await procs.get(100)!.send({ type: 'process.exited', pid: 101, exitCode: -9 });
    await until('its exit', () => session.model.processByPid(101)?.state === 'zombie');
    assert.equal(node.wait, null);
    assert.equal(node.waitingThreads, 0);
    assert.deepEqual(session.model.waitsOf(node.key), []);
    assert.equal(node.lastWait?.call, 'Event.wait', 'the wait it died in is its last');
    // A late wait.begin from the dead process is not news.
    await consumer.send(wait(101, 'Queue.get', { kind: 'queue', id: 'q100-1' }, 12));
    await procs.get(100)!.send({ type: 'process.atexit', pid: 100 });
    await until('the main atexit', () => session.model.processByPid(100)?.codeDoneAt);
    assert.equal(node.wait, null);
  });

  it('a lock, its holder and its waiter; the holder dies: the lock stays held by a dead holder', async () => {
    const { session } = await newSession();
    const procs = await family(session, [101, 'takes-a-then-b'], [102, 'takes-b-then-a']);
    await procs.get(100)!.send({ type: 'lock.created', id: 'l100-1', kind: 'Lock', ownerPid: 100, site: site(5), label: 'lock_a' });
    await procs.get(102)!.send({ type: 'lock.held', id: 'l100-1', pid: 102, threadId: 1, thread: 'MainThread', site: site(13, 'takes_b_then_a'), since: Date.now() - 2000 });
    await procs.get(101)!.send(wait(101, 'Lock.acquire', { kind: 'lock', id: 'l100-1' }, 9));
    const lock = await until('the holder', () => session.model.lock('l100-1')?.holders.length === 1 && session.model.lock('l100-1'));
    await until('the waiter', () => session.model.processByPid(101)?.wait);
    assert.equal(lock.label, 'lock_a');
    assert.deepEqual(lock.holders.map((h) => [h.pid, h.holderDead, h.site?.line]), [[102, false, 13]]);

    const tree = renderTree(session.model, undefined, { now: Date.now() });
    assert.match(tree, /takes-a-then-b \[101\]\s+waiting: Lock lock_a held by takes-b-then-a \(app\.py:13\) · 3\.\d s/);

    await procs.get(100)!.send({ type: 'process.exited', pid: 102, exitCode: -15 });
    await until('the holder marked dead', () => lock.holders[0]?.holderDead);
    assert.match(renderTree(session.model), /waiting: Lock lock_a held by takes-b-then-a, which died \(app\.py:13\)/);
    const snapshot = session.model.toSnapshot(session.info);
    assert.deepEqual(snapshot.locks.map((l) => [l.id, l.label, l.holders.map((h) => [h.pid, h.holderDead])]), [['l100-1', 'lock_a', [[102, true]]]]);
    // A release that no live holder made (the dead one cannot) leaves the lock held.
    await procs.get(102)!.send({ type: 'lock.released', id: 'l100-1', pid: 102, threadId: 1 });
    await procs.get(100)!.send({ type: 'process.atexit', pid: 100 });
    await until('the main atexit', () => session.model.processByPid(100)?.codeDoneAt);
    assert.equal(lock.holders.length, 1);
  });

  it("a pool worker's task, tasks done and CPU; the snapshot carries wait, task and tasksDone", async () => {
    const { session } = await newSession();
    const main = await FakeProcess.connect(session, 100, { ppid: 1, parentPid: null, name: 'MainProcess' });
    await main.send(
      { type: 'pool.created', id: 'p100-1', kind: 'Pool', ownerPid: 100, size: 2, site: '/w/app.py:20' },
      { type: 'process.started', pid: 110, parentPid: 100, name: 'ForkPoolWorker-1', daemon: true, kind: 'pool-worker', startMethod: 'fork', poolId: 'p100-1' },
      { type: 'process.started', pid: 111, parentPid: 100, name: 'ForkPoolWorker-2', daemon: true, kind: 'pool-worker', startMethod: 'fork', poolId: 'p100-1' },
      wait(100, 'Pool.map', { kind: 'pool', id: 'p100-1' }, 21),
    );
    const w2 = await FakeProcess.connect(session, 111, { ppid: 100, parentPid: 100, name: 'ForkPoolWorker-2', kind: 'pool-worker', daemon: true });
    await w2.send(
      { type: 'worker.counts', counts: [['p100-1', 111, 6, 1.5]] },
      { type: 'task.begin', pid: 111, poolId: 'p100-1', call: 'crunch(7)', since: Date.now() - 3200 },
    );
    const worker = await until('the task', () => session.model.processByPid(111)?.task && session.model.processByPid(111));
    assert.equal(worker.tasksDone, 6);
    assert.equal(worker.workerCpuSeconds, 1.5);
    assert.match(renderTree(session.model), /ForkPoolWorker-2 \[111\] daemon\s+crunch\(7\) · 3\.\d s/);
    await w2.send({ type: 'worker.counts', counts: [['p100-1', 111, 1, null]] });
    await until('the second tally', () => worker.tasksDone === 7);
    assert.equal(worker.workerCpuSeconds, 1.5, 'a null CPU keeps the known one');

    const snapshot = session.model.toSnapshot(session.info);
    const byPid = new Map(snapshot.processes.map((p) => [p.pid, p]));
    assert.equal(byPid.get(111)?.task?.call, 'crunch(7)');
    assert.equal(byPid.get(111)?.tasksDone, 7);
    assert.equal(byPid.get(110)?.tasksDone, 0);
    assert.equal(byPid.get(100)?.tasksDone, undefined, 'only workers count tasks');
    assert.equal(byPid.get(100)?.wait?.call, 'Pool.map');
    assert.equal(byPid.get(100)?.wait?.endedAt, null);

    await w2.send({ type: 'task.end', pid: 111, poolId: 'p100-1' });
    await until('the task ended', () => worker.task === null);
    await main.send({ type: 'wait.end', pid: 100, threadId: 1 });
    await until('the map returned', () => session.model.processByPid(100)?.wait === null);
    const after = session.model.toSnapshot(session.info).processes.find((p) => p.pid === 100);
    assert.equal(after?.wait?.call, 'Pool.map', 'the snapshot keeps the last wait');
    assert.ok(after?.wait?.endedAt);
  });

  it('garbage in the new messages is refused with the usual log line, and the connection goes on', async () => {
    const { session, logs } = await newSession();
    const procs = await family(session, [101, 'consumer']);
    const p = procs.get(101)!;
    await p.raw(
      [
        { type: 'wait.begin', pid: 101, threadId: 1, call: 'Queue.get', object: { kind: 'teleport' }, since: 1 },
        { type: 'wait.begin', pid: 101, threadId: 1, call: 'Process.join', object: { kind: 'process' }, since: 1 },
        { type: 'wait.begin', pid: 101, threadId: 'x', call: 'Queue.get', object: { kind: 'queue', id: 'q' }, since: 1 },
        { type: 'lock.held', id: 'l1', pid: 101, threadId: 1, site: { file: APP, line: -3 }, since: 1 },
        { type: 'worker.counts', counts: [['p', 101, 1]] },
        { type: 'task.begin', pid: 101, poolId: 'p', call: { toString: 1 }, since: 1 },
        { type: 'stacks', id: 1, pid: 101, threads: [{ threadId: 1, name: 'MainThread', frames: [{ file: APP }] }] },
      ]
        .map((m) => JSON.stringify({ v: 1, ...m }))
        .join('\n') + '\n',
    );
    await p.send(wait(101, 'Queue.get', { kind: 'queue', id: 'q100-1' }, 12));
    await until('the good wait after the garbage', () => session.model.processByPid(101)?.wait);
    assert.ok(logs.some((l) => /wait\.begin: field "object" has the wrong type/.test(l.message)), logs.map((l) => l.message).join('\n'));
    assert.deepEqual(session['server'].connectedPids().sort(), [100, 101]);
  });
});

describe('deadlocks', () => {
  /** Two workers, each holding one lock and waiting for the other's; main joins the first. */
  async function lockOrder(session: RunSession, extra: { bTimeout?: number | null; bWaits?: boolean } = {}) {
    const procs = await family(session, [101, 'takes-a-then-b'], [102, 'takes-b-then-a']);
    const main = procs.get(100)!;
    await main.send(
      { type: 'lock.created', id: 'l100-1', kind: 'Lock', ownerPid: 100, site: site(5), label: 'lock_a' },
      { type: 'lock.created', id: 'l100-2', kind: 'Lock', ownerPid: 100, site: site(6), label: 'lock_b' },
      wait(100, 'Process.join', { kind: 'process', pid: 101 }, 30),
    );
    const held = (pid: number, id: string, line: number) => ({ type: 'lock.held', id, pid, threadId: 1, thread: 'MainThread', site: site(line), since: Date.now() - 3000 });
    await procs.get(101)!.send(held(101, 'l100-1', 9), wait(101, 'Lock.acquire', { kind: 'lock', id: 'l100-2' }, 10));
    await procs.get(102)!.send(held(102, 'l100-2', 13));
    if (extra.bWaits !== false) await procs.get(102)!.send(wait(102, 'Lock.acquire', { kind: 'lock', id: 'l100-1' }, 14, { timeout: extra.bTimeout ?? null }));
    await until('the waits', () => session.model.processByPid(101)?.wait && session.model.processByPid(100)?.wait && (extra.bWaits === false || session.model.processByPid(102)?.wait));
    await until('the holders', () => session.model.lock('l100-2')?.holders.length === 1 && session.model.lock('l100-1')?.holders.length === 1);
    return procs;
  }

  it('lock-cycle: two processes each holding the lock the other waits for', async () => {
    const { session } = await newSession();
    await lockOrder(session);
    assert.deepEqual(session.model.deadlocks(Date.now() - 5000), [], 'nothing before the state settled');
    const [d, ...more] = session.model.deadlocks(later());
    assert.equal(more.length, 0, 'one finding: the sharper rule explains the run');
    assert.equal(d.kind, 'lock-cycle');
    assert.deepEqual([...d.pids].sort(), [101, 102]);
    assert.deepEqual(d.objects.sort(), ['Lock lock_a', 'Lock lock_b']);
    assert.deepEqual([...d.sites].sort(), ['/w/app.py:10', '/w/app.py:13', '/w/app.py:14', '/w/app.py:9']);
    assert.match(d.message, /'takes-a-then-b' \(pid 101\) waits for Lock lock_b \(app\.py:10\), held by 'takes-b-then-a' \(pid 102\) \(app\.py:13\)/);

    // The hint: an error, a badge on both processes, a problem on each line.
    const hints = computeHints(session.model, session.info, later());
    const hint = hints.find((h) => h.kind === 'deadlock')!;
    assert.equal(hint.severity, 'error');
    assert.deepEqual(hint.processKeys?.map((k) => session.model.get(k)?.pid).sort(), [101, 102]);
    assert.equal(hint.sites?.length, 4);
    assert.equal(snapshotHints([hint])[0].kind, 'deadlock');
  });

  it('lock-cycle negatives: a wait with a timeout; a lock merely contended', async () => {
    const timed = (await newSession()).session;
    await lockOrder(timed, { bTimeout: 5 });
    assert.deepEqual(timed.model.deadlocks(later()), [], 'acquire(timeout=5) gives up by itself');

    const contended = (await newSession()).session;
    await lockOrder(contended, { bWaits: false });
    assert.deepEqual(contended.model.deadlocks(later()), [], 'its holder is busy, not waiting: it will release');
    assert.deepEqual(computeHints(contended.model, contended.info, later()).filter((h) => h.kind === 'deadlock'), []);
  });

  /** main joins a child that waits to put into (or flush) a queue only main would read. */
  async function joinBeforeDrain(session: RunSession, call: 'Queue.put' | 'Queue.flush', depth: number, sibling?: 'busy' | 'none') {
    const children: Array<[number, string]> = [[101, 'producer']];
    if (sibling) children.push([102, 'bystander']);
    const procs = await family(session, ...children);
    const main = procs.get(100)!;
    await main.send(
      { type: 'queue.created', id: 'q100-1', kind: 'Queue', ownerPid: 100, maxsize: call === 'Queue.put' ? 3 : 0, site: '/w/app.py:4' },
      { type: 'queue.depth', depths: [['q100-1', depth]] },
      wait(100, 'Process.join', { kind: 'process', pid: 101 }, 30),
    );
    await procs.get(101)!.send(wait(101, call, { kind: 'queue', id: 'q100-1' }, call === 'Queue.put' ? 11 : 12));
    if (sibling === 'busy') await procs.get(102)!.send({ type: 'lock.created', id: 'l102-1', kind: 'Lock', ownerPid: 102, site: null, label: null });
    await until('the waits', () => session.model.processByPid(101)?.wait && session.model.processByPid(100)?.wait && session.model.queue('q100-1')?.depth === depth);
    return procs;
  }

  it('join-queue: a parent joins a child that waits to put into a full queue, or to flush one at exit', async () => {
    const full = (await newSession()).session;
    await joinBeforeDrain(full, 'Queue.put', 3);
    const [d] = full.model.deadlocks(later());
    assert.equal(d?.kind, 'join-queue');
    assert.deepEqual(d.pids, [100, 101]);
    assert.deepEqual(d.sites, ['/w/app.py:30', '/w/app.py:11']);
    assert.match(d.message, /'MainProcess' \(pid 100\) waits in join\(\) \(app\.py:30\) for 'producer' \(pid 101\), which waits to put into the full Queue q100-1 \(app\.py:11\)/);

    const flushing = (await newSession()).session;
    await joinBeforeDrain(flushing, 'Queue.flush', 5);
    const [f] = flushing.model.deadlocks(later());
    assert.equal(f?.kind, 'join-queue');
    assert.match(f.message, /cannot exit before its items in Queue q100-1 \(app\.py:12\) are read/);
  });

  it('join-queue negatives: room in the queue; another live process that could read it', async () => {
    const room = (await newSession()).session;
    await joinBeforeDrain(room, 'Queue.put', 1);
    assert.deepEqual(room.model.deadlocks(later()), [], 'a put with room goes through');

    const reader = (await newSession()).session;
    await joinBeforeDrain(reader, 'Queue.put', 3, 'busy');
    assert.deepEqual(reader.model.deadlocks(later()), [], 'a sibling that is not waiting may read the queue');
  });

  /** A producer that exited without its sentinel, a consumer in get(), main joining the consumer. */
  async function forgottenSentinel(session: RunSession, options: { producer: 'exited' | 'running'; consumerTimeout?: number; consumerThreads?: number } = { producer: 'exited' }) {
    const procs = await family(session, [101, 'producer'], [102, 'consumer']);
    const main = procs.get(100)!;
    await main.send({ type: 'queue.created', id: 'q100-1', kind: 'Queue', ownerPid: 100, maxsize: 0, site: '/w/app.py:4' });
    await procs.get(101)!.send({ type: 'queue.counts', counts: [['q100-1', 5, 0, 0]] }, { type: 'queue.depth', depths: [['q100-1', 0]] });
    if (options.producer === 'exited') {
      await main.send({ type: 'process.exited', pid: 101, exitCode: 0 }, { type: 'process.reaped', pid: 101, joined: true, by: 'join' });
    }
    await procs.get(102)!.send(wait(102, 'Queue.get', { kind: 'queue', id: 'q100-1' }, 17, { timeout: options.consumerTimeout ?? null, threads: options.consumerThreads ?? 1 }));
    await main.send(wait(100, 'Process.join', { kind: 'process', pid: 102 }, 31));
    await until('the waits', () => session.model.processByPid(102)?.wait && session.model.processByPid(100)?.wait && session.model.queue('q100-1')?.puts === 5);
    if (options.producer === 'exited') await until('the producer gone', () => session.model.processByPid(101)?.state === 'exited');
    return procs;
  }

  it('all-waiting: every live process waits on something no live process can give', async () => {
    const { session } = await newSession();
    await forgottenSentinel(session);
    const [d, ...more] = session.model.deadlocks(later());
    assert.equal(more.length, 0);
    assert.equal(d?.kind, 'all-waiting');
    assert.deepEqual([...d.pids].sort(), [100, 102]);
    assert.deepEqual(d.sites.sort(), ['/w/app.py:17', '/w/app.py:31']);
    assert.match(d.message, /'consumer' \(pid 102\) in Queue\.get on Queue q100-1 \(app\.py:17\)/);
    assert.match(d.message, /'MainProcess' \(pid 100\) in Process\.join on process 'consumer' \(pid 102\) \(app\.py:31\)/);

    // Stopped: the processes end, their waits go, the finding stays for the final tree and the snapshot.
    const main = session.model.processByPid(100)!;
    session.model.markExited(102, -15);
    session.model.markExited(100, -15);
    assert.equal(main.wait, null);
    assert.deepEqual(session.model.deadlocks(later()), [], 'nothing is found in a run whose processes ended');
    const tree = renderTree(session.model, session.info);
    assert.match(tree, /✖ Deadlock: every live process waits on something no live process can give/);
    const snapshot = session.model.toSnapshot(session.info);
    assert.equal(snapshot.deadlocks.length, 1);
    assert.equal(snapshot.deadlocks[0].kind, 'all-waiting');
    assert.equal(snapshot.processes.find((p) => p.pid === 102)?.wait?.call, 'Queue.get', "the consumer's last wait");
  });

  it('all-waiting negatives: a live producer; a get with a timeout; a thread not waiting; a process the runtime cannot see', async () => {
    const producing = (await newSession()).session;
    await forgottenSentinel(producing, { producer: 'running' });
    assert.deepEqual(producing.model.deadlocks(later()), [], 'the producer runs: it may yet put');

    const timed = (await newSession()).session;
    await forgottenSentinel(timed, { producer: 'exited', consumerTimeout: 10 });
    assert.deepEqual(timed.model.deadlocks(later()), [], 'get(timeout=10) ends by itself');

    const threaded = (await newSession()).session;
    await forgottenSentinel(threaded, { producer: 'exited', consumerThreads: 2 });
    assert.deepEqual(threaded.model.deadlocks(later()), [], "another thread of the consumer's may put");

    const unseen = (await newSession()).session;
    await forgottenSentinel(unseen);
    unseen.model.applyOsScan({
      processes: [{ pid: 150, ppid: 100, command: 'helper-binary', stat: 'S', zombie: false }],
      takenAt: Date.now(),
      liveness: () => 'alive',
    });
    assert.equal(unseen.model.processByPid(150)?.instrumented, false);
    assert.deepEqual(unseen.model.deadlocks(later()), [], 'an OS-only process may put anything');
  });
});
