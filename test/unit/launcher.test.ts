import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { buildRunEnv, launchArgs } from '../../src/core/launcher';
import { RunModel } from '../../src/core/model';
import { renderTree, stripAnsi } from '../../src/core/renderTree';
import { Emitter } from '../../src/core/event';
import type { RunInfo } from '../../src/core/types';

const connection = { runtimeDir: '/opt/mptree/runtime', address: '/tmp/x/mptree.sock', token: 'f'.repeat(32), runId: 'run1' };

describe('launcher', () => {
  it('prepends the runtime to the user’s PYTHONPATH and sets the MPTREE variables', () => {
    const env = buildRunEnv({ PATH: '/bin', PYTHONPATH: '/home/u/lib', HOME: '/home/u', EMPTY: undefined }, connection);
    assert.equal(env.PYTHONPATH, `/opt/mptree/runtime${path.delimiter}/home/u/lib`);
    assert.equal(env.MPTREE_SOCKET, '/tmp/x/mptree.sock');
    assert.equal(env.MPTREE_TOKEN, 'f'.repeat(32));
    assert.equal(env.MPTREE_RUN_ID, 'run1');
    assert.equal(env.MPTREE_WHEN_VIEWER_GONE, 'stop', 'the default');
    assert.equal(buildRunEnv({}, { ...connection, whenViewerGone: 'keep' }).MPTREE_WHEN_VIEWER_GONE, 'keep');
    assert.equal(env.PATH, '/bin');
    assert.equal(env.HOME, '/home/u');
    assert.equal('EMPTY' in env, false);
  });

  it('changes nothing else (no PYTHONUNBUFFERED), and keeps the user’s if set', () => {
    const base = { PATH: '/bin' };
    const env = buildRunEnv(base, connection);
    assert.deepEqual(Object.keys(env).sort(), ['MPTREE_RUN_ID', 'MPTREE_SOCKET', 'MPTREE_TOKEN', 'MPTREE_WHEN_VIEWER_GONE', 'PATH', 'PYTHONPATH']);
    assert.equal(env.PYTHONPATH, '/opt/mptree/runtime');
    assert.equal(buildRunEnv({ PYTHONUNBUFFERED: '1' }, connection).PYTHONUNBUFFERED, '1');
    assert.deepEqual(base, { PATH: '/bin' }, 'the base is not mutated');
  });

  it('builds script and module argv', () => {
    assert.deepEqual(launchArgs({ script: 'a.py', args: ['-x', '--y'] }), ['a.py', '-x', '--y']);
    assert.deepEqual(launchArgs({ module: 'pkg.main', args: ['1'] }), ['-m', 'pkg.main', '1']);
  });
});

describe('renderTree', () => {
  it('draws processes, queues and pools with states', () => {
    const model = new RunModel('r');
    model.setRootPid(10);
    model.apply([
      { v: 1, type: 'hello', token: '', runId: 'r', pid: 10, ppid: 1, parentPid: 1, name: 'MainProcess', daemon: false, kind: 'python', role: null, startMethod: null, target: null, argv: null, python: null, created: null, t: 1 },
      { v: 1, type: 'queue.created', id: 'q1', kind: 'Queue', ownerPid: 10, maxsize: 10, site: null, t: 1 },
      { v: 1, type: 'queue.counts', counts: [['q1', 5, 2, 0]], t: 1 },
      { v: 1, type: 'pool.created', id: 'p1', kind: 'Pool', ownerPid: 10, size: 2, site: null, t: 1 },
      { v: 1, type: 'process.started', pid: 11, parentPid: 10, name: 'Talker', daemon: true, kind: 'process', role: null, startMethod: 'fork', target: 't', poolId: null, t: 1 },
      { v: 1, type: 'process.started', pid: 12, parentPid: 10, name: 'PoolWorker-1', daemon: true, kind: 'pool-worker', role: null, startMethod: 'fork', target: null, poolId: 'p1', t: 1 },
      { v: 1, type: 'process.started', pid: 13, parentPid: 10, name: 'Doomed', daemon: false, kind: 'process', role: null, startMethod: 'fork', target: null, poolId: null, t: 1 },
      { v: 1, type: 'process.exited', pid: 13, exitCode: -9, t: 2 },
      { v: 1, type: 'pool.counts', counts: [['p1', 7, 3]], t: 1 },
    ]);
    const run: RunInfo = { runId: 'r', script: 'prog.py', args: [], python: 'py', cwd: '/', state: 'running', rootPid: 10, exitCode: null, signal: null, startedAt: 1, endedAt: null, error: null, notice: null };
    const text = renderTree(model, run);
    assert.equal(
      text,
      [
        'mptree prog.py  running',
        '└─ MainProcess [10]  running',
        '   ├─ Queue q1  3 / 10',
        '   ├─ Pool p1  2 workers · 4 pending · 3 done',
        '   │  └─ PoolWorker-1 [12] daemon  running',
        '   ├─ Talker [11] daemon  running',
        '   └─ Doomed [13]  zombie (killed by SIGKILL)',
      ].join('\n'),
    );
    const coloured = renderTree(model, run, { color: true });
    assert.notEqual(coloured, text);
    assert.equal(stripAnsi(coloured), text);
    const cut = renderTree(model, run, { maxLines: 3, width: 12 });
    assert.deepEqual(cut.split('\n').map((l) => l.length <= 12), [true, true, true]);
    assert.match(cut.split('\n')[2], /^… 5 more/);
  });
});

describe('Emitter', () => {
  it('delivers to every listener even when one throws, then rethrows; dispose stops delivery', () => {
    const emitter = new Emitter<number>();
    const got: number[] = [];
    emitter.event(() => {
      throw new Error('boom');
    });
    const sub = emitter.event((n) => got.push(n));
    assert.throws(() => emitter.fire(1), /boom/);
    assert.deepEqual(got, [1]);
    sub.dispose();
    assert.throws(() => emitter.fire(2));
    assert.deepEqual(got, [1]);
    emitter.dispose();
    emitter.fire(3);
    assert.equal(emitter.listenerCount, 0);
  });
});
