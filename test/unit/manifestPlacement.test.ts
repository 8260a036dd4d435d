// Where the extension sits in the workbench, read from the manifest: our Run and Debug join
// VS Code's one Run split button (not two extra icons beside Python's), only where a shell can
// run a local file; the workspace trust and virtual workspace declarations; the interpreter
// path is a per-machine setting, as the Python extension's own.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CommandId } from '../../src/vscode/commandIds';

const root = path.resolve(__dirname, '..', '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const nls: Record<string, string> = JSON.parse(fs.readFileSync(path.join(root, 'package.nls.json'), 'utf8'));
const nlsZh: Record<string, string> = JSON.parse(fs.readFileSync(path.join(root, 'package.nls.zh-cn.json'), 'utf8'));
const menus: Record<string, Array<{ command: string; when?: string; group?: string }>> = manifest.contributes.menus;

test('run and debug buttons are in the Run split button, only where a local shell can run', () => {
  const run = menus['editor/title/run'] ?? [];
  for (const id of [CommandId.RunFile, CommandId.DebugFile]) {
    const entry = run.find((m) => m.command === id);
    assert.ok(entry, `${id} is not in editor/title/run`);
    assert.match(entry.when ?? '', /resourceLangId == python/);
    assert.match(entry.when ?? '', /!virtualWorkspace/);
    assert.match(entry.when ?? '', /shellExecutionSupported/);
    assert.match(entry.group ?? '', /^navigation/, `${id} outside the navigation group is hidden in the overflow`);
  }
  const ownTitleIcons = (menus['editor/title'] ?? []).filter((m) => m.command.startsWith('mptree.'));
  assert.deepEqual(ownTitleIcons, [], 'editor/title still holds icons of ours beside the Run button');
});

test('untrusted and virtual workspaces are declared unsupported, with a reason in both languages', () => {
  const caps = manifest.capabilities;
  assert.equal(caps?.untrustedWorkspaces?.supported, false);
  assert.equal(caps?.virtualWorkspaces?.supported, false);
  for (const description of [caps.untrustedWorkspaces.description, caps.virtualWorkspaces.description]) {
    const key = /^%(.+)%$/.exec(description)?.[1];
    assert.ok(key, `${description} is not a %key%`);
    assert.ok(nls[key]?.trim(), `${key} missing from package.nls.json`);
    assert.ok(/[\u4e00-\u9fff]/.test(nlsZh[key] ?? ''), `${key} has no Chinese in package.nls.zh-cn.json`);
  }
});

test('mptree.pythonPath is machine-overridable', () => {
  assert.equal(manifest.contributes.configuration.properties['mptree.pythonPath'].scope, 'machine-overridable');
});

test('inline icons do not share a glyph, and Join is not a clock', () => {
  const commands: Array<{ command: string; icon?: string }> = manifest.contributes.commands;
  const icon = (id: string) => commands.find((c) => c.command === id)?.icon;
  assert.notEqual(icon(CommandId.Terminate), icon(CommandId.StopRun), 'Terminate and Stop Run look the same');
  assert.ok(!/watch|clock|history/.test(icon(CommandId.Join) ?? ''), `Join shows ${icon(CommandId.Join)}, read as "time"`);
  // Inline buttons sit side by side on rows: two that look alike are read as one action.
  const inline = new Set((menus['view/item/context'] ?? []).filter((m) => m.group?.startsWith('inline')).map((m) => m.command));
  const icons = [...inline].map(icon);
  assert.equal(new Set(icons).size, inline.size, `inline commands share an icon: ${[...inline].map((c, i) => `${c} ${icons[i]}`).join(', ')}`);
});

test('no Refresh button: the tree is live, a manual refresh re-reads the same model', () => {
  assert.ok(!manifest.contributes.commands.some((c: { command: string }) => c.command === 'mptree.refresh'));
});

test('opened runs can be closed from their row', () => {
  const close = (menus['view/item/context'] ?? []).filter((m) => m.command === CommandId.CloseOpenedRun);
  assert.ok(close.some((m) => m.group?.startsWith('inline')), 'no inline Close on an opened run');
  for (const m of close) assert.match(m.when ?? '', /view == mptree\.openedRuns/);
});

test('changed titles are %keys% with English and Chinese', () => {
  for (const id of [CommandId.Terminate, CommandId.Kill, CommandId.Join, CommandId.TerminateTree, CommandId.StopRun, CommandId.CloseOpenedRun]) {
    const title: string = manifest.contributes.commands.find((c: { command: string }) => c.command === id).title;
    const key = /^%(.+)%$/.exec(title)?.[1];
    assert.ok(key && nls[key] && /[\u4e00-\u9fff]/.test(nlsZh[key] ?? ''), `${id}: ${title}`);
  }
});

test('the debug type takes a module, and no task type is offered for tasks.json', () => {
  const launch = manifest.contributes.debuggers.find((d: { type: string }) => d.type === 'mptree').configurationAttributes.launch;
  assert.equal(launch.properties.module?.type, 'string');
  assert.ok(!(launch.required ?? []).includes('program'), 'program is required, so a module configuration is flagged');
  assert.ok(manifest.activationEvents.includes('onDebugDynamicConfigurations:mptree'));
  // runs.ts makes its tasks itself (a session must listen before the program starts): there is
  // no provider that could resolve one written by hand.
  assert.equal(manifest.contributes.taskDefinitions, undefined);
});
