// What the timeline draws, from a real run's history: one lane per process in tree order,
// its state over time with the zombie stage (exit to join) kept apart, daemons and pool
// workers marked, each queue's depth and each pool's pending tasks as series. Real Python,
// real runtime and socket; compared with the pids the program wrote itself.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { RunHistory } from '../../src/core/history';
import { RunSession } from '../../src/core/session';
import { TimelineBuilder, type Lane, type ToWebview } from '../../src/vscode/timeline/timelineData';

const root = path.resolve(__dirname, '..', '..', '..');
const runtimeDir = path.join(root, 'src', 'runtime');
const fixture = path.join(root, 'test', 'fixtures', 'timeline_run.py');

async function until<T>(what: string, check: () => T | undefined | false, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('timeline data from a real run', { skip: process.platform !== 'linux' && 'fork and queue depths: Linux' }, () => {
  it('lanes in tree order with states, zombie time, daemon and pool-worker marks; queue and pool series', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mptree-timeline-'));
    const truthFile = path.join(tmp, 'truth.json');
    const session = await RunSession.create({ target: { script: fixture, args: [] }, cwd: root, runtimeDir, env: { ...process.env, MPTREE_TRUTH: truthFile } });
    const history = new RunHistory(session);
    try {
      const child = session.start('pipe');
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d: Buffer) => (stdout += d));
      child.stderr!.on('data', (d: Buffer) => (stderr += d));
      // Each step waits for what the program says and for the model to show it, then lets
      // the program go on: the series and the zombie stage are there because they were seen.
      await until('the queue full', () => stdout.includes('full\n') && session.model.queues().some((q) => q.maxsize === 3 && q.depth === 3));
      child.stdin!.write('go\n');
      await until('the zombie', () => stdout.includes('zombie\n') && session.model.processes().some((p) => p.name === 'zombie-lane' && p.state === 'zombie'));
      child.stdin!.end('go\n');
      const info = await session.ended;
      assert.equal(info.exitCode, 0, stderr);
      const truth = JSON.parse(fs.readFileSync(truthFile, 'utf8')) as { main: number; daemon: number; filler: number; zombie: number; workers: number[] };

      const builder = new TimelineBuilder();
      builder.setMeta(history.queueRecords(), history.poolRecords());
      builder.consume(history.events);
      const reset = builder.reset(1, { title: 'timeline_run.py', startedAt: info.startedAt, endedAt: info.endedAt, live: false, readOnly: false }, Date.now()) as Extract<ToWebview, { type: 'reset' }>;
      assert.equal(reset.type, 'reset');
      const byPid = (pid: number) => reset.lanes.find((l) => l.pid === pid) as Lane;

      // One lane per process, parents before their children, depths from the tree.
      const main = byPid(truth.main);
      assert.equal(reset.lanes[0], main, 'the main process is the first lane');
      assert.equal(main.depth, 0);
      for (const pid of [truth.daemon, truth.filler, truth.zombie, ...truth.workers]) {
        const lane = byPid(pid);
        assert.ok(lane, `a lane for ${pid}`);
        assert.equal(lane.parentKey, main.key, `${lane.name} under main`);
        assert.equal(lane.depth, 1);
        assert.ok(reset.lanes.indexOf(lane) > 0);
      }
      assert.equal(new Set(reset.lanes.map((l) => l.key)).size, reset.lanes.length, 'one lane per process');
      // Marks: the daemon, the pool workers.
      assert.deepEqual([byPid(truth.daemon).daemon, byPid(truth.daemon).kind], [true, 'process']);
      assert.equal(byPid(truth.filler).daemon, false);
      for (const pid of truth.workers) assert.equal(byPid(pid).kind, 'pool-worker');
      // States: every lane ended; the zombie's stage runs from its exit to its join, and a
      // child joined at once has its exit and its collection at the same point or close.
      const zombie = byPid(truth.zombie);
      assert.deepEqual([zombie.state, zombie.exitCode], ['exited', 5]);
      assert.ok(zombie.exitedAt !== null && zombie.reapedAt !== null && zombie.reapedAt > zombie.exitedAt, `zombie stage ${zombie.exitedAt} → ${zombie.reapedAt}`);
      assert.ok(zombie.exitedAt! >= zombie.start);
      for (const lane of reset.lanes) {
        assert.equal(lane.state, 'exited', `${lane.name} ended`);
        assert.ok(lane.exitedAt !== null && lane.exitedAt >= lane.start, `${lane.name} has an end`);
      }
      assert.deepEqual([byPid(truth.daemon).exitCode, byPid(truth.daemon).signal], [-15, 'SIGTERM'], 'multiprocessing terminates a daemon at exit');

      // Series: the queue went up to its maxsize and back to 0; the pool's pending tasks rose
      // above 0 and ended at 0.
      const queue = reset.series.find((s) => s.kind === 'queue')!;
      assert.ok(queue, `series: ${reset.series.map((s) => s.id)}`);
      assert.equal(queue.limit, 3);
      assert.match(queue.label, /^Queue q/);
      const depths = queue.points.map((p) => p[1]);
      assert.equal(Math.max(...depths), 3, `queue depths ${depths}`);
      assert.equal(depths[depths.length - 1], 0);
      const times = queue.points.map((p) => p[0]);
      assert.deepEqual(times, [...times].sort((a, b) => a - b), 'points in time order');
      const pool = reset.series.find((s) => s.kind === 'pool')!;
      assert.ok(pool);
      assert.match(pool.label, /^Pool p\S+ pending/);
      const pending = pool.points.map((p) => p[1]);
      assert.ok(Math.max(...pending) > 0, `pool pending ${pending}`);
      assert.equal(pending[pending.length - 1], 0);

      // After a reset nothing is left to send; one new event is an update of that lane only.
      assert.equal(builder.update(2, { title: 't', startedAt: 0, endedAt: null, live: true, readOnly: false }, Date.now()), null);
      builder.consume([{ t: Date.now(), type: 'process', key: zombie.key, patch: { exitCode: 6 } }]);
      const update = builder.update(3, { title: 't', startedAt: 0, endedAt: null, live: true, readOnly: false }, Date.now()) as Extract<ToWebview, { type: 'update' }>;
      assert.deepEqual(update.lanes.map((l) => [l.key, l.exitCode]), [[zombie.key, 6]]);
      assert.equal(update.order, null, 'no structural change');
    } finally {
      history.dispose();
      session.dispose();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
