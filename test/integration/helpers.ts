// Shared by the integration tests: reach the extension's API, run fixtures through the real
// commands, and wait for what the tree shows (never a fixed sleep: CI machines are slow).
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MptreeApi } from '../../src/extension';
import type { Run } from '../../src/vscode/runs';
// Types only: the extension runs from its esbuild bundle, so its classes are not the ones a
// runtime import here would load, and `instanceof` across the two would always be false.
import type { PoolNode, ProcessNode, QueueNode, RunNode, TreeNode } from '../../src/vscode/tree/nodes';

export const EXTENSION_ID = 'mptree.mptree';
// Compiled to out/test/integration/: the sources' fixtures are three folders up.
export const WORKSPACE = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'workspace');

export async function getApi(): Promise<MptreeApi> {
  const ext = vscode.extensions.getExtension<MptreeApi>(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is not loaded`);
  const api = await ext.activate();
  assert.ok(api?.runs && api.treeProvider, 'activate() returned no API object');
  return api;
}

export function fixture(name: string): vscode.Uri {
  return vscode.Uri.file(path.join(WORKSPACE, name));
}

/** Runs a fixture through mptree.runFile, exactly as the explorer's context menu does. */
export async function runFixture(api: MptreeApi, name: string): Promise<Run> {
  const runs = await vscode.commands.executeCommand<Run[]>('mptree.runFile', fixture(name));
  assert.ok(Array.isArray(runs) && runs.length === 1, `mptree.runFile returned ${JSON.stringify(runs?.length)} runs`);
  const run = runs[0];
  assert.ok(api.runs.runs.includes(run), 'the run is not listed by the run manager');
  // VS Code reports the task's pid a little later, sometimes after the program's first news.
  await waitFor('the task to report the program\'s pid', () => run.info.rootPid !== null, 30_000);
  return run;
}

export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000, describe?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) {
      assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}${describe ? `\n${describe()}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Shown {
  node: TreeNode;
  item: vscode.TreeItem;
  depth: number;
  label: string;
  description: string;
}

/** What the provider hands VS Code for one run, depth first, as the view would list it. */
export function shownTree(api: MptreeApi, run: Run): Shown[] {
  const out: Shown[] = [];
  const walk = (node: TreeNode, depth: number) => {
    const item = api.treeProvider.getTreeItem(node);
    out.push({ node, item, depth, label: String(typeof item.label === 'object' ? item.label?.label : item.label), description: String(item.description ?? '') });
    for (const child of api.treeProvider.getChildren(node)) walk(child, depth + 1);
  };
  const root = api.treeProvider.getChildren().find((n) => isRun(n) && n.run === run);
  if (root) walk(root, 0);
  return out;
}

export function dump(api: MptreeApi, run: Run): string {
  return shownTree(api, run).map((s) => `${'  '.repeat(s.depth)}${s.label} — ${s.description} [${s.item.contextValue}]`).join('\n');
}

export function findShown(api: MptreeApi, run: Run, label: string, type?: 'process' | 'queue' | 'pool'): Shown | undefined {
  return shownTree(api, run).find((s) => s.label === label && (!type || s.node.type === type));
}

/** Waits for a node with this label whose description passes `test`. */
export function waitForShown(api: MptreeApi, run: Run, label: string, test: (description: string, shown: Shown) => boolean = () => true, timeoutMs = 30_000): Promise<Shown> {
  return waitFor(
    `"${label}" to be shown as expected`,
    () => {
      const shown = shownTree(api, run).find((s) => s.label === label && test(s.description, s));
      return shown;
    },
    timeoutMs,
    () => dump(api, run),
  );
}

export const isRun = (n: TreeNode | undefined): n is RunNode => n?.type === 'run';
export const isProcess = (n: TreeNode | undefined): n is ProcessNode => n?.type === 'process';
export const isQueue = (n: TreeNode | undefined): n is QueueNode => n?.type === 'queue';
export const isPool = (n: TreeNode | undefined): n is PoolNode => n?.type === 'pool';

export function processNodeOf(shown: Pick<Shown, 'node' | 'label'>): ProcessNode {
  assert.ok(isProcess(shown.node), `${shown.label} is not a process node`);
  return shown.node;
}

/** Waits until tree_family.py has started everything it starts. */
export async function familyReady(api: MptreeApi, run: Run): Promise<void> {
  for (const name of ['daemon-sleeper', 'sleeper', 'victim', 'stubborn', 'nest-parent']) {
    // Alive: running, or waiting in a call (nest-parent joins nest-child, which never ends by itself).
    await waitForShown(api, run, name, (d) => d.includes('running') || d.includes('waiting: '));
  }
  await waitFor('the pool with 2 workers', () => shownTree(api, run).find((s) => isPool(s.node) && api.treeProvider.getChildren(s.node).length === 2), 30_000, () => dump(api, run));
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    assert.equal((error as NodeJS.ErrnoException).code, 'ESRCH', `kill(${pid}, 0) failed oddly: ${(error as Error).message}`);
    return false;
  }
}

/** Ends every run the tests started, and forgets them, so tests do not see each other's runs. */
export async function cleanUp(api: MptreeApi): Promise<void> {
  for (const run of [...api.runs.runs]) {
    if (run.isLive) await run.stop(500);
    api.runs.remove(run);
  }
  await setting('joinTimeoutSeconds', undefined);
  await setting('terminateGraceSeconds', undefined);
  await setting('afterTerminateGrace', undefined);
  await setting('whenViewerGone', undefined);
  await setting('keepExitedProcesses', undefined);
  await setting('showHelperProcesses', undefined);
  await setting('pythonPath', undefined);
  await setting('osScanIntervalMs', undefined);
}

export async function setting(name: string, value: unknown): Promise<void> {
  const config = vscode.workspace.getConfiguration('mptree');
  if (config.inspect(name)?.globalValue === value) return;
  await config.update(name, value, vscode.ConfigurationTarget.Global);
}

// What a process cost (`98 % · 13 MB` live, `0.1 s CPU · 16 MB peak` at its end; see
// src/core/usageText.ts) follows its state in a description and moves with every OS scan.
// A test about the state reads the description without them: `d.endsWith('running')`
// would otherwise hold only until the first scan, and `!d.endsWith('running')` at once.
const USAGE_PARTS = / · (?:\d+(?:\.\d+)? %|\d+(?:\.\d+)? [KMG]B(?: peak)?|(?:\d+ h \d+ min|\d+ min \d+ s|\d+\.\d s) CPU)(?=$| · | \[)/g;

export function withoutUsage(text: string): string {
  return text.replace(USAGE_PARTS, '');
}
