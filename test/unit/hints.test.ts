// Hints: each classic mistake made by a real program (test/fixtures/hints/<kind>_bad.py) is
// recognised, and the same work done right (<kind>_good.py) is not flagged. The programs run
// through RunSession as the CLI and VS Code run them; thresholds are lowered so that each
// program takes a second or two. Below them, the rules on hand-made models for the cases a
// program cannot show reliably (the runtime's future `codeDoneAt`, per-process queue counts).
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { computeHints, exitPhaseStart, HintTracker, snapshotHints, type Hint, type HintKind, type HintOptions } from '../../src/core/hints';
import { StaticModel } from '../../src/core/history';
import { RunSession } from '../../src/core/session';
import type { PoolInfo, ProcessInfo, QueueInfo, RunInfo } from '../../src/core/types';

const root = path.resolve(__dirname, '..', '..', '..');
const runtimeDir = path.join(root, 'src', 'runtime');
const fixtures = path.join(root, 'test', 'fixtures', 'hints');
const posix = process.platform !== 'win32';

/** Fast thresholds for second-long programs. */
const FAST: Partial<HintOptions> = { zombieMs: 500, queueFullMs: 500, queueEmptyMs: 500, exitBlockMs: 600, bootstrapMs: 3000 };

interface Outcome {
  /** Every hint seen at any moment of the run, by kind. */
  seen: Map<HintKind, Hint>;
  /** Hints of the ended run. */
  final: Hint[];
  stderr: string;
  describe: () => string;
}

async function runProgram(file: string): Promise<Outcome> {
  const session = await RunSession.create({ target: { script: path.join(fixtures, file), args: [] }, cwd: root, runtimeDir, osScanIntervalMs: 300 });
  const tracker = new HintTracker();
  const seen = new Map<HintKind, Hint>();
  const check = () => {
    for (const hint of computeHints(session.model, session.info, Date.now(), tracker, FAST)) if (!seen.has(hint.kind)) seen.set(hint.kind, hint);
  };
  const sub = session.onDidChange(check);
  const timer = setInterval(check, 100);
  const child = session.start('pipe');
  let stderr = '';
  child.stdout?.resume();
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await session.ended;
    check();
  } finally {
    clearInterval(timer);
    sub.dispose();
    // Each test disposes its own session (tests of this suite run two at a time); a failed
    // run leaves nothing running behind it.
    if (!session.isEnded) session.dispose();
  }
  const final = computeHints(session.model, session.info, Date.now(), tracker, FAST);
  const describe = () =>
    `hints seen: ${[...seen.values()].map((h) => `${h.kind}: ${h.message}`).join('\n  ') || 'none'}\n` +
    `processes: ${session.model.walk().map((p) => `${p.name}[${p.pid}] ${p.kind} ${p.state} exit=${p.exitCode} joined=${p.joined} ${p.startMethod}`).join('; ')}\n` +
    `stderr: ${stderr.slice(-2000)}`;
  session.dispose();
  return { seen, final, stderr, describe };
}

describe('hints from real programs', { skip: !posix && 'POSIX processes', concurrency: 2 }, () => {
  const cases: Array<{ kind: HintKind; final: boolean; check?: (h: Hint, o: Outcome) => void }> = [
    { kind: 'unjoined-child', final: true, check: (h) => assert.match(h.message, /'forgotten'.*zombie/) },
    { kind: 'queue-full-blocked', final: false, check: (h) => assert.match(h.message, /full \(2\/2\)/) },
    { kind: 'queue-empty-no-producers', final: false, check: (h) => assert.match(h.message, /'consumer'/) },
    {
      kind: 'non-daemon-blocks-exit',
      final: true,
      check: (h) => {
        assert.match(h.message, /'straggler'/);
        assert.match(h.site ?? '', /non_daemon_blocks_exit_bad\.py:12$/, 'points at the start() line');
      },
    },
    { kind: 'daemon-killed-with-parent', final: true, check: (h) => assert.match(h.message, /'log-writer'/) },
    {
      kind: 'pool-not-closed',
      final: true,
      check: (h) => assert.match(h.site ?? '', /pool_not_closed_bad\.py:10$/),
    },
    {
      kind: 'missing-main-guard',
      final: true,
      check: (h) => {
        assert.match(h.message, /'spawn'/);
        assert.match(h.site ?? '', /missing_main_guard_bad\.py:11$/, 'points at the line the child re-ran');
      },
    },
  ];

  for (const c of cases) {
    const base = c.kind.replace(/-/g, '_');
    it(`${c.kind}: shown for ${base}_bad.py`, async () => {
      const o = await runProgram(`${base}_bad.py`);
      const hint = o.seen.get(c.kind);
      assert.ok(hint, `no ${c.kind} hint\n${o.describe()}`);
      assert.ok(hint.message.length > 40);
      c.check?.(hint, o);
      if (c.final) assert.ok(o.final.some((h) => h.kind === c.kind), `${c.kind} gone once the run ended\n${o.describe()}`);
      // The snapshot form carries kind, pid and message.
      const [snap] = snapshotHints([hint]);
      assert.equal(snap.kind, c.kind);
      assert.equal(typeof snap.message, 'string');
    });
    it(`${c.kind}: not shown for ${base}_good.py`, async () => {
      const o = await runProgram(`${base}_good.py`);
      assert.ok(!o.seen.has(c.kind), `unexpected ${c.kind} hint\n${o.describe()}`);
    });
  }

  it('queue-empty-no-producers: a producer that exits long after its last put is known by its counts', async () => {
    const o = await runProgram('queue_empty_no_producers_lingering_bad.py');
    const hint = o.seen.get('queue-empty-no-producers');
    assert.ok(hint, `no hint\n${o.describe()}`);
    assert.match(hint.message, /producer 'producer' \(pid \d+\) has exited, while 'consumer'/);
  });
});

// ---------------------------------------------------------------------------------------------

let seq = 0;
function proc(fields: Partial<ProcessInfo> & { pid: number }): ProcessInfo {
  return {
    key: `r:${fields.pid}:${++seq}`,
    runId: 'r',
    ppid: null,
    parentPid: null,
    parentKey: null,
    name: `p${fields.pid}`,
    daemon: false,
    kind: 'process',
    role: null,
    startMethod: 'fork',
    target: 'work',
    command: null,
    state: 'running',
    exitCode: null,
    signal: null,
    joined: false,
    reaped: false,
    orphaned: false,
    instrumented: true,
    poolId: null,
    site: null,
    codeDoneAt: null,
    createdAt: null,
    startedAt: 1000,
    exitedAt: null,
    paused: null,
    ...fields,
  } as ProcessInfo;
}

function queue(fields: Partial<QueueInfo> & { id: string; ownerPid: number }): QueueInfo {
  return { key: `r:queue:${fields.id}`, runId: 'r', kind: 'Queue', maxsize: 0, puts: 0, gets: 0, tasksDone: 0, depth: 0, unfinished: null, site: '/w/prog.py:7', createdAt: 1000, ...fields };
}

function pool(fields: Partial<PoolInfo> & { id: string; ownerPid: number }): PoolInfo {
  return { key: `r:pool:${fields.id}`, runId: 'r', kind: 'Pool', size: 2, workers: [], submitted: 0, completed: 0, pending: 0, state: 'running', site: '/w/prog.py:9', createdAt: 1000, ...fields };
}

const liveRun: Pick<RunInfo, 'state' | 'endedAt' | 'script'> = { state: 'running', endedAt: null, script: '/w/prog.py' };
const kinds = (hints: Hint[]) => hints.map((h) => h.kind).sort();

describe('hint rules on hand-made models', () => {
  it('unjoined-child: a zombie only after the grace period, and never for pool workers', () => {
    const main = proc({ pid: 1, kind: 'main', startMethod: null });
    const child = proc({ pid: 2, parentPid: 1, parentKey: main.key, state: 'zombie', exitCode: 0, exitedAt: 5000 });
    const worker = proc({ pid: 3, parentPid: 1, parentKey: main.key, kind: 'pool-worker', state: 'zombie', exitCode: 0, exitedAt: 1000 });
    const model = new StaticModel([main, child, worker], [], []);
    assert.deepEqual(kinds(computeHints(model, liveRun, 6000)), []);
    const hints = computeHints(model, liveRun, 7500);
    assert.deepEqual(kinds(hints), ['unjoined-child']);
    assert.equal(hints[0].pid, 2);
    assert.equal(hints[0].processKey, child.key);
  });

  it('unjoined-child after the zombie was collected: its words name who collected it, "never" only once the run ended', () => {
    const ended: Pick<RunInfo, 'state' | 'endedAt' | 'script'> = { state: 'finished', endedAt: 20_000, script: '/w/prog.py' };
    const words: Record<string, RegExp> = {
      start: /until a later start\(\) in 'p1' \(pid 1\) collected it; 'p1' \(pid 1\) (has not|never) joined it/,
      active_children: /until active_children\(\) in 'p1' \(pid 1\) collected it/,
      poll: /until is_alive\(\) or exitcode in 'p1' \(pid 1\) collected it/,
      exit: /until the exit handler of 'p1' \(pid 1\) collected it at its end; 'p1' \(pid 1\) never joined it/,
    };
    for (const [by, pattern] of Object.entries(words)) {
      const main = proc({ pid: 1, kind: 'main', startMethod: null });
      const child = proc({ pid: 2, parentPid: 1, parentKey: main.key, state: 'zombie', exitCode: 0, exitedAt: 5000 });
      const model = new StaticModel([main, child], [], []);
      const tracker = new HintTracker();
      computeHints(model, liveRun, 5000, tracker);
      computeHints(model, liveRun, 8000, tracker);
      Object.assign(child, { state: 'exited', reaped: true, collectedBy: by });
      const [live] = computeHints(model, liveRun, 8100, tracker);
      const [after] = computeHints(model, ended, 20_000, tracker);
      for (const h of [live, after]) {
        assert.equal(h?.kind, 'unjoined-child', by);
        assert.match(h.message, pattern);
      }
      if (by !== 'exit') assert.match(live.message, /has not joined it/, 'the program may still join it while the run lasts');
      assert.match(after.message, /never joined it/);
    }
  });

  it('queue-full-blocked: needs the queue full for the whole threshold, as seen by the tracker', () => {
    const main = proc({ pid: 1, kind: 'main' });
    const q = queue({ id: 'q1-1', ownerPid: 1, maxsize: 3, puts: 3, depth: 3 });
    const model = new StaticModel([main], [q], []);
    const tracker = new HintTracker();
    assert.deepEqual(kinds(computeHints(model, liveRun, 10_000, tracker)), []);
    assert.deepEqual(kinds(computeHints(model, liveRun, 12_000, tracker)), []);
    const [hint] = computeHints(model, liveRun, 13_500, tracker);
    assert.equal(hint.kind, 'queue-full-blocked');
    assert.equal(hint.site, '/w/prog.py:7');
    assert.match(hint.message, /3\/3\) for 3\.5 s/);
    // Drained: gone at once.
    q.gets = 1;
    q.depth = 2;
    assert.deepEqual(kinds(computeHints(model, liveRun, 14_000, tracker)), []);
  });

  it('the tracker observes one change at a time as it would the whole model, without listing the model', () => {
    const main = proc({ pid: 1, kind: 'main' });
    const child = proc({ pid: 2, parentPid: 1, parentKey: main.key, name: 'late' });
    const q = queue({ id: 'q1-1', ownerPid: 1, maxsize: 2, puts: 2, depth: 2 });
    const model = new StaticModel([main, child], [q], []);
    const whole = new HintTracker();
    const incremental = new HintTracker();
    // A view that only answers lookups: observeChange must not walk every process.
    const lookupsOnly = { ...model, get: (key: string) => model.get(key), queues: () => model.queues(), processes: (): ProcessInfo[] => assert.fail('listed every process') };
    const step = (now: number, change: { processes: string[]; queues: string[] }) => {
      whole.observe(model, now);
      incremental.observeChange(lookupsOnly as unknown as StaticModel, change, now);
    };
    step(1000, { processes: [main.key, child.key], queues: [q.key] });
    child.state = 'zombie';
    child.exitedAt = 1500;
    step(1500, { processes: [child.key], queues: [] });
    child.state = 'exited';
    q.gets = 1;
    q.depth = 1;
    step(4000, { processes: [child.key], queues: [q.key] });
    for (const t of [whole, incremental]) {
      assert.equal(t.zombieMs(child, 9000), 2500, 'a zombie from 1.5 s, collected at 4 s');
      assert.deepEqual(t.queue(q.key), { puts: 2, gets: 1, lastPutAt: 1000, lastActivityAt: 4000, fullSince: null });
    }
  });

  it('queue-empty-no-producers: precise with per-process counts', () => {
    const main = proc({ pid: 1, kind: 'main' });
    const producer = proc({ pid: 2, parentPid: 1, parentKey: main.key, name: 'producer', state: 'exited', exitCode: 0, exitedAt: 2000, joined: true, reaped: true });
    const consumer = proc({ pid: 3, parentPid: 1, parentKey: main.key, name: 'consumer' });
    const q = Object.assign(queue({ id: 'q1-1', ownerPid: 1, puts: 5, gets: 5 }), { putters: [2], getters: [3] });
    const model = new StaticModel([main, producer, consumer], [q], []);
    const tracker = new HintTracker();
    computeHints(model, liveRun, 2000, tracker);
    const hints = computeHints(model, liveRun, 5500, tracker);
    assert.deepEqual(kinds(hints), ['queue-empty-no-producers']);
    assert.equal(hints[0].pid, 3);
    // A producer still running: no hint.
    producer.state = 'running';
    assert.deepEqual(kinds(computeHints(model, liveRun, 9000, tracker)), []);
  });

  it('non-daemon-blocks-exit and daemon-killed-with-parent from a reported end of code', () => {
    const main = Object.assign(proc({ pid: 1, kind: 'main' }), { codeDoneAt: 3000 });
    const worker = proc({ pid: 2, parentPid: 1, parentKey: main.key, name: 'straggler', startedAt: 1000 });
    const model = new StaticModel([main, worker], [], []);
    assert.equal(exitPhaseStart(model, main), 3000);
    assert.deepEqual(kinds(computeHints(model, liveRun, 4000)), []);
    const [hint] = computeHints(model, liveRun, 5500);
    assert.equal(hint.kind, 'non-daemon-blocks-exit');
    assert.equal(hint.severity, 'warning');
    assert.match(hint.message, /cannot exit/);
  });

  it('exit phase inferred from daemons terminated together; not from a daemon terminated mid-run', () => {
    const main = proc({ pid: 1, kind: 'main' });
    const d = proc({ pid: 2, parentPid: 1, parentKey: main.key, daemon: true, state: 'exited', exitCode: -15, signal: 'SIGTERM', exitedAt: 3000 });
    const later = proc({ pid: 3, parentPid: 1, parentKey: main.key, startedAt: 4000 });
    assert.equal(exitPhaseStart(new StaticModel([main, d, later], [], []), main), null, 'main started a child after: its code was not over');
    const model = new StaticModel([main, d], [], []);
    assert.equal(exitPhaseStart(model, main), 3000);
    assert.deepEqual(kinds(computeHints(model, liveRun, 3100)), ['daemon-killed-with-parent']);
  });

  it('pool-not-closed: only once the owner is gone or the run ended', () => {
    const main = proc({ pid: 1, kind: 'main' });
    const p = pool({ id: 'p1-1', ownerPid: 1 });
    const model = new StaticModel([main], [], [p]);
    assert.deepEqual(kinds(computeHints(model, liveRun, 2000)), []);
    main.state = 'exited';
    assert.deepEqual(kinds(computeHints(model, liveRun, 2000)), ['pool-not-closed']);
    p.state = 'closed';
    assert.deepEqual(kinds(computeHints(model, liveRun, 2000)), []);
  });

  it('pool-not-closed says what became of the workers, as the tree shows it', () => {
    const main = proc({ pid: 1, kind: 'main', state: 'exited' });
    const w1 = proc({ pid: 2, parentPid: 1, kind: 'pool-worker', state: 'exited', exitCode: 0 });
    const w2 = proc({ pid: 3, parentPid: 1, kind: 'pool-worker', state: 'exited', exitCode: 0 });
    const p = pool({ id: 'p1-1', ownerPid: 1, workers: [2, 3] });
    const message = () => computeHints(new StaticModel([main, w1, w2], [], [p]), liveRun, 2000)[0].message;
    assert.match(message(), /its 2 workers exited 0/);
    assert.doesNotMatch(message(), /killed/);
    Object.assign(w1, { exitCode: -15, signal: 'SIGTERM' });
    Object.assign(w2, { exitCode: -15, signal: 'SIGTERM' });
    assert.match(message(), /its 2 workers were killed by SIGTERM at exit/);
    Object.assign(w2, { exitCode: 0, signal: null });
    assert.match(message(), /of its 2 workers, 1 killed by SIGTERM, 1 exited 0/);
  });

  it('missing-main-guard: not for fork children, nor for a spawn child that ran a while', () => {
    const main = proc({ pid: 1, kind: 'main' });
    const forked = proc({ pid: 2, parentPid: 1, parentKey: main.key, state: 'exited', exitCode: 1, exitedAt: 1100 });
    const slow = proc({ pid: 3, parentPid: 1, parentKey: main.key, startMethod: 'spawn', state: 'exited', exitCode: 1, startedAt: 1000, exitedAt: 9000 });
    assert.deepEqual(kinds(computeHints(new StaticModel([main, forked, slow], [], []), liveRun, 9500)), []);
    const quick = proc({ pid: 4, parentPid: 1, parentKey: main.key, startMethod: 'forkserver', state: 'exited', exitCode: 1, startedAt: 1000, exitedAt: 1300 });
    const [hint] = computeHints(new StaticModel([main, quick], [], []), liveRun, 9500);
    assert.equal(hint.kind, 'missing-main-guard');
    assert.match(hint.message, /forkserver/);
  });

  it('a rule that throws costs only its own hints', () => {
    const main = proc({ pid: 1, kind: 'main', state: 'exited' });
    const model = new StaticModel([main], [], [pool({ id: 'p', ownerPid: 1 })]);
    const broken = Object.assign(Object.create(model), { queues: () => { throw new Error('boom'); } });
    assert.deepEqual(kinds(computeHints(broken, liveRun, 2000)), ['pool-not-closed']);
  });
});
