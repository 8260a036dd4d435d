// Where the extension sits and how its rows read, in the real workbench: which menu entries a
// row's contextValue enables (the manifest's `when`, evaluated as VS Code does for viewItem),
// the view badge, the Processes view in Run and Debug while a run is live, the dynamic debug
// configurations, closing an opened run, and what a screen reader is given for each row.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MptreeApi } from '../../src/extension';
import type { ImportedRun } from '../../src/vscode/openedRuns/importedRuns';
import { execFileSync } from 'node:child_process';
import { cleanUp, dump, fixture, getApi, setting, WORKSPACE, isPool, isProcess, isQueue, runFixture, shownTree, waitFor, waitForShown, type Shown } from './helpers';

interface MenuItem { command: string; when?: string; group?: string }

/** Commands the manifest offers on a row of `view`, by the row's contextValue (viewItem). */
function menuCommandsFor(view: string, contextValue: string): string[] {
  const pkg = vscode.extensions.getExtension('mptree.mptree')!.packageJSON;
  const items: MenuItem[] = pkg.contributes.menus['view/item/context'];
  return items
    .filter((m) => {
      const when = m.when ?? '';
      const views = [...when.matchAll(/view == ([\w.]+)/g)].map((x) => x[1]);
      const re = /viewItem =~ \/(.+?)\/(?:\s|$)/.exec(when)?.[1];
      return views.includes(view) && (!re || new RegExp(re).test(contextValue));
    })
    .map((m) => m.command);
}

describe('workbench UX: menus, badge, debug view, configurations, accessibility', () => {
  let api: MptreeApi;
  before(async () => {
    api = await getApi();
    await vscode.commands.executeCommand('mptree.processes.focus');
  });
  afterEach(async () => {
    for (const run of [...api.openedRuns.runs.runs]) api.openedRuns.runs.remove(run);
    await cleanUp(api);
  });

  it('Join is offered on a child, never on a helper row; Join of a helper does nothing', async function () {
    this.timeout(90_000);
    const run = await runFixture(api, 'ux_rows.py');
    const worker = await waitForShown(api, run, 'worker', (d) => d.includes('running'));
    const helper = await waitFor('the Manager server row', () => shownTree(api, run).find((s) => isProcess(s.node) && s.node.info?.kind === 'helper'), 30_000, () => dump(api, run));
    for (const view of ['mptree.processes', 'mptree.debugProcesses']) {
      assert.ok(menuCommandsFor(view, String(worker.item.contextValue)).includes('mptree.join'), `${view}: no Join on ${worker.item.contextValue}`);
      const onHelper = menuCommandsFor(view, String(helper.item.contextValue));
      assert.ok(!onHelper.includes('mptree.join'), `${view}: Join offered on ${helper.item.contextValue}`);
      assert.ok(onHelper.includes('mptree.terminate'), 'the helper lost its other actions');
    }
    const outcome = await vscode.commands.executeCommand('mptree.join', helper.node);
    assert.equal(outcome, undefined, 'Join went ahead on a helper');
  });

  it('the badge counts the zombie in both views; rows read at a glance and in words', async function () {
    this.timeout(120_000);
    const run = await runFixture(api, 'ux_rows.py');
    await waitForShown(api, run, 'quitter', (d) => d.includes('zombie'), 60_000);
    const badge = await waitFor('a badge on the Processes view', () => api.treeView.badge, 10_000);
    assert.ok(badge.value >= 1, JSON.stringify(badge));
    assert.match(badge.tooltip, /zombie|hint/);
    assert.deepEqual(api.debugTreeView.badge, badge, 'the Run and Debug view shows another count');

    // Rows: pids labelled, twin queues told apart, every row with words for a screen reader.
    const shown = await waitFor('both queues', () => {
      const rows = shownTree(api, run);
      return rows.filter((s) => isQueue(s.node)).length === 2 && rows;
    }, 30_000, () => dump(api, run));
    const queues = shown.filter((s) => isQueue(s.node));
    assert.notEqual(queues[0].label, queues[1].label, `two queues read the same: ${queues.map((q) => q.label)}`);
    for (const q of queues) assert.doesNotMatch(q.description, /ux_rows\.py:\d+/, 'file:line still at the end of the row');
    const quitter = shown.find((s) => s.label === 'quitter')!;
    assert.match(quitter.description, /^pid \d+ · /);
    for (const row of shown) assertSpoken(row);
    assert.match(quitter.item.accessibilityInformation!.label, /zombie/);
    const full = queues.map((q) => q.item.accessibilityInformation!.label);
    assert.ok(full.some((l) => / of 10/.test(l)), full.join(' | '));

    await run.stop(500);
    await waitFor('the badge to go with the run', () => (api.runs.remove(run), api.badge.update() === undefined), 10_000);
  });

  it('a module debug session (launch.json `module`) runs python -m under the tree, shown in Run and Debug beside the Call Stack', async function () {
    if (!hasDebugpy(DEBUGPY_PYTHON)) this.skip(); // apt-get install python3-debugpy (.ci/run does)
    this.timeout(120_000);
    await setting('pythonPath', DEBUGPY_PYTHON);
    const before = new Set(api.runs.runs);
    const started = await vscode.debug.startDebugging(vscode.workspace.workspaceFolders?.[0], {
      type: 'mptree', request: 'launch', name: 'ux rows as a module', module: 'ux_rows', cwd: WORKSPACE, console: 'internalConsole',
    });
    assert.equal(started, true, 'the module configuration did not start');
    try {
      const run = await waitFor('the debug run', () => api.runs.runs.find((r) => !before.has(r)), 30_000);
      assert.equal(run.info.script, '-m ux_rows');
      await waitForShown(api, run, 'worker', (d) => d.includes('running'), 60_000);
      // The Run and Debug sidebar is in front now; our view is there while the run lives.
      await vscode.commands.executeCommand('workbench.view.debug');
      await vscode.commands.executeCommand('mptree.debugProcesses.focus');
      await waitFor('the Processes view in Run and Debug to be visible', () => api.debugTreeView.visible, 15_000);
      await run.stop(500);
      await waitFor('the debug session to end', () => vscode.debug.activeDebugSession === undefined, 30_000);
      await waitFor('the view to go once no run lives', () => !api.debugTreeView.visible, 15_000);
    } finally {
      for (let i = 0; i < 10 && vscode.debug.activeDebugSession; i++) await vscode.debug.stopDebugging(vscode.debug.activeDebugSession);
    }
  });

  it('offers one debug configuration per open Python file, the active one first', async () => {
    const file = fixture('ux_rows.py');
    await vscode.window.showTextDocument(file);
    const configs = api.dynamicDebugConfigurations();
    assert.ok(configs.length >= 1, 'no dynamic configuration');
    assert.equal(configs[0].program, file.fsPath);
    assert.equal(configs[0].type, 'mptree');
    assert.match(configs[0].name, /ux_rows\.py/);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    assert.deepEqual(api.dynamicDebugConfigurations(), [], 'a closed file is still offered');
  });

  it('an opened run closes from its row, with its timeline', async function () {
    this.timeout(90_000);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mptree-ux-'));
    try {
      const run = await runFixture(api, 'ux_rows.py');
      await waitForShown(api, run, 'worker', (d) => d.includes('running'));
      const target = vscode.Uri.file(path.join(tmp, 'run.mptree.json'));
      await vscode.commands.executeCommand('mptree.exportRun', api.treeProvider.runNode(run), target);
      const opened = await vscode.commands.executeCommand<ImportedRun>('mptree.openRun', target);
      const [root] = api.openedRuns.tree.getChildren();
      assert.ok(root && root.type === 'run');
      const contextValue = String(api.openedRuns.tree.getTreeItem(root).contextValue);
      assert.ok(menuCommandsFor('mptree.openedRuns', contextValue).includes('mptree.closeOpenedRun'), `no Close on ${contextValue}`);
      assert.ok(api.timelines.of(opened.info.runId), 'no timeline to close');
      await vscode.commands.executeCommand('mptree.closeOpenedRun', root);
      assert.deepEqual(api.openedRuns.runs.runs, []);
      assert.equal(api.timelines.of(opened.info.runId), undefined, 'its timeline stayed open');
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

const DEBUGPY_PYTHON = '/usr/bin/python3';

function hasDebugpy(python: string): boolean {
  try {
    execFileSync(python, ['-c', 'import debugpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function assertSpoken(row: Shown): void {
  const label = row.item.accessibilityInformation?.label ?? '';
  assert.ok(label.length > row.label.length, `${row.label} has no accessibility label beyond its name: "${label}"`);
  assert.ok(label.includes(row.label), `"${label}" does not name ${row.label}`);
  assert.doesNotMatch(label, / · /, `"${label}" reads out the row's dots`);
  if (isPool(row.node)) assert.match(label, /size \d+/);
}
