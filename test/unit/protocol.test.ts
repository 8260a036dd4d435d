import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineDecoder, PROTOCOL_VERSION, parseMessage } from '../../src/core/protocol';

/** Deterministic PRNG so a failing fuzz case can be replayed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

describe('LineDecoder', () => {
  it('returns complete lines and keeps the partial rest', () => {
    const d = new LineDecoder();
    assert.deepEqual(d.push(Buffer.from('a\nbb\ncc')), ['a', 'bb']);
    assert.deepEqual(d.push(Buffer.from('c\n')), ['ccc']);
    assert.deepEqual(d.push(Buffer.from('\n')), ['']);
  });

  it('joins a line split over many chunks, one byte at a time', () => {
    const d = new LineDecoder();
    const text = '{"v":1,"type":"hello"}\n';
    const out: string[] = [];
    for (const byte of Buffer.from(text)) out.push(...d.push(Buffer.from([byte])));
    assert.deepEqual(out, ['{"v":1,"type":"hello"}']);
  });

  it('reassembles multi-byte UTF-8 split across chunks', () => {
    const text = 'naïve 进程 🐍\n';
    const bytes = Buffer.from(text, 'utf8');
    // Every split point, including ones inside the 2-, 3- and 4-byte sequences.
    for (let cut = 1; cut < bytes.length; cut++) {
      const d = new LineDecoder();
      const lines = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))];
      assert.deepEqual(lines, ['naïve 进程 🐍'], `split at byte ${cut}`);
    }
  });

  it('does not alias the caller’s buffer for a held partial line', () => {
    const d = new LineDecoder();
    const chunk = Buffer.from('abc');
    d.push(chunk);
    chunk.fill(0x78);
    assert.deepEqual(d.push(Buffer.from('\n')), ['abc']);
  });

  it('drops an oversized line with one error and keeps the next line', () => {
    const errors: number[] = [];
    const d = new LineDecoder({ maxLineBytes: 100, onOversized: (n) => errors.push(n) });
    const out: string[] = [];
    // 1000 bytes in 10 chunks, then a newline and a good line.
    for (let i = 0; i < 10; i++) out.push(...d.push(Buffer.alloc(100, 0x61)));
    assert.ok(d.bufferedBytes <= 100, 'never holds more than the limit');
    out.push(...d.push(Buffer.from('\nok\n')));
    assert.deepEqual(out, ['ok']);
    assert.deepEqual(errors, [1000]);
  });

  it('accepts a line of exactly the limit and rejects one byte more', () => {
    const errors: number[] = [];
    const d = new LineDecoder({ maxLineBytes: 8, onOversized: (n) => errors.push(n) });
    assert.deepEqual(d.push(Buffer.from('12345678\n123456789\nx\n')), ['12345678', 'x']);
    assert.deepEqual(errors, [9]);
  });

  it('reports each oversized line separately', () => {
    let errors = 0;
    const d = new LineDecoder({ maxLineBytes: 4, onOversized: () => errors++ });
    assert.deepEqual(d.push(Buffer.from('aaaaaa\nbbbbbbb\ncc\n')), ['cc']);
    assert.equal(errors, 2);
  });

  it('strips a trailing CR', () => {
    assert.deepEqual(new LineDecoder().push(Buffer.from('a\r\nb\n')), ['a', 'b']);
  });

  it('fuzz: random bytes never throw and memory stays bounded', () => {
    const random = prng(42);
    const limit = 4096;
    let oversized = 0;
    const d = new LineDecoder({ maxLineBytes: limit, onOversized: () => oversized++ });
    let newlines = 0;
    let lineCount = 0;
    for (let i = 0; i < 2000; i++) {
      const size = Math.floor(random() * 3000);
      const chunk = Buffer.alloc(size);
      // Newlines are rare so that long lines (and oversized ones) happen.
      for (let j = 0; j < size; j++) {
        const byte = Math.floor(random() * 256);
        chunk[j] = random() < 0.0002 ? 0x0a : byte === 0x0a ? 0x0b : byte;
      }
      newlines += chunk.filter((b) => b === 0x0a).length;
      const lines = d.push(chunk);
      lineCount += lines.length;
      for (const line of lines) {
        assert.ok(Buffer.byteLength(line) <= limit * 3, 'decoded line within bound');
        // parseMessage must cope with whatever the bytes decode to.
        assert.equal(parseMessage(line).ok, false);
      }
      assert.ok(d.bufferedBytes <= limit);
    }
    assert.ok(oversized > 0, 'the fuzz produced oversized lines');
    assert.equal(lineCount + oversized, newlines, 'every newline ends exactly one line or one dropped line');
  });
});

describe('parseMessage', () => {
  const hello = {
    v: 1,
    type: 'hello',
    token: 'ab'.repeat(16),
    runId: 'r1',
    pid: 4242,
    ppid: 4200,
    parentPid: 4200,
    name: 'Process-1',
    daemon: false,
    kind: 'process',
    role: null,
    startMethod: 'spawn',
    target: 'worker',
    argv: ['/usr/bin/python3', '-c', 'x'],
    python: '3.11.7',
    created: 1763800000000.5,
    t: 1763800000010.2,
  };

  it('accepts every message of the protocol document', () => {
    const lines = [
      hello,
      { v: 1, type: 'process.started', pid: 4243, parentPid: 4242, name: 'Process-1', daemon: true, kind: 'process', role: null, startMethod: 'fork', target: 'talk', poolId: null, t: 1 },
      { v: 1, type: 'process.exited', pid: 4243, exitCode: -9, t: 1 },
      { v: 1, type: 'process.exiting', pid: 4243, exitCode: 3, t: 1 },
      { v: 1, type: 'process.reaped', pid: 4243, joined: true, t: 1 },
      { v: 1, type: 'queue.created', id: 'q4242-1', kind: 'Queue', ownerPid: 4242, maxsize: 10, site: '/home/u/prog.py:12', t: 1 },
      { v: 1, type: 'queue.counts', counts: [['q4242-1', 120, 118, 0]], t: 1 },
      { v: 1, type: 'queue.depth', depths: [['q4242-1', 2]], t: 1 },
      { v: 1, type: 'pool.created', id: 'p4242-1', kind: 'Pool', ownerPid: 4242, size: 4, site: '/home/u/prog.py:30', t: 1 },
      { v: 1, type: 'pool.workers', id: 'p4242-1', pids: [4250, 4251], t: 1 },
      { v: 1, type: 'pool.counts', counts: [['p4242-1', 20000, 19876]], t: 1 },
      { v: 1, type: 'pool.state', id: 'p4242-1', state: 'closed', t: 1 },
      { v: 1, type: 'control.result', id: 7, ok: true, exitCode: 0, t: 1 },
      { v: 1, type: 'control.result', id: 8, ok: false, error: 'still running after 5 s', timedOut: true, t: 1 },
      // The messages of waits, lock holders, workers' tasks and stacks.
      { v: 1, type: 'lock.created', id: 'l4242-1', kind: 'Lock', ownerPid: 4242, site: { file: '/w/app.py', line: 5, function: '<module>' }, label: 'lock_a', t: 1 },
      { v: 1, type: 'wait.begin', pid: 4243, threadId: 139871, thread: 'MainThread', call: 'Queue.get', object: { kind: 'queue', id: 'q4242-1' }, timeout: null, site: { file: '/w/app.py', line: 12, function: 'consumer' }, since: 1765000000123, threads: 1, t: 1 },
      { v: 1, type: 'wait.begin', pid: 4242, threadId: 1, call: 'Process.join', object: { kind: 'process', pid: 4243 }, timeout: 2.5, site: null, since: 1 },
      { v: 1, type: 'wait.begin', pid: 4242, threadId: 1, call: 'Manager.call', object: { kind: 'manager', address: '/tmp/pymp-x/listener' }, since: 1 },
      { v: 1, type: 'wait.end', pid: 4243, threadId: 139871, t: 1 },
      { v: 1, type: 'lock.held', id: 'l4242-1', pid: 4244, threadId: 139871, thread: 'MainThread', site: { file: '/w/app.py', line: 13, function: 'takes_a_then_b' }, since: 1, t: 1 },
      { v: 1, type: 'lock.released', id: 'l4242-1', pid: 4244, threadId: 139871, t: 1 },
      { v: 1, type: 'task.begin', pid: 4250, poolId: 'p4242-1', call: 'crunch(7)', since: 1, t: 1 },
      { v: 1, type: 'task.end', pid: 4250, poolId: 'p4242-1', t: 1 },
      { v: 1, type: 'worker.counts', counts: [['p4242-1', 4250, 12, 3.25], ['p4242-1', 4251, 0, null]], t: 1 },
      { v: 1, type: 'stacks', id: 12, pid: 4243, threads: [{ threadId: 139871, name: 'MainThread', daemon: false, runtime: false, frames: [{ file: '/w/app.py', line: 12, function: 'consumer' }] }], t: 1 },
    ];
    for (const value of lines) {
      const result = parseMessage(JSON.stringify(value));
      assert.ok(result.ok, `${value.type}: ${!result.ok && result.reason}`);
      assert.equal(result.message.type, value.type);
      assert.equal(result.message.v, PROTOCOL_VERSION);
    }
  });

  it('copies only known fields and fills optional ones', () => {
    const result = parseMessage(JSON.stringify({ v: 1, type: 'process.exited', pid: 5, exitCode: 0, extra: 'x', __proto__: { polluted: true } }), () => 99);
    assert.ok(result.ok);
    assert.deepEqual(result.message, { v: 1, type: 'process.exited', pid: 5, exitCode: 0, t: 99 });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('fills defaults for an optional hello field that is missing', () => {
    const { name: _name, argv: _argv, created: _created, ...minimal } = hello;
    const result = parseMessage(JSON.stringify(minimal));
    assert.ok(result.ok);
    assert.equal(result.message.type === 'hello' && result.message.name, '');
    assert.equal(result.message.type === 'hello' && result.message.argv, null);
  });

  it('rejects wrong types field by field', () => {
    const cases: Array<[object, string]> = [
      [{ ...hello, pid: '4242' }, 'pid'],
      [{ ...hello, pid: 1.5 }, 'pid'],
      [{ ...hello, pid: -3 }, 'pid'],
      [{ ...hello, token: 5 }, 'token'],
      [{ ...hello, daemon: 'yes' }, 'daemon'],
      [{ ...hello, kind: 'thread' }, 'kind'],
      [{ ...hello, role: 'boss' }, 'role'],
      [{ ...hello, argv: ['a', 1] }, 'argv'],
      [{ v: 1, type: 'process.exited', pid: 5, exitCode: null }, 'exitCode'],
      [{ v: 1, type: 'process.exited', pid: 5 }, 'exitCode'],
      [{ v: 1, type: 'queue.created', id: 'q', kind: 'Deque', ownerPid: 1 }, 'kind'],
      [{ v: 1, type: 'queue.counts', counts: [['q', 1, 2]] }, 'counts'],
      [{ v: 1, type: 'queue.counts', counts: [['q', 1, -2, 0]] }, 'counts'],
      [{ v: 1, type: 'queue.counts', counts: 'q' }, 'counts'],
      [{ v: 1, type: 'queue.depth', depths: [['q', -1]] }, 'depths'],
      [{ v: 1, type: 'queue.depth' }, 'depths'],
      [{ v: 1, type: 'pool.counts', counts: [[1, 1, 2]] }, 'counts'],
      [{ v: 1, type: 'pool.workers', id: 'p', pids: [1, 'x'] }, 'pids'],
      [{ v: 1, type: 'pool.state', id: 'p', state: 'paused' }, 'state'],
      [{ v: 1, type: 'control.result', id: 'x', ok: true }, 'id'],
      [{ v: 1, type: 'process.reaped', pid: 5, t: 'now' }, 't'],
      [{ v: 1, type: 'lock.created', id: 'l', kind: 'Mutex', ownerPid: 1 }, 'kind'],
      [{ v: 1, type: 'lock.created', id: 'l', kind: 'Lock', ownerPid: 1, site: '/w/app.py:5' }, 'site'],
      [{ v: 1, type: 'wait.begin', pid: 1, threadId: 1, call: 'Queue.get', object: { kind: 'queue', id: 7 }, since: 1 }, 'object'],
      [{ v: 1, type: 'wait.begin', pid: 1, threadId: 1, call: 'Process.join', object: { kind: 'process', pid: 0 }, since: 1 }, 'object'],
      [{ v: 1, type: 'wait.begin', pid: 1, threadId: 1, call: 'Queue.get', object: null, since: 1 }, 'object'],
      [{ v: 1, type: 'wait.begin', pid: 1, threadId: 1, call: 'Queue.get', object: { kind: 'queue', id: 'q' } }, 'since'],
      [{ v: 1, type: 'wait.begin', pid: 1, threadId: 1, call: 'Queue.get', object: { kind: 'queue', id: 'q' }, since: 1, timeout: -1 }, 'timeout'],
      [{ v: 1, type: 'wait.begin', pid: 1, threadId: 1, call: 'Queue.get', object: { kind: 'queue', id: 'q' }, since: 1, threads: 0 }, 'threads'],
      [{ v: 1, type: 'wait.begin', pid: 1, threadId: 1, call: 'x'.repeat(5000), object: { kind: 'queue', id: 'q' }, since: 1 }, 'call'],
      [{ v: 1, type: 'wait.begin', pid: 1, threadId: 1, call: 'Queue.get', object: { kind: 'queue', id: 'q' }, since: 1, site: { file: 'a.py', line: 0 } }, 'site'],
      [{ v: 1, type: 'wait.end', pid: 1, threadId: 1.5 }, 'threadId'],
      [{ v: 1, type: 'lock.held', id: 'l', pid: 1, threadId: 1 }, 'since'],
      [{ v: 1, type: 'task.begin', pid: 1, poolId: 'p', since: 1 }, 'call'],
      [{ v: 1, type: 'worker.counts', counts: [['p', 1, -1, null]] }, 'counts'],
      [{ v: 1, type: 'worker.counts', counts: [['p', 1, 1, 'x']] }, 'counts'],
      [{ v: 1, type: 'stacks', id: 1, pid: 1, threads: [{ threadId: 1, name: 'M', frames: [{ file: 'a.py', line: 'x', function: 'f' }] }] }, 'threads'],
    ];
    for (const [value, field] of cases) {
      const result = parseMessage(JSON.stringify(value));
      assert.equal(result.ok, false, JSON.stringify(value));
      assert.ok(!result.ok && result.kind === 'field' && result.reason.includes(`"${field}"`), `${JSON.stringify(value)} → ${!result.ok && result.reason}`);
    }
  });

  it('classifies non-messages', () => {
    const kindOf = (line: string) => {
      const r = parseMessage(line);
      return r.ok ? 'ok' : r.kind;
    };
    assert.equal(kindOf('{"v":1,"type":"hello"'), 'json');
    assert.equal(kindOf('[1,2]'), 'not-object');
    assert.equal(kindOf('null'), 'not-object');
    assert.equal(kindOf('"hello"'), 'not-object');
    assert.equal(kindOf('{"v":2,"type":"hello"}'), 'version');
    assert.equal(kindOf('{"type":"hello"}'), 'version');
    assert.equal(kindOf('{"v":1,"type":"process.teleported","pid":1}'), 'unknown-type');
    assert.equal(kindOf('{"v":1}'), 'unknown-type');
    assert.equal(kindOf('{"v":1,"type":"toString"}'), 'unknown-type');
    assert.equal(kindOf('{"v":1,"type":"__proto__"}'), 'unknown-type');
  });

  it('copies nested sites, wait objects and stacks: nothing kept aliases the parsed value, unknown keys dropped', () => {
    const result = parseMessage(
      JSON.stringify({ v: 1, type: 'wait.begin', pid: 2, threadId: 3, call: 'Lock.acquire', object: { kind: 'lock', id: 'l1-1', evil: 1 }, site: { file: '/a.py', line: 4, extra: 'x' }, since: 5, t: 6 }),
    );
    assert.ok(result.ok && result.message.type === 'wait.begin');
    const m = result.message;
    assert.deepEqual(m.object, { kind: 'lock', id: 'l1-1', pid: null, address: null });
    assert.deepEqual(m.site, { file: '/a.py', line: 4, function: null });
    assert.equal(m.timeout, null, 'a missing timeout is none');
    assert.equal(m.threads, null);
    assert.equal(m.thread, '');
    const stacks = parseMessage(JSON.stringify({ v: 1, type: 'stacks', id: 1, pid: 2, threads: [{ threadId: 3, name: 'M', frames: [{ file: 'a.py', line: 1, function: 'f', locals: {} }], x: 1 }] }));
    assert.ok(stacks.ok && stacks.message.type === 'stacks');
    assert.deepEqual(stacks.message.threads, [{ threadId: 3, name: 'M', daemon: false, runtime: false, frames: [{ file: 'a.py', line: 1, function: 'f' }], omitted: 0 }]);
  });

  it('never evaluates: code-like strings stay strings', () => {
    const result = parseMessage(JSON.stringify({ ...hello, name: '${process.exit(1)}', target: "__import__('os').system('x')" }));
    assert.ok(result.ok && result.message.type === 'hello');
    assert.equal(result.message.type === 'hello' && result.message.name, '${process.exit(1)}');
  });
});
