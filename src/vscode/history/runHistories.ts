// The history of every run in the tree (what Export Run writes and the timeline draws): one
// RunHistory per run, recording from the moment the run appears until it leaves the tree.
import type * as vscode from 'vscode';
import { RunHistory } from '../../core/history';
import { followRuns } from '../followRuns';
import type { RunManager } from '../runs';

export class RunHistories implements vscode.Disposable {
  private readonly byRunId = new Map<string, RunHistory>();
  private readonly following: vscode.Disposable;

  constructor(runs: RunManager) {
    this.following = followRuns(runs, {
      added: (run) => this.byRunId.set(run.runId, new RunHistory(run.session)),
      removed: (run) => {
        this.byRunId.get(run.runId)?.dispose();
        this.byRunId.delete(run.runId);
      },
    });
  }

  /** The history of a run still in the tree. */
  of(runId: string): RunHistory | undefined {
    return this.byRunId.get(runId);
  }

  dispose(): void {
    this.following.dispose();
    for (const history of this.byRunId.values()) history.dispose();
    this.byRunId.clear();
  }
}
