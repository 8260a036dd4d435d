// Keeps the hints following the live tree: each run is tracked while it is in the tree, and
// recomputed when its state or its model changes.
import * as vscode from 'vscode';
import { followRuns } from '../followRuns';
import type { RunManager } from '../runs';
import type { HintsController } from './hintsController';

export function hintsOfRuns(runs: RunManager, hints: HintsController): vscode.Disposable {
  return vscode.Disposable.from(
    followRuns(runs, { added: (run) => hints.track(run), removed: (run) => hints.forget(run.runId) }),
    runs.onDidChangeRuns((run) => {
      if (run) hints.onRunChange(run.info.runId);
    }),
    runs.onDidChangeModel(({ run, change }) => hints.onModelChange(run.info.runId, change)),
  );
}
