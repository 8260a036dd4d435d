import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, it } from 'node:test';
import { LineDecoder } from '../../src/core/protocol';
import { RuntimeServer, connectOptions, defaultTransport, type ReceivedMessage } from '../../src/core/server';
import type { LogEntry } from '../../src/core/types';

const servers: RuntimeServer[] = [];
const sockets: net.Socket[] = [];
const children: ChildProcess[] = [];

afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const s of servers.splice(0)) s.dispose();
});

async function startServer(runId = 'run-a', extra: { controlSlackMs?: number; maxLineBytes?: number; transport?: 'unix' | 'tcp' } = {}) {
  const batches: ReceivedMessage[][] = [];
  const logs: LogEntry[] = [];
  const server = await RuntimeServer.start({
    runId,
    logger: { log: (level, message) => logs.push({ level, message }) },
    onBatch: (batch) => batches.push(batch),
    ...extra,
  });
  servers.push(server);
  return { server, batches, logs };
}

function connect(address: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(connectOptions(address), () => resolve(socket));
    socket.on('error', reject);
    sockets.push(socket);
  });
}

const helloLine = (token: string, runId: string, pid = 4242) =>
  JSON.stringify({ v: 1, type: 'hello', token, runId, pid, ppid: 1, parentPid: 1, name: 'MainProcess', daemon: false, kind: 'python', t: 1 }) + '\n';

/** Resolves when the server closed the connection; fails (rather than hangs) if it does not. */
function closed(socket: net.Socket, ms = 3000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed || socket.readableEnded) return resolve();
    const timer = setTimeout(() => reject(new Error('the server kept the connection open')), ms);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await tick(10);
  }
}

// MPTREE_TRANSPORT=tcp npm test runs this whole file (and every session test) over TCP.
const transport = defaultTransport();

describe('RuntimeServer', () => {
  it('makes a private 0700 directory with the socket, and removes it on dispose', { skip: transport !== 'unix' && 'the TCP transport has no directory' }, async () => {
    const { server } = await startServer();
    assert.ok(server.directory);
    assert.equal(fs.statSync(server.directory).mode & 0o777, 0o700);
    assert.ok(fs.statSync(server.address).isSocket());
    assert.match(server.token, /^[0-9a-f]{32}$/);
    server.dispose();
    assert.equal(fs.existsSync(server.directory), false);
  });

  it('listens on 127.0.0.1 only, with a port of its own, when the transport is tcp', async () => {
    const { server, batches } = await startServer('run-a', { transport: 'tcp' });
    assert.equal(server.transport, 'tcp');
    assert.equal(server.directory, null);
    const match = /^tcp:127\.0\.0\.1:(\d+)$/.exec(server.address);
    assert.ok(match, server.address);
    const local = server['server'].address() as net.AddressInfo;
    assert.equal(local.address, '127.0.0.1');
    assert.equal(local.port, Number(match[1]));
    // The token is the whole defence on TCP: a wrong one is refused, the right one accepted.
    const stranger = await connect(server.address);
    stranger.write(helloLine('0'.repeat(32), 'run-a'));
    await closed(stranger);
    const socket = await connect(server.address);
    socket.write(helloLine(server.token, 'run-a'));
    await until(() => batches.length === 1);
    assert.equal(batches[0][0].message.type, 'hello');
    server.dispose();
    await assert.rejects(connect(server.address), /ECONNREFUSED/);
  });

  it('reads the transport from MPTREE_TRANSPORT, else from the platform', () => {
    assert.equal(defaultTransport({ MPTREE_TRANSPORT: 'tcp' }, 'linux'), 'tcp');
    assert.equal(defaultTransport({ MPTREE_TRANSPORT: 'unix' }, 'darwin'), 'unix');
    assert.equal(defaultTransport({}, 'linux'), 'unix');
    assert.equal(defaultTransport({}, 'darwin'), 'unix');
    assert.equal(defaultTransport({}, 'win32'), 'tcp');
    assert.equal(defaultTransport({ MPTREE_TRANSPORT: 'carrier-pigeon' }, 'linux'), 'unix');
    assert.deepEqual(connectOptions('tcp:127.0.0.1:4321'), { host: '127.0.0.1', port: 4321 });
    assert.deepEqual(connectOptions('/tmp/mptree-x/mptree.sock'), { path: '/tmp/mptree-x/mptree.sock' });
  });

  it('gives every run its own token and address', async () => {
    const a = await startServer('a');
    const b = await startServer('b');
    assert.notEqual(a.server.token, b.server.token);
    assert.notEqual(a.server.address, b.server.address);
  });

  it('accepts a correct hello and routes messages in one batch per chunk', async () => {
    const { server, batches } = await startServer();
    const socket = await connect(server.address);
    socket.write(helloLine(server.token, 'run-a') + JSON.stringify({ v: 1, type: 'process.started', pid: 4243, parentPid: 4242, kind: 'process', t: 2 }) + '\n');
    await until(() => batches.length === 1);
    assert.deepEqual(batches[0].map((m) => [m.message.type, m.from]), [
      ['hello', 4242],
      ['process.started', 4242],
    ]);
    assert.deepEqual(server.connectedPids(), [4242]);
    socket.write(JSON.stringify({ v: 1, type: 'process.exited', pid: 4243, exitCode: 0, t: 3 }) + '\n');
    await until(() => batches.length === 2);
    assert.equal(batches[1][0].message.type, 'process.exited');
  });

  it('refuses a wrong token, closes the connection, logs once and uses nothing', async () => {
    const { server, batches, logs } = await startServer();
    const socket = await connect(server.address);
    socket.write(helloLine('0'.repeat(32), 'run-a') + JSON.stringify({ v: 1, type: 'process.started', pid: 9, parentPid: 1, kind: 'process' }) + '\n');
    await closed(socket);
    await tick();
    assert.equal(batches.length, 0);
    assert.equal(logs.filter((l) => l.message.includes('refused')).length, 1);
    assert.match(logs[0].message, /wrong token/);
    assert.deepEqual(server.connectedPids(), []);
  });

  it('refuses a first line that is not a hello', async () => {
    const { server, batches, logs } = await startServer();
    const socket = await connect(server.address);
    socket.write(JSON.stringify({ v: 1, type: 'process.exited', pid: 1, exitCode: 0 }) + '\n' + helloLine(server.token, 'run-a'));
    await closed(socket);
    assert.equal(batches.length, 0);
    assert.match(logs[0].message, /not hello/);
  });

  it('two runs cannot cross-report', async () => {
    const a = await startServer('run-a');
    const b = await startServer('run-b');
    // B's process (B's token) on A's socket, even claiming A's run id.
    const s1 = await connect(a.server.address);
    s1.write(helloLine(b.server.token, 'run-a'));
    // Right token but the other run's id.
    const s2 = await connect(b.server.address);
    s2.write(helloLine(b.server.token, 'run-a'));
    await Promise.all([closed(s1), closed(s2)]);
    await tick();
    assert.equal(a.batches.length + b.batches.length, 0);
    assert.match(a.logs[0].message, /wrong token/);
    assert.match(b.logs[0].message, /another run/);
  });

  it('logs garbage lines once per kind with a count, and keeps the connection', async () => {
    const { server, batches, logs } = await startServer('run-a');
    const socket = await connect(server.address);
    socket.write(helloLine(server.token, 'run-a'));
    await until(() => batches.length === 1);
    const garbage = ['not json', '{"v":1,"type":"nope"}', 'not json either', '{"v":1,"type":"process.exited","pid":"x","exitCode":0}', '[]', '{"v":1,"type":"nope"}'];
    socket.write(garbage.join('\n') + '\n' + JSON.stringify({ v: 1, type: 'process.exited', pid: 4242, exitCode: 0 }) + '\n');
    await until(() => batches.length === 2);
    assert.deepEqual(batches[1].map((m) => m.message.type), ['process.exited']);
    // json, unknown-type:nope, field:process.exited, not-object: four kinds, each logged once.
    assert.equal(logs.length, 4, logs.map((l) => l.message).join('\n'));
    server.dispose();
    // Dispose flushes the repeats (the second "not json" and "nope").
    assert.equal(logs.filter((l) => /repeated 1 more time/.test(l.message)).length, 2);
  });

  it('drops an oversized line with one log and carries on', async () => {
    const { server, batches, logs } = await startServer('run-a', { maxLineBytes: 1000 });
    const socket = await connect(server.address);
    socket.write(helloLine(server.token, 'run-a'));
    await until(() => batches.length === 1);
    socket.write('{"v":1,"x":"' + 'a'.repeat(5000) + '"}\n' + JSON.stringify({ v: 1, type: 'process.exited', pid: 4242, exitCode: 0 }) + '\n');
    await until(() => batches.length === 2);
    assert.equal(logs.filter((l) => /longer than/.test(l.message)).length, 1);
  });

  it('sends control requests to a pid’s connection and matches answers by id', async () => {
    const { server, batches } = await startServer('run-a', { controlSlackMs: 300 });
    const parent = await connect(server.address);
    parent.write(helloLine(server.token, 'run-a', 500));
    await until(() => batches.length === 1);
    // A fake runtime: answers join requests, ignores terminate.
    const decoder = new LineDecoder();
    const requests: Array<Record<string, unknown>> = [];
    parent.on('data', (chunk: Buffer) => {
      for (const line of decoder.push(chunk)) {
        const request = JSON.parse(line);
        requests.push(request);
        if (request.op === 'join') parent.write(JSON.stringify({ v: 1, type: 'control.result', id: request.id, ok: true, exitCode: 3, t: 1 }) + '\n');
      }
    });
    const result = await server.control(500, 'join', 501, 2);
    assert.equal(result.ok, true);
    assert.equal(result.exitCode, 3);
    assert.deepEqual(requests[0], { v: 1, type: 'control', id: requests[0].id, op: 'join', pid: 501, timeout: 2 });
    await assert.rejects(server.control(500, 'terminate', 501), /did not answer/);
    await assert.rejects(server.control(777, 'join', 1, 1), /no connection/);
    // The answer never reaches the model.
    assert.equal(batches.length, 1);
    const pending = server.control(500, 'terminate', 502);
    parent.destroy();
    await assert.rejects(pending, /disconnected/);
  });

  it('closes a connection that never says hello', async () => {
    const batches: ReceivedMessage[][] = [];
    const logs: string[] = [];
    const server = await RuntimeServer.start({ runId: 'r', logger: { log: (_l, m) => logs.push(m) }, onBatch: (b) => batches.push(b), helloTimeoutMs: 100 });
    servers.push(server);
    const socket = await connect(server.address);
    await closed(socket);
    assert.match(logs[0], /no hello/);
  });

  // A process's last lines wait in the socket while the session writes to it just after it
  // exited (a queue.resample): the failed write must not take those lines with it.
  for (const transport of ['unix', 'tcp'] as const) {
    it(`reads a process's last lines when a write to it fails because it has just exited (${transport})`, async () => {
      const received: string[] = [];
      let server: RuntimeServer | undefined;
      let child: ChildProcess | undefined;
      const exited = new Promise<void>((resolve) => {
        const onBatch = (batch: ReceivedMessage[]) => {
          for (const { message } of batch) received.push(message.type);
          if (!batch.some(({ message }) => message.type === 'hello')) return;
          // Hold the event loop (as a busy session may be held) until the process has sent
          // its last line and exited: that line is unread, and the process is a zombie.
          const deadline = Date.now() + 5000;
          while (Date.now() < deadline && !isZombie(child!.pid!)) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
          assert.ok(isZombie(child!.pid!), 'the process should have exited by now');
          server!.notify(child!.pid!, { v: 1, type: 'queue.resample', ids: ['q1-1'] });
          resolve();
        };
        RuntimeServer.start({ runId: 'run-last', logger: { log: () => undefined }, onBatch, transport }).then((started) => {
          server = started;
          servers.push(started);
          child = spawnLastWords(started);
        });
      });
      await exited;
      await until(() => received.includes('queue.counts'), 3000).catch(() => undefined);
      assert.deepEqual(received, ['hello', 'queue.counts']);
    });
  }
});

/** Python that says hello, then its last counts 100 ms later, and exits without reading. */
function spawnLastWords(server: RuntimeServer): ChildProcess {
  const hello = { v: 1, type: 'hello', token: server.token, runId: 'run-last', pid: 0, ppid: 1, parentPid: null, name: 'Consumer-1', daemon: false, kind: 'process', t: 1 };
  const counts = { v: 1, type: 'queue.counts', counts: [['q1-1', 1, 0, 1]], t: 2 };
  const code = [
    'import json, os, socket, sys, time',
    'addr = sys.argv[1]',
    "if addr.startswith('tcp:'):",
    "    s = socket.create_connection(('127.0.0.1', int(addr.rsplit(':', 1)[1])))",
    'else:',
    '    s = socket.socket(socket.AF_UNIX); s.connect(addr)',
    'hello = json.loads(sys.argv[2]); hello["pid"] = os.getpid()',
    "s.sendall((json.dumps(hello) + '\\n').encode())",
    'time.sleep(0.1)',
    "s.sendall((sys.argv[3] + '\\n').encode())",
  ].join('\n');
  const child = spawn('python3', ['-c', code, server.address, JSON.stringify(hello), JSON.stringify(counts)], { stdio: 'inherit' });
  children.push(child);
  return child;
}

function isZombie(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

