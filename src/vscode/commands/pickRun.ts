// Which run a run command (Show Timeline, Export Run) acts on: the run of the clicked node in
// either view, else the only run, else the user's pick among the live, finished and opened
// runs (live first).
import * as vscode from 'vscode';
import { ImportedRun } from '../openedRuns/importedRuns';
import type { Run } from '../runs';
import type { Services } from '../services';
import { runDescription, runLabel } from '../tree/present';

/** The run a tree node (of either view) belongs to. */
export function runOf(services: Services, node: unknown): Run | ImportedRun | undefined {
  if (typeof node !== 'object' || node === null || !('run' in node)) return undefined;
  const view = (node as { run: unknown }).run;
  return services.runs.runs.find((r) => r === view) ?? services.openedRuns.runs.runs.find((r) => r === view);
}

export async function pickRun(services: Services, title: string, options: { includeImported?: boolean } = {}): Promise<Run | ImportedRun | undefined> {
  const live = services.runs.runs.filter((r) => r.isLive);
  const ended = services.runs.runs.filter((r) => !r.isLive).reverse();
  const opened = options.includeImported === false ? [] : [...services.openedRuns.runs.runs].reverse();
  const all: Array<Run | ImportedRun> = [...live, ...ended, ...opened];
  if (all.length === 0) {
    void vscode.window.showInformationMessage(vscode.l10n.t('mptree: no run yet. Run a Python file with mptree, or open an exported run.'));
    return undefined;
  }
  if (all.length === 1) return all[0];
  type Item = vscode.QuickPickItem & { run: Run | ImportedRun };
  const items: Item[] = all.map((run) => {
    const processes = run.model.processes();
    const alive = processes.filter((p) => p.state === 'running').length;
    return {
      label: run instanceof ImportedRun ? `$(file) ${run.title}` : runLabel(run.info),
      description: runDescription(run.info, alive, processes.length, Date.now(), undefined, vscode.l10n.t),
      detail: run.info.script,
      run,
    };
  });
  const picked = await vscode.window.showQuickPick(items, { title, placeHolder: vscode.l10n.t('Select a run') });
  return picked?.run;
}
