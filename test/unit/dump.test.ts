// `mptree dump` against live `mptree run` processes (the bundled CLI: `npm run build` first),
// each test with a private XDG_RUNTIME_DIR of its own, so only its runs are this "user's".
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { cliPath, repoRoot } from './cliProcess';

const posix = process.platform !== 'win32';

// A hung program: two children blocked on a lock the parent holds, the parent in readline.
const PROGRAM = `
import multiprocessing as mp, sys

def wait_for_lock(lock, q):
    q.put(1)
    lock.acquire()  # BLOCK:child
    lock.release()

if __name__ == '__main__':
    mp.set_start_method('fork')
    lock = mp.Lock()
    lock.acquire()
    q = mp.Queue()
    kids = [mp.Process(target=wait_for_lock, args=(lock, q), name='waiter-%d' % i) for i in range(2)]
    for k in kids:
        k.start()
    q.get(); q.get()
    print(' '.join(str(k.pid) for k in kids), flush=True)
    try:
        sys.stdin.readline()  # BLOCK:main
    finally:
        lock.release()
        for k in kids:
            k.join()
`;
const line = (mark: string) => PROGRAM.split('\n').findIndex((l) => l.includes(`# BLOCK:${mark}`)) + 1;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('mptree dump', { skip: !posix && 'Unix sockets and modes' }, () => {
  let tmp: string;
  let script: string;
  const runs: ChildProcess[] = [];
  before(() => {
    assert.ok(fs.existsSync(cliPath), `${cliPath} is missing: run \`npm run build\` before the unit tests`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mptree-dump-'));
    script = path.join(tmp, 'hung.py');
    fs.writeFileSync(script, PROGRAM);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  afterEach(() => {
    for (const child of runs.splice(0)) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Ended already.
      }
    }
  });

  /** A fresh private runtime dir (mkdtemp makes it 0700): this test's "user". */
  const userDir = () => fs.mkdtempSync(path.join(tmp, 'xdg-'));

  async function startRun(xdg: string): Promise<{ child: ChildProcess; kids: number[]; root: () => number; exited: Promise<number | null> }> {
    const child = spawn(process.execPath, [cliPath, 'run', '--quiet', script], { cwd: tmp, detached: true, env: { ...process.env, XDG_RUNTIME_DIR: xdg }, stdio: ['pipe', 'pipe', 'pipe'] });
    runs.push(child);
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const first = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(out.split('\n')[0]);
      });
      child.once('close', () => reject(new Error(`the run ended first: ${stderr}`)));
    });
    const kids = first.split(' ').map(Number);
    // The program's main process: the children's parent (fork children).
    const rootOf = () => {
      const stat = fs.readFileSync(`/proc/${kids[0]}/stat`, 'latin1');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    };
    return { child, kids, root: rootOf, exited };
  }

  function dump(xdg: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Result> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [cliPath, 'dump', ...args], { cwd: repoRoot, env: { ...process.env, XDG_RUNTIME_DIR: xdg, ...env } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`mptree dump ${args.join(' ')} hung\n${stderr}`));
      }, 20_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  const endpointFiles = (xdg: string) => (fs.existsSync(path.join(xdg, 'mptree')) ? fs.readdirSync(path.join(xdg, 'mptree')) : []);

  it('by the run, its launcher, a child; --json; the run goes on and its endpoint goes with it', async () => {
    const xdg = userDir();
    const run = await startRun(xdg);
    const root = run.root();
    // Bound to the transport the run uses, and readable by this user only.
    const dir = path.join(xdg, 'mptree');
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    const file = endpointFiles(xdg).find((f) => f.endsWith('.json'))!;
    assert.equal(fs.statSync(path.join(dir, file)).mode & 0o777, 0o600);
    const info = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    if (process.env.MPTREE_TRANSPORT === 'tcp') assert.match(info.address, /^tcp:127\.0\.0\.1:\d+$/);
    else assert.equal(path.dirname(info.address), dir);

    for (const args of [[], [String(run.child.pid)], [String(run.kids[1])]]) {
      const out = await dump(xdg, args);
      assert.equal(out.code, 0, `mptree dump ${args.join(' ')}: ${out.stderr}`);
      assert.match(out.stdout, new RegExp(`MainProcess \\[${root}\\]`));
      assert.match(out.stdout, new RegExp(`waiter-1 \\[${run.kids[1]}\\]`));
      assert.match(out.stdout, /Python stacks/);
      assert.ok(out.stdout.includes(`${script}:${line('main')} in <module>`), out.stdout);
      assert.ok(out.stdout.includes(`${script}:${line('child')} in wait_for_lock`), out.stdout);
    }

    const json = await dump(xdg, ['--json']);
    assert.equal(json.code, 0, json.stderr);
    const snapshot = JSON.parse(json.stdout);
    assert.deepEqual(new Set(snapshot.processes.filter((p: { state: string }) => p.state === 'running').map((p: { pid: number }) => p.pid)), new Set([root, ...run.kids]));
    const mainStacks = snapshot.stacks.processes.find((p: { pid: number }) => p.pid === root);
    const mainThread = mainStacks.threads.find((th: { name: string }) => th.name === 'MainThread');
    assert.deepEqual(mainThread.frames.at(-1), { file: script, line: line('main'), function: '<module>' });
    assert.equal(mainStacks.reason, null);

    // The run went on: it still reads its stdin, ends as it would, and its endpoint is gone.
    run.child.stdin!.end('\n');
    assert.equal(await run.exited, 0);
    assert.deepEqual(endpointFiles(xdg), []);
    const after = await dump(xdg);
    assert.equal(after.code, 1);
    assert.match(after.stderr, /no live mptree run of this user/);
  });

  it('bad input: an unknown pid, several runs without a pid, a stale endpoint, a shared directory, a bad argument', async () => {
    const xdg = userDir();
    const empty = await dump(xdg);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /no live mptree run of this user/);

    // A run whose session is gone (its pid is dead): ignored, and its file removed.
    const dir = path.join(xdg, 'mptree');
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => dead.on('close', r));
    const stale = { v: 1, runId: 'deadbeef0000', sessionPid: dead.pid, launcherPid: dead.pid, rootPid: null, script: 'gone.py', cwd: '/', startedAt: 1, address: path.join(dir, 'deadbeef0000.sock'), token: 'x' };
    fs.writeFileSync(path.join(dir, 'deadbeef0000.json'), JSON.stringify(stale), { mode: 0o600 });
    const one = await startRun(xdg);
    const two = await startRun(xdg);
    assert.ok(!endpointFiles(xdg).includes('deadbeef0000.json'), 'a stale endpoint is cleaned when a run publishes its own');

    const several = await dump(xdg);
    assert.equal(several.code, 2);
    assert.match(several.stderr, /2 live mptree runs of this user/);
    assert.ok(several.stderr.includes(String(one.child.pid)) && several.stderr.includes(String(two.child.pid)), several.stderr);
    // By a child's pid, the right one of the two.
    const second = await dump(xdg, [String(two.kids[0])]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, new RegExp(`waiter-0 \\[${two.kids[0]}\\]`));
    assert.doesNotMatch(second.stdout, new RegExp(`\\[${one.kids[0]}\\]`));

    const unknown = await dump(xdg, ['999999999']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /pid 999999999 is not a process of a live mptree run of this user/);
    const bad = await dump(xdg, ['--frobnicate']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /takes a PID and --json/);

    // A directory others may enter is not used at all.
    const shared = userDir();
    fs.mkdirSync(path.join(shared, 'mptree'), { mode: 0o755 });
    fs.chmodSync(path.join(shared, 'mptree'), 0o755);
    const refused = await dump(shared);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /not a private directory/);
    for (const run of [one, two]) run.child.stdin!.end('\n');
    assert.deepEqual(await Promise.all([one.exited, two.exited]), [0, 0]);
  });

  it('a forged request gets nothing, and the run goes on', async () => {
    const xdg = userDir();
    const run = await startRun(xdg);
    const dir = path.join(xdg, 'mptree');
    const info = JSON.parse(fs.readFileSync(path.join(dir, endpointFiles(xdg).find((f) => f.endsWith('.json'))!), 'utf8'));
    const tcp = /^tcp:(.*):(\d+)$/.exec(info.address);
    const ask = (request: string) =>
      new Promise<string>((resolve) => {
        const socket = tcp ? net.connect({ host: tcp[1], port: Number(tcp[2]) }) : net.connect({ path: info.address });
        let got = '';
        socket.on('connect', () => socket.write(request));
        socket.on('data', (d) => (got += d));
        socket.on('error', () => undefined);
        socket.on('close', () => resolve(got));
      });
    const forged = JSON.stringify({ v: 1, type: 'dump', token: '0'.repeat(32), pid: null, format: 'json' }) + '\n';
    assert.equal(await ask(forged), '', 'a wrong token: closed without a byte');
    assert.equal(await ask('GET / HTTP/1.0\r\n\r\n'), '', 'not even JSON');
    assert.equal(await ask(JSON.stringify({ v: 1, type: 'dump', pid: null }) + '\n'), '', 'no token');
    // The real token gets the answer (so the checks above are not vacuous).
    const real = JSON.parse(await ask(JSON.stringify({ v: 1, type: 'dump', token: info.token, pid: null, format: 'json' }) + '\n'));
    assert.equal(real.ok, true);
    run.child.stdin!.end('\n');
    assert.equal(await run.exited, 0);
  });
});
