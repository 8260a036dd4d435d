// mptree: Show Timeline. From a tree node: that node's run; from the palette: the only run,
// or a pick among the live, finished and opened runs (live first).
import * as vscode from 'vscode';
import type { BeyondApi } from '../features';
import type { Run } from '../runs';
import { ImportedRun } from '../timeline/importedRuns';
import type { TimelinePanel } from '../timeline/timelinePanel';
import { runDescription, runLabel } from '../tree/present';

export async function showTimeline(api: BeyondApi, node?: unknown): Promise<TimelinePanel | undefined> {
  const run = runOf(api, node) ?? (await pickRun(api, 'Show the timeline of which run?'));
  return run ? api.openTimeline(run) : undefined;
}

/** The run a tree node (of either view) belongs to. */
export function runOf(api: BeyondApi, node: unknown): Run | ImportedRun | undefined {
  if (typeof node !== 'object' || node === null || !('run' in node)) return undefined;
  const view = (node as { run: unknown }).run;
  return api.deps.runs.runs.find((r) => r === view) ?? api.imported.runs.find((r) => r === view);
}

export async function pickRun(api: BeyondApi, title: string, options: { includeImported?: boolean } = {}): Promise<Run | ImportedRun | undefined> {
  const live = api.deps.runs.runs.filter((r) => r.isLive);
  const ended = api.deps.runs.runs.filter((r) => !r.isLive).reverse();
  const opened = options.includeImported === false ? [] : [...api.imported.runs].reverse();
  const all: Array<Run | ImportedRun> = [...live, ...ended, ...opened];
  if (all.length === 0) {
    void vscode.window.showInformationMessage('mptree: no run yet. Run a Python file with mptree, or open an exported run.');
    return undefined;
  }
  if (all.length === 1) return all[0];
  type Item = vscode.QuickPickItem & { run: Run | ImportedRun };
  const items: Item[] = all.map((run) => {
    const processes = run.model.processes();
    const alive = processes.filter((p) => p.state === 'running').length;
    return {
      label: run instanceof ImportedRun ? `$(file) ${run.title}` : runLabel(run.info),
      description: runDescription(run.info, alive, processes.length),
      detail: run.info.script,
      run,
    };
  });
  const picked = await vscode.window.showQuickPick(items, { title, placeHolder: 'Select a run' });
  return picked?.run;
}
