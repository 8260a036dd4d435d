// The view badge's count over a real RunModel: hints, plus zombies that no hint names yet, so
// a zombie is never counted twice once its hint arrives.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Hint } from '../../src/core/hints';
import { RunModel } from '../../src/core/model';
import type { RuntimeMessage } from '../../src/core/protocol';
import type { RunInfo } from '../../src/core/types';
import { attentionCount } from '../../src/vscode/tree/attentionCount';

const hello: RuntimeMessage = {
  v: 1, type: 'hello', token: 't', runId: 'r', pid: 100, ppid: null, parentPid: null, name: 'MainProcess', daemon: false,
  kind: 'python', role: null, startMethod: null, target: null, argv: null, python: '3.11', created: null, t: 1000,
};
const started = (pid: number): RuntimeMessage => ({
  v: 1, type: 'process.started', pid, parentPid: 100, name: `Process-${pid}`, daemon: false, kind: 'process', role: null,
  startMethod: 'fork', target: 'work', poolId: null, t: 1000,
});

test('counts hints and the zombies no hint names, per run', () => {
  const model = new RunModel('r');
  model.setRootPid(100);
  model.apply([hello, started(101), started(102), started(103)]);
  model.apply([{ v: 1, type: 'process.exited', pid: 101, exitCode: 0, t: 2000 }, { v: 1, type: 'process.exited', pid: 102, exitCode: 0, t: 2000 }]);
  assert.equal(model.processByPid(101)!.state, 'zombie');
  const run = { info: { runId: 'r' } as RunInfo, model };
  let hints: Hint[] = [];
  assert.deepEqual(attentionCount([run], () => hints), { hints: 0, zombies: 2 });
  // The zombie hint for 101 arrives: 101 is counted once, through its hint.
  hints = [
    { kind: 'unjoined-child', pid: 101, processKey: model.processByPid(101)!.key, message: 'not joined', severity: 'warning' },
    { kind: 'pool-not-closed', message: 'pool', severity: 'warning' },
  ];
  assert.deepEqual(attentionCount([run], (id) => (id === 'r' ? hints : [])), { hints: 2, zombies: 1 });
  // Joined: no zombie left; the run's hints still count.
  model.apply([{ v: 1, type: 'process.reaped', pid: 102, joined: true, t: 2001 }]);
  assert.deepEqual(attentionCount([run], () => hints), { hints: 2, zombies: 0 });
});
