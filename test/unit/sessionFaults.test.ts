// RunSession when things go wrong, with real processes and the real socket: bad
// input, a runtime connection that drops, the last data of a run that ends, escalation from
// SIGTERM to SIGKILL, dispose() of live runs (checked through the OS), and a fork storm.
// Independent cases run concurrently to keep the suite short.
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exitCodeOf } from '../../src/core/model';
import { liveness, ProcLister } from '../../src/core/osScan';
import { PythonError } from '../../src/core/python';
import { connectOptions } from '../../src/core/server';
import { RunSession, SessionError, type RunSessionOptions } from '../../src/core/session';
import type { ModelChange } from '../../src/core/types';
import { firstLine, stillThere } from './cliProcess';
import { processesOfRun } from '../common/osTruth';

const root = path.resolve(__dirname, '..', '..', '..');
const runtimeDir = path.join(root, 'src', 'runtime');
const fixtures = path.join(root, 'test', 'fixtures', 'faults');
const cliFixtures = path.join(root, 'test', 'fixtures', 'cli');
const posix = process.platform !== 'win32';
const linux = process.platform === 'linux';

let tmp: string;
const sessions: RunSession[] = [];
const children: ChildProcess[] = [];

async function until<T>(what: string, check: () => T | undefined | false, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function newSession(options: Partial<RunSessionOptions> & Pick<RunSessionOptions, 'target'>): Promise<RunSession> {
  const session = await RunSession.create({ cwd: root, runtimeDir, lister: ProcLister.isSupported() ? new ProcLister() : undefined, ...options });
  sessions.push(session);
  return session;
}

/** Starts the program with piped output; resolves once it printed `ready`. */
async function startUntilReady(session: RunSession): Promise<{ stdout: () => string }> {
  const child = session.start('pipe');
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  await until(`ready\n${stderr}`, () => stdout.includes('ready'));
  return { stdout: () => stdout };
}

function spawnTracked(command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return child;
}

/** A fake runtime: a client on the session's real socket that speaks the protocol. */
async function fakeRuntime(session: RunSession): Promise<{ socket: net.Socket; send: (...messages: object[]) => void }> {
  const server = session['server'];
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.createConnection(connectOptions(server.address), () => resolve(s));
    s.on('error', reject);
  });
  const send = (...messages: object[]) => socket.write(messages.map((m) => JSON.stringify({ v: 1, t: Date.now(), ...m }) + '\n').join(''));
  return { socket, send };
}

const helloFor = (session: RunSession, pid: number, extra: object = {}) => ({
  type: 'hello',
  token: session['server'].token,
  runId: session.runId,
  pid,
  ppid: process.pid,
  parentPid: null,
  name: 'MainProcess',
  kind: 'python',
  ...extra,
});

describe('RunSession when things go wrong', { skip: !posix && 'POSIX processes', concurrency: true }, () => {
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mptree-session-faults-'))));
  after(() => {
    for (const s of sessions.splice(0)) s.dispose();
    for (const c of children.splice(0)) c.kill('SIGKILL');
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('bad input: clear errors from create(), before anything runs', async () => {
    const binary = path.join(tmp, 'image.png');
    fs.writeFileSync(binary, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]));
    const cases: Array<[RunSessionOptions['target'], RegExp]> = [
      [{ script: 'no/such/file.py', args: [] }, /^no such file: no\/such\/file\.py$/],
      [{ script: cliFixtures, args: [] }, /is a directory, not a Python file$/],
      [{ script: binary, args: [] }, /image\.png is not a Python file \(it has binary content\)$/],
    ];
    for (const [target, message] of cases) {
      await assert.rejects(RunSession.create({ target, cwd: root, runtimeDir }), (error: Error) => error instanceof SessionError && message.test(error.message));
    }
    // Relative to the run's cwd, not to ours.
    await RunSession.create({ target: { script: 'echo_stdin.py', args: [] }, cwd: cliFixtures, runtimeDir }).then((s) => s.dispose());
    const fake = path.join(tmp, 'python2');
    fs.writeFileSync(fake, '#!/bin/sh\necho "2 7 18"; echo /usr/bin/python2\n', { mode: 0o755 });
    await assert.rejects(
      RunSession.create({ target: { script: path.join(cliFixtures, 'echo_stdin.py'), args: [] }, cwd: root, python: fake }),
      (error: Error) => error instanceof PythonError && error.code === 'python2',
    );
  });

  it('a syntax error and a crash at once: the program’s exit code, the root instrumented, a finished run', async () => {
    for (const script of [path.join(cliFixtures, 'syntax_error.py'), path.join(fixtures, 'crash.py')]) {
      const session = await newSession({ target: { script, args: [] } });
      const child = session.start('pipe');
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      child.stdout!.resume();
      const info = await session.ended;
      assert.equal(info.state, 'finished');
      assert.equal(info.exitCode, 1, stderr);
      assert.match(stderr, /SyntaxError|RuntimeError/);
      const main = session.model.processByPid(info.rootPid!)!;
      assert.deepEqual([main.state, main.exitCode, main.instrumented], ['exited', 1, true]);
      assert.equal(info.notice, null, 'the runtime did report: no isolated-mode notice');
    }
  });

  it('the last messages of a run are not lost when the root’s exit is known before its socket is read', async () => {
    const sleeper = spawnTracked('sleep', ['30']);
    await new Promise((r) => sleeper.once('spawn', r));
    const session = await newSession({ target: { script: path.join(cliFixtures, 'echo_stdin.py'), args: [] }, osScanIntervalMs: 60_000 });
    session.attach(sleeper.pid!);
    const runtime = await fakeRuntime(session);
    runtime.send(helloFor(session, sleeper.pid!));
    await until('hello', () => session.model.processByPid(sleeper.pid!)?.instrumented);
    // The program's last words, then its exit, learnt in the same tick: the bytes are in the
    // socket, not yet read.
    runtime.send(
      { type: 'queue.created', id: 'q-final', kind: 'Queue', ownerPid: sleeper.pid, maxsize: 0, site: null },
      { type: 'queue.counts', counts: [['q-final', 7, 2, 0]] },
    );
    runtime.socket.end();
    session.notifyRootExit(0);
    const info = await session.ended;
    assert.equal(info.exitCode, 0);
    const queue = session.model.queues().find((q) => q.id === 'q-final');
    assert.ok(queue, 'the queue created just before the end is there');
    assert.deepEqual([queue.puts, queue.gets, queue.depth], [7, 2, 5]);
  });

  it('a connection still waiting to be accepted when the run would end is read first', async () => {
    const sleeper = spawnTracked('sleep', ['30']);
    await new Promise((r) => sleeper.once('spawn', r));
    const session = await newSession({ target: { script: path.join(cliFixtures, 'echo_stdin.py'), args: [] }, osScanIntervalMs: 60_000 });
    session.attach(sleeper.pid!);
    const server = session['server'];
    // Witnesses of the race: each time the session asks how many connections are open, note
    // whether ours had been accepted yet. The race is hit when the drain check sees none
    // while ours still waits in the backlog.
    let accepted = false;
    server['server'].prependListener('connection', () => (accepted = true));
    const countOpen = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(server), 'connectionCount')!.get!;
    const idleWhilePending: boolean[] = [];
    Object.defineProperty(server, 'connectionCount', {
      configurable: true,
      get() {
        const open = countOpen.call(server) as number;
        if (open === 0) idleWhilePending.push(!accepted);
        return open;
      },
    });
    const late = await new Promise<net.Socket>((resolve) => {
      // From the check phase, as after an I/O callback: libuv runs the timers of this turn
      // before it polls again, so a drain check due by then runs before the pending
      // connection can be accepted.
      setImmediate(() => {
        // connect() of a Unix socket completes at once: the connection waits in the listen
        // backlog until the session's next poll accepts it.
        const socket = net.createConnection(connectOptions(server.address));
        socket.end(
          [helloFor(session, sleeper.pid!), { type: 'queue.created', id: 'q-late', kind: 'Queue', ownerPid: sleeper.pid, maxsize: 0, site: null }]
            .map((m) => JSON.stringify({ v: 1, t: Date.now(), ...m }) + '\n')
            .join(''),
        );
        session.notifyRootExit(0);
        // Past the drain check's 1 ms timer, so it is due in this very turn.
        const until = Date.now() + 3;
        while (Date.now() < until);
        resolve(socket);
      });
    });
    await session.ended;
    late.destroy();
    assert.ok(accepted, 'the late connection was accepted');
    assert.equal(idleWhilePending[0], true, 'the drain check first saw no connection while ours waited in the backlog (the race this test is about)');
    assert.ok(
      session.model.queues().some((q) => q.id === 'q-late'),
      'what a connection still in the listen backlog said was read before the run ended',
    );
  });

  it('a runtime connection that drops: nothing changes while the process lives; once gone it is exited', { skip: !linux && '/proc' }, async () => {
    // A root that auto-reaps its children (SIGCHLD ignored), with one real child.
    const rootProcess = spawnTracked('python3', [
      '-c',
      "import signal, subprocess, time\nsignal.signal(signal.SIGCHLD, signal.SIG_IGN)\np = subprocess.Popen(['sleep', '60'])\nprint(p.pid, flush=True)\ntime.sleep(60)",
    ]);
    const childPid = Number(await firstLine(rootProcess.stdout!));
    const stranger = spawnTracked('sleep', ['60']);
    await new Promise((r) => stranger.once('spawn', r));
    const session = await newSession({ target: { script: path.join(cliFixtures, 'echo_stdin.py'), args: [] }, osScanIntervalMs: 100 });
    session.attach(rootProcess.pid!);
    // What the VS Code layer does when the task's process ends.
    rootProcess.once('exit', (code, signal) => session.notifyRootExit(exitCodeOf(code, signal)));
    // The root's runtime reports its child; a second process of the run has its own connection.
    const main = await fakeRuntime(session);
    main.send(helloFor(session, rootProcess.pid!), { type: 'process.started', pid: childPid, parentPid: rootProcess.pid, name: 'worker', kind: 'process', startMethod: 'fork' });
    const other = await fakeRuntime(session);
    other.send(helloFor(session, stranger.pid!, { kind: 'process', name: 'other', parentPid: rootProcess.pid }));
    await until('both reported', () => session.model.processByPid(childPid)?.name === 'worker' && session.model.processByPid(stranger.pid!)?.instrumented);
    await session.scanOnce();
    const worker = session.model.processByPid(childPid)!;
    const rootNode = session.model.processByPid(rootProcess.pid!)!;
    // What the processes are, apart from the live CPU and memory each scan reads anew.
    const facts = () => JSON.stringify(session.model.processes().map(({ cpuPercent, rssBytes, ...rest }) => rest));
    const before = facts();

    // Both connections drop while their processes live on.
    main.socket.destroy();
    other.socket.destroy();
    await until('the server saw the drops', () => session['server'].connectionCount === 0);
    for (let i = 0; i < 3; i++) await session.scanOnce();
    assert.equal(facts(), before, 'a dropped connection alone changes nothing');
    for (const node of [worker, rootNode, session.model.processByPid(stranger.pid!)!]) assert.deepEqual([node.state, node.exitCode], ['running', null]);
    assert.equal(session.isEnded, false);

    // Control without the parent's connection falls back to a signal.
    assert.deepEqual(await session.terminate(childPid), { pid: childPid, via: 'signal' });
    stranger.kill('SIGKILL');
    await until('worker and stranger gone for the OS', () => liveness(childPid) === 'gone' && liveness(stranger.pid!) === 'gone');
    await session.scanOnce();
    assert.equal(worker.state, 'exited', 'the OS scan marks the dead worker exited');
    assert.equal(session.model.processByPid(stranger.pid!)!.state, 'exited');
    assert.equal(rootNode.state, 'running', 'the root still lives');
    rootProcess.kill('SIGKILL');
    const info = await session.ended;
    assert.equal(info.state, 'finished');
    assert.equal(session.model.liveCount, 0);
  });

  it('terminateWithEscalation: SIGKILL after the grace period only for a child that ignores SIGTERM', async () => {
    const truthFile = path.join(tmp, 'stubborn.json');
    const session = await newSession({ target: { script: path.join(fixtures, 'stubborn.py'), args: [] }, env: { ...process.env, MPTREE_TRUTH: truthFile }, terminateGraceMs: 400 });
    await startUntilReady(session);
    const truth = JSON.parse(fs.readFileSync(truthFile, 'utf8')) as { main: number; stubborn: number; meek: number };
    await until('both children', () => session.model.processByPid(truth.stubborn) && session.model.processByPid(truth.meek));
    const [stubborn, meek] = await Promise.all([session.terminateWithEscalation(truth.stubborn), session.terminateWithEscalation(truth.meek, 5000)]);
    assert.deepEqual(stubborn, { pid: truth.stubborn, via: 'runtime', escalated: true });
    assert.deepEqual(meek, { pid: truth.meek, via: 'runtime', escalated: false });
    await until('exit codes', () => session.model.processByPid(truth.stubborn)!.signal && session.model.processByPid(truth.meek)!.signal);
    assert.equal(session.model.processByPid(truth.stubborn)!.signal, 'SIGKILL');
    assert.equal(session.model.processByPid(truth.meek)!.signal, 'SIGTERM');
    for (const pid of [truth.stubborn, truth.meek]) assert.notEqual(liveness(pid), 'alive');
    // Already dead: nothing to send, nothing to escalate.
    assert.deepEqual(await session.terminateWithEscalation(truth.stubborn, 100), { pid: truth.stubborn, via: 'none', escalated: false });
    assert.deepEqual((await session.stop()).remaining, []);
  });

  it('dispose() of two live runs ends every process of both, unseen ones included (ESRCH); neither run saw the other’s', { skip: !linux && '/proc environ' }, async () => {
    // One run has had OS scans; the other disposes before its first scan could see anything
    // (its `sleep` subprocess is known to no one but the OS).
    const a = await newSession({ target: { script: path.join(fixtures, 'live_family.py'), args: [] }, osScanIntervalMs: 200 });
    const b = await newSession({ target: { script: path.join(fixtures, 'live_family.py'), args: [] }, osScanIntervalMs: 60_000 });
    await Promise.all([startUntilReady(a), startUntilReady(b)]);
    await until('run a fully scanned', () => a.model.processes().some((p) => p.kind === 'os' && p.name === 'sleep'));
    const before = new Map([a, b].map((s) => [s, processesOfRun(s.runId)]));
    for (const [session, pids] of before) {
      assert.ok(pids.length >= 6, `main, sleeper, nest, grandchild, breeder, sleep: ${pids}`);
      const other = session === a ? b : a;
      for (const node of session.model.processes()) assert.ok(!before.get(other)!.includes(node.pid), `pid ${node.pid} of the other run`);
    }
    assert.equal(b.model.processes().some((p) => p.name === 'sleep'), false, 'run b never saw its sleep');
    a.dispose();
    b.dispose();
    for (const [session, pids] of before) {
      assert.deepEqual(await stillThere(pids), [], `run ${session.runId}`);
      assert.deepEqual(processesOfRun(session.runId), [], 'nothing born during the kill escaped');
    }
    assert.equal(a.isEnded && b.isEnded, true);
  });

  it('a fork storm of 500: every process counted, change events keep flowing', async () => {
    const truthFile = path.join(tmp, 'storm.json');
    const session = await newSession({ target: { script: path.join(fixtures, 'fork_storm.py'), args: ['500'] }, env: { ...process.env, MPTREE_TRUTH: truthFile } });
    let changes = 0;
    let changesDuringStorm = 0;
    let ticksDuringStorm = 0;
    const children = () => session.model.processes().filter((p) => p.kind === 'process').length;
    const exitedChildren = () => session.model.processes().filter((p) => p.kind === 'process' && p.state === 'exited').length;
    const storming = () => children() > 0 && exitedChildren() < 500;
    session.onDidChange(() => {
      changes++;
      if (storming()) changesDuringStorm++;
    });
    // The event loop must stay free: a timer keeps firing while the model takes the storm.
    const ticker = setInterval(() => {
      if (storming()) ticksDuringStorm++;
    }, 20);
    try {
      const child = session.start('pipe');
      child.stdout!.resume();
      child.stderr!.resume();
      const info = await session.ended;
      assert.equal(info.exitCode, 0);
    } finally {
      clearInterval(ticker);
    }
    const truth = JSON.parse(fs.readFileSync(truthFile, 'utf8')) as { main: number; children: number[]; bad: number[] };
    assert.deepEqual(truth.bad, []);
    const snapshot = session.model.toSnapshot(session.info);
    assert.equal(snapshot.processes.length, 501, 'exactly 500 children and main');
    const main = snapshot.processes[0];
    assert.deepEqual([main.pid, main.kind], [truth.main, 'main']);
    const byPid = new Map(snapshot.processes.map((p) => [p.pid, p]));
    for (const pid of truth.children) {
      const p = byPid.get(pid);
      assert.ok(p, `child ${pid} counted`);
      assert.deepEqual([p.parentPid, p.state, p.exitCode], [truth.main, 'exited', 0]);
    }
    assert.ok(changesDuringStorm >= 10, `model changes kept flowing (${changesDuringStorm} of ${changes} during the storm)`);
    assert.ok(ticksDuringStorm >= 3, `timers kept firing during the storm (${ticksDuringStorm})`);
  });
});
