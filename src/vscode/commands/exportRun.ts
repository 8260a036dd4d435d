// mptree: Export Run. Writes the run (final tree, hints and its history over time) to a JSON
// file that mptree: Open Run shows again, read-only, on any machine.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { exportRun } from '../../core/history';
import { ImportedRun } from '../openedRuns/importedRuns';
import type { Run } from '../runs';
import type { Services } from '../services';
import { pickRun, runOf } from './pickRun';

/** `target`: where to write, without asking (a Uri as the command's second argument). */
export async function exportRunCommand(services: Services, node?: unknown, target?: unknown): Promise<vscode.Uri | undefined> {
  const chosen = runOf(services, node) ?? (await pickRun(services, vscode.l10n.t('Export which run?'), { includeImported: false }));
  if (!chosen) return undefined;
  if (chosen instanceof ImportedRun) throw new Error(vscode.l10n.t('this run was opened from a file already: copy that file to share it'));
  const run: Run = chosen;
  const history = services.histories.of(run.runId);
  if (!history) throw new Error(vscode.l10n.t('no history was recorded for this run'));
  const uri = (target instanceof vscode.Uri ? target : undefined) ?? (await vscode.window.showSaveDialog({
    title: vscode.l10n.t('Export run'),
    defaultUri: defaultTarget(run),
    filters: { [vscode.l10n.t('mptree run')]: ['json'] },
    saveLabel: vscode.l10n.t('Export'),
  }));
  if (!uri) return undefined;
  const hints = services.hints.recompute(run.runId);
  await vscode.workspace.fs.writeFile(uri, Buffer.from(exportRun(history, hints), 'utf8'));
  const name = path.basename(uri.fsPath);
  const note = run.isLive ? vscode.l10n.t('mptree: run exported to {0} (as it is now: the run is still going)', name) : vscode.l10n.t('mptree: run exported to {0}', name);
  vscode.window.setStatusBarMessage(`$(export) ${note}`, 5000);
  return uri;
}

function defaultTarget(run: Run): vscode.Uri {
  const folder = vscode.workspace.getWorkspaceFolder(run.scriptUri)?.uri ?? vscode.Uri.file(path.dirname(run.scriptUri.fsPath));
  const d = new Date(run.info.startedAt);
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}-${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;
  return vscode.Uri.joinPath(folder, `${path.basename(run.info.script, '.py')}-${stamp}.mptree.json`);
}
