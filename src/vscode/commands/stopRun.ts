import * as vscode from 'vscode';
import type { StopResult } from '../../core/session';
import type { Run } from '../runs';
import type { Services } from '../services';
import { runLabel } from '../tree/present';
import { runOfNode, selectedNodes } from './targets';
import { graceMs } from './waitForExit';

/** Ends every process of a run: SIGTERM, the grace period, SIGKILL, then an OS check. */
export async function stopRun(services: Services, node?: unknown, nodes?: unknown): Promise<StopResult[] | undefined> {
  let runs = [...new Set(selectedNodes(node, nodes).map((n) => runOfNode(services, n)))].filter(
    (run): run is Run => run !== undefined && run.isLive,
  );
  if (runs.length === 0 && node === undefined) runs = await pickLiveRun(services);
  if (runs.length === 0) return undefined;
  const title = runs.length === 1 ? `Stopping ${runLabel(runs[0].info)}` : `Stopping ${runs.length} runs`;
  const results = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title }, () =>
    Promise.all(runs.map((run) => run.stop(graceMs()))),
  );
  const remaining = results.flatMap((r) => r.remaining);
  if (remaining.length > 0) {
    services.log.error(`processes still alive after Stop Run: ${remaining.join(', ')}`);
    void vscode.window.showErrorMessage(`mptree: ${remaining.length} process(es) survived SIGKILL: ${remaining.join(', ')}`);
  }
  return results;
}

async function pickLiveRun(services: Services): Promise<Run[]> {
  const live = services.runs.liveRuns();
  // One live run is the obvious one; asking would only add a click.
  if (live.length <= 1) {
    if (live.length === 0) void vscode.window.showInformationMessage('mptree: no run is live.');
    return live;
  }
  const picked = await vscode.window.showQuickPick(
    live.map((run) => ({ label: runLabel(run.info), description: `pid ${run.info.rootPid ?? '—'} · ${run.info.script}`, run })),
    { title: 'Stop Run', canPickMany: true, placeHolder: 'Select the runs to stop' },
  );
  return (picked ?? []).map((item) => item.run);
}
