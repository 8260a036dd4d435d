// The extension loads in a real extension host, registers every command its manifest
// declares, and contributes the Process Tree view.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

const EXTENSION_ID = 'mptree.mptree';

interface Manifest {
  contributes: {
    commands: Array<{ command: string }>;
    views: Record<string, Array<{ id: string }>>;
    viewsContainers: { activitybar: Array<{ id: string }> };
  };
}

function extension(): vscode.Extension<unknown> {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is not loaded in this extension host`);
  return ext;
}

describe('activation', () => {
  it('loads the extension under test and activates it', async () => {
    const ext = extension();
    const api = (await ext.activate()) as { activationMs?: number };
    assert.equal(ext.isActive, true);
    assert.equal(typeof api.activationMs, 'number');
    // For npm run bench: activation time as measured in a real extension host.
    const record = { activateMs: api.activationMs, host: `VS Code ${vscode.version}`, measuredAt: new Date().toISOString() };
    fs.writeFileSync(path.join(ext.extensionPath, 'out', 'activation.json'), JSON.stringify(record, null, 2) + '\n');
  });

  it('registers every command that package.json contributes', async () => {
    const ext = extension();
    await ext.activate();
    const declared = (ext.packageJSON as Manifest).contributes.commands.map((c) => c.command);
    assert.ok(declared.length > 0, 'package.json declares no commands');
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = declared.filter((id) => !registered.has(id));
    assert.ok(missing.length === 0, `declared in package.json but not registered: ${missing.join(', ')}`);
  });

  it('contributes the Process Tree view container and the mptree.processes view', async () => {
    const manifest = extension().packageJSON as Manifest;
    assert.ok(manifest.contributes.viewsContainers.activitybar.some((c) => c.id === 'mptree'));
    assert.ok(manifest.contributes.views.mptree.some((v) => v.id === 'mptree.processes'));
    // The workbench generates these commands only for a view container and view it knows.
    const registered = new Set(await vscode.commands.getCommands(false));
    assert.ok(registered.has('workbench.view.extension.mptree'), 'view container command missing');
    assert.ok(registered.has('mptree.processes.focus'), 'view focus command missing');
    await vscode.commands.executeCommand('workbench.view.extension.mptree');
    await vscode.commands.executeCommand('mptree.processes.focus');
  });
});
