// What each process costs, in the model and in words: live figures from the scan (a reused
// pid's reading refused), measured totals at the end (the parent's CPU figure beats the
// process's own, an absent figure erases nothing), the snapshot, exported runs, the text.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Emitter } from '../../src/core/event';
import { exportRun, importRun, modelOf, RunHistory, type HistorySource } from '../../src/core/history';
import { RunModel } from '../../src/core/model';
import { parseMessage } from '../../src/core/protocol';
import type { LiveUsage } from '../../src/core/processUsage';
import type { ModelChange, RunInfo } from '../../src/core/types';
import { formatBytes, formatCpuPercent, formatCpuSeconds, liveTotalsText, usageParts, usageTotals } from '../../src/core/usageText';
import { poolDescription, processDescription, runDescription, workerCpuText } from '../../src/vscode/tree/present';
import { TimelineBuilder } from '../../src/vscode/timeline/timelineData';

const MiB = 2 ** 20;
const line = (message: Record<string, unknown>) => JSON.stringify({ v: 1, t: 1000, ...message });
/** Messages as they come off the wire: decoded and validated by the protocol's own code. */
function decoded(...messages: Record<string, unknown>[]) {
  return messages.map((m) => {
    const result = parseMessage(line(m));
    assert.ok(result.ok, `${line(m)}: ${!result.ok && result.reason}`);
    return result.message;
  });
}
const live = (cpuPercent: number | null, rssBytes: number | null, startMs: number | null = null): LiveUsage => ({ cpuPercent, rssBytes, cpuSeconds: null, startMs });

function modelWithChild() {
  const model = new RunModel('r');
  model.setRootPid(100);
  model.apply(decoded(
    { type: 'hello', token: 't', runId: 'r', pid: 100, kind: 'python', t: 1000 },
    { type: 'process.started', pid: 101, parentPid: 100, name: 'worker-1', kind: 'process', t: 1000 },
  ));
  return model;
}

describe('process costs in the model', () => {
  it('live figures go to running processes; a reading of a process that started later (pid reused) is unknown', () => {
    const model = modelWithChild();
    const changes: ModelChange[] = [];
    model.onDidChange((c) => changes.push(c));
    model.applyUsage(new Map([[100, live(1.5, 20 * MiB, 900)], [101, live(98, 212 * MiB, 1100)]]));
    const worker = model.processByPid(101)!;
    assert.equal(worker.cpuPercent, 98);
    assert.equal(worker.rssBytes, 212 * MiB);
    assert.equal(changes.length, 1, 'one change per scan');
    assert.equal(processDescription(worker), 'pid 101 · running · 98 % · 212 MB');
    // Pid 101 now belongs to a process started 10 s after worker-1 was: not worker-1's figures.
    model.applyUsage(new Map([[101, live(50, 5 * MiB, 11_000)]]));
    assert.equal(model.processByPid(101)!.cpuPercent, null);
    assert.equal(model.processByPid(101)!.rssBytes, null);
    // A scan without a reading (gone between listing and reading): unknown, not the last figure.
    model.applyUsage(new Map([[101, live(40, 8 * MiB)]]));
    model.applyUsage(new Map());
    assert.equal(model.processByPid(101)!.cpuPercent, null);
    assert.equal(processDescription(model.processByPid(101)!), 'pid 101 · running');
  });

  it("figures at the end: the process's own, its parent's CPU time beats it, absent ones erase nothing; live ones cleared", () => {
    const model = modelWithChild();
    model.applyUsage(new Map([[101, live(98, 212 * MiB)]]));
    model.apply(decoded({ type: 'process.exiting', pid: 101, exitCode: 0, cpuSeconds: 2.98, peakRssBytes: 312 * MiB }));
    let worker = model.processByPid(101)!;
    assert.equal(worker.cpuSeconds, 2.98);
    assert.equal(worker.peakRssBytes, 312 * MiB);
    model.apply(decoded({ type: 'process.exited', pid: 101, exitCode: 0 }, { type: 'process.usage', pid: 101, cpuSeconds: 3.01, source: 'parent' }));
    worker = model.processByPid(101)!;
    assert.equal(worker.cpuSeconds, 3.01, "the kernel's figure of the zombie, taken after the last instruction");
    assert.equal(worker.peakRssBytes, 312 * MiB, 'the parent has no peak: the own one stays');
    assert.equal(worker.cpuPercent, null, 'an ended process has no live figures');
    assert.equal(worker.rssBytes, null);
    model.apply(decoded({ type: 'process.usage', pid: 101, cpuSeconds: 1, source: 'self' }));
    assert.equal(model.processByPid(101)!.cpuSeconds, 3.01, "its own later word does not replace the parent's");
    assert.deepEqual(usageParts(model.processByPid(101)!), ['3.0 s CPU', '312 MB peak']);
    const snapshot = model.toSnapshot({ script: 'x.py', args: [], python: 'python3', cwd: '/', state: 'finished', rootPid: 100, exitCode: 0, signal: null, startedAt: 0, endedAt: 5000, error: null, notice: null, runId: 'r' });
    const entry = snapshot.processes.find((p) => p.pid === 101)!;
    assert.equal(entry.cpuSeconds, 3.01);
    assert.equal(entry.peakRssBytes, 312 * MiB);
    assert.equal(snapshot.processes.find((p) => p.pid === 100)!.cpuSeconds, null, 'unknown is null');
  });

  it("a fork child's hello sent at its very end, read after its parent's exit report, is the same process", () => {
    const model = modelWithChild();
    model.apply(decoded({ type: 'process.exited', pid: 101, exitCode: 0, t: 2000 }));
    // Its clock says 2100 (sent late); it was created at 1005, before that exit.
    model.apply(decoded(
      { type: 'hello', token: 't', runId: 'r', pid: 101, kind: 'process', name: 'worker-1', created: 1005, t: 2100 },
      { type: 'process.exiting', pid: 101, exitCode: 0, cpuSeconds: 1.5, peakRssBytes: 20 * MiB, t: 2100 },
    ));
    const nodes = model.processes().filter((p) => p.pid === 101);
    assert.equal(nodes.length, 1, 'one node for pid 101');
    assert.equal(nodes[0].cpuSeconds, 1.5);
    // A hello from a process created after the end is a new one on a reused pid.
    model.apply(decoded({ type: 'hello', token: 't', runId: 'r', pid: 101, kind: 'python', name: 'other', created: 2500, t: 2600 }));
    assert.equal(model.processes().filter((p) => p.pid === 101).length, 2);
  });

  it('rejects figures that are not amounts', () => {
    for (const bad of [{ cpuSeconds: -1 }, { peakRssBytes: 'x' }, { cpuSeconds: Number.NaN }]) {
      const result = parseMessage(line({ type: 'process.exiting', pid: 5, exitCode: 0, ...bad }));
      assert.equal(result.ok, false, JSON.stringify(bad));
    }
    assert.equal(parseMessage(line({ type: 'process.usage', pid: 5, cpuSeconds: 1, source: 'neighbour' })).ok, false);
  });

  it('exported runs keep the totals, not the live figures; older files read as unknown', () => {
    const model = modelWithChild();
    const changeEmitter = new Emitter<ModelChange>();
    const runEmitter = new Emitter<RunInfo>();
    model.onDidChange((c) => changeEmitter.fire(c));
    const info: RunInfo = { runId: 'r', script: 'x.py', args: [], python: 'python3', cwd: '/', state: 'running', rootPid: 100, exitCode: null, signal: null, startedAt: 0, endedAt: null, error: null, notice: null };
    const source: HistorySource = { info, model, onDidChange: changeEmitter.event, onDidChangeRun: runEmitter.event };
    let now = 0;
    const history = new RunHistory(source, { clock: () => (now += 100) });
    model.applyUsage(new Map([[100, live(2, 20 * MiB)], [101, live(98, 212 * MiB)]]));
    model.applyUsage(new Map([[100, live(2, 20 * MiB)], [101, live(98, 212 * MiB)]]));
    model.applyUsage(new Map([[100, live(1, 20 * MiB)], [101, live(50, 262 * MiB)]]));
    // A scan is not process history; the run's totals over time are, once per scan that moved them.
    assert.ok(history.events.every((e) => e.type !== 'process' || (e.patch.cpuPercent ?? null) === null), 'no live figures in process events');
    const totals = history.events.filter((e) => e.type === 'usage');
    assert.deepEqual(totals.map((e) => e.type === 'usage' && [e.cpuPercent, e.rssBytes / MiB]), [[100, 232], [51, 282]]);
    model.apply(decoded({ type: 'process.exiting', pid: 101, exitCode: 0, cpuSeconds: 3, peakRssBytes: 312 * MiB }, { type: 'process.exited', pid: 101, exitCode: 0 }));
    const back = importRun(exportRun(history));
    const record = back.processes.find((p) => p.pid === 101)!;
    assert.equal(record.cpuSeconds, 3);
    assert.equal(record.peakRssBytes, 312 * MiB);
    assert.equal(modelOf(back).processByPid(101)!.cpuPercent, null);
    // The worker ended: the totals drop to what is still running (the main process).
    assert.deepEqual(back.events.filter((e) => e.type === 'usage').map((e) => e.type === 'usage' && e.cpuPercent), [100, 51, 1]);
    // The timeline draws them as two charts.
    const timeline = new TimelineBuilder();
    timeline.consume(back.events);
    const message = timeline.reset(1, { title: 'x.py', startedAt: 0, endedAt: null, live: false, readOnly: true }, 0);
    assert.equal(message.type, 'reset');
    const charts = message.type === 'reset' ? message.series : [];
    const cpu = charts.find((c) => c.kind === 'usage-cpu')!;
    const memory = charts.find((c) => c.kind === 'usage-memory')!;
    assert.deepEqual(cpu.points.map((p) => p[1]), [100, 51, 1]);
    assert.deepEqual(memory.points.map((p) => p[1]), [232, 282, 20]);
    assert.match(cpu.label, /CPU/);
    // A file from before: no such fields at all.
    const old = JSON.parse(exportRun(history));
    for (const p of old.processes) {
      delete p.cpuSeconds;
      delete p.peakRssBytes;
      delete p.cpuPercent;
      delete p.rssBytes;
    }
    const oldBack = importRun(JSON.stringify(old));
    assert.equal(oldBack.processes.find((p) => p.pid === 101)!.cpuSeconds, null);
    assert.deepEqual(usageParts(modelOf(oldBack).processByPid(101)!), []);
    history.dispose();
  });
});

describe('process costs in words', () => {
  it('compact figures, totals for a run', () => {
    assert.equal(formatBytes(212 * MiB), '212 MB');
    assert.equal(formatBytes(1536 * MiB), '1.5 GB');
    assert.equal(formatBytes(300 * 1024), '300 KB');
    assert.equal(formatCpuPercent(98.4), '98 %');
    assert.equal(formatCpuPercent(0.3), '0.3 %');
    assert.equal(formatCpuPercent(0), '0 %');
    assert.equal(formatCpuSeconds(3.04), '3.0 s');
    assert.equal(formatCpuSeconds(125), '2 min 05 s');
    assert.equal(formatCpuSeconds(3720), '1 h 02 min');
    const processes = [
      { state: 'running' as const, cpuPercent: 98, rssBytes: 200 * MiB, cpuSeconds: null, peakRssBytes: null },
      { state: 'running' as const, cpuPercent: 2, rssBytes: 12 * MiB, cpuSeconds: null, peakRssBytes: null },
      { state: 'running' as const, cpuPercent: null, rssBytes: null, cpuSeconds: null, peakRssBytes: null },
      { state: 'exited' as const, cpuPercent: null, rssBytes: null, cpuSeconds: 3, peakRssBytes: 312 * MiB },
    ];
    const totals = usageTotals(processes);
    assert.deepEqual(totals, { measured: 2, cpuPercent: 100, rssBytes: 212 * MiB, ended: 1, cpuSeconds: 3 });
    assert.equal(liveTotalsText(totals), '100 % · 212 MB');
    const run: RunInfo = { runId: 'r', script: 'x.py', args: [], python: 'python3', cwd: '/', state: 'running', rootPid: 1, exitCode: null, signal: null, startedAt: 0, endedAt: null, error: null, notice: null };
    assert.equal(runDescription(run, 3, 4, 12_000, totals), 'running · 12 s · 4 processes, 3 alive · 100 % · 212 MB');
    assert.equal(runDescription({ ...run, state: 'finished', exitCode: 0, endedAt: 5000 }, 0, 4, 12_000, totals), 'exit 0 · 5.0 s · 4 processes · 3.0 s CPU');
    assert.equal(liveTotalsText(usageTotals([])), '');
  });

  it("a pool's workers side by side: an uneven pool shows at a glance", () => {
    const model = modelWithChild();
    model.apply(decoded(
      { type: 'pool.created', id: 'p1', kind: 'Pool', ownerPid: 100, size: 3 },
      ...[201, 202, 203].map((pid) => ({ type: 'process.started', pid, parentPid: 100, name: `ForkPoolWorker-${pid - 200}`, kind: 'pool-worker', poolId: 'p1' })),
    ));
    const workers = () => model.processes().filter((p) => p.poolId === 'p1');
    model.applyUsage(new Map([[201, live(97.6, MiB)], [202, live(3.2, MiB)], [203, live(null, null)]]));
    assert.equal(workerCpuText(workers()), 'CPU 98 / 3 %');
    const pool = model.pools()[0];
    assert.equal(poolDescription(pool, 3, workers()), '3 workers · 3 alive · 0 pending · 0 done · CPU 98 / 3 %');
    model.apply(decoded(
      ...[201, 202, 203].map((pid) => ({ type: 'process.exited', pid, exitCode: -15 })),
      { type: 'process.usage', pid: 201, cpuSeconds: 9.04, source: 'parent' },
      { type: 'process.usage', pid: 202, cpuSeconds: 0.31, source: 'parent' },
    ));
    assert.equal(workerCpuText(workers()), 'CPU 9.0 / 0.3 s');
  });
});
