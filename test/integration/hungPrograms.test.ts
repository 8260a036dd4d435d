// Hung programs in the real workbench, per start method: the tree's row says what each process
// waits on (or which task a worker runs) and for how long, the tooltip has the line of the
// wait, and a deadlock is a hint (an error badge on each process it names, a problem on each
// line). Needs the runtime's side of waits (protocol-24): skipped until it sends wait.begin.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MptreeApi } from '../../src/extension';
import type { Run } from '../../src/vscode/runs';
import { cleanUp, dump, getApi, waitFor, waitForShown, withoutUsage } from './helpers';

// Compiled to out/test/integration/: the sources' fixtures are three folders up.
const ROOT = path.resolve(__dirname, '..', '..', '..');
const HUNG = path.join(ROOT, 'test', 'fixtures', 'hung');

function runtimeReportsWaits(): boolean {
  const walk = (dir: string): boolean =>
    fs.readdirSync(dir, { withFileTypes: true }).some((e) => {
      const full = path.join(dir, e.name);
      return e.isDirectory() ? walk(full) : e.name.endsWith('.py') && /["']wait\.begin["']/.test(fs.readFileSync(full, 'utf8'));
    });
  return walk(path.join(ROOT, 'src', 'runtime'));
}

const lineOf = (script: string, marker: string) => fs.readFileSync(path.join(HUNG, script), 'utf8').split('\n').findIndex((l) => l.trimEnd().endsWith(`# ${marker}`)) + 1;

async function runHung(script: string, method: string): Promise<Run> {
  // The run's environment is the extension host's: the fixture reads its start method there.
  process.env.MPTREE_FIXTURE_METHOD = method;
  const runs = await vscode.commands.executeCommand<Run[]>('mptree.runFile', vscode.Uri.file(path.join(HUNG, script)));
  assert.ok(Array.isArray(runs) && runs.length === 1);
  return runs[0];
}

const tooltipOf = (item: vscode.TreeItem) => (typeof item.tooltip === 'string' ? item.tooltip : item.tooltip?.value ?? '');

describe('hung programs in the tree', function () {
  let api: MptreeApi;
  before(async function () {
    if (process.platform !== 'linux' || !runtimeReportsWaits()) this.skip();
    api = await getApi();
    await vscode.commands.executeCommand('mptree.processes.focus');
  });
  afterEach(async () => {
    delete process.env.MPTREE_FIXTURE_METHOD;
    if (api) await cleanUp(api);
  });

  for (const method of ['fork', 'spawn', 'forkserver']) {
    it(`${method}: a lock-order deadlock: each row names the lock, its holder and the line; an error hint on both`, async () => {
      const run = await runHung('lock_order.py', method);
      const shown = await waitForShown(api, run, 'takes-a-then-b', (d) => /waiting: Lock lock_b held by takes-b-then-a \(lock_order\.py:\d+\) · \d/.test(d));
      assert.match(withoutUsage(shown.description), new RegExp(`held by takes-b-then-a \\(lock_order\\.py:${lineOf('lock_order.py', 'HOLD_B')}\\)`));
      assert.match(tooltipOf(shown.item), new RegExp(`lock_order\\.py:${lineOf('lock_order.py', 'WAIT_B')}`));
      assert.match(String(shown.item.accessibilityInformation?.label), /waiting: Lock lock_b/);
      const hint = await waitFor('the deadlock hint', () => api.hints.hintsOf(run.runId).find((h) => h.kind === 'deadlock'), 30_000, () => dump(api, run));
      assert.equal(hint.severity, 'error');
      assert.equal(hint.processKeys?.length, 2);
      for (const key of hint.processKeys!) {
        const badge = api.hints.provideFileDecoration(vscode.Uri.from({ scheme: 'mptree-process', path: '/' + encodeURIComponent(key) }));
        assert.equal(badge?.badge, '!');
      }
      const file = vscode.Uri.file(path.join(HUNG, 'lock_order.py'));
      const problems = await waitFor('a problem on each line', () => {
        const list = vscode.languages.getDiagnostics(file).filter((d) => d.source === 'mptree' && d.code === 'deadlock');
        return list.length >= 2 && list;
      });
      assert.ok(problems.every((p) => p.severity === vscode.DiagnosticSeverity.Error));
      const lines = problems.map((p) => p.range.start.line + 1).sort((a, b) => a - b);
      // The two waits, and the two `with` lines that took the locks each holder holds.
      for (const mark of ['WAIT_B', 'WAIT_A', 'HOLD_A', 'HOLD_B']) assert.ok(lines.includes(lineOf('lock_order.py', mark)), `${mark} in ${lines}`);
    });

    it(`${method}: a consumer whose producer forgot the sentinel: waiting: Queue.get, and the deadlock`, async () => {
      const run = await runHung('forgot_sentinel.py', method);
      const shown = await waitForShown(api, run, 'consumer', (d) => /waiting: Queue\.get q\S+ · \d/.test(d));
      assert.match(tooltipOf(shown.item), new RegExp(`forgot_sentinel\\.py:${lineOf('forgot_sentinel.py', 'GET')}`));
      await waitFor('the deadlock hint', () => api.hints.hintsOf(run.runId).find((h) => h.kind === 'deadlock'), 30_000, () => dump(api, run));
      assert.match((await waitForShown(api, run, 'consumer', (d) => d.includes('⚠'))).description, /⚠ deadlock/);
    });

    it(`${method}: a join before draining: the child waits in Queue.flush, the parent in join`, async () => {
      const run = await runHung('join_before_drain.py', method);
      await waitForShown(api, run, 'producer', (d) => /waiting: Queue\.flush q\S+ · \d/.test(d));
      await waitFor('the deadlock hint', () => api.hints.hintsOf(run.runId).find((h) => h.kind === 'deadlock'), 30_000, () => dump(api, run));
    });

    it(`${method}: one pool task never returns: the worker's row says crunch(7), the pool counts one busy`, async () => {
      const run = await runHung('pool_stuck_task.py', method);
      await waitFor('a worker in crunch(7)', () => /(Fork|Spawn|ForkServer)PoolWorker-\d+/.test(dump(api, run)) && /crunch\(7\) · \d/.test(dump(api, run)), 30_000, () => dump(api, run));
      await waitFor('the pool with one busy worker', () => /1 busy · 1 idle/.test(dump(api, run)), 30_000, () => dump(api, run));
      assert.equal(api.hints.hintsOf(run.runId).filter((h) => h.kind === 'deadlock').length, 0);
    });
  }
});
