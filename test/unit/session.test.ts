// RunSession with real Python programs: external launch (as the VS Code layer does it), the
// isolated-mode notice with the OS-only view, process control and stop().
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { exitCodeOf } from '../../src/core/model';
import { liveness, ProcLister } from '../../src/core/osScan';
import { RunSession } from '../../src/core/session';
import type { ProcessInfo } from '../../src/core/types';

const root = path.resolve(__dirname, '..', '..', '..');
const runtimeDir = path.join(root, 'src', 'runtime');
const cliFixtures = path.join(root, 'test', 'fixtures', 'cli');
const family = path.join(root, 'test', 'fixtures', 'workspace', 'tree_family.py');
const posix = process.platform !== 'win32';

const sessions: RunSession[] = [];
let tmp: string;

async function until<T>(what: string, check: () => T | undefined | false, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The run's listener is gone: over a Unix socket its private directory is removed, over TCP
 * its loopback port refuses a connection (each transport's own evidence, so neither pass is
 * vacuous). */
async function assertListenerGone(session: RunSession): Promise<void> {
  const server = session['server'];
  if (server.transport === 'unix') {
    assert.ok(server.directory, 'a Unix socket lives in a private directory');
    assert.equal(fs.existsSync(server.directory), false, 'socket directory removed at the end');
    return;
  }
  const port = Number(/^tcp:127\.0\.0\.1:(\d+)$/.exec(server.address)?.[1]);
  assert.ok(port > 0, `a TCP address: ${server.address}`);
  const outcome = await new Promise<string>((resolve) => {
    const socket = net.createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
  assert.equal(outcome, 'ECONNREFUSED', 'the TCP listener closed at the end');
}

describe('RunSession', { skip: !posix && 'POSIX processes' }, () => {
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mptree-session-'))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  afterEach(() => {
    for (const s of sessions.splice(0)) s.dispose();
  });

  it('external launch of `python -I`: a notice, and the OS view of the run', async () => {
    const session = await RunSession.create({
      target: { script: path.join(cliFixtures, 'family.py'), args: [] },
      cwd: root,
      runtimeDir,
      osScanIntervalMs: 200,
      helloNoticeMs: 500,
      lister: ProcLister.isSupported() ? new ProcLister() : undefined,
    });
    sessions.push(session);
    const truthFile = path.join(tmp, 'isolated.json');
    // What the VS Code layer does with session.launch, plus -I: isolated mode ignores PYTHONPATH.
    const { command, args, env, cwd } = session.launch;
    assert.equal(env.MPTREE_SOCKET, session['server'].address);
    const child = spawn(command, ['-I', ...args], { env: { ...env, MPTREE_TRUTH: truthFile, MPTREE_FAMILY_HOLD: 'stdin' }, cwd, stdio: ['pipe', 'ignore', 'ignore'] });
    await new Promise((r) => child.once('spawn', r));
    session.attach(child.pid!);
    child.once('exit', (code, signal) => session.notifyRootExit(exitCodeOf(code, signal)));
    await until('the notice', () => session.info.notice);
    assert.match(session.info.notice!, /isolated mode/);
    // The family holds its three processes until told: tell it once the OS scan saw them
    // running (an event, not a window the scan must fall into).
    await until('the OS scan to see the three children running', () => {
      const main = session.model.processByPid(child.pid!);
      return main && session.model.processes().filter((p) => p.kind === 'os' && p.parentKey === main.key && p.state === 'running').length >= 3;
    });
    child.stdin!.end('go\n');
    const info = await session.ended;
    assert.equal(info.state, 'finished');
    assert.equal(info.exitCode, 0);
    const truth = JSON.parse(fs.readFileSync(truthFile, 'utf8'));
    const main = session.model.processByPid(truth.main)!;
    assert.equal(main.kind, 'main');
    assert.equal(main.instrumented, false);
    for (const name of ['quitter', 'victim', 'sleep']) {
      const node = session.model.processByPid(truth[name].pid);
      assert.ok(node, `${name} seen by the OS scan`);
      assert.equal(node.kind, 'os');
      assert.equal(node.parentKey, main.key);
      assert.equal(node.state, 'exited');
    }
    await assertListenerGone(session);
  });

  it('join, terminate, kill and stop on a live multiprocessing family', async () => {
    const session = await RunSession.create({ target: { script: family, args: [] }, cwd: root, runtimeDir, osScanIntervalMs: 300, terminateGraceMs: 1000 });
    sessions.push(session);
    const child = session.start('pipe');
    child.stdout!.resume();
    child.stderr!.resume();
    const byName = (name: string) => session.model.processes().find((p) => p.name === name && p.state !== 'exited') as ProcessInfo | undefined;
    await until('the family', () => byName('stubborn') && byName('sleeper') && byName('victim') && session.model.processes().find((p) => p.name === 'quitter' && p.state !== 'running'));
    // The quitter exited 3; multiprocessing reaps it on the next Process.start() (_cleanup).
    const quitter = session.model.processes().find((p) => p.name === 'quitter')!;
    assert.deepEqual(await session.join(quitter.pid, 5), { exitCode: 3 });

    // A real round trip to the parent's runtime: Process.join(0.3) on a child that never ends.
    assert.deepEqual(await session.join(byName('sleeper')!.pid, 0.3), { timedOut: true, seconds: 0.3 });
    await assert.rejects(session.join(session.rootPid!, 1), /only a process started by multiprocessing/);
    await assert.rejects(session.join(1, 1), /not a process of this run/);

    const victim = byName('victim')!;
    assert.equal((await session.terminate(victim.pid)).via, 'runtime');
    await until('victim terminated', () => victim.state !== 'running' && victim.signal === 'SIGTERM');
    assert.deepEqual(await session.join(victim.pid, 5), { exitCode: -15 });
    await until('victim reaped', () => victim.state === 'exited');

    const stubborn = byName('stubborn')!;
    assert.equal((await session.terminate(stubborn.pid)).via, 'runtime');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(stubborn.state, 'running', 'it ignores SIGTERM');
    assert.equal((await session.kill(stubborn.pid)).via, 'signal');
    await until('stubborn killed', () => stubborn.state !== 'running' && stubborn.signal === 'SIGKILL');

    const live = session.model.liveProcesses().map((p) => p.pid);
    assert.ok(live.length >= 4, 'main, workers, sleepers, helpers');
    const result = await session.stop();
    assert.deepEqual(result.remaining, []);
    const info = await session.ended;
    assert.equal(info.state, 'finished');
    for (const pid of live) assert.notEqual(liveness(pid), 'alive', `pid ${pid} left behind`);
    assert.equal(session.model.liveCount, 0);
  });
});
