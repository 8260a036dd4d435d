// Run history and the shareable run file: a real run recorded, exported, imported back and
// replayed; broken or hostile files rejected with a message that says where; the memory cap.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { Emitter } from '../../src/core/event';
import { computeHints, HintTracker } from '../../src/core/hints';
import { exportRun, importRun, modelOf, replayTo, RunFileError, RunHistory, type HistorySource } from '../../src/core/history';
import { RunModel } from '../../src/core/model';
import type { RuntimeMessage } from '../../src/core/protocol';
import { RunSession } from '../../src/core/session';
import type { ModelChange, RunInfo } from '../../src/core/types';

const root = path.resolve(__dirname, '..', '..', '..');
const runtimeDir = path.join(root, 'src', 'runtime');
const posix = process.platform !== 'win32';

describe('run history with a real program', { skip: !posix && 'POSIX processes' }, () => {
  it('exports, imports and replays a run: same processes, queue depths over time, hints', async () => {
    const script = path.join(root, 'test', 'fixtures', 'hints', 'pool_not_closed_bad.py');
    const session = await RunSession.create({ target: { script, args: [] }, cwd: root, runtimeDir });
    const history = new RunHistory(session);
    try {
      const child = session.start('pipe');
      child.stdout?.resume();
      child.stderr?.resume();
      await session.ended;
      const hints = computeHints(session.model, session.info, Date.now(), new HintTracker());
      const text = exportRun(history, hints);
      const back = importRun(text);
      assert.equal(back.format, 'mptree-run');
      assert.equal(back.version, 1);
      assert.equal(back.run.script, script);
      assert.equal(back.run.state, 'finished');
      assert.deepEqual(
        back.processes.map((p) => [p.pid, p.name, p.state, p.exitCode]).sort(),
        session.model.processes().map((p) => [p.pid, p.name, p.state, p.exitCode]).sort(),
      );
      assert.deepEqual(back.snapshot.processes, session.model.toSnapshot(session.info).processes);
      assert.ok(back.snapshot.hints.some((h) => h.kind === 'pool-not-closed'));
      assert.deepEqual(back.hints.map((h) => h.kind), hints.map((h) => h.kind));
      // The tree of the imported run: same nesting as the live model.
      const model = modelOf(back);
      // (Nesting, not sibling order: the live order follows message arrival, which races.)
      const nesting = (ps: readonly { key: string; parentKey: string | null }[]) => ps.map((p) => `${p.key} < ${p.parentKey}`).sort();
      assert.deepEqual(nesting(model.walk()), nesting(session.model.walk()));
      assert.equal(model.walk().length, session.model.walk().length);
      assert.equal(model.poolsOf(model.walk()[0].key).length, 1);
      // Hints recomputed on the imported model agree with the exported ones.
      assert.ok(computeHints(model, back.run, back.run.endedAt!).some((h) => h.kind === 'pool-not-closed'));
      // Replay: before the first event nothing; at the end everything; the pool's pending count
      // went up and back down on the way.
      assert.equal(replayTo(back, back.events[0].t - 1).processes().length, 0);
      assert.equal(replayTo(back, back.run.endedAt!).processes().length, back.processes.length);
      const pending = back.events.filter((e) => e.type === 'pool').map((e) => (e.type === 'pool' ? e.submitted : 0));
      assert.ok(pending.length > 0 && pending[pending.length - 1] === 8, `pool samples: ${pending}`);
      // A second round trip changes nothing.
      assert.deepEqual(importRun(JSON.stringify(back)), back);
    } finally {
      history.dispose();
      session.dispose();
    }
  });
});

function fakeSource() {
  const model = new RunModel('r1');
  const info: RunInfo = {
    runId: 'r1', script: '/w/p.py', args: [], python: 'python3', cwd: '/w', state: 'running', rootPid: 100, exitCode: null, signal: null,
    startedAt: 1000, endedAt: null, error: null, notice: null,
  };
  const runEmitter = new Emitter<RunInfo>();
  const source: HistorySource = { info, model, onDidChange: model.onDidChange as (l: (c: ModelChange) => void) => { dispose(): void }, onDidChangeRun: runEmitter.event };
  return { model, info, source, runEmitter };
}

const m = (message: object) => ({ v: 1, ...message }) as unknown as RuntimeMessage;

describe('run history bookkeeping', () => {
  it('records full records first, then only what changed', () => {
    const { model, source } = fakeSource();
    let now = 1000;
    const history = new RunHistory(source, { clock: () => now });
    model.setRootPid(100, { t: 1000 });
    now = 1100;
    model.apply([m({ type: 'process.started', pid: 101, parentPid: 100, name: 'w', daemon: false, kind: 'process', role: null, startMethod: 'fork', target: 'f', poolId: null, t: 1100 })]);
    now = 1200;
    model.apply([m({ type: 'process.exited', pid: 101, exitCode: 0, t: 1200 })]);
    const events = history.events.filter((e) => e.type === 'process' && e.key.includes(':101:'));
    assert.equal(events.length, 2);
    assert.equal(events[0].type === 'process' && events[0].patch.name, 'w');
    assert.deepEqual(events[1].type === 'process' && Object.keys(events[1].patch).sort(), ['exitCode', 'exitedAt', 'state']);
    history.dispose();
  });

  it('thins queue samples beyond the cap but keeps every process event', () => {
    const { model, source } = fakeSource();
    let now = 1000;
    const history = new RunHistory(source, { clock: () => now, maxEvents: 200 });
    model.setRootPid(100, { t: 1000 });
    model.apply([m({ type: 'queue.created', id: 'q1', kind: 'Queue', ownerPid: 100, maxsize: 0, site: '/w/p.py:3', t: 1000 })]);
    for (let i = 0; i < 1000; i++) {
      now += 10;
      model.apply([m({ type: 'queue.counts', counts: [['q1', 1, 0, 0]], t: now })]);
    }
    assert.ok(history.events.length <= 200, `${history.events.length} events kept`);
    assert.ok(history.thinned);
    assert.ok(history.events.some((e) => e.type === 'process'), 'the root process event is kept');
    const last = history.events[history.events.length - 1];
    assert.equal(last.type === 'queue' && last.depth, 1000, 'the newest sample is kept');
    const exported = importRun(exportRun(history));
    assert.equal(exported.thinned, true);
    history.dispose();
  });
});

describe('importRun rejects what is not a run file', () => {
  const valid = () => {
    const { model, source } = fakeSource();
    const history = new RunHistory(source);
    model.setRootPid(100, { t: 1000 });
    const data = JSON.parse(exportRun(history));
    history.dispose();
    return data;
  };

  const rejects = (input: unknown, pattern: RegExp) =>
    assert.throws(() => importRun(typeof input === 'string' ? input : JSON.stringify(input)), (e: unknown) => e instanceof RunFileError && pattern.test(e.message));

  it('accepts its own output', () => {
    assert.equal(importRun(valid()).processes.length, 1);
  });
  it('not JSON', () => rejects('{"format": ', /not a JSON file/));
  it('another format', () => rejects({ format: 'something' }, /not an mptree run file/));
  it('a newer version', () => rejects({ ...valid(), version: 2 }, /newer mptree/));
  it('a wrong field type, with its path', () => {
    const data = valid();
    data.processes[0].pid = 'x';
    rejects(data, /^processes\[0\]\.pid: expected a number, found string/);
  });
  it('an unknown state', () => {
    const data = valid();
    data.processes[0].state = 'sleeping';
    rejects(data, /processes\[0\]\.state: expected one of "running", "zombie", "exited"/);
  });
  it('a bad event', () => {
    const data = valid();
    data.events.push({ t: 5, type: 'queue', id: 'q', depth: 'deep' });
    rejects(data, /events\[\d+\]\.depth: expected a number/);
  });
  it('a missing section', () => {
    const data = valid();
    delete data.pools;
    rejects(data, /^pools: expected an array, found missing/);
  });
  it('never evaluates anything: a __proto__ key stays data', () => {
    const text = JSON.stringify(valid()).replace('"format"', '"__proto__":{"polluted":true},"format"');
    const back = importRun(text);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(back.format, 'mptree-run');
  });
});
