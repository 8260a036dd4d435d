// What the timeline draws, from a real run's history: one lane per process in tree order,
// its state over time with the zombie stage (exit to join) kept apart, daemons and pool
// workers marked, each queue's depth and each pool's pending tasks as series. Real Python,
// real runtime and socket; compared with the pids the program wrote itself.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { RunHistory } from '../../src/core/history';
import { connectOptions } from '../../src/core/server';
import { RunSession } from '../../src/core/session';
import { MAX_LANE_POINTS, TimelineBuilder, type Lane, type ToWebview } from '../../src/vscode/timeline/timelineData';

const root = path.resolve(__dirname, '..', '..', '..');
const runtimeDir = path.join(root, 'src', 'runtime');
const fixture = path.join(root, 'test', 'fixtures', 'timeline_run.py');
const costsFixture = path.join(root, 'test', 'fixtures', 'timeline_costs.py');
const MiB = 2 ** 20;
const runInfo = { title: 't', startedAt: 0, endedAt: null, live: true, readOnly: false };

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
      // The chart's "max" is the series' peak: the queue's maxsize, never above it.
      assert.equal(queue.peak, 3, `peak of ${depths}`);
      assert.equal(depths[depths.length - 1], 0);
      const times = queue.points.map((p) => p[0]);
      assert.deepEqual(times, [...times].sort((a, b) => a - b), 'points in time order');
      const pool = reset.series.find((s) => s.kind === 'pool')!;
      assert.ok(pool);
      assert.match(pool.label, /^Pool p\S+ pending/);
      const pending = pool.points.map((p) => p[1]);
      assert.ok(Math.max(...pending) > 0, `pool pending ${pending}`);
      assert.equal(pool.peak, Math.max(...pending));
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

describe('each lane\'s own CPU and memory', () => {
  it('from a real run\'s OS scans: the burner\'s CPU line, the holder\'s memory, the sleeper near 0', { skip: process.platform !== 'linux' && '/proc figures: Linux' }, async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mptree-timeline-costs-'));
    const truthFile = path.join(tmp, 'truth.json');
    const session = await RunSession.create({ target: { script: costsFixture, args: [] }, cwd: root, runtimeDir, osScanIntervalMs: 200, env: { ...process.env, MPTREE_TRUTH: truthFile } });
    const history = new RunHistory(session);
    try {
      const child = session.start('pipe');
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d: Buffer) => (stdout += d));
      child.stderr!.on('data', (d: Buffer) => (stderr += d));
      await until('ready', () => stdout.includes('ready\n'));
      const truth = JSON.parse(fs.readFileSync(truthFile, 'utf8')) as Record<'burner' | 'holder' | 'sleeper', number>;
      const byPid = (pid: number) => session.model.processes().find((p) => p.pid === pid);
      // What the tree shows live is what the lanes must have drawn: wait until the scans saw it.
      await until('the burner busy and the holder holding', () => (byPid(truth.burner)?.cpuPercent ?? 0) > 50 && (byPid(truth.holder)?.rssBytes ?? 0) >= 190 * MiB, 60_000);
      const builder = new TimelineBuilder();
      builder.consume(history.events);
      const keyOf = (pid: number) => byPid(pid)!.key;
      const burner = builder.usageOf(keyOf(truth.burner));
      const holder = builder.usageOf(keyOf(truth.holder));
      const sleeper = builder.usageOf(keyOf(truth.sleeper));
      assert.ok(Math.max(...burner.map((p) => p[1])) > 50, `burner CPU ${burner.map((p) => p[1])}`);
      assert.ok(Math.max(...holder.map((p) => p[2])) >= 190, `holder MB ${holder.map((p) => p[2])}`);
      assert.ok(Math.max(...holder.map((p) => p[2])) < 400, 'the holder holds 200 MB, not more');
      assert.ok(sleeper.length > 0, 'the sleeper has figures too');
      assert.ok(Math.max(...sleeper.map((p) => p[1])) < 20, `sleeper CPU ${sleeper.map((p) => p[1])}`);
      assert.ok(Math.max(...sleeper.map((p) => p[2])) < 150, `sleeper MB ${sleeper.map((p) => p[2])}`);
      // The webview gets them: whole in a reset, then only the points added since.
      const reset = builder.reset(1, runInfo, Date.now()) as Extract<ToWebview, { type: 'reset' }>;
      assert.deepEqual(reset.usage.find((u) => u.key === keyOf(truth.burner))?.points, [...burner]);
      child.stdin!.end('go\n');
      const info = await session.ended;
      assert.equal(info.exitCode, 0, stderr);
      // At their end the lanes' figures go to 0 (they no longer run): the run's totals do too.
      const after = new TimelineBuilder();
      after.consume(history.events);
      const last = after.usageOf(keyOf(truth.burner)).at(-1)!;
      assert.deepEqual([last[1], last[2]], [0, 0], 'the burner\'s line ends at 0 when it ends');
    } finally {
      history.dispose();
      session.dispose();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('bounded per lane, the older half thinned; a chart\'s peak survives the thinning', () => {
    const builder = new TimelineBuilder();
    builder.consume([{ t: 0, type: 'process', key: 'a', patch: { key: 'a', pid: 1, name: 'a', state: 'running', kind: 'process', daemon: false, parentKey: null, startedAt: 0, createdAt: 0, exitedAt: null, exitCode: null, signal: null } as never }]);
    builder.reset(1, runInfo, 0);
    const events = [];
    // More samples than either bound (a lane's, a chart's 4,000).
    const samples = Math.max(3 * MAX_LANE_POINTS, 5000);
    for (let i = 1; i <= samples; i++) {
      events.push({ t: i, type: 'usage' as const, cpuPercent: i, rssBytes: i * MiB, processes: [['a', i === 2 ? 900 : 10, 5 * MiB] as [string, number, number]] });
      events.push({ t: i, type: 'queue' as const, id: 'q', depth: i === 2 ? 77 : 1, puts: i, gets: i, unfinished: null });
    }
    builder.consume(events);
    const points = builder.usageOf('a');
    assert.ok(points.length <= MAX_LANE_POINTS, `${points.length} points`);
    assert.equal(points.at(-1)![0], samples, 'the newest point is kept');
    const update = builder.update(2, runInfo, 0) as Extract<ToWebview, { type: 'update' }>;
    const lane = update.usage.find((u) => u.key === 'a')!;
    assert.equal(lane.whole, true, 'a thinned lane is sent whole');
    assert.deepEqual(lane.points, [...points]);
    const queue = update.series.find((s) => s.id === 'queue:q')!;
    assert.ok(queue.points.length < samples && !queue.points.some((p) => p[1] === 77), 'the sample of the peak was thinned away');
    assert.equal(queue.peak, 77, 'the peak of a thinned-away sample');
  });
});

describe('waiting time on the lanes', () => {
  it("each wait past the threshold is an interval of its lane, from the call's start to its end or the process's", async () => {
    // The runtime's side over the session's own socket: a consumer that waits twice, then dies mid-wait.
    const session = await RunSession.create({ target: { script: fixture, args: [] }, cwd: root, runtimeDir });
    const history = new RunHistory(session);
    const server = session['server'];
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.createConnection(connectOptions(server.address), () => resolve(s));
      s.once('error', reject);
    });
    const send = (...messages: object[]) => new Promise<void>((resolve) => socket.write(messages.map((m) => JSON.stringify({ v: 1, ...m }) + '\n').join(''), () => resolve()));
    try {
      const t0 = Date.now() - 10_000;
      await send({ type: 'hello', token: server.token, runId: session.runId, pid: 100, kind: 'python', name: 'MainProcess', t: t0 });
      await send(
        { type: 'process.started', pid: 101, parentPid: 100, name: 'consumer', kind: 'process', startMethod: 'fork', t: t0 + 100 },
        { type: 'queue.created', id: 'q100-1', kind: 'Queue', ownerPid: 100, maxsize: 0, site: null, t: t0 + 100 },
      );
      await until('the consumer', () => session.model.processByPid(101));
      const get = (since: number, t: number) => ({ type: 'wait.begin', pid: 101, threadId: 1, thread: 'MainThread', call: 'Queue.get', object: { kind: 'queue', id: 'q100-1' }, timeout: null, site: null, since, threads: 1, t });
      await send(get(t0 + 1000, t0 + 1200));
      await until('the first wait', () => session.model.processByPid(101)?.wait);
      await send({ type: 'wait.end', pid: 101, threadId: 1, t: t0 + 3000 });
      await until('its end', () => session.model.processByPid(101)?.wait === null);
      const endOfFirst = history.events.filter((e) => e.type === 'process' && 'wait' in e.patch && e.patch.wait === null).pop()!.t;
      await send(get(t0 + 4000, t0 + 4200));
      await until('the second wait', () => session.model.processByPid(101)?.wait?.since === t0 + 4000);
      await send({ type: 'process.exited', pid: 101, exitCode: -9, t: t0 + 6000 });
      await until('its death', () => session.model.processByPid(101)?.state === 'zombie');

      const builder = new TimelineBuilder();
      builder.consume(history.events);
      const reset = builder.reset(1, { title: 't', startedAt: t0, endedAt: null, live: true, readOnly: false }, Date.now()) as Extract<ToWebview, { type: 'reset' }>;
      const consumer = reset.lanes.find((l) => l.pid === 101)!;
      const main = reset.lanes.find((l) => l.pid === 100)!;
      // The first from its call to when its end was recorded; the second until the process died.
      assert.deepEqual(consumer.waits, [
        [t0 + 1000, endOfFirst],
        [t0 + 4000, t0 + 6000],
      ]);
      assert.deepEqual(main.waits, [], 'a process that never waited has no waiting time');
    } finally {
      socket.destroy();
      history.dispose();
      session.dispose();
    }
  });
});
