// What a row says without hovering: a labelled pid, no file:line at the end (it is in the
// tooltip), twin queues told apart, a short form for every hint kind.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { HINT_KINDS } from '../../src/core/hints';
import { english } from '../../src/core/l10n';
import type { LockInfo, PoolInfo, ProcessInfo, QueueInfo, WaitInfo } from '../../src/core/types';
import { distinctLabel, hintShortText, poolDescription, processDescription, queueDescription } from '../../src/vscode/tree/present';

test('a process row labels its pid', () => {
  const p = { pid: 4242, daemon: false, kind: 'process', instrumented: true, orphaned: false, state: 'running', paused: null } as unknown as ProcessInfo;
  assert.match(processDescription(p), /^pid 4242 · running$/);
});

test('a queue row leaves file:line to the tooltip', () => {
  const q = { depth: 2, maxsize: 20, puts: 5, gets: 3, unfinished: null, site: '/home/u/prog.py:12' } as unknown as QueueInfo;
  assert.equal(queueDescription(q), '2 / 20 · 5 put · 3 got');
});

test('two queues of one kind under one owner get their ids; a lone one keeps its kind', () => {
  const a = { kind: 'Queue', id: 'q100-1' };
  const b = { kind: 'Queue', id: 'q100-2' };
  const c = { kind: 'JoinableQueue', id: 'q100-3' };
  assert.equal(distinctLabel(a, [a, b, c]), 'Queue q100-1');
  assert.equal(distinctLabel(b, [a, b, c]), 'Queue q100-2');
  assert.equal(distinctLabel(c, [a, b, c]), 'JoinableQueue');
});

test('every hint kind has a short form', () => {
  for (const kind of HINT_KINDS) {
    const text = hintShortText(kind);
    assert.ok(typeof text === 'string' && text.length > 0 && text.length <= 40, `${kind}: ${text}`);
  }
});

// What a hung process's row says instead of `running`: its wait or its task, and how long.
const NOW = 1_765_000_100_000;
const running = (fields: Partial<ProcessInfo>) =>
  ({ pid: 4242, name: 'consumer', daemon: false, kind: 'process', instrumented: true, orphaned: false, state: 'running', paused: null, wait: null, task: null, ...fields }) as unknown as ProcessInfo;
const waitOn = (call: string, object: Partial<WaitInfo['object']>, sinceAgo: number): WaitInfo => ({
  pid: 4242, threadId: 1, thread: 'MainThread', call, object: { kind: 'other', id: null, pid: null, address: null, ...object }, timeout: null,
  site: { file: '/w/app.py', line: 12, function: 'consumer' }, since: NOW - sinceAgo, endedAt: null,
});

test('a waiting process says on what and for how long', () => {
  const holder = running({ pid: 4244, name: 'takes-b-then-a' });
  const lock: LockInfo = {
    key: 'r:lock:l1', id: 'l4242-1', kind: 'Lock', ownerPid: 4242, site: null, label: 'lock_a', createdAt: 0,
    holders: [{ pid: 4244, threadId: 9, thread: 'MainThread', site: { file: '/w/app.py', line: 13, function: 'f' }, since: 0, holderDead: false }],
  };
  const view = { lock: (id: string) => (id === lock.id ? lock : undefined), processByPid: (pid: number) => (pid === 4244 ? holder : undefined) };
  assert.equal(processDescription(running({ wait: waitOn('Queue.get', { kind: 'queue', id: 'q4242-1' }, 12_400) }), english, view, NOW), 'pid 4242 · waiting: Queue.get q4242-1 · 12 s');
  assert.equal(
    processDescription(running({ wait: waitOn('Lock.acquire', { kind: 'lock', id: 'l4242-1' }, 3000) }), english, view, NOW),
    'pid 4242 · waiting: Lock lock_a held by takes-b-then-a (app.py:13) · 3.0 s',
  );
  lock.holders[0].holderDead = true;
  assert.equal(
    processDescription(running({ wait: waitOn('Lock.acquire', { kind: 'lock', id: 'l4242-1' }, 3000) }), english, view, NOW),
    'pid 4242 · waiting: Lock lock_a held by takes-b-then-a, which died (app.py:13) · 3.0 s',
  );
  assert.equal(processDescription(running({ wait: waitOn('Process.join', { kind: 'process', pid: 4244 }, 61_000) }), english, view, NOW), 'pid 4242 · waiting: Process.join takes-b-then-a (4244) · 1 min 1 s');
  // Without a view (an old caller) or once it ended, the state as before.
  assert.equal(processDescription(running({ wait: waitOn('Queue.get', { kind: 'queue', id: 'q4242-1' }, 1000) })), 'pid 4242 · running');
  assert.match(processDescription(running({ state: 'exited', exitCode: 0, wait: null, lastWait: waitOn('Queue.get', { kind: 'queue', id: 'q' }, 1) }), english, view, NOW), /exit 0/);
});

test("a pool worker says its task; the pool counts busy and idle workers once tasks are reported", () => {
  const view = { processByPid: () => undefined };
  const worker = running({ pid: 4250, name: 'ForkPoolWorker-2', kind: 'pool-worker', daemon: true, task: { poolId: 'p1', call: 'crunch(7)', since: NOW - 3200 }, tasksDone: 4 });
  assert.equal(processDescription(worker, english, view, NOW), 'pid 4250 · crunch(7) · 3.2 s');
  const idle = running({ pid: 4251, kind: 'pool-worker', tasksDone: 3 });
  const pool = { size: 2, submitted: 9, completed: 7, pending: 2, state: 'running', workers: [4250, 4251] } as unknown as PoolInfo;
  assert.match(poolDescription(pool, 2, [worker, idle]), /^2 workers · 2 alive · 1 busy · 1 idle · 2 pending/);
  // A runtime that reports no tasks: no busy/idle guess.
  assert.doesNotMatch(poolDescription(pool, 2, [running({ kind: 'pool-worker', tasksDone: 0 })]), /busy|idle/);
});
