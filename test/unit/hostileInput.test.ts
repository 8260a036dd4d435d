// Hostile input. Random bytes, huge lines, invalid JSON, wrong types,
// unknown kinds and foreign pids through the decoder, the validator, the model and the real
// socket: nothing throws, memory stays bounded, and errors are logged once per kind rather
// than once per line. Also: no prototype pollution, no terminal escapes from process names,
// pid reuse in every way the model can learn of it.
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { RunModel } from '../../src/core/model';
import { LineDecoder, parseMessage, type RuntimeMessage } from '../../src/core/protocol';
import { printable, renderTree, stripAnsi } from '../../src/core/renderTree';
import { RateLimitedLog, RuntimeServer, connectOptions, type ReceivedMessage } from '../../src/core/server';
import type { RunInfo } from '../../src/core/types';

/** Deterministic PRNG so a failing case can be replayed from its seed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

const TEMPLATES: object[] = [
  { type: 'hello', token: 't', runId: 'r', pid: 100, ppid: 1, parentPid: 1, name: 'MainProcess', daemon: false, kind: 'python', created: 5 },
  { type: 'process.started', pid: 101, parentPid: 100, name: 'P', daemon: false, kind: 'process', startMethod: 'fork', poolId: null },
  { type: 'process.exited', pid: 101, exitCode: -9 },
  { type: 'process.exiting', pid: 101, exitCode: 3 },
  { type: 'process.reaped', pid: 101, joined: true },
  { type: 'queue.created', id: 'q1', kind: 'Queue', ownerPid: 100, maxsize: 3, site: null },
  { type: 'queue.counts', counts: [['q1', 1, 2, 0]] },
  { type: 'pool.created', id: 'p1', kind: 'Pool', ownerPid: 100, size: 2, site: null },
  { type: 'pool.workers', id: 'p1', pids: [101, 102] },
  { type: 'pool.counts', counts: [['p1', 3, 1]] },
  { type: 'pool.state', id: 'p1', state: 'closed' },
  { type: 'control.result', id: 1, ok: true, exitCode: 0 },
];

function randomValue(random: () => number, depth = 0): unknown {
  const r = random();
  if (r < 0.15) return Math.floor(random() * 400) - 50; // small ints: real-looking pids and codes
  if (r < 0.2) return [0, -1, 1.5, 2 ** 53, -(2 ** 60), 1e308, Number.MAX_SAFE_INTEGER][Math.floor(random() * 7)];
  if (r < 0.3) return ['__proto__', 'constructor', 'toString', 'q1', 'p1', '', '\u0000\u001b[2J', '进程'][Math.floor(random() * 8)];
  if (r < 0.35) return 'x'.repeat(Math.floor(random() * 5000));
  if (r < 0.45) return random() < 0.5;
  if (r < 0.5) return null;
  if (depth > 3) return 0;
  if (r < 0.75) return Array.from({ length: Math.floor(random() * 5) }, () => randomValue(random, depth + 1));
  const object: Record<string, unknown> = {};
  for (let i = Math.floor(random() * 4); i > 0; i--) object[['pid', 'type', '__proto__', 'v', 'counts', 'x'][Math.floor(random() * 6)]] = randomValue(random, depth + 1);
  return object;
}

/** A valid message with some fields replaced, removed or added; or an unknown type. */
function randomMessage(random: () => number): Record<string, unknown> {
  const message: Record<string, unknown> = { v: 1, t: random() * 1e4, ...TEMPLATES[Math.floor(random() * TEMPLATES.length)] };
  const keys = Object.keys(message);
  for (let i = Math.floor(random() * 3); i > 0; i--) {
    const key = random() < 0.8 ? keys[Math.floor(random() * keys.length)] : ['__proto__', 'constructor', 'extra'][Math.floor(random() * 3)];
    if (random() < 0.2) delete message[key];
    else message[key] = randomValue(random);
  }
  if (random() < 0.05) message.type = `type-${Math.floor(random() * 1e6)}`;
  return message;
}

function checkModelInvariants(model: RunModel, numbers = true): void {
  const all = model.processes();
  // Every node reachable from the top exactly once: no cycle, no lost subtree.
  assert.equal(model.walk().length, all.length);
  assert.equal(new Set(all.map((p) => p.key)).size, all.length);
  assert.equal(model.liveCount, all.filter((p) => p.state !== 'exited').length);
  // Numbers hold only for validated input: the reducer trusts the validator for types.
  if (!numbers) return;
  for (const q of model.queues()) assert.ok(q.depth >= 0 && Number.isFinite(q.depth));
  for (const p of model.pools()) assert.ok(p.pending >= 0 && Number.isFinite(p.pending));
}

describe('the model under random and hostile messages', () => {
  it('fuzz: 50,000 random messages, validated then applied, never throw; few log lines', () => {
    for (const seed of [1, 2, 3]) {
      const random = prng(seed);
      const lines: string[] = [];
      const log = new RateLimitedLog({ log: (_level, message) => lines.push(message) }, 1e9);
      const model = new RunModel('r', { maxExited: 200, log: (kind, message) => log.report(kind, 'warn', message) });
      model.setRootPid(100);
      let accepted = 0;
      for (let i = 0; i < 50_000 / 3; i++) {
        const parsed = parseMessage(JSON.stringify(randomMessage(random)));
        if (!parsed.ok) {
          log.report(parsed.kind === 'field' ? `field:${parsed.type}` : parsed.kind, 'warn', parsed.reason);
          continue;
        }
        accepted++;
        assert.doesNotThrow(() => model.apply([parsed.message]));
      }
      assert.ok(accepted > 1000, `the fuzz reached the reducer (${accepted})`);
      checkModelInvariants(model);
      // One line per kind of problem: a bounded set, whatever the volume.
      assert.ok(lines.length <= 40, `${lines.length} log lines:\n${lines.join('\n')}`);
      log.dispose();
      assert.ok(lines.length <= 80);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    }
  });

  it('the reducer survives objects that skipped validation (wrong types everywhere)', () => {
    const random = prng(7);
    let logged = 0;
    const model = new RunModel('r', { log: () => logged++ });
    model.setRootPid(100);
    for (let i = 0; i < 5000; i++) {
      const message = randomMessage(random);
      for (const key of Object.keys(message)) if (key !== 'type' && random() < 0.3) message[key] = randomValue(random);
      assert.doesNotThrow(() => model.apply([message as unknown as RuntimeMessage]));
    }
    checkModelInvariants(model, false);
    assert.ok(logged > 0, 'failures are reported to the log callback (which the session rate-limits)');
  });

  it('bounded memory: counts and workers for ids that never get created, pids from outside the run', () => {
    const model = new RunModel('r');
    model.setRootPid(100);
    for (let i = 0; i < 30_000; i++) {
      model.apply([
        { v: 1, type: 'queue.counts', counts: [[`q${i}`, 1, 0, 0]], t: 1 },
        { v: 1, type: 'pool.counts', counts: [[`p${i}`, 1, 0]], t: 1 },
      ]);
    }
    model.apply([{ v: 1, type: 'pool.workers', id: 'never', pids: Array.from({ length: 100_000 }, (_, i) => i + 1), t: 1 }]);
    assert.ok(model['queueTable']['earlyCounts'].size <= 10_000);
    assert.ok(model['poolTable']['earlyCounts'].size <= 10_000);
    assert.ok((model['poolTable']['earlyWorkers'].get('never')?.size ?? 0) <= 1, 'only members are kept (the root)');
    // A created pool does not take foreign pids either.
    model.apply([{ v: 1, type: 'pool.created', id: 'p', kind: 'Pool', ownerPid: 100, size: 1, site: null, t: 1 }]);
    const started = Date.now();
    model.apply([{ v: 1, type: 'pool.workers', id: 'p', pids: Array.from({ length: 100_000 }, (_, i) => 200_000 + i), t: 1 }]);
    assert.deepEqual(model.pools().find((p) => p.id === 'p')!.workers, []);
    // Generous: the point is "not quadratic" (100,000² comparisons would take minutes).
    assert.ok(Date.now() - started < 5000);
  });

  it('queues and pools made in a loop do not grow the model for ever; busy ones are kept', () => {
    const model = new RunModel('r', { maxQueues: 100, maxPools: 20 });
    model.setRootPid(100);
    const mainKey = model.processByPid(100)!.key;
    // One queue that keeps items and one pool that never finishes: never forgotten.
    model.apply([
      { v: 1, type: 'queue.created', id: 'busy', kind: 'Queue', ownerPid: 100, maxsize: 0, site: null, t: 1 },
      { v: 1, type: 'queue.counts', counts: [['busy', 3, 0, 0]], t: 1 },
      { v: 1, type: 'pool.created', id: 'live-pool', kind: 'Pool', ownerPid: 100, size: 2, site: null, t: 1 },
    ]);
    for (let i = 0; i < 5000; i++) {
      model.apply([
        { v: 1, type: 'queue.created', id: `q${i}`, kind: 'Queue', ownerPid: 100, maxsize: 0, site: null, t: 2 },
        { v: 1, type: 'queue.counts', counts: [[`q${i}`, 10, 10, 0]], t: 2 },
        { v: 1, type: 'pool.created', id: `p${i}`, kind: 'Pool', ownerPid: 100, size: 2, site: null, t: 2 },
        { v: 1, type: 'pool.state', id: `p${i}`, state: 'joined', t: 2 },
      ]);
    }
    assert.ok(model.queues().length <= 100 && model.queues().length >= 90, `${model.queues().length} queues`);
    assert.ok(model.pools().length <= 20, `${model.pools().length} pools`);
    assert.ok(model.queues().some((q) => q.id === 'busy'));
    assert.ok(model.pools().some((p) => p.id === 'live-pool'));
    assert.ok(model.queues().some((q) => q.id === 'q4999'), 'the newest stay');
    assert.equal(model.queuesOf(mainKey).length, model.queues().length, 'the owner index follows');
    assert.equal(model.poolsOf(mainKey).length, model.pools().length);
    assert.ok(model['queueTable']['ownerOf'].size + model['poolTable']['ownerOf'].size <= 120);
  });

  it('__proto__, constructor and friends are plain data: no prototype pollution', () => {
    const raw = [
      '{"v":1,"type":"hello","token":"t","runId":"r","pid":100,"kind":"python","name":"__proto__","__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}',
      '{"v":1,"type":"queue.created","id":"__proto__","kind":"Queue","ownerPid":100,"maxsize":0,"__proto__":{"isAdmin":true}}',
      '{"v":1,"type":"queue.created","id":"constructor","kind":"Queue","ownerPid":100}',
      '{"v":1,"type":"queue.counts","counts":[["__proto__",5,1,0],["constructor",2,0,0],["hasOwnProperty",1,0,0]]}',
      '{"v":1,"type":"pool.created","id":"toString","kind":"Pool","ownerPid":100,"size":1}',
      '{"v":1,"type":"process.started","pid":101,"parentPid":100,"kind":"process","name":"constructor","target":"__proto__.polluted"}',
    ];
    const model = new RunModel('r');
    model.setRootPid(100);
    for (const line of raw) {
      const parsed = parseMessage(line);
      assert.ok(parsed.ok, line);
      assert.equal(Object.getPrototypeOf(parsed.message), Object.prototype);
      assert.equal(Object.prototype.hasOwnProperty.call(parsed.message, '__proto__'), false);
      model.apply([parsed.message]);
    }
    for (const probe of [{}, [], Object.create(null) ?? {}, new Map()] as Array<Record<string, unknown>>) {
      assert.equal(probe.polluted, undefined);
      assert.equal(probe.isAdmin, undefined);
    }
    assert.equal(model.processByPid(100)!.name, '__proto__');
    assert.equal(model.processByPid(101)!.name, 'constructor');
    assert.deepEqual(model.queues().map((q) => [q.id, q.depth]).sort(), [
      ['__proto__', 4],
      ['constructor', 2],
    ]);
    assert.equal(model.pools()[0].id, 'toString');
  });

  it('a value nested deeper than the stack, or a megabyte long, is rejected without throwing', () => {
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    for (const line of [`{"v":${deep},"type":"hello"}`, `{"v":1,"type":"hello","argv":${deep},"token":"t","runId":"r","pid":1,"kind":"python"}`, `{"v":1,"type":${deep}}`]) {
      const result = parseMessage(line);
      assert.equal(result.ok, false);
      assert.ok(!result.ok && result.reason.length < 200, 'a short reason for the log');
    }
    const long = parseMessage(`{"v":"${'x'.repeat(900_000)}","type":"${'y'.repeat(900_000)}"}`);
    assert.ok(!long.ok && long.reason.length < 200 && (long.type ?? '').length <= 64);
  });
});

describe('rate-limited logging', () => {
  it('a flood of distinct kinds costs at most MAX_KINDS lines plus one summary', () => {
    const lines: string[] = [];
    const log = new RateLimitedLog({ log: (_l, m) => lines.push(m) }, 1e9);
    for (let i = 0; i < 10_000; i++) log.report(`kind-${i}`, 'warn', `problem ${i}`);
    assert.equal(lines.length, RateLimitedLog.MAX_KINDS + 1);
    log.dispose();
    assert.equal(lines.length, RateLimitedLog.MAX_KINDS + 2);
    assert.match(lines.at(-1)!, /repeated 9899 more times/);
  });
});

const servers: RuntimeServer[] = [];
const sockets: net.Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.dispose();
});

async function startServer(maxLineBytes?: number) {
  const batches: ReceivedMessage[][] = [];
  const logs: string[] = [];
  const server = await RuntimeServer.start({ runId: 'run-a', logger: { log: (_l, m) => logs.push(m) }, onBatch: (b) => batches.push(b), maxLineBytes, logSummaryIntervalMs: 1e9 });
  servers.push(server);
  return { server, batches, logs };
}

function connect(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(connectOptions(socketPath), () => resolve(socket));
    socket.on('error', () => undefined);
    socket.once('error', reject);
    sockets.push(socket);
  });
}

const write = (socket: net.Socket, data: string | Buffer) => new Promise<void>((resolve) => socket.write(data, () => resolve()));

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('the socket under garbage', { skip: process.platform === 'win32' && 'Unix sockets' }, () => {
  it('8 MB of random bytes, garbage lines and unknown types: the connection lives, a handful of log lines', async () => {
    const { server, batches, logs } = await startServer(64 * 1024);
    const socket = await connect(server.address);
    const hello = { v: 1, type: 'hello', token: server.token, runId: 'run-a', pid: 4242, kind: 'python' };
    await write(socket, JSON.stringify(hello) + '\n');
    await until(() => batches.length === 1);
    const random = prng(99);
    let sent = 0;
    while (sent < 8 * 1024 * 1024) {
      const kind = random();
      let chunk: Buffer;
      if (kind < 0.4) {
        chunk = Buffer.alloc(Math.floor(random() * 200_000));
        for (let i = 0; i < chunk.length; i++) chunk[i] = Math.floor(random() * 256);
      } else if (kind < 0.8) {
        // Plausible lines: random mutations of real messages, many unknown type names.
        const lines = Array.from({ length: 200 }, () => {
          const m = randomMessage(random);
          if (random() < 0.5) m.type = `evil-${Math.floor(random() * 1e9)}\u001b[31m`;
          return JSON.stringify(m);
        });
        chunk = Buffer.from(lines.join('\n') + '\n');
      } else {
        chunk = Buffer.from('{"v":1,"x":"' + 'z'.repeat(100_000 + Math.floor(random() * 100_000)) + '\n');
      }
      sent += chunk.length;
      await write(socket, chunk);
    }
    // End whatever line the garbage left open, then a real message: still heard.
    await write(socket, '\n' + JSON.stringify({ v: 1, type: 'process.exited', pid: 4242, exitCode: 7 }) + '\n');
    await until(() => batches.some((b) => b.some((m) => m.message.type === 'process.exited' && m.message.pid === 4242 && m.message.exitCode === 7)));
    assert.deepEqual(server.connectedPids(), [4242], 'the connection was not dropped');
    // At most one line per kind: JSON, not an object, version, unknown type, oversized, a
    // repeated hello, and a wrong field per message type (12): about 20, whatever the volume.
    assert.ok(logs.length <= 20, `${logs.length} log lines before the summary:\n${logs.join('\n')}`);
    for (const line of logs) assert.doesNotMatch(line, /\u001b/, 'no raw escape sequence from the peer in the log');
    server.dispose();
    assert.ok(logs.length <= 40, `${logs.length} log lines with the summary`);
  });

  it('a flood of connections without the token: all refused, one log line per reason', async () => {
    const { server, batches, logs } = await startServer();
    const bad = await Promise.all(Array.from({ length: 100 }, () => connect(server.address)));
    await Promise.all(bad.map((s, i) => write(s, JSON.stringify({ v: 1, type: 'hello', token: i % 2 ? 'f'.repeat(32) : '', runId: 'run-a', pid: 1000 + i, kind: 'python' }) + '\n')));
    await until(() => bad.every((s) => s.destroyed || s.readableEnded));
    assert.equal(batches.length, 0);
    assert.deepEqual(server.connectedPids(), []);
    assert.equal(server.connectionCount, 0);
    assert.equal(logs.length, 1, logs.join('\n'));
    server.dispose();
    assert.match(logs[1], /wrong token \(repeated 99 more times\)/);
  });
});

describe('what the terminal shows', () => {
  it('names and ids with escape sequences and newlines are shown escaped', () => {
    const model = new RunModel('r');
    model.setRootPid(10);
    model.apply([
      { v: 1, type: 'hello', token: '', runId: 'r', pid: 10, ppid: 1, parentPid: 1, name: 'Main\u001b[2J\u001b[H', daemon: false, kind: 'python', role: null, startMethod: null, target: null, argv: null, python: null, created: null, t: 1 },
      { v: 1, type: 'process.started', pid: 11, parentPid: 10, name: 'two\nlines\u0007', daemon: false, kind: 'process', role: null, startMethod: 'fork', target: null, poolId: null, t: 1 },
      { v: 1, type: 'queue.created', id: 'q\u001b]0;title\u0007', kind: 'Queue', ownerPid: 10, maxsize: 0, site: null, t: 1 },
    ]);
    const run: RunInfo = { runId: 'r', script: 'x\u001b[31m.py', args: [], python: 'py', cwd: '/', state: 'running', rootPid: 10, exitCode: null, signal: null, startedAt: 1, endedAt: null, error: null, notice: null };
    for (const color of [false, true]) {
      const text = stripAnsi(renderTree(model, run, { color }));
      // eslint-disable-next-line no-control-regex
      assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f]/, 'no control character but our newlines');
      assert.equal(text.split('\n').length, 4, 'one line per row');
    }
    const text = renderTree(model, run);
    assert.match(text, /Main\\x1b\[2J\\x1b\[H \[10\]/);
    assert.match(text, /two\\nlines\\x07 \[11\]/);
    assert.match(text, /Queue q\\x1b\]0;title\\x07/);
    assert.equal(printable('进程 ok'), '进程 ok', 'printable text is left alone');
  });
});

describe('pid reuse', () => {
  const hello = (pid: number, fields: Record<string, unknown> = {}) =>
    ({ v: 1, type: 'hello', token: 't', runId: 'r', pid, ppid: 100, parentPid: 100, name: `P${pid}`, daemon: false, kind: 'process', role: null, startMethod: 'spawn', target: null, argv: null, python: null, created: null, t: 1000, ...fields }) as RuntimeMessage;
  const osProcess = (pid: number, ppid: number, zombie = false) => ({ pid, ppid, command: 'python3 x', stat: zombie ? 'Z' : 'S', zombie });

  it('a hello whose start time is far from the running node’s: the old one died unseen, a new node', () => {
    const model = new RunModel('r');
    model.setRootPid(100, { t: 0 });
    model.apply([hello(100, { kind: 'python', parentPid: null, created: 0 }), hello(101, { created: 1000, t: 1010 })]);
    const old = model.processByPid(101)!;
    model.apply([hello(101, { name: 'Reborn', created: 60_000, t: 60_010 })]);
    const fresh = model.processByPid(101)!;
    assert.notEqual(fresh.key, old.key);
    assert.deepEqual([old.state, fresh.state, fresh.name], ['exited', 'running', 'Reborn']);
    // Same start time (a repeated hello of the same process) is the same node.
    model.apply([hello(101, { name: 'Reborn-2', created: 60_000, t: 60_500 })]);
    assert.equal(model.processByPid(101)!.key, fresh.key);
  });

  it('the OS lists a pid alive again after it was seen to exit: a new os node, the old one kept', () => {
    const model = new RunModel('r');
    model.setRootPid(100, { t: 0 });
    model.apply([hello(100, { kind: 'python', parentPid: null, t: 0 }), { v: 1, type: 'process.started', pid: 101, parentPid: 100, name: 'first', daemon: false, kind: 'process', role: null, startMethod: 'fork', target: null, poolId: null, t: 10 }]);
    model.apply([{ v: 1, type: 'process.exited', pid: 101, exitCode: 0, t: 20 }, { v: 1, type: 'process.reaped', pid: 101, joined: true, t: 21 }]);
    const old = model.processByPid(101)!;
    model.applyOsScan({ processes: [osProcess(101, 100)], takenAt: 5000, liveness: () => 'alive' });
    const fresh = model.processByPid(101)!;
    assert.notEqual(fresh.key, old.key);
    assert.deepEqual([fresh.kind, fresh.state, old.state, old.name], ['os', 'running', 'exited', 'first']);
    // A listing taken before the exit was recorded says nothing new.
    model.apply([{ v: 1, type: 'process.exited', pid: 101, exitCode: 0, t: 6000 }, { v: 1, type: 'process.reaped', pid: 101, joined: true, t: 6001 }]);
    const count = model.processes().length;
    model.applyOsScan({ processes: [osProcess(101, 100)], takenAt: 5500, liveness: () => 'alive' });
    assert.equal(model.processes().length, count);
  });
});
