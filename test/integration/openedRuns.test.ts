// Shareable runs in a real extension host: a run exported to a file opens again, read-only,
// in the Opened Runs view with its timeline; a file that is not a run is refused with a message.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MptreeApi } from '../../src/extension';
import type { Run } from '../../src/vscode/runs';
import type { ImportedRun } from '../../src/vscode/openedRuns/importedRuns';
import type { TreeNode } from '../../src/vscode/tree/nodes';
import { cleanUp, getApi, waitFor } from './helpers';

// Compiled to out/test/integration/: the sources' fixtures are three folders up.
const HINT_FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'hints');

async function runHintFixture(name: string): Promise<Run> {
  const runs = await vscode.commands.executeCommand<Run[]>('mptree.runFile', vscode.Uri.file(path.join(HINT_FIXTURES, name)));
  assert.ok(Array.isArray(runs) && runs.length === 1, `mptree.runFile returned ${JSON.stringify(runs?.length)} runs`);
  return runs[0];
}

describe('export and open a run', () => {
  let api: MptreeApi;
  let tmp: string;
  before(async () => {
    api = await getApi();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mptree-opened-'));
    await vscode.commands.executeCommand('mptree.processes.focus');
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  afterEach(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    for (const run of [...api.openedRuns.runs.runs]) api.openedRuns.runs.remove(run);
    await cleanUp(api);
  });

  it('exports a run and opens it again, read-only, with its tree and timeline', async () => {
    const run = await runHintFixture('unjoined_child_bad.py');
    await run.session.ended;
    const target = vscode.Uri.file(path.join(tmp, 'run.mptree.json'));
    const written = await vscode.commands.executeCommand<vscode.Uri>('mptree.exportRun', api.treeProvider.runNode(run), target);
    assert.equal(written?.fsPath, target.fsPath);
    const data = JSON.parse(fs.readFileSync(target.fsPath, 'utf8'));
    assert.equal(data.format, 'mptree-run');
    assert.ok(data.events.length > 0);

    const opened = await vscode.commands.executeCommand<ImportedRun>('mptree.openRun', target);
    assert.ok(opened, 'mptree.openRun returned nothing');
    assert.ok(api.openedRuns.runs.runs.includes(opened));
    const names = opened.model.walk().map((p) => p.name);
    assert.ok(names.includes('forgotten'), `imported processes: ${names.join(', ')}`);
    // The Opened Runs view lists it (same provider class as the live tree).
    const [root] = api.openedRuns.tree.getChildren();
    assert.ok(root && root.type === 'run', 'no run node in the Opened Runs view');
    // Read-only: no item of the opened run takes a live action. The acting commands' menu
    // entries never name the Opened Runs view and need a live item, and no opened item carries
    // a live context value.
    const pkg = vscode.extensions.getExtension('mptree.mptree')!.packageJSON;
    const acting = ['mptree.terminate', 'mptree.kill', 'mptree.join', 'mptree.terminateTree', 'mptree.stopRun'];
    const entries = (pkg.contributes.menus['view/item/context'] as { command: string; when: string }[]).filter((m) => acting.includes(m.command));
    assert.ok(entries.length >= acting.length);
    for (const m of entries) {
      assert.doesNotMatch(m.when, /openedRuns/, `${m.command} reaches the Opened Runs view: ${m.when}`);
      assert.match(m.when, /viewItem =~ \/\^(run\\\.running|process\\\.)/, `${m.command} not limited to live items: ${m.when}`);
    }
    const openedItems: string[] = [];
    const walk = (node: TreeNode) => {
      openedItems.push(String(api.openedRuns.tree.getTreeItem(node).contextValue));
      for (const child of api.openedRuns.tree.getChildren(node)) walk(child);
    };
    walk(root);
    assert.ok(openedItems.length > 2, `opened items: ${openedItems}`);
    for (const value of openedItems) assert.doesNotMatch(value, /^(run\.running|process\.(running|zombie)\.)/, `an opened item offers a live action: ${value}`);
    const timeline = api.timelines.of(opened.info.runId);
    assert.ok(timeline, 'no timeline for the opened run');
    await waitFor('the imported timeline to be drawn', () => api.timelineCounts.updatesAcked(opened.info.runId) >= 1, 60_000);

    // A file that is not a run is refused with a message (the command reports it and returns nothing).
    const bad = vscode.Uri.file(path.join(tmp, 'bad.json'));
    fs.writeFileSync(bad.fsPath, JSON.stringify({ format: 'mptree-run', version: 1, run: {} }));
    assert.equal(await vscode.commands.executeCommand('mptree.openRun', bad), undefined);
    assert.equal(api.openedRuns.runs.runs.length, 1);
  });
});
