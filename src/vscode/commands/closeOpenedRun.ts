// mptree: Close Run. Takes an opened (exported) run out of the Opened Runs view, with its
// timeline and hints; the file on disk is left as it is.
import * as vscode from 'vscode';
import { ImportedRun } from '../openedRuns/importedRuns';
import type { Services } from '../services';
import { isRunNode } from '../tree/nodes';
import { selectedNodes } from './targets';

export async function closeOpenedRun(services: Services, node?: unknown, nodes?: unknown): Promise<ImportedRun[]> {
  const opened = services.openedRuns.runs;
  let runs = selectedNodes(node, nodes)
    .filter(isRunNode)
    .map((n) => n.run)
    .filter((run): run is ImportedRun => run instanceof ImportedRun && opened.runs.includes(run));
  if (runs.length === 0 && node === undefined) runs = await pickOpenedRuns(opened.runs);
  for (const run of runs) {
    services.timelines.of(run.info.runId)?.dispose();
    services.hints.forget(run.info.runId);
    opened.remove(run);
  }
  return runs;
}

async function pickOpenedRuns(opened: readonly ImportedRun[]): Promise<ImportedRun[]> {
  if (opened.length <= 1) return [...opened];
  const picked = await vscode.window.showQuickPick(
    opened.map((run) => ({ label: run.title, description: run.file, run })),
    { title: vscode.l10n.t('Close Run'), canPickMany: true, placeHolder: vscode.l10n.t('Select the opened runs to close') },
  );
  return (picked ?? []).map((item) => item.run);
}
