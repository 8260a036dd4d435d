// What a row says without hovering: a labelled pid, no file:line at the end (it is in the
// tooltip), twin queues told apart, a short form for every hint kind.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { HINT_KINDS } from '../../src/core/hints';
import type { ProcessInfo, QueueInfo } from '../../src/core/types';
import { distinctLabel, hintShortText, processDescription, queueDescription } from '../../src/vscode/tree/present';

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
