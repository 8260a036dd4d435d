// mptree: Show Python Stacks. On a run node: every live process of that run; on one or more
// selected processes: those; from the palette: a pick. Each run's processes are asked at once
// and answer within about a second (one that cannot is listed with why), then a read-only
// document lists every thread's stack, each frame a link to its line.
import * as vscode from 'vscode';
import { isRunNode } from '../tree/nodes';
import type { Services } from '../services';
import { runLabel } from '../tree/present';
import { isRunning, processTargets, selectedNodes, type ProcessTarget } from './targets';
import type { Run } from '../runs';

export async function showStacks(services: Services, node?: unknown, nodes?: unknown): Promise<vscode.Uri[]> {
  const asked = new Map<Run, number[] | undefined>();
  const runNodes = selectedNodes(node, nodes).filter(isRunNode);
  for (const runNode of runNodes) {
    const run = services.runs.runs.find((r) => r === runNode.run);
    if (run?.isLive) asked.set(run, undefined);
  }
  if (runNodes.length === 0) {
    const targets: ProcessTarget[] = await processTargets(services, node, nodes, { title: vscode.l10n.t('Show Python Stacks'), filter: isRunning, canPickMany: true });
    for (const { run, process } of targets) {
      if (!run.isLive) continue;
      const pids = asked.get(run) ?? [];
      pids.push(process.pid);
      asked.set(run, pids);
    }
  }
  if (asked.size === 0) {
    void vscode.window.showInformationMessage(vscode.l10n.t('mptree: no live process to show the stacks of.'));
    return [];
  }
  const uris: vscode.Uri[] = [];
  await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: vscode.l10n.t('Reading Python stacks…') }, async () => {
    for (const [run, pids] of asked) {
      const report = await run.session.requestStacks(pids);
      uris.push(await services.stacks.open(report, run.model, vscode.l10n.t('Python stacks of {0}', runLabel(run.info))));
    }
  });
  return uris;
}
