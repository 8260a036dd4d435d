// Selects a process in the tree it is shown in: the live view for a run in it, the Opened Runs
// view for a run opened from a file. A timeline's click on a lane comes here.
import * as vscode from 'vscode';
import type { OpenedRunsView } from '../openedRuns/openedRunsView';
import type { RunManager } from '../runs';
import type { TreeNode } from './nodes';
import type { ProcessTreeProvider } from './processTreeProvider';

export interface RevealTargets {
  readonly runs: RunManager;
  readonly tree: ProcessTreeProvider;
  readonly treeView: vscode.TreeView<TreeNode>;
  readonly openedRuns: OpenedRunsView;
}

/** True when the process is selected; otherwise the user is told why not. */
export async function revealProcess(targets: RevealTargets, runId: string, key: string): Promise<boolean> {
  const live = targets.runs.runByKey(runId);
  const opened = live ? undefined : targets.openedRuns.runs.byRunId(runId);
  try {
    if (live) {
      if (!live.model.get(key)) throw new Error(vscode.l10n.t('it is no longer in the tree (cleared)'));
      await targets.treeView.reveal(targets.tree.processNode(live, key), { select: true, focus: true, expand: true });
      return true;
    }
    if (opened) {
      await targets.openedRuns.reveal(opened, key);
      return true;
    }
  } catch (error) {
    void vscode.window.showInformationMessage(vscode.l10n.t('mptree: cannot show that process in the tree: {0}', (error as Error).message));
  }
  return false;
}
