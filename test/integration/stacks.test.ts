// Show Python Stacks on a real run in the extension host: the document lists the main
// process's frames, a quiet fork child says why it cannot answer, and following a frame's
// link opens the editor at that line.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import type { MptreeApi } from '../../src/extension';
import { STACKS_SCHEME } from '../../src/vscode/stacks/stacksDocuments';
import { cleanUp, familyReady, findShown, fixture, getApi, processNodeOf, runFixture, shownTree, waitFor } from './helpers';

describe('Show Python Stacks', () => {
  let api: MptreeApi;
  before(async () => {
    api = await getApi();
  });
  afterEach(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await cleanUp(api);
  });

  it('on the main process and a child: each thread\'s frames, a reason for the one that cannot answer, links to the lines', async () => {
    const run = await runFixture(api, 'tree_family.py');
    await familyReady(api, run);
    const script = fixture('tree_family.py').fsPath;
    const lines = fs.readFileSync(script, 'utf8').split('\n');
    // The call of main() at the bottom of the file: the main thread's outermost frame.
    const callLine = lines.findIndex((l) => l.trim() === 'main()') + 1;
    const root = shownTree(api, run).find((s) => s.node.type === 'process' && s.node.info?.pid === run.session.rootPid)!;
    const sleeper = processNodeOf(findShown(api, run, 'sleeper')!);
    const mainNode = processNodeOf(root);

    const uris = await vscode.commands.executeCommand<vscode.Uri[]>('mptree.showStacks', mainNode, [mainNode, sleeper]);
    assert.equal(uris.length, 1);
    assert.equal(uris[0].scheme, STACKS_SCHEME);
    const editor = await waitFor('the stacks document', () => vscode.window.activeTextEditor?.document.uri.toString() === uris[0].toString() && vscode.window.activeTextEditor);
    const text = editor.document.getText();
    assert.match(text, new RegExp(`\\[${run.session.rootPid}\\]  running`));
    assert.ok(text.includes(`${script}:${callLine} in <module>`), text);
    assert.match(text, /thread MainThread/);
    assert.match(text, new RegExp(`sleeper \\[${sleeper.info!.pid}\\]  running\\n  no stacks: not connected to mptree`), text);
    assert.ok(editor.document.isUntitled === false && editor.document.uri.scheme === STACKS_SCHEME, 'read-only: a document of our own scheme, not a file');

    // Following the link of that frame, as a click does, opens the fixture at that line.
    const links = await vscode.commands.executeCommand<vscode.DocumentLink[]>('vscode.executeLinkProvider', uris[0]);
    const link = links.find((l) => editor.document.getText(l.range) === `${script}:${callLine}`);
    assert.ok(link?.target, `a link on ${script}:${callLine}: ${JSON.stringify(links.map((l) => editor.document.getText(l.range)))}`);
    await vscode.commands.executeCommand('vscode.open', link.target);
    const opened = await waitFor('the fixture open at the frame', () => {
      const active = vscode.window.activeTextEditor;
      return active?.document.uri.fsPath === script && active.selection.active.line === callLine - 1 && active;
    });
    assert.equal(opened.document.lineAt(opened.selection.active.line).text.trim(), 'main()');
  });

  it('on a run: every live process of it', async () => {
    const run = await runFixture(api, 'tree_family.py');
    await familyReady(api, run);
    const runNode = shownTree(api, run).find((s) => s.node.type === 'run')!.node;
    const uris = await vscode.commands.executeCommand<vscode.Uri[]>('mptree.showStacks', runNode);
    const doc = await vscode.workspace.openTextDocument(uris[0]);
    const text = doc.getText();
    for (const p of run.model.liveProcesses().filter((p) => p.state === 'running')) assert.ok(text.includes(`[${p.pid}]`), `pid ${p.pid} is listed:\n${text}`);
  });
});
