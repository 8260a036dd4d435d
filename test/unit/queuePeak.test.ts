// A bounded queue's depth never shows above its maxsize. Where the depth is counted (macOS,
// SimpleQueue-like counting; on Linux before the queue's first semaphore reading arrives),
// puts and gets come from different processes in any order: the producer's batch with the put
// into the room a get made can arrive before the consumer's batch with that get. puts − gets
// then read maxsize + 1, which the timeline kept as its peak ("now 20 / 20 · max 21").
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { RunModel } from '../../src/core/model';
import type { RuntimeMessage } from '../../src/core/protocol';

const hello = (pid: number, parentPid: number | null): RuntimeMessage => ({
  v: 1, type: 'hello', token: 't', runId: 'r', pid, ppid: parentPid, parentPid, name: `P${pid}`, daemon: false,
  kind: parentPid === null ? 'python' : 'process', role: null, startMethod: 'fork', target: null, argv: null, python: '3.11', created: null, t: 1000,
} as RuntimeMessage);
const counts = (puts: number, gets: number): RuntimeMessage => ({ v: 1, type: 'queue.counts', counts: [['q100-1', puts, gets, 0]] } as RuntimeMessage);

test('counts out of order never push a bounded queue above maxsize, and the depth stays true', () => {
  const model = new RunModel('r');
  model.setRootPid(100);
  model.apply([hello(100, null), hello(101, 100), hello(102, 100)], [100, 101, 102]);
  model.apply([{ v: 1, type: 'queue.created', id: 'q100-1', kind: 'Queue', ownerPid: 100, maxsize: 20, site: 'prog.py:9', t: 1000 }], [100]);
  const depths: number[] = [];
  model.onDidChange(() => depths.push(model.queues()[0].depth));
  // The producer (101) fills the queue, then puts once more after the consumer (102) got one;
  // the producer's batch with that 21st put arrives first.
  model.apply([counts(20, 0)], [101]);
  model.apply([counts(1, 0)], [101]);
  model.apply([counts(0, 1)], [102]);
  assert.ok(depths.length >= 3, `only ${depths.length} changes`);
  assert.ok(Math.max(...depths) <= 20, `depths shown: ${depths.join(', ')}`);
  const q = model.queues()[0];
  assert.equal(q.depth, 20, 'full again once both batches are in');
  assert.deepEqual([q.puts, q.gets], [21, 1]);
});

test('an unbounded queue is not clamped', () => {
  const model = new RunModel('r');
  model.setRootPid(100);
  model.apply([hello(100, null)], [100]);
  model.apply([{ v: 1, type: 'queue.created', id: 'q100-1', kind: 'Queue', ownerPid: 100, maxsize: 0, site: null, t: 1000 }], [100]);
  model.apply([counts(500, 0)], [100]);
  assert.equal(model.queues()[0].depth, 500);
});
