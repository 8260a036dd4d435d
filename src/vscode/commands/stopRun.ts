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
  const title = runs.length === 1 ? vscode.l10n.t('Stopping {0}', runLabel(runs[0].info)) : vscode.l10n.t('Stopping {0} runs', runs.length);
  const results = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title }, () =>
    Promise.all(runs.map((run) => run.stop(graceMs()))),
  );
  const remaining = results.flatMap((r) => r.remaining);
  if (remaining.length > 0) {
    services.log.error(`processes still alive after Stop Run: ${remaining.join(', ')}`);
    void vscode.window.showErrorMessage(vscode.l10n.t('mptree: {0} process(es) survived SIGKILL: {1}', remaining.length, remaining.join(', ')));
  }
  return results;
}

async function pickLiveRun(services: Services): Promise<Run[]> {
  const live = services.runs.liveRuns();
  // One live run is the obvious one; asking would only add a click.
  if (live.length <= 1) {
    if (live.length === 0) void vscode.window.showInformationMessage(vscode.l10n.t('mptree: no run is live.'));
    return live;
  }
  const picked = await vscode.window.showQuickPick(
    live.map((run) => ({ label: runLabel(run.info), description: `${vscode.l10n.t('pid {0}', run.info.rootPid ?? '—')} · ${run.info.script}`, run })),
    { title: vscode.l10n.t('Stop Run'), canPickMany: true, placeHolder: vscode.l10n.t('Select the runs to stop') },
  );
  return (picked ?? []).map((item) => item.run);
}
