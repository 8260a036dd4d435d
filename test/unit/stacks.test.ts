// Stacks on demand through a real session: a real Python program whose processes block in C,
// one stopped with SIGSTOP and one holding the GIL in C (neither can answer: each is marked,
// and the report comes within about a second), and answers that only the asked process's
// own connection can give.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { render } from '../../src/core/l10n';
import { connectOptions, RuntimeServer } from '../../src/core/server';
import { RunSession } from '../../src/core/session';
import { isStoppedProcess } from '../../src/core/stacks';
import { stacksText } from '../../src/core/stacksText';

const root = path.resolve(__dirname, '..', '..', '..');
const runtimeDir = path.join(root, 'src', 'runtime');
const posix = process.platform !== 'win32';

// Blocking lines are marked, so the test finds their numbers in the program's own text.
const PROGRAM = `
import json, multiprocessing as mp, os, re, sys, time

def blocked(q, lock):
    q.put(os.getpid())
    lock.acquire()  # BLOCK:child

def busy_in_c(q):
    q.put(os.getpid())
    time.sleep(1)  # its put's report goes out (connecting it) before the GIL is taken for good
    re.match(r'(a+)+$', 'a' * 64 + 'b')  # BLOCK:gil

if __name__ == '__main__':
    mp.set_start_method('fork')
    q = mp.Queue()
    lock = mp.Lock()
    lock.acquire()
    kids = [mp.Process(target=blocked, args=(q, lock), name='blocked-%d' % i) for i in range(2)]
    kids.append(mp.Process(target=busy_in_c, args=(q,), name='busy-in-c'))
    for k in kids:
        k.start()
    for k in kids:
        q.get()
    time.sleep(1.2)
    print(json.dumps({k.name: k.pid for k in kids}), flush=True)
    sys.stdin.readline()  # BLOCK:main
`;

function markerLine(mark: string): number {
  return PROGRAM.split('\n').findIndex((line) => line.includes(`# BLOCK:${mark}`)) + 1;
}

async function until<T>(what: string, check: () => T | undefined | false, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('requestStacks', { skip: !posix && 'POSIX signals' }, () => {
  let tmp: string;
  const sessions: RunSession[] = [];
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mptree-stacks-'))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  afterEach(() => {
    for (const s of sessions.splice(0)) s.dispose();
  });

  it('every live process answers with its threads; a stopped one and one holding the GIL are marked within about a second', async () => {
    const script = path.join(tmp, 'blocked.py');
    fs.writeFileSync(script, PROGRAM);
    const session = await RunSession.create({ target: { script, args: [] }, cwd: tmp, runtimeDir, osScanIntervalMs: 300 });
    sessions.push(session);
    const child = session.start('pipe');
    child.stderr!.resume();
    const pids = await new Promise<Record<string, number>>((resolve) => child.stdout!.once('data', (d) => resolve(JSON.parse(String(d)))));
    const main = session.rootPid!;
    await until('every process connected', () => [main, ...Object.values(pids)].every((pid) => session['server'].hasConnection(pid)));
    // The main thread is blocked on its marked line (read from its own answer).
    let report = await session.requestStacks([main]);
    for (let i = 0; i < 100 && report.processes[0].threads?.[0]?.frames.at(-1)?.line !== markerLine('main'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      report = await session.requestStacks([main]);
    }

    process.kill(pids['blocked-1'], 'SIGSTOP');
    try {
      // A signal is delivered when the process next runs: wait until the OS shows it stopped.
      await until('blocked-1 stopped', () => isStoppedProcess(pids['blocked-1']), 5000);
      const began = Date.now();
      report = await session.requestStacks();
      const took = Date.now() - began;
      const byPid = new Map(report.processes.map((p) => [p.pid, p]));
      assert.deepEqual(new Set(byPid.keys()), new Set([main, ...Object.values(pids)]), 'every live process of the run');

      const mainThread = byPid.get(main)!.threads!.find((th) => th.name === 'MainThread')!;
      assert.deepEqual(mainThread.frames.at(-1), { file: script, line: markerLine('main'), function: '<module>' });
      assert.ok(byPid.get(main)!.threads!.some((th) => th.runtime), 'the runtime thread is listed, flagged');

      const blocked = byPid.get(pids['blocked-0'])!;
      assert.equal(blocked.name, 'blocked-0');
      assert.deepEqual(blocked.threads!.find((th) => th.name === 'MainThread')!.frames.at(-1), { file: script, line: markerLine('child'), function: 'blocked' });

      const stopped = byPid.get(pids['blocked-1'])!;
      assert.equal(stopped.threads, null);
      assert.match(render(stopped.reason!), /stopped/);
      const busy = byPid.get(pids['busy-in-c'])!;
      assert.equal(busy.threads, null);
      assert.match(render(busy.reason!), /did not answer within 1 s/);
      // Not a speed target: the report must not wait on the processes that cannot answer.
      assert.ok(took < 5000, `the report took ${took} ms`);

      // In words: each frame a line with its place, and the reasons said.
      const { text, links } = stacksText(report);
      assert.ok(links.some((l) => l.file === script && l.lineNumber === markerLine('child')));
      const linked = links.find((l) => l.lineNumber === markerLine('main'))!;
      assert.equal(text.split('\n')[linked.line].slice(linked.start, linked.end), `${script}:${markerLine('main')}`);
      assert.match(text, /no stacks: stopped/);

      const unknown = await session.requestStacks([1]);
      assert.match(render(unknown.processes[0].reason!), /not a process of this run/);
    } finally {
      process.kill(pids['blocked-1'], 'SIGCONT');
    }
    // The run goes on after being asked: the program still reads its stdin and exits.
    child.stdin!.end('\n');
    await session.stop(500);
    assert.equal((await session.ended).state, 'finished');
  });

  it("an answer counts only on the asked process's own connection", async () => {
    const server = await RuntimeServer.start({ runId: 'r-stacks', logger: { log: () => undefined }, onBatch: () => undefined });
    try {
      const open = (pid: number) =>
        new Promise<net.Socket>((resolve, reject) => {
          const socket = net.createConnection(connectOptions(server.address), () => {
            socket.write(JSON.stringify({ v: 1, type: 'hello', token: server.token, runId: 'r-stacks', pid, kind: 'python', t: 1 }) + '\n');
            resolve(socket);
          });
          socket.on('error', reject);
        });
      const asked = await open(4001);
      const other = await open(4002);
      await until('both connected', () => server.hasConnection(4001) && server.hasConnection(4002), 3000);
      const requests: Array<{ id: number }> = [];
      asked.on('data', (d) => requests.push(...String(d).trim().split('\n').map((l) => JSON.parse(l))));
      const answer = server.stacks(4001, 2000);
      await until('the request', () => requests.length > 0, 3000);
      const id = requests[0].id;
      assert.equal((requests[0] as unknown as { type: string }).type, 'stacks.request');
      const forged = { v: 1, type: 'stacks', id, pid: 4001, threads: [{ threadId: 1, name: 'forged', daemon: false, runtime: false, frames: [] }] };
      other.write(JSON.stringify(forged) + '\n');
      await new Promise((r) => setTimeout(r, 100));
      asked.write(JSON.stringify({ ...forged, threads: [{ ...forged.threads[0], name: 'MainThread', frames: [{ file: '/w/app.py', line: 3, function: 'f' }] }] }) + '\n');
      const got = await answer;
      assert.equal(got.threads[0].name, 'MainThread');
      assert.deepEqual(got.threads[0].frames, [{ file: '/w/app.py', line: 3, function: 'f' }]);
      asked.destroy();
      other.destroy();
    } finally {
      server.dispose();
    }
  });
});
