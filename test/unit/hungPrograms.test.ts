// Four hung programs (test/fixtures/hung/), per start method, through the real runtime: the
// waits, holders, tasks and deadlock mptree shows, compared with what each program says of
// itself; then the run is stopped and nothing of it is left. Twice: through a RunSession (the
// model, the text tree, the snapshot), and through `mptree run --snapshot` (the CLI writes the
// deadlock's line when it finds it; the test stops the run then).
// These need the runtime's side of waits and lock holders (protocol-24): skipped until the
// runtime sends wait.begin.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { renderTree } from '../../src/core/renderTree';
import { RunSession } from '../../src/core/session';
import type { SnapshotJson } from '../../src/core/types';
import { processesLeftAfter } from '../common/osTruth';
import { startInGroup } from './cliProcess';

const root = path.resolve(__dirname, '..', '..', '..');
const runtimeDir = path.join(root, 'src', 'runtime');
const hung = path.join(root, 'test', 'fixtures', 'hung');
const METHODS = ['fork', 'spawn', 'forkserver'] as const;

/** Whether the runtime reports waits at all (the `waits` side of issue 24). */
function runtimeReportsWaits(): boolean {
  const says = (text: string) => text.includes("'wait.begin'") || text.includes('"wait.begin"');
  const walk = (dir: string): boolean =>
    fs.readdirSync(dir, { withFileTypes: true }).some((e) => {
      const full = path.join(dir, e.name);
      return e.isDirectory() ? walk(full) : e.name.endsWith('.py') && says(fs.readFileSync(full, 'utf8'));
    });
  return walk(runtimeDir);
}
const skip = process.platform !== 'linux' ? 'Linux: /proc for what is left' : !runtimeReportsWaits() && 'the runtime does not report waits yet (branch waits)';

async function until<T>(what: string, check: () => T | undefined | false | null, ms = 30_000, describe?: () => string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${describe ? `\n${describe()}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let tmp: string;
const file = (name: string) => path.join(hung, name);
const site = (script: string, line: number) => `${file(script)}:${line}`;

interface Truth {
  main: number;
  lines: Record<string, number>;
  [key: string]: unknown;
}

/** Starts a fixture in a session; resolves once the program says it is stuck. */
async function hungSession(script: string, method: string) {
  const truthFile = path.join(tmp, `${script}-${method}.json`);
  const session = await RunSession.create({
    target: { script: file(script), args: [method] },
    cwd: hung,
    runtimeDir,
    env: { ...process.env, MPTREE_TRUTH: truthFile },
    terminateGraceMs: 1000,
  });
  const child = session.start('pipe');
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d));
  child.stderr!.resume();
  await until(`${script} to be stuck`, () => stdout.includes('ready\n'));
  const truth = JSON.parse(fs.readFileSync(truthFile, 'utf8')) as Truth;
  const stopAndCheck = async () => {
    const pids = session.model.processes().map((p) => p.pid);
    await session.stop();
    await session.ended;
    assert.deepEqual(await processesLeftAfter(session.runId, 5000), [], 'nothing of the run is left');
    for (const pid of pids) assert.ok(isDead(pid), `${pid} is gone`);
  };
  return { session, truth, stopAndCheck, tree: () => renderTree(session.model, session.info) };
}

// Dead: no such pid, or a zombie that its parent (pid 1 for orphans here, which reaps late)
// has not reaped yet; a zombie runs nothing and holds nothing.
function isDead(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

describe('hung programs through the runtime', { skip }, () => {
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mptree-hung-'))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  for (const method of METHODS) {
    it(`${method}: a lock-order deadlock: each holds one lock and waits for the other's`, async () => {
      const { session, truth, stopAndCheck, tree } = await hungSession('lock_order.py', method);
      try {
        const m = session.model;
        const [d] = await until('the deadlock', () => m.deadlocks().length > 0 && m.deadlocks(), 30_000, tree);
        assert.equal(d.kind, 'lock-cycle');
        assert.deepEqual([...d.pids].sort(), [truth.first, truth.second].sort());
        // The cycle's lines: the two waiting acquires and the two `with` lines that took the locks.
        for (const mark of ['WAIT_B', 'WAIT_A', 'HOLD_A', 'HOLD_B']) assert.ok(d.sites.includes(site('lock_order.py', truth.lines[mark])), `${mark}: ${d.sites}`);
        const first = m.processByPid(truth.first as number)!;
        assert.equal(first.wait?.call, 'Lock.acquire');
        assert.equal(first.wait?.site?.line, truth.lines.WAIT_B);
        const lockB = m.lock(first.wait!.object.id!)!;
        assert.equal(lockB.label, 'lock_b');
        assert.deepEqual(lockB.holders.map((h) => [h.pid, h.site?.line]), [[truth.second, truth.lines.HOLD_B]]);
        assert.match(tree(), new RegExp(`takes-a-then-b \\[${truth.first}\\].*waiting: Lock lock_b held by takes-b-then-a \\(lock_order\\.py:${truth.lines.HOLD_B}\\)`));
        assert.equal(m.processByPid(truth.main)?.wait?.call, 'Process.join');
        await stopAndCheck();
        assert.match(tree(), /✖ Deadlock: /);
        assert.equal(m.toSnapshot(session.info).deadlocks[0]?.kind, 'lock-cycle');
      } finally {
        session.dispose();
      }
    });

    it(`${method}: a join before draining the queue: the child cannot flush at exit`, async () => {
      const { session, truth, stopAndCheck, tree } = await hungSession('join_before_drain.py', method);
      try {
        const m = session.model;
        const [d] = await until('the deadlock', () => m.deadlocks().length > 0 && m.deadlocks(), 30_000, tree);
        assert.equal(d.kind, 'join-queue');
        assert.deepEqual(d.pids, [truth.main, truth.child]);
        assert.equal(d.sites[0], site('join_before_drain.py', truth.lines.JOIN));
        assert.equal(m.processByPid(truth.child as number)?.wait?.call, 'Queue.flush');
        assert.match(tree(), new RegExp(`producer \\[${truth.child}\\].*waiting: Queue\\.flush q`));
        await stopAndCheck();
        assert.equal(m.toSnapshot(session.info).deadlocks[0]?.kind, 'join-queue');
      } finally {
        session.dispose();
      }
    });

    it(`${method}: one pool task never returns: the worker shows it, main waits, no deadlock`, async () => {
      const { session, truth, stopAndCheck, tree } = await hungSession('pool_stuck_task.py', method);
      try {
        const m = session.model;
        const workers = truth.workers as number[];
        const stuck = await until('the stuck task', () => workers.map((pid) => m.processByPid(pid)).find((w) => w?.task?.call.startsWith('crunch(7)')), 30_000, tree);
        await until('the seven tasks done', () => workers.reduce((n, pid) => n + (m.processByPid(pid)?.tasksDone ?? 0), 0) === 7, 30_000, tree);
        // main's get() began just after "ready": its wait is reported once past the threshold.
        const mainWait = await until("main's wait", () => m.processByPid(truth.main)?.wait, 30_000, tree);
        assert.match(mainWait.call, /^(AsyncResult\.get|AsyncResult\.wait)$/);
        assert.equal(mainWait.site?.line, truth.lines.GET);
        assert.match(tree(), new RegExp(`\\[${stuck.pid}\\].*crunch\\(7\\) · `));
        assert.deepEqual(m.deadlocks(Date.now() + 5000), [], 'a task that runs is no deadlock');
        await stopAndCheck();
        const snapshot = m.toSnapshot(session.info);
        assert.equal(snapshot.processes.find((p) => p.pid === stuck.pid)?.task?.call.startsWith('crunch(7)'), true, 'the task it died in');
        assert.deepEqual(snapshot.deadlocks, []);
      } finally {
        session.dispose();
      }
    });

    it(`${method}: a consumer whose producer forgot the sentinel: everyone waits`, async () => {
      const { session, truth, stopAndCheck, tree } = await hungSession('forgot_sentinel.py', method);
      try {
        const m = session.model;
        const [d] = await until('the deadlock', () => m.deadlocks().length > 0 && m.deadlocks(), 30_000, tree);
        assert.equal(d.kind, 'all-waiting');
        assert.deepEqual([...d.pids].sort(), [truth.main, truth.consumer].sort());
        assert.deepEqual([...d.sites].sort(), [site('forgot_sentinel.py', truth.lines.GET), site('forgot_sentinel.py', truth.lines.JOIN)].sort());
        assert.match(tree(), new RegExp(`consumer \\[${truth.consumer}\\].*waiting: Queue\\.get q`));
        await stopAndCheck();
        const snapshot = m.toSnapshot(session.info);
        assert.equal(snapshot.processes.find((p) => p.pid === truth.consumer)?.wait?.call, 'Queue.get', 'its last wait');
      } finally {
        session.dispose();
      }
    });
  }
});

describe('hung programs through `mptree run --snapshot`', { skip }, () => {
  // Its own directory: the describe above removes its own in its `after`.
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mptree-hung-cli-'))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const cases: Array<[string, string]> = [
    ['lock_order.py', 'lock-cycle'],
    ['join_before_drain.py', 'join-queue'],
    ['forgot_sentinel.py', 'all-waiting'],
  ];
  for (const method of METHODS) {
    for (const [script, kind] of cases) {
      it(`${method}: ${script} is named ${kind}, the run stopped leaves nothing`, async () => {
        const truthFile = path.join(tmp, `cli-${script}-${method}.json`);
        const snapshotFile = path.join(tmp, `cli-${script}-${method}.snapshot.json`);
        const run = startInGroup(['--snapshot', snapshotFile, file(script), method], truthFile, 30_000, { quiet: false });
        try {
          await run.ready();
          const truth = JSON.parse(fs.readFileSync(truthFile, 'utf8')) as Truth;
          // Without a live view the CLI writes the deadlock as soon as it finds it.
          await until('the deadlock line', () => run.stderr().includes('✖ Deadlock: '), 30_000, () => run.stderr());
          process.kill(run.child.pid!, 'SIGTERM');
          assert.equal(await run.exited, 143, run.stderr());
          const snapshot = JSON.parse(fs.readFileSync(snapshotFile, 'utf8')) as SnapshotJson & { hints: Array<{ kind: string }> };
          assert.equal(snapshot.deadlocks[0]?.kind, kind);
          assert.ok(snapshot.hints.some((h) => h.kind === 'deadlock'));
          assert.ok(snapshot.processes.some((p) => p.pid === truth.main && p.wait !== null), 'main\'s last wait');
          // The final tree says it once more, after the processes.
          assert.match(run.stderr().split('\n').filter((l) => l.startsWith('✖')).join('\n'), /✖ Deadlock: [\s\S]*✖ Deadlock: /);
          const runId = (snapshot as unknown as { runId?: string }).runId;
          if (runId) assert.deepEqual(await processesLeftAfter(runId, 5000), []);
          for (const p of snapshot.processes) assert.ok(isDead(p.pid), `${p.name} [${p.pid}] is gone`);
        } finally {
          run.cleanup();
        }
      });
    }
  }
});
