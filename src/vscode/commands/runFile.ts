import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Run } from '../runs';
import type { Services } from '../services';
import { startRun } from '../startRun';

/**
 * From the explorer or the editor title: the clicked file (or the explorer's multi-selection,
 * each its own run). From the palette: a pick of the workspace's Python files.
 */
export async function runFile(services: Services, uri?: unknown, uris?: unknown): Promise<Run[]> {
  let targets = (Array.isArray(uris) && uris.length > 0 ? uris : uri ? [uri] : []).filter(
    (u): u is vscode.Uri => u instanceof vscode.Uri,
  );
  if (targets.length === 0) {
    const picked = await pickPythonFile();
    if (!picked) return [];
    targets = [picked];
  }
  const runs: Run[] = [];
  for (const target of targets) {
    const run = await startRun(services, target);
    if (run) runs.push(run);
  }
  return runs;
}

async function pickPythonFile(): Promise<vscode.Uri | undefined> {
  const files = await vscode.workspace.findFiles('**/*.py', '**/{node_modules,.venv,venv,.git,__pycache__,site-packages}/**', 500);
  if (files.length === 0) {
    const chosen = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { Python: ['py'] }, title: vscode.l10n.t('Run Python File with Process Tree') });
    return chosen?.[0];
  }
  const items = files
    .map((uri) => ({ label: path.basename(uri.fsPath), description: vscode.workspace.asRelativePath(uri, true), uri }))
    .sort((a, b) => a.description.localeCompare(b.description));
  const picked = await vscode.window.showQuickPick(items, { title: vscode.l10n.t('Run Python File with Process Tree'), matchOnDescription: true });
  return picked?.uri;
}
